/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POOLD_CONFIG_H
#define POOLD_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/rmem.h>
#include "rmem_common.h"

enum poold_huge {
	POOLD_HUGE_NO,
	POOLD_HUGE_YES,		/* huge pages or refuse to start */
	POOLD_HUGE_TRY,		/* huge pages if the system has them */
};

/* [server] threads: at most this many; auto takes one per two CPUs, up to 8 */
#define POOLD_MAX_THREADS	64
#define POOLD_AUTO_THREADS	8

/*
 * [server] max_startups, sshd's MaxStartups: connections not yet
 * authenticated beyond begin are dropped at accept with a probability
 * that rises from rate percent to 100 at full.
 */
struct poold_startups {
	unsigned int begin, rate, full;
};

/*
 * [client NAME]: a named key (NAME is the key id clients send, from
 * protocol 3 on), its key files and its quota over all its regions.
 * key_file is a comma-separated list of up to POOLD_MAX_KEYS files: any
 * of them is accepted, so a key can be rotated without a gap.
 */
#define POOLD_MAX_IDS		64
#define POOLD_MAX_KEYS		4
/* HMAC-SHA256's block: the donor keeps every key this long (config.c,
 * keyring_normalize), and its decoy key too (server.c) */
#define POOLD_KEY_BLOCK		64
#define POOLD_KEY_FILES_LEN	2048

struct poold_client_conf {
	char id[RMEM_KEY_ID_SIZE];
	char key_file[POOLD_KEY_FILES_LEN];
	uint64_t quota;			/* bytes; 0: the pool size */
};

/*
 * Every key of rmem-poold.conf; Documentation/admin-guide/rmem-poold.rst
 * documents them and config.c's table defines them.
 */
struct poold_config {
	/* [server] */
	char listen[256];
	unsigned int port;
	unsigned int max_clients;
	unsigned int idle_timeout;	/* seconds an orphaned region is kept */
	unsigned int handshake_timeout;	/* seconds to authenticate */
	unsigned int threads;		/* event loops; 0: auto */
	struct poold_startups startups;	/* unauthenticated, all sources */
	unsigned int source_startups;	/* unauthenticated, one address */
	unsigned int keepalive;		/* seconds idle before probes; 0 off */
	/* [pool] */
	uint64_t pool_size;
	int hugepages;			/* enum poold_huge */
	bool lock;
	/* [auth]: the key of clients that name none (protocol 1 and 2 too) */
	char key_file[POOLD_KEY_FILES_LEN];	/* "": no such key */
	uint64_t quota;			/* bytes over all its regions; 0: pool */
	/* [client NAME] */
	struct poold_client_conf clients[POOLD_MAX_IDS];
	unsigned int nclients;
	/* [log] */
	int log_level;
	bool log_syslog;
};

void poold_config_defaults(struct poold_config *cfg);
int poold_config_load(const char *path, struct poold_config *cfg,
		      char *err, size_t errlen);
int poold_config_parse_string(const char *name, const char *text,
			      struct poold_config *cfg,
			      char *err, size_t errlen);
/*
 * Split a key_file list: calls fn for each path (white space around it
 * dropped), stopping at its first nonzero return. 0, fn's return, or
 * -EINVAL with a message (an empty entry, too many, too long).
 */
int poold_key_files(const char *list,
		    int (*fn)(void *arg, const char *path, char *err,
			      size_t errlen),
		    void *arg, char *err, size_t errlen);
/*
 * The keys a donor accepts, loaded from a configuration's key files:
 * ids[0] is [auth]'s (id "", no keys if it has no key_file), then one per
 * [client NAME]. fp is each key's SHA-256: a connection remembers the one
 * it proved, and a reload that drops it closes the connection.
 */
struct poold_ident {
	char id[RMEM_KEY_ID_SIZE];
	struct rmem_key keys[POOLD_MAX_KEYS];
	uint8_t fp[POOLD_MAX_KEYS][RMEM_MAC_SIZE];
	unsigned int nkeys;
	uint64_t quota_frames;		/* over all its regions */
};

struct poold_keyring {
	struct poold_ident ids[1 + POOLD_MAX_IDS];
	unsigned int n;
};

/* Load every key file of cfg, relative ones against dir (as abspath). */
int poold_keyring_load(const struct poold_config *cfg, const char *dir,
		       struct poold_keyring *kr, char *err, size_t errlen);
/* The identity of key id ("" for [auth]'s), NULL if none has keys. */
const struct poold_ident *poold_keyring_find(const struct poold_keyring *kr,
					     const char *id);
/* Is the key with this fingerprint still one of id's? */
bool poold_keyring_holds(const struct poold_keyring *kr, const char *id,
			 const uint8_t *fp);
void poold_keyring_clear(struct poold_keyring *kr);

/*
 * A relative path made absolute against dir (the working directory the
 * daemon started in; NULL if getcwd failed): a relative key_file means
 * the same file at start and at every reload, after the daemon's
 * chdir("/"). 0, or -errno with a message.
 */
int poold_config_abspath(char *path, size_t size, const char *dir,
			 char *err, size_t errlen);
/* Names of the keys that differ and need a restart to change; "" if none. */
void poold_config_restart_keys(const struct poold_config *old,
			       const struct poold_config *new,
			       char *buf, size_t len);

#endif

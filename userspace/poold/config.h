/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POOLD_CONFIG_H
#define POOLD_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
	/* [auth] */
	char key_file[PATH_MAX];
	uint64_t quota;			/* bytes; 0: the pool size */
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

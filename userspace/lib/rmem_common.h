/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Pieces the donor and the client library share and nothing else needs:
 * the authentication transcript, key files, randomness and "host[:port]".
 * One definition each, so the two sides cannot drift apart.
 */
#ifndef RMEM_COMMON_H
#define RMEM_COMMON_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/rmem.h>

struct rmem_key {
	uint8_t bytes[RMEM_KEY_MAX];
	size_t len;
};

/* Where clients look for the key unless told: $RMEM_KEY_FILE, else this. */
#define RMEM_DEFAULT_KEY_FILE	"/etc/rmem/key"
const char *rmem_default_key_file(void);

/* Load a key file; 0, or -errno with a message in err. */
int rmem_key_load(const char *path, struct rmem_key *key,
		  char *err, size_t errlen);
/* Fill buf with a new random key in hex, NUL-terminated; 0 or -errno. */
int rmem_key_generate(char *hex, size_t hexlen);

int rmem_random(void *buf, size_t len);

/*
 * The MACs of the handshake (Documentation/protocol.rst):
 *   client: HMAC-SHA256(key, "rmem-client" || le16 version || donor nonce || client nonce)
 *   donor:  HMAC-SHA256(key, "rmem-donor"  || le16 version || client nonce || donor nonce)
 */
void rmem_auth_client_mac(const struct rmem_key *key, uint16_t version,
			  const uint8_t *client_nonce,
			  const uint8_t *donor_nonce, uint8_t *mac);
void rmem_auth_donor_mac(const struct rmem_key *key, uint16_t version,
			 const uint8_t *client_nonce,
			 const uint8_t *donor_nonce, uint8_t *mac);
/*
 * Version 3 (RMEM_PROTO_VERSION_KEYID) on: th, the transcript hash, is
 * SHA-256(HELLO payload || HELLO reply payload || key id), exactly as
 * they crossed the wire, so a change to any field (versions, flags, the
 * name, the key id) fails both MACs.
 *   client: HMAC-SHA256(key, "rmem-client-3" || th)
 *   donor:  HMAC-SHA256(key, "rmem-donor-3" || th || client mac ||
 *                            reply bytes after its mac)
 * rep is the AUTH reply with every field but mac filled in.
 */
void rmem_auth_transcript(const struct rmem_hello *hello,
			  const struct rmem_hello_reply *reply,
			  const char key_id[RMEM_KEY_ID_SIZE], uint8_t *th);
void rmem_auth3_client_mac(const struct rmem_key *key, const uint8_t *th,
			   uint8_t *mac);
void rmem_auth3_donor_mac(const struct rmem_key *key, const uint8_t *th,
			  const uint8_t *client_mac,
			  const struct rmem_auth_reply *rep, uint8_t *mac);
/*
 * The downgrade mark (linux/rmem.h): the donor puts it in its nonce when
 * it chose a version below its own highest; the client asks whether the
 * nonce shows a donor that would have chosen more than it did, given what
 * the client offered. 1: downgraded on the path; *donor_max says to what.
 */
void rmem_hello_mark(uint8_t *nonce, uint16_t donor_max);
int rmem_hello_downgraded(const uint8_t *nonce, uint16_t chosen,
			  uint16_t client_max, uint16_t *donor_max);
/*
 * A key id: 1..RMEM_KEY_ID_SIZE-1 characters of [A-Za-z0-9._-], not
 * starting with '.' or '-'. 0, or -EINVAL with a message in err.
 */
int rmem_key_id_check(const char *id, char *err, size_t errlen);
/* Constant-time comparison of two MACs; 1 when equal. */
int rmem_auth_equal(const uint8_t *a, const uint8_t *b);

/*
 * Split "host", "host:port", "[v6]" or "[v6]:port"; port defaults to
 * default_port. 0, or -EINVAL with a message in err.
 */
int rmem_parse_hostport(const char *spec, uint16_t default_port,
			char *host, size_t hostlen, uint16_t *port,
			char *err, size_t errlen);

/*
 * Fill a frame with bytes that depend on (seed, frame) and nothing else:
 * the test pattern of rmemctl check and the tests, so a page that comes
 * back wrong, or from the wrong frame, is caught.
 */
void rmem_fill_pattern(void *page, uint64_t seed, uint64_t frame);

/*
 * True when stderr is the stream systemd connected to the journal
 * (JOURNAL_STREAM names its device and inode): lines may then start with
 * their syslog priority, "<3>", which journald takes (sd-daemon(3)).
 */
bool rmem_stderr_is_journal(void);

/* Parse "64M", "1G", "4096": bytes, with K/M/G/T binary suffixes. */
int rmem_parse_size(const char *s, uint64_t *bytes);

/* A whole unsigned number, decimal or 0x hexadecimal, and nothing else:
 * 0, or -EINVAL (-ERANGE past 64 bits). For the tools' numeric options. */
int rmem_parse_u64(const char *s, uint64_t *v);

/*
 * For a process swap I/O waits on (the donor; rmemctl while it reconnects
 * a device): the OOM killer must not pick it (0, or -errno: needs
 * CAP_SYS_RESOURCE), and as an I/O flusher (PR_SET_IO_FLUSHER) its own
 * allocations never start I/O, so reclaim cannot make it wait on a device
 * that waits on it (0, or -errno).
 */
int rmem_protect_from_oom(void);
int rmem_mark_io_flusher(void);

#endif /* RMEM_COMMON_H */

// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer harness: librmem's reply parser, fed by a donor that sends
 * what the input says.
 *
 * A thread of this process plays the donor on a loopback socket; the
 * harness's main thread is a librmem client that connects and runs every
 * call of the API once (open, write, read, patch, discard, stats, ping, a
 * batch of submitted reads, close). The donor reads each request the
 * client sends and answers it with the input's next record. Input:
 *
 *   byte 0, bit 0   the donor does the handshake right (the HELLO reply,
 *                   then the AUTH reply with the fixed key's MAC); clear:
 *                   the records answer HELLO and AUTH too
 *   byte 0, bit 1   each record's bytes 8..15 (a reply header's tag) are
 *                   replaced with the tag of the request it answers, so
 *                   the records need not guess tags
 *   records         le16 length, then that many bytes, sent as one write
 *                   once a request has been read
 *
 * When the records end the donor shuts its write side; the client then
 * sees the end of the stream and every later call fails at once. What
 * must hold, whatever the donor sent: no call crashes, reads or writes
 * out of bounds, leaks or hangs (ASan, UBSan, LeakSanitizer, libFuzzer's
 * timeout). Whether a call should have succeeded is not judged here:
 * the reply checks are rmem_proto.c's, which fuzz_proto holds to their
 * rules. With RMEM_FUZZ_LOG=1 in the environment each call's
 * result is printed.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "librmem.h"
#include "rmem_common.h"
#include "rmem_proto.h"

#define FUZZ_KEY	"rmem-fuzz-key-0123456789abcdef"
#define FRAMES		16

static int listen_fd = -1;
static uint16_t listen_port;
static struct rmem_key fuzz_key;
static bool verbose;

struct donor {
	const uint8_t *data;
	size_t size;
	uint8_t mode;
};

static void die(const char *what)
{
	fprintf(stderr, "fuzz_client: %s\n", what);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);

	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	verbose = getenv("RMEM_FUZZ_LOG") != NULL;
	fuzz_key.len = strlen(FUZZ_KEY);
	memcpy(fuzz_key.bytes, FUZZ_KEY, fuzz_key.len);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 ||
	    bind(listen_fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    listen(listen_fd, 4) ||
	    getsockname(listen_fd, (struct sockaddr *)&sin, &sl))
		die("cannot listen on loopback");
	listen_port = ntohs(sin.sin_port);
	return 0;
}

static int read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = recv(fd, p, len, 0);

		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void send_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

/* One request from the client: its header decoded, its payload kept
 * (HELLO's nonce) or skipped. */
static int read_request(int fd, struct rmem_req *req, void *keep,
			size_t keep_len)
{
	struct rmem_req_hdr hdr;
	uint8_t buf[4096];
	size_t left;

	if (read_full(fd, &hdr, sizeof(hdr)) || rmem_req_decode(&hdr, req))
		return -1;
	for (left = req->len; left;) {
		size_t n = left < sizeof(buf) ? left : sizeof(buf);

		if (read_full(fd, buf, n))
			return -1;
		if (keep && left == req->len)
			memcpy(keep, buf, n < keep_len ? n : keep_len);
		left -= n;
	}
	return 0;
}

static void send_reply(int fd, const struct rmem_req *req, uint16_t status,
		       const void *payload, uint32_t len)
{
	struct rmem_reply rep = {
		.op = req->op, .status = status, .tag = req->tag, .len = len,
	};
	struct rmem_reply_hdr hdr;

	rmem_reply_encode(&hdr, &rep);
	send_full(fd, &hdr, sizeof(hdr));
	send_full(fd, payload, len);
}

/* The donor's side of a right handshake with the fixed key. */
static int donor_handshake(int fd)
{
	struct rmem_hello hello;
	struct rmem_hello_reply hr = {
		.version = htole16(RMEM_PROTO_VERSION),
		.min_version = htole16(RMEM_PROTO_VERSION_MIN),
		.max_version = htole16(RMEM_PROTO_VERSION),
		.nonce = "fuzz-donor-nonce",
	};
	struct rmem_auth_reply ar = {
		.quota_frames = htole64(FRAMES),
		.free_frames = htole64(FRAMES),
		.max_io_frames = htole32(RMEM_MAX_IO_FRAMES),
		.max_discard_extents = htole32(RMEM_MAX_DISCARD_EXTENTS),
		.frame_size = htole32(RMEM_FRAME_SIZE),
	};
	struct rmem_auth_v3 auth;
	struct rmem_req req;
	uint8_t th[RMEM_MAC_SIZE];

	if (read_request(fd, &req, &hello, sizeof(hello)) ||
	    req.op != RMEM_OP_HELLO)
		return -1;
	send_reply(fd, &req, RMEM_OK, &hr, sizeof(hr));
	if (read_request(fd, &req, &auth, sizeof(auth)) ||
	    req.op != RMEM_OP_AUTH || req.len != sizeof(auth))
		return -1;
	/* version 3: the proof covers the transcript, the client's MAC and
	 * the rest of this reply */
	rmem_auth_transcript(&hello, &hr, auth.key_id, th);
	rmem_auth3_donor_mac(&fuzz_key, th, auth.mac, &ar, ar.mac);
	send_reply(fd, &req, RMEM_OK, &ar, sizeof(ar));
	return 0;
}

static void *donor_thread(void *arg)
{
	struct donor *d = arg;
	const uint8_t *p = d->data, *end = d->data + d->size;
	uint8_t rec[65536 + 8];
	struct rmem_req req;
	struct pollfd pfd;
	uint64_t tags[64];
	unsigned int ntags = 0;
	int fd, one = 1;

	/* a client that failed before its connect leaves nothing to accept */
	pfd.fd = listen_fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 5000) != 1)
		return NULL;
	fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return NULL;
	/* as the donor does: no record waits behind Nagle for an ACK */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((d->mode & 1) && donor_handshake(fd))
		goto out;
	while (end - p >= 2) {
		size_t len = (size_t)p[0] | (size_t)p[1] << 8;

		p += 2;
		if (len > (size_t)(end - p))
			len = (size_t)(end - p);
		/*
		 * The requests sent so far, their tags queued; wait a little
		 * for one if none is queued. Not forever: a client that
		 * waits for the rest of a reply sends nothing more.
		 */
		pfd.fd = fd;
		pfd.events = POLLIN;
		while (ntags < 64 && poll(&pfd, 1, ntags ? 0 : 2) == 1) {
			if (read_request(fd, &req, NULL, 0))
				goto out;	/* the client hung up */
			tags[ntags++] = req.tag;
		}
		memcpy(rec, p, len);
		if ((d->mode & 2) && len >= 16 && ntags) {
			uint64_t tag = htole64(tags[0]);

			memcpy(rec + 8, &tag, sizeof(tag));
		}
		if (ntags)
			memmove(tags, tags + 1, --ntags * sizeof(tags[0]));
		send_full(fd, rec, len);
		p += len;
	}
out:
	/* the end of the stream; then wait for the client to hang up */
	shutdown(fd, SHUT_WR);
	while (recv(fd, rec, sizeof(rec), 0) > 0)
		;
	close(fd);
	return NULL;
}

/* RMEM_FUZZ_LOG=1: what each call returned, to follow one input */
static int said(const struct rmem_client *c, const char *call, int ret)
{
	if (verbose)
		fprintf(stderr, "fuzz_client: %s: %d%s%s\n", call, ret,
			ret < 0 ? ", " : "", ret < 0 ? rmem_errmsg(c) : "");
	return ret;
}

/* Every call of the API once; each may fail, none may misbehave. */
static void client_run(struct rmem_client *c)
{
	static uint8_t page[2 * RMEM_FRAME_SIZE], back[2 * RMEM_FRAME_SIZE];
	struct rmem_completion ev[4];
	struct rmem_stats_info st;
	struct rmem_region region;
	struct rmem_extent ext;
	uint64_t rtt;
	int i, n;

	if (said(c, "open", rmem_open_region(c, FRAMES, &region)))
		return;
	memset(page, 0xa5, sizeof(page));
	said(c, "write", rmem_write(c, 0, 2, page));
	memset(back, 0xee, sizeof(back));
	said(c, "read", rmem_read(c, 0, 2, back));
	page[64] ^= 1;
	/* mask bit 1: the line at 64 */
	said(c, "patch", rmem_patch(c, 0, 2, page));
	said(c, "discard", rmem_discard(c, 1, 1));
	said(c, "stats", rmem_stats(c, &st));
	said(c, "ping", rmem_ping(c, &rtt));
	for (i = 0; i < 3; i++)
		said(c, "submit read",
		     rmem_submit_read(c, (uint64_t)i, 1, back + (i & 1) *
				      RMEM_FRAME_SIZE, (void *)(uintptr_t)i));
	rmem_extent_set(&ext, 2, 2);
	said(c, "submit discard", rmem_submit_discard(c, &ext, 1, NULL));
	said(c, "flush", rmem_flush(c));
	while (rmem_inflight(c) &&
	       (n = said(c, "reap", rmem_reap(c, ev, 1, 4, 1000))) > 0)
		;
	said(c, "close", rmem_close(c, true));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rmem_client_opts o = {
		.host = "127.0.0.1",
		.port = 0,
		.key = FUZZ_KEY,
		.key_len = strlen(FUZZ_KEY),
		.name = "fuzz",
		.depth = 4,
		.timeout_ms = 50,	/* a donor that answers nothing */
	};
	struct donor d;
	struct rmem_client *c;
	pthread_t t;

	if (!size)
		return 0;
	d.mode = data[0];
	d.data = data + 1;
	d.size = size - 1;
	o.port = listen_port;
	if (pthread_create(&t, NULL, donor_thread, &d))
		die("pthread_create");
	c = rmem_client_new();
	if (!c)
		die("rmem_client_new");
	if (!said(c, "connect", rmem_connect(c, &o)))
		client_run(c);
	rmem_client_free(c);
	pthread_join(t, NULL);
	return 0;
}

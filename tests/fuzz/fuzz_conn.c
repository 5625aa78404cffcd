// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer harness: rmem-poold's per-connection state machine, fed a
 * byte stream as a peer would send it.
 *
 * The daemon's own server.c is compiled in (so its static functions are
 * this file's): one event loop, a small real pool, a fixed key. Each input
 * is one connection, a socketpair handed to server_admit() as accept would
 * hand it a socket, and the loop is turned with loop_round() until nothing
 * more happens. Input:
 *
 *   byte 0, bit 0   the harness first does the handshake right (HELLO,
 *                   then AUTH with the fixed key's MAC), so the stream
 *                   reaches the authenticated requests; clear: the stream
 *                   starts at HELLO itself
 *   byte 0, bits 4-7  0: the stream is written at once; n: n bytes a write,
 *                   rounds of the loop between (headers cut anywhere),
 *                   for the first CHUNKED bytes, then the rest at once
 *   the rest        the stream
 *
 * After the stream the peer shuts its write side and reads everything
 * left. Then the harness checks what must hold of every connection's
 * end, whatever it sent: the connection is gone, every count it took
 * (sockets, startups, clients, the loop's load) is back to zero, and once
 * orphaned regions are released every frame is back in the pool. A
 * failed check aborts, which libFuzzer reports as a crash.
 */
#include "server.c"

#include <assert.h>
#include <sys/socket.h>
#include <openssl/evp.h>

#define FUZZ_KEY	"rmem-fuzz-key-0123456789abcdef"
#define FUZZ_CONFIG	"[server]\nlisten = 127.0.0.1\nport = 0\nthreads = 1\n" \
			"keepalive = 0\nmax_clients = 4\n" \
			"[pool]\nsize = 1M\nlock = no\nhugepages = no\n" \
			"[auth]\nkey_file = /nonexistent\nquota = 512K\n" \
			"[log]\nlevel = error\n"

#define CHUNKED		1024

static struct server fz = { .listen_fd = -1, .signal_fd = -1 };

static void die(const char *what)
{
	fprintf(stderr, "fuzz_conn: %s\n", what);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512];

	(void)argc;
	(void)argv;
	poold_config_defaults(&fz.cfg);
	if (poold_config_parse_string("fuzz.conf", FUZZ_CONFIG, &fz.cfg, err,
				      sizeof(err)))
		die(err);
	/* RMEM_FUZZ_LOG=1: the donor's log at debug, to follow one input */
	poold_log_setup(getenv("RMEM_FUZZ_LOG") ? POOLD_LOG_DEBUG :
			fz.cfg.log_level, false);
	/* the keyring of one identity, [auth]'s, with the fixed key and
	 * the configured quota, as poold_keyring_load would build it */
	{
		struct poold_ident *id = &fz.keys.ids[0];

		fz.keys.n = 1;
		id->nkeys = 1;
		id->keys[0].len = strlen(FUZZ_KEY);
		memcpy(id->keys[0].bytes, FUZZ_KEY, id->keys[0].len);
		EVP_Digest(id->keys[0].bytes, id->keys[0].len, id->fp[0],
			   NULL, EVP_sha256(), NULL);
		id->quota_frames = fz.cfg.quota / RMEM_FRAME_SIZE;
	}
	if (server_listen(&fz, err, sizeof(err)) ||
	    pool_init(&fz.pool, fz.cfg.pool_size, POOLD_HUGE_NO, err,
		      sizeof(err)) ||
	    server_start(&fz, err, sizeof(err)))
		die(err);
	/* the daemon takes SIGINT/SIGTERM/SIGHUP through its signalfd: the
	 * harness leaves them to libFuzzer (Ctrl-C ends the run, not the
	 * donor's handshakes) */
	epoll_ctl(fz.loops[0].epfd, EPOLL_CTL_DEL, fz.signal_fd, NULL);
	{
		sigset_t mask;

		sigemptyset(&mask);
		sigaddset(&mask, SIGTERM);
		sigaddset(&mask, SIGINT);
		sigaddset(&mask, SIGHUP);
		sigprocmask(SIG_UNBLOCK, &mask, NULL);
	}
	return 0;
}

/* Take what the donor sent, so that its replies never stop on a full
 * socket; nothing of it is checked but the handshake's. */
static void drain(int peer)
{
	uint8_t buf[65536];

	while (recv(peer, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

/* Rounds of the loop until it has nothing to do (bounded). */
static void pump(int peer)
{
	struct loop *l = &fz.loops[0];
	int i;

	for (i = 0; i < 256; i++) {
		int n = loop_round(l, 0);

		if (peer >= 0)
			drain(peer);
		if (n <= 0 && !l->restage)
			return;
	}
}

/* Read exactly len bytes of the donor's answer, turning the loop. */
static void read_exact(int peer, void *buf, size_t len)
{
	size_t off = 0;
	int i;

	for (i = 0; off < len && i < 1000; i++) {
		ssize_t n;

		loop_round(&fz.loops[0], 0);
		n = recv(peer, (uint8_t *)buf + off, len - off, MSG_DONTWAIT);
		if (n > 0)
			off += (size_t)n;
		else if (n == 0)
			break;
	}
	if (off < len)
		die("the donor did not answer a correct handshake");
}

/* Write it all, turning the loop between writes; the donor's answers
 * are drained unless keep (the handshake reads its own). */
static void send_all(int peer, const void *buf, size_t len, bool keep)
{
	const uint8_t *p = buf;
	int i;

	for (i = 0; len && i < 100000; i++) {
		ssize_t n = send(peer, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n < 0 && errno != EAGAIN) {
			return;	/* the donor closed: the rest is moot */
		}
		pump(keep ? -1 : peer);
	}
}

static void send_req(int peer, uint16_t op, const void *payload, uint32_t len)
{
	struct rmem_req req = { .op = op, .tag = op, .len = len };
	struct rmem_req_hdr hdr;

	rmem_req_encode(&hdr, &req);
	send_all(peer, &hdr, sizeof(hdr), true);
	send_all(peer, payload, len, true);
}

static void check_reply(const struct rmem_reply_hdr *w, uint16_t op,
			uint32_t len)
{
	struct rmem_reply rep;

	if (rmem_reply_decode(w, &rep) || rep.op != op ||
	    rep.status != RMEM_OK || rep.len != len)
		die("the donor refused a correct handshake");
}

/* The client's side of the handshake, right, with the fixed key. */
static void handshake(int peer)
{
	struct rmem_hello hello = {
		.min_version = htole16(RMEM_PROTO_VERSION_MIN),
		.max_version = htole16(RMEM_PROTO_VERSION),
		.nonce = "fuzz-client-nonce",
		.name = "fuzz",
	};
	struct {
		struct rmem_reply_hdr hdr;
		struct rmem_hello_reply hr;
	} h;
	struct {
		struct rmem_reply_hdr hdr;
		struct rmem_auth_reply ar;
	} a;
	struct rmem_auth_v3 auth = { .key_id = "" };
	uint8_t th[RMEM_MAC_SIZE];

	/* no padding between header and payload: read as one */
	_Static_assert(sizeof(h) == sizeof(h.hdr) + sizeof(h.hr), "padded");
	_Static_assert(sizeof(a) == sizeof(a.hdr) + sizeof(a.ar), "padded");
	send_req(peer, RMEM_OP_HELLO, &hello, sizeof(hello));
	read_exact(peer, &h, sizeof(h));
	check_reply(&h.hdr, RMEM_OP_HELLO, sizeof(h.hr));
	if (le16toh(h.hr.version) != RMEM_PROTO_VERSION)
		die("the donor chose an old version");
	rmem_auth_transcript(&hello, &h.hr, auth.key_id, th);
	rmem_auth3_client_mac(&fz.keys.ids[0].keys[0], th, auth.mac);
	send_req(peer, RMEM_OP_AUTH, &auth, sizeof(auth));
	read_exact(peer, &a, sizeof(a));
	check_reply(&a.hdr, RMEM_OP_AUTH, sizeof(a.ar));
}

/* What every connection's end leaves, whatever it sent. */
static void check_clean(void)
{
	struct pool_region *r, *next;

	if (fz.loops[0].conns || fz.loops[0].incoming)
		die("a connection outlived its peer's EOF");
	if (fz.nsockets || fz.nconns || fz.nstartups || fz.nsrcs ||
	    fz.loops[0].load)
		die("a connection's counts were not given back");
	for (r = fz.pool.regions; r; r = next) {
		next = r->next;
		if (r->refs)
			die("a region is held after its connection ended");
		pool_region_release(&fz.pool, r);
	}
	if (fz.pool.regions || fz.pool.nregions ||
	    fz.pool.nfree != fz.pool.nframes)
		die("frames were lost to the pool");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint16_t port = 1024;
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *sin = (void *)&ss;
	size_t chunk, off;
	uint8_t mode;
	int sv[2], i;

	if (!size)
		return 0;
	mode = data[0];
	data++;
	size--;
	chunk = mode >> 4;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
		       sv))
		die("socketpair");
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin->sin_port = htons(port++ ?: 1024);
	server_admit(&fz, sv[0], &ss);	/* the donor's end is its own now */
	pump(sv[1]);
	if (mode & 1)
		handshake(sv[1]);
	for (off = 0; off < size;) {
		/* cut into chunks up to CHUNKED bytes in, then the rest */
		size_t n = chunk && off < CHUNKED && chunk < size - off ?
			   chunk : size - off;

		send_all(sv[1], data + off, n, false);
		off += n;
		pump(sv[1]);
	}
	shutdown(sv[1], SHUT_WR);
	for (i = 0; i < 64 && fz.loops[0].conns; i++)
		pump(sv[1]);
	close(sv[1]);
	check_clean();
	return 0;
}

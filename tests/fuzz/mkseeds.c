// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The fuzzers' seed inputs, written with the protocol's own encoders
 * (rmem_proto.c) and wire structs, so that a seed is what a real peer
 * sends and a change of the format changes the seeds with it:
 *
 *   mkseeds DIR     DIR/conn/ and DIR/client/ (tests/fuzz/corpus/ holds
 *                   them; tests/fuzz/seeds.sh checks they are current)
 *
 * conn: what a client sends a donor (fuzz_conn.c's input); client: what a
 * donor answers librmem's calls with (fuzz_client.c's). A seed per path
 * worth reaching: every request right, then the malformed classes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rmem_proto.h"

#define SEED_MAX	(1 << 16)

struct seed {
	uint8_t buf[SEED_MAX];
	size_t len;
};

static void put(struct seed *s, const void *p, size_t len)
{
	if (s->len + len > sizeof(s->buf)) {
		fprintf(stderr, "mkseeds: seed too long\n");
		exit(1);
	}
	memcpy(s->buf + s->len, p, len);
	s->len += len;
}

static void put8(struct seed *s, uint8_t v)
{
	put(s, &v, 1);
}

static void req(struct seed *s, uint16_t op, uint16_t flags, uint64_t frame,
		uint32_t count, const void *payload, uint32_t len)
{
	struct rmem_req r = {
		.op = op, .flags = flags, .tag = s->len, .frame = frame,
		.count = count, .len = len,
	};
	struct rmem_req_hdr h;

	rmem_req_encode(&h, &r);
	put(s, &h, sizeof(h));
	if (len)
		put(s, payload, len);
}

static void save(const char *dir, const char *name, const struct seed *s)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(s->buf, 1, s->len, f) != s->len || fclose(f)) {
		fprintf(stderr, "mkseeds: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

/* ---- conn: a client's requests ---- */

static void open_create(struct seed *s, uint64_t frames)
{
	struct rmem_open o = { .frames = cpu_to_le64(frames) };

	req(s, RMEM_OP_OPEN, RMEM_OPEN_F_CREATE, 0, 0, &o, sizeof(o));
}

static void every_request(struct seed *s)
{
	static uint8_t pages[2 * RMEM_FRAME_SIZE];
	uint8_t patch[sizeof(struct rmem_patch) + 2 * RMEM_LINE_SIZE];
	struct rmem_patch *ph = (void *)patch;
	struct rmem_extent ext[2] = {
		{ .frame = cpu_to_le64(0), .count = cpu_to_le32(1) },
		{ .frame = cpu_to_le64(3), .count = cpu_to_le32(2) },
	};
	uint8_t ping[16];
	size_t i;

	for (i = 0; i < sizeof(pages); i++)
		pages[i] = (uint8_t)(i * 7);
	open_create(s, 8);
	req(s, RMEM_OP_WRITE, 0, 0, 2, pages, sizeof(pages));
	req(s, RMEM_OP_READ, 0, 0, 2, NULL, 0);
	/* lines 0 and 5 of frame 1, hashed as they will be */
	pages[RMEM_FRAME_SIZE] ^= 0xff;
	pages[RMEM_FRAME_SIZE + 5 * RMEM_LINE_SIZE] ^= 0xff;
	ph->mask = cpu_to_le64(1ull | 1ull << 5);
	ph->hash = cpu_to_le64(rmem_page_hash(pages + RMEM_FRAME_SIZE));
	rmem_patch_gather(pages + RMEM_FRAME_SIZE, le64_to_cpu(ph->mask),
			  patch + sizeof(*ph));
	req(s, RMEM_OP_PATCH, 0, 1, 0, patch, sizeof(patch));
	ph->hash = 0;	/* the same, mismatched */
	req(s, RMEM_OP_PATCH, 0, 1, 0, patch, sizeof(patch));
	req(s, RMEM_OP_DISCARD, 0, 0, 2, ext, sizeof(ext));
	req(s, RMEM_OP_STATS, 0, 0, 0, NULL, 0);
	memset(ping, 0x5a, sizeof(ping));
	req(s, RMEM_OP_PING, 0, 0, 0, ping, sizeof(ping));
}

static void conn_seeds(const char *dir)
{
	struct rmem_hello hello = {
		.min_version = cpu_to_le16(RMEM_PROTO_VERSION_MIN),
		.max_version = cpu_to_le16(RMEM_PROTO_VERSION),
		.name = "seed",
	};
	struct rmem_auth_v3 auth = { .key_id = "seed" };
	struct rmem_extent overlap[4];
	struct rmem_open o = { 0 };
	struct seed s;
	unsigned int i;

	/* the harness's handshake, then every request, at once and then a
	 * byte a write */
	s.len = 0;
	put8(&s, 0x01);
	every_request(&s);
	req(&s, RMEM_OP_CLOSE, RMEM_CLOSE_F_RELEASE, 0, 0, NULL, 0);
	save(dir, "every-request", &s);
	s.buf[0] = 0x11;
	save(dir, "every-request-bytewise", &s);
	s.buf[0] = 0x71;
	save(dir, "every-request-7s", &s);

	/* the stream's own HELLO and an AUTH that proves nothing; HELLO
	 * twice; a request before either */
	s.len = 0;
	put8(&s, 0x00);
	req(&s, RMEM_OP_HELLO, 0, 0, 0, &hello, sizeof(hello));
	req(&s, RMEM_OP_AUTH, 0, 0, 0, &auth, sizeof(auth));
	save(dir, "hello-auth-wrong", &s);
	/* a version 1 AUTH, without a key id, under version 3 */
	s.len = 0;
	put8(&s, 0x00);
	req(&s, RMEM_OP_HELLO, 0, 0, 0, &hello, sizeof(hello));
	req(&s, RMEM_OP_AUTH, 0, 0, 0, &auth, sizeof(struct rmem_auth));
	save(dir, "hello-auth-v1-size", &s);
	s.len = 0;
	put8(&s, 0x00);
	req(&s, RMEM_OP_HELLO, 0, 0, 0, &hello, sizeof(hello));
	req(&s, RMEM_OP_HELLO, 0, 0, 0, &hello, sizeof(hello));
	save(dir, "hello-twice", &s);
	s.len = 0;
	put8(&s, 0x00);
	req(&s, RMEM_OP_READ, 0, 0, 1, NULL, 0);
	save(dir, "read-first", &s);
	s.len = 0;
	put8(&s, 0x00);
	hello.min_version = cpu_to_le16(RMEM_PROTO_VERSION + 1);
	req(&s, RMEM_OP_HELLO, 0, 0, 0, &hello, sizeof(hello));
	save(dir, "hello-min-over-max", &s);
	s.len = 0;
	put8(&s, 0x00);
	req(&s, RMEM_OP_HELLO, 1, 0, 0, &hello, sizeof(hello) - 1);
	save(dir, "hello-short-flags", &s);

	/* authenticated: requests in the wrong shape, out of range, or
	 * before OPEN; overlapping DISCARD extents; pipelined after a fatal
	 * error */
	s.len = 0;
	put8(&s, 0x01);
	req(&s, RMEM_OP_READ, 0, 0, 1, NULL, 0);
	open_create(&s, 0);
	open_create(&s, ~0ull);
	open_create(&s, 128);	/* the fuzzer's quota, exactly */
	req(&s, RMEM_OP_CLOSE, 0, 0, 0, NULL, 0);
	save(dir, "open-sizes", &s);
	s.len = 0;
	put8(&s, 0x01);
	open_create(&s, 4);
	req(&s, RMEM_OP_READ, 0, ~0ull - 1, 2, NULL, 0);
	req(&s, RMEM_OP_READ, 0, 3, 2, NULL, 0);
	req(&s, RMEM_OP_WRITE, 0, 0, 1, NULL, 0);
	req(&s, RMEM_OP_READ, 0, 0, 0, NULL, 0);
	req(&s, RMEM_OP_OPEN, 3, 0, 0, &o, sizeof(o));
	req(&s, RMEM_OP_OPEN, RMEM_OPEN_F_ATTACH, 0, 0, &o, sizeof(o));
	for (i = 0; i < 4; i++) {
		overlap[i].frame = 0;
		overlap[i].count = cpu_to_le32(4);
		overlap[i].reserved = 0;
	}
	req(&s, RMEM_OP_DISCARD, 0, 0, 4, overlap, sizeof(overlap));
	req(&s, RMEM_OP_WRITE, 0, 0, 1, overlap, 7);	/* fatal: short */
	req(&s, RMEM_OP_STATS, 0, 0, 0, NULL, 0);
	save(dir, "shapes", &s);
}

/* ---- client: a donor's replies ---- */

static void rep(struct seed *s, uint16_t op, uint16_t status,
		const void *payload, uint32_t len)
{
	struct rmem_reply r = { .op = op, .status = status, .len = len };
	struct rmem_reply_hdr h;
	uint8_t n[2] = { (uint8_t)(sizeof(h) + len),
			 (uint8_t)((sizeof(h) + len) >> 8) };

	/* a record: its length, then the reply (the tag is the harness's) */
	rmem_reply_encode(&h, &r);
	put(s, n, sizeof(n));
	put(s, &h, sizeof(h));
	if (len)
		put(s, payload, len);
}

static void client_seeds(const char *dir)
{
	static uint8_t pages[2 * RMEM_FRAME_SIZE];
	struct rmem_open_reply orep = {
		.region_id = cpu_to_le64(1), .frames = cpu_to_le64(16),
	};
	struct {
		struct rmem_stats st;
		struct rmem_fence_stats fs;
		struct rmem_key_stats ks;	/* protocol 3 */
	} stats;
	struct rmem_hello_reply hr = {
		.version = cpu_to_le16(RMEM_PROTO_VERSION),
		.min_version = cpu_to_le16(RMEM_PROTO_VERSION_MIN),
		.max_version = cpu_to_le16(RMEM_PROTO_VERSION),
	};
	uint8_t ping[16];
	struct seed s;

	memset(&stats, 0, sizeof(stats));
	memset(ping, 0x5a, sizeof(ping));
	/* the right answer to each of fuzz_client.c's calls, in order */
	s.len = 0;
	put8(&s, 0x03);
	rep(&s, RMEM_OP_OPEN, RMEM_OK, &orep, sizeof(orep));
	rep(&s, RMEM_OP_WRITE, RMEM_OK, NULL, 0);
	rep(&s, RMEM_OP_READ, RMEM_OK, pages, sizeof(pages));
	rep(&s, RMEM_OP_PATCH, RMEM_E_MISMATCH, NULL, 0);
	rep(&s, RMEM_OP_DISCARD, RMEM_OK, NULL, 0);
	rep(&s, RMEM_OP_STATS, RMEM_OK, &stats, sizeof(stats));
	rep(&s, RMEM_OP_PING, RMEM_OK, ping, sizeof(ping));
	rep(&s, RMEM_OP_READ, RMEM_OK, pages, RMEM_FRAME_SIZE);
	rep(&s, RMEM_OP_READ, RMEM_OK, pages, RMEM_FRAME_SIZE);
	rep(&s, RMEM_OP_READ, RMEM_E_RANGE, NULL, 0);
	rep(&s, RMEM_OP_DISCARD, RMEM_OK, NULL, 0);
	rep(&s, RMEM_OP_CLOSE, RMEM_OK, NULL, 0);
	save(dir, "every-call", &s);

	/* the stream answers the handshake itself: a version refusal, and
	 * an AUTH reply whose MAC proves nothing */
	s.len = 0;
	put8(&s, 0x02);
	rep(&s, RMEM_OP_HELLO, RMEM_E_VERSION, &hr, sizeof(hr));
	save(dir, "hello-version", &s);
	s.len = 0;
	put8(&s, 0x02);
	rep(&s, RMEM_OP_HELLO, RMEM_OK, &hr, sizeof(hr));
	{
		struct rmem_auth_reply ar = {
			.max_io_frames = cpu_to_le32(RMEM_MAX_IO_FRAMES),
			.frame_size = cpu_to_le32(RMEM_FRAME_SIZE),
		};

		rep(&s, RMEM_OP_AUTH, RMEM_OK, &ar, sizeof(ar));
	}
	save(dir, "auth-unproven", &s);

	/* wrong answers: a READ short, a reply to another op, a fatal
	 * status in the middle */
	s.len = 0;
	put8(&s, 0x03);
	rep(&s, RMEM_OP_OPEN, RMEM_OK, &orep, sizeof(orep));
	rep(&s, RMEM_OP_WRITE, RMEM_OK, NULL, 0);
	rep(&s, RMEM_OP_READ, RMEM_OK, pages, RMEM_FRAME_SIZE);
	save(dir, "read-short", &s);
	s.len = 0;
	put8(&s, 0x03);
	rep(&s, RMEM_OP_OPEN, RMEM_OK, &orep, sizeof(orep));
	rep(&s, RMEM_OP_READ, RMEM_OK, NULL, 0);
	save(dir, "wrong-op", &s);
	s.len = 0;
	put8(&s, 0x03);
	rep(&s, RMEM_OP_OPEN, RMEM_OK, &orep, sizeof(orep));
	rep(&s, RMEM_OP_WRITE, RMEM_E_SHUTDOWN, NULL, 0);
	rep(&s, RMEM_OP_READ, RMEM_OK, pages, sizeof(pages));
	save(dir, "fatal-then-more", &s);
}

static void mkdir_p(const char *dir, const char *sub, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", dir, sub);
	if (mkdir(dir, 0755) && errno != EEXIST)
		goto fail;
	if (mkdir(out, 0755) && errno != EEXIST)
		goto fail;
	return;
fail:
	fprintf(stderr, "mkseeds: %s: %s\n", out, strerror(errno));
	exit(1);
}

int main(int argc, char **argv)
{
	char dir[4096];

	if (argc != 2) {
		fprintf(stderr, "usage: mkseeds DIR\n");
		return 2;
	}
	mkdir_p(argv[1], "conn", dir, sizeof(dir));
	conn_seeds(dir);
	mkdir_p(argv[1], "client", dir, sizeof(dir));
	client_seeds(dir);
	return 0;
}

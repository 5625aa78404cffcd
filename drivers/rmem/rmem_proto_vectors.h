/* SPDX-License-Identifier: GPL-2.0 OR LGPL-2.1-or-later */
/*
 * Test vectors of the protocol's pure logic, one definition for both of
 * its test suites: the KUnit suite in the kernel (rmem_proto_test.c) and
 * the userspace unit tests (tests/unit/test_proto.c). Whatever one proves
 * about rmem_proto.c, the other proves about the same file built the
 * other way.
 */
#ifndef RMEM_PROTO_VECTORS_H
#define RMEM_PROTO_VECTORS_H

#include "rmem_compat.h"

/* XXH64, seed 0, of a zero page, from an independent implementation of
 * the spec: pins the hash and seed every side must use. */
#define RMEM_TEST_ZERO_PAGE_HASH	0xac869b6f32d8bbdbull

/* The shape rules: what rmem_req_check() says of each header. */
struct rmem_check_case {
	const char *what;
	u16 op, flags;
	u32 count, len;
	int expect;
};

static const struct rmem_check_case rmem_check_cases[] = {
	{ "hello", RMEM_OP_HELLO, 0, 0, 80, RMEM_OK },
	{ "hello short", RMEM_OP_HELLO, 0, 0, 79, RMEM_E_PROTO },
	{ "hello flags", RMEM_OP_HELLO, 1, 0, 80, RMEM_E_OP },
	{ "auth", RMEM_OP_AUTH, 0, 0, 32, RMEM_OK },
	{ "auth long", RMEM_OP_AUTH, 0, 0, 33, RMEM_E_PROTO },
	{ "auth v3", RMEM_OP_AUTH, 0, 0, 64, RMEM_OK },
	{ "auth v3 long", RMEM_OP_AUTH, 0, 0, 65, RMEM_E_PROTO },
	{ "open create", RMEM_OP_OPEN, RMEM_OPEN_F_CREATE, 0, 32, RMEM_OK },
	{ "open attach", RMEM_OP_OPEN, RMEM_OPEN_F_ATTACH, 0, 32, RMEM_OK },
	{ "open both", RMEM_OP_OPEN, 3, 0, 32, RMEM_E_OP },
	{ "open none", RMEM_OP_OPEN, 0, 0, 32, RMEM_E_OP },
	{ "open len", RMEM_OP_OPEN, 1, 0, 0, RMEM_E_PROTO },
	{ "read 1", RMEM_OP_READ, 0, 1, 0, RMEM_OK },
	{ "read max", RMEM_OP_READ, 0, RMEM_MAX_IO_FRAMES, 0, RMEM_OK },
	{ "read 0", RMEM_OP_READ, 0, 0, 0, RMEM_E_INVAL },
	{ "read over", RMEM_OP_READ, 0, RMEM_MAX_IO_FRAMES + 1, 0, RMEM_E_INVAL },
	{ "read payload", RMEM_OP_READ, 0, 1, 4096, RMEM_E_PROTO },
	{ "read flags", RMEM_OP_READ, 4, 1, 0, RMEM_E_OP },
	{ "write 2", RMEM_OP_WRITE, 0, 2, 8192, RMEM_OK },
	{ "write short", RMEM_OP_WRITE, 0, 2, 8191, RMEM_E_PROTO },
	{ "write 0", RMEM_OP_WRITE, 0, 0, 0, RMEM_E_INVAL },
	{ "write 0 data", RMEM_OP_WRITE, 0, 0, 4096, RMEM_E_PROTO },
	{ "patch empty", RMEM_OP_PATCH, 0, 1, 16, RMEM_OK },
	{ "patch 64", RMEM_OP_PATCH, 0, 1, 16 + 4096, RMEM_OK },
	{ "patch 65", RMEM_OP_PATCH, 0, 1, 16 + 4160, RMEM_E_PROTO },
	{ "patch ragged", RMEM_OP_PATCH, 0, 1, 16 + 63, RMEM_E_PROTO },
	{ "patch short", RMEM_OP_PATCH, 0, 1, 15, RMEM_E_PROTO },
	{ "patch count", RMEM_OP_PATCH, 0, 2, 16, RMEM_E_INVAL },
	{ "discard 1", RMEM_OP_DISCARD, 0, 1, 16, RMEM_OK },
	{ "discard max", RMEM_OP_DISCARD, 0, 256, 4096, RMEM_OK },
	{ "discard over", RMEM_OP_DISCARD, 0, 257, 257 * 16, RMEM_E_INVAL },
	{ "discard len", RMEM_OP_DISCARD, 0, 2, 16, RMEM_E_PROTO },
	/* 2^28 extents of 16 bytes wraps a 32-bit product to 0 */
	{ "discard wrap", RMEM_OP_DISCARD, 0, 1u << 28, 0, RMEM_E_PROTO },
	{ "stats", RMEM_OP_STATS, 0, 0, 0, RMEM_OK },
	{ "stats payload", RMEM_OP_STATS, 0, 0, 1, RMEM_E_PROTO },
	{ "ping", RMEM_OP_PING, 0, 0, RMEM_MAX_PING, RMEM_OK },
	{ "ping long", RMEM_OP_PING, 0, 0, RMEM_MAX_PING + 1, RMEM_E_PROTO },
	{ "close", RMEM_OP_CLOSE, RMEM_CLOSE_F_RELEASE, 0, 0, RMEM_OK },
	{ "close flags", RMEM_OP_CLOSE, 2, 0, 0, RMEM_E_OP },
	{ "op 0", 0, 0, 0, 0, RMEM_E_OP },
	{ "op future", 99, 0, 0, 100, RMEM_E_OP },
};

/* A page whose bytes depend on seed and position. */
static inline void rmem_test_fill(u8 *p, unsigned int seed)
{
	unsigned int i;

	for (i = 0; i < RMEM_FRAME_SIZE; i++)
		p[i] = (u8)(i * 31 + seed * 7 + (i >> 8));
}

#endif /* RMEM_PROTO_VECTORS_H */

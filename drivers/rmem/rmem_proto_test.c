// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite "rmem": the driver's pure logic (rmem_proto.c, rmem_map.c,
 * rmem_lat.c) as the kernel builds it. The vectors and cases are the
 * userspace unit tests' own (rmem_proto_vectors.h, rmem_map_cases.h), so
 * a page hashed here with the kernel's xxh64 must match what libxxhash
 * gives the donor, and the codec, shape rules, PATCH verify-before-apply
 * and slot map must behave the same on both sides.
 *
 *   tools/testing/kunit/kunit.py run --kunitconfig=drivers/rmem
 */
#include <kunit/test.h>
#include <linux/slab.h>

#include "rmem_lat.h"
#include "rmem_delta_cases.h"
#include "rmem_map_cases.h"
#include "rmem_proto.h"
#include "rmem_proto_vectors.h"

static void rmem_test_wire_layout(struct kunit *test)
{
	struct rmem_req req = {
		.op = RMEM_OP_WRITE, .flags = 0x0102, .tag = 0x1122334455667788ull,
		.frame = 0x0a0b0c0d0e0f1011ull, .count = 3, .len = 3 * 4096,
	};
	struct rmem_req_hdr h;
	const u8 *b = (const u8 *)&h;

	rmem_req_encode(&h, &req);
	KUNIT_EXPECT_EQ(test, memcmp(b, "RMEQ", 4), 0);
	KUNIT_EXPECT_EQ(test, b[4], RMEM_OP_WRITE);
	KUNIT_EXPECT_EQ(test, b[6], 0x02);
	KUNIT_EXPECT_EQ(test, b[7], 0x01);
	KUNIT_EXPECT_EQ(test, b[8], 0x88);
	KUNIT_EXPECT_EQ(test, b[15], 0x11);
	KUNIT_EXPECT_EQ(test, b[23], 0x0a);
	KUNIT_EXPECT_EQ(test, b[24], 3);
	KUNIT_EXPECT_EQ(test, b[28] | b[29] << 8 | b[30] << 16, 3 * 4096);
	KUNIT_EXPECT_EQ(test, sizeof(struct rmem_req_hdr), 32);
	KUNIT_EXPECT_EQ(test, sizeof(struct rmem_reply_hdr), 24);
	KUNIT_EXPECT_EQ(test, sizeof(struct rmem_stats), 208);
}

static void rmem_test_codec(struct kunit *test)
{
	struct rmem_req in = {
		.op = RMEM_OP_READ, .tag = 0xdeadbeefcafef00dull,
		.frame = 123456789, .count = 7,
	}, out;
	struct rmem_reply rin = {
		.op = RMEM_OP_PATCH, .status = RMEM_E_MISMATCH, .tag = 42,
	}, rout;
	struct rmem_req_hdr h;
	struct rmem_reply_hdr rh;

	rmem_req_encode(&h, &in);
	KUNIT_ASSERT_EQ(test, rmem_req_decode(&h, &out), RMEM_OK);
	KUNIT_EXPECT_EQ(test, out.op, in.op);
	KUNIT_EXPECT_EQ(test, out.tag, in.tag);
	KUNIT_EXPECT_EQ(test, out.frame, in.frame);
	KUNIT_EXPECT_EQ(test, out.count, in.count);
	h.magic = 0;
	KUNIT_EXPECT_EQ(test, rmem_req_decode(&h, &out), RMEM_E_PROTO);

	rmem_reply_encode(&rh, &rin);
	KUNIT_ASSERT_EQ(test, rmem_reply_decode(&rh, &rout), RMEM_OK);
	KUNIT_EXPECT_EQ(test, rout.status, RMEM_E_MISMATCH);
	KUNIT_EXPECT_EQ(test, rout.tag, 42ull);
	KUNIT_EXPECT_EQ(test, rmem_reply_check(&rout, RMEM_OP_PATCH, 0), RMEM_OK);
	KUNIT_EXPECT_EQ(test, rmem_reply_check(&rout, RMEM_OP_WRITE, 0),
			RMEM_E_PROTO);
	/* the reserved word is zero, or the reply is malformed */
	rh.reserved = cpu_to_le32(1);
	KUNIT_EXPECT_EQ(test, rmem_reply_decode(&rh, &rout), RMEM_E_PROTO);
}

static void rmem_test_req_check(struct kunit *test)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rmem_check_cases); i++) {
		const struct rmem_check_case *c = &rmem_check_cases[i];
		struct rmem_req r = {
			.op = c->op, .flags = c->flags, .count = c->count,
			.len = c->len,
		};

		KUNIT_EXPECT_EQ_MSG(test, rmem_req_check(&r), c->expect,
				    "case '%s'", c->what);
	}
}

static void rmem_test_status_table(struct kunit *test)
{
	int st, fatal = 0;

	for (st = 0; st <= RMEM_STATUS_MAX; st++) {
		KUNIT_EXPECT_STRNEQ(test, rmem_status_name(st), "E_UNKNOWN");
		fatal += rmem_status_fatal(st);
		if (st)
			KUNIT_EXPECT_GT(test, rmem_status_errno(st), 0);
	}
	KUNIT_EXPECT_EQ(test, fatal, 7);
	KUNIT_EXPECT_EQ(test, rmem_status_errno(RMEM_E_MISMATCH), EBADMSG);
	KUNIT_EXPECT_EQ(test, rmem_status_errno(RMEM_E_NOSPC), ENOSPC);
	KUNIT_EXPECT_TRUE(test, rmem_status_fatal(RMEM_STATUS_MAX + 1));
}

/* The kernel's xxh64 is the donor's XXH64: same page, same hash. */
static void rmem_test_page_hash(struct kunit *test)
{
	u8 *page = kunit_kzalloc(test, RMEM_FRAME_SIZE, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_EXPECT_EQ(test, rmem_page_hash(page), RMEM_TEST_ZERO_PAGE_HASH);
	page[4095] = 1;
	KUNIT_EXPECT_NE(test, rmem_page_hash(page), RMEM_TEST_ZERO_PAGE_HASH);
}

static void rmem_test_patch(struct kunit *test)
{
	u8 *frame = kunit_kmalloc(test, RMEM_FRAME_SIZE, GFP_KERNEL);
	u8 *orig = kunit_kmalloc(test, RMEM_FRAME_SIZE, GFP_KERNEL);
	u8 *want = kunit_kmalloc(test, RMEM_FRAME_SIZE, GFP_KERNEL);
	u8 *lines = kunit_kmalloc(test, RMEM_FRAME_SIZE, GFP_KERNEL);
	u64 mask, hash;

	KUNIT_ASSERT_TRUE(test, frame && orig && want && lines);
	rmem_test_fill(frame, 2);
	memcpy(orig, frame, RMEM_FRAME_SIZE);
	memcpy(want, frame, RMEM_FRAME_SIZE);
	memset(want + 5 * 64, 0xee, 64);
	memset(want + 40 * 64, 0x11, 64);
	want[4095] ^= 0x80;

	mask = rmem_line_diff(frame, want);
	KUNIT_EXPECT_EQ(test, mask, 1ull << 5 | 1ull << 40 | 1ull << 63);
	KUNIT_EXPECT_EQ(test, rmem_patch_len(mask), 16u + 3 * 64);
	KUNIT_EXPECT_EQ(test, rmem_patch_gather(want, mask, lines), 3u * 64);
	hash = rmem_page_hash(want);

	/* a wrong hash, or a mask that misses a line: refused, untouched */
	KUNIT_EXPECT_EQ(test, rmem_patch_apply(frame, mask, lines, hash ^ 1),
			RMEM_E_MISMATCH);
	KUNIT_EXPECT_EQ(test, memcmp(frame, orig, RMEM_FRAME_SIZE), 0);
	KUNIT_EXPECT_EQ(test, rmem_patch_apply(frame, 1ull << 5, lines, hash),
			RMEM_E_MISMATCH);
	KUNIT_EXPECT_EQ(test, memcmp(frame, orig, RMEM_FRAME_SIZE), 0);
	/* the right patch gives exactly the new page */
	KUNIT_EXPECT_EQ(test, rmem_patch_apply(frame, mask, lines, hash), RMEM_OK);
	KUNIT_EXPECT_EQ(test, memcmp(frame, want, RMEM_FRAME_SIZE), 0);
}

/* The slot map's cases, shared with tests/unit/test_map.c. */
static void rmem_map_case_desc(const struct rmem_map_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}
KUNIT_ARRAY_PARAM(rmem_map, rmem_map_cases, rmem_map_case_desc);

static void rmem_test_map(struct kunit *test)
{
	const struct rmem_map_case *c = test->param_value;
	u32 *mem = kunit_kcalloc(test, RMEM_MAP_TEST_WORDS, sizeof(u32), GFP_KERNEL);
	const char *err;

	KUNIT_ASSERT_NOT_NULL(test, mem);
	err = c->run(mem);
	KUNIT_EXPECT_TRUE_MSG(test, !err, "%s", err);
}

/* The cache-line delta cases, shared with tests/unit/test_map.c. */
static void rmem_delta_case_desc(const struct rmem_delta_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}
KUNIT_ARRAY_PARAM(rmem_delta, rmem_delta_cases, rmem_delta_case_desc);

static void rmem_test_delta(struct kunit *test)
{
	const struct rmem_delta_case *c = test->param_value;
	void *mem = kunit_kzalloc(test, RMEM_DELTA_TEST_BYTES, GFP_KERNEL);
	const char *err;

	KUNIT_ASSERT_NOT_NULL(test, mem);
	err = c->run(mem);
	KUNIT_EXPECT_TRUE_MSG(test, !err, "%s", err);
}

static void rmem_test_latency(struct kunit *test)
{
	u64 *h = kunit_kzalloc(test, RMEM_LAT_BUCKETS * sizeof(u64), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, h);
	KUNIT_EXPECT_EQ(test, rmem_lat_bucket(999), 0u);
	KUNIT_EXPECT_EQ(test, rmem_lat_bucket(17000), 5u);
	KUNIT_EXPECT_EQ(test, rmem_lat_bucket(~0ull), RMEM_LAT_BUCKETS - 1);
	KUNIT_EXPECT_EQ(test, rmem_lat_percentile_us(h, 990), 0ull);
	h[5] = 98;
	h[8] = 2;
	KUNIT_EXPECT_EQ(test, rmem_lat_percentile_us(h, 980), 32ull);
	KUNIT_EXPECT_EQ(test, rmem_lat_percentile_us(h, 990), 256ull);
}

static struct kunit_case rmem_proto_cases[] = {
	KUNIT_CASE(rmem_test_wire_layout),
	KUNIT_CASE(rmem_test_codec),
	KUNIT_CASE(rmem_test_req_check),
	KUNIT_CASE(rmem_test_status_table),
	KUNIT_CASE(rmem_test_page_hash),
	KUNIT_CASE(rmem_test_patch),
	KUNIT_CASE_PARAM(rmem_test_map, rmem_map_gen_params),
	KUNIT_CASE_PARAM(rmem_test_delta, rmem_delta_gen_params),
	KUNIT_CASE(rmem_test_latency),
	{}
};

static struct kunit_suite rmem_proto_suite = {
	.name = "rmem",
	.test_cases = rmem_proto_cases,
};
kunit_test_suite(rmem_proto_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests of rmem's protocol logic");

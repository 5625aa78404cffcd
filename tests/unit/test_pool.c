// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of the donor's frame allocator and regions: no frame is ever
 * in two regions, frames come back zeroed, tokens guard regions, orphans
 * expire, bounds checks do not wrap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "log.h"
#include "pool.h"
#include "rmem_proto.h"

#define NFRAMES 64

static int setup(void **state)
{
	struct pool *p = calloc(1, sizeof(*p));
	char err[256];

	if (!p || pool_init(p, NFRAMES * RMEM_FRAME_SIZE, POOLD_HUGE_NO,
			    err, sizeof(err)))
		return -1;
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	pool_destroy(*state);
	free(*state);
	return 0;
}

static void test_no_frame_shared(void **state)
{
	struct pool *p = *state;
	struct pool_region *r[4];
	uint8_t owner[NFRAMES] = { 0 };
	uint64_t i;
	int k;

	for (k = 0; k < 4; k++) {
		assert_int_equal(pool_region_create(p, 16, &r[k]), RMEM_OK);
		for (i = 0; i < 16; i++) {
			assert_true(r[k]->frames[i] < NFRAMES);
			assert_int_equal(owner[r[k]->frames[i]], 0);
			owner[r[k]->frames[i]] = (uint8_t)(k + 1);
		}
	}
	assert_true(p->nfree == 0);
	assert_int_equal(p->nregions, 4);
	assert_true(r[0]->id != r[1]->id);
	assert_memory_not_equal(r[0]->token, r[1]->token, RMEM_TOKEN_SIZE);
	for (k = 0; k < 4; k++)
		pool_region_put(p, r[k], 0), pool_region_release(p, r[k]);
	assert_true(p->nfree == NFRAMES);
	assert_int_equal(p->nregions, 0);
}

static void test_nospc(void **state)
{
	struct pool *p = *state;
	struct pool_region *a, *b;

	assert_int_equal(pool_region_create(p, NFRAMES + 1, &a), RMEM_E_NOSPC);
	assert_int_equal(pool_region_create(p, 0, &a), RMEM_E_INVAL);
	assert_int_equal(pool_region_create(p, 60, &a), RMEM_OK);
	assert_int_equal(pool_region_create(p, 5, &b), RMEM_E_NOSPC);
	assert_true(p->nfree == 4);	/* a refusal takes nothing */
	pool_region_release(p, a);	/* still referenced: kept */
	assert_true(p->nfree == 4);
	pool_region_put(p, a, 0);	/* last reference: frames back */
	assert_true(p->nfree == NFRAMES);
}

static void test_zeroed_on_handout(void **state)
{
	struct pool *p = *state;
	struct pool_region *a, *b;
	static const uint8_t zero[RMEM_FRAME_SIZE];
	uint64_t i;

	assert_int_equal(pool_region_create(p, NFRAMES, &a), RMEM_OK);
	for (i = 0; i < NFRAMES; i++)
		memset(pool_frame(p, a, i), 0xa5, RMEM_FRAME_SIZE);
	pool_region_put(p, a, 0);
	pool_region_release(p, a);
	assert_int_equal(pool_region_create(p, NFRAMES, &b), RMEM_OK);
	for (i = 0; i < NFRAMES; i++)
		assert_memory_equal(pool_frame(p, b, i), zero, RMEM_FRAME_SIZE);
	pool_region_put(p, b, 0);
	pool_region_release(p, b);
}

/*
 * A freed frame does not keep its client's data: pool_scrub() zeroes the
 * freed frames, as many as it is given a call, and a region created
 * meanwhile takes the zeroed ones first.
 */
static void test_zeroed_when_freed(void **state)
{
	struct pool *p = *state;
	struct pool_region *a, *b;
	static const uint8_t zero[RMEM_FRAME_SIZE];
	uint32_t frames[NFRAMES];
	uint64_t i, dirty;

	assert_int_equal(pool_region_create(p, NFRAMES / 2, &a), RMEM_OK);
	for (i = 0; i < NFRAMES / 2; i++) {
		memset(pool_frame(p, a, i), 0x5a, RMEM_FRAME_SIZE);
		frames[i] = a->frames[i];
	}
	pool_region_put(p, a, 0);
	pool_region_release(p, a);
	assert_true(p->nfree == NFRAMES);
	assert_true(p->ndirty == NFRAMES / 2);
	assert_true(pool_scrub(p, 3) == 3);
	assert_true(p->ndirty == NFRAMES / 2 - 3);
	/* a region now takes the clean frames: none of the dirty ones */
	assert_int_equal(pool_region_create(p, NFRAMES / 2, &b), RMEM_OK);
	assert_true(p->ndirty == NFRAMES / 2 - 3);
	for (i = 0; i < NFRAMES / 2; i++)
		assert_memory_equal(pool_frame(p, b, i), zero, RMEM_FRAME_SIZE);
	pool_region_put(p, b, 0);
	pool_region_release(p, b);
	/* a region larger than the clean frames zeroes dirty ones itself */
	assert_true(p->nclean < NFRAMES);
	for (i = 0; i < NFRAMES / 2; i++)
		memset(p->base + (size_t)frames[i] * RMEM_FRAME_SIZE, 0x77,
		       RMEM_FRAME_SIZE);	/* what a freed frame still held */
	assert_int_equal(pool_region_create(p, NFRAMES, &b), RMEM_OK);
	for (i = 0; i < NFRAMES; i++)
		assert_memory_equal(pool_frame(p, b, i), zero, RMEM_FRAME_SIZE);
	assert_true(p->nfree == 0 && p->nclean == 0 && p->ndirty == 0);
	pool_region_put(p, b, 0);
	pool_region_release(p, b);
	dirty = p->ndirty;
	assert_true(dirty == NFRAMES);
	assert_true(pool_scrub(p, NFRAMES) == dirty);
	assert_true(p->ndirty == 0 && p->nclean == NFRAMES);
	assert_true(pool_scrub(p, NFRAMES) == 0);
	for (i = 0; i < NFRAMES / 2; i++)
		assert_memory_equal(p->base + (size_t)frames[i] * RMEM_FRAME_SIZE,
				    zero, RMEM_FRAME_SIZE);
}

static void test_find_and_token(void **state)
{
	struct pool *p = *state;
	struct pool_region *a;
	uint8_t tok[RMEM_TOKEN_SIZE];

	assert_int_equal(pool_region_create(p, 4, &a), RMEM_OK);
	memcpy(tok, a->token, sizeof(tok));
	assert_ptr_equal(pool_region_find(p, a->id, tok), a);
	tok[15] ^= 1;
	assert_null(pool_region_find(p, a->id, tok));
	tok[15] ^= 1;
	assert_null(pool_region_find(p, a->id + 1, tok));
	/* released: no one may join, though the holder still uses it */
	pool_region_release(p, a);
	assert_null(pool_region_find(p, a->id, tok));
	assert_int_equal(p->nregions, 1);
	pool_region_put(p, a, 0);
	assert_int_equal(p->nregions, 0);
}

static void test_orphan_expiry(void **state)
{
	struct pool *p = *state;
	struct pool_region *a, *b;

	assert_int_equal(pool_region_create(p, 4, &a), RMEM_OK);
	assert_int_equal(pool_region_create(p, 4, &b), RMEM_OK);
	pool_region_put(p, a, 100);	/* a orphaned at t=100 */
	assert_int_equal(pool_expire(p, 109, 10), 0);
	assert_int_equal(pool_expire(p, 10000, 0), 0);	/* 0: never */
	assert_int_equal(pool_expire(p, 110, 10), 1);
	assert_int_equal(p->nregions, 1);
	/* b is held: never expires */
	assert_int_equal(pool_expire(p, 1000000, 10), 0);
	/* rejoined orphans are no longer orphans */
	pool_region_put(p, b, 200);
	pool_region_get(b);
	assert_int_equal(pool_expire(p, 1000000, 10), 0);
	pool_region_put(p, b, 0);
	pool_region_release(p, b);
	assert_true(p->nfree == NFRAMES);
}

static void test_covers(void **state)
{
	struct pool_region r = { .nframes = 10 };

	(void)state;
	assert_true(pool_region_covers(&r, 0, 10));
	assert_true(pool_region_covers(&r, 9, 1));
	assert_false(pool_region_covers(&r, 9, 2));
	assert_false(pool_region_covers(&r, 10, 1));
	assert_false(pool_region_covers(&r, UINT64_MAX, 2));
	assert_false(pool_region_covers(&r, 1, UINT64_MAX));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_frame_shared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nospc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zeroed_on_handout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zeroed_when_freed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_find_and_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_orphan_expiry, setup, teardown),
		cmocka_unit_test(test_covers),
	};

	poold_log_setup(POOLD_LOG_ERROR, false);
	return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the driver's slot map and frame allocator
 * (drivers/rmem/rmem_map.c), cache-line deltas (rmem_delta.c) and
 * latency histogram (rmem_lat.c), built from the same source as the
 * module. The map's and the deltas' cases are shared with the KUnit
 * suite (rmem_map_cases.h, rmem_delta_cases.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rmem_lat.h"
#include "rmem_delta_cases.h"
#include "rmem_map_cases.h"

static void run_map_case(void **state)
{
	const struct rmem_map_case *c = *state;
	u32 *mem = calloc(RMEM_MAP_TEST_WORDS, sizeof(*mem));
	const char *err;

	assert_non_null(mem);
	err = c->run(mem);
	free(mem);
	if (err)
		fail_msg("map case '%s': %s", c->name, err);
}

static void run_delta_case(void **state)
{
	const struct rmem_delta_case *c = *state;
	void *mem = calloc(1, RMEM_DELTA_TEST_BYTES);
	const char *err;

	assert_non_null(mem);
	err = c->run(mem);
	free(mem);
	if (err)
		fail_msg("delta case '%s': %s", c->name, err);
}

static void test_lat_bucket(void **state)
{
	(void)state;
	assert_int_equal(rmem_lat_bucket(0), 0);
	assert_int_equal(rmem_lat_bucket(999), 0);
	assert_int_equal(rmem_lat_bucket(1000), 1);
	assert_int_equal(rmem_lat_bucket(1999), 1);
	assert_int_equal(rmem_lat_bucket(2000), 2);
	assert_int_equal(rmem_lat_bucket(17000), 5);	/* [16, 32) us */
	assert_int_equal(rmem_lat_bucket(~0ull), RMEM_LAT_BUCKETS - 1);
	assert_int_equal(rmem_lat_bucket_limit_us(5), 32);
	assert_int_equal(rmem_lat_bucket_limit_us(RMEM_LAT_BUCKETS - 1), 0);
}

static void test_lat_percentile(void **state)
{
	uint64_t h[RMEM_LAT_BUCKETS] = { 0 };

	(void)state;
	assert_int_equal(rmem_lat_percentile_us(h, 990), 0);
	h[5] = 98;	/* 16..31 us */
	h[8] = 2;	/* 128..255 us */
	assert_int_equal(rmem_lat_percentile_us(h, 500), 32);
	assert_int_equal(rmem_lat_percentile_us(h, 980), 32);
	assert_int_equal(rmem_lat_percentile_us(h, 990), 256);
	assert_int_equal(rmem_lat_percentile_us(h, 1000), 256);
	h[RMEM_LAT_BUCKETS - 1] = 1000;	/* the open bucket: its lower bound */
	assert_int_equal(rmem_lat_percentile_us(h, 990),
			 1ull << (RMEM_LAT_BUCKETS - 2));
	memset(h, 0, sizeof(h));
	h[0] = 1;
	assert_int_equal(rmem_lat_percentile_us(h, 0), 1);
}

int main(void)
{
	struct CMUnitTest tests[ARRAY_SIZE(rmem_map_cases) +
			       ARRAY_SIZE(rmem_delta_cases) + 2];
	size_t i, k;

	for (i = 0; i < ARRAY_SIZE(rmem_map_cases); i++) {
		tests[i] = (struct CMUnitTest)cmocka_unit_test(run_map_case);
		tests[i].name = rmem_map_cases[i].name;
		tests[i].initial_state = (void *)&rmem_map_cases[i];
	}
	for (k = 0; k < ARRAY_SIZE(rmem_delta_cases); k++, i++) {
		tests[i] = (struct CMUnitTest)cmocka_unit_test(run_delta_case);
		tests[i].name = rmem_delta_cases[k].name;
		tests[i].initial_state = (void *)&rmem_delta_cases[k];
	}
	tests[i++] = (struct CMUnitTest)cmocka_unit_test(test_lat_bucket);
	tests[i++] = (struct CMUnitTest)cmocka_unit_test(test_lat_percentile);
	return _cmocka_run_group_tests("map", tests, i, NULL, NULL);
}

// SPDX-License-Identifier: GPL-2.0 OR LGPL-2.1-or-later
/*
 * Latency histogram arithmetic (rmem_lat.h). Log2 buckets cost one
 * increment per completion and no lock, yet bound any percentile within a
 * factor of two, which is what an operator comparing a donor link with
 * local swap needs to see.
 */
#include "rmem_lat.h"

unsigned int rmem_lat_bucket(u64 ns)
{
	u64 us = rmem_div_u64(ns, 1000);
	unsigned int b = us ? (unsigned int)rmem_fls64(us) : 0;

	return b < RMEM_LAT_BUCKETS ? b : RMEM_LAT_BUCKETS - 1;
}

/* The exclusive upper bound of a bucket in us; 0 for the open last one. */
u64 rmem_lat_bucket_limit_us(unsigned int bucket)
{
	if (bucket >= RMEM_LAT_BUCKETS - 1)
		return 0;
	return 1ull << bucket;
}

/*
 * An upper bound, in us, under which at least permille/1000 of the
 * samples fall: the limit of the bucket where the running count reaches
 * that share. 0 when the histogram is empty; for the open last bucket,
 * its lower bound (the most that can be said).
 */
u64 rmem_lat_percentile_us(const u64 *hist, unsigned int permille)
{
	u64 total = 0, seen = 0, want;
	unsigned int b;

	for (b = 0; b < RMEM_LAT_BUCKETS; b++)
		total += hist[b];
	if (!total)
		return 0;
	if (permille > 1000)
		permille = 1000;
	/* ceil(total * permille / 1000), at least one sample */
	want = rmem_div_u64(total * permille + 999, 1000);
	if (!want)
		want = 1;
	for (b = 0; b < RMEM_LAT_BUCKETS - 1; b++) {
		seen += hist[b];
		if (seen >= want)
			return rmem_lat_bucket_limit_us(b);
	}
	return 1ull << (RMEM_LAT_BUCKETS - 2);
}

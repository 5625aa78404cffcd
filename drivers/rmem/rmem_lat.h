/* SPDX-License-Identifier: GPL-2.0 OR LGPL-2.1-or-later */
/*
 * Latency summary of a device: a log2 histogram of completion times in
 * microseconds, read as a mean and percentile bounds. Pure logic (see
 * rmem_compat.h): the driver keeps the counts, sysfs prints them through
 * these functions, KUnit and the userspace tests check them.
 */
#ifndef RMEM_LAT_H
#define RMEM_LAT_H

#include "rmem_compat.h"

/*
 * Bucket 0 counts completions under 1 us; bucket b (1..RMEM_LAT_BUCKETS-2)
 * those in [2^(b-1), 2^b) us; the last bucket everything from
 * 2^(RMEM_LAT_BUCKETS-2) us (about 4 s) up.
 */
#define RMEM_LAT_BUCKETS	24

unsigned int rmem_lat_bucket(u64 ns);
u64 rmem_lat_bucket_limit_us(unsigned int bucket);
u64 rmem_lat_percentile_us(const u64 *hist, unsigned int permille);

#endif /* RMEM_LAT_H */

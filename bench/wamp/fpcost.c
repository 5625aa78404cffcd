// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rmem-fpcost: the CPU that cache-line deltas add per page, for
 * bench/profile.sh to count with callgrind. Calls the driver's own
 * pure-logic functions (drivers/rmem/rmem_delta.c, rmem_proto.c, built
 * here from the same source) N times each on 4 KiB pages that differ in
 * one line:
 *
 *   rmem_page_fps     client, every page read or written with deltas on
 *   rmem_fps_diff     client, every page written that has a base
 *   rmem_page_hash    client, every page sent as a PATCH
 *   rmem_patch_apply  donor, every PATCH (one line)
 *
 *   rmem-fpcost N
 */
#include <stdio.h>
#include <stdlib.h>

#include "rmem_delta.h"
#include "rmem_proto.h"

int main(int argc, char **argv)
{
	static unsigned char page[RMEM_FRAME_SIZE], frame[RMEM_FRAME_SIZE];
	static unsigned char lines[RMEM_FRAME_SIZE];
	rmem_fp_t fa[RMEM_LINES_PER_FRAME], fb[RMEM_LINES_PER_FRAME];
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 0) : 1000, i;
	u64 sink = 0, mask, hash;

	for (i = 0; i < sizeof(page); i++)
		page[i] = frame[i] = (unsigned char)(i * 131 + 7);
	page[64 * 9 + 3] ^= 0x5a;	/* line 9 changed */
	rmem_page_fps(frame, fa, RMEM_FP_BITS);
	mask = 1ull << 9;
	hash = rmem_page_hash(page);
	rmem_patch_gather(page, mask, lines);
	for (i = 0; i < n; i++) {
		rmem_page_fps(page, fb, RMEM_FP_BITS);
		sink += fb[i % RMEM_LINES_PER_FRAME];
	}
	for (i = 0; i < n; i++)
		sink += rmem_fps_diff(fa, fb);
	for (i = 0; i < n; i++)
		sink += rmem_page_hash(page);
	for (i = 0; i < n; i++)
		/* applied once, then a no-op patch of the same line and hash */
		sink += (u64)rmem_patch_apply(frame, mask, lines, hash);
	printf("rmem-fpcost: %lu calls each (%llu)\n", n, (unsigned long long)sink);
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0 OR LGPL-2.1-or-later */
/*
 * The slot map and frame allocator of a device. A slot is one 4 KiB block
 * of /dev/rmemN (one swap slot); a frame is one 4 KiB frame of its donor
 * region. A slot gets a frame at its first write and gives it back when
 * it is discarded or its swap slot is freed; a slot without a frame reads
 * as zeros without asking the donor.
 *
 * A frame given back is "pending" until a batched DISCARD has told the
 * donor, then free. While the DISCARD is on the wire its frames are
 * given to no slot: it could reach the donor after a write, sent on
 * another queue, that reused one, and destroy that write's data. A
 * pending frame that no DISCARD names yet may be given out again.
 *
 * Pure logic (rmem_compat.h): the caller provides the memory and the
 * lock. Every frame is in exactly one state, and
 *	nfree + npending + ndiscarding + nmapped == nframes.
 */
#ifndef RMEM_MAP_H
#define RMEM_MAP_H

#include "rmem_compat.h"

#define RMEM_NO_FRAME		0xffffffffu
/* frames given back before a batch goes to the donor */
#define RMEM_DISCARD_BATCH	256u
/* frames one batch may cover: RMEM_MAX_DISCARD_EXTENTS extents of them */
#define RMEM_DISCARD_MAX_FRAMES	4096u

struct rmem_map {
	u32 *slot_frame;	/* [nslots]: a slot's frame, or RMEM_NO_FRAME */
	u32 *stack;		/* [nframes]: free frames at the bottom,
				 * pending ones at the top, newest lowest */
	u32 nslots;
	u32 nframes;
	u32 nfree;		/* stack[0, nfree) */
	u32 npending;		/* stack[nframes - npending, nframes) */
	u32 ndiscarding;	/* taken for a DISCARD on the wire */
	u32 nmapped;
};

/* u32 words of memory a map of this geometry needs */
static inline u64 rmem_map_words(u32 nslots, u32 nframes)
{
	return (u64)nslots + nframes;
}

void rmem_map_init(struct rmem_map *m, u32 *words, u32 nslots, u32 nframes);
u32 rmem_map_lookup(const struct rmem_map *m, u32 slot);
int rmem_map_assign(struct rmem_map *m, u32 slot, u32 *frame);
bool rmem_map_release(struct rmem_map *m, u32 slot);
u32 rmem_map_release_range(struct rmem_map *m, u32 slot, u32 count);
u32 rmem_map_take_pending(struct rmem_map *m, u32 *frames, u32 max);
void rmem_map_return_pending(struct rmem_map *m, const u32 *frames, u32 n);
void rmem_map_discarded(struct rmem_map *m, const u32 *frames, u32 n);
bool rmem_map_wants_discard(const struct rmem_map *m);
int rmem_map_check(const struct rmem_map *m);

bool rmem_frames_next_run(const u32 *frames, u32 n, u32 *i, u32 *first,
			  u32 *count);
void rmem_sort_u32(u32 *a, u32 n);
u32 rmem_extents_build(const u32 *sorted, u32 n, struct rmem_extent *ext,
		       u32 max_ext, u32 *used);

#endif /* RMEM_MAP_H */

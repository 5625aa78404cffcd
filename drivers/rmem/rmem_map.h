/* SPDX-License-Identifier: GPL-2.0 OR LGPL-2.1-or-later */
/*
 * The slot map and frame allocator of a device. A slot is one 4 KiB block
 * of /dev/rmemN (one swap slot); a frame is one 4 KiB frame of its donor
 * region. A slot gets a frame at its first write and gives it back when
 * it is discarded or its swap slot is freed; a slot without a frame reads
 * as zeros without asking the donor.
 *
 * A frame given back is "retained" if it has an owner (a fingerprint
 * table entry, rmem_delta.h, that knows its contents: a base a later
 * write of the same page can be sent against as a PATCH), otherwise
 * "pending". Retained frames keep their contents until they are used as
 * a base, disowned, or reclaimed, newest first, when a write finds no
 * free or pending frame.
 *
 * A pending frame stays pending until a batched DISCARD has told the
 * donor, then is free. While the DISCARD is on the wire its frames are
 * given to no slot: it could reach the donor after a write, sent on
 * another queue, that reused one, and destroy that write's data. A
 * pending frame that no DISCARD names yet may be given out again.
 *
 * Pure logic (rmem_compat.h): the caller provides the memory and the
 * lock. Every frame is in exactly one state, and
 *	nfree + npending + ndiscarding + nretained + nmapped == nframes;
 * only mapped and retained frames have owners.
 */
#ifndef RMEM_MAP_H
#define RMEM_MAP_H

#include "rmem_compat.h"

#define RMEM_NO_FRAME		0xffffffffu
#define RMEM_NO_OWNER		0xffffffffu
/* frames given back before a batch goes to the donor */
#define RMEM_DISCARD_BATCH	256u
/* frames one batch may cover: RMEM_MAX_DISCARD_EXTENTS extents of them */
#define RMEM_DISCARD_MAX_FRAMES	4096u

struct rmem_map {
	u32 *slot_frame;	/* [nslots]: a slot's frame, or RMEM_NO_FRAME */
	u32 *stack;		/* [nframes]: free frames at the bottom,
				 * pending ones at the top, newest lowest */
	u32 *owner;		/* [nframes]: who knows a frame's contents */
	u32 *ret_prev;		/* [nframes]: the retained list, oldest first; */
	u32 *ret_next;		/* RMEM_NOT_RETAINED in ret_prev when not on it */
	u32 ret_head;		/* oldest retained frame, or RMEM_NO_FRAME */
	u32 ret_tail;		/* newest */
	u32 nslots;
	u32 nframes;
	u32 nfree;		/* stack[0, nfree) */
	u32 npending;		/* stack[nframes - npending, nframes) */
	u32 ndiscarding;	/* taken for a DISCARD on the wire */
	u32 nretained;
	u32 nmapped;
	u64 reclaimed;		/* retained frames taken for other slots */
};

#define RMEM_NOT_RETAINED	0xfffffffeu

/* u32 words of memory a map of this geometry needs */
static inline u64 rmem_map_words(u32 nslots, u32 nframes)
{
	return (u64)nslots + 4ull * nframes;
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

/* Owners and bases (rmem_delta.c is the one caller besides the tests). */
static inline u32 rmem_map_owner(const struct rmem_map *m, u32 frame)
{
	return frame < m->nframes ? m->owner[frame] : RMEM_NO_OWNER;
}

static inline bool rmem_map_retained(const struct rmem_map *m, u32 frame)
{
	return frame < m->nframes && m->ret_prev[frame] != RMEM_NOT_RETAINED;
}

void rmem_map_set_owner(struct rmem_map *m, u32 frame, u32 owner);
void rmem_map_disown(struct rmem_map *m, u32 frame);
int rmem_map_assign_base(struct rmem_map *m, u32 slot, u32 frame);

bool rmem_frames_next_run(const u32 *frames, u32 n, u64 alone, u32 *i,
			  u32 *first, u32 *count);
void rmem_sort_u32(u32 *a, u32 n);
u32 rmem_extents_build(const u32 *sorted, u32 n, struct rmem_extent *ext,
		       u32 max_ext, u32 *used);

#endif /* RMEM_MAP_H */

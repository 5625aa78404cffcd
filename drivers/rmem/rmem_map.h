/* SPDX-License-Identifier: GPL-2.0 OR LGPL-2.1-or-later */
/*
 * The slot map and frame allocator of a device. A slot is one 4 KiB block
 * of /dev/rmemN (one swap slot); a frame is one 4 KiB frame of its donor
 * region. A slot gets a frame at its first write and gives it back when
 * it is discarded or its swap slot is freed; a slot without a frame reads
 * as zeros without asking the donor.
 *
 * The life cycle of a frame (Documentation/admin-guide/rmem.rst, "Frames").
 * Every frame is in exactly one state, and a frame is handed to a new slot
 * only while no request that names it can still execute on the donor, on
 * any connection, dead ones included:
 *
 *   FREE        the donor holds zeros or nothing anybody needs.
 *   PENDING     given back by its slot; the donor was not told yet. Still
 *               safe to give out (no DISCARD names it), and a batched
 *               DISCARD makes it FREE.
 *   MAPPED      a slot's. Requests dispatched to it are counted per frame
 *               (rmem_map_rq_start / rmem_map_rq_end).
 *   RETAINED    given back, but a fingerprint-table entry (rmem_delta.h,
 *               the frame's owner) knows its bytes: a base a later write of
 *               the same page can be sent against as a PATCH. Reclaimed,
 *               newest first, when a write finds no FREE or PENDING frame.
 *   DRAINING    given back while a dispatched request still names it: it
 *               goes to RETAINED or PENDING when the last such request
 *               ends, or to HELD if one was a write whose socket died.
 *   DISCARDING  named in the DISCARD batch on the wire (or about to be).
 *   HELD        a DISCARD naming it, or a WRITE to it, was in flight on a
 *               socket that died: the donor may still execute that request
 *               from its receive buffer, so the frame is given to nobody
 *               until a DISCARD naming it is answered on a live socket
 *               (DISCARD is idempotent: sending it again is safe) that
 *               was sent while no connection was unfenced (m->unfenced):
 *               a dead connection's bytes can reach the donor after any
 *               answer on another one, until a new connection of its
 *               queue fenced it.
 *
 * Transitions (the functions below; "lost" = on a socket that died):
 *   FREE|PENDING|RETAINED -> MAPPED        rmem_map_assign
 *   RETAINED -> MAPPED                     rmem_map_assign_base
 *   MAPPED -> RETAINED|PENDING|DRAINING    rmem_map_release (busy: DRAINING)
 *   MAPPED -> HELD|DRAINING                rmem_map_rq_end, a lost write:
 *                                          the slot loses the frame too
 *   DRAINING -> RETAINED|PENDING|HELD      rmem_map_rq_end of the last one
 *   RETAINED -> PENDING                    rmem_map_disown
 *   HELD|PENDING -> DISCARDING             rmem_map_take_discard (HELD
 *                                          only while !m->unfenced)
 *   DISCARDING -> HELD|PENDING             rmem_map_discard_unsent (back
 *                                          where it came from: never sent)
 *   DISCARDING -> HELD                     rmem_map_discard_lost
 *   DISCARDING -> FREE                     rmem_map_discarded (answered)
 *
 * Pure logic (rmem_compat.h): the caller provides the memory and the
 * lock. The counts per state add up to nframes; rmem_map_check proves it
 * and every other invariant, for tests.
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
/* the largest geometry: frame and slot numbers stay below the markers */
#define RMEM_MAP_MAX_FRAMES	0xfffffff0u
#define RMEM_MAP_MAX_SLOTS	0xfffffff0u

enum rmem_frame_state {
	RMEM_FRAME_FREE,
	RMEM_FRAME_PENDING,
	RMEM_FRAME_MAPPED,
	RMEM_FRAME_RETAINED,
	RMEM_FRAME_DRAINING,
	RMEM_FRAME_DISCARDING,
	RMEM_FRAME_HELD,
	RMEM_FRAME_NSTATES,
};

/* fstate[]: the state, two flags, and the requests naming the frame */
#define RMEM_FS_STATE		0x0fu
#define RMEM_FS_LOST		0x10u	/* DRAINING: a write to it was lost */
#define RMEM_FS_WAS_HELD	0x20u	/* DISCARDING: taken from HELD */
#define RMEM_FS_WRITING		0x40u	/* a write names it: it alone */
#define RMEM_FS_WAITED		0x80u	/* a request was refused it */
#define RMEM_FS_BUSY_SHIFT	8	/* requests dispatched naming it */
#define RMEM_FS_BUSY_MAX	((1u << (32 - RMEM_FS_BUSY_SHIFT)) - 1)

struct rmem_map {
	u32 *slot_frame;	/* [nslots]: a slot's frame, or RMEM_NO_FRAME */
	u32 *stack;		/* [nframes]: free frames at the bottom,
				 * pending ones at the top, newest lowest */
	u32 *owner;		/* [nframes]: who knows a frame's contents */
	u32 *ret_prev;		/* [nframes]: the retained list, oldest first; */
	u32 *ret_next;		/* ret_next also links the held list */
	u32 *fstate;		/* [nframes]: RMEM_FS_* */
	u32 ret_head;		/* oldest retained frame, or RMEM_NO_FRAME */
	u32 ret_tail;		/* newest */
	u32 held_head;		/* held frames, newest first */
	/*
	 * Set by the caller while some connection died and its queue has
	 * no fenced successor yet: held frames then stay held (no batch
	 * takes them), as the dead connection may still deliver what it
	 * carried after any answer on another one.
	 */
	bool unfenced;
	u32 nslots;
	u32 nframes;
	/* frames per state; they add up to nframes */
	u32 nfree;		/* stack[0, nfree) */
	u32 npending;		/* stack[nframes - npending, nframes) */
	u32 nmapped;
	u32 nretained;
	u32 ndraining;		/* on no list: found again by rmem_map_rq_end */
	u32 ndiscarding;	/* in the caller's batch */
	u32 nheld;		/* on the held list */
	u64 reclaimed;		/* retained frames taken for other slots */
	u64 lost_writes;	/* frames held because a write was lost */
};

/* init's loop yields every this many entries (rmem_cond_resched) */
#define RMEM_MAP_INIT_CHUNK	65536u

/*
 * u32 words of memory a map of this geometry needs, or 0 if the geometry
 * is out of range. In u64: a caller checks it against what it can
 * allocate before multiplying by the word size.
 */
static inline u64 rmem_map_words(u64 nslots, u64 nframes)
{
	if (!nframes || nslots > RMEM_MAP_MAX_SLOTS || nframes > RMEM_MAP_MAX_FRAMES)
		return 0;
	return nslots + 5ull * nframes;
}

void rmem_map_init(struct rmem_map *m, u32 *words, u32 nslots, u32 nframes);
u32 rmem_map_lookup(const struct rmem_map *m, u32 slot);
int rmem_map_assign(struct rmem_map *m, u32 slot, u32 *frame);
bool rmem_map_release(struct rmem_map *m, u32 slot);
u32 rmem_map_release_range(struct rmem_map *m, u32 slot, u32 count);

/*
 * Requests naming a frame, from dispatch to end. Reads share a frame; a
 * write (or PATCH) has it alone, so that two writes of a slot never mix
 * their bytes on the donor (two connections, two event loops) and a
 * read never finds half a write: -EAGAIN, and the request waits until
 * rmem_map_rq_end of the one it met says so. A write of a slot whose
 * frame only reads name takes another frame (the caller releases the
 * slot first), so a write never waits for reads.
 */
int rmem_map_rq_start(struct rmem_map *m, u32 frame);
int rmem_map_rq_start_write(struct rmem_map *m, u32 frame);
int rmem_map_write_prepare(struct rmem_map *m, u32 slot);
bool rmem_map_rq_end(struct rmem_map *m, u32 slot, u32 frame, bool lost_write);

/* The DISCARD batch. */
bool rmem_map_wants_discard(const struct rmem_map *m);
u32 rmem_map_take_discard(struct rmem_map *m, u32 *frames, u32 max);
void rmem_map_discard_unsent(struct rmem_map *m, const u32 *frames, u32 n);
void rmem_map_discard_lost(struct rmem_map *m, const u32 *frames, u32 n);
void rmem_map_discarded(struct rmem_map *m, const u32 *frames, u32 n);

int rmem_map_check(const struct rmem_map *m);

static inline enum rmem_frame_state rmem_map_state(const struct rmem_map *m,
						   u32 frame)
{
	return frame < m->nframes ? (enum rmem_frame_state)(m->fstate[frame] & RMEM_FS_STATE) :
				    RMEM_FRAME_NSTATES;
}

/* requests dispatched that name the frame and have not ended */
static inline u32 rmem_map_busy(const struct rmem_map *m, u32 frame)
{
	return frame < m->nframes ? m->fstate[frame] >> RMEM_FS_BUSY_SHIFT : 0;
}

/* Owners and bases (rmem_delta.c is the one caller besides the tests). */
static inline u32 rmem_map_owner(const struct rmem_map *m, u32 frame)
{
	return frame < m->nframes ? m->owner[frame] : RMEM_NO_OWNER;
}

static inline bool rmem_map_retained(const struct rmem_map *m, u32 frame)
{
	return rmem_map_state(m, frame) == RMEM_FRAME_RETAINED;
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

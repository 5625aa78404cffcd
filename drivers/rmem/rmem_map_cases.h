/* SPDX-License-Identifier: GPL-2.0 OR LGPL-2.1-or-later */
/*
 * The slot map's test cases, written once and run twice: by the KUnit
 * suite (rmem_proto_test.c, the kernel's build of rmem_map.c) and by the
 * userspace unit tests (tests/unit/test_map.c). Each case returns NULL
 * or the first check that failed; mem is RMEM_MAP_TEST_WORDS words of
 * scratch the harness provides.
 */
#ifndef RMEM_MAP_CASES_H
#define RMEM_MAP_CASES_H

#include "rmem_map.h"

#define RMEM_MAP_TEST_WORDS	(16 * 4096u)

#define RMEM_T_STR2(x)	#x
#define RMEM_T_STR(x)	RMEM_T_STR2(x)
#define RMEM_T(cond) do {						\
	if (!(cond))							\
		return __FILE__ ":" RMEM_T_STR(__LINE__) ": " #cond;	\
} while (0)

/* A fresh map gives frames in order, and a slot keeps its frame. */
static inline const char *rmem_map_case_assign(u32 *mem)
{
	struct rmem_map m;
	u32 i, f;

	rmem_map_init(&m, mem, 8, 8);
	RMEM_T(rmem_map_check(&m) == 0);
	for (i = 0; i < 8; i++)
		RMEM_T(rmem_map_lookup(&m, i) == RMEM_NO_FRAME);
	for (i = 0; i < 8; i++) {
		RMEM_T(rmem_map_assign(&m, i, &f) == 0);
		RMEM_T(f == i);
	}
	RMEM_T(rmem_map_assign(&m, 3, &f) == 0 && f == 3);
	RMEM_T(m.nmapped == 8 && m.nfree == 0);
	RMEM_T(rmem_map_assign(&m, 8, &f) == -ERANGE);
	RMEM_T(rmem_map_lookup(&m, 8) == RMEM_NO_FRAME);
	RMEM_T(rmem_map_check(&m) == 0);
	return NULL;
}

/*
 * A released frame is not reused while a DISCARD names it; before that,
 * and once the DISCARD is done, it is.
 */
static inline const char *rmem_map_case_pending(u32 *mem)
{
	struct rmem_map m;
	u32 i, f, taken[8];

	rmem_map_init(&m, mem, 8, 8);
	for (i = 0; i < 8; i++)
		RMEM_T(rmem_map_assign(&m, i, &f) == 0);
	RMEM_T(rmem_map_release(&m, 2));
	RMEM_T(!rmem_map_release(&m, 2));
	RMEM_T(!rmem_map_release(&m, 99));
	RMEM_T(rmem_map_lookup(&m, 2) == RMEM_NO_FRAME);
	RMEM_T(m.npending == 1 && m.nmapped == 7);
	RMEM_T(!rmem_map_wants_discard(&m));
	/* no free frame: a pending one no DISCARD names is given out */
	RMEM_T(rmem_map_assign(&m, 2, &f) == 0 && f == 2);
	RMEM_T(m.npending == 0 && m.nmapped == 8 && rmem_map_check(&m) == 0);
	RMEM_T(rmem_map_release(&m, 2));
	/* taken for a DISCARD: nothing to give until it is done */
	RMEM_T(rmem_map_take_discard(&m, taken, 8) == 1 && taken[0] == 2);
	RMEM_T(m.ndiscarding == 1 && rmem_map_check(&m) == 0);
	RMEM_T(rmem_map_assign(&m, 2, &f) == -ENOSPC);
	rmem_map_discarded(&m, taken, 1);
	RMEM_T(rmem_map_check(&m) == 0);
	RMEM_T(rmem_map_assign(&m, 2, &f) == 0 && f == 2);
	RMEM_T(m.nfree == 0 && m.npending == 0 && m.nmapped == 8);
	return NULL;
}

/* Frees gather into a batch; leftovers of a batch go back to pending. */
static inline const char *rmem_map_case_batch(u32 *mem)
{
	struct rmem_map m;
	struct rmem_extent ext[4];
	u32 *taken = mem + rmem_map_words(2048, 2048), i, f, n, used, k;

	rmem_map_init(&m, mem, 2048, 2048);
	for (i = 0; i < 1024; i++)	/* half: frames stay free */
		RMEM_T(rmem_map_assign(&m, i, &f) == 0);
	/* every other slot of 0..509: 255 frees, not yet a batch */
	for (i = 0; i < 2 * (RMEM_DISCARD_BATCH - 1); i += 2)
		RMEM_T(rmem_map_release(&m, i));
	RMEM_T(!rmem_map_wants_discard(&m));
	RMEM_T(rmem_map_release_range(&m, 1000, 10) == 10);
	RMEM_T(rmem_map_release_range(&m, 1000, 10) == 0);
	RMEM_T(rmem_map_wants_discard(&m));
	RMEM_T(m.npending == RMEM_DISCARD_BATCH + 9);
	n = rmem_map_take_discard(&m, taken, RMEM_DISCARD_MAX_FRAMES);
	RMEM_T(n == RMEM_DISCARD_BATCH + 9 && m.npending == 0);
	rmem_sort_u32(taken, n);
	for (i = 1; i < n; i++)
		RMEM_T(taken[i - 1] < taken[i]);
	/* 4 extents: 0, 2, 4, 6; the rest of the frames wait */
	k = rmem_extents_build(taken, n, ext, 4, &used);
	RMEM_T(k == 4 && used == 4);
	RMEM_T(le64_to_cpu(ext[3].frame) == 6 && le32_to_cpu(ext[3].count) == 1);
	rmem_map_discard_unsent(&m, taken + used, n - used);
	rmem_map_discarded(&m, taken, used);
	RMEM_T(m.npending == n - used && m.nfree == 1024 + used);
	RMEM_T(rmem_map_check(&m) == 0);
	/* the run 1000..1009 is one extent */
	n = rmem_map_take_discard(&m, taken, RMEM_DISCARD_MAX_FRAMES);
	rmem_sort_u32(taken, n);
	k = rmem_extents_build(taken, n, ext, 4, &used);
	RMEM_T(k == 4 && used == 4);
	n = rmem_map_take_discard(&m, taken + 4096, 0);
	RMEM_T(n == 0);
	return NULL;
}

static inline const char *rmem_map_case_extents(u32 *mem)
{
	static const u32 frames[] = { 1, 2, 3, 5, 7, 8, 8, 9, 4000000000u };
	struct rmem_extent ext[8];
	u32 used, k;

	(void)mem;
	k = rmem_extents_build(frames, 9, ext, 8, &used);
	RMEM_T(k == 4 && used == 9);
	RMEM_T(le64_to_cpu(ext[0].frame) == 1 && le32_to_cpu(ext[0].count) == 3);
	RMEM_T(le64_to_cpu(ext[1].frame) == 5 && le32_to_cpu(ext[1].count) == 1);
	RMEM_T(le64_to_cpu(ext[2].frame) == 7 && le32_to_cpu(ext[2].count) == 3);
	RMEM_T(le64_to_cpu(ext[3].frame) == 4000000000ull && !ext[3].reserved);
	k = rmem_extents_build(frames, 9, ext, 2, &used);
	RMEM_T(k == 2 && used == 4);
	RMEM_T(rmem_extents_build(frames, 0, ext, 2, &used) == 0 && used == 0);
	return NULL;
}

/* Runs of consecutive frames, past slots without one. */
static inline const char *rmem_map_case_runs(u32 *mem)
{
	static const u32 frames[] = {
		RMEM_NO_FRAME, 7, 8, 9, 3, RMEM_NO_FRAME, 4, 0xfffffffeu, 0,
	};
	u32 i = 0, first, count;

	(void)mem;
	RMEM_T(rmem_frames_next_run(frames, 9, 0, &i, &first, &count));
	RMEM_T(first == 1 && count == 3 && i == 4);
	RMEM_T(rmem_frames_next_run(frames, 9, 0, &i, &first, &count));
	RMEM_T(first == 4 && count == 1);	/* 3, then a hole */
	RMEM_T(rmem_frames_next_run(frames, 9, 0, &i, &first, &count));
	RMEM_T(first == 6 && count == 1);	/* 4, then not 5 */
	RMEM_T(rmem_frames_next_run(frames, 9, 0, &i, &first, &count));
	RMEM_T(first == 7 && count == 1);	/* 0xfffffffe, then 0 */
	RMEM_T(rmem_frames_next_run(frames, 9, 0, &i, &first, &count));
	RMEM_T(first == 8 && count == 1 && i == 9);
	RMEM_T(!rmem_frames_next_run(frames, 9, 0, &i, &first, &count));
	i = 0;
	RMEM_T(!rmem_frames_next_run(frames, 1, 0, &i, &first, &count));
	return NULL;
}

/*
 * Random writes, frees and discards against a shadow copy: a slot's frame
 * never changes while it is mapped, no two slots share a frame, and the
 * counts always add up.
 */
static inline const char *rmem_map_case_random(u32 *mem)
{
	enum { SLOTS = 512, FRAMES = 512 };
	struct rmem_map m;
	u32 *shadow = mem + rmem_map_words(SLOTS, FRAMES), *owner = shadow + SLOTS;
	u32 *taken = owner + FRAMES;
	struct rmem_extent ext[8];
	u64 x = 0x9e3779b97f4a7c15ull;
	u32 step, i;

	rmem_map_init(&m, mem, SLOTS, FRAMES);
	for (i = 0; i < SLOTS; i++)
		shadow[i] = RMEM_NO_FRAME;
	for (step = 0; step < 20000; step++) {
		u32 slot, f, op, n, used;
		int ret;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		slot = (u32)(x >> 8) % SLOTS;
		op = (u32)(x >> 40) % 16;
		if (op < 9) {
			ret = rmem_map_assign(&m, slot, &f);
			if (shadow[slot] != RMEM_NO_FRAME) {
				RMEM_T(ret == 0 && f == shadow[slot]);
			} else if (ret == 0) {
				shadow[slot] = f;
			} else {
				RMEM_T(ret == -ENOSPC && !m.nfree && !m.npending);
			}
		} else if (op < 15) {
			RMEM_T(rmem_map_release(&m, slot) ==
			       (shadow[slot] != RMEM_NO_FRAME));
			shadow[slot] = RMEM_NO_FRAME;
		} else if (rmem_map_wants_discard(&m)) {
			n = rmem_map_take_discard(&m, taken, RMEM_DISCARD_MAX_FRAMES);
			rmem_sort_u32(taken, n);
			rmem_extents_build(taken, n, ext, 8, &used);
			rmem_map_discard_unsent(&m, taken + used, n - used);
			rmem_map_discarded(&m, taken, used);
		}
		if (step % 64)
			continue;
		RMEM_T(rmem_map_check(&m) == 0);
		for (i = 0; i < FRAMES; i++)
			owner[i] = RMEM_NO_FRAME;
		for (i = 0; i < SLOTS; i++) {
			RMEM_T(rmem_map_lookup(&m, i) == shadow[i]);
			if (shadow[i] == RMEM_NO_FRAME)
				continue;
			RMEM_T(owner[shadow[i]] == RMEM_NO_FRAME);
			owner[shadow[i]] = i;
		}
	}
	return NULL;
}

/*
 * Frame life cycle (rmem_map.h): a map of 4 slots and 4 frames, every
 * frame mapped, then slot 0 given back, so that frame 0 is the only one
 * a new write could get: whether it may is the question each case asks.
 */
static inline const char *rmem_map_full(struct rmem_map *m, u32 *mem)
{
	u32 i, f;

	rmem_map_init(m, mem, 4, 4);
	for (i = 0; i < 4; i++)
		RMEM_T(rmem_map_assign(m, i, &f) == 0 && f == i);
	return NULL;
}

/* How many frames are in each state, in rmem_map.h's order. */
static inline bool rmem_map_counts(const struct rmem_map *m, u32 nfree, u32 npending,
				   u32 nmapped, u32 nretained, u32 ndraining,
				   u32 ndiscarding, u32 nheld)
{
	return m->nfree == nfree && m->npending == npending && m->nmapped == nmapped &&
	       m->nretained == nretained && m->ndraining == ndraining &&
	       m->ndiscarding == ndiscarding && m->nheld == nheld &&
	       rmem_map_check(m) == 0;
}

/*
 * Socket loss points of a DISCARD batch. Taken, then no socket takes it
 * (it died after take and before the send): never on a wire, so back to
 * pending and reusable. Sent, then the socket died (during the send, or
 * after it and before the answer): the donor may still execute it, so the
 * frame is held and no write gets it; it goes out in the next batch, and
 * only the answer of that one on a live socket frees it.
 */
static inline const char *rmem_map_case_discard_lost(u32 *mem)
{
	struct rmem_map m;
	const char *err;
	u32 f, b[4];

	err = rmem_map_full(&m, mem);
	if (err)
		return err;
	RMEM_T(rmem_map_release(&m, 0));
	/* lost before the send */
	RMEM_T(rmem_map_take_discard(&m, b, 4) == 1 && b[0] == 0);
	RMEM_T(rmem_map_counts(&m, 0, 0, 3, 0, 0, 1, 0));
	RMEM_T(rmem_map_assign(&m, 0, &f) == -ENOSPC);
	rmem_map_discard_unsent(&m, b, 1);
	RMEM_T(rmem_map_counts(&m, 0, 1, 3, 0, 0, 0, 0));
	/* lost during or after the send */
	RMEM_T(rmem_map_take_discard(&m, b, 4) == 1 && b[0] == 0);
	rmem_map_discard_lost(&m, b, 1);
	RMEM_T(rmem_map_counts(&m, 0, 0, 3, 0, 0, 0, 1));
	RMEM_T(rmem_map_state(&m, 0) == RMEM_FRAME_HELD);
	RMEM_T(rmem_map_assign(&m, 0, &f) == -ENOSPC);
	/* one held frame is reason enough for a batch */
	RMEM_T(rmem_map_wants_discard(&m));
	/* the next batch is not sent either: still held, not pending */
	RMEM_T(rmem_map_take_discard(&m, b, 4) == 1 && b[0] == 0);
	rmem_map_discard_unsent(&m, b, 1);
	RMEM_T(rmem_map_counts(&m, 0, 0, 3, 0, 0, 0, 1));
	RMEM_T(rmem_map_assign(&m, 0, &f) == -ENOSPC);
	/* a second socket dies while the held frame's DISCARD is in flight */
	RMEM_T(rmem_map_take_discard(&m, b, 4) == 1 && b[0] == 0);
	rmem_map_discard_lost(&m, b, 1);
	RMEM_T(rmem_map_counts(&m, 0, 0, 3, 0, 0, 0, 1));
	/* the answer on a live socket */
	RMEM_T(rmem_map_take_discard(&m, b, 4) == 1 && b[0] == 0);
	rmem_map_discarded(&m, b, 1);
	RMEM_T(rmem_map_counts(&m, 1, 0, 3, 0, 0, 0, 0));
	RMEM_T(!rmem_map_wants_discard(&m));
	RMEM_T(rmem_map_assign(&m, 2, &f) == 0);	/* its own */
	RMEM_T(rmem_map_assign(&m, 0, &f) == 0 && f == 0);
	return NULL;
}

/*
 * A batch's end reported twice, or for the wrong batch (a stale batch's
 * frames: the socket loss that finds the queue index of an older batch):
 * frames not in a DISCARD are left alone.
 */
static inline const char *rmem_map_case_discard_stale(u32 *mem)
{
	struct rmem_map m;
	const char *err;
	u32 f, b[4];

	err = rmem_map_full(&m, mem);
	if (err)
		return err;
	RMEM_T(rmem_map_release(&m, 0));
	RMEM_T(rmem_map_take_discard(&m, b, 4) == 1);
	rmem_map_discarded(&m, b, 1);
	RMEM_T(rmem_map_assign(&m, 0, &f) == 0 && f == 0);
	/* the old batch's frame is slot 0's now */
	rmem_map_discard_lost(&m, b, 1);
	rmem_map_discard_unsent(&m, b, 1);
	rmem_map_discarded(&m, b, 1);
	RMEM_T(rmem_map_counts(&m, 0, 0, 4, 0, 0, 0, 0));
	RMEM_T(rmem_map_lookup(&m, 0) == 0);
	return NULL;
}

/*
 * A write in flight to a slot that is discarded (blkdiscard, WRITE_ZEROES,
 * a freed swap slot): its frame drains, and goes to no other slot and into
 * no DISCARD until the write has ended; then it is pending as usual.
 */
static inline const char *rmem_map_case_inflight_write(u32 *mem)
{
	struct rmem_map m;
	const char *err;
	u32 f, b[4];

	err = rmem_map_full(&m, mem);
	if (err)
		return err;
	RMEM_T(rmem_map_rq_start(&m, 0) == 0);
	RMEM_T(rmem_map_rq_start(&m, 0) == 0);	/* a read of it too */
	RMEM_T(rmem_map_busy(&m, 0) == 2);
	RMEM_T(rmem_map_release(&m, 0));
	RMEM_T(rmem_map_lookup(&m, 0) == RMEM_NO_FRAME);
	RMEM_T(rmem_map_counts(&m, 0, 0, 3, 0, 1, 0, 0));
	RMEM_T(rmem_map_assign(&m, 0, &f) == -ENOSPC);
	RMEM_T(rmem_map_take_discard(&m, b, 4) == 0);
	RMEM_T(rmem_map_rq_start(&m, 0) == -EINVAL);	/* not mapped */
	rmem_map_rq_end(&m, 0, 0, false);
	RMEM_T(rmem_map_counts(&m, 0, 0, 3, 0, 1, 0, 0));
	rmem_map_rq_end(&m, 0, 0, false);
	RMEM_T(rmem_map_counts(&m, 0, 1, 3, 0, 0, 0, 0));
	rmem_map_rq_end(&m, 0, 0, false);		/* ended once too often */
	RMEM_T(rmem_map_counts(&m, 0, 1, 3, 0, 0, 0, 0));
	RMEM_T(rmem_map_assign(&m, 1, &f) == 0 && f == 1);
	RMEM_T(rmem_map_assign(&m, 0, &f) == 0 && f == 0);
	return NULL;
}

/*
 * A write lost with its socket: the donor may still execute it, so its
 * frame is held, and the slot, whose bytes are now unknown, loses it: the
 * write goes out again to another frame. The same when the slot was
 * given back while the write was in flight (draining, then held).
 */
static inline const char *rmem_map_case_inflight_lost(u32 *mem)
{
	struct rmem_map m;
	const char *err;
	u32 f, b[4];

	err = rmem_map_full(&m, mem);
	if (err)
		return err;
	RMEM_T(rmem_map_release(&m, 3));		/* a spare frame */
	RMEM_T(rmem_map_rq_start(&m, 0) == 0);
	rmem_map_set_owner(&m, 0, 7);
	rmem_map_rq_end(&m, 0, 0, true);
	RMEM_T(rmem_map_lookup(&m, 0) == RMEM_NO_FRAME);
	RMEM_T(rmem_map_owner(&m, 0) == RMEM_NO_OWNER);
	RMEM_T(rmem_map_counts(&m, 0, 1, 2, 0, 0, 0, 1));
	RMEM_T(m.lost_writes == 1);
	RMEM_T(rmem_map_assign(&m, 0, &f) == 0 && f == 3);	/* not 0 */
	RMEM_T(rmem_map_assign(&m, 3, &f) == -ENOSPC);
	/* slot 1: given back with two writes in flight, one of them lost */
	RMEM_T(rmem_map_rq_start(&m, 1) == 0 && rmem_map_rq_start(&m, 1) == 0);
	RMEM_T(rmem_map_release(&m, 1));
	rmem_map_rq_end(&m, 1, 1, true);
	RMEM_T(rmem_map_counts(&m, 0, 0, 2, 0, 1, 0, 1));
	rmem_map_rq_end(&m, 1, 1, false);
	RMEM_T(rmem_map_counts(&m, 0, 0, 2, 0, 0, 0, 2));
	RMEM_T(rmem_map_assign(&m, 1, &f) == -ENOSPC);
	/* answered: both free */
	RMEM_T(rmem_map_take_discard(&m, b, 4) == 2);
	rmem_map_discarded(&m, b, 2);
	RMEM_T(rmem_map_counts(&m, 2, 0, 2, 0, 0, 0, 0));
	return NULL;
}

/*
 * A write has its frame alone: a read or another write of the frame waits
 * (-EAGAIN) until it ends, and the end of the request it met, and only
 * that one, says somebody waited. Reads share a frame (a write of the
 * slot takes another frame then: the caller's part).
 */
static inline const char *rmem_map_case_exclusive_write(u32 *mem)
{
	struct rmem_map m;
	const char *err;

	err = rmem_map_full(&m, mem);
	if (err)
		return err;
	RMEM_T(rmem_map_rq_start_write(&m, 0) == 0);
	RMEM_T(rmem_map_busy(&m, 0) == 1);
	RMEM_T(rmem_map_rq_start_write(&m, 0) == -EAGAIN);
	RMEM_T(rmem_map_rq_start(&m, 0) == -EAGAIN);
	RMEM_T(rmem_map_busy(&m, 0) == 1 && (m.fstate[0] & RMEM_FS_WAITED));
	RMEM_T(rmem_map_check(&m) == 0);
	/* other frames are not held up, and their ends wake nobody */
	RMEM_T(rmem_map_rq_start_write(&m, 1) == 0);
	RMEM_T(rmem_map_rq_start(&m, 2) == 0);
	RMEM_T(!rmem_map_rq_end(&m, 1, 1, false));
	RMEM_T(!rmem_map_rq_end(&m, 2, 2, false));
	RMEM_T(rmem_map_rq_end(&m, 0, 0, false));	/* somebody waited */
	RMEM_T(rmem_map_busy(&m, 0) == 0 && !(m.fstate[0] & RMEM_FS_WAITED));
	/* reads together; a write refused by them waits for each end */
	RMEM_T(rmem_map_rq_start(&m, 0) == 0 && rmem_map_rq_start(&m, 0) == 0);
	RMEM_T(rmem_map_rq_start_write(&m, 0) == -EAGAIN);
	RMEM_T(rmem_map_rq_end(&m, 0, 0, false));
	RMEM_T(!rmem_map_rq_end(&m, 0, 0, false));	/* told already */
	RMEM_T(rmem_map_rq_start_write(&m, 0) == 0);
	/* given back while written: drains, and a lost write is held */
	RMEM_T(rmem_map_rq_start(&m, 0) == -EAGAIN);
	RMEM_T(rmem_map_release(&m, 0));
	RMEM_T(rmem_map_rq_start_write(&m, 0) == -EINVAL);	/* not mapped */
	RMEM_T(rmem_map_check(&m) == 0);
	RMEM_T(rmem_map_rq_end(&m, 0, 0, true));
	RMEM_T(rmem_map_state(&m, 0) == RMEM_FRAME_HELD);
	RMEM_T(!(m.fstate[0] & (RMEM_FS_WRITING | RMEM_FS_WAITED)));
	RMEM_T(rmem_map_check(&m) == 0);
	/* a write of a slot: waits for a write, never for reads */
	RMEM_T(rmem_map_write_prepare(&m, 1) == 0);		/* idle */
	RMEM_T(rmem_map_lookup(&m, 1) == 1);
	RMEM_T(rmem_map_rq_start_write(&m, 1) == 0);
	RMEM_T(rmem_map_write_prepare(&m, 1) == -EAGAIN);
	RMEM_T(rmem_map_rq_end(&m, 1, 1, false));
	RMEM_T(rmem_map_rq_start(&m, 1) == 0);			/* a read */
	/* no frame to take instead (0 is held): the write waits */
	RMEM_T(m.nfree == 0 && m.npending == 0 && m.nretained == 0);
	RMEM_T(rmem_map_write_prepare(&m, 1) == -EAGAIN);
	RMEM_T(rmem_map_lookup(&m, 1) == 1);
	RMEM_T(rmem_map_release(&m, 2));			/* one spare */
	RMEM_T(rmem_map_write_prepare(&m, 1) == 0);
	RMEM_T(rmem_map_lookup(&m, 1) == RMEM_NO_FRAME);	/* let go */
	RMEM_T(rmem_map_state(&m, 1) == RMEM_FRAME_DRAINING);
	RMEM_T(rmem_map_check(&m) == 0);
	RMEM_T(rmem_map_rq_end(&m, 1, 1, false));	/* it was waited for */
	RMEM_T(rmem_map_state(&m, 1) == RMEM_FRAME_PENDING);
	return NULL;
}

/*
 * Retained bases and requests: a base whose slot is given back while a
 * request names it drains instead of being retained, so neither a PATCH
 * (assign_base) nor a reclaim can take it; once the request ends it is
 * retained, a base again, and the newest is reclaimed first.
 */
static inline const char *rmem_map_case_retained(u32 *mem)
{
	struct rmem_map m;
	const char *err;
	u32 f;

	err = rmem_map_full(&m, mem);
	if (err)
		return err;
	rmem_map_set_owner(&m, 0, 10);
	rmem_map_set_owner(&m, 1, 11);
	RMEM_T(rmem_map_rq_start(&m, 0) == 0);
	RMEM_T(rmem_map_release(&m, 0) && rmem_map_release(&m, 1));
	RMEM_T(rmem_map_counts(&m, 0, 0, 2, 1, 1, 0, 0));
	RMEM_T(rmem_map_assign_base(&m, 2, 0) == -EBUSY);
	RMEM_T(rmem_map_assign(&m, 0, &f) == 0 && f == 1);	/* reclaimed */
	RMEM_T(m.reclaimed == 1 && rmem_map_owner(&m, 1) == RMEM_NO_OWNER);
	RMEM_T(rmem_map_assign(&m, 1, &f) == -ENOSPC);
	rmem_map_rq_end(&m, 0, 0, false);
	RMEM_T(rmem_map_counts(&m, 0, 0, 3, 1, 0, 0, 0));
	RMEM_T(rmem_map_owner(&m, 0) == 10);
	RMEM_T(rmem_map_assign_base(&m, 1, 0) == 0 && rmem_map_lookup(&m, 1) == 0);
	RMEM_T(rmem_map_counts(&m, 0, 0, 4, 0, 0, 0, 0));
	/* disowned while draining: pending when it ends */
	RMEM_T(rmem_map_rq_start(&m, 0) == 0 && rmem_map_release(&m, 1));
	rmem_map_disown(&m, 0);
	rmem_map_rq_end(&m, 1, 0, false);
	RMEM_T(rmem_map_counts(&m, 0, 1, 3, 0, 0, 0, 0));
	return NULL;
}

/*
 * Random writes, reads, frees, losses and DISCARDs of a driver with
 * requests in flight, against a shadow copy: a frame named by a request
 * in flight is never mapped to another slot, nor given out while held or
 * in a DISCARD that may still execute; the invariants hold throughout.
 */
static inline const char *rmem_map_case_random_life(u32 *mem)
{
	enum { SLOTS = 256, FRAMES = 320, RQS = 32 };
	struct rmem_map m;
	u32 *rq_slot = mem + rmem_map_words(SLOTS, FRAMES), *rq_frame = rq_slot + RQS;
	u32 *rq_write = rq_frame + RQS, *batch = rq_write + RQS;
	/* frames a lost DISCARD or write may still change on the donor */
	u32 *unsafe = batch + RMEM_DISCARD_MAX_FRAMES;
	u64 x = 0x2545f4914f6cdd1dull;
	u32 step, nbatch = 0, i;
	bool sent = false;

	rmem_map_init(&m, mem, SLOTS, FRAMES);
	for (i = 0; i < RQS; i++)
		rq_frame[i] = RMEM_NO_FRAME;
	for (i = 0; i < FRAMES; i++)
		unsafe[i] = 0;
	for (step = 0; step < 40000; step++) {
		u32 slot, f, op, r;
		int ret;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		slot = (u32)(x >> 8) % SLOTS;
		r = (u32)(x >> 24) % RQS;
		op = (u32)(x >> 40) % 20;
		if (op < 6 && rq_frame[r] == RMEM_NO_FRAME) {
			/* dispatch: a write gets a frame, a read looks it up */
			bool w = op < 4;

			f = rmem_map_lookup(&m, slot);
			if (w) {
				ret = rmem_map_assign(&m, slot, &f);
				RMEM_T(ret == 0 || ret == -ENOSPC);
				if (ret)
					continue;
				RMEM_T(!unsafe[f]);
			}
			if (f == RMEM_NO_FRAME)
				continue;
			/* a write alone, reads together (or -EBUSY: it waits) */
			ret = w ? rmem_map_rq_start_write(&m, f) :
				  rmem_map_rq_start(&m, f);
			RMEM_T(ret == 0 || ret == -EAGAIN);
			if (ret)
				continue;
			RMEM_T(!w || rmem_map_busy(&m, f) == 1);
			rq_slot[r] = slot;
			rq_frame[r] = f;
			rq_write[r] = w;
		} else if (op < 10 && rq_frame[r] != RMEM_NO_FRAME) {
			/* ends: answered, or (1 in 4) lost with its socket */
			bool lost = rq_write[r] && op == 9;

			f = rq_frame[r];
			RMEM_T(rmem_map_busy(&m, f));
			/* in flight, a frame stays its slot's or drains */
			RMEM_T(rmem_map_lookup(&m, rq_slot[r]) == f ||
			       rmem_map_state(&m, f) == RMEM_FRAME_DRAINING);
			rmem_map_rq_end(&m, rq_slot[r], f, lost);
			if (lost)
				unsafe[f] = 1;
			rq_frame[r] = RMEM_NO_FRAME;
		} else if (op < 15) {
			rmem_map_release(&m, slot);
		} else if (op < 17 && !nbatch && rmem_map_wants_discard(&m)) {
			nbatch = rmem_map_take_discard(&m, batch, 64);
			sent = false;
		} else if (op == 17 && nbatch) {
			sent = true;
		} else if (op == 18 && nbatch) {
			/* the socket dies: a batch sent (in part) is held */
			if (sent) {
				rmem_map_discard_lost(&m, batch, nbatch);
				for (i = 0; i < nbatch; i++)
					unsafe[batch[i]] = 1;
			} else {
				rmem_map_discard_unsent(&m, batch, nbatch);
			}
			nbatch = 0;
		} else if (op == 19 && nbatch && sent) {
			rmem_map_discarded(&m, batch, nbatch);
			for (i = 0; i < nbatch; i++)
				unsafe[batch[i]] = 0;
			nbatch = 0;
		}
		/* a frame that may still change is nobody's to write */
		if (step % 32)
			continue;
		RMEM_T(rmem_map_check(&m) == 0);
		for (i = 0; i < SLOTS; i++) {
			f = rmem_map_lookup(&m, i);
			RMEM_T(f == RMEM_NO_FRAME || !unsafe[f]);
		}
	}
	return NULL;
}

/*
 * A held frame while a connection is unfenced (its queue has no fenced
 * successor): the dead connection may deliver its stale DISCARD or WRITE
 * after any answer on another one, so no batch takes the held frame, and
 * held frames alone are no reason for one; pending ones still go. Once
 * fenced, the next batch takes it and its answer frees it.
 */
static inline const char *rmem_map_case_discard_unfenced(u32 *mem)
{
	struct rmem_map m;
	const char *err;
	u32 f, b[4];

	err = rmem_map_full(&m, mem);
	if (err)
		return err;
	RMEM_T(rmem_map_release(&m, 0));
	RMEM_T(rmem_map_take_discard(&m, b, 4) == 1 && b[0] == 0);
	rmem_map_discard_lost(&m, b, 1);
	RMEM_T(rmem_map_state(&m, 0) == RMEM_FRAME_HELD);
	m.unfenced = true;
	RMEM_T(!rmem_map_wants_discard(&m));
	RMEM_T(rmem_map_take_discard(&m, b, 4) == 0);
	RMEM_T(rmem_map_counts(&m, 0, 0, 3, 0, 0, 0, 1));
	/* a pending frame still goes, without the held one */
	RMEM_T(rmem_map_release(&m, 1));
	RMEM_T(rmem_map_take_discard(&m, b, 4) == 1 && b[0] == 1);
	rmem_map_discarded(&m, b, 1);
	RMEM_T(rmem_map_state(&m, 0) == RMEM_FRAME_HELD);
	RMEM_T(rmem_map_assign(&m, 1, &f) == 0 && f == 1);
	RMEM_T(rmem_map_assign(&m, 0, &f) == -ENOSPC);
	/* fenced: the held frame goes in the next batch */
	m.unfenced = false;
	RMEM_T(rmem_map_wants_discard(&m));
	RMEM_T(rmem_map_take_discard(&m, b, 4) == 1 && b[0] == 0);
	rmem_map_discarded(&m, b, 1);
	RMEM_T(rmem_map_counts(&m, 1, 0, 3, 0, 0, 0, 0));
	RMEM_T(rmem_map_assign(&m, 0, &f) == 0 && f == 0);
	return rmem_map_check(&m) ? "map invariants" : NULL;
}

struct rmem_map_case {
	const char *name;
	const char *(*run)(u32 *mem);
};

static const struct rmem_map_case rmem_map_cases[] = {
	{ "assign", rmem_map_case_assign },
	{ "pending", rmem_map_case_pending },
	{ "batch", rmem_map_case_batch },
	{ "extents", rmem_map_case_extents },
	{ "runs", rmem_map_case_runs },
	{ "random", rmem_map_case_random },
	{ "discard lost", rmem_map_case_discard_lost },
	{ "discard unfenced", rmem_map_case_discard_unfenced },
	{ "discard stale", rmem_map_case_discard_stale },
	{ "inflight write", rmem_map_case_inflight_write },
	{ "inflight lost", rmem_map_case_inflight_lost },
	{ "exclusive write", rmem_map_case_exclusive_write },
	{ "retained", rmem_map_case_retained },
	{ "random life", rmem_map_case_random_life },
};

#endif /* RMEM_MAP_CASES_H */

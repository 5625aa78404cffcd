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
	RMEM_T(rmem_map_take_pending(&m, taken, 8) == 1 && taken[0] == 2);
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
	n = rmem_map_take_pending(&m, taken, RMEM_DISCARD_MAX_FRAMES);
	RMEM_T(n == RMEM_DISCARD_BATCH + 9 && m.npending == 0);
	rmem_sort_u32(taken, n);
	for (i = 1; i < n; i++)
		RMEM_T(taken[i - 1] < taken[i]);
	/* 4 extents: 0, 2, 4, 6; the rest of the frames wait */
	k = rmem_extents_build(taken, n, ext, 4, &used);
	RMEM_T(k == 4 && used == 4);
	RMEM_T(le64_to_cpu(ext[3].frame) == 6 && le32_to_cpu(ext[3].count) == 1);
	rmem_map_return_pending(&m, taken + used, n - used);
	rmem_map_discarded(&m, taken, used);
	RMEM_T(m.npending == n - used && m.nfree == 1024 + used);
	RMEM_T(rmem_map_check(&m) == 0);
	/* the run 1000..1009 is one extent */
	n = rmem_map_take_pending(&m, taken, RMEM_DISCARD_MAX_FRAMES);
	rmem_sort_u32(taken, n);
	k = rmem_extents_build(taken, n, ext, 4, &used);
	RMEM_T(k == 4 && used == 4);
	n = rmem_map_take_pending(&m, taken + 4096, 0);
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
			n = rmem_map_take_pending(&m, taken, RMEM_DISCARD_MAX_FRAMES);
			rmem_sort_u32(taken, n);
			rmem_extents_build(taken, n, ext, 8, &used);
			rmem_map_return_pending(&m, taken + used, n - used);
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
};

#endif /* RMEM_MAP_CASES_H */

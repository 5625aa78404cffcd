/* SPDX-License-Identifier: GPL-2.0 OR LGPL-2.1-or-later */
/*
 * The cache-line delta logic's test cases (rmem_delta.c, with the map's
 * bases and retention), written once and run twice: by the KUnit suite
 * (rmem_proto_test.c) and by the userspace unit tests
 * (tests/unit/test_map.c). Each returns NULL or the first check that
 * failed; mem is RMEM_DELTA_TEST_BYTES of zeroed scratch.
 */
#ifndef RMEM_DELTA_CASES_H
#define RMEM_DELTA_CASES_H

#include "rmem_delta.h"
#include "rmem_map_cases.h"
#include "rmem_proto.h"

#define RMEM_DELTA_TEST_BYTES	(1u << 20)

/* deterministic xorshift64 for the random cases */
static inline u64 rmem_t_rand(u64 *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Fingerprints see every byte, and the mask is exactly the changed lines. */
static inline const char *rmem_delta_case_fp(void *mem)
{
	u8 *a = mem, *b = a + RMEM_FRAME_SIZE;
	rmem_fp_t *fa = (rmem_fp_t *)(b + RMEM_FRAME_SIZE), *fb = fa + RMEM_LINES_PER_FRAME;
	u64 x = 1;
	u32 i, fp0;

	/* pinned: the one definition, which other code may compute too */
	fp0 = rmem_line_fp(a);
	RMEM_T(fp0 == 0x88b61842u);	/* worked out by hand in Python */
	for (i = 0; i < RMEM_LINE_SIZE; i++) {
		a[i] = 1;
		RMEM_T(rmem_line_fp(a) != fp0);
		a[i] = 0x80;
		RMEM_T(rmem_line_fp(a) != fp0);
		a[i] = 0;
	}
	for (i = 0; i < RMEM_FRAME_SIZE; i++)
		a[i] = b[i] = (u8)rmem_t_rand(&x);
	b[5] ^= 1;			/* line 0 */
	b[64 * 17 + 63] ^= 0x40;	/* line 17 */
	b[4095] ^= 0xff;		/* line 63 */
	rmem_page_fps(a, fa, RMEM_FP_BITS);
	rmem_page_fps(b, fb, RMEM_FP_BITS);
	RMEM_T(rmem_fps_diff(fa, fb) == (1ull | 1ull << 17 | 1ull << 63));
	RMEM_T(rmem_fps_diff(fa, fb) == rmem_line_diff(a, b));
	RMEM_T(rmem_fps_diff(fa, fa) == 0);
	/* the top bits of the line's fingerprint */
	for (i = 0; i < RMEM_LINES_PER_FRAME; i++)
		RMEM_T(fa[i] == rmem_line_fp(a + i * RMEM_LINE_SIZE) >> 24);
	/*
	 * The 8 bits kept see a change at every byte of a line about as
	 * often as chance allows: a new random value at one position of
	 * 512 random lines leaves the 8 bits the same about twice (Poisson
	 * with mean 2, P(more than 12) about 1e-7); the unfinalised mix
	 * missed byte 62 eleven times as often (mean 22).
	 */
	for (i = 0; i < RMEM_LINE_SIZE; i++) {
		u32 t, same = 0;

		for (t = 0; t < 512; t++) {
			u32 k;
			u8 old;

			for (k = 0; k < RMEM_LINE_SIZE; k++)
				a[k] = (u8)rmem_t_rand(&x);
			fp0 = rmem_line_fp(a) >> 24;
			old = a[i];
			do {
				a[i] = (u8)rmem_t_rand(&x);
			} while (a[i] == old);
			same += (rmem_line_fp(a) >> 24) == fp0;
		}
		RMEM_T(same <= 12);
	}
	memset(a, 0, RMEM_LINE_SIZE);
	/* truncated to 2 bits, as the test knob does: collisions happen */
	rmem_page_fps(a, fa, 2);
	for (i = 0; i < RMEM_LINES_PER_FRAME; i++)
		RMEM_T(fa[i] <= 3);
	return NULL;
}

static inline const char *rmem_delta_case_size(void *mem)
{
	(void)mem;
	RMEM_T(rmem_fpt_size(0) == 0 && rmem_fpt_size(3) == 0);
	RMEM_T(rmem_fpt_size(4) == 4 && rmem_fpt_size(7) == 4);
	RMEM_T(rmem_fpt_size(8) == 8 && rmem_fpt_size(1001) == 1000);
	RMEM_T(rmem_fpt_size(0xffffffffu) == RMEM_FPT_MAX);
	return NULL;
}

/* The harness's scratch, cut into a map of nslots/nframes and a table. */
struct rmem_delta_rig {
	struct rmem_map m;
	struct rmem_fpt t;
	rmem_fp_t fp[RMEM_LINES_PER_FRAME];
};

static inline u8 *rmem_delta_rig_init(struct rmem_delta_rig *r, void *mem,
				      u32 nslots, u32 nframes, u32 nentries,
				      u32 fp_bits)
{
	u32 *words = mem;
	struct rmem_fpt_entry *e;

	rmem_map_init(&r->m, words, nslots, nframes);
	e = (struct rmem_fpt_entry *)(words + rmem_map_words(nslots, nframes));
	rmem_fpt_init(&r->t, e, nentries, fp_bits);
	memset(r->fp, 0, sizeof(r->fp));
	return (u8 *)(e + nentries);	/* the rest of the scratch */
}

/*
 * A page swapped out, in (its slot freed: the frame is retained as its
 * base), dirtied in two lines and swapped out to another slot goes as a
 * PATCH of those two lines to the same frame.
 */
static inline const char *rmem_delta_case_base(void *mem)
{
	struct rmem_delta_rig r;
	struct rmem_delta_plan p;
	u32 f0;

	rmem_delta_rig_init(&r, mem, 8, 8, 8, 32);
	r.fp[3] = 7;
	RMEM_T(rmem_delta_write(&r.m, &r.t, 0, 100, r.fp, 32, &p) == 0);
	RMEM_T(!p.base && !p.patch && p.frame == 0);
	f0 = p.frame;
	RMEM_T(rmem_map_owner(&r.m, f0) == rmem_fpt_find(&r.t, 100));
	/* swap-in then free: retained, not pending */
	rmem_delta_read(&r.m, &r.t, 0, f0, 100, r.fp);
	RMEM_T(rmem_map_release(&r.m, 0));
	RMEM_T(rmem_map_retained(&r.m, f0) && r.m.nretained == 1 && r.m.npending == 0);
	RMEM_T(rmem_map_check(&r.m) == 0);
	r.fp[9] = 1;
	r.fp[40] = 2;
	RMEM_T(rmem_delta_write(&r.m, &r.t, 5, 100, r.fp, 32, &p) == 0);
	RMEM_T(p.base && p.patch && p.frame == f0 && p.lines == 2);
	RMEM_T(p.mask == (1ull << 9 | 1ull << 40));
	RMEM_T(rmem_map_lookup(&r.m, 5) == f0 && r.m.nretained == 0);
	/* written again in place, unchanged: a PATCH of no lines */
	RMEM_T(rmem_delta_write(&r.m, &r.t, 5, 100, r.fp, 32, &p) == 0);
	RMEM_T(p.patch && p.mask == 0 && p.frame == f0);
	/* deltas off: the same base, written in full */
	RMEM_T(rmem_delta_write(&r.m, &r.t, 5, 100, r.fp, 0, &p) == 0);
	RMEM_T(p.base && !p.patch && p.frame == f0);
	RMEM_T(rmem_map_check(&r.m) == 0);
	return NULL;
}

/* More than max_lines changed: the base frame is written in full. */
static inline const char *rmem_delta_case_threshold(void *mem)
{
	struct rmem_delta_rig r;
	struct rmem_delta_plan p;
	u32 i;

	rmem_delta_rig_init(&r, mem, 8, 8, 8, 32);
	RMEM_T(rmem_delta_write(&r.m, &r.t, 0, 100, r.fp, 4, &p) == 0);
	RMEM_T(rmem_map_release(&r.m, 0));
	for (i = 0; i < 5; i++)
		r.fp[i * 10] = 1;
	RMEM_T(rmem_delta_write(&r.m, &r.t, 1, 100, r.fp, 4, &p) == 0);
	RMEM_T(p.base && !p.patch && p.lines == 5 && p.frame == 0);
	RMEM_T(rmem_map_release(&r.m, 1));
	r.fp[0] = 2;		/* one line since the full write */
	RMEM_T(rmem_delta_write(&r.m, &r.t, 2, 100, r.fp, 4, &p) == 0);
	RMEM_T(p.patch && p.lines == 1 && p.mask == 1);
	RMEM_T(rmem_map_check(&r.m) == 0);
	return NULL;
}

/*
 * The base is another live slot's frame (the page was read and its slot
 * kept): the write goes in full to a frame of its own and the old frame,
 * still that slot's, keeps its bytes; freed, it is not retained.
 */
static inline const char *rmem_delta_case_busy(void *mem)
{
	struct rmem_delta_rig r;
	struct rmem_delta_plan p;

	rmem_delta_rig_init(&r, mem, 8, 8, 8, 32);
	RMEM_T(rmem_delta_write(&r.m, &r.t, 0, 100, r.fp, 32, &p) == 0);
	rmem_delta_read(&r.m, &r.t, 0, p.frame, 100, r.fp);
	RMEM_T(rmem_delta_write(&r.m, &r.t, 1, 100, r.fp, 32, &p) == 0);
	RMEM_T(p.busy && !p.base && !p.patch && p.frame == 1);
	RMEM_T(rmem_map_lookup(&r.m, 0) == 0);
	RMEM_T(rmem_map_owner(&r.m, 0) == RMEM_NO_OWNER);
	RMEM_T(rmem_map_release(&r.m, 0) && r.m.npending == 1 && !r.m.nretained);
	/* a read whose slot moved on records nothing */
	rmem_delta_read(&r.m, &r.t, 0, 0, 200, r.fp);
	RMEM_T(rmem_fpt_find(&r.t, 200) == RMEM_NO_OWNER);
	/* a whole-page key 0 (not a page): plain assign, nobody owns it */
	RMEM_T(rmem_delta_write(&r.m, &r.t, 3, 0, r.fp, 32, &p) == 0);
	RMEM_T(!p.base && rmem_map_owner(&r.m, p.frame) == RMEM_NO_OWNER);
	RMEM_T(rmem_map_check(&r.m) == 0);
	return NULL;
}

/*
 * A base whose slot was freed while a request still named it (a read
 * in flight, a write racing the free) drains: no PATCH is sent against
 * it and no write reclaims it until the request ends; then it is a base
 * again. Lost with its socket instead, it is forgotten: held, no base.
 */
static inline const char *rmem_delta_case_draining(void *mem)
{
	struct rmem_delta_rig r;
	struct rmem_delta_plan p;
	u32 f0;

	rmem_delta_rig_init(&r, mem, 2, 2, 8, 32);
	RMEM_T(rmem_delta_write(&r.m, &r.t, 0, 100, r.fp, 32, &p) == 0);
	f0 = p.frame;
	RMEM_T(rmem_map_rq_start(&r.m, f0) == 0);
	RMEM_T(rmem_map_release(&r.m, 0));
	RMEM_T(rmem_map_state(&r.m, f0) == RMEM_FRAME_DRAINING);
	r.fp[5] = 9;
	RMEM_T(rmem_delta_write(&r.m, &r.t, 1, 100, r.fp, 32, &p) == 0);
	RMEM_T(p.busy && !p.patch && p.frame != f0);
	RMEM_T(rmem_delta_write(&r.m, &r.t, 0, 200, r.fp, 32, &p) == -ENOSPC);
	rmem_map_rq_end(&r.m, 0, f0, false);
	RMEM_T(rmem_map_check(&r.m) == 0);
	/* slot 1's write recorded page 100 on slot 1's frame: f0 lost its
	 * owner, so it is pending now, not a base */
	RMEM_T(rmem_map_state(&r.m, f0) == RMEM_FRAME_PENDING);
	/* a base lost with its write: held, and the page has no base */
	RMEM_T(rmem_delta_write(&r.m, &r.t, 0, 300, r.fp, 32, &p) == 0);
	f0 = p.frame;
	RMEM_T(rmem_map_rq_start(&r.m, f0) == 0);
	rmem_map_rq_end(&r.m, 0, f0, true);
	RMEM_T(rmem_map_state(&r.m, f0) == RMEM_FRAME_HELD);
	RMEM_T(rmem_delta_write(&r.m, &r.t, 0, 300, r.fp, 32, &p) == -ENOSPC);
	RMEM_T(rmem_map_check(&r.m) == 0);
	return NULL;
}

/*
 * With no free or pending frame left, the newest retained frame is
 * reclaimed; its page's entry then finds no base. A forgotten frame has
 * no base either.
 */
static inline const char *rmem_delta_case_reclaim(void *mem)
{
	struct rmem_delta_rig r;
	struct rmem_delta_plan p;
	u32 i;

	rmem_delta_rig_init(&r, mem, 4, 4, 8, 32);
	for (i = 0; i < 4; i++)
		RMEM_T(rmem_delta_write(&r.m, &r.t, i, 100 + i, r.fp, 32, &p) == 0);
	RMEM_T(rmem_map_release(&r.m, 0) && rmem_map_release(&r.m, 1));
	RMEM_T(r.m.nretained == 2 && r.m.ret_head == 0 && r.m.ret_tail == 1);
	/* page 105 is new: it reclaims frame 1, page 101's base */
	RMEM_T(rmem_delta_write(&r.m, &r.t, 0, 105, r.fp, 32, &p) == 0);
	RMEM_T(p.frame == 1 && !p.base && r.m.reclaimed == 1);
	RMEM_T(rmem_delta_write(&r.m, &r.t, 1, 101, r.fp, 32, &p) == 0);
	RMEM_T(!p.base && p.frame == 0 && r.m.nretained == 0);
	RMEM_T(rmem_map_check(&r.m) == 0);
	/* forgotten: the bytes of frame 0 (slot 1's, page 101's) are unknown */
	rmem_delta_forget(&r.m, 0);
	RMEM_T(rmem_map_release(&r.m, 1) && r.m.npending == 1 && !r.m.nretained);
	RMEM_T(rmem_delta_write(&r.m, &r.t, 1, 101, r.fp, 32, &p) == 0);
	RMEM_T(!p.base);
	RMEM_T(rmem_map_check(&r.m) == 0);
	return NULL;
}

/*
 * A full table replaces its least recently used entry, a written page's
 * before a read one's; a retained frame it had goes pending.
 */
static inline const char *rmem_delta_case_evict(void *mem)
{
	struct rmem_delta_rig r;
	struct rmem_delta_plan p;
	u32 i;

	rmem_delta_rig_init(&r, mem, 8, 8, 4, 32);	/* one set of 4 */
	for (i = 0; i < 4; i++) {
		RMEM_T(rmem_delta_write(&r.m, &r.t, i, 100 + i, r.fp, 32, &p) == 0);
		rmem_delta_read(&r.m, &r.t, i, p.frame, 100 + i, r.fp);
		RMEM_T(rmem_map_release(&r.m, i));
	}
	RMEM_T(r.m.nretained == 4 && r.m.npending == 0);
	RMEM_T(rmem_delta_write(&r.m, &r.t, 4, 104, r.fp, 32, &p) == 0);
	RMEM_T(r.t.evictions == 1 && rmem_fpt_find(&r.t, 100) == RMEM_NO_OWNER);
	RMEM_T(r.m.nretained == 3 && r.m.npending == 1 && !rmem_map_retained(&r.m, 0));
	/* page 104 was written, not read: it goes before 101..103 */
	RMEM_T(rmem_delta_write(&r.m, &r.t, 5, 105, r.fp, 32, &p) == 0);
	RMEM_T(rmem_fpt_find(&r.t, 104) == RMEM_NO_OWNER);
	RMEM_T(rmem_fpt_find(&r.t, 101) != RMEM_NO_OWNER);
	RMEM_T(rmem_delta_write(&r.m, &r.t, 6, 101, r.fp, 32, &p) == 0);
	RMEM_T(p.base && p.frame == 1);
	RMEM_T(rmem_map_check(&r.m) == 0);
	return NULL;
}

/*
 * Pages swapped out and in at random and dirtied a few lines at a time,
 * against a model donor that applies PATCHes only when the page hash
 * matches: after every write the frame holds exactly the page, every
 * valid entry's fingerprints are its frame's, and the map stays
 * consistent, with fewer frames than the pages need (retained bases are
 * reclaimed), some writes without a key, and the table moved into bigger
 * and smaller ones every 500 steps. Run with full fingerprints (few
 * MISMATCHes) and with 2-bit ones (MISMATCHes forced, each recovered by
 * a full write).
 */
static inline const char *rmem_delta_random(void *mem, u32 fp_bits,
					    u32 *mismatches, u32 *patches)
{
	enum { SLOTS = 24, FRAMES = 16, PAGES = 12, ENTRIES = 8, MOST = 32 };
	struct rmem_delta_rig r;
	u8 *frames = rmem_delta_rig_init(&r, mem, SLOTS, FRAMES, ENTRIES, fp_bits);
	u8 *pages = frames + FRAMES * RMEM_FRAME_SIZE;
	u32 *slot_of = (u32 *)(pages + PAGES * RMEM_FRAME_SIZE);	/* [PAGES] */
	rmem_fp_t *fp = (rmem_fp_t *)(slot_of + PAGES), *ffp = fp + RMEM_LINES_PER_FRAME;
	u8 *lines = (u8 *)(ffp + RMEM_LINES_PER_FRAME);	/* a PATCH's lines */
	/* two tables the rig's moves into, in turn */
	struct rmem_fpt_entry *tab[2] = {
		(struct rmem_fpt_entry *)(lines + RMEM_FRAME_SIZE),
		(struct rmem_fpt_entry *)(lines + RMEM_FRAME_SIZE) + MOST,
	};
	u64 x = 0x2545f4914f6cdd1dull + fp_bits;
	u32 step, i, moves = 0;

	*mismatches = *patches = 0;
	for (i = 0; i < PAGES; i++)
		slot_of[i] = RMEM_NO_FRAME;	/* in memory */
	for (i = 0; i < PAGES * RMEM_FRAME_SIZE; i++)
		pages[i] = (u8)rmem_t_rand(&x);
	for (step = 0; step < 3000; step++) {
		u32 pg = (u32)(rmem_t_rand(&x) % PAGES), slot, k;
		u8 *page = pages + pg * RMEM_FRAME_SIZE;
		struct rmem_delta_plan p;

		if (slot_of[pg] == RMEM_NO_FRAME) {
			/* dirty a few lines (sometimes none, sometimes many) */
			k = (u32)(rmem_t_rand(&x) % 6);
			if (!(rmem_t_rand(&x) % 9))
				k = 64;
			for (i = 0; i < k; i++)
				page[rmem_t_rand(&x) % RMEM_FRAME_SIZE] ^=
					(u8)(1 + rmem_t_rand(&x) % 255);
			/* swap out to a free slot */
			for (slot = (u32)(rmem_t_rand(&x) % SLOTS);
			     rmem_map_lookup(&r.m, slot) != RMEM_NO_FRAME;
			     slot = (slot + 1) % SLOTS)
				;
			rmem_page_fps(page, fp, r.t.fp_bits);
			/* one write in 8 without a key (not fingerprinted):
			 * it takes frames an entry may still name */
			k = rmem_t_rand(&x) % 8 ? pg + 1 : 0;
			RMEM_T(rmem_delta_write(&r.m, &r.t, slot, k, fp, 8, &p) == 0);
			RMEM_T(p.frame < FRAMES && rmem_map_lookup(&r.m, slot) == p.frame);
			if (p.patch) {
				u8 *f = frames + p.frame * RMEM_FRAME_SIZE;

				RMEM_T(rmem_patch_gather(page, p.mask, lines) ==
				       p.lines * RMEM_LINE_SIZE);
				(*patches)++;
				if (rmem_patch_apply(f, p.mask, lines,
						     rmem_page_hash(page)) != RMEM_OK) {
					(*mismatches)++;
					rmem_delta_forget(&r.m, p.frame);
					p.patch = false;
				}
			}
			if (!p.patch)
				memcpy(frames + p.frame * RMEM_FRAME_SIZE, page,
				       RMEM_FRAME_SIZE);
			RMEM_T(!memcmp(frames + p.frame * RMEM_FRAME_SIZE, page,
				       RMEM_FRAME_SIZE));
			slot_of[pg] = slot;
		} else {
			/* swap in: the page is the frame; the slot is freed */
			slot = slot_of[pg];
			k = rmem_map_lookup(&r.m, slot);
			RMEM_T(k != RMEM_NO_FRAME);
			RMEM_T(!memcmp(frames + k * RMEM_FRAME_SIZE, page,
				       RMEM_FRAME_SIZE));
			rmem_page_fps(page, fp, r.t.fp_bits);
			rmem_delta_read(&r.m, &r.t, slot, k, pg + 1, fp);
			RMEM_T(rmem_map_release(&r.m, slot));
			slot_of[pg] = RMEM_NO_FRAME;
		}
		if (!(step % 16)) {
			u32 taken[FRAMES], n = rmem_map_take_discard(&r.m, taken, FRAMES);

			rmem_map_discarded(&r.m, taken, n);
		}
		if (step && !(step % 500)) {
			/* the table moves, bigger or smaller (rmem_fpt_move) */
			static const u32 size[] = { 16, 4, 32, 8, 12 };
			struct rmem_fpt to;

			rmem_fpt_init(&to, tab[moves % 2], size[moves % 5], r.t.fp_bits);
			rmem_fpt_move(&r.m, &r.t, &to);
			r.t = to;
			moves++;
		}
		RMEM_T(rmem_map_check(&r.m) == 0);
		for (i = 0; i < r.t.nsets * RMEM_FPT_WAYS; i++) {
			struct rmem_fpt_entry *e = &r.t.e[i];

			if (!e->key || rmem_map_owner(&r.m, e->frame) != i)
				continue;
			rmem_page_fps(frames + e->frame * RMEM_FRAME_SIZE, ffp,
				      r.t.fp_bits);
			RMEM_T(!memcmp(ffp, e->fp, sizeof(e->fp)));
		}
	}
	return NULL;
}

static inline const char *rmem_delta_case_random(void *mem)
{
	u32 mism, patches;
	const char *err = rmem_delta_random(mem, RMEM_FP_BITS, &mism, &patches);

	if (err)
		return err;
	/* 8-bit fingerprints hide a changed line once in 256: a few
	 * MISMATCHes, each caught by the page hash, never wrong bytes */
	RMEM_T(patches > 200 && mism * 20 < patches);
	return NULL;
}

static inline const char *rmem_delta_case_collide(void *mem)
{
	u32 mism, patches;
	const char *err = rmem_delta_random(mem, 2, &mism, &patches);

	if (err)
		return err;
	RMEM_T(patches > 200 && mism > 10);
	return NULL;
}

/*
 * The fingerprinting policy: a window of passes with no PATCH turns
 * sampling on; sampled keys are about one in RMEM_ADAPT_SAMPLE, the same
 * ones each time; a rate between the two thresholds keeps the mode
 * (hysteresis); a rate at the upper one turns every page back on; a
 * device that does not adapt never samples.
 */
/* passes alternating read and write, the first patches writes PATCHes */
static inline void rmem_t_adapt_window(struct rmem_delta_adapt *a, u32 passes,
				       u32 patches)
{
	u32 i;

	for (i = 0; i < passes; i++)
		rmem_delta_adapt_note(a, i % 2, !(i % 2) && i / 2 < patches);
}

static inline const char *rmem_delta_case_adapt(void *mem)
{
	struct rmem_delta_adapt a;
	u32 k, in = 0;

	(void)mem;
	rmem_delta_adapt_init(&a, true, false);
	RMEM_T(rmem_delta_adapt_wants(&a, 12345));
	/* a fill: writes only, no PATCH, and no verdict */
	for (k = 0; k < 2 * RMEM_ADAPT_WINDOW; k++)
		rmem_delta_adapt_note(&a, false, false);
	RMEM_T(!a.sampling && !a.switches);
	/* reads alone (a program reading back what it wrote): no verdict */
	for (k = 0; k < 2 * RMEM_ADAPT_WINDOW; k++)
		rmem_delta_adapt_note(&a, true, false);
	RMEM_T(!a.sampling && !a.switches);
	/* one PATCH per 64 passes: below one in 32 */
	rmem_t_adapt_window(&a, RMEM_ADAPT_WINDOW, RMEM_ADAPT_WINDOW / 64);
	RMEM_T(a.sampling && a.switches == 1);
	for (k = 1; k <= 16000; k++)
		in += rmem_delta_adapt_wants(&a, k);
	RMEM_T(in > 16000 / RMEM_ADAPT_SAMPLE * 8 / 10 &&
	       in < 16000 / RMEM_ADAPT_SAMPLE * 12 / 10);
	RMEM_T(rmem_delta_adapt_wants(&a, 77) == rmem_delta_adapt_wants(&a, 77));
	/* one in 24: between the thresholds, still sampling */
	rmem_t_adapt_window(&a, RMEM_ADAPT_SAMPLE_WINDOW,
			    RMEM_ADAPT_SAMPLE_WINDOW / 24);
	RMEM_T(a.sampling && a.switches == 1);
	/* one in 8 of the sampled pages: every page again */
	rmem_t_adapt_window(&a, RMEM_ADAPT_SAMPLE_WINDOW,
			    RMEM_ADAPT_SAMPLE_WINDOW / 8);
	RMEM_T(!a.sampling && a.switches == 2);
	RMEM_T(rmem_delta_adapt_wants(&a, 12345));
	/* one in 24 with every page: between the thresholds, stays on */
	rmem_t_adapt_window(&a, RMEM_ADAPT_WINDOW, RMEM_ADAPT_WINDOW / 24);
	RMEM_T(!a.sampling && a.switches == 2);
	/* not adapting: no PATCH at all changes nothing */
	rmem_delta_adapt_init(&a, false, false);
	rmem_t_adapt_window(&a, 4 * RMEM_ADAPT_WINDOW, 0);
	RMEM_T(!a.sampling && !a.switches);

	/*
	 * A growing table's start: sampling, and staying so without
	 * PATCHes; a window that pays asks for the table (true from note)
	 * at every window until it has grown, and then every page, for good.
	 */
	rmem_delta_adapt_init(&a, false, true);
	RMEM_T(a.sampling && a.small);
	for (k = 0, in = 0; k < 8 * RMEM_ADAPT_SAMPLE_WINDOW; k++)
		in += rmem_delta_adapt_note(&a, k % 2, false);
	RMEM_T(a.sampling && !in && !a.switches);
	for (k = 0, in = 0; k < 2 * RMEM_ADAPT_SAMPLE_WINDOW; k++)
		in += rmem_delta_adapt_note(&a, k % 2, !(k % 2) && k % 8 < 4);
	RMEM_T(in == 2 && a.sampling && a.small);
	rmem_delta_adapt_grown(&a);
	RMEM_T(!a.sampling && !a.small && a.switches == 1);
	RMEM_T(rmem_delta_adapt_wants(&a, 77));
	rmem_t_adapt_window(&a, 4 * RMEM_ADAPT_WINDOW, 0);
	RMEM_T(!a.sampling && a.switches == 1);
	/* ... unless it adapts both ways: then down, and up with no growth */
	rmem_delta_adapt_init(&a, true, true);
	for (k = 0, in = 0; k < RMEM_ADAPT_SAMPLE_WINDOW; k++)
		in += rmem_delta_adapt_note(&a, k % 2, !(k % 2));
	RMEM_T(in == 1 && a.sampling);
	rmem_delta_adapt_grown(&a);
	rmem_t_adapt_window(&a, RMEM_ADAPT_WINDOW, 0);
	RMEM_T(a.sampling && a.switches == 2);
	for (k = 0, in = 0; k < RMEM_ADAPT_SAMPLE_WINDOW; k++)
		in += rmem_delta_adapt_note(&a, k % 2, !(k % 2));
	RMEM_T(!in && !a.sampling && a.switches == 3);
	return NULL;
}

/*
 * A growing table: its start, and a move into a bigger table that keeps
 * every valid entry, its fingerprints and its base, and into a smaller
 * one that keeps the most recently used and lets the others' bases go.
 */
static inline const char *rmem_delta_case_grow(void *mem)
{
	struct rmem_delta_rig r;
	struct rmem_delta_plan p;
	struct rmem_fpt big, small;
	u8 *rest = rmem_delta_rig_init(&r, mem, 16, 16, 4, 32);
	struct rmem_fpt_entry *bige = (struct rmem_fpt_entry *)rest;
	struct rmem_fpt_entry *smalle = bige + 64;
	u32 i, k, idx;

	RMEM_T(rmem_fpt_start(1000) == 1000);
	RMEM_T(rmem_fpt_start(RMEM_FPT_START_MIN * 2) == RMEM_FPT_START_MIN);
	RMEM_T(rmem_fpt_start(RMEM_FPT_START_MIN * 64) ==
	       RMEM_FPT_START_MIN * 64 / RMEM_FPT_START_DIV);

	/*
	 * A stale entry naming a valid one's frame, at the index of the
	 * bigger table where the valid one lands: it must not come back to
	 * life when the owner names that index. Find a key that lands at
	 * index 8 of an empty 64-entry table.
	 */
	RMEM_T(rmem_map_assign(&r.m, 0, &p.frame) == 0);
	for (k = 1; k < 100000; k++) {
		memset(r.t.e, 0, 4 * sizeof(*r.t.e));
		r.t.e[0].key = k;
		r.t.e[0].frame = p.frame;
		rmem_map_set_owner(&r.m, p.frame, 0);
		rmem_fpt_init(&big, bige, 64, r.t.fp_bits);
		rmem_fpt_move(&r.m, &r.t, &big);
		if (rmem_fpt_find(&big, k) == 8)
			break;
	}
	RMEM_T(k < 100000);
	{
		struct rmem_fpt_entry st[16];
		struct rmem_fpt t16 = r.t;

		memset(st, 0, sizeof(st));
		t16.e = st;
		t16.nsets = 4;
		st[0].key = k;
		st[0].frame = p.frame;
		st[0].fp[0] = 1;
		st[8].key = 5000000;	/* stale: the frame's owner is entry 0 */
		st[8].frame = p.frame;
		st[8].fp[0] = 2;
		rmem_map_set_owner(&r.m, p.frame, 0);
		rmem_fpt_init(&big, bige, 64, r.t.fp_bits);
		rmem_fpt_move(&r.m, &t16, &big);
		idx = rmem_fpt_find(&big, k);
		RMEM_T(idx == 8 && rmem_map_owner(&r.m, p.frame) == 8);
		RMEM_T(big.e[8].fp[0] == 1);
		idx = rmem_fpt_find(&big, 5000000);
		RMEM_T(idx == RMEM_NO_OWNER || rmem_map_owner(&r.m, big.e[idx].frame) != idx);
	}
	RMEM_T(rmem_map_release(&r.m, 0));
	rmem_delta_rig_init(&r, mem, 16, 16, 4, 32);
	/* four pages read (their frames retained bases), fingerprints i */
	for (i = 0; i < 4; i++) {
		r.fp[0] = (rmem_fp_t)(i + 1);
		RMEM_T(rmem_delta_write(&r.m, &r.t, i, 100 + i, r.fp, 32, &p) == 0);
		rmem_delta_read(&r.m, &r.t, i, p.frame, 100 + i, r.fp);
		RMEM_T(rmem_map_release(&r.m, i));
	}
	RMEM_T(r.m.nretained == 4 && rmem_map_check(&r.m) == 0);
	rmem_fpt_init(&big, bige, 64, r.t.fp_bits);
	rmem_fpt_move(&r.m, &r.t, &big);
	RMEM_T(r.m.nretained == 4 && rmem_map_check(&r.m) == 0);
	for (i = 0; i < 4; i++) {
		idx = rmem_fpt_find(&big, 100 + i);
		RMEM_T(idx != RMEM_NO_OWNER && big.e[idx].fp[0] == i + 1);
		RMEM_T(rmem_map_owner(&r.m, big.e[idx].frame) == idx);
	}
	r.t = big;
	/* a base still: one line changed is a PATCH */
	r.fp[0] = 3;
	r.fp[1] = 9;
	RMEM_T(rmem_delta_write(&r.m, &r.t, 8, 102, r.fp, 32, &p) == 0);
	RMEM_T(p.base && p.patch && p.mask == 2);
	RMEM_T(rmem_map_release(&r.m, 8));
	/* eight entries into a table of one set: the four newest stay */
	for (i = 4; i < 8; i++) {
		RMEM_T(rmem_delta_write(&r.m, &r.t, i, 100 + i, r.fp, 32, &p) == 0);
		rmem_delta_read(&r.m, &r.t, i, p.frame, 100 + i, r.fp);
		RMEM_T(rmem_map_release(&r.m, i));
	}
	RMEM_T(r.m.nretained == 8);
	rmem_fpt_init(&small, smalle, 4, r.t.fp_bits);
	rmem_fpt_move(&r.m, &r.t, &small);
	RMEM_T(r.m.nretained == 4 && r.m.npending == 4 && small.evictions == 4);
	for (i = 0; i < 8; i++)
		RMEM_T((rmem_fpt_find(&small, 100 + i) != RMEM_NO_OWNER) == (i >= 4));
	RMEM_T(rmem_map_check(&r.m) == 0);
	return NULL;
}

struct rmem_delta_case {
	const char *name;
	const char *(*run)(void *mem);
};

static const struct rmem_delta_case rmem_delta_cases[] = {
	{ "fingerprints", rmem_delta_case_fp },
	{ "table size", rmem_delta_case_size },
	{ "base", rmem_delta_case_base },
	{ "threshold", rmem_delta_case_threshold },
	{ "busy base", rmem_delta_case_busy },
	{ "draining base", rmem_delta_case_draining },
	{ "reclaim", rmem_delta_case_reclaim },
	{ "evict", rmem_delta_case_evict },
	{ "random", rmem_delta_case_random },
	{ "collisions", rmem_delta_case_collide },
	{ "adapt", rmem_delta_case_adapt },
	{ "grow", rmem_delta_case_grow },
};

#endif /* RMEM_DELTA_CASES_H */

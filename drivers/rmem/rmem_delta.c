// SPDX-License-Identifier: GPL-2.0 OR LGPL-2.1-or-later
/*
 * Line fingerprints, the fingerprint table and write plans (rmem_delta.h).
 */
#include "rmem_delta.h"

#define RMEM_FP_MUL	0xff51afd7ed558ccdull	/* murmur3's fmix64 constant */
#define RMEM_FP_SEED	0x9e3779b97f4a7c15ull	/* 2^64 / golden ratio */

/*
 * The fingerprint of one 64-byte line: its eight little-endian words
 * folded by multiply and xor-shift, then finalised by one more
 * xor-shift and multiply, so that a change of any bit reaches every one
 * of the 32 bits returned, the top ones included (the table keeps the
 * top 8: without the finalisation, the high bytes of the last word
 * reached them only through a multiply's carries, and a change of byte
 * 62 alone went unseen 11 times too often). Not cryptographic and it
 * need not be: a collision costs a MISMATCH and a full write, never
 * wrong data.
 */
u32 rmem_line_fp(const void *line)
{
	const u8 *p = line;
	u64 h = RMEM_FP_SEED;
	unsigned int i;

	for (i = 0; i < RMEM_LINE_SIZE; i += 8) {
		__le64 w;

		memcpy(&w, p + i, sizeof(w));
		h = (h ^ le64_to_cpu(w)) * RMEM_FP_MUL;
		h ^= h >> 32;
	}
	h ^= h >> 29;
	h *= RMEM_FP_MUL;
	return (u32)(h >> 32);
}

/* The fingerprints of a page's 64 lines, each the top fp_bits (1..8). */
void rmem_page_fps(const void *page, rmem_fp_t *fp, u32 fp_bits)
{
	const u8 *p = page;
	unsigned int i, shift = 32 - fp_bits;

	for (i = 0; i < RMEM_LINES_PER_FRAME; i++)
		fp[i] = (rmem_fp_t)(rmem_line_fp(p + i * RMEM_LINE_SIZE) >> shift);
}

/* The lines whose fingerprints differ: bit i for line i. */
u64 rmem_fps_diff(const rmem_fp_t *old_fp, const rmem_fp_t *new_fp)
{
	u64 mask = 0;
	unsigned int i;

	for (i = 0; i < RMEM_LINES_PER_FRAME; i++)
		if (old_fp[i] != new_fp[i])
			mask |= 1ull << i;
	return mask;
}

u32 rmem_fpt_size(u32 want)
{
	if (want > RMEM_FPT_MAX)
		want = RMEM_FPT_MAX;
	return want - want % RMEM_FPT_WAYS;
}

/* nentries from rmem_fpt_size (0: no table); fp_bits 1..8, else 8 */
void rmem_fpt_init(struct rmem_fpt *t, struct rmem_fpt_entry *mem,
		   u32 nentries, u32 fp_bits)
{
	t->e = mem;
	t->nsets = nentries / RMEM_FPT_WAYS;
	t->clock = 0;
	t->fp_bits = fp_bits && fp_bits < RMEM_FP_BITS ? fp_bits : RMEM_FP_BITS;
	t->evictions = 0;
	if (nentries)
		memset(mem, 0, (size_t)nentries * sizeof(*mem));
}

/* key's set: its hash scaled to [0, nsets), any number of sets */
static u32 rmem_fpt_set(const struct rmem_fpt *t, u64 key)
{
	return (u32)(((key * RMEM_FP_SEED) >> 32) * t->nsets >> 32);
}

/* The index of key's entry, or RMEM_NO_OWNER. */
u32 rmem_fpt_find(const struct rmem_fpt *t, u64 key)
{
	u32 base, w;

	if (!t->nsets || !key)
		return RMEM_NO_OWNER;
	base = rmem_fpt_set(t, key) * RMEM_FPT_WAYS;
	for (w = 0; w < RMEM_FPT_WAYS; w++)
		if (t->e[base + w].key == key)
			return base + w;
	return RMEM_NO_OWNER;
}

/* An entry describes its frame only while the frame's owner is it. */
static bool rmem_fpt_valid(const struct rmem_map *m, const struct rmem_fpt *t,
			   u32 idx)
{
	return t->e[idx].key && rmem_map_owner(m, t->e[idx].frame) == idx;
}

/* how long ago an entry was used, on the table's clock */
static u32 rmem_fpt_age(const struct rmem_fpt *t, const struct rmem_fpt_entry *e)
{
	return t->clock - e->stamp;
}

/*
 * Where key goes: its entry, else an empty or stale one, else the least
 * recently used. A read's entry is what a write of the page will want;
 * a write's (rmem_delta_write) is likely dead already, as swap frees a
 * page once it is written out, so it is made the first to go.
 */
static u32 rmem_fpt_place(const struct rmem_map *m, const struct rmem_fpt *t,
			  u64 key)
{
	u32 idx = rmem_fpt_find(t, key), base, w, oldest;

	if (idx != RMEM_NO_OWNER)
		return idx;
	base = rmem_fpt_set(t, key) * RMEM_FPT_WAYS;
	oldest = base;
	for (w = 0; w < RMEM_FPT_WAYS; w++) {
		if (!rmem_fpt_valid(m, t, base + w))
			return base + w;
		if (rmem_fpt_age(t, &t->e[base + w]) > rmem_fpt_age(t, &t->e[oldest]))
			oldest = base + w;
	}
	return oldest;
}

/*
 * key's page and frame now hold the same bytes, whose fingerprints are
 * fp. A frame the entry (or the one it replaces) described before loses
 * its owner: retained, it goes to the donor's DISCARD.
 */
static u32 rmem_fpt_stamp(struct rmem_fpt *t, bool read)
{
	return read ? ++t->clock : t->clock - RMEM_FPT_STALE;
}

static void rmem_fpt_record(struct rmem_map *m, struct rmem_fpt *t, u64 key,
			    u32 frame, const rmem_fp_t *fp, bool read)
{
	u32 idx = rmem_fpt_place(m, t, key);
	struct rmem_fpt_entry *e = &t->e[idx];

	if (rmem_fpt_valid(m, t, idx)) {
		if (e->key != key)
			t->evictions++;
		if (e->frame != frame)
			rmem_map_disown(m, e->frame);
	}
	e->key = key;
	e->frame = frame;
	e->stamp = rmem_fpt_stamp(t, read);
	memcpy(e->fp, fp, sizeof(e->fp));
	rmem_map_set_owner(m, frame, idx);
}

/* entries a growing table of at most most entries starts with */
u32 rmem_fpt_start(u32 most)
{
	u32 n = most / RMEM_FPT_START_DIV;

	if (n < RMEM_FPT_START_MIN)
		n = RMEM_FPT_START_MIN;
	return rmem_fpt_size(n < most ? n : most);
}

/*
 * Move what t knows into to, a table just initialised (any size): each
 * valid entry goes to its key's set there, and its frame's owner with
 * it. Where a set of to is full already, the least recently used of the
 * five loses, and its frame is disowned as an eviction's is. to takes
 * over t's clock and counts; t's memory describes nothing afterwards
 * (its stale entries lose their keys first: once owners start to name
 * entries of to, an index of t could look valid again). The caller
 * holds the lock for one walk of t.
 */
void rmem_fpt_move(struct rmem_map *m, struct rmem_fpt *t, struct rmem_fpt *to)
{
	u32 n = t->nsets * RMEM_FPT_WAYS, i;

	to->clock = t->clock;
	to->evictions = t->evictions;
	for (i = 0; i < n; i++)
		if (!rmem_fpt_valid(m, t, i))
			t->e[i].key = 0;
	for (i = 0; i < n; i++) {
		struct rmem_fpt_entry *e = &t->e[i], *d;
		u32 idx;

		if (!e->key)
			continue;
		if (!to->nsets) {
			rmem_map_disown(m, e->frame);
			continue;
		}
		/* an empty way of the key's set, else its least recently
		 * used: every entry of to was moved here and is valid, and
		 * no key is in it yet (keys are unique in t) */
		idx = rmem_fpt_place(m, to, e->key);
		d = &to->e[idx];
		if (d->key) {
			to->evictions++;
			if (rmem_fpt_age(t, e) >= rmem_fpt_age(to, d)) {
				rmem_map_disown(m, e->frame);
				continue;
			}
			rmem_map_disown(m, d->frame);
		}
		*d = *e;
		rmem_map_set_owner(m, d->frame, idx);
	}
}

/*
 * Plan a write of the page key (0: not a whole page) to slot, whose
 * fingerprints are fp; max_lines 0 means no PATCH. Gives the slot its
 * frame as rmem_map_assign would, or the page's base frame, and leaves
 * the table describing the page as written. 0, or rmem_map_assign's
 * -ENOSPC / -ERANGE, with nothing changed.
 */
int rmem_delta_write(struct rmem_map *m, struct rmem_fpt *t, u32 slot,
		     u64 key, const rmem_fp_t *fp, u32 max_lines,
		     struct rmem_delta_plan *plan)
{
	u32 idx = rmem_fpt_find(t, key);
	int ret;

	memset(plan, 0, sizeof(*plan));
	if (idx != RMEM_NO_OWNER && !rmem_fpt_valid(m, t, idx))
		idx = RMEM_NO_OWNER;
	if (idx != RMEM_NO_OWNER && !rmem_map_retained(m, t->e[idx].frame) &&
	    rmem_map_lookup(m, slot) != t->e[idx].frame) {
		plan->busy = true;	/* another live slot's: its bytes stay */
		idx = RMEM_NO_OWNER;
	}
	if (idx != RMEM_NO_OWNER) {
		struct rmem_fpt_entry *e = &t->e[idx];

		ret = rmem_map_assign_base(m, slot, e->frame);
		if (ret)
			return ret;
		plan->frame = e->frame;
		plan->base = true;
		plan->mask = rmem_fps_diff(e->fp, fp);
		plan->lines = hweight64(plan->mask);
		plan->patch = max_lines && plan->lines <= max_lines;
		memcpy(e->fp, fp, sizeof(e->fp));
		e->stamp = rmem_fpt_stamp(t, false);
		return 0;
	}
	ret = rmem_map_assign(m, slot, &plan->frame);
	if (ret)
		return ret;
	if (t->nsets && key)
		rmem_fpt_record(m, t, key, plan->frame, fp, false);
	else	/* new bytes nobody knows the fingerprints of */
		rmem_map_disown(m, plan->frame);
	return 0;
}

/*
 * A read of slot, whose frame was frame, filled the page key with bytes
 * whose fingerprints are fp: the page's base, unless the slot has moved
 * on since (freed, or written elsewhere) and the frame with it.
 */
void rmem_delta_read(struct rmem_map *m, struct rmem_fpt *t, u32 slot,
		     u32 frame, u64 key, const rmem_fp_t *fp)
{
	if (t->nsets && key && frame != RMEM_NO_FRAME &&
	    rmem_map_lookup(m, slot) == frame)
		rmem_fpt_record(m, t, key, frame, fp, true);
}

/* The frame's bytes are unknown (a write failed or was refused). */
void rmem_delta_forget(struct rmem_map *m, u32 frame)
{
	rmem_map_disown(m, frame);
}

/* a new window of passes for the next verdict */
static void rmem_adapt_window(struct rmem_delta_adapt *a)
{
	a->passes = 0;
	a->patches = 0;
	a->reads = 0;
}

/*
 * Under the lock that note takes; on and sampling are read without it.
 * small: the table is a growing one's start, so the device samples
 * until its pages say deltas pay.
 */
void rmem_delta_adapt_init(struct rmem_delta_adapt *a, bool on, bool small)
{
	WRITE_ONCE(a->on, on);
	WRITE_ONCE(a->sampling, small);
	a->small = small;
	rmem_adapt_window(a);
	a->switches = 0;
}

/*
 * Whether to fingerprint the page with this key (pfn + 1) now. Sampling
 * keeps whole page keys, so a sampled page is fingerprinted both when it
 * is read and when it is written again, and a PATCH can follow. The key
 * is mixed first (consecutive pfns are not all in or all out), by
 * another multiplier than the table's set index (rmem_fpt_set), so that
 * sampled pages spread over every set of the table.
 */
bool rmem_delta_adapt_wants(const struct rmem_delta_adapt *a, u64 key)
{
	if (!READ_ONCE(a->sampling))
		return true;
	return ((key * 0xc2b2ae3d27d4eb4full) >> 60) % RMEM_ADAPT_SAMPLE == 0;
}

/*
 * One fingerprint pass (a read or a write), and whether it made a PATCH.
 * True when the verdict is every page but the table must grow first:
 * the caller grows it and then calls rmem_delta_adapt_grown.
 */
bool rmem_delta_adapt_note(struct rmem_delta_adapt *a, bool read, bool patch)
{
	u32 window = a->sampling ? RMEM_ADAPT_SAMPLE_WINDOW : RMEM_ADAPT_WINDOW;
	bool sample = a->sampling, grow = false;

	a->passes++;
	a->patches += patch;
	a->reads += read;
	if (a->passes < window)
		return false;
	if (a->reads < a->passes / 4 || a->passes - a->reads < a->passes / 16)
		;		/* a fill, or reads alone: no evidence */
	else if (a->patches >= a->passes / RMEM_ADAPT_ON_DIV) {
		/* every page, once the table can hold them */
		if (a->small)
			grow = a->sampling;
		else
			sample = false;
	} else if (a->patches < a->passes / RMEM_ADAPT_OFF_DIV && a->on) {
		sample = true;
	}
	if (sample != a->sampling)
		a->switches++;
	WRITE_ONCE(a->sampling, sample);
	rmem_adapt_window(a);
	return grow;
}

/* The table has grown to hold every page: fingerprint them all, for good. */
void rmem_delta_adapt_grown(struct rmem_delta_adapt *a)
{
	if (a->sampling)
		a->switches++;
	a->small = false;
	WRITE_ONCE(a->sampling, false);
	rmem_adapt_window(a);
}

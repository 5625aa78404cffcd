/* SPDX-License-Identifier: GPL-2.0 OR LGPL-2.1-or-later */
/*
 * Cache-line deltas: send a page as the 64-byte lines that changed since
 * a frame last held it (Documentation/admin-guide/rmem.rst, "Cache-line
 * deltas"; design.md, "Cache-line-granular write-back in software").
 *
 * A bounded table keyed by the physical page (the caller's key: pfn + 1,
 * 0 for "no page") holds, for each page it knows, a frame and an 8-bit
 * fingerprint (RMEM_FP_BITS) of each of the frame's 64 lines as they were when the page
 * was last read from it (swap-in) or written to it in full. The frame's
 * owner in the map (rmem_map_set_owner) is the entry's index, and an
 * entry is valid only while it still is: a frame reused by another slot
 * or another page has another owner, so nothing has to chase stale
 * entries.
 *
 * On a write the caller fingerprints the new page and asks for a plan
 * (rmem_delta_write): if the page has a valid entry whose frame is
 * retained or is the slot's own, and at most max_lines lines differ, the
 * slot gets that frame and the lines go as a PATCH carrying the hash of
 * the whole new page; otherwise the page is written in full. Either way
 * the entry then describes the new contents (unless the page was not
 * fingerprinted, sampling, rmem_delta_adapt: key 0, no PATCH, and its old
 * entry loses its frame when the frame is overwritten). A fingerprint collision can
 * only make a PATCH miss a line; the donor's hash check then answers
 * MISMATCH and the caller writes the page in full.
 *
 * Pure logic (rmem_compat.h), under the same lock as the map.
 */
#ifndef RMEM_DELTA_H
#define RMEM_DELTA_H

#include "rmem_map.h"

/* entries in one set of the table: a page's entry is in the set of its key */
#define RMEM_FPT_WAYS		4u
#define RMEM_FPT_MAX		(1u << 30)
/* a written page's entry counts as this much older than the newest */
#define RMEM_FPT_STALE		(1u << 31)

/*
 * A line's fingerprint as the table keeps it: the top RMEM_FP_BITS bits
 * of rmem_line_fp (finalised so that every input bit reaches them). Eight
 * make an entry 80 bytes, so a table covering every page of RAM costs
 * 1.95% of it; an unchanged fingerprint hides a changed line once in 256,
 * which the donor's page hash turns into a MISMATCH and a full write.
 */
#define RMEM_FP_BITS		8u
typedef u8 rmem_fp_t;

struct rmem_fpt_entry {
	u64 key;				/* pfn + 1; 0: empty */
	u32 frame;
	u32 stamp;				/* table clock at last use */
	rmem_fp_t fp[RMEM_LINES_PER_FRAME];
};

/*
 * A table that grows with what it earns (rmem.rst, "When deltas pay",
 * fp_entries). One that covers every page of RAM costs 2% of it, which a
 * program whose pages never come back as PATCHes (memhog, redis) pays
 * in swap: every MiB the driver holds is a MiB more swapped. So unless
 * its size is fixed (the fp_entries parameter), a device starts with a
 * sixteenth of that table (rmem_fpt_start: at least RMEM_FPT_START_MIN
 * entries) and fingerprints only the pages it samples (one in
 * RMEM_ADAPT_SAMPLE, below), whose entries that table holds as well as
 * the whole one would hold every page's. When their PATCH rate says
 * deltas pay here, the caller allocates the whole table outside its lock
 * and moves the entries into it under the lock (rmem_fpt_move), and
 * every page is fingerprinted from then on.
 */
#define RMEM_FPT_START_MIN	4096u
#define RMEM_FPT_START_DIV	16u

struct rmem_fpt {
	struct rmem_fpt_entry *e;		/* [nsets * RMEM_FPT_WAYS] */
	u32 nsets;
	u32 clock;
	u32 fp_bits;				/* of a fingerprint kept, 1..8 */
	u64 evictions;				/* valid entries replaced */
};

/* What a write of one page does. */
struct rmem_delta_plan {
	u32 frame;		/* the frame the page goes to */
	bool patch;		/* PATCH (mask, the page's hash), else WRITE */
	bool base;		/* a valid base was found (lines is meaningful) */
	bool busy;		/* the base was another live slot's frame */
	u64 mask;		/* lines that differ from the base */
	u32 lines;		/* hweight64(mask) */
};

/*
 * Whether fingerprinting pays (rmem.rst, "When deltas pay"). Every page
 * read from the donor and every page written is fingerprinted (about
 * 5,000 instructions) so that a later write of it can go as a PATCH; on
 * a workload whose pages rarely come back with few changed lines that
 * is all cost. So the device counts, per window of fingerprint passes
 * (reads and writes fingerprinted), how many writes went as a PATCH.
 * While it samples, only pages whose key falls in one of every
 * RMEM_ADAPT_SAMPLE buckets are fingerprinted, and their PATCH rate is
 * measured over short windows (RMEM_ADAPT_SAMPLE_WINDOW: a rate that
 * pays is seen within about a thousand pages); at RMEM_ADAPT_ON_DIV
 * (one per 16) or more it fingerprints every page. A device starts
 * sampling when its table starts small (rmem_fpt_start): that verdict
 * then asks the caller to grow the table first (rmem_delta_adapt_note
 * returns true until rmem_delta_adapt_grown), and it is for good. With
 * delta_adapt on (a->on) the policy also goes the other way: below
 * RMEM_ADAPT_OFF_DIV (one PATCH per 32 passes) over a window of every
 * page (RMEM_ADAPT_WINDOW) it samples again; the gap between the two
 * thresholds is the hysteresis that keeps a rate near one of them from
 * flapping. A window with few reads (under a quarter of its passes) or
 * few writes (under a sixteenth) keeps the mode: pages written for the
 * first time (a fill) cannot go as PATCHes yet, and pages read back
 * without being written (a program reading what it wrote) make none,
 * and neither says whether the next writes of read pages will.
 * Sampling costs a sixteenth of the fingerprinting and keeps the deltas
 * of sampled pages.
 */
#define RMEM_ADAPT_WINDOW	4096u	/* passes per verdict, all pages */
#define RMEM_ADAPT_SAMPLE_WINDOW 64u	/* passes per verdict, sampling */
#define RMEM_ADAPT_SAMPLE	16u	/* 1 page key in this many, sampling */
#define RMEM_ADAPT_ON_DIV	16u	/* patches >= passes / this: all */
#define RMEM_ADAPT_OFF_DIV	32u	/* patches < passes / this: sample */

struct rmem_delta_adapt {
	bool on;		/* delta_adapt: back to sampling too */
	bool sampling;		/* fingerprint sampled pages only */
	bool small;		/* the table is a growing one's start */
	u32 passes;		/* fingerprint passes in this window */
	u32 patches;		/* PATCHes planned in this window */
	u32 reads;		/* of the passes, reads */
	u64 switches;		/* verdicts that changed the mode */
};

void rmem_delta_adapt_init(struct rmem_delta_adapt *a, bool on, bool small);
bool rmem_delta_adapt_wants(const struct rmem_delta_adapt *a, u64 key);
bool rmem_delta_adapt_note(struct rmem_delta_adapt *a, bool read, bool patch);
void rmem_delta_adapt_grown(struct rmem_delta_adapt *a);

u32 rmem_line_fp(const void *line);
void rmem_page_fps(const void *page, rmem_fp_t *fp, u32 fp_bits);

u64 rmem_fps_diff(const rmem_fp_t *old_fp, const rmem_fp_t *new_fp);

/* entries a table of at most want entries has: whole sets, or 0 */
u32 rmem_fpt_size(u32 want);
void rmem_fpt_init(struct rmem_fpt *t, struct rmem_fpt_entry *mem,
		   u32 nentries, u32 fp_bits);
u32 rmem_fpt_find(const struct rmem_fpt *t, u64 key);
u32 rmem_fpt_start(u32 most);
void rmem_fpt_move(struct rmem_map *m, struct rmem_fpt *t, struct rmem_fpt *to);

int rmem_delta_write(struct rmem_map *m, struct rmem_fpt *t, u32 slot,
		     u64 key, const rmem_fp_t *fp, u32 max_lines,
		     struct rmem_delta_plan *plan);
void rmem_delta_read(struct rmem_map *m, struct rmem_fpt *t, u32 slot,
		     u32 frame, u64 key, const rmem_fp_t *fp);
void rmem_delta_forget(struct rmem_map *m, u32 frame);

#endif /* RMEM_DELTA_H */

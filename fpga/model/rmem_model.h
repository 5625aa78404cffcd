/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C model of the rmem FPGA: the reference the test benches hold the
 * RTL to, decision for decision and entry for entry. Parameters, log
 * entries, hashes and counters are those of include/uapi/linux/rmem_fpga.h.
 */
#ifndef RMEM_MODEL_H
#define RMEM_MODEL_H

#include <stdint.h>
#include <linux/rmem_fpga.h>

/* The tracker's parameters: the RTL's, of the same names. */
struct rmem_trk_params {
	unsigned int line_order, line_hashes;
	unsigned int page_order, page_hashes;
	unsigned int count_bits, k;
	uint64_t line_seed, page_seed;
};

/* The RTL's defaults (fpga/rtl/rmem_tracker.v). */
#define RMEM_TRK_DEFAULTS { .line_order = 14, .line_hashes = 4, \
	.page_order = 12, .page_hashes = 2, .count_bits = 6, .k = 16, \
	.line_seed = RMEM_FPGA_LINE_SEED, .page_seed = RMEM_FPGA_PAGE_SEED }

/* Counters, in the order of the RMEM_FPGA_REG_CNT_* registers. */
enum {
	RMEM_TRK_LINES, RMEM_TRK_LOGGED, RMEM_TRK_DENSE, RMEM_TRK_REPEAT,
	RMEM_TRK_INDENSE, RMEM_TRK_SATURATED, RMEM_TRK_FILTER_SET,
	RMEM_TRK_NCOUNTERS
};

/* What the tracker did with one write-back. */
enum rmem_trk_verdict {
	RMEM_TRK_V_LOGGED,	/* a LINE entry */
	RMEM_TRK_V_DENSE,	/* the page's PAGE entry */
	RMEM_TRK_V_REPEAT,	/* the line filter held it */
	RMEM_TRK_V_INDENSE,	/* its page was marked dense */
};

struct rmem_trk {
	struct rmem_trk_params p;
	uint8_t *lbits;		/* line_hashes banks of 2^line_order bits */
	uint8_t *pent;		/* page_hashes banks: mark << count_bits | count */
	__u64 *lrows, *prows;		/* the H3 rows, [hash][bit] */
	uint64_t epoch;
	uint64_t cnt[RMEM_TRK_NCOUNTERS];
};

/* 0, or -EINVAL for parameters the RTL does not take. */
int rmem_trk_init(struct rmem_trk *t, const struct rmem_trk_params *p);
void rmem_trk_free(struct rmem_trk *t);
/* The K register: clamped as the RTL clamps it. */
void rmem_trk_set_k(struct rmem_trk *t, uint64_t k);
/* One write-back of line address line; *entry is set when one is logged. */
enum rmem_trk_verdict rmem_trk_line(struct rmem_trk *t, uint64_t line,
				    uint64_t *entry);
/* RMEM_FPGA_CMD_EPOCH: both filters cleared, the epoch counted. */
void rmem_trk_epoch(struct rmem_trk *t);

/* ---- the fetch link ---------------------------------------------------- */

/* A frame's fields, decoded. */
struct rmem_fetch_frame {
	unsigned int type, seq, tag, line;
	uint64_t page;		/* REQ: the remote page number */
	uint64_t data[8];	/* DATA: the line */
};

/* The longest frame: header, 8 payload words, trailer. */
#define RMEM_FETCH_MAX_WORDS 10

/* Words of a frame, trailer included: what the RTL sends for f. */
unsigned int rmem_fetch_frame_build(const struct rmem_fetch_frame *f, uint64_t *w);
/* Decode and check n words as the RTL's receiver does: 0, or -EBADMSG
 * (bad CRC, length or reserved bits) with *why set. */
int rmem_fetch_frame_check(const uint64_t *w, unsigned int n,
			   struct rmem_fetch_frame *f, const char **why);

#endif

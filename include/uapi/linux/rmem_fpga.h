/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * rmem FPGA: the one definition of what the dirty-line tracker and the
 * remote-fetch engine (fpga/rtl/) share with the host: the register map,
 * the dirty-line log entry, the tracker's hash functions, the fetch link's
 * frames and its CRC. The C model (fpga/model/), the test benches
 * (fpga/tb/) and librmem include this file; the RTL includes
 * build/fpga/rmem_fpga_defs.vh, which scripts/fpga-defs.sh generates from
 * the #defines below. Documentation/fpga.rst explains every register.
 *
 * Registers are 64 bits wide, at 8-byte offsets in one 4 KiB MMIO window.
 */
#ifndef _UAPI_LINUX_RMEM_FPGA_H
#define _UAPI_LINUX_RMEM_FPGA_H

#include <linux/types.h>

/* ---- register map ----------------------------------------------------- */

/* "RMEMFPGA" read as bytes, and the version of this map */
#define RMEM_FPGA_ID_MAGIC		0x414750464d454d52ull
#define RMEM_FPGA_MAP_VERSION		1

#define RMEM_FPGA_REG_ID		0x000	/* RO: RMEM_FPGA_ID_MAGIC */
#define RMEM_FPGA_REG_CTRL		0x008	/* RW: RMEM_FPGA_CTRL_* */
#define RMEM_FPGA_REG_CMD		0x010	/* WO: RMEM_FPGA_CMD_* */
#define RMEM_FPGA_REG_STATUS		0x018	/* RO: RMEM_FPGA_STATUS_* */
#define RMEM_FPGA_REG_TRK_CONFIG	0x020	/* RO: the tracker's parameters */
#define RMEM_FPGA_REG_TRK_K		0x028	/* RW: dense-page threshold */
#define RMEM_FPGA_REG_EPOCH		0x030	/* RO: tracking epoch */
#define RMEM_FPGA_REG_VERSION		0x038	/* RO: RMEM_FPGA_MAP_VERSION */
#define RMEM_FPGA_REG_RING_BASE		0x040	/* RW: log ring address, 8-aligned */
#define RMEM_FPGA_REG_RING_ORDER	0x048	/* RW: log2 of ring entries */
#define RMEM_FPGA_REG_RING_HEAD		0x050	/* RO: entries written, ever */
#define RMEM_FPGA_REG_RING_TAIL		0x058	/* RW: entries consumed, ever */

/* tracker counters, RO, 64 bits, cleared only by reset */
#define RMEM_FPGA_REG_CNT_LINES		0x080	/* write-backs accepted */
#define RMEM_FPGA_REG_CNT_LOGGED	0x088	/* LINE entries made */
#define RMEM_FPGA_REG_CNT_DENSE		0x090	/* PAGE entries made */
#define RMEM_FPGA_REG_CNT_REPEAT	0x098	/* lines the line filter held */
#define RMEM_FPGA_REG_CNT_INDENSE	0x0a0	/* new lines of dense pages */
#define RMEM_FPGA_REG_CNT_SATURATED	0x0a8	/* page counters at their maximum */
#define RMEM_FPGA_REG_CNT_FILTER_SET	0x0b0	/* line filter bits set, this epoch */
#define RMEM_FPGA_REG_CNT_STALLS	0x0b8	/* cycles a write-back waited */

/* fetch engine */
#define RMEM_FPGA_REG_FETCH_CONFIG	0x100	/* RO: the engine's parameters */
#define RMEM_FPGA_REG_FETCH_REMOTE	0x108	/* WO: remote page number: submits */
#define RMEM_FPGA_REG_FETCH_LOCAL	0x110	/* RW: local page number of the next */
#define RMEM_FPGA_REG_FETCH_LINE	0x118	/* RW: tag << 8 | wanted line */
#define RMEM_FPGA_REG_FETCH_DONE	0x120	/* RO, pops: DONE_VALID | tag, or 0 */
#define RMEM_FPGA_REG_FETCH_PENDING	0x128	/* RO: fetches in flight */
#define RMEM_FPGA_REG_CNT_FETCHES	0x140	/* fetches completed */
#define RMEM_FPGA_REG_CNT_SERVED	0x148	/* pages served to the peer */
#define RMEM_FPGA_REG_CNT_CRC_ERRORS	0x150	/* frames dropped for a bad CRC */
#define RMEM_FPGA_REG_CNT_RETRANSMITS	0x158	/* frames sent again */
#define RMEM_FPGA_REG_CNT_REJECTED	0x160	/* submissions refused: tag busy */
#define RMEM_FPGA_REG_CNT_DROPPED	0x168	/* good frames dropped: no room */

#define RMEM_FPGA_CTRL_TRACK		0x1	/* accept write-backs */
#define RMEM_FPGA_CTRL_FETCH		0x2	/* accept fetches and peer frames */

#define RMEM_FPGA_CMD_EPOCH		0x1	/* clear both filters: new epoch */

#define RMEM_FPGA_STATUS_CLEARING	0x1	/* an epoch clear is sweeping */
#define RMEM_FPGA_STATUS_RING_FULL	0x2	/* the log waits for RING_TAIL */

/*
 * TRK_CONFIG fields: log2 of each line-filter bank's bits, the number of
 * line hashes (one bank each), log2 of each page-filter bank's counters,
 * the number of page hashes, and the bits of each counter.
 */
#define RMEM_FPGA_TRK_LINE_ORDER(c)	((unsigned int)((c) & 0xff))
#define RMEM_FPGA_TRK_LINE_HASHES(c)	((unsigned int)((c) >> 8 & 0xff))
#define RMEM_FPGA_TRK_PAGE_ORDER(c)	((unsigned int)((c) >> 16 & 0xff))
#define RMEM_FPGA_TRK_PAGE_HASHES(c)	((unsigned int)((c) >> 24 & 0xff))
#define RMEM_FPGA_TRK_COUNT_BITS(c)	((unsigned int)((c) >> 32 & 0xff))

/* FETCH_CONFIG fields: log2 of the tags (fetches in flight), log2 of the
 * link's window of unacknowledged frames, log2 of the served-request queue */
#define RMEM_FPGA_FETCH_TAG_BITS(c)	((unsigned int)((c) & 0xff))
#define RMEM_FPGA_FETCH_WIN_ORDER(c)	((unsigned int)((c) >> 8 & 0xff))
#define RMEM_FPGA_FETCH_REQ_ORDER(c)	((unsigned int)((c) >> 16 & 0xff))
#define RMEM_FPGA_DONE_VALID		0x8000000000000000ull

/* ---- the fetch link ----------------------------------------------------- */

/*
 * A frame is a run of 64-bit little-endian words, the last one flagged:
 * a header, a payload, and a trailer holding in [31:0] the CRC-32C
 * (Castagnoli, reflected, ~0 in and out) of the header's and payload's
 * bytes. REQ and DATA frames are numbered (go-back-N: the receiver takes
 * only the next number, and answers ACK or, after a bad CRC or a gap,
 * NAK with the number it expects; the sender goes back to it, or to the
 * oldest unacknowledged frame after a timeout). ACK and NAK are not.
 *
 * Header: [7:0] type, [23:8] sequence number (ACK, NAK: the number
 * expected next), [31:24] tag, [37:32] line, the rest zero.
 * REQ payload: 1 word, the remote page number (byte address >> 12); line
 * is the wanted line. DATA payload: 8 words, the line's 64 bytes.
 */
#define RMEM_FPGA_FRAME_REQ		1
#define RMEM_FPGA_FRAME_DATA		2
#define RMEM_FPGA_FRAME_ACK		3
#define RMEM_FPGA_FRAME_NAK		4
#define RMEM_FPGA_CRC32C_POLY		0x82f63b78	/* reflected */

static inline __u64 rmem_fpga_frame_hdr(unsigned int type, unsigned int seq,
					unsigned int tag, unsigned int line)
{
	return (__u64)(type & 0xff) | (__u64)(seq & 0xffff) << 8 |
	       (__u64)(tag & 0xff) << 24 | (__u64)(line & 63) << 32;
}

/* CRC-32C of one 64-bit word, low byte first, onto a running value. */
static inline __u32 rmem_fpga_crc32c_word(__u32 crc, __u64 w)
{
	int i;

	for (i = 0; i < 64; i++, w >>= 1)
		crc = (crc >> 1) ^ (((crc ^ (__u32)w) & 1) ? RMEM_FPGA_CRC32C_POLY : 0);
	return crc;
}

/* The n-th line a served page sends: the wanted one first, then on. */
static inline unsigned int rmem_fpga_fetch_line(unsigned int wanted, unsigned int n)
{
	return (wanted + n) & 63;
}

/* ---- the dirty-line log ----------------------------------------------- */

/*
 * One 64-bit little-endian word per entry in the host ring:
 *   [63:62] kind, [61:48] epoch (low bits), [41:0] line address (physical
 *   byte address >> 6). A PAGE entry names the page's first line. A zero
 *   word is never an entry.
 */
#define RMEM_FPGA_LOG_LINE		1	/* this line is dirty */
#define RMEM_FPGA_LOG_PAGE		2	/* every line of this page is */
#define RMEM_FPGA_LOG_KIND_SHIFT	62
#define RMEM_FPGA_LOG_EPOCH_SHIFT	48
#define RMEM_FPGA_LOG_EPOCH_BITS	14
#define RMEM_FPGA_LOG_ADDR_BITS		42
#define RMEM_FPGA_LINE_SHIFT		6	/* = RMEM_LINE_SHIFT */
#define RMEM_FPGA_PAGE_LINES_SHIFT	6	/* lines per page: 64 */

static inline __u64 rmem_fpga_log_entry(unsigned int kind, __u64 epoch, __u64 line)
{
	return (__u64)kind << RMEM_FPGA_LOG_KIND_SHIFT |
	       (epoch & ((1ull << RMEM_FPGA_LOG_EPOCH_BITS) - 1)) << RMEM_FPGA_LOG_EPOCH_SHIFT |
	       (line & ((1ull << RMEM_FPGA_LOG_ADDR_BITS) - 1));
}

static inline unsigned int rmem_fpga_log_kind(__u64 e)
{
	return e >> RMEM_FPGA_LOG_KIND_SHIFT;
}

static inline __u64 rmem_fpga_log_line(__u64 e)
{
	return e & ((1ull << RMEM_FPGA_LOG_ADDR_BITS) - 1);
}

static inline unsigned int rmem_fpga_log_epoch(__u64 e)
{
	return e >> RMEM_FPGA_LOG_EPOCH_SHIFT & ((1u << RMEM_FPGA_LOG_EPOCH_BITS) - 1);
}

/* ---- the tracker's hash functions -------------------------------------- */

/*
 * H3 hashes: bit j of hash i of a key is the parity of the key ANDed with
 * row (i, j) of a matrix made from a seed by xorshift64. Cheap in logic
 * (an XOR tree per bit), independent across i, and the RTL computes the
 * same rows as constants (fpga/rtl/rmem_h3.vh). Line filters hash the
 * line address, page filters the page address (line address >> 6).
 */
static inline __u64 rmem_fpga_xorshift64(__u64 x)
{
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return x;
}

static inline __u64 rmem_fpga_h3_row(__u64 seed, unsigned int i, unsigned int j)
{
	__u64 x = seed ^ ((__u64)(i * 64 + j + 1) * 0x9e3779b97f4a7c15ull);
	int r;

	for (r = 0; r < 4; r++)
		x = rmem_fpga_xorshift64(x);
	return x;
}

/*
 * Hash i of key, bits wide, given rows[j] = rmem_fpga_h3_row(seed, i, j)
 * for j < bits: the rows are constants, made once (the RTL wires them).
 */
static inline unsigned int rmem_fpga_h3(const __u64 *rows, unsigned int bits,
					__u64 key)
{
	unsigned int j, h = 0;

	for (j = 0; j < bits; j++)
		h |= (unsigned int)__builtin_parityll(key & rows[j]) << j;
	return h;
}

/* The seeds the RTL's parameters default to. */
#define RMEM_FPGA_LINE_SEED		0x6c696e65ull	/* "line" */
#define RMEM_FPGA_PAGE_SEED		0x70616765ull	/* "page" */

#endif /* _UAPI_LINUX_RMEM_FPGA_H */

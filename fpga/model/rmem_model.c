// SPDX-License-Identifier: GPL-2.0
/* The tracker's C model: fpga/rtl/rmem_tracker.v, one write-back at a time. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "rmem_model.h"

int rmem_trk_init(struct rmem_trk *t, const struct rmem_trk_params *p)
{
	unsigned int i, j;

	memset(t, 0, sizeof(*t));
	if (!p->line_order || p->line_order > 24 || !p->line_hashes ||
	    p->line_hashes > 15 || !p->page_order || p->page_order > 24 ||
	    !p->page_hashes || p->page_hashes > 8 || p->count_bits < 2 ||
	    p->count_bits > 7)
		return -EINVAL;
	t->p = *p;
	t->lbits = calloc((size_t)p->line_hashes << p->line_order, 1);
	t->pent = calloc((size_t)p->page_hashes << p->page_order, 1);
	t->lrows = calloc((size_t)p->line_hashes * p->line_order, sizeof(*t->lrows));
	t->prows = calloc((size_t)p->page_hashes * p->page_order, sizeof(*t->prows));
	if (!t->lbits || !t->pent || !t->lrows || !t->prows) {
		rmem_trk_free(t);
		return -ENOMEM;
	}
	for (i = 0; i < p->line_hashes; i++)
		for (j = 0; j < p->line_order; j++)
			t->lrows[i * p->line_order + j] = rmem_fpga_h3_row(p->line_seed, i, j);
	for (i = 0; i < p->page_hashes; i++)
		for (j = 0; j < p->page_order; j++)
			t->prows[i * p->page_order + j] = rmem_fpga_h3_row(p->page_seed, i, j);
	rmem_trk_set_k(t, p->k);
	return 0;
}

void rmem_trk_free(struct rmem_trk *t)
{
	free(t->lbits);
	free(t->pent);
	free(t->lrows);
	free(t->prows);
	memset(t, 0, sizeof(*t));
}

void rmem_trk_set_k(struct rmem_trk *t, uint64_t k)
{
	uint64_t cmax = (1u << t->p.count_bits) - 1;

	t->p.k = k >= cmax ? cmax - 1 : k;
}

enum rmem_trk_verdict rmem_trk_line(struct rmem_trk *t, uint64_t line,
				    uint64_t *entry)
{
	const struct rmem_trk_params *p = &t->p;
	unsigned int cmax = (1u << p->count_bits) - 1, mark = 1u << p->count_bits;
	uint8_t *lb[16], *pe[8];
	unsigned int i, est = cmax, newbits = 0;
	bool seen = true, sat = false, all_marked = true;
	uint64_t page;

	line &= (1ull << RMEM_FPGA_LOG_ADDR_BITS) - 1;
	page = line >> RMEM_FPGA_PAGE_LINES_SHIFT;
	t->cnt[RMEM_TRK_LINES]++;
	for (i = 0; i < p->line_hashes; i++) {
		lb[i] = &t->lbits[((size_t)i << p->line_order) +
				  rmem_fpga_h3(&t->lrows[i * p->line_order], p->line_order, line)];
		if (!*lb[i]) {
			seen = false;
			newbits++;
		}
	}
	if (seen) {
		t->cnt[RMEM_TRK_REPEAT]++;
		return RMEM_TRK_V_REPEAT;
	}
	for (i = 0; i < p->line_hashes; i++)
		*lb[i] = 1;
	t->cnt[RMEM_TRK_FILTER_SET] += newbits;
	for (i = 0; i < p->page_hashes; i++) {
		unsigned int c;

		pe[i] = &t->pent[((size_t)i << p->page_order) +
				 rmem_fpga_h3(&t->prows[i * p->page_order], p->page_order, page)];
		c = *pe[i] & cmax;
		if (c == cmax)
			sat = true;
		else
			*pe[i] = (*pe[i] & mark) | (c + 1);
		if ((*pe[i] & cmax) < est)
			est = *pe[i] & cmax;
		all_marked = all_marked && (*pe[i] & mark);
	}
	if (sat)
		t->cnt[RMEM_TRK_SATURATED]++;
	if (est <= p->k) {
		t->cnt[RMEM_TRK_LOGGED]++;
		*entry = rmem_fpga_log_entry(RMEM_FPGA_LOG_LINE, t->epoch, line);
		return RMEM_TRK_V_LOGGED;
	}
	if (all_marked) {
		t->cnt[RMEM_TRK_INDENSE]++;
		return RMEM_TRK_V_INDENSE;
	}
	for (i = 0; i < p->page_hashes; i++)
		*pe[i] |= mark;
	t->cnt[RMEM_TRK_DENSE]++;
	*entry = rmem_fpga_log_entry(RMEM_FPGA_LOG_PAGE, t->epoch,
				     page << RMEM_FPGA_PAGE_LINES_SHIFT);
	return RMEM_TRK_V_DENSE;
}

void rmem_trk_epoch(struct rmem_trk *t)
{
	memset(t->lbits, 0, (size_t)t->p.line_hashes << t->p.line_order);
	memset(t->pent, 0, (size_t)t->p.page_hashes << t->p.page_order);
	t->epoch++;
	t->cnt[RMEM_TRK_FILTER_SET] = 0;
}

/* ---- the fetch link: fpga/rtl/rmem_fetch.v's frames ------------------- */

static unsigned int fetch_payload_words(unsigned int type)
{
	switch (type) {
	case RMEM_FPGA_FRAME_REQ:
		return 1;
	case RMEM_FPGA_FRAME_DATA:
		return 8;
	case RMEM_FPGA_FRAME_ACK:
	case RMEM_FPGA_FRAME_NAK:
		return 0;
	default:
		return ~0u;
	}
}

unsigned int rmem_fetch_frame_build(const struct rmem_fetch_frame *f, uint64_t *w)
{
	unsigned int i, n = fetch_payload_words(f->type);
	uint32_t crc = ~0u;

	w[0] = rmem_fpga_frame_hdr(f->type, f->seq, f->tag, f->line);
	if (f->type == RMEM_FPGA_FRAME_REQ)
		w[1] = f->page;
	else
		for (i = 0; i < n; i++)
			w[1 + i] = f->data[i];
	for (i = 0; i <= n; i++)
		crc = rmem_fpga_crc32c_word(crc, w[i]);
	w[n + 1] = (uint32_t)~crc;
	return n + 2;
}

int rmem_fetch_frame_check(const uint64_t *w, unsigned int n,
			   struct rmem_fetch_frame *f, const char **why)
{
	unsigned int i, want;
	uint32_t crc = ~0u;

	memset(f, 0, sizeof(*f));
	*why = "too short";
	if (n < 2 || n > RMEM_FETCH_MAX_WORDS)
		return -EBADMSG;
	for (i = 0; i + 1 < n; i++)
		crc = rmem_fpga_crc32c_word(crc, w[i]);
	*why = "bad CRC";
	if (w[n - 1] != (uint32_t)~crc)
		return -EBADMSG;
	f->type = w[0] & 0xff;
	f->seq = w[0] >> 8 & 0xffff;
	f->tag = w[0] >> 24 & 0xff;
	f->line = w[0] >> 32 & 63;
	want = fetch_payload_words(f->type);
	*why = "bad length or type";
	if (want == ~0u || n != want + 2 || w[0] >> 38)
		return -EBADMSG;
	if (f->type == RMEM_FPGA_FRAME_REQ)
		f->page = w[1];
	else
		for (i = 0; i < want; i++)
			f->data[i] = w[1 + i];
	*why = NULL;
	return 0;
}

// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The FPGA tracker's log, read by the host: the ring's entries of one
 * epoch merged into one line mask per page, ready for PATCH
 * (include/uapi/linux/rmem_fpga.h defines the entries).
 */
#include <errno.h>
#include <stdlib.h>

#include <linux/rmem_fpga.h>
#include "librmem.h"

static int page_cmp(const void *a, const void *b)
{
	const struct rmem_fpga_dirty *x = a, *y = b;

	return x->page < y->page ? -1 : x->page > y->page;
}

long rmem_fpga_log_masks(const uint64_t *log, size_t n, unsigned int epoch,
			 struct rmem_fpga_dirty *out, size_t *skipped)
{
	size_t i, k = 0, m = 0;

	if (skipped)
		*skipped = 0;
	for (i = 0; i < n; i++) {
		uint64_t line = rmem_fpga_log_line(log[i]);

		switch (rmem_fpga_log_kind(log[i])) {
		case RMEM_FPGA_LOG_LINE:
		case RMEM_FPGA_LOG_PAGE:
			break;
		default:
			return -EBADMSG;	/* not an entry: a torn read of the ring? */
		}
		if (rmem_fpga_log_epoch(log[i]) !=
		    (epoch & ((1u << RMEM_FPGA_LOG_EPOCH_BITS) - 1))) {
			if (skipped)
				(*skipped)++;
			continue;
		}
		out[k].page = line >> RMEM_FPGA_PAGE_LINES_SHIFT;
		out[k].mask = rmem_fpga_log_kind(log[i]) == RMEM_FPGA_LOG_PAGE ? ~0ull :
			      1ull << (line & 63);
		k++;
	}
	qsort(out, k, sizeof(*out), page_cmp);
	for (i = 0; i < k; i++) {
		if (m && out[m - 1].page == out[i].page)
			out[m - 1].mask |= out[i].mask;
		else
			out[m++] = out[i];
	}
	return (long)m;
}

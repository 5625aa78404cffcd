// SPDX-License-Identifier: GPL-2.0
/*
 * rmem-fpga-model: the C model of the tracker on a stream of write-backs,
 * for comparison with a simulator's log (tests/fpga/icarus.sh) and for
 * quick what-ifs on traces.
 *
 *   rmem-fpga-model [--hex] [--line-order N] [--line-hashes N]
 *                   [--page-order N] [--page-hashes N] [--count-bits N]
 *                   [--k K] <STREAM >ENTRIES
 *
 * STREAM: line addresses, little-endian 64-bit words (or hex text, one a
 * line, with --hex); all-ones starts a new epoch. ENTRIES: the log, one
 * hex word a line. The counters go to stderr as name=value.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rmem_common.h"
#include "rmem_model.h"

static unsigned long num(const char *s, const char *what)
{
	uint64_t v;

	if (rmem_parse_u64(s, &v) || v > ~0u) {
		fprintf(stderr, "rmem-fpga-model: %s: not a number: '%s'\n", what, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "hex", no_argument, NULL, 'x' },
		{ "line-order", required_argument, NULL, 'l' },
		{ "line-hashes", required_argument, NULL, 'L' },
		{ "page-order", required_argument, NULL, 'p' },
		{ "page-hashes", required_argument, NULL, 'P' },
		{ "count-bits", required_argument, NULL, 'c' },
		{ "k", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *names[RMEM_TRK_NCOUNTERS] = {
		"lines", "logged", "dense", "repeat", "indense", "saturated", "filter_set",
	};
	struct rmem_trk_params p = RMEM_TRK_DEFAULTS;
	struct rmem_trk t;
	bool hex = false;
	uint64_t x, e;
	int opt, i;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'x': hex = true; break;
		case 'l': p.line_order = num(optarg, "--line-order"); break;
		case 'L': p.line_hashes = num(optarg, "--line-hashes"); break;
		case 'p': p.page_order = num(optarg, "--page-order"); break;
		case 'P': p.page_hashes = num(optarg, "--page-hashes"); break;
		case 'c': p.count_bits = num(optarg, "--count-bits"); break;
		case 'k': p.k = num(optarg, "--k"); break;
		default:
			fprintf(stderr, "usage: rmem-fpga-model [--hex] [--line-order N] [--line-hashes N]\n"
					"       [--page-order N] [--page-hashes N] [--count-bits N] [--k K]\n");
			return 2;
		}
	}
	if (rmem_trk_init(&t, &p)) {
		fprintf(stderr, "rmem-fpga-model: the RTL takes no such parameters\n");
		return 2;
	}
	for (;;) {
		if (hex) {
			if (scanf("%" SCNx64, &x) != 1)
				break;
		} else if (fread(&x, sizeof(x), 1, stdin) != 1) {
			break;
		}
		if (x == ~0ull)
			rmem_trk_epoch(&t);
		else if (rmem_trk_line(&t, x, &e) <= RMEM_TRK_V_DENSE)
			printf("%016" PRIx64 "\n", e);
	}
	if (!feof(stdin)) {
		fprintf(stderr, "rmem-fpga-model: bad input after %" PRIu64 " write-backs\n",
			t.cnt[RMEM_TRK_LINES]);
		return 1;
	}
	for (i = 0; i < RMEM_TRK_NCOUNTERS; i++)
		fprintf(stderr, "%s=%" PRIu64 "%s", names[i], t.cnt[i],
			i + 1 < RMEM_TRK_NCOUNTERS ? " " : "\n");
	rmem_trk_free(&t);
	return fflush(stdout) ? 1 : 0;
}

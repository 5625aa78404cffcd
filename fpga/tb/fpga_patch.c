// SPDX-License-Identifier: GPL-2.0
/*
 * rmem-fpga-patch: the tracker's log drives the same PATCH path as the
 * driver's software tracker, against a real donor, every byte checked
 * (tests/fpga/patch.sh).
 *
 * Writes PAGES random pages to a donor region, then for each of EPOCHS
 * epochs dirties lines of some pages here (a few lines of most, most
 * lines of some, some lines twice) and records the write-backs a cache
 * would make. The RTL tracker (TB: tb_tracker --trace) logs the whole
 * stream; then, epoch by epoch, rmem_fpga_log_masks() turns the log into
 * masks and each dirty page goes to the donor as a PATCH of its mask, or
 * whole when marked dense, when the PATCH's hash fails (a line a false
 * positive hid), or when the log has no entry for it. After each epoch
 * every frame is read back and compared with what it must hold.
 *
 *   rmem-fpga-patch --donor HOST:PORT --key FILE --tb TB --dir DIR
 *                   [--pages N] [--epochs N] [--seed N]
 *
 * Prints the counts; exits 0 only if every byte matched.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/rmem_fpga.h>
#include "librmem.h"
#include "rmem_common.h"

#define PAGE_BASE 0x1a2b00ull	/* physical page number of frame 0 */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t x = (rng_state += 0x9e3779b97f4a7c15ull);

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void die(const char *what, struct rmem_client *c)
{
	fprintf(stderr, "rmem-fpga-patch: %s: %s\n", what, c ? rmem_errmsg(c) : strerror(errno));
	exit(1);
}

static uint64_t *read_words(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint64_t *w = NULL;
	size_t cap = 0;

	*n = 0;
	if (!f)
		die(path, NULL);
	for (;;) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 4096;
			w = realloc(w, cap * sizeof(*w));
			if (!w)
				die("memory", NULL);
		}
		if (fread(&w[*n], sizeof(*w), 1, f) != 1)
			break;
		(*n)++;
	}
	fclose(f);
	return w;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "donor", required_argument, NULL, 'd' },
		{ "key", required_argument, NULL, 'k' },
		{ "tb", required_argument, NULL, 't' },
		{ "dir", required_argument, NULL, 'D' },
		{ "pages", required_argument, NULL, 'p' },
		{ "epochs", required_argument, NULL, 'e' },
		{ "seed", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	const char *donor = NULL, *key = NULL, *tb = NULL, *dir = NULL;
	unsigned int pages = 512, epochs = 4, p, e;
	struct rmem_client_opts o = { .name = "rmem-fpga-patch" };
	struct rmem_client *c;
	struct rmem_region region;
	char host[256], err[128], path[512], cmd[2048];
	uint8_t *want, *page;
	uint64_t *dirty;	/* per epoch, per page: which lines were written */
	uint64_t n_patch = 0, n_mismatch = 0, n_dense = 0, n_unlogged = 0, n_lines = 0;
	uint64_t bytes = 0, bytes_page = 0, n_wb = 0;
	size_t nlog, skipped;
	uint64_t *log;
	struct rmem_fpga_dirty *masks;
	FILE *stream;
	uint64_t v;
	int opt;

	rng_state = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'd': donor = optarg; break;
		case 'k': key = optarg; break;
		case 't': tb = optarg; break;
		case 'D': dir = optarg; break;
		case 'p':
		case 'e':
		case 's':
			if (rmem_parse_u64(optarg, &v) || (opt != 's' && v > 1000000)) {
				fprintf(stderr, "rmem-fpga-patch: not a number for -%s: '%s'\n",
					opt == 'p' ? "-pages" : opt == 'e' ? "-epochs" : "-seed", optarg);
				return 2;
			}
			if (opt == 'p')
				pages = v;
			else if (opt == 'e')
				epochs = v;
			else
				rng_state = v;
			break;
		default: goto usage;
		}
	}
	if (!donor || !key || !tb || !dir || !pages || !epochs || epochs > 1000) {
usage:
		fprintf(stderr, "usage: rmem-fpga-patch --donor HOST:PORT --key FILE --tb TB --dir DIR\n"
				"                       [--pages N] [--epochs N] [--seed N]\n");
		return 2;
	}
	if (rmem_parse_hostport(donor, RMEM_DEFAULT_PORT, host, sizeof(host), &o.port,
				err, sizeof(err))) {
		fprintf(stderr, "rmem-fpga-patch: %s\n", err);
		return 2;
	}
	o.host = host;
	o.key_file = key;
	c = rmem_client_new();
	if (!c || rmem_connect(c, &o))
		die("connect", c);
	if (rmem_open_region(c, pages, &region))
		die("open region", c);

	/* the bases: random pages, written whole */
	want = malloc((size_t)pages * RMEM_FRAME_SIZE);
	page = malloc(RMEM_FRAME_SIZE);
	dirty = calloc((size_t)epochs * pages, sizeof(*dirty));
	if (!want || !page || !dirty)
		die("memory", NULL);
	for (size_t i = 0; i < (size_t)pages * RMEM_FRAME_SIZE / 8; i++)
		((uint64_t *)want)[i] = rnd();
	if (rmem_write(c, 0, pages > RMEM_MAX_IO_FRAMES ? RMEM_MAX_IO_FRAMES : pages, want))
		die("write", c);
	for (p = RMEM_MAX_IO_FRAMES; p < pages; p++)
		if (rmem_write(c, p, 1, want + (size_t)p * RMEM_FRAME_SIZE))
			die("write", c);

	/* the stream: which lines each epoch dirties, and the write-backs */
	snprintf(path, sizeof(path), "%s/stream", dir);
	stream = fopen(path, "wb");
	if (!stream)
		die(path, NULL);
	for (e = 0; e < epochs; e++) {
		uint64_t mark = ~0ull;

		if (e && fwrite(&mark, 8, 1, stream) != 1)
			die("stream", NULL);
		for (unsigned int k = 0; k < pages * 2; k++) {
			unsigned int pg = rnd() % pages, shape = rnd() % 16;
			unsigned int nl = shape < 12 ? 1 + rnd() % 6 : shape < 15 ? 8 + rnd() % 24 : 64;

			if (rnd() % 4)		/* a quarter of the pages, more or less */
				continue;
			for (unsigned int j = 0; j < nl; j++) {
				unsigned int line = nl == 64 ? j : rnd() % 64;
				uint64_t wb = (PAGE_BASE + pg) << 6 | line;

				dirty[(size_t)e * pages + pg] |= 1ull << line;
				if (fwrite(&wb, 8, 1, stream) != 1 ||
				    (rnd() % 8 == 0 && fwrite(&wb, 8, 1, stream) != 1))
					die("stream", NULL);
				n_wb++;
			}
		}
	}
	if (fclose(stream))
		die("stream", NULL);

	/* the RTL logs it all */
	snprintf(cmd, sizeof(cmd), "'%s' --trace '%s/stream' --log '%s/log' --quiet", tb, dir, dir);
	if (system(cmd)) {
		fprintf(stderr, "rmem-fpga-patch: %s failed\n", cmd);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/log", dir);
	log = read_words(path, &nlog);
	masks = calloc(nlog + 1, sizeof(*masks));
	if (!masks)
		die("memory", NULL);

	/* epoch by epoch, what the host would do at write-back */
	for (e = 0; e < epochs; e++) {
		long n = rmem_fpga_log_masks(log, nlog, e, masks, &skipped);
		long m = 0;

		if (n < 0) {
			fprintf(stderr, "rmem-fpga-patch: the log holds a bad entry\n");
			return 1;
		}
		for (p = 0; p < pages; p++) {
			uint64_t d = dirty[(size_t)e * pages + p], mask = 0;
			uint8_t *w = want + (size_t)p * RMEM_FRAME_SIZE;
			int ret;

			if (!d)
				continue;
			/* this epoch's stores to the page */
			for (unsigned int l = 0; l < 64; l++)
				if (d >> l & 1)
					for (unsigned int b = 0; b < RMEM_LINE_SIZE; b += 8)
						*(uint64_t *)(w + l * RMEM_LINE_SIZE + b) = rnd();
			while (m < n && masks[m].page < PAGE_BASE + p)
				m++;
			if (m < n && masks[m].page == PAGE_BASE + p)
				mask = masks[m].mask;
			bytes_page += RMEM_FRAME_SIZE;
			if (mask == ~0ull || !mask) {
				/* dense, or the log missed it all: whole */
				if (mask)
					n_dense++;
				else
					n_unlogged++;
				if (rmem_write(c, p, 1, w))
					die("write", c);
				bytes += RMEM_FRAME_SIZE;
				continue;
			}
			ret = rmem_patch(c, p, mask, w);
			n_lines += __builtin_popcountll(mask);
			bytes += (uint64_t)__builtin_popcountll(mask) * RMEM_LINE_SIZE;
			if (ret == -EBADMSG) {
				n_mismatch++;	/* a hidden line: whole, then */
				if (rmem_write(c, p, 1, w))
					die("write", c);
				bytes += RMEM_FRAME_SIZE;
			} else if (ret) {
				die("patch", c);
			} else {
				n_patch++;
			}
		}
		/* every byte of every frame */
		for (p = 0; p < pages; p++) {
			if (rmem_read(c, p, 1, page))
				die("read", c);
			if (memcmp(page, want + (size_t)p * RMEM_FRAME_SIZE, RMEM_FRAME_SIZE)) {
				fprintf(stderr, "rmem-fpga-patch: epoch %u: frame %u differs\n", e, p);
				return 1;
			}
		}
	}
	printf("%" PRIu64 " write-backs, %zu log entries, %u epochs: %" PRIu64 " pages patched (%"
	       PRIu64 " lines), %" PRIu64 " MISMATCH then whole, %" PRIu64 " dense whole, %" PRIu64
	       " unlogged whole; %" PRIu64 " bytes against %" PRIu64 " page-granular; every byte of %u frames checked\n",
	       n_wb, nlog, epochs, n_patch, n_lines, n_mismatch, n_dense, n_unlogged, bytes,
	       bytes_page, pages);
	rmem_close(c, true);
	rmem_client_free(c);
	free(want);
	free(page);
	free(dirty);
	free(log);
	free(masks);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * rmem-wbcache: turn a program's memory trace into the cache-line
 * write-backs an FPGA on the memory bus would see (bench/fpga.sh).
 *
 * Reads valgrind --tool=lackey --trace-mem=yes output, runs its loads and
 * stores through a set-associative write-back cache with LRU replacement,
 * and writes the line address (byte address >> 6) of every dirty line it
 * evicts as a little-endian 64-bit word. Every EPOCH instructions the
 * cache is flushed (the host writing back what the tracker logged) and
 * an all-ones word marks the new epoch; the stream ends with a flush.
 *
 *   rmem-wbcache [--kib N] [--ways N] [--epoch INSNS] <TRACE >STREAM
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rmem_common.h"

struct way {
	uint64_t tag;		/* line address + 1; 0: empty */
	uint64_t used;		/* LRU clock */
	bool dirty;
};

static struct way *cache;
static unsigned int nsets, ways;
static uint64_t clock_, writebacks, accesses, stores;

static void emit(uint64_t w)
{
	if (fwrite(&w, sizeof(w), 1, stdout) != 1) {
		perror("rmem-wbcache: write");
		exit(1);
	}
}

static void touch(uint64_t line, bool store)
{
	struct way *set = &cache[(line % nsets) * ways], *victim = set;
	unsigned int i;

	accesses++;
	for (i = 0; i < ways; i++) {
		if (set[i].tag == line + 1) {
			set[i].used = ++clock_;
			set[i].dirty |= store;
			return;
		}
		if (set[i].used < victim->used)
			victim = &set[i];
	}
	if (victim->tag && victim->dirty) {
		emit(victim->tag - 1);
		writebacks++;
	}
	victim->tag = line + 1;
	victim->used = ++clock_;
	victim->dirty = store;
}

static void flush(void)
{
	for (size_t i = 0; i < (size_t)nsets * ways; i++) {
		if (cache[i].tag && cache[i].dirty) {
			emit(cache[i].tag - 1);
			writebacks++;
		}
		cache[i].dirty = false;
	}
}

static unsigned long num(const char *s, const char *what)
{
	uint64_t v;

	if (rmem_parse_u64(s, &v) || !v || v > ~0u) {
		fprintf(stderr, "rmem-wbcache: %s: not a positive number: '%s'\n", what, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kib", required_argument, NULL, 'k' },
		{ "ways", required_argument, NULL, 'w' },
		{ "epoch", required_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long kib = 256, epoch = 1000000;
	uint64_t insns = 0, epochs = 1, bad = 0;
	char buf[256];
	int opt;

	ways = 8;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'k': kib = num(optarg, "--kib"); break;
		case 'w': ways = num(optarg, "--ways"); break;
		case 'e': epoch = num(optarg, "--epoch"); break;
		default:
			fprintf(stderr, "usage: rmem-wbcache [--kib N] [--ways N] [--epoch INSNS] <TRACE >STREAM\n");
			return 2;
		}
	}
	nsets = kib * 1024 / 64 / ways;
	if (!nsets) {
		fprintf(stderr, "rmem-wbcache: %lu KiB cannot hold %u ways\n", kib, ways);
		return 2;
	}
	cache = calloc((size_t)nsets * ways, sizeof(*cache));
	if (!cache)
		return 1;
	while (fgets(buf, sizeof(buf), stdin)) {
		char kind;
		uint64_t addr, size, a;

		if (buf[0] == '=')		/* valgrind's own lines */
			continue;
		if (sscanf(buf, " %c %" SCNx64 ",%" SCNu64, &kind, &addr, &size) != 3) {
			bad++;
			continue;
		}
		if (kind == 'I') {
			if (++insns % epoch == 0) {
				flush();
				emit(~0ull);
				epochs++;
			}
			continue;
		}
		if (kind != 'L' && kind != 'S' && kind != 'M')
			continue;
		if (kind != 'L')
			stores++;
		for (a = addr >> 6; a <= (addr + (size ? size - 1 : 0)) >> 6; a++)
			touch(a, kind != 'L');
	}
	flush();
	fprintf(stderr, "rmem-wbcache: %" PRIu64 " instructions, %" PRIu64 " accesses (%" PRIu64
		" stores), %" PRIu64 " write-backs, %" PRIu64 " epochs; %lu KiB %u-way%s\n",
		insns, accesses, stores, writebacks, epochs, kib, ways,
		bad ? " (some lines not understood)" : "");
	free(cache);
	return fflush(stdout) ? 1 : 0;
}

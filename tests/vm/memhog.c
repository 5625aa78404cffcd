// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * memhog: a workload for the swap tests. Allocates MIB mebibytes, writes
 * a pattern that depends on (seed, page, pass) to every word of every
 * page, then for PASSES passes visits every page in a different
 * pseudo-random order, checks that it holds the previous pass's pattern
 * and rewrites it with this pass's. Allocated past the machine's RAM,
 * pages go out to swap and come back many times; any byte that comes
 * back wrong is counted and reported.
 *
 * With LINES (1..64), a pass rewrites only LINES of each page's 64-byte
 * lines, chosen by (seed, page, pass): what rmem's cache-line deltas
 * send as a PATCH. A line then holds the pattern of the last pass that
 * chose it, which the check works out.
 *
 * SIGUSR1 is handled (and ignored), so that a test can aim signals at a
 * task that is faulting and reclaiming without killing it
 * (tests/vm/signals.sh).
 *
 *   memhog MIB PASSES [SEED [LINES]]    exit 0 if every byte was right
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#define PAGE 4096u
#define WORDS (PAGE / sizeof(uint64_t))
#define LINES 64u
#define LINE_WORDS (WORDS / LINES)

static unsigned int dirty_lines = LINES;	/* lines a pass rewrites */

static uint64_t word(uint64_t seed, uint64_t page, unsigned int pass, unsigned int w)
{
	uint64_t x = seed ^ (page * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)pass << 48) ^ w;

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ull;
	return x ^ (x >> 29);
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* The lines pass rewrites of page (pass 0: all): a bit each. */
static uint64_t chosen(uint64_t seed, uint64_t page, unsigned int pass)
{
	uint64_t m = 0;
	unsigned int i = 0;

	if (!pass || dirty_lines >= LINES)
		return ~0ull;
	while (__builtin_popcountll(m) < (int)dirty_lines)
		m |= 1ull << (word(seed ^ 0x5bd1e995, page, pass, i++) % LINES);
	return m;
}

static uint64_t check_fill(uint64_t *p, uint64_t seed, uint64_t page,
			   int check_pass, int fill_pass)
{
	uint64_t bad = 0, wrote[LINES], fill;
	unsigned int w, l;
	int q;

	if (check_pass >= 0) {
		/* each line was last written by the latest pass that chose it */
		for (l = 0; l < LINES; l++)
			wrote[l] = 0;
		for (q = check_pass, fill = 0; q >= 0 && fill != ~0ull; q--) {
			uint64_t m = chosen(seed, page, (unsigned int)q) & ~fill;

			for (l = 0; l < LINES; l++)
				if (m >> l & 1)
					wrote[l] = (uint64_t)q;
			fill |= m;
		}
		for (w = 0; w < WORDS; w++)
			if (p[w] != word(seed, page, (unsigned int)wrote[w / LINE_WORDS], w))
				bad++;
	}
	if (fill_pass >= 0) {
		fill = chosen(seed, page, (unsigned int)fill_pass);
		for (w = 0; w < WORDS; w++)
			if (fill >> (w / LINE_WORDS) & 1)
				p[w] = word(seed, page, (unsigned int)fill_pass, w);
	}
	return bad;
}

static void on_usr1(int sig)
{
	(void)sig;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
	uint64_t mib, npages, i, bad = 0, badpages = 0, seed;
	unsigned int passes, pass;
	uint8_t *mem;

	if (argc < 3) {
		fprintf(stderr, "usage: memhog MIB PASSES [SEED [LINES]]\n");
		return 2;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	if (argc > 4)
		dirty_lines = (unsigned int)strtoul(argv[4], NULL, 0);
	if (!dirty_lines || dirty_lines > LINES) {
		fprintf(stderr, "memhog: LINES is 1 to %u\n", LINES);
		return 2;
	}
	mib = strtoull(argv[1], NULL, 0);
	passes = (unsigned int)strtoul(argv[2], NULL, 0);
	seed = argc > 3 ? strtoull(argv[3], NULL, 0) : 1;
	npages = mib * (1 << 20) / PAGE;
	mem = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("memhog: mmap");
		return 1;
	}
	for (i = 0; i < npages; i++)
		check_fill((uint64_t *)(mem + i * PAGE), seed, i, -1, 0);
	printf("memhog: %llu MiB filled\n", (unsigned long long)mib);
	fflush(stdout);
	for (pass = 1; pass <= passes; pass++) {
		/* a stride coprime with npages visits every page once */
		uint64_t stride = 1000003 + 2 * pass, at = pass * 7919;

		while (gcd(stride, npages) != 1)
			stride += 2;
		for (i = 0; i < npages; i++) {
			uint64_t pg = (at + i * stride) % npages;
			uint64_t b = check_fill((uint64_t *)(mem + pg * PAGE), seed,
						pg, (int)pass - 1, (int)pass);

			bad += b;
			badpages += b != 0;
		}
		printf("memhog: pass %u of %u: %llu pages checked, %llu bad\n", pass,
		       passes, (unsigned long long)npages, (unsigned long long)badpages);
		fflush(stdout);
	}
	for (i = 0; i < npages; i++) {
		uint64_t b = check_fill((uint64_t *)(mem + i * PAGE), seed, i,
					(int)passes, -1);

		bad += b;
		badpages += b != 0;
	}
	printf("memhog: %llu MiB, %u passes: %llu bad words in %llu pages\n",
	       (unsigned long long)mib, passes, (unsigned long long)bad,
	       (unsigned long long)badpages);
	return bad ? 1 : 0;
}

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
 *   memhog MIB PASSES [SEED]      exit 0 if every byte was right
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#define PAGE 4096u
#define WORDS (PAGE / sizeof(uint64_t))

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

static uint64_t check_fill(uint64_t *p, uint64_t seed, uint64_t page,
			   int check_pass, int fill_pass)
{
	uint64_t bad = 0;
	unsigned int w;

	for (w = 0; w < WORDS; w++) {
		if (check_pass >= 0 && p[w] != word(seed, page, (unsigned int)check_pass, w))
			bad++;
		if (fill_pass >= 0)
			p[w] = word(seed, page, (unsigned int)fill_pass, w);
	}
	return bad;
}

int main(int argc, char **argv)
{
	uint64_t mib, npages, i, bad = 0, badpages = 0, seed;
	unsigned int passes, pass;
	uint8_t *mem;

	if (argc < 3) {
		fprintf(stderr, "usage: memhog MIB PASSES [SEED]\n");
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

// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * wamp-work: the write-amplification workloads (bench/wamp.sh). Each
 * allocates MIB mebibytes, fills them and pushes them out to swap
 * (printing "filled" when done, so the harness can read the counters:
 * the fill's own write-back is not counted), then makes OPS updates in the
 * pattern of an application PBerry and Kona measured, and checks its
 * data at the end:
 *
 *   kv     a key-value store updating small values: 128-byte records
 *          (key, version, value); an update bumps a random record's
 *          version and rewrites 16 bytes of its value. Check: every
 *          value matches its version, and the versions sum to OPS.
 *   index  a hash index taking inserts: 16-byte slots, linear probing,
 *          filled to half by the updates. Check: every inserted key is
 *          found with its value.
 *   graph  per-vertex state of a graph computation: 64-byte vertices,
 *          an update follows a random edge (from a hash of the source)
 *          and adds to the target's count and sum. Check: counts sum to
 *          OPS and sums to the sum of the sources.
 *   dense  the worst case: each update rewrites a whole page with a
 *          pattern of (page, update). Check: every page holds its last
 *          pattern.
 *
 *   wamp-work KIND MIB OPS [SEED]    exit 0 if the check passed
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

#define PAGE 4096u

static uint64_t mix(uint64_t x)
{
	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 29;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 32);
}

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state += 0x9e3779b97f4a7c15ull;
	return mix(rng_state);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double t_filled, t_updated;
static uint8_t *region;
static uint64_t region_bytes;

/*
 * Filled: push the region out to swap (MADV_PAGEOUT), so that the pages
 * the fill left dirty in memory go out now, whole (they have no base
 * yet), and the updates start from the steady state: a page comes back
 * from swap before it is written again.
 */
static void filled(const char *kind)
{
	if (madvise(region, region_bytes, MADV_PAGEOUT))
		perror("wamp-work: madvise(MADV_PAGEOUT)");
	printf("wamp: %s filled\n", kind);
	fflush(stdout);
	t_filled = now();
}

/*
 * Updated: push the region out again, so that what the updates dirtied
 * is written now and counted, and say so; the check that follows reads
 * everything back, which the harness does not count.
 */
static void updated(void)
{
	t_updated = now();
	if (madvise(region, region_bytes, MADV_PAGEOUT))
		perror("wamp-work: madvise(MADV_PAGEOUT)");
	printf("wamp: updated\n");
	fflush(stdout);
}

/* ---- kv ------------------------------------------------------------ */

struct kv_rec {
	uint64_t key;
	uint64_t version;
	uint64_t value[14];
};

static void kv_value(const struct kv_rec *r, uint64_t *v)
{
	unsigned int i;

	for (i = 0; i < 14; i++)
		v[i] = mix(r->key * 131 + i + (i / 2 == r->version % 7 ? r->version << 8 : 0));
}

static int kv(void *mem, uint64_t bytes, uint64_t ops)
{
	struct kv_rec *t = mem;
	uint64_t n = bytes / sizeof(*t), i, sum = 0, v[14];

	for (i = 0; i < n; i++) {
		t[i].key = i;
		t[i].version = 0;
		kv_value(&t[i], t[i].value);
	}
	filled("kv");
	for (i = 0; i < ops; i++) {
		struct kv_rec *r = &t[rnd() % n];
		unsigned int at;

		r->version++;
		kv_value(r, v);
		/* the version and 16 bytes of value: one or two lines */
		at = (unsigned int)(r->version % 7);
		r->value[2 * at] = v[2 * at];
		r->value[2 * at + 1] = v[2 * at + 1];
	}
	updated();
	for (i = 0; i < n; i++) {
		unsigned int k;

		sum += t[i].version;
		kv_value(&t[i], v);
		/* only the words the last update wrote depend on the version:
		 * earlier ones hold values of earlier versions */
		k = (unsigned int)(t[i].version % 7);
		if (t[i].key != i || t[i].value[2 * k] != v[2 * k] ||
		    t[i].value[2 * k + 1] != v[2 * k + 1])
			return 1;
	}
	return sum != ops;
}

/* ---- index --------------------------------------------------------- */

struct ix_slot {
	uint64_t key;		/* 0: empty */
	uint64_t val;
};

static int ix(void *mem, uint64_t bytes, uint64_t ops)
{
	struct ix_slot *t = mem;
	uint64_t n = bytes / sizeof(*t), i, seed = rng_state;

	memset(t, 0, bytes);
	for (i = 0; i < n; i += PAGE / sizeof(*t))
		t[i].val = 1;	/* every page touched: the fill goes out */
	filled("index");
	if (ops > n / 2)
		ops = n / 2;
	for (i = 0; i < ops; i++) {
		uint64_t key = rnd() | 1, h = mix(key) % n;

		while (t[h].key && t[h].key != key)
			h = (h + 1) % n;
		t[h].key = key;
		t[h].val = mix(key ^ 0xabcdef);
	}
	updated();
	rng_state = seed;
	for (i = 0; i < ops; i++) {
		uint64_t key = rnd() | 1, h = mix(key) % n;

		while (t[h].key && t[h].key != key)
			h = (h + 1) % n;
		if (t[h].key != key || t[h].val != mix(key ^ 0xabcdef))
			return 1;
	}
	return 0;
}

/* ---- graph --------------------------------------------------------- */

struct vertex {
	uint64_t rank;
	uint64_t count;		/* updates received */
	uint64_t sum;		/* sum of their sources */
	uint64_t degree;
	uint64_t pad[4];
};

static int graph(void *mem, uint64_t bytes, uint64_t ops)
{
	struct vertex *v = mem;
	uint64_t n = bytes / sizeof(*v), i, count = 0, sum = 0, want = 0;

	for (i = 0; i < n; i++) {
		memset(&v[i], 0, sizeof(v[i]));
		v[i].rank = mix(i);
		v[i].degree = 1 + mix(i ^ 77) % 16;
	}
	filled("graph");
	for (i = 0; i < ops; i++) {
		uint64_t src = rnd() % n;
		/* the edge: a neighbour fixed by (src, which of its edges) */
		uint64_t dst = mix(src * 64 + rnd() % v[src].degree) % n;

		v[dst].count++;
		v[dst].sum += src;
		v[dst].rank += v[src].rank >> 4;
		want += src;
	}
	updated();
	for (i = 0; i < n; i++) {
		count += v[i].count;
		sum += v[i].sum;
	}
	return count != ops || sum != want;
}

/* ---- dense --------------------------------------------------------- */

static void dense_fill(uint64_t *p, uint64_t page, uint64_t gen)
{
	unsigned int w;

	for (w = 0; w < PAGE / 8; w++)
		p[w] = mix(page << 20 ^ gen << 9 ^ w);
}

static int dense(void *mem, uint64_t bytes, uint64_t ops)
{
	uint64_t n = bytes / PAGE, i, w;
	uint32_t *gen = calloc(n, sizeof(*gen));	/* 1/1024 of the data */
	uint8_t *m = mem;
	int bad = 0;

	if (!gen)
		return 1;
	for (i = 0; i < n; i++)
		dense_fill((uint64_t *)(m + i * PAGE), i, 0);
	filled("dense");
	for (i = 0; i < ops; i++) {
		uint64_t pg = rnd() % n;

		dense_fill((uint64_t *)(m + pg * PAGE), pg, ++gen[pg]);
	}
	updated();
	for (i = 0; i < n && !bad; i++) {
		uint64_t *p = (uint64_t *)(m + i * PAGE);

		for (w = 0; w < PAGE / 8; w++)
			if (p[w] != mix(i << 20 ^ (uint64_t)gen[i] << 9 ^ w))
				bad = 1;
	}
	free(gen);
	return bad;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(void *mem, uint64_t bytes, uint64_t ops);
	} kinds[] = {
		{ "kv", kv }, { "index", ix }, { "graph", graph }, { "dense", dense },
	};
	uint64_t mib, ops;
	unsigned int k;
	double t0;
	void *mem;
	int bad;

	if (argc < 4) {
		fprintf(stderr, "usage: wamp-work kv|index|graph|dense MIB OPS [SEED]\n");
		return 2;
	}
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		if (!strcmp(argv[1], kinds[k].name))
			break;
	if (k == sizeof(kinds) / sizeof(kinds[0])) {
		fprintf(stderr, "wamp-work: no workload '%s'\n", argv[1]);
		return 2;
	}
	mib = strtoull(argv[2], NULL, 0);
	ops = strtoull(argv[3], NULL, 0);
	rng_state = argc > 4 ? strtoull(argv[4], NULL, 0) : 1;
	mem = mmap(NULL, mib << 20, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!mib || mem == MAP_FAILED) {
		perror("wamp-work: mmap");
		return 1;
	}
	t0 = now();
	region = mem;
	region_bytes = mib << 20;
	bad = kinds[k].run(mem, mib << 20, ops);
	printf("wamp: %s done: %llu updates in %.1f s (%.1f s in all), check %s\n",
	       argv[1], (unsigned long long)ops, t_updated - t_filled, now() - t0,
	       bad ? "FAILED" : "ok");
	return bad ? 1 : 0;
}

// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The donor's frame pool. All memory is mapped (and faulted in) at start,
 * so serving a request never allocates.
 *
 * Frames are zeroed when they are freed, so that a client's data does not
 * outlive its region in this host's memory, and no client ever reads what
 * another left behind. Zeroing a large region at once would hold the
 * event loop (and the pool's lock) for as long as it takes, so a freed
 * frame is dirty until pool_scrub() zeroes it, a bounded number each
 * second (after loop 0's tick, POOL_SCRUB_FRAMES), or until a region
 * needs it: pool_region_create() takes zeroed frames first and zeroes
 * dirty ones only when it must, which is never more than the old
 * zero-on-create did.
 *
 * free_stack holds both: zeroed frames from the bottom, [0, nclean), and
 * dirty ones from the top, [nframes - ndirty, nframes). The two never
 * meet: nclean + ndirty = nfree <= nframes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <openssl/crypto.h>

#include "log.h"
#include "config.h"
#include "pool.h"
#include "rmem_common.h"

#define POOL_HUGE_SIZE	(2u << 20)

int pool_init(struct pool *p, uint64_t bytes, int hugepages,
	      char *err, size_t errlen)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE;
	void *base = MAP_FAILED;
	uint64_t i;

	memset(p, 0, sizeof(*p));
	if (bytes < RMEM_FRAME_SIZE || bytes % RMEM_FRAME_SIZE ||
	    bytes / RMEM_FRAME_SIZE > UINT32_MAX) {
		snprintf(err, errlen, "pool size %llu is not a usable size",
			 (unsigned long long)bytes);
		return -EINVAL;
	}
	if (hugepages != POOLD_HUGE_NO) {
		if (bytes % POOL_HUGE_SIZE == 0)
			base = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
				    flags | MAP_HUGETLB, -1, 0);
		if (base == MAP_FAILED && hugepages == POOLD_HUGE_YES) {
			snprintf(err, errlen,
				 "cannot map %llu bytes of huge pages: %s (reserve them with vm.nr_hugepages, or set hugepages = try)",
				 (unsigned long long)bytes, strerror(errno));
			return -ENOMEM;
		}
		if (base == MAP_FAILED)
			log_info("no huge pages for the pool (%s); using normal pages",
				 strerror(errno));
		else
			p->huge = true;
	}
	if (base == MAP_FAILED)
		base = mmap(NULL, bytes, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (base == MAP_FAILED) {
		snprintf(err, errlen, "cannot map a %llu-byte pool: %s",
			 (unsigned long long)bytes, strerror(errno));
		return -ENOMEM;
	}
	/*
	 * Other hosts' swapped memory: never in a core dump (a watchdog's
	 * SIGABRT, a crash), which would write it, maybe tens of GiB of
	 * it, to this host's disk.
	 */
	if (madvise(base, bytes, MADV_DONTDUMP))
		log_warn("pool left in core dumps: madvise: %s", strerror(errno));
	p->base = base;
	p->map_len = bytes;
	p->nframes = bytes / RMEM_FRAME_SIZE;
	p->free_stack = calloc(p->nframes, sizeof(*p->free_stack));
	if (!p->free_stack) {
		munmap(base, bytes);
		snprintf(err, errlen, "out of memory for the frame table");
		return -ENOMEM;
	}
	/* lowest frames on top, so a fresh pool hands out ascending runs;
	 * MAP_ANONYMOUS memory is zero: every frame starts clean */
	for (i = 0; i < p->nframes; i++)
		p->free_stack[i] = (uint32_t)(p->nframes - 1 - i);
	p->nfree = p->nframes;
	p->nclean = p->nframes;
	p->next_id = 1;
	return 0;
}

static void pool_region_free(struct pool *p, struct pool_region *r)
{
	struct pool_region **pp;
	uint64_t i;

	for (pp = &p->regions; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	}
	/* dirty until scrubbed; the first frame is pushed first, scrubbed
	 * last and so on top of the clean ones: the next region gets the
	 * same ascending run */
	for (i = 0; i < r->nframes; i++)
		p->free_stack[p->nframes - ++p->ndirty] = r->frames[i];
	p->nfree += r->nframes;
	p->nregions--;
	free(r->frames);
	explicit_bzero(r->token, sizeof(r->token));
	free(r);
}

/* Zero the dirty frame freed last (a stack) and return it; the caller
 * makes it clean or hands it out. */
static uint32_t pool_scrub_one(struct pool *p)
{
	uint32_t f = p->free_stack[p->nframes - p->ndirty--];

	p->nscrubbed++;
	memset(p->base + (size_t)f * RMEM_FRAME_SIZE, 0, RMEM_FRAME_SIZE);
	return f;
}

uint64_t pool_scrub(struct pool *p, uint64_t max)
{
	uint64_t n;

	for (n = 0; n < max && p->ndirty; n++)
		p->free_stack[p->nclean++] = pool_scrub_one(p);
	return n;
}

void pool_destroy(struct pool *p)
{
	while (p->regions)
		pool_region_free(p, p->regions);
	free(p->free_stack);
	if (p->base)
		munmap(p->base, p->map_len);
	memset(p, 0, sizeof(*p));
}

/*
 * Take zeroed frames for a new region (zeroing dirty ones if the clean
 * run short): RMEM_OK, RMEM_E_NOSPC when
 * the pool is short, RMEM_E_INTERNAL when the region's table cannot be
 * allocated.
 */
int pool_region_create(struct pool *p, uint64_t frames,
		       struct pool_region **out)
{
	struct pool_region *r;
	uint64_t i;

	if (frames == 0)
		return RMEM_E_INVAL;
	if (frames > p->nfree)
		return RMEM_E_NOSPC;
	r = calloc(1, sizeof(*r));
	if (!r)
		return RMEM_E_INTERNAL;
	r->frames = malloc(frames * sizeof(*r->frames));
	if (!r->frames || rmem_random(r->token, sizeof(r->token))) {
		free(r->frames);
		free(r);
		return RMEM_E_INTERNAL;
	}
	for (i = 0; i < frames; i++)
		r->frames[i] = p->nclean ? p->free_stack[--p->nclean] :
					   pool_scrub_one(p);
	p->nfree -= frames;
	r->nframes = frames;
	r->id = p->next_id++;
	r->refs = 1;
	r->next = p->regions;
	p->regions = r;
	p->nregions++;
	*out = r;
	return RMEM_OK;
}

/* The live region with this id, if token matches; NULL otherwise. */
struct pool_region *pool_region_find(struct pool *p, uint64_t id,
				     const uint8_t *token)
{
	struct pool_region *r;

	for (r = p->regions; r; r = r->next) {
		if (r->id != id)
			continue;
		if (r->released ||
		    CRYPTO_memcmp(r->token, token, sizeof(r->token)))
			return NULL;
		return r;
	}
	return NULL;
}

void pool_region_get(struct pool_region *r)
{
	r->refs++;
}

void pool_region_put(struct pool *p, struct pool_region *r, time_t now)
{
	if (--r->refs)
		return;
	if (r->released) {
		pool_region_free(p, r);
		return;
	}
	r->orphaned_at = now;
}

/* No new connection may join; frames go back once the last one leaves. */
void pool_region_release(struct pool *p, struct pool_region *r)
{
	r->released = true;
	if (!r->refs)
		pool_region_free(p, r);
}

/* Free orphans older than timeout seconds (0: never); how many. */
unsigned int pool_expire(struct pool *p, time_t now, unsigned int timeout)
{
	struct pool_region *r, *next;
	unsigned int n = 0;

	if (!timeout)
		return 0;
	for (r = p->regions; r; r = next) {
		next = r->next;
		if (r->refs || now - r->orphaned_at < (time_t)timeout)
			continue;
		log_info("region %llu (%llu frames) orphaned for %us: freed",
			 (unsigned long long)r->id,
			 (unsigned long long)r->nframes, timeout);
		pool_region_free(p, r);
		n++;
	}
	return n;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POOLD_POOL_H
#define POOLD_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <linux/rmem.h>
#include "librmem.h"

/*
 * A region is one client's flat array of frames. Its frames come from the
 * pool in any order; frames[] maps region frame -> pool frame. Connections
 * hold references; a region nobody holds is an orphan, kept for the idle
 * timeout so a client that lost its connection can join it again.
 */
struct pool_region {
	struct pool_region *next;
	uint64_t id;
	uint8_t token[RMEM_TOKEN_SIZE];
	uint64_t nframes;
	uint32_t *frames;
	/* the key id that created it: only its connections may join it,
	 * and its frames count against that key's quota until freed */
	char owner[RMEM_KEY_ID_SIZE];
	unsigned int refs;	/* connections attached */
	bool released;		/* CLOSE with RELEASE: free when refs drop */
	time_t orphaned_at;	/* when refs last dropped to 0 */
	uint64_t generation;	/* fences so far (OPEN ATTACH with FENCE) */
	uint64_t fenced;	/* connections they closed */
	struct rmem_io_counters io;
};

struct pool {
	uint8_t *base;
	uint64_t nframes;
	size_t map_len;
	bool huge;
	uint32_t *free_stack;	/* free frames: zeroed, then dirty (pool.c) */
	uint64_t nfree;		/* nclean + ndirty */
	uint64_t nclean;	/* zeroed, handed out first */
	uint64_t ndirty;	/* freed, not yet zeroed (pool_scrub) */
	uint64_t nscrubbed;	/* freed frames zeroed so far (STATS) */
	struct pool_region *regions;
	unsigned int nregions;
	uint64_t next_id;
};

int pool_init(struct pool *p, uint64_t bytes, int hugepages,
	      char *err, size_t errlen);
void pool_destroy(struct pool *p);

int pool_region_create(struct pool *p, uint64_t frames,
		       struct pool_region **out);
struct pool_region *pool_region_find(struct pool *p, uint64_t id,
				     const uint8_t *token);
void pool_region_get(struct pool_region *r);
void pool_region_put(struct pool *p, struct pool_region *r, time_t now);
void pool_region_release(struct pool *p, struct pool_region *r);
unsigned int pool_expire(struct pool *p, time_t now, unsigned int timeout);
/* Zero up to max freed frames (server_scrub, after loop 0's tick); how
 * many it zeroed. */
uint64_t pool_scrub(struct pool *p, uint64_t max);
/* Frames loop 0 zeroes a second (128 MiB), in batches under the lock of
 * a few ms each (16 MiB), so that no one waits long for it */
#define POOL_SCRUB_FRAMES	32768
#define POOL_SCRUB_BATCH	4096

static inline uint8_t *pool_frame(const struct pool *p,
				  const struct pool_region *r, uint64_t i)
{
	return p->base + (size_t)r->frames[i] * RMEM_FRAME_SIZE;
}

/* True if [frame, frame + count) lies inside the region. */
static inline bool pool_region_covers(const struct pool_region *r,
				      uint64_t frame, uint64_t count)
{
	return frame < r->nframes && count <= r->nframes - frame;
}

#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * librmem: the client side of the rmem donor protocol.
 *
 * A client is one TCP connection to a donor (rmem-poold), authenticated with
 * the shared key, with at most one region open. Requests are pipelined:
 * rmem_submit_*() queue them, rmem_flush() sends, rmem_reap() collects
 * completions, in whatever order the donor answers. The synchronous calls
 * (rmem_read(), ...) may be mixed with asynchronous ones; completions of the
 * latter that arrive meanwhile are kept for rmem_reap().
 *
 * A client is not thread-safe: use one per thread. Every call returns 0 (or
 * a count) on success and -errno on failure; rmem_errmsg() then says what
 * happened in words fit for a user, and rmem_last_status() gives the
 * donor's status (enum rmem_status) when the donor refused the request.
 * The errno for each donor status is documented in Documentation/protocol.rst.
 */
#ifndef LIBRMEM_H
#define LIBRMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/rmem.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rmem_client;

struct rmem_client_opts {
	const char *host;	/* donor name or address */
	uint16_t port;		/* 0: RMEM_DEFAULT_PORT */
	const char *key_file;	/* shared key; or NULL and key/key_len */
	const void *key;
	size_t key_len;
	const char *name;	/* shown in the donor's log; NULL: "librmem" */
	unsigned int depth;	/* requests in flight; 0: 64, at most 4096 */
	int timeout_ms;		/* connect, handshake, synchronous calls;
				 * 0: 10000, -1: wait forever */
};

/* What the donor told us at authentication. */
struct rmem_donor_info {
	uint16_t version;
	uint64_t quota_frames;
	uint64_t free_frames;
	uint32_t max_io_frames;
	uint32_t max_discard_extents;
};

/* A region: id and token let another connection join it. */
struct rmem_region {
	uint64_t id;
	uint64_t frames;
	uint8_t token[RMEM_TOKEN_SIZE];
};

struct rmem_completion {
	void *user;		/* as given at submit */
	int result;		/* 0 or -errno */
	int status;		/* donor status, or -1 if the connection failed */
};

/* Donor counters in host byte order; see struct rmem_stats. */
struct rmem_io_counters {
	uint64_t reads, writes, patches, mismatches, discarded;
	uint64_t bytes_in, bytes_out, errors;
};

struct rmem_stats_info {
	uint64_t pool_frames, free_frames, quota_frames, uptime_sec;
	uint32_t clients, max_clients, regions, flags;
	uint64_t auth_failures, proto_errors;
	struct rmem_io_counters donor;
	uint64_t region_id, region_frames;
	struct rmem_io_counters region;
	/* struct rmem_fence_stats; zero from a protocol 1 donor */
	uint64_t fenced, fenced_bytes, region_generation, region_fenced;
	/* struct rmem_key_stats; zero from a donor older than protocol 3 */
	uint64_t key_frames, dirty_frames, scrubbed_frames;
	uint32_t key_regions;
};

struct rmem_client *rmem_client_new(void);
void rmem_client_free(struct rmem_client *c);
/*
 * Authenticate with the donor's key of this id ([client ID] in its
 * rmem-poold.conf) at the next rmem_connect(); NULL or "": its [auth] key,
 * as before ids. A key id needs protocol 3 of the donor. 0, or -EINVAL
 * (1..31 of [A-Za-z0-9._-]) with rmem_errmsg() saying why.
 */
int rmem_set_key_id(struct rmem_client *c, const char *id);

int rmem_connect(struct rmem_client *c, const struct rmem_client_opts *opts);
const char *rmem_errmsg(const struct rmem_client *c);
int rmem_last_status(const struct rmem_client *c);
const struct rmem_donor_info *rmem_donor(const struct rmem_client *c);
int rmem_fd(const struct rmem_client *c);
unsigned int rmem_inflight(const struct rmem_client *c);
/* Completions already received and waiting for rmem_reap(): any call
 * that moves bytes (flush, a synchronous call) may have collected some,
 * so a caller that polls rmem_fd() checks this first. */
unsigned int rmem_completed(const struct rmem_client *c);

/* Regions. */
int rmem_open_region(struct rmem_client *c, uint64_t frames,
		     struct rmem_region *region);
int rmem_attach_region(struct rmem_client *c,
		       const struct rmem_region *region);
/*
 * The same for one connection of a client with several (one per queue of
 * a device): queue (0..RMEM_MAX_QUEUES-1) labels this connection on the
 * donor. With RMEM_JOIN_FENCE the donor first closes every older
 * connection of the region with this queue index, with RMEM_JOIN_FENCE_ALL
 * every older connection of the region, and executes none of their
 * requests after this returns (Documentation/protocol.rst, "Fencing").
 * -EOPNOTSUPP from a donor of protocol 1, which cannot fence.
 */
#define RMEM_JOIN_FENCE		0x1
#define RMEM_JOIN_FENCE_ALL	0x2
int rmem_open_region_queue(struct rmem_client *c, uint64_t frames,
			   unsigned int queue, struct rmem_region *region);
int rmem_join_region(struct rmem_client *c, const struct rmem_region *region,
		     unsigned int queue, unsigned int how);
/* Orderly close; release frees the region for every connection. */
int rmem_close(struct rmem_client *c, bool release);

/* Synchronous calls. */
int rmem_read(struct rmem_client *c, uint64_t frame, uint32_t count,
	      void *buf);
int rmem_write(struct rmem_client *c, uint64_t frame, uint32_t count,
	       const void *buf);
/* Send the lines of page set in mask; -EBADMSG if the donor's frame,
 * patched, does not hash to page's hash (then the frame is unchanged). */
int rmem_patch(struct rmem_client *c, uint64_t frame, uint64_t mask,
	       const void *page);
int rmem_discard(struct rmem_client *c, uint64_t frame, uint32_t count);
int rmem_stats(struct rmem_client *c, struct rmem_stats_info *st);
int rmem_ping(struct rmem_client *c, uint64_t *rtt_ns);

/* Asynchronous calls: buffers must stay valid until the completion. */
int rmem_submit_read(struct rmem_client *c, uint64_t frame, uint32_t count,
		     void *buf, void *user);
int rmem_submit_write(struct rmem_client *c, uint64_t frame, uint32_t count,
		      const void *buf, void *user);
/* lines: hweight64(mask) lines, lowest first; hash: of the whole new page */
int rmem_submit_patch(struct rmem_client *c, uint64_t frame, uint64_t mask,
		      const void *lines, uint64_t hash, void *user);
/* ext: count wire-format extents (rmem_extent_set()) */
int rmem_submit_discard(struct rmem_client *c, const struct rmem_extent *ext,
			uint32_t count, void *user);
/* Send what is queued; returns once it is all handed to the kernel, or
 * -ETIMEDOUT (and the connection fails) if the donor stops reading. */
int rmem_flush(struct rmem_client *c);
/* Collect between min and max completions, waiting up to timeout_ms
 * (-1 forever) for min of them; returns how many, or -errno. */
int rmem_reap(struct rmem_client *c, struct rmem_completion *ev,
	      unsigned int min, unsigned int max, int timeout_ms);

void rmem_extent_set(struct rmem_extent *e, uint64_t frame, uint32_t count);
void rmem_stats_decode(const struct rmem_stats *wire,
		       struct rmem_stats_info *st);

/*
 * The FPGA tracker's log (include/uapi/linux/rmem_fpga.h): the n ring
 * entries of the given epoch merged into out (room for n), one line mask
 * per page (all ones for a page the tracker marked dense), sorted by page
 * number. Entries of other epochs are left out and counted in *skipped.
 * The number of pages, or -EBADMSG for a word that is no entry.
 *
 * The log refines the page dirty bits the MMU keeps; it does not replace
 * them: a Bloom-filter false positive may hide a dirty line, so a dirty
 * page goes as a PATCH of its mask (the donor's hash check catches a
 * hidden line: MISMATCH, then write it whole), and a dirty page with no
 * entry at all is written whole.
 */
struct rmem_fpga_dirty {
	uint64_t page;		/* physical page number */
	uint64_t mask;		/* bit i: line i is dirty */
};
long rmem_fpga_log_masks(const uint64_t *log, size_t n, unsigned int epoch,
			 struct rmem_fpga_dirty *out, size_t *skipped);

#ifdef __cplusplus
}
#endif

#endif /* LIBRMEM_H */

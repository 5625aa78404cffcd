/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the driver's files share: a device, its sockets, a request's
 * per-dispatch state, and the functions one file calls in another.
 * rmem_main.c makes and removes devices; rmem_blk.c is the blk-mq path;
 * rmem_sock.c the transport; rmem_discard.c the batched DISCARDs;
 * rmem_genl.c the generic-netlink control plane; rmem_sysfs.c shows a
 * device in /sys/block/rmemN/rmem/ (Documentation/ABI/testing/sysfs-block-rmem).
 */
#ifndef RMEM_DRV_H
#define RMEM_DRV_H

#include <linux/blk-mq.h>
#include <linux/idr.h>
#include <linux/mutex.h>
#include <linux/net.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "rmem_delta.h"
#include "rmem_lat.h"
#include "rmem_map.h"
#include "rmem_proto.h"

/*
 * Slots one request may span (256 KiB): a request becomes one protocol
 * message per run of consecutive frames, each tagged with its part number.
 */
#define RMEM_RQ_MAX_FRAMES	64
/* low 32 bits of the tag of a batched DISCARD: no request's unique tag */
#define RMEM_DISCARD_TAG	0xffffffffu
/* ... and of the CLOSE that releases the region at detach */
#define RMEM_CLOSE_TAG		0xfffffffeu
/* a read whose data fails its checksum goes again this often, then fails */
#define RMEM_REREADS		2

#define RMEM_SECTORS_PER_FRAME	(RMEM_FRAME_SIZE >> SECTOR_SHIFT)

struct rmem_dev;

struct rmem_sock {
	struct rmem_dev *dev;
	unsigned int index;
	struct mutex tx_lock;		/* one request on the wire at a time */
	spinlock_t lock;		/* sock, for the timeout handler */
	struct socket *sock;		/* NULL while dead */
	bool dead;			/* shut down; the worker lets go of it */
	unsigned long dead_since;	/* jiffies */
	struct work_struct recv_work;
};

/*
 * Each request's driver data (blk_mq_rq_to_pdu()): what one dispatch of
 * it sent, and what its replies have answered. Named apart from the
 * RMEM_CMD_* netlink commands.
 */
struct rmem_pdu {
	u32 cookie;			/* bumped at each dispatch (24 bits used) */
	int queue;			/* socket it is in flight on, or -1 */
	blk_status_t status;
	u64 start_ns;			/* first dispatch; 0 when not in flight */
	u64 parts;			/* parts not yet answered, one bit each;
					 * set before the first is sent, then
					 * cleared by the receive worker only */
	u32 nslots;			/* slots the request spans */
	u32 frame[RMEM_RQ_MAX_FRAMES];	/* each slot's frame at dispatch */
	/* cache-line deltas (writes): slots that go as a PATCH, bit i for
	 * slot i, each its own part; their line masks and page hashes */
	u64 patch;
	bool mismatch;			/* a PATCH was refused: write again */
	bool no_delta;			/* ... in full: no PATCH this time */
	u64 mask[RMEM_RQ_MAX_FRAMES];
	u64 hash[RMEM_RQ_MAX_FRAMES];
	/* each slot's page if it is one whole page (rmem_rq_slot_pages),
	 * set at dispatch when the device has a fingerprint table */
	struct page *page[RMEM_RQ_MAX_FRAMES];
	u32 fp[RMEM_LINES_PER_FRAME];	/* scratch: one page's fingerprints */
	/* end-to-end check: each slot's checksum, written or to be found */
	u32 sum[RMEM_RQ_MAX_FRAMES];
	bool reread;			/* a page failed it: read again */
	u8 rereads;			/* times this request read again */
};

/* Which latency histogram a request counts in. */
enum { RMEM_LAT_READ, RMEM_LAT_WRITE, RMEM_LAT_KINDS };

struct rmem_dev {
	int index;
	u64 size;
	u64 nframes;			/* of the region: slots plus spare ones */
	unsigned int nsock;
	struct rmem_sock *socks;
	struct blk_mq_tag_set tag_set;
	struct gendisk *disk;
	unsigned long timeout;		/* jiffies; set under rmem_devs_lock */
	unsigned long dead_timeout;	/* jiffies; set under rmem_devs_lock */
	wait_queue_head_t reconnect_wq;
	/* no opener and none admitted (set under disk->open_mutex by
	 * rmem_dev_mark_removing, read by rmem_open under it), or going */
	bool removing;
	char donor[128];
	u64 region_id;
	u8 token[RMEM_TOKEN_SIZE];

	spinlock_t map_lock;		/* map */
	struct rmem_map map;		/* slot -> frame, and the free frames */
	u32 *map_mem;			/* the map's words (kvmalloc) */
	/*
	 * map_lock; per slot, the checksum of what its last write sent
	 * (rmem_slot_sum), which every read of the slot from the donor
	 * must match: 4 bytes a slot, always on.
	 */
	u32 *slot_sum;
	struct work_struct discard_work;	/* batched DISCARDs to the donor */
	/* the batch: one at a time, owned by whoever set discard_busy */
	u32 *discard_frames;		/* [RMEM_DISCARD_MAX_FRAMES] */
	struct rmem_extent *discard_ext;	/* [RMEM_MAX_DISCARD_EXTENTS] */
	bool discard_busy;		/* map_lock; a batch is being sent or answered */
	struct rmem_fpt fpt;		/* map_lock; line fingerprints of pages */
	struct rmem_fpt_entry *fpt_mem;	/* its entries (kvmalloc), or NULL */
	unsigned int delta_lines;	/* PATCH up to this many lines; 0: off */
	u32 discard_n;			/* map_lock; frames in the batch */
	u32 discard_cookie;		/* the batch's tag, high half */
	unsigned int discard_queue;	/* the socket it went out on */

	/*
	 * Counters since attach, lock-free; sysfs "stat" prints them in
	 * this order. A request is counted once it completes, however many
	 * times a reconnect made it go out again.
	 */
	atomic64_t reads;		/* READ requests completed */
	atomic64_t writes;		/* WRITE requests completed */
	atomic64_t discards;		/* DISCARD and WRITE_ZEROES completed */
	atomic64_t read_bytes;		/* bytes READ requests asked for */
	atomic64_t write_bytes;		/* bytes WRITE requests carried */
	atomic64_t bytes_out;		/* bytes sent to the donor, headers too */
	atomic64_t bytes_in;		/* bytes received from the donor */
	atomic64_t errors;		/* requests completed with an error */
	atomic64_t timeouts;		/* requests that timed out (socket killed) */
	atomic64_t reconnects;		/* sockets replaced by RECONFIGURE */
	atomic64_t in_flight;		/* dispatched, not yet completed */
	atomic64_t zero_reads;		/* slots read as zeros: no frame, no wire */
	atomic64_t slot_frees;		/* swap slots freed (swap_slot_free_notify) */
	atomic64_t frames_discarded;	/* frames the donor was told to drop */
	atomic64_t read_check_errors;	/* pages read that failed their checksum */
	atomic64_t read_rereads;	/* reads sent again for it */
	/*
	 * Cache-line deltas; sysfs "delta" prints them in this order, and
	 * "dirty_lines" the histogram. Bytes count headers and payloads of
	 * the WRITE and PATCH messages sent (resends too), against what
	 * whole pages would have taken: one header per request and 4 KiB
	 * per page.
	 */
	atomic64_t delta_patches;	/* pages sent as a PATCH */
	atomic64_t delta_full;		/* pages written whole */
	atomic64_t delta_mismatches;	/* PATCHes refused: written again */
	atomic64_t delta_busy;		/* base was another live slot's frame */
	atomic64_t write_wire_bytes;
	atomic64_t write_page_bytes;
	/* pages written that had a base, by lines differing from it */
	atomic64_t dirty_lines[RMEM_LINES_PER_FRAME + 1];
	/* completion latency from first dispatch, reads and writes apart */
	atomic64_t lat_total_ns[RMEM_LAT_KINDS];
	atomic64_t lat_hist[RMEM_LAT_KINDS][RMEM_LAT_BUCKETS];
};

/* Protects the device idr, CONNECT, DISCONNECT and timeout changes. */
extern struct mutex rmem_devs_lock;
extern struct idr rmem_devs;		/* rmem_devs_lock; index -> device */

/* What CONNECT asks a new device to be. */
struct rmem_dev_cfg {
	u64 size;			/* bytes, a multiple of the frame size */
	u64 nframes;			/* of the region: slots plus spare ones */
	unsigned int timeout_ms;
	unsigned int dead_timeout_ms;
	char donor[128];
	u64 region_id;
	u8 token[RMEM_TOKEN_SIZE];
};

struct rmem_dev *rmem_dev_create(const struct rmem_dev_cfg *cfg,
				 struct socket **socks, unsigned int n);

const char *rmem_dev_state(struct rmem_dev *dev);
u32 rmem_dev_frames_mapped(struct rmem_dev *dev);
void rmem_dev_delta_counts(struct rmem_dev *dev, u64 *retained, u64 *reclaimed,
			   u64 *evictions);
void rmem_dev_set_timeouts(struct rmem_dev *dev, unsigned int timeout_ms,
			   unsigned int dead_timeout_ms);

extern const struct attribute_group *rmem_attr_groups[];

/* rmem_main.c: device lifecycle, module init/exit */
extern struct workqueue_struct *rmem_recv_wq;
extern struct workqueue_struct *rmem_discard_wq;
int rmem_dev_mark_removing(struct rmem_dev *dev);
void rmem_dev_remove(struct rmem_dev *dev);
u64 rmem_dead_mask(struct rmem_dev *dev);

/* rmem_blk.c: blk-mq, mapping requests to frames and deltas */
extern const struct blk_mq_ops rmem_mq_ops;
extern const struct block_device_operations rmem_fops;
u16 rmem_rq_op(struct request *rq);
bool rmem_pdu_part(const struct rmem_pdu *pdu, unsigned int p,
		   u32 *first, u32 *count);
void rmem_read_done(struct rmem_dev *dev, struct request *rq,
		    struct rmem_pdu *pdu, u32 first, u32 count);
void rmem_forget_frames(struct rmem_dev *dev, struct rmem_pdu *pdu, u32 n);

/* rmem_sock.c: the transport */
struct socket *rmem_take_sock(int fd, int *err);
void rmem_start_sock(struct rmem_sock *rs, struct socket *sock);
void rmem_sock_kill(struct rmem_sock *rs);
void rmem_stop_socks(struct rmem_dev *dev);
struct socket *rmem_get_sock(struct rmem_dev *dev, struct rmem_sock *rs);
int rmem_xmit(struct socket *sock, struct iov_iter *iter, int flags);
int rmem_rq_data(struct socket *sock, struct request *rq, u32 off,
		 u32 len, bool send, int flags);
int rmem_send_rq(struct rmem_dev *dev, struct socket *sock,
		 struct request *rq, struct rmem_pdu *pdu, u16 op,
		 unsigned int nparts);
void rmem_release_region(struct rmem_dev *dev);

/* rmem_discard.c: batched DISCARDs */
void rmem_discard_work(struct work_struct *work);
void rmem_discard_kick(struct rmem_dev *dev);
int rmem_discard_reply(struct rmem_sock *rs, const struct rmem_reply *reply);
void rmem_discard_lost(struct rmem_sock *rs);

/* rmem_genl.c: the control plane */
extern struct genl_family rmem_genl;
void rmem_link_dead_event(struct rmem_dev *dev, unsigned int queue);

#endif /* RMEM_DRV_H */

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
#include <linux/completion.h>
#include <linux/idr.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/net.h>
#include <linux/spinlock.h>
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

/* A request's headers as they go on the wire (rmem_sock.tx_head). */
struct rmem_tx_head {
	struct rmem_req_hdr hdr;
	struct rmem_patch patch;	/* a PATCH's only */
};

/*
 * Pieces of a message one sendmsg takes: the header and a request's
 * payload, which rq_for_each_segment gives as pieces no larger than a
 * page (two per slot when a direct I/O buffer is not page-aligned); a
 * message of more pieces goes in several.
 */
#define RMEM_TX_BVECS		(1 + 2 * RMEM_RQ_MAX_FRAMES)

/*
 * An entry of a socket's send list: a request (its rmem_pdu) or a
 * control message (struct rmem_ctrl). The list is the order in which
 * they go on the wire.
 */
struct rmem_tx_item {
	struct list_head entry;		/* rmem_sock.lock */
	bool ctrl;			/* a struct rmem_ctrl, else a rmem_pdu */
};

/*
 * A message that is not a request (a batched DISCARD, the CLOSE at
 * removal), sent in turn with the requests so that it never cuts into
 * one: rmem_sock_send_ctrl(). Its caller owns it, and what data points
 * to, until it is sent or dropped with its socket.
 */
struct rmem_ctrl {
	struct rmem_tx_item tx;
	struct rmem_req_hdr hdr;	/* encoded by the caller */
	const void *data;		/* sent after hdr */
	u32 len;			/* of data */
	struct completion *done;	/* NULL, or completed when sent/dropped */
	int status;			/* then: 0 sent, -ENOTCONN dropped */
};

/*
 * One socket per hardware queue, and its send and receive sides. The
 * rules for who owns a request are at the top of rmem_sock.c.
 */
struct rmem_sock {
	struct rmem_dev *dev;
	unsigned int index;
	/* the right to send: held by whoever puts bytes on this socket
	 * (queue_rq with mutex_trylock, the send work, the release) */
	struct mutex tx_lock;
	spinlock_t lock;		/* the fields below, and every
					 * request's owner on this queue */
	struct socket *sock;		/* NULL while dead */
	bool dead;			/* shut down; the worker lets go of it */
	bool expired;			/* dead past dead_timeout, or the device
					 * is going: requests fail at once */
	u32 gen;			/* bumped when a socket is installed */
	unsigned long dead_since;	/* jiffies */
	unsigned long up_since;		/* jiffies */
	/* jiffies of the last byte sent or reply received on the socket
	 * (WRITE_ONCE, read by the timeout handler without a lock) */
	unsigned long progress;
	struct list_head send_list;	/* rmem_tx_items, in wire order */
	struct list_head sent_list;	/* requests sent on gen, unanswered */
	/* tx_lock: how far the head of send_list got on the wire */
	unsigned int tx_part;		/* part being sent (requests) */
	u32 tx_off;			/* bytes of that part's message sent */
	/* that part's header and PATCH header, in a page of their own so
	 * that they go in the same bvec array as the payload */
	struct rmem_tx_head *tx_head;
	/* tx_lock: the message's pieces, sent by one sendmsg per batch */
	struct bio_vec tx_bv[RMEM_TX_BVECS];
	void (*saved_write_space)(struct sock *sk);	/* the socket's own */
	/*
	 * The DISCARD batch's message when it goes out on this socket. One
	 * per socket, not per device: the donor may answer a batch before
	 * its sender has taken the message off the send list
	 * (rmem_tx_done), and the next batch, on another socket, must not
	 * relink a message still linked here. Reused only under tx_lock,
	 * which that sender holds until it let go of it.
	 */
	struct rmem_ctrl discard_ctrl;
	struct work_struct send_work;	/* sends the list (rmem_send_wq) */
	struct delayed_work dead_work;	/* fails parked requests */
	struct delayed_work tx_retry;	/* a send that found no memory */
	/*
	 * A connection of this queue failed, and no successor opened with a
	 * fence (a RECONFIGURE naming this queue in RMEM_ATTR_QUEUE_MASK)
	 * has replaced it: what it carried may still execute on the donor.
	 * Set by the release, cleared by that RECONFIGURE; while any queue
	 * has it, held frames stay held (rmem_discard_work).
	 */
	bool unfenced;
	struct work_struct recv_work;
};

/* Who holds a request (rmem_pdu.state); rmem_sock.c says how it moves. */
enum rmem_rq_state {
	RMEM_RQ_IDLE,			/* blk-mq's, or being completed */
	RMEM_RQ_QUEUED,			/* on send_list, no byte sent */
	RMEM_RQ_SENDING,		/* head of send_list, sent from on gen */
	RMEM_RQ_SENT,			/* on sent_list: all sent on gen */
};

/*
 * Each request's driver data (blk_mq_rq_to_pdu()): what one dispatch of
 * it sent, and what its replies have answered. Named apart from the
 * RMEM_CMD_* netlink commands.
 */
struct rmem_pdu {
	struct rmem_tx_item tx;		/* on its socket's send or sent list */
	enum rmem_rq_state state;	/* socket's lock */
	u32 gen;			/* socket's lock; socket generation the
					 * dispatch went out on */
	bool answered;			/* socket's lock; every part answered
					 * while the sender still held it */
	u16 op;				/* the protocol op it goes as */
	unsigned int nparts;		/* messages it goes out as */
	u32 zero_slots;			/* of a write: pages of zeros, not sent */
	u32 cookie;			/* bumped at each dispatch (24 bits used) */
	int queue;			/* socket it is queued or in flight on, or -1 */
	blk_status_t status;
	u64 start_ns;			/* first dispatch; 0 when not in flight */
	u64 parts;			/* parts not yet answered, one bit each;
					 * set before the first is sent, then
					 * cleared by the receive worker only */
	u32 nslots;			/* slots the request spans */
	u32 frame[RMEM_RQ_MAX_FRAMES];	/* each slot's frame at dispatch */
	/*
	 * Slots [0, frames_busy) of this dispatch counted as requests on
	 * their frames (rmem_map_rq_start): the map gives those frames to
	 * no other slot until rmem_rq_frames_end, which whoever takes this
	 * (xchg) calls once: the receive worker at the last answer, the
	 * socket's release when it is lost, queue_rq when it fails.
	 */
	u32 frames_busy;
	unsigned long nospc_since;	/* jiffies a write first found no frame; 0 */
	/* cache-line deltas (writes): slots that go as a PATCH, bit i for
	 * slot i, each its own part; their line masks and page hashes */
	u64 patch;
	bool mismatch;			/* a PATCH was refused: write again */
	bool no_delta;			/* ... in full: no PATCH this time */
	u64 mask[RMEM_RQ_MAX_FRAMES];
	u64 hash[RMEM_RQ_MAX_FRAMES];
	/* each slot's page if it is one whole page (rmem_rq_slot_pages),
	 * set at every dispatch: fingerprints, zero pages, checksums */
	struct page *page[RMEM_RQ_MAX_FRAMES];
	rmem_fp_t fp[RMEM_LINES_PER_FRAME];	/* scratch: one page's fingerprints */
	/* end-to-end check: each slot's checksum, written or to be found */
	u32 sum[RMEM_RQ_MAX_FRAMES];
	bool reread;			/* a page failed it: read again */
	u8 rereads;			/* times this request read again */
};

/* Which latency histogram a request counts in. */
enum { RMEM_LAT_READ, RMEM_LAT_WRITE, RMEM_LAT_KINDS };

/*
 * A device's counters, one copy per CPU: every request bumps about ten of
 * them, and shared atomics would put a cache line bouncing between the
 * CPUs that submit and the workers that complete, next to map_lock.
 * rmem_count() adds on this CPU (any context: this_cpu_add is
 * preempt- and irq-safe); rmem_counter() sums over the CPUs. A sum read
 * while requests run is a moment's, not a snapshot of all counters at
 * once, as the atomics were. in_flight goes up on one CPU and down on
 * another: only its sum means something. A 32-bit kernel could read a
 * copy torn; rmem's counters are statistics, and it is built for 64-bit.
 */
struct rmem_counters {
	/*
	 * Since attach; sysfs "stat" prints them in
	 * this order. A request is counted once it completes, however many
	 * times a reconnect made it go out again.
	 */
	u64 reads;		/* READ requests completed */
	u64 writes;		/* WRITE requests completed */
	u64 discards;		/* DISCARD and WRITE_ZEROES completed */
	u64 read_bytes;		/* bytes READ requests asked for */
	u64 write_bytes;		/* bytes WRITE requests carried */
	u64 bytes_out;		/* bytes sent to the donor, headers too */
	u64 bytes_in;		/* bytes received from the donor */
	u64 errors;		/* requests completed with an error */
	u64 timeouts;		/* requests that timed out (socket killed) */
	u64 reconnects;		/* sockets replaced by RECONFIGURE */
	u64 in_flight;		/* dispatched, not yet completed */
	u64 zero_reads;		/* slots read as zeros: no frame, no wire */
	u64 zero_writes;		/* pages of zeros written: no frame, no wire */
	u64 slot_waits;			/* dispatches that waited for a request
					 * of the same slot (a write's alone) */
	u64 slot_frees;		/* swap slots freed (swap_slot_free_notify) */
	u64 frames_discarded;	/* frames the donor was told to drop */
	u64 read_check_errors;	/* pages read that failed their checksum */
	u64 read_rereads;	/* reads sent again for it */
	/*
	 * Cache-line deltas; sysfs "delta" prints them in this order, and
	 * "dirty_lines" the histogram. Bytes count headers and payloads of
	 * the WRITE and PATCH messages sent (resends too), against what
	 * whole pages would have taken: one header per request and 4 KiB
	 * per page.
	 */
	u64 delta_patches;	/* pages sent as a PATCH */
	u64 delta_full;		/* pages written whole */
	u64 delta_mismatches;	/* PATCHes refused: written again */
	u64 delta_busy;		/* base was another live slot's frame */
	u64 delta_unsampled;	/* pages not fingerprinted: sampling */
	u64 write_wire_bytes;
	u64 write_page_bytes;
	/* pages written that had a base, by lines differing from it */
	u64 dirty_lines[RMEM_LINES_PER_FRAME + 1];
	/* completion latency from first dispatch, reads and writes apart */
	u64 lat_total_ns[RMEM_LAT_KINDS];
	u64 lat_hist[RMEM_LAT_KINDS][RMEM_LAT_BUCKETS];
};

#define rmem_count(dev, f, n)	this_cpu_add((dev)->cnt->f, (n))
#define rmem_uncount(dev, f)	this_cpu_dec((dev)->cnt->f)
#define rmem_counter(dev, f) ({						\
	u64 __sum = 0;							\
	int __cpu;							\
									\
	for_each_possible_cpu(__cpu)					\
		__sum += READ_ONCE(per_cpu_ptr((dev)->cnt, __cpu)->f);	\
	__sum;								\
})

struct rmem_dev {
	int index;
	u64 size;
	u64 nframes;			/* of the region: slots plus spare ones */
	unsigned int nsock;
	/* of the sockets, the last nread serve reads (HCTX_TYPE_READ), so
	 * that a swap-in does not queue behind a swap-out burst; 0: all
	 * serve everything */
	unsigned int nread;
	struct rmem_sock *socks;
	struct blk_mq_tag_set tag_set;
	struct gendisk *disk;
	unsigned long timeout;		/* jiffies; set under rmem_devs_lock */
	unsigned long dead_timeout;	/* jiffies; set under rmem_devs_lock */
	/* no opener and none admitted (set under disk->open_mutex by
	 * rmem_dev_mark_removing, read by rmem_open under it), or going;
	 * also set under map_lock, so rmem_discard_arm queues no work after
	 * removal cancelled it */
	bool removing;
	char donor[128];
	u64 region_id;
	u8 token[RMEM_TOKEN_SIZE];

	spinlock_t map_lock;		/* map */
	struct rmem_map map;		/* slot -> frame, and the free frames */
	u32 *map_mem;			/* the map's words (rmem_alloc_array) */
	/*
	 * map_lock; per slot, the checksum of what its last write sent
	 * (rmem_slot_sum), which every read of the slot from the donor
	 * must match: 4 bytes a slot, always on.
	 */
	u32 *slot_sum;
	/* batched DISCARDs to the donor; queued only under map_lock while
	 * !removing, and at the batch's deadline by itself */
	struct delayed_work discard_work;
	/*
	 * The batch: one at a time, owned by the discard work from setting
	 * discard_busy until it is on a socket's send list (discard_queue
	 * >= 0), then by that socket: its answer frees the frames
	 * (rmem_discard_reply), its end holds them (rmem_discard_lost), its
	 * deadline kills it (generation discard_gen only).
	 */
	u32 *discard_frames;		/* [RMEM_DISCARD_MAX_FRAMES] */
	struct rmem_extent *discard_ext;	/* [RMEM_MAX_DISCARD_EXTENTS] */
	bool discard_busy;		/* map_lock; a batch is being sent or answered */
	struct rmem_fpt fpt;		/* map_lock; line fingerprints of pages */
	/* its entries (rmem_alloc_array), or NULL; replaced under map_lock by the
	 * whole table (rmem_fpt_grow_work), so read without it only to
	 * know whether there is one */
	struct rmem_fpt_entry *fpt_mem;
	u32 fpt_most;			/* entries of the whole table */
	u32 fp_bits;			/* of each fingerprint kept; fixed */
	bool fpt_growing;		/* map_lock; fpt_grow_work queued */
	/* map_lock; growths that found no memory, and when to try again */
	u32 fpt_grow_fails;
	unsigned long fpt_grow_next;
	struct work_struct fpt_grow_work;
	unsigned int delta_lines;	/* PATCH up to this many lines; 0: off */
	/* map_lock (sampling: read without it); whether fingerprinting
	 * pays, rmem_delta.h */
	struct rmem_delta_adapt adapt;
	u32 discard_n;			/* map_lock; frames in the batch */
	u32 discard_cookie;		/* map_lock; the batch's tag, high half */
	int discard_queue;		/* map_lock; socket it is on, or -1 */
	unsigned long discard_sent;	/* map_lock; jiffies it was queued */
	u32 discard_gen;		/* map_lock; generation of that socket */

	/* counters since attach: per CPU, rmem_count() and rmem_counter() */
	struct rmem_counters __percpu *cnt;
};

/* Protects the device idr, CONNECT, DISCONNECT and timeout changes. */
extern struct mutex rmem_devs_lock;
extern struct idr rmem_devs;		/* rmem_devs_lock; index -> device */

/* What CONNECT asks a new device to be. */
struct rmem_dev_cfg {
	int index;			/* N of /dev/rmemN asked for, or -1: any */
	u64 size;			/* bytes, a multiple of the frame size */
	u64 nframes;			/* of the region: slots plus spare ones */
	unsigned int nread;		/* read queues, < the sockets */
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
void *rmem_alloc_array(size_t n, size_t size, gfp_t gfp);
extern struct workqueue_struct *rmem_recv_wq;
extern u32 rmem_zero_sum;
extern struct workqueue_struct *rmem_send_wq;
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
void rmem_rq_frames_end(struct rmem_dev *dev, struct request *rq, bool lost);
void rmem_fpt_grow_work(struct work_struct *work);

/* rmem_sock.c: the transport */
struct socket *rmem_take_sock(int fd, int *err);
void rmem_put_socks(struct socket **socks, unsigned int n);
int rmem_sock_init(struct rmem_sock *rs, struct rmem_dev *dev, unsigned int index);
void rmem_sock_free(struct rmem_sock *rs);
void rmem_start_sock(struct rmem_sock *rs, struct socket *sock);
void rmem_sock_kill(struct rmem_sock *rs, u32 gen);
void rmem_stop_socks(struct rmem_dev *dev);
void rmem_fail_parked(struct rmem_dev *dev);
int rmem_rq_data(struct socket *sock, struct request *rq, u32 off,
		 u32 len, bool send, int flags);
blk_status_t rmem_sock_queue_rq(struct rmem_sock *rs, struct request *rq,
				bool last);
void rmem_sock_commit(struct rmem_sock *rs);
bool rmem_sock_timeout(struct rmem_sock *rs, struct request *rq);
int __rmem_sock_send_ctrl(struct rmem_sock *rs, struct rmem_ctrl *ctrl);
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

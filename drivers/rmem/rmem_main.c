// SPDX-License-Identifier: GPL-2.0
/*
 * rmem: a block device whose every sector lives in memory lent by another
 * host (rmem-poold), reached over TCP with the protocol of
 * include/uapi/linux/rmem.h. Made to be swapped to.
 *
 * Userspace (rmemctl attach) connects, authenticates and opens a region,
 * then hands the connected sockets to this driver over generic netlink,
 * one per hardware queue. queue_rq() sends a request on its queue's
 * socket; a receive worker per socket matches replies to requests by tag
 * and completes them, in any order.
 *
 * Slots of the device map to frames of the region (rmem_map.c): a slot
 * gets a frame at its first write, a slot without one reads as zeros
 * locally, and discards and freed swap slots give frames back, which the
 * donor hears of in batches. A request spanning slots whose frames are
 * not consecutive goes out as one message per run, tagged by part.
 *
 * Cache-line deltas (rmem_delta.c): a written page whose physical page
 * was last read from, or written in full to, a frame that still holds
 * those bytes (retained after its slot was freed, or the slot's own)
 * goes to that frame as a PATCH of the 64-byte lines whose fingerprints
 * changed, with the hash of the whole new page; the donor applies it
 * only if the hash matches, and a MISMATCH makes the request go again in
 * full before it completes. Reads record the fingerprints of the pages
 * they fill.
 *
 * A socket that fails is shut down and its requests in flight are
 * requeued; they, and new requests for that queue, wait up to
 * dead_timeout for RECONFIGURE to hand over a new socket, then fail with
 * an I/O error. A request that gets no answer within its timeout kills
 * its socket the same way. Nothing waits forever and no reply is
 * accepted for a request it does not belong to (tag + per-dispatch
 * cookie).
 *
 * Swap safety: sockets are memalloc with GFP_NOIO allocations, socket I/O
 * runs under memalloc_noreclaim_save(), the receive workqueue has
 * WQ_MEM_RECLAIM, and the I/O path allocates nothing.
 */
#define pr_fmt(fmt) "rmem: " fmt

#include <linux/module.h>
#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/bvec.h>
#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/idr.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/net.h>
#include <linux/sched/mm.h>
#include <linux/uio.h>
#include <linux/version.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <net/genetlink.h>
#include <net/sock.h>

#include "rmem_drv.h"
#include "rmem_proto.h"

#define RMEM_SECTORS_PER_FRAME	(RMEM_FRAME_SIZE >> SECTOR_SHIFT)

static unsigned int queue_depth = 128;

module_param(queue_depth, uint, 0444);

MODULE_PARM_DESC(queue_depth, "Requests in flight per queue (default 128)");

/* the measurements behind the default: bench/README.md, "Write amplification" */
static unsigned int delta_lines = 48;

module_param(delta_lines, uint, 0644);

MODULE_PARM_DESC(delta_lines, "Send a written page as the 64-byte lines that changed when at most this many did, 0 to 63; 0 turns deltas off (default 48; per device: sysfs rmem/delta_lines)");

static unsigned int fp_entries;

module_param(fp_entries, uint, 0444);

MODULE_PARM_DESC(fp_entries, "Pages whose line fingerprints a device keeps, 272 bytes each (default 0: half the RAM's pages, at most one per slot)");

static unsigned int fp_bits = 32;

module_param(fp_bits, uint, 0444);

MODULE_PARM_DESC(fp_bits, "For tests only: bits kept of each line fingerprint, 1 to 32; fewer force collisions, which the donor's page hash catches (default 32)");

static int rmem_major;

DEFINE_IDR(rmem_devs);

DEFINE_MUTEX(rmem_devs_lock);

struct workqueue_struct *rmem_recv_wq;

struct workqueue_struct *rmem_discard_wq;

/*
 * The protocol op a request goes to the donor as; 0 if it has none. Block
 * DISCARD and WRITE_ZEROES never do: they only give frames back to the
 * map, and the donor hears of it in batches (rmem_discard_work).
 */
u16 rmem_rq_op(struct request *rq)
{
	switch (req_op(rq)) {
	case REQ_OP_READ:
		return RMEM_OP_READ;
	case REQ_OP_WRITE:
		return RMEM_OP_WRITE;
	default:
		return 0;
	}
}

/*
 * The page holding each slot of a request, if the slot's 4 KiB are
 * exactly one whole page (swap's always are), else NULL: no delta for
 * it. One walk of the request's segments, for planning, PATCH lines and
 * the fingerprints of what a read brings.
 */
static void rmem_rq_slot_pages(struct request *rq, struct rmem_cmd *cmd)
{
	struct req_iterator it;
	struct bio_vec bv;
	u32 pos = 0, i;

	for (i = 0; i < cmd->nslots; i++)
		cmd->page[i] = NULL;
	if (PAGE_SIZE != RMEM_FRAME_SIZE)
		return;
	rq_for_each_segment(bv, rq, it) {
		if (!(pos % RMEM_FRAME_SIZE) && !bv.bv_offset && bv.bv_len == PAGE_SIZE)
			cmd->page[pos / RMEM_FRAME_SIZE] = bv.bv_page;
		pos += bv.bv_len;
	}
}

/* Fingerprints of a page, into the command's scratch; its table key. */
static u64 rmem_page_key_fps(struct rmem_dev *dev, struct rmem_cmd *cmd,
			     struct page *page)
{
	void *p = kmap_local_page(page);

	rmem_page_fps(p, cmd->fp, dev->fpt.fp_mask);
	kunmap_local(p);
	return page_to_pfn(page) + 1;
}

/*
 * Part number p of a request: the p-th run of consecutive frames among
 * its slots, a PATCH being a run by itself (rmem_frames_next_run). Sets
 * the run's first slot and length; false if there is no such part.
 */
bool rmem_cmd_part(const struct rmem_cmd *cmd, unsigned int p,
			  u32 *first, u32 *count)
{
	u32 i = 0;

	do {
		if (!rmem_frames_next_run(cmd->frame, cmd->nslots, cmd->patch,
					  &i, first, count))
			return false;
	} while (p--);
	return true;
}

/* A read filled slots [first, first + count): they are their pages' bases. */
void rmem_note_read(struct rmem_dev *dev, struct request *rq,
			   struct rmem_cmd *cmd, u32 first, u32 count)
{
	u32 slot = blk_rq_pos(rq) / RMEM_SECTORS_PER_FRAME, i;

	if (!dev->fpt_mem || !READ_ONCE(dev->delta_lines))
		return;
	for (i = first; i < first + count; i++) {
		u64 key;

		if (!cmd->page[i])
			continue;
		key = rmem_page_key_fps(dev, cmd, cmd->page[i]);
		spin_lock(&dev->map_lock);
		rmem_delta_read(&dev->map, &dev->fpt, slot + i, cmd->frame[i],
				key, cmd->fp);
		spin_unlock(&dev->map_lock);
	}
}

/* The frames of slots [0, n) of a write no longer hold what the table says. */
void rmem_forget_frames(struct rmem_dev *dev, struct rmem_cmd *cmd, u32 n)
{
	u32 i;

	spin_lock(&dev->map_lock);
	for (i = 0; i < n; i++)
		rmem_delta_forget(&dev->map, cmd->frame[i]);
	spin_unlock(&dev->map_lock);
}

/* ---- the block device ---------------------------------------------- */

/* Count a request that leaves the driver, whichever way it does. */
static void rmem_account_end(struct rmem_dev *dev, struct request *rq,
			     blk_status_t status)
{
	struct rmem_cmd *cmd = blk_mq_rq_to_pdu(rq);
	u64 ns = cmd->start_ns ? ktime_get_ns() - cmd->start_ns : 0;
	int kind = -1;

	switch (req_op(rq)) {
	case REQ_OP_READ:
		atomic64_inc(&dev->reads);
		atomic64_add(blk_rq_bytes(rq), &dev->read_bytes);
		kind = RMEM_LAT_READ;
		break;
	case REQ_OP_WRITE:
		atomic64_inc(&dev->writes);
		atomic64_add(blk_rq_bytes(rq), &dev->write_bytes);
		kind = RMEM_LAT_WRITE;
		break;
	case REQ_OP_DISCARD:
	case REQ_OP_WRITE_ZEROES:
		atomic64_inc(&dev->discards);
		break;
	default:			/* FLUSH: not counted */
		break;
	}
	if (status != BLK_STS_OK)
		atomic64_inc(&dev->errors);
	if (kind >= 0 && cmd->start_ns && status == BLK_STS_OK) {
		atomic64_add(ns, &dev->lat_total_ns[kind]);
		atomic64_inc(&dev->lat_hist[kind][rmem_lat_bucket(ns)]);
	}
	if (cmd->start_ns)
		atomic64_dec(&dev->in_flight);
	cmd->start_ns = 0;
}

static void rmem_complete_rq(struct request *rq)
{
	struct rmem_cmd *cmd = blk_mq_rq_to_pdu(rq);

	rmem_account_end(rq->q->queuedata, rq, cmd->status);
	blk_mq_end_request(rq, cmd->status);
}

/*
 * Slot i of a write: its frame, and whether it goes as a PATCH against
 * the base its page has (rmem_delta_write); max_lines 0: in full.
 */
static int rmem_plan_write(struct rmem_dev *dev, struct rmem_cmd *cmd,
			   u32 slot, u32 i, unsigned int max_lines)
{
	struct page *page = max_lines && dev->fpt_mem ? cmd->page[i] : NULL;
	struct rmem_delta_plan plan;
	u64 key = 0;
	int ret;

	if (page)
		key = rmem_page_key_fps(dev, cmd, page);
	spin_lock(&dev->map_lock);
	ret = rmem_delta_write(&dev->map, &dev->fpt, slot, key, cmd->fp,
			       max_lines, &plan);
	spin_unlock(&dev->map_lock);
	if (ret)
		return ret;
	cmd->frame[i] = plan.frame;
	if (plan.busy)
		atomic64_inc(&dev->delta_busy);
	if (plan.base)
		atomic64_inc(&dev->dirty_lines[plan.lines]);
	if (plan.patch) {
		void *p = kmap_local_page(page);

		cmd->hash[i] = rmem_page_hash(p);
		kunmap_local(p);
		cmd->mask[i] = plan.mask;
		cmd->patch |= 1ull << i;
	}
	return 0;
}

/*
 * Look up (READ) or assign (WRITE) the frame of every slot of a request;
 * slots a read finds without one are zeroed here. The number of parts, or
 * -ENOSPC when a write must wait for frames a DISCARD will free.
 */
static int rmem_map_rq(struct rmem_dev *dev, struct request *rq,
		       struct rmem_cmd *cmd, u16 op)
{
	u32 slot = blk_rq_pos(rq) / RMEM_SECTORS_PER_FRAME, i, first, count;
	unsigned int parts = 0, zeros = 0;
	int ret = 0;

	cmd->nslots = blk_rq_bytes(rq) / RMEM_FRAME_SIZE;
	cmd->patch = 0;
	if (dev->fpt_mem)
		rmem_rq_slot_pages(rq, cmd);
	if (op == RMEM_OP_WRITE) {
		unsigned int k = cmd->no_delta ? 0 : READ_ONCE(dev->delta_lines);

		for (i = 0; i < cmd->nslots; i++) {
			ret = rmem_plan_write(dev, cmd, slot + i, i, k);
			if (ret) {
				/* the table already describes what was not sent */
				rmem_forget_frames(dev, cmd, i);
				return ret;
			}
		}
	} else {
		spin_lock(&dev->map_lock);
		for (i = 0; i < cmd->nslots; i++)
			cmd->frame[i] = rmem_map_lookup(&dev->map, slot + i);
		spin_unlock(&dev->map_lock);
	}
	for (i = 0; i < cmd->nslots; i++) {
		if (cmd->frame[i] == RMEM_NO_FRAME) {
			rmem_rq_data(NULL, rq, i * RMEM_FRAME_SIZE, RMEM_FRAME_SIZE,
				     false, 0);
			zeros++;
		}
	}
	if (zeros)
		atomic64_add(zeros, &dev->zero_reads);
	for (i = 0; rmem_frames_next_run(cmd->frame, cmd->nslots, cmd->patch, &i,
					 &first, &count);)
		parts++;
	return parts;
}

/*
 * Slots whose contents are no longer needed (a block DISCARD or
 * WRITE_ZEROES, a freed swap slot) give their frames back; a full batch
 * goes to the donor. Never sleeps: swap calls it under a spinlock.
 */
static void rmem_release_slots(struct rmem_dev *dev, u32 slot, u32 count)
{
	bool kick;

	spin_lock(&dev->map_lock);
	rmem_map_release_range(&dev->map, slot, count);
	kick = rmem_map_wants_discard(&dev->map);
	spin_unlock(&dev->map_lock);
	if (kick)
		rmem_discard_kick(dev);
}

static blk_status_t rmem_queue_rq(struct blk_mq_hw_ctx *hctx,
				  const struct blk_mq_queue_data *bd)
{
	struct request *rq = bd->rq;
	struct rmem_cmd *cmd = blk_mq_rq_to_pdu(rq);
	struct rmem_dev *dev = hctx->queue->queuedata;
	struct rmem_sock *rs = &dev->socks[hctx->queue_num];
	struct socket *sock;
	int nparts;
	u16 op;

	blk_mq_start_request(rq);
	cmd->status = BLK_STS_OK;
	cmd->queue = -1;
	cmd->mismatch = false;
	if (!cmd->start_ns)		/* not a requeued one */
		cmd->no_delta = false;
	switch (req_op(rq)) {
	case REQ_OP_FLUSH:
		/* the donor's memory has nothing to flush */
		blk_mq_end_request(rq, BLK_STS_OK);
		return BLK_STS_OK;
	case REQ_OP_DISCARD:
	case REQ_OP_WRITE_ZEROES:	/* a slot without a frame reads as zeros */
		rmem_release_slots(dev, blk_rq_pos(rq) / RMEM_SECTORS_PER_FRAME,
				   blk_rq_bytes(rq) / RMEM_FRAME_SIZE);
		rmem_account_end(dev, rq, BLK_STS_OK);
		blk_mq_end_request(rq, BLK_STS_OK);
		return BLK_STS_OK;
	default:
		break;
	}
	op = rmem_rq_op(rq);
	if (!op)
		return BLK_STS_NOTSUPP;
	if (blk_rq_pos(rq) % RMEM_SECTORS_PER_FRAME ||
	    blk_rq_bytes(rq) % RMEM_FRAME_SIZE || !blk_rq_bytes(rq) ||
	    blk_rq_bytes(rq) > RMEM_CMD_MAX_FRAMES * RMEM_FRAME_SIZE) {
		rmem_account_end(dev, rq, BLK_STS_IOERR);
		return BLK_STS_IOERR;
	}
	nparts = rmem_map_rq(dev, rq, cmd, op);
	if (nparts == -ENOSPC) {
		/* every frame is mapped or in the DISCARD on the wire: its
		 * answer frees them and reruns the queues */
		return BLK_STS_RESOURCE;
	}
	if (nparts < 0) {
		rmem_account_end(dev, rq, BLK_STS_IOERR);
		return BLK_STS_IOERR;
	}
	if (!cmd->start_ns) {		/* not a requeued one */
		cmd->start_ns = ktime_get_ns();
		atomic64_inc(&dev->in_flight);
		if (op == RMEM_OP_WRITE)	/* what whole pages would take */
			atomic64_add(sizeof(struct rmem_req_hdr) + blk_rq_bytes(rq),
				     &dev->write_page_bytes);
	}
	if (!nparts) {			/* a read of slots without frames */
		rmem_account_end(dev, rq, BLK_STS_OK);
		blk_mq_end_request(rq, BLK_STS_OK);
		return BLK_STS_OK;
	}

	for (;;) {
		int ret;

		sock = rmem_get_sock(dev, rs);
		if (!sock) {
			if (!READ_ONCE(dev->removing))
				dev_err_ratelimited(disk_to_dev(dev->disk),
						    "queue %u: no connection to %s for %u s: I/O fails\n",
						    rs->index, dev->donor,
						    jiffies_to_msecs(READ_ONCE(dev->dead_timeout)) / 1000);
			rmem_account_end(dev, rq, BLK_STS_IOERR);
			return BLK_STS_IOERR;
		}
		cmd->cookie++;
		cmd->parts = nparts == 64 ? ~0ull : (1ull << nparts) - 1;
		cmd->queue = rs->index;
		ret = rmem_send_rq(dev, sock, rq, cmd, op, nparts);
		mutex_unlock(&rs->tx_lock);
		if (!ret)
			break;
		/* the stream is broken: this one waits for the next socket */
		cmd->queue = -1;
		rmem_sock_kill(rs);
	}
	return BLK_STS_OK;
}

static enum blk_eh_timer_return rmem_timeout(struct request *rq)
{
	struct rmem_cmd *cmd = blk_mq_rq_to_pdu(rq);
	struct rmem_dev *dev = rq->q->queuedata;
	int q = READ_ONCE(cmd->queue);

	if (q >= 0) {
		struct rmem_sock *rs = &dev->socks[q];

		dev_warn_ratelimited(disk_to_dev(dev->disk),
				     "request on queue %d unanswered after %u ms\n",
				     q, jiffies_to_msecs(READ_ONCE(dev->timeout)));
		atomic64_inc(&dev->timeouts);
		/* the receive worker then requeues everything in flight */
		rmem_sock_kill(rs);
	}
	return BLK_EH_RESET_TIMER;
}

static int rmem_init_request(struct blk_mq_tag_set *set, struct request *rq,
			     unsigned int hctx_idx, unsigned int numa_node)
{
	struct rmem_cmd *cmd = blk_mq_rq_to_pdu(rq);

	cmd->cookie = 0;
	cmd->queue = -1;
	cmd->start_ns = 0;
	return 0;
}

const struct blk_mq_ops rmem_mq_ops = {
	.queue_rq	= rmem_queue_rq,
	.complete	= rmem_complete_rq,
	.timeout	= rmem_timeout,
	.init_request	= rmem_init_request,
};

/*
 * Swap freed a slot (under its swap_info lock: no sleeping). Its frame
 * goes back to the map, as zram frees its slot's memory here.
 */
static void rmem_swap_slot_free_notify(struct block_device *bdev,
				       unsigned long slot)
{
	struct rmem_dev *dev = bdev->bd_disk->private_data;

	rmem_release_slots(dev, slot, 1);
	atomic64_inc(&dev->slot_frees);
}

u32 rmem_dev_frames_mapped(struct rmem_dev *dev)
{
	return READ_ONCE(dev->map.nmapped);
}

void rmem_dev_delta_counts(struct rmem_dev *dev, u64 *retained, u64 *reclaimed,
			   u64 *evictions)
{
	spin_lock(&dev->map_lock);
	*retained = dev->map.nretained;
	*reclaimed = dev->map.reclaimed;
	*evictions = dev->fpt.evictions;
	spin_unlock(&dev->map_lock);
}

static const struct block_device_operations rmem_fops = {
	.owner			= THIS_MODULE,
	.swap_slot_free_notify	= rmem_swap_slot_free_notify,
};

/* ---- devices -------------------------------------------------------- */

static void rmem_dev_free(struct rmem_dev *dev)
{
	unsigned int i;

	for (i = 0; i < dev->nsock; i++)
		if (dev->socks[i].sock)
			sockfd_put(dev->socks[i].sock);
	if (dev->disk)
		put_disk(dev->disk);
	if (dev->tag_set.tags)
		blk_mq_free_tag_set(&dev->tag_set);
	kvfree(dev->map_mem);
	kvfree(dev->fpt_mem);
	kvfree(dev->discard_frames);
	kfree(dev->discard_ext);
	kfree(dev->socks);
	kfree(dev);
}

/* The fingerprint table; without the memory, the device runs without deltas. */
static void rmem_alloc_fpt(struct rmem_dev *dev)
{
	/* a page needs its entry from swap-in to swap-out, so the table
	 * is sized by RAM: the pages that can be in memory at once */
	u64 want = fp_entries ?: totalram_pages() / 2;
	u32 n = rmem_fpt_size(min_t(u64, want, dev->size / RMEM_FRAME_SIZE));

	dev->delta_lines = min(READ_ONCE(delta_lines), RMEM_LINES_PER_FRAME - 1);
	if (n)
		dev->fpt_mem = kvmalloc_array(n, sizeof(*dev->fpt_mem), GFP_KERNEL);
	if (!dev->fpt_mem) {
		if (n)
			pr_warn("no memory for %u line fingerprints: deltas off\n", n);
		n = 0;
		dev->delta_lines = 0;
	}
	rmem_fpt_init(&dev->fpt, dev->fpt_mem, n, fp_bits);
}

static int rmem_alloc_disk(struct rmem_dev *dev)
{
	struct gendisk *disk;
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
	struct queue_limits lim = {
		.logical_block_size	= RMEM_FRAME_SIZE,
		.physical_block_size	= RMEM_FRAME_SIZE,
		.io_min			= RMEM_FRAME_SIZE,
		.max_hw_sectors		= RMEM_CMD_MAX_FRAMES * RMEM_SECTORS_PER_FRAME,
		.max_hw_discard_sectors	= UINT_MAX >> 1 & ~(RMEM_SECTORS_PER_FRAME - 1),
		.max_write_zeroes_sectors = UINT_MAX >> 1 & ~(RMEM_SECTORS_PER_FRAME - 1),
		.discard_granularity	= RMEM_FRAME_SIZE,
		/* a page's hash and its lines are read at different times */
		.features		= BLK_FEAT_STABLE_WRITES,
	};

	disk = blk_mq_alloc_disk(&dev->tag_set, &lim, dev);
#else
	disk = blk_mq_alloc_disk(&dev->tag_set, dev);
#endif
	if (IS_ERR(disk))
		return PTR_ERR(disk);
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 11, 0)
	blk_queue_logical_block_size(disk->queue, RMEM_FRAME_SIZE);
	blk_queue_physical_block_size(disk->queue, RMEM_FRAME_SIZE);
	blk_queue_io_min(disk->queue, RMEM_FRAME_SIZE);
	blk_queue_max_hw_sectors(disk->queue,
				 RMEM_CMD_MAX_FRAMES * RMEM_SECTORS_PER_FRAME);
	blk_queue_max_discard_sectors(disk->queue,
				      UINT_MAX >> 1 & ~(RMEM_SECTORS_PER_FRAME - 1));
	blk_queue_max_write_zeroes_sectors(disk->queue,
				      UINT_MAX >> 1 & ~(RMEM_SECTORS_PER_FRAME - 1));
	disk->queue->limits.discard_granularity = RMEM_FRAME_SIZE;
	blk_queue_flag_set(QUEUE_FLAG_NONROT, disk->queue);
	blk_queue_flag_clear(QUEUE_FLAG_ADD_RANDOM, disk->queue);
	/* a page's hash and its lines are read at different times */
	blk_queue_flag_set(QUEUE_FLAG_STABLE_WRITES, disk->queue);
#endif
	disk->major = rmem_major;
	disk->first_minor = dev->index;
	disk->minors = 1;
	disk->fops = &rmem_fops;
	disk->private_data = dev;
	snprintf(disk->disk_name, sizeof(disk->disk_name), "rmem%d", dev->index);
	set_capacity(disk, dev->size >> SECTOR_SHIFT);
	blk_queue_rq_timeout(disk->queue, dev->timeout);
	dev->disk = disk;
	return 0;
}

/*
 * Make a device of sockets that userspace connected to one region
 * (CONNECT). The device owns the sockets from here on, whatever happens:
 * on failure they are put.
 */
struct rmem_dev *rmem_dev_create(const struct rmem_dev_cfg *cfg,
				 struct socket **socks, unsigned int n)
{
	struct rmem_dev *dev;
	unsigned int i;
	int err;

	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev) {
		while (n)
			sockfd_put(socks[--n]);
		return ERR_PTR(-ENOMEM);
	}
	dev->size = cfg->size;
	dev->nframes = cfg->nframes;
	dev->timeout = msecs_to_jiffies(cfg->timeout_ms);
	dev->dead_timeout = msecs_to_jiffies(cfg->dead_timeout_ms);
	strscpy(dev->donor, cfg->donor, sizeof(dev->donor));
	dev->region_id = cfg->region_id;
	memcpy(dev->token, cfg->token, RMEM_TOKEN_SIZE);
	init_waitqueue_head(&dev->reconnect_wq);
	spin_lock_init(&dev->map_lock);
	INIT_WORK(&dev->discard_work, rmem_discard_work);
	dev->socks = kcalloc(n, sizeof(*dev->socks), GFP_KERNEL);
	if (!dev->socks) {
		while (n)
			sockfd_put(socks[--n]);
		rmem_dev_free(dev);
		return ERR_PTR(-ENOMEM);
	}
	dev->nsock = n;
	for (i = 0; i < n; i++) {
		dev->socks[i].dev = dev;
		dev->socks[i].index = i;
		mutex_init(&dev->socks[i].tx_lock);
		spin_lock_init(&dev->socks[i].lock);
		dev->socks[i].sock = socks[i];	/* owned; started below */
	}
	/* a frame for every slot, and spare ones that keep bases */
	dev->map_mem = kvmalloc_array(rmem_map_words(dev->size / RMEM_FRAME_SIZE,
						     dev->nframes),
				      sizeof(u32), GFP_KERNEL);
	dev->discard_frames = kvmalloc_array(RMEM_DISCARD_MAX_FRAMES, sizeof(u32),
					     GFP_KERNEL);
	dev->discard_ext = kcalloc(RMEM_MAX_DISCARD_EXTENTS,
				   sizeof(struct rmem_extent), GFP_KERNEL);
	if (!dev->map_mem || !dev->discard_frames || !dev->discard_ext) {
		rmem_dev_free(dev);
		return ERR_PTR(-ENOMEM);
	}
	rmem_map_init(&dev->map, dev->map_mem, dev->size / RMEM_FRAME_SIZE,
		      dev->nframes);
	rmem_alloc_fpt(dev);

	mutex_lock(&rmem_devs_lock);
	dev->index = idr_alloc(&rmem_devs, dev, 0, 1 << MINORBITS, GFP_KERNEL);
	if (dev->index < 0) {
		err = dev->index;
		goto out_unlock;
	}
	dev->tag_set.ops = &rmem_mq_ops;
	dev->tag_set.nr_hw_queues = n;
	dev->tag_set.queue_depth = clamp(queue_depth, 1u, 4096u);
	dev->tag_set.numa_node = NUMA_NO_NODE;
	dev->tag_set.cmd_size = sizeof(struct rmem_cmd);
	dev->tag_set.flags = BLK_MQ_F_SHOULD_MERGE | BLK_MQ_F_BLOCKING;
	dev->tag_set.driver_data = dev;
	dev->tag_set.timeout = dev->timeout;
	err = blk_mq_alloc_tag_set(&dev->tag_set);
	if (err) {
		dev->tag_set.tags = NULL;
		goto out_idr;
	}
	err = rmem_alloc_disk(dev);
	if (err)
		goto out_idr;
	for (i = 0; i < n; i++)
		rmem_start_sock(&dev->socks[i], socks[i]);
	err = device_add_disk(NULL, dev->disk, rmem_attr_groups);
	if (err)
		goto out_stop;
	mutex_unlock(&rmem_devs_lock);
	dev_info(disk_to_dev(dev->disk), "%llu MiB on donor %s, %u queue%s\n",
		 dev->size >> 20, dev->donor, n, n == 1 ? "" : "s");
	return dev;

out_stop:
	WRITE_ONCE(dev->removing, true);
	rmem_stop_socks(dev);
out_idr:
	idr_remove(&rmem_devs, dev->index);
out_unlock:
	mutex_unlock(&rmem_devs_lock);
	rmem_dev_free(dev);
	return ERR_PTR(err);
}

/* Tear down a device out of the idr: waiters fail, in-flight drains. */
void rmem_dev_remove(struct rmem_dev *dev)
{
	WRITE_ONCE(dev->removing, true);
	wake_up_all(&dev->reconnect_wq);
	cancel_work_sync(&dev->discard_work);
	del_gendisk(dev->disk);		/* drains what is in flight */
	rmem_release_region(dev);
	rmem_stop_socks(dev);
	rmem_dev_free(dev);
}

u64 rmem_dead_mask(struct rmem_dev *dev)
{
	u64 dead = 0;
	unsigned int i;

	for (i = 0; i < dev->nsock; i++)
		if (READ_ONCE(dev->socks[i].dead))
			dead |= 1ull << i;
	return dead;
}

/* "up", "degraded" (some queues wait for a reconnect) or "dead" (all do) */
const char *rmem_dev_state(struct rmem_dev *dev)
{
	u64 dead = rmem_dead_mask(dev);

	return !dead ? "up" : dead == (1ull << dev->nsock) - 1 ? "dead" : "degraded";
}

/* New timeouts, in ms (0 keeps one); for requests dispatched from now. */
void rmem_dev_set_timeouts(struct rmem_dev *dev, unsigned int timeout_ms,
			   unsigned int dead_timeout_ms)
{
	lockdep_assert_held(&rmem_devs_lock);
	if (timeout_ms) {
		WRITE_ONCE(dev->timeout, msecs_to_jiffies(timeout_ms));
		blk_queue_rq_timeout(dev->disk->queue, dev->timeout);
	}
	if (dead_timeout_ms)
		WRITE_ONCE(dev->dead_timeout, msecs_to_jiffies(dead_timeout_ms));
}

static int __init rmem_init(void)
{
	int err;

	rmem_recv_wq = alloc_workqueue("rmem-recv", WQ_MEM_RECLAIM | WQ_UNBOUND, 0);
	if (!rmem_recv_wq)
		return -ENOMEM;
	rmem_discard_wq = alloc_workqueue("rmem-discard", WQ_MEM_RECLAIM | WQ_UNBOUND, 0);
	if (!rmem_discard_wq) {
		err = -ENOMEM;
		goto out_wq;
	}
	rmem_major = register_blkdev(0, "rmem");
	if (rmem_major < 0) {
		err = rmem_major;
		goto out_discard_wq;
	}
	err = genl_register_family(&rmem_genl);
	if (err)
		goto out_blkdev;
	pr_info("remote-memory block device, protocol %u\n", RMEM_PROTO_VERSION);
	return 0;

out_blkdev:
	unregister_blkdev(rmem_major, "rmem");
out_discard_wq:
	destroy_workqueue(rmem_discard_wq);
out_wq:
	destroy_workqueue(rmem_recv_wq);
	return err;
}

static void __exit rmem_exit(void)
{
	struct rmem_dev *dev;
	int id = 0;

	genl_unregister_family(&rmem_genl);
	/* no opener can remain: the module is referenced while one does */
	while ((dev = idr_get_next(&rmem_devs, &id))) {
		idr_remove(&rmem_devs, dev->index);
		rmem_dev_remove(dev);
	}
	idr_destroy(&rmem_devs);
	unregister_blkdev(rmem_major, "rmem");
	destroy_workqueue(rmem_discard_wq);
	destroy_workqueue(rmem_recv_wq);
}

module_init(rmem_init);

module_exit(rmem_exit);

MODULE_LICENSE("GPL");

MODULE_DESCRIPTION("rmem: swap to memory lent by another host");

MODULE_ALIAS_GENL_FAMILY(RMEM_GENL_NAME);

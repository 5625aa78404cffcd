// SPDX-License-Identifier: GPL-2.0
/*
 * rmem's block device: blk-mq queue_rq, completion and timeout, the
 * mapping of a request's slots to frames (rmem_map.c) and of a write's
 * pages to cache-line deltas (rmem_delta.c), and the swap hook that gives
 * a freed slot's frame back.
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
#include "rmem_kcompat.h"
#include "rmem_proto.h"
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
static void rmem_rq_slot_pages(struct request *rq, struct rmem_pdu *pdu)
{
	struct req_iterator it;
	struct bio_vec bv;
	u32 pos = 0, i;

	for (i = 0; i < pdu->nslots; i++)
		pdu->page[i] = NULL;
	if (PAGE_SIZE != RMEM_FRAME_SIZE)
		return;
	rq_for_each_segment(bv, rq, it) {
		if (!(pos % RMEM_FRAME_SIZE) && !bv.bv_offset && bv.bv_len == PAGE_SIZE)
			pdu->page[pos / RMEM_FRAME_SIZE] = bv.bv_page;
		pos += bv.bv_len;
	}
}

/*
 * The page hash (rmem_page_hash: XXH64 of the 4 KiB) of slot i's data,
 * whether the slot is one whole page or spread over segments. The
 * end-to-end check keeps its low 32 bits per slot.
 */
static u64 rmem_rq_slot_hash(struct request *rq, struct rmem_pdu *pdu, u32 i)
{
	struct rmem_xxh64_state st;
	struct req_iterator it;
	struct bio_vec bv;
	u32 pos = 0, off = i * RMEM_FRAME_SIZE, end = off + RMEM_FRAME_SIZE;
	u64 h;

	if (pdu->page[i]) {
		void *p = kmap_local_page(pdu->page[i]);

		h = rmem_page_hash(p);
		kunmap_local(p);
		return h;
	}
	rmem_xxh64_reset(&st, RMEM_HASH_SEED);
	rq_for_each_segment(bv, rq, it) {
		u32 s = max(off, pos), e = min(end, pos + bv.bv_len);

		if (s < e) {
			void *p = kmap_local_page(bv.bv_page);

			rmem_xxh64_update(&st, p + bv.bv_offset + (s - pos), e - s);
			kunmap_local(p);
		}
		pos += bv.bv_len;
		if (pos >= end)
			break;
	}
	return rmem_xxh64_digest(&st);
}

/* A page's key in the fingerprint table. */
static u64 rmem_page_key(struct page *page)
{
	return page_to_pfn(page) + 1;
}

/* Fingerprints of a page, into the command's scratch. */
static void rmem_page_fps_of(struct rmem_dev *dev, struct rmem_pdu *pdu,
			     struct page *page)
{
	void *p = kmap_local_page(page);

	rmem_page_fps(p, pdu->fp, dev->fp_bits);
	kunmap_local(p);
}

/*
 * Part number p of a request: the p-th run of consecutive frames among
 * its slots, a PATCH being a run by itself (rmem_frames_next_run). Sets
 * the run's first slot and length; false if there is no such part.
 */
bool rmem_pdu_part(const struct rmem_pdu *pdu, unsigned int p,
			  u32 *first, u32 *count)
{
	u32 i = 0;

	do {
		if (!rmem_frames_next_run(pdu->frame, pdu->nslots, pdu->patch,
					  &i, first, count))
			return false;
	} while (p--);
	return true;
}

/*
 * A fingerprint pass (under map_lock), for the sampling policy: a
 * verdict that deltas pay while the table is still its start queues the
 * work that grows it, once at a time, never on a device going away.
 */
static void rmem_delta_noted(struct rmem_dev *dev, bool read, bool patch)
{
	lockdep_assert_held(&dev->map_lock);
	if (rmem_delta_adapt_note(&dev->adapt, read, patch) &&
	    !dev->fpt_growing && !dev->removing &&
	    time_after_eq(jiffies, dev->fpt_grow_next)) {
		dev->fpt_growing = true;
		queue_work(system_unbound_wq, &dev->fpt_grow_work);
	}
}

/*
 * The fingerprint table grows to hold every page (rmem_delta.h, "A table
 * that grows"): allocated here, where nothing waits for it, without I/O
 * (under memory pressure the table stays as it is, the device goes on
 * sampling, and a later verdict tries again, after 1, 2, 4 .. 64 s);
 * then the entries move into it under map_lock, which every user of the
 * table holds, and every page is fingerprinted from then on. The move
 * walks the start table once under that lock (a sixteenth of RAM's
 * pages: a few ms per GiB of RAM), once in the device's life.
 */
void rmem_fpt_grow_work(struct work_struct *work)
{
	struct rmem_dev *dev = container_of(work, struct rmem_dev, fpt_grow_work);
	u32 n = dev->fpt_most, was = 0;
	struct rmem_fpt_entry *mem, *old = NULL;
	struct rmem_fpt to;
	unsigned int noio;
	bool kick;

	noio = memalloc_noio_save();
	mem = rmem_alloc_array(n, sizeof(*mem), GFP_KERNEL | __GFP_NORETRY);
	memalloc_noio_restore(noio);
	if (mem)
		rmem_fpt_init(&to, mem, n, dev->fp_bits);
	spin_lock(&dev->map_lock);
	if (mem && !dev->removing && dev->adapt.small) {
		was = dev->fpt.nsets * RMEM_FPT_WAYS;
		rmem_fpt_move(&dev->map, &dev->fpt, &to);
		old = dev->fpt_mem;
		dev->fpt = to;
		WRITE_ONCE(dev->fpt_mem, mem);
		mem = NULL;
		rmem_delta_adapt_grown(&dev->adapt);
	} else if (!mem) {
		dev->fpt_grow_fails++;
		dev->fpt_grow_next = jiffies + (HZ << min(dev->fpt_grow_fails - 1, 6u));
	}
	dev->fpt_growing = false;
	kick = rmem_map_wants_discard(&dev->map);
	spin_unlock(&dev->map_lock);
	if (old)
		dev_info(disk_to_dev(dev->disk),
			 "deltas pay: line fingerprints of every page (%u, %u KiB), from %u sampled\n",
			 n, (u32)(n * sizeof(*mem) >> 10), was);
	kvfree(mem);
	kvfree(old);
	if (kick)
		rmem_discard_kick(dev);
}

/*
 * A read filled slots [first, first + count) from the donor: each must
 * hash to the checksum its slot's last write left (rmem_slot_sum), or
 * the data is not what was written: a donor bug, memory corrupted on the
 * donor, a reply torn by a concurrent write, or bytes changed on the
 * wire. Then the request reads again (RMEM_REREADS times) and then fails
 * with an I/O error; it never completes with wrong data. Good pages are
 * their pages' delta bases.
 */
void rmem_read_done(struct rmem_dev *dev, struct request *rq,
		    struct rmem_pdu *pdu, u32 first, u32 count)
{
	u32 slot = blk_rq_pos(rq) / RMEM_SECTORS_PER_FRAME, i;
	bool fps = READ_ONCE(dev->fpt_mem) && READ_ONCE(dev->delta_lines);

	for (i = first; i < first + count; i++) {
		u64 key;

		if (rmem_slot_sum(rmem_rq_slot_hash(rq, pdu, i)) != pdu->sum[i]) {
			rmem_count(dev, read_check_errors, 1);
			dev_err_ratelimited(disk_to_dev(dev->disk),
					    "slot %u (frame %u) read from %s fails its checksum%s\n",
					    slot + i, pdu->frame[i], dev->donor,
					    pdu->rereads < RMEM_REREADS ?
					    ": reading it again" : ": I/O error");
			if (pdu->rereads < RMEM_REREADS)
				pdu->reread = true;
			else
				pdu->status = BLK_STS_IOERR;
			continue;
		}
		if (!fps || !pdu->page[i])
			continue;
		key = rmem_page_key(pdu->page[i]);
		if (!rmem_delta_adapt_wants(&dev->adapt, key)) {
			rmem_count(dev, delta_unsampled, 1);
			continue;
		}
		rmem_page_fps_of(dev, pdu, pdu->page[i]);
		spin_lock(&dev->map_lock);
		rmem_delta_read(&dev->map, &dev->fpt, slot + i, pdu->frame[i],
				key, pdu->fp);
		rmem_delta_noted(dev, true, false);
		spin_unlock(&dev->map_lock);
	}
}

/* The frames of slots [0, n) of a write no longer hold what the table says. */
void rmem_forget_frames(struct rmem_dev *dev, struct rmem_pdu *pdu, u32 n)
{
	u32 i;

	spin_lock(&dev->map_lock);
	for (i = 0; i < n; i++)
		rmem_delta_forget(&dev->map, pdu->frame[i]);
	spin_unlock(&dev->map_lock);
}


/*
 * This dispatch of the request is over for its frames (rmem_map_rq_end):
 * answered, failed before it was sent, or lost with its socket. lost: it
 * may have reached a socket that died; for a write that means the donor
 * may still execute it, and its frames are held until a DISCARD naming
 * them is answered. Once per dispatch, by whoever takes frames_busy.
 */
void rmem_rq_frames_end(struct rmem_dev *dev, struct request *rq, bool lost)
{
	struct rmem_pdu *pdu = blk_mq_rq_to_pdu(rq);
	u32 slot = blk_rq_pos(rq) / RMEM_SECTORS_PER_FRAME;
	u32 n = xchg(&pdu->frames_busy, 0), i;
	bool kick, rerun = false;

	if (!n)
		return;
	lost = lost && req_op(rq) == REQ_OP_WRITE;
	spin_lock(&dev->map_lock);
	for (i = 0; i < n; i++)
		if (pdu->frame[i] != RMEM_NO_FRAME)
			rerun |= rmem_map_rq_end(&dev->map, slot + i,
						 pdu->frame[i], lost);
	kick = rmem_map_wants_discard(&dev->map);
	spin_unlock(&dev->map_lock);
	if (kick)
		rmem_discard_kick(dev);
	/*
	 * A request waited for one of these frames (-EAGAIN): try it again.
	 * Not blk_mq_run_hw_queues, which skips a queue with nothing
	 * pending: the waiter may not be back on its dispatch list yet.
	 */
	if (rerun)
		blk_mq_delay_run_hw_queues(dev->disk->queue, 0);
}

/* Count a request that leaves the driver, whichever way it does. */
static void rmem_account_end(struct rmem_dev *dev, struct request *rq,
			     blk_status_t status)
{
	struct rmem_pdu *pdu = blk_mq_rq_to_pdu(rq);
	u64 ns = pdu->start_ns ? ktime_get_ns() - pdu->start_ns : 0;
	int kind = -1;

	switch (req_op(rq)) {
	case REQ_OP_READ:
		rmem_count(dev, reads, 1);
		rmem_count(dev, read_bytes, blk_rq_bytes(rq));
		kind = RMEM_LAT_READ;
		break;
	case REQ_OP_WRITE:
		rmem_count(dev, writes, 1);
		rmem_count(dev, write_bytes, blk_rq_bytes(rq));
		/* here, once: a write that waited for frames planned (and
		 * found its pages of zeros) more than once */
		if (status == BLK_STS_OK)
			rmem_count(dev, zero_writes, pdu->zero_slots);
		kind = RMEM_LAT_WRITE;
		break;
	case REQ_OP_DISCARD:
	case REQ_OP_WRITE_ZEROES:
		rmem_count(dev, discards, 1);
		break;
	default:			/* FLUSH: not counted */
		break;
	}
	if (status != BLK_STS_OK)
		rmem_count(dev, errors, 1);
	if (kind >= 0 && pdu->start_ns && status == BLK_STS_OK) {
		rmem_count(dev, lat_total_ns[kind], ns);
		rmem_count(dev, lat_hist[kind][rmem_lat_bucket(ns)], 1);
	}
	if (pdu->start_ns)
		rmem_uncount(dev, in_flight);
	pdu->start_ns = 0;
	pdu->nospc_since = 0;
}

/*
 * rmem_map_rq found nothing to send (0: a read of slots without frames)
 * or failed. A write that finds every frame mapped, draining, held or in
 * a DISCARD waits for the DISCARD that frees some (its answer reruns the
 * queues; a DISCARD unanswered past the timeout drops its socket and goes
 * out on another) but not forever: after dead_timeout it fails. A
 * request that found a write of its slots in flight waits for it: that
 * write's end reruns the queues (rmem_rq_frames_end), and a wait past
 * dead_timeout fails too, so that writes that never stop cannot hold a
 * read forever.
 */
static blk_status_t rmem_rq_unmapped(struct rmem_dev *dev, struct request *rq,
				     struct rmem_pdu *pdu, int nparts)
{
	unsigned long wait = READ_ONCE(dev->dead_timeout);

	if (!nparts) {
		rmem_account_end(dev, rq, BLK_STS_OK);
		blk_mq_end_request(rq, BLK_STS_OK);
		return BLK_STS_OK;
	}
	if (nparts != -ENOSPC && nparts != -EAGAIN) {
		rmem_account_end(dev, rq, BLK_STS_IOERR);
		return BLK_STS_IOERR;
	}
	if (!pdu->nospc_since) {
		pdu->nospc_since = jiffies ?: 1;
		if (nparts == -EAGAIN)
			rmem_count(dev, slot_waits, 1);	/* once a request */
	} else if (time_after(jiffies, pdu->nospc_since + wait)) {
		if (nparts == -EAGAIN)
			dev_err_ratelimited(disk_to_dev(dev->disk),
					    "%s at sector %llu waited %u s for writes of the same blocks: I/O fails\n",
					    rq_data_dir(rq) ? "write" : "read",
					    (unsigned long long)blk_rq_pos(rq),
					    jiffies_to_msecs(wait) / 1000);
		else
			dev_err_ratelimited(disk_to_dev(dev->disk),
					    "no frame free for a write for %u s (donor not answering DISCARDs?): I/O fails\n",
					    jiffies_to_msecs(wait) / 1000);
		rmem_account_end(dev, rq, BLK_STS_IOERR);
		return BLK_STS_IOERR;
	}
	if (nparts == -ENOSPC)
		rmem_discard_kick(dev);
	return BLK_STS_RESOURCE;
}

static void rmem_complete_rq(struct request *rq)
{
	struct rmem_pdu *pdu = blk_mq_rq_to_pdu(rq);

	rmem_account_end(rq->q->queuedata, rq, pdu->status);
	blk_mq_end_request(rq, pdu->status);
}

static void rmem_release_slots(struct rmem_dev *dev, u32 slot, u32 count);

static bool rmem_page_is_zero(struct page *page)
{
	void *p = kmap_local_page(page);
	bool zero = !memchr_inv(p, 0, PAGE_SIZE);

	kunmap_local(p);
	return zero;
}

/*
 * Slot i of a write: its frame, and whether it goes as a PATCH against
 * the base its page has (rmem_delta_write); max_lines 0: in full.
 */
static int rmem_plan_write(struct rmem_dev *dev, struct rmem_pdu *pdu,
			   u32 slot, u32 i, unsigned int max_lines)
{
	struct page *page = max_lines && READ_ONCE(dev->fpt_mem) ? pdu->page[i] : NULL;
	struct rmem_delta_plan plan;
	u64 key = 0;
	int ret;

	/*
	 * A page of zeros (the 6.1 swap core writes them as any page) goes
	 * nowhere: its slot gives its frame back and reads as zeros, as
	 * after a discard, with no byte on the wire.
	 */
	if (pdu->page[i] && rmem_page_is_zero(pdu->page[i])) {
		rmem_release_slots(dev, slot, 1);
		pdu->frame[i] = RMEM_NO_FRAME;
		pdu->zero_slots++;
		return 0;
	}
	if (page && !rmem_delta_adapt_wants(&dev->adapt, rmem_page_key(page))) {
		rmem_count(dev, delta_unsampled, 1);
		page = NULL;	/* whole, and its table entry is not updated */
	}
	if (page) {
		key = rmem_page_key(page);
		rmem_page_fps_of(dev, pdu, page);
	}
	spin_lock(&dev->map_lock);
	/* a write of the slot in flight: wait, the table untouched */
	ret = rmem_map_write_prepare(&dev->map, slot);
	if (!ret)
		ret = rmem_delta_write(&dev->map, &dev->fpt, slot, key,
				       pdu->fp, max_lines, &plan);
	if (!ret && page)
		rmem_delta_noted(dev, false, plan.patch);
	/*
	 * Under the same lock: a release from now on drains the frame, which
	 * is this write's alone (rmem_map.h). It is a fresh frame or a base
	 * nobody names (write_prepare let a busy one go): should it not be,
	 * the table, which already holds this page's fingerprints, must not
	 * take it for a base of them.
	 */
	if (!ret) {
		ret = rmem_map_rq_start_write(&dev->map, plan.frame);
		if (ret)
			rmem_delta_forget(&dev->map, plan.frame);
	}
	if (!ret) {
		pdu->frame[i] = plan.frame;
		pdu->frames_busy = i + 1;
	}
	spin_unlock(&dev->map_lock);
	if (ret)
		return ret;
	if (plan.busy)
		rmem_count(dev, delta_busy, 1);
	if (plan.base)
		rmem_count(dev, dirty_lines[plan.lines], 1);
	if (plan.patch) {
		void *p = kmap_local_page(page);

		pdu->hash[i] = rmem_page_hash(p);
		kunmap_local(p);
		pdu->mask[i] = plan.mask;
		pdu->patch |= 1ull << i;
	}
	return 0;
}

/*
 * Look up (READ) or assign (WRITE) the frame of every slot of a request;
 * slots a read finds without one are zeroed here. The number of parts, or
 * -ENOSPC when a write must wait for frames a DISCARD will free, -EAGAIN
 * when a write of the same slots is in flight and this one must wait.
 */
static int rmem_map_rq(struct rmem_dev *dev, struct request *rq,
		       struct rmem_pdu *pdu, u16 op)
{
	u32 slot = blk_rq_pos(rq) / RMEM_SECTORS_PER_FRAME, i, first, count;
	unsigned int parts = 0, zeros = 0;
	int ret = 0;

	pdu->nslots = blk_rq_bytes(rq) / RMEM_FRAME_SIZE;
	pdu->patch = 0;
	pdu->zero_slots = 0;
	pdu->frames_busy = 0;
	rmem_rq_slot_pages(rq, pdu);
	if (op == RMEM_OP_WRITE) {
		unsigned int k = pdu->no_delta ? 0 : READ_ONCE(dev->delta_lines);

		for (i = 0; i < pdu->nslots; i++) {
			ret = rmem_plan_write(dev, pdu, slot + i, i, k);
			if (ret) {
				/* the table already describes what was not sent */
				rmem_forget_frames(dev, pdu, i);
				rmem_rq_frames_end(dev, rq, false);
				return ret;
			}
			/* a PATCH has the page hash already; zeros need none */
			if (pdu->frame[i] == RMEM_NO_FRAME)
				pdu->sum[i] = rmem_zero_sum;
			else
				pdu->sum[i] = rmem_slot_sum(pdu->patch >> i & 1 ? pdu->hash[i] :
							    rmem_rq_slot_hash(rq, pdu, i));
		}
		/*
		 * What reads of these slots must find from now on, set before
		 * the write is sent: a read racing this write (undefined for
		 * a block device) can fail its check, never pass with bytes
		 * that were not written.
		 */
		spin_lock(&dev->map_lock);
		for (i = 0; i < pdu->nslots; i++)
			/* unless a discard racing this write took the frame:
			 * the slot then reads as zeros, and holds them */
			if (rmem_map_lookup(&dev->map, slot + i) == pdu->frame[i])
				dev->slot_sum[slot + i] = pdu->sum[i];
		spin_unlock(&dev->map_lock);
	} else {
		/* a frame a read names goes to no other slot before the
		 * read's answer is in: it would bring another slot's data */
		spin_lock(&dev->map_lock);
		for (i = 0; i < pdu->nslots; i++) {
			pdu->frame[i] = rmem_map_lookup(&dev->map, slot + i);
			pdu->sum[i] = dev->slot_sum[slot + i];
			if (pdu->frame[i] == RMEM_NO_FRAME &&
			    pdu->sum[i] != rmem_zero_sum) {
				/*
				 * Written, then its frame went with a write
				 * lost with its socket that never made it
				 * again: what the slot holds is unknown, not
				 * zeros (a discard or a new write ends it).
				 */
				spin_unlock(&dev->map_lock);
				rmem_rq_frames_end(dev, rq, false);
				dev_err_ratelimited(disk_to_dev(dev->disk),
						    "slot %u lost its data with a failed write: I/O error\n",
						    slot + i);
				return -EIO;
			}
			/* -EAGAIN: a write of the slot is in flight, and
			 * the read waits for it (rmem_map.h) */
			ret = pdu->frame[i] == RMEM_NO_FRAME ? 0 :
			      rmem_map_rq_start(&dev->map, pdu->frame[i]);
			if (ret) {
				spin_unlock(&dev->map_lock);
				rmem_rq_frames_end(dev, rq, false);
				return ret;
			}
			pdu->frames_busy = i + 1;
		}
		spin_unlock(&dev->map_lock);
	}
	for (i = 0; i < pdu->nslots; i++) {
		/* a read's slot without a frame is zeros; a write's (its page
		 * was zeros) is left alone: the page is the writer's */
		if (pdu->frame[i] == RMEM_NO_FRAME && op == RMEM_OP_READ) {
			rmem_rq_data(NULL, rq, i * RMEM_FRAME_SIZE, RMEM_FRAME_SIZE,
				     false, 0);
			zeros++;
		}
	}
	if (zeros)
		rmem_count(dev, zero_reads, zeros);
	for (i = 0; rmem_frames_next_run(pdu->frame, pdu->nslots, pdu->patch, &i,
					 &first, &count);)
		parts++;
	return parts;
}

/*
 * Slots whose contents are no longer needed (a block DISCARD or
 * WRITE_ZEROES, a freed swap slot) give their frames back; a full batch
 * goes to the donor. A frame a request in flight still names (a write
 * racing the discard of its slot, a read) drains: no other slot gets it
 * before that request ends (rmem_map.h). Never sleeps: swap calls it
 * under a spinlock.
 */
static void rmem_release_slots(struct rmem_dev *dev, u32 slot, u32 count)
{
	bool kick;
	u32 i;

	spin_lock(&dev->map_lock);
	rmem_map_release_range(&dev->map, slot, count);
	for (i = 0; i < count; i++)
		dev->slot_sum[slot + i] = rmem_zero_sum;	/* reads as zeros */
	kick = rmem_map_wants_discard(&dev->map);
	spin_unlock(&dev->map_lock);
	if (kick)
		rmem_discard_kick(dev);
}

static blk_status_t rmem_queue_rq(struct blk_mq_hw_ctx *hctx,
				  const struct blk_mq_queue_data *bd)
{
	struct request *rq = bd->rq;
	struct rmem_pdu *pdu = blk_mq_rq_to_pdu(rq);
	struct rmem_dev *dev = hctx->queue->queuedata;
	struct rmem_sock *rs = &dev->socks[hctx->queue_num];
	blk_status_t st;
	int nparts;
	u16 op;

	blk_mq_start_request(rq);
	pdu->status = BLK_STS_OK;
	pdu->queue = -1;
	pdu->mismatch = false;
	pdu->reread = false;
	if (!pdu->start_ns) {		/* not a requeued one */
		pdu->no_delta = false;
		pdu->rereads = 0;
	}
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
	    blk_rq_bytes(rq) > RMEM_RQ_MAX_FRAMES * RMEM_FRAME_SIZE) {
		rmem_account_end(dev, rq, BLK_STS_IOERR);
		return BLK_STS_IOERR;
	}
	nparts = rmem_map_rq(dev, rq, pdu, op);
	if (nparts < 0)
		return rmem_rq_unmapped(dev, rq, pdu, nparts);
	pdu->nospc_since = 0;
	if (!pdu->start_ns) {		/* not a requeued one */
		pdu->start_ns = ktime_get_ns();
		rmem_count(dev, in_flight, 1);
		/* what whole pages would take; pages of zeros, which go
		 * nowhere, are no saving of deltas: not counted */
		if (op == RMEM_OP_WRITE && nparts)
			rmem_count(dev, write_page_bytes,
				   sizeof(struct rmem_req_hdr) +
				   blk_rq_bytes(rq) -
				   pdu->zero_slots * RMEM_FRAME_SIZE);
	}
	if (!nparts)			/* a read of slots without frames */
		return rmem_rq_unmapped(dev, rq, pdu, 0);

	pdu->cookie++;
	pdu->parts = nparts == 64 ? ~0ull : (1ull << nparts) - 1;
	pdu->op = op;
	pdu->nparts = nparts;
	/* the socket's now: sent from its send list, never waited for here */
	st = rmem_sock_queue_rq(rs, rq, bd->last);
	if (st != BLK_STS_OK) {
		/* refused before a byte was sent: its frames are free again */
		rmem_rq_frames_end(dev, rq, false);
		rmem_account_end(dev, rq, st);
	}
	return st;
}

static void rmem_commit_rqs(struct blk_mq_hw_ctx *hctx)
{
	struct rmem_dev *dev = hctx->queue->queuedata;

	rmem_sock_commit(&dev->socks[hctx->queue_num]);
}

/*
 * A request unanswered for the device's timeout: its socket is killed if
 * it is still the one the request waits on (rmem_sock_timeout), and the
 * release then takes the request back. Never completes it, so it cannot
 * race a completion; a parked one waits for the dead timeout instead.
 */
static enum blk_eh_timer_return rmem_timeout(struct request *rq)
{
	struct rmem_dev *dev = rq->q->queuedata;
	unsigned int q = rq->mq_hctx->queue_num;

	if (rmem_sock_timeout(&dev->socks[q], rq)) {
		dev_warn_ratelimited(disk_to_dev(dev->disk),
				     "request on queue %u unanswered after %u ms\n",
				     q, jiffies_to_msecs(READ_ONCE(dev->timeout)));
		rmem_count(dev, timeouts, 1);
	}
	return BLK_EH_RESET_TIMER;
}

static int rmem_init_request(struct blk_mq_tag_set *set, struct request *rq,
			     unsigned int hctx_idx, unsigned int numa_node)
{
	struct rmem_pdu *pdu = blk_mq_rq_to_pdu(rq);

	INIT_LIST_HEAD(&pdu->tx.entry);
	pdu->tx.ctrl = false;
	pdu->state = RMEM_RQ_IDLE;
	pdu->cookie = 0;
	pdu->queue = -1;
	pdu->start_ns = 0;
	pdu->frames_busy = 0;
	pdu->nospc_since = 0;
	return 0;
}

/*
 * Which hardware queue, and so which socket, a CPU's requests go to:
 * with read queues, reads to the last nread sockets and everything else
 * to the others, each group spread over the CPUs as blk-mq spreads any
 * queues, as nvme-tcp does with its nr_write_queues. A swap-in then
 * waits behind other reads only, not behind a swap-out burst's pages on
 * the same stream.
 */
static void rmem_map_queues(struct blk_mq_tag_set *set)
{
	struct rmem_dev *dev = set->driver_data;
	struct blk_mq_queue_map *def = &set->map[HCTX_TYPE_DEFAULT];

	def->nr_queues = dev->nsock - dev->nread;
	def->queue_offset = 0;
	blk_mq_map_queues(def);
	if (set->nr_maps > HCTX_TYPE_READ) {
		struct blk_mq_queue_map *rd = &set->map[HCTX_TYPE_READ];

		rd->nr_queues = dev->nread;
		rd->queue_offset = dev->nsock - dev->nread;
		blk_mq_map_queues(rd);
	}
}

const struct blk_mq_ops rmem_mq_ops = {
	.queue_rq	= rmem_queue_rq,
	.commit_rqs	= rmem_commit_rqs,
	.complete	= rmem_complete_rq,
	.timeout	= rmem_timeout,
	.init_request	= rmem_init_request,
	.map_queues	= rmem_map_queues,
};

/*
 * Swap freed a slot (under its swap_info lock: no sleeping). Its frame
 * goes back to the map, as zram frees its slot's memory here; if a
 * request still names it, only once that request has ended.
 */
static void rmem_swap_slot_free_notify(struct block_device *bdev,
				       unsigned long slot)
{
	struct rmem_dev *dev = bdev->bd_disk->private_data;

	rmem_release_slots(dev, slot, 1);
	rmem_count(dev, slot_frees, 1);
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

const struct block_device_operations rmem_fops = {
	.owner			= THIS_MODULE,
	.open			= rmem_bdops_open,	/* rmem_main.c */
	.swap_slot_free_notify	= rmem_swap_slot_free_notify,
};

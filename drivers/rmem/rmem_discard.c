// SPDX-License-Identifier: GPL-2.0
/*
 * Batched DISCARDs: frames the map has given back (block DISCARD and
 * WRITE_ZEROES, freed swap slots) are named to the donor in batches of
 * extents, one batch at a time, sent on a live socket's send list in
 * turn with its requests rather than through blk-mq; its answer frees
 * the frames for new writes. The
 * frames' life cycle (which may be given out when) is rmem_map.c's; this
 * file says when a batch is on which socket and how it ended.
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

/*
 * Run the discard work after delay, unless the device is being removed:
 * removing is set under map_lock before the work is cancelled for good
 * (rmem_dev_remove), so checked under it nothing can queue the work after
 * that cancel.
 */
static void rmem_discard_arm(struct rmem_dev *dev, unsigned long delay)
{
	lockdep_assert_held(&dev->map_lock);
	if (!dev->removing)
		mod_delayed_work(rmem_discard_wq, &dev->discard_work, delay);
}

void rmem_discard_kick(struct rmem_dev *dev)
{
	spin_lock(&dev->map_lock);
	rmem_discard_arm(dev, 0);
	spin_unlock(&dev->map_lock);
}

/*
 * A batch is on a socket: past its deadline (the request timeout) the
 * socket is dropped, as a request's timeout does: its release holds the
 * frames, and they go out again on another socket. Before it, look again
 * then. Called with map_lock held; drops it.
 */
static void rmem_discard_deadline(struct rmem_dev *dev)
	__releases(&dev->map_lock)
{
	unsigned long timeout = READ_ONCE(dev->timeout);
	unsigned long due = dev->discard_sent + timeout;
	int q = dev->discard_queue;
	u32 gen = dev->discard_gen;

	if (q < 0 || time_before(jiffies, due)) {
		if (q >= 0)
			rmem_discard_arm(dev, due - jiffies);
		spin_unlock(&dev->map_lock);
		return;
	}
	spin_unlock(&dev->map_lock);
	dev_warn_ratelimited(disk_to_dev(dev->disk),
			     "DISCARD on queue %d unanswered after %u ms\n",
			     q, jiffies_to_msecs(timeout));
	rmem_count(dev, timeouts, 1);
	rmem_sock_kill(&dev->socks[q], gen);
}

/*
 * Tell the donor which frames the map has given back, and again which it
 * holds (rmem_map.h): a batch of up to RMEM_MAX_DISCARD_EXTENTS extents,
 * queued on a live socket's send list (__rmem_sock_send_ctrl) rather than
 * through blk-mq, where it could queue behind writes that wait for the
 * frames it frees. One batch
 * at a time; its answer (rmem_discard_reply) frees the frames and sends
 * the next, its socket's end (rmem_discard_lost) holds them for the next.
 */
void rmem_discard_work(struct work_struct *work)
{
	struct rmem_dev *dev = container_of(to_delayed_work(work), struct rmem_dev,
					    discard_work);
	u32 *frames = dev->discard_frames;
	struct rmem_req req = { .op = RMEM_OP_DISCARD };
	u32 n = 0, used, next;
	unsigned int i;

	spin_lock(&dev->map_lock);
	if (dev->discard_busy) {
		rmem_discard_deadline(dev);
		return;
	}
	/*
	 * Held frames go out again only once every queue that lost a
	 * connection has a successor that fenced it: rmemctl opens it with
	 * FENCE on the donor (protocol.rst, "Fencing") and names the queue
	 * in its RECONFIGURE, so nothing the dead connection carried can
	 * execute after this batch's answer. A frame turns held in its
	 * socket's release, after that release set rs->unfenced, which
	 * only such a RECONFIGURE clears (it then kicks this work).
	 */
	dev->map.unfenced = false;
	for (i = 0; i < dev->nsock; i++)
		if (READ_ONCE(dev->socks[i].unfenced))
			dev->map.unfenced = true;
	if (rmem_map_wants_discard(&dev->map)) {
		n = rmem_map_take_discard(&dev->map, frames, RMEM_DISCARD_MAX_FRAMES);
		dev->discard_busy = true;
		dev->discard_queue = -1;	/* on no socket yet */
		dev->discard_n = n;
	}
	spin_unlock(&dev->map_lock);
	if (!n)
		return;
	rmem_sort_u32(frames, n);
	next = rmem_extents_build(frames, n, dev->discard_ext,
				  RMEM_MAX_DISCARD_EXTENTS, &used);
	spin_lock(&dev->map_lock);
	rmem_map_discard_unsent(&dev->map, frames + used, n - used);
	dev->discard_n = used;
	spin_unlock(&dev->map_lock);

	req.count = next;
	req.len = next * sizeof(struct rmem_extent);
	for (i = 0; i < dev->nsock && !READ_ONCE(dev->removing); i++) {
		struct rmem_sock *rs = &dev->socks[i];

		mutex_lock(&rs->tx_lock);
		if (!rs->sock || READ_ONCE(rs->dead)) {
			mutex_unlock(&rs->tx_lock);
			continue;
		}
		/*
		 * The socket owns the batch before a byte of it is on the
		 * wire: from here its release (which waits for tx_lock and
		 * drops the message from the send list) holds the frames,
		 * its answer frees them, and its deadline kills it.
		 */
		spin_lock(&dev->map_lock);
		req.tag = (u64)++dev->discard_cookie << 32 | RMEM_DISCARD_TAG;
		dev->discard_queue = i;
		dev->discard_sent = jiffies;
		dev->discard_gen = rs->gen;
		rmem_discard_arm(dev, READ_ONCE(dev->timeout));
		spin_unlock(&dev->map_lock);
		rmem_req_encode(&rs->discard_ctrl.hdr, &req);
		rs->discard_ctrl.data = dev->discard_ext;
		rs->discard_ctrl.len = req.len;
		rs->discard_ctrl.done = NULL;
		/* should the socket be dead by now (-ENOTCONN, ignored), its
		 * release is still to come: it waits for tx_lock, finds
		 * discard_queue set to this socket, and holds the batch */
		__rmem_sock_send_ctrl(rs, &rs->discard_ctrl);
		mutex_unlock(&rs->tx_lock);
		return;		/* the answer, the socket's end, or the deadline */
	}
	/* no live socket: nothing of it was sent; held frames stay held */
	spin_lock(&dev->map_lock);
	rmem_map_discard_unsent(&dev->map, frames, used);
	dev->discard_busy = false;
	spin_unlock(&dev->map_lock);
}

/* In the receive worker: the answer to the batch in flight on this socket. */
int rmem_discard_reply(struct rmem_sock *rs, const struct rmem_reply *reply)
{
	struct rmem_dev *dev = rs->dev;
	bool ok = reply->status == RMEM_OK;
	u32 n;

	spin_lock(&dev->map_lock);
	if (!dev->discard_busy || dev->discard_queue != (int)rs->index ||
	    (u32)(reply->tag >> 32) != dev->discard_cookie ||
	    rmem_reply_check(reply, RMEM_OP_DISCARD, 0)) {
		spin_unlock(&dev->map_lock);
		dev_err_ratelimited(disk_to_dev(dev->disk),
				    "DISCARD reply not expected (tag %#llx)\n", reply->tag);
		return -EPROTO;
	}
	/*
	 * Answered, even with an error: the donor has dealt with this one
	 * DISCARD, and no other in flight names the frames: they are free.
	 */
	n = dev->discard_n;
	rmem_map_discarded(&dev->map, dev->discard_frames, n);
	dev->discard_busy = false;
	dev->discard_queue = -1;
	rmem_discard_arm(dev, 0);	/* the next batch, if any */
	spin_unlock(&dev->map_lock);
	rmem_count(dev, bytes_in, sizeof(struct rmem_reply_hdr));
	if (ok)
		rmem_count(dev, frames_discarded, n);
	else
		dev_warn_ratelimited(disk_to_dev(dev->disk), "donor refused a DISCARD: %s\n",
				     rmem_status_str(reply->status));
	blk_mq_run_hw_queues(dev->disk->queue, true);
	if (!ok && rmem_status_fatal(reply->status))
		return -rmem_status_errno(reply->status);
	return 0;
}

/*
 * The socket is gone (its release; no sender holds it any more). If the
 * batch was on it, the donor may still execute the DISCARD from its
 * receive buffer after one of the frames was written again through
 * another socket: the frames are held, and sent again on another socket.
 */
void rmem_discard_lost(struct rmem_sock *rs)
{
	struct rmem_dev *dev = rs->dev;

	spin_lock(&dev->map_lock);
	if (dev->discard_busy && dev->discard_queue == (int)rs->index) {
		rmem_map_discard_lost(&dev->map, dev->discard_frames, dev->discard_n);
		dev->discard_busy = false;
		dev->discard_queue = -1;
	}
	if (rmem_map_wants_discard(&dev->map))
		rmem_discard_arm(dev, 0);
	spin_unlock(&dev->map_lock);
	if (!READ_ONCE(dev->removing))
		blk_mq_run_hw_queues(dev->disk->queue, true);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Batched DISCARDs: frames the map has given back (block DISCARD and
 * WRITE_ZEROES, freed swap slots) are named to the donor in batches of
 * extents, one batch at a time, sent on a live socket's send list in
 * turn with its requests rather than through blk-mq; its answer frees
 * the frames for new writes.
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

void rmem_discard_kick(struct rmem_dev *dev)
{
	if (!READ_ONCE(dev->removing))
		queue_work(rmem_discard_wq, &dev->discard_work);
}

/*
 * Tell the donor which frames the map has given back: a batch of up to
 * RMEM_MAX_DISCARD_EXTENTS extents, queued on a live socket's send list
 * (__rmem_sock_send_ctrl) rather than through blk-mq, where it could
 * queue behind writes that wait for the frames it frees. One batch at a time; its answer
 * (rmem_discard_reply) frees the frames and sends the next.
 */
void rmem_discard_work(struct work_struct *work)
{
	struct rmem_dev *dev = container_of(work, struct rmem_dev, discard_work);
	u32 *frames = dev->discard_frames;
	struct rmem_req req = { .op = RMEM_OP_DISCARD };
	u32 n = 0, used, next;
	unsigned int i;

	spin_lock(&dev->map_lock);
	if (!dev->discard_busy && rmem_map_wants_discard(&dev->map)) {
		n = rmem_map_take_pending(&dev->map, frames, RMEM_DISCARD_MAX_FRAMES);
		dev->discard_busy = true;
	}
	spin_unlock(&dev->map_lock);
	if (!n)
		return;
	rmem_sort_u32(frames, n);
	next = rmem_extents_build(frames, n, dev->discard_ext,
				  RMEM_MAX_DISCARD_EXTENTS, &used);
	spin_lock(&dev->map_lock);
	rmem_map_return_pending(&dev->map, frames + used, n - used);
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
		req.tag = (u64)++dev->discard_cookie << 32 | RMEM_DISCARD_TAG;
		rmem_req_encode(&rs->discard_ctrl.hdr, &req);
		rs->discard_ctrl.data = dev->discard_ext;
		rs->discard_ctrl.len = req.len;
		rs->discard_ctrl.done = NULL;
		WRITE_ONCE(dev->discard_queue, i);
		/* in turn with the requests on the socket; should it be dead
		 * by now, its release gives the batch back */
		__rmem_sock_send_ctrl(rs, &rs->discard_ctrl);
		mutex_unlock(&rs->tx_lock);
		return;		/* the answer, or the socket's end, follows */
	}
	/* no live socket: the frames wait for the next batch */
	spin_lock(&dev->map_lock);
	rmem_map_return_pending(&dev->map, frames, used);
	dev->discard_busy = false;
	spin_unlock(&dev->map_lock);
}

/* In the receive worker: the answer to the batch in flight on this socket. */
int rmem_discard_reply(struct rmem_sock *rs, const struct rmem_reply *reply)
{
	struct rmem_dev *dev = rs->dev;
	bool ok = reply->status == RMEM_OK;

	spin_lock(&dev->map_lock);
	if (!dev->discard_busy || READ_ONCE(dev->discard_queue) != rs->index ||
	    (u32)(reply->tag >> 32) != dev->discard_cookie ||
	    rmem_reply_check(reply, RMEM_OP_DISCARD, 0)) {
		spin_unlock(&dev->map_lock);
		dev_err_ratelimited(disk_to_dev(dev->disk),
				    "DISCARD reply not expected (tag %#llx)\n", reply->tag);
		return -EPROTO;
	}
	/* answered, even with an error: no DISCARD names them any more */
	rmem_map_discarded(&dev->map, dev->discard_frames, dev->discard_n);
	dev->discard_busy = false;
	spin_unlock(&dev->map_lock);
	atomic64_add(sizeof(struct rmem_reply_hdr), &dev->bytes_in);
	if (ok)
		atomic64_add(dev->discard_n, &dev->frames_discarded);
	else
		dev_warn_ratelimited(disk_to_dev(dev->disk), "donor refused a DISCARD: %s\n",
				     rmem_status_str(reply->status));
	blk_mq_run_hw_queues(dev->disk->queue, true);
	rmem_discard_kick(dev);
	if (!ok && rmem_status_fatal(reply->status))
		return -rmem_status_errno(reply->status);
	return 0;
}

/* The socket a batch was in flight on is gone: its frames are pending again. */
void rmem_discard_lost(struct rmem_sock *rs)
{
	struct rmem_dev *dev = rs->dev;

	spin_lock(&dev->map_lock);
	if (dev->discard_busy && READ_ONCE(dev->discard_queue) == rs->index) {
		rmem_map_return_pending(&dev->map, dev->discard_frames, dev->discard_n);
		dev->discard_busy = false;
	}
	spin_unlock(&dev->map_lock);
	if (!READ_ONCE(dev->removing))
		blk_mq_run_hw_queues(dev->disk->queue, true);
}

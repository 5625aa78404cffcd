// SPDX-License-Identifier: GPL-2.0
/*
 * rmem: a block device whose every sector lives in memory lent by another
 * host (rmem-poold), reached over TCP with the protocol of
 * include/uapi/linux/rmem.h. Made to be swapped to.
 *
 * Userspace (rmemctl attach) connects, authenticates and opens a region,
 * then hands the connected sockets to this driver over generic netlink,
 * one per hardware queue. queue_rq() puts a request on its queue's
 * socket's send list, which goes out in order without queue_rq ever
 * waiting on the socket (rmem_sock.c); a receive worker per socket
 * matches replies to requests by tag and completes them, in any order.
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
 * requeued; they, and new requests for that queue, are parked on its
 * send list for up to dead_timeout, until RECONFIGURE hands over a new
 * socket, then fail with an I/O error; no task waits for a reconnect. A
 * request that gets no answer within its timeout kills its socket the
 * same way, and only that socket (a per-socket generation). Nothing
 * waits forever and no reply is accepted for a request it does not
 * belong to (tag + per-dispatch cookie).
 *
 * Swap safety: sockets are memalloc with GFP_NOIO allocations, socket I/O
 * runs under memalloc_noreclaim_save(), the receive and send workqueues
 * have WQ_MEM_RECLAIM, and the I/O path allocates nothing.
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
#include <linux/vmalloc.h>
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

static unsigned int queue_depth = 128;
module_param(queue_depth, uint, 0444);
MODULE_PARM_DESC(queue_depth, "Requests in flight per queue (default 128)");

/* the measurements behind the default: bench/README.md, "Write amplification" */
static unsigned int delta_lines = 48;
module_param(delta_lines, uint, 0644);
MODULE_PARM_DESC(delta_lines, "Send a written page as the 64-byte lines that changed when at most this many did, 0 to 63; 0 turns deltas off (default 48; per device: sysfs rmem/delta_lines)");

static bool delta_adapt;
module_param(delta_adapt, bool, 0644);
MODULE_PARM_DESC(delta_adapt, "Go back to fingerprinting a sample of pages when few writes go as PATCHes (default off: it flaps on update-heavy loads; a device samples anyway until deltas pay; per device: sysfs rmem/delta_adapt)");

static unsigned int fp_entries;
module_param(fp_entries, uint, 0444);
MODULE_PARM_DESC(fp_entries, "Pages whose line fingerprints a device keeps, 80 bytes each, from attach (default 0: every page of RAM, at most one per slot, under 2% of RAM, once deltas pay; a sixteenth, for the pages sampled, until then)");

static unsigned int fp_bits = RMEM_FP_BITS;
module_param(fp_bits, uint, 0444);
MODULE_PARM_DESC(fp_bits, "For tests only: bits kept of each line fingerprint, 1 to 8; fewer force collisions, which the donor's page hash catches (default 8)");

static int rmem_major;
DEFINE_IDR(rmem_devs);
DEFINE_MUTEX(rmem_devs_lock);
struct workqueue_struct *rmem_recv_wq;
struct workqueue_struct *rmem_send_wq;	/* send work, dead-timeout work */
struct workqueue_struct *rmem_discard_wq;

/* ---- devices -------------------------------------------------------- */

static void rmem_dev_free(struct rmem_dev *dev)
{
	unsigned int i;

	for (i = 0; i < dev->nsock; i++) {
		if (dev->socks[i].sock)
			sockfd_put(dev->socks[i].sock);
		rmem_sock_free(&dev->socks[i]);
	}
	if (dev->disk)
		put_disk(dev->disk);
	if (dev->tag_set.tags)
		blk_mq_free_tag_set(&dev->tag_set);
	kvfree(dev->map_mem);
	kvfree(dev->slot_sum);
	kvfree(dev->fpt_mem);
	kvfree(dev->discard_frames);
	kfree(dev->discard_ext);
	kfree(dev->socks);
	free_percpu(dev->cnt);
	kfree(dev);
}

/*
 * The most one of the device's arrays may take: what kvmalloc gives at
 * most (above INT_MAX bytes it WARNs and fails), kept for vmalloc too.
 * The map and the fingerprint table are sized against it in u64, so
 * nothing is truncated on the way (size_t is 32 bits on 32-bit hosts).
 */
#define RMEM_KVMALLOC_MAX	((u64)INT_MAX)

/*
 * The device's big arrays (the map, the checksums, the fingerprint
 * table) come from vmalloc, page by page: kvmalloc takes them from
 * kmalloc while memory is unfragmented, rounded up to a power of two
 * (the 3 MiB map of a 448 MiB device took 4 MiB), of the memory the
 * client is short of. kvfree frees them.
 */
void *rmem_alloc_array(size_t n, size_t size, gfp_t gfp)
{
	return __vmalloc_array(n, size, gfp | __GFP_NOWARN);
}

/* The fingerprint table; without the memory, the device runs without deltas. */
static void rmem_alloc_fpt(struct rmem_dev *dev)
{
	/* a page needs its entry from swap-in to swap-out, so the table
	 * is sized by RAM: the pages that can be in memory at once */
	u64 want = fp_entries ?: totalram_pages();
	u64 most = RMEM_KVMALLOC_MAX / sizeof(*dev->fpt_mem);
	u32 n;

	want = min_t(u64, want, dev->size / RMEM_FRAME_SIZE);
	if (want > most) {
		pr_info("line fingerprints of %llu pages would take %llu MiB: %llu kept\n",
			want, want * sizeof(*dev->fpt_mem) >> 20, most);
		want = most;
	}
	/* a size the operator gave is the size; by default a sixteenth,
	 * for the pages sampled until deltas pay (rmem_delta.h) */
	dev->fpt_most = rmem_fpt_size(want);
	n = fp_entries ? dev->fpt_most : rmem_fpt_start(dev->fpt_most);
	dev->delta_lines = min(READ_ONCE(delta_lines), RMEM_LINES_PER_FRAME - 1);
	if (n)	/* no memory is no error: deltas off, said below */
		dev->fpt_mem = rmem_alloc_array(n, sizeof(*dev->fpt_mem), GFP_KERNEL);
	if (!dev->fpt_mem) {
		if (n)
			pr_warn("no memory for %u line fingerprints: deltas off\n", n);
		n = 0;
		dev->fpt_most = 0;
		dev->delta_lines = 0;
	}
	rmem_fpt_init(&dev->fpt, dev->fpt_mem, n, fp_bits);
	dev->fp_bits = dev->fpt.fp_bits;
	dev->fpt_grow_next = jiffies;
	rmem_delta_adapt_init(&dev->adapt, READ_ONCE(delta_adapt), n < dev->fpt_most);
}

static int rmem_alloc_disk(struct rmem_dev *dev)
{
	struct gendisk *disk;

	disk = rmem_alloc_mq_disk(&dev->tag_set, dev, RMEM_FRAME_SIZE,
				  RMEM_RQ_MAX_FRAMES * RMEM_SECTORS_PER_FRAME);
	if (IS_ERR(disk))
		return PTR_ERR(disk);
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
	u64 map_bytes;
	int err;

	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (dev)
		dev->cnt = alloc_percpu(struct rmem_counters);
	if (!dev || !dev->cnt) {
		kfree(dev);
		rmem_put_socks(socks, n);
		return ERR_PTR(-ENOMEM);
	}
	dev->size = cfg->size;
	dev->nframes = cfg->nframes;
	dev->nread = cfg->nread;
	dev->timeout = msecs_to_jiffies(cfg->timeout_ms);
	dev->dead_timeout = msecs_to_jiffies(cfg->dead_timeout_ms);
	strscpy(dev->donor, cfg->donor, sizeof(dev->donor));
	dev->region_id = cfg->region_id;
	memcpy(dev->token, cfg->token, RMEM_TOKEN_SIZE);
	spin_lock_init(&dev->map_lock);
	INIT_DELAYED_WORK(&dev->discard_work, rmem_discard_work);
	INIT_WORK(&dev->fpt_grow_work, rmem_fpt_grow_work);
	dev->discard_queue = -1;
	dev->socks = kcalloc(n, sizeof(*dev->socks), GFP_KERNEL);
	if (!dev->socks) {
		rmem_put_socks(socks, n);
		rmem_dev_free(dev);
		return ERR_PTR(-ENOMEM);
	}
	dev->nsock = n;
	err = 0;
	for (i = 0; i < n; i++) {
		err = rmem_sock_init(&dev->socks[i], dev, i) ?: err;
		dev->socks[i].sock = socks[i];	/* owned; started below */
	}
	if (err) {
		rmem_dev_free(dev);
		return ERR_PTR(err);
	}
	/*
	 * A frame for every slot, and spare ones that keep bases: one
	 * allocation, bounded before it is tried, so that a size no map can
	 * serve fails CONNECT with a message rather than a WARN.
	 */
	map_bytes = rmem_map_words(dev->size / RMEM_FRAME_SIZE, dev->nframes) *
		    sizeof(u32);
	if (!map_bytes || map_bytes > RMEM_KVMALLOC_MAX) {
		pr_err("%llu MiB with %llu frames is too large: its slot map needs %llu MiB, at most %llu MiB (about %llu GiB with no spare frames)\n",
		       dev->size >> 20, dev->nframes, map_bytes >> 20,
		       RMEM_KVMALLOC_MAX >> 20,
		       RMEM_KVMALLOC_MAX / (6 * sizeof(u32)) * RMEM_FRAME_SIZE >> 30);
		rmem_dev_free(dev);
		return ERR_PTR(-EFBIG);
	}
	dev->map_mem = rmem_alloc_array(map_bytes, 1, GFP_KERNEL);
	dev->discard_frames = kvmalloc_array(RMEM_DISCARD_MAX_FRAMES, sizeof(u32),
					     GFP_KERNEL);
	dev->discard_ext = kcalloc(RMEM_MAX_DISCARD_EXTENTS,
				   sizeof(struct rmem_extent), GFP_KERNEL);
	/* a word a slot: smaller than the map, which fits */
	dev->slot_sum = rmem_alloc_array(dev->size / RMEM_FRAME_SIZE, sizeof(u32),
					 GFP_KERNEL);
	if (dev->slot_sum) {
		u64 s, nslots = dev->size / RMEM_FRAME_SIZE;

		/* every slot reads as zeros until written */
		for (s = 0; s < nslots; s++) {
			dev->slot_sum[s] = rmem_zero_sum;
			if (!(s % RMEM_MAP_INIT_CHUNK))
				cond_resched();
		}
	}
	if (!dev->map_mem || !dev->slot_sum || !dev->discard_frames ||
	    !dev->discard_ext) {
		if (!dev->map_mem || !dev->slot_sum)
			pr_err("no memory for the slot map of %llu MiB (%llu MiB)\n",
			       dev->size >> 20, map_bytes >> 20);
		rmem_dev_free(dev);
		return ERR_PTR(-ENOMEM);
	}
	rmem_map_init(&dev->map, dev->map_mem, dev->size / RMEM_FRAME_SIZE,
		      dev->nframes);
	rmem_alloc_fpt(dev);

	mutex_lock(&rmem_devs_lock);
	/* a name asked for (rmemtab's rmemN) is that one or none: EEXIST */
	if (cfg->index >= 0)
		dev->index = idr_alloc(&rmem_devs, dev, cfg->index,
				       cfg->index + 1, GFP_KERNEL);
	else
		dev->index = idr_alloc(&rmem_devs, dev, 0, 1 << MINORBITS,
				       GFP_KERNEL);
	if (dev->index < 0) {
		err = dev->index == -ENOSPC && cfg->index >= 0 ? -EEXIST :
		      dev->index;
		goto out_unlock;
	}
	dev->tag_set.ops = &rmem_mq_ops;
	dev->tag_set.nr_hw_queues = n;
	dev->tag_set.nr_maps = dev->nread ? HCTX_TYPE_READ + 1 : 1;
	dev->tag_set.queue_depth = clamp(queue_depth, 1u, 4096u);
	dev->tag_set.numa_node = NUMA_NO_NODE;
	dev->tag_set.cmd_size = sizeof(struct rmem_pdu);
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
	dev_info(disk_to_dev(dev->disk), "%llu MiB on donor %s, %u queue%s (%u for reads)\n",
		 dev->size >> 20, dev->donor, n, n == 1 ? "" : "s", dev->nread);
	return dev;

out_stop:
	/* as rmem_dev_remove: the sockets' start kicked the discard work,
	 * which must not run on the freed device */
	spin_lock(&dev->map_lock);
	WRITE_ONCE(dev->removing, true);
	spin_unlock(&dev->map_lock);
	rmem_stop_socks(dev);
	cancel_delayed_work_sync(&dev->discard_work);
	cancel_work_sync(&dev->fpt_grow_work);
out_idr:
	idr_remove(&rmem_devs, dev->index);
out_unlock:
	mutex_unlock(&rmem_devs_lock);
	rmem_dev_free(dev);
	return ERR_PTR(err);
}

/*
 * Every open of /dev/rmemN (swapon, mount, mkfs, udev's blkid), called by
 * the block layer with disk->open_mutex held, before it counts the
 * opener in disk_openers(). rmem_dev_mark_removing() sets dev->removing
 * under the same mutex once it has seen no opener, so an open either
 * counts before that check (and DISCONNECT fails with -EBUSY) or is
 * refused here: none can slip in between the check and the removal and
 * keep a device whose rmem_dev is freed. loop does the same with its
 * lo_mutex and Lo_deleting.
 */
int rmem_open(struct gendisk *disk)
{
	struct rmem_dev *dev = disk->private_data;

	lockdep_assert_held(&disk->open_mutex);
	return READ_ONCE(dev->removing) ? -ENXIO : 0;
}

/*
 * DISCONNECT's check: if no one has the device open, mark it removing so
 * no one can from now on (rmem_open); else -EBUSY and nothing changes.
 * The caller then takes it out of the idr and removes it.
 */
int rmem_dev_mark_removing(struct rmem_dev *dev)
{
	int err = 0;

	lockdep_assert_held(&rmem_devs_lock);
	mutex_lock(&dev->disk->open_mutex);
	if (disk_openers(dev->disk))
		err = -EBUSY;
	else
		WRITE_ONCE(dev->removing, true);
	mutex_unlock(&dev->disk->open_mutex);
	return err;
}

/*
 * Tear down a device out of the idr, which no one has open and no one
 * can open any more (rmem_dev_mark_removing, or the module going away):
 * parked requests fail, in-flight drains.
 */
void rmem_dev_remove(struct rmem_dev *dev)
{
	/* under map_lock: rmem_discard_kick queues no work after the cancel */
	spin_lock(&dev->map_lock);
	WRITE_ONCE(dev->removing, true);
	spin_unlock(&dev->map_lock);
	rmem_fail_parked(dev);
	cancel_delayed_work_sync(&dev->discard_work);
	del_gendisk(dev->disk);		/* drains what is in flight */
	/* queued only while !removing, and by I/O, which is over */
	cancel_work_sync(&dev->fpt_grow_work);
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

/* rmem_slot_sum of a page of zeros: what a slot without a frame holds */
u32 rmem_zero_sum;

static int __init rmem_init(void)
{
	int err;

	rmem_zero_sum = rmem_slot_sum(rmem_page_hash(page_address(ZERO_PAGE(0))));
	rmem_recv_wq = alloc_workqueue("rmem-recv", WQ_MEM_RECLAIM | WQ_UNBOUND, 0);
	if (!rmem_recv_wq)
		return -ENOMEM;
	rmem_send_wq = alloc_workqueue("rmem-send", WQ_MEM_RECLAIM | WQ_UNBOUND, 0);
	if (!rmem_send_wq) {
		err = -ENOMEM;
		goto out_wq;
	}
	rmem_discard_wq = alloc_workqueue("rmem-discard", WQ_MEM_RECLAIM | WQ_UNBOUND, 0);
	if (!rmem_discard_wq) {
		err = -ENOMEM;
		goto out_send_wq;
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
out_send_wq:
	destroy_workqueue(rmem_send_wq);
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
	destroy_workqueue(rmem_send_wq);
	destroy_workqueue(rmem_recv_wq);
}

module_init(rmem_init);
module_exit(rmem_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("rmem: swap to memory lent by another host");
MODULE_ALIAS_GENL_FAMILY(RMEM_GENL_NAME);

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What differs between the kernels rmem.ko builds for (Debian's 6.1 and
 * bookworm-backports' 6.12), in one place, so the driver's files carry no
 * LINUX_VERSION_CODE tests. (rmem_compat.h is the other compat header:
 * kernel against userspace, for the pure-logic files.)
 */
#ifndef RMEM_KCOMPAT_H
#define RMEM_KCOMPAT_H

#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/version.h>

/*
 * A disk for a tag set with rmem's queue limits: 4 KiB blocks, requests
 * of at most max_sectors, discards and write-zeroes of any size in whole
 * frames, and stable pages (a page's hash and its lines are read at
 * different times). 6.11 made limits an argument of the allocation.
 */
static inline struct gendisk *rmem_alloc_mq_disk(struct blk_mq_tag_set *set,
						 void *queuedata,
						 unsigned int block,
						 unsigned int max_sectors)
{
	unsigned int any = UINT_MAX >> 1 & ~((block >> SECTOR_SHIFT) - 1);
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
	struct queue_limits lim = {
		.logical_block_size	= block,
		.physical_block_size	= block,
		.io_min			= block,
		.max_hw_sectors		= max_sectors,
		.max_hw_discard_sectors	= any,
		.max_write_zeroes_sectors = any,
		.discard_granularity	= block,
		.features		= BLK_FEAT_STABLE_WRITES,
	};

	return blk_mq_alloc_disk(set, &lim, queuedata);
#else
	struct gendisk *disk = blk_mq_alloc_disk(set, queuedata);

	if (IS_ERR(disk))
		return disk;
	blk_queue_logical_block_size(disk->queue, block);
	blk_queue_physical_block_size(disk->queue, block);
	blk_queue_io_min(disk->queue, block);
	blk_queue_max_hw_sectors(disk->queue, max_sectors);
	blk_queue_max_discard_sectors(disk->queue, any);
	blk_queue_max_write_zeroes_sectors(disk->queue, any);
	disk->queue->limits.discard_granularity = block;
	blk_queue_flag_set(QUEUE_FLAG_NONROT, disk->queue);
	blk_queue_flag_clear(QUEUE_FLAG_ADD_RANDOM, disk->queue);
	blk_queue_flag_set(QUEUE_FLAG_STABLE_WRITES, disk->queue);
	return disk;
#endif
}

/*
 * block_device_operations.open: 6.5 passes the disk and a blk_mode_t
 * where 6.1 passes the block device and an fmode_t. Both call it with
 * disk->open_mutex held, before the opener is counted in
 * disk_openers(): what rmem_open() relies on.
 */
int rmem_open(struct gendisk *disk);
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
static inline int rmem_bdops_open(struct gendisk *disk, blk_mode_t mode)
{
	return rmem_open(disk);
}
#else
static inline int rmem_bdops_open(struct block_device *bdev, fmode_t mode)
{
	return rmem_open(bdev->bd_disk);
}
#endif

#endif /* RMEM_KCOMPAT_H */

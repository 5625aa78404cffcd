// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/block/rmemN/rmem/: what an operator asks of a device without a
 * netlink tool. One value per file, except "stat" and "delta" (counters
 * in fixed columns, like the block layer's own stat file), "latency" and
 * "dirty_lines" (histograms). Documented column by column in
 * Documentation/ABI/testing/sysfs-block-rmem.
 */
#define pr_fmt(fmt) "rmem: " fmt

#include <linux/blkdev.h>
#include <linux/device.h>
#include <linux/kernel.h>
#include <linux/sysfs.h>

#include "rmem_drv.h"

static struct rmem_dev *rmem_sysfs_dev(struct device *d)
{
	return dev_to_disk(d)->private_data;
}

static ssize_t state_show(struct device *d, struct device_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "%s\n", rmem_dev_state(rmem_sysfs_dev(d)));
}
static DEVICE_ATTR_RO(state);

static ssize_t donor_show(struct device *d, struct device_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "%s\n", rmem_sysfs_dev(d)->donor);
}
static DEVICE_ATTR_RO(donor);

static ssize_t region_show(struct device *d, struct device_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "%llu\n", rmem_sysfs_dev(d)->region_id);
}
static DEVICE_ATTR_RO(region);

static ssize_t queues_show(struct device *d, struct device_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "%u\n", rmem_sysfs_dev(d)->nsock);
}
static DEVICE_ATTR_RO(queues);

static ssize_t read_queues_show(struct device *d, struct device_attribute *attr,
				char *buf)
{
	return sysfs_emit(buf, "%u\n", rmem_sysfs_dev(d)->nread);
}
static DEVICE_ATTR_RO(read_queues);

static ssize_t timeout_ms_show(struct device *d, struct device_attribute *attr,
			       char *buf)
{
	return sysfs_emit(buf, "%u\n",
			  jiffies_to_msecs(READ_ONCE(rmem_sysfs_dev(d)->timeout)));
}

/* Shared by both timeouts: a number of ms, at least min_ms. */
static ssize_t rmem_timeout_store(struct device *d, const char *buf,
				  size_t len, unsigned int min_ms, bool dead)
{
	unsigned int ms;
	int err = kstrtouint(buf, 10, &ms);

	if (err)
		return err;
	if (ms < min_ms)
		return -EINVAL;
	mutex_lock(&rmem_devs_lock);
	rmem_dev_set_timeouts(rmem_sysfs_dev(d), dead ? 0 : ms, dead ? ms : 0);
	mutex_unlock(&rmem_devs_lock);
	return len;
}

static ssize_t timeout_ms_store(struct device *d, struct device_attribute *attr,
				const char *buf, size_t len)
{
	return rmem_timeout_store(d, buf, len, 100, false);
}
static DEVICE_ATTR_RW(timeout_ms);

static ssize_t dead_timeout_ms_show(struct device *d,
				    struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n",
			  jiffies_to_msecs(READ_ONCE(rmem_sysfs_dev(d)->dead_timeout)));
}

static ssize_t dead_timeout_ms_store(struct device *d,
				     struct device_attribute *attr,
				     const char *buf, size_t len)
{
	return rmem_timeout_store(d, buf, len, 1, true);
}
static DEVICE_ATTR_RW(dead_timeout_ms);

static void rmem_lat_snapshot(struct rmem_dev *dev, int kind, u64 *hist)
{
	unsigned int b;

	for (b = 0; b < RMEM_LAT_BUCKETS; b++)
		hist[b] = rmem_counter(dev, lat_hist[kind][b]);
}

/* mean and 99th-percentile bound, in us, of one kind of request */
static void rmem_lat_summary(struct rmem_dev *dev, int kind, u64 *mean,
			     u64 *p99)
{
	u64 hist[RMEM_LAT_BUCKETS], n = 0;
	unsigned int b;

	rmem_lat_snapshot(dev, kind, hist);
	for (b = 0; b < RMEM_LAT_BUCKETS; b++)
		n += hist[b];
	*mean = n ? div64_u64(rmem_counter(dev, lat_total_ns[kind]), n * 1000) : 0;
	*p99 = rmem_lat_percentile_us(hist, 990);
}

/* A sum read while a request moves between CPUs can be one short. */
static u64 rmem_in_flight(struct rmem_dev *dev)
{
	s64 n = (s64)rmem_counter(dev, in_flight);

	return n < 0 ? 0 : n;
}

static ssize_t stat_show(struct device *d, struct device_attribute *attr,
			 char *buf)
{
	struct rmem_dev *dev = rmem_sysfs_dev(d);
	u64 rmean, rp99, wmean, wp99;

	rmem_lat_summary(dev, RMEM_LAT_READ, &rmean, &rp99);
	rmem_lat_summary(dev, RMEM_LAT_WRITE, &wmean, &wp99);
	return sysfs_emit(buf,
		"%8llu %8llu %8llu %12llu %12llu %12llu %12llu %8llu %8llu %8llu %8llu %8llu %8llu %8llu %8llu %8llu %8llu %8u %8llu %8llu %8llu %8llu %8llu\n",
		rmem_counter(dev, reads), rmem_counter(dev, writes),
		rmem_counter(dev, discards),
		rmem_counter(dev, read_bytes), rmem_counter(dev, write_bytes),
		rmem_counter(dev, bytes_out), rmem_counter(dev, bytes_in),
		rmem_counter(dev, errors), rmem_counter(dev, timeouts),
		rmem_counter(dev, reconnects), rmem_in_flight(dev),
		rmean, rp99, wmean, wp99,
		rmem_counter(dev, zero_reads), rmem_counter(dev, slot_frees),
		rmem_dev_frames_mapped(dev), rmem_counter(dev, frames_discarded),
		rmem_counter(dev, read_check_errors),
		rmem_counter(dev, read_rereads),
		rmem_counter(dev, zero_writes), rmem_counter(dev, slot_waits));
}
static DEVICE_ATTR_RO(stat);

static ssize_t latency_show(struct device *d, struct device_attribute *attr,
			    char *buf)
{
	struct rmem_dev *dev = rmem_sysfs_dev(d);
	u64 rh[RMEM_LAT_BUCKETS], wh[RMEM_LAT_BUCKETS];
	ssize_t n = 0;
	unsigned int b;

	rmem_lat_snapshot(dev, RMEM_LAT_READ, rh);
	rmem_lat_snapshot(dev, RMEM_LAT_WRITE, wh);
	for (b = 0; b < RMEM_LAT_BUCKETS; b++)
		n += sysfs_emit_at(buf, n, "%8llu %10llu %10llu\n",
				   rmem_lat_bucket_limit_us(b), rh[b], wh[b]);
	return n;
}
static DEVICE_ATTR_RO(latency);

static ssize_t delta_lines_show(struct device *d, struct device_attribute *attr,
				char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(rmem_sysfs_dev(d)->delta_lines));
}

static ssize_t delta_lines_store(struct device *d, struct device_attribute *attr,
				 const char *buf, size_t len)
{
	struct rmem_dev *dev = rmem_sysfs_dev(d);
	unsigned int k;
	int err = kstrtouint(buf, 10, &k);

	if (err)
		return err;
	if (k >= RMEM_LINES_PER_FRAME)
		return -EINVAL;		/* 64 lines cost more than the page */
	if (k && !READ_ONCE(dev->fpt_mem))
		return -EOPNOTSUPP;	/* no fingerprint table (fp_entries=0) */
	WRITE_ONCE(dev->delta_lines, k);
	return len;
}
static DEVICE_ATTR_RW(delta_lines);

static ssize_t delta_adapt_show(struct device *d, struct device_attribute *attr,
				char *buf)
{
	return sysfs_emit(buf, "%d\n", READ_ONCE(rmem_sysfs_dev(d)->adapt.on));
}

static ssize_t delta_adapt_store(struct device *d, struct device_attribute *attr,
				 const char *buf, size_t len)
{
	struct rmem_dev *dev = rmem_sysfs_dev(d);
	bool on;
	int ret;

	ret = kstrtobool(buf, &on);
	if (ret)
		return ret;
	spin_lock(&dev->map_lock);
	/* a fresh window either way; off fingerprints every page at once,
	 * unless the table is still a growing one's start */
	rmem_delta_adapt_init(&dev->adapt, on, dev->adapt.small);
	spin_unlock(&dev->map_lock);
	return len;
}
static DEVICE_ATTR_RW(delta_adapt);

static ssize_t delta_show(struct device *d, struct device_attribute *attr,
			  char *buf)
{
	struct rmem_dev *dev = rmem_sysfs_dev(d);
	u64 retained, reclaimed, evictions;

	u64 switches;
	bool sampling;
	u32 entries;

	rmem_dev_delta_counts(dev, &retained, &reclaimed, &evictions);
	spin_lock(&dev->map_lock);
	switches = dev->adapt.switches;
	sampling = dev->adapt.sampling;
	entries = dev->fpt.nsets * RMEM_FPT_WAYS;
	spin_unlock(&dev->map_lock);
	return sysfs_emit(buf,
		"%8llu %8llu %8llu %8llu %12llu %12llu %8llu %8llu %8llu %8u %d %8llu %10llu %8u\n",
		rmem_counter(dev, delta_patches), rmem_counter(dev, delta_full),
		rmem_counter(dev, delta_mismatches), rmem_counter(dev, delta_busy),
		rmem_counter(dev, write_wire_bytes),
		rmem_counter(dev, write_page_bytes),
		retained, reclaimed, evictions,
		entries, sampling, switches,
		rmem_counter(dev, delta_unsampled), dev->fpt_most);
}
static DEVICE_ATTR_RO(delta);

static ssize_t dirty_lines_show(struct device *d, struct device_attribute *attr,
				char *buf)
{
	struct rmem_dev *dev = rmem_sysfs_dev(d);
	ssize_t n = 0;
	unsigned int i;

	for (i = 0; i <= RMEM_LINES_PER_FRAME; i++)
		n += sysfs_emit_at(buf, n, "%2u %10llu\n", i,
				   rmem_counter(dev, dirty_lines[i]));
	return n;
}
static DEVICE_ATTR_RO(dirty_lines);

static struct attribute *rmem_attrs[] = {
	&dev_attr_state.attr,
	&dev_attr_donor.attr,
	&dev_attr_region.attr,
	&dev_attr_queues.attr,
	&dev_attr_read_queues.attr,
	&dev_attr_timeout_ms.attr,
	&dev_attr_dead_timeout_ms.attr,
	&dev_attr_stat.attr,
	&dev_attr_latency.attr,
	&dev_attr_delta_lines.attr,
	&dev_attr_delta_adapt.attr,
	&dev_attr_delta.attr,
	&dev_attr_dirty_lines.attr,
	NULL,
};

static const struct attribute_group rmem_attr_group = {
	.name	= "rmem",
	.attrs	= rmem_attrs,
};

const struct attribute_group *rmem_attr_groups[] = {
	&rmem_attr_group,
	NULL,
};

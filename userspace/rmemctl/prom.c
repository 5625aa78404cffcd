// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rmemctl's Prometheus text exposition (format 0.0.4): `stats DONOR
 * --prometheus` for a donor's counters, `status --prometheus` for this
 * host's devices. Written for node_exporter's textfile collector
 * (Documentation/admin-guide/rmem.rst, "Metrics"): a timer runs rmemctl
 * into a .prom file. Every family is printed as one group, its HELP and
 * TYPE first, then one sample per device or donor; names follow the
 * conventions (_total for counters, _bytes and _seconds in base units).
 * One donor a call: node_exporter refuses a file that repeats a family,
 * so each donor's output goes to its own .prom file.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rmemctl.h"

/* label values: backslash, double quote and newline escaped */
static void prom_escape(char *dst, size_t len, const char *src)
{
	size_t o = 0;

	for (; *src && o + 3 < len; src++) {
		if (*src == '\\' || *src == '"') {
			dst[o++] = '\\';
			dst[o++] = *src;
		} else if (*src == '\n') {
			dst[o++] = '\\';
			dst[o++] = 'n';
		} else {
			dst[o++] = *src;
		}
	}
	dst[o] = '\0';
}

static void prom_head(const char *name, const char *type, const char *help)
{
	printf("# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The donor's STATS reply. */
void prom_print_donor(const char *donor, const struct rmem_stats_info *st)
{
	static const struct {
		const char *name, *type, *help;
		size_t off;	/* in struct rmem_stats_info, a uint64_t */
		bool frames;	/* a count of frames, printed as bytes */
	} m[] = {
#define S(f) offsetof(struct rmem_stats_info, f)
#define IO(f) (offsetof(struct rmem_stats_info, donor) + offsetof(struct rmem_io_counters, f))
		{ "rmem_donor_pool_bytes", "gauge", "Memory the donor lends, in all.", S(pool_frames), true },
		{ "rmem_donor_free_bytes", "gauge", "Memory of the pool not in any region.", S(free_frames), true },
		{ "rmem_donor_quota_bytes", "gauge", "Bytes the key of this connection may hold over all its regions.", S(quota_frames), true },
		{ "rmem_donor_key_bytes", "gauge", "Bytes the key of this connection holds now, over all its regions.", S(key_frames), true },
		{ "rmem_donor_dirty_bytes", "gauge", "Freed memory still holding a client's bytes, not yet zeroed.", S(dirty_frames), true },
		{ "rmem_donor_scrubbed_bytes_total", "counter", "Freed memory zeroed since the donor started.", S(scrubbed_frames), true },
		{ "rmem_donor_auth_failures_total", "counter", "Connections refused for a wrong key.", S(auth_failures), false },
		{ "rmem_donor_protocol_errors_total", "counter", "Peers dropped for malformed messages.", S(proto_errors), false },
		{ "rmem_donor_fenced_connections_total", "counter", "Stale connections closed by a client's fence.", S(fenced), false },
		{ "rmem_donor_fenced_bytes_total", "counter", "Request bytes of fenced connections dropped unexecuted.", S(fenced_bytes), false },
		{ "rmem_donor_reads_total", "counter", "READ requests served.", IO(reads), false },
		{ "rmem_donor_writes_total", "counter", "WRITE requests served.", IO(writes), false },
		{ "rmem_donor_patches_total", "counter", "PATCH requests served.", IO(patches), false },
		{ "rmem_donor_patch_mismatches_total", "counter", "PATCHes refused: the frame was not the client's base.", IO(mismatches), false },
		{ "rmem_donor_discarded_frames_total", "counter", "Frames dropped by DISCARD.", IO(discarded), false },
		{ "rmem_donor_received_bytes_total", "counter", "Request bytes received.", IO(bytes_in), false },
		{ "rmem_donor_sent_bytes_total", "counter", "Reply bytes sent.", IO(bytes_out), false },
		{ "rmem_donor_request_errors_total", "counter", "Requests answered with an error.", IO(errors), false },
#undef S
#undef IO
	};
	char label[512];
	size_t i;

	prom_escape(label, sizeof(label), donor);
	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		uint64_t v;

		memcpy(&v, (const char *)st + m[i].off, sizeof(v));
		prom_head(m[i].name, m[i].type, m[i].help);
		printf("%s{donor=\"%s\"} %" PRIu64 "\n", m[i].name, label,
		       m[i].frames ? v * RMEM_FRAME_SIZE : v);
	}
	prom_head("rmem_donor_start_time_seconds", "gauge",
		  "When the donor started, in seconds since the epoch.");
	printf("rmem_donor_start_time_seconds{donor=\"%s\"} %lld\n", label,
	       (long long)time(NULL) - (long long)st->uptime_sec);
	prom_head("rmem_donor_clients", "gauge", "Clients connected.");
	printf("rmem_donor_clients{donor=\"%s\"} %u\n", label, st->clients);
	prom_head("rmem_donor_max_clients", "gauge", "Connections served at once, at most.");
	printf("rmem_donor_max_clients{donor=\"%s\"} %u\n", label, st->max_clients);
	prom_head("rmem_donor_regions", "gauge", "Regions open, orphans included.");
	printf("rmem_donor_regions{donor=\"%s\"} %u\n", label, st->regions);
	prom_head("rmem_donor_pool_locked", "gauge", "1 if the pool is locked in RAM.");
	printf("rmem_donor_pool_locked{donor=\"%s\"} %d\n", label,
	       !!(st->flags & RMEM_STATS_F_LOCKED));
	prom_head("rmem_donor_pool_hugepages", "gauge", "1 if the pool is on huge pages.");
	printf("rmem_donor_pool_hugepages{donor=\"%s\"} %d\n", label,
	       !!(st->flags & RMEM_STATS_F_HUGEPAGES));
}

/*
 * A device's counters: columns of /sys/block/rmemN/rmem/stat and delta
 * (Documentation/ABI/testing/sysfs-block-rmem numbers them from 1).
 */
static const struct {
	const char *name, *type, *help;
	bool delta;		/* delta's column, else stat's */
	unsigned int col;
} dev_metrics[] = {
	{ "rmem_device_reads_total", "counter", "READ requests completed.", false, 1 },
	{ "rmem_device_writes_total", "counter", "WRITE requests completed.", false, 2 },
	{ "rmem_device_discards_total", "counter", "DISCARD and WRITE_ZEROES requests completed.", false, 3 },
	{ "rmem_device_read_bytes_total", "counter", "Bytes READ requests asked for.", false, 4 },
	{ "rmem_device_written_bytes_total", "counter", "Bytes WRITE requests carried.", false, 5 },
	{ "rmem_device_wire_sent_bytes_total", "counter", "Bytes sent to the donor, headers included.", false, 6 },
	{ "rmem_device_wire_received_bytes_total", "counter", "Bytes received from the donor.", false, 7 },
	{ "rmem_device_io_errors_total", "counter", "Requests completed with an I/O error.", false, 8 },
	{ "rmem_device_timeouts_total", "counter", "Requests the donor did not answer within the request timeout.", false, 9 },
	{ "rmem_device_reconnects_total", "counter", "Connections replaced.", false, 10 },
	{ "rmem_device_requests_in_flight", "gauge", "Requests dispatched and not completed.", false, 11 },
	{ "rmem_device_zero_reads_total", "counter", "Slots read as zeros without asking the donor.", false, 16 },
	{ "rmem_device_slot_frees_total", "counter", "Swap slots freed by swap.", false, 17 },
	{ "rmem_device_frames_mapped", "gauge", "Slots holding a donor frame.", false, 18 },
	{ "rmem_device_frames_discarded_total", "counter", "Frames the donor was told to drop.", false, 19 },
	{ "rmem_device_check_errors_total", "counter", "Pages from the donor that failed the end-to-end check.", false, 20 },
	{ "rmem_device_rereads_total", "counter", "Reads sent again after a failed check.", false, 21 },
	{ "rmem_device_zero_writes_total", "counter", "Pages of zeros written without a payload.", false, 22 },
	{ "rmem_device_slot_waits_total", "counter", "Requests that waited for a write of the same block.", false, 23 },
	{ "rmem_device_patched_pages_total", "counter", "Pages sent as a PATCH of their changed cache lines.", true, 1 },
	{ "rmem_device_whole_pages_total", "counter", "Pages written whole.", true, 2 },
	{ "rmem_device_patch_mismatches_total", "counter", "PATCHes the donor refused (the page then went whole).", true, 3 },
	{ "rmem_device_write_wire_bytes_total", "counter", "Bytes of WRITE and PATCH messages sent, headers included.", true, 5 },
	{ "rmem_device_write_whole_bytes_total", "counter", "Bytes the same writes would take as whole pages.", true, 6 },
	{ "rmem_device_bases_retained", "gauge", "Frames retained as bases for deltas.", true, 7 },
	{ "rmem_device_bases_reclaimed_total", "counter", "Retained frames reclaimed for other slots.", true, 8 },
	{ "rmem_device_fingerprint_evictions_total", "counter", "Fingerprint table entries replaced while still valid.", true, 9 },
	{ "rmem_device_fingerprint_table_pages", "gauge", "Pages the fingerprint table tracks now.", true, 10 },
};

#define PROM_STAT_COLS	23
#define PROM_DELTA_COLS	14
#define PROM_LAT_BUCKETS 32

struct prom_dev {
	char device[32], donor[512], state[64];
	uint64_t size, queues, dead_queues, delta_lines;
	unsigned long long stat[PROM_STAT_COLS + 1], delta[PROM_DELTA_COLS + 1];
	int nstat, ndelta;
	/* latency: the buckets' upper bounds in us (0: open), reads, writes */
	unsigned long long lat_le[PROM_LAT_BUCKETS], lat[2][PROM_LAT_BUCKETS];
	int nlat;
};

/* /sys/block/rmemN/rmem/latency: "BOUND READS WRITES" a bucket */
static void prom_latency(uint32_t idx, struct prom_dev *d)
{
	char path[96];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/block/rmem%u/rmem/latency", idx);
	f = fopen(path, "r");
	if (!f)
		return;
	while (d->nlat < PROM_LAT_BUCKETS &&
	       fscanf(f, "%llu %llu %llu", &d->lat_le[d->nlat],
		      &d->lat[0][d->nlat], &d->lat[1][d->nlat]) == 3)
		d->nlat++;
	fclose(f);
}

static struct prom_dev prom_devs[RMEM_PROM_MAX_DEVICES];
static unsigned int prom_ndevs;

int prom_add_device(uint32_t idx, const char *donor, const char *state,
		    uint64_t size, uint32_t queues, uint64_t dead_mask)
{
	struct prom_dev *d;
	unsigned long long k[2] = { 0 };

	if (prom_ndevs == RMEM_PROM_MAX_DEVICES)
		return -1;
	d = &prom_devs[prom_ndevs++];
	memset(d, 0, sizeof(*d));
	snprintf(d->device, sizeof(d->device), "rmem%u", idx);
	prom_escape(d->donor, sizeof(d->donor), donor);
	prom_escape(d->state, sizeof(d->state), state);
	d->size = size;
	d->queues = queues;
	d->dead_queues = (uint64_t)__builtin_popcountll(dead_mask);
	d->nstat = rmem_sysfs_columns(idx, "stat", d->stat, PROM_STAT_COLS);
	d->ndelta = rmem_sysfs_columns(idx, "delta", d->delta, PROM_DELTA_COLS);
	if (rmem_sysfs_columns(idx, "delta_lines", k, 1) == 1)
		d->delta_lines = k[1];
	prom_latency(idx, d);
	return 0;
}

static void prom_dev_gauge(const char *name, const char *help, size_t off)
{
	unsigned int i;

	prom_head(name, "gauge", help);
	for (i = 0; i < prom_ndevs; i++) {
		uint64_t v;

		memcpy(&v, (const char *)&prom_devs[i] + off, sizeof(v));
		printf("%s{device=\"%s\"} %" PRIu64 "\n", name,
		       prom_devs[i].device, v);
	}
}

/*
 * The completion-time histogram of reads (w 0) or writes (w 1) of every
 * device, from its log2 buckets: cumulative, in seconds, +Inf last. The
 * sum is the count times the mean of stat's column 12 or 14 (whole us).
 */
static void prom_histogram(const char *name, const char *help, int w)
{
	unsigned int i;
	int b;

	prom_head(name, "histogram", help);
	for (i = 0; i < prom_ndevs; i++) {
		const struct prom_dev *d = &prom_devs[i];
		unsigned long long n = 0, mean;

		if (!d->nlat || d->nstat < 14)
			continue;
		for (b = 0; b < d->nlat; b++) {
			n += d->lat[w][b];
			if (d->lat_le[b])
				printf("%s_bucket{device=\"%s\",le=\"%llu.%06llu\"} %llu\n",
				       name, d->device, d->lat_le[b] / 1000000,
				       d->lat_le[b] % 1000000, n);
		}
		printf("%s_bucket{device=\"%s\",le=\"+Inf\"} %llu\n", name, d->device, n);
		mean = d->stat[w ? 14 : 12];
		printf("%s_sum{device=\"%s\"} %llu.%06llu\n", name, d->device,
		       n * mean / 1000000, n * mean % 1000000);
		printf("%s_count{device=\"%s\"} %llu\n", name, d->device, n);
	}
}

/* Every device added, family by family; nothing if there is none. */
void prom_print_devices(void)
{
	static const char *const states[] = { "up", "degraded", "dead" };
	unsigned int i, j;

	if (!prom_ndevs)
		return;
	prom_head("rmem_device_info", "gauge", "Each rmem device and its donor; always 1.");
	for (i = 0; i < prom_ndevs; i++)
		printf("rmem_device_info{device=\"%s\",donor=\"%s\"} 1\n",
		       prom_devs[i].device, prom_devs[i].donor);
	/* a series per state, 1 for the one it is in: no series comes and goes */
	prom_head("rmem_device_state", "gauge",
		  "1 for the state the device is in (up, degraded, dead), else 0.");
	for (i = 0; i < prom_ndevs; i++)
		for (j = 0; j < sizeof(states) / sizeof(states[0]); j++)
			printf("rmem_device_state{device=\"%s\",state=\"%s\"} %d\n",
			       prom_devs[i].device, states[j],
			       !strcmp(prom_devs[i].state, states[j]));
	prom_dev_gauge("rmem_device_size_bytes", "Size of the device.",
		       offsetof(struct prom_dev, size));
	prom_dev_gauge("rmem_device_queues", "Connections (hardware queues).",
		       offsetof(struct prom_dev, queues));
	prom_dev_gauge("rmem_device_dead_queues", "Connections lost and not yet replaced.",
		       offsetof(struct prom_dev, dead_queues));
	prom_dev_gauge("rmem_device_delta_lines", "Most changed cache lines a PATCH carries; 0: deltas off.",
		       offsetof(struct prom_dev, delta_lines));
	for (j = 0; j < sizeof(dev_metrics) / sizeof(dev_metrics[0]); j++) {
		prom_head(dev_metrics[j].name, dev_metrics[j].type,
			  dev_metrics[j].help);
		for (i = 0; i < prom_ndevs; i++) {
			const struct prom_dev *d = &prom_devs[i];
			unsigned int col = dev_metrics[j].col;
			unsigned long long v;

			/* a column an older module does not have: no sample */
			if ((int)col > (dev_metrics[j].delta ? d->ndelta : d->nstat))
				continue;
			v = dev_metrics[j].delta ? d->delta[col] : d->stat[col];
			printf("%s{device=\"%s\"} %llu\n", dev_metrics[j].name,
			       d->device, v);
		}
	}
	prom_histogram("rmem_device_read_duration_seconds",
		       "READ completion times, from first dispatch.", 0);
	prom_histogram("rmem_device_write_duration_seconds",
		       "WRITE completion times, from first dispatch.", 1);
}

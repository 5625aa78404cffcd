// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rmemctl attach, detach, status, list: the kernel side of rmem, over the
 * generic netlink family "rmem" (include/uapi/linux/rmem.h).
 *
 * attach does the whole handshake in userspace, where a failure can be
 * explained: connect, authenticate, open the region on the first
 * connection and join it on the others, each labelled with the queue it
 * will serve. Only then does it hand the connected sockets to the kernel,
 * which makes /dev/rmemN of them. With --persist it stays and replaces
 * every connection the kernel reports dead (LINK_DEAD, or STATUS every
 * 2 s) with a new one to the same region that fences the dead one on the
 * donor (Documentation/protocol.rst, "Fencing"): a stalled donor that
 * wakes up executes nothing of the dead connection after the new one's
 * first request.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <systemd/sd-daemon.h>

#include "rmem_proto.h"
#include "rmemctl.h"

struct nl_ctx {
	int error;			/* from the kernel's ack, -errno */
	bool have_index;
	uint32_t index;
	bool all;			/* status: print every device */
	bool brief;			/* list: one line each */
	bool prom;			/* status --prometheus: collect */
	unsigned int found;
	uint64_t dead_mask;
	bool gone;			/* STATUS: no such device */
	bool done;			/* the ACK, error or DONE came */
	bool sent;			/* the kernel got the command */
};

struct genl {
	struct nl_sock *sk;
	int family;
};

static int genl_open(struct genl *g)
{
	g->sk = nl_socket_alloc();
	if (!g->sk || genl_connect(g->sk)) {
		fprintf(stderr, "rmemctl: cannot open a generic netlink socket\n");
		return EX_KERNEL;
	}
	g->family = genl_ctrl_resolve(g->sk, RMEM_GENL_NAME);
	if (g->family < 0) {
		fprintf(stderr, "rmemctl: the rmem kernel module is not loaded (modprobe rmem)\n");
		nl_socket_free(g->sk);
		g->sk = NULL;
		return EX_KERNEL;
	}
	return EX_OK;
}

static void genl_close(struct genl *g)
{
	if (g->sk)
		nl_socket_free(g->sk);
	g->sk = NULL;
}

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct nl_ctx *ctx = arg;

	(void)nla;
	ctx->error = e->error;
	ctx->done = true;
	return NL_STOP;
}

/* the ACK of a command, or the DONE that ends a dump */
static int on_ack(struct nl_msg *msg, void *arg)
{
	struct nl_ctx *ctx = arg;

	(void)msg;
	ctx->done = true;
	return NL_STOP;
}

/*
 * The numbers in /sys/block/rmemN/rmem/FILE, into c[1], c[2], ... (the
 * ABI file numbers columns from 1), at most max of them: how many.
 */
int rmem_sysfs_columns(uint32_t idx, const char *file, unsigned long long *c,
		       int max)
{
	char path[96];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "/sys/block/rmem%u/rmem/%s", idx, file);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (n < max && fscanf(f, "%llu", &c[n + 1]) == 1)
		n++;
	fclose(f);
	return n;
}

/*
 * Cache-line deltas: /sys/block/rmemN/rmem/delta, delta_lines, and the
 * median of dirty_lines ("LINES COUNT" lines).
 */
static void print_delta(uint32_t idx)
{
	unsigned long long c[15] = { 0 }, k[2] = { 0 }, a[2] = { 0 }, total = 0, seen = 0;
	unsigned long long h[2 * (RMEM_LINES_PER_FRAME + 1) + 1] = { 0 };
	unsigned int i, median = 0;
	int n;

	if (rmem_sysfs_columns(idx, "delta_lines", k, 1) != 1 ||
	    rmem_sysfs_columns(idx, "delta", c, 14) < 10)
		return;
	rmem_sysfs_columns(idx, "delta_adapt", a, 1);
	n = rmem_sysfs_columns(idx, "dirty_lines", h, 2 * (RMEM_LINES_PER_FRAME + 1));
	for (i = 2; i <= (unsigned int)n; i += 2)
		total += h[i];
	for (i = 2; i <= (unsigned int)n && total; i += 2) {
		seen += h[i];
		if (2 * seen >= total) {
			median = (unsigned int)h[i - 1];
			break;
		}
	}
	if (k[1])
		printf("  deltas         PATCH up to %llu lines: %llu pages patched, %llu whole, %llu mismatches\n",
		       k[1], c[1], c[2], c[3]);
	else
		printf("  deltas         off: %llu pages whole\n", c[2]);
	printf("  write bytes    %llu MiB sent for %llu MiB of pages (%.1fx less)\n",
	       c[5] >> 20, c[6] >> 20, c[5] ? (double)c[6] / (double)c[5] : 1.0);
	if (total)
		printf("  dirty lines    median %u of 64, over %llu pages written with a base\n",
		       median, total);
	printf("  bases          %llu retained, %llu reclaimed; table of %llu pages",
	       c[7], c[8], c[10]);
	if (c[14] > c[10])
		printf(" (%llu once deltas pay)", c[14]);
	printf(", %llu evicted\n", c[9]);
	if (k[1])
		printf("  fingerprints   %s%s; %llu pages skipped, mode changed %llu times\n",
		       !c[11] ? "every page" : c[14] > c[10] ? "1 page in 16 (until PATCHes pay)" :
		       "1 page in 16 (few PATCHes pay)",
		       a[1] ? ", adaptive" : "", c[13], c[12]);
}

/*
 * The counters of /sys/block/rmemN/rmem/stat, columns as
 * Documentation/ABI/testing/sysfs-block-rmem numbers them (from 1).
 */
static void print_stats(uint32_t idx)
{
	unsigned long long c[24] = { 0 };

	if (rmem_sysfs_columns(idx, "stat", c, 23) < 21)
		return;
	printf("  reads          %llu (%llu MiB), mean %llu us, p99 < %llu us\n",
	       c[1], c[4] >> 20, c[12], c[13]);
	printf("  writes         %llu (%llu MiB), mean %llu us, p99 < %llu us\n",
	       c[2], c[5] >> 20, c[14], c[15]);
	printf("  wire           %llu MiB out, %llu MiB in\n", c[6] >> 20, c[7] >> 20);
	printf("  errors         %llu (timeouts %llu, reconnects %llu), in flight %llu\n",
	       c[8], c[9], c[10], c[11]);
	printf("  frames         %llu mapped, %llu discarded; %llu swap slots freed, %llu zero reads, %llu zero pages written\n",
	       c[18], c[19], c[17], c[16], c[22]);
	printf("  read checks    %llu pages failed the end-to-end check, %llu reads sent again\n",
	       c[20], c[21]);
	printf("  slot waits     %llu requests waited for a write of the same block\n",
	       c[23]);
	print_delta(idx);
}

static void print_device(struct nlattr **tb, struct nl_ctx *ctx)
{
	uint32_t idx = nla_get_u32(tb[RMEM_ATTR_INDEX]);
	uint64_t size = tb[RMEM_ATTR_SIZE_BYTES] ? nla_get_u64(tb[RMEM_ATTR_SIZE_BYTES]) : 0;
	const char *state = tb[RMEM_ATTR_STATE] ? nla_get_string(tb[RMEM_ATTR_STATE]) : "?";
	const char *donor = tb[RMEM_ATTR_DONOR] ? nla_get_string(tb[RMEM_ATTR_DONOR]) : "?";

	if (ctx->brief) {
		printf("/dev/rmem%u %s %" PRIu64 "M %s\n", idx, donor, size >> 20, state);
		return;
	}
	printf("/dev/rmem%u\n", idx);
	printf("  state          %s\n", state);
	printf("  donor          %s\n", donor);
	printf("  size           %" PRIu64 " MiB\n", size >> 20);
	if (tb[RMEM_ATTR_FRAMES] &&
	    nla_get_u64(tb[RMEM_ATTR_FRAMES]) > size / RMEM_FRAME_SIZE)
		printf("  spare frames   %" PRIu64 " MiB (retained bases)\n",
		       (nla_get_u64(tb[RMEM_ATTR_FRAMES]) - size / RMEM_FRAME_SIZE) *
		       RMEM_FRAME_SIZE >> 20);
	if (tb[RMEM_ATTR_QUEUES]) {
		printf("  queues         %u", nla_get_u32(tb[RMEM_ATTR_QUEUES]));
		if (tb[RMEM_ATTR_READ_QUEUES] && nla_get_u32(tb[RMEM_ATTR_READ_QUEUES]))
			printf(", the last %u for reads", nla_get_u32(tb[RMEM_ATTR_READ_QUEUES]));
		printf(" (dead mask %#" PRIx64 ")\n",
		       tb[RMEM_ATTR_DEAD_MASK] ? nla_get_u64(tb[RMEM_ATTR_DEAD_MASK]) : 0);
	}
	if (tb[RMEM_ATTR_REGION_ID])
		printf("  region         %" PRIu64 "\n", nla_get_u64(tb[RMEM_ATTR_REGION_ID]));
	if (tb[RMEM_ATTR_TIMEOUT_MS] && tb[RMEM_ATTR_DEAD_TIMEOUT_MS])
		printf("  timeouts       request %u ms, reconnect %u ms\n",
		       nla_get_u32(tb[RMEM_ATTR_TIMEOUT_MS]),
		       nla_get_u32(tb[RMEM_ATTR_DEAD_TIMEOUT_MS]));
	print_stats(idx);
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct nl_ctx *ctx = arg;
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));
	struct nlattr *tb[RMEM_ATTR_MAX + 1];

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, RMEM_ATTR_MAX, NULL) ||
	    !tb[RMEM_ATTR_INDEX])
		return NL_SKIP;
	ctx->have_index = true;
	ctx->index = nla_get_u32(tb[RMEM_ATTR_INDEX]);
	if (gh->cmd == RMEM_CMD_STATUS) {
		ctx->found++;
		ctx->dead_mask = tb[RMEM_ATTR_DEAD_MASK] ?
				 nla_get_u64(tb[RMEM_ATTR_DEAD_MASK]) : 0;
		if (ctx->prom)
			prom_add_device(ctx->index,
					tb[RMEM_ATTR_DONOR] ? nla_get_string(tb[RMEM_ATTR_DONOR]) : "",
					tb[RMEM_ATTR_STATE] ? nla_get_string(tb[RMEM_ATTR_STATE]) : "",
					tb[RMEM_ATTR_SIZE_BYTES] ? nla_get_u64(tb[RMEM_ATTR_SIZE_BYTES]) : 0,
					tb[RMEM_ATTR_QUEUES] ? nla_get_u32(tb[RMEM_ATTR_QUEUES]) : 0,
					ctx->dead_mask);
		else if (ctx->all || ctx->brief)
			print_device(tb, ctx);
	}
	return NL_OK;
}

/* Send msg, run the callbacks on what comes back; -errno of the ack. */
static int genl_call(struct genl *g, struct nl_msg *msg, struct nl_ctx *ctx)
{
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int ret;

	if (!cb)
		return -ENOMEM;
	ctx->error = 0;
	ctx->done = false;
	ctx->sent = false;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, ctx);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, ctx);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, on_ack, ctx);
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, ctx);
	ret = nl_send_auto(g->sk, msg);
	ctx->sent = ret >= 0;
	/*
	 * A reply and its ACK are two datagrams, and nl_recvmsgs() returns
	 * after the first: read until the ACK (or error, or a dump's DONE),
	 * or the next call would read this one's ACK as its own and a
	 * polling caller (supervise) would fall one message further behind
	 * at every call.
	 */
	while (ret >= 0 && !ctx->done)
		ret = nl_recvmsgs(g->sk, cb);
	nl_cb_put(cb);
	nlmsg_free(msg);
	if (ctx->error)
		return ctx->error;
	return ret < 0 ? -EIO : 0;
}

static struct nl_msg *genl_msg(struct genl *g, uint8_t cmd, int flags)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (msg && !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, g->family, 0,
				flags | NLM_F_ACK, cmd, RMEM_GENL_VERSION)) {
		nlmsg_free(msg);
		msg = NULL;
	}
	return msg;
}

static int put_sockets(struct nl_msg *msg, const int *fds, unsigned int n)
{
	struct nlattr *nest = nla_nest_start(msg, RMEM_ATTR_SOCKETS);
	unsigned int i;

	if (!nest)
		return -1;
	for (i = 0; i < n; i++)
		if (nla_put_u32(msg, RMEM_SOCK_FD, (uint32_t)fds[i]))
			return -1;
	nla_nest_end(msg, nest);
	return 0;
}

/* /dev/rmemN, rmemN or N: N (below 2^20, the kernel's MINORBITS), or -1 */
int rmem_parse_dev(const char *s, uint32_t *index)
{
	char *end;
	unsigned long v;

	if (!strncmp(s, "/dev/", 5))
		s += 5;
	if (!strncmp(s, "rmem", 4))
		s += 4;
	if (*s < '0' || *s > '9')
		return -1;
	v = strtoul(s, &end, 10);
	if (*end || v > 0xfffff)
		return -1;
	*index = (uint32_t)v;
	return 0;
}

static int parse_dev(const char *s, uint32_t *index)
{
	if (rmem_parse_dev(s, index)) {
		fprintf(stderr, "rmemctl: '%s' is not an rmem device (/dev/rmemN)\n", s);
		return -1;
	}
	return 0;
}

/* STATUS of one device into ctx (dead_mask); 0, -ENODEV or -errno. */
static int query_status(struct genl *g, uint32_t index, struct nl_ctx *ctx)
{
	struct nl_msg *msg = genl_msg(g, RMEM_CMD_STATUS, 0);

	if (!msg || nla_put_u32(msg, RMEM_ATTR_INDEX, index))
		return -ENOMEM;
	ctx->found = 0;
	return genl_call(g, msg, ctx);
}

/*
 * Connect to the donor and open a region of frames, or, with frames 0,
 * join *region, as the connection of queue; fence: the donor first
 * closes the region's older connections of that queue. The connected
 * socket's fd, or -(exit code) with the reason printed and *c freed.
 */
static int connect_region(struct rmemctl *ctl, const char *donor,
			  uint64_t frames, struct rmem_region *region,
			  unsigned int queue, bool fence,
			  struct rmem_client **c)
{
	int ret = connect_donor(ctl, donor, 1, c);

	if (ret)
		return -ret;
	ret = frames ? rmem_open_region_queue(*c, frames, queue, region) :
		       rmem_join_region(*c, region, queue,
					fence ? RMEM_JOIN_FENCE : 0);
	if (ret) {
		fprintf(stderr, "rmemctl: %s\n", rmem_errmsg(*c));
		if (ret == -EOPNOTSUPP)
			fprintf(stderr, "rmemctl: a device needs a donor that fences lost connections: upgrade rmem-poold on %s\n",
				donor);
		ret = exit_for(ret);
		rmem_client_free(*c);
		*c = NULL;
		return -(ret ? ret : EX_FAIL);
	}
	return rmem_fd(*c);
}

/* The n lowest queues of mask, ascending, into q; how many there were. */
static unsigned int lowest_queues(uint64_t mask, unsigned int n,
				  unsigned int *q)
{
	unsigned int i, found = 0;

	for (i = 0; i < RMEM_MAX_QUEUES && found < n; i++)
		if (mask & 1ull << i)
			q[found++] = i;
	return found;
}

/* --persist: replace dead connections until the device goes away. */
static int supervise(struct rmemctl *ctl, struct genl *g, uint32_t index,
		     const char *donor, struct rmem_region *region)
{
	struct nl_sock *ev = nl_socket_alloc();
	bool reconnecting = false;
	int grp, ret;

	if (!ev || genl_connect(ev)) {
		fprintf(stderr, "rmemctl: cannot open a netlink socket for events\n");
		return EX_KERNEL;
	}
	grp = genl_ctrl_resolve_grp(ev, RMEM_GENL_NAME, RMEM_GENL_MCAST_NAME);
	if (grp < 0 || nl_socket_add_membership(ev, grp)) {
		fprintf(stderr, "rmemctl: cannot listen to rmem events\n");
		nl_socket_free(ev);
		return EX_KERNEL;
	}
	nl_socket_disable_seq_check(ev);
	nl_socket_set_nonblocking(ev);
	rmemctl_retrying = true;	/* what fails from here is tried again */
	/*
	 * I/O on the device waits for us to reconnect it: reclaim must not
	 * make us wait on that I/O (a swap-out from our own allocation would
	 * block in the driver until the reconnect we were to make), nor the
	 * OOM killer pick us.
	 */
	ret = rmem_mark_io_flusher();
	if (ret && !ctl->quiet)
		fprintf(stderr, "rmemctl: warning: not an I/O flusher (%s): under memory pressure a reconnect could deadlock\n",
			strerror(-ret));
	ret = rmem_protect_from_oom();
	if (ret && !ctl->quiet)
		fprintf(stderr, "rmemctl: warning: oom_score_adj left as it was: %s\n", strerror(-ret));
	for (;;) {
		struct pollfd pfd = { .fd = nl_socket_get_fd(ev), .events = POLLIN };
		struct nl_ctx ctx = { 0 };
		struct rmem_client *c[RMEM_MAX_QUEUES] = { 0 };
		int fds[RMEM_MAX_QUEUES];
		unsigned int queue[RMEM_MAX_QUEUES], now[RMEM_MAX_QUEUES];
		unsigned int n = 0, q, wanted;

		if (poll(&pfd, 1, 2000) > 0)
			nl_recvmsgs_default(ev);	/* LINK_DEAD: just wakes us */
		ret = query_status(g, index, &ctx);
		if (ret == -ENODEV) {
			sd_notify(0, "STOPPING=1");
			if (!ctl->quiet)
				printf("/dev/rmem%u is gone; rmemctl stops\n", index);
			nl_socket_free(ev);
			return EX_OK;
		}
		if (ret || !ctx.dead_mask) {
			if (!ret && reconnecting) {
				sd_notifyf(0, "STATUS=/dev/rmem%u: up on %s", index, donor);
				reconnecting = false;
			}
			continue;
		}
		if (!reconnecting)
			sd_notifyf(0, "STATUS=/dev/rmem%u: reconnecting lost connections (dead mask %#" PRIx64 ")",
				   index, ctx.dead_mask);
		reconnecting = true;
		/*
		 * RECONFIGURE puts the i-th socket in the i-th lowest dead
		 * queue, so the sockets go in ascending queue order and each
		 * is labelled, and fences, the queue it will land in. A
		 * connect that fails ends the list there (the rest wait for
		 * the next round), so the labels stay the lowest n.
		 */
		wanted = lowest_queues(ctx.dead_mask, RMEM_MAX_QUEUES, queue);
		for (q = 0; q < wanted; q++) {
			fds[n] = connect_region(ctl, donor, 0, region, queue[q],
						true, &c[n]);
			if (fds[n] < 0)
				break;		/* retried at the next round */
			n++;
		}
		/*
		 * Another queue below ours may have died while we connected.
		 * RECONFIGURE names the queues (RMEM_ATTR_QUEUE_MASK), so the
		 * kernel never puts a socket in a queue other than the one it
		 * fenced (it refuses with EBUSY); looking again first saves
		 * that round trip. On a change, start over (the fences done
		 * stand; they only closed dead connections).
		 */
		if (n && (query_status(g, index, &ctx) ||
			  lowest_queues(ctx.dead_mask, n, now) != n ||
			  memcmp(now, queue, n * sizeof(*now)))) {
			if (!ctl->quiet)
				fprintf(stderr, "rmemctl: /dev/rmem%u: dead queues changed while reconnecting; again\n",
					index);
			for (q = 0; q < n; q++)
				rmem_client_free(c[q]);
			continue;
		}
		if (n) {
			struct nl_msg *msg = genl_msg(g, RMEM_CMD_RECONFIGURE, 0);
			uint64_t mask = 0;

			ret = -ENOMEM;
			for (q = 0; q < n; q++)
				mask |= 1ull << queue[q];
			if (msg && !nla_put_u32(msg, RMEM_ATTR_INDEX, index) &&
			    !nla_put_u64(msg, RMEM_ATTR_QUEUE_MASK, mask) &&
			    !put_sockets(msg, fds, n))
				ret = genl_call(g, msg, &ctx);
			if (ret)
				fprintf(stderr, "rmemctl: reconnecting /dev/rmem%u: %s\n",
					index, strerror(-ret));
			else if (!ctl->quiet)
				printf("/dev/rmem%u: %u connection%s to %s replaced\n",
				       index, n, n == 1 ? "" : "s", donor);
			fflush(stdout);
		}
		for (q = 0; q < n; q++)
			rmem_client_free(c[q]);	/* the kernel holds the sockets */
	}
}

static int attach(struct rmemctl *ctl, const struct attach_opts *o);

/*
 * One attach option, by its long name, from the command line or from a
 * line of rmemtab (tab.c): the one place each is checked. 0, or -1 with
 * the reason in err.
 */
int attach_option(struct attach_opts *o, const char *name, const char *val,
		  char *err, size_t errlen)
{
	unsigned long v;
	uint64_t bytes;
	char *end;

	if (!strcmp(name, "size") || !strcmp(name, "spare")) {
		if (rmem_parse_size(val, &bytes) || bytes % RMEM_FRAME_SIZE ||
		    (!bytes && name[1] == 'i')) {
			snprintf(err, errlen, "bad %s '%s' (a multiple of 4K: 512M, 8G)",
				 name, val);
			return -1;
		}
		*(name[1] == 'i' ? &o->size : &o->spare) = bytes;
	} else if (!strcmp(name, "queues") || !strcmp(name, "read-queues")) {
		bool rq = name[0] == 'r';

		v = strtoul(val, &end, 10);
		if (!*val || *end || (!rq && !v) || v >= (unsigned long)RMEM_MAX_QUEUES + !rq) {
			snprintf(err, errlen, "%s takes %u..%u, not '%s'", name,
				 rq ? 0 : 1, RMEM_MAX_QUEUES - rq, val);
			return -1;
		}
		*(rq ? &o->nread : &o->queues) = (unsigned int)v;
	} else if (!strcmp(name, "timeout-ms") || !strcmp(name, "reconnect-ms")) {
		v = strtoul(val, &end, 10);
		if (!*val || *end || v < 100 || v > UINT32_MAX) {
			snprintf(err, errlen, "bad %s '%s' (milliseconds, at least 100)",
				 name, val);
			return -1;
		}
		*(name[0] == 't' ? &o->timeout_ms : &o->reconnect_ms) = (uint32_t)v;
	} else if (!strcmp(name, "device")) {
		uint32_t idx;

		if (rmem_parse_dev(val, &idx)) {
			snprintf(err, errlen, "bad device '%s' (/dev/rmemN or rmemN)", val);
			return -1;
		}
		o->index = (int)idx;
	} else {
		snprintf(err, errlen, "unknown option '%s'", name);
		return -1;
	}
	return 0;
}

int cmd_attach(struct rmemctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "queues", required_argument, NULL, 'n' },
		{ "timeout-ms", required_argument, NULL, 'T' },
		{ "reconnect-ms", required_argument, NULL, 'R' },
		{ "persist", no_argument, NULL, 'p' },
		{ "spare", required_argument, NULL, 'S' },
		{ "read-queues", required_argument, NULL, 'r' },
		{ "device", required_argument, NULL, 'd' },
		{ "tab", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct attach_opts o = ATTACH_OPTS_INIT;
	const char *tab = NULL;
	bool persist = false, others = false;
	char err[512];
	int opt, ret;
	size_t i;

	optind = 0;	/* 0: GNU getopt restarts and permutes DONOR past options */
	while ((opt = getopt_long(argc, argv, "s:n:T:R:pS:r:d:f:", opts, NULL)) != -1) {
		if (opt == 'p') {
			persist = true;
			continue;
		}
		if (opt == 'f') {
			tab = optarg;
			continue;
		}
		for (i = 0; opts[i].name && opts[i].val != opt; i++)
			;
		if (!opts[i].name)
			return EX_USAGE;
		if (attach_option(&o, opts[i].name, optarg, err, sizeof(err))) {
			fprintf(stderr, "rmemctl: %s\n", err);
			return EX_USAGE;
		}
		others |= opt != 'd';
	}
	/*
	 * attach /dev/rmemN: its line of rmemtab(5), and nothing else; a
	 * DONOR is never a path
	 */
	if (optind == argc - 1 && !strncmp(argv[optind], "/dev/", 5)) {
		struct rmemtab_entry e;

		if (others) {
			fprintf(stderr, "rmemctl: attach %s takes its options from %s; only --tab and --persist go with it\n",
				argv[optind], tab ? tab : RMEMTAB_DEFAULT);
			return EX_USAGE;
		}
		ret = rmemtab_find(tab ? tab : RMEMTAB_DEFAULT, argv[optind], &e,
				   err, sizeof(err));
		if (ret) {
			fprintf(stderr, "rmemctl: %s\n", err);
			return ret;
		}
		if (o.index >= 0 && o.index != e.opts.index) {
			fprintf(stderr, "rmemctl: --device and %s name two devices\n",
				argv[optind]);
			return EX_USAGE;
		}
		if (e.key_file[0])
			ctl->key_file = strdup(e.key_file);
		if (e.key_id[0])
			ctl->key_id = strdup(e.key_id);
		e.opts.persist = persist;
		return attach(ctl, &e.opts);
	}
	if (tab) {
		fprintf(stderr, "rmemctl: --tab goes with attach /dev/rmemN\n");
		return EX_USAGE;
	}
	if (optind != argc - 1 || !o.size) {
		fprintf(stderr, "usage: rmemctl attach DONOR[:PORT] --size SIZE [--spare SIZE] [--queues N] [--read-queues M] [--timeout-ms MS] [--reconnect-ms MS] [--device /dev/rmemN] [--persist]\n"
				"   or: rmemctl attach /dev/rmemN [--tab FILE] [--persist]   (its line of " RMEMTAB_DEFAULT ")\n");
		return EX_USAGE;
	}
	o.donor = argv[optind];
	o.persist = persist;
	return attach(ctl, &o);
}

/* Make the device o describes; with o->persist, stay and supervise it. */
static int attach(struct rmemctl *ctl, const struct attach_opts *o)
{
	struct rmem_client *c[RMEM_MAX_QUEUES] = { 0 };
	int fds[RMEM_MAX_QUEUES];
	unsigned int queues = o->queues, nread = o->nread, i;
	uint64_t size = o->size, spare = o->spare;
	bool asked = false;
	struct rmem_region region;
	struct nl_ctx ctx = { 0 };
	struct genl g = { 0 };
	struct nl_msg *msg;
	const char *donor = o->donor;
	int ret;

	if (queues + nread > RMEM_MAX_QUEUES) {
		fprintf(stderr, "rmemctl: --queues %u and --read-queues %u make more than %u connections\n",
			queues, nread, RMEM_MAX_QUEUES);
		return EX_USAGE;
	}
	/* --queues counts the queues for everything but reads, then the
	 * read queues come after them: the kernel's last nread */
	queues += nread;
	ret = genl_open(&g);		/* before the donor: fail fast */
	if (ret)
		return ret;

	/*
	 * The first connection opens the region, the others join it; the
	 * i-th socket of CONNECT serves queue i, so that is its label. A
	 * new region has no older connections: nothing to fence.
	 */
	for (i = 0; i < queues; i++) {
		fds[i] = connect_region(ctl, donor,
					i ? 0 : (size + spare) / RMEM_FRAME_SIZE,
					&region, i, false, &c[i]);
		if (fds[i] < 0) {
			ret = -fds[i];
			if (i)		/* give back the region the first opened */
				rmem_close(c[0], true);
			goto out;
		}
	}

	msg = genl_msg(&g, RMEM_CMD_CONNECT, 0);
	ret = -ENOMEM;
	if (msg && !nla_put_u64(msg, RMEM_ATTR_SIZE_BYTES, size) &&
	    !nla_put_u64(msg, RMEM_ATTR_FRAMES, (size + spare) / RMEM_FRAME_SIZE) &&
	    !nla_put_u32(msg, RMEM_ATTR_TIMEOUT_MS, o->timeout_ms) &&
	    !nla_put_u32(msg, RMEM_ATTR_DEAD_TIMEOUT_MS, o->reconnect_ms) &&
	    !nla_put_string(msg, RMEM_ATTR_DONOR, donor) &&
	    !nla_put_u64(msg, RMEM_ATTR_REGION_ID, region.id) &&
	    !nla_put(msg, RMEM_ATTR_REGION_TOKEN, RMEM_TOKEN_SIZE, region.token) &&
	    (!nread || !nla_put_u32(msg, RMEM_ATTR_READ_QUEUES, nread)) &&
	    (o->index < 0 || !nla_put_u32(msg, RMEM_ATTR_INDEX, (uint32_t)o->index)) &&
	    !put_sockets(msg, fds, queues)) {
		ret = genl_call(&g, msg, &ctx);
		asked = ctx.sent;	/* not sent: the kernel has nothing */
	}
	if (asked && !ctx.error && !ctx.have_index) {
		/*
		 * Neither an answer nor a refusal (our netlink socket lost it,
		 * or an old kernel made the device without answering): the
		 * kernel may own the sockets, so no CLOSE and no shutdown on
		 * them; closing our descriptors (at out) leaves its references.
		 */
		fprintf(stderr, "rmemctl: no answer from the kernel to CONNECT (%s): the device may exist (rmemctl list)\n",
			strerror(ret ? -ret : EIO));
		ret = EX_KERNEL;
		goto out;
	}
	if (ret || !ctx.have_index) {
		if (ret == -EEXIST && o->index >= 0)
			fprintf(stderr, "rmemctl: /dev/rmem%d exists already\n",
				o->index);
		else
			fprintf(stderr, "rmemctl: the kernel refused the device: %s\n",
				strerror(ret ? -ret : EIO));
		/* give the region back; the kernel kept nothing */
		rmem_close(c[0], true);
		ret = ret == -EPERM ? EX_USAGE : ret == -EEXIST ? EX_INUSE : EX_KERNEL;
		goto out;
	}
	if (o->index >= 0 && ctx.index != (uint32_t)o->index) {
		/* a module from before CONNECT took an index: not the one named */
		fprintf(stderr, "rmemctl: the rmem module made /dev/rmem%u, not /dev/rmem%d (it is older than named devices: upgrade it); detaching it\n",
			ctx.index, o->index);
		for (i = 0; i < queues; i++) {
			rmem_client_free(c[i]);	/* the kernel holds the sockets */
			c[i] = NULL;
		}
		/* udev's probe of the new disk may hold it open: EBUSY, a while */
		for (i = 0; i < 50; i++) {
			msg = genl_msg(&g, RMEM_CMD_DISCONNECT, 0);
			ret = -ENOMEM;
			if (msg && !nla_put_u32(msg, RMEM_ATTR_INDEX, ctx.index))
				ret = genl_call(&g, msg, &(struct nl_ctx){ 0 });
			if (ret != -EBUSY)
				break;
			usleep(100000);
		}
		if (ret)
			fprintf(stderr, "rmemctl: /dev/rmem%u could not be detached (%s): detach it by hand\n",
				ctx.index, strerror(-ret));
		ret = EX_KERNEL;
		goto out;
	}
	if (!ctl->quiet) {
		printf("/dev/rmem%u: %" PRIu64 " MiB", ctx.index, size >> 20);
		if (spare)
			printf(" (and %" PRIu64 " MiB for bases)", spare >> 20);
		printf(" on %s, region %" PRIu64 ", %u queue%s", donor, region.id,
		       queues, queues == 1 ? "" : "s");
		if (nread)
			printf(" (%u for reads)", nread);
		printf("\n");
	} else
		printf("/dev/rmem%u\n", ctx.index);
	fflush(stdout);
	/* the kernel holds the sockets now; our descriptors just close */
	for (i = 0; i < queues; i++) {
		rmem_client_free(c[i]);
		c[i] = NULL;
	}
	/* under systemd (rmem@.service, Type=notify): the device is there */
	sd_notifyf(0, "READY=1\nSTATUS=/dev/rmem%u: %" PRIu64 " MiB on %s, region %" PRIu64,
		   ctx.index, size >> 20, donor, region.id);
	ret = o->persist ? supervise(ctl, &g, ctx.index, donor, &region) : EX_OK;
out:
	for (i = 0; i < queues; i++)
		rmem_client_free(c[i]);
	explicit_bzero(&region, sizeof(region));
	genl_close(&g);
	return ret;
}

static int device_cmd(struct rmemctl *ctl, int argc, char **argv, uint8_t cmd,
		      bool prom)
{
	struct nl_ctx ctx = { .prom = prom };
	struct genl g = { 0 };
	struct nl_msg *msg;
	uint32_t index;
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: rmemctl %s /dev/rmemN%s\n", argv[0],
			cmd == RMEM_CMD_STATUS ? " [--prometheus]" : "");
		return EX_USAGE;
	}
	if (parse_dev(argv[1], &index))
		return EX_USAGE;
	ret = genl_open(&g);
	if (ret)
		return ret;
	msg = genl_msg(&g, cmd, 0);
	ctx.all = cmd == RMEM_CMD_STATUS;
	ret = -ENOMEM;
	if (msg && !nla_put_u32(msg, RMEM_ATTR_INDEX, index))
		ret = genl_call(&g, msg, &ctx);
	genl_close(&g);
	switch (-ret) {
	case 0:
		if (cmd == RMEM_CMD_DISCONNECT && !ctl->quiet)
			printf("/dev/rmem%u detached\n", index);
		return EX_OK;
	case ENODEV:
		fprintf(stderr, "rmemctl: no device /dev/rmem%u\n", index);
		return EX_KERNEL;
	case EBUSY:
		fprintf(stderr, "rmemctl: /dev/rmem%u is in use (swapoff or unmount it first)\n",
			index);
		return EX_INUSE;
	case EPERM:
		fprintf(stderr, "rmemctl: %s needs CAP_NET_ADMIN (run as root)\n", argv[0]);
		return EX_FAIL;
	default:
		fprintf(stderr, "rmemctl: %s /dev/rmem%u: %s\n", argv[0], index,
			strerror(-ret));
		return EX_FAIL;
	}
}

/*
 * detach [--if-present] /dev/rmemN: with --if-present a device that is
 * not there is no error (rmem@.service's ExecStopPost, which also runs
 * after a start that failed half way, or after a detach by hand).
 */
int cmd_detach(struct rmemctl *ctl, int argc, char **argv)
{
	char *args[2] = { argv[0] };
	bool if_present = false;
	uint32_t idx;
	char path[64];
	int i, n = 1;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--if-present"))
			if_present = true;
		else if (n < 2)
			args[n++] = argv[i];
		else
			n = 3;
	}
	if (n != 2) {
		fprintf(stderr, "usage: rmemctl detach [--if-present] /dev/rmemN\n");
		return EX_USAGE;
	}
	if (if_present && !rmem_parse_dev(args[1], &idx)) {
		snprintf(path, sizeof(path), "/sys/block/rmem%u", idx);
		if (access(path, F_OK))
			return EX_OK;
	}
	return device_cmd(ctl, 2, args, RMEM_CMD_DISCONNECT, false);
}

static int dump_devices(bool brief, bool prom)
{
	struct nl_ctx ctx = { .all = !brief, .brief = brief, .prom = prom };
	struct genl g = { 0 };
	struct nl_msg *msg;
	int ret = genl_open(&g);

	if (ret)
		return ret;
	msg = genl_msg(&g, RMEM_CMD_STATUS, NLM_F_DUMP);
	ret = msg ? genl_call(&g, msg, &ctx) : -ENOMEM;
	genl_close(&g);
	if (ret) {
		fprintf(stderr, "rmemctl: listing devices: %s\n", strerror(-ret));
		return EX_FAIL;
	}
	return EX_OK;
}

int cmd_status(struct rmemctl *ctl, int argc, char **argv)
{
	char *args[3] = { argv[0] };
	bool prom = false;
	int i, n = 1, ret;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--prometheus")) {
			prom = true;
		} else if (n < 2) {
			args[n++] = argv[i];
		} else {
			fprintf(stderr, "usage: rmemctl status [/dev/rmemN] [--prometheus]\n");
			return EX_USAGE;
		}
	}
	ret = n == 1 ? dump_devices(false, prom) :
		       device_cmd(ctl, n, args, RMEM_CMD_STATUS, prom);
	if (!ret && prom)
		prom_print_devices();
	return ret;
}

int cmd_list(struct rmemctl *ctl, int argc, char **argv)
{
	(void)ctl;
	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: rmemctl list\n");
		return EX_USAGE;
	}
	return dump_devices(true, false);
}

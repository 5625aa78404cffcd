// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * nlprobe: what tests/vm/control.sh asks of the kernel that rmemctl does
 * not show or cannot do on purpose.
 *
 *   nlprobe token N            STATUS of /dev/rmemN: prints "token" if
 *                              the answer has the region token, else
 *                              "no token"; exit 1 with the error if the
 *                              kernel refused
 *   nlprobe reconfigure N      RECONFIGURE /dev/rmemN with no sockets:
 *                              prints the kernel's answer (an error:
 *                              EPERM for a user, EINVAL for root)
 *   nlprobe opener DEV SECS    for SECS seconds, open DEV, read its
 *                              first 4 KiB, close, as fast as it can;
 *                              prints how many opens succeeded, how many
 *                              were refused, and "lost": reads that
 *                              failed on an open that succeeded (the
 *                              device went while we had it open)
 *   nlprobe badconnect DONOR   with the key in /tmp/key: open a region,
 *                              hand its socket to CONNECT with a bad
 *                              size, then with a second socket that is
 *                              not TCP, then twice, then as its only
 *                              queue and a read queue, then for 1 TiB (a
 *                              map too large); all must fail, and the socket
 *                              must still carry a WRITE and a READ
 *                              before it gives the region back (CLOSE)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "librmem.h"
#include "rmem_common.h"
#include "rmem_proto.h"

struct answer {
	int error;
	int done;
	int token;
	int index;
};

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[RMEM_ATTR_MAX + 1];
	struct answer *a = arg;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, RMEM_ATTR_MAX, NULL))
		return NL_SKIP;
	if (tb[RMEM_ATTR_REGION_TOKEN])
		a->token = 1;
	if (tb[RMEM_ATTR_INDEX])
		a->index = (int)nla_get_u32(tb[RMEM_ATTR_INDEX]);
	return NL_OK;
}

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct answer *a = arg;

	(void)nla;
	a->error = e->error;
	a->done = 1;
	return NL_STOP;
}

static int on_ack(struct nl_msg *msg, void *arg)
{
	struct answer *a = arg;

	(void)msg;
	a->done = 1;
	return NL_STOP;
}

/* Send a request of cmd, built by fill; the kernel's -errno, or 0. */
static int call(uint8_t cmd, int (*fill)(struct nl_msg *, const void *),
		const void *arg, struct answer *a)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_msg *msg = nlmsg_alloc();
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int family, ret = -EIO;

	memset(a, 0, sizeof(*a));
	a->index = -1;
	if (!sk || !msg || !cb || genl_connect(sk))
		goto out;
	family = genl_ctrl_resolve(sk, RMEM_GENL_NAME);
	if (family < 0 ||
	    !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, NLM_F_ACK,
			 cmd, RMEM_GENL_VERSION) || fill(msg, arg))
		goto out;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, a);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, a);
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, a);
	ret = nl_send_auto(sk, msg);
	while (ret >= 0 && !a->done)
		ret = nl_recvmsgs(sk, cb);
	ret = a->error ? a->error : ret < 0 ? -EIO : 0;
out:
	nl_cb_put(cb);
	nlmsg_free(msg);
	nl_socket_free(sk);
	return ret;
}

static int fill_index(struct nl_msg *msg, const void *arg)
{
	return nla_put_u32(msg, RMEM_ATTR_INDEX, *(const uint32_t *)arg);
}

static int token(const char *n)
{
	uint32_t index = (uint32_t)atoi(n);
	struct answer a;
	int ret = call(RMEM_CMD_STATUS, fill_index, &index, &a);

	if (ret) {
		printf("STATUS: %s\n", strerror(-ret));
		return 1;
	}
	printf("%s\n", a.token ? "token" : "no token");
	return 0;
}

static int reconfigure(const char *n)
{
	uint32_t index = (uint32_t)atoi(n);
	struct answer a;
	int ret = call(RMEM_CMD_RECONFIGURE, fill_index, &index, &a);

	printf("RECONFIGURE: %s\n", ret ? strerror(-ret) : "ok");
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int opener(const char *dev, const char *secs)
{
	double end = now() + atof(secs);
	unsigned long opens = 0, refused = 0, lost = 0;
	static char buf[4096] __attribute__((aligned(4096)));

	while (now() < end) {
		int fd = open(dev, O_RDONLY);

		if (fd < 0) {
			refused++;
			usleep(1000);
			continue;
		}
		opens++;
		/* an open that succeeded must keep a device to read */
		if (pread(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
			lost++;
		close(fd);
	}
	printf("opener: %lu opens, %lu refused, %lu lost\n", opens, refused, lost);
	return 0;
}

struct connect_args {
	uint64_t size;
	uint64_t frames;
	int fds[2];
	unsigned int nfds;
	uint32_t nread;			/* RMEM_ATTR_READ_QUEUES, if not 0 */
};

static int fill_connect(struct nl_msg *msg, const void *arg)
{
	const struct connect_args *c = arg;
	struct nlattr *nest;
	unsigned int i;

	if (nla_put_u64(msg, RMEM_ATTR_SIZE_BYTES, c->size) ||
	    nla_put_u64(msg, RMEM_ATTR_FRAMES, c->frames) ||
	    (c->nread && nla_put_u32(msg, RMEM_ATTR_READ_QUEUES, c->nread)))
		return -1;
	nest = nla_nest_start(msg, RMEM_ATTR_SOCKETS);
	if (!nest)
		return -1;
	for (i = 0; i < c->nfds; i++)
		if (nla_put_u32(msg, RMEM_SOCK_FD, (uint32_t)c->fds[i]))
			return -1;
	nla_nest_end(msg, nest);
	return 0;
}

#define BAD_FRAMES 16

/* CONNECT as ca says must fail with want; nonzero (said) if it does not */
static int refused(const char *what, const struct connect_args *ca, int want)
{
	struct answer a;
	int ret = call(RMEM_CMD_CONNECT, fill_connect, ca, &a);

	printf("CONNECT %s: %s\n", what, strerror(-ret));
	if (ret == want)
		return 0;
	printf("FAIL: CONNECT %s was not refused (%s)\n", what, strerror(-want));
	return 1;
}

static int badconnect(const char *donor)
{
	struct rmem_client_opts o = { .name = "nlprobe", .depth = 4 };
	static char page[RMEM_FRAME_SIZE], back[RMEM_FRAME_SIZE];
	struct rmem_client *c = rmem_client_new();
	struct rmem_region region;
	struct connect_args ca;
	struct rmem_key key;
	char host[256], err[512];

	if (!c || rmem_key_load("/tmp/key", &key, err, sizeof(err)) ||
	    rmem_parse_hostport(donor, RMEM_DEFAULT_PORT, host, sizeof(host),
				&o.port, err, sizeof(err))) {
		printf("FAIL: set-up: %s\n", err);
		return 1;
	}
	o.host = host;
	o.key = key.bytes;
	o.key_len = key.len;
	if (rmem_connect(c, &o) || rmem_open_region(c, BAD_FRAMES, &region)) {
		printf("FAIL: %s\n", rmem_errmsg(c));
		return 1;
	}
	/* a size that is not a multiple of the frame size */
	ca = (struct connect_args){ .size = 4095, .frames = BAD_FRAMES,
				    .fds = { rmem_fd(c) }, .nfds = 1 };
	if (refused("with a bad size", &ca, -EINVAL))
		return 1;
	/* a good socket, then one that is not TCP: the kernel took the
	 * first before it saw the second */
	ca.size = BAD_FRAMES * RMEM_FRAME_SIZE;
	ca.fds[1] = socket(AF_INET, SOCK_DGRAM, 0);
	ca.nfds = 2;
	if (refused("with a UDP socket", &ca, -EINVAL))
		return 1;
	close(ca.fds[1]);
	/* the same socket twice: hooking it twice would make its write
	 * space callback call itself */
	ca.fds[1] = ca.fds[0];
	if (refused("with one socket twice", &ca, -EINVAL))
		return 1;
	/* every queue for reads: nothing left for writes */
	ca.nfds = 1;
	ca.nread = 1;
	if (refused("with only a read queue", &ca, -EINVAL))
		return 1;
	ca.nread = 0;
	/* 1 TiB: a slot map of 6 GiB, over what kvmalloc may give; a clear
	 * refusal, not a WARN (the test fails on a kernel warning) */
	ca.size = 1ull << 40;
	ca.frames = ca.size / RMEM_FRAME_SIZE;
	if (refused("of 1 TiB", &ca, -EFBIG))
		return 1;
	memset(page, 0x5a, sizeof(page));
	if (rmem_write(c, 3, 1, page) || rmem_read(c, 3, 1, back) ||
	    memcmp(page, back, sizeof(page))) {
		printf("FAIL: the socket is unusable after the failed CONNECTs: %s\n",
		       rmem_errmsg(c));
		return 1;
	}
	if (rmem_close(c, true)) {
		printf("FAIL: CLOSE after the failed CONNECTs: %s\n", rmem_errmsg(c));
		return 1;
	}
	rmem_client_free(c);
	printf("RESULT: failed CONNECTs left the socket usable: WRITE, READ and CLOSE went through\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "token"))
		return token(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "reconfigure"))
		return reconfigure(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "opener"))
		return opener(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "badconnect"))
		return badconnect(argv[2]);
	fprintf(stderr, "usage: nlprobe token N | reconfigure N | opener DEV SECS | badconnect DONOR\n");
	return 2;
}

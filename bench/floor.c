// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rmem-floor: the raw TCP request/response floor over loopback.
 *
 *   rmem-floor [--depth N] [--seconds S] [--bs BYTES] [--warmup S] [--write]
 *
 * The same bytes a 4 KiB rmem READ puts on the wire (a request header
 * out, a reply header plus the block back; with --write, a header plus
 * the block out and a reply header back), with no protocol, no pool
 * and no library: blocking send() and recv() between two processes over
 * one TCP connection with TCP_NODELAY, N requests in flight. What rmem
 * adds on top of this is what rmem costs.
 *
 * Prints one JSON object: iops, lat_mean_us, lat_p99_us, requests.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/rmem.h>

#define FLOOR_MAX_DEPTH	1024

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "rmem-floor: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int full(int fd, void *buf, size_t len, int out)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = out ? send(fd, p, len, MSG_NOSIGNAL) :
				  recv(fd, p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Answer each request with a reply header, and bs bytes unless the
 * request carried them: one buffer, sent whole, like the donor's
 * header-plus-frame sendmsg. */
static void serve(int lfd, size_t bs, int write)
{
	struct rmem_req_hdr req;
	uint8_t *reply = calloc(1, sizeof(struct rmem_reply_hdr) + bs);
	size_t in = write ? bs : 0, out = write ? 0 : bs;
	struct rmem_reply_hdr *rep = (struct rmem_reply_hdr *)reply;
	int fd = accept(lfd, NULL, NULL);

	if (fd < 0 || !reply)
		exit(1);
	nodelay(fd);
	rep->magic = RMEM_REPLY_MAGIC;
	rep->op = RMEM_OP_READ;
	while (full(fd, &req, sizeof(req), 0) == 0 &&
	       (!in || full(fd, reply + sizeof(*rep), in, 0) == 0)) {
		rep->tag = req.tag;
		if (full(fd, reply, sizeof(*rep) + out, 1))
			break;
	}
	exit(0);
}

/* A request header, and for a write its block, in one send. */
static int send_req(int fd, const struct rmem_req_hdr *req, uint8_t *buf,
		    size_t out)
{
	if (!out)
		return full(fd, (void *)req, sizeof(*req), 1);
	memcpy(buf, req, sizeof(*req));	/* the block follows it in buf */
	return full(fd, buf, sizeof(*req) + out, 1);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "depth", required_argument, NULL, 'd' },
		{ "seconds", required_argument, NULL, 's' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "bs", required_argument, NULL, 'b' },
		{ "write", no_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int depth = 1;
	double seconds = 5, warmup = 1;
	size_t bs = RMEM_FRAME_SIZE, cap = 1 << 20, n = 0, i;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t salen = sizeof(sa);
	uint64_t sent[FLOOR_MAX_DEPTH], *lat, t0, tend, tmeasure, sum = 0;
	struct rmem_req_hdr req = { 0 };
	uint8_t *reply;
	int lfd, fd, opt, status, write = 0;
	size_t in, out;
	pid_t pid;

	while ((opt = getopt_long(argc, argv, "d:s:w:b:Wh", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			depth = (unsigned int)atoi(optarg);
			break;
		case 's':
			seconds = atof(optarg);
			break;
		case 'w':
			warmup = atof(optarg);
			break;
		case 'b':
			bs = (size_t)atol(optarg);
			break;
		case 'W':
			write = 1;
			break;
		default:
			fprintf(stderr, "usage: rmem-floor [--depth N] [--seconds S] [--warmup S] [--bs BYTES] [--write]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (!depth || depth > FLOOR_MAX_DEPTH || !bs || bs > RMEM_MAX_PAYLOAD ||
	    seconds <= 0 || warmup < 0) {
		fprintf(stderr, "rmem-floor: depth 1..%u, bs 1..%u, seconds > 0\n",
			FLOOR_MAX_DEPTH, RMEM_MAX_PAYLOAD);
		return 2;
	}

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(lfd, 1) || getsockname(lfd, (struct sockaddr *)&sa, &salen))
		die("listen");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0)
		serve(lfd, bs, write);
	close(lfd);

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("connect");
	nodelay(fd);
	lat = malloc(cap * sizeof(*lat));
	reply = malloc(sizeof(struct rmem_req_hdr) + sizeof(struct rmem_reply_hdr) + bs);
	if (!lat || !reply)
		die("malloc");
	/* what goes out after each request header, what comes back */
	in = write ? 0 : bs;
	out = write ? bs : 0;

	req.magic = RMEM_REQ_MAGIC;
	req.op = write ? RMEM_OP_WRITE : RMEM_OP_READ;
	t0 = now_ns();
	tmeasure = t0 + (uint64_t)(warmup * 1e9);
	tend = tmeasure + (uint64_t)(seconds * 1e9);
	for (i = 0; i < depth; i++) {
		req.tag = i;
		sent[i] = now_ns();
		if (send_req(fd, &req, reply, out))
			die("send");
	}
	for (;;) {
		struct rmem_reply_hdr *rep = (struct rmem_reply_hdr *)reply;
		uint64_t t, slot;

		if (full(fd, reply, sizeof(*rep) + in, 0))
			die("recv");
		t = now_ns();
		slot = rep->tag;
		if (t >= tmeasure && sent[slot] >= tmeasure) {
			if (t >= tend)
				break;
			if (n == cap) {
				cap *= 2;
				lat = realloc(lat, cap * sizeof(*lat));
				if (!lat)
					die("realloc");
			}
			lat[n++] = t - sent[slot];
		}
		req.tag = slot;
		sent[slot] = now_ns();
		if (send_req(fd, &req, reply, out))
			die("send");
	}
	shutdown(fd, SHUT_RDWR);
	close(fd);
	waitpid(pid, &status, 0);

	if (!n) {
		fprintf(stderr, "rmem-floor: no requests completed\n");
		return 1;
	}
	for (i = 0; i < n; i++)
		sum += lat[i];
	qsort(lat, n, sizeof(*lat), cmp_u64);
	printf("{\"iops\": %.1f, \"lat_mean_us\": %.3f, \"lat_p99_us\": %.3f, \"requests\": %zu, \"depth\": %u, \"bs\": %zu, \"write\": %s}\n",
	       (double)n / seconds, (double)sum / (double)n / 1e3,
	       (double)lat[(n * 99) / 100] / 1e3, n, depth, bs,
	       write ? "true" : "false");
	free(lat);
	free(reply);
	return 0;
}

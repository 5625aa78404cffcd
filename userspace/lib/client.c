// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * librmem client: connection, handshake, and the request engine.
 *
 * Each request occupies a slot until its reply arrives; the tag on the wire
 * is (generation << 32 | slot index), so a stale or forged tag is caught.
 * Submitting only queues; flushing gathers the queued requests into as few
 * sendmsg() calls as possible; replies are read header first, then the
 * payload straight into the caller's buffer. The socket is non-blocking and
 * every wait is a poll() on both directions, so a client that keeps many
 * requests in flight never deadlocks against a donor that stops reading
 * until its replies are taken.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "librmem.h"
#include "rmem_common.h"
#include "rmem_proto.h"

#define RMEM_DEFAULT_DEPTH	64
#define RMEM_MAX_DEPTH		4096
#define RMEM_DEFAULT_TIMEOUT	10000
#define RMEM_RX_STAGE		(64 * 1024)
#define RMEM_SEND_IOV		64

struct rmem_slot {
	uint32_t gen;
	bool busy;
	bool internal;		/* a synchronous call waits on it */
	bool done;
	uint16_t op;
	void *user;
	int result;
	int status;
	/* request */
	struct rmem_req_hdr hdr;
	struct rmem_patch patch;
	const void *payload;
	uint32_t plen;
	uint8_t sbuf[sizeof(struct rmem_hello)];
	/* reply */
	void *rbuf;		/* READ data goes here */
	uint32_t rlen;		/* payload length of a successful reply */
	uint8_t rsmall[sizeof(struct rmem_stats) +
		       sizeof(struct rmem_fence_stats) +
		       sizeof(struct rmem_key_stats)];
};

struct rmem_client {
	int fd;
	bool dead;
	int dead_err;
	char err[512];
	int last_status;
	char peer[300];
	int timeout_ms;

	unsigned int depth;
	struct rmem_slot *slots;
	uint32_t *free_slots;
	unsigned int nfree;
	unsigned int inflight;

	uint32_t *sendq;	/* slot indices in submit order */
	unsigned int sq_head, sq_count;
	size_t send_off;	/* bytes of the head request already sent */

	struct rmem_completion *cq;
	unsigned int cq_head, cq_count;

	/* reply being received */
	struct rmem_reply_hdr rhdr;
	size_t rhdr_off;
	struct rmem_reply rcur;
	struct rmem_slot *rslot;
	uint8_t *rdst;
	size_t rpay_off;
	/* bytes received and not yet taken: one recv brings many replies */
	size_t rx_head, rx_len;
	uint8_t rx[RMEM_RX_STAGE];

	struct rmem_key key;
	char key_id[RMEM_KEY_ID_SIZE];	/* NUL-padded; "": the donor's [auth] */
	struct rmem_donor_info info;
	bool authed;
	bool have_region;
	struct rmem_region region;
	uint8_t patch_lines[RMEM_FRAME_SIZE];
};

static void rmem__err(struct rmem_client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void rmem__err(struct rmem_client *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
}

static int64_t rmem__now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct rmem_client *rmem_client_new(void)
{
	struct rmem_client *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd = -1;
	c->dead = true;
	c->dead_err = ENOTCONN;
	snprintf(c->err, sizeof(c->err), "not connected");
	return c;
}

static void rmem__free_queues(struct rmem_client *c)
{
	free(c->slots);
	free(c->free_slots);
	free(c->sendq);
	free(c->cq);
	c->slots = NULL;
	c->free_slots = NULL;
	c->sendq = NULL;
	c->cq = NULL;
}

void rmem_client_free(struct rmem_client *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	explicit_bzero(&c->key, sizeof(c->key));
	rmem__free_queues(c);
	free(c);
}

const char *rmem_errmsg(const struct rmem_client *c)
{
	return c->err;
}

int rmem_set_key_id(struct rmem_client *c, const char *id)
{
	char why[128];

	if (!id || !*id) {
		memset(c->key_id, 0, sizeof(c->key_id));
		return 0;
	}
	if (rmem_key_id_check(id, why, sizeof(why))) {
		rmem__err(c, "%s", why);
		return -EINVAL;
	}
	memset(c->key_id, 0, sizeof(c->key_id));
	memcpy(c->key_id, id, strlen(id));
	return 0;
}

int rmem_last_status(const struct rmem_client *c)
{
	return c->last_status;
}

const struct rmem_donor_info *rmem_donor(const struct rmem_client *c)
{
	return &c->info;
}

int rmem_fd(const struct rmem_client *c)
{
	return c->fd;
}

unsigned int rmem_inflight(const struct rmem_client *c)
{
	return c->inflight;
}

unsigned int rmem_completed(const struct rmem_client *c)
{
	return c->cq_count;
}

static void rmem__complete(struct rmem_client *c, struct rmem_slot *s,
			   int result, int status)
{
	s->result = result;
	s->status = status;
	s->done = true;
	c->inflight--;
	if (s->internal)
		return;
	/* cq has depth entries and at most depth requests are in flight */
	c->cq[(c->cq_head + c->cq_count) % c->depth] =
		(struct rmem_completion){ s->user, result, status };
	c->cq_count++;
	s->busy = false;
	c->free_slots[c->nfree++] = (uint32_t)(s - c->slots);
}

static void rmem__release(struct rmem_client *c, struct rmem_slot *s)
{
	s->busy = false;
	c->free_slots[c->nfree++] = (uint32_t)(s - c->slots);
}

/*
 * The connection is unusable: fail every request still in flight. Nothing
 * that was not acknowledged is reported as done, so a caller never takes a
 * lost write for a written one.
 */
static void rmem__fail(struct rmem_client *c, int err)
{
	unsigned int i;

	if (c->dead)
		return;
	c->dead = true;
	c->dead_err = err;
	c->sq_count = 0;
	c->send_off = 0;
	for (i = 0; i < c->depth; i++) {
		struct rmem_slot *s = &c->slots[i];

		if (s->busy && !s->done)
			rmem__complete(c, s, -err, -1);
	}
	if (c->fd >= 0)
		shutdown(c->fd, SHUT_RDWR);
}

static int rmem__dead_error(struct rmem_client *c)
{
	if (!c->err[0])
		rmem__err(c, "connection to donor %s is closed", c->peer);
	return -c->dead_err;
}

static struct rmem_slot *rmem__slot_get(struct rmem_client *c, uint16_t op)
{
	struct rmem_slot *s;

	if (!c->nfree)
		return NULL;
	s = &c->slots[c->free_slots[--c->nfree]];
	s->gen++;
	s->busy = true;
	s->internal = false;
	s->done = false;
	s->op = op;
	s->user = NULL;
	s->payload = NULL;
	s->plen = 0;
	s->rbuf = NULL;
	s->rlen = 0;
	return s;
}

static int rmem__queue(struct rmem_client *c, struct rmem_slot *s,
		       uint16_t flags, uint64_t frame, uint32_t count)
{
	struct rmem_req req = {
		.op = s->op,
		.flags = flags,
		.tag = ((uint64_t)s->gen << 32) | (uint32_t)(s - c->slots),
		.frame = frame,
		.count = count,
		.len = s->plen + (s->op == RMEM_OP_PATCH ?
				  (uint32_t)sizeof(struct rmem_patch) : 0),
	};

	rmem_req_encode(&s->hdr, &req);
	c->sendq[(c->sq_head + c->sq_count) % c->depth] =
		(uint32_t)(s - c->slots);
	c->sq_count++;
	c->inflight++;
	return 0;
}

/* Send as much of the queue as the socket takes; 1 if it all went. */
static int rmem__send(struct rmem_client *c)
{
	while (c->sq_count) {
		struct iovec iov[RMEM_SEND_IOV];
		struct msghdr msg = { .msg_iov = iov };
		size_t skip = c->send_off;
		unsigned int i, n = 0;
		ssize_t sent;

		for (i = 0; i < c->sq_count && n + 3 <= RMEM_SEND_IOV; i++) {
			struct rmem_slot *s =
				&c->slots[c->sendq[(c->sq_head + i) % c->depth]];
			struct iovec parts[3];
			unsigned int np = 0, j;

			parts[np++] = (struct iovec){ &s->hdr, sizeof(s->hdr) };
			if (s->op == RMEM_OP_PATCH)
				parts[np++] = (struct iovec){
					&s->patch, sizeof(s->patch) };
			if (s->plen)
				parts[np++] = (struct iovec){
					(void *)s->payload, s->plen };
			for (j = 0; j < np; j++) {
				if (skip >= parts[j].iov_len) {
					skip -= parts[j].iov_len;
					continue;
				}
				iov[n].iov_base = (char *)parts[j].iov_base + skip;
				iov[n].iov_len = parts[j].iov_len - skip;
				skip = 0;
				n++;
			}
		}
		msg.msg_iovlen = n;
		sent = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (sent < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			rmem__err(c, "sending to donor %s: %s", c->peer,
				  strerror(errno));
			rmem__fail(c, errno);
			return -c->dead_err;
		}
		/* retire the requests that went whole */
		c->send_off += (size_t)sent;
		while (c->sq_count) {
			struct rmem_slot *s =
				&c->slots[c->sendq[c->sq_head]];
			size_t total = sizeof(s->hdr) + s->plen +
				(s->op == RMEM_OP_PATCH ? sizeof(s->patch) : 0);

			if (c->send_off < total)
				break;
			c->send_off -= total;
			c->sq_head = (c->sq_head + 1) % c->depth;
			c->sq_count--;
		}
	}
	return 1;
}

static void rmem__finish_reply(struct rmem_client *c)
{
	struct rmem_slot *s = c->rslot;
	int status = c->rcur.status;

	c->rhdr_off = 0;
	c->rslot = NULL;
	c->last_status = status;
	if (status != RMEM_OK)
		rmem__err(c, "donor %s: %s: %s (%s)", c->peer,
			  rmem_op_name(s->op), rmem_status_str(status),
			  rmem_status_name(status));
	rmem__complete(c, s, status ? -rmem_status_errno(status) : 0, status);
	if (rmem_status_fatal(status) && status != RMEM_OK) {
		/* the donor closes after a fatal status; keep its reason */
		rmem__fail(c, rmem_status_errno(status));
	}
}

/* Match a reply header to its slot and decide where its payload goes. */
static int rmem__start_reply(struct rmem_client *c)
{
	struct rmem_slot *s;
	uint32_t idx;
	int ret;

	ret = rmem_reply_decode(&c->rhdr, &c->rcur);
	if (ret) {
		rmem__err(c, "donor %s sent a malformed reply (%s)", c->peer,
			  rmem_status_name(ret));
		return -EPROTO;
	}
	idx = (uint32_t)c->rcur.tag;
	s = idx < c->depth ? &c->slots[idx] : NULL;
	if (!s || !s->busy || s->done || s->gen != (uint32_t)(c->rcur.tag >> 32)) {
		if (rmem_status_fatal(c->rcur.status) && c->rcur.status) {
			c->last_status = c->rcur.status;
			rmem__err(c, "donor %s closed the connection: %s (%s)",
				  c->peer, rmem_status_str(c->rcur.status),
				  rmem_status_name(c->rcur.status));
			return -rmem_status_errno(c->rcur.status);
		}
		rmem__err(c, "donor %s answered a request never sent (tag %#llx)",
			  c->peer, (unsigned long long)c->rcur.tag);
		return -EPROTO;
	}
	ret = rmem_reply_check(&c->rcur, s->op,
			       c->rcur.status == RMEM_E_VERSION ?
			       (uint32_t)sizeof(struct rmem_hello_reply) : s->rlen);
	if (ret) {
		rmem__err(c, "donor %s sent a %s reply of %u bytes, status %u",
			  c->peer, rmem_op_name(s->op), c->rcur.len,
			  c->rcur.status);
		return -EPROTO;
	}
	c->rslot = s;
	c->rpay_off = 0;
	c->rdst = s->rbuf ? s->rbuf : s->rsmall;
	if (c->rcur.status == RMEM_E_VERSION)
		c->rdst = s->rsmall;
	return 0;
}

/* Read whatever has arrived; returns >0 if progress, 0 if none, -errno. */
/* Feed staged bytes to the reply being received; 0, or -errno if the
 * connection failed. */
static int rmem__take(struct rmem_client *c)
{
	while (c->rx_head < c->rx_len) {
		size_t avail = c->rx_len - c->rx_head, n;
		int ret;

		if (c->rhdr_off < sizeof(c->rhdr)) {
			n = sizeof(c->rhdr) - c->rhdr_off;
			n = n < avail ? n : avail;
			memcpy((uint8_t *)&c->rhdr + c->rhdr_off,
			       c->rx + c->rx_head, n);
			c->rx_head += n;
			c->rhdr_off += n;
			if (c->rhdr_off < sizeof(c->rhdr))
				break;
			ret = rmem__start_reply(c);
			if (ret < 0) {
				rmem__fail(c, -ret);
				return ret;
			}
		} else {
			n = c->rcur.len - c->rpay_off;
			n = n < avail ? n : avail;
			memcpy(c->rdst + c->rpay_off, c->rx + c->rx_head, n);
			c->rx_head += n;
			c->rpay_off += n;
		}
		if (c->rpay_off == c->rcur.len)
			rmem__finish_reply(c);
		if (c->dead)
			return -c->dead_err;
	}
	c->rx_head = c->rx_len = 0;
	return 0;
}

/*
 * Receive what the socket holds without blocking; 1 if anything came,
 * 0 if nothing, -errno if the connection failed. Bytes go through the
 * staging buffer, so one recv brings a batch of replies; a large payload
 * goes straight to its buffer. A short read means the socket is empty,
 * so no recv is spent only to learn that.
 */
static int rmem__recv(struct rmem_client *c)
{
	int progress = 0;

	for (;;) {
		bool direct = c->rhdr_off == sizeof(c->rhdr) &&
			      c->rcur.len - c->rpay_off >= RMEM_RX_STAGE / 2;
		size_t want = direct ? c->rcur.len - c->rpay_off : RMEM_RX_STAGE;
		ssize_t n;

		/* the donor sends nothing unasked */
		if (!c->inflight && !c->rhdr_off)
			return progress;
		n = recv(c->fd, direct ? c->rdst + c->rpay_off : c->rx, want,
			 MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return progress;
			rmem__err(c, "receiving from donor %s: %s", c->peer,
				  strerror(errno));
			rmem__fail(c, errno);
			return -c->dead_err;
		}
		if (n == 0) {
			if (c->inflight || c->rhdr_off)
				rmem__err(c, "donor %s closed the connection with %u requests in flight",
					  c->peer, c->inflight);
			else
				rmem__err(c, "donor %s closed the connection",
					  c->peer);
			rmem__fail(c, ECONNRESET);
			return -c->dead_err;
		}
		progress = 1;
		if (direct) {
			c->rpay_off += (size_t)n;
			if (c->rpay_off == c->rcur.len)
				rmem__finish_reply(c);
			if (c->dead)
				return -c->dead_err;
		} else {
			int ret;

			c->rx_len = (size_t)n;
			ret = rmem__take(c);
			if (ret < 0)
				return ret;
		}
		if ((size_t)n < want)
			return progress;
	}
}

/*
 * Move bytes both ways until done(c, arg) holds, the deadline passes or the
 * connection fails.
 */
static int rmem__pump(struct rmem_client *c, int timeout_ms,
		      bool (*done)(struct rmem_client *, void *), void *arg)
{
	int64_t deadline = timeout_ms < 0 ? -1 : rmem__now_ms() + timeout_ms;

	for (;;) {
		struct pollfd pfd = { .fd = c->fd };
		int ret, wait;

		if (done(c, arg))
			return 0;
		if (c->dead)
			return rmem__dead_error(c);
		ret = rmem__send(c);
		if (ret < 0)
			return ret;
		if (done(c, arg))	/* a flush: no recv bound to find nothing */
			return 0;
		ret = rmem__recv(c);
		if (ret < 0)
			return done(c, arg) ? 0 : ret;
		if (done(c, arg))
			return 0;
		if (ret > 0)
			continue;
		wait = -1;
		if (deadline >= 0) {
			int64_t left = deadline - rmem__now_ms();

			if (left <= 0) {
				rmem__err(c, "donor %s did not answer within %d ms",
					  c->peer, timeout_ms);
				return -ETIMEDOUT;
			}
			wait = (int)left;
		}
		pfd.events = POLLIN | (c->sq_count ? POLLOUT : 0);
		ret = poll(&pfd, 1, wait);
		if (ret < 0 && errno != EINTR) {
			rmem__err(c, "poll: %s", strerror(errno));
			return -errno;
		}
	}
}

static bool rmem__slot_done(struct rmem_client *c, void *arg)
{
	(void)c;
	return ((struct rmem_slot *)arg)->done;
}

/* Submit an internal request and wait for its reply. */
static int rmem__call(struct rmem_client *c, struct rmem_slot *s,
		      uint16_t flags, uint64_t frame, uint32_t count)
{
	int ret;

	s->internal = true;
	rmem__queue(c, s, flags, frame, count);
	ret = rmem__pump(c, c->timeout_ms, rmem__slot_done, s);
	if (ret == -ETIMEDOUT) {
		/* the reply may still come; the slot cannot be reused safely */
		rmem__fail(c, ETIMEDOUT);
	}
	if (!s->done)
		return ret;
	ret = s->result;
	rmem__release(c, s);
	return ret;
}

static struct rmem_slot *rmem__get(struct rmem_client *c, uint16_t op,
				   int *err)
{
	struct rmem_slot *s;

	if (c->dead) {
		*err = rmem__dead_error(c);
		return NULL;
	}
	s = rmem__slot_get(c, op);
	if (!s) {
		rmem__err(c, "%u requests already in flight (depth)", c->depth);
		*err = -EAGAIN;
	}
	return s;
}

static int rmem__connect_socket(struct rmem_client *c, const char *host,
				uint16_t port)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_protocol = IPPROTO_TCP,
	};
	struct addrinfo *res, *ai;
	char portstr[8];
	int fd = -1, err = ECONNREFUSED, ret;

	snprintf(portstr, sizeof(portstr), "%u", port);
	ret = getaddrinfo(host, portstr, &hints, &res);
	if (ret) {
		rmem__err(c, "cannot resolve donor '%s': %s", host,
			  gai_strerror(ret));
		return -EHOSTUNREACH;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		struct pollfd pfd;
		socklen_t len = sizeof(err);
		int one = 1;

		fd = socket(ai->ai_family,
			    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		if (err == EINPROGRESS) {
			pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
			ret = poll(&pfd, 1, c->timeout_ms);
			if (ret == 0) {
				err = ETIMEDOUT;
			} else if (ret > 0 &&
				   getsockopt(fd, SOL_SOCKET, SO_ERROR, &err,
					      &len) == 0 && err == 0) {
				break;
			} else if (ret < 0) {
				err = errno;
			}
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		rmem__err(c, "cannot connect to donor %s: %s", c->peer,
			  strerror(err));
		return -err;
	}
	return fd;
}

/*
 * Submit an internal request with a small payload (copied into the slot)
 * and a small reply (copied out to out, reply_len bytes, also on error so
 * that E_VERSION's payload can be read); wait for it.
 */
static int rmem__call_small_count(struct rmem_client *c, uint16_t op,
				  uint16_t flags, uint32_t count,
				  const void *req, uint32_t req_len,
				  void *out, uint32_t reply_len)
{
	struct rmem_slot *s;
	int ret;

	s = rmem__get(c, op, &ret);
	if (!s)
		return ret;
	if (req_len) {
		memcpy(s->sbuf, req, req_len);
		s->payload = s->sbuf;
		s->plen = req_len;
	}
	s->rlen = reply_len;
	s->internal = true;
	rmem__queue(c, s, flags, 0, count);
	ret = rmem__pump(c, c->timeout_ms, rmem__slot_done, s);
	if (ret == -ETIMEDOUT)
		rmem__fail(c, ETIMEDOUT);
	if (!s->done)
		return ret;
	memcpy(out, s->rsmall, reply_len);
	ret = s->result;
	rmem__release(c, s);
	return ret;
}

static int rmem__call_small(struct rmem_client *c, uint16_t op,
			    uint16_t flags, const void *req, uint32_t req_len,
			    void *out, uint32_t reply_len)
{
	return rmem__call_small_count(c, op, flags, 0, req, req_len, out,
				      reply_len);
}

static int rmem__handshake(struct rmem_client *c, const char *name)
{
	struct rmem_hello hello;
	struct rmem_hello_reply hr;
	struct rmem_auth_v3 auth;	/* .mac alone up to version 2 */
	struct rmem_auth_reply ar;
	uint8_t nonce[RMEM_NONCE_SIZE], mac[RMEM_MAC_SIZE], th[RMEM_MAC_SIZE];
	uint16_t version, donor_max;
	bool keyid;
	int ret;

	ret = rmem_random(nonce, sizeof(nonce));
	if (ret) {
		rmem__err(c, "getrandom: %s", strerror(-ret));
		return ret;
	}

	memset(&hello, 0, sizeof(hello));
	hello.min_version = htole16(RMEM_PROTO_VERSION_MIN);
	hello.max_version = htole16(RMEM_PROTO_VERSION);
	memcpy(hello.nonce, nonce, sizeof(nonce));
	strncpy(hello.name, name, sizeof(hello.name) - 1);
	ret = rmem__call_small(c, RMEM_OP_HELLO, 0, &hello, sizeof(hello),
			       &hr, sizeof(hr));
	if (c->last_status == RMEM_E_VERSION) {
		rmem__err(c, "donor %s speaks protocol versions %u..%u, this client %u..%u",
			  c->peer, le16toh(hr.min_version),
			  le16toh(hr.max_version), RMEM_PROTO_VERSION_MIN,
			  RMEM_PROTO_VERSION);
		return ret;
	}
	if (ret)
		return ret;
	version = le16toh(hr.version);
	if (version < RMEM_PROTO_VERSION_MIN || version > RMEM_PROTO_VERSION) {
		rmem__err(c, "donor %s chose protocol version %u, which this client does not speak",
			  c->peer, version);
		rmem__fail(c, EPROTO);
		return -EPROTO;
	}
	/* the mark is in the donor nonce, which every version's MAC covers */
	if (rmem_hello_downgraded(hr.nonce, version, RMEM_PROTO_VERSION,
				  &donor_max)) {
		rmem__err(c, "donor %s speaks protocol %u, and so does this client, but the handshake came to %u: the HELLO was changed on the way (a downgrade); refusing",
			  c->peer, donor_max, version);
		rmem__fail(c, EPROTO);
		return -EPROTO;
	}
	keyid = version >= RMEM_PROTO_VERSION_KEYID;
	if (!keyid && c->key_id[0]) {
		rmem__err(c, "donor %s speaks protocol %u, which has no key ids (key id %s needs %u)",
			  c->peer, version, c->key_id,
			  RMEM_PROTO_VERSION_KEYID);
		rmem__fail(c, EPROTO);
		return -EPROTO;
	}
	c->info.version = version;

	if (keyid) {
		memcpy(auth.key_id, c->key_id, sizeof(auth.key_id));
		rmem_auth_transcript(&hello, &hr, auth.key_id, th);
		rmem_auth3_client_mac(&c->key, th, auth.mac);
	} else {
		rmem_auth_client_mac(&c->key, version, nonce, hr.nonce,
				     auth.mac);
	}
	ret = rmem__call_small(c, RMEM_OP_AUTH, 0, &auth,
			       keyid ? sizeof(auth) : sizeof(struct rmem_auth),
			       &ar, sizeof(ar));
	if (c->last_status == RMEM_E_AUTH) {
		if (c->key_id[0])
			rmem__err(c, "donor %s refused the key (authentication failed: no key %s there, or not this one)",
				  c->peer, c->key_id);
		else
			rmem__err(c, "donor %s refused the key (authentication failed)",
				  c->peer);
		return ret;
	}
	if (ret)
		return ret;
	if (keyid)
		rmem_auth3_donor_mac(&c->key, th, auth.mac, &ar, mac);
	else
		rmem_auth_donor_mac(&c->key, version, nonce, hr.nonce, mac);
	if (!rmem_auth_equal(mac, ar.mac)) {
		rmem__err(c, "donor %s could not prove it holds the key: not the donor you meant?",
			  c->peer);
		rmem__fail(c, EACCES);
		return -EACCES;
	}
	c->info.quota_frames = le64toh(ar.quota_frames);
	c->info.free_frames = le64toh(ar.free_frames);
	c->info.max_io_frames = le32toh(ar.max_io_frames);
	c->info.max_discard_extents = le32toh(ar.max_discard_extents);
	if (le32toh(ar.frame_size) != RMEM_FRAME_SIZE ||
	    c->info.max_io_frames == 0) {
		rmem__err(c, "donor %s uses %u-byte frames; this client %u",
			  c->peer, le32toh(ar.frame_size), RMEM_FRAME_SIZE);
		rmem__fail(c, EPROTO);
		return -EPROTO;
	}
	c->authed = true;
	return 0;
}

int rmem_connect(struct rmem_client *c, const struct rmem_client_opts *o)
{
	uint16_t port = o->port ? o->port : RMEM_DEFAULT_PORT;
	unsigned int i;
	int ret;

	if (c->fd >= 0) {
		rmem__err(c, "client is already connected");
		return -EISCONN;
	}
	c->err[0] = '\0';
	c->last_status = 0;
	c->timeout_ms = o->timeout_ms ? o->timeout_ms : RMEM_DEFAULT_TIMEOUT;
	c->depth = o->depth ? o->depth : RMEM_DEFAULT_DEPTH;
	if (c->depth > RMEM_MAX_DEPTH) {
		rmem__err(c, "depth %u is over the limit of %u", c->depth,
			  RMEM_MAX_DEPTH);
		return -EINVAL;
	}
	if (!o->host) {
		rmem__err(c, "no donor address given");
		return -EINVAL;
	}
	if (strchr(o->host, ':'))
		snprintf(c->peer, sizeof(c->peer), "[%s]:%u", o->host, port);
	else
		snprintf(c->peer, sizeof(c->peer), "%s:%u", o->host, port);

	if (o->key_file) {
		ret = rmem_key_load(o->key_file, &c->key, c->err,
				    sizeof(c->err));
		if (ret)
			return ret;
	} else if (o->key && o->key_len >= RMEM_KEY_MIN &&
		   o->key_len <= RMEM_KEY_MAX) {
		memcpy(c->key.bytes, o->key, o->key_len);
		c->key.len = o->key_len;
	} else {
		rmem__err(c, "no key given (a key file or %d..%d key bytes)",
			  RMEM_KEY_MIN, RMEM_KEY_MAX);
		return -EINVAL;
	}

	c->slots = calloc(c->depth, sizeof(*c->slots));
	c->free_slots = calloc(c->depth, sizeof(*c->free_slots));
	c->sendq = calloc(c->depth, sizeof(*c->sendq));
	c->cq = calloc(c->depth, sizeof(*c->cq));
	if (!c->slots || !c->free_slots || !c->sendq || !c->cq) {
		rmem__free_queues(c);
		rmem__err(c, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < c->depth; i++)
		c->free_slots[i] = c->depth - 1 - i;
	c->nfree = c->depth;

	ret = rmem__connect_socket(c, o->host, port);
	if (ret < 0)
		goto err_free;
	c->fd = ret;
	c->dead = false;
	c->dead_err = 0;
	ret = rmem__handshake(c, o->name ? o->name : "librmem");
	if (ret)
		goto err_close;
	return 0;

err_close:
	close(c->fd);
	c->fd = -1;
	c->dead = true;
	c->dead_err = ENOTCONN;
err_free:
	rmem__free_queues(c);
	return ret;
}

static int rmem__open(struct rmem_client *c, uint16_t flags, uint32_t queue,
		      const struct rmem_open *req, struct rmem_region *out)
{
	struct rmem_open_reply rep;
	int ret;

	if (c->have_region) {
		rmem__err(c, "this connection already has a region open");
		return -EBUSY;
	}
	if ((flags & RMEM_OPEN_F_QUEUE) && c->authed &&
	    c->info.version < RMEM_PROTO_VERSION_FENCE) {
		rmem__err(c, "donor %s speaks protocol %u, which cannot fence old connections (that takes %u)",
			  c->peer, c->info.version, RMEM_PROTO_VERSION_FENCE);
		return -EOPNOTSUPP;
	}
	if ((flags & RMEM_OPEN_F_QUEUE) && queue >= RMEM_MAX_QUEUES) {
		rmem__err(c, "queue %u is out of range (0..%u)", queue,
			  RMEM_MAX_QUEUES - 1);
		return -EINVAL;
	}
	ret = rmem__call_small_count(c, RMEM_OP_OPEN, flags, queue, req,
				     sizeof(*req), &rep, sizeof(rep));
	if (ret)
		return ret;
	c->region.id = le64toh(rep.region_id);
	c->region.frames = le64toh(rep.frames);
	memcpy(c->region.token, rep.token, sizeof(rep.token));
	c->have_region = true;
	if (out)
		*out = c->region;
	return 0;
}

int rmem_open_region(struct rmem_client *c, uint64_t frames,
		     struct rmem_region *region)
{
	struct rmem_open req = { .frames = htole64(frames) };

	return rmem__open(c, RMEM_OPEN_F_CREATE, 0, &req, region);
}

int rmem_open_region_queue(struct rmem_client *c, uint64_t frames,
			   unsigned int queue, struct rmem_region *region)
{
	struct rmem_open req = { .frames = htole64(frames) };

	return rmem__open(c, RMEM_OPEN_F_CREATE | RMEM_OPEN_F_QUEUE, queue,
			  &req, region);
}

int rmem_attach_region(struct rmem_client *c, const struct rmem_region *r)
{
	struct rmem_open req = {
		.frames = htole64(r->frames),
		.region_id = htole64(r->id),
	};

	memcpy(req.token, r->token, sizeof(req.token));
	return rmem__open(c, RMEM_OPEN_F_ATTACH, 0, &req, NULL);
}

int rmem_join_region(struct rmem_client *c, const struct rmem_region *r,
		     unsigned int queue, unsigned int how)
{
	struct rmem_open req = {
		.frames = htole64(r->frames),
		.region_id = htole64(r->id),
	};
	uint16_t flags = RMEM_OPEN_F_ATTACH | RMEM_OPEN_F_QUEUE;

	if (how & ~(RMEM_JOIN_FENCE | RMEM_JOIN_FENCE_ALL) ||
	    how == (RMEM_JOIN_FENCE | RMEM_JOIN_FENCE_ALL)) {
		rmem__err(c, "bad join flags %#x", how);
		return -EINVAL;
	}
	if (how & RMEM_JOIN_FENCE)
		flags |= RMEM_OPEN_F_FENCE;
	if (how & RMEM_JOIN_FENCE_ALL)
		flags |= RMEM_OPEN_F_FENCE_ALL;
	memcpy(req.token, r->token, sizeof(req.token));
	return rmem__open(c, flags, queue, &req, NULL);
}

int rmem_close(struct rmem_client *c, bool release)
{
	struct rmem_slot *s;
	int ret;

	s = rmem__get(c, RMEM_OP_CLOSE, &ret);
	if (!s)
		return ret;
	ret = rmem__call(c, s, release ? RMEM_CLOSE_F_RELEASE : 0, 0, 0);
	/* the donor hangs up after CLOSE; whatever we saw of that, we closed */
	rmem__fail(c, ENOTCONN);
	c->dead_err = ENOTCONN;
	snprintf(c->err, sizeof(c->err), "connection to donor %s is closed",
		 c->peer);
	c->have_region = false;
	return ret;
}

/*
 * One preparer per I/O op fills a slot; rmem_submit_*() queue it for
 * rmem_reap(), the synchronous calls wait on it.
 */
static struct rmem_slot *rmem__prep_read(struct rmem_client *c, uint32_t count,
					 void *buf, int *err)
{
	struct rmem_slot *s = rmem__get(c, RMEM_OP_READ, err);

	if (s) {
		s->rbuf = buf;
		s->rlen = count * RMEM_FRAME_SIZE;
	}
	return s;
}

static struct rmem_slot *rmem__prep_write(struct rmem_client *c,
					  uint32_t count, const void *buf,
					  int *err)
{
	struct rmem_slot *s;

	if (count > RMEM_MAX_IO_FRAMES) {
		rmem__err(c, "WRITE of %u frames: at most %u per request",
			  count, RMEM_MAX_IO_FRAMES);
		*err = -E2BIG;
		return NULL;
	}
	s = rmem__get(c, RMEM_OP_WRITE, err);
	if (s) {
		s->payload = buf;
		s->plen = count * RMEM_FRAME_SIZE;
	}
	return s;
}

static struct rmem_slot *rmem__prep_patch(struct rmem_client *c, uint64_t mask,
					  const void *lines, uint64_t hash,
					  int *err)
{
	struct rmem_slot *s = rmem__get(c, RMEM_OP_PATCH, err);

	if (s) {
		s->patch.mask = htole64(mask);
		s->patch.hash = htole64(hash);
		s->payload = lines;
		s->plen = rmem_patch_len(mask) -
			  (uint32_t)sizeof(struct rmem_patch);
	}
	return s;
}

static struct rmem_slot *rmem__prep_discard(struct rmem_client *c,
					    const struct rmem_extent *ext,
					    uint32_t count, int *err)
{
	struct rmem_slot *s;

	if (count > RMEM_MAX_DISCARD_EXTENTS) {
		rmem__err(c, "DISCARD of %u extents: at most %u per request",
			  count, RMEM_MAX_DISCARD_EXTENTS);
		*err = -E2BIG;
		return NULL;
	}
	s = rmem__get(c, RMEM_OP_DISCARD, err);
	if (s) {
		s->payload = ext;
		s->plen = count * (uint32_t)sizeof(*ext);
	}
	return s;
}

static int rmem__submit(struct rmem_client *c, struct rmem_slot *s,
			void *user, uint64_t frame, uint32_t count)
{
	s->user = user;
	return rmem__queue(c, s, 0, frame, count);
}

int rmem_submit_read(struct rmem_client *c, uint64_t frame, uint32_t count,
		     void *buf, void *user)
{
	int ret = 0;
	struct rmem_slot *s = rmem__prep_read(c, count, buf, &ret);

	return s ? rmem__submit(c, s, user, frame, count) : ret;
}

int rmem_submit_write(struct rmem_client *c, uint64_t frame, uint32_t count,
		      const void *buf, void *user)
{
	int ret = 0;
	struct rmem_slot *s = rmem__prep_write(c, count, buf, &ret);

	return s ? rmem__submit(c, s, user, frame, count) : ret;
}

int rmem_submit_patch(struct rmem_client *c, uint64_t frame, uint64_t mask,
		      const void *lines, uint64_t hash, void *user)
{
	int ret = 0;
	struct rmem_slot *s = rmem__prep_patch(c, mask, lines, hash, &ret);

	return s ? rmem__submit(c, s, user, frame, 1) : ret;
}

int rmem_submit_discard(struct rmem_client *c, const struct rmem_extent *ext,
			uint32_t count, void *user)
{
	int ret = 0;
	struct rmem_slot *s = rmem__prep_discard(c, ext, count, &ret);

	return s ? rmem__submit(c, s, user, 0, count) : ret;
}

static bool rmem__sent(struct rmem_client *c, void *arg)
{
	(void)arg;
	return c->sq_count == 0;
}

int rmem_flush(struct rmem_client *c)
{
	int ret = rmem__pump(c, c->timeout_ms, rmem__sent, NULL);

	/* a donor that stops reading fails the connection, not the caller */
	if (ret == -ETIMEDOUT)
		rmem__fail(c, ETIMEDOUT);
	return ret;
}

static bool rmem__have_events(struct rmem_client *c, void *arg)
{
	return c->cq_count >= *(unsigned int *)arg;
}

int rmem_reap(struct rmem_client *c, struct rmem_completion *ev,
	      unsigned int min, unsigned int max, int timeout_ms)
{
	unsigned int n = 0;
	int ret = 0;

	if (min > max)
		min = max;
	if (c->cq_count < min) {
		if (min > c->cq_count + c->inflight)
			min = c->cq_count + c->inflight;
		ret = rmem__pump(c, timeout_ms, rmem__have_events, &min);
	} else if (!c->dead) {
		/* take what has arrived without waiting */
		if (rmem__send(c) >= 0)
			rmem__recv(c);
	}
	while (n < max && c->cq_count) {
		ev[n++] = c->cq[c->cq_head];
		c->cq_head = (c->cq_head + 1) % c->depth;
		c->cq_count--;
	}
	if (n == 0 && ret < 0)
		return ret;
	return (int)n;
}

int rmem_read(struct rmem_client *c, uint64_t frame, uint32_t count, void *buf)
{
	int ret = 0;
	struct rmem_slot *s = rmem__prep_read(c, count, buf, &ret);

	return s ? rmem__call(c, s, 0, frame, count) : ret;
}

int rmem_write(struct rmem_client *c, uint64_t frame, uint32_t count,
	       const void *buf)
{
	int ret = 0;
	struct rmem_slot *s = rmem__prep_write(c, count, buf, &ret);

	return s ? rmem__call(c, s, 0, frame, count) : ret;
}

int rmem_patch(struct rmem_client *c, uint64_t frame, uint64_t mask,
	       const void *page)
{
	int ret = 0;
	struct rmem_slot *s;

	rmem_patch_gather(page, mask, c->patch_lines);
	s = rmem__prep_patch(c, mask, c->patch_lines, rmem_page_hash(page),
			     &ret);
	return s ? rmem__call(c, s, 0, frame, 1) : ret;
}

int rmem_discard(struct rmem_client *c, uint64_t frame, uint32_t count)
{
	struct rmem_extent ext;
	int ret = 0;
	struct rmem_slot *s;

	rmem_extent_set(&ext, frame, count);
	s = rmem__prep_discard(c, &ext, 1, &ret);
	return s ? rmem__call(c, s, 0, 0, 1) : ret;
}

void rmem_extent_set(struct rmem_extent *e, uint64_t frame, uint32_t count)
{
	e->frame = htole64(frame);
	e->count = htole32(count);
	e->reserved = 0;
}

static void rmem__io_decode(const struct rmem_io_stats *w,
			    struct rmem_io_counters *io)
{
	io->reads = le64toh(w->reads);
	io->writes = le64toh(w->writes);
	io->patches = le64toh(w->patches);
	io->mismatches = le64toh(w->mismatches);
	io->discarded = le64toh(w->discarded);
	io->bytes_in = le64toh(w->bytes_in);
	io->bytes_out = le64toh(w->bytes_out);
	io->errors = le64toh(w->errors);
}

void rmem_stats_decode(const struct rmem_stats *w, struct rmem_stats_info *st)
{
	st->pool_frames = le64toh(w->pool_frames);
	st->free_frames = le64toh(w->free_frames);
	st->quota_frames = le64toh(w->quota_frames);
	st->uptime_sec = le64toh(w->uptime_sec);
	st->clients = le32toh(w->clients);
	st->max_clients = le32toh(w->max_clients);
	st->regions = le32toh(w->regions);
	st->flags = le32toh(w->flags);
	st->auth_failures = le64toh(w->auth_failures);
	st->proto_errors = le64toh(w->proto_errors);
	rmem__io_decode(&w->donor, &st->donor);
	st->region_id = le64toh(w->region_id);
	st->region_frames = le64toh(w->region_frames);
	rmem__io_decode(&w->region, &st->region);
}

int rmem_stats(struct rmem_client *c, struct rmem_stats_info *st)
{
	struct {
		struct rmem_stats st;
		struct rmem_fence_stats fs;
		struct rmem_key_stats ks;
	} wire = { 0 };	/* wire structs of 8-byte fields: no padding */
	bool fence = c->info.version >= RMEM_PROTO_VERSION_FENCE;
	bool keyid = c->info.version >= RMEM_PROTO_VERSION_KEYID;
	size_t len = sizeof(wire.st);
	int ret;

	/* the exact length of the version: anything else is malformed */
	if (fence)
		len += sizeof(wire.fs);
	if (keyid)
		len += sizeof(wire.ks);
	ret = rmem__call_small(c, RMEM_OP_STATS, 0, NULL, 0, &wire, len);
	if (ret)
		return ret;
	rmem_stats_decode(&wire.st, st);
	/* zero from an older donor: wire was zeroed */
	st->fenced = le64toh(wire.fs.fenced);
	st->fenced_bytes = le64toh(wire.fs.fenced_bytes);
	st->region_generation = le64toh(wire.fs.region_generation);
	st->region_fenced = le64toh(wire.fs.region_fenced);
	st->key_frames = le64toh(wire.ks.key_frames);
	st->key_regions = le32toh(wire.ks.key_regions);
	st->dirty_frames = le64toh(wire.ks.dirty_frames);
	st->scrubbed_frames = le64toh(wire.ks.scrubbed_frames);
	return 0;
}

int rmem_ping(struct rmem_client *c, uint64_t *rtt_ns)
{
	struct timespec a, b;
	struct rmem_slot *s;
	int ret;

	s = rmem__get(c, RMEM_OP_PING, &ret);
	if (!s)
		return ret;
	memset(s->sbuf, 0x5a, 16);
	s->payload = s->sbuf;
	s->plen = 16;
	s->rlen = 16;
	clock_gettime(CLOCK_MONOTONIC, &a);
	ret = rmem__call(c, s, 0, 0, 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (!ret && rtt_ns)
		*rtt_ns = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000ull +
			  (uint64_t)(b.tv_nsec - a.tv_nsec);
	return ret;
}

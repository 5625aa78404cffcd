// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rmem-poold's event loop and protocol engine.
 *
 * One thread, one epoll set (as in redis's ae loop): the listening socket,
 * a signalfd for SIGTERM/SIGINT/SIGHUP, a one-second timerfd, and every
 * connection, all non-blocking. A connection reads a request header, then
 * its payload straight to where it belongs (a WRITE's data into the
 * region's frames: the only copy the donor makes), executes it, and queues
 * the reply; replies go out in batches with sendmsg(), a READ's frames
 * referenced in place. The reply queue is bounded, and a connection whose
 * queue is full is not read until its peer takes the replies: no request
 * ever allocates.
 *
 * Nothing from the wire is trusted: rmem_req_decode()/rmem_req_check()
 * (the driver's shared protocol code) fix the shape of each request, and
 * every frame number is checked against the region before it is used.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "log.h"
#include "rmem_proto.h"
#include "server.h"

#define CONN_OUTQ		64	/* replies queued per connection */
#define CONN_BUDGET		64	/* requests per wake-up, for fairness */
#define CONN_SEND_IOV		64
#define CONN_LINGER_SEC		2	/* wait for a peer to read our last words */
#define CONN_IN_STAGE		16384	/* one recv takes a batch of requests */
#define SERVER_DRAIN_SEC	5
#define SERVER_EXTRA_SOCKETS	16	/* refused-but-answered peers over max */

enum ev_type { EV_LISTEN = 1, EV_SIGNAL, EV_TIMER, EV_CONN };

enum conn_state {
	CONN_HELLO,		/* waiting for HELLO */
	CONN_AUTH,		/* waiting for AUTH */
	CONN_READY,		/* authenticated */
};

struct reply {
	struct rmem_reply_hdr hdr;
	uint32_t small_len;
	uint64_t frame;		/* READ: region frames to send */
	uint32_t count;
	uint8_t small[sizeof(struct rmem_stats) +
		      sizeof(struct rmem_fence_stats)];
};

struct conn {
	enum ev_type type;	/* first: epoll data points here */
	struct conn *next, *prev;
	struct server *srv;
	int fd;
	uint32_t events;	/* what epoll is watching now */
	char peer[INET6_ADDRSTRLEN + 8];
	char name[RMEM_NAME_SIZE + 1];
	enum conn_state state;
	bool refused;		/* over max_clients: answer HELLO with E_BUSY */
	uint16_t version;
	uint8_t client_nonce[RMEM_NONCE_SIZE];
	uint8_t donor_nonce[RMEM_NONCE_SIZE];
	time_t since;
	struct pool_region *region;	/* referenced while set */
	/*
	 * Fencing (Documentation/protocol.rst): the queue index OPEN gave,
	 * the region's generation when it joined, and whether a newer
	 * connection fenced it. A fenced connection has let go of its socket
	 * and region and executes nothing more; only its memory waits for
	 * the end of the loop's round, as events[] may still point at it.
	 */
	bool has_queue;
	uint16_t queue;
	uint64_t generation;
	bool fenced;

	/* input: a header, then its payload */
	struct rmem_req_hdr hdr;
	size_t hdr_off;
	bool in_payload;
	struct rmem_req req;
	int in_status;		/* answer with this once the payload is skipped */
	size_t pay_off;
	uint8_t scratch[sizeof(struct rmem_patch) + RMEM_FRAME_SIZE]
		__attribute__((aligned(64)));
	/*
	 * Received and not yet taken. A short recv means the socket was
	 * empty (in_drained): go back to epoll rather than spend a recv to
	 * learn it, which at iodepth 1 would sit between request and reply.
	 */
	uint8_t in[CONN_IN_STAGE];
	size_t in_head, in_len;
	bool in_drained;

	/* output: replies in order */
	struct reply outq[CONN_OUTQ];
	unsigned int oq_head, oq_count;
	size_t out_off;		/* bytes of the head reply already sent */

	bool closing;		/* no more requests; close once flushed */
	bool lingering;		/* flushed, write side shut, draining input */
	time_t closing_since;
};

static struct { enum ev_type type; } ev_listen = { EV_LISTEN },
	ev_signal = { EV_SIGNAL }, ev_timer = { EV_TIMER };

static void conn_set_events(struct conn *c)
{
	uint32_t want = 0;
	struct epoll_event ev;

	if (c->lingering)
		want = EPOLLIN;
	else if (!c->closing && c->oq_count < CONN_OUTQ)
		want = EPOLLIN;
	if (c->oq_count && !c->lingering)
		want |= EPOLLOUT;
	if (want == c->events)
		return;
	ev.events = want;
	ev.data.ptr = c;
	if (epoll_ctl(c->srv->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->events = want;
}

/* Let go of the socket and the region; the struct itself stays. */
static void conn_shut(struct conn *c)
{
	struct server *s = c->srv;

	if (c->fd < 0)
		return;
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	if (c->region)
		pool_region_put(&s->pool, c->region, time(NULL));
	c->region = NULL;
	if (!c->refused)
		s->nconns--;
	s->nsockets--;
}

static void conn_free(struct conn *c)
{
	struct server *s = c->srv;

	conn_shut(c);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	log_debug("%s (%s): connection closed", c->peer, c->name);
	free(c);
}

/* Stop taking requests; the queued replies still go out. */
static void conn_close_after_flush(struct conn *c)
{
	if (!c->closing) {
		c->closing = true;
		c->closing_since = time(NULL);
	}
}

static struct reply *conn_reply(struct conn *c, int status, uint32_t len)
{
	struct reply *r = &c->outq[(c->oq_head + c->oq_count) % CONN_OUTQ];
	struct rmem_reply rep = {
		.op = c->req.op,
		.status = (uint16_t)status,
		.tag = c->req.tag,
		.len = len,
	};

	/* the caller checked there is room before it read the header */
	c->oq_count++;
	rmem_reply_encode(&r->hdr, &rep);
	r->small_len = 0;
	r->count = 0;
	if (status != RMEM_OK) {
		c->srv->io.errors++;
		if (c->region)
			c->region->io.errors++;
	}
	return r;
}

static void conn_error(struct conn *c, int status)
{
	conn_reply(c, status, 0);
	if (rmem_status_fatal(status)) {
		if (status == RMEM_E_PROTO || status == RMEM_E_TOOBIG ||
		    status == RMEM_E_NOAUTH)
			c->srv->proto_errors++;
		/* AUTH and BUSY were logged with their reasons */
		if (status != RMEM_E_AUTH && status != RMEM_E_BUSY)
			log_warn("%s (%s): %s %s: %s; disconnecting",
				 c->peer, c->name, rmem_op_name(c->req.op),
				 rmem_status_name(status),
				 rmem_status_str(status));
		conn_close_after_flush(c);
	}
}

static void conn_reply_small(struct conn *c, const void *buf, uint32_t len)
{
	struct reply *r = conn_reply(c, RMEM_OK, len);

	memcpy(r->small, buf, len);
	r->small_len = len;
}

static void server_fill_io(struct rmem_io_stats *w,
			   const struct rmem_io_counters *io)
{
	w->reads = htole64(io->reads);
	w->writes = htole64(io->writes);
	w->patches = htole64(io->patches);
	w->mismatches = htole64(io->mismatches);
	w->discarded = htole64(io->discarded);
	w->bytes_in = htole64(io->bytes_in);
	w->bytes_out = htole64(io->bytes_out);
	w->errors = htole64(io->errors);
}

static void do_hello(struct conn *c)
{
	const struct rmem_hello *h = (const void *)c->scratch;
	struct rmem_hello_reply rep = {
		.min_version = htole16(RMEM_PROTO_VERSION_MIN),
		.max_version = htole16(RMEM_PROTO_VERSION),
	};
	unsigned int lo = le16toh(h->min_version), hi = le16toh(h->max_version);
	size_t i;

	memcpy(c->name, h->name, RMEM_NAME_SIZE);
	c->name[RMEM_NAME_SIZE] = '\0';
	for (i = 0; c->name[i]; i++)
		if (c->name[i] < 0x20 || c->name[i] > 0x7e)
			c->name[i] = '?';
	if (!c->name[0])
		snprintf(c->name, sizeof(c->name), "unnamed");
	memcpy(c->client_nonce, h->nonce, RMEM_NONCE_SIZE);

	if (c->refused) {
		log_warn("%s (%s): refused: %u clients is the maximum",
			 c->peer, c->name, c->srv->cfg.max_clients);
		conn_error(c, RMEM_E_BUSY);
		return;
	}
	if (lo > hi || hi < RMEM_PROTO_VERSION_MIN ||
	    lo > RMEM_PROTO_VERSION) {
		struct reply *r = conn_reply(c, RMEM_E_VERSION, sizeof(rep));

		log_warn("%s (%s): speaks protocol %u..%u, we %u..%u; disconnecting",
			 c->peer, c->name, lo, hi, RMEM_PROTO_VERSION_MIN,
			 RMEM_PROTO_VERSION);
		memcpy(r->small, &rep, sizeof(rep));
		r->small_len = sizeof(rep);
		conn_close_after_flush(c);
		return;
	}
	c->version = hi < RMEM_PROTO_VERSION ? (uint16_t)hi : RMEM_PROTO_VERSION;
	if (rmem_random(c->donor_nonce, sizeof(c->donor_nonce))) {
		conn_error(c, RMEM_E_INTERNAL);
		conn_close_after_flush(c);
		return;
	}
	rep.version = htole16(c->version);
	memcpy(rep.nonce, c->donor_nonce, sizeof(rep.nonce));
	c->state = CONN_AUTH;
	conn_reply_small(c, &rep, sizeof(rep));
}

static void do_auth(struct conn *c)
{
	const struct rmem_auth *a = (const void *)c->scratch;
	struct server *s = c->srv;
	struct rmem_auth_reply rep = { 0 };
	uint8_t mac[RMEM_MAC_SIZE];

	rmem_auth_client_mac(&s->key, c->version, c->client_nonce,
			     c->donor_nonce, mac);
	if (!rmem_auth_equal(mac, a->mac)) {
		s->auth_failures++;
		log_warn("%s (%s): authentication failed (wrong key)",
			 c->peer, c->name);
		conn_error(c, RMEM_E_AUTH);
		return;
	}
	rmem_auth_donor_mac(&s->key, c->version, c->client_nonce,
			    c->donor_nonce, rep.mac);
	rep.quota_frames = htole64(s->cfg.quota / RMEM_FRAME_SIZE);
	rep.free_frames = htole64(s->pool.nfree);
	rep.max_io_frames = htole32(RMEM_MAX_IO_FRAMES);
	rep.max_discard_extents = htole32(RMEM_MAX_DISCARD_EXTENTS);
	rep.frame_size = htole32(RMEM_FRAME_SIZE);
	c->state = CONN_READY;
	log_info("%s (%s): authenticated, protocol %u", c->peer, c->name,
		 c->version);
	conn_reply_small(c, &rep, sizeof(rep));
}

/*
 * Close an older connection of the region now, so that none of its
 * requests executes after the newer connection's OPEN: neither the bytes
 * in its socket's receive queue (close() drops them, and the peer gets a
 * reset), nor those already staged in c->in, nor the rest of a payload
 * it was reading. Replies it had queued are dropped too; the client
 * counts every request of a fenced connection as unanswered. A WRITE cut
 * short here leaves its frames partly written: the client never got a
 * reply for it, so it holds them as undefined until it writes them again.
 */
static void conn_fence(struct conn *c, const struct conn *by)
{
	struct server *s = c->srv;
	struct pool_region *r = c->region;
	uint64_t dropped = c->in_len - c->in_head + c->hdr_off;
	bool torn = c->in_payload && !c->in_status &&
		    c->req.op == RMEM_OP_WRITE && c->pay_off;
	int unread = 0;

	if (ioctl(c->fd, FIONREAD, &unread) == 0 && unread > 0)
		dropped += (uint64_t)unread;
	if (c->in_payload)
		dropped += sizeof(c->hdr) + c->pay_off;
	if (c->has_queue)
		log_info("%s (%s): fenced by %s: region %llu queue %u, generation %llu < %llu; %llu request bytes dropped unexecuted%s",
			 c->peer, c->name, by->peer,
			 (unsigned long long)r->id, c->queue,
			 (unsigned long long)c->generation,
			 (unsigned long long)r->generation,
			 (unsigned long long)dropped,
			 torn ? ", a WRITE cut short" : "");
	else
		log_info("%s (%s): fenced by %s: region %llu, generation %llu < %llu; %llu request bytes dropped unexecuted%s",
			 c->peer, c->name, by->peer,
			 (unsigned long long)r->id,
			 (unsigned long long)c->generation,
			 (unsigned long long)r->generation,
			 (unsigned long long)dropped,
			 torn ? ", a WRITE cut short" : "");
	s->fenced++;
	s->fenced_bytes += dropped;
	r->fenced++;
	c->fenced = true;
	c->closing = true;
	c->in_head = c->in_len = 0;
	c->in_payload = false;
	c->oq_count = 0;
	conn_shut(c);
	s->reap = true;
}

/*
 * ATTACH with FENCE or FENCE_ALL: a new generation of region r, and every
 * connection of an older one (those of queue by->queue, or all) closed
 * before by's reply is queued. The loop is single-threaded, so "older" is
 * simply every connection of r but by, and once this returns nothing of
 * theirs can run after any request of by's.
 */
static void region_fence(struct server *s, struct pool_region *r,
			 struct conn *by, bool all)
{
	struct conn *c;
	unsigned int n = 0;

	r->generation++;
	for (c = s->conns; c; c = c->next) {
		if (c == by || c->region != r || c->fenced)
			continue;
		if (!all && (!c->has_queue || c->queue != by->queue))
			continue;
		conn_fence(c, by);
		n++;
	}
	if (all)
		log_info("%s (%s): region %llu generation %llu: fenced %u older connection%s",
			 by->peer, by->name, (unsigned long long)r->id,
			 (unsigned long long)r->generation, n, n == 1 ? "" : "s");
	else
		log_info("%s (%s): region %llu generation %llu: fenced %u older connection%s of queue %u",
			 by->peer, by->name, (unsigned long long)r->id,
			 (unsigned long long)r->generation, n, n == 1 ? "" : "s",
			 by->queue);
}

static void do_open(struct conn *c)
{
	const struct rmem_open *o = (const void *)c->scratch;
	struct server *s = c->srv;
	struct rmem_open_reply rep;
	struct pool_region *r;
	uint64_t frames = le64toh(o->frames);
	int ret;

	if (c->region) {
		conn_error(c, RMEM_E_INVAL);
		return;
	}
	if (c->req.flags & RMEM_OPEN_F_CREATE) {
		if (frames == 0) {
			conn_error(c, RMEM_E_INVAL);
			return;
		}
		if (frames > s->cfg.quota / RMEM_FRAME_SIZE) {
			log_warn("%s (%s): region of %llu frames refused: quota is %llu",
				 c->peer, c->name, (unsigned long long)frames,
				 (unsigned long long)(s->cfg.quota / RMEM_FRAME_SIZE));
			conn_error(c, RMEM_E_QUOTA);
			return;
		}
		ret = pool_region_create(&s->pool, frames, &r);
		if (ret) {
			log_warn("%s (%s): region of %llu frames refused: %s (%llu free)",
				 c->peer, c->name, (unsigned long long)frames,
				 rmem_status_str(ret),
				 (unsigned long long)s->pool.nfree);
			conn_error(c, ret);
			return;
		}
		log_info("%s (%s): region %llu created, %llu frames",
			 c->peer, c->name, (unsigned long long)r->id,
			 (unsigned long long)frames);
	} else {
		r = pool_region_find(&s->pool, le64toh(o->region_id), o->token);
		if (!r) {
			log_warn("%s (%s): no region %llu with that token",
				 c->peer, c->name,
				 (unsigned long long)le64toh(o->region_id));
			conn_error(c, RMEM_E_NOENT);
			return;
		}
		if (frames && frames != r->nframes) {
			conn_error(c, RMEM_E_INVAL);
			return;
		}
		pool_region_get(r);
		log_info("%s (%s): joined region %llu (%u connections)",
			 c->peer, c->name, (unsigned long long)r->id, r->refs);
	}
	c->has_queue = c->req.flags & RMEM_OPEN_F_QUEUE;
	c->queue = c->has_queue ? (uint16_t)c->req.count : 0;
	/* every check passed: only now may the OPEN fence anybody */
	if (c->req.flags & (RMEM_OPEN_F_FENCE | RMEM_OPEN_F_FENCE_ALL))
		region_fence(s, r, c, c->req.flags & RMEM_OPEN_F_FENCE_ALL);
	c->generation = r->generation;
	c->region = r;
	rep.region_id = htole64(r->id);
	rep.frames = htole64(r->nframes);
	memcpy(rep.token, r->token, sizeof(rep.token));
	conn_reply_small(c, &rep, sizeof(rep));
}

static void do_patch(struct conn *c)
{
	const struct rmem_patch *p = (const void *)c->scratch;
	struct pool_region *r = c->region;
	int ret;

	if (rmem_patch_check(p, c->req.len)) {
		conn_error(c, RMEM_E_PROTO);
		return;
	}
	ret = rmem_patch_apply(pool_frame(&c->srv->pool, r, c->req.frame),
			       le64toh(p->mask), c->scratch + sizeof(*p),
			       le64toh(p->hash));
	if (ret) {
		c->srv->io.mismatches++;
		r->io.mismatches++;
		conn_error(c, ret);
		return;
	}
	c->srv->io.patches++;
	r->io.patches++;
	conn_reply(c, RMEM_OK, 0);
}

static void do_discard(struct conn *c)
{
	const struct rmem_extent *e = (const void *)c->scratch;
	struct pool_region *r = c->region;
	uint64_t total = 0, i, f;
	uint32_t n = c->req.count;

	/* check every extent before touching any */
	for (i = 0; i < n; i++) {
		if (e[i].reserved || !e[i].count) {
			conn_error(c, RMEM_E_INVAL);
			return;
		}
		if (!pool_region_covers(r, le64toh(e[i].frame),
					le32toh(e[i].count))) {
			conn_error(c, RMEM_E_RANGE);
			return;
		}
	}
	for (i = 0; i < n; i++) {
		uint64_t start = le64toh(e[i].frame);

		for (f = start; f < start + le32toh(e[i].count); f++)
			memset(pool_frame(&c->srv->pool, r, f), 0,
			       RMEM_FRAME_SIZE);
		total += le32toh(e[i].count);
	}
	c->srv->io.discarded += total;
	r->io.discarded += total;
	conn_reply(c, RMEM_OK, 0);
}

static void do_stats(struct conn *c)
{
	struct server *s = c->srv;
	struct rmem_stats st = { 0 };

	st.pool_frames = htole64(s->pool.nframes);
	st.free_frames = htole64(s->pool.nfree);
	st.quota_frames = htole64(s->cfg.quota / RMEM_FRAME_SIZE);
	st.uptime_sec = htole64((uint64_t)(time(NULL) - s->start));
	st.clients = htole32(s->nconns);
	st.max_clients = htole32(s->cfg.max_clients);
	st.regions = htole32(s->pool.nregions);
	st.flags = htole32((s->pool.huge ? RMEM_STATS_F_HUGEPAGES : 0) |
			   (s->locked ? RMEM_STATS_F_LOCKED : 0));
	st.auth_failures = htole64(s->auth_failures);
	st.proto_errors = htole64(s->proto_errors);
	server_fill_io(&st.donor, &s->io);
	if (c->region) {
		st.region_id = htole64(c->region->id);
		st.region_frames = htole64(c->region->nframes);
		server_fill_io(&st.region, &c->region->io);
	}
	if (c->version >= RMEM_PROTO_VERSION_FENCE) {
		struct reply *r = conn_reply(c, RMEM_OK, sizeof(st) +
					     sizeof(struct rmem_fence_stats));
		struct rmem_fence_stats fs = {
			.fenced = htole64(s->fenced),
			.fenced_bytes = htole64(s->fenced_bytes),
		};

		if (c->region) {
			fs.region_generation = htole64(c->region->generation);
			fs.region_fenced = htole64(c->region->fenced);
		}
		memcpy(r->small, &st, sizeof(st));
		memcpy(r->small + sizeof(st), &fs, sizeof(fs));
		r->small_len = sizeof(st) + sizeof(fs);
		return;
	}
	conn_reply_small(c, &st, sizeof(st));
}

static void do_close(struct conn *c)
{
	if (c->region && (c->req.flags & RMEM_CLOSE_F_RELEASE)) {
		log_info("%s (%s): region %llu released", c->peer, c->name,
			 (unsigned long long)c->region->id);
		pool_region_release(&c->srv->pool, c->region);
	}
	conn_reply(c, RMEM_OK, 0);
	conn_close_after_flush(c);
}

/* The payload is in; do the request. */
static void conn_execute(struct conn *c)
{
	struct server *s = c->srv;
	struct pool_region *r = c->region;
	struct reply *rep;

	if (c->in_status) {
		conn_error(c, c->in_status);
		return;
	}
	switch (c->req.op) {
	case RMEM_OP_HELLO:
		do_hello(c);
		break;
	case RMEM_OP_AUTH:
		do_auth(c);
		break;
	case RMEM_OP_OPEN:
		do_open(c);
		break;
	case RMEM_OP_READ:
		rep = conn_reply(c, RMEM_OK, c->req.count * RMEM_FRAME_SIZE);
		rep->frame = c->req.frame;
		rep->count = c->req.count;
		s->io.reads++;
		r->io.reads++;
		s->io.bytes_out += c->req.count * RMEM_FRAME_SIZE;
		r->io.bytes_out += c->req.count * RMEM_FRAME_SIZE;
		break;
	case RMEM_OP_WRITE:
		s->io.writes++;
		r->io.writes++;
		conn_reply(c, RMEM_OK, 0);
		break;
	case RMEM_OP_PATCH:
		do_patch(c);
		break;
	case RMEM_OP_DISCARD:
		do_discard(c);
		break;
	case RMEM_OP_STATS:
		do_stats(c);
		break;
	case RMEM_OP_PING:
		conn_reply_small(c, c->scratch, c->req.len);
		break;
	case RMEM_OP_CLOSE:
		do_close(c);
		break;
	default:
		conn_error(c, RMEM_E_OP);
		break;
	}
	if (c->req.len && (c->req.op == RMEM_OP_WRITE ||
			   c->req.op == RMEM_OP_PATCH)) {
		s->io.bytes_in += c->req.len;
		r->io.bytes_in += c->req.len;
	}
}

/*
 * A header is in: decide whether the request can be served, and so where
 * its payload goes. Returns false when the connection must stop reading.
 */
static bool conn_start_request(struct conn *c)
{
	int ret;

	c->in_status = RMEM_OK;
	ret = rmem_req_decode(&c->hdr, &c->req);
	if (ret) {
		log_warn("%s (%s): %s header (magic %#x, %u-byte payload)",
			 c->peer, c->name,
			 ret == RMEM_E_TOOBIG ? "oversized" : "malformed",
			 le32toh(c->hdr.magic), c->req.len);
		conn_error(c, ret);
		return false;
	}
	if ((c->state == CONN_HELLO && c->req.op != RMEM_OP_HELLO) ||
	    (c->state == CONN_AUTH && c->req.op != RMEM_OP_AUTH)) {
		conn_error(c, RMEM_E_NOAUTH);
		return false;
	}
	if (c->state == CONN_READY &&
	    (c->req.op == RMEM_OP_HELLO || c->req.op == RMEM_OP_AUTH)) {
		conn_error(c, RMEM_E_PROTO);
		return false;
	}
	ret = rmem_req_check(&c->req);
	/* a version 1 connection gets what a version 1 donor would say */
	if (!ret && c->req.op == RMEM_OP_OPEN &&
	    c->version < RMEM_PROTO_VERSION_FENCE &&
	    (c->req.flags & ~(RMEM_OPEN_F_CREATE | RMEM_OPEN_F_ATTACH)))
		ret = RMEM_E_OP;
	if (ret && rmem_status_fatal(ret)) {
		log_warn("%s (%s): %s with a %u-byte payload does not fit the protocol",
			 c->peer, c->name, rmem_op_name(c->req.op), c->req.len);
		conn_error(c, ret);
		return false;
	}
	if (!ret && c->req.op >= RMEM_OP_READ && c->req.op <= RMEM_OP_DISCARD) {
		if (!c->region)
			ret = RMEM_E_NOREGION;
		else if (c->req.op != RMEM_OP_DISCARD &&
			 !pool_region_covers(c->region, c->req.frame,
					     c->req.count))
			ret = RMEM_E_RANGE;
	}
	c->in_status = ret;
	c->in_payload = true;
	c->pay_off = 0;
	return true;
}

/* Where the rest of the payload goes: frames, the scratch buffer, or
 * the scratch buffer over and over for a refused request's bytes. */
static int conn_payload_iov(struct conn *c, struct iovec *iov, int max)
{
	int n = 0;

	if (c->req.op == RMEM_OP_WRITE && !c->in_status) {
		size_t off = c->pay_off;

		while (off < c->req.len && n < max) {
			uint64_t f = c->req.frame + off / RMEM_FRAME_SIZE;
			size_t in = off % RMEM_FRAME_SIZE;

			iov[n].iov_base = pool_frame(&c->srv->pool, c->region, f) + in;
			iov[n].iov_len = RMEM_FRAME_SIZE - in;
			off += iov[n].iov_len;
			n++;
		}
	} else if (c->in_status) {
		size_t left = c->req.len - c->pay_off;

		iov[0].iov_base = c->scratch;
		iov[0].iov_len = left < sizeof(c->scratch) ? left : sizeof(c->scratch);
		n = 1;
	} else {
		iov[0].iov_base = c->scratch + c->pay_off;
		iov[0].iov_len = c->req.len - c->pay_off;
		n = 1;
	}
	return n;
}

/* Copy staged bytes into iov; how many. */
static size_t conn_unstage(struct conn *c, const struct iovec *iov, int n)
{
	size_t done = 0;
	int i;

	for (i = 0; i < n && c->in_head < c->in_len; i++) {
		size_t k = c->in_len - c->in_head;

		if (k > iov[i].iov_len)
			k = iov[i].iov_len;
		memcpy(iov[i].iov_base, c->in + c->in_head, k);
		c->in_head += k;
		done += k;
	}
	return done;
}

/* Read payload bytes to where they belong; 1 done, 0 wait, -1 dead. */
static int conn_read_payload(struct conn *c)
{
	while (c->pay_off < c->req.len) {
		struct iovec iov[16];
		int n = conn_payload_iov(c, iov, 16);
		size_t want = 0;
		ssize_t got;
		int i;

		if (c->in_head < c->in_len) {
			c->pay_off += conn_unstage(c, iov, n);
			continue;
		}
		if (c->in_drained) {
			c->in_drained = false;
			return 0;
		}
		got = readv(c->fd, iov, n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (got <= 0) {
			log_info("%s (%s): %s mid-%s (%zu of %u payload bytes)",
				 c->peer, c->name,
				 got ? strerror(errno) : "peer disconnected",
				 rmem_op_name(c->req.op), c->pay_off,
				 c->req.len);
			return -1;
		}
		for (i = 0; i < n; i++)
			want += iov[i].iov_len;
		c->in_drained = (size_t)got < want;
		c->pay_off += (size_t)got;
	}
	return 1;
}

/* Take requests off the socket while there is room for their replies. */
static int conn_input(struct conn *c)
{
	struct server *s = c->srv;
	int budget = CONN_BUDGET;

	while (!c->closing && budget > 0) {
		if (!c->in_payload) {
			ssize_t got;

			if (c->oq_count == CONN_OUTQ)
				break;	/* resumed when replies drain */
			if (s->draining && c->hdr_off == 0) {
				conn_close_after_flush(c);
				break;
			}
			if (c->in_head == c->in_len) {
				if (c->in_drained) {
					c->in_drained = false;
					break;
				}
				got = recv(c->fd, c->in, sizeof(c->in), 0);
				if (got < 0 && errno == EINTR)
					continue;
				if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
					break;
				if (got <= 0) {
					if (c->hdr_off || c->oq_count)
						log_info("%s (%s): %s mid-request",
							 c->peer, c->name,
							 got ? strerror(errno) :
							 "peer disconnected");
					else
						log_debug("%s (%s): peer closed",
							  c->peer, c->name);
					return -1;
				}
				c->in_head = 0;
				c->in_len = (size_t)got;
				c->in_drained = (size_t)got < sizeof(c->in);
			}
			got = (ssize_t)(sizeof(c->hdr) - c->hdr_off);
			if ((size_t)got > c->in_len - c->in_head)
				got = (ssize_t)(c->in_len - c->in_head);
			memcpy((uint8_t *)&c->hdr + c->hdr_off, c->in + c->in_head,
			       (size_t)got);
			c->in_head += (size_t)got;
			c->hdr_off += (size_t)got;
			if (c->hdr_off < sizeof(c->hdr))
				continue;
			c->hdr_off = 0;
			if (!conn_start_request(c))
				break;
		}
		switch (conn_read_payload(c)) {
		case -1:
			return -1;
		case 0:
			return 0;
		}
		c->in_payload = false;
		conn_execute(c);
		budget--;
	}
	/* staged requests wake no epoll: the loop comes back for them */
	if (c->in_head < c->in_len)
		s->restage = true;
	return 0;
}

/* Send queued replies; -1 if the peer is gone. */
static int conn_output(struct conn *c)
{
	struct pool *p = &c->srv->pool;

	while (c->oq_count) {
		struct iovec iov[CONN_SEND_IOV];
		struct msghdr msg = { .msg_iov = iov };
		size_t skip = c->out_off;
		unsigned int i, n = 0;
		ssize_t sent;

		for (i = 0; i < c->oq_count && n < CONN_SEND_IOV; i++) {
			struct reply *r = &c->outq[(c->oq_head + i) % CONN_OUTQ];
			size_t len = sizeof(r->hdr);
			uint32_t f;

			if (skip >= len) {
				skip -= len;
			} else {
				iov[n].iov_base = (uint8_t *)&r->hdr + skip;
				iov[n++].iov_len = len - skip;
				skip = 0;
			}
			if (r->small_len && n < CONN_SEND_IOV) {
				if (skip >= r->small_len) {
					skip -= r->small_len;
				} else {
					iov[n].iov_base = r->small + skip;
					iov[n++].iov_len = r->small_len - skip;
					skip = 0;
				}
			}
			for (f = 0; f < r->count && n < CONN_SEND_IOV; f++) {
				if (skip >= RMEM_FRAME_SIZE) {
					skip -= RMEM_FRAME_SIZE;
					continue;
				}
				iov[n].iov_base = pool_frame(p, c->region,
							     r->frame + f) + skip;
				iov[n++].iov_len = RMEM_FRAME_SIZE - skip;
				skip = 0;
			}
		}
		msg.msg_iovlen = n;
		sent = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (sent < 0 && errno == EINTR)
			continue;
		if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (sent < 0) {
			log_info("%s (%s): send: %s", c->peer, c->name,
				 strerror(errno));
			return -1;
		}
		c->out_off += (size_t)sent;
		while (c->oq_count) {
			struct reply *r = &c->outq[c->oq_head];
			size_t total = sizeof(r->hdr) + r->small_len +
				       (size_t)r->count * RMEM_FRAME_SIZE;

			if (c->out_off < total)
				break;
			c->out_off -= total;
			c->oq_head = (c->oq_head + 1) % CONN_OUTQ;
			c->oq_count--;
		}
	}
	return 0;
}

/*
 * After our last reply, shut the write side and read until the peer
 * closes: closing with unread input would send a reset that can destroy
 * the error reply before the peer reads it.
 */
static int conn_linger(struct conn *c)
{
	uint8_t sink[4096];
	ssize_t got;

	if (!c->lingering) {
		c->lingering = true;
		c->closing_since = time(NULL);
		shutdown(c->fd, SHUT_WR);
	}
	for (;;) {
		got = recv(c->fd, sink, sizeof(sink), 0);
		if (got > 0)
			continue;
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		return -1;
	}
}

static void conn_event(struct conn *c, uint32_t events)
{
	if (c->fenced)
		return;		/* its socket is closed: an event of this round */
	if (c->lingering) {
		if (conn_linger(c) < 0)
			conn_free(c);
		return;
	}
	if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && !c->closing) {
		if (conn_input(c) < 0) {
			conn_free(c);
			return;
		}
	}
	if (conn_output(c) < 0) {
		conn_free(c);
		return;
	}
	/* a full queue just drained: take more requests now */
	if (!c->closing && c->oq_count < CONN_OUTQ && (events & EPOLLOUT) &&
	    conn_input(c) == 0 && conn_output(c) < 0) {
		conn_free(c);
		return;
	}
	if (c->closing && !c->oq_count) {
		if (conn_linger(c) < 0) {
			conn_free(c);
			return;
		}
	}
	conn_set_events(c);
}

/*
 * Serve connections whose requests wait in their stage, where epoll does
 * not see them: those that stopped at their budget. A full reply queue
 * is resumed by its EPOLLOUT instead; conn_input() sets restage again
 * for a connection that stops at its budget once more.
 */
static void server_restage(struct server *s)
{
	struct conn *c, *next;

	s->restage = false;
	for (c = s->conns; c; c = next) {
		next = c->next;
		if (c->in_head < c->in_len && !c->closing && !c->lingering &&
		    !c->fenced && c->oq_count < CONN_OUTQ)
			conn_event(c, EPOLLIN);
	}
}

/* Free the connections fenced in this round, now nothing points at them. */
static void server_reap(struct server *s)
{
	struct conn *c, *next;

	s->reap = false;
	for (c = s->conns; c; c = next) {
		next = c->next;
		if (c->fenced)
			conn_free(c);
	}
}

static void server_accept(struct server *s)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct epoll_event ev;
		struct conn *c;
		char host[INET6_ADDRSTRLEN];
		int fd, one = 1;
		uint16_t port;

		fd = accept4(s->listen_fd, (struct sockaddr *)&ss, &sl,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("accept: %s", strerror(errno));
			return;
		}
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *a = (void *)&ss;

			inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
			port = ntohs(a->sin6_port);
		} else {
			struct sockaddr_in *a = (void *)&ss;

			inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
			port = ntohs(a->sin_port);
		}
		if (s->nsockets >= s->cfg.max_clients + SERVER_EXTRA_SOCKETS) {
			log_warn("%s:%u: dropped: too many connections",
				 host, port);
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			log_err("out of memory for a connection");
			close(fd);
			continue;
		}
		c->type = EV_CONN;
		c->srv = s;
		c->fd = fd;
		c->since = time(NULL);
		c->refused = s->nconns >= s->cfg.max_clients;
		snprintf(c->peer, sizeof(c->peer), "%s:%u", host, port);
		snprintf(c->name, sizeof(c->name), "-");
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			log_err("epoll_ctl: %s", strerror(errno));
			close(fd);
			free(c);
			continue;
		}
		c->events = EPOLLIN;
		c->next = s->conns;
		if (s->conns)
			s->conns->prev = c;
		s->conns = c;
		if (!c->refused)
			s->nconns++;
		s->nsockets++;
		log_debug("%s: connected", c->peer);
	}
}

/*
 * systemd (rmem-poold.service, Type=notify): READY=1 once the event loop
 * runs, RELOADING=1 and READY=1 around a SIGHUP, STOPPING=1 when the
 * drain starts, and WATCHDOG=1 from the one-second tick, so a loop that
 * stops turning is killed and restarted (WatchdogSec=). STATUS= says what
 * is lent, for `systemctl status`. Without NOTIFY_SOCKET (not started by
 * systemd) every sd_notify is a getenv and nothing else.
 */
static void server_notify_status(struct server *s, bool force)
{
	char status[sizeof(s->status)];
	uint64_t used = s->pool.nframes - s->pool.nfree;

	snprintf(status, sizeof(status),
		 "%s%u clients, %llu of %llu MiB lent",
		 s->draining ? "draining: " : "", s->nconns,
		 (unsigned long long)(used * RMEM_FRAME_SIZE >> 20),
		 (unsigned long long)(s->pool.nframes * RMEM_FRAME_SIZE >> 20));
	if (!force && !strcmp(status, s->status))
		return;
	memcpy(s->status, status, sizeof(status));
	sd_notifyf(0, "STATUS=%s", status);
}

static void server_notify_ready(struct server *s)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) > 0) {
		s->watchdog = true;
		if (usec < 2 * 1000000ULL)
			log_warn("systemd watchdog every %llu ms is not twice the one-second tick: pings may come late; set WatchdogSec= to 2 s or more",
				 (unsigned long long)(usec / 1000));
	}
	server_notify_status(s, true);
	sd_notify(0, "READY=1");
}

/*
 * CLOCK_MONOTONIC: systemd 253's Type=notify-reload wants it with
 * RELOADING=1; systemd 252 (Debian 12, Type=notify with ExecReload)
 * ignores it.
 */
static unsigned long long monotonic_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
}

static void server_load(struct server *s)
{
	struct poold_config cfg;
	struct rmem_key key;
	char err[1024], restart[512];

	if (poold_config_load(s->config_path, &cfg, err, sizeof(err))) {
		log_err("reload: %s; keeping the running configuration", err);
		return;
	}
	if (rmem_key_load(cfg.key_file, &key, err, sizeof(err))) {
		log_err("reload: %s; keeping the running configuration", err);
		return;
	}
	poold_config_restart_keys(&s->cfg, &cfg, restart, sizeof(restart));
	if (restart[0])
		log_warn("reload: %s changed; that takes a restart", restart);
	/* keep what needs a restart, take the rest */
	s->cfg.max_clients = cfg.max_clients;
	s->cfg.idle_timeout = cfg.idle_timeout;
	s->cfg.handshake_timeout = cfg.handshake_timeout;
	s->cfg.quota = cfg.quota > s->cfg.pool_size ? s->cfg.pool_size :
		       cfg.quota;
	memcpy(s->cfg.key_file, cfg.key_file, sizeof(cfg.key_file));
	s->cfg.log_level = cfg.log_level;
	s->cfg.log_syslog = cfg.log_syslog;
	s->key = key;
	explicit_bzero(&key, sizeof(key));
	poold_log_setup(s->cfg.log_level, s->cfg.log_syslog);
	log_info("configuration reloaded from %s (quota %llu frames, max_clients %u, idle_timeout %us)",
		 s->config_path,
		 (unsigned long long)(s->cfg.quota / RMEM_FRAME_SIZE),
		 s->cfg.max_clients, s->cfg.idle_timeout);
}

/* A reload that fails keeps serving: READY=1 either way. */
static void server_reload(struct server *s)
{
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu", monotonic_usec());
	server_load(s);
	server_notify_status(s, true);
	sd_notify(0, "READY=1");
}

static void server_start_drain(struct server *s)
{
	struct conn *c, *next;

	if (s->draining)
		return;
	s->draining = true;
	s->drain_deadline = time(NULL) + SERVER_DRAIN_SEC;
	log_info("shutting down: draining %u connections", s->nsockets);
	sd_notify(0, "STOPPING=1");
	server_notify_status(s, true);
	if (s->listen_fd >= 0) {
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->listen_fd, NULL);
		close(s->listen_fd);
		s->listen_fd = -1;
	}
	for (c = s->conns; c; c = next) {
		next = c->next;
		if (!c->in_payload && c->hdr_off == 0)
			conn_close_after_flush(c);
		conn_event(c, 0);
	}
}

static void server_signal(struct server *s)
{
	struct signalfd_siginfo si;

	while (read(s->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		/* a reload after STOPPING=1 would tell systemd READY=1 */
		if (si.ssi_signo == SIGHUP && !s->draining)
			server_reload(s);
		else if (si.ssi_signo == SIGHUP)
			log_info("reload ignored: draining");
		else
			server_start_drain(s);
	}
}

static void server_tick(struct server *s)
{
	struct conn *c, *next;
	time_t now = time(NULL);
	uint64_t ticks;

	if (read(s->timer_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		log_warn("timerfd: %s", strerror(errno));
	for (c = s->conns; c; c = next) {
		next = c->next;
		if (c->state != CONN_READY && !c->closing &&
		    now - c->since >= (time_t)s->cfg.handshake_timeout) {
			log_warn("%s (%s): no authentication within %us; disconnecting",
				 c->peer, c->name, s->cfg.handshake_timeout);
			conn_free(c);
		} else if ((c->lingering || c->closing) &&
			   now - c->closing_since >= CONN_LINGER_SEC) {
			conn_free(c);
		} else if (s->draining && now >= s->drain_deadline) {
			log_warn("%s (%s): still busy at the drain deadline; closing",
				 c->peer, c->name);
			conn_free(c);
		}
	}
	pool_expire(&s->pool, now, s->cfg.idle_timeout);
	if (s->watchdog)
		sd_notify(0, "WATCHDOG=1");
	server_notify_status(s, false);
}

int server_listen(struct server *s, char *err, size_t errlen)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	};
	struct addrinfo *res;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char port[8];
	int fd, one = 1, ret;

	snprintf(port, sizeof(port), "%u", s->cfg.port);
	ret = getaddrinfo(s->cfg.listen, port, &hints, &res);
	if (ret) {
		snprintf(err, errlen, "listen address '%s': %s",
			 s->cfg.listen, gai_strerror(ret));
		return -EINVAL;
	}
	fd = socket(res->ai_family,
		    res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 128)) {
		ret = -errno;
		snprintf(err, errlen, "cannot listen on %s port %s: %s",
			 s->cfg.listen, port, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return ret;
	}
	freeaddrinfo(res);
	s->listen_fd = fd;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		s->cfg.port = ntohs(ss.ss_family == AF_INET6 ?
				    ((struct sockaddr_in6 *)&ss)->sin6_port :
				    ((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

/* Written once the donor serves: tests and scripts wait for it. */
int server_write_port_file(struct server *s, const char *port_file,
			   char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%u\n", s->cfg.port) < 0 || fclose(f) ||
	    rename(tmp, port_file)) {
		snprintf(err, errlen, "port file %s: %s", port_file,
			 strerror(errno));
		return -errno;
	}
	return 0;
}

int server_run(struct server *s)
{
	struct epoll_event ev, events[64];
	struct itimerspec its = {
		.it_interval = { .tv_sec = 1 },
		.it_value = { .tv_sec = 1 },
	};
	sigset_t mask;
	int i, n;

	s->start = time(NULL);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	s->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	s->timer_fd = timerfd_create(CLOCK_MONOTONIC,
				     TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->epfd < 0 || s->signal_fd < 0 || s->timer_fd < 0 ||
	    timerfd_settime(s->timer_fd, 0, &its, NULL)) {
		log_err("event loop set-up: %s", strerror(errno));
		return -1;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = &ev_listen;
	epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->listen_fd, &ev);
	ev.data.ptr = &ev_signal;
	epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->signal_fd, &ev);
	ev.data.ptr = &ev_timer;
	epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->timer_fd, &ev);

	log_info("serving %llu frames (%llu MiB%s%s) on %s port %u; quota %llu frames, at most %u clients",
		 (unsigned long long)s->pool.nframes,
		 (unsigned long long)(s->pool.nframes * RMEM_FRAME_SIZE >> 20),
		 s->pool.huge ? ", huge pages" : "",
		 s->locked ? ", locked" : "", s->cfg.listen, s->cfg.port,
		 (unsigned long long)(s->cfg.quota / RMEM_FRAME_SIZE),
		 s->cfg.max_clients);
	server_notify_ready(s);

	while (!s->draining || s->conns) {
		n = epoll_wait(s->epfd, events, 64, s->restage ? 0 : -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err("epoll_wait: %s", strerror(errno));
			return -1;
		}
		for (i = 0; i < n; i++) {
			enum ev_type *t = events[i].data.ptr;
			enum ev_type type = *t;

			switch (type) {
			case EV_LISTEN:
				server_accept(s);
				break;
			case EV_SIGNAL:
				server_signal(s);
				break;
			case EV_TIMER:
				server_tick(s);
				break;
			case EV_CONN:
				conn_event((struct conn *)t, events[i].events);
				break;
			}
			/*
			 * Ticks and signals may free connections that are
			 * later in events[]; epoll is level-triggered, so
			 * leave the rest to the next wait.
			 */
			if (type == EV_SIGNAL || type == EV_TIMER)
				break;
		}
		if (s->restage)
			server_restage(s);
		if (s->reap)
			server_reap(s);
	}
	log_info("drained; exiting");
	return 0;
}

void server_close(struct server *s)
{
	while (s->conns)
		conn_free(s->conns);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->signal_fd >= 0)
		close(s->signal_fd);
	if (s->timer_fd >= 0)
		close(s->timer_fd);
	if (s->epfd >= 0)
		close(s->epfd);
	pool_destroy(&s->pool);
	explicit_bzero(&s->key, sizeof(s->key));
}

// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rmem-poold's event loop and protocol engine.
 *
 * A few event loops, one per thread ([server] threads), each with its own
 * epoll set, one-second timerfd and wake-up eventfd, and the connections
 * it owns, all non-blocking (as nginx's workers, in one process: the
 * pool is shared). Loop 0 runs on the main thread and also holds the
 * listening socket and a signalfd for SIGTERM/SIGINT/SIGHUP; it accepts
 * and hands each connection to the loop that owns the fewest. How the
 * loops share the pool and fence each other's connections: server.h's
 * "Locking". A connection reads a request header, then
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
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
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
#define CONN_LINGER_RECVS	16	/* recvs of its input per wake-up */
#define CONN_LINGER_BYTES	(1 << 20)	/* then close, reset or not */
#define CONN_IN_STAGE		16384	/* one recv takes a batch of requests */
#define SERVER_DRAIN_SEC	5
#define SERVER_EXTRA_SOCKETS	16	/* refused-but-answered peers over max */
#define SERVER_ACCEPT_BUDGET	64	/* accepts per wake-up of loop 0 */
/* Descriptors besides connections: listen, signalfd, stdio, journal, slack */
#define SERVER_FIXED_FDS	16
#define LOOP_FDS		3	/* epoll, eventfd, timerfd */
/* Addresses remembered as a key holder's, and for how long after it left */
#define SERVER_TRUSTED_MAX	256
#define SERVER_TRUSTED_SEC	3600
#define SERVER_STALE_SEC	10	/* a loop this late: no watchdog ping */
#define LOOP_STACK		(256 << 10)	/* locked, with [pool] lock */

enum ev_type { EV_LISTEN = 1, EV_SIGNAL, EV_TIMER, EV_WAKE, EV_CONN };

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
		      sizeof(struct rmem_fence_stats) +
		      sizeof(struct rmem_key_stats)];
};

struct conn {
	enum ev_type type;	/* first: epoll data points here */
	struct conn *next, *prev;
	struct server *srv;
	struct loop *loop;	/* its owner, for life */
	int fd;
	uint32_t events;	/* what epoll is watching now */
	char peer[INET6_ADDRSTRLEN + 8];
	char name[RMEM_NAME_SIZE + 1];
	enum conn_state state;
	bool startup;		/* not authenticated: counted in s->nstartups */
	bool counted;		/* authenticated: counted against max_clients */
	uint8_t src[16];	/* the peer's address, IPv4 as ::ffff:a.b.c.d */
	uint16_t version;
	uint8_t client_nonce[RMEM_NONCE_SIZE];
	uint8_t donor_nonce[RMEM_NONCE_SIZE];
	/* the HELLO payloads as they crossed the wire: the transcript */
	struct rmem_hello hello;
	struct rmem_hello_reply hello_reply;
	/* authenticated: whose key (id, "" for [auth]'s), which of its keys
	 * (SHA-256), as of which reload (s->keys_gen) it was checked */
	char ident[RMEM_KEY_ID_SIZE];
	uint8_t key_fp[RMEM_MAC_SIZE];
	unsigned int keys_gen;
	time_t since;
	struct pool_region *region;	/* referenced while set */
	/*
	 * Fencing (Documentation/protocol.rst): the queue index OPEN gave,
	 * the region's generation when it joined, and whether a newer
	 * connection fenced it. A fenced connection has let go of its socket
	 * and region and executes nothing more; only its memory waits for
	 * the end of its loop's round, as events[] may still point at it.
	 */
	bool has_queue;
	uint16_t queue;
	uint64_t generation;
	bool fenced;
	bool dead;		/* shut by its loop: freed at the round's end */

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
	size_t linger_bytes;	/* input drained since */
	time_t closing_since;
};

static struct { enum ev_type type; } ev_listen = { EV_LISTEN },
	ev_signal = { EV_SIGNAL }, ev_timer = { EV_TIMER },
	ev_wake = { EV_WAKE };

/*
 * Every timeout (handshake, linger, drain, orphans) and the uptime count
 * on CLOCK_MONOTONIC: a step of the wall clock must not free an orphaned
 * region or drop a connection.
 */
static time_t monotonic_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Counters bumped by every loop: relaxed atomics, read whole by STATS. */
static inline void count(uint64_t *c, uint64_t n)
{
	__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

static inline uint64_t counted(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/* The donor's and the connection's region's counter f, by n. */
#define COUNT(c, f, n)	do {					\
		count(&(c)->srv->io.f, (n));			\
		if ((c)->region)				\
			count(&(c)->region->io.f, (n));		\
	} while (0)

static bool server_draining(const struct server *s)
{
	return __atomic_load_n(&s->draining, __ATOMIC_ACQUIRE);
}

/*
 * exec (server.h, "Locking"). One loop has nobody to exclude: then a
 * fence runs between its own requests, as it always did, and the loop
 * pays no lock per round.
 */
static void exec_read_lock(struct server *s)
{
	if (s->nloops > 1)
		pthread_rwlock_rdlock(&s->exec);
}

static void exec_read_unlock(struct server *s)
{
	if (s->nloops > 1)
		pthread_rwlock_unlock(&s->exec);
}

/* From a loop's read side to the write side, and back. */
static void exec_upgrade(struct server *s)
{
	if (s->nloops > 1) {
		pthread_rwlock_unlock(&s->exec);
		pthread_rwlock_wrlock(&s->exec);
	}
}

static void exec_downgrade(struct server *s)
{
	if (s->nloops > 1) {
		pthread_rwlock_unlock(&s->exec);
		pthread_rwlock_rdlock(&s->exec);
	}
}

static void loop_wake(struct loop *l)
{
	uint64_t one = 1;

	(void)!write(l->wake_fd, &one, sizeof(one));
}

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
	if (epoll_ctl(c->loop->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->events = want;
}

/*
 * [server] keepalive: a client that vanished (its host powered off, a
 * partition) sends no FIN, and without probes its connection would hold
 * its region for ever instead of leaving it an orphan for idle_timeout.
 * Probes start after keepalive seconds idle, every quarter of it, four
 * times; TCP_USER_TIMEOUT drops a connection whose sent data goes
 * unacknowledged for twice keepalive (a peer that stopped reading is
 * not dead, and is left to the probes' view of it).
 */
static void conn_keepalive(int fd, unsigned int keepalive)
{
	int one = 1, idle = (int)keepalive, intvl = (int)(keepalive / 4 ?: 1),
	    cnt = 4;
	unsigned int user = keepalive * 2000;

	if (!keepalive)
		return;
	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl)) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user, sizeof(user)))
		log_warn("keepalive: %s", strerror(errno));
}

/* ---- connections not yet authenticated ([server] max_startups) ---- */

static struct startup_src *startup_src_find(struct server *s,
					    const uint8_t addr[16])
{
	unsigned int i;

	for (i = 0; i < s->nsrcs; i++)
		if (!memcmp(s->srcs[i].addr, addr, 16))
			return &s->srcs[i];
	return NULL;
}

static struct trusted_src *trusted_find(struct server *s,
					const uint8_t addr[16])
{
	unsigned int i;

	for (i = 0; i < s->ntrusted; i++)
		if (!memcmp(s->trusted[i].addr, addr, 16))
			return &s->trusted[i];
	return NULL;
}

/*
 * A key holder's connection from addr authenticated (live +1) or ended
 * (-1): remember the address, so that its reconnect is not crowded out
 * by strangers (startup_admit). Only a key holder adds here, so the table
 * cannot be filled by strangers; when it is full, the address without a
 * live connection seen longest ago goes. Under s->lock.
 */
static void trusted_note_locked(struct server *s, const uint8_t addr[16],
				int live)
{
	struct trusted_src *t = trusted_find(s, addr);
	unsigned int i;

	if (!t && !s->trusted) {
		s->trusted = calloc(SERVER_TRUSTED_MAX, sizeof(*s->trusted));
		if (!s->trusted)
			return;		/* then no one is exempt */
	}
	if (!t && s->ntrusted == SERVER_TRUSTED_MAX) {
		for (i = 0; i < s->ntrusted; i++)
			if (!s->trusted[i].live &&
			    (!t || s->trusted[i].seen < t->seen))
				t = &s->trusted[i];
		if (!t)
			return;	/* 256 addresses with clients on: none new */
	} else if (!t) {
		t = &s->trusted[s->ntrusted++];
	}
	if (memcmp(t->addr, addr, 16)) {	/* a new entry */
		memcpy(t->addr, addr, 16);
		t->live = 0;
	}
	if (live > 0 || t->live)
		t->live += (unsigned int)live;
	t->seen = monotonic_sec();
}

/*
 * May a new connection from addr be served until it authenticates?
 * Under s->lock, in accept. Yes counts it (nstartups and its address);
 * no names the limit in *why. As sshd's MaxStartups: past begin, drop
 * with a probability rising from rate percent to 100 at full; and no
 * address may hold more than source_startups, so that strangers at
 * one address cannot crowd out a client reconnecting from another. An
 * address with a key holder's connection on, or one that ended within
 * the last hour, is exempt from max_startups, so that many strangers
 * cannot keep a swap client's reconnect out either.
 */
static bool startup_admit(struct server *s, const uint8_t addr[16],
			  const char **why)
{
	const struct poold_startups *m = &s->cfg.startups;
	struct startup_src *src = startup_src_find(s, addr);
	struct trusted_src *t = trusted_find(s, addr);
	unsigned int n = s->nstartups;
	/* a key holder's address (lately) has only its own limit */
	bool trusted = t && (t->live ||
			     monotonic_sec() - t->seen < SERVER_TRUSTED_SEC);

	if (src && src->n >= s->cfg.source_startups) {
		*why = "source_startups";
		return false;
	}
	if (!trusted && n >= m->full) {
		*why = "max_startups";
		return false;
	}
	if (!trusted && n >= m->begin) {
		unsigned int p = m->rate +
			(100 - m->rate) * (n - m->begin) / (m->full - m->begin + 1);

		/* xorshift32 from a random seed (server_start): cheap */
		s->drop_rand ^= s->drop_rand << 13;
		s->drop_rand ^= s->drop_rand >> 17;
		s->drop_rand ^= s->drop_rand << 5;
		if (s->drop_rand % 100 < p) {
			*why = "max_startups";
			return false;
		}
	}
	if (!src) {
		if (s->nsrcs == s->srcs_cap) {
			unsigned int cap = s->srcs_cap ? 2 * s->srcs_cap : 16;
			struct startup_src *a = realloc(s->srcs,
							cap * sizeof(*a));

			if (!a) {
				*why = "memory";
				return false;
			}
			s->srcs = a;
			s->srcs_cap = cap;
		}
		src = &s->srcs[s->nsrcs++];
		memcpy(src->addr, addr, 16);
		src->n = 0;
	}
	src->n++;
	s->nstartups++;
	return true;
}

/* Take back what startup_admit counted for addr. Under s->lock. */
static void startup_forget_locked(struct server *s, const uint8_t addr[16])
{
	struct startup_src *src = startup_src_find(s, addr);

	s->nstartups--;
	if (src && !--src->n)
		*src = s->srcs[--s->nsrcs];
}

/* c authenticated or went: it no longer counts as a startup. Under lock. */
static void startup_end_locked(struct conn *c)
{
	if (!c->startup)
		return;
	c->startup = false;
	startup_forget_locked(c->srv, c->src);
}

/*
 * Descriptors the configuration can take: every connection it admits
 * (max_clients, max_startups' full, and the refused ones answered), the
 * loops' own, and a few fixed. Raises the soft RLIMIT_NOFILE toward the
 * hard one if need be; an error if even that is short, so that accept
 * never meets EMFILE in a configuration that start-up accepted.
 */
int server_check_fds(const struct poold_config *cfg, unsigned int nloops,
		     char *err, size_t errlen)
{
	rlim_t need = (rlim_t)cfg->max_clients + cfg->startups.full +
		      SERVER_EXTRA_SOCKETS + (rlim_t)LOOP_FDS * nloops +
		      SERVER_FIXED_FDS;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl)) {
		snprintf(err, errlen, "getrlimit: %s", strerror(errno));
		return -errno;
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		struct rlimit up = rl;

		up.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ?
			      need : rl.rlim_max;
		if (up.rlim_cur > rl.rlim_cur && !setrlimit(RLIMIT_NOFILE, &up))
			rl = up;
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		snprintf(err, errlen,
			 "[server] max_clients %u and max_startups' full %u need %llu file descriptors, and RLIMIT_NOFILE allows %llu (hard limit %llu): lower them, or raise the limit (LimitNOFILE= in the unit, ulimit -n)",
			 cfg->max_clients, cfg->startups.full,
			 (unsigned long long)need,
			 (unsigned long long)rl.rlim_cur,
			 (unsigned long long)rl.rlim_max);
		return -EMFILE;
	}
	return 0;
}

/*
 * Let go of the socket and the region; the struct itself stays. The
 * caller holds s->lock, and exec: its loop's read side, or a fence's
 * write side (then c may be another loop's).
 */
static void conn_shut_locked(struct conn *c)
{
	struct server *s = c->srv;

	if (c->fd < 0)
		return;
	epoll_ctl(c->loop->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	if (c->region)
		pool_region_put(&s->pool, c->region, monotonic_sec());
	c->region = NULL;
	startup_end_locked(c);
	if (c->counted) {
		s->nconns--;
		trusted_note_locked(s, c->src, -1);
	}
	c->counted = false;
	s->nsockets--;
	c->loop->load--;
}

static void conn_shut(struct conn *c)
{
	pthread_mutex_lock(&c->srv->lock);
	conn_shut_locked(c);
	pthread_mutex_unlock(&c->srv->lock);
}

/* Unlink and free a connection already shut; its loop's, or at the end. */
static void conn_destroy(struct conn *c)
{
	struct loop *l = c->loop;

	if (c->prev)
		c->prev->next = c->next;
	else
		l->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
}

/*
 * Done with a connection: by its own loop, under exec's read side. It is
 * shut now and freed by loop_reap() at the end of the round, as events[]
 * and the list walks of this round may still point at it.
 */
static void conn_free(struct conn *c)
{
	if (c->dead)
		return;
	conn_shut(c);
	c->dead = true;
	c->loop->reap = true;
	log_debug("%s (%s): connection closed", c->peer, c->name);
}

/* Stop taking requests; the queued replies still go out. */
static void conn_close_after_flush(struct conn *c)
{
	if (!c->closing) {
		c->closing = true;
		c->closing_since = monotonic_sec();
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
	if (status != RMEM_OK)
		COUNT(c, errors, 1);
	return r;
}

static void conn_error(struct conn *c, int status)
{
	conn_reply(c, status, 0);
	if (rmem_status_fatal(status)) {
		if (status == RMEM_E_PROTO || status == RMEM_E_TOOBIG ||
		    status == RMEM_E_NOAUTH)
			count(&c->srv->proto_errors, 1);
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
	w->reads = htole64(counted(&io->reads));
	w->writes = htole64(counted(&io->writes));
	w->patches = htole64(counted(&io->patches));
	w->mismatches = htole64(counted(&io->mismatches));
	w->discarded = htole64(counted(&io->discarded));
	w->bytes_in = htole64(counted(&io->bytes_in));
	w->bytes_out = htole64(counted(&io->bytes_out));
	w->errors = htole64(counted(&io->errors));
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
	c->hello = *h;

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
	/* lower than we speak: say so where every version's MAC covers it */
	if (c->version < RMEM_PROTO_VERSION)
		rmem_hello_mark(c->donor_nonce, RMEM_PROTO_VERSION);
	rep.version = htole16(c->version);
	memcpy(rep.nonce, c->donor_nonce, sizeof(rep.nonce));
	c->hello_reply = rep;
	c->state = CONN_AUTH;
	conn_reply_small(c, &rep, sizeof(rep));
}

/* Frames (and, if nregions, regions) key id owns, orphans included.
 * Under s->lock. */
static uint64_t owner_frames(const struct server *s, const char *id,
			     uint32_t *nregions)
{
	const struct pool_region *r;
	uint64_t n = 0;
	uint32_t k = 0;

	for (r = s->pool.regions; r; r = r->next)
		if (!strcmp(r->owner, id)) {
			n += r->nframes;
			k++;
		}
	if (nregions)
		*nregions = k;
	return n;
}

/* What id's quota has left; 0 if it has no keys now. Under s->lock. */
static uint64_t quota_left(const struct server *s, const char *id)
{
	const struct poold_ident *ident = poold_keyring_find(&s->keys, id);
	uint64_t used;

	if (!ident)
		return 0;
	used = owner_frames(s, id, NULL);
	return used < ident->quota_frames ? ident->quota_frames - used : 0;
}

/*
 * Which key of the named identity the client's MAC proves: its place, or
 * -1. Protocol 3 MACs the transcript (th), earlier ones the version and
 * nonces.
 *
 * The work must not depend on the name: a MAC for each of the
 * POOLD_MAX_KEYS places (the decoy key in those the identity does not
 * fill, all of them for a name the donor does not know), every one
 * compared in constant time, no early exit. So the time of an E_AUTH
 * says neither whether a name exists nor how many keys it has; nothing
 * else that depends on the name (its regions, for the quota) is done
 * before the MAC has matched.
 */
static int auth_find(struct conn *c, const struct poold_ident *ident,
		     const uint8_t *client_mac, const uint8_t *th)
{
	uint8_t mac[RMEM_MAC_SIZE];
	unsigned int i, hit = POOLD_MAX_KEYS;

	for (i = 0; i < POOLD_MAX_KEYS; i++) {
		const struct rmem_key *key = i < ident->nkeys ?
					     &ident->keys[i] : &c->srv->decoy;
		unsigned int eq;

		if (th)
			rmem_auth3_client_mac(key, th, mac);
		else
			rmem_auth_client_mac(key, c->version, c->client_nonce,
					     c->donor_nonce, mac);
		/* the first match; the decoy never matches (nobody has it) */
		eq = rmem_auth_equal(mac, client_mac) && i < ident->nkeys;
		hit = eq && hit == POOLD_MAX_KEYS ? i : hit;
	}
	explicit_bzero(mac, sizeof(mac));
	return hit == POOLD_MAX_KEYS ? -1 : (int)hit;
}

static void do_auth(struct conn *c)
{
	struct server *s = c->srv;
	struct rmem_auth_reply rep = { 0 };
	const uint8_t *client_mac = c->scratch;
	/* a copy: a SIGHUP may change the keys while we compute */
	struct poold_ident ident;
	uint8_t th[RMEM_MAC_SIZE];
	bool keyid = c->version >= RMEM_PROTO_VERSION_KEYID;
	const char *shown;
	unsigned int max;
	bool over, known;
	int hit;

	if (c->req.len != (keyid ? sizeof(struct rmem_auth_v3) :
				   sizeof(struct rmem_auth))) {
		log_warn("%s (%s): AUTH of %u bytes for protocol %u; disconnecting",
			 c->peer, c->name, c->req.len, c->version);
		conn_error(c, RMEM_E_PROTO);
		return;
	}
	memset(c->ident, 0, sizeof(c->ident));
	if (keyid) {
		const struct rmem_auth_v3 *a = (const void *)c->scratch;
		char why[128];

		/* NUL-padded, and a name a config could give, or none */
		memcpy(c->ident, a->key_id, RMEM_KEY_ID_SIZE);
		if (c->ident[RMEM_KEY_ID_SIZE - 1] ||
		    (c->ident[0] && rmem_key_id_check(c->ident, why,
						      sizeof(why))) ||
		    memcmp(a->key_id + strlen(c->ident),
			   (const char[RMEM_KEY_ID_SIZE]){ 0 },
			   RMEM_KEY_ID_SIZE - strlen(c->ident))) {
			count(&s->auth_failures, 1);
			log_warn("%s (%s): authentication failed (malformed key id)",
				 c->peer, c->name);
			conn_error(c, RMEM_E_AUTH);
			return;
		}
		rmem_auth_transcript(&c->hello, &c->hello_reply, a->key_id, th);
	}
	shown = c->ident[0] ? c->ident : "[auth]";
	pthread_mutex_lock(&s->lock);
	/* a name the donor does not know is tried as one with no keys: the
	 * same MACs (auth_find), the same answer as a wrong key */
	{
		const struct poold_ident *found =
			poold_keyring_find(&s->keys, c->ident);

		known = found;
		if (found)
			ident = *found;
		else
			memset(&ident, 0, sizeof(ident));
	}
	c->keys_gen = s->keys_gen;
	pthread_mutex_unlock(&s->lock);
	hit = auth_find(c, &ident, client_mac, keyid ? th : NULL);
	if (hit >= 0) {
		/* proved: now what the key may use, and the donor's proof */
		pthread_mutex_lock(&s->lock);
		rep.quota_frames = htole64(quota_left(s, c->ident));
		rep.free_frames = htole64(s->pool.nfree);
		pthread_mutex_unlock(&s->lock);
		rep.max_io_frames = htole32(RMEM_MAX_IO_FRAMES);
		rep.max_discard_extents = htole32(RMEM_MAX_DISCARD_EXTENTS);
		rep.frame_size = htole32(RMEM_FRAME_SIZE);
		if (keyid)
			rmem_auth3_donor_mac(&ident.keys[hit], th, client_mac,
					     &rep, rep.mac);
		else
			rmem_auth_donor_mac(&ident.keys[hit], c->version,
					    c->client_nonce, c->donor_nonce,
					    rep.mac);
		memcpy(c->key_fp, ident.fp[hit], RMEM_MAC_SIZE);
	}
	explicit_bzero(&ident, sizeof(ident));
	if (hit < 0) {
		count(&s->auth_failures, 1);
		if (!known && !c->ident[0])
			log_warn("%s (%s): authentication failed: no [auth] key_file, and %s",
				 c->peer, c->name,
				 keyid ? "the client names no key id" :
				 "a client of protocol 1 or 2 cannot name one");
		else
			log_warn("%s (%s): authentication failed (%s key %s)",
				 c->peer, c->name,
				 known ? "wrong" : "unknown", shown);
		conn_error(c, RMEM_E_AUTH);
		return;
	}
	/* only a key holder takes one of the max_clients places */
	pthread_mutex_lock(&s->lock);
	startup_end_locked(c);
	max = s->cfg.max_clients;
	over = s->nconns >= max;
	if (!over) {
		s->nconns++;
		c->counted = true;
	}
	if (c->counted)
		trusted_note_locked(s, c->src, 1);
	pthread_mutex_unlock(&s->lock);
	if (over) {
		log_warn("%s (%s): refused: %u clients is the maximum",
			 c->peer, c->name, max);
		conn_error(c, RMEM_E_BUSY);
		return;
	}
	c->state = CONN_READY;
	log_info("%s (%s): authenticated with key %s, protocol %u", c->peer,
		 c->name, shown, c->version);
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
 *
 * Under exec's write side and s->lock: c may be any loop's, and no loop
 * is inside it. Its loop frees it at the end of its next round.
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
	conn_shut_locked(c);
	c->loop->reap = true;
	if (c->loop != by->loop)
		loop_wake(c->loop);
}

/*
 * ATTACH with FENCE or FENCE_ALL: a new generation of region r, and every
 * connection of an older one (those of queue by->queue, or all) closed
 * before by's reply is queued. Under exec's write side no loop is inside
 * a connection, so "older" is simply every connection of r but by, on
 * any loop, and once this returns nothing of theirs can run after any
 * request of by's. Under s->lock too (the regions' refs).
 */
static void region_fence(struct server *s, struct pool_region *r,
			 struct conn *by, bool all)
{
	struct conn *c;
	unsigned int n = 0, i;

	r->generation++;
	for (i = 0; i < s->nloops; i++) {
		for (c = s->loops[i].conns; c; c = c->next) {
			if (c == by || c->region != r || c->fenced || c->dead)
				continue;
			if (!all && (!c->has_queue || c->queue != by->queue))
				continue;
			conn_fence(c, by);
			n++;
		}
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

static void do_open_locked(struct conn *c, const struct rmem_open *o,
			   uint64_t frames, bool fence);

static void do_open(struct conn *c)
{
	const struct rmem_open *o = (const void *)c->scratch;
	struct server *s = c->srv;
	uint64_t frames = le64toh(o->frames);
	bool fence = c->req.flags & (RMEM_OPEN_F_FENCE | RMEM_OPEN_F_FENCE_ALL);

	if (c->region) {
		conn_error(c, RMEM_E_INVAL);
		return;
	}
	if (fence) {
		/*
		 * From our loop's read side to the write side: every loop out
		 * of its connections. c has no region yet, so no fence that
		 * gets in between can take it (the check is for the day that
		 * changes). Once c's reply is queued and the write side let
		 * go, another fence may shut c before this loop takes the read
		 * side again: conn_event() looks at c->fenced after its input.
		 */
		exec_upgrade(s);
		if (c->fenced)
			goto out_exec;
	}
	pthread_mutex_lock(&s->lock);
	do_open_locked(c, o, frames, fence);
	pthread_mutex_unlock(&s->lock);
out_exec:
	if (fence)
		exec_downgrade(s);
}

/* Under s->lock, and exec's write side if fence. */
static void do_open_locked(struct conn *c, const struct rmem_open *o,
			   uint64_t frames, bool fence)
{
	struct server *s = c->srv;
	struct rmem_open_reply rep;
	struct pool_region *r;
	uint64_t left;
	int ret;

	if (c->req.flags & RMEM_OPEN_F_CREATE) {
		if (frames == 0) {
			conn_error(c, RMEM_E_INVAL);
			return;
		}
		left = quota_left(s, c->ident);
		if (frames > left) {
			const struct poold_ident *id =
				poold_keyring_find(&s->keys, c->ident);

			log_warn("%s (%s): region of %llu frames refused: key %s has %llu of its quota of %llu frames left",
				 c->peer, c->name, (unsigned long long)frames,
				 c->ident[0] ? c->ident : "[auth]",
				 (unsigned long long)left,
				 (unsigned long long)(id ? id->quota_frames : 0));
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
		memcpy(r->owner, c->ident, sizeof(r->owner));
		log_info("%s (%s): region %llu created, %llu frames",
			 c->peer, c->name, (unsigned long long)r->id,
			 (unsigned long long)frames);
	} else {
		r = pool_region_find(&s->pool, le64toh(o->region_id), o->token);
		if (r && strcmp(r->owner, c->ident)) {
			/* as if it did not exist: ids say nothing to others */
			log_warn("%s (%s): region %llu belongs to key %s, not %s",
				 c->peer, c->name,
				 (unsigned long long)le64toh(o->region_id),
				 r->owner[0] ? r->owner : "[auth]",
				 c->ident[0] ? c->ident : "[auth]");
			conn_error(c, RMEM_E_NOENT);
			return;
		}
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
	if (fence)
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
		COUNT(c, mismatches, 1);
		conn_error(c, ret);
		return;
	}
	COUNT(c, patches, 1);
	conn_reply(c, RMEM_OK, 0);
}

static void do_discard(struct conn *c)
{
	const struct rmem_extent *e = (const void *)c->scratch;
	struct pool_region *r = c->region;
	uint64_t total = 0, i, f;
	uint32_t n = c->req.count;

	/*
	 * Check every extent before touching any. Together they may name no
	 * more frames than the region has: a request of overlapping extents
	 * could otherwise make this loop zero the region RMEM_MAX_DISCARD_
	 * EXTENTS times over while its other connections wait.
	 */
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
		total += le32toh(e[i].count);
	}
	if (total > r->nframes) {
		log_warn("%s (%s): DISCARD of %llu frames in %u extents, more than the region's %llu: refused",
			 c->peer, c->name, (unsigned long long)total, n,
			 (unsigned long long)r->nframes);
		conn_error(c, RMEM_E_INVAL);
		return;
	}
	for (i = 0; i < n; i++) {
		uint64_t start = le64toh(e[i].frame);

		for (f = start; f < start + le32toh(e[i].count); f++)
			memset(pool_frame(&c->srv->pool, r, f), 0,
			       RMEM_FRAME_SIZE);
	}
	COUNT(c, discarded, total);
	conn_reply(c, RMEM_OK, 0);
}

static void do_stats(struct conn *c)
{
	struct server *s = c->srv;
	struct rmem_stats st = { 0 };
	struct rmem_key_stats ks = { 0 };
	struct reply *r;
	uint32_t len = sizeof(st);

	pthread_mutex_lock(&s->lock);
	{
		uint32_t nregions;

		ks.key_frames = htole64(owner_frames(s, c->ident, &nregions));
		ks.key_regions = htole32(nregions);
		ks.dirty_frames = htole64(s->pool.ndirty);
		ks.scrubbed_frames = htole64(s->pool.nscrubbed);
	}
	st.pool_frames = htole64(s->pool.nframes);
	st.free_frames = htole64(s->pool.nfree);
	{
		const struct poold_ident *id =
			poold_keyring_find(&s->keys, c->ident);

		/* this connection's key's whole quota (AUTH: what is left) */
		st.quota_frames = htole64(id ? id->quota_frames : 0);
	}
	st.clients = htole32(s->nconns);
	st.max_clients = htole32(s->cfg.max_clients);
	st.regions = htole32(s->pool.nregions);
	pthread_mutex_unlock(&s->lock);
	st.uptime_sec = htole64((uint64_t)(monotonic_sec() - s->start));
	st.flags = htole32((s->pool.huge ? RMEM_STATS_F_HUGEPAGES : 0) |
			   (s->locked ? RMEM_STATS_F_LOCKED : 0));
	st.auth_failures = htole64(counted(&s->auth_failures));
	st.proto_errors = htole64(counted(&s->proto_errors));
	server_fill_io(&st.donor, &s->io);
	if (c->region) {
		st.region_id = htole64(c->region->id);
		st.region_frames = htole64(c->region->nframes);
		server_fill_io(&st.region, &c->region->io);
	}
	/* each version gets exactly the reply it knows (a client checks the
	 * length): 208 bytes, + fence counters from 2, + key's from 3 */
	if (c->version >= RMEM_PROTO_VERSION_FENCE)
		len += sizeof(struct rmem_fence_stats);
	if (c->version >= RMEM_PROTO_VERSION_KEYID)
		len += sizeof(ks);
	r = conn_reply(c, RMEM_OK, len);
	memcpy(r->small, &st, sizeof(st));
	if (c->version >= RMEM_PROTO_VERSION_FENCE) {
		struct rmem_fence_stats fs = {
			.fenced = htole64(s->fenced),
			.fenced_bytes = htole64(s->fenced_bytes),
		};

		if (c->region) {
			fs.region_generation = htole64(c->region->generation);
			fs.region_fenced = htole64(c->region->fenced);
		}
		memcpy(r->small + sizeof(st), &fs, sizeof(fs));
	}
	if (c->version >= RMEM_PROTO_VERSION_KEYID)
		memcpy(r->small + sizeof(st) + sizeof(struct rmem_fence_stats),
		       &ks, sizeof(ks));
	r->small_len = len;
}

static void do_close(struct conn *c)
{
	if (c->region && (c->req.flags & RMEM_CLOSE_F_RELEASE)) {
		log_info("%s (%s): region %llu released", c->peer, c->name,
			 (unsigned long long)c->region->id);
		pthread_mutex_lock(&c->srv->lock);
		pool_region_release(&c->srv->pool, c->region);
		pthread_mutex_unlock(&c->srv->lock);
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
		COUNT(c, reads, 1);
		COUNT(c, bytes_out, (uint64_t)c->req.count * RMEM_FRAME_SIZE);
		break;
	case RMEM_OP_WRITE:
		COUNT(c, writes, 1);
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
		count(&s->io.bytes_in, c->req.len);
		count(&r->io.bytes_in, c->req.len);
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

/*
 * Append len bytes at base to iov[0, *n): one iovec with the last if
 * they follow it in memory (frames adjacent in the pool). False if a
 * new iovec is needed and max are in use.
 */
static bool iov_add(struct iovec *iov, int *n, int max, void *base,
		    size_t len)
{
	if (*n && (uint8_t *)iov[*n - 1].iov_base + iov[*n - 1].iov_len ==
		  (uint8_t *)base) {
		iov[*n - 1].iov_len += len;
		return true;
	}
	if (*n >= max)
		return false;
	iov[*n].iov_base = base;
	iov[(*n)++].iov_len = len;
	return true;
}

/* Where the rest of the payload goes: frames, the scratch buffer, or
 * the scratch buffer over and over for a refused request's bytes. */
static int conn_payload_iov(struct conn *c, struct iovec *iov, int max)
{
	int n = 0;

	if (c->req.op == RMEM_OP_WRITE && !c->in_status) {
		size_t off = c->pay_off;

		while (off < c->req.len) {
			uint64_t f = c->req.frame + off / RMEM_FRAME_SIZE;
			size_t in = off % RMEM_FRAME_SIZE;
			uint8_t *at = pool_frame(&c->srv->pool, c->region, f) + in;

			if (!iov_add(iov, &n, max, at, RMEM_FRAME_SIZE - in))
				break;
			off += RMEM_FRAME_SIZE - in;
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
			if (server_draining(s) && c->hdr_off == 0) {
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
		c->loop->restage = true;
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
		unsigned int i;
		int n = 0;
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
			for (f = 0; f < r->count; f++) {
				uint8_t *at;

				if (skip >= RMEM_FRAME_SIZE) {
					skip -= RMEM_FRAME_SIZE;
					continue;
				}
				at = pool_frame(p, c->region, r->frame + f) + skip;
				if (!iov_add(iov, &n, CONN_SEND_IOV, at,
					     RMEM_FRAME_SIZE - skip))
					break;
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
 * the error reply before the peer reads it. A peer that keeps sending
 * gets CONN_LINGER_RECVS reads a wake-up (the loop's other connections
 * take their turn) and CONN_LINGER_BYTES in all, then the close.
 */
static int conn_linger(struct conn *c)
{
	uint8_t sink[4096];
	unsigned int n;
	ssize_t got;

	if (!c->lingering) {
		c->lingering = true;
		c->closing_since = monotonic_sec();
		c->linger_bytes = 0;
		shutdown(c->fd, SHUT_WR);
	}
	for (n = 0; n < CONN_LINGER_RECVS; n++) {
		got = recv(c->fd, sink, sizeof(sink), 0);
		if (got > 0) {
			c->linger_bytes += (size_t)got;
			if (c->linger_bytes >= CONN_LINGER_BYTES)
				return -1;
			continue;
		}
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		return -1;
	}
	return 0;	/* more: epoll (level-triggered) brings us back */
}

static void conn_event(struct conn *c, uint32_t events)
{
	if (c->fenced || c->dead)
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
		/* fenced by another loop while its OPEN waited to fence */
		if (c->fenced)
			return;
	}
	if (conn_output(c) < 0) {
		conn_free(c);
		return;
	}
	/* a full queue just drained: take more requests now */
	if (!c->closing && c->oq_count < CONN_OUTQ && (events & EPOLLOUT)) {
		if (conn_input(c) < 0 || (!c->fenced && conn_output(c) < 0)) {
			conn_free(c);
			return;
		}
		if (c->fenced)
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
static void loop_restage(struct loop *l)
{
	struct conn *c, *next;

	l->restage = false;
	for (c = l->conns; c; c = next) {
		next = c->next;
		if (c->in_head < c->in_len && !c->closing && !c->lingering &&
		    !c->fenced && !c->dead && c->oq_count < CONN_OUTQ)
			conn_event(c, EPOLLIN);
	}
}

/* Free the connections ended or fenced in this round, now nothing
 * points at them. */
static void loop_reap(struct loop *l)
{
	struct conn *c, *next;

	l->reap = false;
	for (c = l->conns; c; c = next) {
		next = c->next;
		if (c->fenced || c->dead)
			conn_destroy(c);
	}
}

/* The live loop that owns the fewest connections; under s->lock. Loop 0
 * runs accept, so it is alive while anything is picked. */
static struct loop *server_pick_loop(struct server *s)
{
	struct loop *best = &s->loops[0];
	unsigned int i;

	for (i = 1; i < s->nloops; i++)
		if (!s->loops[i].failed && s->loops[i].load < best->load)
			best = &s->loops[i];
	return best;
}

/*
 * An accepted socket: admitted (max_startups, source_startups, the socket
 * budget) and handed to the loop that owns the fewest, or closed. fd is
 * ours from here on. The fuzzer (tests/fuzz/fuzz_conn.c) hands sockets of
 * its own in through here, as accept does.
 */
static void server_admit(struct server *s, int fd,
			 const struct sockaddr_storage *ss)
{
	struct conn *c;
	struct loop *l;
	char host[INET6_ADDRSTRLEN];
	uint8_t src[16] = { [10] = 0xff, [11] = 0xff };
	const char *why = NULL;
	unsigned int keepalive;
	int one = 1;
	uint16_t port;

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;

		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		port = ntohs(a->sin6_port);
		memcpy(src, &a->sin6_addr, 16);
	} else {
		const struct sockaddr_in *a = (const void *)ss;

		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		port = ntohs(a->sin_port);
		memcpy(src + 12, &a->sin_addr, 4);
	}
	/* admitted: counted now, so the next accept sees it */
	pthread_mutex_lock(&s->lock);
	if (s->nsockets >= s->cfg.max_clients + s->cfg.startups.full +
			   SERVER_EXTRA_SOCKETS)
		why = "too many connections";
	else if (startup_admit(s, src, &why))
		s->nsockets++;
	keepalive = s->cfg.keepalive;
	pthread_mutex_unlock(&s->lock);
	if (why) {
		/* a stranger may send these as fast as he likes:
		 * counted here, told once a second (server_tick) */
		if (!strcmp(why, "source_startups"))
			s->dropped_source++;
		else if (!strcmp(why, "max_startups"))
			s->dropped_startups++;
		else
			log_warn("%s:%u: dropped: %s", host, port, why);
		snprintf(s->dropped_last, sizeof(s->dropped_last), "%s", host);
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		log_err("out of memory for a connection");
		pthread_mutex_lock(&s->lock);
		s->nsockets--;
		startup_forget_locked(s, src);
		pthread_mutex_unlock(&s->lock);
		close(fd);
		return;
	}
	c->type = EV_CONN;
	c->srv = s;
	c->fd = fd;
	c->since = monotonic_sec();
	c->startup = true;
	memcpy(c->src, src, sizeof(src));
	snprintf(c->peer, sizeof(c->peer), "%s:%u", host, port);
	snprintf(c->name, sizeof(c->name), "-");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	conn_keepalive(fd, keepalive);
	pthread_mutex_lock(&s->lock);
	l = server_pick_loop(s);
	l->load++;
	c->loop = l;
	/* before c is published: from then on it is l's */
	log_debug("%s: connected (loop %u)", c->peer, l->index);
	c->next = l->incoming;
	l->incoming = c;
	pthread_mutex_unlock(&s->lock);
	loop_wake(l);
}

/*
 * Loop 0 accepts; the connection then belongs to the loop that owns the
 * fewest, which takes it from its incoming[] on its eventfd's wake-up.
 * Until then only s->lock guards it, and only server_close() (after
 * every loop ended) may free it there.
 */
static void server_accept(struct server *s)
{
	unsigned int n;

	/* a bounded number a wake-up: a flood of connects must not keep
	 * loop 0 (its connections, signals and the watchdog's tick) here;
	 * epoll is level-triggered and brings us back */
	for (n = 0; n < SERVER_ACCEPT_BUDGET; n++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd;

		fd = accept4(s->listen_fd, (struct sockaddr *)&ss, &sl,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/*
				 * The listening socket stays readable while
				 * the connection waits in the backlog: stop
				 * watching it until the next tick rather than
				 * spin. The peer waits; it is not dropped.
				 */
				struct epoll_event ev = { .events = 0,
							  .data.ptr = &ev_listen };

				log_warn("accept: %s; not accepting for a second",
					 strerror(errno));
				epoll_ctl(s->loops[0].epfd, EPOLL_CTL_MOD,
					  s->listen_fd, &ev);
				s->accept_paused = true;
			} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
				log_warn("accept: %s", strerror(errno));
			}
			return;
		}
		server_admit(s, fd, &ss);
	}
}

/*
 * After a reload (keyring generation gen): close the loop's connections
 * whose key is no longer accepted. server_load() wakes every loop for
 * it, so a revoked key is cut off at the reload, not at the next tick
 * (which runs it too, in case a wake-up was lost).
 */
static void loop_revoke(struct loop *l, unsigned int gen)
{
	struct server *s = l->srv;
	struct conn *c, *next;
	bool revoked;

	if (l->keys_gen == gen)
		return;
	l->keys_gen = gen;
	for (c = l->conns; c; c = next) {
		next = c->next;
		if (c->fenced || c->dead || c->state != CONN_READY ||
		    c->closing || c->keys_gen == gen)
			continue;
		/* is the key it proved still accepted? */
		pthread_mutex_lock(&s->lock);
		revoked = !poold_keyring_holds(&s->keys, c->ident, c->key_fp);
		c->keys_gen = s->keys_gen;
		pthread_mutex_unlock(&s->lock);
		if (revoked) {
			log_warn("%s (%s): its key %s was revoked by the reload; disconnecting",
				 c->peer, c->name,
				 c->ident[0] ? c->ident : "[auth]");
			conn_free(c);
		}
	}
}

/* Take the connections accept handed over; under exec's read side. */
static void loop_adopt(struct loop *l)
{
	struct server *s = l->srv;
	struct conn *c, *next;
	uint64_t n;
	unsigned int gen;

	if (read(l->wake_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("eventfd: %s", strerror(errno));
	pthread_mutex_lock(&s->lock);
	c = l->incoming;
	l->incoming = NULL;
	gen = s->keys_gen;
	pthread_mutex_unlock(&s->lock);
	/* woken by a reload too: first the connections it revoked */
	loop_revoke(l, gen);
	for (; c; c = next) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

		next = c->next;
		c->next = l->conns;
		c->prev = NULL;
		if (l->conns)
			l->conns->prev = c;
		l->conns = c;
		if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, c->fd, &ev)) {
			log_err("epoll_ctl: %s", strerror(errno));
			conn_free(c);
			continue;
		}
		c->events = EPOLLIN;
		/* accepted before the drain, taken after this loop's part */
		if (l->draining)
			conn_close_after_flush(c);
	}
}

/*
 * systemd (rmem-poold.service, Type=notify): READY=1 once the event loops
 * run, RELOADING=1 and READY=1 around a SIGHUP, STOPPING=1 when the
 * drain starts, and WATCHDOG=1 from loop 0's one-second tick while every
 * loop ticks too, so a loop that stops turning is killed and restarted
 * (WatchdogSec=). STATUS= says what is lent, for `systemctl status`.
 * Without NOTIFY_SOCKET (not started by systemd) every sd_notify is a
 * getenv and nothing else.
 */
static void server_notify_status(struct server *s, bool force)
{
	char status[sizeof(s->status)];
	uint64_t used, total;
	unsigned int nconns;

	pthread_mutex_lock(&s->lock);
	used = s->pool.nframes - s->pool.nfree;
	total = s->pool.nframes;
	nconns = s->nconns;
	pthread_mutex_unlock(&s->lock);
	snprintf(status, sizeof(status),
		 "%s%u clients, %llu of %llu MiB lent",
		 server_draining(s) ? "draining: " : "", nconns,
		 (unsigned long long)(used * RMEM_FRAME_SIZE >> 20),
		 (unsigned long long)(total * RMEM_FRAME_SIZE >> 20));
	if (!force && !strcmp(status, s->status))
		return;
	memcpy(s->status, status, sizeof(status));
	sd_notifyf(0, "STATUS=%s", status);
}

static void server_notify_ready(struct server *s)
{
	uint64_t usec = 0;

	s->stale_sec = SERVER_STALE_SEC;
	if (sd_watchdog_enabled(0, &usec) > 0) {
		s->watchdog = true;
		if (usec / 2000000 < s->stale_sec)
			s->stale_sec = usec / 2000000 ? (unsigned int)(usec / 2000000) : 1;
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
	/* static: the reload runs on loop 0 only, and a keyring is 80 KiB */
	static struct poold_keyring keys;
	char err[1024], restart[512];

	if (poold_config_load(s->config_path, &cfg, err, sizeof(err)) ||
	    poold_keyring_load(&cfg, s->start_dir, &keys, err, sizeof(err))) {
		log_err("reload: %s; keeping the running configuration", err);
		return;
	}
	if (server_check_fds(&cfg, s->nloops, err, sizeof(err))) {
		poold_keyring_clear(&keys);
		log_err("reload: %s; keeping the running configuration", err);
		return;
	}
	/* port = 0 took a free port: the same file is no change of it */
	if (cfg.port == s->port_conf)
		cfg.port = s->cfg.port;
	poold_config_restart_keys(&s->cfg, &cfg, restart, sizeof(restart));
	if (restart[0])
		log_warn("reload: %s changed; that takes a restart", restart);
	/* keep what needs a restart, take the rest; loops read it locked */
	pthread_mutex_lock(&s->lock);
	s->cfg.max_clients = cfg.max_clients;
	s->cfg.idle_timeout = cfg.idle_timeout;
	s->cfg.handshake_timeout = cfg.handshake_timeout;
	s->cfg.startups = cfg.startups;
	s->cfg.source_startups = cfg.source_startups;
	s->cfg.keepalive = cfg.keepalive;
	/* quotas were checked against the file's [pool] size: the running
	 * pool's is the one that counts */
	s->cfg.quota = cfg.quota > s->cfg.pool_size ? s->cfg.pool_size :
		       cfg.quota;
	for (unsigned int i = 0; i < keys.n; i++)
		if (keys.ids[i].quota_frames > s->pool.nframes)
			keys.ids[i].quota_frames = s->pool.nframes;
	memcpy(s->cfg.key_file, cfg.key_file, sizeof(cfg.key_file));
	memcpy(s->cfg.clients, cfg.clients, sizeof(cfg.clients));
	s->cfg.nclients = cfg.nclients;
	s->cfg.log_level = cfg.log_level;
	s->cfg.log_syslog = cfg.log_syslog;
	s->keys = keys;
	s->keys_gen++;
	pthread_mutex_unlock(&s->lock);
	/* each loop closes its connections of a dropped key now (loop_revoke) */
	for (unsigned int i = 0; i < s->nloops; i++)
		loop_wake(&s->loops[i]);
	poold_keyring_clear(&keys);
	poold_log_setup(s->cfg.log_level, s->cfg.log_syslog || s->background);
	log_info("configuration reloaded from %s (%u named key%s, max_clients %u, idle_timeout %us)",
		 s->config_path, s->cfg.nclients,
		 s->cfg.nclients == 1 ? "" : "s", s->cfg.max_clients,
		 s->cfg.idle_timeout);
}

/* A reload that fails keeps serving: READY=1 either way. */
static void server_reload(struct server *s)
{
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu", monotonic_usec());
	server_load(s);
	server_notify_status(s, true);
	sd_notify(0, "READY=1");
}

/* Loop 0, on SIGTERM or SIGINT: stop accepting, and tell every loop. */
static void server_start_drain(struct server *s)
{
	unsigned int i;

	if (server_draining(s))
		return;
	__atomic_store_n(&s->draining, true, __ATOMIC_RELEASE);
	pthread_mutex_lock(&s->lock);
	log_info("shutting down: draining %u connections", s->nsockets);
	pthread_mutex_unlock(&s->lock);
	sd_notify(0, "STOPPING=1");
	server_notify_status(s, true);
	if (s->listen_fd >= 0) {
		epoll_ctl(s->loops[0].epfd, EPOLL_CTL_DEL, s->listen_fd, NULL);
		close(s->listen_fd);
		s->listen_fd = -1;
	}
	for (i = 0; i < s->nloops; i++)
		loop_wake(&s->loops[i]);
}

/* A loop's part of the drain, once: close what is idle, flush the rest. */
static void loop_drain(struct loop *l)
{
	struct conn *c, *next;

	if (l->draining || !server_draining(l->srv))
		return;
	l->draining = true;
	l->drain_deadline = monotonic_sec() + SERVER_DRAIN_SEC;
	for (c = l->conns; c; c = next) {
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
		if (si.ssi_signo == SIGHUP && !server_draining(s))
			server_reload(s);
		else if (si.ssi_signo == SIGHUP)
			log_info("reload ignored: draining");
		else
			server_start_drain(s);
	}
}

/* Every loop, every second: its connections' timeouts. */
static void loop_tick(struct loop *l)
{
	struct server *s = l->srv;
	struct conn *c, *next;
	time_t now = monotonic_sec();
	unsigned int handshake, gen;
	uint64_t ticks;

	if (read(l->timer_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		log_warn("timerfd: %s", strerror(errno));
	__atomic_store_n(&l->beat, monotonic_sec(), __ATOMIC_RELAXED);
	pthread_mutex_lock(&s->lock);
	handshake = s->cfg.handshake_timeout;
	gen = s->keys_gen;
	pthread_mutex_unlock(&s->lock);
	loop_revoke(l, gen);
	for (c = l->conns; c; c = next) {
		next = c->next;
		if (c->fenced || c->dead)
			continue;	/* loop_reap's */
		if (c->state != CONN_READY && !c->closing &&
		    now - c->since >= (time_t)handshake) {
			log_warn("%s (%s): no authentication within %us; disconnecting",
				 c->peer, c->name, handshake);
			conn_free(c);
		} else if ((c->lingering || c->closing) &&
			   now - c->closing_since >= CONN_LINGER_SEC) {
			conn_free(c);
		} else if (l->draining && now >= l->drain_deadline) {
			log_warn("%s (%s): still busy at the drain deadline; closing",
				 c->peer, c->name);
			conn_free(c);
		}
	}
}

/*
 * Freed frames zeroed (pool.c), a batch at a time under s->lock, once a
 * second by loop 0 after its round: outside exec, so that a fence waiting
 * for the write side (which stops every loop's next round) never waits
 * for the scrub.
 */
static void server_scrub(struct server *s)
{
	unsigned int i;

	for (i = 0; i < POOL_SCRUB_FRAMES / POOL_SCRUB_BATCH; i++) {
		uint64_t n;

		pthread_mutex_lock(&s->lock);
		n = pool_scrub(&s->pool, POOL_SCRUB_BATCH);
		pthread_mutex_unlock(&s->lock);
		if (n < POOL_SCRUB_BATCH)
			break;
	}
}

/*
 * Loop 0's tick adds the server's: orphans, the watchdog, STATUS=. A
 * loop whose tick is more than stale_sec late (SERVER_STALE_SEC, or half
 * the watchdog's period if that is shorter) withholds the ping, so that
 * systemd's watchdog sees a loop that stopped as it would the daemon.
 */
static void server_tick(struct server *s)
{
	time_t now = monotonic_sec(), mono = now;
	unsigned int i, stale = s->nloops;

	pthread_mutex_lock(&s->lock);
	pool_expire(&s->pool, now, s->cfg.idle_timeout);
	if (s->dropped_startups || s->dropped_source)
		log_warn("dropped %llu connections before authentication in the last second (%llu over source_startups %u, %llu over max_startups %u:%u:%u; %u unauthenticated now), the last from %s",
			 (unsigned long long)(s->dropped_startups +
					      s->dropped_source),
			 (unsigned long long)s->dropped_source,
			 s->cfg.source_startups,
			 (unsigned long long)s->dropped_startups,
			 s->cfg.startups.begin, s->cfg.startups.rate,
			 s->cfg.startups.full, s->nstartups, s->dropped_last);
	pthread_mutex_unlock(&s->lock);
	s->dropped_startups = s->dropped_source = 0;
	if (s->accept_paused && s->listen_fd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN,
					  .data.ptr = &ev_listen };

		epoll_ctl(s->loops[0].epfd, EPOLL_CTL_MOD, s->listen_fd, &ev);
		s->accept_paused = false;
	}
	for (i = 0; i < s->nloops; i++) {
		time_t beat = __atomic_load_n(&s->loops[i].beat,
					      __ATOMIC_RELAXED);

		if (mono - beat > (time_t)s->stale_sec) {
			stale = i;
			break;
		}
	}
	if (stale < s->nloops && !s->stale_warned) {
		log_err("event loop %u has not ticked for %u s: no watchdog ping",
			stale, s->stale_sec);
		s->stale_warned = true;
	} else if (stale == s->nloops) {
		s->stale_warned = false;
	}
	if (s->watchdog && stale == s->nloops)
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

	/* first: a configuration that cannot work stops before the pool */
	ret = server_check_fds(&s->cfg, server_threads(&s->cfg), err, errlen);
	if (ret)
		return ret;

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
	s->port_conf = s->cfg.port;
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

unsigned int server_threads(const struct poold_config *cfg)
{
	long cpus;

	if (cfg->threads)
		return cfg->threads;
	/*
	 * Half the CPUs: a donor lends memory, and its CPUs have their own
	 * work. On 2 CPUs one loop measured faster than two (bench/README:
	 * the second loop competes with everything else for the other CPU,
	 * and a multi-threaded process pays more per system call).
	 */
	cpus = sysconf(_SC_NPROCESSORS_ONLN) / 2;
	if (cpus < 1)
		return 1;
	return cpus > POOLD_AUTO_THREADS ? POOLD_AUTO_THREADS :
	       (unsigned int)cpus;
}

/* One loop's epoll set, timer and eventfd; -1 with errno on failure. */
static int loop_init(struct server *s, struct loop *l, unsigned int index)
{
	struct itimerspec its = {
		.it_interval = { .tv_sec = 1 },
		.it_value = { .tv_sec = 1 },
	};
	struct epoll_event ev = { .events = EPOLLIN };

	l->srv = s;
	l->index = index;
	l->beat = monotonic_sec();
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	l->timer_fd = timerfd_create(CLOCK_MONOTONIC,
				     TFD_NONBLOCK | TFD_CLOEXEC);
	if (l->epfd < 0 || l->wake_fd < 0 || l->timer_fd < 0 ||
	    timerfd_settime(l->timer_fd, 0, &its, NULL))
		return -1;
	ev.data.ptr = &ev_wake;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wake_fd, &ev))
		return -1;
	ev.data.ptr = &ev_timer;
	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->timer_fd, &ev);
}

static bool loop_done(struct loop *l)
{
	bool incoming;

	if (!l->draining || l->conns)
		return false;
	pthread_mutex_lock(&l->srv->lock);
	incoming = l->incoming != NULL;
	pthread_mutex_unlock(&l->srv->lock);
	return !incoming;
}

/*
 * One round: wait up to timeout ms (-1: until something happens; 0 when
 * connections wait in their stage), then serve what epoll brought. The
 * number of events, 0, or -1 if epoll_wait failed. loop_run() turns it;
 * the fuzzer (tests/fuzz/fuzz_conn.c) turns it with timeout 0.
 */
static int loop_round(struct loop *l, int timeout)
{
	struct server *s = l->srv;
	struct epoll_event events[64];
	bool scrub = false;
	int i, n;

	n = epoll_wait(l->epfd, events, 64, l->restage ? 0 : timeout);
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		log_err("epoll_wait: %s", strerror(errno));
		return -1;
	}
	exec_read_lock(s);
	/*
	 * Last round's budget-bound connections first. A round is
	 * what one hold of exec covers, so a fence waits for at most
	 * one budget per connection.
	 */
	if (l->restage)
		loop_restage(l);
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
		case EV_WAKE:
			loop_adopt(l);
			break;
		case EV_TIMER:
			loop_tick(l);
			if (l->index == 0) {
				server_tick(s);
				scrub = true;
			}
			break;
		case EV_CONN:
			conn_event((struct conn *)t, events[i].events);
			break;
		}
	}
	loop_drain(l);
	if (l->reap)
		loop_reap(l);
	exec_read_unlock(s);
	if (scrub)
		server_scrub(s);
	return n;
}

/*
 * One loop's life. Everything it does to its connections is under exec's
 * read side, taken once a round; between rounds (in epoll_wait) a fence
 * may take the write side and shut any of them.
 */
static int loop_run(struct loop *l)
{
	while (!loop_done(l))
		if (loop_round(l, -1) < 0)
			return -1;
	return 0;
}

/*
 * A loop that stopped (epoll_wait failed) takes no more connections and
 * drains the server: loop 0 turns a SIGTERM into the drain, and its own
 * failure starts it directly. Its connections are freed at the end.
 */
static void loop_failed(struct loop *l)
{
	struct server *s = l->srv;

	log_err("event loop %u stopped; shutting down", l->index);
	pthread_mutex_lock(&s->lock);
	l->failed = true;
	pthread_mutex_unlock(&s->lock);
	if (l->index)
		kill(getpid(), SIGTERM);
	else
		server_start_drain(s);
}

static void *loop_thread(void *arg)
{
	struct loop *l = arg;

	if (loop_run(l))
		loop_failed(l);
	return NULL;
}

/* Wait for the loops' threads: after a failed start, or at the end. */
static void server_join(struct server *s)
{
	unsigned int i;

	for (i = 1; i < s->nloops; i++) {
		if (!s->loops[i].started)
			continue;
		pthread_join(s->loops[i].thread, NULL);
		s->loops[i].started = false;
	}
}

int server_start(struct server *s, char *err, size_t errlen)
{
	struct epoll_event ev = { .events = EPOLLIN };
	pthread_rwlockattr_t ra;
	pthread_attr_t ta;
	sigset_t mask;
	unsigned int i;

	s->start = monotonic_sec();
	/* a fence must not wait behind a stream of rounds */
	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setkind_np(&ra,
		PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&s->exec, &ra);
	pthread_rwlockattr_destroy(&ra);
	pthread_mutex_init(&s->lock, NULL);
	s->nloops = server_threads(&s->cfg);
	/* unguessable, so that no one can time connects into the kept ones */
	if (rmem_random(&s->drop_rand, sizeof(s->drop_rand)) || !s->drop_rand)
		s->drop_rand = (uint32_t)getpid() * 2654435761u | 1;
	/* as long as every key the donor keeps, so its MAC costs the same */
	s->decoy.len = POOLD_KEY_BLOCK;
	if (rmem_random(s->decoy.bytes, s->decoy.len)) {
		snprintf(err, errlen, "no random bytes for the decoy key");
		return -EIO;
	}
	s->loops = calloc(s->nloops, sizeof(*s->loops));
	if (!s->loops) {
		snprintf(err, errlen, "out of memory for %u event loops",
			 s->nloops);
		s->nloops = 0;
		return -ENOMEM;
	}
	for (i = 0; i < s->nloops; i++)
		s->loops[i].epfd = s->loops[i].wake_fd =
			s->loops[i].timer_fd = -1;
	/* blocked here, so in every thread: only loop 0's signalfd takes them */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	s->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	for (i = 0; i < s->nloops; i++)
		if (loop_init(s, &s->loops[i], i))
			break;
	ev.data.ptr = &ev_listen;
	if (i < s->nloops || s->signal_fd < 0 ||
	    epoll_ctl(s->loops[0].epfd, EPOLL_CTL_ADD, s->listen_fd, &ev)) {
		snprintf(err, errlen, "event loop set-up: %s", strerror(errno));
		return -errno;
	}
	ev.data.ptr = &ev_signal;
	epoll_ctl(s->loops[0].epfd, EPOLL_CTL_ADD, s->signal_fd, &ev);

	/*
	 * The threads inherit what the main thread has: the blocked signals,
	 * and protect_swap_path()'s I/O-flusher flag (PR_SET_IO_FLUSHER is a
	 * thread's), so main calls this after it. With [pool] lock, every
	 * stack is locked too: keep them small.
	 */
	pthread_attr_init(&ta);
	pthread_attr_setstacksize(&ta, LOOP_STACK);
	for (i = 1; i < s->nloops; i++) {
		int ret = pthread_create(&s->loops[i].thread, &ta, loop_thread,
					 &s->loops[i]);

		if (ret) {
			snprintf(err, errlen, "event loop %u of %u: %s", i,
				 s->nloops, strerror(ret));
			pthread_attr_destroy(&ta);
			/* the ones started see the drain and end */
			__atomic_store_n(&s->draining, true, __ATOMIC_RELEASE);
			while (i-- > 1)
				loop_wake(&s->loops[i]);
			server_join(s);
			return -ret;
		}
		s->loops[i].started = true;
	}
	pthread_attr_destroy(&ta);
	return 0;
}

int server_run(struct server *s)
{
	unsigned int i;
	int ret = 0;

	log_info("serving %llu frames (%llu MiB%s%s) on %s port %u; quota %llu frames, %u named key%s, at most %u clients, %u event loop%s",
		 (unsigned long long)s->pool.nframes,
		 (unsigned long long)(s->pool.nframes * RMEM_FRAME_SIZE >> 20),
		 s->pool.huge ? ", huge pages" : "",
		 s->locked ? ", locked" : "", s->cfg.listen, s->cfg.port,
		 (unsigned long long)(s->cfg.quota / RMEM_FRAME_SIZE),
		 s->cfg.nclients, s->cfg.nclients == 1 ? "" : "s",
		 s->cfg.max_clients, s->nloops, s->nloops == 1 ? "" : "s");
	server_notify_ready(s);
	if (loop_run(&s->loops[0])) {
		loop_failed(&s->loops[0]);
		/* the others drain; loop 0 can serve nothing more */
	}
	server_join(s);
	for (i = 0; i < s->nloops; i++)
		if (s->loops[i].failed)
			ret = -1;
	if (!ret)
		log_info("drained; exiting");
	return ret;
}

/* After every loop ended (or before any ran). */
void server_close(struct server *s)
{
	unsigned int i;

	for (i = 0; i < s->nloops; i++) {
		struct loop *l = &s->loops[i];

		while (l->conns) {
			conn_shut(l->conns);
			conn_destroy(l->conns);
		}
		while (l->incoming) {
			struct conn *c = l->incoming;

			l->incoming = c->next;
			c->next = c->prev = NULL;
			l->conns = c;
			conn_shut(c);
			conn_destroy(c);
		}
		if (l->epfd >= 0)
			close(l->epfd);
		if (l->wake_fd >= 0)
			close(l->wake_fd);
		if (l->timer_fd >= 0)
			close(l->timer_fd);
	}
	free(s->loops);
	s->loops = NULL;
	s->nloops = 0;
	free(s->srcs);
	s->srcs = NULL;
	free(s->trusted);
	s->trusted = NULL;
	s->ntrusted = 0;
	s->nsrcs = s->srcs_cap = 0;
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->signal_fd >= 0)
		close(s->signal_fd);
	pool_destroy(&s->pool);
	poold_keyring_clear(&s->keys);
}

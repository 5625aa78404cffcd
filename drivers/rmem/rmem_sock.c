// SPDX-License-Identifier: GPL-2.0
/*
 * rmem's transport: one TCP socket per hardware queue, handed over by
 * rmemctl already connected and authenticated. Requests and control
 * messages go on a per-socket send list and out in that order; the
 * receive worker matches each reply to its request by tag and
 * per-dispatch cookie; a socket that fails is killed and released, and
 * its requests wait for a reconnect (RECONFIGURE) or fail after the
 * device's dead_timeout.
 *
 * Sending. queue_rq never waits on a socket: it runs in whatever task
 * submitted the I/O (a faulting task, one in direct reclaim, one being
 * killed), and a send that waited for buffer space there would see that
 * task's signal (-ERESTARTSYS) and mistake it for a broken stream. So,
 * as nvme-tcp does, queue_rq puts the request on rs->send_list and sends
 * only when it can take the send right (tx_lock) without sleeping, and
 * then with MSG_DONTWAIT; what does not fit in the socket's buffer is
 * sent by rs->send_work (a kworker: no signals) when sk_write_space says
 * there is room, resumed at the exact byte it stopped at (tx_part and
 * tx_off: the head of the list is the only item ever partly sent). A
 * PATCH's lines and a WRITE's pages are sent from the request's pages,
 * which are stable while it is in flight.
 *
 * Who owns a request (rmem_pdu.state), and so who may requeue or
 * complete it. Every change of owner happens under rs->lock, the lock
 * the release path holds when it takes requests back, so exactly one
 * party acts on a request:
 *
 *   IDLE     blk-mq's, before queue_rq and once it is being completed
 *            or requeued.
 *   QUEUED   on rs->send_list, no byte of this dispatch sent; if the
 *            socket dies it stays there, parked, and goes out on the
 *            next one; rmem_dead_work fails it after dead_timeout.
 *   SENDING  the head of rs->send_list, being sent on socket generation
 *            pdu->gen by the holder of tx_lock. If every part is
 *            answered meanwhile, the receive worker only marks it
 *            answered and the sender finishes it.
 *   SENT     on rs->sent_list: all of it sent on generation pdu->gen;
 *            the receive worker of that generation completes it (or
 *            requeues a PATCH refused for a MISMATCH).
 *
 * When a socket fails, its release (in the receive worker, holding
 * tx_lock and then rs->lock) requeues every SENDING and SENT request
 * through blk-mq (they go out again, mapped afresh, with a new cookie),
 * leaves QUEUED ones parked and drops control messages. Each socket
 * has a generation, bumped when one is installed; a kill names the
 * generation it saw (a timed-out request's, a failed send's) and does
 * nothing to a newer socket. Replies are accepted only for a SENDING or
 * SENT request of the receiving socket's generation whose cookie and
 * part match: never one answered, requeued or completed already.
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
#include "rmem_proto.h"

/* Items one send slice takes from a send list before it lets others run. */
#define RMEM_TX_BUDGET		16
/* A request waiting this many timeouts drops its socket, moving or not. */
#define RMEM_STUCK_TIMEOUTS	10
/* A send that failed for want of memory is tried again after this. */
#define RMEM_TX_RETRY		(HZ / 50 ?: 1)

/* ---- sockets ------------------------------------------------------- */

/* Move all of iter over the socket, either way, never into reclaim. */
static int rmem_sock_io(struct socket *sock, struct iov_iter *iter, int flags,
			bool send)
{
	unsigned int noreclaim = memalloc_noreclaim_save();
	int ret = 0;

	while (iov_iter_count(iter)) {
		struct msghdr msg = {
			.msg_flags = flags | MSG_NOSIGNAL,
			.msg_iter = *iter,
		};
		int n = send ? sock_sendmsg(sock, &msg) :
			       sock_recvmsg(sock, &msg, MSG_WAITALL);

		if (n <= 0) {
			ret = n ? n : send ? -EPIPE : -ECONNRESET;
			break;
		}
		iov_iter_advance(iter, n);
	}
	memalloc_noreclaim_restore(noreclaim);
	return ret;
}

static int rmem_recv(struct socket *sock, struct iov_iter *iter)
{
	return rmem_sock_io(sock, iter, 0, false);
}

static int rmem_recv_buf(struct socket *sock, void *buf, size_t len)
{
	struct kvec kv = { .iov_base = buf, .iov_len = len };
	struct iov_iter iter;

	iov_iter_kvec(&iter, READ, &kv, 1, len);
	return rmem_recv(sock, &iter);
}

/*
 * Call fn on each piece of bytes [off, off + len) of a request's data, in
 * order; last is set on the piece that ends the range. Stops at the
 * first nonzero return.
 */
static int rmem_rq_pieces(struct request *rq, u32 off, u32 len,
			  int (*fn)(void *arg, struct bio_vec *piece, bool last),
			  void *arg)
{
	struct req_iterator it;
	struct bio_vec bv;
	u32 pos = 0, end = off + len;
	int ret;

	rq_for_each_segment(bv, rq, it) {
		u32 s = max(off, pos), e = min(end, pos + bv.bv_len);

		if (s < e) {
			struct bio_vec piece = {
				.bv_page = bv.bv_page,
				.bv_offset = bv.bv_offset + (s - pos),
				.bv_len = e - s,
			};

			ret = fn(arg, &piece, e == end);
			if (ret)
				return ret;
		}
		pos += bv.bv_len;
		if (pos >= end)
			break;
	}
	return 0;
}

struct rmem_rq_data_arg {
	struct socket *sock;
	bool send;
	int flags;
};

static int rmem_rq_data_piece(void *arg, struct bio_vec *piece, bool last)
{
	struct rmem_rq_data_arg *a = arg;
	struct iov_iter iter;

	if (!a->sock) {
		memzero_page(piece->bv_page, piece->bv_offset, piece->bv_len);
		return 0;
	}
	iov_iter_bvec(&iter, a->send ? WRITE : READ, piece, 1, piece->bv_len);
	return rmem_sock_io(a->sock, &iter, last ? a->flags : MSG_MORE, a->send);
}

/*
 * Bytes [off, off + len) of a request's data: sent, blocking (flags on
 * the last piece), received, or zeroed (sock NULL). Requests are sent
 * from their send list instead (rmem_tx_slice).
 */
int rmem_rq_data(struct socket *sock, struct request *rq, u32 off,
		 u32 len, bool send, int flags)
{
	struct rmem_rq_data_arg a = { .sock = sock, .send = send, .flags = flags };

	return rmem_rq_pieces(rq, off, len, rmem_rq_data_piece, &a);
}

/* ---- killing and releasing a socket --------------------------------- */

/*
 * Stop using the queue's socket if it is still generation gen: shut it
 * down so sender and receiver both fail at once. Callable from any
 * process context (it may sleep, as nbd's timeout handler does); the
 * receive worker then finishes the job (rmem_sock_release). A kill that
 * names an older generation is too late and does nothing.
 */
static void __rmem_sock_kill(struct rmem_sock *rs, u32 gen, bool any)
{
	struct socket *sock = NULL;

	spin_lock(&rs->lock);
	if (rs->sock && !rs->dead && (any || rs->gen == gen)) {
		rs->dead = true;
		rs->dead_since = jiffies;
		/* shut down outside the lock: it takes the socket's lock,
		 * which sleeps while the receive worker holds it */
		sock = rs->sock;
		get_file(sock->file);
	}
	spin_unlock(&rs->lock);
	if (sock) {
		kernel_sock_shutdown(sock, SHUT_RDWR);
		fput(sock->file);
	}
}

void rmem_sock_kill(struct rmem_sock *rs, u32 gen)
{
	__rmem_sock_kill(rs, gen, false);
}

/* A request of this queue leaves the driver with an I/O error. */
static void rmem_fail_rq(struct request *rq)
{
	struct rmem_pdu *pdu = blk_mq_rq_to_pdu(rq);

	pdu->status = BLK_STS_IOERR;
	blk_mq_complete_request(rq);
}

/*
 * In the receive worker, once the socket failed: wait for the sender to
 * let go, take back what the socket owned (see the top of this file),
 * drop the socket and tell userspace. Only this worker uses the socket
 * for receiving, so only it may put it.
 */
static void rmem_sock_release(struct rmem_sock *rs, int err)
{
	struct rmem_dev *dev = rs->dev;
	struct rmem_tx_item *item, *next;
	LIST_HEAD(requeue);
	LIST_HEAD(dropped);
	struct socket *sock;

	__rmem_sock_kill(rs, 0, true);
	mutex_lock(&rs->tx_lock);
	spin_lock(&rs->lock);
	sock = rs->sock;
	rs->sock = NULL;
	/* before any frame turns held below: see rmem_discard_work */
	WRITE_ONCE(rs->unfenced, true);
	rs->tx_part = 0;
	rs->tx_off = 0;
	list_for_each_entry_safe(item, next, &rs->send_list, entry) {
		struct rmem_pdu *pdu;

		if (item->ctrl) {
			list_move_tail(&item->entry, &dropped);
			continue;
		}
		pdu = container_of(item, struct rmem_pdu, tx);
		if (pdu->state == RMEM_RQ_SENDING) {
			/* part of it may be on the donor: it goes again */
			pdu->state = RMEM_RQ_IDLE;
			pdu->queue = -1;
			list_move_tail(&item->entry, &requeue);
		}
		/* QUEUED: parked for the next socket */
	}
	list_for_each_entry(item, &rs->sent_list, entry) {
		struct rmem_pdu *pdu = container_of(item, struct rmem_pdu, tx);

		pdu->state = RMEM_RQ_IDLE;
		pdu->queue = -1;
	}
	list_splice_tail_init(&rs->sent_list, &requeue);
	spin_unlock(&rs->lock);
	mutex_unlock(&rs->tx_lock);

	if (sock) {
		struct sock *sk = sock->sk;

		write_lock_bh(&sk->sk_callback_lock);
		if (sk->sk_user_data == rs) {	/* never undo another's hook */
			sk->sk_user_data = NULL;
			sk->sk_write_space = rs->saved_write_space;
		}
		write_unlock_bh(&sk->sk_callback_lock);
	}
	/* ours alone now: nothing else can reach them off the lists */
	list_for_each_entry_safe(item, next, &dropped, entry) {
		struct rmem_ctrl *ctrl = container_of(item, struct rmem_ctrl, tx);
		struct completion *done = ctrl->done;

		list_del_init(&item->entry);
		ctrl->status = -ENOTCONN;
		if (done)
			complete(done);
	}
	list_for_each_entry_safe(item, next, &requeue, entry) {
		struct request *rq = blk_mq_rq_from_pdu(container_of(item,
						struct rmem_pdu, tx));

		list_del_init(&item->entry);
		/* frame life cycle: the donor may still execute what this
		 * socket carried, so a write's frames are held */
		rmem_rq_frames_end(dev, rq, true);
		blk_mq_requeue_request(rq, false);
	}
	blk_mq_kick_requeue_list(dev->disk->queue);
	rmem_discard_lost(rs);
	if (sock) {
		/*
		 * A lost socket's unsent bytes must not trickle to the donor
		 * after we gave up on it: with no linger, its last put resets
		 * the connection and drops them (the donor's fence is what
		 * guarantees that nothing stale is executed; this only makes
		 * it rarer that it has to). At removal the CLOSE that
		 * releases the region may still be in the buffer: it goes.
		 */
		if (!READ_ONCE(dev->removing))
			sock_no_linger(sock->sk);
		sockfd_put(sock);
	}
	/* parked requests fail if no socket comes in time */
	mod_delayed_work(rmem_send_wq, &rs->dead_work,
			 READ_ONCE(dev->removing) ? 0 : READ_ONCE(dev->dead_timeout));
	if (!READ_ONCE(dev->removing)) {
		dev_warn(disk_to_dev(dev->disk),
			 "queue %u lost donor %s (%d); I/O waits %u s for a reconnect\n",
			 rs->index, dev->donor, err,
			 jiffies_to_msecs(dev->dead_timeout) / 1000);
		rmem_link_dead_event(dev, rs->index);
	}
}

/* I/O of this queue fails: no socket came within dead_timeout. */
static void rmem_expired_err(struct rmem_sock *rs)
{
	struct rmem_dev *dev = rs->dev;

	dev_err_ratelimited(disk_to_dev(dev->disk),
			    "queue %u: no connection to %s for %u s: I/O fails\n",
			    rs->index, dev->donor,
			    jiffies_to_msecs(READ_ONCE(dev->dead_timeout)) / 1000);
}

/*
 * dead_timeout after a socket was lost (at once when the device goes):
 * if no new one came, the requests parked for it fail, and so will new
 * ones until one comes. Never a wait whose length can go negative: the
 * deadline is rechecked with time_before and the rest rescheduled.
 */
static void rmem_dead_work(struct work_struct *work)
{
	struct rmem_sock *rs = container_of(to_delayed_work(work),
					    struct rmem_sock, dead_work);
	struct rmem_dev *dev = rs->dev;
	struct rmem_tx_item *item, *next;
	bool removing = READ_ONCE(dev->removing);
	LIST_HEAD(failed);

	spin_lock(&rs->lock);
	if (rs->sock) {			/* a new socket took over, or the
					 * old one is not released yet */
		spin_unlock(&rs->lock);
		return;
	}
	if (!removing) {
		unsigned long deadline = rs->dead_since + READ_ONCE(dev->dead_timeout);

		if (time_before(jiffies, deadline)) {
			mod_delayed_work(rmem_send_wq, &rs->dead_work, deadline - jiffies);
			spin_unlock(&rs->lock);
			return;
		}
	}
	rs->expired = true;
	list_for_each_entry_safe(item, next, &rs->send_list, entry) {
		struct rmem_pdu *pdu;

		if (WARN_ON_ONCE(item->ctrl))	/* never queued while dead */
			continue;
		pdu = container_of(item, struct rmem_pdu, tx);
		pdu->state = RMEM_RQ_IDLE;
		pdu->queue = -1;
		list_move_tail(&item->entry, &failed);
	}
	spin_unlock(&rs->lock);
	if (!list_empty(&failed) && !removing)
		rmem_expired_err(rs);
	list_for_each_entry_safe(item, next, &failed, entry) {
		struct request *rq = blk_mq_rq_from_pdu(container_of(item,
						struct rmem_pdu, tx));

		list_del_init(&item->entry);
		rmem_rq_frames_end(dev, rq, false);	/* never sent */
		rmem_fail_rq(rq);
	}
}

/* The device is going: what waits for a socket fails now. */
void rmem_fail_parked(struct rmem_dev *dev)
{
	unsigned int i;

	for (i = 0; i < dev->nsock; i++)
		mod_delayed_work(rmem_send_wq, &dev->socks[i].dead_work, 0);
}

/* ---- the receive side ---------------------------------------------- */

/*
 * Every part of a request is answered, and the caller took it from its
 * socket (state IDLE): complete it, or, a write the donor refused part
 * of as a MISMATCH, send it again in full first.
 */
static void rmem_rq_answered(struct rmem_dev *dev, struct request *rq)
{
	struct rmem_pdu *pdu = blk_mq_rq_to_pdu(rq);

	bool again = req_op(rq) == REQ_OP_WRITE &&
		     (pdu->status != BLK_STS_OK || pdu->mismatch);

	/* the table forgets what a failed or refused write's frames hold
	 * before they are free to be bases or another slot's */
	if (again)
		rmem_forget_frames(dev, pdu, pdu->nslots);
	/* frame life cycle: every part answered, nothing of this dispatch
	 * can still execute: its frames may be reused */
	rmem_rq_frames_end(dev, rq, false);
	pdu->queue = -1;
	if (again) {
		if (pdu->status == BLK_STS_OK) {
			/* acknowledged only once the donor has it all */
			pdu->no_delta = true;
			blk_mq_requeue_request(rq, true);
			return;
		}
	}
	if (req_op(rq) == REQ_OP_READ && pdu->reread &&
	    pdu->status == BLK_STS_OK) {
		/* a page failed its checksum: read it all again */
		pdu->rereads++;
		rmem_count(dev, read_rereads, 1);
		blk_mq_requeue_request(rq, true);
		return;
	}
	/* (no blk_should_fake_timeout: an IDLE request's timeout would
	 * find nothing to kill, and it would never complete) */
	blk_mq_complete_request(rq);
}

/* One reply: 0, or -errno to give up on the socket. */
static int rmem_recv_one(struct rmem_sock *rs, struct socket *sock)
{
	struct rmem_dev *dev = rs->dev;
	struct rmem_reply_hdr hdr;
	struct rmem_reply reply;
	struct request *rq;
	struct rmem_pdu *pdu;
	u32 unique, hwq, tag, part, first, count;
	bool ok, mine;
	u16 op;
	int ret;

	ret = rmem_recv_buf(sock, &hdr, sizeof(hdr));
	if (ret)
		return ret;
	WRITE_ONCE(rs->progress, jiffies);
	if (rmem_reply_decode(&hdr, &reply)) {
		dev_err_ratelimited(disk_to_dev(dev->disk), "malformed reply from the donor\n");
		return -EPROTO;
	}
	unique = (u32)reply.tag;
	if (unique == RMEM_DISCARD_TAG)
		return rmem_discard_reply(rs, &reply);
	if (unique == RMEM_CLOSE_TAG && READ_ONCE(dev->removing))
		return -ESHUTDOWN;	/* the donor let the region go */
	part = (reply.tag >> 32) & 0xff;
	hwq = blk_mq_unique_tag_to_hwq(unique);
	tag = blk_mq_unique_tag_to_tag(unique);
	rq = hwq == rs->index ? blk_mq_tag_to_rq(dev->tag_set.tags[hwq], tag) : NULL;
	pdu = rq ? blk_mq_rq_to_pdu(rq) : NULL;
	/* only the dispatch on this socket that sent this part: its owner
	 * cannot change under us, as only this worker takes it from
	 * SENDING or SENT (the release runs here too) */
	spin_lock(&rs->lock);
	ok = pdu && blk_mq_request_started(rq) && pdu->queue == (int)rs->index &&
	     (pdu->state == RMEM_RQ_SENDING || pdu->state == RMEM_RQ_SENT) &&
	     pdu->gen == rs->gen && (pdu->cookie & 0xffffff) == reply.tag >> 40 &&
	     part < 64 && (pdu->parts & 1ull << part);
	spin_unlock(&rs->lock);
	if (!ok) {
		dev_err_ratelimited(disk_to_dev(dev->disk),
				    "reply for a request not in flight (tag %#llx)\n",
				    reply.tag);
		return -EPROTO;
	}
	op = pdu->op;
	if (!rmem_pdu_part(pdu, part, &first, &count))
		return -EPROTO;		/* cannot be: the bit was set */
	if (op == RMEM_OP_WRITE && pdu->patch >> first & 1)
		op = RMEM_OP_PATCH;
	if (rmem_reply_check(&reply, op,
			     op == RMEM_OP_READ ? count * RMEM_FRAME_SIZE : 0)) {
		dev_err_ratelimited(disk_to_dev(dev->disk),
				    "%s reply of %u bytes, status %u\n",
				    rmem_op_name(op), reply.len, reply.status);
		return -EPROTO;
	}
	if (reply.status == RMEM_E_MISMATCH && op == RMEM_OP_PATCH) {
		/* a fingerprint collision hid a changed line: the frame is
		 * as it was, and the request goes again in full */
		pdu->mismatch = true;
		rmem_count(dev, delta_mismatches, 1);
	} else if (reply.status != RMEM_OK) {
		dev_err_ratelimited(disk_to_dev(dev->disk),
				    "%s of %u bytes at sector %llu: %s (%s)\n",
				    rmem_op_name(op), blk_rq_bytes(rq),
				    (unsigned long long)blk_rq_pos(rq),
				    rmem_status_str(reply.status),
				    rmem_status_name(reply.status));
		pdu->status = BLK_STS_IOERR;
	} else if (op == RMEM_OP_READ) {
		ret = rmem_rq_data(sock, rq, first * RMEM_FRAME_SIZE,
				   count * RMEM_FRAME_SIZE, false, 0);
		if (ret)
			return ret;	/* requeued with the rest */
		rmem_read_done(dev, rq, pdu, first, count);
	}
	rmem_count(dev, bytes_in, sizeof(hdr) + reply.len);
	pdu->parts &= ~(1ull << part);
	if (!pdu->parts) {
		spin_lock(&rs->lock);
		mine = pdu->state == RMEM_RQ_SENT;
		if (mine) {
			list_del_init(&pdu->tx.entry);
			pdu->state = RMEM_RQ_IDLE;
		} else {
			pdu->answered = true;	/* its sender finishes it */
		}
		spin_unlock(&rs->lock);
		if (mine)
			rmem_rq_answered(dev, rq);
	}
	if (rmem_status_fatal(reply.status) && reply.status != RMEM_OK)
		return -rmem_status_errno(reply.status);
	return 0;
}

static void rmem_recv_work(struct work_struct *work)
{
	struct rmem_sock *rs = container_of(work, struct rmem_sock, recv_work);
	struct socket *sock;
	int ret;

	spin_lock(&rs->lock);
	sock = rs->sock;
	spin_unlock(&rs->lock);
	if (!sock)
		return;
	do {
		ret = rmem_recv_one(rs, sock);
	} while (!ret);
	rmem_sock_release(rs, ret);
}

/* ---- the send side --------------------------------------------------- */

/*
 * Send what of bytes [pos, pos + len) of the head's current message
 * (iter holds them) is not on the wire yet, never waiting: -EAGAIN when
 * the socket's buffer is full, and sk_write_space brings us back.
 */
static int rmem_tx_iter(struct rmem_sock *rs, struct socket *sock,
			struct iov_iter *iter, u32 pos, int flags)
{
	size_t len = iov_iter_count(iter);

	lockdep_assert_held(&rs->tx_lock);
	if (rs->tx_off >= pos + len)
		return 0;		/* sent by an earlier slice */
	iov_iter_advance(iter, rs->tx_off - pos);
	while (iov_iter_count(iter)) {
		struct msghdr msg = {
			.msg_flags = flags | MSG_DONTWAIT | MSG_NOSIGNAL,
			.msg_iter = *iter,
		};
		int n = sock_sendmsg(sock, &msg);

		/* a send that does not wait sees no signal on TCP, but a
		 * layer below may (kTLS takes its lock interruptibly): not
		 * the stream's fault, and the send work goes on */
		if (n == -ERESTARTSYS || n == -EINTR)
			return -EINTR;
		if (n == -EAGAIN)
			return -EAGAIN;
		if (n <= 0)
			return n ? n : -EPIPE;
		iov_iter_advance(iter, n);
		rs->tx_off += n;
		WRITE_ONCE(rs->progress, jiffies);
	}
	return 0;
}

/*
 * A message going out: its pieces are batched in rs->tx_bv and sent by
 * one sendmsg when the batch is full and at the end, so that a request
 * of one part (a swap page: its header and its page; a PATCH: its
 * headers and every run of lines) takes one call into TCP.
 */
struct rmem_tx_arg {
	struct rmem_sock *rs;
	struct socket *sock;
	u32 pos;			/* of the batch in the message */
	u32 len;			/* bytes batched */
	unsigned int n;			/* pieces batched */
};

/* Send the batch; more: the message goes on after it. */
static int rmem_tx_flush(struct rmem_tx_arg *a, bool more)
{
	struct iov_iter iter;
	int ret;

	if (!a->n)
		return 0;
	iov_iter_bvec(&iter, WRITE, a->rs->tx_bv, a->n, a->len);
	ret = rmem_tx_iter(a->rs, a->sock, &iter, a->pos, more ? MSG_MORE : 0);
	a->pos += a->len;
	a->len = 0;
	a->n = 0;
	return ret;
}

static int rmem_tx_add(struct rmem_tx_arg *a, struct page *page, u32 off, u32 len)
{
	if (a->n == RMEM_TX_BVECS) {
		int ret = rmem_tx_flush(a, true);

		if (ret)
			return ret;
	}
	a->rs->tx_bv[a->n].bv_page = page;
	a->rs->tx_bv[a->n].bv_offset = off;
	a->rs->tx_bv[a->n].bv_len = len;
	a->n++;
	a->len += len;
	return 0;
}

static int rmem_tx_piece(void *arg, struct bio_vec *piece, bool last)
{
	return rmem_tx_add(arg, piece->bv_page, piece->bv_offset, piece->bv_len);
}

/* The masked lines of a page, lowest first: runs of lines at once. */
static int rmem_tx_lines(struct rmem_tx_arg *a, struct page *page, u64 mask)
{
	while (mask) {
		u32 line = __ffs64(mask), n = 0;
		int ret;

		while (line + n < RMEM_LINES_PER_FRAME && mask >> (line + n) & 1)
			mask &= ~(1ull << (line + n++));
		ret = rmem_tx_add(a, page, line * RMEM_LINE_SIZE, n * RMEM_LINE_SIZE);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Part rs->tx_part of the request at the head: its header and payload,
 * as one message built the same way at every slice until it is all on
 * the wire (the pages are stable while the request is in flight, and the
 * headers are encoded once, before its first byte goes).
 */
static int rmem_tx_part(struct rmem_sock *rs, struct socket *sock,
			struct request *rq, struct rmem_pdu *pdu)
{
	struct rmem_dev *dev = rs->dev;
	struct rmem_tx_head *head = rs->tx_head;
	struct rmem_tx_arg a = { .rs = rs, .sock = sock };
	unsigned int p = rs->tx_part;
	u32 first = 0, count = 0, hlen;
	struct rmem_req req;
	bool is_patch;
	u16 op = pdu->op;
	int ret;

	rmem_pdu_part(pdu, p, &first, &count);
	is_patch = op == RMEM_OP_WRITE && pdu->patch >> first & 1;
	req.op = is_patch ? RMEM_OP_PATCH : op;
	req.flags = 0;
	req.tag = (u64)((pdu->cookie & 0xffffff) << 8 | p) << 32 |
		  blk_mq_unique_tag(rq);
	req.frame = pdu->frame[first];
	req.count = count;
	if (is_patch)
		req.len = rmem_patch_len(pdu->mask[first]);
	else
		req.len = op == RMEM_OP_WRITE ? count * RMEM_FRAME_SIZE : 0;
	if (!rs->tx_off) {		/* not begun: the same bytes each time */
		rmem_req_encode(&head->hdr, &req);
		if (is_patch) {
			head->patch.mask = cpu_to_le64(pdu->mask[first]);
			head->patch.hash = cpu_to_le64(pdu->hash[first]);
		}
	}
	hlen = sizeof(head->hdr) + (is_patch ? sizeof(head->patch) : 0);
	ret = rmem_tx_add(&a, virt_to_page(head), offset_in_page(head), hlen);
	if (!ret && is_patch)
		ret = rmem_tx_lines(&a, pdu->page[first], pdu->mask[first]);
	else if (!ret && op == RMEM_OP_WRITE)
		ret = rmem_rq_pieces(rq, first * RMEM_FRAME_SIZE,
				     count * RMEM_FRAME_SIZE, rmem_tx_piece, &a);
	if (!ret)
		ret = rmem_tx_flush(&a, false);
	if (ret)
		return ret;
	rmem_count(dev, bytes_out, sizeof(head->hdr) + req.len);
	if (op == RMEM_OP_WRITE) {
		rmem_count(dev, write_wire_bytes, sizeof(head->hdr) + req.len);
		if (is_patch)
			rmem_count(dev, delta_patches, 1);
		else
			rmem_count(dev, delta_full, count);
	}
	return 0;
}

static int rmem_tx_ctrl(struct rmem_sock *rs, struct socket *sock,
			struct rmem_ctrl *ctrl)
{
	struct kvec kv[2] = {
		{ .iov_base = &ctrl->hdr, .iov_len = sizeof(ctrl->hdr) },
		{ .iov_base = (void *)ctrl->data, .iov_len = ctrl->len },
	};
	struct iov_iter iter;
	int ret;

	iov_iter_kvec(&iter, WRITE, kv, ctrl->len ? 2 : 1,
		      sizeof(ctrl->hdr) + ctrl->len);
	ret = rmem_tx_iter(rs, sock, &iter, 0, 0);
	if (!ret)
		rmem_count(rs->dev, bytes_out, sizeof(ctrl->hdr) + ctrl->len);
	return ret;
}

/* The head went out whole: it leaves the send list. */
static void rmem_tx_done(struct rmem_sock *rs, struct rmem_tx_item *item)
{
	struct completion *done = NULL;
	struct rmem_pdu *pdu = NULL;
	bool answered = false;

	spin_lock(&rs->lock);
	list_del_init(&item->entry);
	rs->tx_part = 0;
	rs->tx_off = 0;
	if (item->ctrl) {
		struct rmem_ctrl *ctrl = container_of(item, struct rmem_ctrl, tx);

		/* its owner may reuse it as soon as we let go of the lock */
		ctrl->status = 0;
		done = ctrl->done;
	} else {
		pdu = container_of(item, struct rmem_pdu, tx);
		answered = pdu->answered;
		if (answered) {
			pdu->state = RMEM_RQ_IDLE;
		} else {
			pdu->state = RMEM_RQ_SENT;
			list_add_tail(&item->entry, &rs->sent_list);
		}
	}
	spin_unlock(&rs->lock);
	if (done)
		complete(done);
	if (answered)
		rmem_rq_answered(rs->dev, blk_mq_rq_from_pdu(pdu));
}

/*
 * Send from the head of the send list, at most budget items, until it
 * is empty or the socket's buffer is full; true if there is more to send
 * now. The socket stays ours while tx_lock is held: its release waits
 * for that lock.
 */
static bool rmem_tx_slice(struct rmem_sock *rs, unsigned int budget)
{
	unsigned int noreclaim;
	bool more = false;

	lockdep_assert_held(&rs->tx_lock);
	noreclaim = memalloc_noreclaim_save();
	for (;;) {
		struct rmem_tx_item *item;
		struct rmem_pdu *pdu = NULL;
		struct socket *sock;
		u32 gen;
		int ret;

		spin_lock(&rs->lock);
		item = list_first_entry_or_null(&rs->send_list,
						struct rmem_tx_item, entry);
		sock = rs->dead ? NULL : rs->sock;
		gen = rs->gen;
		if (item && sock && budget && !item->ctrl) {
			pdu = container_of(item, struct rmem_pdu, tx);
			if (pdu->state == RMEM_RQ_QUEUED) {
				pdu->state = RMEM_RQ_SENDING;
				pdu->gen = gen;
				rs->tx_part = 0;
				rs->tx_off = 0;
			}
		}
		spin_unlock(&rs->lock);
		if (!item || !sock)
			break;
		if (!budget--) {
			more = true;
			break;
		}
		if (pdu) {
			struct request *rq = blk_mq_rq_from_pdu(pdu);

			for (ret = 0; !ret && rs->tx_part < pdu->nparts;) {
				ret = rmem_tx_part(rs, sock, rq, pdu);
				if (!ret) {
					rs->tx_part++;
					rs->tx_off = 0;
				}
			}
		} else {
			ret = rmem_tx_ctrl(rs, sock, container_of(item, struct rmem_ctrl, tx));
		}
		if (ret == -EINTR) {
			more = true;	/* the send work, which has no signals */
			break;
		}
		if (ret == -EAGAIN) {
			/*
			 * sk_write_space sends the rest once ACKs free the
			 * buffer. With room in it, the send failed for want
			 * of memory instead, and with nothing in flight no
			 * ACK may come: try again shortly, as the blocking
			 * send's wait for memory would.
			 */
			if (sk_stream_memory_free(sock->sk))
				mod_delayed_work(rmem_send_wq, &rs->tx_retry,
						 RMEM_TX_RETRY);
			break;
		}
		if (ret) {
			/* the stream is broken: what it owned waits for the next */
			rmem_sock_kill(rs, gen);
			break;
		}
		rmem_tx_done(rs, item);
	}
	memalloc_noreclaim_restore(noreclaim);
	return more;
}

static void rmem_tx_retry_work(struct work_struct *work)
{
	struct rmem_sock *rs = container_of(to_delayed_work(work),
					    struct rmem_sock, tx_retry);

	queue_work(rmem_send_wq, &rs->send_work);
}

static void rmem_send_work(struct work_struct *work)
{
	struct rmem_sock *rs = container_of(work, struct rmem_sock, send_work);
	bool more;

	mutex_lock(&rs->tx_lock);
	more = rmem_tx_slice(rs, RMEM_TX_BUDGET);
	mutex_unlock(&rs->tx_lock);
	if (more)
		queue_work(rmem_send_wq, &rs->send_work);
}

/* The socket has room again (softirq): the send work fills it. */
static void rmem_write_space(struct sock *sk)
{
	struct rmem_sock *rs;

	read_lock_bh(&sk->sk_callback_lock);
	rs = sk->sk_user_data;
	if (likely(rs)) {
		if (sk_stream_is_writeable(sk))
			queue_work(rmem_send_wq, &rs->send_work);
		if (rs->saved_write_space)	/* TCP's: wakes any waiter */
			rs->saved_write_space(sk);
	}
	read_unlock_bh(&sk->sk_callback_lock);
}

/*
 * From queue_rq: the request, mapped and with its parts set, goes on the
 * queue's send list; the caller still counts a failure. Sent here only
 * if the list was empty and nobody holds the send right, without
 * waiting; else by the send work, kicked at the batch's last request
 * (or .commit_rqs). On a dead socket it is parked, unless the socket has
 * been dead too long or the device is going.
 */
blk_status_t rmem_sock_queue_rq(struct rmem_sock *rs, struct request *rq,
				bool last)
{
	struct rmem_pdu *pdu = blk_mq_rq_to_pdu(rq);
	struct rmem_dev *dev = rs->dev;
	bool live, first;

	spin_lock(&rs->lock);
	if (!rs->sock && rs->expired) {
		spin_unlock(&rs->lock);
		if (!READ_ONCE(dev->removing))
			rmem_expired_err(rs);
		return BLK_STS_IOERR;
	}
	pdu->queue = rs->index;
	pdu->state = RMEM_RQ_QUEUED;
	pdu->answered = false;
	first = list_empty(&rs->send_list);
	list_add_tail(&pdu->tx.entry, &rs->send_list);
	live = rs->sock && !rs->dead;
	spin_unlock(&rs->lock);
	if (!live)
		return BLK_STS_OK;	/* parked */
	if (first && mutex_trylock(&rs->tx_lock)) {
		bool more = rmem_tx_slice(rs, RMEM_TX_BUDGET);

		mutex_unlock(&rs->tx_lock);
		if (more)
			queue_work(rmem_send_wq, &rs->send_work);
	} else if (last) {
		queue_work(rmem_send_wq, &rs->send_work);
	}
	return BLK_STS_OK;
}

/* .commit_rqs: the end of a batch whose last request did not say so. */
void rmem_sock_commit(struct rmem_sock *rs)
{
	bool pending;

	spin_lock(&rs->lock);
	pending = !list_empty(&rs->send_list) && rs->sock && !rs->dead;
	spin_unlock(&rs->lock);
	if (pending)
		queue_work(rmem_send_wq, &rs->send_work);
}

/*
 * A request of this queue timed out: kill the socket it is waiting on,
 * if that is still the one (its generation), the request is really
 * waiting on it (sent or being sent there, or queued behind others on a
 * socket up for a timeout: not one that has just replaced a dead one),
 * and the socket is stuck: nothing sent and no reply received on it for
 * a timeout, or this request waiting RMEM_STUCK_TIMEOUTS timeouts. A
 * request may wait long behind a deep send list on a slow link (queue_rq
 * never makes the submitter wait, so every tag can be on the list) while
 * the connection is healthy: that is no reason to drop it. A parked
 * request waits for dead_work instead. True if it killed.
 */
bool rmem_sock_timeout(struct rmem_sock *rs, struct request *rq)
{
	struct rmem_pdu *pdu = blk_mq_rq_to_pdu(rq);
	unsigned long timeout = READ_ONCE(rs->dev->timeout);
	bool live, stuck, kill = false;
	u32 gen;

	stuck = time_after_eq(jiffies, READ_ONCE(rs->progress) + timeout) ||
		(pdu->start_ns && ktime_get_ns() - pdu->start_ns >
		 RMEM_STUCK_TIMEOUTS * (u64)jiffies_to_msecs(timeout) * NSEC_PER_MSEC);
	spin_lock(&rs->lock);
	live = rs->sock && !rs->dead;
	gen = rs->gen;
	switch (pdu->state) {
	case RMEM_RQ_SENDING:
	case RMEM_RQ_SENT:
		kill = live && pdu->gen == gen && stuck;
		break;
	case RMEM_RQ_QUEUED:
		kill = live && stuck &&
		       time_after_eq(jiffies, rs->up_since + timeout);
		break;
	default:
		break;
	}
	spin_unlock(&rs->lock);
	if (kill)
		rmem_sock_kill(rs, gen);
	return kill;
}

/*
 * Queue a control message on a live socket, to go out in turn with the
 * requests; -ENOTCONN if the socket is dead. Called with tx_lock held so
 * that the socket's release (which drops queued control messages and
 * then tells their owners, e.g. rmem_discard_lost) cannot come between
 * the caller's choice of this socket and the queueing.
 */
int __rmem_sock_send_ctrl(struct rmem_sock *rs, struct rmem_ctrl *ctrl)
{
	bool live;

	lockdep_assert_held(&rs->tx_lock);
	ctrl->tx.ctrl = true;
	ctrl->status = -EINPROGRESS;
	spin_lock(&rs->lock);
	live = rs->sock && !rs->dead;
	if (live)
		list_add_tail(&ctrl->tx.entry, &rs->send_list);
	spin_unlock(&rs->lock);
	if (!live)
		return -ENOTCONN;
	queue_work(rmem_send_wq, &rs->send_work);
	return 0;
}

/* ---- setting up and tearing down ------------------------------------- */

/* 0, or -ENOMEM with nothing to free but what rmem_sock_free frees. */
int rmem_sock_init(struct rmem_sock *rs, struct rmem_dev *dev, unsigned int index)
{
	struct page *page = alloc_page(GFP_KERNEL);

	BUILD_BUG_ON(sizeof(struct rmem_tx_head) > PAGE_SIZE);
	rs->tx_head = page ? page_address(page) : NULL;
	rs->dev = dev;
	rs->index = index;
	mutex_init(&rs->tx_lock);
	spin_lock_init(&rs->lock);
	INIT_LIST_HEAD(&rs->send_list);
	INIT_LIST_HEAD(&rs->sent_list);
	INIT_WORK(&rs->send_work, rmem_send_work);
	INIT_DELAYED_WORK(&rs->tx_retry, rmem_tx_retry_work);
	INIT_DELAYED_WORK(&rs->dead_work, rmem_dead_work);
	INIT_WORK(&rs->recv_work, rmem_recv_work);
	return page ? 0 : -ENOMEM;
}

void rmem_sock_free(struct rmem_sock *rs)
{
	if (rs->tx_head)
		free_page((unsigned long)rs->tx_head);
	rs->tx_head = NULL;
}

/* Shut every socket, wait for the workers to let go of them. */
void rmem_stop_socks(struct rmem_dev *dev)
{
	unsigned int i;

	for (i = 0; i < dev->nsock; i++) {
		struct rmem_sock *rs = &dev->socks[i];

		__rmem_sock_kill(rs, 0, true);
		flush_work(&rs->recv_work);
		/* removing: its release ran it at once, failing any parked */
		flush_delayed_work(&rs->dead_work);
		cancel_delayed_work_sync(&rs->tx_retry);
		cancel_work_sync(&rs->send_work);
		WARN_ON_ONCE(!list_empty(&rs->send_list) || !list_empty(&rs->sent_list));
	}
}

#ifdef CONFIG_DEBUG_LOCK_ALLOC
/*
 * The sockets rmem.ko takes over get lock classes of their own, as
 * nvme-tcp gives its sockets (nvme_tcp_reclassify_socket). Userspace
 * connected them, taking the socket lock around GFP_KERNEL allocations
 * (tcp_connect), while the driver takes it in reclaim (kswapd writing
 * swap through queue_rq). Lockdep, sharing one class among all TCP
 * sockets, saw a cycle fs_reclaim -> sk_lock -> fs_reclaim; on the
 * driver's sockets it cannot happen: they allocate with GFP_NOIO under
 * memalloc_noreclaim_save(). (It can if another task that shares the
 * fd allocates under the socket lock: rmemctl does not.)
 *
 * Unlike nvme-tcp, whose sockets are new, these are connected and live:
 * a softirq may take the socket's spinlock at any moment. So only
 * lockdep's maps are set, never the lock itself, its owner or its
 * waiters (sock_lock_init_class_and_name would re-initialise those, and
 * take a module reference for each call).
 */
static struct lock_class_key rmem_sk_key[2], rmem_slock_key[2];

static void rmem_reclassify_socket(struct socket *sock)
{
	struct sock *sk = sock->sk;
	int v6 = sk->sk_family == AF_INET6;

	if (!sock_allow_reclassification(sk))
		return;		/* locked right now: keep its class */
	lockdep_set_class_and_name(&sk->sk_lock.slock, &rmem_slock_key[v6],
				   v6 ? "slock-AF_INET6-RMEM" : "slock-AF_INET-RMEM");
	lockdep_init_map(&sk->sk_lock.dep_map,
			 v6 ? "sk_lock-AF_INET6-RMEM" : "sk_lock-AF_INET-RMEM",
			 &rmem_sk_key[v6], 0);
}
#else
static inline void rmem_reclassify_socket(struct socket *sock)
{
}
#endif

struct socket *rmem_take_sock(int fd, int *err)
{
	struct socket *sock = sockfd_lookup(fd, err);

	if (!sock)
		return NULL;
	if (sock->sk->sk_type != SOCK_STREAM || sock->sk->sk_protocol != IPPROTO_TCP) {
		sockfd_put(sock);
		*err = -EINVAL;
		return NULL;
	}
	/*
	 * A socket some kernel user already hooked (another rmem queue,
	 * not yet released; kTLS's or a BPF sockmap's callbacks) is not
	 * ours to take: its sk_write_space would be saved as "the
	 * socket's own" and call ours again. The callers hold genl_mutex,
	 * so no other CONNECT or RECONFIGURE can hook it between here and
	 * rmem_start_sock; rmem_get_socks refuses the same socket twice.
	 */
	if (READ_ONCE(sock->sk->sk_user_data)) {
		sockfd_put(sock);
		*err = -EBUSY;
		return NULL;
	}
	rmem_reclassify_socket(sock);
	return sock;
}

/* Give back sockets rmem_take_sock took, none installed. */
void rmem_put_socks(struct socket **socks, unsigned int n)
{
	while (n)
		sockfd_put(socks[--n]);
}

/*
 * Install a socket (CONNECT, or RECONFIGURE once the old one's worker let
 * go of it): a new generation, and what was parked goes out on it.
 */
void rmem_start_sock(struct rmem_sock *rs, struct socket *sock)
{
	struct sock *sk = sock->sk;

	/*
	 * Swap-out must not wait for memory that only swap-out can free.
	 * Set only now that the socket is the driver's for good: a CONNECT
	 * refused after rmem_take_sock leaves its owner's socket as it was.
	 * Never cleared, as nbd never clears it: sk_clear_memalloc while
	 * anyone owns the socket with pfmemalloc skbs on its backlog makes
	 * release_sock hit __sk_backlog_rcv's BUG_ON, so a clear must first
	 * drain the backlog under the socket's spinlock.
	 */
	sk->sk_allocation = GFP_NOIO | __GFP_MEMALLOC;
	sk_set_memalloc(sk);
	write_lock_bh(&sk->sk_callback_lock);
	rs->saved_write_space = sk->sk_write_space;
	sk->sk_user_data = rs;
	sk->sk_write_space = rmem_write_space;
	write_unlock_bh(&sk->sk_callback_lock);
	spin_lock(&rs->lock);
	rs->sock = sock;
	rs->dead = false;
	rs->expired = false;
	rs->gen++;
	rs->up_since = jiffies;
	rs->progress = jiffies;
	rs->tx_part = 0;
	rs->tx_off = 0;
	spin_unlock(&rs->lock);
	cancel_delayed_work(&rs->dead_work);	/* running, it sees the socket */
	INIT_WORK(&rs->recv_work, rmem_recv_work);
	queue_work(rmem_recv_wq, &rs->recv_work);
	queue_work(rmem_send_wq, &rs->send_work);
	/* held frames may be free to go again (rmem_discard_work) */
	rmem_discard_kick(rs->dev);
}

/*
 * The device is drained and going: tell the donor, on the first live
 * connection, that the region can go too (CLOSE with RELEASE), or it
 * would hold the memory for its idle_timeout, waiting for a reconnect.
 * Best effort: a donor that is gone frees it then anyway. The CLOSE goes
 * through the send list like any message, and the shutdown that follows
 * (rmem_stop_socks) waits for it to be sent, so the FIN comes after it;
 * a socket that cannot take it within a request timeout is killed.
 */
void rmem_release_region(struct rmem_dev *dev)
{
	struct rmem_req req = {
		.op = RMEM_OP_CLOSE,
		.flags = RMEM_CLOSE_F_RELEASE,
		.tag = RMEM_CLOSE_TAG,
	};
	unsigned int i;

	for (i = 0; i < dev->nsock; i++) {
		struct rmem_sock *rs = &dev->socks[i];
		DECLARE_COMPLETION_ONSTACK(done);
		struct rmem_ctrl ctrl = { .done = &done };
		int ret;

		rmem_req_encode(&ctrl.hdr, &req);
		mutex_lock(&rs->tx_lock);
		ret = __rmem_sock_send_ctrl(rs, &ctrl);
		mutex_unlock(&rs->tx_lock);
		if (ret)
			continue;
		if (!wait_for_completion_timeout(&done, READ_ONCE(dev->timeout))) {
			/* its release drops the CLOSE, and says so */
			__rmem_sock_kill(rs, 0, true);
			wait_for_completion(&done);
		}
		if (!ctrl.status)
			return;
	}
}

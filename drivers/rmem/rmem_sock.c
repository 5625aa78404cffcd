// SPDX-License-Identifier: GPL-2.0
/*
 * rmem's transport: one TCP socket per hardware queue, handed over by
 * rmemctl already connected and authenticated. Socket I/O that never
 * enters reclaim, the send of a request (one header and payload per run
 * of frames), the receive worker that matches each reply to its request
 * by tag and per-dispatch cookie, and the kill and release of a socket
 * that failed: its requests in flight are requeued to wait for a
 * reconnect (RECONFIGURE).
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

int rmem_xmit(struct socket *sock, struct iov_iter *iter, int flags)
{
	return rmem_sock_io(sock, iter, flags, true);
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

/* ---- the receive side ---------------------------------------------- */

static bool rmem_requeue_one(struct request *rq, void *data)
{
	struct rmem_sock *rs = data;
	struct rmem_pdu *pdu = blk_mq_rq_to_pdu(rq);

	if (pdu->queue == (int)rs->index) {
		pdu->queue = -1;
		blk_mq_requeue_request(rq, true);
	}
	return true;
}

/* Stop using the queue's socket: shut it down so sender and receiver
 * both fail at once. Callable from any process context (it may sleep,
 * as nbd's timeout handler does); the receive worker then finishes the
 * job (rmem_sock_release). */
void rmem_sock_kill(struct rmem_sock *rs)
{
	struct socket *sock = NULL;

	spin_lock(&rs->lock);
	if (rs->sock && !rs->dead) {
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

/*
 * In the receive worker, once the socket failed: wait for any sender to
 * let go, requeue what was in flight on it (it waits in queue_rq for a
 * new socket), drop the socket and tell userspace. Only this worker uses
 * the socket for receiving, so only it may put it.
 */
static void rmem_sock_release(struct rmem_sock *rs, int err)
{
	struct rmem_dev *dev = rs->dev;
	struct socket *sock;

	rmem_sock_kill(rs);
	mutex_lock(&rs->tx_lock);
	spin_lock(&rs->lock);
	sock = rs->sock;
	rs->sock = NULL;
	spin_unlock(&rs->lock);
	mutex_unlock(&rs->tx_lock);

	blk_mq_tagset_busy_iter(&dev->tag_set, rmem_requeue_one, rs);
	blk_mq_kick_requeue_list(dev->disk->queue);
	rmem_discard_lost(rs);
	if (sock)
		sockfd_put(sock);
	if (!READ_ONCE(dev->removing)) {
		dev_warn(disk_to_dev(dev->disk),
			 "queue %u lost donor %s (%d); I/O waits %u s for a reconnect\n",
			 rs->index, dev->donor, err,
			 jiffies_to_msecs(dev->dead_timeout) / 1000);
		rmem_link_dead_event(dev, rs->index);
	}
}

/*
 * Bytes [off, off + len) of a request's data: sent (flags on the last
 * piece), received, or zeroed (sock NULL).
 */
int rmem_rq_data(struct socket *sock, struct request *rq, u32 off,
			u32 len, bool send, int flags)
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
			struct iov_iter iter;

			if (!sock) {
				memzero_page(piece.bv_page, piece.bv_offset, e - s);
			} else {
				iov_iter_bvec(&iter, send ? WRITE : READ, &piece, 1, e - s);
				ret = send ? rmem_xmit(sock, &iter, e == end ? flags : MSG_MORE) :
					     rmem_recv(sock, &iter);
				if (ret)
					return ret;
			}
		}
		pos += bv.bv_len;
		if (pos >= end)
			break;
	}
	return 0;
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
	u16 op;
	int ret;

	ret = rmem_recv_buf(sock, &hdr, sizeof(hdr));
	if (ret)
		return ret;
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
	if (!pdu || !blk_mq_request_started(rq) || pdu->queue != (int)rs->index ||
	    (pdu->cookie & 0xffffff) != reply.tag >> 40 || part >= 64 ||
	    !(pdu->parts & 1ull << part)) {
		dev_err_ratelimited(disk_to_dev(dev->disk),
				    "reply for a request not in flight (tag %#llx)\n",
				    reply.tag);
		return -EPROTO;
	}
	op = rmem_rq_op(rq);
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
		atomic64_inc(&dev->delta_mismatches);
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
	atomic64_add(sizeof(hdr) + reply.len, &dev->bytes_in);
	pdu->parts &= ~(1ull << part);
	if (!pdu->parts) {
		pdu->queue = -1;
		if (req_op(rq) == REQ_OP_WRITE &&
		    (pdu->status != BLK_STS_OK || pdu->mismatch)) {
			rmem_forget_frames(dev, pdu, pdu->nslots);
			if (pdu->status == BLK_STS_OK) {
				/* acknowledged only once the donor has it all */
				pdu->no_delta = true;
				blk_mq_requeue_request(rq, true);
				return 0;
			}
		}
		if (req_op(rq) == REQ_OP_READ && pdu->reread &&
		    pdu->status == BLK_STS_OK) {
			/* a page failed its checksum: read it all again */
			pdu->rereads++;
			atomic64_inc(&dev->read_rereads);
			blk_mq_requeue_request(rq, true);
			return 0;
		}
		if (likely(!blk_should_fake_timeout(rq->q)))
			blk_mq_complete_request(rq);
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

/* Wait, bounded, for the queue's socket; with tx_lock held on success. */
struct socket *rmem_get_sock(struct rmem_dev *dev, struct rmem_sock *rs)
{
	for (;;) {
		unsigned long deadline;

		mutex_lock(&rs->tx_lock);
		if (rs->sock && !READ_ONCE(rs->dead))
			return rs->sock;
		mutex_unlock(&rs->tx_lock);
		deadline = READ_ONCE(rs->dead_since) + READ_ONCE(dev->dead_timeout);
		if (READ_ONCE(dev->removing) || time_after_eq(jiffies, deadline))
			return NULL;
		wait_event_timeout(dev->reconnect_wq,
				   !READ_ONCE(rs->dead) || READ_ONCE(dev->removing),
				   deadline - jiffies);
	}
}

/* The masked lines of a page, lowest first: runs of lines at once. */
static int rmem_send_lines(struct socket *sock, struct page *page, u64 mask)
{
	while (mask) {
		u32 line = __ffs64(mask), n = 0;
		struct bio_vec bv;
		struct iov_iter iter;
		int ret;

		while (line + n < RMEM_LINES_PER_FRAME && mask >> (line + n) & 1)
			mask &= ~(1ull << (line + n++));
		bv.bv_page = page;
		bv.bv_offset = line * RMEM_LINE_SIZE;
		bv.bv_len = n * RMEM_LINE_SIZE;
		iov_iter_bvec(&iter, WRITE, &bv, 1, bv.bv_len);
		ret = rmem_xmit(sock, &iter, mask ? MSG_MORE : 0);
		if (ret)
			return ret;
	}
	return 0;
}

/* Send every part of a request: one header (and payload) per run. */
int rmem_send_rq(struct rmem_dev *dev, struct socket *sock,
			struct request *rq, struct rmem_pdu *pdu, u16 op,
			unsigned int nparts)
{
	struct rmem_req req;
	struct rmem_req_hdr hdr;
	struct rmem_patch patch;
	struct iov_iter iter;
	unsigned int p;
	int ret;

	for (p = 0; p < nparts; p++) {
		struct kvec kv[2] = {
			{ .iov_base = &hdr, .iov_len = sizeof(hdr) },
			{ .iov_base = &patch, .iov_len = sizeof(patch) },
		};
		u32 first = 0, count = 0;
		bool is_patch, more;

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
		rmem_req_encode(&hdr, &req);
		if (is_patch) {
			patch.mask = cpu_to_le64(pdu->mask[first]);
			patch.hash = cpu_to_le64(pdu->hash[first]);
		}
		more = op == RMEM_OP_WRITE && (!is_patch || pdu->mask[first]);
		iov_iter_kvec(&iter, WRITE, kv, is_patch ? 2 : 1,
			      sizeof(hdr) + (is_patch ? sizeof(patch) : 0));
		ret = rmem_xmit(sock, &iter, more ? MSG_MORE : 0);
		if (!ret && is_patch)
			ret = rmem_send_lines(sock, pdu->page[first], pdu->mask[first]);
		else if (!ret && op == RMEM_OP_WRITE)
			ret = rmem_rq_data(sock, rq, first * RMEM_FRAME_SIZE,
					   count * RMEM_FRAME_SIZE, true, 0);
		if (ret)
			return ret;
		atomic64_add(sizeof(hdr) + req.len, &dev->bytes_out);
		if (op != RMEM_OP_WRITE)
			continue;
		atomic64_add(sizeof(hdr) + req.len, &dev->write_wire_bytes);
		if (is_patch)
			atomic64_inc(&dev->delta_patches);
		else
			atomic64_add(count, &dev->delta_full);
	}
	return 0;
}

/* Shut every socket and wait for the workers to let go of them. */
void rmem_stop_socks(struct rmem_dev *dev)
{
	unsigned int i;

	for (i = 0; i < dev->nsock; i++) {
		rmem_sock_kill(&dev->socks[i]);
		flush_work(&dev->socks[i].recv_work);
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
	/* swap-out must not wait for memory that only swap-out can free */
	sock->sk->sk_allocation = GFP_NOIO | __GFP_MEMALLOC;
	sk_set_memalloc(sock->sk);
	rmem_reclassify_socket(sock);
	return sock;
}

void rmem_start_sock(struct rmem_sock *rs, struct socket *sock)
{
	spin_lock(&rs->lock);
	rs->sock = sock;
	rs->dead = false;
	spin_unlock(&rs->lock);
	INIT_WORK(&rs->recv_work, rmem_recv_work);
	queue_work(rmem_recv_wq, &rs->recv_work);
}

/*
 * The device is drained and going: tell the donor, on the first live
 * connection, that the region can go too (CLOSE with RELEASE), or it
 * would hold the memory for its idle_timeout, waiting for a reconnect.
 * Best effort: a donor that is gone frees it then anyway. The shutdown
 * that follows sends its FIN after the CLOSE.
 */
void rmem_release_region(struct rmem_dev *dev)
{
	struct rmem_req req = {
		.op = RMEM_OP_CLOSE,
		.flags = RMEM_CLOSE_F_RELEASE,
		.tag = RMEM_CLOSE_TAG,
	};
	struct rmem_req_hdr hdr;
	unsigned int i;

	rmem_req_encode(&hdr, &req);
	for (i = 0; i < dev->nsock; i++) {
		struct rmem_sock *rs = &dev->socks[i];
		struct kvec kv = { .iov_base = &hdr, .iov_len = sizeof(hdr) };
		struct iov_iter iter;
		int ret = -ENOTCONN;

		mutex_lock(&rs->tx_lock);
		if (rs->sock && !READ_ONCE(rs->dead)) {
			iov_iter_kvec(&iter, WRITE, &kv, 1, sizeof(hdr));
			ret = rmem_xmit(rs->sock, &iter, 0);
		}
		mutex_unlock(&rs->tx_lock);
		if (!ret)
			return;
	}
}

// SPDX-License-Identifier: GPL-2.0
/*
 * rmem's control plane, the generic-netlink family "rmem"
 * (include/uapi/linux/rmem.h): CONNECT makes a device of sockets that
 * rmemctl connected and authenticated, DISCONNECT removes one,
 * RECONFIGURE replaces dead sockets, STATUS reports, and the LINK_DEAD
 * multicast tells a supervisor that a queue lost its socket.
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

/* ---- control-plane events ------------------------------------------ */

enum { RMEM_MCGRP_EVENTS };

void rmem_link_dead_event(struct rmem_dev *dev, unsigned int queue)
{
	struct sk_buff *skb = genlmsg_new(nla_total_size(sizeof(u32)) * 2, GFP_NOIO);
	void *hdr;

	if (!skb)
		return;
	hdr = genlmsg_put(skb, 0, 0, &rmem_genl, 0, RMEM_CMD_LINK_DEAD);
	if (!hdr || nla_put_u32(skb, RMEM_ATTR_INDEX, dev->index) ||
	    nla_put_u32(skb, RMEM_ATTR_QUEUE, queue)) {
		nlmsg_free(skb);
		return;
	}
	genlmsg_end(skb, hdr);
	genlmsg_multicast(&rmem_genl, skb, 0, RMEM_MCGRP_EVENTS, GFP_NOIO);
}

static int rmem_get_socks(struct genl_info *info, struct socket **socks,
			  unsigned int *n)
{
	struct nlattr *attr;
	unsigned int i;
	int rem, err = 0;

	*n = 0;
	if (!info->attrs[RMEM_ATTR_SOCKETS]) {
		GENL_SET_ERR_MSG(info, "no sockets given");
		return -EINVAL;
	}
	nla_for_each_nested(attr, info->attrs[RMEM_ATTR_SOCKETS], rem) {
		if (nla_type(attr) != RMEM_SOCK_FD || nla_len(attr) != sizeof(u32))
			continue;
		if (*n == RMEM_MAX_QUEUES) {
			err = -EINVAL;
			GENL_SET_ERR_MSG(info, "too many sockets");
			break;
		}
		socks[*n] = rmem_take_sock(nla_get_u32(attr), &err);
		if (!socks[*n]) {
			if (err == -EBUSY)
				GENL_SET_ERR_MSG(info, "socket already in use by the kernel");
			else
				GENL_SET_ERR_MSG(info, "not a connected TCP socket");
			break;
		}
		for (i = 0; i < *n; i++)
			if (socks[i] == socks[*n])
				break;
		if (i < *n) {
			sockfd_put(socks[*n]);
			err = -EINVAL;
			GENL_SET_ERR_MSG(info, "the same socket given twice");
			break;
		}
		(*n)++;
	}
	if (!err && !*n) {
		err = -EINVAL;
		GENL_SET_ERR_MSG(info, "no sockets given");
	}
	if (err) {
		rmem_put_socks(socks, *n);
		*n = 0;
	}
	return err;
}

static int rmem_genl_connect(struct sk_buff *skb, struct genl_info *info)
{
	struct socket *socks[RMEM_MAX_QUEUES];
	struct rmem_dev_cfg cfg = {
		.index = -1,
		.timeout_ms = 30000,
		.dead_timeout_ms = 60000,
	};
	struct rmem_dev *dev;
	struct sk_buff *reply;
	struct nlattr *index;
	unsigned int n;
	void *hdr;
	int err;

	if (!info->attrs[RMEM_ATTR_SIZE_BYTES]) {
		GENL_SET_ERR_MSG(info, "no size given");
		return -EINVAL;
	}
	cfg.size = nla_get_u64(info->attrs[RMEM_ATTR_SIZE_BYTES]);
	if (!cfg.size || cfg.size % RMEM_FRAME_SIZE ||
	    cfg.size / RMEM_FRAME_SIZE >= RMEM_NO_FRAME) {
		GENL_SET_ERR_MSG(info, "size must be a non-zero multiple of 4096, under 16 TiB");
		return -EINVAL;
	}
	cfg.nframes = info->attrs[RMEM_ATTR_FRAMES] ?
		nla_get_u64(info->attrs[RMEM_ATTR_FRAMES]) : cfg.size / RMEM_FRAME_SIZE;
	if (cfg.nframes < cfg.size / RMEM_FRAME_SIZE || cfg.nframes >= RMEM_NO_FRAME) {
		GENL_SET_ERR_MSG(info, "the region must have a frame for every slot, and under 2^32");
		return -EINVAL;
	}
	if (info->attrs[RMEM_ATTR_INDEX]) {
		u32 i = nla_get_u32(info->attrs[RMEM_ATTR_INDEX]);

		if (i >= 1U << MINORBITS) {
			GENL_SET_ERR_MSG(info, "device index out of range");
			return -EINVAL;
		}
		cfg.index = i;
	}
	if (info->attrs[RMEM_ATTR_TIMEOUT_MS])
		cfg.timeout_ms = nla_get_u32(info->attrs[RMEM_ATTR_TIMEOUT_MS]);
	if (info->attrs[RMEM_ATTR_DEAD_TIMEOUT_MS])
		cfg.dead_timeout_ms = nla_get_u32(info->attrs[RMEM_ATTR_DEAD_TIMEOUT_MS]);
	if (info->attrs[RMEM_ATTR_DONOR])
		nla_strscpy(cfg.donor, info->attrs[RMEM_ATTR_DONOR], sizeof(cfg.donor));
	if (info->attrs[RMEM_ATTR_REGION_ID])
		cfg.region_id = nla_get_u64(info->attrs[RMEM_ATTR_REGION_ID]);
	if (info->attrs[RMEM_ATTR_REGION_TOKEN] &&
	    nla_len(info->attrs[RMEM_ATTR_REGION_TOKEN]) == RMEM_TOKEN_SIZE)
		memcpy(cfg.token, nla_data(info->attrs[RMEM_ATTR_REGION_TOKEN]),
		       RMEM_TOKEN_SIZE);

	/*
	 * The reply is built, all but the index, before the device exists:
	 * once it does, CONNECT must succeed, since rmemctl reads an error
	 * (or no reply) as "the kernel kept nothing" and gives the region
	 * back on a socket the device now owns.
	 */
	reply = genlmsg_new(nla_total_size(sizeof(u32)), GFP_KERNEL);
	if (!reply)
		return -ENOMEM;
	hdr = genlmsg_put_reply(reply, info, &rmem_genl, 0, RMEM_CMD_CONNECT);
	index = hdr ? nla_reserve(reply, RMEM_ATTR_INDEX, sizeof(u32)) : NULL;
	if (!index) {
		err = -EMSGSIZE;
		goto out_free;
	}
	if (info->attrs[RMEM_ATTR_READ_QUEUES])
		cfg.nread = nla_get_u32(info->attrs[RMEM_ATTR_READ_QUEUES]);
	err = rmem_get_socks(info, socks, &n);
	if (err)
		goto out_free;
	if (cfg.nread >= n) {
		rmem_put_socks(socks, n);
		GENL_SET_ERR_MSG(info, "read queues must leave at least one queue for the rest");
		err = -EINVAL;
		goto out_free;
	}
	dev = rmem_dev_create(&cfg, socks, n);	/* owns the sockets now */
	if (IS_ERR(dev)) {
		err = PTR_ERR(dev);
		goto out_free;
	}
	*(u32 *)nla_data(index) = dev->index;
	genlmsg_end(reply, hdr);
	/*
	 * Not genlmsg_reply()'s error: the device is made. The reply fails
	 * only when the caller's socket is closed or full, and then so would
	 * an error ACK (rmemctl sees ENOBUFS, and leaves the sockets alone).
	 */
	genlmsg_reply(reply, info);
	return 0;

out_free:
	nlmsg_free(reply);
	return err;
}

static struct rmem_dev *rmem_find(struct genl_info *info)
{
	struct rmem_dev *dev;

	if (!info->attrs[RMEM_ATTR_INDEX]) {
		GENL_SET_ERR_MSG(info, "no device index given");
		return ERR_PTR(-EINVAL);
	}
	dev = idr_find(&rmem_devs, nla_get_u32(info->attrs[RMEM_ATTR_INDEX]));
	if (!dev) {
		GENL_SET_ERR_MSG(info, "no such rmem device");
		return ERR_PTR(-ENODEV);
	}
	return dev;
}

/* rmem_find() with rmem_devs_lock taken; held on success only. */
static struct rmem_dev *rmem_find_lock(struct genl_info *info)
{
	struct rmem_dev *dev;

	mutex_lock(&rmem_devs_lock);
	dev = rmem_find(info);
	if (IS_ERR(dev))
		mutex_unlock(&rmem_devs_lock);
	return dev;
}

/*
 * Only a device no one has open goes; the check and the mark that keeps
 * new openers out are one step under disk->open_mutex
 * (rmem_dev_mark_removing), so a swapon, mkfs or blkid racing this either
 * wins (-EBUSY) or gets -ENXIO. rmem_devs_lock orders this against
 * another DISCONNECT, RECONFIGURE or STATUS of the same device: once out
 * of the idr it is ours alone to remove. Module unload waits for this in
 * genl_unregister_family().
 */
static int rmem_genl_disconnect(struct sk_buff *skb, struct genl_info *info)
{
	struct rmem_dev *dev;
	int err;

	dev = rmem_find_lock(info);
	if (IS_ERR(dev))
		return PTR_ERR(dev);
	err = rmem_dev_mark_removing(dev);
	if (err) {
		mutex_unlock(&rmem_devs_lock);
		GENL_SET_ERR_MSG(info, "device is in use (swapoff or unmount it first)");
		return err;
	}
	idr_remove(&rmem_devs, dev->index);
	mutex_unlock(&rmem_devs_lock);
	dev_info(disk_to_dev(dev->disk), "detached from donor %s\n", dev->donor);
	rmem_dev_remove(dev);
	return 0;
}

static int rmem_genl_reconfigure(struct sk_buff *skb, struct genl_info *info)
{
	struct socket *socks[RMEM_MAX_QUEUES];
	struct rmem_dev *dev;
	unsigned int n, i, used = 0;
	u64 mask;
	int err;

	dev = rmem_find_lock(info);
	if (IS_ERR(dev))
		return PTR_ERR(dev);
	err = rmem_get_socks(info, socks, &n);
	if (err)
		goto out;
	/*
	 * Each new socket replaces a dead queue, lowest first. rmemctl
	 * names the queues (QUEUE_MASK): it fenced exactly those on the
	 * donor, so a socket must not land in another one that died
	 * meanwhile. Without a mask, the lowest dead queues.
	 */
	if (info->attrs[RMEM_ATTR_QUEUE_MASK]) {
		u64 want = nla_get_u64(info->attrs[RMEM_ATTR_QUEUE_MASK]);

		if (hweight64(want) != n || want >> dev->nsock ||
		    (want & ~rmem_dead_mask(dev))) {
			GENL_SET_ERR_MSG(info, "the queues named are not the dead ones the sockets are for");
			rmem_put_socks(socks, n);
			err = -EBUSY;
			goto out;
		}
		mask = want;
	} else {
		mask = rmem_dead_mask(dev);
	}
	for (i = 0; i < dev->nsock && used < n; i++) {
		struct rmem_sock *rs = &dev->socks[i];

		if (!(mask >> i & 1) || !READ_ONCE(rs->dead))
			continue;
		flush_work(&rs->recv_work);	/* it lets go of the old one */
		/* rmemctl opened the socket with FENCE for the queues it
		 * names: their old connections are closed on the donor. A
		 * RECONFIGURE that names none carries I/O but fences
		 * nothing: held frames stay held */
		if (info->attrs[RMEM_ATTR_QUEUE_MASK])
			WRITE_ONCE(rs->unfenced, false);
		rmem_start_sock(rs, socks[used++]);
		rmem_count(dev, reconnects, 1);
		dev_info(disk_to_dev(dev->disk), "queue %u reconnected to %s\n",
			 i, dev->donor);
	}
	for (i = used; i < n; i++)
		sockfd_put(socks[i]);
	if (used < n) {
		GENL_SET_ERR_MSG(info, "more sockets than dead queues; extra ones dropped");
		err = used ? 0 : -EALREADY;
	}
out:
	mutex_unlock(&rmem_devs_lock);
	return err;
}

/*
 * One device's STATUS. Anyone may ask (monitoring), but the region token
 * is a secret: with it and the donor's key, any holder of that key could
 * join the region and read this host's swap. It goes only to a caller
 * with CAP_NET_ADMIN in the initial user namespace (admin: the check
 * GENL_ADMIN_PERM makes), as CONNECT takes it only from one.
 */
static int rmem_fill_status(struct sk_buff *skb, struct rmem_dev *dev,
			    u32 portid, u32 seq, int flags, bool admin)
{
	void *hdr = genlmsg_put(skb, portid, seq, &rmem_genl, flags, RMEM_CMD_STATUS);
	u64 dead = rmem_dead_mask(dev);

	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(skb, RMEM_ATTR_INDEX, dev->index) ||
	    nla_put_u64_64bit(skb, RMEM_ATTR_SIZE_BYTES, dev->size, RMEM_ATTR_UNSPEC) ||
	    nla_put_u64_64bit(skb, RMEM_ATTR_FRAMES, dev->nframes, RMEM_ATTR_UNSPEC) ||
	    nla_put_string(skb, RMEM_ATTR_DONOR, dev->donor) ||
	    nla_put_u32(skb, RMEM_ATTR_QUEUES, dev->nsock) ||
	    nla_put_u32(skb, RMEM_ATTR_READ_QUEUES, dev->nread) ||
	    nla_put_u64_64bit(skb, RMEM_ATTR_DEAD_MASK, dead, RMEM_ATTR_UNSPEC) ||
	    nla_put_u64_64bit(skb, RMEM_ATTR_REGION_ID, dev->region_id, RMEM_ATTR_UNSPEC) ||
	    (admin &&
	     nla_put(skb, RMEM_ATTR_REGION_TOKEN, RMEM_TOKEN_SIZE, dev->token)) ||
	    nla_put_u32(skb, RMEM_ATTR_TIMEOUT_MS, jiffies_to_msecs(dev->timeout)) ||
	    nla_put_u32(skb, RMEM_ATTR_DEAD_TIMEOUT_MS,
			jiffies_to_msecs(dev->dead_timeout)) ||
	    nla_put_string(skb, RMEM_ATTR_STATE, rmem_dev_state(dev))) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static int rmem_genl_status(struct sk_buff *skb, struct genl_info *info)
{
	struct rmem_dev *dev;
	struct sk_buff *reply;
	int err;

	reply = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!reply)
		return -ENOMEM;
	mutex_lock(&rmem_devs_lock);
	dev = rmem_find(info);
	err = IS_ERR(dev) ? PTR_ERR(dev) :
	      rmem_fill_status(reply, dev, info->snd_portid, info->snd_seq, 0,
			       netlink_capable(skb, CAP_NET_ADMIN));
	mutex_unlock(&rmem_devs_lock);
	if (err) {
		nlmsg_free(reply);
		return err;
	}
	return genlmsg_reply(reply, info);
}

static int rmem_genl_status_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	bool admin = netlink_capable(cb->skb, CAP_NET_ADMIN);
	struct rmem_dev *dev;
	int id = cb->args[0];

	mutex_lock(&rmem_devs_lock);
	while ((dev = idr_get_next(&rmem_devs, &id))) {
		if (rmem_fill_status(skb, dev, NETLINK_CB(cb->skb).portid,
				     cb->nlh->nlmsg_seq, NLM_F_MULTI, admin))
			break;
		id++;
	}
	mutex_unlock(&rmem_devs_lock);
	cb->args[0] = id;
	return skb->len;
}

static const struct nla_policy rmem_sock_policy[RMEM_SOCK_MAX + 1] = {
	[RMEM_SOCK_FD]	= { .type = NLA_U32 },
};

static const struct nla_policy rmem_attr_policy[RMEM_ATTR_MAX + 1] = {
	[RMEM_ATTR_INDEX]		= { .type = NLA_U32 },
	[RMEM_ATTR_SIZE_BYTES]		= { .type = NLA_U64 },
	[RMEM_ATTR_SOCKETS]		= NLA_POLICY_NESTED(rmem_sock_policy),
	[RMEM_ATTR_TIMEOUT_MS]		= NLA_POLICY_MIN(NLA_U32, 100),
	[RMEM_ATTR_DEAD_TIMEOUT_MS]	= { .type = NLA_U32 },
	[RMEM_ATTR_DONOR]		= { .type = NLA_NUL_STRING, .len = 127 },
	[RMEM_ATTR_REGION_ID]		= { .type = NLA_U64 },
	[RMEM_ATTR_REGION_TOKEN]	= NLA_POLICY_EXACT_LEN(RMEM_TOKEN_SIZE),
	[RMEM_ATTR_QUEUE]		= { .type = NLA_U32 },
	[RMEM_ATTR_STATE]		= { .type = NLA_NUL_STRING },
	[RMEM_ATTR_QUEUES]		= { .type = NLA_U32 },
	[RMEM_ATTR_READ_QUEUES]		= { .type = NLA_U32 },
	[RMEM_ATTR_DEAD_MASK]		= { .type = NLA_U64 },
	[RMEM_ATTR_FRAMES]		= { .type = NLA_U64 },
	[RMEM_ATTR_QUEUE_MASK]		= { .type = NLA_U64 },
};

/*
 * Who may do what: everything that makes, removes or changes a device
 * needs CAP_NET_ADMIN in the initial user namespace (GENL_ADMIN_PERM, as
 * nbd); STATUS is open to monitoring, without the token.
 */
static const struct genl_small_ops rmem_genl_ops[] = {
	{
		.cmd	= RMEM_CMD_CONNECT,
		.flags	= GENL_ADMIN_PERM,
		.doit	= rmem_genl_connect,
	},
	{
		.cmd	= RMEM_CMD_DISCONNECT,
		.flags	= GENL_ADMIN_PERM,
		.doit	= rmem_genl_disconnect,
	},
	{
		.cmd	= RMEM_CMD_RECONFIGURE,
		.flags	= GENL_ADMIN_PERM,
		.doit	= rmem_genl_reconfigure,
	},
	{
		.cmd	= RMEM_CMD_STATUS,
		.doit	= rmem_genl_status,
		.dumpit	= rmem_genl_status_dump,
	},
};

/*
 * LINK_DEAD carries a device index and a queue, which STATUS shows anyone
 * too: any local user may listen. Anything secret sent here would need
 * .flags = GENL_MCAST_CAP_NET_ADMIN.
 */
static const struct genl_multicast_group rmem_mcgrps[] = {
	[RMEM_MCGRP_EVENTS] = { .name = RMEM_GENL_MCAST_NAME },
};

struct genl_family rmem_genl __ro_after_init = {
	.hdrsize	= 0,
	.name		= RMEM_GENL_NAME,
	.version	= RMEM_GENL_VERSION,
	.module		= THIS_MODULE,
	.small_ops	= rmem_genl_ops,
	.n_small_ops	= ARRAY_SIZE(rmem_genl_ops),
	.resv_start_op	= RMEM_CMD_LINK_DEAD + 1,
	.maxattr	= RMEM_ATTR_MAX,
	.policy		= rmem_attr_policy,
	.mcgrps		= rmem_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(rmem_mcgrps),
};

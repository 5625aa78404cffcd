/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * rmem: remote-memory swap. The one definition of the donor wire protocol,
 * shared by the kernel driver, rmem-poold, librmem, rmemctl, the fio engine
 * and the tests. Documentation/protocol.rst explains every field.
 *
 * Everything on the wire is little-endian. A connection carries requests
 * (struct rmem_req_hdr + payload) from client to donor and replies
 * (struct rmem_reply_hdr + payload) back. The 64-bit tag of a request is
 * echoed in its reply, so a client may keep many requests in flight; a donor
 * may answer them in any order.
 */
#ifndef _UAPI_LINUX_RMEM_H
#define _UAPI_LINUX_RMEM_H

#include <linux/types.h>

#if defined(__cplusplus)
#define RMEM_WIRE_SIZE(type, size) \
	static_assert(sizeof(type) == (size), "wire size of " #type)
#else
#define RMEM_WIRE_SIZE(type, size) \
	_Static_assert(sizeof(type) == (size), "wire size of " #type)
#endif

/*
 * Protocol versions this header describes. Version 2 adds fencing: OPEN's
 * QUEUE, FENCE and FENCE_ALL flags and the fence counters after STATS.
 * Version 3 adds named keys (a key id in AUTH) and MACs over the whole
 * handshake transcript, and a donor marks a version it chose below its
 * own highest (Documentation/protocol.rst, "Handshake").
 */
#define RMEM_PROTO_VERSION_MIN	1
#define RMEM_PROTO_VERSION	3
#define RMEM_PROTO_VERSION_FENCE 2	/* the first version that fences */
#define RMEM_PROTO_VERSION_KEYID 3	/* the first with key ids, transcript */

#define RMEM_DEFAULT_PORT	7609

/* "RMEQ" and "RMEP" when read as bytes off the wire. */
#define RMEM_REQ_MAGIC		0x51454d52u
#define RMEM_REPLY_MAGIC	0x50454d52u

/* Frames are the unit of donor memory; lines the unit of PATCH. */
#define RMEM_FRAME_SHIFT	12
#define RMEM_FRAME_SIZE		(1u << RMEM_FRAME_SHIFT)
#define RMEM_LINE_SHIFT		6
#define RMEM_LINE_SIZE		(1u << RMEM_LINE_SHIFT)
#define RMEM_LINES_PER_FRAME	(RMEM_FRAME_SIZE / RMEM_LINE_SIZE)

/* Limits a donor enforces; a request past them is refused. */
#define RMEM_MAX_IO_FRAMES	256	/* frames in one READ or WRITE (1 MiB) */
#define RMEM_MAX_DISCARD_EXTENTS 256	/* extents in one DISCARD */
#define RMEM_MAX_PING		64	/* PING payload bytes, echoed back */
#define RMEM_MAX_PAYLOAD	(RMEM_MAX_IO_FRAMES * RMEM_FRAME_SIZE)

#define RMEM_NONCE_SIZE		32
#define RMEM_MAC_SIZE		32	/* HMAC-SHA256 */
#define RMEM_TOKEN_SIZE		16
#define RMEM_NAME_SIZE		40
#define RMEM_KEY_ID_SIZE	32	/* key id in AUTH, NUL-padded */
#define RMEM_KEY_MIN		16	/* shortest shared secret accepted */
#define RMEM_KEY_MAX		256

/*
 * Page hash carried by PATCH: XXH64 with this seed over the 4096 bytes of
 * the frame (the kernel's lib/xxhash xxh64() and libxxhash's XXH64() agree).
 */
#define RMEM_HASH_SEED		0ull

enum rmem_op {
	RMEM_OP_HELLO	= 1,	/* version negotiation, nonce exchange */
	RMEM_OP_AUTH	= 2,	/* challenge-response with the shared key */
	RMEM_OP_OPEN	= 3,	/* create or join this client's region */
	RMEM_OP_READ	= 4,	/* frames [frame, frame+count) */
	RMEM_OP_WRITE	= 5,	/* frames [frame, frame+count) */
	RMEM_OP_PATCH	= 6,	/* masked lines of one frame, verified by hash */
	RMEM_OP_DISCARD	= 7,	/* extents whose contents are no longer needed */
	RMEM_OP_STATS	= 8,	/* donor and region counters */
	RMEM_OP_PING	= 9,	/* echo up to RMEM_MAX_PING bytes */
	RMEM_OP_CLOSE	= 10,	/* orderly close, optionally freeing the region */
	RMEM_OP_MAX	= RMEM_OP_CLOSE,
};

/*
 * Reply status. Numbers never change meaning; new ones are only appended.
 * "fatal" ones are followed by the donor closing the connection, because
 * after them it can no longer trust where the next header starts.
 */
enum rmem_status {
	RMEM_OK		= 0,
	RMEM_E_PROTO	= 1,	/* malformed header or payload (fatal) */
	RMEM_E_VERSION	= 2,	/* no protocol version in common (fatal) */
	RMEM_E_AUTH	= 3,	/* the MAC does not prove the key (fatal) */
	RMEM_E_NOAUTH	= 4,	/* request before authentication (fatal) */
	RMEM_E_OP	= 5,	/* unknown operation or flag */
	RMEM_E_INVAL	= 6,	/* bad count or argument */
	RMEM_E_TOOBIG	= 7,	/* payload length over the limit (fatal) */
	RMEM_E_RANGE	= 8,	/* frame outside the region */
	RMEM_E_NOREGION	= 9,	/* no region open on this connection */
	RMEM_E_QUOTA	= 10,	/* the key's regions would exceed its quota */
	RMEM_E_NOSPC	= 11,	/* the pool has too few free frames */
	RMEM_E_NOENT	= 12,	/* no region with that id and token */
	RMEM_E_MISMATCH	= 13,	/* patched frame's hash differs; frame unchanged */
	RMEM_E_BUSY	= 14,	/* too many clients (fatal) */
	RMEM_E_SHUTDOWN	= 15,	/* donor is shutting down (fatal) */
	RMEM_E_INTERNAL	= 16,	/* donor-side failure */
	RMEM_STATUS_MAX	= RMEM_E_INTERNAL,
};

/* Every request starts with this header. */
struct rmem_req_hdr {
	__le32 magic;		/* RMEM_REQ_MAGIC */
	__le16 op;		/* enum rmem_op */
	__le16 flags;		/* per-op RMEM_*_F flags; unknown bits refused */
	__le64 tag;		/* echoed in the reply */
	__le64 frame;		/* first frame: READ, WRITE, PATCH */
	__le32 count;		/* frames: READ, WRITE; extents: DISCARD */
	__le32 len;		/* payload bytes following this header */
};
RMEM_WIRE_SIZE(struct rmem_req_hdr, 32);

/* Every reply starts with this header. */
struct rmem_reply_hdr {
	__le32 magic;		/* RMEM_REPLY_MAGIC */
	__le16 op;		/* the request's op */
	__le16 status;		/* enum rmem_status */
	__le64 tag;		/* the request's tag */
	__le32 len;		/* payload bytes following this header */
	__le32 reserved;	/* zero */
};
RMEM_WIRE_SIZE(struct rmem_reply_hdr, 24);

/* HELLO request payload. */
struct rmem_hello {
	__le16 min_version;
	__le16 max_version;
	__le32 flags;		/* zero */
	__u8 nonce[RMEM_NONCE_SIZE];	/* client challenge, random */
	char name[RMEM_NAME_SIZE];	/* client name for logs, NUL-padded */
};
RMEM_WIRE_SIZE(struct rmem_hello, 80);

/* HELLO reply payload (also sent with RMEM_E_VERSION). */
struct rmem_hello_reply {
	__le16 version;		/* chosen version; 0 with RMEM_E_VERSION */
	__le16 min_version;	/* what the donor speaks */
	__le16 max_version;
	__le16 reserved;
	__le32 flags;		/* zero */
	__le32 reserved2;
	__u8 nonce[RMEM_NONCE_SIZE];	/* donor challenge, random */
};
RMEM_WIRE_SIZE(struct rmem_hello_reply, 48);

/*
 * The downgrade mark: a donor of version 3 or later that chose a version
 * below its own highest ends its nonce with these 6 bytes and its highest
 * version (le16). Every version's MACs cover the donor nonce, so a client
 * that offered more than it got and finds the mark naming more knows that
 * its HELLO was changed on the way.
 */
#define RMEM_DOWNGRADE_MARK	"RMEMDG"
#define RMEM_DOWNGRADE_MARK_LEN	6

/*
 * AUTH request payload. The key itself never crosses the wire:
 *   mac = HMAC-SHA256(key, "rmem-client" || le16 version ||
 *                          donor nonce || client nonce)
 */
struct rmem_auth {
	__u8 mac[RMEM_MAC_SIZE];
};
RMEM_WIRE_SIZE(struct rmem_auth, 32);

/*
 * AUTH request payload from version 3 on. key_id names the donor's key
 * ([client NAME] in rmem-poold.conf; all zero: its [auth] key). Both MACs
 * cover the transcript, th = SHA-256(HELLO payload || HELLO reply payload
 * || key_id):
 *   mac = HMAC-SHA256(key, "rmem-client-3" || th)
 */
struct rmem_auth_v3 {
	__u8 mac[RMEM_MAC_SIZE];
	char key_id[RMEM_KEY_ID_SIZE];	/* [A-Za-z0-9._-], NUL-padded */
};
RMEM_WIRE_SIZE(struct rmem_auth_v3, 64);

/*
 * AUTH reply payload. The donor proves it holds the key too:
 *   mac = HMAC-SHA256(key, "rmem-donor" || le16 version ||
 *                          client nonce || donor nonce)
 * and from version 3 on, over the transcript and the rest of this reply:
 *   mac = HMAC-SHA256(key, "rmem-donor-3" || th || client mac ||
 *                          the 32 bytes of this reply after mac)
 * quota_frames is then what the key's quota has left, not one region's.
 */
struct rmem_auth_reply {
	__u8 mac[RMEM_MAC_SIZE];
	__le64 quota_frames;	/* largest region this client may open now */
	__le64 free_frames;	/* frames free in the pool now */
	__le32 max_io_frames;	/* RMEM_MAX_IO_FRAMES or less */
	__le32 max_discard_extents;
	__le32 frame_size;	/* RMEM_FRAME_SIZE */
	__le32 reserved;
};
RMEM_WIRE_SIZE(struct rmem_auth_reply, 64);

/*
 * OPEN flags (in rmem_req_hdr.flags): exactly one of CREATE and ATTACH,
 * and from version 2 on (Documentation/protocol.rst, "Fencing"):
 *   QUEUE      rmem_req_hdr.count is this connection's queue index,
 *              0..RMEM_MAX_QUEUES-1 (without QUEUE, count is 0);
 *   FENCE      ATTACH and QUEUE only: before the reply, close every older
 *              connection of the region with the same queue index and
 *              execute none of their requests that are not yet executed;
 *   FENCE_ALL  ATTACH only: the same for every older connection of the
 *              region, whatever its queue.
 * rmem_req_hdr.frame is zero for OPEN.
 */
#define RMEM_OPEN_F_CREATE	0x0001	/* new zeroed region of .frames */
#define RMEM_OPEN_F_ATTACH	0x0002	/* join region .region_id by token */
#define RMEM_OPEN_F_QUEUE	0x0004	/* count: this connection's queue */
#define RMEM_OPEN_F_FENCE	0x0008	/* fence older ones of that queue */
#define RMEM_OPEN_F_FENCE_ALL	0x0010	/* fence every older connection */

/* Queue indices OPEN accepts; also the most queues a device has. */
#define RMEM_MAX_QUEUES		16

/* OPEN request payload. */
struct rmem_open {
	__le64 frames;		/* CREATE: size; ATTACH: 0 or the size */
	__le64 region_id;	/* ATTACH: the region to join */
	__u8 token[RMEM_TOKEN_SIZE];	/* ATTACH: its token */
};
RMEM_WIRE_SIZE(struct rmem_open, 32);

/* OPEN reply payload: the token lets other connections join. */
struct rmem_open_reply {
	__le64 region_id;
	__le64 frames;
	__u8 token[RMEM_TOKEN_SIZE];
};
RMEM_WIRE_SIZE(struct rmem_open_reply, 32);

/*
 * PATCH payload: this header, then one 64-byte line for each set bit of
 * mask, lowest bit first. hash is the page hash (RMEM_HASH_SEED) of the
 * whole frame after the lines are applied; the donor applies them only if
 * it matches, and otherwise answers RMEM_E_MISMATCH leaving the frame as it
 * was. A zero mask just checks the frame's hash.
 */
struct rmem_patch {
	__le64 mask;
	__le64 hash;
};
RMEM_WIRE_SIZE(struct rmem_patch, 16);

/* DISCARD payload: count of these. Discarded frames read back as zeros. */
struct rmem_extent {
	__le64 frame;
	__le32 count;
	__le32 reserved;	/* zero */
};
RMEM_WIRE_SIZE(struct rmem_extent, 16);

/* CLOSE flags. */
#define RMEM_CLOSE_F_RELEASE	0x0001	/* free the region now */

/* I/O counters, kept per donor and per region. */
struct rmem_io_stats {
	__le64 reads;		/* READ requests served */
	__le64 writes;		/* WRITE requests served */
	__le64 patches;		/* PATCH requests applied */
	__le64 mismatches;	/* PATCH requests refused with MISMATCH */
	__le64 discarded;	/* frames discarded */
	__le64 bytes_in;	/* payload bytes received */
	__le64 bytes_out;	/* payload bytes sent */
	__le64 errors;		/* requests answered with an error */
};
RMEM_WIRE_SIZE(struct rmem_io_stats, 64);

/* STATS reply payload. Region fields are zero when none is open. */
struct rmem_stats {
	__le64 pool_frames;
	__le64 free_frames;
	__le64 quota_frames;
	__le64 uptime_sec;
	__le32 clients;		/* connections now */
	__le32 max_clients;
	__le32 regions;		/* regions now, attached or orphaned */
	__le32 flags;		/* RMEM_STATS_F_* */
	__le64 auth_failures;	/* peers refused at AUTH */
	__le64 proto_errors;	/* peers dropped for malformed input */
	struct rmem_io_stats donor;
	__le64 region_id;
	__le64 region_frames;
	struct rmem_io_stats region;
};
RMEM_WIRE_SIZE(struct rmem_stats, 208);

#define RMEM_STATS_F_HUGEPAGES	0x0001	/* pool is on huge pages */
#define RMEM_STATS_F_LOCKED	0x0002	/* pool is locked in RAM */

/*
 * From version 2 on, the STATS reply payload is struct rmem_stats and then
 * this (240 bytes); a version 1 connection gets struct rmem_stats alone.
 */
struct rmem_fence_stats {
	__le64 fenced;		/* connections closed by a fence */
	__le64 fenced_bytes;	/* their request bytes dropped unexecuted */
	__le64 region_generation; /* fences of this region so far */
	__le64 region_fenced;	/* this region's connections fenced */
};
RMEM_WIRE_SIZE(struct rmem_fence_stats, 32);

/*
 * From version 3 on, this follows struct rmem_fence_stats (272 bytes in
 * all): what the connection's key holds of its quota, and the pool's
 * freed frames that still hold a client's bytes until the background
 * scrubber (or a new region that needs them) zeroes them.
 */
struct rmem_key_stats {
	__le64 key_frames;	/* frames the key's regions hold, orphans too */
	__le32 key_regions;	/* the key's regions, orphans too */
	__le32 reserved;	/* zero */
	__le64 dirty_frames;	/* freed, not yet zeroed */
	__le64 scrubbed_frames;	/* freed frames zeroed since the start */
};
RMEM_WIRE_SIZE(struct rmem_key_stats, 32);

/*
 * Control plane: generic netlink family "rmem", as nbd does it. rmemctl
 * connects, authenticates and opens the region in userspace, then hands
 * the connected sockets (one per hardware queue) to the kernel.
 */
#define RMEM_GENL_NAME		"rmem"
#define RMEM_GENL_VERSION	1
#define RMEM_GENL_MCAST_NAME	"events"

enum rmem_genl_cmd {
	RMEM_CMD_UNSPEC,
	RMEM_CMD_CONNECT,	/* sockets + geometry [+ INDEX asked for, else
				 * any free; EEXIST if taken] -> new device;
				 * replies INDEX */
	RMEM_CMD_DISCONNECT,	/* INDEX: tear the device down */
	RMEM_CMD_RECONFIGURE,	/* INDEX + SOCKETS: replace dead connections */
	RMEM_CMD_STATUS,	/* [INDEX]: one reply per device */
	RMEM_CMD_LINK_DEAD,	/* multicast: INDEX, QUEUE lost their donor */
	__RMEM_CMD_MAX,
};
#define RMEM_CMD_MAX	(__RMEM_CMD_MAX - 1)

enum rmem_genl_attr {
	RMEM_ATTR_UNSPEC,
	RMEM_ATTR_INDEX,	/* u32: N of /dev/rmemN */
	RMEM_ATTR_SIZE_BYTES,	/* u64: device size, a multiple of 4096 */
	RMEM_ATTR_SOCKETS,	/* nested: RMEM_SOCK_FD, one per queue */
	RMEM_ATTR_TIMEOUT_MS,	/* u32: a request's time on the wire */
	RMEM_ATTR_DEAD_TIMEOUT_MS, /* u32: how long I/O waits for a reconnect */
	RMEM_ATTR_DONOR,	/* string: "host:port", shown in sysfs */
	RMEM_ATTR_REGION_ID,	/* u64 */
	RMEM_ATTR_REGION_TOKEN,	/* binary, RMEM_TOKEN_SIZE: to reconnect (in
				 * STATUS only to CAP_NET_ADMIN) */
	RMEM_ATTR_QUEUE,	/* u32: a queue index (LINK_DEAD) */
	RMEM_ATTR_STATE,	/* string: "up", "degraded", "dead" (STATUS) */
	RMEM_ATTR_QUEUES,	/* u32: number of queues (STATUS) */
	RMEM_ATTR_DEAD_MASK,	/* u64: queues without a connection (STATUS) */
	RMEM_ATTR_FRAMES,	/* u64: frames of the region, at least the
				 * device's slots; more keep retained bases
				 * (CONNECT; default one per slot) */
	RMEM_ATTR_QUEUE_MASK,	/* u64: RECONFIGURE: the queues its sockets
				 * are for, one bit each, the i-th socket for
				 * the i-th lowest; each must be dead, or
				 * nothing is replaced (-EBUSY) */
	RMEM_ATTR_READ_QUEUES,	/* u32: of the queues, the last this many
				 * carry reads only and the others the rest
				 * (CONNECT, STATUS; default 0: every queue
				 * carries everything) */
	__RMEM_ATTR_MAX,
};
#define RMEM_ATTR_MAX	(__RMEM_ATTR_MAX - 1)

enum rmem_sock_attr {
	RMEM_SOCK_UNSPEC,
	RMEM_SOCK_FD,		/* u32 */
	__RMEM_SOCK_MAX,
};
#define RMEM_SOCK_MAX	(__RMEM_SOCK_MAX - 1)

#endif /* _UAPI_LINUX_RMEM_H */

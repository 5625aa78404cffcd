// SPDX-License-Identifier: GPL-2.0 OR LGPL-2.1-or-later
/*
 * Pure logic of the rmem wire protocol. See rmem_proto.h and
 * Documentation/protocol.rst; every rule a donor enforces on the shape of a
 * request is here, once, so the donor, the client library, the driver and
 * the tests cannot disagree about it.
 */
#include "rmem_proto.h"

void rmem_req_encode(struct rmem_req_hdr *wire, const struct rmem_req *req)
{
	wire->magic = cpu_to_le32(RMEM_REQ_MAGIC);
	wire->op = cpu_to_le16(req->op);
	wire->flags = cpu_to_le16(req->flags);
	wire->tag = cpu_to_le64(req->tag);
	wire->frame = cpu_to_le64(req->frame);
	wire->count = cpu_to_le32(req->count);
	wire->len = cpu_to_le32(req->len);
}

/*
 * Decode a request header. RMEM_E_PROTO for a bad magic (the stream is not
 * ours, or framing is lost), RMEM_E_TOOBIG for a payload no request can
 * have: both mean the next header cannot be found, so both are fatal.
 */
int rmem_req_decode(const struct rmem_req_hdr *wire, struct rmem_req *req)
{
	req->op = le16_to_cpu(wire->op);
	req->flags = le16_to_cpu(wire->flags);
	req->tag = le64_to_cpu(wire->tag);
	req->frame = le64_to_cpu(wire->frame);
	req->count = le32_to_cpu(wire->count);
	req->len = le32_to_cpu(wire->len);

	if (le32_to_cpu(wire->magic) != RMEM_REQ_MAGIC)
		return RMEM_E_PROTO;
	if (req->len > RMEM_MAX_PAYLOAD)
		return RMEM_E_TOOBIG;
	return RMEM_OK;
}

/*
 * OPEN's flags: one of CREATE and ATTACH (E_OP otherwise, as for a flag we
 * do not know, so a newer client can probe), then the fencing flags in the
 * combinations Documentation/protocol.rst allows; the rest is E_INVAL, a
 * refusal that harms nothing: no connection is fenced by a refused OPEN.
 */
static int rmem_open_check(const struct rmem_req *req)
{
	u16 mode = req->flags & (RMEM_OPEN_F_CREATE | RMEM_OPEN_F_ATTACH);
	u16 fence = req->flags & (RMEM_OPEN_F_FENCE | RMEM_OPEN_F_FENCE_ALL);

	if (req->flags & ~(RMEM_OPEN_F_CREATE | RMEM_OPEN_F_ATTACH |
			   RMEM_OPEN_F_QUEUE | RMEM_OPEN_F_FENCE |
			   RMEM_OPEN_F_FENCE_ALL))
		return RMEM_E_OP;
	if (mode != RMEM_OPEN_F_CREATE && mode != RMEM_OPEN_F_ATTACH)
		return RMEM_E_OP;
	if (req->frame)
		return RMEM_E_INVAL;
	if (req->flags & RMEM_OPEN_F_QUEUE) {
		if (req->count >= RMEM_MAX_QUEUES)
			return RMEM_E_INVAL;
	} else if (req->count) {
		return RMEM_E_INVAL;
	}
	/* a new region has nothing to fence; FENCE names a queue; one kind */
	if (fence && (mode != RMEM_OPEN_F_ATTACH ||
		      fence == (RMEM_OPEN_F_FENCE | RMEM_OPEN_F_FENCE_ALL)))
		return RMEM_E_INVAL;
	if ((fence & RMEM_OPEN_F_FENCE) && !(req->flags & RMEM_OPEN_F_QUEUE))
		return RMEM_E_INVAL;
	return RMEM_OK;
}

/*
 * The shape rules of each op, independent of any region. A length that does
 * not fit the op is RMEM_E_PROTO (the peer is broken); a count or flag
 * outside what we support, with a consistent length, is answered and the
 * payload skipped, so a newer client can probe an older donor.
 */
int rmem_req_check(const struct rmem_req *req)
{
	u32 lines;

	switch (req->op) {
	case RMEM_OP_HELLO:
		if (req->len != sizeof(struct rmem_hello))
			return RMEM_E_PROTO;
		break;
	case RMEM_OP_AUTH:
		/* which of the two the version wants, the donor checks */
		if (req->len != sizeof(struct rmem_auth) &&
		    req->len != sizeof(struct rmem_auth_v3))
			return RMEM_E_PROTO;
		break;
	case RMEM_OP_OPEN:
		if (req->len != sizeof(struct rmem_open))
			return RMEM_E_PROTO;
		return rmem_open_check(req);
	case RMEM_OP_READ:
		if (req->len != 0)
			return RMEM_E_PROTO;
		if (req->count == 0 || req->count > RMEM_MAX_IO_FRAMES)
			return RMEM_E_INVAL;
		break;
	case RMEM_OP_WRITE:
		if (req->count == 0 || req->count > RMEM_MAX_IO_FRAMES)
			return req->len == 0 ? RMEM_E_INVAL : RMEM_E_PROTO;
		if (req->len != (u64)req->count * RMEM_FRAME_SIZE)
			return RMEM_E_PROTO;
		break;
	case RMEM_OP_PATCH:
		if (req->len < sizeof(struct rmem_patch))
			return RMEM_E_PROTO;
		lines = req->len - (u32)sizeof(struct rmem_patch);
		if (lines % RMEM_LINE_SIZE ||
		    lines / RMEM_LINE_SIZE > RMEM_LINES_PER_FRAME)
			return RMEM_E_PROTO;
		if (req->count != 1)
			return RMEM_E_INVAL;
		break;
	case RMEM_OP_DISCARD:
		/* u64: count comes off the wire and must not wrap the product */
		if (req->len != (u64)req->count * sizeof(struct rmem_extent))
			return RMEM_E_PROTO;
		if (req->count == 0 || req->count > RMEM_MAX_DISCARD_EXTENTS)
			return RMEM_E_INVAL;
		break;
	case RMEM_OP_STATS:
		if (req->len != 0)
			return RMEM_E_PROTO;
		break;
	case RMEM_OP_PING:
		if (req->len > RMEM_MAX_PING)
			return RMEM_E_PROTO;
		break;
	case RMEM_OP_CLOSE:
		if (req->len != 0)
			return RMEM_E_PROTO;
		if (req->flags & ~RMEM_CLOSE_F_RELEASE)
			return RMEM_E_OP;
		return RMEM_OK;
	default:
		return RMEM_E_OP;
	}
	return req->flags ? RMEM_E_OP : RMEM_OK;
}

void rmem_reply_encode(struct rmem_reply_hdr *wire,
		       const struct rmem_reply *reply)
{
	wire->magic = cpu_to_le32(RMEM_REPLY_MAGIC);
	wire->op = cpu_to_le16(reply->op);
	wire->status = cpu_to_le16(reply->status);
	wire->tag = cpu_to_le64(reply->tag);
	wire->len = cpu_to_le32(reply->len);
	wire->reserved = 0;
}

int rmem_reply_decode(const struct rmem_reply_hdr *wire,
		      struct rmem_reply *reply)
{
	reply->op = le16_to_cpu(wire->op);
	reply->status = le16_to_cpu(wire->status);
	reply->tag = le64_to_cpu(wire->tag);
	reply->len = le32_to_cpu(wire->len);

	/* reserved is zero until a protocol version gives it a meaning: a
	 * donor that sets it is not one this client understands */
	if (le32_to_cpu(wire->magic) != RMEM_REPLY_MAGIC || wire->reserved)
		return RMEM_E_PROTO;
	if (reply->len > RMEM_MAX_PAYLOAD)
		return RMEM_E_TOOBIG;
	return RMEM_OK;
}

/*
 * A client's check of a reply against the request it answers: same op, and
 * a successful reply carries exactly the payload the request implies. An
 * error reply may carry only a HELLO reply (RMEM_E_VERSION) or nothing.
 */
int rmem_reply_check(const struct rmem_reply *reply, u16 op, u32 expect_len)
{
	if (reply->op != op)
		return RMEM_E_PROTO;
	if (reply->status == RMEM_OK || reply->status == RMEM_E_VERSION)
		return reply->len == expect_len ? RMEM_OK : RMEM_E_PROTO;
	return reply->len == 0 ? RMEM_OK : RMEM_E_PROTO;
}

struct rmem_status_info {
	const char *name;
	const char *str;
	int err;
	bool fatal;
};

static const struct rmem_status_info rmem_statuses[] = {
	[RMEM_OK]	  = { "OK", "success", 0, false },
	[RMEM_E_PROTO]	  = { "E_PROTO", "malformed request", EPROTO, true },
	[RMEM_E_VERSION]  = { "E_VERSION", "no protocol version in common",
			      EPROTONOSUPPORT, true },
	[RMEM_E_AUTH]	  = { "E_AUTH", "authentication failed (wrong key)",
			      EACCES, true },
	[RMEM_E_NOAUTH]	  = { "E_NOAUTH", "request before authentication",
			      EPERM, true },
	[RMEM_E_OP]	  = { "E_OP", "operation or flag not supported",
			      EOPNOTSUPP, false },
	[RMEM_E_INVAL]	  = { "E_INVAL", "invalid argument", EINVAL, false },
	[RMEM_E_TOOBIG]	  = { "E_TOOBIG", "payload too large", E2BIG, true },
	[RMEM_E_RANGE]	  = { "E_RANGE", "frame outside the region",
			      ERANGE, false },
	[RMEM_E_NOREGION] = { "E_NOREGION", "no region open", ENXIO, false },
	[RMEM_E_QUOTA]	  = { "E_QUOTA", "the key's regions would exceed its quota",
			      EDQUOT, false },
	[RMEM_E_NOSPC]	  = { "E_NOSPC", "donor pool is out of frames",
			      ENOSPC, false },
	[RMEM_E_NOENT]	  = { "E_NOENT", "no such region (or wrong token)",
			      ENOENT, false },
	[RMEM_E_MISMATCH] = { "E_MISMATCH", "patched page hash mismatch",
			      EBADMSG, false },
	[RMEM_E_BUSY]	  = { "E_BUSY", "donor has too many clients",
			      EUSERS, true },
	[RMEM_E_SHUTDOWN] = { "E_SHUTDOWN", "donor is shutting down",
			      ESHUTDOWN, true },
	[RMEM_E_INTERNAL] = { "E_INTERNAL", "donor internal error",
			      EIO, false },
};

static const struct rmem_status_info *rmem_status_info(int status)
{
	if (status < 0 || status >= (int)ARRAY_SIZE(rmem_statuses))
		return NULL;
	return &rmem_statuses[status];
}

/* Fatal statuses are followed by the donor closing the connection. */
bool rmem_status_fatal(int status)
{
	const struct rmem_status_info *i = rmem_status_info(status);

	return !i || i->fatal;
}

const char *rmem_status_name(int status)
{
	const struct rmem_status_info *i = rmem_status_info(status);

	return i ? i->name : "E_UNKNOWN";
}

const char *rmem_status_str(int status)
{
	const struct rmem_status_info *i = rmem_status_info(status);

	return i ? i->str : "unknown status";
}

/* Positive errno for a status; unknown statuses are I/O errors. */
int rmem_status_errno(int status)
{
	const struct rmem_status_info *i = rmem_status_info(status);

	return i ? i->err : EIO;
}

static const char *const rmem_op_names[] = {
	[RMEM_OP_HELLO] = "HELLO",	[RMEM_OP_AUTH] = "AUTH",
	[RMEM_OP_OPEN] = "OPEN",	[RMEM_OP_READ] = "READ",
	[RMEM_OP_WRITE] = "WRITE",	[RMEM_OP_PATCH] = "PATCH",
	[RMEM_OP_DISCARD] = "DISCARD",	[RMEM_OP_STATS] = "STATS",
	[RMEM_OP_PING] = "PING",	[RMEM_OP_CLOSE] = "CLOSE",
};

const char *rmem_op_name(int op)
{
	if (op <= 0 || op >= (int)ARRAY_SIZE(rmem_op_names))
		return "UNKNOWN";
	return rmem_op_names[op];
}

/* The page hash PATCH is verified with: XXH64, RMEM_HASH_SEED, 4 KiB. */
u64 rmem_page_hash(const void *page)
{
	return rmem_xxh64(page, RMEM_FRAME_SIZE, RMEM_HASH_SEED);
}

/* Exact mask of the 64-byte lines that differ between two pages. */
u64 rmem_line_diff(const void *old_page, const void *new_page)
{
	const u8 *a = old_page, *b = new_page;
	u64 mask = 0;
	unsigned int i;

	for (i = 0; i < RMEM_LINES_PER_FRAME; i++)
		if (memcmp(a + i * RMEM_LINE_SIZE, b + i * RMEM_LINE_SIZE,
			   RMEM_LINE_SIZE))
			mask |= 1ull << i;
	return mask;
}

/* Copy the masked lines of page, lowest first, into lines; returns bytes. */
unsigned int rmem_patch_gather(const void *page, u64 mask, void *lines)
{
	const u8 *src = page;
	u8 *dst = lines;
	unsigned int i, n = 0;

	for (i = 0; i < RMEM_LINES_PER_FRAME; i++) {
		if (!(mask & (1ull << i)))
			continue;
		memcpy(dst + n, src + i * RMEM_LINE_SIZE, RMEM_LINE_SIZE);
		n += RMEM_LINE_SIZE;
	}
	return n;
}

/* The payload length must be exactly the header plus one line per bit. */
int rmem_patch_check(const struct rmem_patch *patch, u32 len)
{
	return len == rmem_patch_len(le64_to_cpu(patch->mask)) ?
		RMEM_OK : RMEM_E_PROTO;
}

/*
 * Apply a PATCH to a frame if, and only if, the result hashes to hash. The
 * hash is computed over the would-be result in place, line by line from the
 * patch or the frame, so a MISMATCH leaves the frame untouched and costs no
 * copy of the page.
 */
int rmem_patch_apply(void *frame, u64 mask, const void *lines, u64 hash)
{
	struct rmem_xxh64_state st;
	const u8 *src = lines;
	u8 *dst = frame;
	unsigned int i, n = 0;

	rmem_xxh64_reset(&st, RMEM_HASH_SEED);
	for (i = 0; i < RMEM_LINES_PER_FRAME; i++) {
		if (mask & (1ull << i)) {
			rmem_xxh64_update(&st, src + n, RMEM_LINE_SIZE);
			n += RMEM_LINE_SIZE;
		} else {
			rmem_xxh64_update(&st, dst + i * RMEM_LINE_SIZE,
					  RMEM_LINE_SIZE);
		}
	}
	if (rmem_xxh64_digest(&st) != hash)
		return RMEM_E_MISMATCH;

	n = 0;
	for (i = 0; i < RMEM_LINES_PER_FRAME; i++) {
		if (!(mask & (1ull << i)))
			continue;
		memcpy(dst + i * RMEM_LINE_SIZE, src + n, RMEM_LINE_SIZE);
		n += RMEM_LINE_SIZE;
	}
	return RMEM_OK;
}

/* SPDX-License-Identifier: GPL-2.0 OR LGPL-2.1-or-later */
/*
 * Pure logic of the rmem wire protocol: header encode/decode, the shape
 * rules every request must meet, status names and errno mapping, and PATCH
 * build/apply/verify. No block, socket or allocation types: this file set
 * builds into the module, KUnit and userspace alike (see rmem_compat.h).
 */
#ifndef RMEM_PROTO_H
#define RMEM_PROTO_H

#include "rmem_compat.h"

/* A request header in CPU byte order. */
struct rmem_req {
	u16 op;
	u16 flags;
	u64 tag;
	u64 frame;
	u32 count;
	u32 len;
};

/* A reply header in CPU byte order. */
struct rmem_reply {
	u16 op;
	u16 status;
	u64 tag;
	u32 len;
};

void rmem_req_encode(struct rmem_req_hdr *wire, const struct rmem_req *req);
int rmem_req_decode(const struct rmem_req_hdr *wire, struct rmem_req *req);
int rmem_req_check(const struct rmem_req *req);

void rmem_reply_encode(struct rmem_reply_hdr *wire,
		       const struct rmem_reply *reply);
int rmem_reply_decode(const struct rmem_reply_hdr *wire,
		      struct rmem_reply *reply);
int rmem_reply_check(const struct rmem_reply *reply, u16 op, u32 expect_len);

bool rmem_status_fatal(int status);
const char *rmem_status_name(int status);
const char *rmem_status_str(int status);
int rmem_status_errno(int status);
const char *rmem_op_name(int op);

/* PATCH: payload length for a mask, and the checks and work on each side. */
static inline u32 rmem_patch_len(u64 mask)
{
	return (u32)sizeof(struct rmem_patch) + hweight64(mask) * RMEM_LINE_SIZE;
}

u64 rmem_page_hash(const void *page);

/*
 * The end-to-end checksum a client keeps per slot: the low half of the
 * slot's page hash, so a PATCH, whose page hash is sent anyway, costs
 * nothing more.
 */
static inline u32 rmem_slot_sum(u64 page_hash)
{
	return (u32)page_hash;
}
u64 rmem_line_diff(const void *old_page, const void *new_page);
unsigned int rmem_patch_gather(const void *page, u64 mask, void *lines);
int rmem_patch_check(const struct rmem_patch *patch, u32 len);
int rmem_patch_apply(void *frame, u64 mask, const void *lines, u64 hash);

#endif /* RMEM_PROTO_H */

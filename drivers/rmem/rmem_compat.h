/* SPDX-License-Identifier: GPL-2.0 OR LGPL-2.1-or-later */
/*
 * The pure-logic files of the driver (rmem_proto.c, ...) include only this
 * header, so the same source builds into the module, into KUnit and into the
 * userspace programs and unit tests. In the kernel it pulls the real
 * headers; in userspace it maps the few kernel names they use onto libc and
 * libxxhash.
 */
#ifndef RMEM_COMPAT_H
#define RMEM_COMPAT_H

#ifdef __KERNEL__

#include <linux/types.h>
#include <linux/bitops.h>
#include <linux/compiler.h>
#include <linux/errno.h>
#include <linux/math64.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/xxhash.h>
#include <asm/byteorder.h>

#define rmem_xxh64_state	xxh64_state
#define rmem_xxh64_reset	xxh64_reset
#define rmem_xxh64_update	xxh64_update
#define rmem_xxh64_digest	xxh64_digest
#define rmem_xxh64		xxh64
#define rmem_div_u64		div_u64
#define rmem_fls64		fls64
/* long loops of set-up (a map of millions of frames) let others run */
#define rmem_cond_resched()	cond_resched()

#else /* userspace */

#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY	/* XXH64_state_t on the stack */
#include <xxhash.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int32_t s32;

#define cpu_to_le16(x)	htole16(x)
#define cpu_to_le32(x)	htole32(x)
#define cpu_to_le64(x)	htole64(x)
#define le16_to_cpu(x)	le16toh(x)
#define le32_to_cpu(x)	le32toh(x)
#define le64_to_cpu(x)	le64toh(x)

static inline unsigned int hweight64(u64 w)
{
	return (unsigned int)__builtin_popcountll(w);
}

static inline u64 rmem_div_u64(u64 a, u32 b)
{
	return a / b;
}

/* 1-based index of the highest set bit, 0 for none (the kernel's fls64) */
static inline int rmem_fls64(u64 x)
{
	return x ? 64 - __builtin_clzll(x) : 0;
}

static inline void rmem_cond_resched(void)
{
}

#define rmem_xxh64_state	XXH64_state_s
#define rmem_xxh64_reset(s, seed)	((void)XXH64_reset((s), (seed)))
#define rmem_xxh64_update(s, p, n)	((void)XXH64_update((s), (p), (n)))
#define rmem_xxh64_digest(s)		((u64)XXH64_digest(s))
#define rmem_xxh64(p, n, seed)		((u64)XXH64((p), (n), (seed)))

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

/* a field read without the lock that writes it (the kernel's) */
#define READ_ONCE(x)		(*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v)	(*(volatile __typeof__(x) *)&(x) = (v))

#endif /* __KERNEL__ */

#include "../../include/uapi/linux/rmem.h"

#endif /* RMEM_COMPAT_H */

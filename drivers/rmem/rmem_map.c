// SPDX-License-Identifier: GPL-2.0 OR LGPL-2.1-or-later
/*
 * Slot map and frame allocator (rmem_map.h). Free and pending frames share
 * one array from opposite ends, retained and held frames are on lists
 * through the same link words, and one more word per frame holds its
 * state and the requests naming it: five u32 per frame, and every
 * operation but init and the consistency check is O(1) per frame.
 */
#include "rmem_map.h"

static void rmem_set_state(struct rmem_map *m, u32 frame,
			   enum rmem_frame_state st, u32 flags)
{
	m->fstate[frame] = (m->fstate[frame] & ~(RMEM_FS_STATE | RMEM_FS_LOST |
						 RMEM_FS_WAS_HELD)) | st | flags;
}

void rmem_map_init(struct rmem_map *m, u32 *words, u32 nslots, u32 nframes)
{
	u32 i;

	m->slot_frame = words;
	m->stack = words + nslots;
	m->owner = m->stack + nframes;
	m->ret_prev = m->owner + nframes;
	m->ret_next = m->ret_prev + nframes;
	m->fstate = m->ret_next + nframes;
	m->ret_head = RMEM_NO_FRAME;
	m->ret_tail = RMEM_NO_FRAME;
	m->held_head = RMEM_NO_FRAME;
	m->unfenced = false;
	m->nslots = nslots;
	m->nframes = nframes;
	/* a map of a large device is hundreds of MiB: let others run */
	for (i = 0; i < nslots; i++) {
		m->slot_frame[i] = RMEM_NO_FRAME;
		if (!(i % RMEM_MAP_INIT_CHUNK))
			rmem_cond_resched();
	}
	/* popped from the top: frame 0 first, so a fresh device fills the
	 * region in order and runs of slots get runs of frames */
	for (i = 0; i < nframes; i++) {
		m->stack[i] = nframes - 1 - i;
		m->owner[i] = RMEM_NO_OWNER;
		m->ret_prev[i] = RMEM_NO_FRAME;
		m->ret_next[i] = RMEM_NO_FRAME;
		m->fstate[i] = RMEM_FRAME_FREE;
		if (!(i % RMEM_MAP_INIT_CHUNK))
			rmem_cond_resched();
	}
	m->nfree = nframes;
	m->npending = 0;
	m->nmapped = 0;
	m->nretained = 0;
	m->ndraining = 0;
	m->ndiscarding = 0;
	m->nheld = 0;
	m->reclaimed = 0;
	m->lost_writes = 0;
}

static void rmem_ret_append(struct rmem_map *m, u32 frame)
{
	m->ret_prev[frame] = m->ret_tail;
	m->ret_next[frame] = RMEM_NO_FRAME;
	if (m->ret_tail == RMEM_NO_FRAME)
		m->ret_head = frame;
	else
		m->ret_next[m->ret_tail] = frame;
	m->ret_tail = frame;
	m->nretained++;
	rmem_set_state(m, frame, RMEM_FRAME_RETAINED, 0);
}

/* Off the retained list; the caller gives the frame its next state. */
static void rmem_ret_unlink(struct rmem_map *m, u32 frame)
{
	u32 prev = m->ret_prev[frame], next = m->ret_next[frame];

	if (prev == RMEM_NO_FRAME)
		m->ret_head = next;
	else
		m->ret_next[prev] = next;
	if (next == RMEM_NO_FRAME)
		m->ret_tail = prev;
	else
		m->ret_prev[next] = prev;
	m->ret_prev[frame] = RMEM_NO_FRAME;
	m->ret_next[frame] = RMEM_NO_FRAME;
	m->nretained--;
}

static void rmem_push_pending(struct rmem_map *m, u32 frame)
{
	m->npending++;
	m->stack[m->nframes - m->npending] = frame;
	rmem_set_state(m, frame, RMEM_FRAME_PENDING, 0);
}

/* Nobody knows its bytes and the donor may yet write them: HELD. */
static void rmem_push_held(struct rmem_map *m, u32 frame)
{
	m->owner[frame] = RMEM_NO_OWNER;
	m->ret_next[frame] = m->held_head;
	m->held_head = frame;
	m->nheld++;
	rmem_set_state(m, frame, RMEM_FRAME_HELD, 0);
}

/* Where a frame no request names goes when no slot has it any more. */
static void rmem_given_back(struct rmem_map *m, u32 frame)
{
	if (m->owner[frame] != RMEM_NO_OWNER)
		rmem_ret_append(m, frame);
	else
		rmem_push_pending(m, frame);
}

/* A frame that left a slot; while a request names it, it drains. */
static void rmem_unmapped(struct rmem_map *m, u32 frame)
{
	m->nmapped--;
	if (rmem_map_busy(m, frame)) {
		m->ndraining++;
		rmem_set_state(m, frame, RMEM_FRAME_DRAINING, 0);
	} else {
		rmem_given_back(m, frame);
	}
}

static void rmem_mapped(struct rmem_map *m, u32 slot, u32 frame)
{
	m->slot_frame[slot] = frame;
	m->nmapped++;
	rmem_set_state(m, frame, RMEM_FRAME_MAPPED, 0);
}

/* The slot's frame, or RMEM_NO_FRAME (also for a slot out of range). */
u32 rmem_map_lookup(const struct rmem_map *m, u32 slot)
{
	return slot < m->nslots ? m->slot_frame[slot] : RMEM_NO_FRAME;
}

/*
 * The frame a write to the slot goes to: its own, or one given to it now:
 * a free one, else a pending one (no DISCARD names it yet, so none can
 * destroy what the write puts there; the donor just never hears that it
 * was given back), else the newest retained one, whose owner loses it:
 * the page swapped in last is the one swap will write out last, so its
 * base is the one needed furthest ahead (measured in the guest delta
 * test: 10% more PATCHes than taking the oldest, and 15% faster). None
 * of these is named by a request in flight: a frame that is drains.
 * -ENOSPC when every frame is mapped, draining, held or in a DISCARD on
 * the wire, -ERANGE for a slot past the end.
 */
int rmem_map_assign(struct rmem_map *m, u32 slot, u32 *frame)
{
	u32 f;

	if (slot >= m->nslots)
		return -ERANGE;
	if (m->slot_frame[slot] == RMEM_NO_FRAME) {
		if (m->nfree) {
			f = m->stack[--m->nfree];
		} else if (m->npending) {
			f = m->stack[m->nframes - m->npending];
			m->npending--;
		} else if (m->nretained) {
			f = m->ret_tail;
			rmem_ret_unlink(m, f);
			m->owner[f] = RMEM_NO_OWNER;
			m->reclaimed++;
		} else {
			return -ENOSPC;
		}
		rmem_mapped(m, slot, f);
	}
	*frame = m->slot_frame[slot];
	return 0;
}

/*
 * Give the slot this frame, a base: one that is retained or already the
 * slot's. The slot's other frame, if any, leaves it as a release would.
 * -EBUSY if the frame is neither (another slot's, free, pending, draining,
 * held or being discarded).
 */
int rmem_map_assign_base(struct rmem_map *m, u32 slot, u32 frame)
{
	u32 old;

	if (slot >= m->nslots || frame >= m->nframes)
		return -ERANGE;
	old = m->slot_frame[slot];
	if (old == frame)
		return 0;
	if (!rmem_map_retained(m, frame))
		return -EBUSY;
	rmem_ret_unlink(m, frame);
	rmem_mapped(m, slot, frame);
	if (old != RMEM_NO_FRAME)
		rmem_unmapped(m, old);
	return 0;
}

/* Someone (owner) now knows the frame's contents; the old owner does not. */
void rmem_map_set_owner(struct rmem_map *m, u32 frame, u32 owner)
{
	if (frame < m->nframes)
		m->owner[frame] = owner;
}

/* Nobody knows the frame's contents: retained, it becomes pending. */
void rmem_map_disown(struct rmem_map *m, u32 frame)
{
	if (frame >= m->nframes)
		return;
	m->owner[frame] = RMEM_NO_OWNER;
	if (rmem_map_retained(m, frame)) {
		rmem_ret_unlink(m, frame);
		rmem_push_pending(m, frame);
	}
}

/* The slot's contents are no longer needed: its frame is given back. */
bool rmem_map_release(struct rmem_map *m, u32 slot)
{
	u32 frame;

	if (slot >= m->nslots || m->slot_frame[slot] == RMEM_NO_FRAME)
		return false;
	frame = m->slot_frame[slot];
	m->slot_frame[slot] = RMEM_NO_FRAME;
	rmem_unmapped(m, frame);
	return true;
}

/* rmem_map_release() for count slots from slot; how many had frames. */
u32 rmem_map_release_range(struct rmem_map *m, u32 slot, u32 count)
{
	u32 n = 0, end;

	if (slot >= m->nslots)
		return 0;
	end = count > m->nslots - slot ? m->nslots : slot + count;
	for (; slot < end; slot++)
		n += rmem_map_release(m, slot);
	return n;
}

/*
 * A request that names the frame, a mapped one, is dispatched: until it
 * ends (rmem_map_rq_end) the frame goes to no other slot. -EINVAL for a
 * frame that is not mapped (a caller's bug: it must look the frame up
 * under the same lock), -EOVERFLOW past the count.
 */
int rmem_map_rq_start(struct rmem_map *m, u32 frame)
{
	if (rmem_map_state(m, frame) != RMEM_FRAME_MAPPED)
		return -EINVAL;
	if (m->fstate[frame] & RMEM_FS_WRITING) {
		m->fstate[frame] |= RMEM_FS_WAITED;
		return -EAGAIN;
	}
	if (rmem_map_busy(m, frame) == RMEM_FS_BUSY_MAX)
		return -EOVERFLOW;
	m->fstate[frame] += 1u << RMEM_FS_BUSY_SHIFT;
	return 0;
}

/*
 * Before a write of slot plans its frame: -EAGAIN (and the frame marked
 * waited for) if a write of the slot is in flight; if reads alone name
 * the slot's frame, the slot lets it go (it drains, and the reads finish
 * on it), so that the write takes another and waits for nobody. Only if
 * there is another to take: a slot let go and left without a frame would
 * read as data lost (its checksum is not the zero page's), so with no
 * frame to spare the write waits for the reads instead.
 */
int rmem_map_write_prepare(struct rmem_map *m, u32 slot)
{
	u32 f = rmem_map_lookup(m, slot);

	if (f == RMEM_NO_FRAME || !rmem_map_busy(m, f))
		return 0;
	if ((m->fstate[f] & RMEM_FS_WRITING) ||
	    !(m->nfree || m->npending || m->nretained)) {
		m->fstate[f] |= RMEM_FS_WAITED;
		return -EAGAIN;
	}
	rmem_map_release(m, slot);
	return 0;
}

/* The same for a write: -EAGAIN while any request names the frame. */
int rmem_map_rq_start_write(struct rmem_map *m, u32 frame)
{
	if (rmem_map_state(m, frame) != RMEM_FRAME_MAPPED)
		return -EINVAL;
	if (rmem_map_busy(m, frame)) {
		m->fstate[frame] |= RMEM_FS_WAITED;
		return -EAGAIN;
	}
	m->fstate[frame] += (1u << RMEM_FS_BUSY_SHIFT) | RMEM_FS_WRITING;
	return 0;
}

/*
 * A request that named the frame has ended: answered, failed before it
 * was sent, or lost with its socket. lost_write: it was a write (or
 * PATCH) that may have reached a socket that died, so the donor may
 * still execute it: the frame is held, and its slot, if it still has it,
 * loses it (the bytes on it are unknown; the request goes out again and
 * the slot gets another frame). A draining frame whose last request
 * ended goes where a release would have sent it. True if a request was
 * refused this frame while this one had it: the caller runs its queues.
 */
bool rmem_map_rq_end(struct rmem_map *m, u32 slot, u32 frame, bool lost_write)
{
	enum rmem_frame_state st = rmem_map_state(m, frame);
	bool waiters;

	if ((st != RMEM_FRAME_MAPPED && st != RMEM_FRAME_DRAINING) ||
	    !rmem_map_busy(m, frame))
		return false;	/* not started: rmem_map_check finds the rest */
	waiters = m->fstate[frame] & RMEM_FS_WAITED;
	/* a writer is the frame's only request: it ends with it */
	m->fstate[frame] = (m->fstate[frame] & ~(RMEM_FS_WRITING | RMEM_FS_WAITED)) -
			   (1u << RMEM_FS_BUSY_SHIFT);
	if (lost_write) {
		m->owner[frame] = RMEM_NO_OWNER;
		m->lost_writes++;
		/* a busy frame stays on the slot the request named, the
		 * one slot that can have it: only a release moves it */
		if (st == RMEM_FRAME_MAPPED && rmem_map_lookup(m, slot) == frame) {
			m->slot_frame[slot] = RMEM_NO_FRAME;
			m->nmapped--;
			m->ndraining++;
			st = RMEM_FRAME_DRAINING;
		}
		if (st == RMEM_FRAME_DRAINING)
			rmem_set_state(m, frame, RMEM_FRAME_DRAINING, RMEM_FS_LOST);
	}
	if (st != RMEM_FRAME_DRAINING || rmem_map_busy(m, frame))
		return waiters;
	m->ndraining--;
	if (m->fstate[frame] & RMEM_FS_LOST)
		rmem_push_held(m, frame);
	else
		rmem_given_back(m, frame);
	return waiters;
}

/* Held frames to send again (once fenced), or enough pending ones. */
bool rmem_map_wants_discard(const struct rmem_map *m)
{
	return (m->nheld && !m->unfenced) || m->npending >= RMEM_DISCARD_BATCH;
}

/*
 * Take up to max frames for a DISCARD: every held one first (they wait
 * for it), unless a connection is unfenced, then pending ones, newest
 * first. They are DISCARDING until
 * the caller says how that DISCARD ended.
 */
u32 rmem_map_take_discard(struct rmem_map *m, u32 *frames, u32 max)
{
	u32 n = 0, f;

	while (n < max && !m->unfenced && m->held_head != RMEM_NO_FRAME) {
		f = m->held_head;
		m->held_head = m->ret_next[f];
		m->ret_next[f] = RMEM_NO_FRAME;
		m->nheld--;
		rmem_set_state(m, f, RMEM_FRAME_DISCARDING, RMEM_FS_WAS_HELD);
		frames[n++] = f;
	}
	while (n < max && m->npending) {
		f = m->stack[m->nframes - m->npending];
		m->npending--;
		rmem_set_state(m, f, RMEM_FRAME_DISCARDING, 0);
		frames[n++] = f;
	}
	m->ndiscarding += n;
	return n;
}

/* Frames taken but not sent on any socket: back where they came from. */
void rmem_map_discard_unsent(struct rmem_map *m, const u32 *frames, u32 n)
{
	u32 i;

	for (i = 0; i < n; i++) {
		if (rmem_map_state(m, frames[i]) != RMEM_FRAME_DISCARDING)
			continue;
		m->ndiscarding--;
		if (m->fstate[frames[i]] & RMEM_FS_WAS_HELD)
			rmem_push_held(m, frames[i]);
		else
			rmem_push_pending(m, frames[i]);
	}
}

/*
 * The socket the DISCARD was sent on (or was being sent on) died before
 * its answer: the donor may yet execute it, so the frames are held until
 * another DISCARD naming them is answered.
 */
void rmem_map_discard_lost(struct rmem_map *m, const u32 *frames, u32 n)
{
	u32 i;

	for (i = 0; i < n; i++) {
		if (rmem_map_state(m, frames[i]) != RMEM_FRAME_DISCARDING)
			continue;
		m->ndiscarding--;
		rmem_push_held(m, frames[i]);
	}
}

/*
 * The DISCARD was answered on a live socket (even with an error: no
 * DISCARD in flight names the frames any more): they are free.
 */
void rmem_map_discarded(struct rmem_map *m, const u32 *frames, u32 n)
{
	u32 i;

	for (i = 0; i < n; i++) {
		if (rmem_map_state(m, frames[i]) != RMEM_FRAME_DISCARDING)
			continue;
		m->ndiscarding--;
		m->stack[m->nfree++] = frames[i];
		rmem_set_state(m, frames[i], RMEM_FRAME_FREE, 0);
	}
}

/*
 * Every frame in exactly one state, and each state's structure agreeing
 * with it: a frame on a slot is MAPPED and on one slot only, the free and
 * pending stacks and the retained and held lists hold frames of their
 * state, the counts add up to nframes and match the state array; only
 * mapped, retained and draining frames have owners (retained ones must),
 * only mapped and draining ones are named by requests (draining ones
 * must). 0, or -EUCLEAN naming nothing more: this is for tests and
 * debugging, O(nslots + nframes) and it needs no memory, so it counts
 * instead of marking.
 */
int rmem_map_check(const struct rmem_map *m)
{
	u32 count[RMEM_FRAME_NSTATES] = { 0 };
	u32 i, n, f, prev = RMEM_NO_FRAME;

	if ((u64)m->nfree + m->npending + m->nmapped + m->nretained +
	    m->ndraining + m->ndiscarding + m->nheld != m->nframes ||
	    (u64)m->nfree + m->npending > m->nframes)
		return -EUCLEAN;
	for (f = 0; f < m->nframes; f++) {
		enum rmem_frame_state st = rmem_map_state(m, f);
		u32 busy = rmem_map_busy(m, f);

		if (st >= RMEM_FRAME_NSTATES)
			return -EUCLEAN;
		count[st]++;
		if (busy && st != RMEM_FRAME_MAPPED && st != RMEM_FRAME_DRAINING)
			return -EUCLEAN;
		if (!busy && st == RMEM_FRAME_DRAINING)
			return -EUCLEAN;
		if ((st == RMEM_FRAME_RETAINED) != (m->owner[f] != RMEM_NO_OWNER) &&
		    st != RMEM_FRAME_MAPPED && st != RMEM_FRAME_DRAINING)
			return -EUCLEAN;
		if ((m->fstate[f] & RMEM_FS_LOST) && st != RMEM_FRAME_DRAINING)
			return -EUCLEAN;
		if ((m->fstate[f] & RMEM_FS_WAS_HELD) && st != RMEM_FRAME_DISCARDING)
			return -EUCLEAN;
		/* a write is alone on its frame; only a busy one is waited for */
		if ((m->fstate[f] & RMEM_FS_WRITING) && busy != 1)
			return -EUCLEAN;
		if ((m->fstate[f] & RMEM_FS_WAITED) && !busy)
			return -EUCLEAN;
	}
	if (count[RMEM_FRAME_FREE] != m->nfree || count[RMEM_FRAME_PENDING] != m->npending ||
	    count[RMEM_FRAME_MAPPED] != m->nmapped ||
	    count[RMEM_FRAME_RETAINED] != m->nretained ||
	    count[RMEM_FRAME_DRAINING] != m->ndraining ||
	    count[RMEM_FRAME_DISCARDING] != m->ndiscarding ||
	    count[RMEM_FRAME_HELD] != m->nheld)
		return -EUCLEAN;
	n = 0;
	for (f = m->ret_head; f != RMEM_NO_FRAME; f = m->ret_next[f]) {
		if (f >= m->nframes || m->ret_prev[f] != prev ||
		    !rmem_map_retained(m, f) || ++n > m->nretained)
			return -EUCLEAN;
		prev = f;
	}
	if (n != m->nretained || m->ret_tail != prev)
		return -EUCLEAN;
	n = 0;
	for (f = m->held_head; f != RMEM_NO_FRAME; f = m->ret_next[f])
		if (rmem_map_state(m, f) != RMEM_FRAME_HELD || ++n > m->nheld)
			return -EUCLEAN;
	if (n != m->nheld)
		return -EUCLEAN;
	/* each mapped frame on exactly one slot: as many slots as frames */
	n = 0;
	for (i = 0; i < m->nslots; i++) {
		f = m->slot_frame[i];
		if (f == RMEM_NO_FRAME)
			continue;
		if (rmem_map_state(m, f) != RMEM_FRAME_MAPPED)
			return -EUCLEAN;
		n++;
	}
	if (n != m->nmapped)
		return -EUCLEAN;
	for (i = 0; i < m->nfree; i++)
		if (rmem_map_state(m, m->stack[i]) != RMEM_FRAME_FREE)
			return -EUCLEAN;
	for (i = m->nframes - m->npending; i < m->nframes; i++)
		if (rmem_map_state(m, m->stack[i]) != RMEM_FRAME_PENDING)
			return -EUCLEAN;
	return 0;
}

/*
 * The next run of consecutive frames in frames[*i, n), past any slot
 * without a frame: its first index and length, and *i moved past it;
 * false when no run is left. A slot whose bit is set in alone is a run
 * by itself (a PATCH). A request goes to the donor as one message per
 * run, so sender and receiver must agree on this one definition.
 */
static bool rmem_alone(u64 alone, u32 k)
{
	return k < 64 && (alone >> k & 1);
}

bool rmem_frames_next_run(const u32 *frames, u32 n, u64 alone, u32 *i,
			  u32 *first, u32 *count)
{
	u32 k = *i;

	while (k < n && frames[k] == RMEM_NO_FRAME)
		k++;
	if (k >= n)
		return false;
	*first = k;
	if (!rmem_alone(alone, k))
		while (k + 1 < n && frames[k + 1] != RMEM_NO_FRAME &&
		       frames[k + 1] == frames[k] + 1 && !rmem_alone(alone, k + 1))
			k++;
	*count = ++k - *first;
	*i = k;
	return true;
}

/*
 * Extents of a DISCARD from frames sorted ascending (duplicates allowed):
 * runs of consecutive frames become one extent each. At most max_ext
 * extents; *used says how many of the frames they cover, the caller
 * gives the rest back (rmem_map_discard_unsent).
 */
u32 rmem_extents_build(const u32 *sorted, u32 n, struct rmem_extent *ext,
		       u32 max_ext, u32 *used)
{
	u32 i = 0, k = 0;

	while (i < n) {
		u32 start = sorted[i], count = 1;

		if (k == max_ext)
			break;
		for (i++; i < n && sorted[i] <= start + count; i++)
			if (sorted[i] == start + count)
				count++;
		ext[k].frame = cpu_to_le64(start);
		ext[k].count = cpu_to_le32(count);
		ext[k].reserved = 0;
		k++;
	}
	*used = i;
	return k;
}

/* Heapsort, ascending: in place, no recursion, no memory, O(n log n). */
static void rmem_sift_down(u32 *a, u32 root, u32 n)
{
	for (;;) {
		u32 child = 2 * root + 1, t;

		if (child >= n)
			return;
		if (child + 1 < n && a[child + 1] > a[child])
			child++;
		if (a[root] >= a[child])
			return;
		t = a[root];
		a[root] = a[child];
		a[child] = t;
		root = child;
	}
}

void rmem_sort_u32(u32 *a, u32 n)
{
	u32 i, t;

	for (i = n / 2; i-- > 0;)
		rmem_sift_down(a, i, n);
	for (i = n; i-- > 1;) {
		t = a[0];
		a[0] = a[i];
		a[i] = t;
		rmem_sift_down(a, 0, i);
	}
}

// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * discard-race: races block DISCARDs and WRITE_ZEROES (BLKDISCARD,
 * BLKZEROOUT) against O_DIRECT writes and reads of the same and
 * neighbouring 4 KiB slots of a block device, from several threads, and
 * checks every read. A written page is a pattern of (slot, version):
 * versions are unique across the run, so a page identifies the write
 * that made it.
 *
 * Every 512-byte sector a read returns must be zeros or a whole sector of
 * a write of its own slot; a read that no write or discard of its slot
 * overlapped must see one version throughout, and, after a write or
 * discard that none overlapped either, exactly that one (or zeros).
 * Anything else (another slot's data, a torn page, a stale version) is
 * counted and reported.
 * I/O errors are counted too, and reported apart (connections dropped by
 * a stalled donor may fail I/O past the reconnect time).
 *
 *   discard-race DEV SLOTS SECONDS [THREADS]    exit 0 if no read was wrong
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096u
#define WORDS (PAGE / sizeof(uint64_t))

struct slot {
	pthread_mutex_t lock;
	unsigned int inflight;	/* writes and discards in progress */
	uint64_t seq;		/* bumped when one starts */
	int known;		/* contents known exactly: */
	uint64_t version;	/* that write's version, or 0: zeros */
};

static int fd;
static unsigned int nslots;
static struct slot *slots;
static uint64_t next_version = 1;	/* atomic */
static uint64_t run_start;		/* this run's first version */
static unsigned long bad, ioerrs, reads, writes, discards;	/* atomic */
static volatile int stop;

/* Each 512-byte sector of a page names its slot and version. */
#define SECTOR_WORDS (512 / sizeof(uint64_t))

static uint64_t pattern(uint64_t slot, uint64_t version, unsigned int w)
{
	uint64_t x = (slot << 40 ^ version) * 0x9e3779b97f4a7c15ull + w;
	unsigned int k = w % SECTOR_WORDS;

	return k == 0 ? slot : k == 1 ? version : x ^ x >> 29;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Before a write or discard of slots [s, s + n): their contents become unknown. */
static void begin(unsigned int s, unsigned int n, uint64_t *seq)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct slot *sl = &slots[s + i];

		pthread_mutex_lock(&sl->lock);
		seq[i] = ++sl->seq;
		sl->known = sl->inflight++ == 0;	/* alone so far */
		pthread_mutex_unlock(&sl->lock);
	}
}

/* ... after it, acknowledged (ok) or not: known if nothing overlapped it. */
static void end(unsigned int s, unsigned int n, const uint64_t *seq, int ok,
		uint64_t version)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct slot *sl = &slots[s + i];

		pthread_mutex_lock(&sl->lock);
		sl->inflight--;
		sl->known = ok && sl->known && sl->seq == seq[i] && !sl->inflight;
		sl->version = version;
		pthread_mutex_unlock(&sl->lock);
	}
}

/*
 * A page read of slot s: each sector zeros or a whole sector of a write
 * of s that was issued; one version (or zeros) throughout, and the one
 * known, if the read overlapped nothing (alone). A read that overlapped a
 * write of its slot may see parts of two (block devices promise no
 * atomicity), never another slot's bytes.
 */
static void check(unsigned int s, const uint64_t *p, int known, uint64_t want,
		  int alone)
{
	uint64_t issued = __atomic_load_n(&next_version, __ATOMIC_RELAXED);
	uint64_t first = ~0ull;
	unsigned int sec, w, mixed = 0;

	for (sec = 0; sec < WORDS / SECTOR_WORDS; sec++) {
		const uint64_t *q = p + sec * SECTOR_WORDS;
		uint64_t v = q[1];
		unsigned int zero = 1;

		for (w = 0; w < SECTOR_WORDS; w++)
			if (q[w])
				zero = 0;
		if (zero) {
			v = 0;
		} else {
			for (w = 0; w < SECTOR_WORDS; w++)
				if (q[w] != pattern(s, v, sec * SECTOR_WORDS + w))
					break;
			if (w < SECTOR_WORDS || v < run_start || v >= issued) {
				fprintf(stderr, "slot %u sector %u: not its data: slot %llu version %llu%s, word %u\n",
					s, sec, (unsigned long long)q[0],
					(unsigned long long)v,
					v < run_start ? " (of an earlier run)" : "", w);
				__atomic_fetch_add(&bad, 1, __ATOMIC_RELAXED);
				return;
			}
		}
		if (first == ~0ull)
			first = v;
		else if (v != first)
			mixed = 1;
	}
	if (!alone)
		return;
	if (mixed) {
		fprintf(stderr, "slot %u: torn page, versions %llu and others, overlapping nothing\n",
			s, (unsigned long long)first);
		__atomic_fetch_add(&bad, 1, __ATOMIC_RELAXED);
	} else if (known && first != want) {
		fprintf(stderr, "slot %u: version %llu, want %llu (0: zeros)\n", s,
			(unsigned long long)first, (unsigned long long)want);
		__atomic_fetch_add(&bad, 1, __ATOMIC_RELAXED);
	}
}

static void *worker(void *arg)
{
	uint64_t r = 0x2545f4914f6cdd1dull * ((uintptr_t)arg + 1), seq[8];
	uint64_t *buf;
	unsigned int w;

	if (posix_memalign((void **)&buf, PAGE, PAGE))
		return NULL;
	while (!stop) {
		unsigned int op = rnd(&r) % 16, s = rnd(&r) % nslots, n;

		if (op < 7) {		/* write one slot */
			uint64_t v = __atomic_fetch_add(&next_version, 1, __ATOMIC_RELAXED);
			int ok;

			for (w = 0; w < WORDS; w++)
				buf[w] = pattern(s, v, w);
			begin(s, 1, seq);
			ok = pwrite(fd, buf, PAGE, (off_t)s * PAGE) == PAGE;
			end(s, 1, seq, ok, v);
			if (!ok)
				__atomic_fetch_add(&ioerrs, 1, __ATOMIC_RELAXED);
			__atomic_fetch_add(&writes, 1, __ATOMIC_RELAXED);
		} else if (op < 10) {	/* discard or zero out 1..8 slots */
			uint64_t range[2];
			int ok;

			n = 1 + rnd(&r) % 8;
			if (s + n > nslots)
				n = nslots - s;
			range[0] = (uint64_t)s * PAGE;
			range[1] = (uint64_t)n * PAGE;
			begin(s, n, seq);
			ok = !ioctl(fd, op == 9 ? BLKZEROOUT : BLKDISCARD, range);
			end(s, n, seq, ok, 0);
			if (!ok)
				__atomic_fetch_add(&ioerrs, 1, __ATOMIC_RELAXED);
			__atomic_fetch_add(&discards, 1, __ATOMIC_RELAXED);
		} else {		/* read one slot and check it */
			struct slot *sl = &slots[s];
			uint64_t want, s0;
			int known, alone;

			pthread_mutex_lock(&sl->lock);
			s0 = sl->seq;
			known = sl->known && !sl->inflight;
			want = sl->version;
			pthread_mutex_unlock(&sl->lock);
			memset(buf, 0xa5, PAGE);
			if (pread(fd, buf, PAGE, (off_t)s * PAGE) != PAGE) {
				__atomic_fetch_add(&ioerrs, 1, __ATOMIC_RELAXED);
				continue;
			}
			pthread_mutex_lock(&sl->lock);
			alone = sl->seq == s0 && !sl->inflight;
			pthread_mutex_unlock(&sl->lock);
			check(s, buf, known, want, alone);
			__atomic_fetch_add(&reads, 1, __ATOMIC_RELAXED);
		}
	}
	free(buf);
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned int seconds, nthreads, i;
	uint64_t range[2] = { 0, 0 };
	pthread_t t[32];

	if (argc < 4) {
		fprintf(stderr, "usage: discard-race DEV SLOTS SECONDS [THREADS]\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_DIRECT);
	if (fd < 0) {
		perror(argv[1]);
		return 2;
	}
	nslots = strtoul(argv[2], NULL, 0);
	seconds = strtoul(argv[3], NULL, 0);
	nthreads = argc > 4 ? strtoul(argv[4], NULL, 0) : 6;
	/* versions of this run above any earlier run's: a page of an earlier
	 * run is a write that reached the donor late (reported as such) */
	next_version = (uint64_t)time(NULL) << 24;
	run_start = next_version;
	if (!nslots || !nthreads || nthreads > 32)
		return 2;
	slots = calloc(nslots, sizeof(*slots));
	if (!slots)
		return 2;
	/* start from zeros: what an earlier run wrote is no version of this one */
	range[1] = (uint64_t)nslots * PAGE;
	if (ioctl(fd, BLKDISCARD, range)) {
		perror("BLKDISCARD");
		return 2;
	}
	for (i = 0; i < nslots; i++) {
		pthread_mutex_init(&slots[i].lock, NULL);
		slots[i].known = 1;
	}
	for (i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i);
	sleep(seconds);
	stop = 1;
	for (i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	printf("discard-race: %lu writes, %lu discards, %lu reads checked, %lu wrong, %lu I/O errors\n",
	       writes, discards, reads, bad, ioerrs);
	return bad ? 1 : 0;
}

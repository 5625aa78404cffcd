// SPDX-License-Identifier: GPL-2.0-only
/*
 * rmem-fio.so: a fio external ioengine that drives a donor through librmem.
 *
 *   ioengine=external:/path/to/rmem-fio.so  donor=HOST[:PORT]  size=1G
 *
 * Each job opens its own region of size= bytes on the donor (released
 * when the job ends) over connections= TCP connections: the first opens
 * it, the others join it with its id and token. Requests are 4 KiB frames;
 * an I/O larger than the donor's largest request is split, and its pieces
 * go round-robin over the connections. queue() only queues, commit()
 * sends, getevents() polls every connection, so iodepth= is honoured as
 * it is for libaio.
 *
 * Built against the headers of exactly the installed fio (Makefile,
 * scripts/fio-source.sh) and checked again when fio loads it, because an
 * engine reaches into fio's own structures.
 *
 * GPL-2.0-only like fio, whose headers it includes.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fio.h"
#include "optgroup.h"

#include "librmem.h"
#include "rmem_common.h"

#ifndef RMEM_FIO_VERSION
#error "RMEM_FIO_VERSION (the fio release the headers are from) must be set"
#endif

/* fio exports it; a different fio loading this engine is refused. */
extern const char fio_version_string[];

#define RFIO_FRAME	RMEM_FRAME_SIZE

struct rfio_options {
	void *pad;		/* fio: an option must not sit at offset 0 */
	char *donor;
	unsigned int port;
	char *key_file;
	char *key_id;
	unsigned int connections;
	unsigned int timeout_ms;
};

/* One per io_u: an I/O split into pieces completes when all have. */
struct rfio_io {
	struct io_u *io_u;
	unsigned int pending;
	int error;
	struct rmem_extent ext;	/* a trim's extent lives until it completes */
};

struct rfio {
	struct rmem_client **c;
	struct pollfd *pfd;
	bool *queued;		/* connection has requests to send */
	unsigned int *out;	/* pieces submitted and not yet reaped */
	bool *ready;		/* worth reaping without polling first */
	unsigned int nconn;
	unsigned int next;	/* round-robin cursor */
	uint32_t max_frames;	/* per request, from the donor */
	struct rmem_region region;
	bool have_region;

	struct rmem_completion *cev;
	unsigned int cev_len;
	struct io_u **events;
	unsigned int nevents;
	bool reported;		/* a connection failure has been logged */
};

static struct fio_option options[] = {
	{
		.name	= "donor",
		.lname	= "rmem donor",
		.type	= FIO_OPT_STR_STORE,
		.off1	= offsetof(struct rfio_options, donor),
		.def	= "127.0.0.1",
		.help	= "Donor as HOST, HOST:PORT or [IPv6]:PORT",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "port",
		.lname	= "rmem donor port",
		.type	= FIO_OPT_INT,
		.off1	= offsetof(struct rfio_options, port),
		.def	= "0",
		.minval	= 0,
		.maxval	= 65535,
		.help	= "Donor port when donor= names none (0: 7609)",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "key_file",
		.lname	= "rmem key file",
		.type	= FIO_OPT_STR_STORE,
		.off1	= offsetof(struct rfio_options, key_file),
		.help	= "Shared key file (default $RMEM_KEY_FILE, else "
			  RMEM_DEFAULT_KEY_FILE ")",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "key_id",
		.lname	= "rmem key id",
		.type	= FIO_OPT_STR_STORE,
		.off1	= offsetof(struct rfio_options, key_id),
		.help	= "The donor's name of the key, its [client ID] "
			  "(default $RMEM_KEY_ID, else none: its [auth] key)",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "connections",
		.lname	= "rmem connections",
		.type	= FIO_OPT_INT,
		.off1	= offsetof(struct rfio_options, connections),
		.def	= "1",
		.minval	= 1,
		.maxval	= 64,
		.help	= "TCP connections per job to the donor's region",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "rmem_timeout",
		.lname	= "rmem timeout",
		.type	= FIO_OPT_INT,
		.off1	= offsetof(struct rfio_options, timeout_ms),
		.def	= "10000",
		.minval	= 1,
		.help	= "Milliseconds to wait for the donor before failing I/O",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= NULL,
	},
};

/* setup() runs first in the parent, init() first in the job: either
 * may be the one that allocates. */
static struct rfio *rfio_get(struct thread_data *td)
{
	if (!td->io_ops_data)
		td->io_ops_data = calloc(1, sizeof(struct rfio));
	return td->io_ops_data;
}

/* The region: size= rounded up to whole frames. */
static uint64_t rfio_region_bytes(struct thread_data *td)
{
	return (td->o.size + RFIO_FRAME - 1) / RFIO_FRAME * RFIO_FRAME;
}

/* What the job asks of the donor; setup() or init(), whichever is first. */
static int rfio_check_job(struct thread_data *td)
{
	static const char *const ddir_name[] = { "read", "write", "trim" };
	int d;

	if (!td->o.size) {
		log_err("rmem: set size= to the bytes of donor memory the job uses\n");
		return 1;
	}
	for (d = DDIR_READ; d <= DDIR_TRIM; d++) {
		unsigned long long lo = td->o.min_bs[d], hi = td->o.max_bs[d];

		if (lo % RFIO_FRAME || hi % RFIO_FRAME) {
			log_err("rmem: %s block size %llu..%llu is not a multiple of %u; the donor stores %u-byte frames\n",
				ddir_name[d], lo, hi, RFIO_FRAME, RFIO_FRAME);
			return 1;
		}
	}
	if (td->o.start_offset % RFIO_FRAME) {
		log_err("rmem: offset=%llu is not a multiple of %u\n",
			(unsigned long long)td->o.start_offset, RFIO_FRAME);
		return 1;
	}
	return 0;
}

static int rfio_setup(struct thread_data *td)
{
	struct rfio *r = rfio_get(td);

	if (!r) {
		td_verror(td, ENOMEM, "calloc");
		return 1;
	}
	if (strcmp(fio_version_string, RMEM_FIO_VERSION)) {
		log_err("rmem: this engine was built for %s but is loaded by %s; rebuild it against this fio's headers\n",
			RMEM_FIO_VERSION, fio_version_string);
		return 1;
	}
	if (rfio_check_job(td))
		return 1;
	/* the region is the only "file" */
	if (!td->files_index) {
		add_file(td, "rmem", 0, 0);
		td->o.nr_files = td->o.nr_files ? : 1;
		td->o.open_files++;
	}
	if (td->files_index != 1) {
		log_err("rmem: one region per job; drop filename= or nr_files=\n");
		return 1;
	}
	td->files[0]->real_file_size = rfio_region_bytes(td);
	fio_file_set_size_known(td->files[0]);
	return 0;
}

/* Largest number of pieces one io_u can be split into. */
static unsigned int rfio_max_pieces(struct thread_data *td, uint32_t frames)
{
	unsigned long long hi = 0;
	int d;

	for (d = DDIR_READ; d <= DDIR_WRITE; d++)
		if (td->o.max_bs[d] > hi)
			hi = td->o.max_bs[d];
	hi /= RFIO_FRAME;
	return hi <= frames ? 1 : (unsigned int)((hi + frames - 1) / frames);
}

static int rfio_connect(struct thread_data *td, struct rfio *r,
			struct rfio_options *o, struct rmem_key *key)
{
	struct rmem_client_opts copts = { 0 };
	char host[256], err[256];
	unsigned int i, depth, pieces;
	int ret;

	if (rmem_parse_hostport(o->donor, o->port ? o->port : RMEM_DEFAULT_PORT,
				host, sizeof(host), &copts.port,
				err, sizeof(err))) {
		log_err("rmem: donor=%s: %s\n", o->donor, err);
		return 1;
	}
	copts.host = host;
	copts.key = key->bytes;
	copts.key_len = key->len;
	copts.name = "fio";
	copts.timeout_ms = (int)o->timeout_ms;

	/* Every io_u might land on one connection in the worst case. */
	pieces = rfio_max_pieces(td, RMEM_MAX_IO_FRAMES);
	depth = td->o.iodepth * pieces;
	copts.depth = depth > 4096 ? 4096 : depth;

	for (i = 0; i < r->nconn; i++) {
		r->c[i] = rmem_client_new();
		if (!r->c[i]) {
			td_verror(td, ENOMEM, "rmem_client_new");
			return 1;
		}
		ret = rmem_set_key_id(r->c[i], o->key_id && *o->key_id ?
				      o->key_id : getenv("RMEM_KEY_ID"));
		if (!ret)
			ret = rmem_connect(r->c[i], &copts);
		if (ret) {
			log_err("rmem: %s\n", rmem_errmsg(r->c[i]));
			return 1;
		}
		if (i == 0) {
			uint64_t frames = rfio_region_bytes(td) / RFIO_FRAME;

			r->max_frames = rmem_donor(r->c[0])->max_io_frames;
			if (!r->max_frames || r->max_frames > RMEM_MAX_IO_FRAMES)
				r->max_frames = RMEM_MAX_IO_FRAMES;
			ret = rmem_open_region(r->c[0], frames, &r->region);
			if (ret) {
				const struct rmem_donor_info *d = rmem_donor(r->c[0]);

				log_err("rmem: size=%llu: %s; this key may still open %llu MiB on the donor, %llu MiB free\n",
					(unsigned long long)td->o.size,
					rmem_errmsg(r->c[0]),
					(unsigned long long)(d->quota_frames * RFIO_FRAME >> 20),
					(unsigned long long)(d->free_frames * RFIO_FRAME >> 20));
				return 1;
			}
			r->have_region = true;
		} else if (rmem_attach_region(r->c[i], &r->region)) {
			log_err("rmem: connection %u: %s\n", i + 1,
				rmem_errmsg(r->c[i]));
			return 1;
		}
		r->pfd[i].fd = rmem_fd(r->c[i]);
		r->pfd[i].events = POLLIN;
	}
	/* the donor's limit may be below ours: size the queues for it */
	if (rfio_max_pieces(td, r->max_frames) > pieces) {
		log_err("rmem: the donor takes at most %u frames a request; use bs<=%u\n",
			r->max_frames, r->max_frames * RFIO_FRAME);
		return 1;
	}
	r->cev_len = copts.depth;
	return 0;
}

static int rfio_init(struct thread_data *td)
{
	struct rfio_options *o = td->eo;
	struct rfio *r = rfio_get(td);
	const char *key_file;
	struct rmem_key key;
	char err[256];
	int ret;

	if (!r) {
		td_verror(td, ENOMEM, "calloc");
		return 1;
	}
	if (rfio_check_job(td))
		return 1;
	key_file = o->key_file && *o->key_file ? o->key_file :
		   rmem_default_key_file();
	if (rmem_key_load(key_file, &key, err, sizeof(err))) {
		log_err("rmem: %s (set key_file=)\n", err);
		return 1;
	}

	r->nconn = o->connections ? o->connections : 1;
	r->c = calloc(r->nconn, sizeof(*r->c));
	r->pfd = calloc(r->nconn, sizeof(*r->pfd));
	r->queued = calloc(r->nconn, sizeof(*r->queued));
	r->out = calloc(r->nconn, sizeof(*r->out));
	r->ready = calloc(r->nconn, sizeof(*r->ready));
	r->events = calloc(td->o.iodepth, sizeof(*r->events));
	if (!r->c || !r->pfd || !r->queued || !r->out || !r->ready || !r->events) {
		td_verror(td, ENOMEM, "calloc");
		return 1;
	}
	ret = rfio_connect(td, r, o, &key);
	memset(&key, 0, sizeof(key));
	if (ret)
		return 1;
	r->cev = calloc(r->cev_len, sizeof(*r->cev));
	if (!r->cev) {
		td_verror(td, ENOMEM, "calloc");
		return 1;
	}
	return 0;
}

static void rfio_cleanup(struct thread_data *td)
{
	struct rfio *r = td->io_ops_data;
	unsigned int i;

	if (!r)
		return;
	for (i = 0; r->c && i < r->nconn; i++) {
		if (!r->c[i])
			continue;
		/* the last connection releases the region for all */
		if (r->have_region)
			rmem_close(r->c[i], i == 0);
		rmem_client_free(r->c[i]);
	}
	free(r->c);
	free(r->pfd);
	free(r->queued);
	free(r->out);
	free(r->ready);
	free(r->events);
	free(r->cev);
	free(r);
	td->io_ops_data = NULL;
}

static int rfio_io_u_init(struct thread_data *td, struct io_u *io_u)
{
	struct rfio_io *rio = calloc(1, sizeof(*rio));

	(void)td;
	if (!rio)
		return 1;
	rio->io_u = io_u;
	io_u->engine_data = rio;
	return 0;
}

static void rfio_io_u_free(struct thread_data *td, struct io_u *io_u)
{
	(void)td;
	free(io_u->engine_data);
	io_u->engine_data = NULL;
}

static enum fio_q_status rfio_fail(struct io_u *io_u, int err)
{
	io_u->error = err;
	return FIO_Q_COMPLETED;
}

/* Submit one piece on the next connection; 0 or -errno. */
static int rfio_submit(struct rfio *r, struct io_u *io_u, uint64_t frame,
		       uint32_t count, char *buf)
{
	struct rfio_io *rio = io_u->engine_data;
	unsigned int i = r->next;
	int ret;

	r->next = (r->next + 1) % r->nconn;
	switch (io_u->ddir) {
	case DDIR_READ:
		ret = rmem_submit_read(r->c[i], frame, count, buf, rio);
		break;
	case DDIR_WRITE:
		ret = rmem_submit_write(r->c[i], frame, count, buf, rio);
		break;
	default:
		rmem_extent_set(&rio->ext, frame, count);
		ret = rmem_submit_discard(r->c[i], &rio->ext, 1, rio);
		break;
	}
	if (ret == 0) {
		rio->pending++;
		r->queued[i] = true;
		r->out[i]++;
	} else if (!r->reported) {
		log_err("rmem: %s\n", rmem_errmsg(r->c[i]));
		r->reported = true;
	}
	return ret;
}

static enum fio_q_status rfio_queue(struct thread_data *td, struct io_u *io_u)
{
	struct rfio *r = td->io_ops_data;
	struct rfio_io *rio = io_u->engine_data;
	uint64_t frame, frames, n;
	char *buf = io_u->xfer_buf;
	int ret;

	fio_ro_check(td, io_u);
	if (io_u->ddir == DDIR_SYNC || io_u->ddir == DDIR_DATASYNC)
		return rfio_fail(io_u, 0);	/* memory: nothing to flush */
	if (io_u->ddir != DDIR_READ && io_u->ddir != DDIR_WRITE &&
	    io_u->ddir != DDIR_TRIM)
		return rfio_fail(io_u, EINVAL);
	if (io_u->offset % RFIO_FRAME || io_u->xfer_buflen % RFIO_FRAME ||
	    !io_u->xfer_buflen)
		return rfio_fail(io_u, EINVAL);

	rio->pending = 0;
	rio->error = 0;
	frame = io_u->offset / RFIO_FRAME;
	frames = io_u->xfer_buflen / RFIO_FRAME;
	if (io_u->ddir == DDIR_TRIM)
		return (ret = rfio_submit(r, io_u, frame, (uint32_t)frames, NULL)) ?
		       rfio_fail(io_u, -ret) : FIO_Q_QUEUED;

	while (frames) {
		n = frames < r->max_frames ? frames : r->max_frames;
		ret = rfio_submit(r, io_u, frame, (uint32_t)n, buf);
		if (ret) {
			if (!rio->pending)
				return rfio_fail(io_u, -ret);
			rio->error = -ret;	/* the rest completes it */
			break;
		}
		frame += n;
		frames -= n;
		buf += n * RFIO_FRAME;
	}
	return FIO_Q_QUEUED;
}

static int rfio_commit(struct thread_data *td)
{
	struct rfio *r = td->io_ops_data;
	unsigned int i;

	for (i = 0; i < r->nconn; i++) {
		if (!r->queued[i])
			continue;
		r->queued[i] = false;
		/* on failure every queued request completes with the error */
		if (rmem_flush(r->c[i]) && !r->reported) {
			log_err("rmem: %s\n", rmem_errmsg(r->c[i]));
			r->reported = true;
		}
		/* replies taken while sending will not wake poll() */
		if (rmem_completed(r->c[i]))
			r->ready[i] = true;
	}
	return 0;
}

/* Take what has arrived on connection i, at most room pieces. */
static void rfio_reap(struct rfio *r, unsigned int i, unsigned int room)
{
	int n, k;

	if (room > r->cev_len)
		room = r->cev_len;
	n = rmem_reap(r->c[i], r->cev, 0, room, 0);
	/* a full batch may leave more behind: look again before polling */
	r->ready[i] = n == (int)room;
	if (n <= 0)
		return;
	r->out[i] -= (unsigned int)n;
	for (k = 0; k < n; k++) {
		struct rfio_io *rio = r->cev[k].user;

		if (r->cev[k].result && !rio->error) {
			rio->error = -r->cev[k].result;
			if (r->cev[k].status < 0 && !r->reported) {
				log_err("rmem: %s\n", rmem_errmsg(r->c[i]));
				r->reported = true;
			}
		}
		if (--rio->pending == 0) {
			rio->io_u->error = rio->error;
			r->events[r->nevents++] = rio->io_u;
		}
	}
}

static int64_t rfio_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Poll first, then read only the connections that have something: at
 * iodepth=1 that is one poll and the reads of one reply, no recv that
 * is bound to find nothing.
 */
static int rfio_getevents(struct thread_data *td, unsigned int min,
			  unsigned int max, const struct timespec *t)
{
	struct rfio_options *o = td->eo;
	struct rfio *r = td->io_ops_data;
	int64_t start = rfio_now_ms(), limit = -1;
	unsigned int i;

	if (t)
		limit = (int64_t)t->tv_sec * 1000 + t->tv_nsec / 1000000;
	r->nevents = 0;
	for (;;) {
		unsigned int busy = 0, ready = 0;
		int wait, ret;
		int64_t spent;

		/* pieces reaped <= io_us completed, so stop at max */
		for (i = 0; i < r->nconn; i++)
			if (r->ready[i] && r->out[i] && r->nevents < max)
				rfio_reap(r, i, max - r->nevents);
		if (r->nevents >= min || r->nevents >= max)
			break;

		for (i = 0; i < r->nconn; i++) {
			r->pfd[i].fd = r->out[i] ? rmem_fd(r->c[i]) : -1;
			r->pfd[i].revents = 0;
			busy += r->out[i] != 0;
			ready += r->ready[i] && r->out[i];
		}
		if (!busy)
			break;
		spent = rfio_now_ms() - start;
		if (ready) {
			wait = 0;
		} else {
			if (limit >= 0 && spent >= limit)
				break;
			if (spent >= o->timeout_ms) {
				log_err("rmem: the donor did not answer within %u ms\n",
					o->timeout_ms);
				return -ETIMEDOUT;
			}
			wait = (int)(o->timeout_ms - spent);
			if (limit >= 0 && limit - spent < wait)
				wait = (int)(limit - spent);
		}
		ret = poll(r->pfd, r->nconn, wait);
		if (ret < 0 && errno != EINTR) {
			td_verror(td, errno, "poll");
			return -errno;
		}
		for (i = 0; i < r->nconn; i++)
			if (r->pfd[i].revents)
				r->ready[i] = true;
	}
	return (int)r->nevents;
}

static struct io_u *rfio_event(struct thread_data *td, int event)
{
	struct rfio *r = td->io_ops_data;

	return r->events[event];
}

static int rfio_open_file(struct thread_data *td, struct fio_file *f)
{
	(void)td;
	(void)f;
	return 0;
}

static int rfio_invalidate(struct thread_data *td, struct fio_file *f)
{
	(void)td;
	(void)f;
	return 0;
}

/* Exported: fio looks the engine up by this name. */
__attribute__((visibility("default")))
struct ioengine_ops ioengine = {
	.name			= "rmem",
	.version		= FIO_IOOPS_VERSION,
	.flags			= FIO_DISKLESSIO | FIO_NOEXTEND | FIO_NODISKUTIL,
	.setup			= rfio_setup,
	.init			= rfio_init,
	.cleanup		= rfio_cleanup,
	.queue			= rfio_queue,
	.commit			= rfio_commit,
	.getevents		= rfio_getevents,
	.event			= rfio_event,
	.io_u_init		= rfio_io_u_init,
	.io_u_free		= rfio_io_u_free,
	.open_file		= rfio_open_file,
	.close_file		= rfio_open_file,
	.invalidate		= rfio_invalidate,
	.options		= options,
	.option_struct_size	= sizeof(struct rfio_options),
};

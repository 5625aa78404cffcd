// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rmemctl: the operator's tool for rmem. Talks to donors (ping, stats,
 * check), makes keys, and attaches donor memory as /dev/rmemN (device.c).
 * Exit codes are part of the interface (rmemctl(8), EXIT STATUS).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "librmem.h"
#include "rmem_common.h"
#include "rmem_proto.h"
#include "rmemctl.h"


static void usage(FILE *f)
{
	fprintf(f,
"Usage: rmemctl [OPTIONS] COMMAND [ARGS]\n"
"Control rmem, remote-memory swap: talk to donors (rmem-poold), make keys.\n"
"\n"
"Commands:\n"
"  ping DONOR[:PORT] [-c COUNT]\n"
"        Connect, authenticate with the key, and time COUNT (default 4)\n"
"        PING round trips. Exit 0 if the donor answered every one.\n"
"  stats DONOR[:PORT] [--json | --prometheus]\n"
"        Print the donor's pool, clients and request counters (as JSON,\n"
"        or in the Prometheus text format for node_exporter's textfile\n"
"        collector).\n"
"  check DONOR[:PORT] [--size SIZE]\n"
"        End-to-end self-test: open a region of SIZE (default 16M), write\n"
"        every frame with many requests in flight, read it all back and\n"
"        compare every byte, PATCH lines and verify, discard, release.\n"
"        Exit 0 only if every byte came back as written.\n"
"  keygen FILE\n"
"        Write a new random 256-bit key, as hex, to FILE (mode 0600).\n"
"        Copy the same file to the donor and to every client.\n"
"  attach DONOR[:PORT] --size SIZE [--spare SIZE] [--queues N]\n"
"         [--read-queues M] [--timeout-ms MS] [--reconnect-ms MS]\n"
"         [--device /dev/rmemN] [--persist]\n"
"        Open a region of SIZE on the donor over N connections (default 1)\n"
"        and hand them to the kernel as /dev/rmemN (needs the rmem module).\n"
"        --spare adds frames that keep pages' bases for cache-line deltas;\n"
"        --read-queues adds M connections that carry reads only (default\n"
"        0), so that swap-ins do not wait behind swap-out bursts.\n"
"        A request unanswered for --timeout-ms (30000) drops its\n"
"        connection; I/O then waits --reconnect-ms (60000) for a new one\n"
"        and fails. --persist stays and reconnects lost connections.\n"
"        --device asks for that name (EEXIST, exit 9, if it is taken).\n"
"  attach /dev/rmemN [--tab FILE] [--persist]\n"
"        Attach the device as its line of rmemtab(5) (FILE, default\n"
"        " RMEMTAB_DEFAULT ") describes it.\n"
"  tab [--generate DIR] [FILE]\n"
"        Check rmemtab (FILE:LINE: reason, exit 2) and list its devices;\n"
"        --generate writes their systemd units into DIR (rmem-generator).\n"
"  detach [--if-present] /dev/rmemN\n"
"        Remove the device (refused while it is swapped to or mounted);\n"
"        --if-present: a device that is not there is no error.\n"
"  status [/dev/rmemN] [--prometheus]\n"
"        State, donor, size and connections of one device, or of all;\n"
"        with --prometheus, their counters in the Prometheus text format.\n"
"  list\n"
"        One line per device.\n"
"\n"
"DONOR is a host name, an IPv4 address or [IPv6]; PORT defaults to %u.\n"
"\n"
"Options:\n"
"  -k, --key FILE      shared key file (default $RMEM_KEY_FILE, else\n"
"                      " RMEM_DEFAULT_KEY_FILE ")\n"
"  -i, --key-id ID     the donor's name of that key, its [client ID]\n"
"                      (default $RMEM_KEY_ID, else none: its [auth] key)\n"
"  -t, --timeout MS    connect and request timeout (default 5000)\n"
"  -q, --quiet         print only errors\n"
"  -h, --help          show this help\n"
"  -V, --version       show the version\n"
"\n"
"Exit status:\n"
"  0  success\n"
"  1  the donor refused or failed the request\n"
"  2  bad command line\n"
"  3  donor unreachable (name, route, refused connection, timeout)\n"
"  4  authentication failed: the donor refused the key, or could not\n"
"     prove it holds it\n"
"  5  key file missing, unreadable or too short\n"
"  6  protocol mismatch (no common version, malformed reply)\n"
"  7  donor busy: it serves its maximum number of clients\n"
"  8  the rmem kernel module is not loaded, or no such device\n"
"  9  the device is in use (swap or a mount)\n",
		RMEM_DEFAULT_PORT);
}

int exit_for(int err)
{
	switch (-err) {
	case 0:
		return EX_OK;
	case EHOSTUNREACH:
	case ECONNREFUSED:
	case ETIMEDOUT:
	case ENETUNREACH:
	case EHOSTDOWN:
	case ECONNRESET:
		return EX_UNREACHABLE;
	case EACCES:
		return EX_AUTH;
	case EPROTO:
	case EPROTONOSUPPORT:
	case EOPNOTSUPP:	/* e.g. a protocol 1 donor cannot fence */
		return EX_PROTOCOL;
	case EUSERS:
		return EX_BUSY;
	default:
		return EX_FAIL;
	}
}

int connect_donor(struct rmemctl *ctl, const char *spec,
			 unsigned int depth, struct rmem_client **out)
{
	struct rmem_client_opts o = {
		.timeout_ms = ctl->timeout_ms,
		.name = "rmemctl",
		.depth = depth,
	};
	char host[256], err[512];
	struct rmem_client *c;
	int ret;

	if (rmem_parse_hostport(spec, RMEM_DEFAULT_PORT, host, sizeof(host),
				&o.port, err, sizeof(err))) {
		fprintf(stderr, "rmemctl: %s\n", err);
		return EX_USAGE;
	}
	if (rmem_key_load(ctl->key_file, &ctl->key, err, sizeof(err))) {
		fprintf(stderr, "rmemctl: %s\n", err);
		return EX_KEYFILE;
	}
	o.host = host;
	o.key = ctl->key.bytes;
	o.key_len = ctl->key.len;
	c = rmem_client_new();
	if (!c) {
		fprintf(stderr, "rmemctl: out of memory\n");
		return EX_FAIL;
	}
	if (rmem_set_key_id(c, ctl->key_id)) {
		/* checked in main(); a table's keyid= in rmemtab_load() */
		fprintf(stderr, "rmemctl: %s\n", rmem_errmsg(c));
		rmem_client_free(c);
		return EX_USAGE;
	}
	ret = rmem_connect(c, &o);
	explicit_bzero(&ctl->key, sizeof(ctl->key));
	if (ret) {
		fprintf(stderr, "rmemctl: %s\n", rmem_errmsg(c));
		rmem_client_free(c);
		return exit_for(ret);
	}
	*out = c;
	return EX_OK;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmd_ping(struct rmemctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct rmem_client *c;
	uint64_t *rtt;
	long count = 4;
	char *end;
	int opt, ret, i;

	optind = 0;	/* 0: GNU getopt restarts and permutes DONOR past options */
	while ((opt = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		if (opt != 'c') {
			usage(stderr);
			return EX_USAGE;
		}
		count = strtol(optarg, &end, 10);
		if (*end || count < 1 || count > 1000000) {
			fprintf(stderr, "rmemctl: ping: bad count '%s' (1..1000000)\n",
				optarg);
			return EX_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "rmemctl: ping takes one DONOR[:PORT]\n");
		return EX_USAGE;
	}
	ret = connect_donor(ctl, argv[optind], 4, &c);
	if (ret)
		return ret;
	rtt = calloc((size_t)count, sizeof(*rtt));
	if (!rtt) {
		rmem_client_free(c);
		return EX_FAIL;
	}
	for (i = 0; i < count; i++) {
		ret = rmem_ping(c, &rtt[i]);
		if (ret) {
			fprintf(stderr, "rmemctl: %s\n", rmem_errmsg(c));
			free(rtt);
			rmem_client_free(c);
			return exit_for(ret);
		}
		if (!ctl->quiet && count <= 20)
			printf("ping %d from %s: %.1f us\n", i + 1, argv[optind],
			       rtt[i] / 1000.0);
	}
	rmem_close(c, false);
	qsort(rtt, (size_t)count, sizeof(*rtt), cmp_u64);
	if (!ctl->quiet)
		printf("%ld pings to %s (protocol %u): min %.1f us, median %.1f us, max %.1f us\n",
		       count, argv[optind], rmem_donor(c)->version,
		       rtt[0] / 1000.0, rtt[count / 2] / 1000.0,
		       rtt[count - 1] / 1000.0);
	free(rtt);
	rmem_client_free(c);
	return EX_OK;
}

static void print_io_json(const char *name, const struct rmem_io_counters *io,
			  bool last)
{
	printf("  \"%s\": {\"reads\": %" PRIu64 ", \"writes\": %" PRIu64
	       ", \"patches\": %" PRIu64 ", \"mismatches\": %" PRIu64
	       ", \"discarded_frames\": %" PRIu64 ", \"bytes_in\": %" PRIu64
	       ", \"bytes_out\": %" PRIu64 ", \"errors\": %" PRIu64 "}%s\n",
	       name, io->reads, io->writes, io->patches, io->mismatches,
	       io->discarded, io->bytes_in, io->bytes_out, io->errors,
	       last ? "" : ",");
}

static void print_io(const char *name, const struct rmem_io_counters *io)
{
	printf("%-8s %12" PRIu64 " %12" PRIu64 " %10" PRIu64 " %10" PRIu64
	       " %10" PRIu64 " %8" PRIu64 " %14" PRIu64 " %14" PRIu64 "\n",
	       name, io->reads, io->writes, io->patches, io->mismatches,
	       io->discarded, io->errors, io->bytes_in, io->bytes_out);
}

static int cmd_stats(struct rmemctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	struct rmem_stats_info st;
	struct rmem_client *c;
	bool json = false, prom = false;
	int opt, ret;

	optind = 0;	/* 0: GNU getopt restarts and permutes DONOR past options */
	while ((opt = getopt_long(argc, argv, "j", opts, NULL)) != -1) {
		if (opt == 'j') {
			json = true;
		} else if (opt == 'P') {
			prom = true;
		} else {
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (json && prom) {
		fprintf(stderr, "rmemctl: stats takes --json or --prometheus, not both\n");
		return EX_USAGE;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "rmemctl: stats takes one DONOR[:PORT]\n");
		return EX_USAGE;
	}
	ret = connect_donor(ctl, argv[optind], 4, &c);
	if (ret)
		return ret;
	ret = rmem_stats(c, &st);
	if (ret) {
		fprintf(stderr, "rmemctl: %s\n", rmem_errmsg(c));
		rmem_client_free(c);
		return exit_for(ret);
	}
	rmem_close(c, false);
	rmem_client_free(c);

	if (prom) {
		prom_print_donor(argv[optind], &st);
		return EX_OK;
	}
	if (json) {
		printf("{\n  \"donor\": \"%s\",\n", argv[optind]);
		printf("  \"pool_frames\": %" PRIu64 ",\n  \"free_frames\": %" PRIu64
		       ",\n  \"quota_frames\": %" PRIu64 ",\n  \"frame_size\": %u,\n",
		       st.pool_frames, st.free_frames, st.quota_frames,
		       RMEM_FRAME_SIZE);
		printf("  \"hugepages\": %s,\n  \"locked\": %s,\n",
		       st.flags & RMEM_STATS_F_HUGEPAGES ? "true" : "false",
		       st.flags & RMEM_STATS_F_LOCKED ? "true" : "false");
		printf("  \"clients\": %u,\n  \"max_clients\": %u,\n  \"regions\": %u,\n",
		       st.clients, st.max_clients, st.regions);
		printf("  \"uptime_sec\": %" PRIu64 ",\n  \"auth_failures\": %" PRIu64
		       ",\n  \"proto_errors\": %" PRIu64 ",\n",
		       st.uptime_sec, st.auth_failures, st.proto_errors);
		printf("  \"fenced\": %" PRIu64 ",\n  \"fenced_bytes\": %" PRIu64 ",\n",
		       st.fenced, st.fenced_bytes);
		printf("  \"key_frames\": %" PRIu64 ",\n  \"key_regions\": %u,\n",
		       st.key_frames, st.key_regions);
		printf("  \"dirty_frames\": %" PRIu64 ",\n  \"scrubbed_frames\": %" PRIu64 ",\n",
		       st.dirty_frames, st.scrubbed_frames);
		print_io_json("requests", &st.donor, true);
		printf("}\n");
		return EX_OK;
	}
	printf("donor          %s, up %" PRIu64 " s\n", argv[optind],
	       st.uptime_sec);
	printf("pool           %" PRIu64 " frames (%" PRIu64 " MiB), %" PRIu64
	       " free (%" PRIu64 " MiB)%s%s\n",
	       st.pool_frames, st.pool_frames * RMEM_FRAME_SIZE >> 20,
	       st.free_frames, st.free_frames * RMEM_FRAME_SIZE >> 20,
	       st.flags & RMEM_STATS_F_HUGEPAGES ? ", huge pages" : "",
	       st.flags & RMEM_STATS_F_LOCKED ? ", locked" : ", NOT locked");
	printf("quota          %" PRIu64 " frames (%" PRIu64 " MiB) for this key, %"
	       PRIu64 " (%" PRIu64 " MiB) held in %u regions\n",
	       st.quota_frames, st.quota_frames * RMEM_FRAME_SIZE >> 20,
	       st.key_frames, st.key_frames * RMEM_FRAME_SIZE >> 20,
	       st.key_regions);
	printf("clients        %u of %u, %u regions\n", st.clients,
	       st.max_clients, st.regions);
	printf("refused        %" PRIu64 " authentication failures, %" PRIu64
	       " protocol errors\n", st.auth_failures, st.proto_errors);
	printf("fenced         %" PRIu64 " stale connections, %" PRIu64
	       " request bytes dropped unexecuted\n", st.fenced,
	       st.fenced_bytes);
	printf("zeroing        %" PRIu64 " freed frames (%" PRIu64 " MiB) not yet zeroed, %"
	       PRIu64 " zeroed since the start\n", st.dirty_frames,
	       st.dirty_frames * RMEM_FRAME_SIZE >> 20, st.scrubbed_frames);
	printf("%-8s %12s %12s %10s %10s %10s %8s %14s %14s\n", "", "reads",
	       "writes", "patches", "mismatch", "discarded", "errors",
	       "bytes_in", "bytes_out");
	print_io("requests", &st.donor);
	return EX_OK;
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Submit one request per frame, at most depth in flight; -errno or 0. */
static int check_pass(struct rmem_client *c, uint64_t frames, uint8_t *buf,
		      int op, unsigned int depth)
{
	struct rmem_completion ev[64];
	uint64_t f = 0;
	int n, i, ret;

	while (f < frames || rmem_inflight(c)) {
		while (f < frames && rmem_inflight(c) < depth) {
			uint8_t *p = buf + f * RMEM_FRAME_SIZE;

			ret = op == RMEM_OP_WRITE ?
				rmem_submit_write(c, f, 1, p, NULL) :
				rmem_submit_read(c, f, 1, p, NULL);
			if (ret)
				return ret;
			f++;
		}
		n = rmem_reap(c, ev, 1, 64, -1);
		if (n < 0)
			return n;
		for (i = 0; i < n; i++)
			if (ev[i].result)
				return ev[i].result;
	}
	return 0;
}

static int cmd_check(struct rmemctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	static const uint8_t zero[RMEM_FRAME_SIZE];
	struct rmem_client *c;
	struct rmem_region r;
	uint64_t size = 16ull << 20, frames, f, bad = 0, patched = 0;
	uint64_t patch_bytes = 0;
	uint8_t *data, *back;
	double t0, tw, tr;
	int opt, ret;

	optind = 0;	/* 0: GNU getopt restarts and permutes DONOR past options */
	while ((opt = getopt_long(argc, argv, "s:", opts, NULL)) != -1) {
		if (opt != 's' || rmem_parse_size(optarg, &size) ||
		    size < RMEM_FRAME_SIZE || size % RMEM_FRAME_SIZE) {
			fprintf(stderr, "rmemctl: check: --size takes a multiple of 4K\n");
			return EX_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "rmemctl: check takes one DONOR[:PORT]\n");
		return EX_USAGE;
	}
	frames = size / RMEM_FRAME_SIZE;
	data = malloc(size);
	back = malloc(size);
	if (!data || !back) {
		fprintf(stderr, "rmemctl: check: cannot allocate 2 x %llu bytes\n",
			(unsigned long long)size);
		free(data);
		free(back);
		return EX_FAIL;
	}
	ret = connect_donor(ctl, argv[optind], 64, &c);
	if (ret)
		goto out_free;
	ret = rmem_open_region(c, frames, &r);
	if (ret)
		goto out_err;

	for (f = 0; f < frames; f++)
		rmem_fill_pattern(data + f * RMEM_FRAME_SIZE, 0, f);
	t0 = now_sec();
	ret = check_pass(c, frames, data, RMEM_OP_WRITE, 32);
	tw = now_sec() - t0;
	if (ret)
		goto out_err;
	memset(back, 0, size);
	t0 = now_sec();
	ret = check_pass(c, frames, back, RMEM_OP_READ, 32);
	tr = now_sec() - t0;
	if (ret)
		goto out_err;
	for (f = 0; f < frames; f++)
		bad += memcmp(data + f * RMEM_FRAME_SIZE,
			      back + f * RMEM_FRAME_SIZE, RMEM_FRAME_SIZE) != 0;

	/* PATCH a few lines of every 8th frame, as swap write-back would */
	for (f = 0; f < frames && !bad; f += 8) {
		uint8_t *p = data + f * RMEM_FRAME_SIZE;
		uint8_t old[RMEM_FRAME_SIZE];
		uint64_t mask;

		memcpy(old, p, sizeof(old));
		p[(f % 64) * RMEM_LINE_SIZE] ^= 0x5a;
		p[((f + 17) % 64) * RMEM_LINE_SIZE + 9] ^= 0xa5;
		mask = rmem_line_diff(old, p);
		ret = rmem_patch(c, f, mask, p);
		if (ret)
			goto out_err;
		patched++;
		patch_bytes += sizeof(struct rmem_req_hdr) + rmem_patch_len(mask);
	}
	/* discard the second half: it must read back as zeros */
	ret = rmem_discard(c, frames / 2, (uint32_t)(frames - frames / 2));
	if (ret)
		goto out_err;
	ret = check_pass(c, frames, back, RMEM_OP_READ, 32);
	if (ret)
		goto out_err;
	for (f = 0; f < frames; f++)
		bad += memcmp(back + f * RMEM_FRAME_SIZE,
			      f < frames / 2 ? data + f * RMEM_FRAME_SIZE : zero,
			      RMEM_FRAME_SIZE) != 0;
	ret = rmem_close(c, true);
	if (ret)
		goto out_err;
	if (bad) {
		fprintf(stderr, "rmemctl: check: %llu of %llu frames did not read back as written\n",
			(unsigned long long)bad, (unsigned long long)frames);
		ret = EX_FAIL;
		goto out_client;
	}
	if (!ctl->quiet) {
		printf("region %llu on %s: %llu frames (%llu MiB)\n",
		       (unsigned long long)r.id, argv[optind],
		       (unsigned long long)frames,
		       (unsigned long long)(size >> 20));
		printf("write  %8.1f MiB/s  (%llu requests, 32 in flight)\n",
		       size / 1048576.0 / tw, (unsigned long long)frames);
		printf("read   %8.1f MiB/s  every byte verified\n",
		       size / 1048576.0 / tr);
		printf("patch  %llu frames, %llu bytes on the wire instead of %llu for full pages, verified\n",
		       (unsigned long long)patched,
		       (unsigned long long)patch_bytes,
		       (unsigned long long)(patched * (sizeof(struct rmem_req_hdr) +
						       RMEM_FRAME_SIZE)));
		printf("discard %llu frames, read back as zeros\n",
		       (unsigned long long)(frames - frames / 2));
		printf("check passed: region released\n");
	}
	ret = EX_OK;
	goto out_client;

out_err:
	fprintf(stderr, "rmemctl: check: %s\n", rmem_errmsg(c));
	ret = rmem_last_status(c) == RMEM_E_QUOTA ||
	      rmem_last_status(c) == RMEM_E_NOSPC ? EX_FAIL : exit_for(ret);
out_client:
	rmem_client_free(c);
out_free:
	free(data);
	free(back);
	return ret;
}

static int cmd_keygen(struct rmemctl *ctl, int argc, char **argv)
{
	char hex[65];
	int fd, ret;

	(void)ctl;
	if (argc != 2) {
		fprintf(stderr, "rmemctl: keygen takes one FILE\n");
		return EX_USAGE;
	}
	ret = rmem_key_generate(hex, sizeof(hex));
	if (ret) {
		fprintf(stderr, "rmemctl: keygen: %s\n", strerror(-ret));
		return EX_FAIL;
	}
	fd = open(argv[1], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "rmemctl: keygen: %s: %s%s\n", argv[1],
			strerror(errno),
			errno == EEXIST ? " (remove it first to replace the key)" : "");
		return EX_FAIL;
	}
	if (dprintf(fd, "%s\n", hex) != 65 || close(fd)) {
		fprintf(stderr, "rmemctl: keygen: %s: %s\n", argv[1],
			strerror(errno));
		unlink(argv[1]);
		return EX_FAIL;
	}
	explicit_bzero(hex, sizeof(hex));
	if (!ctl->quiet)
		printf("wrote a new key to %s\n", argv[1]);
	return EX_OK;
}

/*
 * Under systemd (rmem@.service) stderr is the journal's stream: every
 * line rmemctl writes there is an error or a warning (what it reports
 * goes to stdout), so each gets its priority, <4> for "rmemctl:
 * warning:" lines and for whatever the supervisor will retry, <3> for
 * the rest, and journalctl -p warning shows them.
 */
bool rmemctl_retrying;

static char journal_line[1024];
static size_t journal_len;

static void journal_emit(void)
{
	if (!journal_len)
		return;
	dprintf(STDERR_FILENO, "<%d>%.*s%s",
		rmemctl_retrying ||
		!strncmp(journal_line, "rmemctl: warning:", 17) ? 4 : 3,
		(int)journal_len,
		journal_line, journal_line[journal_len - 1] == '\n' ? "" : "\n");
	journal_len = 0;
}

static ssize_t journal_write(void *cookie, const char *buf, size_t len)
{
	size_t i;

	(void)cookie;
	for (i = 0; i < len; i++) {
		if (journal_len < sizeof(journal_line) - 1)
			journal_line[journal_len++] = buf[i];
		journal_line[journal_len] = '\0';
		if (buf[i] == '\n')
			journal_emit();
	}
	return (ssize_t)len;
}

/* at exit glibc flushes a cookie stream but never closes it */
static void journal_exit(void)
{
	fflush(stderr);
	journal_emit();		/* a last line without its newline */
}

static void stderr_to_journal(void)
{
	static const cookie_io_functions_t io = { .write = journal_write };
	FILE *f;

	if (!rmem_stderr_is_journal())
		return;
	f = fopencookie(NULL, "w", io);
	if (!f)
		return;
	setvbuf(f, NULL, _IOLBF, 0);
	stderr = f;
	atexit(journal_exit);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "key-id", required_argument, NULL, 'i' },
		{ "timeout", required_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct rmemctl ctl = { .timeout_ms = 5000 };
	const char *cmd;
	char *end;
	int opt, ret;

	ctl.key_file = rmem_default_key_file();
	ctl.key_id = getenv("RMEM_KEY_ID");
	stderr_to_journal();
	/*
	 * The key passes through our memory, and the supervisor (attach
	 * --persist) must reconnect while swap waits for it: keep what we
	 * touch out of swap. On fault only: locking every page of every
	 * library mapped (libcrypto's alone are megabytes) took 7 MiB of the
	 * memory the client is short of; what is never touched need not be
	 * resident, and a file page touched later is read from its file,
	 * not from swap.
	 */
	if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT))
		mlockall(MCL_CURRENT | MCL_FUTURE);

	while ((opt = getopt_long(argc, argv, "+k:i:t:qhV", opts, NULL)) != -1) {
		switch (opt) {
		case 'k':
			ctl.key_file = optarg;
			break;
		case 'i':
			ctl.key_id = optarg;
			break;
		case 't':
			ctl.timeout_ms = (int)strtol(optarg, &end, 10);
			if (*end || ctl.timeout_ms < 1) {
				fprintf(stderr, "rmemctl: bad timeout '%s' (milliseconds)\n",
					optarg);
				return EX_USAGE;
			}
			break;
		case 'q':
			ctl.quiet = true;
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		case 'V':
			printf("rmemctl %s, protocol %u..%u\n", RMEM_VERSION,
			       RMEM_PROTO_VERSION_MIN, RMEM_PROTO_VERSION);
			return EX_OK;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EX_USAGE;
	}
	if (ctl.key_id && *ctl.key_id) {
		char why[128];

		if (rmem_key_id_check(ctl.key_id, why, sizeof(why))) {
			fprintf(stderr, "rmemctl: %s\n", why);
			return EX_USAGE;
		}
	}
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	if (!strcmp(cmd, "ping"))
		ret = cmd_ping(&ctl, argc, argv);
	else if (!strcmp(cmd, "stats"))
		ret = cmd_stats(&ctl, argc, argv);
	else if (!strcmp(cmd, "check"))
		ret = cmd_check(&ctl, argc, argv);
	else if (!strcmp(cmd, "keygen"))
		ret = cmd_keygen(&ctl, argc, argv);
	else if (!strcmp(cmd, "attach"))
		ret = cmd_attach(&ctl, argc, argv);
	else if (!strcmp(cmd, "detach"))
		ret = cmd_detach(&ctl, argc, argv);
	else if (!strcmp(cmd, "status"))
		ret = cmd_status(&ctl, argc, argv);
	else if (!strcmp(cmd, "list"))
		ret = cmd_list(&ctl, argc, argv);
	else if (!strcmp(cmd, "tab"))
		ret = cmd_tab(&ctl, argc, argv);
	else if (!strcmp(cmd, "help")) {
		usage(stdout);
		ret = EX_OK;
	} else {
		fprintf(stderr, "rmemctl: unknown command '%s' (try rmemctl --help)\n",
			cmd);
		ret = EX_USAGE;
	}
	return ret;
}

// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rmem-poold: the donor. Lends a pool of this host's memory, as 4 KiB
 * frames, to rmem clients over TCP. See rmem-poold(8) and
 * Documentation/admin-guide/rmem-poold.rst.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "rmem_common.h"
#include "log.h"
#include "server.h"

#define POOLD_DEFAULT_CONFIG	"/etc/rmem/rmem-poold.conf"

/* Exit codes (rmem-poold(8)). */
#define EXIT_RUNTIME	1	/* could not start, or failed while serving */
#define EXIT_USAGE	2	/* bad command line or configuration */

static void usage(FILE *f)
{
	fprintf(f,
"Usage: rmem-poold [OPTIONS]\n"
"Lend this host's memory to rmem clients (remote-memory swap donor).\n"
"\n"
"  -c, --config FILE     configuration file (default " POOLD_DEFAULT_CONFIG ")\n"
"  -f, --foreground      stay in the foreground; log to stderr unless the\n"
"                        configuration says syslog\n"
"  -t, --test-config     check the configuration and key file, then exit\n"
"  -p, --pid-file FILE   write the daemon's pid to FILE\n"
"      --port-file FILE  write the TCP port once listening (useful with\n"
"                        port = 0, which lets the kernel choose)\n"
"  -h, --help            show this help\n"
"  -V, --version         show the version\n"
"\n"
"Signals: SIGHUP reloads the configuration (quotas, max_clients, timeouts,\n"
"keys, logging); SIGTERM or SIGINT finishes requests in flight and exits.\n"
"\n"
"Exit status: 0 clean exit, 1 could not start or failed while serving,\n"
"2 bad command line or configuration.\n");
}

/* Report readiness (or the reason for failing) to the waiting parent. */
static int daemonize(int *ready_fd)
{
	int pipefd[2];
	pid_t pid;
	char buf[512];
	ssize_t n;

	if (pipe2(pipefd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(pipefd[1]);
		n = read(pipefd[0], buf, sizeof(buf) - 1);
		if (n > 0 && buf[0] == '+')
			_exit(0);
		if (n > 0) {
			buf[n] = '\0';
			fprintf(stderr, "rmem-poold: %s\n", buf + 1);
		} else {
			fprintf(stderr, "rmem-poold: daemon exited during start-up\n");
		}
		_exit(EXIT_RUNTIME);
	}
	close(pipefd[0]);
	if (setsid() < 0)
		return -errno;
	*ready_fd = pipefd[1];
	return 0;
}

static void daemon_ready(int fd, const char *err)
{
	char buf[512];
	int fdnull;

	if (fd < 0)
		return;
	snprintf(buf, sizeof(buf), "%c%s", err ? '-' : '+', err ? err : "");
	if (write(fd, buf, strlen(buf)) < 0)
		return;
	close(fd);
	if (err)
		return;
	fdnull = open("/dev/null", O_RDWR);
	if (fdnull >= 0) {
		dup2(fdnull, STDIN_FILENO);
		dup2(fdnull, STDOUT_FILENO);
		dup2(fdnull, STDERR_FILENO);
		if (fdnull > STDERR_FILENO)
			close(fdnull);
	}
	if (chdir("/"))
		return;
}

/*
 * The pid file, opened so that it cannot be turned against us: never
 * through a symbolic link (a root daemon writing where a link in a
 * world-writable directory points), only a regular file, and locked for
 * the daemon's life, so that a second daemon with the same file says
 * who holds it instead of overwriting it. The descriptor stays open (and
 * the lock held) until exit.
 */
static int pid_file_write(const char *path, char *err, size_t errlen)
{
	char buf[32];
	struct stat st;
	int fd, e, n;

	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "pid file %s: %s%s", path, strerror(e),
			 e == ELOOP ? " (a symbolic link: refused)" : "");
		return -e;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(err, errlen, "pid file %s: not a regular file", path);
		return -EINVAL;
	}
	/* a hard link to another file, or a file someone else made for us
	 * to truncate: refused, as the symbolic link is */
	if (st.st_nlink != 1 || st.st_uid != geteuid()) {
		close(fd);
		snprintf(err, errlen,
			 "pid file %s: %s (refused: remove it, or name another)",
			 path, st.st_nlink != 1 ? "has other hard links" :
			 "owned by another user");
		return -EPERM;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		e = errno;
		n = (int)pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		close(fd);
		if (e == EWOULDBLOCK)
			snprintf(err, errlen,
				 "pid file %s: held by a running rmem-poold (pid %s)",
				 path, buf[0] ? buf : "?");
		else
			snprintf(err, errlen, "pid file %s: %s", path,
				 strerror(e));
		return -(e == EWOULDBLOCK ? EEXIST : e);
	}
	/* a daemon that exited may have unlinked what we opened before we
	 * locked it: then the lock guards nothing, and the name is free */
	{
		struct stat now;

		if (stat(path, &now) || now.st_ino != st.st_ino ||
		    now.st_dev != st.st_dev) {
			close(fd);
			return pid_file_write(path, err, errlen);
		}
	}
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) || pwrite(fd, buf, (size_t)n, 0) != n) {
		e = errno;
		close(fd);
		snprintf(err, errlen, "pid file %s: %s", path, strerror(e));
		return -e;
	}
	return 0;	/* fd is left open: it holds the lock */
}

/*
 * Swap depends on us: the kernel must not pick the donor to kill. And a
 * client on this same host may swap to us: if our own allocations (socket
 * buffers for a reply, say) went into reclaim, reclaim would write pages
 * to that client's rmem device and wait, and the device waits for us. As
 * an I/O flusher our allocations never start I/O, as for nbd-server or a
 * FUSE daemon.
 */
static void protect_swap_path(void)
{
	int ret = rmem_protect_from_oom();

	if (ret)
		log_info("oom_score_adj left as it was: %s (lowering it needs CAP_SYS_RESOURCE)",
			 strerror(-ret));
	ret = rmem_mark_io_flusher();
	if (ret)
		log_info("not an I/O flusher: %s (needs CAP_SYS_RESOURCE); a client that swaps to this donor from the same host could deadlock",
			 strerror(-ret));
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "test-config", no_argument, NULL, 't' },
		{ "pid-file", required_argument, NULL, 'p' },
		{ "port-file", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct server srv = {
		.listen_fd = -1, .signal_fd = -1,
	};
	const char *config = POOLD_DEFAULT_CONFIG, *pid_file = NULL;
	const char *port_file = NULL;
	bool foreground = false, test = false;
	static char start_dir[PATH_MAX], config_abs[PATH_MAX],
		pid_abs[PATH_MAX];
	char err[PATH_MAX + 1024];	/* a path, and why */
	int opt, ready_fd = -1, ret;

	while ((opt = getopt_long(argc, argv, "c:ftp:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 't':
			test = true;
			break;
		case 'p':
			pid_file = optarg;
			break;
		case 'P':
			port_file = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("rmem-poold %s, protocol %u..%u\n", RMEM_VERSION,
			       RMEM_PROTO_VERSION_MIN, RMEM_PROTO_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "rmem-poold: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}

	/* until the configuration is read: stderr (the journal's, under systemd) */
	if (poold_config_load(config, &srv.cfg, err, sizeof(err))) {
		log_err("%s", err);
		return EXIT_USAGE;
	}
	/*
	 * A daemon's working directory is "/" (daemon_ready), and a SIGHUP
	 * reads both files again: remember where they were, so that a
	 * relative -c or key_file names the same files then as now.
	 */
	snprintf(config_abs, sizeof(config_abs), "%s", config);
	/* a directory that is gone matters only to a relative path */
	srv.start_dir = getcwd(start_dir, sizeof(start_dir));
	if (poold_config_abspath(config_abs, sizeof(config_abs), srv.start_dir,
				 err, sizeof(err))) {
		log_err("%s: %s", config, err);
		return EXIT_USAGE;
	}
	srv.config_path = config_abs;
	if (pid_file) {
		snprintf(pid_abs, sizeof(pid_abs), "%s", pid_file);
		if (poold_config_abspath(pid_abs, sizeof(pid_abs),
					 srv.start_dir, err, sizeof(err))) {
			log_err("%s", err);
			return EXIT_USAGE;
		}
		pid_file = pid_abs;	/* unlinked at exit, after chdir("/") */
	}
	/* relative key files: against start_dir, at start and each reload */
	if (poold_keyring_load(&srv.cfg, srv.start_dir, &srv.keys, err,
			       sizeof(err))) {
		log_err("%s: %s", config, err);
		return EXIT_USAGE;
	}
	if (test) {
		/* ExecStartPre runs this under the unit's LimitNOFILE= */
		if (server_check_fds(&srv.cfg, server_threads(&srv.cfg), err,
				     sizeof(err))) {
			log_err("%s: %s", config, err);
			return EXIT_USAGE;
		}
		printf("%s: configuration OK (pool %llu MiB, quota %llu MiB, port %u",
		       config, (unsigned long long)(srv.cfg.pool_size >> 20),
		       (unsigned long long)(srv.cfg.quota >> 20), srv.cfg.port);
		if (srv.cfg.nclients)
			printf(", %u named key%s", srv.cfg.nclients,
			       srv.cfg.nclients == 1 ? "" : "s");
		printf(")\n");
		return 0;
	}

	if (!foreground) {
		ret = daemonize(&ready_fd);
		if (ret) {
			fprintf(stderr, "rmem-poold: cannot daemonize: %s\n",
				strerror(-ret));
			return EXIT_RUNTIME;
		}
	}
	/* in the background there is no stderr to log to, now or after a
	 * SIGHUP (server_load) */
	srv.background = !foreground;
	poold_log_setup(srv.cfg.log_level, srv.cfg.log_syslog || !foreground);

	/* first: a second daemon with this pid file stops here, before it
	 * binds or allocates a pool */
	ret = pid_file ? pid_file_write(pid_file, err, sizeof(err)) : 0;
	if (ret) {
		pid_file = NULL;	/* not ours: never unlinked */
		goto fail;
	}
	ret = server_listen(&srv, err, sizeof(err));
	if (!ret)
		ret = pool_init(&srv.pool, srv.cfg.pool_size,
				srv.cfg.hugepages, err, sizeof(err));
	if (!ret && srv.cfg.lock) {
		if (mlockall(MCL_CURRENT | MCL_FUTURE)) {
			snprintf(err, sizeof(err),
				 "cannot lock memory: %s (raise RLIMIT_MEMLOCK, run as root, or set [pool] lock = no)",
				 strerror(errno));
			ret = -errno;
		} else {
			srv.locked = true;
		}
	}
	if (!ret && port_file)
		ret = server_write_port_file(&srv, port_file, err, sizeof(err));
	if (ret)
		goto fail;
	/* before the loops' threads start: they inherit it */
	protect_swap_path();
	/*
	 * Every client's swapped memory and the key are in this process:
	 * no core dump of it (the pool is MADV_DONTDUMP too, pool_init),
	 * and no ptrace or /proc/PID/mem by its own uid, only by root.
	 * After protect_swap_path(): /proc/self/oom_score_adj is root's
	 * from here on, which a donor run as a user of its own could no
	 * longer write.
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
		log_warn("still dumpable: prctl: %s", strerror(errno));
	ret = server_start(&srv, err, sizeof(err));
	if (ret)
		goto fail;
	daemon_ready(ready_fd, NULL);

	ret = server_run(&srv);
	server_close(&srv);
	if (pid_file)
		unlink(pid_file);
	return ret ? EXIT_RUNTIME : 0;

fail:
	/* srv is whole from its initializer on: closing it is safe at any
	 * step, and wipes the key */
	log_err("%s", err);
	daemon_ready(ready_fd, err);
	server_close(&srv);
	if (pid_file)
		unlink(pid_file);	/* ours: we hold its lock */
	return EXIT_RUNTIME;
}

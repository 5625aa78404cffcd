/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POOLD_SERVER_H
#define POOLD_SERVER_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "pool.h"
#include "rmem_common.h"

struct conn;
struct server;

/* An address a client authenticated from, and when it last was or left. */
struct trusted_src {
	uint8_t addr[16];
	time_t seen;		/* CLOCK_MONOTONIC */
	unsigned int live;	/* its authenticated connections now */
};

/* Connections of one address not yet authenticated ([server]
 * source_startups); under srv->lock. */
struct startup_src {
	uint8_t addr[16];	/* IPv4 as ::ffff:a.b.c.d */
	unsigned int n;
};

/*
 * An event loop: its own epoll set, timer and wake-up eventfd, and the
 * connections it owns. Loop 0 runs on the main thread and also has the
 * listening socket and the signalfd; loops 1.. run on threads of their
 * own ([server] threads). A connection belongs to one loop for its life:
 * accept hands it over through incoming[] and the loop's eventfd.
 */
struct loop {
	struct server *srv;
	unsigned int index;
	pthread_t thread;
	bool started;
	int epfd;
	int wake_fd;
	int timer_fd;

	/* the loop's own: touched by its thread under exec (read), or by a
	 * fence under exec (write) */
	struct conn *conns;
	bool restage;		/* a connection left requests in its stage */
	bool reap;		/* a connection was fenced: free it */
	bool draining;		/* this loop has seen the drain */
	time_t drain_deadline;
	time_t beat;		/* its last tick (atomic): the watchdog */
	unsigned int keys_gen;	/* the keyring its connections were checked against */

	/* under srv->lock */
	struct conn *incoming;	/* accepted, not yet taken by the loop */
	unsigned int load;	/* connections owned or incoming */
	bool failed;		/* its thread stopped: given nothing more */
};

/*
 * Locking (two locks; take exec before lock, never the other way):
 *
 * exec (a writer-preferring rwlock): every loop holds it for reading
 * while it touches its connections, so loops run side by side. A fence
 * (OPEN with FENCE) takes it for writing: then no loop is inside a
 * connection, and the fence may shut any loop's connections, so that
 * none of their requests executes after the fencing OPEN's reply.
 *
 * lock (a mutex): the pool and its regions (free frames, refs, release),
 * the reloadable configuration and the key, the connection counts, and
 * each loop's incoming[], load and failed. Held briefly: no socket I/O
 * under it, though a log line may be written (a journal that stalls
 * stalls the loops either way).
 *
 * Counters that requests bump (io, auth_failures, proto_errors) are
 * atomic; the fence counters change under exec's write side.
 */
struct server {
	struct poold_config cfg;
	/* absolute, as is cfg.key_file: the daemon's chdir("/") and a
	 * SIGHUP's re-read must find the same files (poold_config_abspath) */
	const char *config_path;
	const char *start_dir;	/* the working directory it started in */
	/* daemonized: stderr is /dev/null, so every log goes to syslog,
	 * whatever [log] target says, after a SIGHUP too */
	bool background;
	/* the keys of this moment, under lock; a reload bumps keys_gen and
	 * wakes each loop to close the connections whose key went
	 * (loop_revoke, run again by every tick) */
	struct poold_keyring keys;
	unsigned int keys_gen;
	/* random, held by no one: AUTH computes a MAC with it for each
	 * empty key place, so its time says nothing about names (do_auth) */
	struct rmem_key decoy;
	struct pool pool;
	bool locked;

	pthread_rwlock_t exec;
	pthread_mutex_t lock;
	struct loop *loops;
	unsigned int nloops;

	int listen_fd;		/* loop 0's */
	unsigned int port_conf;	/* [server] port as configured (cfg.port:
				 * the bound one, which 0 leaves to the kernel) */
	int signal_fd;		/* loop 0's */

	unsigned int nconns;	/* authenticated, counted against max_clients */
	unsigned int nsockets;	/* all connections, refused ones too */
	/*
	 * Not yet authenticated (max_startups), and of those how many each
	 * address has (source_startups): strangers cannot take the
	 * places of clients that hold the key. Under lock.
	 */
	unsigned int nstartups;
	struct startup_src *srcs;
	unsigned int nsrcs, srcs_cap;
	uint32_t drop_rand;	/* max_startups' random early drop */
	/* addresses that held the key lately: exempt from max_startups */
	struct trusted_src *trusted;
	unsigned int ntrusted;
	/* loop 0's: drops since its last tick, told once a second */
	uint64_t dropped_startups, dropped_source;
	char dropped_last[INET6_ADDRSTRLEN];
	bool accept_paused;	/* out of descriptors: until the next tick */

	bool draining;		/* set once by loop 0 (atomic) */
	bool stale_warned;	/* a loop missed its ticks: told once */
	unsigned int stale_sec;	/* a loop's tick this late: no ping */
	time_t start;
	bool watchdog;		/* systemd's WatchdogSec=: ping every tick */
	char status[128];	/* the last STATUS= sent to systemd */

	uint64_t auth_failures;
	uint64_t proto_errors;
	uint64_t fenced;	/* connections closed by a fence */
	uint64_t fenced_bytes;	/* their request bytes never executed */
	struct rmem_io_counters io;
};

/* [server] threads resolved: auto is a loop per two online CPUs, 1..8 */
unsigned int server_threads(const struct poold_config *cfg);
/* RLIMIT_NOFILE against what cfg can admit (raising the soft limit) */
int server_check_fds(const struct poold_config *cfg, unsigned int nloops,
		     char *err, size_t errlen);
int server_listen(struct server *s, char *err, size_t errlen);
int server_write_port_file(struct server *s, const char *port_file,
			   char *err, size_t errlen);
/* Loops and threads, before the daemon says it serves; then run loop 0. */
int server_start(struct server *s, char *err, size_t errlen);
int server_run(struct server *s);
void server_close(struct server *s);

#endif

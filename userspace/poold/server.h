/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POOLD_SERVER_H
#define POOLD_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "pool.h"
#include "rmem_common.h"

struct conn;

struct server {
	struct poold_config cfg;
	const char *config_path;
	struct rmem_key key;
	struct pool pool;
	bool locked;

	int epfd;
	int listen_fd;
	int signal_fd;
	int timer_fd;

	struct conn *conns;
	unsigned int nconns;	/* connections counted against max_clients */
	unsigned int nsockets;	/* all connections, refused ones too */

	bool draining;
	bool restage;		/* a connection left requests in its stage */
	bool reap;		/* a connection was fenced: free it */
	time_t drain_deadline;
	time_t start;
	bool watchdog;		/* systemd's WatchdogSec=: ping every tick */
	char status[128];	/* the last STATUS= sent to systemd */

	uint64_t auth_failures;
	uint64_t proto_errors;
	uint64_t fenced;	/* connections closed by a fence */
	uint64_t fenced_bytes;	/* their request bytes never executed */
	struct rmem_io_counters io;
};

int server_listen(struct server *s, char *err, size_t errlen);
int server_write_port_file(struct server *s, const char *port_file,
			   char *err, size_t errlen);
int server_run(struct server *s);
void server_close(struct server *s);

#endif

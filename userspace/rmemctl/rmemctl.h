/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What rmemctl's commands share: options, exit codes, the donor connect. */
#ifndef RMEMCTL_H
#define RMEMCTL_H

#include <stdbool.h>
#include <stdint.h>
#include "librmem.h"
#include "rmem_common.h"

enum rmemctl_exit {
	EX_OK = 0,
	EX_FAIL = 1,		/* the donor refused or failed the request */
	EX_USAGE = 2,		/* bad command line */
	EX_UNREACHABLE = 3,	/* cannot resolve or connect to the donor */
	EX_AUTH = 4,		/* the donor refused the key, or vice versa */
	EX_KEYFILE = 5,		/* key file missing, unreadable or too short */
	EX_PROTOCOL = 6,	/* no common protocol version, malformed reply */
	EX_BUSY = 7,		/* donor has its maximum of clients */
	EX_KERNEL = 8,		/* no rmem module, or no such device */
	EX_INUSE = 9,		/* the device is in use (swap, mount) */
};

struct rmemctl {
	const char *key_file;
	int timeout_ms;
	bool quiet;
	struct rmem_key key;
};

int exit_for(int err);
int connect_donor(struct rmemctl *ctl, const char *spec, unsigned int depth,
		  struct rmem_client **out);

/* device.c: the kernel side, over generic netlink */
int cmd_attach(struct rmemctl *ctl, int argc, char **argv);
int cmd_detach(struct rmemctl *ctl, int argc, char **argv);
int cmd_status(struct rmemctl *ctl, int argc, char **argv);
int cmd_list(struct rmemctl *ctl, int argc, char **argv);
int rmem_sysfs_columns(uint32_t idx, const char *file, unsigned long long *c,
		       int max);

/* prom.c: the Prometheus text format, for node_exporter's textfile collector */
#define RMEM_PROM_MAX_DEVICES	256
void prom_print_donor(const char *donor, const struct rmem_stats_info *st);
int prom_add_device(uint32_t idx, const char *donor, const char *state,
		    uint64_t size, uint32_t queues, uint64_t dead_mask);
void prom_print_devices(void);

#endif /* RMEMCTL_H */

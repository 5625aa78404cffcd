/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What rmemctl's commands share: options, exit codes, the donor connect. */
#ifndef RMEMCTL_H
#define RMEMCTL_H

#include <stdbool.h>
#include <stddef.h>
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
	const char *key_id;		/* NULL: the donor's [auth] key */
	int timeout_ms;
	bool quiet;
	struct rmem_key key;
};

/* the supervisor's failures are retried: warnings, not errors */
extern bool rmemctl_retrying;

int exit_for(int err);
int connect_donor(struct rmemctl *ctl, const char *spec, unsigned int depth,
		  struct rmem_client **out);

/* What attach makes: from its command line, or a line of rmemtab. */
struct attach_opts {
	const char *donor;		/* DONOR[:PORT] */
	int index;			/* N of /dev/rmemN asked for; -1: any */
	uint64_t size, spare;		/* bytes */
	unsigned int queues, nread;
	uint32_t timeout_ms, reconnect_ms;
	bool persist;
};
#define ATTACH_OPTS_INIT { .index = -1, .queues = 1, .timeout_ms = 30000, \
			   .reconnect_ms = 60000 }

/* device.c: the kernel side, over generic netlink */
int attach_option(struct attach_opts *o, const char *name, const char *val,
		  char *err, size_t errlen);
int rmem_parse_dev(const char *s, uint32_t *index);
int cmd_attach(struct rmemctl *ctl, int argc, char **argv);
int cmd_detach(struct rmemctl *ctl, int argc, char **argv);
int cmd_status(struct rmemctl *ctl, int argc, char **argv);
int cmd_list(struct rmemctl *ctl, int argc, char **argv);
int rmem_sysfs_columns(uint32_t idx, const char *file, unsigned long long *c,
		       int max);

/*
 * tab.c: rmemtab(5), the devices this host attaches at boot:
 *   NAME  DONOR[:PORT]  OPTION[,OPTION...]
 */
#define RMEMTAB_DEFAULT		"/etc/rmem/rmemtab"
#define RMEMTAB_MAX		64	/* entries */
struct rmemtab_entry {
	char name[32];			/* rmemN */
	char donor[256];
	struct attach_opts opts;	/* .donor points into donor */
	char key_file[256];		/* key=FILE, or "" for rmemctl's */
	char key_id[RMEM_KEY_ID_SIZE];	/* keyid=ID, or "" for rmemctl's */
	bool swap;			/* mkswap and swapon at boot */
	int priority;			/* pri=N of the swap, or -1 */
	bool noauto;			/* not at boot */
	unsigned int line;
};
int rmemtab_load(const char *path, struct rmemtab_entry *e, unsigned int max,
		 unsigned int *n, char *err, size_t errlen);
int rmemtab_find(const char *path, const char *dev, struct rmemtab_entry *e,
		 char *err, size_t errlen);
int cmd_tab(struct rmemctl *ctl, int argc, char **argv);

/* prom.c: the Prometheus text format, for node_exporter's textfile collector */
#define RMEM_PROM_MAX_DEVICES	256
void prom_print_donor(const char *donor, const struct rmem_stats_info *st);
int prom_add_device(uint32_t idx, const char *donor, const char *state,
		    uint64_t size, uint32_t queues, uint64_t dead_mask);
void prom_print_devices(void);

#endif /* RMEMCTL_H */

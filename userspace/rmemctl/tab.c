// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rmemtab(5): the rmem devices this host attaches at boot, one a line,
 * in the spirit of nbdtab and crypttab:
 *
 *   # NAME  DONOR[:PORT]  OPTIONS
 *   rmem0   donor1        size=8G,spare=2G,queues=4,swap,pri=100
 *
 * The attach options are attach's own long options, checked by the same
 * function (attach_option()); key=FILE, keyid=ID, swap, pri=N and noauto are the
 * table's. `rmemctl attach /dev/rmem0` attaches a line; `rmemctl tab`
 * checks the file and lists it; `rmemctl tab --generate DIR` is the
 * systemd generator (rmem-generator): rmem@NAME.service for each line,
 * and for a swap line a swap unit ordered after it and mkswap run when
 * the device is made (etc/systemd/, Documentation/admin-guide/rmem.rst,
 * "Attaching at boot").
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rmemctl.h"

#ifndef RMEM_UNITDIR
#define RMEM_UNITDIR	"/lib/systemd/system"
#endif

/* One OPTION of a line: the table's own, or attach's. */
static int tab_option(struct rmemtab_entry *e, char *opt, char *err,
		      size_t errlen)
{
	char *val = strchr(opt, '=');
	char *end;
	long v;

	if (val)
		*val++ = '\0';
	if (!strcmp(opt, "swap") || !strcmp(opt, "noauto")) {
		if (val) {
			snprintf(err, errlen, "%s takes no value", opt);
			return -1;
		}
		*(opt[0] == 's' ? &e->swap : &e->noauto) = true;
		return 0;
	}
	if (!val || !*val) {
		snprintf(err, errlen, "%s needs a value (%s=...)", opt, opt);
		return -1;
	}
	if (!strcmp(opt, "pri")) {
		v = strtol(val, &end, 10);
		if (*end || v < 0 || v > 32767) {
			snprintf(err, errlen, "pri takes 0..32767, not '%s'", val);
			return -1;
		}
		e->priority = (int)v;
		return 0;
	}
	if (!strcmp(opt, "key")) {
		if (val[0] != '/' || strlen(val) >= sizeof(e->key_file)) {
			snprintf(err, errlen, "key takes an absolute path, not '%s'", val);
			return -1;
		}
		strcpy(e->key_file, val);
		return 0;
	}
	if (!strcmp(opt, "keyid")) {
		if (rmem_key_id_check(val, err, errlen))
			return -1;
		strcpy(e->key_id, val);
		return 0;
	}
	if (!strcmp(opt, "device") || !strcmp(opt, "persist")) {
		snprintf(err, errlen, "unknown option '%s'", opt);
		return -1;
	}
	return attach_option(&e->opts, opt, val, err, errlen);
}

/* The kernel's limit on RMEM_ATTR_DONOR (rmem_dev_cfg.donor) */
#define RMEMTAB_DONOR_MAX	127

/* One line into e: 1 if it held an entry, 0 if blank, -1 with err. */
static int tab_line(char *line, struct rmemtab_entry *e, char *err,
		    size_t errlen)
{
	char *f[4], *save = NULL, *opt, *c, *seen[16];
	unsigned int nseen = 0, i;
	uint32_t idx;
	int n = 0;

	/* a comment starts at a '#' that starts a line or a field: a '#'
	 * inside a value (key=/etc/rmem/k#1) is the value's */
	for (c = line; *c; c++)
		if (*c == '#' && (c == line || c[-1] == ' ' || c[-1] == '\t')) {
			*c = '\0';
			break;
		}
	for (c = strtok_r(line, " \t\r\n", &save); c && n < 4;
	     c = strtok_r(NULL, " \t\r\n", &save))
		f[n++] = c;
	if (!n)
		return 0;
	if (n != 3) {
		snprintf(err, errlen, "%s fields; a line is NAME DONOR[:PORT] OPTIONS",
			 n < 3 ? "too few" : "too many");
		return -1;
	}
	memset(e, 0, sizeof(*e));
	e->opts = (struct attach_opts)ATTACH_OPTS_INIT;
	e->priority = -1;
	c = f[0] + (strncmp(f[0], "/dev/", 5) ? 0 : 5);
	if (strncmp(c, "rmem", 4) || (c[4] == '0' && c[5]) ||
	    rmem_parse_dev(c, &idx)) {
		snprintf(err, errlen, "'%s' is not an rmem device name (rmemN)", f[0]);
		return -1;
	}
	snprintf(e->name, sizeof(e->name), "rmem%u", idx);
	e->opts.index = (int)idx;
	if (strlen(f[1]) > RMEMTAB_DONOR_MAX) {
		snprintf(err, errlen, "donor name longer than %d characters",
			 RMEMTAB_DONOR_MAX);
		return -1;
	}
	strcpy(e->donor, f[1]);
	e->opts.donor = e->donor;
	save = NULL;
	for (opt = strtok_r(f[2], ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
		size_t len = strcspn(opt, "=");

		for (i = 0; i < nseen; i++)
			if (strlen(seen[i]) == len && !strncmp(seen[i], opt, len)) {
				snprintf(err, errlen, "%.*s given twice", (int)len, opt);
				return -1;
			}
		if (nseen < sizeof(seen) / sizeof(seen[0]))
			seen[nseen++] = opt;
		if (tab_option(e, opt, err, errlen))
			return -1;
	}
	if (!e->opts.size) {
		snprintf(err, errlen, "%s has no size=", e->name);
		return -1;
	}
	if (e->opts.queues + e->opts.nread > RMEM_MAX_QUEUES) {
		snprintf(err, errlen, "queues and read-queues make more than %u connections",
			 RMEM_MAX_QUEUES);
		return -1;
	}
	if (e->priority >= 0 && !e->swap) {
		snprintf(err, errlen, "pri= without swap");
		return -1;
	}
	return 1;
}

/*
 * The whole file into e[0..max), or EX_USAGE with "PATH:LINE: reason"
 * (EX_FAIL if it cannot be read). A file with any bad line gives no
 * entries: half a table attached at boot would hide the error.
 */
int rmemtab_load(const char *path, struct rmemtab_entry *e, unsigned int max,
		 unsigned int *n, char *err, size_t errlen)
{
	char buf[1024], why[512];
	unsigned int lineno = 0, i;
	struct rmemtab_entry one;
	FILE *f = fopen(path, "r");
	int ret;

	*n = 0;
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return EX_FAIL;
	}
	while (fgets(buf, sizeof(buf), f)) {
		lineno++;
		if (!strchr(buf, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s:%u: line too long", path, lineno);
			goto bad;
		}
		ret = tab_line(buf, &one, why, sizeof(why));
		if (ret < 0) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
			goto bad;
		}
		if (!ret)
			continue;
		if (*n == max) {
			snprintf(err, errlen, "%s:%u: more than %u devices", path,
				 lineno, max);
			goto bad;
		}
		e[*n] = one;
		e[*n].opts.donor = e[*n].donor;	/* into the copy */
		e[*n].line = lineno;
		for (i = 0; i < *n; i++)
			if (!strcmp(e[i].name, e[*n].name)) {
				snprintf(err, errlen, "%s:%u: %s is on line %u too",
					 path, lineno, e[*n].name, e[i].line);
				goto bad;
			}
		(*n)++;
	}
	fclose(f);
	return EX_OK;
bad:
	fclose(f);
	*n = 0;
	return EX_USAGE;
}

/* The line of dev (/dev/rmemN or rmemN) into *e. */
int rmemtab_find(const char *path, const char *dev, struct rmemtab_entry *e,
		 char *err, size_t errlen)
{
	static struct rmemtab_entry tab[RMEMTAB_MAX];
	unsigned int n, i;
	uint32_t idx;
	int ret;

	if (rmem_parse_dev(dev, &idx)) {
		snprintf(err, errlen, "'%s' is not an rmem device (/dev/rmemN)", dev);
		return EX_USAGE;
	}
	ret = rmemtab_load(path, tab, RMEMTAB_MAX, &n, err, errlen);
	if (ret)
		return ret;
	for (i = 0; i < n; i++)
		if (tab[i].opts.index == (int)idx) {
			*e = tab[i];
			e->opts.donor = e->donor;	/* into the copy */
			return EX_OK;
		}
	snprintf(err, errlen, "no rmem%u in %s (attach DONOR --size SIZE, or add a line)",
		 idx, path);
	return EX_USAGE;
}

/* path, made of dir and name, written with text; 0 or -1 (printed) */
static int write_unit(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f)) {
		fprintf(stderr, "rmem-generator: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int link_unit(const char *dir, const char *wants, const char *name,
		     const char *target)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, wants);
	if (mkdir(path, 0755) && errno != EEXIST)
		goto fail;
	snprintf(path, sizeof(path), "%s/%s/%s", dir, wants, name);
	if (symlink(target, path) && errno != EEXIST)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "rmem-generator: %s: %s\n", path, strerror(errno));
	return -1;
}

/*
 * The systemd generator's output for the table, into dir (its "normal"
 * directory). Each device is wanted by remote-fs.target: rmem is network
 * swap, up once the network is (rmem@.service is after
 * network-online.target), as remote file systems are; swap.target comes
 * in early boot, before any network, so a swap unit on rmem cannot be
 * before it and has DefaultDependencies=no. At shutdown the order runs
 * backwards: swapoff, then detach (ExecStop), then the network.
 */
static int tab_generate(const char *path, const struct rmemtab_entry *e,
			unsigned int n, const char *dir)
{
	char name[96], text[4096], pri[32];
	unsigned int i;
	int ret = 0;

	for (i = 0; i < n; i++) {
		char nm[sizeof(e[i].name)];

		memcpy(nm, e[i].name, sizeof(nm));
		/* noauto: the units, but nothing wants them at boot */
		snprintf(name, sizeof(name), "rmem@%s.service", nm);
		if (!e[i].noauto)
			ret |= link_unit(dir, "remote-fs.target.wants", name,
					 RMEM_UNITDIR "/rmem@.service");
		if (!e[i].swap)
			continue;
		/* a new device holds a new, zeroed region: never a swap area */
		snprintf(name, sizeof(name), "rmem@%s.service.d", nm);
		snprintf(text, sizeof(text), "%s/%s", dir, name);
		if (mkdir(text, 0755) && errno != EEXIST) {
			fprintf(stderr, "rmem-generator: %s: %s\n", text, strerror(errno));
			ret = -1;
			continue;
		}
		/* a start by hand, or a restart, swaps on it too */
		snprintf(text, sizeof(text),
			 "# Automatically generated by rmem-generator from %.900s:%u\n"
			 "[Unit]\n"
			 "Wants=dev-%s.swap\n"
			 "\n"
			 "[Service]\n"
			 "ExecStartPost=/sbin/mkswap --label %s /dev/%s\n",
			 path, e[i].line, nm, nm, nm);
		snprintf(name, sizeof(name), "rmem@%s.service.d/swap.conf", nm);
		ret |= write_unit(dir, name, text);
		pri[0] = '\0';
		if (e[i].priority >= 0)
			snprintf(pri, sizeof(pri), "Priority=%d\n", e[i].priority);
		snprintf(text, sizeof(text),
			 "# Automatically generated by rmem-generator from %.900s:%u\n"
			 "[Unit]\n"
			 "Description=rmem swap on /dev/%s\n"
			 "Documentation=man:rmemtab(5)\n"
			 "SourcePath=%.900s\n"
			 "DefaultDependencies=no\n"
			 "Requires=rmem@%s.service\n"
			 "After=rmem@%s.service\n"
			 "Before=remote-fs.target umount.target\n"
			 "Conflicts=umount.target\n"
			 "\n"
			 "[Swap]\n"
			 "What=/dev/%s\n"
			 "%s",
			 path, e[i].line, nm, path, nm, nm,
			 nm, pri);
		snprintf(name, sizeof(name), "dev-%s.swap", nm);
		ret |= write_unit(dir, name, text);
		snprintf(text, sizeof(text), "../dev-%s.swap", nm);
		if (!e[i].noauto)
			ret |= link_unit(dir, "remote-fs.target.wants", name, text);
	}
	return ret ? EX_FAIL : EX_OK;
}

/* rmemctl tab [--generate DIR] [FILE]: check, list, or generate units. */
int cmd_tab(struct rmemctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "generate", required_argument, NULL, 'g' },
		{ NULL, 0, NULL, 0 },
	};
	static struct rmemtab_entry tab[RMEMTAB_MAX];
	const char *path = RMEMTAB_DEFAULT, *dir = NULL;
	char err[1024];
	unsigned int n, i;
	int opt, ret;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "g:", opts, NULL)) != -1) {
		if (opt != 'g') {
			fprintf(stderr, "usage: rmemctl tab [--generate DIR] [FILE]\n");
			return EX_USAGE;
		}
		dir = optarg;
	}
	if (optind < argc - 1) {
		fprintf(stderr, "usage: rmemctl tab [--generate DIR] [FILE]\n");
		return EX_USAGE;
	}
	if (optind == argc - 1)
		path = argv[optind];
	ret = rmemtab_load(path, tab, RMEMTAB_MAX, &n, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "%s%s\n", dir ? "rmem-generator: " : "rmemctl: ", err);
		return ret;
	}
	if (dir)
		return tab_generate(path, tab, n, dir);
	for (i = 0; i < n && !ctl->quiet; i++) {
		const struct attach_opts *o = &tab[i].opts;

		printf("/dev/%s %s %" PRIu64 " MiB", tab[i].name, tab[i].donor,
		       o->size >> 20);
		if (o->spare)
			printf(" (and %" PRIu64 " MiB for bases)", o->spare >> 20);
		printf(", %u queue%s", o->queues + o->nread,
		       o->queues + o->nread == 1 ? "" : "s");
		if (o->nread)
			printf(" (%u for reads)", o->nread);
		if (tab[i].swap) {
			printf(", swap");
			if (tab[i].priority >= 0)
				printf(" (priority %d)", tab[i].priority);
		}
		if (tab[i].key_file[0])
			printf(", key %s", tab[i].key_file);
		if (tab[i].key_id[0])
			printf(", key id %s", tab[i].key_id);
		printf("%s\n", tab[i].noauto ? ", not at boot" : "");
	}
	return EX_OK;
}

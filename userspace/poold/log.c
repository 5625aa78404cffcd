// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rmem-poold logging: stderr (foreground, tests) or syslog (daemon).
 * Under systemd (rmem-poold.service runs it in the foreground) stderr is
 * the journal's stream: each line then starts with its syslog priority,
 * "<3>" and so on, which journald takes as the entry's PRIORITY and
 * strips (sd-daemon(3)), and drops the name, which the journal records.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "rmem_common.h"

static int poold_level = POOLD_LOG_INFO;
static bool poold_syslog;
static int poold_journal = -1;	/* -1: not looked at yet */

static const struct {
	const char *name;
	int level;
} poold_levels[] = {
	{ "error", POOLD_LOG_ERROR },
	{ "warning", POOLD_LOG_WARNING },
	{ "info", POOLD_LOG_INFO },
	{ "debug", POOLD_LOG_DEBUG },
};

void poold_log_setup(int level, bool use_syslog)
{
	poold_level = level;
	if (use_syslog && !poold_syslog)
		openlog("rmem-poold", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else if (!use_syslog && poold_syslog)
		closelog();
	poold_syslog = use_syslog;
}

void poold_log(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > poold_level)
		return;
	va_start(ap, fmt);
	if (poold_syslog) {
		vsyslog(level, fmt, ap);
	} else {
		char line[1024];

		vsnprintf(line, sizeof(line), fmt, ap);
		if (poold_journal < 0)
			poold_journal = rmem_stderr_is_journal();
		if (poold_journal)
			fprintf(stderr, "<%d>%s\n", level, line);
		else
			fprintf(stderr, "rmem-poold: %s: %s\n",
				poold_log_level_name(level), line);
	}
	va_end(ap);
}

int poold_log_level_parse(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(poold_levels) / sizeof(poold_levels[0]); i++)
		if (!strcasecmp(s, poold_levels[i].name))
			return poold_levels[i].level;
	return -1;
}

const char *poold_log_level_name(int level)
{
	size_t i;

	for (i = 0; i < sizeof(poold_levels) / sizeof(poold_levels[0]); i++)
		if (poold_levels[i].level == level)
			return poold_levels[i].name;
	return "log";
}

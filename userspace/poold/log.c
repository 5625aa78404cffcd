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

/*
 * Every event loop logs; only the main thread sets these (at start and
 * on SIGHUP), so they are read and written whole, with atomics.
 */
static int poold_level = POOLD_LOG_INFO;
static bool poold_syslog;
static int poold_journal = -1;	/* -1: not looked at yet (main thread) */

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
	bool was = __atomic_load_n(&poold_syslog, __ATOMIC_RELAXED);

	__atomic_store_n(&poold_level, level, __ATOMIC_RELAXED);
	if (poold_journal < 0)
		__atomic_store_n(&poold_journal, rmem_stderr_is_journal(),
				 __ATOMIC_RELAXED);
	if (use_syslog && !was)
		openlog("rmem-poold", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	__atomic_store_n(&poold_syslog, use_syslog, __ATOMIC_RELEASE);
	/* syslog(3) locks itself: a loop's line in between goes either way */
	if (!use_syslog && was)
		closelog();
}

void poold_log(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > __atomic_load_n(&poold_level, __ATOMIC_RELAXED))
		return;
	va_start(ap, fmt);
	if (__atomic_load_n(&poold_syslog, __ATOMIC_ACQUIRE)) {
		vsyslog(level, fmt, ap);
	} else {
		char line[1024];

		vsnprintf(line, sizeof(line), fmt, ap);
		int journal = __atomic_load_n(&poold_journal, __ATOMIC_RELAXED);

		if (journal < 0) {
			journal = rmem_stderr_is_journal();
			__atomic_store_n(&poold_journal, journal,
					 __ATOMIC_RELAXED);
		}
		if (journal)
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

/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POOLD_LOG_H
#define POOLD_LOG_H

#include <stdbool.h>
#include <syslog.h>

/* Levels are syslog's, so a level maps to a priority with no table. */
enum poold_log_level {
	POOLD_LOG_ERROR = LOG_ERR,
	POOLD_LOG_WARNING = LOG_WARNING,
	POOLD_LOG_INFO = LOG_INFO,
	POOLD_LOG_DEBUG = LOG_DEBUG,
};

void poold_log_setup(int level, bool use_syslog);
void poold_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int poold_log_level_parse(const char *s);
const char *poold_log_level_name(int level);

#define log_err(...)	poold_log(POOLD_LOG_ERROR, __VA_ARGS__)
#define log_warn(...)	poold_log(POOLD_LOG_WARNING, __VA_ARGS__)
#define log_info(...)	poold_log(POOLD_LOG_INFO, __VA_ARGS__)
#define log_debug(...)	poold_log(POOLD_LOG_DEBUG, __VA_ARGS__)

#endif

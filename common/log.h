/* SPDX-License-Identifier: BSD-2-Clause */
/* Diagnostics on stderr, as "prog: what went wrong: why". */
#ifndef TLSREC_LOG_H
#define TLSREC_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_QUIET = -1, /* print nothing */
	LOG_ERROR = 0,
	LOG_WARN = 1,
	LOG_INFO = 2,
	LOG_DEBUG = 3,
};

/* Set once from main: the program name used as prefix, and how much to print (-v raises it). */
void log_init(const char *prog, enum log_level level);
enum log_level log_level(void);

/* Print "prog: message\n" on stderr when level is at or below the configured one. */
void logmsg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vlogmsg(enum log_level level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#define log_err(...) logmsg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) logmsg(LOG_WARN, __VA_ARGS__)
#define log_info(...) logmsg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) logmsg(LOG_DEBUG, __VA_ARGS__)

#endif /* TLSREC_LOG_H */

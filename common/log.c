// SPDX-License-Identifier: BSD-2-Clause
#include <stdio.h>

#include "log.h"

static const char *prog_name = "tlsrec";
static enum log_level max_level = LOG_WARN;

void log_init(const char *prog, enum log_level level)
{
	prog_name = prog;
	max_level = level;
}

enum log_level log_level(void)
{
	return max_level;
}

void vlogmsg(enum log_level level, const char *fmt, va_list ap)
{
	if (level > max_level)
		return;
	flockfile(stderr);
	fprintf(stderr, "%s: ", prog_name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

void logmsg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlogmsg(level, fmt, ap);
	va_end(ap);
}

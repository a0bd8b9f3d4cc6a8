/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A tiny test harness. Each CHECK macro evaluates to true when the check passed; a failure prints
 * file:line, the expression, the values and the current context (check_ctx), and is counted.
 * check_exit() prints a summary and gives main() its exit status. Single translation unit only.
 */
#ifndef TLSREC_CHECK_H
#define TLSREC_CHECK_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Failures printed in full per test; later ones only counted: a broken loop stays readable. */
#define CHECK_MAX_PRINTED 40

static unsigned check_failures;
static unsigned check_passes;
static unsigned check_printed;
static char check_context[256];

static inline void check_ctx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Describe what the checks that follow are about ("bit flip at 1234.5"); "" clears it. */
static inline void check_ctx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(check_context, sizeof(check_context), fmt, ap);
	va_end(ap);
}

static inline bool check_failed(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline bool check_failed(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	check_failures++;
	if (++check_printed > CHECK_MAX_PRINTED)
		return false;
	fprintf(stderr, "%s:%d: FAIL: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (check_context[0])
		fprintf(stderr, " [%s]", check_context);
	fputc('\n', stderr);
	return false;
}

static inline bool check_true(bool ok, const char *file, int line, const char *expr)
{
	if (ok) {
		check_passes++;
		return true;
	}
	return check_failed(file, line, "%s", expr);
}

static inline bool check_eq_u64(uint64_t a, uint64_t b, const char *file, int line, const char *ea,
				const char *eb)
{
	if (a == b) {
		check_passes++;
		return true;
	}
	return check_failed(file, line,
			    "%s == %s: %" PRIu64 " (0x%" PRIx64 ") != %" PRIu64 " (0x%" PRIx64 ")",
			    ea, eb, a, a, b, b);
}

static inline bool check_eq_int(long long a, long long b, const char *file, int line,
				const char *ea, const char *eb)
{
	if (a == b) {
		check_passes++;
		return true;
	}
	return check_failed(file, line, "%s == %s: %lld != %lld", ea, eb, a, b);
}

static inline bool check_mem(const void *a, const void *b, size_t n, const char *file, int line,
			     const char *ea, const char *eb)
{
	const uint8_t *x = a, *y = b;

	for (size_t i = 0; i < n; i++) {
		if (x[i] != y[i])
			return check_failed(file, line,
					    "%s and %s differ at byte %zu of %zu: 0x%02x != 0x%02x",
					    ea, eb, i, n, x[i], y[i]);
	}
	check_passes++;
	return true;
}

#define CHECK(cond) check_true(!!(cond), __FILE__, __LINE__, #cond)
#define CHECK_EQ_U64(a, b) check_eq_u64((uint64_t)(a), (uint64_t)(b), __FILE__, __LINE__, #a, #b)
#define CHECK_EQ_INT(a, b) check_eq_int((long long)(a), (long long)(b), __FILE__, __LINE__, #a, #b)
#define CHECK_MEM(a, b, n) check_mem((a), (b), (n), __FILE__, __LINE__, #a, #b)
/* For conditions that need their own message. */
#define CHECK_MSG(cond, ...) \
	((cond) ? (check_passes++, true) : check_failed(__FILE__, __LINE__, __VA_ARGS__))

/* Run one test function: its failures (up to the limit), then its name, ok or FAILED, its time. */
#define CHECK_RUN(fn) check_run(fn, #fn)

static inline void check_run(void (*fn)(void), const char *name)
{
	unsigned before = check_failures;
	struct timespec t0, t1;

	check_printed = 0;
	check_context[0] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fn();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (check_printed > CHECK_MAX_PRINTED)
		fprintf(stderr, "(%u more failures not printed)\n",
			check_printed - CHECK_MAX_PRINTED);
	fprintf(stderr, "%-24s %s (%ld ms)\n", name, check_failures == before ? "ok" : "FAILED",
		(long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
}

/* Summary line; the exit status for main(): 0 when every check passed. */
static inline int check_exit(void)
{
	fprintf(stderr, "%u checks passed, %u failed\n", check_passes, check_failures);
	return check_failures ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif /* TLSREC_CHECK_H */

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Helpers for the unit tests that use check.h: a seeded random generator, a private temporary
 * directory, whole-file reads, and running the independent readers (lz4, tshark, capinfos) with
 * their output in files. A missing tool is a failed check that names the package to install.
 * Single translation unit only, like check.h.
 */
#ifndef TLSREC_UNIT_UTIL_H
#define TLSREC_UNIT_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static uint64_t util_rng = 1;

/* xorshift64: the same sequence for the same seed (never 0). */
static inline void rnd_seed(uint64_t seed)
{
	util_rng = seed ? seed : 1;
}

static inline uint64_t rnd(void)
{
	util_rng ^= util_rng << 13;
	util_rng ^= util_rng >> 7;
	util_rng ^= util_rng << 17;
	return util_rng;
}

/* A number in [lo, hi]. */
static inline uint64_t rnd_range(uint64_t lo, uint64_t hi)
{
	return lo + rnd() % (hi - lo + 1);
}

static inline void rnd_bytes(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(rnd() >> 32);
}

static char util_tmpdir[64];

/* Create the test's private directory under /tmp. Returns false (after a message) on failure. */
static inline bool tmpdir_make(const char *prefix)
{
	snprintf(util_tmpdir, sizeof(util_tmpdir), "/tmp/%s-XXXXXX", prefix);
	if (!mkdtemp(util_tmpdir)) {
		fprintf(stderr, "mkdtemp %s: %s\n", util_tmpdir, strerror(errno));
		return false;
	}
	return true;
}

static inline int util_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static inline void tmpdir_remove(void)
{
	if (util_tmpdir[0] && nftw(util_tmpdir, util_rm_entry, 16, FTW_DEPTH | FTW_PHYS))
		fprintf(stderr, "could not remove %s: %s\n", util_tmpdir, strerror(errno));
}

/* util_tmpdir/name into out (PATH_MAX bytes). */
static inline void tpath(char *out, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", util_tmpdir, name);

	CHECK_MSG(n > 0 && n < PATH_MAX, "path too long: %s/%s", util_tmpdir, name);
}

/* The whole file, NUL-terminated, in a buffer the caller frees; NULL when it cannot be read. */
static inline uint8_t *slurp(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*len = 0;
	if (fd < 0)
		return NULL;
	if (!fstat(fd, &st)) {
		buf = malloc((size_t)st.st_size + 1);
		if (buf && read(fd, buf, (size_t)st.st_size) == st.st_size) {
			*len = (size_t)st.st_size;
			buf[*len] = '\0';
		} else {
			free(buf);
			buf = NULL;
		}
	}
	close(fd);
	return buf;
}

static inline bool in_path(const char *tool)
{
	const char *p = getenv("PATH");
	char dir[PATH_MAX], file[PATH_MAX + 64];

	while (p && *p) {
		size_t n = strcspn(p, ":");

		snprintf(dir, sizeof(dir), "%.*s", (int)n, p);
		snprintf(file, sizeof(file), "%s/%s", n ? dir : ".", tool);
		if (!access(file, X_OK))
			return true;
		p += n + (p[n] == ':');
	}
	return false;
}

/* An independent reader the test needs: missing is a failure that says how to install it. */
static inline bool need_tool(const char *tool, const char *package, const char *why)
{
	return CHECK_MSG(in_path(tool),
			 "%s is not installed (Debian/Ubuntu: apt-get install %s): cannot %s", tool,
			 package, why);
}

/*
 * Run argv with stdout to out_path and stderr to err_path (either may be NULL: /dev/null). The
 * exit status, or -1 when it could not run or did not exit normally.
 */
static inline int run_tool(char *const argv[], const char *out_path, const char *err_path)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int out = open(out_path ? out_path : "/dev/null",
			       O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		int err = open(err_path ? err_path : "/dev/null",
			       O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (out < 0 || err < 0 || dup2(out, STDOUT_FILENO) < 0 ||
		    dup2(err, STDERR_FILENO) < 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/*
 * Run argv (a tool in PATH) and return its standard output, NUL-terminated, for the caller to
 * free; NULL (after a failed check that shows its standard error) when it did not exit with 0.
 */
static inline char *tool_output(char *const argv[])
{
	char out[PATH_MAX], err[PATH_MAX];
	uint8_t *text, *msg;
	size_t len;
	int status;

	tpath(out, "tool.out");
	tpath(err, "tool.err");
	status = run_tool(argv, out, err);
	text = slurp(out, &len);
	if (status == 0 && text)
		return (char *)text;
	msg = slurp(err, &len);
	check_failed(__FILE__, __LINE__, "%s %s exited with status %d: %.400s", argv[0],
		     argv[1] ? argv[1] : "", status, msg ? (char *)msg : "(no message)");
	free(msg);
	free(text);
	return NULL;
}

/* Bytes from hex digits, anything else between them skipped; at most max (more is a failed
 * check). Returns how many. */
static inline size_t unhex(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;
	int half = -1;

	for (; *s; s++) {
		int v;

		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else
			continue;
		if (half < 0) {
			half = v;
			continue;
		}
		if (!CHECK(n < max))
			return n;
		out[n++] = (uint8_t)(half << 4 | v);
		half = -1;
	}
	return n;
}

/* v, big-endian, at p; the byte after it. */
static inline uint8_t *put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

/*
 * A TLS handshake record holding a ClientHello (type 1, offering TLS 1.3 and cipher) or a
 * ServerHello (2, choosing cipher) with this random; its length, under 120 bytes.
 */
static inline size_t tls_hello_record(uint8_t *out, int type, const uint8_t random[32],
				      uint16_t cipher)
{
	uint8_t *q = out;
	size_t body;

	*q++ = 0x16;
	q = put_be16(q, type == 1 ? 0x0301 : 0x0303);
	q += 2; /* record length, below */
	*q++ = (uint8_t)type;
	q += 3; /* handshake length, below */
	q = put_be16(q, 0x0303);
	memcpy(q, random, 32);
	q += 32;
	*q++ = 32; /* session id */
	memset(q, 0x5e, 32);
	q += 32;
	if (type == 1) {
		q = put_be16(q, 2);
		q = put_be16(q, cipher);
		*q++ = 1; /* compression methods */
		*q++ = 0;
		q = put_be16(q, 8); /* extensions: supported_versions (TLS 1.3) */
		q = put_be16(q, 43);
		q = put_be16(q, 3);
		*q++ = 2;
		q = put_be16(q, 0x0304);
	} else {
		q = put_be16(q, cipher);
		*q++ = 0;
		q = put_be16(q, 0);
	}
	body = (size_t)(q - out) - 9;
	put_be16(out + 3, (uint16_t)(body + 4));
	out[6] = 0;
	put_be16(out + 7, (uint16_t)body);
	return (size_t)(q - out);
}

#endif /* TLSREC_UNIT_UTIL_H */

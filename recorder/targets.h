/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The OpenSSL libraries in use: the system's, those that running processes map (read through
 * /proc/PID/root, so that a container's own copy counts), those that processes map later (as the
 * caller learns of the mappings), and those named with --libssl. Each distinct file (device and
 * inode) is found once, calibrated once per build id, and handed to the caller. Likewise the Go
 * programs that processes run (their executables, read as data by gobin.c, never run) and those
 * named with --go-program.
 */
#ifndef TLSREC_TARGETS_H
#define TLSREC_TARGETS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "calibrate.h"
#include "gobin.h"

#define TARGET_MAX_PIDS 8 /* processes remembered per library, for --list-targets */

enum target_kind {
	TARGET_OPENSSL, /* a library calibrated: cal */
	TARGET_GO,      /* a Go program's crypto/tls: go */
};

struct target {
	enum target_kind kind;
	char path[PATH_MAX];  /* as tlsrec shows it: /proc/PID/root/... when in another root, with
			       * control characters as '?' */
	char root[64];        /* "/" or "/proc/PID/root" */
	char inner[PATH_MAX]; /* the path inside root */
	int fd;               /* the file itself, open: calibrated and hooked as it is */
	dev_t dev;
	ino_t ino;
	uint8_t build_id[20];
	int build_id_len;
	unsigned index; /* of calibrated ones, in the order found: the LIBRARY index */
	int status;     /* 0 calibrated, or -errno */
	char why[200];  /* when status is not 0 */
	struct calibration cal; /* TARGET_OPENSSL */
	struct gobin go;        /* TARGET_GO */
	pid_t pids[TARGET_MAX_PIDS];
	unsigned n_pids;
	bool listed_more; /* more processes map it than pids holds */
	bool named;       /* with --libssl or --go-program */
	uint64_t mapped_ns; /* when the mapping that made it known was made (CLOCK_MONOTONIC), or 0 */
	bool users;       /* calibrated in a user's root: its calibration holds for this file alone */
};

struct targets;

/* Called for each library found and calibrated (or not: see status). 0 or -errno. */
typedef int (*target_fn)(void *ctx, struct target *t);

/*
 * Find libraries, calling fn for each new one. With pids (n_pids > 0) only those processes are
 * looked at, and the system's libraries only if they map them. Returns 0 or -errno.
 */
int targets_open(const pid_t *pids, size_t n_pids, target_fn fn, void *ctx, struct targets **out);

/* Add a file named on the command line (--libssl: TARGET_OPENSSL, --go-program: TARGET_GO). 0
 * (also when it was known already: why says so), -ENOENT when there is no such file, -ENOEXEC when
 * it cannot be calibrated or hooked, or another -errno; why says why. */
int targets_add_path(struct targets *t, enum target_kind kind, const char *path, char *why,
		     size_t len);

/* Look at the system's library directories and every process (or the chosen ones). 0 or -errno. */
int targets_scan(struct targets *t);

/* Process pid has just mapped file (a path in its own root) as code, at mapped_ns
 * (CLOCK_MONOTONIC): a new library, if it is one, or a new Go program, if pid runs one. 0 or
 * -errno. */
int targets_mapped(struct targets *t, pid_t pid, const char *file, uint64_t mapped_ns);

/* Every library found so far, in the order found. */
size_t targets_list(const struct targets *t, struct target *const **out);

void targets_close(struct targets *t);

#endif /* TLSREC_TARGETS_H */

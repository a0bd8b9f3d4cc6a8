/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Executable mappings as processes make them (what perf record uses to follow libraries): a
 * software "dummy" perf event per CPU, system-wide, that counts nothing and reports each
 * PERF_RECORD_MMAP2 with its file name. tlsrec learns of a library the moment the dynamic loader
 * (or dlopen) maps it, with nothing added to the path of any system call.
 */
#ifndef TLSREC_MMAPWATCH_H
#define TLSREC_MMAPWATCH_H

#include <stdint.h>
#include <sys/types.h>

struct mmapwatch;

/* Called per executable mapping, with the CLOCK_MONOTONIC time it was made; with pid 0 and file
 * NULL when records were lost (the ring of a CPU was full): look at every process again. Returns
 * 0 or -errno (which stops the reading). */
typedef int (*mmapwatch_fn)(void *ctx, pid_t pid, const char *file, uint64_t mapped_ns);

/* Start watching on every CPU. 0 or -errno. */
int mmapwatch_open(struct mmapwatch **out);

/* A file descriptor that polls readable when there are mappings to read. */
int mmapwatch_fd(const struct mmapwatch *w);

/* Hand every mapping reported so far to fn. 0 or fn's -errno. */
int mmapwatch_read(struct mmapwatch *w, mmapwatch_fn fn, void *ctx);

void mmapwatch_close(struct mmapwatch *w);

#endif /* TLSREC_MMAPWATCH_H */

/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef TLSREC_FILEIO_H
#define TLSREC_FILEIO_H

/*
 * Create or truncate path for writing with mode 0600, also when it already existed with a wider
 * mode: what we write holds captured traffic. Returns a file descriptor, or -errno.
 */
int open_private(const char *path);

/* fsync the directory that holds path, so that a file just created survives a power cut. 0 or
 * -errno. */
int sync_parent_dir(const char *path);

#endif /* TLSREC_FILEIO_H */

/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef TLSREC_FILEIO_H
#define TLSREC_FILEIO_H

#include <stddef.h>

/*
 * Open path to write what holds captured traffic or TLS secrets (journals and their rotated files,
 * pcapng, key logs), so that it reaches the caller's own file and no one else's:
 * - on the way: each directory is opened in turn (O_NOFOLLOW), and a symbolic link is followed
 *   only when the caller or root made it; another's is refused (-ELOOP, *what set): a user who
 *   owns a directory on the way cannot swap one in to lead us elsewhere;
 * - nothing there: a file is created (O_EXCL, mode 0600);
 * - a regular file of the caller's own, one link, mode 0600: truncated;
 * - a FIFO of the caller's own, or a device of the caller's or root's (/dev/null): opened as it
 *   is; a FIFO blocks until it has a reader, as tcpdump -w does;
 * - a symbolic link of the caller's own or root's, with one name (no one else can have made it):
 *   followed, and what it leads to taken by these same rules (in /proc, /dev/stdout's
 *   /proc/self/fd/1, a descriptor of ours: opened as it is); never replaced;
 * - anything else: never written into, but replaced. That is a symbolic link someone else made
 *   (never followed), a file, FIFO or device of another user, a file with other hard links
 *   (someone else's file under another name, maybe), a file others could read (anyone may hold
 *   it open), a socket. A new file of mode 0600 is made in the same directory under a random
 *   name (O_EXCL) and renamed over the name: the name is the caller's file from then on, and
 *   what was there keeps its content and owner. *what says what it was.
 * Replacing, not refusing, keeps tlsrec recording when someone plants a link at the name its next
 * rotated file takes. No race helps an attacker who can write a directory: what decides is looked
 * at through opened descriptors (the directory's, the file's), a file is truncated only after
 * that, and the new file is made with O_EXCL relative to the directory's descriptor. In a sticky
 * directory such as /tmp only root (or the directory's owner) may rename over another user's
 * file: anyone else gets -EPERM, *what set.
 * Returns a file descriptor (blocking, close-on-exec, never a controlling terminal), or -errno;
 * *what is NULL unless what was at path was replaced, or was to be and could not be, or was
 * refused. path must not be "-".
 */
int open_private(const char *path, const char **what);

/* The directory that holds path ("." or "/" when that is all there is), into buf. Returns buf. */
const char *path_dir(const char *path, char *buf, size_t size);

/* fsync the directory that holds path, so that a file just created survives a power cut. 0 or
 * -errno. */
int sync_parent_dir(const char *path);

#endif /* TLSREC_FILEIO_H */

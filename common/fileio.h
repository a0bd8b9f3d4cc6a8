/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef TLSREC_FILEIO_H
#define TLSREC_FILEIO_H

/*
 * Open path to write what holds captured traffic or TLS secrets (journals and their rotated files,
 * pcapng, key logs), so that it reaches the caller's own file and no one else's:
 * - nothing there: a file is created (O_EXCL, mode 0600);
 * - a regular file of the caller's own (owner the effective uid, one link): truncated, set to 0600;
 * - a FIFO of the caller's own, or a device (only root makes those, /dev/null say): opened as it
 *   is; a FIFO blocks until it has a reader, as tcpdump -w does;
 * - a symbolic link of the caller's own or root's, with one name (no one else can have made it:
 *   /dev/stdout, say): followed to a device, FIFO or socket, whoever made it, or to a regular file
 *   of the caller's own as above; to anything else it is refused (-EPERM, *what set), never
 *   replaced;
 * - anything else: never written into, but replaced. That is a symbolic link someone else made
 *   (never followed), a file or FIFO of another user, a file with other hard links (someone
 *   else's file under another name, maybe), a socket. A new file of mode 0600 is made in the same
 *   directory under a random name (O_EXCL) and renamed over path: the name is the caller's file
 *   from then on, and what was there keeps its content and owner. *what says what it was.
 * Replacing, not refusing, keeps tlsrec recording when someone plants a link at the name its next
 * rotated file takes. No race helps an attacker who can write the directory: what decides is
 * looked at through the opened descriptor (fstat), a file is truncated only after that, and the
 * new file is made with O_EXCL and never reopened by name, so what is written goes into the
 * caller's own 0600 file and nowhere else, whatever names are moved meanwhile. In a sticky
 * directory such as /tmp, others cannot move the caller's file either, and only root (or the
 * directory's owner) may rename over another user's file: anyone else gets -EPERM, *what set.
 * Returns a file descriptor (blocking, close-on-exec), or -errno; *what is NULL unless what was
 * at path was replaced, or was to be and could not be, or was refused. path must not be "-".
 */
int open_private(const char *path, const char **what);

/* fsync the directory that holds path, so that a file just created survives a power cut. 0 or
 * -errno. */
int sync_parent_dir(const char *path);

#endif /* TLSREC_FILEIO_H */

/* SPDX-License-Identifier: BSD-2-Clause */
/* Small readers of /proc. */
#ifndef TLSREC_PROCFS_H
#define TLSREC_PROCFS_H

#include <linux/types.h>
#include <sys/types.h>

/*
 * Start time of pid (field 22 of /proc/PID/stat, clock ticks after boot) and, if state is not
 * NULL, its state letter (field 3: R, S, Z, ...). 0 or -errno.
 */
int proc_start_time(pid_t pid, __u64 *start, char *state);

/* The 16 bytes of /proc/sys/kernel/random/boot_id. 0 or -errno. */
int proc_boot_id(__u8 id[16]);

#endif /* TLSREC_PROCFS_H */

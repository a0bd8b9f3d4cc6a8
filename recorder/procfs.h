/* SPDX-License-Identifier: BSD-2-Clause */
/* Small readers of /proc and /sys, and parsers of their text that unit tests reach. */
#ifndef TLSREC_PROCFS_H
#define TLSREC_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "../bpf/events.h"

/*
 * Start time of pid (field 22 of /proc/PID/stat, clock ticks after boot) and, if state is not
 * NULL, its state letter (field 3: R, S, Z, ...). 0 or -errno.
 */
int proc_start_time(pid_t pid, __u64 *start, char *state);

/* The 16 bytes of /proc/sys/kernel/random/boot_id. 0 or -errno. */
int proc_boot_id(__u8 id[16]);

/* What tlsrec takes from /proc/PID/stat. */
struct proc_stat {
	char comm[16]; /* NUL-terminated, cut as the kernel cuts it */
	char state;
	__u32 ppid;
	__u64 start_ticks; /* clock ticks after boot */
};

/* Parse the text of /proc/PID/stat. comm may hold spaces and ')': it ends at the last ')'.
 * 0 or -EINVAL. */
int proc_parse_stat(const char *text, struct proc_stat *st);

/* The real user and group ids (the first of each) in the text of /proc/PID/status. 0 or -EINVAL. */
int proc_parse_ids(const char *text, __u32 *uid, __u32 *gid);

/*
 * One line of /proc/net/tcp, tcp6, udp or udp6 (family AF_INET or AF_INET6, protocol IPPROTO_TCP
 * or IPPROTO_UDP): the address fields of r (family, protocol, local, remote, ports; the rest
 * untouched) and the socket's inode. 1, 0 for the heading line, or -EINVAL.
 */
int proc_parse_net(const char *line, int family, int protocol, struct tr_socket *r, __u64 *inode);

/* The inode of a /proc/PID/fd link's target when it is "socket:[INODE]". 0 or -EINVAL. */
int proc_socket_inode(const char *target, __u64 *inode);

/*
 * A CPU list as /sys/devices/system/cpu/online writes it ("0-3,8,10-11\n"): set[i] is true for
 * the CPUs it names, of 0 to n - 1 (the others are left out). The number it names below n, or
 * -EINVAL.
 */
int cpu_list_parse(const char *text, bool *set, int n);

/* Read a /proc file, at most cap - 1 bytes, and NUL-terminate it. Its length, or -errno. */
ssize_t proc_read(const char *path, char *buf, size_t cap);

#endif /* TLSREC_PROCFS_H */

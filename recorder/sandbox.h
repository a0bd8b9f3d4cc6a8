/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The confinement of a process that runs code tlsrec does not trust: the calibration child, which
 * loads a library a container (or a user) supplied and runs its constructors. It starts from
 * nothing of tlsrec's but its own executable: an empty environment, /dev/null for standard input
 * and error, a session of its own (no controlling terminal), only the descriptors handed to it,
 * and, when tlsrec is root, new PID, network, IPC, UTS, cgroup and mount namespaces. Before it
 * loads anything it enters the library's own root (read-only, with a /proc of its own), and takes
 * resource limits, an unprivileged uid of its own, no capabilities, no_new_privs and a seccomp
 * filter that allows what loading a library and a TLS handshake in memory need, and no more.
 *
 * No user namespace: from one, the child could neither enter the library's mount namespace (it
 * would need privilege over that namespace's owner) nor, once chrooted, make one. It gets a plain
 * unprivileged uid instead, which has no capability anywhere.
 */
#ifndef TLSREC_SANDBOX_H
#define TLSREC_SANDBOX_H

#include <stddef.h>
#include <sys/types.h>

/* The uid the child runs as when tlsrec is root: no file or process of anyone else's has it. */
#define SANDBOX_UID 2147483646u

#define SANDBOX_MAX_FDS 8

/*
 * Start /proc/self/exe with argv in a new process: fds[i] becomes its descriptor i (0 is /dev/null
 * when fds[0] is -1; a -1 elsewhere is left closed), and nothing else is open in it. As root it
 * starts in new namespaces (it is PID 1 of its own, so that everything it starts ends with it);
 * otherwise in ours. Returns 0 with *pid set, or -errno.
 */
int sandbox_spawn(char *const argv[], const int *fds, int n_fds, pid_t *pid);

/*
 * In the child, before it loads anything: when tlsrec is root, enter the mount namespace at
 * mntns_fd (-1: tlsrec's own) in a private read-only copy, change root to root (a path in it), and
 * mount a /proc of the child's own there; then take the limits, the uid and no_new_privs. Returns
 * 0, or -errno with the reason in why.
 */
int sandbox_enter(int mntns_fd, const char *root, char *why, size_t len);

/*
 * Then, once it made the files in memory it needs (memfd_create is not allowed after), the seccomp
 * filter. Returns 0, or -errno with the reason in why.
 */
int sandbox_seal(char *why, size_t len);

#endif /* TLSREC_SANDBOX_H */

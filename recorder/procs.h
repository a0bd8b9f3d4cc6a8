/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Processes and the sockets they own, for the journal: PROCESS and SOCKET records seeded from /proc
 * at the start, the sockets programs' events made into records, and a PROCESS record for each
 * process the first time it shows up in a SOCKET or SECRET record, unless one was written already.
 */
#ifndef TLSREC_PROCS_H
#define TLSREC_PROCS_H

#include <stdbool.h>
#include <stddef.h>

#include "../bpf/events.h"

struct procs;

/* Where records go (session_append). 0 or -errno. */
typedef int (*procs_emit_fn)(void *ctx, const void *rec, size_t len);

/* 0 or -errno; *out is freed with procs_close. */
int procs_open(struct procs **out);

/* Whether this process sees the initial pid namespace's pids in /proc, as the kernel's records
 * have them. When not, nothing is read from /proc: no SEED or SEEN records, and EXEC records hold
 * what the kernel saw at exec. */
bool procs_host_pids(void);

/*
 * PROCESS SEED for every process, and with sockets SOCKET SEED for every TCP and UDP socket of
 * every network namespace a process is in (from /proc/PID/net), owned by the first process (lowest
 * pid) that has it open. Attach the sockets programs first, so that nothing falls between. Counts
 * in *n_procs and *n_socks. 0 or -errno.
 */
int procs_seed(struct procs *p, bool sockets, procs_emit_fn emit, void *ctx, size_t *n_procs,
	       size_t *n_socks);

/*
 * One event from the sockets ring buffer (size bytes): SOCKET records, and PROCESS EXIT, go to
 * the journal as they are, an exec event as a PROCESS EXEC record completed from /proc. 0,
 * -EBADMSG for something that is none of these, or what emit returned.
 */
int procs_event(struct procs *p, const void *data, size_t size, procs_emit_fn emit, void *ctx);

/* pid owns a socket or holds TLS secrets: a PROCESS SEEN record unless it was described. 0 or
 * what emit returned (a process already gone is not an error). */
int procs_seen(struct procs *p, __u32 pid, procs_emit_fn emit, void *ctx);

void procs_close(struct procs *p);

/* An AF_INET6 socket whose addresses are IPv4-mapped (::ffff:a.b.c.d) or unspecified, one at
 * least mapped, as the AF_INET socket its packets show. */
void socket_unmap_v4(struct tr_socket *r);

/* A directory fd on the cgroup v2 root: a mount of it in this mount namespace, or one made for a
 * moment in a private directory (ip netns exec gives a /sys without /sys/fs/cgroup). -errno. */
int cgroup2_root(void);

#endif /* TLSREC_PROCS_H */

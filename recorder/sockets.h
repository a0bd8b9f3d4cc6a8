/* SPDX-License-Identifier: BSD-2-Clause */
/* The sockets BPF object: SOCKET and PROCESS events from every process on the host. */
#ifndef TLSREC_SOCKETS_H
#define TLSREC_SOCKETS_H

#include <stdbool.h>

struct sockets;

/* Open and load the object. 0 or -errno; *out is freed with sockets_close. */
int sockets_open(struct sockets **out);

/*
 * Attach the exec and exit raw tracepoints and, with sockets (when packets are recorded, for them
 * to be attributed), the socket programs: the cgroup hooks to the cgroup v2 root (mounted
 * privately for a moment if this mount namespace shows none), the accept tracepoints (mounting
 * tracefs at /sys/kernel/tracing if it is not there, and saying so with -v) and the socket state
 * raw tracepoint. Returns 0 or -errno; on failure nothing stays attached and *what names the hook
 * that failed.
 */
int sockets_attach(struct sockets *s, bool sockets, const char **what);

/* The ring buffer of SOCKET records and exec and exit events (bpf/sockets.h). */
int sockets_ring_fd(const struct sockets *s);

/* The map of records that found the ring buffer full (for the session's loss reader). */
int sockets_losses_fd(const struct sockets *s);

/* Detach every program (the ring buffer stays, to be read to the end). */
void sockets_detach(struct sockets *s);

void sockets_close(struct sockets *s);

#endif /* TLSREC_SOCKETS_H */

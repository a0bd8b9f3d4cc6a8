/* SPDX-License-Identifier: BSD-2-Clause */
/* The capture BPF object: the TC programs, loaded and sized for this run. */
#ifndef TLSREC_CAPTURE_H
#define TLSREC_CAPTURE_H

#include <bpf/libbpf.h>
#include <stdbool.h>
#include <stddef.h>

#include "../bpf/events.h"

struct capture;

struct capture_opts {
	__u32 snaplen;
	__u64 ring_bytes;   /* in all, shared out among the CPUs' rings */
	__u32 max_hooks;    /* interfaces x directions that will be attached */
	bool after_filter;  /* filter programs (filter.h) run first and tail-call the programs */
};

/*
 * Open and load the BPF object, sized by o, and bind the owner map to its programs. Returns 0 or
 * -errno; a verifier rejection has been logged. *out is freed with capture_close.
 */
int capture_open(const struct capture_opts *o, struct capture **out);

/* File descriptor of the ingress (dir TR_DIR_INGRESS) or egress program. */
int capture_prog_fd(const struct capture *c, int dir);

/* The BPF_MAP_TYPE_PROG_ARRAY of the two programs (0 ingress, 1 egress), for the filter
 * programs' tail calls, and the owner map to bind to them (see tc.h). */
int capture_prog_array_fd(const struct capture *c);
int capture_owner_fd(const struct capture *c);

/* The ring buffers of PACKET records, one per online CPU: their number, and *fds. */
unsigned capture_rings(const struct capture *c, const int **fds);

/* Which of them CPU cpu writes to: its index, or -EINVAL for a CPU that is not possible. */
int capture_ring_of(const struct capture *c, int cpu);

/* The map of packets lost (struct tr_loss_key -> per-CPU counts). */
int capture_losses_fd(const struct capture *c);

/* Tell other tlsrecs this one is alive (see struct tr_owner); call every second. 0 or -errno. */
int capture_heartbeat(struct capture *c);

void capture_close(struct capture *c);

#endif /* TLSREC_CAPTURE_H */

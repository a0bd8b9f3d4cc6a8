/* SPDX-License-Identifier: BSD-2-Clause */
/* The secrets BPF object: load it for a scope, attach it to calibrated libraries. */
#ifndef TLSREC_SECRETS_H
#define TLSREC_SECRETS_H

#include <bpf/libbpf.h>
#include <stdbool.h>
#include <stddef.h>

#include "../bpf/events.h"
#include "calibrate.h"

struct secrets;

/* Whose secrets are recorded; all conditions given must hold. */
struct secrets_scope {
	const __u32 *pids; /* -p, thread group ids */
	size_t n_pids;
	bool by_uid;
	__u32 uid;    /* -u */
	__u64 cgroup; /* --cgroup: cgroup v2 id (inode), its descendants included; 0 for none */
};

/* Open and load the object for scope. 0 or -errno. */
int secrets_open(const struct secrets_scope *scope, struct secrets **out);

/* Hook the library at path (file offsets in cal), its SECRET records (KEYLOG records for GnuTLS)
 * naming LIBRARY lib. 0 or -errno; on failure nothing of it stays attached. */
int secrets_attach(struct secrets *s, __u32 lib, const char *path, const struct calibration *cal);

/* Hook the Go program at path, its KEYLOG records naming LIBRARY lib: one uprobe at file offset
 * hook (gobin.h). 0 or -errno. */
int secrets_attach_go(struct secrets *s, __u32 lib, const char *path, unsigned long hook);

/* The ring buffer of SECRET and KEYLOG records. */
int secrets_ring_fd(const struct secrets *s);

/* The map of SECRET records that found the ring buffer full (for capture_losses' reader). */
int secrets_losses_fd(const struct secrets *s);

/* Detach every hook (the ring buffers stay, to be read to the end). */
void secrets_detach(struct secrets *s);

void secrets_close(struct secrets *s);

#endif /* TLSREC_SECRETS_H */

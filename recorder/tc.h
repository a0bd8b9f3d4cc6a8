/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tlsrec's TC filters: attach to clsact ingress/egress, detach leaving nothing behind, and find the
 * filters of a tlsrec that was killed (they stay in the kernel after their process is gone).
 */
#ifndef TLSREC_TC_H
#define TLSREC_TC_H

#include <stdbool.h>
#include <linux/types.h>

#include "../bpf/events.h"

/* Names of the BPF programs; every tlsrec program's name starts with TC_PROG_PREFIX. */
#define TC_PROG_PREFIX "tlsrec_"
#define TC_OWNER_MAP "tlsrec_owner"

struct tc_hooks {
	int ifindex;
	bool qdisc_ours; /* we may delete the clsact qdisc once it holds no filter */
	bool not_first;  /* priority 1 was taken: another filter may run before ours */
	struct {
		bool on;
		__u32 handle;
		__u32 prio;
	} hook[2]; /* 0 ingress, 1 egress */
};

/*
 * Remove tlsrec filters on ifindex (named ifname in messages) whose owner (see the tlsrec_owner
 * map) is gone, and the clsact qdisc if it was tlsrec's and that leaves it empty. Checking an
 * owner takes CAP_SYS_ADMIN: without it, say so and leave the filter. Returns the number of filters
 * removed or -errno.
 */
int tc_remove_stale(int ifindex, const char *ifname);

/* This process as the owner of filters: pid, start time, pid namespace, heartbeat now. 0 or -errno. */
int tc_owner_self(struct tr_owner *o);

/*
 * Attach prog_in to ifindex's ingress and prog_out to its egress (a negative fd skips that hook),
 * creating the clsact qdisc if needed. Returns 0 or -errno: -EOPNOTSUPP when the interface has
 * the old ingress qdisc instead of clsact. On failure nothing stays attached.
 */
int tc_attach(struct tc_hooks *h, int ifindex, int prog_in, int prog_out);

/* Detach what tc_attach attached, and the qdisc if we created it and it is now empty. 0 or -errno. */
int tc_detach(struct tc_hooks *h);

#endif /* TLSREC_TC_H */

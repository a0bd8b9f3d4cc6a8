/* SPDX-License-Identifier: BSD-2-Clause */
/* The network interfaces of tlsrec's network namespace, as IFACE records. */
#ifndef TLSREC_IFACES_H
#define TLSREC_IFACES_H

#include <stdbool.h>
#include <stddef.h>

#include "../bpf/events.h"

struct iface {
	struct tr_iface rec; /* ifindex, name, link type, flags, MTU, address; hooks set by caller */
	int arphrd;          /* ARPHRD_ type; rec.linktype is 0 when pcap has no link type for it */
	bool named;          /* asked for by name (-i), not as one of every interface */
};

/* All interfaces, sorted by index. Returns 0 or -errno; *out is freed by the caller with free(). */
int ifaces_list(struct iface **out, size_t *n);

/* pcap LINKTYPE_ for an ARPHRD_ type, or 0 when TC's view of such packets has none. */
int linktype_of(int arphrd);

#endif /* TLSREC_IFACES_H */

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A tcpdump expression compiled by libpcap into classic BPF, for cbpf_translate. The pcap side of
 * the filter: this header has no pcap types, so it can be included beside linux/bpf.h.
 */
#ifndef TLSREC_CBPF_PCAP_H
#define TLSREC_CBPF_PCAP_H

#include <stddef.h>
#include <linux/filter.h>

/*
 * Compile expr as tcpdump does for a capture (optimized, netmask unknown) on a link of type
 * linktype (LINKTYPE_ETHERNET 1 or LINKTYPE_RAW 101, as journals have them) with the snapshot
 * length snaplen. Returns 0 and *out, *n instructions malloc'd (the caller frees *out), or -EINVAL
 * with libpcap's message in err (a wrong expression, or one that does not apply to this link
 * type, such as "ether host" on raw IP), or -ENOMEM. *out is untouched on failure.
 */
int cbpf_compile(const char *expr, int linktype, unsigned snaplen, struct sock_filter **out,
		 size_t *n, char *err, size_t errlen);

#endif /* TLSREC_CBPF_PCAP_H */

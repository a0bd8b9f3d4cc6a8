/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The pcap side of test_filter: libpcap's own interpreter, the reference the translated programs
 * are compared with. No pcap header here, so test_filter.c can include linux/bpf.h.
 */
#ifndef TLSREC_PCAP_RUN_H
#define TLSREC_PCAP_RUN_H

#include <stddef.h>
#include <stdint.h>
#include <linux/filter.h>

/* What pcap_offline_filter returns for the n instructions on the len bytes of pkt (all captured). */
unsigned pcap_run(const struct sock_filter *insns, size_t n, const uint8_t *pkt, uint32_t len);

#endif /* TLSREC_PCAP_RUN_H */

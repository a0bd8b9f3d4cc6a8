// SPDX-License-Identifier: BSD-2-Clause
#include <pcap/pcap.h>

#include "pcap_run.h"

unsigned pcap_run(const struct sock_filter *insns, size_t n, const uint8_t *pkt, uint32_t len)
{
	/* Same layout: see cbpf_pcap.c. */
	struct bpf_program prog = { .bf_len = (u_int)n, .bf_insns = (struct bpf_insn *)insns };
	struct pcap_pkthdr h = { .caplen = len, .len = len };

	return (unsigned)pcap_offline_filter(&prog, &h, pkt);
}

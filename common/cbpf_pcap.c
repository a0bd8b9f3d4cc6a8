// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "cbpf_pcap.h"

#define LINKTYPE_RAW 101

/* libpcap's struct bpf_insn is the kernel's struct sock_filter under another name. */
_Static_assert(sizeof(struct bpf_insn) == sizeof(struct sock_filter), "cBPF instruction layout");
_Static_assert(offsetof(struct bpf_insn, k) == offsetof(struct sock_filter, k), "cBPF k");

int cbpf_compile(const char *expr, int linktype, unsigned snaplen, struct sock_filter **out,
		 size_t *n, char *err, size_t errlen)
{
	/* DLT_ and LINKTYPE_ differ for raw IP only, among what tlsrec records. */
	pcap_t *dead = pcap_open_dead(linktype == LINKTYPE_RAW ? DLT_RAW : linktype, (int)snaplen);
	struct bpf_program prog = { 0 };
	struct sock_filter *insns;
	int ret = 0;

	if (!dead)
		return -ENOMEM;
	if (pcap_compile(dead, &prog, expr, 1, PCAP_NETMASK_UNKNOWN)) {
		snprintf(err, errlen, "%s", pcap_geterr(dead));
		ret = -EINVAL;
		goto cleanup;
	}
	insns = malloc(prog.bf_len * sizeof(*insns));
	if (insns) {
		memcpy(insns, prog.bf_insns, prog.bf_len * sizeof(*insns));
		*out = insns;
		*n = prog.bf_len;
	} else {
		ret = -ENOMEM;
	}
	pcap_freecode(&prog);
cleanup:
	pcap_close(dead);
	return ret;
}

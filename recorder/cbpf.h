/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Classic BPF (struct sock_filter, as libpcap's pcap_compile emits it) translated into an eBPF
 * BPF_PROG_TYPE_SCHED_CLS program, so that a tcpdump expression runs at TC before anything is
 * copied. The program's r1 is the struct __sk_buff; cBPF's A, X and M[0..15] are registers and
 * stack slots; packet loads go through bpf_skb_load_bytes and are read big endian, as in cBPF.
 * A load out of the packet, or a division or modulo by X == 0, ends it with "no match", as the
 * kernel's and libpcap's interpreters do. The capture length is min(returned value, skb->len).
 *
 * Includes linux/bpf.h: never include pcap headers in the same file (both define struct bpf_insn).
 */
#ifndef TLSREC_CBPF_H
#define TLSREC_CBPF_H

#include <stddef.h>
#include <linux/bpf.h>
#include <linux/filter.h>

enum cbpf_end {
	CBPF_END_RETURN,    /* r0 = capture length (0: no match); exit. For tests. */
	CBPF_END_TAIL_CALL, /* 0: return TC_ACT_UNSPEC (-1); else skb->cb[0] = capture
			     * length and bpf_tail_call(skb, prog_array, slot), then
			     * return TC_ACT_UNSPEC if the tail call fails */
};

struct cbpf_out {
	struct bpf_insn *insns; /* linux/bpf.h instructions, malloc'd: the caller frees them */
	size_t n;
};

/*
 * Translate the n instructions of in. prog_array_fd and slot are used by CBPF_END_TAIL_CALL
 * only. Returns 0 and the program in *out, or -EINVAL with a reason in err (an instruction it
 * cannot translate, such as Linux's SKF_AD_* ancillary loads, or a malformed program), or
 * -ENOMEM. *out is untouched on failure.
 */
int cbpf_translate(const struct sock_filter *in, size_t n, enum cbpf_end end, int prog_array_fd,
		   __u32 slot, struct cbpf_out *out, char *err, size_t errlen);

#endif /* TLSREC_CBPF_H */

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The capture filter in the kernel: the expression compiled by libpcap for each link type,
 * translated into eBPF (cbpf.h) and loaded as TC programs that run first and tail-call the
 * capture program of their direction for the packets that match, with the capture length in
 * skb->cb[0]. Packets that do not match are never copied. TLS secrets and socket and process
 * records are not filtered.
 */
#ifndef TLSREC_FILTER_H
#define TLSREC_FILTER_H

#include <linux/types.h>
#include <stddef.h>

/* Room for libpcap's and the translator's messages. */
#define FILTER_ERR_LEN 256

struct filter;

/*
 * Whether libpcap compiles expr for one of the link types tlsrec records (Ethernet, raw IP), as
 * tcpdump checks an expression before it captures, and whether what it compiles translates. 0,
 * -EINVAL with libpcap's message or the translator's reason in err, or -ENOMEM.
 */
int filter_check(const char *expr, __u32 snaplen, char *err, size_t errlen);

/*
 * Prepare to load filter programs for expr and snaplen. prog_array_fd is the BPF_MAP_TYPE_PROG_ARRAY
 * holding the capture programs (slot 0 ingress, 1 egress); owner_map_fd is bound to every program
 * loaded (see tc.h). Neither is closed by filter_close. 0 or -ENOMEM.
 */
int filter_open(const char *expr, __u32 snaplen, int prog_array_fd, int owner_map_fd,
		struct filter **out);

/*
 * The filter program for interfaces of link type linktype (pcap LINKTYPE_) in direction dir
 * (TR_DIR_INGRESS or TR_DIR_EGRESS), loaded on first use; filter_close closes it. Returns its fd,
 * or: -ENOEXEC when libpcap cannot compile the expression for this link type (its message in err,
 * nothing logged); otherwise -errno after logging why, naming ifname (the verifier's log when the
 * kernel refused the program).
 */
int filter_prog(struct filter *f, int linktype, int dir, const char *ifname, char *err,
		size_t errlen);

void filter_close(struct filter *f);

#endif /* TLSREC_FILTER_H */

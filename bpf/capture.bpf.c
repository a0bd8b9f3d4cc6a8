// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * TC classifiers that copy each packet, as a finished PACKET journal record, into the CPU's ring
 * buffer. The record is built in a per-CPU scratch buffer and copied with bpf_ringbuf_output, so
 * the ring holds exactly the bytes captured (reserving snaplen per packet would waste most of it).
 * With a capture filter they run only for the packets it passes, as tail calls. They never change
 * a packet's fate: they return TC_ACT_UNSPEC, so later filters still run.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "events.h"
#include "ring.bpf.h"

#define TC_ACT_UNSPEC (-1)

/* Set by user space before load; the verifier sees them as constants. */
const volatile __u32 snaplen = TR_MAX_SNAPLEN;
const volatile __u64 wakeup_bytes = 1 << 20;
/* A capture filter runs first (recorder/filter.c): it tail-calls these programs, through
 * capture_progs, for the packets that match only, with the capture length in skb->cb[0]. */
const volatile bool after_filter = false;

/* The programs below, for the filter programs' tail calls: 0 ingress, 1 egress. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} capture_progs SEC(".maps");

/* The ring buffer of each possible CPU, so that CPUs do not contend for a ring's lock and producer
 * position (one that was offline when tlsrec started shares another's). User space creates the
 * rings, sets max_entries and the inner map, and fills it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} rings SEC(".maps");

/* One record-sized buffer per CPU; user space sets value_size to 48 + snaplen and max_entries
 * to the number of possible CPUs. TC programs do not nest on a CPU, so one buffer each suffices. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct tr_packet) + TR_MAX_SNAPLEN);
} scratch SEC(".maps");

/* Packets that could not be recorded, per interface, direction and cause. Only the loss path
 * touches this map. User space sizes it for every hook it attaches. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 64);
	__type(key, struct tr_loss_key);
	__type(value, __u64);
} losses SEC(".maps");

/* Who attached these programs; bound to them so that a later run can tell a live tlsrec's filters
 * from ones left behind by a killed run. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tr_owner);
} tlsrec_owner SEC(".maps");

static __always_inline void count_loss(__u32 ifindex, __u8 dir, __u8 where)
{
	struct tr_loss_key key = { .ifindex = ifindex, .dir = dir, .where = where,
				   .what = TR_LOSS_PACKETS };

	count_loss_in(&losses, &key);
}

static __always_inline int record_packet(struct __sk_buff *skb, __u8 dir)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct tr_packet *p;
	__u64 len, size;
	void *ring;

	p = bpf_map_lookup_elem(&scratch, &cpu);
	if (!p)
		return TC_ACT_UNSPEC;
	len = skb->len;
	if (after_filter) {
		__u64 filtered = skb->cb[0]; /* what the filter returned, at most skb->len */

		if (filtered < len)
			len = filtered;
	}
	/* Keep clang from narrowing len to 32 bits across the two bounds (the verifier would lose
	 * the second). */
	barrier_var(len);
	if (len > snaplen)
		len = snaplen;
	/* Keep the bound check on the register the helper receives (clang would check a copy). */
	barrier_var(len);
	/* A signed test: clang makes an unsigned len < 1 into len == 0, from which 6.18's verifier
	 * learns len >= 1 and 6.1's does not (it rejects the copy as possibly empty). */
	if ((__s64)len < 1)
		return TC_ACT_UNSPEC;

	p->hdr.type = TR_REC_PACKET;
	p->hdr.flags = 0;
	p->hdr.len = sizeof(*p) + len;
	p->hdr.ts = bpf_ktime_get_boot_ns();
	p->sock_cookie = bpf_get_socket_cookie(skb);
	p->ifindex = skb->ifindex;
	p->orig_len = skb->len;
	p->cap_len = len;
	p->protocol = skb->protocol;
	p->dir = dir;
	p->flags = skb->gso_size ? TR_PKT_GSO : 0;
	p->pad = 0;
	if (skb->vlan_present) {
		p->flags |= TR_PKT_VLAN;
		p->vlan_tci = skb->vlan_tci;
		p->vlan_proto = skb->vlan_proto;
	} else {
		p->vlan_tci = 0;
		p->vlan_proto = 0;
	}
	if (bpf_skb_load_bytes(skb, 0, p->data, len)) {
		count_loss(skb->ifindex, dir, TR_LOSS_COPY);
		return TC_ACT_UNSPEC;
	}

	size = sizeof(*p) + len;
	ring = bpf_map_lookup_elem(&rings, &cpu);
	if (!ring || ring_output(ring, p, size, wakeup_bytes))
		count_loss(skb->ifindex, dir, TR_LOSS_RINGBUF);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int tlsrec_ingress(struct __sk_buff *skb)
{
	return record_packet(skb, TR_DIR_INGRESS);
}

SEC("tc")
int tlsrec_egress(struct __sk_buff *skb)
{
	return record_packet(skb, TR_DIR_EGRESS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

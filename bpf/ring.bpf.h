/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the BPF programs share: writing a record to a ring buffer, and counting one that did not fit. */
#ifndef TLSREC_RING_BPF_H
#define TLSREC_RING_BPF_H

/*
 * Copy size bytes at rec to ring, waking the reader only once wake_at bytes wait there (it also
 * polls on a timer: a wakeup per record would cost a context switch each). 0 or a negative errno.
 */
static __always_inline long ring_output(void *ring, void *rec, __u64 size, __u64 wake_at)
{
	__u64 flags = bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA) + size >= wake_at ?
			      BPF_RB_FORCE_WAKEUP :
			      BPF_RB_NO_WAKEUP;

	return bpf_ringbuf_output(ring, rec, size, flags);
}

/* Add one to the per-CPU counter of key in losses (a BPF_MAP_TYPE_PERCPU_HASH). */
static __always_inline void count_loss_in(void *losses, const struct tr_loss_key *key)
{
	__u64 one = 1, *n;

	n = bpf_map_lookup_elem(losses, key);
	if (n) {
		*n += 1;
		return;
	}
	if (bpf_map_update_elem(losses, key, &one, BPF_NOEXIST) == 0)
		return;
	/* Another CPU created the entry first. */
	n = bpf_map_lookup_elem(losses, key);
	if (n)
		*n += 1;
}

#endif /* TLSREC_RING_BPF_H */

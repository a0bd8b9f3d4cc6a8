/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the Go key log program decides, in functions that also compile in user space (unit.gokeylog
 * runs them there): which argument lengths are taken, and the fingerprint that tells a repeat.
 */
#ifndef TLSREC_GOKEYLOG_H
#define TLSREC_GOKEYLOG_H

#include "events.h"

/* Whether writeKeyLog's lengths fit a KEYLOG record: a label, a 32-byte client random, a secret. */
static __always_inline int go_keylog_sizes_ok(__u64 label_len, __u64 cr_len, __u64 secret_len)
{
	return label_len >= 1 && label_len <= TR_KEYLOG_LABEL && cr_len == 32 && secret_len >= 1 &&
	       secret_len <= TR_SECRET_LEN;
}

/* FNV-style fold of the label, client random and secret of r (unused bytes zero), and their
 * lengths: equal for a call repeated with the same arguments, different for any other. */
static __always_inline __u64 go_keylog_fingerprint(const struct tr_keylog *r)
{
	const __u8 *p = (const __u8 *)r + __builtin_offsetof(struct tr_keylog, label);
	__u64 h = 0xcbf29ce484222325ULL ^ ((__u64)r->label_len << 8 | r->secret_len), v;

	/* label, client_random and secret follow one another (the asserts in events.h) */
	for (int i = 0; i < TR_KEYLOG_LABEL + 32 + TR_SECRET_LEN; i += 8) {
		__builtin_memcpy(&v, p + i, 8);
		h = (h ^ v) * 0x100000001b3ULL;
	}
	return h;
}

#endif /* TLSREC_GOKEYLOG_H */

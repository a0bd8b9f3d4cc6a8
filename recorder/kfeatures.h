/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What each part of tlsrec needs of the kernel: program types, map types, and the helpers each
 * program type calls. tlsrec loads a part as it is and, when the kernel refuses it, asks the kernel
 * (libbpf's feature probes, as bpftool feature probe does) which of these it lacks, to say so. The
 * table is kept equal to the BPF objects by unit.kfeatures, and docs/kernels.md prints it.
 */
#ifndef TLSREC_KFEATURES_H
#define TLSREC_KFEATURES_H

#include <stddef.h>

#include <bpf/bpf.h>

enum kpart {
	KPART_PACKETS = 1, /* capture.bpf.c and the capture filter's programs */
	KPART_SECRETS = 2, /* secrets.bpf.c */
	KPART_OWNERS = 3,  /* sockets.bpf.c */
};

enum kneed_kind {
	KNEED_PROG,   /* id: an enum bpf_prog_type */
	KNEED_MAP,    /* id: an enum bpf_map_type */
	KNEED_HELPER, /* id: an enum bpf_func_id, called from programs of type prog */
};

struct kneed {
	enum kpart part;
	enum kneed_kind kind;
	enum bpf_prog_type prog; /* KNEED_HELPER: the program type that calls it */
	int id;
	const char *name;  /* as the kernel's documentation names it */
	const char *since; /* the Linux release that brought it */
};

/* The table, in the order kfeatures_explain asks; *n its length. */
const struct kneed *kfeatures_table(size_t *n);

/* The entry for what (kind, id, and prog for helpers) in part, or NULL. */
const struct kneed *kfeatures_find(enum kpart part, enum kneed_kind kind, enum bpf_prog_type prog,
				   int id);

/*
 * Ask the kernel for everything part needs, in table order. 1 with the first thing it lacks
 * written to why ("this kernel lacks ring buffer maps (BPF_MAP_TYPE_RINGBUF, Linux 5.8)"), 0 when
 * it has everything, or -errno when it cannot be asked (no CAP_BPF). Each probe loads a program
 * or creates a map: only for explaining a refusal.
 */
int kfeatures_explain(enum kpart part, char *why, size_t len);

#endif /* TLSREC_KFEATURES_H */

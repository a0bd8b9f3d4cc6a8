/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Journals to pcapng: one IDB per recorded interface, EPBs in time order, DSBs where asked, ISBs at
 * the end.
 */
#ifndef TLSASM_CONVERT_H
#define TLSASM_CONVERT_H

#include <stdbool.h>
#include <stdint.h>

#include "pfilter.h"
#include "source.h"

/* TLS key log lines to write just before packet number `before` (0 is the first packet). */
struct convert_dsb {
	uint64_t before;
	const char *lines; /* whole lines, each ending in a newline */
	size_t len;
};

struct convert_stats {
	uint64_t packets; /* written */
	uint64_t lost;
	uint64_t bytes;
	uint64_t dsbs;
};

/* Which packets to write, and what to say about each. */
struct convert_meta {
	bool skip;           /* leave the packet out */
	uint32_t pid, tid;   /* epb_processid_threadid; 0: not known */
	const char *comment; /* opt_comment, or NULL */
	int error;           /* -errno (after a message): the conversion stops */
};

/* Fills m (zeroed before each call) for packet number index (0 is the first packet read). */
typedef void convert_meta_fn(void *ctx, uint64_t index, const struct packet_view *v,
			     struct convert_meta *m);

/*
 * The next DSB to write into out, its lines valid until the next call: 1, 0 when there are no more
 * (not called again), or -errno. DSBs come sorted by before, which counts packets read, skipped
 * ones included.
 */
typedef int convert_dsb_fn(void *ctx, struct convert_dsb *out);

struct convert_opts {
	convert_dsb_fn *next_dsb; /* NULL: no DSBs */
	convert_meta_fn *meta;    /* NULL: every packet, no process */
	void *ctx;                /* for next_dsb and meta */
	struct pfilter *filter;   /* NULL: every packet; else only those it passes, as written */
};

/*
 * Write the packets src holds, from its current place, to fd as pcapng, with the DSBs o gives
 * (lines larger than one block takes are split between blocks at line ends). Returns 0 or -errno.
 */
int convert_pcapng(struct source *src, int fd, const struct convert_opts *o,
		   struct convert_stats *st);

#endif /* TLSASM_CONVERT_H */

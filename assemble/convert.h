/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Journals to pcapng: one IDB per recorded interface, EPBs in time order, DSBs where asked, ISBs at
 * the end.
 */
#ifndef TLSASM_CONVERT_H
#define TLSASM_CONVERT_H

#include <stdint.h>

#include "source.h"

/* TLS key log lines to write just before packet number `before` (0 is the first packet). */
struct convert_dsb {
	uint64_t before;
	const char *lines; /* whole lines, each ending in a newline */
	size_t len;
};

struct convert_stats {
	uint64_t packets;
	uint64_t lost;
	uint64_t bytes;
	uint64_t dsbs;
};

/*
 * Write everything src holds, from its current place, to fd as pcapng, with the n DSBs of dsb
 * (sorted by before; lines larger than one block takes are split between blocks at line ends).
 * Returns 0 or -errno.
 */
int convert_pcapng(struct source *src, int fd, const struct convert_dsb *dsb, size_t n,
		   struct convert_stats *st);

#endif /* TLSASM_CONVERT_H */

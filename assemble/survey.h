/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tlsasm's first pass over the journals: the TCP connections in the packets and their client
 * randoms, the key log lines derived from the SECRET records, and which connection gets which
 * lines - one DSB just before each TLS connection's first packet, which is where Wireshark needs
 * them (a connection's secrets must come before its first encrypted record). The second pass
 * (convert_pcapng after source_rewind) writes the packets with those DSBs.
 */
#ifndef TLSASM_SURVEY_H
#define TLSASM_SURVEY_H

#include <stddef.h>
#include <stdint.h>

#include "convert.h"
#include "keylog.h"
#include "source.h"
#include "tlsconn.h"

/* Connections without secrets listed by name in the report; the rest are counted. */
#define SURVEY_LIST_MAX 20

struct survey {
	struct tlsconn conns;
	struct keylog keys; /* sorted */
	uint64_t packets;
	struct convert_dsb *dsb; /* by first packet: one per client random that has lines, before
				  * the first connection that has it */
	size_t n_dsb;
	size_t with_secrets; /* connections whose client random has lines */
	char *text; /* the lines of every DSB, back to back; dsb[i].lines points into it */
	size_t text_len;
	uint64_t tls;       /* connections that start with a TLS handshake record */
	size_t unmatched;   /* client randoms with lines but no connection in the packets */
};

/*
 * Read every packet of src from its current place, then its SECRET records; derive the key log and
 * plan the DSBs. Returns 0 or -errno (after a message); sv is to be freed with survey_free either
 * way.
 */
int survey_run(struct source *src, struct survey *sv);

/*
 * On stderr: how many TLS connections there are and how many have secrets; those without, by
 * address (at most SURVEY_LIST_MAX); secrets that match no connection; what derivation skipped;
 * with -v, the TLS libraries the secrets come from.
 */
void survey_report(const struct survey *sv, const struct source *src);

/* Write every key log line to fd (not closed). Returns 0 or -errno. */
int survey_write_keylog(const struct survey *sv, int fd);

void survey_free(struct survey *sv);

#endif /* TLSASM_SURVEY_H */

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tlsasm's first pass over the journals: the TCP connections in the packets and their client
 * randoms, the key log lines derived from the SECRET records, and which connection gets which
 * lines - one DSB just before each TLS connection's first packet, which is where Wireshark needs
 * them (a connection's secrets must come before its first encrypted record) - and the process
 * each packet belongs to. The second pass (convert_pcapng after source_rewind, with
 * survey_packet_meta) writes the packets with those DSBs, each with its process.
 *
 * With a selection (extraction), only the connections it takes are written, whole: every packet
 * of theirs and their DSBs; packets of no connection are left out.
 */
#ifndef TLSASM_SURVEY_H
#define TLSASM_SURVEY_H

#include <stddef.h>
#include <stdint.h>

#include "convert.h"
#include "keylog.h"
#include "owners.h"
#include "source.h"
#include "tlsconn.h"

/* Connections without secrets listed by name in the report; the rest are counted. */
#define SURVEY_LIST_MAX 20

struct survey;

/* What a run of survey_run adds to what the journals' chunks read hold. */
struct survey_opts {
	/* Once the packets are read: add to o the owners' records that chunks not read hold
	 * (extraction reads some chunks only; the chunks of the secrets it needs are among those it
	 * reads). 0 or -errno after a message. */
	int (*add)(void *ctx, const struct source *src, struct owners *o);
	/* Whether connection c (owners resolved) is written; NULL: all are. */
	bool (*want)(void *ctx, const struct tls_conn *c);
	/* For a resumed TLS 1.2 connection c: whether it takes the master secret of client random
	 * root (which the chunks read have), as an index found; NULL: the packets read say. */
	bool (*resumes)(void *ctx, const struct tls_conn *c, uint8_t root[32]);
	void *ctx;
};

struct survey {
	const struct source *src; /* survey_run's, for the second pass */
	struct tlsconn conns;
	struct owners owners;
	struct survey_opts opts; /* survey_run's */
	char comment[128];  /* survey_packet_meta's last comment */
	struct keylog keys; /* the lines, and the DSBs planned: one per client random that has
			     * lines, before the first connection that has it */
	uint64_t packets;
	size_t n_dsb;        /* DSBs planned */
	bool reading_dsbs;   /* survey_next_dsb has started reading them */
	size_t with_secrets; /* connections whose client random has lines */
	uint64_t tls;        /* connections that start with a TLS handshake record */
	uint64_t unmatched;  /* client randoms with lines but no connection in the packets */
	uint64_t listed;     /* survey_report's: TLS connections without secrets */
};

/*
 * Read every packet of src from its current place, deriving the key log from the SECRET records
 * as they are read (source_on_secret), then its SOCKET and PROCESS records (and o's, when o is not
 * NULL); find the owners, make the selection and plan the DSBs. Returns 0 or -errno (after a
 * message); sv is to be freed with survey_free either way.
 */
int survey_run(struct source *src, struct survey *sv, const struct survey_opts *o);

/*
 * convert_opts.next_dsb for the second pass (ctx is the survey): the DSBs planned, in the order of
 * their packets, in pieces of at most PCAPNG_DSB_MAX bytes (whole lines, as many as fit: what
 * convert_pcapng would cut one DSB into).
 */
int survey_next_dsb(void *ctx, struct convert_dsb *out);

/*
 * convert_meta_fn for the second pass (ctx is the survey): leaves out the packets of connections
 * not selected, and names each packet's process: epb_processid_threadid and a comment
 * "pid=1234 tid=1234 comm=curl uid=0".
 */
void survey_packet_meta(void *ctx, uint64_t index, const struct packet_view *v,
			struct convert_meta *m);

/*
 * On stderr: how many TLS connections there are and how many have secrets; those without, by
 * address (at most SURVEY_LIST_MAX); secrets that match no connection; what derivation skipped;
 * with -v, the TLS libraries the secrets come from.
 */
void survey_report(struct survey *sv, const struct source *src);

/* Write every key log line (with a selection, those of the selected connections, DSB by DSB) to
 * fd (not closed). Returns 0 or -errno. */
int survey_write_keylog(struct survey *sv, int fd);

void survey_free(struct survey *sv);

#endif /* TLSASM_SURVEY_H */

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * TCP connections found in the packets, and the start of each side's byte stream: enough to read
 * the client random of a TLS ClientHello (RFC 8446 section 4.1.2, and the same in TLS 1.2) and the
 * version and cipher suite of the ServerHello.
 *
 * Packets are given in the order they are written out; each connection remembers the number of its
 * first one (normally the SYN). Ethernet frames (802.1Q and 802.1ad tags in the data are skipped)
 * and raw IP; IPv4 and IPv6. A connection is keyed by its addresses and ports; a SYN on a known
 * 4-tuple with another initial sequence number starts a new connection (the port was reused).
 * Each side keeps the first bytes of its stream, placed by sequence number: retransmissions and a
 * ClientHello split across segments are read right; bytes that arrive ahead of a gap are dropped.
 */
#ifndef TLSASM_TLSCONN_H
#define TLSASM_TLSCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "table.h"

#define LINKTYPE_ETHERNET 1
#define LINKTYPE_RAW 101

/*
 * Bytes of a stream kept: a ServerHello up to its cipher suite (record header 5, handshake header
 * 4, version 2, random 32, session id 1 + 32, cipher suite 2); a ClientHello needs 43 of them.
 */
#define TLSCONN_KEEP 78

enum tlsconn_state {
	TLSCONN_UNKNOWN,  /* no data from the client yet */
	TLSCONN_NOT_TLS,  /* the client's first bytes are not a TLS handshake record */
	TLSCONN_TLS,      /* a TLS handshake record, but its client random was not captured */
	TLSCONN_HELLO,    /* a ClientHello, client random included */
};

struct tls_conn {
	uint64_t first_packet; /* number of its first packet */
	uint8_t addr[2][16];   /* side 0 sent the first packet; IPv4 in the first 4 bytes */
	uint16_t port[2];
	uint32_t isn[2];     /* initial sequence number of each side, when have_isn */
	uint8_t family;      /* 4 or 6 */
	uint8_t state;       /* enum tlsconn_state */
	uint8_t client;      /* the side that is the client, when client_known */
	bool client_known;   /* from a SYN, a SYN-ACK or a ClientHello */
	bool have_isn[2];    /* from a SYN, or else from the first data segment */
	bool syn[2];         /* isn[side] comes from a SYN */
	uint8_t have[2];     /* bytes of data[side] held, from the start of the stream */
	uint8_t data[2][TLSCONN_KEEP];
};

struct tlsconn {
	struct tls_conn *conns; /* in the order of their first packets */
	size_t n, cap;
	struct table index; /* 4-tuple -> its latest connection */
};

/*
 * One packet, number index, of link type linktype (LINKTYPE_*; others are ignored), caplen bytes
 * captured from the start of the frame. Returns 0 or -ENOMEM.
 */
int tlsconn_packet(struct tlsconn *t, uint16_t linktype, const uint8_t *frame, uint32_t caplen,
		   uint64_t index);

/* The client random of c's ClientHello (32 bytes), or NULL. */
const uint8_t *tlsconn_client_random(const struct tls_conn *c);

/*
 * The TLS version the ServerHello chose (0x0304 when its cipher suite is a TLS 1.3 one, else its
 * version field), or 0 when no ServerHello was seen.
 */
uint16_t tlsconn_version(const struct tls_conn *c);

/* "client:port -> server:port" ([v6]:port for IPv6) into buf. */
void tlsconn_format(const struct tls_conn *c, char *buf, size_t size);

void tlsconn_free(struct tlsconn *t);

#endif /* TLSASM_TLSCONN_H */

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * TCP connections and UDP flows found in the packets, and the start of each side's byte stream:
 * enough to read the client random, server name and ALPN of a TLS ClientHello (RFC 8446 section
 * 4.1.2, RFC 6066 section 3, RFC 7301 section 3.1; the same in TLS 1.2) and the version and cipher
 * suite of the ServerHello. Each connection also counts its packets and bytes each way, its first
 * and last times, and the TCP flags each side sent (for a Zeek-like conn_state).
 *
 * Packets are given in the order they are written out; each connection remembers the number of its
 * first one (normally the SYN). Ethernet frames (802.1Q and 802.1ad tags in the data are skipped)
 * and raw IP; IPv4 and IPv6. A connection is keyed by its addresses and ports; a SYN on a known
 * 4-tuple with another initial sequence number starts a new connection (the port was reused).
 * Each side keeps the first bytes of its stream, placed by sequence number: retransmissions and a
 * ClientHello split across segments are read right; bytes that arrive ahead of a gap are dropped.
 * Connections of different recordings (tlsconn_add's rec) are kept apart, as are a TCP connection
 * and a UDP flow on the same addresses and ports.
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

/* TCP flags a side sent, in tls_conn.flags. */
enum tlsconn_flag {
	TLSCONN_F_SYN = 1 << 0,    /* a SYN without ACK */
	TLSCONN_F_SYNACK = 1 << 1, /* a SYN with ACK */
	TLSCONN_F_FIN = 1 << 2,
	TLSCONN_F_RST = 1 << 3,
};

/*
 * Bytes of a ClientHello's first record gathered for its server name and ALPN, at most (real ones
 * are under 2 KiB; a longer one is read as far as this), and held at once over all connections.
 */
#define TLSCONN_HELLO_MAX 4096
#define TLSCONN_HELLO_BUDGET (64u << 20)

struct tls_conn {
	uint64_t first_packet; /* number of its first packet */
	/* Connections of one 4-tuple, one after another (index + 1, 0 for none): the next one of
	 * this 4-tuple; and, in the latest, the first one and where tlsconn_find left off. */
	uint32_t next, first, found;
	uint64_t first_wall, last_wall; /* ns since the epoch */
	uint64_t packets[2], bytes[2];  /* sent by each side; bytes as on the wire (orig_len) */
	uint32_t rec;          /* the recording (tlsconn_add's rec) */
	uint8_t proto;         /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t flags[2];      /* enum tlsconn_flag, by the side that sent them */
	bool egress[2];        /* a packet the side sent was seen leaving (its end may be local) */
	uint64_t cookie[2];    /* the first socket cookie on a packet the side sent, or 0 */
	uint64_t netns[2];     /* network namespaces its packets were seen in: the first, another */
	bool resumed;          /* added by tlsconn_resume: its stream start is not followed */
	char *sni;             /* the ClientHello's host_name (malloc'd, printable ASCII), or NULL */
	char alpn[16];         /* the first protocol the ClientHello offers ("h2"), or "" */
	bool hello_done;       /* sni and alpn were looked for */
	uint8_t *hello;        /* the client's first record while it is gathered, then NULL */
	uint32_t hello_have, hello_len;
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
	size_t hello_bytes; /* held in tls_conn.hello buffers */
};

/* One packet as tlsconn_add takes it. */
struct tlsconn_pkt {
	uint64_t index;      /* its number */
	uint64_t wall;       /* ns since the epoch */
	const uint8_t *frame;
	uint32_t caplen;     /* bytes captured from the start of the frame */
	uint32_t wire_len;   /* its length on the wire */
	uint32_t rec;        /* which recording: connections of different ones are different */
	uint16_t linktype;   /* LINKTYPE_*; others are ignored */
	bool egress;         /* seen leaving (not arriving) */
	uint64_t cookie;     /* the sending socket's cookie, 0 when not known */
	uint64_t netns;      /* of the interface it was seen on */
};

/*
 * Take one packet: 1 with *conn (index into t->conns) and *side (the side that sent it) when it is
 * a TCP segment or UDP datagram, 0 when it is something else, or -ENOMEM.
 */
int tlsconn_add(struct tlsconn *t, const struct tlsconn_pkt *p, size_t *conn, int *side);

/*
 * Which connection and side tlsconn_add gave packet p, found again once every packet was added
 * (numbered as then: the connection of its 4-tuple that is the latest to start at or before
 * p->index), without changing what t holds of connections: 1 with *conn and *side, 0 when
 * tlsconn_add gave none. In amortised constant time when packets come in the order they were
 * added.
 */
int tlsconn_find(struct tlsconn *t, const struct tlsconn_pkt *p, size_t *conn, int *side);

/*
 * tlsconn_add of a packet of recording 0 with no times or lengths (for the survey's first pass).
 * Returns 0 or -ENOMEM.
 */
int tlsconn_packet(struct tlsconn *t, uint16_t linktype, const uint8_t *frame, uint32_t caplen,
		   uint64_t index);

/*
 * Add a connection known from an earlier reading (an index): c's addresses, ports, family, proto,
 * rec, client side, counters, cookies and namespaces are taken; its stream start is not followed again (resumed).
 * Later packets of its 4-tuple add to it, unless a new SYN starts a new connection. Returns the
 * index of the connection in t->conns, or -ENOMEM.
 */
int64_t tlsconn_resume(struct tlsconn *t, const struct tls_conn *c);

/*
 * What a later reading needs to go on following the start of c's streams where this one stopped
 * (initial sequence numbers, the bytes kept, a ClientHello being gathered), with side first
 * (tlsconn_client_side, so that the row's orig is side 0 again), into out (malloc'd) and *len.
 * Returns 1 when there is something to keep, 0 when nothing more is to be learnt from the
 * streams (not TLS, or hello and ServerHello read, or not followed: *out NULL), or -ENOMEM.
 */
int tlsconn_stream_save(const struct tls_conn *c, int side, uint8_t **out, size_t *len);

/*
 * Give connection i of t (just added by tlsconn_resume) the stream state tlsconn_stream_save
 * wrote, so its packets are followed again. Returns 0, -EINVAL when blob is not such a state (the
 * connection stays not followed), or -ENOMEM.
 */
int tlsconn_stream_restore(struct tlsconn *t, size_t i, const uint8_t *blob, size_t len);

/*
 * A summary of the connection's state as Zeek's conn_state names it (S0, S1, SF, REJ, S2, S3,
 * RSTO, RSTR, RSTOS0, RSTRH, SH, SHR, OTH), from the flags each side sent; the client is the
 * originator. UDP: S0 when one side sent, SF when both did. A static string.
 */
const char *tlsconn_conn_state(const struct tls_conn *c);

/* The client random of c's ClientHello (32 bytes), or NULL. */
const uint8_t *tlsconn_client_random(const struct tls_conn *c);

/*
 * The TLS version the ServerHello chose (0x0304 when its cipher suite is a TLS 1.3 one, else its
 * version field), or 0 when no ServerHello was seen.
 */
uint16_t tlsconn_version(const struct tls_conn *c);

/* The side that opened the connection: the client when known, else the sender of its first
 * packet (0). */
int tlsconn_client_side(const struct tls_conn *c);

/* "1.3", "1.2", "1.1" or "1.0" for a TLS version number, or NULL. */
const char *tlsconn_version_name(uint16_t version);

/* "client:port -> server:port" ([v6]:port for IPv6) into buf. */
void tlsconn_format(const struct tls_conn *c, char *buf, size_t size);

void tlsconn_free(struct tlsconn *t);

#endif /* TLSASM_TLSCONN_H */

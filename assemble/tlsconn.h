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

#include "session.h"
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

/* A 4-tuple as tlsconn_tuple writes it: recording, protocol, family and both endpoints. */
#define TLSCONN_TUPLE_LEN 42

/* Connections held in memory at most while packets are added; the least recently seen half goes
 * to the connection store (connstore.h) when a new one needs room. */
#define TLSCONN_LIVE (1u << 16)
/* Bits of a filter of the 4-tuples with a connection in the store, so that a new one is not looked
 * for there (4 MiB). */
#define TLSCONN_STORED_BITS (1u << 25)

struct tls_conn {
	uint64_t id;           /* connections are numbered from 0 in the order of their first packets */
	uint64_t first_packet; /* number of its first packet */
	uint64_t next_packet;  /* when superseded: the first packet of the next one of its 4-tuple */
	uint64_t seen;         /* number of its latest packet */
	uint64_t first_wall, last_wall; /* ns since the epoch */
	uint64_t packets[2], bytes[2];  /* sent by each side; bytes as on the wire (orig_len) */
	uint32_t rec;          /* the recording (tlsconn_add's rec) */
	uint8_t proto;         /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t flags[2];      /* enum tlsconn_flag, by the side that sent them */
	bool egress[2];        /* a packet the side sent was seen leaving (its end may be local) */
	uint64_t cookie[2];    /* the first socket cookie on a packet the side sent, or 0 */
	uint64_t netns[2];     /* network namespaces its packets were seen in: the first, another */
	bool superseded;       /* a later connection of its 4-tuple started */
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
	struct tls_session sess; /* the server's stream, walked for TLS 1.2 session resumption */
	/* The caller's: while packets are added, kept with the connection (the store keeps it too);
	 * once sealed, for tlsconn_find's callers (owners_packet: memo_set, memo[0] and [1]; survey:
	 * memo[2]), zero whenever it is read back. */
	bool memo_set;
	int64_t memo[3];
};

/*
 * Connections: while packets are added, the latest of each 4-tuple that was seen recently, in
 * memory (conns), and the others in the store; once sealed, all in the store, and conns holds
 * those tlsconn_find read back lately.
 */
struct tlsconn {
	struct tls_conn *conns; /* in no order */
	size_t n, cap;
	size_t live_max;    /* of conns: TLSCONN_LIVE when 0 (tests set fewer) */
	struct table index; /* 4-tuple -> its latest connection in conns */
	uint64_t count;     /* connections in all: the next id */
	uint64_t stored;    /* connections written to the store while packets were added */
	bool sealed;
	size_t hello_bytes; /* held in tls_conn.hello buffers */
	uint64_t *scratch;  /* live_max of them, for choosing which connections go */
	uint8_t *stored_bits; /* TLSCONN_STORED_BITS, once connections go to the store */
	struct connstore *store;
	struct tls_conn ahead; /* once sealed, the next connection to start, when have_ahead */
	bool have_ahead, ahead_done;
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
 * Take one packet: 1 with *conn (valid until the next call that adds) and *side (the side that
 * sent it) when it is a TCP segment or UDP datagram, 0 when it is something else, -ENOMEM, or
 * -EIO (after a message) when the store fails. Not once sealed.
 */
int tlsconn_add(struct tlsconn *t, const struct tlsconn_pkt *p, struct tls_conn **conn,
		int *side);

/*
 * tlsconn_add of a packet of recording 0 with no times or lengths (for the survey's first pass).
 * Returns 0, -ENOMEM or -EIO.
 */
int tlsconn_packet(struct tlsconn *t, uint16_t linktype, const uint8_t *frame, uint32_t caplen,
		   uint64_t index);

/*
 * Add a connection known from an earlier reading (an index): c's addresses, ports, family, proto,
 * rec, client side, counters, cookies and namespaces are taken; its stream start is not followed
 * again (resumed). Later packets of its 4-tuple add to it, unless a new SYN starts a new
 * connection. 0 with *out (valid until the next call that adds), -ENOMEM or -EIO.
 */
int tlsconn_resume(struct tlsconn *t, const struct tls_conn *c, struct tls_conn **out);

/*
 * What a later reading needs to go on following the start of c's streams where this one stopped
 * (initial sequence numbers, the bytes kept, a ClientHello being gathered, the walk of a TLS 1.2
 * server's stream for its sessions), with side first (tlsconn_client_side, so that the row's
 * orig is side 0 again), into out (malloc'd) and *len. Returns 1 when there is something to keep,
 * 0 when nothing more is to be learnt from the streams (not TLS, or hello and ServerHello read
 * and no TLS 1.2 walk going on, or not followed: *out NULL), or -ENOMEM. With keep, what the
 * streams told is kept even when nothing more is to be learnt from them: the client random and
 * sessions of a handshake whose secrets a later reading may bring.
 */
int tlsconn_stream_save(const struct tls_conn *c, int side, bool keep, uint8_t **out, size_t *len);

/*
 * Give c (just added by tlsconn_resume) the stream state tlsconn_stream_save wrote (or an older
 * tlsasm's, which has no walk), so its packets are followed again. Returns 0, -EINVAL when blob
 * is not such a state (the connection stays not followed), or -ENOMEM.
 */
int tlsconn_stream_restore(struct tlsconn *t, struct tls_conn *c, const uint8_t *blob,
			   size_t len);

/* Every packet is in: put every connection in the store. 0, -ENOMEM or -EIO. */
int tlsconn_seal(struct tlsconn *t);

/*
 * fn(ctx, c) for every connection, in the order of their first packets (sealing t first). Stops
 * at fn's first non-zero return and returns it; else 0, -ENOMEM or -EIO.
 */
int tlsconn_each(struct tlsconn *t, int (*fn)(void *ctx, const struct tls_conn *c), void *ctx);

/*
 * Once sealed (tlsconn_find seals t), the connection and side tlsconn_add gave packet p, found
 * again (numbered as then: the connection of its 4-tuple that is the latest to start at or
 * before p->index): 1 with *conn (valid until the next call) and *side, 0 when tlsconn_add gave
 * none, -ENOMEM or -EIO. Connections read back lately are kept in memory.
 */
int tlsconn_find(struct tlsconn *t, const struct tlsconn_pkt *p, struct tls_conn **conn,
		 int *side);

/* The 4-tuple of c, the same whichever side sent the first packet. */
void tlsconn_tuple(const struct tls_conn *c, uint8_t out[TLSCONN_TUPLE_LEN]);

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

/*
 * TLS 1.2 session resumption (session.h). Whether c's handshake was an abbreviated one (TLS 1.2 or
 * older): the server's ChangeCipherSpec came before any Certificate, or else its ServerHello gave
 * back the ClientHello's session ID.
 */
bool tlsconn_abbreviated(const struct tls_conn *c);

/*
 * Whether c's abbreviated handshake is confirmed: after its Finished the server sent application
 * data, which it does only once it took the client's Finished (session.h). Until then anyone who
 * saw the session's ID or ticket could have offered it.
 */
bool tlsconn_resumption_confirmed(const struct tls_conn *c);

/*
 * The sessions c's handshake names, as session_key_* write them into out, with c's server as
 * the server that gave them: which = 0 the ticket
 * the client offered and 1 the session ID it offered; which = 2 the ticket the server sent and 3
 * the session ID its ServerHello gave. Returns the length, 0 when there is none.
 */
size_t tlsconn_session(const struct tls_conn *c, int which, uint8_t out[SESSION_KEY_MAX]);

/* The side that opened the connection: the client when known, else the sender of its first
 * packet (0). */
int tlsconn_client_side(const struct tls_conn *c);

/* "1.3", "1.2", "1.1" or "1.0" for a TLS version number, or NULL. */
const char *tlsconn_version_name(uint16_t version);

/* "client:port -> server:port" ([v6]:port for IPv6) into buf. */
void tlsconn_format(const struct tls_conn *c, char *buf, size_t size);

void tlsconn_free(struct tlsconn *t);

#endif /* TLSASM_TLSCONN_H */

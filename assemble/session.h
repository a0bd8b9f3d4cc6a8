/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * TLS 1.2 session resumption, as the captured handshakes show it: what ties an abbreviated
 * handshake to the full one whose master secret it reuses (RFC 5246 sections 7.3 and 7.4.1.2,
 * RFC 5077 sections 3.1-3.4). Go's crypto/tls and GnuTLS log no secret for a resumed TLS 1.2
 * handshake; its master secret is the one of the session it resumes, named by the session ID
 * the server gave in a full handshake's ServerHello, or by a ticket the server sent in a
 * NewSessionTicket message (in the clear in TLS 1.2: it comes before the server's
 * ChangeCipherSpec) and the client offers again in its ClientHello's SessionTicket extension.
 *
 * The server's stream is walked record by record and handshake message by handshake message, as
 * its bytes come in order, up to its ChangeCipherSpec: no more of it is kept than a record or
 * handshake header being gathered, and a ticket is kept as its length, first bytes and hash.
 *
 * The session ID and ticket a client offers are in the clear: anyone who saw them can offer them
 * again, and the server answers with its ChangeCipherSpec and Finished before it checks the
 * client's Finished, which only the session's owner can make. So an abbreviated handshake is
 * walked on, record header by record header (still in the clear after the ChangeCipherSpec),
 * until the record after the server's Finished: application data says the server took the
 * client's Finished (confirmed); an alert, or anything else, that it did not.
 */
#ifndef TLSASM_SESSION_H
#define TLSASM_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xxh32.h"

/* Bytes of a server's stream walked at most, looking for its ChangeCipherSpec (certificate
 * chains are a few KiB). */
#define SESSION_WALK_MAX (256u << 10)

/*
 * A ticket, named by its length, its first bytes and the hash of all of it: RFC 5077's
 * recommended ticket (what OpenSSL and Go send) starts with a key name and a random IV.
 */
#define SESSION_TICKET_HEAD 32
struct session_ticket {
	uint8_t head[SESSION_TICKET_HEAD]; /* zero past len */
	uint32_t hash;                     /* XXH32 of the whole ticket, seed 0 */
	uint16_t len;                      /* 0: none */
};

/*
 * An identifier of a session as session_key_* write it: the server that gave it (its family, its
 * address and its port: a session ID or ticket is the server's own, and another server can send
 * a copy of one), a kind byte, then the ticket or the session ID.
 */
#define SESSION_SERVER_LEN (1 + 16 + 2)
#define SESSION_KEY_MAX (SESSION_SERVER_LEN + 1 + SESSION_TICKET_HEAD + 4 + 2)

enum session_walk {
	SESSION_WALKING,
	SESSION_DONE,    /* a full handshake's ChangeCipherSpec, a confirmed abbreviated one */
	SESSION_STOPPED, /* not a TLS 1.2 handshake as far as walked, or past SESSION_WALK_MAX */
};

struct tls_session {
	uint32_t walked;      /* bytes of the server's stream read */
	uint8_t walk;         /* enum session_walk */
	uint8_t rec_head[5];  /* a record header being gathered */
	uint8_t rec_have;
	uint16_t record_left; /* payload bytes left in the current record */
	uint8_t msg_head[4];  /* a handshake message's header being gathered (records can split it) */
	uint8_t msg_have;
	bool in_msg;          /* reading a handshake message's body */
	uint8_t msg_type;
	uint32_t msg_left;    /* bytes left of its body */
	uint32_t msg_read;    /* bytes of its body read */
	uint16_t ticket_len;  /* a NewSessionTicket's, as it says */
	bool hello;           /* the server's first message was a ServerHello */
	bool full;            /* a Certificate, ServerKeyExchange or ServerHelloDone: a full handshake */
	bool abbreviated;     /* the server's ChangeCipherSpec came right after its ServerHello
			       * (and a NewSessionTicket): an abbreviated handshake */
	bool finished;        /* then a handshake record: the server's (encrypted) Finished */
	bool confirmed;       /* then application data: the server took the client's Finished */
	struct xxh32 hash;    /* of the ticket being read */
	struct session_ticket got;  /* the last NewSessionTicket's */
	struct session_ticket sent; /* the ClientHello's SessionTicket extension's */
};

/* The ClientHello's SessionTicket extension body (len bytes): the ticket it offers, if any. */
void session_client_ticket(struct tls_session *s, const uint8_t *ext, uint16_t len);

/*
 * Walk the server's stream: data (len bytes) at stream offset rel (0 is its first byte). Bytes
 * before what was walked are skipped; bytes after a gap stop nothing but are not read (a later
 * retransmission fills the gap).
 */
void session_server_data(struct tls_session *s, uint32_t rel, const uint8_t *data, uint32_t len);

/* Bytes of a walk as session_save writes it. */
#define SESSION_STATE_LEN 154

/*
 * The walk s as far as it went (what the handshake named so far, and where in the server's stream
 * it stands) into out, big endian, for a later reading to go on with (tlsconn_stream_save).
 */
void session_save(const struct tls_session *s, uint8_t out[SESSION_STATE_LEN]);

/* The walk session_save wrote, into s. Returns 0, or -EINVAL when in holds no walk session_save
 * could have written (s is left as it was). */
int session_restore(struct tls_session *s, const uint8_t in[SESSION_STATE_LEN]);

/*
 * The session identifiers of a handshake with server (SESSION_SERVER_LEN bytes, as above): its
 * session ID (from a hello, up to 32 bytes) or a ticket, written to out (SESSION_KEY_MAX bytes).
 * Returns the length, 0 when there is none.
 */
size_t session_key_id(const uint8_t *server, const uint8_t *sid, uint8_t sid_len,
		      uint8_t out[SESSION_KEY_MAX]);
size_t session_key_ticket(const uint8_t *server, const struct session_ticket *t,
			  uint8_t out[SESSION_KEY_MAX]);

#endif /* TLSASM_SESSION_H */

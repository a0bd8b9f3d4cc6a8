// SPDX-License-Identifier: BSD-2-Clause
/*
 * Records: RFC 5246 section 6.2.1 (content types 20 ChangeCipherSpec and 22 handshake, a length
 * of at most 2^14 + 2048). Handshake messages: section 7.4 (type, 24-bit length; one message can
 * span records). NewSessionTicket: RFC 5077 section 3.3 (lifetime hint, then the ticket as an
 * opaque <0..2^16-1>).
 */
#include <errno.h>
#include <string.h>

#include "session.h"

#define REC_CCS 20
#define REC_HANDSHAKE 22
#define REC_APPLICATION_DATA 23
#define REC_MAX (16384 + 2048)
#define HS_SERVER_HELLO 2
#define HS_NEW_SESSION_TICKET 4
#define HS_CERTIFICATE 11
#define HS_SERVER_KEY_EXCHANGE 12
#define HS_CERTIFICATE_REQUEST 13
#define HS_SERVER_HELLO_DONE 14
/* A NewSessionTicket's body: lifetime hint (4), ticket length (2), then the ticket. */
#define NST_TICKET 6

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

void session_client_ticket(struct tls_session *s, const uint8_t *ext, uint16_t len)
{
	memset(&s->sent, 0, sizeof(s->sent));
	if (!len)
		return; /* an empty extension only says the client takes tickets */
	memcpy(s->sent.head, ext, min_u32(len, SESSION_TICKET_HEAD));
	s->sent.hash = xxh32(ext, len, 0);
	s->sent.len = len;
}

static void msg_start(struct tls_session *s)
{
	const uint8_t *h = s->msg_head;

	s->msg_type = h[0];
	s->msg_left = (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
	s->msg_read = 0;
	s->in_msg = true;
	if (!s->hello) {
		if (s->msg_type != HS_SERVER_HELLO) {
			s->walk = SESSION_STOPPED;
			return;
		}
		s->hello = true;
	}
	switch (s->msg_type) {
	case HS_CERTIFICATE:
	case HS_SERVER_KEY_EXCHANGE:
	case HS_CERTIFICATE_REQUEST:
	case HS_SERVER_HELLO_DONE:
		s->full = true;
		break;
	case HS_NEW_SESSION_TICKET:
		memset(&s->got, 0, sizeof(s->got));
		s->ticket_len = 0;
		xxh32_reset(&s->hash, 0);
		break;
	}
}

/* Body bytes p (n of them) of a NewSessionTicket, from body offset s->msg_read. */
static void ticket_bytes(struct tls_session *s, const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n;) {
		uint32_t at = s->msg_read + i, k;

		if (at < NST_TICKET) {
			if (at == NST_TICKET - 2)
				s->ticket_len = (uint16_t)(p[i] << 8);
			else if (at == NST_TICKET - 1)
				s->ticket_len |= p[i];
			i++;
			continue;
		}
		k = n - i;
		if (at - NST_TICKET < SESSION_TICKET_HEAD)
			memcpy(s->got.head + (at - NST_TICKET), p + i,
			       min_u32(k, SESSION_TICKET_HEAD - (at - NST_TICKET)));
		xxh32_update(&s->hash, p + i, k);
		i += k;
	}
}

static void msg_end(struct tls_session *s)
{
	s->in_msg = false;
	if (s->msg_type != HS_NEW_SESSION_TICKET)
		return;
	if (s->ticket_len && s->msg_read == (uint32_t)NST_TICKET + s->ticket_len) {
		if (s->ticket_len < SESSION_TICKET_HEAD)
			memset(s->got.head + s->ticket_len, 0, SESSION_TICKET_HEAD - s->ticket_len);
		s->got.hash = xxh32_digest(&s->hash);
		s->got.len = s->ticket_len;
	} else {
		memset(&s->got, 0, sizeof(s->got));
	}
}

/* Copy what fits of p (n bytes) into a header being gathered (size bytes, *have of them held).
 * Returns the bytes taken. */
static uint32_t gather(uint8_t *head, uint8_t *have, size_t size, const uint8_t *p, uint32_t n)
{
	uint32_t k = min_u32(n, (uint32_t)(size - *have));

	memcpy(head + *have, p, k);
	*have += (uint8_t)k;
	return k;
}

/* Handshake bytes p (n of them): the payload of handshake records, one after the other. */
static void handshake(struct tls_session *s, const uint8_t *p, uint32_t n)
{
	while (n && s->walk == SESSION_WALKING) {
		uint32_t k;

		if (!s->in_msg) {
			k = gather(s->msg_head, &s->msg_have, sizeof(s->msg_head), p, n);
			p += k;
			n -= k;
			if (s->msg_have < sizeof(s->msg_head))
				return;
			s->msg_have = 0;
			msg_start(s);
		} else {
			k = min_u32(n, s->msg_left);
			if (s->msg_type == HS_NEW_SESSION_TICKET)
				ticket_bytes(s, p, k);
			s->msg_read += k;
			s->msg_left -= k;
			p += k;
			n -= k;
		}
		if (s->in_msg && !s->msg_left)
			msg_end(s);
	}
}

/*
 * A record of type after an abbreviated handshake's ChangeCipherSpec: first the server's Finished,
 * then application data, which a side sends only once it "received and validated the Finished
 * message from its peer" (RFC 5246 section 7.4.9); a Finished that fails is a decrypt_error
 * alert (section 7.2.2).
 */
static void after_ccs(struct tls_session *s, uint8_t type)
{
	if (!s->finished && type == REC_HANDSHAKE) {
		s->finished = true;
	} else if (s->finished && type == REC_APPLICATION_DATA) {
		s->confirmed = true;
		s->walk = SESSION_DONE;
	} else {
		s->walk = SESSION_STOPPED;
	}
}

/* A record header is whole in s->rec_head. */
static void record_start(struct tls_session *s)
{
	const uint8_t *h = s->rec_head;
	uint16_t len = (uint16_t)(h[3] << 8 | h[4]);

	s->rec_have = 0;
	if (h[1] != 3 || !len || len > REC_MAX) {
		s->walk = SESSION_STOPPED;
	} else if (s->abbreviated) {
		after_ccs(s, h[0]);
		s->record_left = len;
	} else if (h[0] == REC_CCS) {
		s->abbreviated = s->hello && !s->full;
		if (s->abbreviated)
			s->record_left = len;
		else
			s->walk = SESSION_DONE;
	} else if (h[0] != REC_HANDSHAKE) {
		s->walk = SESSION_STOPPED;
	} else {
		s->record_left = len;
	}
}

static void walk(struct tls_session *s, const uint8_t *p, uint32_t n)
{
	while (n && s->walk == SESSION_WALKING) {
		uint32_t k;

		if (!s->record_left) {
			k = gather(s->rec_head, &s->rec_have, sizeof(s->rec_head), p, n);
			if (s->rec_have == sizeof(s->rec_head))
				record_start(s);
		} else {
			k = min_u32(n, s->record_left);
			if (!s->abbreviated) /* past the ChangeCipherSpec: encrypted, skipped */
				handshake(s, p, k);
			s->record_left -= k;
		}
		p += k;
		n -= k;
	}
}

void session_server_data(struct tls_session *s, uint32_t rel, const uint8_t *data, uint32_t len)
{
	uint32_t skip, n;

	if (s->walk != SESSION_WALKING || rel > s->walked)
		return;
	skip = s->walked - rel;
	if (skip >= len)
		return;
	n = min_u32(len - skip, SESSION_WALK_MAX - s->walked);
	walk(s, data + skip, n);
	s->walked += n;
	if (s->walk == SESSION_WALKING && s->walked >= SESSION_WALK_MAX)
		s->walk = SESSION_STOPPED;
}

/* A cursor over a saved walk: n bytes at a time, big endian. */
struct state_cursor {
	uint8_t *p;
	const uint8_t *q;
};

static void put_n(struct state_cursor *k, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--)
		*k->p++ = (uint8_t)(v >> (8 * i));
}

static uint64_t get_n(struct state_cursor *k, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | *k->q++;
	return v;
}

static void put_bytes(struct state_cursor *k, const uint8_t *b, size_t n)
{
	memcpy(k->p, b, n);
	k->p += n;
}

static void get_bytes(struct state_cursor *k, uint8_t *b, size_t n)
{
	memcpy(b, k->q, n);
	k->q += n;
}

static void put_ticket(struct state_cursor *k, const struct session_ticket *t)
{
	put_bytes(k, t->head, SESSION_TICKET_HEAD);
	put_n(k, t->hash, 4);
	put_n(k, t->len, 2);
}

static void get_ticket(struct state_cursor *k, struct session_ticket *t)
{
	get_bytes(k, t->head, SESSION_TICKET_HEAD);
	t->hash = (uint32_t)get_n(k, 4);
	t->len = (uint16_t)get_n(k, 2);
}

void session_save(const struct tls_session *s, uint8_t out[SESSION_STATE_LEN])
{
	struct state_cursor k = { .p = out };

	put_n(&k, s->walked, 4);
	put_n(&k, s->walk, 1);
	put_bytes(&k, s->rec_head, sizeof(s->rec_head));
	put_n(&k, s->rec_have, 1);
	put_n(&k, s->record_left, 2);
	put_bytes(&k, s->msg_head, sizeof(s->msg_head));
	put_n(&k, s->msg_have, 1);
	put_n(&k, (unsigned)s->in_msg | (unsigned)s->hello << 1 | (unsigned)s->full << 2 |
			  (unsigned)s->abbreviated << 3 | (unsigned)s->finished << 4 |
			  (unsigned)s->confirmed << 5, 1);
	put_n(&k, s->msg_type, 1);
	put_n(&k, s->msg_left, 4);
	put_n(&k, s->msg_read, 4);
	put_n(&k, s->ticket_len, 2);
	for (int i = 0; i < 4; i++)
		put_n(&k, s->hash.v[i], 4);
	put_n(&k, s->hash.total, 8);
	put_bytes(&k, s->hash.mem, sizeof(s->hash.mem));
	put_n(&k, s->hash.memsize, 4);
	put_n(&k, s->hash.seed, 4);
	put_ticket(&k, &s->got);
	put_ticket(&k, &s->sent);
}

int session_restore(struct tls_session *s, const uint8_t in[SESSION_STATE_LEN])
{
	struct state_cursor k = { .q = in };
	struct tls_session r;
	unsigned flags;

	memset(&r, 0, sizeof(r));
	r.walked = (uint32_t)get_n(&k, 4);
	r.walk = (uint8_t)get_n(&k, 1);
	get_bytes(&k, r.rec_head, sizeof(r.rec_head));
	r.rec_have = (uint8_t)get_n(&k, 1);
	r.record_left = (uint16_t)get_n(&k, 2);
	get_bytes(&k, r.msg_head, sizeof(r.msg_head));
	r.msg_have = (uint8_t)get_n(&k, 1);
	flags = (unsigned)get_n(&k, 1);
	r.in_msg = flags & 1;
	r.hello = flags & 2;
	r.full = flags & 4;
	r.abbreviated = flags & 8;
	r.finished = flags & 16;
	r.confirmed = flags & 32;
	r.msg_type = (uint8_t)get_n(&k, 1);
	r.msg_left = (uint32_t)get_n(&k, 4);
	r.msg_read = (uint32_t)get_n(&k, 4);
	r.ticket_len = (uint16_t)get_n(&k, 2);
	for (int i = 0; i < 4; i++)
		r.hash.v[i] = (uint32_t)get_n(&k, 4);
	r.hash.total = get_n(&k, 8);
	get_bytes(&k, r.hash.mem, sizeof(r.hash.mem));
	r.hash.memsize = (uint32_t)get_n(&k, 4);
	r.hash.seed = (uint32_t)get_n(&k, 4);
	get_ticket(&k, &r.got);
	get_ticket(&k, &r.sent);
	/* What walk() and xxh32_update rely on: the bounds of what they index and count; and the
	 * order in which an abbreviated handshake is confirmed (a tlsasm before confirmation saved
	 * no flag above 8: its abbreviated handshakes stay unconfirmed). */
	if (flags > 63 || (r.finished && !r.abbreviated) || (r.confirmed && !r.finished) ||
	    r.walk > SESSION_STOPPED || r.walked > SESSION_WALK_MAX ||
	    r.rec_have >= sizeof(r.rec_head) || r.record_left > REC_MAX ||
	    r.msg_have >= sizeof(r.msg_head) || r.msg_left >= 1u << 24 ||
	    r.hash.memsize >= sizeof(r.hash.mem))
		return -EINVAL;
	*s = r;
	return 0;
}

size_t session_key_id(const uint8_t *server, const uint8_t *sid, uint8_t sid_len,
		      uint8_t out[SESSION_KEY_MAX])
{
	if (!sid_len || sid_len > 32)
		return 0;
	memcpy(out, server, SESSION_SERVER_LEN);
	out[SESSION_SERVER_LEN] = 1;
	memcpy(out + SESSION_SERVER_LEN + 1, sid, sid_len);
	return SESSION_SERVER_LEN + 1 + (size_t)sid_len;
}

size_t session_key_ticket(const uint8_t *server, const struct session_ticket *t,
			  uint8_t out[SESSION_KEY_MAX])
{
	uint8_t *p = out + SESSION_SERVER_LEN;

	if (!t->len)
		return 0;
	memcpy(out, server, SESSION_SERVER_LEN);
	*p++ = 2;
	memcpy(p, t->head, SESSION_TICKET_HEAD);
	p += SESSION_TICKET_HEAD;
	for (int i = 0; i < 4; i++)
		*p++ = (uint8_t)(t->hash >> (8 * i));
	*p++ = (uint8_t)t->len;
	*p++ = (uint8_t)(t->len >> 8);
	return (size_t)(p - out);
}

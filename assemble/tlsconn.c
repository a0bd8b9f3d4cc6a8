// SPDX-License-Identifier: BSD-2-Clause
/*
 * Headers: Ethernet and IEEE 802.1Q; IPv4 (RFC 791), IPv6 (RFC 8200 section 4: the extension
 * headers a TCP segment can follow); TCP (RFC 9293 section 3.1); UDP (RFC 768). TLS records and
 * handshake messages: RFC 8446 sections 5.1 and 4, RFC 5246 section 7.4; server_name: RFC 6066
 * section 3; ALPN: RFC 7301 section 3.1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "connstore.h"
#include "tlsconn.h"

#define ETH_HLEN 14
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10
#define TLS_HANDSHAKE 22
#define TLS_CLIENT_HELLO 1
#define TLS_SERVER_HELLO 2
/* Record header (5), handshake header (4), version (2): the random follows. */
#define HELLO_RANDOM 11
#define CLIENT_HELLO_NEED (HELLO_RANDOM + 32)
#define EXT_SERVER_NAME 0
#define EXT_ALPN 16
#define EXT_SESSION_TICKET 35

/* A TCP segment or UDP datagram, as far as it was captured. */
struct segment {
	uint8_t family;
	uint8_t proto;
	uint8_t addr_len;
	const uint8_t *src, *dst;
	uint16_t sport, dport;
	uint32_t seq;
	uint8_t flags;
	const uint8_t *data;
	uint32_t len;
};

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The TCP header at p[off], in a packet whose IP datagram ends at p[end]. */
static bool parse_tcp(const uint8_t *p, uint32_t off, uint32_t end, struct segment *s)
{
	const uint8_t *t = p + off;
	uint32_t doff;

	if (end < off || end - off < 20)
		return false;
	doff = (uint32_t)(t[12] >> 4) * 4;
	if (doff < 20 || doff > end - off)
		return false;
	s->proto = IPPROTO_TCP;
	s->sport = be16(t);
	s->dport = be16(t + 2);
	s->seq = be32(t + 4);
	s->flags = t[13];
	s->data = t + doff;
	s->len = end - off - doff;
	return true;
}

/* The UDP header at p[off], in a packet whose IP datagram ends at p[end]: no data is kept. */
static bool parse_udp(const uint8_t *p, uint32_t off, uint32_t end, struct segment *s)
{
	if (end < off || end - off < 8)
		return false;
	s->proto = IPPROTO_UDP;
	s->sport = be16(p + off);
	s->dport = be16(p + off + 2);
	s->seq = 0;
	s->flags = 0;
	s->data = p + off + 8;
	s->len = 0;
	return true;
}

static bool parse_l4(uint8_t proto, const uint8_t *p, uint32_t off, uint32_t end,
		     struct segment *s)
{
	return proto == IPPROTO_TCP ? parse_tcp(p, off, end, s) : parse_udp(p, off, end, s);
}

/* An IPv4 datagram of cap captured bytes: a TCP segment or UDP datagram, not a later fragment. */
static bool parse_ipv4(const uint8_t *p, uint32_t cap, struct segment *s)
{
	uint32_t ihl, total;

	if (cap < 20 || p[0] >> 4 != 4 || (p[9] != IPPROTO_TCP && p[9] != IPPROTO_UDP) ||
	    (be16(p + 6) & 0x1fff))
		return false;
	ihl = (uint32_t)(p[0] & 15) * 4;
	total = be16(p + 2);
	/* A total length of 0: a GSO packet larger than 64 KiB (BIG TCP). */
	if (ihl < 20 || (total && total < ihl))
		return false;
	s->family = 4;
	s->addr_len = 4;
	s->src = p + 12;
	s->dst = p + 16;
	return parse_l4(p[9], p, ihl, total && total < cap ? total : cap, s);
}

/* An IPv6 packet: the TCP segment or UDP datagram after any hop-by-hop, routing, destination
 * options, fragment (the first only) and authentication headers. */
static bool parse_ipv6(const uint8_t *p, uint32_t cap, struct segment *s)
{
	uint32_t off = 40, end, payload;
	uint8_t next;

	if (cap < 40 || p[0] >> 4 != 6)
		return false;
	payload = be16(p + 4);
	end = payload && 40 + payload < cap ? 40 + payload : cap; /* 0: a jumbogram (BIG TCP) */
	next = p[6];
	for (int i = 0; i < 8; i++) {
		switch (next) {
		case IPPROTO_TCP:
		case IPPROTO_UDP:
			s->family = 6;
			s->addr_len = 16;
			s->src = p + 8;
			s->dst = p + 24;
			return parse_l4(next, p, off, end, s);
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			if (end - off < 2)
				return false;
			next = p[off];
			off += ((uint32_t)p[off + 1] + 1) * 8;
			break;
		case IPPROTO_FRAGMENT:
			if (end - off < 8 || (be16(p + off + 2) & 0xfff8))
				return false;
			next = p[off];
			off += 8;
			break;
		case IPPROTO_AH:
			if (end - off < 2)
				return false;
			next = p[off];
			off += ((uint32_t)p[off + 1] + 2) * 4;
			break;
		default:
			return false;
		}
		if (off > end)
			return false;
	}
	return false;
}

static bool parse_frame(uint16_t linktype, const uint8_t *f, uint32_t cap, struct segment *s)
{
	uint32_t off = ETH_HLEN;
	uint16_t type;

	if (linktype == LINKTYPE_RAW)
		return cap && (f[0] >> 4 == 4 ? parse_ipv4(f, cap, s) : parse_ipv6(f, cap, s));
	if (linktype != LINKTYPE_ETHERNET || cap < ETH_HLEN)
		return false;
	type = be16(f + 12);
	/* At most two tags in the data (802.1ad outer, 802.1Q inner); a tag the driver took out is
	 * not in the data at all. */
	for (int tags = 0; tags < 2 && (type == 0x8100 || type == 0x88a8 || type == 0x9100);
	     tags++) {
		if (cap - off < 4)
			return false;
		type = be16(f + off + 2);
		off += 4;
	}
	if (type == 0x0800)
		return parse_ipv4(f + off, cap - off, s);
	if (type == 0x86dd)
		return parse_ipv6(f + off, cap - off, s);
	return false;
}

static uint64_t endpoint_hash(const uint8_t addr[16], uint16_t port)
{
	uint64_t a, b;

	memcpy(&a, addr, 8);
	memcpy(&b, addr + 8, 8);
	return table_hash(a ^ table_hash(b ^ port));
}

/* Whether endpoint a:pa comes after b:pb: the order both directions of a connection share. */
static bool after(const uint8_t a[16], uint16_t pa, const uint8_t b[16], uint16_t pb)
{
	int c = memcmp(a, b, 16);

	return c > 0 || (c == 0 && pa > pb);
}

/* The same for both directions of a connection: the endpoints in order, then hashed in that order
 * (not XORed, which makes every connection of an address and port to itself collide). */
static uint64_t tuple_hash(uint32_t rec, uint8_t family, uint8_t proto, const uint8_t a[16],
			   uint16_t pa, const uint8_t b[16], uint16_t pb)
{
	uint64_t ha = endpoint_hash(a, pa), hb = endpoint_hash(b, pb);

	if (after(a, pa, b, pb)) {
		uint64_t t = ha;

		ha = hb;
		hb = t;
	}
	return table_hash(ha ^ table_hash(hb + ((uint64_t)rec << 16 | (uint64_t)proto << 8 | family)));
}

/* The same as a string of bytes: recording, protocol, family, then the endpoints in order. */
static void tuple_bytes(uint32_t rec, uint8_t family, uint8_t proto, const uint8_t a[16],
			uint16_t pa, const uint8_t b[16], uint16_t pb, uint8_t out[TLSCONN_TUPLE_LEN])
{
	bool swap = after(a, pa, b, pb);

	memcpy(out, &rec, 4);
	out[4] = proto;
	out[5] = family;
	memcpy(out + 6, swap ? b : a, 16);
	memcpy(out + 22, swap ? &pb : &pa, 2);
	memcpy(out + 24, swap ? a : b, 16);
	memcpy(out + 40, swap ? &pa : &pb, 2);
}

void tlsconn_tuple(const struct tls_conn *c, uint8_t out[TLSCONN_TUPLE_LEN])
{
	tuple_bytes(c->rec, c->family, c->proto, c->addr[0], c->port[0], c->addr[1], c->port[1],
		    out);
}

static uint64_t conn_rehash(const void *ctx, uint32_t index)
{
	const struct tls_conn *c = &((const struct tlsconn *)ctx)->conns[index];

	return tuple_hash(c->rec, c->family, c->proto, c->addr[0], c->port[0], c->addr[1],
			  c->port[1]);
}

struct tuple_key {
	const struct tlsconn *t;
	uint32_t rec;
	uint8_t family;
	uint8_t proto;
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
};

/* The side of c that sent a segment from src:sport to dst:dport, or -1 when it is not c's. */
static int side_of(const struct tls_conn *c, const struct tuple_key *k)
{
	if (c->family != k->family || c->proto != k->proto || c->rec != k->rec)
		return -1;
	if (c->port[0] == k->sport && c->port[1] == k->dport && !memcmp(c->addr[0], k->src, 16) &&
	    !memcmp(c->addr[1], k->dst, 16))
		return 0;
	if (c->port[1] == k->sport && c->port[0] == k->dport && !memcmp(c->addr[1], k->src, 16) &&
	    !memcmp(c->addr[0], k->dst, 16))
		return 1;
	return -1;
}

static bool conn_match(const void *ctx, uint32_t index)
{
	const struct tuple_key *k = ctx;

	return side_of(&k->t->conns[index], k) >= 0;
}

static bool hello_start(const uint8_t *d, uint8_t have, uint8_t type)
{
	return have >= 6 && d[0] == TLS_HANDSHAKE && d[1] == 3 && d[5] == type;
}

/* What the first bytes of the streams say: which side is the client, and is it TLS. */
static void classify(struct tls_conn *c)
{
	const uint8_t *d;
	uint8_t n;

	for (int side = 0; side < 2 && !c->client_known; side++) {
		if (hello_start(c->data[side], c->have[side], TLS_CLIENT_HELLO)) {
			c->client = (uint8_t)side;
			c->client_known = true;
		} else if (hello_start(c->data[side], c->have[side], TLS_SERVER_HELLO)) {
			c->client = (uint8_t)!side;
			c->client_known = true;
		} else if (c->have[side] >= 6) {
			/* No SYN seen, and this side starts no handshake. */
			c->state = TLSCONN_NOT_TLS;
			return;
		}
	}
	if (!c->client_known)
		return;
	d = c->data[c->client];
	n = c->have[c->client];
	if ((n >= 1 && d[0] != TLS_HANDSHAKE) || (n >= 2 && d[1] != 3) ||
	    (n >= 6 && d[5] != TLS_CLIENT_HELLO) || (n >= 10 && d[9] != 3)) {
		c->state = TLSCONN_NOT_TLS;
		return;
	}
	if (n >= 6)
		c->state = TLSCONN_TLS;
	/* The random must be in the first record: a ClientHello fragmented across records is not
	 * read (its next record header would be taken for handshake bytes). */
	if (n >= CLIENT_HELLO_NEED && be16(d + 3) >= CLIENT_HELLO_NEED - 5)
		c->state = TLSCONN_HELLO;
}

/* Put the bytes of data (len of them, at rel in the stream) that follow the *have bytes held in
 * buf (of cap) there. Bytes after a gap, or before the start of the stream, are dropped. */
static void place(uint8_t *buf, uint32_t cap, uint32_t *have, uint32_t rel, const uint8_t *data,
		  uint32_t len)
{
	uint32_t skip, n;

	if (rel > *have)
		return;
	skip = *have - rel;
	if (skip >= len)
		return;
	n = len - skip;
	if (n > cap - *have)
		n = cap - *have;
	memcpy(buf + *have, data + skip, n);
	*have += n;
}

/* The server_name (host_name) and ALPN extensions of the ClientHello in d (len bytes from its
 * record header), as far as they were captured. */
static void parse_hello(struct tls_conn *c, const uint8_t *d, uint32_t len)
{
	const uint8_t *p = d + HELLO_RANDOM + 32, *end = d + len, *ext_end;

	if (len < HELLO_RANDOM + 33)
		return;
	p += 1 + *p; /* session id */
	if (end - p < 2)
		return;
	p += 2 + be16(p); /* cipher suites */
	if (end - p < 1)
		return;
	p += 1 + *p; /* compression methods */
	if (end - p < 2)
		return;
	ext_end = end - p - 2 < be16(p) ? end : p + 2 + be16(p);
	for (p += 2; ext_end - p >= 4; p += 4 + be16(p + 2)) {
		uint16_t type = be16(p), elen = be16(p + 2);
		const uint8_t *e = p + 4;

		if (ext_end - e < elen)
			return;
		if (type == EXT_SERVER_NAME && elen >= 5 && e[2] == 0 && !c->sni) {
			uint16_t n = be16(e + 3);

			if (n > elen - 5 || !(c->sni = malloc((size_t)n + 1)))
				continue;
			for (uint16_t i = 0; i < n; i++)
				c->sni[i] = e[5 + i] > ' ' && e[5 + i] < 0x7f ? (char)e[5 + i] : '?';
			c->sni[n] = '\0';
		} else if (type == EXT_ALPN && elen >= 3 && e[2] && e[2] <= elen - 3) {
			size_t n = e[2] < sizeof(c->alpn) ? e[2] : sizeof(c->alpn) - 1;

			for (size_t i = 0; i < n; i++)
				c->alpn[i] = e[3 + i] > ' ' && e[3 + i] < 0x7f ? (char)e[3 + i] : '?';
			c->alpn[n] = '\0';
		} else if (type == EXT_SESSION_TICKET) {
			session_client_ticket(&c->sess, e, elen);
		}
	}
}

/* Forget c's ClientHello being gathered. */
static void drop_hello(struct tlsconn *t, struct tls_conn *c)
{
	if (c->hello)
		t->hello_bytes -= c->hello_len;
	free(c->hello);
	c->hello = NULL;
}

static void hello_end(struct tlsconn *t, struct tls_conn *c)
{
	drop_hello(t, c);
	c->hello_done = true;
}

/*
 * Gather the client's first record (a ClientHello: classify said so) past the TLSCONN_KEEP bytes
 * kept, up to TLSCONN_HELLO_MAX, and read its extensions once it is whole. Without memory for it
 * (or past the budget) the extensions are not read.
 */
static void gather_hello(struct tlsconn *t, struct tls_conn *c, uint32_t rel,
			 const struct segment *s)
{
	const uint8_t *d = c->data[c->client];
	uint32_t len;

	if (c->hello_done || c->have[c->client] < 5)
		return;
	len = (uint32_t)be16(d + 3) + 5;
	if (len > TLSCONN_HELLO_MAX)
		len = TLSCONN_HELLO_MAX;
	if (len <= c->have[c->client]) {
		parse_hello(c, d, len);
		hello_end(t, c);
		return;
	}
	if (!c->hello) {
		if (t->hello_bytes + len > TLSCONN_HELLO_BUDGET || !(c->hello = malloc(len))) {
			hello_end(t, c);
			return;
		}
		t->hello_bytes += len;
		c->hello_len = len;
		c->hello_have = c->have[c->client];
		memcpy(c->hello, d, c->hello_have);
	}
	place(c->hello, c->hello_len, &c->hello_have, rel, s->data, s->len);
	if (c->hello_have == c->hello_len) {
		parse_hello(c, c->hello, c->hello_len);
		hello_end(t, c);
	}
}

/* Keep what s carries of the first TLSCONN_KEEP bytes of side's stream (and of the client's
 * first record), and walk the server's stream (session.h). */
static void take_data(struct tlsconn *t, struct tls_conn *c, int side, const struct segment *s)
{
	uint32_t seq = s->seq + ((s->flags & TCP_SYN) ? 1 : 0); /* of the first data byte */
	uint32_t rel, have = c->have[side];

	if (!c->have_isn[side]) {
		/* No SYN seen: the stream is taken to start here. */
		c->isn[side] = seq - 1;
		c->have_isn[side] = true;
	}
	rel = seq - (c->isn[side] + 1);
	place(c->data[side], TLSCONN_KEEP, &have, rel, s->data, s->len);
	c->have[side] = (uint8_t)have;
	classify(c);
	if (c->state == TLSCONN_NOT_TLS)
		hello_end(t, c);
	else if (c->client_known && side == c->client && c->state != TLSCONN_UNKNOWN)
		gather_hello(t, c, rel, s);
	else if (c->client_known && side != c->client)
		session_server_data(&c->sess, rel, s->data, s->len);
}

static size_t live_max(const struct tlsconn *t)
{
	return !t->live_max ? TLSCONN_LIVE : t->live_max < 2 ? 2 : t->live_max;
}

/* The bit of stored_bits for a 4-tuple's hash: set once a connection of it went to the store. */
static bool stored_bit(struct tlsconn *t, uint64_t hash, bool set)
{
	uint64_t bit = hash >> 7 & (TLSCONN_STORED_BITS - 1);
	uint8_t mask = (uint8_t)(1u << (bit & 7));
	bool was = t->stored_bits[bit >> 3] & mask;

	if (set)
		t->stored_bits[bit >> 3] |= mask;
	return was;
}

/* The store, opened. 0, -ENOMEM or -EIO. */
static int store(struct tlsconn *t)
{
	if (!t->store && !(t->store = calloc(1, sizeof(*t->store))))
		return -ENOMEM;
	return connstore_open(t->store);
}

/* Index every connection in conns that is the latest of its 4-tuple (once sealed, conns holds one
 * of each). 0 or -ENOMEM. */
static int reindex(struct tlsconn *t)
{
	table_free(&t->index);
	for (size_t i = 0; i < t->n; i++)
		if ((t->sealed || !t->conns[i].superseded) &&
		    table_add(&t->index, conn_rehash(t, (uint32_t)i), (uint32_t)i, conn_rehash, t))
			return -ENOMEM;
	return 0;
}

struct seen {
	uint64_t seen;
	uint32_t i;
};

static int by_seen(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;

	if (x->seen != y->seen)
		return x->seen < y->seen ? -1 : 1;
	return (x->i > y->i) - (x->i < y->i);
}

/* Room in conns for one more connection: when it is full, the half seen least recently goes (to
 * the store, until sealed). 0, -ENOMEM or -EIO. */
static int make_room(struct tlsconn *t)
{
	struct seen *order = (struct seen *)t->scratch;
	size_t go = t->n / 2, kept = 0;
	int ret = 0;

	if (t->n < live_max(t))
		return array_reserve(&t->conns, &t->cap, t->n + 1, sizeof(*t->conns), 64);
	if (!order && !(order = malloc(live_max(t) * sizeof(*order))))
		return -ENOMEM;
	t->scratch = (uint64_t *)order;
	if (!t->sealed && !t->stored_bits &&
	    !(t->stored_bits = calloc(TLSCONN_STORED_BITS / 8, 1)))
		return -ENOMEM;
	if (!t->sealed)
		ret = store(t);
	for (size_t i = 0; i < t->n; i++)
		order[i] = (struct seen){ .seen = t->conns[i].seen, .i = (uint32_t)i };
	qsort(order, t->n, sizeof(*order), by_seen);
	for (size_t k = 0; !ret && k < go; k++) {
		struct tls_conn *c = &t->conns[order[k].i];

		if (!t->sealed) {
			ret = connstore_put(t->store, c);
			stored_bit(t, conn_rehash(t, order[k].i), true);
			t->stored++;
		}
		free(c->sni);
		drop_hello(t, c);
		c->sni = NULL;
		c->id = UINT64_MAX; /* gone */
	}
	if (ret)
		return ret;
	for (size_t i = 0; i < t->n; i++)
		if (t->conns[i].id != UINT64_MAX)
			t->conns[kept++] = t->conns[i];
	t->n = kept;
	return reindex(t);
}

/* Append c (from the store, whose memory conns now owns) to conns and index it. */
static int64_t take_back(struct tlsconn *t, struct tls_conn *c, uint64_t hash)
{
	int ret = make_room(t);

	if (ret) {
		free(c->sni);
		free(c->hello);
		return ret;
	}
	if (c->hello) {
		if (t->hello_bytes + c->hello_len <= TLSCONN_HELLO_BUDGET) {
			t->hello_bytes += c->hello_len;
		} else {
			free(c->hello);
			c->hello = NULL;
			c->hello_done = true; /* its extensions are not read */
		}
	}
	t->conns[t->n++] = *c;
	if (table_add(&t->index, hash, (uint32_t)(t->n - 1), conn_rehash, t))
		return -ENOMEM;
	return (int64_t)(t->n - 1);
}

/* While adding: the latest connection of k's 4-tuple, brought back from the store when it went
 * there: its index in conns, -1 when there is none, or -errno. */
static int64_t latest(struct tlsconn *t, const struct tuple_key *k, uint64_t hash)
{
	uint8_t tuple[TLSCONN_TUPLE_LEN];
	struct tls_conn c;
	int64_t i = table_find(&t->index, hash, conn_match, k);
	int ret;

	if (i >= 0 || !t->stored || !stored_bit(t, hash, false))
		return i;
	tuple_bytes(k->rec, k->family, k->proto, k->src, k->sport, k->dst, k->dport, tuple);
	ret = connstore_get(t->store, tuple, UINT64_MAX, &c);
	if (ret <= 0)
		return ret < 0 ? ret : -1;
	return take_back(t, &c, hash);
}

/* A new connection whose first packet (number index) went from k's src to its dst, the latest of
 * its 4-tuple (an earlier one is marked superseded). 0, -ENOMEM or -EIO. */
static int add_conn(struct tlsconn *t, const struct tuple_key *k, uint64_t hash, uint64_t index,
		    struct tls_conn **out)
{
	struct tls_conn *c;
	uint32_t *slot;
	int ret = make_room(t);

	if (ret)
		return ret;
	c = &t->conns[t->n++];
	memset(c, 0, sizeof(*c));
	c->id = t->count++;
	c->first_packet = index;
	c->seen = index;
	c->rec = k->rec;
	c->family = k->family;
	c->proto = k->proto;
	memcpy(c->addr[0], k->src, 16);
	memcpy(c->addr[1], k->dst, 16);
	c->port[0] = k->sport;
	c->port[1] = k->dport;
	*out = c;
	slot = table_find_slot(&t->index, hash, conn_match, k);
	if (slot) {
		*slot = (uint32_t)t->n; /* index + 1 */
		return 0;
	}
	return table_add(&t->index, hash, (uint32_t)(t->n - 1), conn_rehash, t);
}

/* The latest connection of k's 4-tuple (i, or none when -1) is followed by one that starts at
 * packet index. */
static void supersede(struct tlsconn *t, int64_t i, uint64_t index)
{
	if (i >= 0) {
		t->conns[i].superseded = true;
		t->conns[i].next_packet = index;
	}
}

static uint8_t flags_of(uint8_t tcp)
{
	uint8_t f = 0;

	if (tcp & TCP_SYN)
		f |= (tcp & TCP_ACK) ? TLSCONN_F_SYNACK : TLSCONN_F_SYN;
	if (tcp & TCP_FIN)
		f |= TLSCONN_F_FIN;
	if (tcp & TCP_RST)
		f |= TLSCONN_F_RST;
	return f;
}

/* Dissect p into s, and fill k (whose table and recording are set) and its hash. false when p is
 * no TCP or UDP packet. */
static bool packet_key(const struct tlsconn_pkt *p, struct segment *s, struct tuple_key *k,
		       uint64_t *hash)
{
	if (!parse_frame(p->linktype, p->frame, p->caplen, s))
		return false;
	k->family = s->family;
	k->proto = s->proto;
	memcpy(k->src, s->src, s->addr_len);
	memcpy(k->dst, s->dst, s->addr_len);
	k->sport = s->sport;
	k->dport = s->dport;
	*hash = tuple_hash(k->rec, k->family, k->proto, k->src, k->sport, k->dst, k->dport);
	return true;
}

int tlsconn_add(struct tlsconn *t, const struct tlsconn_pkt *p, struct tls_conn **conn,
		int *side_out)
{
	struct tuple_key k = { .t = t, .rec = p->rec };
	struct tls_conn *c = NULL;
	struct segment s;
	uint64_t hash;
	int64_t i;
	int side;

	if (t->sealed)
		return -EINVAL;
	if (!packet_key(p, &s, &k, &hash))
		return 0;
	i = latest(t, &k, hash);
	if (i < -1)
		return (int)i;
	if (i >= 0) {
		c = &t->conns[i];
		side = side_of(c, &k);
		/* A SYN that is not a retransmission of the one seen: the 4-tuple is reused. */
		if ((s.flags & (TCP_SYN | TCP_ACK)) == TCP_SYN &&
		    !(c->syn[side] && c->isn[side] == s.seq)) {
			supersede(t, i, p->index);
			c = NULL;
		}
	}
	if (!c) {
		int ret = add_conn(t, &k, hash, p->index, &c);

		if (ret)
			return ret;
		c->first_wall = p->wall;
	}
	c->seen = p->index;
	side = side_of(c, &k);
	if (p->wall < c->first_wall)
		c->first_wall = p->wall;
	if (p->wall > c->last_wall)
		c->last_wall = p->wall;
	c->packets[side]++;
	c->bytes[side] += p->wire_len;
	c->flags[side] |= flags_of(s.flags);
	c->egress[side] |= p->egress;
	if (!c->cookie[side])
		c->cookie[side] = p->cookie;
	if (!c->netns[0])
		c->netns[0] = p->netns;
	else if (!c->netns[1] && p->netns != c->netns[0])
		c->netns[1] = p->netns;
	if ((s.flags & TCP_SYN) && !c->syn[side]) {
		if (c->have_isn[side] && c->isn[side] != s.seq)
			c->have[side] = 0; /* the guess from a data segment was wrong */
		c->isn[side] = s.seq;
		c->have_isn[side] = c->syn[side] = true;
		if (!c->client_known) {
			c->client = (uint8_t)((s.flags & TCP_ACK) ? !side : side);
			c->client_known = true;
		}
	}
	if (s.len && !c->resumed && c->state != TLSCONN_NOT_TLS &&
	    (c->have[side] < TLSCONN_KEEP || c->hello ||
	     (c->client_known && side != c->client && c->sess.walk == SESSION_WALKING)))
		take_data(t, c, side, &s);
	*conn = c;
	*side_out = side;
	return 1;
}

int tlsconn_packet(struct tlsconn *t, uint16_t linktype, const uint8_t *frame, uint32_t caplen,
		   uint64_t index)
{
	struct tlsconn_pkt p = { .index = index, .frame = frame, .caplen = caplen,
				 .wire_len = caplen, .linktype = linktype };
	struct tls_conn *conn;
	int side, ret = tlsconn_add(t, &p, &conn, &side);

	return ret < 0 ? ret : 0;
}

int tlsconn_resume(struct tlsconn *t, const struct tls_conn *from, struct tls_conn **out)
{
	struct tuple_key k = { .t = t, .rec = from->rec, .family = from->family,
			       .proto = from->proto, .sport = from->port[0], .dport = from->port[1] };
	struct tls_conn *c;
	uint64_t hash;
	int64_t i;
	int ret;

	if (t->sealed)
		return -EINVAL;
	memcpy(k.src, from->addr[0], 16);
	memcpy(k.dst, from->addr[1], 16);
	hash = tuple_hash(k.rec, k.family, k.proto, k.src, k.sport, k.dst, k.dport);
	i = latest(t, &k, hash);
	if (i < -1)
		return (int)i;
	supersede(t, i, from->first_packet);
	ret = add_conn(t, &k, hash, from->first_packet, &c);
	if (ret)
		return ret;
	c->first_wall = from->first_wall;
	c->last_wall = from->last_wall;
	for (int s = 0; s < 2; s++) {
		c->packets[s] = from->packets[s];
		c->bytes[s] = from->bytes[s];
		c->flags[s] = from->flags[s];
		c->syn[s] = from->syn[s];
		c->egress[s] = from->egress[s];
		c->cookie[s] = from->cookie[s];
		c->netns[s] = from->netns[s];
	}
	c->client = from->client;
	c->client_known = from->client_known;
	c->state = from->state;
	c->resumed = true;
	c->hello_done = true;
	*out = c;
	return 0;
}

int tlsconn_seal(struct tlsconn *t)
{
	int ret = t->sealed ? 0 : store(t);

	for (size_t i = 0; !ret && !t->sealed && i < t->n; i++)
		ret = connstore_put(t->store, &t->conns[i]);
	if (ret || t->sealed)
		return ret;
	for (size_t i = 0; i < t->n; i++) {
		free(t->conns[i].sni);
		drop_hello(t, &t->conns[i]);
	}
	t->n = 0;
	table_free(&t->index);
	free(t->stored_bits);
	t->stored_bits = NULL;
	t->sealed = true;
	return 0;
}

int tlsconn_each(struct tlsconn *t, int (*fn)(void *ctx, const struct tls_conn *c), void *ctx)
{
	int ret = tlsconn_seal(t);

	return ret ? ret : connstore_each(t->store, fn, ctx);
}

/* The key of c's 4-tuple, and its hash. */
static uint64_t conn_key(struct tlsconn *t, const struct tls_conn *c, struct tuple_key *k)
{
	*k = (struct tuple_key){ .t = t, .rec = c->rec, .family = c->family, .proto = c->proto,
				 .sport = c->port[0], .dport = c->port[1] };
	memcpy(k->src, c->addr[0], 16);
	memcpy(k->dst, c->addr[1], 16);
	return tuple_hash(k->rec, k->family, k->proto, k->src, k->sport, k->dst, k->dport);
}

/* Once sealed: got (read back: its sni is conns' now) in conns, as the connection its 4-tuple
 * finds. 0 with *out, -ENOMEM. */
static int keep_found(struct tlsconn *t, struct tls_conn *got, struct tls_conn **out)
{
	struct tuple_key k;
	uint64_t hash = conn_key(t, got, &k);
	uint32_t *slot = table_find_slot(&t->index, hash, conn_match, &k);
	int ret;

	free(got->hello);
	got->hello = NULL;
	got->memo_set = false;
	memset(got->memo, 0, sizeof(got->memo));
	if (slot) {
		*out = &t->conns[*slot - 1];
		free((*out)->sni);
		**out = *got;
		return 0;
	}
	ret = make_room(t);
	if (ret) {
		free(got->sni);
		return ret;
	}
	*out = &t->conns[t->n++];
	**out = *got;
	return table_add(&t->index, hash, (uint32_t)(t->n - 1), conn_rehash, t);
}

/* Once sealed: the connections that start at or before packet index, read from the store in
 * order as the packets come, so that each is read once. 0, -ENOMEM or -EIO. */
static int read_ahead(struct tlsconn *t, uint64_t index)
{
	struct tls_conn *c;
	int ret;

	for (;;) {
		if (!t->have_ahead) {
			ret = t->ahead_done ? 0 : connstore_next(t->store, &t->ahead);
			if (ret <= 0) {
				t->ahead_done = true;
				return ret;
			}
			t->have_ahead = true;
		}
		if (t->ahead.first_packet > index)
			return 0;
		t->have_ahead = false;
		t->ahead.seen = t->ahead.first_packet;
		ret = keep_found(t, &t->ahead, &c);
		if (ret)
			return ret;
	}
}

int tlsconn_find(struct tlsconn *t, const struct tlsconn_pkt *p, struct tls_conn **conn,
		 int *side)
{
	struct tuple_key k = { .t = t, .rec = p->rec };
	uint8_t tuple[TLSCONN_TUPLE_LEN];
	struct tls_conn *c = NULL, got;
	struct segment s;
	uint32_t *slot;
	uint64_t hash;
	int ret = tlsconn_seal(t);

	if (ret || !packet_key(p, &s, &k, &hash))
		return ret;
	ret = read_ahead(t, p->index);
	if (ret)
		return ret;
	slot = table_find_slot(&t->index, hash, conn_match, &k);
	if (slot)
		c = &t->conns[*slot - 1];
	if (!c || c->first_packet > p->index || (c->superseded && c->next_packet <= p->index)) {
		/* Not read ahead: packets given out of order, or it was pushed out. */
		tuple_bytes(k.rec, k.family, k.proto, k.src, k.sport, k.dst, k.dport, tuple);
		ret = connstore_get(t->store, tuple, p->index, &got);
		if (ret <= 0 || (ret = keep_found(t, &got, &c)))
			return ret;
	}
	c->seen = p->index;
	*conn = c;
	*side = side_of(c, &k);
	return 1;
}

/* Stream state, version 2: the version byte; per side (the given one first) isn (4 bytes, big
 * endian), have_isn, have, then have bytes of data; a byte of flags (1: hello_done, 2: a
 * ClientHello being gathered); when gathered, its length and bytes held (2 bytes each) and those
 * bytes; then the walk of the server's stream (session_save's SESSION_STATE_LEN bytes). Version 1
 * (an older tlsasm's) ends before the walk. */
#define STREAM_V1 1
#define STREAM_V2 2

/* Whether the walk of c's server stream still looks for a TLS 1.2 handshake's sessions. */
static bool walking(const struct tls_conn *c)
{
	uint16_t v = tlsconn_version(c);

	return v >= 0x0300 && v <= 0x0303 && c->sess.walk == SESSION_WALKING;
}

int tlsconn_stream_save(const struct tls_conn *c, int side, bool keep, uint8_t **out, size_t *len)
{
	size_t n = 1 + 2 * (6 + TLSCONN_KEEP) + 1 + 4 + (c->hello ? c->hello_have : 0) +
		   SESSION_STATE_LEN;
	uint8_t *p;

	*out = NULL;
	*len = 0;
	if (c->resumed || c->state == TLSCONN_NOT_TLS ||
	    (!keep && c->hello_done && c->state == TLSCONN_HELLO && tlsconn_version(c) &&
	     !walking(c)))
		return 0;
	if (!(p = malloc(n)))
		return -ENOMEM;
	*out = p;
	*p++ = STREAM_V2;
	for (int k = 0; k < 2; k++) {
		int s = k ? !side : side;

		*p++ = (uint8_t)(c->isn[s] >> 24);
		*p++ = (uint8_t)(c->isn[s] >> 16);
		*p++ = (uint8_t)(c->isn[s] >> 8);
		*p++ = (uint8_t)c->isn[s];
		*p++ = c->have_isn[s];
		*p++ = c->have[s];
		memcpy(p, c->data[s], c->have[s]);
		p += c->have[s];
	}
	*p++ = (uint8_t)((c->hello_done ? 1 : 0) | (c->hello ? 2 : 0));
	if (c->hello) {
		*p++ = (uint8_t)(c->hello_len >> 8);
		*p++ = (uint8_t)c->hello_len;
		*p++ = (uint8_t)(c->hello_have >> 8);
		*p++ = (uint8_t)c->hello_have;
		memcpy(p, c->hello, c->hello_have);
		p += c->hello_have;
	}
	session_save(&c->sess, p);
	p += SESSION_STATE_LEN;
	*len = (size_t)(p - *out);
	return 1;
}

int tlsconn_stream_restore(struct tlsconn *t, struct tls_conn *c, const uint8_t *blob,
			   size_t len)
{
	const uint8_t *p = blob, *end = blob + len;
	uint32_t isn[2], hlen = 0, hhave = 0;
	uint8_t have[2], flags, version;
	const uint8_t *data[2], *hello = NULL;
	struct tls_session sess;

	if (!blob || len < 1 || (*p != STREAM_V1 && *p != STREAM_V2))
		return -EINVAL;
	version = *p++;
	for (int s = 0; s < 2; s++) {
		if (end - p < 6 || p[5] > TLSCONN_KEEP || end - p - 6 < p[5])
			return -EINVAL;
		isn[s] = be32(p);
		have[s] = p[5];
		data[s] = p + 6;
		if (!p[4] && have[s])
			return -EINVAL;
		p += 6 + have[s];
	}
	if (end - p < 1)
		return -EINVAL;
	flags = *p++;
	if (flags & 2) {
		if (end - p < 4)
			return -EINVAL;
		hlen = be16(p);
		hhave = be16(p + 2);
		hello = p + 4;
		if (hlen > TLSCONN_HELLO_MAX || hhave > hlen || (uint32_t)(end - hello) < hhave)
			return -EINVAL;
		p = hello + hhave;
	}
	if (version == STREAM_V2 &&
	    (end - p != SESSION_STATE_LEN || session_restore(&sess, p)))
		return -EINVAL;
	if (hello) {
		if (t->hello_bytes + hlen <= TLSCONN_HELLO_BUDGET && (c->hello = malloc(hlen))) {
			memcpy(c->hello, hello, hhave);
			c->hello_len = hlen;
			c->hello_have = hhave;
			t->hello_bytes += hlen;
		} else {
			flags |= 1; /* its extensions are not read */
		}
	}
	for (int s = 0; s < 2; s++) {
		c->isn[s] = isn[s];
		c->have_isn[s] = blob[1 + (s ? 6 + have[0] : 0) + 4];
		c->have[s] = have[s];
		memcpy(c->data[s], data[s], have[s]);
	}
	c->hello_done = (flags & 1) && !c->hello;
	if (version == STREAM_V2)
		c->sess = sess;
	c->resumed = false;
	return 0;
}

int tlsconn_client_side(const struct tls_conn *c)
{
	return c->client_known ? c->client : 0;
}

const char *tlsconn_conn_state(const struct tls_conn *c)
{
	int o = tlsconn_client_side(c);
	uint8_t fo = c->flags[o], fr = c->flags[!o];

	if (c->proto == IPPROTO_UDP)
		return c->packets[0] && c->packets[1] ? "SF" : "S0";
	if ((fo & TLSCONN_F_SYN) && !(fr & TLSCONN_F_SYNACK)) {
		if (fr & TLSCONN_F_RST)
			return "REJ";
		if (fo & TLSCONN_F_RST)
			return "RSTOS0";
		if (fo & TLSCONN_F_FIN)
			return "SH";
		return "S0";
	}
	if (!(fo & TLSCONN_F_SYN) && (fr & TLSCONN_F_SYNACK)) {
		if (fr & TLSCONN_F_RST)
			return "RSTRH";
		if (fr & TLSCONN_F_FIN)
			return "SHR";
		return "OTH";
	}
	if (!(fo & TLSCONN_F_SYN))
		return "OTH";
	if (fo & TLSCONN_F_RST)
		return "RSTO";
	if (fr & TLSCONN_F_RST)
		return "RSTR";
	if ((fo & TLSCONN_F_FIN) && (fr & TLSCONN_F_FIN))
		return "SF";
	if (fo & TLSCONN_F_FIN)
		return "S2";
	if (fr & TLSCONN_F_FIN)
		return "S3";
	return "S1";
}

const uint8_t *tlsconn_client_random(const struct tls_conn *c)
{
	/* A connection taken up again from an index (tlsconn_resume) has the state, not the bytes. */
	return c->state == TLSCONN_HELLO && c->have[c->client] >= CLIENT_HELLO_NEED ?
		       c->data[c->client] + HELLO_RANDOM :
		       NULL;
}

uint16_t tlsconn_version(const struct tls_conn *c)
{
	const uint8_t *d = c->data[!c->client];
	uint8_t n = c->have[!c->client], sid;

	if (!c->client_known || !hello_start(d, n, TLS_SERVER_HELLO) || n < HELLO_RANDOM + 33)
		return 0;
	sid = d[HELLO_RANDOM + 32];
	if (sid > 32 || n < HELLO_RANDOM + 33 + sid + 2)
		return 0;
	if (d[HELLO_RANDOM + 33 + sid] == 0x13) /* TLS_AES_128_GCM_SHA256 and the others of 1.3 */
		return 0x0304;
	return be16(d + 9);
}

/* The session ID of side's hello, as far as it was kept: its length (at most 32), 0 for none. */
static uint8_t hello_sid(const struct tls_conn *c, int side, const uint8_t **sid)
{
	const uint8_t *d = c->data[side];
	uint8_t n = c->have[side], len;

	if (n < HELLO_RANDOM + 33)
		return 0;
	len = d[HELLO_RANDOM + 32];
	if (len > 32 || n < HELLO_RANDOM + 33 + len)
		return 0;
	*sid = d + HELLO_RANDOM + 33;
	return len;
}

bool tlsconn_abbreviated(const struct tls_conn *c)
{
	uint16_t v = tlsconn_version(c);
	const uint8_t *a, *b;
	uint8_t n;

	if (v < 0x0300 || v > 0x0303 || c->state != TLSCONN_HELLO || c->sess.full)
		return false;
	if (c->sess.abbreviated)
		return true;
	n = hello_sid(c, !c->client, &b);
	return n && hello_sid(c, c->client, &a) == n && !memcmp(a, b, n);
}

bool tlsconn_resumption_confirmed(const struct tls_conn *c)
{
	return c->sess.confirmed && tlsconn_abbreviated(c);
}

size_t tlsconn_session(const struct tls_conn *c, int which, uint8_t out[SESSION_KEY_MAX])
{
	uint8_t server[SESSION_SERVER_LEN];
	const uint8_t *sid;
	uint8_t n;
	int side = !c->client;

	if (!c->client_known)
		return 0;
	server[0] = c->family;
	memcpy(server + 1, c->addr[side], 16);
	server[17] = (uint8_t)(c->port[side] >> 8);
	server[18] = (uint8_t)c->port[side];
	switch (which) {
	case 0:
		return session_key_ticket(server, &c->sess.sent, out);
	case 2:
		return session_key_ticket(server, &c->sess.got, out);
	default:
		n = hello_sid(c, which == 1 ? c->client : side, &sid);
		return n ? session_key_id(server, sid, n, out) : 0;
	}
}

static void format_endpoint(char *buf, size_t size, uint8_t family, const uint8_t *addr,
			    uint16_t port)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, a, sizeof(a));
	snprintf(buf, size, family == 4 ? "%s:%u" : "[%s]:%u", a, port);
}

const char *tlsconn_version_name(uint16_t version)
{
	switch (version) {
	case 0x0304:
		return "1.3";
	case 0x0303:
		return "1.2";
	case 0x0302:
		return "1.1";
	case 0x0301:
		return "1.0";
	default:
		return NULL;
	}
}

void tlsconn_format(const struct tls_conn *c, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN + 8], b[INET6_ADDRSTRLEN + 8];
	int client = tlsconn_client_side(c);

	format_endpoint(a, sizeof(a), c->family, c->addr[client], c->port[client]);
	format_endpoint(b, sizeof(b), c->family, c->addr[!client], c->port[!client]);
	snprintf(buf, size, "%s -> %s", a, b);
}

void tlsconn_free(struct tlsconn *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->conns[i].sni);
		free(t->conns[i].hello);
	}
	free(t->conns);
	table_free(&t->index);
	free(t->scratch);
	free(t->stored_bits);
	if (t->have_ahead)
		free(t->ahead.sni);
	if (t->store)
		connstore_close(t->store);
	free(t->store);
	memset(t, 0, sizeof(*t));
}

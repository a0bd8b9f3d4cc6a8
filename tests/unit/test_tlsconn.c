// SPDX-License-Identifier: BSD-2-Clause
/*
 * TCP connections and ClientHellos from packets (assemble/tlsconn.c), built here byte by byte:
 * Ethernet with and without 802.1Q/802.1ad tags, raw IP, IPv4 and IPv6 (with extension headers);
 * a ClientHello in one segment, split across segments, retransmitted, out of order, cut by the
 * snapshot length, or in the SYN (TCP Fast Open); a 4-tuple reused by a new connection; a capture
 * that starts after the SYN; connections that are not TLS; Ethernet padding that looks like TLS;
 * TLS 1.2 session resumption, by ticket and by session ID, on real handshakes that OpenSSL makes
 * in memory (its own view of the session is the truth); then random frames, which must not crash
 * anything.
 */
#include <arpa/inet.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "check.h"
#include "tlsconn.h"
#include "util.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_PSH 0x08
#define TCP_ACK 0x10

enum link {
	ETH,      /* Ethernet, no tag in the data (as when the driver took the tag out) */
	ETH_VLAN, /* 802.1Q tag in the data */
	ETH_QINQ, /* 802.1ad outer and 802.1Q inner tags */
	RAW,      /* LINKTYPE_RAW */
};

/* The tracker under test, and the number of the next packet given to it. */
static struct tlsconn T;
static uint64_t next_index;

/* Frames fed, by number, while kept is set: for tlsconn_find (reset frees them). */
#define FED_MAX 2048
static bool kept;
static uint8_t *fed[FED_MAX];
static size_t fed_len[FED_MAX];

static void reset(void)
{
	tlsconn_free(&T);
	for (size_t i = 0; i < next_index && i < FED_MAX; i++) {
		free(fed[i]);
		fed[i] = NULL;
	}
	next_index = 0;
	kept = false;
}

/* One TCP connection being played: the client is side 0. */
struct play {
	enum link link;
	int family;
	uint8_t addr[2][16];
	uint16_t port[2];
	uint32_t next[2]; /* sequence number of each side's next byte */
	uint32_t cut;     /* captured length limit, 0 for none */
	bool ext_headers; /* IPv6: hop-by-hop and destination options before TCP */
};

static void play_init(struct play *p, int family, enum link link, uint16_t cport)
{
	memset(p, 0, sizeof(*p));
	p->family = family;
	p->link = link;
	if (family == 4) {
		inet_pton(AF_INET, "10.0.0.1", p->addr[0]);
		inet_pton(AF_INET, "10.0.0.2", p->addr[1]);
	} else {
		inet_pton(AF_INET6, "2001:db8::1", p->addr[0]);
		inet_pton(AF_INET6, "2001:db8::2", p->addr[1]);
	}
	p->port[0] = cport;
	p->port[1] = 443;
	p->next[0] = 0x10000000u + cport;
	p->next[1] = 0xfffffff0u; /* the server's sequence numbers wrap */
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	put_be16(p, (uint16_t)(v >> 16));
	return put_be16(p + 2, (uint16_t)v);
}

/* Give the tracker n bytes of frame, copied to a buffer of exactly that size: ASan sees any read
 * past the captured bytes. */
static void feed(uint16_t linktype, const uint8_t *frame, size_t n)
{
	uint8_t *copy = malloc(n ? n : 1);

	if (!CHECK(copy != NULL))
		return;
	memcpy(copy, frame, n);
	CHECK_EQ_INT(tlsconn_packet(&T, linktype, copy, (uint32_t)n, next_index), 0);
	if (kept && CHECK(next_index < FED_MAX)) {
		fed[next_index] = copy;
		fed_len[next_index] = n;
	} else {
		free(copy);
	}
	next_index++;
}

/* tlsconn_find of the frame fed as number i: its connection's id, or -1. */
static int64_t find_fed(uint64_t i)
{
	struct tlsconn_pkt pkt = { .index = i, .frame = fed[i], .caplen = (uint32_t)fed_len[i],
				   .linktype = LINKTYPE_ETHERNET };
	struct tls_conn *conn;
	int side;

	return tlsconn_find(&T, &pkt, &conn, &side) == 1 ? (int64_t)conn->id : -1;
}

/* Every connection, as tlsconn_each gives them (sealing T), into all[] by id. */
static struct tls_conn *all;
static size_t nall;

static int collect(void *ctx, const struct tls_conn *c)
{
	struct tls_conn *more = realloc(all, (nall + 1) * sizeof(*all));

	(void)ctx;
	if (!more)
		return -ENOMEM;
	all = more;
	all[nall] = *c;
	all[nall++].sni = NULL;
	return 0;
}

static size_t collect_all(void)
{
	free(all);
	all = NULL;
	nall = 0;
	CHECK_EQ_INT(tlsconn_each(&T, collect, NULL), 0);
	for (size_t i = 0; i < nall; i++)
		CHECK_EQ_U64(all[i].id, i);
	return nall;
}

/*
 * Build the frame of a segment from side with seq and flags carrying len bytes of data, and feed
 * it to the tracker as the next packet. Ethernet frames are padded to 60 bytes with bytes that
 * look like a TLS handshake, which must not be taken for data.
 */
static void send_seg(struct play *p, int side, uint32_t seq, uint8_t flags, const uint8_t *data,
		     size_t len)
{
	static uint8_t f[4096];
	uint8_t *q = f, *ip, *tcp;
	size_t ext = p->family == 6 && p->ext_headers ? 16 : 0;
	size_t iplen = (p->family == 4 ? 20 : 40) + ext + 20 + len, n;
	uint16_t linktype = p->link == RAW ? LINKTYPE_RAW : LINKTYPE_ETHERNET;

	if (!CHECK(len < 3000))
		return;
	if (p->link != RAW) {
		memcpy(q, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
		q += 12;
		if (p->link == ETH_QINQ) {
			q = put_be16(q, 0x88a8);
			q = put_be16(q, 100);
		}
		if (p->link == ETH_VLAN || p->link == ETH_QINQ) {
			q = put_be16(q, 0x8100);
			q = put_be16(q, 7);
		}
		q = put_be16(q, p->family == 4 ? 0x0800 : 0x86dd);
	}
	ip = q;
	if (p->family == 4) {
		ip[0] = 0x45;
		ip[1] = 0;
		put_be16(ip + 2, (uint16_t)iplen);
		put_be16(ip + 4, 1);
		put_be16(ip + 6, 0x4000); /* DF */
		ip[8] = 64;
		ip[9] = IPPROTO_TCP;
		put_be16(ip + 10, 0);
		memcpy(ip + 12, p->addr[side], 4);
		memcpy(ip + 16, p->addr[!side], 4);
		tcp = ip + 20;
	} else {
		put32(ip, 0x60000000);
		put_be16(ip + 4, (uint16_t)(iplen - 40));
		ip[6] = ext ? IPPROTO_HOPOPTS : IPPROTO_TCP;
		ip[7] = 64;
		memcpy(ip + 8, p->addr[side], 16);
		memcpy(ip + 24, p->addr[!side], 16);
		tcp = ip + 40;
		if (ext) {
			/* Hop-by-hop options (8 bytes, PadN), then destination options. */
			memcpy(tcp, "\x3c\x00\x01\x04\x00\x00\x00\x00", 8);
			memcpy(tcp + 8, "\x06\x00\x01\x04\x00\x00\x00\x00", 8);
			tcp += 16;
		}
	}
	put_be16(tcp, p->port[side]);
	put_be16(tcp + 2, p->port[!side]);
	put32(tcp + 4, seq);
	put32(tcp + 8, (flags & TCP_ACK) ? p->next[!side] : 0);
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	put_be16(tcp + 14, 65535);
	put32(tcp + 16, 0);
	if (len)
		memcpy(tcp + 20, data, len);
	n = (size_t)(tcp + 20 + len - f);
	if (p->link != RAW && n < 60) {
		memset(f + n, 0x16, 60 - n);
		f[n + 1 < 60 ? n + 1 : n] = 0x03;
		n = 60;
	}
	if (p->cut && n > p->cut)
		n = p->cut;
	feed(linktype, f, n);
}

/* The next segment of side's stream (advancing it). */
static void send_data(struct play *p, int side, const uint8_t *data, size_t len)
{
	send_seg(p, side, p->next[side], TCP_ACK | TCP_PSH, data, len);
	p->next[side] += (uint32_t)len;
}

static void handshake(struct play *p)
{
	send_seg(p, 0, p->next[0]++, TCP_SYN, NULL, 0);
	send_seg(p, 1, p->next[1]++, TCP_SYN | TCP_ACK, NULL, 0);
	send_seg(p, 0, p->next[0], TCP_ACK, NULL, 0);
}

static void random_of(uint8_t r[32], uint8_t seed)
{
	for (int i = 0; i < 32; i++)
		r[i] = (uint8_t)(seed * 31 + i * 7);
}

/* The connection whose first packet is number first. */
static const struct tls_conn *conn_at(uint64_t first)
{
	for (size_t i = 0; i < T.n; i++)
		if (T.conns[i].first_packet == first)
			return &T.conns[i];
	check_failed(__FILE__, __LINE__, "no connection starts at packet %" PRIu64, first);
	return NULL;
}

/* c read the ClientHello with random cr, names its ends as want, chose version. */
static void check_conn(const struct tls_conn *c, const uint8_t cr[32], const char *want,
		       uint16_t version)
{
	const uint8_t *got;
	char addrs[128];

	if (!c)
		return;
	got = tlsconn_client_random(c);
	if (CHECK_MSG(got != NULL, "no client random, state %u", c->state))
		CHECK_MEM(got, cr, 32);
	CHECK_EQ_U64(c->state, TLSCONN_HELLO);
	tlsconn_format(c, addrs, sizeof(addrs));
	CHECK_MSG(!strcmp(addrs, want), "\"%s\", want \"%s\"", addrs, want);
	CHECK_EQ_U64(tlsconn_version(c), version);
}

/* A whole TLS 1.3 exchange in p: handshake, ClientHello, ServerHello, some data, FIN. */
static void exchange(struct play *p, uint8_t seed, uint16_t cipher)
{
	uint8_t rec[256], r[32];
	size_t n;

	handshake(p);
	random_of(r, seed);
	n = tls_hello_record(rec, 1, r, cipher);
	send_data(p, 0, rec, n);
	send_seg(p, 1, p->next[1], TCP_ACK, NULL, 0);
	random_of(r, (uint8_t)(seed + 100));
	n = tls_hello_record(rec, 2, r, cipher);
	send_data(p, 1, rec, n);
	send_data(p, 1, (const uint8_t *)"\x17\x03\x03\x00\x05hello", 10);
	send_data(p, 0, (const uint8_t *)"\x17\x03\x03\x00\x05world", 10);
	send_seg(p, 0, p->next[0]++, TCP_FIN | TCP_ACK, NULL, 0);
	send_seg(p, 1, p->next[1]++, TCP_FIN | TCP_ACK, NULL, 0);
}

static void check_one(const char *addrs, uint8_t seed, uint16_t version)
{
	uint8_t r[32];

	random_of(r, seed);
	if (CHECK_EQ_U64(T.n, 1))
		check_conn(conn_at(0), r, addrs, version);
	reset();
}

/* IPv4 and IPv6, every link layer, TLS 1.3 and TLS 1.2. */
static void test_links(void)
{
	static const char *const names[] = { "Ethernet", "802.1Q", "802.1ad", "raw IP" };
	struct play p;

	for (int l = ETH; l <= RAW; l++) {
		check_ctx("IPv4, %s", names[l]);
		play_init(&p, 4, (enum link)l, 52344);
		exchange(&p, 1, 0x1301);
		check_one("10.0.0.1:52344 -> 10.0.0.2:443", 1, 0x0304);
		check_ctx("IPv6, %s", names[l]);
		play_init(&p, 6, (enum link)l, 52345);
		exchange(&p, 2, 0x1302);
		check_one("[2001:db8::1]:52345 -> [2001:db8::2]:443", 2, 0x0304);
	}
	check_ctx("IPv6 with extension headers");
	play_init(&p, 6, ETH, 40000);
	p.ext_headers = true;
	exchange(&p, 3, 0x1301);
	check_one("[2001:db8::1]:40000 -> [2001:db8::2]:443", 3, 0x0304);
	check_ctx("TLS 1.2");
	play_init(&p, 4, ETH, 40001);
	exchange(&p, 4, 0xc02f);
	check_one("10.0.0.1:40001 -> 10.0.0.2:443", 4, 0x0303);
	check_ctx("%s", "");
}

/* The ClientHello in pieces: 1, 2, 10 and the rest; and with a retransmitted middle piece. */
static void test_split_hello(void)
{
	static const size_t cuts[][3] = { { 1, 2, 10 }, { 5, 6, 40 }, { 42, 1, 1 } };
	uint8_t rec[256], r[32];
	char want[64];
	struct play p;
	size_t n;

	for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
		size_t off = 0;

		check_ctx("pieces of %zu, %zu, %zu and the rest", cuts[c][0], cuts[c][1],
			  cuts[c][2]);
		play_init(&p, 4, ETH, (uint16_t)(50000 + c));
		handshake(&p);
		random_of(r, (uint8_t)(10 + c));
		n = tls_hello_record(rec, 1, r, 0x1301);
		for (int k = 0; k < 3; k++) {
			send_data(&p, 0, rec + off, cuts[c][k]);
			if (k == 1) /* the second piece again */
				send_seg(&p, 0, p.next[0] - (uint32_t)cuts[c][k], TCP_ACK,
					 rec + off, cuts[c][k]);
			off += cuts[c][k];
		}
		send_data(&p, 0, rec + off, n - off);
		snprintf(want, sizeof(want), "10.0.0.1:%u -> 10.0.0.2:443", p.port[0]);
		if (CHECK_EQ_U64(T.n, 1))
			check_conn(conn_at(0), r, want, 0);
		reset();
	}
	check_ctx("%s", "");
}

/*
 * Retransmissions: the SYN twice, the ClientHello's first segment twice, a retransmission that
 * covers more than the first one did; and a second segment that arrives before the first (it is
 * dropped, then arrives again).
 */
static void test_retransmission(void)
{
	uint8_t rec[256], r[32];
	uint32_t start;
	struct play p;
	size_t n;

	check_ctx("retransmissions");
	play_init(&p, 4, ETH, 50000);
	send_seg(&p, 0, p.next[0], TCP_SYN, NULL, 0);
	send_seg(&p, 0, p.next[0]++, TCP_SYN, NULL, 0);
	send_seg(&p, 1, p.next[1]++, TCP_SYN | TCP_ACK, NULL, 0);
	send_seg(&p, 0, p.next[0], TCP_ACK, NULL, 0);
	random_of(r, 20);
	n = tls_hello_record(rec, 1, r, 0x1301);
	start = p.next[0];
	send_seg(&p, 0, start, TCP_ACK, rec, 20);
	send_seg(&p, 0, start, TCP_ACK, rec, 20);
	send_seg(&p, 0, start, TCP_ACK, rec, 30);
	send_seg(&p, 0, start + 30, TCP_ACK, rec + 30, n - 30);
	if (CHECK_EQ_U64(T.n, 1))
		check_conn(conn_at(0), r, "10.0.0.1:50000 -> 10.0.0.2:443", 0);
	reset();

	check_ctx("out of order");
	play_init(&p, 4, ETH, 50000);
	handshake(&p);
	start = p.next[0];
	send_seg(&p, 0, start + 20, TCP_ACK, rec + 20, n - 20);
	send_seg(&p, 0, start, TCP_ACK, rec, 20);
	CHECK(T.n == 1 && !tlsconn_client_random(&T.conns[0]));
	send_seg(&p, 0, start + 20, TCP_ACK, rec + 20, n - 20);
	if (CHECK_EQ_U64(T.n, 1))
		check_conn(conn_at(0), r, "10.0.0.1:50000 -> 10.0.0.2:443", 0);
	reset();
	check_ctx("%s", "");
}

/* A SYN of n connections no one else has, to push the others out of memory when few fit. */
static void others(int n, uint16_t port)
{
	for (int i = 0; i < n; i++) {
		struct play o;

		play_init(&o, 4, ETH, (uint16_t)(port + i));
		o.addr[1][3] = 99;
		send_seg(&o, 0, o.next[0]++, TCP_SYN, NULL, 0);
	}
}

/*
 * A 4-tuple used again after the first connection closed: a second connection from its SYN.
 * tlsconn_find gives each packet its own connection again, in order and after going back. With
 * room for live connections only, the first goes to the store between its packets, and before
 * the second starts.
 */
static void port_reuse(size_t live)
{
	uint8_t r1[32], r2[32];
	uint64_t second, after, id2, noise = live ? 3 * live : 0;
	uint32_t isn;
	struct play p;

	check_ctx("room for %zu", live);
	kept = true;
	T.live_max = live;
	play_init(&p, 4, ETH, 50500);
	exchange(&p, 30, 0x1301);
	others((int)noise, 40000);
	second = next_index;
	p.next[0] += 100000; /* a new ISN */
	p.next[1] += 5000;
	isn = p.next[0];
	exchange(&p, 31, 0x1303);
	/* A retransmitted SYN of the second connection starts nothing new. */
	send_seg(&p, 0, isn, TCP_SYN, NULL, 0);
	after = next_index;
	others((int)noise, 41000);
	random_of(r1, 30);
	random_of(r2, 31);
	id2 = 1 + noise;
	if (CHECK_EQ_U64(collect_all(), id2 + 1 + noise)) {
		check_conn(&all[0], r1, "10.0.0.1:50500 -> 10.0.0.2:443", 0x0304);
		CHECK_EQ_U64(all[id2].first_packet, second);
		CHECK(all[0].superseded && all[0].next_packet == second && !all[id2].superseded);
		check_conn(&all[id2], r2, "10.0.0.1:50500 -> 10.0.0.2:443", 0x0304);
	}
	for (int pass = 0; pass < 2; pass++)
		for (uint64_t i = 0; i < after; i++)
			if (i < second - noise || i >= second)
				CHECK_EQ_INT(find_fed(i), i < second ? 0 : (int64_t)id2);
	CHECK_EQ_INT(find_fed(second + 1), (int64_t)id2);
	CHECK_EQ_INT(find_fed(1), 0);
	check_ctx("%s", "");
	reset();
}

static void test_port_reuse(void)
{
	port_reuse(0);
	port_reuse(2);
	port_reuse(5);
}

/* A capture that starts after the SYN: the client is the side that sends a ClientHello. */
static void test_no_syn(void)
{
	uint8_t rec[256], r[32];
	struct play p;
	size_t n;

	check_ctx("the server's ACK first");
	play_init(&p, 6, ETH, 50600);
	send_seg(&p, 1, p.next[1], TCP_ACK, NULL, 0);
	random_of(r, 40);
	n = tls_hello_record(rec, 1, r, 0x1301);
	send_data(&p, 0, rec, n);
	if (CHECK_EQ_U64(T.n, 1))
		check_conn(conn_at(0), r, "[2001:db8::1]:50600 -> [2001:db8::2]:443", 0);
	reset();

	check_ctx("the ClientHello in the SYN (TCP Fast Open)");
	play_init(&p, 4, ETH, 50601);
	random_of(r, 41);
	n = tls_hello_record(rec, 1, r, 0x1301);
	send_seg(&p, 0, p.next[0], TCP_SYN, rec, n);
	if (CHECK_EQ_U64(T.n, 1))
		check_conn(conn_at(0), r, "10.0.0.1:50601 -> 10.0.0.2:443", 0);
	reset();
	check_ctx("%s", "");
}

/* Connections that are not TLS, or whose client random was not captured. */
static void test_not_tls(void)
{
	const char get[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	uint8_t rec[256], r[32];
	struct play p;
	size_t n;

	check_ctx("HTTP");
	play_init(&p, 4, ETH, 50700);
	handshake(&p);
	send_data(&p, 0, (const uint8_t *)get, sizeof(get) - 1);
	if (CHECK_EQ_U64(T.n, 1))
		CHECK_EQ_U64(T.conns[0].state, TLSCONN_NOT_TLS);
	reset();

	check_ctx("a server that speaks first");
	play_init(&p, 4, ETH, 50701);
	handshake(&p);
	send_data(&p, 1, (const uint8_t *)"SSH-2.0-x\r\n", 11);
	send_data(&p, 0, (const uint8_t *)"SSH-2.0-y\r\n", 11);
	if (CHECK_EQ_U64(T.n, 1))
		CHECK_EQ_U64(T.conns[0].state, TLSCONN_NOT_TLS);
	reset();

	check_ctx("only pure ACKs, padded with bytes that look like TLS");
	play_init(&p, 4, ETH, 50702);
	handshake(&p);
	send_seg(&p, 1, p.next[1], TCP_ACK, NULL, 0);
	if (CHECK_EQ_U64(T.n, 1))
		CHECK_EQ_U64(T.conns[0].state, TLSCONN_UNKNOWN);
	reset();

	check_ctx("a ClientHello cut by the snapshot length");
	play_init(&p, 4, ETH, 50703);
	handshake(&p);
	random_of(r, 50);
	n = tls_hello_record(rec, 1, r, 0x1301);
	p.cut = 14 + 20 + 20 + 30;
	send_data(&p, 0, rec, n);
	if (CHECK_EQ_U64(T.n, 1)) {
		CHECK_EQ_U64(T.conns[0].state, TLSCONN_TLS);
		CHECK(tlsconn_client_random(&T.conns[0]) == NULL);
		CHECK_EQ_U64(tlsconn_version(&T.conns[0]), 0);
	}
	reset();

	check_ctx("a ClientHello fragmented into records too short for its random");
	play_init(&p, 4, ETH, 50704);
	handshake(&p);
	n = tls_hello_record(rec, 1, r, 0x1301);
	put_be16(rec + 3, 20);
	send_data(&p, 0, rec, n);
	if (CHECK_EQ_U64(T.n, 1))
		CHECK_EQ_U64(T.conns[0].state, TLSCONN_TLS);
	reset();

	check_ctx("not TCP");
	{
		uint8_t f[64] = { 0 };

		memcpy(f + 12, "\x08\x00\x45\x00\x00\x1c", 6);
		f[14 + 9] = IPPROTO_UDP; /* a UDP flow: a connection that is not TLS */
		feed(LINKTYPE_ETHERNET, f, 60);
		f[14 + 9] = IPPROTO_ICMP;
		feed(LINKTYPE_ETHERNET, f, 60);
		f[13] = 0x06; /* ARP */
		feed(LINKTYPE_ETHERNET, f, 60);
		feed(113, f, 60); /* a link type not read */
	}
	if (CHECK_EQ_U64(T.n, 1)) {
		CHECK_EQ_INT(T.conns[0].proto, IPPROTO_UDP);
		CHECK_EQ_INT(T.conns[0].state, TLSCONN_UNKNOWN);
		CHECK(tlsconn_client_random(&T.conns[0]) == NULL);
	}
	reset();
	check_ctx("%s", "");
}

/*
 * Many connections interleaved, many 4-tuples: every one found, with its own client random; with
 * room for few in memory, the same through the store, and each packet's connection found again.
 */
static void many(size_t live)
{
	enum { N = 500 };
	static struct play p[N];
	static uint64_t first[N], hello[N];
	uint8_t rec[256], r[32];

	check_ctx("room for %zu", live);
	T.live_max = live;
	kept = true;
	for (int i = 0; i < N; i++) {
		play_init(&p[i], i % 2 ? 6 : 4, ETH, (uint16_t)(1024 + i));
		p[i].addr[1][3] = (uint8_t)i;
	}
	/* Step s of every connection before step s + 1 of any: SYN, SYN-ACK, ACK, ClientHello. */
	for (int s = 0; s < 4; s++) {
		for (int i = 0; i < N; i++) {
			if (s == 0) {
				first[i] = next_index;
				send_seg(&p[i], 0, p[i].next[0]++, TCP_SYN, NULL, 0);
			} else if (s == 1) {
				send_seg(&p[i], 1, p[i].next[1]++, TCP_SYN | TCP_ACK, NULL, 0);
			} else if (s == 2) {
				send_seg(&p[i], 0, p[i].next[0], TCP_ACK, NULL, 0);
			} else {
				random_of(r, (uint8_t)i);
				r[31] = (uint8_t)(i >> 8);
				hello[i] = next_index;
				send_data(&p[i], 0, rec, tls_hello_record(rec, 1, r, 0x1301));
			}
		}
	}
	CHECK(live ? T.stored > 0 && T.n <= live : T.n == N);
	if (CHECK_EQ_U64(collect_all(), N)) {
		for (int i = 0; i < N; i++) {
			const uint8_t *cr = tlsconn_client_random(&all[i]);

			check_ctx("room for %zu, connection %d", live, i);
			random_of(r, (uint8_t)i);
			r[31] = (uint8_t)(i >> 8);
			CHECK_EQ_U64(all[i].first_packet, first[i]);
			CHECK_EQ_U64(all[i].packets[0] + all[i].packets[1], 4);
			if (CHECK(cr != NULL))
				CHECK_MEM(cr, r, 32);
		}
	}
	for (int i = 0; i < N; i++) {
		CHECK_EQ_INT(find_fed(first[i]), i);
		CHECK_EQ_INT(find_fed(hello[i]), i);
	}
	check_ctx("%s", "");
	reset();
}

static void test_many(void)
{
	many(0);
	many(7);
	many(64);
}

/* Random frames, and a real exchange cut at every length: nothing read out of bounds (ASan). */
static void test_random_frames(void)
{
	uint8_t f[256], rec[256], r[32];
	struct play p;
	size_t n;

	rnd_seed(0x7C7C);
	for (int i = 0; i < 20000; i++) {
		size_t len = (size_t)rnd_range(0, 200);
		bool v4 = i % 2;

		rnd_bytes(f, len);
		/* Often an IP header, to get past the first checks. */
		if (i % 3 == 0 && len > 15) {
			f[12] = v4 ? 0x08 : 0x86;
			f[13] = v4 ? 0x00 : 0xdd;
			f[14] = v4 ? 0x45 : 0x60;
			f[14 + (v4 ? 9 : 6)] = IPPROTO_TCP;
		}
		feed(i % 5 ? LINKTYPE_ETHERNET : LINKTYPE_RAW, f, len);
	}
	reset();
	play_init(&p, 6, ETH_QINQ, 4433);
	p.ext_headers = true;
	random_of(r, 60);
	n = tls_hello_record(rec, 1, r, 0x1301);
	for (uint32_t cut = 1; cut < 200; cut++) {
		p.cut = cut;
		p.next[0] += 1000;
		handshake(&p);
		send_data(&p, 0, rec, n);
	}
	reset();
}

/* TLS endpoints of OpenSSL in memory, and what each wrote, fed to the tracker as it comes. */
struct tls_ends {
	SSL *ssl[2]; /* client, server */
	BIO *in[2], *out[2];
	bool bad_finished; /* the client's second flight (its Finished) reaches the server bad */
	int client_writes;
};

/* A server context with a fresh P-256 key and self-signed certificate, TLS 1.2 at most unless
 * tls13; without tickets when no_ticket. */
static SSL_CTX *server_ctx(bool tls13, bool no_ticket)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name = x ? X509_get_subject_name(x) : NULL;
	bool ok = ctx && key && name && X509_set_version(x, 2) &&
		  ASN1_INTEGER_set(X509_get_serialNumber(x), 1) &&
		  X509_gmtime_adj(X509_getm_notBefore(x), 0) &&
		  X509_gmtime_adj(X509_getm_notAfter(x), 3600) && X509_set_pubkey(x, key) &&
		  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const uint8_t *)"t", -1, -1,
					     0) &&
		  X509_set_issuer_name(x, name) && X509_sign(x, key, EVP_sha256()) &&
		  SSL_CTX_use_certificate(ctx, x) && SSL_CTX_use_PrivateKey(ctx, key) &&
		  (tls13 || SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION));

	if (ok && no_ticket)
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	X509_free(x);
	EVP_PKEY_free(key);
	if (!CHECK(ok)) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* Move what side wrote to the other side, and to the tracker in segments of piece bytes. */
static void carry(struct play *p, struct tls_ends *e, int side, size_t piece)
{
	uint8_t buf[2048];
	int n;

	while ((n = BIO_read(e->out[side], buf, (int)sizeof(buf))) > 0) {
		if (!side && e->client_writes++ == 1 && e->bad_finished)
			buf[n - 1] ^= 1;
		BIO_write(e->in[!side], buf, n);
		for (size_t at = 0; at < (size_t)n; at += piece)
			send_data(p, side, buf + at, (size_t)n - at < piece ? (size_t)n - at : piece);
	}
}

static void ends_free(struct tls_ends *e)
{
	for (int side = 0; side < 2; side++) {
		/* Freed without a shutdown, a session is made not resumable. */
		if (e->ssl[side])
			SSL_set_shutdown(e->ssl[side], SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
		SSL_free(e->ssl[side]);
	}
}

/*
 * One TLS handshake over p between a client of cctx (resuming resume, when not NULL) and a server
 * of sctx, with ends e (e->bad_finished set or not; the caller frees them with ends_free).
 * Returns the client's session (SSL_get1_session), with *reused, or NULL (always with
 * e->bad_finished: the handshake must not end).
 */
static SSL_SESSION *tls_handshake(struct play *p, struct tls_ends *e, SSL_CTX *cctx,
				  SSL_CTX *sctx, SSL_SESSION *resume, size_t piece, bool *reused)
{
	SSL_SESSION *got = NULL;
	int round;

	handshake(p);
	for (int side = 0; side < 2; side++) {
		e->ssl[side] = SSL_new(side ? sctx : cctx);
		e->in[side] = BIO_new(BIO_s_mem());
		e->out[side] = BIO_new(BIO_s_mem());
		if (!CHECK(e->ssl[side] && e->in[side] && e->out[side]))
			return NULL;
		SSL_set_bio(e->ssl[side], e->in[side], e->out[side]);
	}
	SSL_set_connect_state(e->ssl[0]);
	SSL_set_accept_state(e->ssl[1]);
	if (resume && !CHECK(SSL_set_session(e->ssl[0], resume)))
		return NULL;
	for (round = 0; round < 10; round++) {
		for (int side = 0; side < 2; side++) {
			SSL_do_handshake(e->ssl[side]);
			carry(p, e, side, piece);
		}
		if (SSL_is_init_finished(e->ssl[0]) && SSL_is_init_finished(e->ssl[1]))
			break;
	}
	if (e->bad_finished) {
		CHECK_MSG(round == 10, "the server took a wrong Finished");
	} else if (CHECK_MSG(round < 10, "the handshake did not end")) {
		*reused = SSL_session_reused(e->ssl[0]);
		got = SSL_get1_session(e->ssl[0]);
	}
	return got;
}

/* The server of e writes application data, carried over p. */
static void server_writes(struct play *p, struct tls_ends *e, size_t piece)
{
	CHECK_EQ_INT(SSL_write(e->ssl[1], "HTTP/1.1 200 OK\r\n", 17), 17);
	carry(p, e, 1, piece);
}

/* A handshake of tls_handshake's, its ends freed. */
static SSL_SESSION *tls_handshake1(struct play *p, SSL_CTX *cctx, SSL_CTX *sctx,
				   SSL_SESSION *resume, size_t piece, bool *reused)
{
	struct tls_ends e = { 0 };
	SSL_SESSION *got = tls_handshake(p, &e, cctx, sctx, resume, piece, reused);

	ends_free(&e);
	return got;
}

/* The session key (session.h) of sess's ticket, or of its ID when id, from p's server. */
static size_t key_of(const struct play *p, SSL_SESSION *sess, bool id,
		     uint8_t out[SESSION_KEY_MAX])
{
	struct session_ticket t = { 0 };
	uint8_t server[SESSION_SERVER_LEN] = { (uint8_t)p->family };
	const unsigned char *b;
	unsigned int idlen;
	size_t len;

	memcpy(server + 1, p->addr[1], 16);
	put_be16(server + 17, p->port[1]);
	if (id) {
		b = SSL_SESSION_get_id(sess, &idlen);
		return session_key_id(server, b, (uint8_t)idlen, out);
	}
	SSL_SESSION_get0_ticket(sess, &b, &len);
	if (!len || len > UINT16_MAX)
		return 0;
	memcpy(t.head, b, len < SESSION_TICKET_HEAD ? len : SESSION_TICKET_HEAD);
	t.hash = xxh32(b, len, 0);
	t.len = (uint16_t)len;
	return session_key_ticket(server, &t, out);
}

/* tlsconn_session(c, which) is want (wlen bytes; 0: none). */
static void check_key(const struct tls_conn *c, int which, const uint8_t *want, size_t wlen)
{
	uint8_t got[SESSION_KEY_MAX];
	size_t n = c ? tlsconn_session(c, which, got) : 0;

	if (CHECK_MSG(n == wlen, "session %d: %zu bytes, want %zu", which, n, wlen) && n)
		CHECK_MEM(got, want, n);
}

/*
 * A full handshake, then one resuming its session, each stream in segments of piece bytes: the
 * tracker sees what OpenSSL says. By ticket, or by session ID with a server that sends none.
 */
static void resume_twice(bool by_id, size_t piece)
{
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method()), *sctx = server_ctx(false, by_id);
	SSL_SESSION *full = NULL, *again = NULL;
	struct tls_ends e = { 0 };
	uint8_t key[SESSION_KEY_MAX];
	const struct tls_conn *c;
	struct play p;
	uint64_t first;
	bool reused = true;
	size_t n;

	check_ctx("%s, segments of %zu bytes", by_id ? "session ID" : "ticket", piece);
	if (!CHECK(cctx && sctx))
		goto out;
	SSL_CTX_set_max_proto_version(cctx, TLS1_2_VERSION);
	play_init(&p, 4, ETH, 40000);
	full = tls_handshake1(&p, cctx, sctx, NULL, piece, &reused);
	if (!full || !CHECK(!reused))
		goto out;
	play_init(&p, 4, ETH, 40001);
	first = next_index;
	again = tls_handshake(&p, &e, cctx, sctx, full, piece, &reused);
	if (!again || !CHECK(reused))
		goto out;
	/* Confirmed by the server's first application data, not before. */
	c = conn_at(first);
	CHECK(c && tlsconn_abbreviated(c) && !tlsconn_resumption_confirmed(c));
	server_writes(&p, &e, piece);
	CHECK(c && tlsconn_resumption_confirmed(c));

	c = conn_at(0);
	CHECK(c && !tlsconn_abbreviated(c));
	n = key_of(&p, full, by_id, key);
	CHECK(n > 0);
	check_key(c, by_id ? 3 : 2, key, n);
	if (by_id)
		check_key(c, 2, NULL, 0);
	c = conn_at(first);
	CHECK(c && tlsconn_abbreviated(c));
	check_key(c, by_id ? 1 : 0, key, n);
	if (by_id) {
		check_key(c, 0, NULL, 0);
		check_key(c, 3, key, n);
	}
	/* The same session ID or ticket from another server names another session. */
	{
		struct play other = p;
		uint8_t key2[SESSION_KEY_MAX];

		other.addr[1][3] ^= 1;
		CHECK(key_of(&other, full, by_id, key2) == n && memcmp(key, key2, n));
		other = p;
		other.port[1]++;
		CHECK(key_of(&other, full, by_id, key2) == n && memcmp(key, key2, n));
	}
	/* Offered by one without its master secret (a wrong Finished): the server's alert comes
	 * after its Finished, and data after the alert confirms nothing. Last, as the server
	 * forgets the session then. */
	ends_free(&e);
	e = (struct tls_ends){ .bad_finished = true };
	play_init(&p, 4, ETH, 40002);
	first = next_index;
	tls_handshake(&p, &e, cctx, sctx, full, piece, &reused);
	c = conn_at(first);
	CHECK(c && tlsconn_abbreviated(c) && c->sess.finished && c->sess.walk == SESSION_STOPPED);
	send_data(&p, 1, (const uint8_t *)"\x17\x03\x03\x00\x02hi", 7);
	CHECK(c && !tlsconn_resumption_confirmed(c));
out:
	ends_free(&e);
	SSL_SESSION_free(full);
	SSL_SESSION_free(again);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	reset();
	check_ctx("%s", "");
}

/* TLS 1.3's compatibility ChangeCipherSpec comes right after its ServerHello: not an abbreviated
 * TLS 1.2 handshake. */
static void tls13_not_abbreviated(void)
{
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method()), *sctx = server_ctx(true, false);
	SSL_SESSION *s = NULL;
	struct play p;
	bool reused;

	if (CHECK(cctx && sctx)) {
		play_init(&p, 4, ETH, 40002);
		s = tls_handshake1(&p, cctx, sctx, NULL, 1400, &reused);
		if (CHECK(s) && CHECK_EQ_U64(tlsconn_version(conn_at(0)), 0x0304))
			CHECK(!tlsconn_abbreviated(conn_at(0)));
	}
	SSL_SESSION_free(s);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	reset();
}

/* The server's stream walked as it comes: bytes after a gap wait, a walk is bounded, and a stream
 * that does not start with a ServerHello is not walked. */
static void walk_bounds(void)
{
	struct tls_session s = { 0 };
	static uint8_t rec[5 + 16384];

	/* A ServerHello that claims 16 MiB, in full records: stopped at SESSION_WALK_MAX. */
	memcpy(rec, "\x16\x03\x03\x40\x00\x02\xff\xff\xff", 9);
	session_server_data(&s, 0, rec, sizeof(rec));
	rec[5] = 0;
	for (uint32_t at = sizeof(rec); at < 2 * SESSION_WALK_MAX; at += sizeof(rec))
		session_server_data(&s, at, rec, sizeof(rec));
	CHECK_EQ_U64(s.walk, SESSION_STOPPED);
	CHECK_EQ_U64(s.walked, SESSION_WALK_MAX);

	/* Bytes after a gap are not read until the gap is filled. */
	memset(&s, 0, sizeof(s));
	session_server_data(&s, 3, (const uint8_t *)"\x03\x00\x04", 3);
	CHECK_EQ_U64(s.walked, 0);
	session_server_data(&s, 0, (const uint8_t *)"\x16\x03\x03\x00\x04", 5);
	CHECK_EQ_U64(s.walked, 5);
	CHECK_EQ_U64(s.walk, SESSION_WALKING);

	/* A Certificate first, or an alert: not a server's handshake to follow. */
	memset(&s, 0, sizeof(s));
	session_server_data(&s, 0, (const uint8_t *)"\x16\x03\x03\x00\x04\x0b\x00\x00\x00", 9);
	CHECK_EQ_U64(s.walk, SESSION_STOPPED);
	memset(&s, 0, sizeof(s));
	session_server_data(&s, 0, (const uint8_t *)"\x15\x03\x03\x00\x02\x02\x28", 7);
	CHECK_EQ_U64(s.walk, SESSION_STOPPED);
	CHECK(!s.abbreviated);
}

/*
 * A walk saved and restored (session_save, for a later index run) at every byte of a server's
 * stream goes on as if it had not stopped; a state no walk could be in is refused.
 */
static void walk_saved(void)
{
	static const uint8_t hello[] = "\x16\x03\x03\x00\x54\x02\x00\x00\x48\x03\x03"
				       "RRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRR\x20"
				       "IIIIIIIIIIIIIIIIIIIIIIIIIIIIIIII\xc0\x2f\x00\x00\x00"
				       "\x0b\x00\x00\x00\x0e\x00\x00\x00";
	uint8_t stream[512], state[SESSION_STATE_LEN], whole_state[SESSION_STATE_LEN];
	struct tls_session whole = { 0 }, s;
	size_t n = sizeof(hello) - 1, tlen = 100;

	memcpy(stream, hello, n);
	/* A NewSessionTicket of tlen bytes, in two records, then the ChangeCipherSpec. */
	memcpy(stream + n, "\x16\x03\x03\x00\x20\x04\x00\x00\x6a\x00\x00\x1c\x20\x00\x64", 15);
	for (size_t i = 0; i < tlen; i++)
		stream[n + 15 + i + (i >= 22 ? 5 : 0)] = (uint8_t)(i * 7);
	memcpy(stream + n + 15 + 22, "\x16\x03\x03\x00\x4e", 5);
	n += 15 + tlen + 5;
	memcpy(stream + n, "\x14\x03\x03\x00\x01\x01", 6);
	n += 6;
	session_server_data(&whole, 0, stream, (uint32_t)n);
	CHECK_EQ_U64(whole.walk, SESSION_DONE);
	CHECK(whole.full && !whole.abbreviated);
	CHECK_EQ_U64(whole.got.len, tlen);
	session_save(&whole, whole_state);
	for (size_t at = 0; at <= n; at++) {
		memset(&s, 0, sizeof(s));
		session_server_data(&s, 0, stream, (uint32_t)at);
		session_save(&s, state);
		memset(&s, 0xa5, sizeof(s));
		if (!CHECK_EQ_INT(session_restore(&s, state), 0))
			break;
		session_server_data(&s, (uint32_t)at, stream + at, (uint32_t)(n - at));
		/* What the walk found (the hash's scratch bytes depend on where updates cut). */
		if (!CHECK_MSG(s.walk == whole.walk && s.full == whole.full &&
				       s.abbreviated == whole.abbreviated &&
				       !memcmp(&s.got, &whole.got, sizeof(s.got)),
			       "stopped at %zu", at))
			break;
	}
	memcpy(state, whole_state, sizeof(state));
	state[4] = SESSION_STOPPED + 1; /* walk */
	s = whole;
	CHECK_EQ_INT(session_restore(&s, state), -EINVAL);
	CHECK(!memcmp(&s, &whole, sizeof(s)));
	memcpy(state, whole_state, sizeof(state));
	state[73] = 16; /* the hash's bytes held: at most 15 */
	CHECK_EQ_INT(session_restore(&s, state), -EINVAL);
}

/*
 * An abbreviated handshake's walk saved and restored at every byte is confirmed by the server's
 * application data after its Finished all the same; a state confirmed but not past the Finished
 * is refused.
 */
static void walk_saved_confirmed(void)
{
	static const uint8_t stream[] = "\x16\x03\x03\x00\x2a\x02\x00\x00\x26\x03\x03"
					"RRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRR\x00\xc0\x2f\x00"
					"\x14\x03\x03\x00\x01\x01"
					"\x16\x03\x03\x00\x03"
					"FFF"
					"\x17\x03\x03\x00\x02"
					"DD";
	uint8_t state[SESSION_STATE_LEN];
	struct tls_session s;
	uint32_t n = sizeof(stream) - 1;

	for (uint32_t at = 0; at <= n; at++) {
		memset(&s, 0, sizeof(s));
		session_server_data(&s, 0, stream, at);
		CHECK(!s.confirmed || at + 2 >= n); /* its header read */
		session_save(&s, state);
		memset(&s, 0xa5, sizeof(s));
		if (!CHECK_EQ_INT(session_restore(&s, state), 0))
			break;
		session_server_data(&s, at, stream + at, n - at);
		if (!CHECK_MSG(s.walk == SESSION_DONE && s.abbreviated && s.confirmed,
			       "stopped at %u", at))
			break;
	}
	session_save(&s, state);
	state[18] &= (uint8_t)~16; /* flags: confirmed, not finished */
	CHECK_EQ_INT(session_restore(&s, state), -EINVAL);
}

static void test_resumption(void)
{
	static const size_t pieces[] = { 1, 7, 100, 1400 };

	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		resume_twice(false, pieces[i]);
		resume_twice(true, pieces[i]);
	}
	tls13_not_abbreviated();
	walk_saved();
	walk_saved_confirmed();
	walk_bounds();
}

int main(void)
{
	CHECK_RUN(test_links);
	CHECK_RUN(test_split_hello);
	CHECK_RUN(test_retransmission);
	CHECK_RUN(test_port_reuse);
	CHECK_RUN(test_no_syn);
	CHECK_RUN(test_not_tls);
	CHECK_RUN(test_many);
	CHECK_RUN(test_resumption);
	CHECK_RUN(test_random_frames);
	return check_exit();
}

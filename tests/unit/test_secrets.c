// SPDX-License-Identifier: BSD-2-Clause
/*
 * TLS secrets from journal to pcapng: a journal written here by hand (jw_open, chunkbuf_*) holds
 * four TCP connections whose packets interleave, on two interfaces:
 *   A  IPv4, Ethernet: the TLS 1.3 handshake of RFC 8448 section 3 byte for byte (its ClientHello,
 *      ServerHello, encrypted server flight, client Finished and first application data record);
 *   B  IPv6, Ethernet, its VLAN tag taken out by the driver (TR_PKT_VLAN): a TLS 1.2 handshake;
 *   C  IPv4, plain HTTP;
 *   D  IPv4, raw IP (a tun device): a TLS 1.3 ClientHello whose secrets were not recorded;
 * and, in a chunk after all the packets (as the recorder writes them: when the handshake ends),
 * a LIBRARY record and SECRET records: A's (twice, as from the client's and the server's process),
 * B's, and one of a connection that is not in the packets.
 *
 * Checked: the pcapng has exactly one DSB just before A's SYN holding exactly A's five lines (the
 * RFC's secrets), and one just before B's SYN holding B's line, every packet once in order, and
 * nothing else; capinfos counts 2 decryption secrets; tshark, given no key file, decrypts A's
 * handshake and application data; the key log holds the union of the lines; two runs give the
 * same bytes. Then the tlsasm binary (its path is argv[1]): its report, --keylog with and without
 * -o (mode 0600, the same lines), and byte-identical output across runs.
 */
#include <arpa/inet.h>

#include "check.h"
#include "convert.h"
#include "journal.h"
#include "pcapng.h"
#include "survey.h"
#include "util.h"

#define NS UINT64_C(1000000000)
#define WALL0 (UINT64_C(1700000000) * NS)
#define BOOT0 (UINT64_C(5000) * NS)
#define TCP_SYN 0x02
#define TCP_PSH 0x08
#define TCP_ACK 0x10

/* RFC 8448 section 3: the records on the wire, and the secrets. */
static const char rfc_client_hello_rec[] =
	"16 03 01 00 c4 01 00 00 c0 03 03 cb 34 ec b1 e7 81 63 ba 1c 38 c6 da cb 19 6a 6d ff a2 1a "
	"8d 99 12 ec 18 a2 ef 62 83 02 4d ec e7 00 00 06 13 01 13 03 13 02 01 00 00 91 00 00 00 0b "
	"00 09 00 00 06 73 65 72 76 65 72 ff 01 00 01 00 00 0a 00 14 00 12 00 1d 00 17 00 18 00 19 "
	"01 00 01 01 01 02 01 03 01 04 00 23 00 00 00 33 00 26 00 24 00 1d 00 20 99 38 1d e5 60 e4 "
	"bd 43 d2 3d 8e 43 5a 7d ba fe b3 c0 6e 51 c1 3c ae 4d 54 13 69 1e 52 9a af 2c 00 2b 00 03 "
	"02 03 04 00 0d 00 20 00 1e 04 03 05 03 06 03 02 03 08 04 08 05 08 06 04 01 05 01 06 01 02 "
	"01 04 02 05 02 06 02 02 02 00 2d 00 02 01 01 00 1c 00 02 40 01";
static const char rfc_server_hello_rec[] =
	"16 03 03 00 5a 02 00 00 56 03 03 a6 af 06 a4 12 18 60 dc 5e 6e 60 24 9c d3 4c 95 93 0c 8a "
	"c5 cb 14 34 da c1 55 77 2e d3 e2 69 28 00 13 01 00 00 2e 00 33 00 24 00 1d 00 20 c9 82 88 "
	"76 11 20 95 fe 66 76 2b db f7 c6 72 e1 56 d6 cc 25 3b 83 3d f1 dd 69 b1 b0 4e 75 1f 0f 00 "
	"2b 00 02 03 04";
static const char rfc_server_flight_rec[] =
	"17 03 03 02 a2 d1 ff 33 4a 56 f5 bf f6 59 4a 07 cc 87 b5 80 23 3f 50 0f 45 e4 89 e7 f3 3a "
	"f3 5e df 78 69 fc f4 0a a4 0a a2 b8 ea 73 f8 48 a7 ca 07 61 2e f9 f9 45 cb 96 0b 40 68 90 "
	"51 23 ea 78 b1 11 b4 29 ba 91 91 cd 05 d2 a3 89 28 0f 52 61 34 aa dc 7f c7 8c 4b 72 9d f8 "
	"28 b5 ec f7 b1 3b d9 ae fb 0e 57 f2 71 58 5b 8e a9 bb 35 5c 7c 79 02 07 16 cf b9 b1 18 3e "
	"f3 ab 20 e3 7d 57 a6 b9 d7 47 76 09 ae e6 e1 22 a4 cf 51 42 73 25 25 0c 7d 0e 50 92 89 44 "
	"4c 9b 3a 64 8f 1d 71 03 5d 2e d6 5b 0e 3c dd 0c ba e8 bf 2d 0b 22 78 12 cb b3 60 98 72 55 "
	"cc 74 41 10 c4 53 ba a4 fc d6 10 92 8d 80 98 10 e4 b7 ed 1a 8f d9 91 f0 6a a6 24 82 04 79 "
	"7e 36 a6 a7 3b 70 a2 55 9c 09 ea d6 86 94 5b a2 46 ab 66 e5 ed d8 04 4b 4c 6d e3 fc f2 a8 "
	"94 41 ac 66 27 2f d8 fb 33 0e f8 19 05 79 b3 68 45 96 c9 60 bd 59 6e ea 52 0a 56 a8 d6 50 "
	"f5 63 aa d2 74 09 96 0d ca 63 d3 e6 88 61 1e a5 e2 2f 44 15 cf 95 38 d5 1a 20 0c 27 03 42 "
	"72 96 8a 26 4e d6 54 0c 84 83 8d 89 f7 2c 24 46 1a ad 6d 26 f5 9e ca ba 9a cb bb 31 7b 66 "
	"d9 02 f4 f2 92 a3 6a c1 b6 39 c6 37 ce 34 31 17 b6 59 62 22 45 31 7b 49 ee da 0c 62 58 f1 "
	"00 d7 d9 61 ff b1 38 64 7e 92 ea 33 0f ae ea 6d fa 31 c7 a8 4d c3 bd 7e 1b 7a 6c 71 78 af "
	"36 87 90 18 e3 f2 52 10 7f 24 3d 24 3d c7 33 9d 56 84 c8 b0 37 8b f3 02 44 da 8c 87 c8 43 "
	"f5 e5 6e b4 c5 e8 28 0a 2b 48 05 2c f9 3b 16 49 9a 66 db 7c ca 71 e4 59 94 26 f7 d4 61 e6 "
	"6f 99 88 2b d8 9f c5 08 00 be cc a6 2d 6c 74 11 6d bd 29 72 fd a1 fa 80 f8 5d f8 81 ed be "
	"5a 37 66 89 36 b3 35 58 3b 59 91 86 dc 5c 69 18 a3 96 fa 48 a1 81 d6 b6 fa 4f 9d 62 d5 13 "
	"af bb 99 2f 2b 99 2f 67 f8 af e6 7f 76 91 3f a3 88 cb 56 30 c8 ca 01 e0 c6 5d 11 c6 6a 1e "
	"2a c4 c8 59 77 b7 c7 a6 99 9b bf 10 dc 35 ae 69 f5 51 56 14 63 6c 0b 9b 68 c1 9e d2 e3 1c "
	"0b 3b 66 76 30 38 eb ba 42 f3 b3 8e dc 03 99 f3 a9 f2 3f aa 63 97 8c 31 7f c9 fa 66 a7 3f "
	"60 f0 50 4d e9 3b 5b 84 5e 27 55 92 c1 23 35 ee 34 0b bc 4f dd d5 02 78 40 16 e4 b3 be 7e "
	"f0 4d da 49 f4 b4 40 a3 0c b5 d2 af 93 98 28 fd 4a e3 79 4e 44 f9 4d f5 a6 31 ed e4 2c 17 "
	"19 bf da bf 02 53 fe 51 75 be 89 8e 75 0e dc 53 37 0d 2b";
static const char rfc_client_finished_rec[] =
	"17 03 03 00 35 75 ec 4d c2 38 cc e6 0b 29 80 44 a7 1e 21 9c 56 cc 77 b0 51 7f e9 b9 3c 7a "
	"4b fc 44 d8 7f 38 f8 03 38 ac 98 fc 46 de b3 84 bd 1c ae ac ab 68 67 d7 26 c4 05 46";
static const char rfc_client_app_rec[] =
	"17 03 03 00 43 a2 3f 70 54 b6 2c 94 d0 af fa fe 82 28 ba 55 cb ef ac ea 42 f9 14 aa 66 bc "
	"ab 3f 2b 98 19 a8 a5 b4 6b 39 5b d5 4a 9a 20 44 1e 2b 62 97 4e 1f 5a 62 92 a2 97 70 14 bd "
	"1e 3d ea e6 3a ee bb 21 69 49 15 e4";
static const char rfc_hs_secret[] = "1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac";
static const char rfc_hs_hash[] = "860c06edc07858ee8e78f0e7428c58edd6b43f2ca3e6e95f02ed063cf0e1cad8";
static const char rfc_master[] = "18df06843d13a08bf2a449844c5f8a478001bc4d4c627984d5a41da8d0402919";
static const char rfc_fin_hash[] = "9608102a0f1ccc6db6250b7b7e417b1a000eaada3daae4777a7686c9ff83df13";
static const char rfc_c_ap[] = "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5";
static const char rfc_s_ap[] = "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643";
static const char rfc_exp[] = "fe22f881176eda18eb8f44529e6792c50c9a3f89452f68d8ae311b4309d3cf50";
static const char rfc_cr[] = "cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7";
/* A's key log lines: the RFC's secrets. */
static const char lines_a[] =
	"CLIENT_HANDSHAKE_TRAFFIC_SECRET cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7 b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21\n"
	"SERVER_HANDSHAKE_TRAFFIC_SECRET cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7 b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38\n"
	"CLIENT_TRAFFIC_SECRET_0 cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7 9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5\n"
	"SERVER_TRAFFIC_SECRET_0 cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7 a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643\n"
	"EXPORTER_SECRET cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7 fe22f881176eda18eb8f44529e6792c50c9a3f89452f68d8ae311b4309d3cf50\n";

static void hexs(char *out, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

/* The journal being written. */
static struct chunk_encoder enc;
static struct chunkbuf cb;
static struct journal_writer *jw;
static char journal[PATH_MAX];
static uint64_t rel; /* time of the next record, ns after the start */
static uint64_t n_packets;

static bool journal_open(const char *name)
{
	static uint8_t header[256];
	static struct tr_iface ifaces[2];
	static const uint8_t rid[16] = { 0x5e, 0xc2, 0x37 };
	static struct jw_config cfg;
	struct tr_header h = { .hdr = { .type = TR_REC_HEADER } };
	size_t off = sizeof(h);

	memcpy(h.magic, TR_HEADER_MAGIC, 8);
	h.major = TR_FORMAT_MAJOR;
	h.minor = TR_FORMAT_MINOR;
	h.clock_id = 7;
	memcpy(h.recording_id, rid, 16);
	h.pair_boot_ns = BOOT0;
	h.pair_real_ns = WALL0;
	h.start_ns = WALL0;
	h.snaplen = TR_MAX_SNAPLEN;
	CHECK_EQ_INT(tlv_put(header, sizeof(header), &off, TR_TAG_HOSTNAME, "unit-host"), 0);
	h.hdr.len = (uint32_t)off;
	memcpy(header, &h, sizeof(h));
	for (int i = 0; i < 2; i++) {
		ifaces[i] = (struct tr_iface){
			.hdr = { .type = TR_REC_IFACE, .len = sizeof(ifaces[i]) },
			.ifindex = 2 + (uint32_t)i,
			.mtu = 1500,
			.linktype = i ? LINKTYPE_RAW : LINKTYPE_ETHERNET,
			.flags = TR_IFACE_UP | TR_IFACE_INGRESS | TR_IFACE_EGRESS,
		};
		snprintf(ifaces[i].name, sizeof(ifaces[i].name), i ? "tun0" : "eth0");
	}
	tpath(journal, name);
	cfg = (struct jw_config){ .path = journal,
				  .recording_id = rid,
				  .header = header,
				  .header_len = off,
				  .ifaces = ifaces,
				  .n_ifaces = 2 };
	rel = 1000;
	n_packets = 0;
	return CHECK_EQ_INT(jw_open(&cfg, &jw), 0);
}

/* Start a chunk as the recorder does: CLOCK (boot and wall time at rel), then the IFACEs. */
static bool chunk_open(void)
{
	struct tr_clock c = { .hdr = { .type = TR_REC_CLOCK, .len = sizeof(c), .ts = BOOT0 + rel },
			      .real_ns = WALL0 + rel };

	chunkbuf_begin(&cb, &enc);
	cb.wall_offset = WALL0 - BOOT0;
	return CHECK_EQ_INT(chunkbuf_add(&cb, &c, sizeof(c)), 0);
}

static bool chunk_close(void)
{
	return CHECK_EQ_INT(chunkbuf_end(&cb), 0) && CHECK_EQ_INT(jw_write(jw, &cb), 0);
}

/* One TCP connection: side 0 is the client. */
struct conn {
	int family;
	uint32_t ifindex;
	bool vlan; /* Ethernet, its 802.1Q tag taken out by the driver */
	uint8_t addr[2][16];
	uint16_t port[2];
	uint32_t next[2];
	uint64_t syn; /* number of its SYN among the packets */
};

static void conn_init(struct conn *c, int family, const char *client, const char *server,
		      uint16_t cport, uint16_t sport, uint32_t ifindex)
{
	memset(c, 0, sizeof(*c));
	c->family = family;
	c->ifindex = ifindex;
	inet_pton(family == 4 ? AF_INET : AF_INET6, client, c->addr[0]);
	inet_pton(family == 4 ? AF_INET : AF_INET6, server, c->addr[1]);
	c->port[0] = cport;
	c->port[1] = sport;
	c->next[0] = 1000u * cport;
	c->next[1] = 7777u * cport;
}

static uint8_t *put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* A PACKET record of a segment of c from side, the next sequence numbers, len bytes of data. */
static bool segment(struct conn *c, int side, uint8_t flags, const uint8_t *data, size_t len)
{
	static uint8_t rec[sizeof(struct tr_packet) + 2048];
	struct tr_packet p = { .hdr = { .type = TR_REC_PACKET } };
	uint8_t *f = rec + sizeof(p), *q = f, *ip, *tcp;
	size_t iplen = (c->family == 4 ? 20 : 40) + 20 + len;

	if (!CHECK(len <= 1500))
		return false;
	if (c->ifindex == 2) {
		memcpy(q, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
		q = put16(q + 12, c->family == 4 ? 0x0800 : 0x86dd);
	}
	ip = q;
	if (c->family == 4) {
		memset(ip, 0, 20);
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)iplen);
		ip[8] = 64;
		ip[9] = IPPROTO_TCP;
		memcpy(ip + 12, c->addr[side], 4);
		memcpy(ip + 16, c->addr[!side], 4);
		tcp = ip + 20;
	} else {
		memset(ip, 0, 40);
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)(iplen - 40));
		ip[6] = IPPROTO_TCP;
		ip[7] = 64;
		memcpy(ip + 8, c->addr[side], 16);
		memcpy(ip + 24, c->addr[!side], 16);
		tcp = ip + 40;
	}
	memset(tcp, 0, 20);
	put16(tcp, c->port[side]);
	put16(tcp + 2, c->port[!side]);
	put32(tcp + 4, c->next[side]);
	put32(tcp + 8, (flags & TCP_ACK) ? c->next[!side] : 0);
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	put16(tcp + 14, 64240);
	if (len)
		memcpy(tcp + 20, data, len);
	c->next[side] += (uint32_t)len + ((flags & TCP_SYN) ? 1 : 0);
	if ((flags & (TCP_SYN | TCP_ACK)) == TCP_SYN)
		c->syn = n_packets;
	p.cap_len = p.orig_len = (uint32_t)(tcp + 20 + len - f);
	p.hdr.len = (uint32_t)sizeof(p) + p.cap_len;
	p.hdr.ts = BOOT0 + rel;
	rel += 1000;
	p.ifindex = c->ifindex;
	p.protocol = htons(c->family == 4 ? 0x0800 : 0x86dd);
	p.dir = side ? TR_DIR_INGRESS : TR_DIR_EGRESS;
	if (c->vlan) {
		p.flags = TR_PKT_VLAN;
		p.vlan_proto = htons(0x8100);
		p.vlan_tci = 42;
	}
	memcpy(rec, &p, sizeof(p));
	n_packets++;
	return CHECK_EQ_INT(chunkbuf_add(&cb, rec, p.hdr.len), 0);
}

static bool data(struct conn *c, int side, const uint8_t *d, size_t len)
{
	return segment(c, side, TCP_ACK | TCP_PSH, d, len);
}

static bool hex_data(struct conn *c, int side, const char *hex)
{
	uint8_t buf[1024];

	return data(c, side, buf, unhex(hex, buf, sizeof(buf)));
}

/* A TLS 1.2 ClientHello or ServerHello record with this random. */
static size_t hello12(uint8_t *out, int type, const uint8_t random[32])
{
	static const uint8_t ch_tail[] = { 0x00, 0x02, 0xc0, 0x2f, 0x01, 0x00 };
	static const uint8_t sh_tail[] = { 0xc0, 0x2f, 0x00 };
	size_t tail = type == 1 ? sizeof(ch_tail) : sizeof(sh_tail), body = 2 + 32 + 1 + tail;

	out[0] = 0x16;
	put16(out + 1, 0x0303);
	put16(out + 3, (uint16_t)(4 + body));
	out[5] = (uint8_t)type;
	out[6] = 0;
	put16(out + 7, (uint16_t)body);
	put16(out + 9, 0x0303);
	memcpy(out + 11, random, 32);
	out[43] = 0; /* no session id */
	memcpy(out + 44, type == 1 ? ch_tail : sh_tail, tail);
	return 44 + tail;
}

static struct tr_secret secret_a, secret_b, secret_x;
static struct conn a, b, c, d;
static uint8_t random_b[32], random_d[32];

static void make_secrets(void)
{
	memset(&secret_a, 0, sizeof(secret_a));
	secret_a.hdr = (struct tr_rec){ .type = TR_REC_SECRET, .len = sizeof(secret_a) };
	secret_a.pid = 4242;
	secret_a.tid = 4242;
	secret_a.ssl = 0x55550000a0;
	secret_a.version = 0x0304;
	secret_a.cipher = 0x03001301;
	secret_a.flags = TR_SEC_TLS13;
	unhex(rfc_cr, secret_a.client_random, 32);
	unhex(rfc_hs_secret, secret_a.handshake_secret, TR_SECRET_LEN);
	unhex(rfc_hs_hash, secret_a.handshake_traffic_hash, TR_SECRET_LEN);
	unhex(rfc_master, secret_a.master_secret, TR_SECRET_LEN);
	unhex(rfc_fin_hash, secret_a.server_finished_hash, TR_SECRET_LEN);
	unhex(rfc_c_ap, secret_a.client_app_secret, TR_SECRET_LEN);
	unhex(rfc_s_ap, secret_a.server_app_secret, TR_SECRET_LEN);
	unhex(rfc_exp, secret_a.exporter_secret, TR_SECRET_LEN);

	rnd_seed(0x5EC2);
	rnd_bytes(random_b, 32);
	rnd_bytes(random_d, 32);
	memset(&secret_b, 0, sizeof(secret_b));
	secret_b.hdr = secret_a.hdr;
	secret_b.pid = 777;
	secret_b.version = 0x0303;
	secret_b.cipher = 0x0300c02f;
	secret_b.flags = TR_SEC_TLS12;
	memcpy(secret_b.client_random, random_b, 32);
	rnd_bytes(secret_b.master_key, sizeof(secret_b.master_key));
	secret_x = secret_b;
	rnd_bytes(secret_x.client_random, 32);
	rnd_bytes(secret_x.master_key, sizeof(secret_x.master_key));
}

/* "CLIENT_RANDOM <random> <master key>\n" of a TLS 1.2 record. */
static void line12(char *out, const struct tr_secret *s)
{
	char cr[65], mk[97];

	hexs(cr, s->client_random, 32);
	hexs(mk, s->master_key, 48);
	sprintf(out, "CLIENT_RANDOM %s %s\n", cr, mk);
}

static bool put_library(void)
{
	uint8_t rec[256];
	struct tr_library l = { .hdr = { .type = TR_REC_LIBRARY, .ts = BOOT0 + rel } };
	size_t off = sizeof(l);

	l.index = 0;
	l.kind = TR_LIB_OPENSSL;
	CHECK_EQ_INT(tlv_put(rec, sizeof(rec), &off, TR_LIB_PATH, "/usr/lib/libssl.so.3"), 0);
	CHECK_EQ_INT(tlv_put(rec, sizeof(rec), &off, TR_LIB_VERSION, "OpenSSL 3.0.99 test"), 0);
	l.hdr.len = (uint32_t)off;
	memcpy(rec, &l, sizeof(l));
	return CHECK_EQ_INT(chunkbuf_add(&cb, rec, off), 0);
}

/* A LOSS of TLS secrets; it names an interface, but its count is no packet's. */
static bool put_secrets_loss(uint64_t count)
{
	struct tr_loss l = { .hdr = { .type = TR_REC_LOSS, .len = sizeof(l), .ts = BOOT0 + rel },
			     .count = count,
			     .since_ns = BOOT0,
			     .ifindex = 2,
			     .what = TR_LOSS_SECRETS,
			     .where = TR_LOSS_RINGBUF };

	return CHECK_EQ_INT(chunkbuf_add(&cb, &l, sizeof(l)), 0);
}

static bool put_secret(struct tr_secret *s)
{
	s->hdr.ts = BOOT0 + rel;
	rel += 1000;
	return CHECK_EQ_INT(chunkbuf_add(&cb, s, sizeof(*s)), 0);
}

/* The journal: packets of A, B, C and D interleaved over two chunks, then the secrets. */
static bool write_journal(void)
{
	static const char get[] = "GET / HTTP/1.1\r\nHost: c\r\n\r\n";
	uint8_t rec[256];
	bool ok;

	make_secrets();
	conn_init(&a, 4, "192.0.2.1", "192.0.2.2", 41000, 443, 2);
	conn_init(&b, 6, "2001:db8::b1", "2001:db8::b2", 42000, 8443, 2);
	b.vlan = true;
	conn_init(&c, 4, "192.0.2.1", "192.0.2.3", 43000, 80, 2);
	conn_init(&d, 4, "10.9.0.1", "10.9.0.2", 44000, 443, 3);
	ok = journal_open("secrets.lz4") && chunk_open();
	/* The TCP handshakes, interleaved. */
	ok = ok && segment(&a, 0, TCP_SYN, NULL, 0) && segment(&b, 0, TCP_SYN, NULL, 0);
	ok = ok && segment(&a, 1, TCP_SYN | TCP_ACK, NULL, 0) && segment(&c, 0, TCP_SYN, NULL, 0);
	ok = ok && segment(&b, 1, TCP_SYN | TCP_ACK, NULL, 0) && segment(&a, 0, TCP_ACK, NULL, 0);
	ok = ok && segment(&c, 1, TCP_SYN | TCP_ACK, NULL, 0) && segment(&b, 0, TCP_ACK, NULL, 0);
	ok = ok && segment(&c, 0, TCP_ACK, NULL, 0);
	/* Hellos. */
	ok = ok && hex_data(&a, 0, rfc_client_hello_rec);
	ok = ok && data(&b, 0, rec, hello12(rec, 1, random_b));
	ok = ok && data(&c, 0, (const uint8_t *)get, sizeof(get) - 1);
	ok = ok && hex_data(&a, 1, rfc_server_hello_rec);
	ok = ok && chunk_close() && chunk_open();
	ok = ok && hex_data(&a, 1, rfc_server_flight_rec);
	ok = ok && data(&b, 1, rec, hello12(rec, 2, random_b));
	ok = ok && segment(&d, 0, TCP_SYN, NULL, 0) && segment(&d, 1, TCP_SYN | TCP_ACK, NULL, 0);
	ok = ok && segment(&d, 0, TCP_ACK, NULL, 0);
	ok = ok && hex_data(&a, 0, rfc_client_finished_rec);
	ok = ok && hex_data(&a, 0, rfc_client_app_rec);
	ok = ok && data(&d, 0, rec, hello12(rec, 1, random_d));
	ok = ok && data(&c, 1, (const uint8_t *)"HTTP/1.1 204 No Content\r\n\r\n", 27);
	ok = ok && chunk_close();
	/* The secrets, after the packets: a library, A's from both of its ends, B's, and those of a
	 * connection the packets do not show. */
	ok = ok && chunk_open() && put_library() && put_secret(&secret_a) &&
	     put_secret(&secret_b) && put_secret(&secret_x) && put_secrets_loss(3);
	secret_a.pid = 4343;
	ok = ok && put_secret(&secret_a) && chunk_close();
	ok = CHECK_EQ_INT(jw_close(jw), 0) && ok;
	jw = NULL;
	return ok;
}

/* Run tlsasm's two passes in this process: the pcapng to out (with n_dsb DSBs planned), the key
 * log to keylog. */
static bool assemble_one(const char *out, const char *keylog, size_t n_dsb)
{
	char *paths[1] = { journal };
	struct convert_stats st;
	struct source *src;
	struct survey sv;
	int fd, kfd;
	bool ok;

	if (!CHECK_EQ_INT(source_open(paths, 1, &src), 0))
		return false;
	ok = CHECK_EQ_INT(survey_run(src, &sv, NULL), 0);
	ok = ok && CHECK_EQ_U64(sv.packets, n_packets) && CHECK_EQ_U64(sv.n_dsb, n_dsb);
	kfd = open(keylog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ok = ok && CHECK(kfd >= 0) && CHECK_EQ_INT(survey_write_keylog(&sv, kfd), 0);
	if (kfd >= 0)
		close(kfd);
	source_rewind(src);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ok = ok && CHECK(fd >= 0) &&
	     CHECK_EQ_INT(convert_pcapng(src, fd,
					 &(struct convert_opts){ .next_dsb = survey_next_dsb,
								 .ctx = &sv },
					 &st),
			  0);
	ok = ok && CHECK_EQ_U64(st.packets, n_packets);
	if (fd >= 0)
		close(fd);
	survey_free(&sv);
	source_close(src);
	return ok;
}

/* assemble_one for the journal of write_journal: 3 TLS connections, 2 with secrets, secrets of 1
 * connection not in the packets. */
static bool assemble(const char *out, const char *keylog)
{
	char *paths[1] = { journal };
	struct source *src;
	struct survey sv;
	bool ok;

	if (!CHECK_EQ_INT(source_open(paths, 1, &src), 0))
		return false;
	ok = CHECK_EQ_INT(survey_run(src, &sv, NULL), 0) && CHECK_EQ_U64(sv.tls, 3) &&
	     CHECK_EQ_U64(sv.unmatched, 1) && CHECK_EQ_U64(source_secrets_lost(src), 3);
	{
		struct src_iface *ifs;
		unsigned n = source_interfaces(src, &ifs);

		for (unsigned i = 0; i < n; i++)
			CHECK_EQ_U64(ifs[i].lost, 0);
	}
	survey_free(&sv);
	source_close(src);
	return ok && assemble_one(out, keylog, 2);
}

/* A bounds-checked cursor over the pcapng file. */
struct cur {
	const uint8_t *p, *end;
};

static bool take(struct cur *cur, size_t n, const uint8_t **out)
{
	if ((size_t)(cur->end - cur->p) < n)
		return false;
	*out = cur->p;
	cur->p += n;
	return true;
}

static uint32_t u32_at(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* The connection (of a, b, c, d) an EPB's frame belongs to, and whether it is a SYN. */
static const struct conn *conn_of(const uint8_t *f, uint32_t len, bool *syn)
{
	static const struct conn *const all[] = { &a, &b, &c, &d };
	uint32_t off = 0;
	uint16_t type;
	const uint8_t *tcp;

	if (f[0] >> 4 != 4 && f[0] >> 4 != 6) { /* Ethernet, maybe with the tag put back */
		type = (uint16_t)(f[12] << 8 | f[13]);
		off = 14;
		if (type == 0x8100)
			off = 18;
	}
	tcp = f + off + ((f[off] >> 4) == 4 ? 20 : 40);
	if (!CHECK((uint32_t)(tcp + 20 - f) <= len))
		return NULL;
	*syn = (tcp[13] & (TCP_SYN | TCP_ACK)) == TCP_SYN;
	for (int i = 0; i < 4; i++)
		if (all[i]->port[0] == (tcp[0] << 8 | tcp[1]) ||
		    all[i]->port[0] == (tcp[2] << 8 | tcp[3]))
			return all[i];
	check_failed(__FILE__, __LINE__, "a packet of no connection written");
	return NULL;
}

/*
 * Walk the pcapng: SHB, two IDBs, then EPBs with exactly two DSBs, each right before the SYN of
 * its connection and holding exactly its lines; two ISBs.
 */
static void check_blocks(const char *path, const char *want_b)
{
	size_t size, dsbs = 0, epbs = 0;
	uint8_t *buf = slurp(path, &size);
	struct cur file = { buf, buf + size };
	const char *pending = NULL; /* the lines of the DSB just read */
	size_t pending_len = 0;
	const uint8_t *h = NULL;

	if (!CHECK(buf != NULL))
		return;
	while (file.p < file.end) {
		const uint8_t *body = NULL;
		uint32_t type, len;

		if (!CHECK(take(&file, 8, &h)))
			break;
		type = u32_at(h);
		len = u32_at(h + 4);
		if (!CHECK(len >= 12 && len % 4 == 0) || !CHECK(take(&file, len - 8, &body)) ||
		    !CHECK_EQ_U64(u32_at(body + len - 12), len))
			break;
		check_ctx("block of type 0x%x at offset %zu", type, (size_t)(h - buf));
		if (type == 0xA) {
			uint32_t stype = u32_at(body), slen = u32_at(body + 4);

			dsbs++;
			CHECK_EQ_U64(stype, 0x544c534b);
			/* No options: the secrets, padding to 4 bytes, the trailer. */
			CHECK_EQ_U64(len, 20 + ((slen + 3) & ~3u));
			for (uint32_t k = slen; k < ((slen + 3) & ~3u); k++)
				CHECK_EQ_U64(body[8 + k], 0);
			CHECK_MSG(!pending, "two DSBs in a row");
			pending = (const char *)body + 8;
			pending_len = slen;
		} else if (type == 6) {
			const struct conn *cn;
			bool syn = false;

			epbs++;
			cn = conn_of(body + 20, u32_at(body + 12), &syn);
			if (pending) {
				const char *want = cn == &a ? lines_a : cn == &b ? want_b : "";

				CHECK_MSG(cn == &a || cn == &b,
					  "a DSB before a connection without secrets");
				CHECK_MSG(syn, "a DSB not right before a SYN");
				CHECK_MSG(pending_len == strlen(want) &&
						  !memcmp(pending, want, pending_len),
					  "DSB holds:\n%.*s\nwant:\n%s", (int)pending_len, pending,
					  want);
				CHECK_EQ_U64(epbs - 1, cn ? cn->syn : 0);
			} else if (cn == &a || cn == &b) {
				CHECK_MSG(!syn, "a SYN of a connection with secrets and no DSB");
			}
			pending = NULL;
		} else {
			CHECK_MSG(type == 0x0A0D0D0A || type == 1 || type == 5,
				  "a block of type 0x%x", type);
		}
	}
	check_ctx("%s", "");
	CHECK_EQ_U64(dsbs, 2);
	CHECK_EQ_U64(epbs, n_packets);
	free(buf);
}

/* The lines of text, sorted, one string. */
static char *sorted_lines(const char *text)
{
	size_t n = 0, len = strlen(text), k = 0;
	char *copy = strdup(text), **lines, *out, *p, *save = NULL;

	if (!CHECK(copy != NULL))
		return NULL;
	for (size_t i = 0; i < len; i++)
		n += text[i] == '\n';
	lines = calloc(n + 1, sizeof(*lines));
	out = calloc(len + 2, 1);
	for (p = strtok_r(copy, "\n", &save); p && lines; p = strtok_r(NULL, "\n", &save))
		lines[k++] = p;
	for (size_t i = 0; lines && out && i < k; i++)
		for (size_t j = i + 1; j < k; j++)
			if (strcmp(lines[j], lines[i]) < 0) {
				p = lines[i];
				lines[i] = lines[j];
				lines[j] = p;
			}
	for (size_t i = 0; lines && out && i < k; i++) {
		strcat(out, lines[i]);
		strcat(out, "\n");
	}
	free(lines);
	free(copy);
	return out;
}

static void check_keylog(const char *path, const char *want_b, const char *want_x)
{
	size_t len;
	char *got = (char *)slurp(path, &len), *union_ = malloc(4096), *s1, *s2;

	if (!CHECK(got != NULL) || !CHECK(union_ != NULL)) {
		free(got);
		free(union_);
		return;
	}
	snprintf(union_, 4096, "%s%s%s", lines_a, want_b, want_x);
	s1 = sorted_lines(got);
	s2 = sorted_lines(union_);
	if (s1 && s2)
		CHECK_MSG(!strcmp(s1, s2), "key log:\n%s\nwant the lines of:\n%s", got, union_);
	free(s1);
	free(s2);
	free(got);
	free(union_);
}

static bool same_file(const char *x, const char *y)
{
	size_t nx, ny;
	uint8_t *bx = slurp(x, &nx), *by = slurp(y, &ny);
	bool same = bx && by && nx == ny && !memcmp(bx, by, nx);

	free(bx);
	free(by);
	return CHECK_MSG(same, "%s and %s differ", x, y);
}

/* capinfos counts the DSBs; tshark decrypts A with nothing but the file. */
static void check_wireshark(const char *path)
{
	char *capinfos[] = { "capinfos", (char *)path, NULL };
	char *types[] = { "tshark", "-n", "-r", (char *)path, "-Y", "tcp.port == 41000", "-T",
			  "fields", "-e", "tls.handshake.type", NULL };
	char *hex[] = { "tshark", "-n", "-r", (char *)path, "-Y", "tcp.port == 41000", "-x", NULL };
	char *out;

	if (!need_tool("capinfos", "wireshark-common", "count the decryption secrets") ||
	    !need_tool("tshark", "tshark", "decrypt with the secrets in the file"))
		return;
	out = tool_output(capinfos);
	if (out)
		CHECK_MSG(strstr(out, "Number of decryption secrets in file: 2\n") != NULL,
			  "capinfos does not count 2 decryption secrets:\n%s", out);
	free(out);
	/* ClientHello, ServerHello; then, decrypted, EncryptedExtensions, Certificate,
	 * CertificateVerify and Finished; the client's Finished. */
	out = tool_output(types);
	if (out)
		CHECK_MSG(strstr(out, "\n1\n2\n8,11,15,20\n20\n") != NULL,
			  "tshark did not decrypt the handshake of the RFC 8448 connection:\n%s", out);
	free(out);
	/* The client's application data: the bytes 00..31. */
	out = tool_output(hex);
	if (out)
		CHECK_MSG(strstr(out, "Decrypted TLS (50 bytes):\n"
				      "0000  00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f") != NULL,
			  "tshark did not decrypt the application data of the RFC 8448 connection:\n%s",
			  out);
	free(out);
}

/* The in-process pipeline: DSB placement, the key log, and the same bytes twice. */
static void test_placement(void)
{
	char out1[PATH_MAX], out2[PATH_MAX], k1[PATH_MAX], k2[PATH_MAX], want_b[256],
		want_x[256];

	if (!write_journal())
		return;
	line12(want_b, &secret_b);
	line12(want_x, &secret_x);
	tpath(out1, "one.pcapng");
	tpath(out2, "two.pcapng");
	tpath(k1, "one.keys");
	tpath(k2, "two.keys");
	if (!assemble(out1, k1) || !assemble(out2, k2))
		return;
	check_blocks(out1, want_b);
	check_keylog(k1, want_b, want_x);
	same_file(out1, out2);
	same_file(k1, k2);
	check_wireshark(out1);
}

/* convert_opts.next_dsb of one DSB, then no more. */
struct one_dsb {
	struct convert_dsb d;
	bool given;
};

static int next_one(void *ctx, struct convert_dsb *out)
{
	struct one_dsb *o = ctx;

	if (o->given)
		return 0;
	o->given = true;
	*out = o->d;
	return 1;
}

/*
 * A connection after 1500 key updates each way: its 3005 lines (about 570 KB) are more than one
 * DSB takes; they go in several, cut at line ends, all before its SYN. convert_pcapng given them
 * all as one DSB cuts it into the very same blocks.
 */
static void test_large_dsb(void)
{
	enum { GEN = 1500 };
	char out[PATH_MAX], keys[PATH_MAX];
	struct conn e;
	struct tr_secret s;
	struct keylog k;
	uint8_t rec[256], cr[32];
	size_t size, dsbs = 0, total = 0, lines = 0;
	uint8_t *buf;
	bool ok;

	rnd_seed(0xB16D);
	if (!CHECK_EQ_INT(keylog_init(&k), 0))
		return;
	memset(&s, 0, sizeof(s));
	s.hdr = (struct tr_rec){ .type = TR_REC_SECRET, .len = sizeof(s) };
	s.cipher = 0x03001302;
	s.version = 0x0304;
	s.flags = TR_SEC_TLS13;
	rnd_bytes(cr, 32);
	memcpy(s.client_random, cr, 32);
	rnd_bytes(s.handshake_secret, TR_SECRET_LEN);
	rnd_bytes(s.master_secret, TR_SECRET_LEN);
	rnd_bytes(s.handshake_traffic_hash, TR_SECRET_LEN);
	rnd_bytes(s.server_finished_hash, TR_SECRET_LEN);
	rnd_bytes(s.exporter_secret, TR_SECRET_LEN);
	/* The current generations, derived by the code under test: the split is under test. A
	 * record every 50 key updates, as tlsrec writes one at each. */
	ok = !keylog_expand_label(&k, "SHA384", s.master_secret, 48, "c ap traffic",
				  s.server_finished_hash, 48, s.client_app_secret, 48) &&
	     !keylog_expand_label(&k, "SHA384", s.master_secret, 48, "s ap traffic",
				  s.server_finished_hash, 48, s.server_app_secret, 48);
	conn_init(&e, 4, "198.51.100.1", "198.51.100.2", 45000, 443, 2);
	ok = CHECK(ok) && journal_open("large.lz4") && chunk_open();
	ok = ok && segment(&e, 0, TCP_SYN, NULL, 0) && segment(&e, 1, TCP_SYN | TCP_ACK, NULL, 0);
	ok = ok && segment(&e, 0, TCP_ACK, NULL, 0) && data(&e, 0, rec, hello12(rec, 1, cr));
	for (int g = 1; ok && g <= GEN; g++) {
		ok = !keylog_expand_label(&k, "SHA384", s.client_app_secret, 48, "traffic upd",
					  NULL, 0, s.client_app_secret, 48) &&
		     !keylog_expand_label(&k, "SHA384", s.server_app_secret, 48, "traffic upd",
					  NULL, 0, s.server_app_secret, 48);
		if (ok && g % 50 == 0)
			ok = put_secret(&s);
	}
	keylog_free(&k);
	ok = CHECK(ok) && chunk_close();
	ok = CHECK_EQ_INT(jw_close(jw), 0) && ok;
	jw = NULL;
	tpath(out, "large.pcapng");
	tpath(keys, "large.keys");
	if (!ok || !assemble_one(out, keys, 1))
		return;
	buf = slurp(out, &size);
	if (!CHECK(buf != NULL))
		return;
	/* SHB, IDB, IDB, then the DSBs, then the SYN. */
	for (size_t off = 0; off + 12 <= size;) {
		uint32_t type = u32_at(buf + off), len = u32_at(buf + off + 4), slen;

		if (!CHECK(len >= 12 && len <= size - off))
			break;
		if (type == 6)
			break;
		if (type == 0xA) {
			slen = u32_at(buf + off + 12);
			dsbs++;
			total += slen;
			CHECK(slen <= PCAPNG_DSB_MAX);
			CHECK_EQ_U64(buf[off + 16 + slen - 1], '\n');
			for (uint32_t i = 0; i < slen; i++)
				lines += buf[off + 16 + i] == '\n';
		}
		off += len;
	}
	CHECK(dsbs >= 3);
	CHECK_EQ_U64(lines, 2 + (GEN + 1) * 2 + 1);
	free(buf);
	{
		char *paths[1] = { journal }, whole[PATH_MAX];
		struct one_dsb one = { .d = { .before = e.syn } };
		struct convert_stats st;
		struct source *src;
		size_t klen;
		uint8_t *kl = slurp(keys, &klen);
		int fd;

		tpath(whole, "large-whole.pcapng");
		fd = open(whole, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (CHECK(kl != NULL) && CHECK_EQ_U64(total, klen) && CHECK(fd >= 0) &&
		    CHECK_EQ_INT(source_open(paths, 1, &src), 0)) {
			one.d.lines = (const char *)kl;
			one.d.len = klen;
			CHECK_EQ_INT(convert_pcapng(src, fd,
						    &(struct convert_opts){ .next_dsb = next_one,
									    .ctx = &one },
						    &st),
				     0);
			source_close(src);
			same_file(out, whole);
		}
		if (fd >= 0)
			close(fd);
		free(kl);
	}
}

/*
 * Connections that share a client random (one connection recorded before and after NAT, or a
 * crafted journal): its lines go once, before the first of them, and every one of them counts as
 * having secrets.
 */
static void test_repeated_random(void)
{
	char *paths[1] = { journal };
	struct tr_secret s;
	struct conn e[5];
	struct source *src;
	struct survey sv;
	uint8_t rec[256], cr[32];
	bool ok;

	rnd_seed(0x5EED);
	rnd_bytes(cr, 32);
	memset(&s, 0, sizeof(s));
	s.hdr = (struct tr_rec){ .type = TR_REC_SECRET, .len = sizeof(s) };
	s.cipher = 0x0300c02f;
	s.version = 0x0303;
	s.flags = TR_SEC_TLS12;
	memcpy(s.client_random, cr, 32);
	rnd_bytes(s.master_key, 48);
	ok = journal_open("repeated.lz4") && chunk_open();
	for (int i = 0; ok && i < 5; i++) {
		conn_init(&e[i], 4, "198.51.100.1", "198.51.100.2", (uint16_t)(46000 + i), 443, 2);
		ok = segment(&e[i], 0, TCP_SYN, NULL, 0) &&
		     segment(&e[i], 1, TCP_SYN | TCP_ACK, NULL, 0) &&
		     segment(&e[i], 0, TCP_ACK, NULL, 0) && data(&e[i], 0, rec, hello12(rec, 1, cr));
	}
	ok = ok && put_secret(&s) && chunk_close();
	ok = CHECK_EQ_INT(jw_close(jw), 0) && ok;
	jw = NULL;
	if (!ok || !CHECK_EQ_INT(source_open(paths, 1, &src), 0))
		return;
	if (CHECK_EQ_INT(survey_run(src, &sv, NULL), 0)) {
		struct convert_dsb dsb;

		CHECK_EQ_U64(sv.tls, 5);
		CHECK_EQ_U64(sv.with_secrets, 5);
		CHECK_EQ_U64(sv.n_dsb, 1);
		CHECK_EQ_INT(survey_next_dsb(&sv, &dsb), 1);
		CHECK_EQ_U64(dsb.before, e[0].syn);
		CHECK_EQ_INT(survey_next_dsb(&sv, &dsb), 0);
	}
	survey_free(&sv);
	source_close(src);
}

static const char *tlsasm;

/* The tlsasm binary: the report, --keylog alone and with -o, modes, byte-identical runs. */
static void test_binary(void)
{
	char out1[PATH_MAX], out2[PATH_MAX], k1[PATH_MAX], k2[PATH_MAX], err[PATH_MAX],
		want_b[256], want_x[256], cr_d[65], line[256];
	char *both[] = { (char *)tlsasm, journal, "-o", out1, "--keylog", k1, NULL };
	char *again[] = { (char *)tlsasm, journal, "-o", out2, NULL };
	char *keys_only[] = { (char *)tlsasm, "--keylog", k2, journal, NULL };
	struct stat st;
	uint8_t *text;
	size_t len;

	if (!journal[0] && !write_journal())
		return;
	line12(want_b, &secret_b);
	line12(want_x, &secret_x);
	tpath(out1, "bin1.pcapng");
	tpath(out2, "bin2.pcapng");
	tpath(k1, "bin1.keys");
	tpath(k2, "bin2.keys");
	tpath(err, "bin.err");
	CHECK_EQ_INT(run_tool(both, NULL, err), 0);
	text = slurp(err, &len);
	if (CHECK(text != NULL)) {
		hexs(cr_d, random_d, 32);
		snprintf(line, sizeof(line),
			 "tlsasm: no secrets for 10.9.0.1:44000 -> 10.9.0.2:443 (client random %s)\n",
			 cr_d);
		CHECK_MSG(strstr((char *)text, "tlsasm: 3 TLS connections in the packets, 2 with secrets\n") &&
				  strstr((char *)text, line) &&
				  strstr((char *)text, "tlsasm: secrets of 1 TLS connection match no connection in these packets\n") &&
				  strstr((char *)text, "tlsasm: tlsrec lost 3 TLS secret records while recording"),
			  "the report:\n%s\nwant among it:\n%s", text, line);
		CHECK_MSG(!strstr((char *)text, "192.0.2.3"), "the HTTP connection is reported:\n%s",
			  text);
	}
	free(text);
	check_blocks(out1, want_b);
	check_keylog(k1, want_b, want_x);
	CHECK(!stat(k1, &st) && (st.st_mode & 0777) == 0600);
	CHECK_EQ_INT(run_tool(again, NULL, NULL), 0);
	same_file(out1, out2);
	CHECK_EQ_INT(run_tool(keys_only, NULL, NULL), 0);
	same_file(k1, k2);
	CHECK(!stat(k2, &st) && (st.st_mode & 0777) == 0600);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s TLSASM\n", argv[0]);
		return EXIT_FAILURE;
	}
	if (!tmpdir_make("tlsasm-secrets"))
		return EXIT_FAILURE;
	if (!CHECK_EQ_INT(chunk_encoder_init(&enc), 0) ||
	    !CHECK_EQ_INT(chunkbuf_init(&cb, 1u << 20), 0))
		return check_exit();
	tlsasm = argv[1];
	CHECK_RUN(test_placement);
	CHECK_RUN(test_binary);
	CHECK_RUN(test_large_dsb);
	CHECK_RUN(test_repeated_random);
	chunkbuf_free(&cb);
	chunk_encoder_free(&enc);
	tmpdir_remove();
	return check_exit();
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * The filter translator (recorder/cbpf.c) against libpcap: for a corpus of tcpdump expressions,
 * compiled by libpcap for Ethernet and raw IP, the translated program run by the kernel with
 * BPF_PROG_TEST_RUN must return what pcap_offline_filter returns on the same bytes (the capture
 * length included, both taken as min(value, packet length)), on thousands of packets: generated
 * (IPv4 with options and fragments, IPv6, VLAN and QinQ, MPLS, PPPoE, Geneve, TCP, UDP, ICMP, ARP),
 * truncated, mutated at random, and the real ones of tests/fuzz/seed. Also: the verifier accepts
 * every program of the corpus with both endings, the tail call carries the capture length, and
 * what the translator cannot translate is refused with a reason. Needs root (CAP_BPF).
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cbpf.h"
#include "cbpf_pcap.h"
#include "check.h"
#include "journal.h"
#include "pcap_run.h"

#define LINKTYPE_ETHERNET 1
#define LINKTYPE_RAW 101
#define SNAPLEN 262144
#define MAX_PKT 1600
#define MAX_PKTS 6000
#define ETH_MIN 14 /* BPF_PROG_TEST_RUN takes no shorter packet */

static const char *const corpus[] = {
	/* ports, hosts, nets, protocols */
	"tcp port 443", "udp port 53", "port 80 or port 443", "tcp dst port 443", "udp src port 53",
	"portrange 1000-2000", "tcp portrange 8000-9000", "host 10.0.0.1",
	"src host 10.0.0.1 and dst host 10.0.0.2", "net 10.0.0.0/24", "src net 192.168.0.0/16",
	"dst net 2001:db8::/32", "host fe80::1", "ip6 host 2001:db8::1", "ip host 10.0.0.2",
	"tcp", "udp", "icmp", "icmp6", "ip", "ip6", "arp", "ip proto 17", "ip6 proto 6",
	"ip multicast", "ip6 multicast", "ip dst 224.0.0.1", "ip6 and tcp port 443",
	/* VLAN, MPLS, PPPoE, Geneve */
	"vlan", "vlan 100", "vlan and tcp port 443", "vlan 100 and vlan 200", "vlan and ip6",
	"mpls", "mpls and ip", "pppoes", "pppoes and tcp", "geneve", "geneve && tcp",
	/* tcpdump's TESTLIST: the only expressions it holds */
	"pppoes 0x3b", "geneve 0xb",
	/* flags, lengths, fragments, header fields */
	"tcp[tcpflags] & tcp-syn != 0", "tcp[tcpflags] & (tcp-syn|tcp-fin) != 0 and not tcp[tcpflags] & tcp-ack != 0",
	"tcp[13] = 18", "len <= 100", "len > 1000", "greater 200", "less 64",
	"ip[6:2] & 0x1fff != 0", "ip[6] & 0x20 != 0", "udp and ip[6:2] & 0x3fff != 0",
	"ip[0] & 0xf > 5", "ip[8] < 64", "icmp[icmptype] = icmp-echo", "icmp6 and ip6[40] = 128",
	"udp[8:4] = 0x01020304", "tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x16030100",
	"tcp dst port 443 and tcp[((tcp[12] & 0xf0) >> 2)] = 0x16", "ip6[6] = 17",
	/* Ethernet */
	"ether host 02:00:00:00:00:01", "ether src 02:00:00:00:00:01", "ether dst ff:ff:ff:ff:ff:ff",
	"ether broadcast", "ether multicast", "ether proto 0x0800", "ether[12:2] = 0x0800 and ether[23] = 6",
	"link[0] & 1 = 1",
	/* and, or, not */
	"not tcp port 22", "tcp port 443 and (host 10.0.0.1 or host 10.0.0.2)",
	"ip and not net 10.0.0.0/8", "ip host 10.0.0.1 and (tcp or udp)",
	"tcp port 443 and len > 100 and len < 1000", "not (ip or ip6)", "icmp or (udp and not port 53)",
	/* arithmetic: every ALU operation with K and X, X loads, comparisons against X */
	"ip[2:2] - ((ip[0] & 0xf) << 2) > 100", "len * 2 > 300", "len / 3 = 20", "len % 7 = 1",
	"(len ^ 0xff) & 1 = 0", "-len < 0x80000000", "len + 1 > 60", "(len | 3) = 63",
	"ether[0] << (ether[1] & 7) > 10",
	"ether[0] << ether[1] != 0", "ether[2:4] >> ether[1] != 0", "ip[12:4] = ip[16:4]",
	"tcp[0:2] > tcp[2:2]", "tcp[0:2] >= tcp[2:2]", "tcp[4:4] & tcp[8:4] != 0",
	"len - 14 = ip[2:2]", "ip[2:2] * 4 > len", "ether[len - 1] = 0", "ether[ether[0] & 0x3f] > 3",
	"udp[4:2] - 8 = len - 42 - ip[0] + 0x45",
};

struct pkt {
	uint8_t data[MAX_PKT];
	uint32_t len;
	uint32_t l3; /* the IP header: raw IP runs start there; 0 when there is none */
};

static struct pkt *pkts;
static size_t npkts;

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

#define PICK(a) ((a)[rnd(sizeof(a) / sizeof((a)[0]))])

static void fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd(256);
}

static size_t gen_eth(uint8_t *p, uint32_t *l3, int depth);

/* A transport header and payload for proto at p; returns its length. */
static size_t gen_l4(uint8_t *p, uint8_t proto, int depth)
{
	static const unsigned ports[] = { 443, 80, 22, 8443, 53, 1500, 12345, 6081, 8080, 2000 };
	size_t n = 0, payload = rnd(4) ? rnd(120) : rnd(900);
	uint32_t unused;

	switch (proto) {
	case 6:
		put16(p, rnd(8) ? PICK(ports) : rnd(65536));
		put16(p + 2, rnd(8) ? PICK(ports) : rnd(65536));
		fill(p + 4, 8);
		p[12] = rnd(3) ? 0x50 : 0x80; /* data offset: 20 or 32 bytes */
		p[13] = rnd(2) ? (uint8_t)PICK(((const unsigned[]){ 0x02, 0x12, 0x10, 0x18, 0x11, 0x04 }))
			       : (uint8_t)rnd(256);
		fill(p + 14, 18);
		n = p[12] >> 2;
		if (rnd(3) == 0) { /* a TLS handshake record */
			memcpy(p + n, (const uint8_t[]){ 0x16, 0x03, 0x01, 0x00 }, 4);
			n += 4;
		}
		break;
	case 17:
		put16(p, rnd(8) ? PICK(ports) : rnd(65536));
		put16(p + 2, rnd(8) ? PICK(ports) : rnd(65536));
		if (depth < 1 && rnd(4) == 0)
			put16(p + 2, 6081);
		n = 8;
		if (p[2] == 6081 >> 8 && p[3] == (6081 & 0xff) && depth < 1) { /* Geneve */
			memcpy(p + 8, (const uint8_t[]){ 0, 0, 0x65, 0x58, 0, 0, rnd(2) ? 0xb : 0x7, 0 },
			       8);
			n = 16 + gen_eth(p + 16, &unused, depth + 1);
			payload = 0;
		} else if (rnd(4) == 0) {
			memcpy(p + 8, (const uint8_t[]){ 1, 2, 3, 4 }, 4);
			n = 12;
		}
		put16(p + 4, (unsigned)(n + payload));
		fill(p + 6, 2);
		break;
	case 1:
	case 58:
		p[0] = (uint8_t)PICK(((const unsigned[]){ 8, 0, 3, 11, 128, 129, 135 }));
		fill(p + 1, 7);
		n = 8;
		break;
	}
	fill(p + n, payload);
	return n + payload;
}

static size_t gen_ipv4(uint8_t *p, int depth)
{
	static const uint8_t addrs[][4] = { { 10, 0, 0, 1 },	 { 10, 0, 0, 2 }, { 10, 0, 1, 5 },
					    { 192, 168, 1, 10 }, { 224, 0, 0, 1 }, { 8, 8, 8, 8 },
					    { 255, 255, 255, 255 } };
	static const uint8_t protos[] = { 6, 6, 6, 17, 17, 1, 47, 132 };
	unsigned ihl = rnd(5) ? 5 : 5 + rnd(3);
	uint8_t proto = PICK(protos);
	size_t n = ihl * 4;
	unsigned frag = 0;

	p[0] = (uint8_t)(0x40 | ihl);
	p[1] = (uint8_t)rnd(256);
	fill(p + 4, 2);
	switch (rnd(10)) {
	case 0:
		frag = 0x2000; /* more fragments */
		break;
	case 1:
		frag = 1 + rnd(0x1fff); /* a later fragment */
		break;
	}
	put16(p + 6, frag | (rnd(2) ? 0x4000 : 0));
	p[8] = (uint8_t)PICK(((const unsigned[]){ 64, 1, 128, 255 }));
	p[9] = proto;
	fill(p + 10, 2);
	memcpy(p + 12, PICK(addrs), 4);
	memcpy(p + 16, PICK(addrs), 4);
	memset(p + 20, 1, n - 20); /* NOP options */
	n += gen_l4(p + n, proto, depth);
	put16(p + 2, (unsigned)n);
	return n;
}

static size_t gen_ipv6(uint8_t *p, int depth)
{
	static const uint8_t addrs[][16] = {
		{ 0x20, 0x01, 0x0d, 0xb8, [15] = 1 }, { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 },
		{ 0xfe, 0x80, [15] = 1 },	      { 0xff, 0x02, [15] = 1 },
		{ [15] = 1 },
	};
	static const uint8_t nexts[] = { 6, 6, 17, 58, 0, 44 };
	uint8_t next = PICK(nexts), proto = next;
	size_t n = 40;

	p[0] = 0x60;
	fill(p + 1, 3);
	p[6] = next;
	p[7] = 64;
	memcpy(p + 8, PICK(addrs), 16);
	memcpy(p + 24, PICK(addrs), 16);
	if (next == 0 || next == 44) { /* hop-by-hop options or fragment header, then TCP or UDP */
		proto = rnd(2) ? 6 : 17;
		p[n] = proto;
		p[n + 1] = 0;
		fill(p + n + 2, 6);
		n += 8;
	}
	n += gen_l4(p + n, proto, depth);
	put16(p + 4, (unsigned)(n - 40));
	return n;
}

/* An Ethernet frame, VLAN tags and all; *l3 gets the IP header's offset (0: none). */
static size_t gen_eth(uint8_t *p, uint32_t *l3, int depth)
{
	static const uint8_t macs[][6] = { { 2, 0, 0, 0, 0, 1 },	   { 2, 0, 0, 0, 0, 2 },
					   { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
					   { 1, 0, 0x5e, 0, 0, 1 } };
	static const unsigned vids[] = { 100, 200, 7 };
	size_t n = 12;
	unsigned tags = rnd(4) ? 0 : 1 + rnd(2), kind = rnd(20);

	memcpy(p, PICK(macs), 6);
	memcpy(p + 6, PICK(macs), 6);
	for (unsigned i = 0; i < tags; i++, n += 4) {
		put16(p + n, i == 0 && tags == 2 ? 0x88a8 : 0x8100);
		put16(p + n + 2, PICK(vids) | (rnd(8) << 13));
	}
	*l3 = 0;
	if (kind < 9) {
		put16(p + n, 0x0800);
		*l3 = (uint32_t)(n + 2);
		return *l3 + gen_ipv4(p + *l3, depth);
	}
	if (kind < 16) {
		put16(p + n, 0x86dd);
		*l3 = (uint32_t)(n + 2);
		return *l3 + gen_ipv6(p + *l3, depth);
	}
	if (kind == 16) { /* MPLS, one label, bottom of stack, then IPv4 */
		put16(p + n, 0x8847);
		memcpy(p + n + 2, (const uint8_t[]){ 0, 0x10, 0x01, 0x40 }, 4);
		return n + 6 + gen_ipv4(p + n + 6, depth);
	}
	if (kind == 17) { /* PPPoE session, PPP IPv4 */
		size_t ip;

		put16(p + n, 0x8864);
		p[n + 2] = 0x11;
		p[n + 3] = 0;
		put16(p + n + 4, rnd(2) ? 0x3b : rnd(65536));
		put16(p + n + 8, 0x0021);
		ip = gen_ipv4(p + n + 10, depth);
		put16(p + n + 6, (unsigned)(ip + 2));
		return n + 10 + ip;
	}
	put16(p + n, kind == 18 ? 0x0806 : rnd(65536)); /* ARP, or anything */
	fill(p + n + 2, 28 + rnd(40));
	return n + 30 + rnd(10);
}

static struct pkt *add_pkt(void)
{
	return npkts < MAX_PKTS ? &pkts[npkts++] : NULL;
}

static void gen_packets(size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct pkt *p = add_pkt();
		uint8_t buf[2 * MAX_PKT] = { 0 };
		size_t len = gen_eth(buf, &p->l3, 0);

		if (len > MAX_PKT)
			len = MAX_PKT;
		if (rnd(8) == 0) /* truncated */
			len = ETH_MIN + rnd((uint32_t)(len - ETH_MIN + 1));
		memcpy(p->data, buf, len);
		p->len = (uint32_t)len;
		if (p->l3 + ETH_MIN > p->len)
			p->l3 = 0;
	}
}

/* Copies of random packets with a few bytes changed, mostly in the headers. */
static void mutate_packets(size_t n)
{
	size_t base = npkts;

	for (size_t i = 0; i < n; i++) {
		struct pkt *p = add_pkt();

		*p = pkts[rnd((uint32_t)base)];
		for (unsigned j = 0, changes = 1 + rnd(4); j < changes; j++) {
			uint32_t at = rnd(p->len < 96 ? p->len : 96);

			p->data[at] = rnd(2) ? (uint8_t)rnd(256) : p->data[at] ^ (uint8_t)(1 << rnd(8));
		}
	}
}

/* The PACKET records of a journal: real traffic as tlsrec recorded it (Ethernet on lo). */
static void journal_packets(const char *path)
{
	struct journal_reader *r;
	const char *why = NULL;
	struct jr_chunk c;
	uint8_t *buf = NULL;

	if (!CHECK_EQ_INT(jr_open(path, NULL, NULL, &r, &why), 0))
		return;
	while (jr_next(r, &c) == 1) {
		struct rec_iter it;
		struct tr_rec hdr;
		const uint8_t *rec;
		uint8_t *nbuf = realloc(buf, c.meta.raw_len);

		if (!CHECK(nbuf) || !CHECK_EQ_INT(jr_load(r, &c, nbuf), 0)) {
			free(nbuf);
			buf = NULL;
			break;
		}
		buf = nbuf;
		it = (struct rec_iter){ buf, buf + c.meta.raw_len };
		while (rec_next(&it, &hdr, &rec) == 1) {
			struct tr_packet tp;
			struct pkt *p;

			if (hdr.type != TR_REC_PACKET || rec_fixed(rec, &hdr, &tp, sizeof(tp)) ||
			    tp.cap_len < ETH_MIN || tp.cap_len > MAX_PKT || !(p = add_pkt()))
				continue;
			memcpy(p->data, rec + sizeof(tp), tp.cap_len);
			p->len = tp.cap_len;
			p->l3 = 14;
		}
	}
	free(buf);
	jr_close(r);
}

/* Load a translated program; the verifier's log printed when it refuses. Returns the fd or -1. */
static int load(const struct cbpf_out *prog, const char *what)
{
	static char log[1 << 20];
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_buf = log, .log_size = sizeof(log));
	int fd;

	log[0] = '\0';
	fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "cbpf_test", "Dual BSD/GPL", prog->insns,
			   prog->n, &opts);
	CHECK_MSG(fd >= 0, "the verifier refused %s: %s\n%s", what, strerror(errno), log);
	return fd;
}

/*
 * Whether BPF_PROG_TEST_RUN takes the packet: it reads bytes 12-13 as an EtherType (raw IP too)
 * and refuses an IPv4 or IPv6 one with less than that header after the first 14 bytes.
 */
static bool runnable(const uint8_t *data, uint32_t len)
{
	unsigned type = (unsigned)data[12] << 8 | data[13];

	return len >= ETH_MIN && !(type == 0x0800 && len < ETH_MIN + 20) &&
	       !(type == 0x86dd && len < ETH_MIN + 40);
}

static uint32_t run(int fd, const uint8_t *data, uint32_t len)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data, .data_size_in = len, .repeat = 1);

	if (!CHECK_EQ_INT(bpf_prog_test_run_opts(fd, &opts), 0))
		return UINT32_MAX - 1;
	return opts.retval;
}

static bool translate(const char *expr, int linktype, enum cbpf_end end, int map_fd,
		      struct sock_filter **cbpf, size_t *ncbpf, struct cbpf_out *out)
{
	char err[512];

	if (cbpf_compile(expr, linktype, SNAPLEN, cbpf, ncbpf, err, sizeof(err))) {
		/* "ether host" on raw IP, for instance; Ethernet takes them all */
		CHECK_MSG(linktype == LINKTYPE_RAW, "libpcap refused '%s': %s", expr, err);
		return false;
	}
	if (CHECK_MSG(!cbpf_translate(*cbpf, *ncbpf, end, map_fd, 0, out, err, sizeof(err)),
		      "%s: %s", expr, err))
		return true;
	free(*cbpf);
	return false;
}

static void dump(const uint8_t *data, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		fprintf(stderr, "%02x%s", data[i], i % 32 == 31 || i + 1 == len ? "\n" : " ");
}

/* Every packet through expr's program in the kernel and in libpcap. Returns how many matched. */
static size_t compare(const char *expr, int linktype, int fd, const struct sock_filter *cbpf,
		      size_t ncbpf)
{
	size_t matched = 0;

	for (size_t i = 0; i < npkts; i++) {
		const struct pkt *p = &pkts[i];
		uint32_t off = linktype == LINKTYPE_RAW ? p->l3 : 0;
		uint32_t len = p->len - off, want, got;

		if ((linktype == LINKTYPE_RAW && !off) || !runnable(p->data + off, len))
			continue;
		want = pcap_run(cbpf, ncbpf, p->data + off, len);
		want = want < len ? want : len;
		got = run(fd, p->data + off, len);
		matched += want != 0;
		if (!CHECK_MSG(got == want, "'%s' (link type %d) on packet %zu (%u bytes): kernel %u, "
			       "libpcap %u", expr, linktype, i, len, got, want)) {
			dump(p->data + off, len);
			return matched;
		}
	}
	return matched;
}

static void test_differential(void)
{
	static const int linktypes[] = { LINKTYPE_ETHERNET, LINKTYPE_RAW };
	size_t programs = 0, never = 0, always = 0;

	for (size_t e = 0; e < sizeof(corpus) / sizeof(corpus[0]); e++) {
		for (size_t l = 0; l < 2; l++) {
			struct sock_filter *cbpf;
			struct cbpf_out out;
			size_t ncbpf, matched;
			int fd;

			check_ctx("%s, link type %d", corpus[e], linktypes[l]);
			if (!translate(corpus[e], linktypes[l], CBPF_END_RETURN, -1, &cbpf, &ncbpf,
				       &out))
				continue;
			fd = load(&out, corpus[e]);
			if (fd >= 0) {
				matched = compare(corpus[e], linktypes[l], fd, cbpf, ncbpf);
				programs++;
				never += matched == 0;
				always += matched == npkts;
				close(fd);
			}
			free(out.insns);
			free(cbpf);
		}
	}
	check_ctx("%s", "");
	fprintf(stderr, "%zu programs on %zu packets (%zu matched none, %zu all)\n", programs,
		npkts, never, always);
	CHECK(programs > 150);
	CHECK(never < programs / 10); /* the packets exercise the expressions */
}

/*
 * What libpcap 1.10 does not emit: division and modulo by X (it refuses them, "division by zero",
 * whatever the divisor), RET A of a computed value, the capture length a program may return, and
 * jumps against X with a k (classic BPF ignores it; eBPF refuses an immediate there).
 */
static void test_handmade(void)
{
	static const struct {
		const char *name;
		struct sock_filter insns[8];
		size_t n;
	} progs[] = {
		{ "len / P[1] + 1", { BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 1),
				      BPF_STMT(BPF_MISC | BPF_TAX, 0), BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
				      BPF_STMT(BPF_ALU | BPF_DIV | BPF_X, 0),
				      BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, 1), BPF_STMT(BPF_RET | BPF_A, 0) },
		  6 },
		{ "len % P[1]", { BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 1), BPF_STMT(BPF_MISC | BPF_TAX, 0),
				  BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
				  BPF_STMT(BPF_ALU | BPF_MOD | BPF_X, 0), BPF_STMT(BPF_RET | BPF_A, 0) },
		  5 },
		{ "P[20:4] / 3 % 1000 at [X + 1], X = M[3] = P[14] & 0xf << 2",
		  { BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 14), BPF_STMT(BPF_STX, 3),
		    BPF_STMT(BPF_LDX | BPF_W | BPF_MEM, 3), BPF_STMT(BPF_LD | BPF_W | BPF_IND, 1),
		    BPF_STMT(BPF_ALU | BPF_DIV | BPF_K, 3), BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, 1000),
		    BPF_STMT(BPF_RET | BPF_A, 0) },
		  7 },
		{ "P[12:2] > P[13] (jgt x, k = 77), P[12] & X (jset x, k = 5)",
		  { BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 13), BPF_STMT(BPF_MISC | BPF_TAX, 0),
		    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
		    BPF_JUMP(BPF_JMP | BPF_JGT | BPF_X, 77, 0, 3),
		    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 12),
		    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_X, 5, 0, 1), BPF_STMT(BPF_RET | BPF_K, 60),
		    BPF_STMT(BPF_RET | BPF_K, 0) },
		  8 },
		{ "-P[2:2] then TXA", { BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 2),
					BPF_STMT(BPF_ALU | BPF_NEG, 0), BPF_STMT(BPF_MISC | BPF_TAX, 0),
					BPF_STMT(BPF_LD | BPF_IMM, 7), BPF_STMT(BPF_MISC | BPF_TXA, 0),
					BPF_STMT(BPF_RET | BPF_A, 0) },
		  6 },
	};

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		struct cbpf_out out;
		char err[256];
		int fd;

		check_ctx("%s", progs[i].name);
		if (!CHECK_MSG(!cbpf_translate(progs[i].insns, progs[i].n, CBPF_END_RETURN, -1, 0, &out,
					       err, sizeof(err)), "%s", err))
			continue;
		fd = load(&out, progs[i].name);
		if (fd >= 0) {
			CHECK(compare(progs[i].name, LINKTYPE_ETHERNET, fd, progs[i].insns,
				      progs[i].n) > 0);
			close(fd);
		}
		free(out.insns);
	}
}

/* A program for the tail call's slot 0: returns the capture length in cb[0] plus 1000000. */
static int cb_reader(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_LDX | BPF_MEM | BPF_W, .dst_reg = BPF_REG_0, .src_reg = BPF_REG_1,
		  .off = offsetof(struct __sk_buff, cb[0]) },
		{ .code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = BPF_REG_0, .imm = 1000000 },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "cbpf_cb", "Dual BSD/GPL", insns, 3, NULL);
}

/*
 * The verifier takes every program of the corpus with the tail call ending; for some, the tail
 * call is run: no match returns TC_ACT_UNSPEC, a match calls slot 0 with the length in cb[0].
 */
static void test_tail_call(void)
{
	int map = bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, "cbpf_slots", 4, 4, 1, NULL);
	int target = cb_reader();
	__u32 slot = 0;

	if (!CHECK(map >= 0) || !CHECK(target >= 0) ||
	    !CHECK_EQ_INT(bpf_map_update_elem(map, &slot, &target, BPF_ANY), 0))
		goto out;
	for (size_t e = 0; e < sizeof(corpus) / sizeof(corpus[0]); e++) {
		struct sock_filter *cbpf;
		struct cbpf_out prog;
		size_t ncbpf;
		int fd;

		check_ctx("%s", corpus[e]);
		if (!translate(corpus[e], LINKTYPE_ETHERNET, CBPF_END_TAIL_CALL, map, &cbpf, &ncbpf,
			       &prog))
			continue;
		fd = load(&prog, corpus[e]);
		for (size_t i = 0; fd >= 0 && e % 8 == 0 && i < npkts; i += 7) {
			const struct pkt *p = &pkts[i];
			uint32_t want = pcap_run(cbpf, ncbpf, p->data, p->len);

			if (!runnable(p->data, p->len))
				continue;
			want = want < p->len ? want : p->len;
			if (!CHECK_EQ_U64(run(fd, p->data, p->len),
					  want ? want + 1000000 : (uint32_t)-1))
				break;
		}
		if (fd >= 0)
			close(fd);
		free(prog.insns);
		free(cbpf);
	}
out:
	if (target >= 0)
		close(target);
	if (map >= 0)
		close(map);
}

static void refused(const struct sock_filter *in, size_t n, const char *reason)
{
	struct cbpf_out out = { 0 };
	char err[256] = "";

	check_ctx("%s", reason);
	CHECK_EQ_INT(cbpf_translate(in, n, CBPF_END_RETURN, -1, 0, &out, err, sizeof(err)), -EINVAL);
	CHECK_MSG(strstr(err, reason), "reason '%s', wanted '%s'", err, reason);
	CHECK(!out.insns);
}

/* What the translator cannot translate is refused, with a reason. */
static void test_refused(void)
{
	const struct sock_filter ret = BPF_STMT(BPF_RET | BPF_K, 0xffff);
	const struct sock_filter ancillary[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (__u32)(SKF_AD_OFF + SKF_AD_PROTOCOL)), ret
	};
	const struct sock_filter net_off[] = { BPF_STMT(BPF_LD | BPF_B | BPF_ABS, (__u32)SKF_NET_OFF),
					       ret };
	const struct sock_filter no_return[] = { ret, BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0) };
	const struct sock_filter out_of[] = { BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0), ret };
	const struct sock_filter mem[] = { BPF_STMT(BPF_ST, 16), ret };
	const struct sock_filter div0[] = { BPF_STMT(BPF_ALU | BPF_DIV | BPF_K, 0), ret };
	const struct sock_filter shift[] = { BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 32), ret };
	const struct sock_filter ret_x[] = { BPF_STMT(BPF_RET | BPF_X, 0) };

	refused(ancillary, 2, "SKF_AD_*");
	refused(net_off, 2, "SKF_NET_OFF");
	refused(no_return, 2, "does not end with a return");
	refused(out_of, 2, "jump out of the program");
	refused(mem, 2, "M[16]");
	refused(div0, 2, "division by zero");
	refused(shift, 2, "shift by 32 bits");
	refused(ret_x, 1, "unknown return");
	refused(&ret, 0, "a program has 1 to 4096");
}

/* ns per run of the program on the packet, BPF_PROG_TEST_RUN's own average over `repeat` runs. */
static double ns_per_run(int fd, const uint8_t *data, uint32_t len, int repeat)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data, .data_size_in = len, .repeat = repeat);

	if (bpf_prog_test_run_opts(fd, &opts))
		return -1;
	return opts.duration;
}

/*
 * test_filter_bpf --bench EXPR: what EXPR's translated program costs per packet, on a TCP packet
 * to port 443 and one to port 80 (Ethernet, IPv4, 74 bytes), against a program that returns 0.
 */
static int bench(const char *expr)
{
	const struct bpf_insn nothing[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	const int repeat = 10000000;
	struct cbpf_out empty = { (struct bpf_insn *)nothing, 2 }, prog;
	uint8_t pkt[74] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45, 0, 0, 60, 0, 1,
			    0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0x30, 0x39, 0x01, 0xbb,
			    [46] = 0x50, 0x02 };
	struct sock_filter *cbpf;
	size_t ncbpf;
	int fd, zero;

	if (!translate(expr, LINKTYPE_ETHERNET, CBPF_END_RETURN, -1, &cbpf, &ncbpf, &prog))
		return check_exit();
	fd = load(&prog, expr);
	zero = load(&empty, "the empty program");
	if (fd >= 0 && zero >= 0) {
		printf("%s: %zu cBPF instructions, %zu eBPF\n", expr, ncbpf, prog.n);
		printf("empty program: %.1f ns\n", ns_per_run(zero, pkt, sizeof(pkt), repeat));
		printf("to port 443: %.1f ns (returns %u)\n",
		       ns_per_run(fd, pkt, sizeof(pkt), repeat), run(fd, pkt, sizeof(pkt)));
		put16(pkt + 36, 80);
		printf("to port 80: %.1f ns (returns %u)\n",
		       ns_per_run(fd, pkt, sizeof(pkt), repeat), run(fd, pkt, sizeof(pkt)));
	}
	if (fd >= 0)
		close(fd);
	if (zero >= 0)
		close(zero);
	free(prog.insns);
	free(cbpf);
	return check_exit();
}

int main(int argc, char **argv)
{
	if (geteuid() != 0) {
		fprintf(stderr, "FAIL: test_filter_bpf must run as root: it loads BPF programs\n");
		return 1;
	}
	if (argc == 3 && !strcmp(argv[1], "--bench"))
		return bench(argv[2]);
	pkts = calloc(MAX_PKTS, sizeof(*pkts));
	if (!pkts)
		return 1;
	gen_packets(2600);
	mutate_packets(2600);
	journal_packets(SOURCE_DIR "/tests/fuzz/seed/journal.lz4");
	journal_packets(SOURCE_DIR "/tests/fuzz/seed/tls.lz4");
	CHECK_RUN(test_refused);
	CHECK_RUN(test_differential);
	CHECK_RUN(test_handmade);
	CHECK_RUN(test_tail_call);
	free(pkts);
	return check_exit();
}

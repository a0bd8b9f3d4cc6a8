// SPDX-License-Identifier: BSD-2-Clause
/*
 * The trailing filter expression of tlsasm: packets of known make-up (Ethernet and raw IP; IPv4 and
 * IPv6; TCP and UDP; cut short by the snapshot length) against expressions whose verdict on them is
 * known; expressions libpcap rejects are refused.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "check.h"
#include "pfilter.h"

#define LT_ETHERNET 1
#define LT_RAW 101

struct pkt {
	uint8_t b[128];
	uint32_t len;
};

/* An IPv4 or IPv6 packet from src to dst with a TCP (proto 6) or UDP (17) header, behind an
 * Ethernet header when eth. */
static struct pkt make(bool eth, bool v6, uint8_t proto, const char *src, const char *dst,
		       uint16_t sport, uint16_t dport)
{
	struct pkt p = { 0 };
	uint8_t *ip = p.b + (eth ? 14 : 0), *l4;
	uint16_t be;

	if (eth) {
		memcpy(p.b, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
		p.b[12] = v6 ? 0x86 : 0x08;
		p.b[13] = v6 ? 0xdd : 0x00;
	}
	if (v6) {
		ip[0] = 0x60;
		ip[5] = proto == 6 ? 20 : 8;
		ip[6] = proto;
		ip[7] = 64;
		inet_pton(AF_INET6, src, ip + 8);
		inet_pton(AF_INET6, dst, ip + 24);
		l4 = ip + 40;
	} else {
		ip[0] = 0x45;
		ip[3] = (uint8_t)(20 + (proto == 6 ? 20 : 8));
		ip[8] = 64;
		ip[9] = proto;
		inet_pton(AF_INET, src, ip + 12);
		inet_pton(AF_INET, dst, ip + 16);
		l4 = ip + 20;
	}
	be = htons(sport);
	memcpy(l4, &be, 2);
	be = htons(dport);
	memcpy(l4 + 2, &be, 2);
	if (proto == 6) {
		l4[12] = 0x50;
		l4[13] = 0x02; /* SYN */
	}
	p.len = (uint32_t)(l4 - p.b) + (proto == 6 ? 20 : 8);
	return p;
}

static bool match(struct pfilter *f, bool eth, const struct pkt *p)
{
	return pfilter_match(f, eth ? LT_ETHERNET : LT_RAW, 262144, p->b, p->len, p->len);
}

int main(void)
{
	struct pfilter *f;

	CHECK_EQ_INT(pfilter_new("tcp port 443 and", &f), -EINVAL);
	CHECK_EQ_INT(pfilter_new("port 99999", &f), -EINVAL);
	CHECK_EQ_INT(pfilter_new("nosuchkeyword", &f), -EINVAL);

	for (int eth = 0; eth < 2; eth++) {
		struct pkt t4 = make(eth, false, 6, "10.0.0.1", "10.0.0.2", 40000, 443);
		struct pkt u4 = make(eth, false, 17, "10.0.0.1", "10.0.0.3", 5353, 53);
		struct pkt t6 = make(eth, true, 6, "fd00::1", "fd00::2", 443, 40001);
		struct pkt cut = t4;

		cut.len = (eth ? 14 : 0) + 20 + 2; /* the destination port is not captured */
		check_ctx("%s", eth ? "Ethernet" : "raw IP");
		if (!CHECK_EQ_INT(pfilter_new("tcp port 443", &f), 0))
			continue;
		CHECK(match(f, eth, &t4));
		CHECK(match(f, eth, &t6));
		CHECK(!match(f, eth, &u4));
		CHECK(!match(f, eth, &cut));
		pfilter_free(f);
		if (!CHECK_EQ_INT(pfilter_new("udp or host fd00::2", &f), 0))
			continue;
		CHECK(!match(f, eth, &t4));
		CHECK(match(f, eth, &u4));
		CHECK(match(f, eth, &t6));
		pfilter_free(f);
		if (!CHECK_EQ_INT(pfilter_new("ip and not dst host 10.0.0.3 and "
					      "tcp[tcpflags] & tcp-syn != 0",
					      &f),
				  0))
			continue;
		CHECK(match(f, eth, &t4));
		CHECK(!match(f, eth, &t6));
		CHECK(!match(f, eth, &u4));
		pfilter_free(f);
	}
	/* Ethernet addresses exist on one of the two link types only. */
	check_ctx("ether host");
	if (CHECK_EQ_INT(pfilter_new("ether host 02:00:00:00:00:01", &f), 0)) {
		struct pkt e = make(true, false, 6, "10.0.0.1", "10.0.0.2", 1, 2);
		struct pkt r = make(false, false, 6, "10.0.0.1", "10.0.0.2", 1, 2);

		CHECK(match(f, true, &e));
		CHECK(!match(f, false, &r));
		pfilter_free(f);
	}
	return check_exit();
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Synthetic journals for the tests of owners and of the index: one recording per journal with two
 * interfaces (lo, ifindex 1, and eth0, ifindex 2, both Ethernet, in namespace SY_NETNS), written
 * with the journal writer; SOCKET and PROCESS records, and IPv4 TCP and UDP packets, each at the
 * next microsecond. Single translation unit only, like check.h.
 */
#ifndef TLSREC_UNIT_SYNTH_H
#define TLSREC_UNIT_SYNTH_H

#include <arpa/inet.h>

#include "check.h"
#include "journal.h"
#include "util.h"

#define SY_NS UINT64_C(1000000000)
#define SY_WALL0 (UINT64_C(1700000000) * SY_NS)
#define SY_BOOT0 (UINT64_C(5000) * SY_NS)
#define SY_NETNS UINT64_C(4026531840)
#define SY_FIN 0x01
#define SY_SYN 0x02
#define SY_RST 0x04
#define SY_PSH 0x08
#define SY_ACK 0x10

struct synth {
	struct chunk_encoder enc;
	struct chunkbuf cb;
	struct journal_writer *jw;
	struct jw_config cfg;
	char path[PATH_MAX];
	uint8_t rid[16];
	uint8_t header[256];
	struct tr_iface ifaces[2];
	uint64_t rel;     /* ns after the start of the next record */
	uint64_t packets; /* written */
	uint64_t chunks;  /* data chunks written */
};

/* Create journal name (in the test's directory) of a recording named by id on host. */
static inline bool synth_open(struct synth *y, const char *name, uint8_t id, const char *host)
{
	struct tr_header h = { .hdr = { .type = TR_REC_HEADER } };
	size_t off = sizeof(h);

	memset(y, 0, sizeof(*y));
	if (!CHECK_EQ_INT(chunk_encoder_init(&y->enc), 0) ||
	    !CHECK_EQ_INT(chunkbuf_init(&y->cb, 1 << 20), 0))
		return false;
	memset(y->rid, id, sizeof(y->rid));
	memcpy(h.magic, TR_HEADER_MAGIC, 8);
	h.major = TR_FORMAT_MAJOR;
	h.minor = TR_FORMAT_MINOR;
	h.clock_id = 7;
	memcpy(h.recording_id, y->rid, 16);
	h.pair_boot_ns = SY_BOOT0;
	h.pair_real_ns = SY_WALL0;
	h.start_ns = SY_WALL0;
	h.snaplen = TR_MAX_SNAPLEN;
	CHECK_EQ_INT(tlv_put(y->header, sizeof(y->header), &off, TR_TAG_HOSTNAME, host), 0);
	h.hdr.len = (uint32_t)off;
	memcpy(y->header, &h, sizeof(h));
	for (int i = 0; i < 2; i++) {
		y->ifaces[i] = (struct tr_iface){
			.hdr = { .type = TR_REC_IFACE, .len = sizeof(y->ifaces[i]) },
			.netns_ino = SY_NETNS,
			.ifindex = 1 + (uint32_t)i,
			.mtu = 1500,
			.linktype = 1,
			.flags = TR_IFACE_UP | (i ? TR_IFACE_INGRESS | TR_IFACE_EGRESS
						  : TR_IFACE_LOOPBACK | TR_IFACE_EGRESS),
		};
		snprintf(y->ifaces[i].name, sizeof(y->ifaces[i].name), i ? "eth0" : "lo");
	}
	tpath(y->path, name);
	y->cfg = (struct jw_config){ .path = y->path,
				     .recording_id = y->rid,
				     .header = y->header,
				     .header_len = off,
				     .ifaces = y->ifaces,
				     .n_ifaces = 2 };
	y->rel = 1000;
	return CHECK_EQ_INT(jw_open(&y->cfg, &y->jw), 0);
}

static inline uint64_t synth_boot(const struct synth *y)
{
	return SY_BOOT0 + y->rel;
}

/* Start a chunk as the recorder does: a CLOCK record first. */
static inline bool synth_begin(struct synth *y)
{
	struct tr_clock c = { .hdr = { .type = TR_REC_CLOCK, .len = sizeof(c) } };

	c.hdr.ts = synth_boot(y);
	c.real_ns = SY_WALL0 + y->rel;
	chunkbuf_begin(&y->cb, &y->enc);
	y->cb.wall_offset = SY_WALL0 - SY_BOOT0;
	return CHECK_EQ_INT(chunkbuf_add(&y->cb, &c, sizeof(c)), 0);
}

static inline bool synth_end(struct synth *y)
{
	y->chunks++;
	return CHECK_EQ_INT(chunkbuf_end(&y->cb), 0) && CHECK_EQ_INT(jw_write(y->jw, &y->cb), 0);
}

static inline bool synth_close(struct synth *y)
{
	int ret = jw_close(y->jw);

	y->jw = NULL;
	chunkbuf_free(&y->cb);
	chunk_encoder_free(&y->enc);
	return CHECK_EQ_INT(ret, 0);
}

static inline void synth_addr(uint8_t out[16], const char *a)
{
	memset(out, 0, 16);
	CHECK_EQ_INT(inet_pton(AF_INET, a, out), 1);
}

/* A SOCKET record (IPv4; "" for an unknown address). */
static inline bool synth_socket(struct synth *y, uint8_t how, uint64_t cookie, uint32_t pid,
				uint32_t tid, const char *comm, uint8_t proto, const char *local,
				uint16_t lport, const char *remote, uint16_t rport)
{
	struct tr_socket s = { .hdr = { .type = TR_REC_SOCKET, .len = sizeof(s) } };

	s.hdr.ts = synth_boot(y);
	y->rel += 1000;
	s.cookie = cookie;
	s.netns = SY_NETNS;
	s.pid = pid;
	s.tid = tid;
	s.uid = pid == 1 ? 0 : 1000;
	s.gid = s.uid;
	snprintf(s.comm, sizeof(s.comm), "%s", comm);
	if (local[0])
		synth_addr(s.local, local);
	if (remote[0])
		synth_addr(s.remote, remote);
	s.local_port = lport;
	s.remote_port = rport;
	s.family = AF_INET;
	s.protocol = proto;
	s.how = how;
	return CHECK_EQ_INT(chunkbuf_add(&y->cb, &s, sizeof(s)), 0);
}

/* A PROCESS record with its exe and cmdline ("a\0b" style: args separated by spaces here). */
static inline bool synth_process(struct synth *y, uint8_t how, uint32_t pid, uint32_t ppid,
				 uint64_t start_ns, const char *comm, const char *exe,
				 const char *cmdline)
{
	uint8_t rec[512];
	struct tr_process p = { .hdr = { .type = TR_REC_PROCESS } };
	size_t off = sizeof(p), n = strlen(cmdline);
	char args[256];

	p.hdr.ts = synth_boot(y);
	y->rel += 1000;
	p.start_ns = start_ns;
	p.pid = pid;
	p.ppid = ppid;
	p.uid = p.gid = 1000;
	p.how = how;
	snprintf(p.comm, sizeof(p.comm), "%s", comm);
	snprintf(args, sizeof(args), "%s", cmdline);
	for (size_t i = 0; i < n && i < sizeof(args); i++)
		if (args[i] == ' ')
			args[i] = '\0';
	if (how != TR_PROC_EXIT) {
		CHECK_EQ_INT(tlv_put(rec, sizeof(rec), &off, TR_PROC_EXE, exe), 0);
		memcpy(rec + off, &(uint16_t){ TR_PROC_CMDLINE }, 2);
		memcpy(rec + off + 2, &(uint16_t){ (uint16_t)(n + 1) }, 2);
		memcpy(rec + off + 4, args, n + 1);
		off += 4 + n + 1;
	}
	p.hdr.len = (uint32_t)off;
	memcpy(rec, &p, sizeof(p));
	return CHECK_EQ_INT(chunkbuf_add(&y->cb, rec, off), 0);
}

/*
 * A PACKET record: an Ethernet frame with an IPv4 TCP segment (flags; sequence numbers from
 * seq) or UDP datagram from src:sport to dst:dport with len bytes of payload (data, or zeros).
 */
static inline bool synth_packet(struct synth *y, uint32_t ifindex, uint8_t dir, uint64_t cookie,
				uint8_t proto, const char *src, uint16_t sport, const char *dst,
				uint16_t dport, uint8_t flags, uint32_t seq, const uint8_t *data,
				size_t len)
{
	static uint8_t rec[sizeof(struct tr_packet) + 2048];
	struct tr_packet p = { .hdr = { .type = TR_REC_PACKET } };
	uint8_t *f = rec + sizeof(p), *ip = f + 14, *l4 = ip + 20, a[16];
	size_t hl = proto == IPPROTO_TCP ? 20 : 8;

	if (!CHECK(len <= 1500))
		return false;
	memset(f, 0, 14 + 20 + hl);
	memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	put_be16(f + 12, 0x0800);
	ip[0] = 0x45;
	put_be16(ip + 2, (uint16_t)(20 + hl + len));
	ip[8] = 64;
	ip[9] = proto;
	synth_addr(a, src);
	memcpy(ip + 12, a, 4);
	synth_addr(a, dst);
	memcpy(ip + 16, a, 4);
	put_be16(l4, sport);
	put_be16(l4 + 2, dport);
	if (proto == IPPROTO_TCP) {
		put_be16(put_be16(l4 + 4, (uint16_t)(seq >> 16)), (uint16_t)seq);
		l4[12] = 5 << 4;
		l4[13] = flags;
	} else {
		put_be16(l4 + 4, (uint16_t)(8 + len));
	}
	if (data)
		memcpy(l4 + hl, data, len);
	else
		memset(l4 + hl, 0, len);
	p.cap_len = p.orig_len = (uint32_t)(14 + 20 + hl + len);
	p.hdr.len = (uint32_t)sizeof(p) + p.cap_len;
	p.hdr.ts = synth_boot(y);
	y->rel += 1000;
	p.sock_cookie = cookie;
	p.ifindex = ifindex;
	p.protocol = htons(0x0800);
	p.dir = dir;
	memcpy(rec, &p, sizeof(p));
	y->packets++;
	return CHECK_EQ_INT(chunkbuf_add(&y->cb, rec, p.hdr.len), 0);
}

/* One TCP connection played between two ends: side 0 opened it. */
struct synth_tcp {
	struct synth *y;
	uint32_t ifindex;
	const char *addr[2];
	uint16_t port[2];
	uint64_t cookie[2]; /* on the packets each side sends */
	uint8_t dir[2];     /* as each side's packets are seen */
	uint32_t seq[2];
};

static inline bool synth_seg(struct synth_tcp *t, int side, uint8_t flags, const uint8_t *data,
			     size_t len)
{
	bool ok = synth_packet(t->y, t->ifindex, t->dir[side], t->cookie[side], IPPROTO_TCP,
			       t->addr[side], t->port[side], t->addr[!side], t->port[!side], flags,
			       t->seq[side], data, len);

	t->seq[side] += (uint32_t)len + ((flags & (SY_SYN | SY_FIN)) ? 1 : 0);
	return ok;
}

/* Handshake, one request of req bytes and one answer of resp bytes, and both FINs: 8 packets. */
static inline bool synth_tcp_talk(struct synth_tcp *t, size_t req, size_t resp)
{
	return synth_seg(t, 0, SY_SYN, NULL, 0) && synth_seg(t, 1, SY_SYN | SY_ACK, NULL, 0) &&
	       synth_seg(t, 0, SY_ACK, NULL, 0) && synth_seg(t, 0, SY_ACK | SY_PSH, NULL, req) &&
	       synth_seg(t, 1, SY_ACK | SY_PSH, NULL, resp) &&
	       synth_seg(t, 0, SY_ACK | SY_FIN, NULL, 0) &&
	       synth_seg(t, 1, SY_ACK | SY_FIN, NULL, 0) && synth_seg(t, 0, SY_ACK, NULL, 0);
}

#endif /* TLSREC_UNIT_SYNTH_H */

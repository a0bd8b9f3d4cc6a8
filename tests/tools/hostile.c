// SPDX-License-Identifier: BSD-2-Clause
/*
 * hostile KIND OUT [N [SIZE [LEN]]]: write a small, valid journal crafted to cost a reader memory
 * or time out of proportion to its size (issue 12, part 3). One recording, one Ethernet interface
 * (eth0, ifindex 2); every time is fixed, so that the same arguments give the same bytes.
 *
 *   overlap    N chunks (default 4) of SIZE packets each (default 1000) of LEN bytes (default
 *              14: an Ethernet header alone), every chunk over the same time range: a merge in
 *              time order must hold them all at once
 *   sockets    N SOCKET records (default 1000), each another socket of another process
 *   procs      N PROCESS records (default 100), each with a SIZE-byte command line
 *              (default 60000)
 *   libraries  N LIBRARY records (default 1000), each of another library, with a SIZE-byte path
 *              (default 64)
 *   keyupdate  N SECRET records (default 2) of TLS 1.3 connections whose application traffic
 *              secrets are of generation SIZE (default 65536)
 *   seqwrap    N chunks (default 4) of a few packets, numbered across 2^64
 *   chunks     N chunks (default 1000) of one TCP connection: its handshake, then an ACK each
 *              way in every chunk; an index selects them all with the connection
 *   conns      N TCP connections (default 1000) of 4 packets each (SYN, SYN-ACK, ACK, RST), for
 *              measuring what a connection costs
 *   secrets    N SECRET records (default 1000) of TLS 1.3 connections, each with a client random
 *              of its own (their key log: 5 lines each); the first SIZE of them (default 0) also
 *              with a TCP connection in the packets whose ClientHello carries it (SYN, SYN-ACK,
 *              ACK, ClientHello), so that each gets a DSB
 *   recordings N head chunks (default 1000), each of another recording (HEADER, CLOCK, IFACE)
 *   losses     N LOSS records (default 1000) of eth0, at times no packet passes
 *
 * The measured sizes of the issue: overlap 80 270000, sockets 5000000, procs 20000 60000,
 * keyupdate 40 65536, secrets 1000000.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "keylog.h"
#include "table.h"

#define NS UINT64_C(1000000000)
#define WALL0 (UINT64_C(1700000000) * NS)
#define BOOT0 (UINT64_C(5000) * NS)
#define NETNS UINT64_C(4026531840)
#define IFINDEX 2

struct out {
	FILE *f;
	struct chunk_encoder enc;
	struct chunkbuf cb;
	uint8_t rid[16];
	uint64_t seq;
	uint64_t rel; /* ns after BOOT0 of the next record */
};

static int emit(struct out *o, uint16_t flags)
{
	struct jr_chunk_meta m = { .flags = flags, .records = o->cb.records, .seq = o->seq++ };
	uint8_t hdr[JR_CHUNK_HDR_SIZE];
	int ret = chunkbuf_end(&o->cb);

	if (ret)
		return ret;
	memcpy(m.recording_id, o->rid, 16);
	m.first_ns = o->cb.ts_min + o->cb.wall_offset;
	m.last_ns = o->cb.ts_max + o->cb.wall_offset;
	m.raw_len = (uint32_t)o->cb.len;
	m.frame_len = (uint32_t)o->cb.frame_len;
	chunk_header_encode(hdr, &m);
	if (fwrite(hdr, sizeof(hdr), 1, o->f) != 1 ||
	    fwrite(o->cb.frame, o->cb.frame_len, 1, o->f) != 1)
		return -EIO;
	return 0;
}

/* Start a chunk as tlsrec does: a CLOCK record first, at time rel. */
static int begin(struct out *o, uint64_t rel)
{
	struct tr_clock c = { .hdr = { .type = TR_REC_CLOCK, .len = sizeof(c), .ts = BOOT0 + rel },
			      .real_ns = WALL0 + rel };

	chunkbuf_begin(&o->cb, &o->enc);
	o->cb.wall_offset = WALL0 - BOOT0;
	return chunkbuf_add(&o->cb, &c, sizeof(c));
}

/* The head chunk: HEADER, CLOCK and one IFACE record. */
static int head(struct out *o)
{
	uint8_t rec[128];
	struct tr_header h = { .hdr = { .type = TR_REC_HEADER } };
	struct tr_iface i = { .hdr = { .type = TR_REC_IFACE, .len = sizeof(i) },
			      .netns_ino = NETNS,
			      .ifindex = IFINDEX,
			      .mtu = 1500,
			      .linktype = 1,
			      .flags = TR_IFACE_UP | TR_IFACE_INGRESS | TR_IFACE_EGRESS,
			      .name = "eth0" };
	size_t off = sizeof(h);
	int ret;

	memcpy(h.magic, TR_HEADER_MAGIC, 8);
	h.major = TR_FORMAT_MAJOR;
	h.minor = TR_FORMAT_MINOR;
	h.clock_id = 7;
	memcpy(h.recording_id, o->rid, 16);
	h.pair_boot_ns = BOOT0;
	h.pair_real_ns = WALL0;
	h.start_ns = WALL0;
	h.snaplen = TR_MAX_SNAPLEN;
	ret = tlv_put(rec, sizeof(rec), &off, TR_TAG_HOSTNAME, "hostile");
	if (ret)
		return ret;
	h.hdr.len = (uint32_t)off;
	memcpy(rec, &h, sizeof(h));
	ret = begin(o, 0);
	if (!ret)
		ret = chunkbuf_add(&o->cb, rec, off);
	if (!ret)
		ret = chunkbuf_add(&o->cb, &i, sizeof(i));
	return ret ? ret : emit(o, JR_CHUNK_HEAD);
}

/* Add a record, in a new chunk when the current one is full. */
static int add(struct out *o, const void *rec, size_t len)
{
	int ret = chunkbuf_add(&o->cb, rec, len);

	if (ret != -ENOSPC)
		return ret;
	ret = emit(o, 0);
	if (!ret)
		ret = begin(o, o->rel);
	return ret ? ret : chunkbuf_add(&o->cb, rec, len);
}

/* An Ethernet frame of an experimental ether type, len bytes (14 to 1514), at BOOT0 + rel. */
static int packet(struct out *o, uint64_t rel, uint32_t len)
{
	uint8_t rec[sizeof(struct tr_packet) + 1514] = { 0 };
	struct tr_packet p = { .hdr = { .type = TR_REC_PACKET,
					.len = (uint32_t)sizeof(p) + len,
					.ts = BOOT0 + rel },
			       .cap_len = len,
			       .orig_len = len,
			       .ifindex = IFINDEX,
			       .protocol = 0xb588,
			       .dir = TR_DIR_INGRESS };

	memcpy(rec, &p, sizeof(p));
	memcpy(rec + sizeof(p), "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x88\xb5", 14);
	return add(o, rec, sizeof(p) + len);
}

/* An Ethernet frame with an IPv4 TCP segment from a:ap to b:bp, sequence number seq, carrying len
 * bytes of data (at most 256), at BOOT0 + rel. */
static int tcp_packet(struct out *o, uint64_t rel, uint32_t a, uint16_t ap, uint32_t b, uint16_t bp,
		      uint8_t flags, uint32_t seq, const uint8_t *data, uint32_t len)
{
	uint8_t rec[sizeof(struct tr_packet) + 54 + 256] = { 0 };
	uint8_t *f = rec + sizeof(struct tr_packet);
	struct tr_packet p = { .hdr = { .type = TR_REC_PACKET,
					.len = (uint32_t)sizeof(struct tr_packet) + 54 + len,
					.ts = BOOT0 + rel },
			       .cap_len = 54 + len,
			       .orig_len = 54 + len,
			       .ifindex = IFINDEX,
			       .protocol = 0x0008,
			       .dir = TR_DIR_INGRESS };

	if (len > 256)
		return -EINVAL;
	memcpy(rec, &p, sizeof(p));
	memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00", 14);
	f[14] = 0x45;
	f[16] = (uint8_t)((40 + len) >> 8);
	f[17] = (uint8_t)(40 + len);
	f[22] = 64;
	f[23] = 6;
	for (int i = 0; i < 4; i++) {
		f[26 + i] = (uint8_t)(a >> (24 - 8 * i));
		f[30 + i] = (uint8_t)(b >> (24 - 8 * i));
	}
	f[34] = (uint8_t)(ap >> 8);
	f[35] = (uint8_t)ap;
	f[36] = (uint8_t)(bp >> 8);
	f[37] = (uint8_t)bp;
	for (int i = 0; i < 4; i++)
		f[38 + i] = (uint8_t)(seq >> (24 - 8 * i));
	f[46] = 5 << 4;
	f[47] = flags;
	if (len)
		memcpy(f + 54, data, len);
	return add(o, rec, p.hdr.len);
}

/* Connections from 10.x.y.z to 192.0.2.1:443, one after another. */
static int conns(struct out *o, unsigned long n)
{
	static const uint8_t flags[4] = { 0x02, 0x12, 0x10, 0x04 };
	int ret = begin(o, 1000);

	for (unsigned long i = 0; !ret && i < n; i++) {
		uint32_t a = 0x0a000000 | (uint32_t)(i / 50000), b = 0xc0000201;
		uint16_t ap = (uint16_t)(10000 + i % 50000);

		for (int k = 0; !ret && k < 4; k++) {
			o->rel += 1000;
			ret = k % 2 ? tcp_packet(o, o->rel, b, 443, a, ap, flags[k], 0, NULL, 0)
				    : tcp_packet(o, o->rel, a, ap, b, 443, flags[k], 0, NULL, 0);
		}
	}
	return ret ? ret : emit(o, 0);
}

/* A packet of the TCP connection from 10.0.0.1:10000 to 192.0.2.1:443 each way, 1 us apart: flags
 * fa and sequence number sa from the client, fb and sb back. */
static int each_way(struct out *o, uint8_t fa, uint32_t sa, uint8_t fb, uint32_t sb)
{
	uint32_t a = 0x0a000001, b = 0xc0000201;
	int ret;

	o->rel += 1000;
	ret = tcp_packet(o, o->rel, a, 10000, b, 443, fa, sa, NULL, 0);
	o->rel += 1000;
	return ret ? ret : tcp_packet(o, o->rel, b, 443, a, 10000, fb, sb, NULL, 0);
}

/* That connection over n chunks: SYN and SYN-ACK, then an ACK each way in every chunk. */
static int chunks(struct out *o, unsigned long n)
{
	int ret = begin(o, o->rel);

	if (!ret)
		ret = each_way(o, 0x02, 1000, 0x12, 5000);
	for (unsigned long i = 0; !ret && i < n; i++) {
		if (i && !(ret = emit(o, 0)))
			ret = begin(o, o->rel);
		if (!ret)
			ret = each_way(o, 0x10, 1001, 0x10, 5001);
	}
	return ret ? ret : emit(o, 0);
}

/*
 * Every chunk holds packets over the same time range from 1 ms on: 256 at each microsecond, chunk
 * c's c ns after it, so that a merge in time order takes 256 packets of each chunk in turn.
 */
static int overlap(struct out *o, unsigned long n, unsigned long size, unsigned long len)
{
	if (len < 14 || len > 1514)
		return -EINVAL;
	int ret = 0;

	for (unsigned long c = 0; !ret && c < n; c++) {
		ret = begin(o, 1000);
		for (unsigned long i = 0; !ret && i < size; i++)
			ret = packet(o, 1000000 + i / 256 * 1000 + c, (uint32_t)len);
		if (!ret)
			ret = emit(o, 0);
	}
	return ret;
}

static int sockets(struct out *o, unsigned long n)
{
	int ret = begin(o, 1000);

	for (unsigned long i = 0; !ret && i < n; i++) {
		struct tr_socket s = { .hdr = { .type = TR_REC_SOCKET, .len = sizeof(s) },
				       .cookie = 1000 + i,
				       .netns = NETNS,
				       .pid = 100 + (uint32_t)i,
				       .tid = 100 + (uint32_t)i,
				       .uid = 1000,
				       .gid = 1000,
				       .comm = "client",
				       .local = { 10, 0, 0, 1 },
				       .remote = { 10, 0, 0, 2 },
				       .local_port = (uint16_t)(1024 + i % 60000),
				       .remote_port = 443,
				       .family = 2, /* AF_INET */
				       .protocol = 6,
				       .how = TR_SOCK_CONNECT };

		o->rel += 1000;
		s.hdr.ts = BOOT0 + o->rel;
		ret = add(o, &s, sizeof(s));
	}
	return ret ? ret : emit(o, 0);
}

/*
 * Add a record of fixed part fx (fx_len bytes, its type set) 1 us after the last, and two
 * tag/length/value strings after it (a, alen bytes; b, blen bytes), built in rec (cap bytes).
 */
static int add_strings(struct out *o, uint8_t *rec, size_t cap, const void *fx, size_t fx_len,
		       uint16_t atag, const void *a, size_t alen, uint16_t btag, const void *b,
		       size_t blen)
{
	size_t off = fx_len;
	struct tr_rec h;
	int ret = tlv_put_mem(rec, cap, &off, atag, a, alen);

	if (!ret)
		ret = tlv_put_mem(rec, cap, &off, btag, b, blen);
	if (ret)
		return ret;
	o->rel += 1000;
	memcpy(rec, fx, fx_len);
	memcpy(&h, rec, sizeof(h));
	h.len = (uint32_t)off;
	h.ts = BOOT0 + o->rel;
	memcpy(rec, &h, sizeof(h));
	return add(o, rec, off);
}

static int procs(struct out *o, unsigned long n, unsigned long size)
{
	size_t cap = sizeof(struct tr_process) + 64 + 4 + size;
	uint8_t *rec = malloc(cap), *args = malloc(size ? size : 1);
	int ret = rec && args ? begin(o, 1000) : -ENOMEM;

	if (args)
		for (unsigned long i = 0; i < size; i++)
			args[i] = i % 64 == 63 ? '\0' : (uint8_t)('a' + i % 26);
	for (unsigned long i = 0; !ret && i < n; i++) {
		struct tr_process p = { .hdr = { .type = TR_REC_PROCESS },
					.start_ns = BOOT0 + i,
					.pid = 100 + (uint32_t)i,
					.ppid = 1,
					.uid = 1000,
					.gid = 1000,
					.how = TR_PROC_EXEC,
					.comm = "long" };

		ret = add_strings(o, rec, cap, &p, sizeof(p), TR_PROC_EXE, "/usr/bin/long",
				  strlen("/usr/bin/long"), TR_PROC_CMDLINE, args, size);
	}
	free(rec);
	free(args);
	return ret ? ret : emit(o, 0);
}

static int libraries(struct out *o, unsigned long n, unsigned long size)
{
	size_t cap = sizeof(struct tr_library) + 64 + 4 + size;
	uint8_t *rec = malloc(cap), *path = malloc(size + 1);
	int ret = rec && path ? begin(o, 1000) : -ENOMEM;

	for (unsigned long i = 0; !ret && i < n; i++) {
		struct tr_library l = { .hdr = { .type = TR_REC_LIBRARY },
					.dev = 8,
					.ino = 1000 + i,
					.index = (uint32_t)i,
					.kind = TR_LIB_OPENSSL };
		static const char version[] = "OpenSSL 3.0.99 hostile";

		snprintf((char *)path, size + 1, "/usr/lib/libssl-%lu.so.3", i);
		for (size_t k = strlen((char *)path); k < size; k++)
			path[k] = 'x';
		ret = add_strings(o, rec, cap, &l, sizeof(l), TR_LIB_PATH, path, size, TR_LIB_VERSION,
				  version, sizeof(version) - 1);
	}
	free(rec);
	free(path);
	return ret ? ret : emit(o, 0);
}

/*
 * A TLS 1.3 SECRET record (TLS_AES_128_GCM_SHA256) whose application traffic secrets are
 * generation gen: RFC 8446 section 7.2's "traffic upd" applied gen times to generation 0. The
 * client random is left for the caller. 0 or -errno.
 */
static int tls13_record(struct tr_secret *s, unsigned long gen)
{
	const char *what[2] = { "c ap traffic", "s ap traffic" };
	uint8_t *cur[2] = { s->client_app_secret, s->server_app_secret };
	struct keylog k;
	int ret = keylog_init(&k);

	*s = (struct tr_secret){ .hdr = { .type = TR_REC_SECRET, .len = sizeof(*s) },
				 .ssl = 0x1000,
				 .pid = 100,
				 .tid = 100,
				 .cipher = 0x03001301,
				 .version = 0x0304,
				 .flags = TR_SEC_TLS13 };
	memset(s->handshake_secret, 0x11, 32);
	memset(s->master_secret, 0x22, 32);
	memset(s->handshake_traffic_hash, 0x33, 32);
	memset(s->server_finished_hash, 0x44, 32);
	memset(s->exporter_secret, 0x55, 32);
	for (int side = 0; !ret && side < 2; side++) {
		uint8_t next[32];

		ret = keylog_expand_label(&k, "SHA256", s->master_secret, 32, what[side],
					  s->server_finished_hash, 32, cur[side], 32);
		for (unsigned long g = 0; !ret && g < gen; g++) {
			ret = keylog_expand_label(&k, "SHA256", cur[side], 32, "traffic upd", NULL,
						  0, next, 32);
			memcpy(cur[side], next, 32);
		}
	}
	keylog_free(&k);
	return ret;
}

/* Records of TLS 1.3 secrets at generation gen; one chain serves every record, each has a client
 * random of its own. */
static int keyupdate(struct out *o, unsigned long n, unsigned long gen)
{
	struct tr_secret s;
	int ret = tls13_record(&s, gen);

	if (!ret)
		ret = begin(o, 1000);
	for (unsigned long i = 0; !ret && i < n; i++) {
		memset(s.client_random, 0xc0, 32);
		memcpy(s.client_random, &i, sizeof(i));
		o->rel += 1000;
		s.hdr.ts = BOOT0 + o->rel;
		ret = add(o, &s, sizeof(s));
	}
	return ret ? ret : emit(o, 0);
}

/* A TLS 1.3 ClientHello record with this random (and the cipher suite of tls13_record) into out
 * (52 bytes). Returns its length. */
static uint32_t client_hello(uint8_t *out, const uint8_t random[32])
{
	static const uint8_t head[] = { 0x16, 0x03, 0x01, 0x00, 0x2f, 0x01, 0x00, 0x00, 0x2b,
					0x03, 0x03 };
	static const uint8_t tail[] = { 0x00, 0x00, 0x02, 0x13, 0x01, 0x01, 0x00, 0x00, 0x00 };

	memcpy(out, head, sizeof(head));
	memcpy(out + sizeof(head), random, 32);
	memcpy(out + sizeof(head) + 32, tail, sizeof(tail));
	return sizeof(head) + 32 + sizeof(tail);
}

/* The start of connection i from 10.x.y.z to 192.0.2.1:443: SYN, SYN-ACK, ACK, and a ClientHello
 * carrying client random cr, each 1 us after the last. */
static int hello_conn(struct out *o, unsigned long i, const uint8_t cr[32])
{
	uint32_t a = 0x0a000000 | (uint32_t)(i / 50000), b = 0xc0000201;
	uint16_t ap = (uint16_t)(10000 + i % 50000);
	uint8_t hello[64];
	int ret;

	o->rel += 1000;
	ret = tcp_packet(o, o->rel, a, ap, b, 443, 0x02, 1000, NULL, 0);
	o->rel += 1000;
	if (!ret)
		ret = tcp_packet(o, o->rel, b, 443, a, ap, 0x12, 5000, NULL, 0);
	o->rel += 1000;
	if (!ret)
		ret = tcp_packet(o, o->rel, a, ap, b, 443, 0x10, 1001, NULL, 0);
	o->rel += 1000;
	if (!ret)
		ret = tcp_packet(o, o->rel, a, ap, b, 443, 0x18, 1001, hello,
				 client_hello(hello, cr));
	return ret;
}

/*
 * n records of TLS 1.3 secrets at generation 0, each with a client random of its own (from a hash
 * of its number, as random as a real one); the first nconns of them after the start of their
 * connection in the packets (hello_conn).
 */
static int secrets(struct out *o, unsigned long n, unsigned long nconns)
{
	struct tr_secret s;
	int ret = tls13_record(&s, 0);

	if (!ret)
		ret = begin(o, 1000);
	for (unsigned long i = 0; !ret && i < n; i++) {
		for (int w = 0; w < 4; w++) {
			uint64_t h = table_hash(4 * (uint64_t)i + (uint64_t)w + 1);

			memcpy(s.client_random + 8 * w, &h, 8);
		}
		if (i < nconns)
			ret = hello_conn(o, i, s.client_random);
		o->rel += 1000;
		s.hdr.ts = BOOT0 + o->rel;
		if (!ret)
			ret = add(o, &s, sizeof(s));
	}
	return ret ? ret : emit(o, 0);
}

/* Chunks numbered UINT64_MAX - 1 (the head), UINT64_MAX, 0, 1 and on. */
static int seqwrap(struct out *o, unsigned long n)
{
	int ret = 0;

	for (unsigned long c = 0; !ret && c < n; c++) {
		ret = begin(o, o->rel);
		for (int i = 0; !ret && i < 3; i++) {
			o->rel += 1000;
			ret = packet(o, o->rel, 14);
		}
		if (!ret)
			ret = emit(o, 0);
	}
	return ret;
}

/* n - 1 more recordings, each a head chunk of its own. */
static int recordings(struct out *o, unsigned long n)
{
	int ret = 0;

	for (unsigned long i = 1; !ret && i < n; i++) {
		memcpy(o->rid, &i, sizeof(i));
		o->seq = 0;
		ret = head(o);
	}
	return ret;
}

/* n LOSS records of eth0, one a microsecond, after the last packet (there is none). */
static int losses(struct out *o, unsigned long n)
{
	int ret = begin(o, o->rel);

	for (unsigned long i = 0; !ret && i < n; i++) {
		struct tr_loss l = { .hdr = { .type = TR_REC_LOSS, .len = sizeof(l),
					      .ts = BOOT0 + (o->rel += 1000) },
				     .count = 1,
				     .ifindex = IFINDEX,
				     .what = TR_LOSS_PACKETS };

		ret = add(o, &l, sizeof(l));
	}
	return ret ? ret : emit(o, 0);
}

/* The records after the head chunk. 0, -EINVAL for an unknown kind, or -errno. */
static int body(struct out *o, const char *kind, unsigned long n, unsigned long size,
		unsigned long len)
{
	if (!strcmp(kind, "overlap"))
		return overlap(o, n ? n : 4, size ? size : 1000, len ? len : 14);
	if (!strcmp(kind, "sockets"))
		return sockets(o, n ? n : 1000);
	if (!strcmp(kind, "procs"))
		return procs(o, n ? n : 100, size ? size : 60000);
	if (!strcmp(kind, "libraries"))
		return libraries(o, n ? n : 1000, size ? size : 64);
	if (!strcmp(kind, "keyupdate"))
		return keyupdate(o, n ? n : 2, size ? size : 65536);
	if (!strcmp(kind, "seqwrap"))
		return seqwrap(o, n ? n : 4);
	if (!strcmp(kind, "conns"))
		return conns(o, n ? n : 1000);
	if (!strcmp(kind, "chunks"))
		return chunks(o, n ? n : 1000);
	if (!strcmp(kind, "secrets"))
		return secrets(o, n ? n : 1000, size);
	if (!strcmp(kind, "recordings"))
		return recordings(o, n ? n : 1000);
	if (!strcmp(kind, "losses"))
		return losses(o, n ? n : 1000);
	return -EINVAL;
}

int main(int argc, char **argv)
{
	static const char usage[] = "usage: hostile overlap|sockets|procs|libraries|keyupdate|seqwrap|conns|chunks|secrets|recordings|losses OUT [N [SIZE [LEN]]]\n";
	const char *kind = argc > 1 ? argv[1] : "";
	unsigned long n = argc > 3 ? strtoul(argv[3], NULL, 0) : 0;
	unsigned long size = argc > 4 ? strtoul(argv[4], NULL, 0) : 0;
	unsigned long len = argc > 5 ? strtoul(argv[5], NULL, 0) : 0;
	struct out o = { .rel = 1000 };
	int ret;

	if (argc < 3 || argc > 6) {
		fputs(usage, stderr);
		return 2;
	}
	memset(o.rid, 0x5a, sizeof(o.rid));
	if (!strcmp(kind, "seqwrap"))
		o.seq = UINT64_MAX - 1;
	o.f = fopen(argv[2], "wbe");
	if (!o.f) {
		fprintf(stderr, "hostile: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	ret = chunk_encoder_init(&o.enc);
	if (!ret)
		ret = chunkbuf_init(&o.cb, JR_MAX_RAW);
	if (!ret)
		ret = head(&o);
	if (!ret)
		ret = body(&o, kind, n, size, len);
	chunkbuf_free(&o.cb);
	chunk_encoder_free(&o.enc);
	if (fclose(o.f) && !ret)
		ret = -errno;
	if (ret == -EINVAL)
		fputs(usage, stderr);
	else if (ret)
		fprintf(stderr, "hostile: %s: %s\n", argv[2], strerror(-ret));
	return ret == -EINVAL ? 2 : ret ? 1 : 0;
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * The TC programs of capture.bpf.c, loaded by recorder/capture.c as tlsrec loads them and run by
 * the kernel on crafted packets with BPF_PROG_TEST_RUN: the PACKET record each writes into the ring
 * buffer of the CPU it runs on, snapshot length, the GSO flag, and the loss counters when a ring is
 * full. Needs root (CAP_BPF, CAP_NET_ADMIN).
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../bpf/events.h"
#include "capture.h"
#include "check.h"
#include "journal.h"
#include "session.h"
#include "writer.h"

#define TC_ACT_UNSPEC (-1)
#define PKT_LEN 142 /* Ethernet + IPv4 + UDP + 100 bytes */
#define MAX_RINGS 1024

struct loaded;

struct ring_ctx {
	struct loaded *l;
	unsigned idx;
};

struct loaded {
	struct capture *cap;
	struct ring_buffer *rb; /* every ring */
	unsigned nrings;
	struct ring_ctx ctx[MAX_RINGS];
	uint8_t rec[sizeof(struct tr_packet) + PKT_LEN];
	size_t rec_len;
	unsigned records;
	unsigned ring; /* of the last record */
};

static uint8_t pkt[PKT_LEN];

static void make_packet(void)
{
	static const uint8_t hdr[] = {
		0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00,		/* Ethernet, IPv4 */
		0x45, 0, 0, 128, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, /* IPv4, UDP */
		0x30, 0x39, 0x01, 0xbb, 0, 108, 0, 0,				/* UDP 12345 -> 443 */
	};

	memcpy(pkt, hdr, sizeof(hdr));
	for (size_t i = sizeof(hdr); i < sizeof(pkt); i++)
		pkt[i] = (uint8_t)(i * 7);
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct ring_ctx *rc = ctx;
	struct loaded *l = rc->l;

	l->records++;
	l->ring = rc->idx;
	l->rec_len = size;
	if (size <= sizeof(l->rec))
		memcpy(l->rec, data, size);
	return 0;
}

static uint64_t boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Load the object as tlsrec does, with rings of ring_bytes in all and the given snapshot length. */
static bool load(struct loaded *l, uint32_t snaplen, uint32_t ring_bytes)
{
	struct capture_opts o = { .snaplen = snaplen, .ring_bytes = ring_bytes, .max_hooks = 4 };
	const int *fds;

	memset(l, 0, sizeof(*l));
	if (!CHECK_EQ_INT(capture_open(&o, &l->cap), 0))
		return false;
	l->nrings = capture_rings(l->cap, &fds);
	if (!CHECK(l->nrings >= 1 && l->nrings <= MAX_RINGS))
		return false;
	for (unsigned i = 0; i < l->nrings; i++) {
		l->ctx[i] = (struct ring_ctx){ .l = l, .idx = i };
		if (!i)
			l->rb = ring_buffer__new(fds[i], on_record, &l->ctx[i], NULL);
		else if (!CHECK_EQ_INT(ring_buffer__add(l->rb, fds[i], on_record, &l->ctx[i]), 0))
			return false;
		if (!CHECK(l->rb))
			return false;
	}
	return true;
}

static void unload(struct loaded *l)
{
	ring_buffer__free(l->rb);
	capture_close(l->cap);
}

/* Run the dir program on the packet `repeat` times; returns the program's verdict. */
static int run(const struct loaded *l, int dir, unsigned repeat, uint32_t gso_size)
{
	struct __sk_buff ctx = { .gso_size = gso_size };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = sizeof(pkt),
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = (int)repeat);

	if (!CHECK_EQ_INT(bpf_prog_test_run_opts(capture_prog_fd(l->cap, dir), &opts), 0))
		return 0;
	return (int)opts.retval;
}

static void check_record(const struct loaded *l, uint8_t dir, uint32_t cap, uint64_t before,
			 uint8_t flags)
{
	struct tr_packet p;

	if (!CHECK_EQ_U64(l->rec_len, sizeof(p) + cap))
		return;
	memcpy(&p, l->rec, sizeof(p));
	CHECK_EQ_U64(p.hdr.type, TR_REC_PACKET);
	CHECK_EQ_U64(p.hdr.flags, 0);
	CHECK_EQ_U64(p.hdr.len, sizeof(p) + cap);
	CHECK(p.hdr.ts >= before && p.hdr.ts <= boot_ns());
	CHECK(p.sock_cookie != 0); /* BPF_PROG_TEST_RUN gives its packets a socket */
	CHECK_EQ_U64(p.ifindex, 1);    /* BPF_PROG_TEST_RUN runs on lo */
	CHECK_EQ_U64(p.orig_len, PKT_LEN);
	CHECK_EQ_U64(p.cap_len, cap);
	CHECK_EQ_U64(p.protocol, htons(0x0800));
	CHECK_EQ_U64(p.dir, dir);
	CHECK_EQ_U64(p.flags, flags);
	CHECK_EQ_U64(p.vlan_tci, 0);
	CHECK_EQ_U64(p.vlan_proto, 0);
	CHECK_EQ_U64(p.pad, 0);
	CHECK_MEM(l->rec + sizeof(p), pkt, cap);
}

static void test_record(void)
{
	struct loaded l;
	uint64_t before;

	if (!load(&l, 262144, 1 << 16))
		goto out;
	before = boot_ns();
	check_ctx("ingress");
	CHECK_EQ_INT(run(&l, TR_DIR_INGRESS, 1, 0), TC_ACT_UNSPEC);
	CHECK_EQ_INT(ring_buffer__consume(l.rb), 1);
	check_record(&l, TR_DIR_INGRESS, PKT_LEN, before, 0);
	check_ctx("egress, GSO");
	CHECK_EQ_INT(run(&l, TR_DIR_EGRESS, 1, 1400), TC_ACT_UNSPEC);
	CHECK_EQ_INT(ring_buffer__consume(l.rb), 1);
	check_record(&l, TR_DIR_EGRESS, PKT_LEN, before, TR_PKT_GSO);
	check_ctx("%s", "");
out:
	unload(&l);
}

static void test_snaplen(void)
{
	struct loaded l;
	uint64_t before;

	if (!load(&l, 64, 1 << 16))
		goto out;
	before = boot_ns();
	CHECK_EQ_INT(run(&l, TR_DIR_INGRESS, 1, 0), TC_ACT_UNSPEC);
	CHECK_EQ_INT(ring_buffer__consume(l.rb), 1);
	check_record(&l, TR_DIR_INGRESS, 64, before, 0);
out:
	unload(&l);
}

/* With nobody reading, a small ring fills: every packet is either in the ring or counted lost. */
static void test_losses(void)
{
	const unsigned runs = 500;
	int ncpus = libbpf_num_possible_cpus();
	struct tr_loss_key key = { .ifindex = 1, .dir = TR_DIR_EGRESS, .where = TR_LOSS_RINGBUF,
				   .what = TR_LOSS_PACKETS };
	uint64_t lost = 0, values[ncpus];
	struct loaded l;

	if (!load(&l, 64, 8192))
		goto out;
	CHECK_EQ_INT(run(&l, TR_DIR_EGRESS, runs, 0), TC_ACT_UNSPEC);
	CHECK_EQ_INT(bpf_map_lookup_elem(capture_losses_fd(l.cap), &key, values), 0);
	for (int i = 0; i < ncpus; i++)
		lost += values[i];
	ring_buffer__consume(l.rb);
	CHECK(l.records > 0 && lost > 0);
	CHECK_EQ_U64(l.records + lost, runs);
	/* Nothing else was counted: one key only. */
	{
		struct tr_loss_key next, other = key;

		other.where = TR_LOSS_COPY;
		CHECK(bpf_map_lookup_elem(capture_losses_fd(l.cap), &other, values) != 0);
		CHECK_EQ_INT(bpf_map_get_next_key(capture_losses_fd(l.cap), &key, &next),
			     -ENOENT);
	}
out:
	unload(&l);
}

/* Run the egress program on the packet `repeat` times on CPU cpu. */
static void run_on(const struct loaded *l, int cpu, unsigned repeat, uint32_t gso_size)
{
	cpu_set_t was, one;

	CHECK_EQ_INT(sched_getaffinity(0, sizeof(was), &was), 0);
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (CHECK_EQ_INT(sched_setaffinity(0, sizeof(one), &one), 0))
		CHECK_EQ_INT(run(l, TR_DIR_EGRESS, repeat, gso_size), TC_ACT_UNSPEC);
	sched_setaffinity(0, sizeof(was), &was);
}

/*
 * One ring per online CPU, -B shared out among them (a power of two each, at least 1 MiB or -B, no
 * more than twice the share), and each CPU's packets in its own ring.
 */
static void test_rings(void)
{
	const uint64_t want = 4 << 20;
	unsigned tried = 0, used[MAX_RINGS] = { 0 };
	uint64_t total = 0, share;
	cpu_set_t was;
	struct loaded l;
	const int *fds;

	CHECK_EQ_INT(sched_getaffinity(0, sizeof(was), &was), 0);
	if (!load(&l, 64, (uint32_t)want))
		goto out;
	CHECK_EQ_U64(l.nrings, (uint64_t)sysconf(_SC_NPROCESSORS_ONLN));
	share = want / l.nrings > 1 << 20 ? want / l.nrings : 1 << 20;
	capture_rings(l.cap, &fds);
	for (unsigned i = 0; i < l.nrings; i++) {
		struct bpf_map_info info = { 0 };
		__u32 len = sizeof(info);

		CHECK_EQ_INT(bpf_obj_get_info_by_fd(fds[i], &info, &len), 0);
		CHECK_EQ_U64(info.type, BPF_MAP_TYPE_RINGBUF);
		CHECK_EQ_U64(info.max_entries & (info.max_entries - 1), 0);
		CHECK(info.max_entries >= share && info.max_entries < 2 * share);
		total += info.max_entries;
	}
	CHECK(total >= want);
	if (CPU_COUNT(&was) < 2)
		fprintf(stderr, "test_rings: one CPU to run on: packets cannot be seen going to two rings\n");
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		unsigned before = l.records;

		if (!CPU_ISSET(cpu, &was))
			continue;
		check_ctx("CPU %d", cpu);
		run_on(&l, cpu, 1, 0);
		CHECK_EQ_INT(ring_buffer__consume(l.rb), 1);
		CHECK_EQ_U64(l.records, before + 1);
		CHECK_EQ_INT((int)l.ring, capture_ring_of(l.cap, cpu));
		CHECK_EQ_U64(used[l.ring]++, 0); /* no other CPU's */
		tried++;
	}
	check_ctx("%s", "");
	CHECK_EQ_U64(tried, (uint64_t)CPU_COUNT(&was));
out:
	unload(&l);
}

/*
 * tlsrec's reading loop (recorder/session.c) takes turns between the rings: CPU 0 fills its ring
 * with more than a turn's worth (4096 records), CPU 1 puts one packet (a GSO one, to tell it apart)
 * in its own, and tlsrec stops at 4097 packets (-c): the one from CPU 1 must be among them.
 */
static void test_turns(void)
{
	const unsigned turn = 4096;
	volatile sig_atomic_t stop = 0;
	char path[] = "/tmp/test_capture.XXXXXX";
	struct tr_header hdr = { .hdr = { .type = TR_REC_HEADER, .len = sizeof(hdr) },
				 .major = TR_FORMAT_MAJOR, .minor = TR_FORMAT_MINOR, .recording_id = { 1 } };
	struct jw_config cfg = { .path = path, .recording_id = hdr.recording_id, .header = &hdr,
				 .header_len = sizeof(hdr) };
	struct journal_writer *jw = NULL;
	struct journal_reader *jr = NULL;
	struct writer *wr = NULL;
	struct session s = { 0 };
	unsigned packets = 0, gso = 0;
	struct jr_chunk c;
	const char *why;
	struct loaded l;
	int fd = mkstemp(path);

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		fprintf(stderr, "test_turns: needs two online CPUs, this host has one: not run\n");
		CHECK(sysconf(_SC_NPROCESSORS_ONLN) < 2);
		return;
	}
	memcpy(hdr.magic, TR_HEADER_MAGIC, sizeof(hdr.magic));
	if (!CHECK(fd >= 0) || !load(&l, 64, 16 << 20))
		goto out;
	close(fd);
	run_on(&l, 0, 2 * turn + 10, 0);
	run_on(&l, 1, 1, 1400);
	if (!CHECK_EQ_INT(jw_open(&cfg, &jw), 0) ||
	    !CHECK_EQ_INT(writer_start(jw, 1 << 20, 4, 1000000000ULL, &wr), 0))
		goto out;
	s = (struct session){ .wr = wr, .cap = l.cap, .watch_fd = -1, .poll_ms = 10,
			      .max_packets = turn + 1, .chunk_age_ns = 1000000000ULL };
	s.n_packet_rings = capture_rings(l.cap, &s.packet_rings);
	if (!CHECK_EQ_INT(session_init(&s), 0))
		goto out;
	CHECK_EQ_INT(session_run(&s, &stop), 0);
	CHECK_EQ_INT(session_finish(&s, &(struct writer_wait){ 0 }), 0);
	CHECK_EQ_INT(writer_stop(wr, &(struct writer_wait){ 0 }), 0);
	wr = NULL;
	CHECK_EQ_INT(jw_close(jw), 0);
	jw = NULL;
	if (!CHECK_EQ_INT(jr_open(path, NULL, NULL, &jr, &why), 0))
		goto out;
	while (jr_next(jr, &c) > 0) {
		uint8_t *raw = malloc(c.meta.raw_len);
		struct rec_iter it = { raw, raw + c.meta.raw_len };
		struct tr_packet p;
		struct tr_rec h;
		const uint8_t *rec;

		if (!CHECK(raw) || !CHECK_EQ_INT(jr_load(jr, &c, raw), 0)) {
			free(raw);
			break;
		}
		while (rec_next(&it, &h, &rec) > 0) {
			if (h.type != TR_REC_PACKET || rec_fixed(rec, &h, &p, sizeof(p)))
				continue;
			packets++;
			gso += p.flags == TR_PKT_GSO;
		}
		free(raw);
	}
	CHECK_EQ_U64(packets, turn + 1);
	CHECK_EQ_U64(gso, 1);
out:
	session_free(&s);
	if (wr)
		writer_stop(wr, &(struct writer_wait){ 0 });
	if (jw)
		jw_close(jw);
	jr_close(jr);
	unlink(path);
	unload(&l);
}

int main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "FAIL: test_capture_bpf must run as root: it loads BPF programs\n");
		return 1;
	}
	make_packet();
	CHECK_RUN(test_record);
	CHECK_RUN(test_snaplen);
	CHECK_RUN(test_losses);
	CHECK_RUN(test_rings);
	CHECK_RUN(test_turns);
	return check_exit();
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * tlsasm's reading of journals (assemble/source.c): journals are written with the journal writer
 * (jw_open/jw_write, chunks built with chunkbuf_*), their CLOCK records made by hand so that every
 * wall-clock time is known, then read back with source_open/source_next. Every packet handed out
 * is checked: which one it is (its socket cookie is its number), its wall time, its interface and
 * recording, its lengths and every data byte; and the order of all of them. Warnings go to a file
 * for the duration of a read, and are checked too. SECRET records go to the consumer
 * source_on_secret sets, each once, in the order read, with where and when it is from.
 */
#include <fcntl.h>
#include <unistd.h>

#include "array.h"
#include "check.h"
#include "convert.h"
#include "journal.h"
#include "source.h"
#include "util.h"

#define NS UINT64_C(1000000000)
#define WALL0 (UINT64_C(1700000000) * NS)
#define MAX_WANT 2048
#define MAX_IFS 4

/* One recording being written: its HEADER and IFACE records, and the clock it runs on. */
struct jrec {
	uint8_t rid[16];
	uint8_t header[512];
	size_t header_len;
	struct tr_iface ifaces[MAX_IFS];
	size_t n_ifaces;
	uint64_t boot0; /* boot time that is wall time WALL0 + skew */
	uint64_t skew;
	struct jw_config cfg;
	struct journal_writer *w;
	char path[PATH_MAX];
};

/* A packet that must come out: which (ids grow in the order of writing), when, where, and its
 * record's lengths. */
struct want {
	uint64_t id;
	uint64_t wall;
	const struct jrec *rec;
	uint32_t ifindex;
	uint32_t cap, orig;
	uint64_t drops;
};

static struct want wants[MAX_WANT];
static size_t n_wants;
static uint64_t next_id = 1;
static struct chunk_encoder enc;
static struct chunkbuf cb;

/* The data of packet id: n bytes that depend on id alone. */
static void fill(uint64_t id, uint8_t *p, size_t n)
{
	uint64_t x = id * 0x9E3779B97F4A7C15ull + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)(x >> 40);
	}
}

static void jrec_init(struct jrec *j, const char *file, uint8_t rid, const char *host,
		      uint64_t boot0, uint64_t skew)
{
	struct tr_header h = { .hdr = { .type = TR_REC_HEADER } };
	size_t off = sizeof(h);

	memset(j, 0, sizeof(*j));
	memset(j->rid, rid, sizeof(j->rid));
	j->rid[15] = 0x01;
	j->boot0 = boot0;
	j->skew = skew;
	tpath(j->path, file);
	memcpy(h.magic, TR_HEADER_MAGIC, sizeof(h.magic));
	h.major = TR_FORMAT_MAJOR;
	h.minor = TR_FORMAT_MINOR;
	h.clock_id = 7;
	memcpy(h.recording_id, j->rid, 16);
	memset(h.boot_id, rid ^ 0x55, sizeof(h.boot_id));
	h.pair_boot_ns = boot0;
	h.pair_real_ns = WALL0 + skew;
	h.start_ns = WALL0 + skew;
	h.snaplen = TR_MAX_SNAPLEN;
	CHECK_EQ_INT(tlv_put(j->header, sizeof(j->header), &off, TR_TAG_HOSTNAME, host), 0);
	CHECK_EQ_INT(tlv_put(j->header, sizeof(j->header), &off, TR_TAG_KERNEL, "6.1.0-test"), 0);
	CHECK_EQ_INT(tlv_put(j->header, sizeof(j->header), &off, TR_TAG_MACHINE, "x86_64"), 0);
	CHECK_EQ_INT(tlv_put(j->header, sizeof(j->header), &off, TR_TAG_VERSION, "0.0-test"), 0);
	h.hdr.len = (uint32_t)off;
	memcpy(j->header, &h, sizeof(h));
	j->header_len = off;
	j->cfg.path = j->path;
	j->cfg.recording_id = j->rid;
	j->cfg.header = j->header;
	j->cfg.header_len = j->header_len;
	j->cfg.ifaces = j->ifaces;
}

static void jrec_iface(struct jrec *j, uint32_t ifindex, const char *name)
{
	struct tr_iface *it = &j->ifaces[j->n_ifaces++];

	it->hdr.type = TR_REC_IFACE;
	it->hdr.len = sizeof(*it);
	it->netns_ino = 4026531840u;
	it->ifindex = ifindex;
	it->mtu = 1500;
	it->linktype = 1;
	it->flags = TR_IFACE_UP | TR_IFACE_INGRESS | TR_IFACE_EGRESS;
	it->hwaddr_len = 6;
	memcpy(it->hwaddr, "\x02\x00\x5e\x10\x00", 5);
	it->hwaddr[5] = (uint8_t)ifindex;
	snprintf(it->name, sizeof(it->name), "%s", name);
	j->cfg.n_ifaces = j->n_ifaces;
}

static bool jrec_open(struct jrec *j)
{
	return CHECK_EQ_INT(jw_open(&j->cfg, &j->w), 0);
}

static bool jrec_close(struct jrec *j)
{
	int ret = jw_close(j->w);

	j->w = NULL;
	return CHECK_EQ_INT(ret, 0);
}

/* Boot time of j at rel ns after its start, and the wall time it stands for. */
static uint64_t boot_at(const struct jrec *j, uint64_t rel)
{
	return j->boot0 + rel;
}

static uint64_t wall_at(const struct jrec *j, uint64_t rel)
{
	return WALL0 + j->skew + rel;
}

/*
 * Start a data chunk of j as the recorder does: a CLOCK record read at rel (its boot and wall
 * times given here, not read from the clocks), then the IFACE records.
 */
static bool chunk_open(struct jrec *j, uint64_t rel)
{
	struct tr_clock c = { .hdr = { .type = TR_REC_CLOCK, .len = sizeof(c) } };
	bool ok;

	c.hdr.ts = boot_at(j, rel);
	c.real_ns = wall_at(j, rel);
	c.uncertainty_ns = 500;
	chunkbuf_begin(&cb, &enc);
	ok = CHECK_EQ_INT(chunkbuf_add(&cb, &c, sizeof(c)), 0);
	cb.wall_offset = (int64_t)(c.real_ns - c.hdr.ts);
	for (size_t i = 0; i < j->n_ifaces; i++)
		ok &= CHECK_EQ_INT(chunkbuf_add(&cb, &j->ifaces[i], sizeof(j->ifaces[i])), 0);
	return ok;
}

static bool chunk_close(struct jrec *j)
{
	return CHECK_EQ_INT(chunkbuf_end(&cb), 0) && CHECK_EQ_INT(jw_write(j->w, &cb), 0);
}

/*
 * A PACKET record at rel on ifindex, with a new id and cap bytes of data; it is expected out
 * (and added to wants) when expect. Returns the id, 0 on failure.
 */
static uint64_t put_packet(struct jrec *j, uint64_t rel, uint32_t ifindex, uint32_t cap,
			   bool expect)
{
	uint8_t rec[sizeof(struct tr_packet) + 2048];
	struct tr_packet p = { .hdr = { .type = TR_REC_PACKET } };
	uint64_t id = next_id++;

	if (!CHECK(cap <= 2048) || !CHECK(n_wants < MAX_WANT))
		return 0;
	p.hdr.len = (uint32_t)(sizeof(p) + cap);
	p.hdr.ts = boot_at(j, rel);
	p.sock_cookie = id;
	p.ifindex = ifindex;
	p.cap_len = cap;
	p.orig_len = cap + (uint32_t)(id % 3) * 700;
	p.protocol = 0x0008;
	p.dir = id % 2 ? TR_DIR_INGRESS : TR_DIR_EGRESS;
	memcpy(rec, &p, sizeof(p));
	fill(id, rec + sizeof(p), cap);
	if (!CHECK_EQ_INT(chunkbuf_add(&cb, rec, p.hdr.len), 0))
		return 0;
	if (expect)
		wants[n_wants++] = (struct want){ .id = id,
						  .wall = wall_at(j, rel),
						  .rec = j,
						  .ifindex = ifindex,
						  .cap = cap,
						  .orig = p.orig_len };
	return id;
}

/* A packet that must come out with drops lost packets attached to it. */
static bool put_packet_drops(struct jrec *j, uint64_t rel, uint32_t ifindex, uint32_t cap,
			     uint64_t drops)
{
	if (!put_packet(j, rel, ifindex, cap, true))
		return false;
	wants[n_wants - 1].drops = drops;
	return true;
}

static bool put_loss(struct jrec *j, uint64_t rel, uint32_t ifindex, uint64_t count)
{
	struct tr_loss l = { .hdr = { .type = TR_REC_LOSS, .len = sizeof(l) } };

	l.hdr.ts = boot_at(j, rel);
	l.count = count;
	l.since_ns = j->boot0;
	l.ifindex = ifindex;
	l.what = TR_LOSS_PACKETS;
	l.dir = TR_DIR_INGRESS;
	l.where = TR_LOSS_RINGBUF;
	return CHECK_EQ_INT(chunkbuf_add(&cb, &l, sizeof(l)), 0);
}

/* The wanted packets in time order; at equal times, in the order they were written. */
static int cmp_want(const void *a, const void *b)
{
	const struct want *x = a, *y = b;

	if (x->wall != y->wall)
		return x->wall < y->wall ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

static void wants_reset(void)
{
	n_wants = 0;
}

static struct want *want_of(uint64_t id)
{
	for (size_t i = 0; i < n_wants; i++)
		if (wants[i].id == id)
			return &wants[i];
	check_failed(__FILE__, __LINE__, "packet %" PRIu64 " is not one of those written", id);
	return NULL;
}

/* A packet handed out by source_next. */
struct got {
	struct tr_packet p;
	uint64_t wall;
	uint64_t drops; /* source_take_drops on it, as convert.c asks */
	unsigned iface;
	bool data_ok; /* its data is the data of packet p.sock_cookie */
};

/* Everything one read of a set of journals said. */
struct readback {
	int open_ret, next_ret;
	size_t n;
	struct got *g;
	unsigned nifaces, nrecs, damage;
	struct src_iface ifs[MAX_IFS];
	struct recording recs[MAX_IFS]; /* filter points into filters */
	char filters[MAX_IFS][64];
	uint64_t chunks;
	char *log; /* what it printed on stderr */
};

static void readback_free(struct readback *rb)
{
	free(rb->g);
	free(rb->log);
	memset(rb, 0, sizeof(*rb));
}

/*
 * Read paths with source_*, standard error going to a file meanwhile (so no check is made until
 * it is back): every packet, its drops, then the interfaces, recordings and damage.
 */
static void read_back(const char *const *paths, unsigned n, struct readback *rb)
{
	char logpath[PATH_MAX], *copy[8];
	struct source *s = NULL;
	struct packet_view v;
	uint8_t data[2048];
	size_t cap = 0, len;
	int saved, fd, ret;

	memset(rb, 0, sizeof(*rb));
	if (!CHECK(n <= 8)) {
		rb->open_ret = -E2BIG;
		rb->log = strdup("");
		return;
	}
	for (unsigned i = 0; i < n; i++)
		copy[i] = (char *)paths[i];
	tpath(logpath, "source.log");
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (!CHECK(saved >= 0 && fd >= 0) || !CHECK(dup2(fd, STDERR_FILENO) >= 0)) {
		rb->open_ret = -EIO;
		goto out;
	}
	rb->open_ret = source_open(copy, n, &s);
	if (rb->open_ret)
		goto restore;
	while ((ret = source_next(s, &v)) > 0) {
		struct got *g;

		if (array_reserve(&rb->g, &cap, rb->n + 1, sizeof(*rb->g), 256)) {
			ret = -ENOMEM;
			break;
		}
		g = &rb->g[rb->n++];
		g->p = v.p;
		g->wall = v.wall;
		g->iface = v.iface;
		g->drops = source_take_drops(s, v.iface, v.wall);
		g->data_ok = v.p.cap_len <= sizeof(data);
		if (g->data_ok) {
			fill(v.p.sock_cookie, data, v.p.cap_len);
			g->data_ok = !memcmp(data, v.data, v.p.cap_len);
		}
	}
	rb->next_ret = ret;
	rb->damage = source_damage(s);
	rb->chunks = source_chunks(s);
	{
		struct src_iface *ifs;
		const struct recording *recs;

		rb->nifaces = source_interfaces(s, &ifs);
		for (unsigned i = 0; i < rb->nifaces && i < MAX_IFS; i++) {
			rb->ifs[i] = ifs[i];
			rb->ifs[i].marks = NULL;
		}
		rb->nrecs = source_recordings(s, &recs);
		for (unsigned i = 0; i < rb->nrecs && i < MAX_IFS; i++) {
			rb->recs[i] = recs[i];
			if (recs[i].filter) {
				snprintf(rb->filters[i], sizeof(rb->filters[i]), "%s", recs[i].filter);
				rb->recs[i].filter = rb->filters[i];
			}
		}
	}
	source_close(s);
restore:
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
out:
	if (saved >= 0)
		close(saved);
	if (fd >= 0)
		close(fd);
	rb->log = (char *)slurp(logpath, &len);
	if (!rb->log)
		rb->log = strdup("");
}

/* The interface a packet came out on: index i of rb, which must describe ifindex of rec. */
static void check_iface(const struct readback *rb, unsigned i, const struct want *w)
{
	const struct src_iface *it;

	if (!CHECK(i < rb->nifaces) || !CHECK(i < MAX_IFS))
		return;
	it = &rb->ifs[i];
	CHECK_EQ_U64(it->desc.ifindex, w->ifindex);
	if (CHECK(it->rec < rb->nrecs) && CHECK(it->rec < MAX_IFS))
		CHECK_MEM(rb->recs[it->rec].id, w->rec->rid, 16);
	for (size_t k = 0; k < w->rec->n_ifaces; k++)
		if (w->rec->ifaces[k].ifindex == w->ifindex)
			CHECK_MSG(!strcmp(it->desc.name, w->rec->ifaces[k].name),
				  "interface \"%s\", want \"%s\"", it->desc.name,
				  w->rec->ifaces[k].name);
}

/* rb handed out exactly the wanted packets, in time order (ties: order of writing), intact. */
static void check_packets(const struct readback *rb)
{
	static struct want sorted[MAX_WANT];

	memcpy(sorted, wants, n_wants * sizeof(*wants));
	qsort(sorted, n_wants, sizeof(*sorted), cmp_want);
	CHECK_EQ_INT(rb->open_ret, 0);
	CHECK_EQ_INT(rb->next_ret, 0);
	CHECK_EQ_U64(rb->n, n_wants);
	for (size_t i = 0; i < rb->n && i < n_wants; i++) {
		const struct got *g = &rb->g[i];
		const struct want *w = &sorted[i];

		check_ctx("packet %zu of %zu", i, n_wants);
		if (!CHECK_EQ_U64(g->p.sock_cookie, w->id))
			w = want_of(g->p.sock_cookie);
		if (!w)
			continue;
		CHECK_EQ_U64(g->wall, w->wall);
		CHECK_EQ_U64(g->p.hdr.type, TR_REC_PACKET);
		CHECK_EQ_U64(g->p.hdr.len, sizeof(struct tr_packet) + w->cap);
		CHECK_EQ_U64(g->p.cap_len, w->cap);
		CHECK_EQ_U64(g->p.orig_len, w->orig);
		CHECK_EQ_U64(g->p.ifindex, w->ifindex);
		CHECK_MSG(g->data_ok, "the data of packet %" PRIu64 " is not what was written",
			  w->id);
		check_iface(rb, g->iface, w);
	}
	check_ctx("%s", "");
}

static unsigned count_of(const char *text, const char *what)
{
	unsigned n = 0;

	for (const char *p = text; (p = strstr(p, what)); p++)
		n++;
	return n;
}

static void check_log_has(const struct readback *rb, const char *what)
{
	CHECK_MSG(strstr(rb->log, what) != NULL, "no warning saying \"%s\"; the log was:\n%s", what,
		  rb->log);
}

static void check_log_lacks(const struct readback *rb, const char *what)
{
	CHECK_MSG(strstr(rb->log, what) == NULL, "a warning saying \"%s\":\n%s", what, rb->log);
}

/* Read paths into rb and check the packets and the count of damaged places. */
static void read_checked(const char *const *paths, unsigned n, unsigned damage,
			 struct readback *rb)
{
	read_back(paths, n, rb);
	check_packets(rb);
	CHECK_EQ_U64(rb->damage, damage);
}

/* Read paths into rb and check the packets, no damage, nothing printed. */
static void read_clean(const char *const *paths, unsigned n, struct readback *rb)
{
	read_checked(paths, n, 0, rb);
	CHECK_MSG(!rb->log[0], "warnings on a clean read:\n%s", rb->log);
}

/* read_clean, with nothing more to check. */
static void check_clean_read(const char *const *paths, unsigned n)
{
	struct readback rb;

	read_clean(paths, n, &rb);
	readback_free(&rb);
}

/* Packets of one chunk written in shuffled time order (as records of several CPUs are). */
static void test_sorted_within_chunk(void)
{
	enum { N = 400 };
	const char *paths[1];
	uint64_t rel[N];
	struct readback rb;
	struct jrec j;
	bool ok;

	wants_reset();
	rnd_seed(0x50A7);
	jrec_init(&j, "shuffled.lz4", 0xA1, "unit-host", 1000 * NS, 0);
	jrec_iface(&j, 1, "lo");
	jrec_iface(&j, 2, "eth0");
	if (!jrec_open(&j))
		return;
	for (int i = 0; i < N; i++)
		rel[i] = 1000 + 10 * (uint64_t)i;
	for (int i = N - 1; i > 0; i--) {
		size_t k = rnd() % (uint64_t)(i + 1);
		uint64_t t = rel[i];

		rel[i] = rel[k];
		rel[k] = t;
	}
	ok = chunk_open(&j, 1000);
	for (int i = 0; ok && i < N; i++)
		ok = put_packet(&j, rel[i], 1 + (uint32_t)(rnd() & 1), (uint32_t)rnd_range(0, 300),
				true);
	ok = ok && chunk_close(&j);
	/* A second chunk, in order, later. */
	ok = ok && chunk_open(&j, 10000);
	for (int i = 0; ok && i < 50; i++)
		ok = put_packet(&j, 10000 + 7 * (uint64_t)i, 2, (uint32_t)rnd_range(0, 300), true);
	ok = ok && chunk_close(&j);
	ok = jrec_close(&j) && ok;
	if (!ok)
		return;

	paths[0] = j.path;
	read_clean(paths, 1, &rb);
	if (CHECK_EQ_U64(rb.nrecs, 1)) {
		CHECK(rb.recs[0].have_header);
		CHECK(!strcmp(rb.recs[0].host, "unit-host"));
		CHECK_EQ_U64(rb.recs[0].snaplen, TR_MAX_SNAPLEN);
		CHECK_EQ_U64(rb.recs[0].start_ns, WALL0);
	}
	if (CHECK_EQ_U64(rb.nifaces, 2)) {
		CHECK(!strcmp(rb.ifs[0].desc.name, "lo"));
		CHECK(!strcmp(rb.ifs[1].desc.name, "eth0"));
	}
	/* Head chunk, two data chunks. */
	CHECK_EQ_U64(rb.chunks, 3);
	readback_free(&rb);
}

/*
 * Chunks whose time ranges overlap, one inside another, and chunks written out of time order:
 * packets come out merged. Times are distinct across chunks (rel % 8 is the chunk's number), so
 * the order is fully determined by time.
 */
static void test_overlapping_chunks(void)
{
	static const uint64_t start[] = { 0, 1000, 500, 7000, 6500, 6600, 20000 };
	static const uint64_t span[] = { 5000, 5000, 300, 2000, 1000, 50, 10 };
	const char *paths[1];
	struct jrec j;
	bool ok;

	wants_reset();
	rnd_seed(0x0FE7);
	jrec_init(&j, "overlap.lz4", 0xA2, "unit-host", 77 * NS, 3 * NS);
	jrec_iface(&j, 2, "eth0");
	if (!jrec_open(&j))
		return;
	ok = true;
	for (size_t c = 0; ok && c < sizeof(start) / sizeof(start[0]); c++) {
		unsigned n = (unsigned)rnd_range(1, 120);

		ok = chunk_open(&j, 8 * start[c]);
		for (unsigned i = 0; ok && i < n; i++) {
			uint64_t rel = 8 * (start[c] + rnd_range(0, span[c] - 1)) + c;

			ok = put_packet(&j, rel, 2, (uint32_t)rnd_range(0, 200), true);
		}
		ok = ok && chunk_close(&j);
	}
	ok = jrec_close(&j) && ok;
	if (!ok)
		return;
	paths[0] = j.path;
	check_clean_read(paths, 1);
}

/* Files j, j1, j2, j3 of one recording, each with a head chunk and (but j3) one data chunk. */
static bool write_rotated(struct jrec *j, char names[4][PATH_MAX])
{
	bool ok = jrec_open(j);

	for (unsigned f = 0; ok && f < 3; f++) {
		ok = chunk_open(j, 1000 * f);
		for (unsigned i = 0; ok && i < 30; i++)
			ok = put_packet(j, 1000 * f + rnd_range(0, 1400), 2,
					(uint32_t)rnd_range(0, 100), true);
		ok = ok && chunk_close(j);
	}
	ok = jrec_close(j) && ok;
	for (unsigned f = 0; f < 4; f++)
		jw_filename(names[f], PATH_MAX, j->path, f, 0);
	return ok;
}

/*
 * Rotated files: given in reverse order, read as one recording in order; the same file twice,
 * each chunk once (the copy is warned about); the middle file left out: warned, the rest read.
 */
static void test_rotated_files(void)
{
	char names[4][PATH_MAX];
	static struct want all[MAX_WANT];
	size_t n_all;
	struct readback rb;
	struct jrec j;

	wants_reset();
	rnd_seed(0x2077);
	jrec_init(&j, "rot", 0xA3, "unit-host", 5 * NS, 0);
	jrec_iface(&j, 2, "eth0");
	j.cfg.rotate_bytes = 1; /* every chunk written starts a new file */
	if (!write_rotated(&j, names))
		return;
	for (unsigned f = 0; f < 4; f++)
		CHECK_MSG(!access(names[f], R_OK), "%s: %s", names[f], strerror(errno));

	{
		const char *rev[] = { names[3], names[2], names[1], names[0] };

		check_ctx("files in reverse order");
		read_clean(rev, 4, &rb);
		CHECK_EQ_U64(rb.nrecs, 1);
		CHECK_EQ_U64(rb.nifaces, 1);
		CHECK_EQ_U64(rb.chunks, 7);
		readback_free(&rb);
	}
	{
		const char *twice[] = { names[0], names[1], names[0], names[2], names[3] };

		check_ctx("the first file given twice");
		read_checked(twice, 5, 0, &rb);
		check_log_has(&rb, "2 chunks are copies of chunks in");
		check_log_lacks(&rb, "missing");
		CHECK_EQ_U64(rb.nrecs, 1);
		CHECK_EQ_U64(rb.nifaces, 1);
		CHECK_EQ_U64(rb.chunks, 7);
		readback_free(&rb);
	}
	{
		const char *gap[] = { names[0], names[2], names[3] };

		/* Only the packets of the first and third data chunks (30 each, in wants in the
		 * order written) are wanted now. */
		memcpy(all, wants, n_wants * sizeof(*wants));
		n_all = n_wants;
		wants_reset();
		for (size_t i = 0; i < n_all; i++)
			if (i < 30 || i >= 60)
				wants[n_wants++] = all[i];
		CHECK_EQ_U64(n_wants, 60);
		check_ctx("the middle file left out");
		read_checked(gap, 3, 0, &rb);
		check_log_has(&rb, "2 chunks of a recording are missing");
		check_log_lacks(&rb, "copies");
		CHECK_EQ_U64(rb.chunks, 5);
		readback_free(&rb);
	}
	check_ctx("%s", "");
}

/*
 * Two recordings from two hosts, booted at different times, both with an interface 2: their
 * packets interleave by wall time, and their interfaces stay two.
 */
static void test_two_recordings(void)
{
	const char *paths[2];
	struct jrec a, b;
	struct readback rb;
	bool ok;

	wants_reset();
	rnd_seed(0x7777);
	jrec_init(&a, "host-a.lz4", 0xAA, "host-a", 1000 * NS, 0);
	jrec_iface(&a, 2, "eth0");
	jrec_init(&b, "host-b.lz4", 0xBB, "host-b", 86400 * NS, 250);
	jrec_iface(&b, 2, "ens3");
	/* b was recorded with a capture filter (HEADER tag 6, format 1.3); a without. */
	CHECK_EQ_INT(tlv_put(b.header, sizeof(b.header), &b.header_len, TR_TAG_FILTER,
			     "tcp port 443"), 0);
	memcpy(b.header + offsetof(struct tr_header, hdr.len), &(uint32_t){ (uint32_t)b.header_len },
	       sizeof(uint32_t));
	b.cfg.header_len = b.header_len;
	ok = jrec_open(&a) && jrec_open(&b);
	for (unsigned c = 0; ok && c < 4; c++) {
		ok = chunk_open(&a, 10000 * c);
		for (unsigned i = 0; ok && i < 40; i++)
			ok = put_packet(&a, 10000 * c + 2 * rnd_range(0, 6000), 2,
					(uint32_t)rnd_range(0, 150), true);
		ok = ok && chunk_close(&a);
		/* b's times are 250 ns later, odd rel ns: never equal to a's. */
		ok = ok && chunk_open(&b, 10000 * c + 3000);
		for (unsigned i = 0; ok && i < 40; i++)
			ok = put_packet(&b, 10000 * c + 3000 + 2 * rnd_range(0, 6000) + 1, 2,
					(uint32_t)rnd_range(0, 150), true);
		ok = ok && chunk_close(&b);
	}
	ok = jrec_close(&a) && ok;
	ok = jrec_close(&b) && ok;
	if (!ok)
		return;
	paths[0] = b.path;
	paths[1] = a.path;
	read_clean(paths, 2, &rb);
	if (CHECK_EQ_U64(rb.nrecs, 2)) {
		CHECK_MEM(rb.recs[0].id, b.rid, 16);
		CHECK(!strcmp(rb.recs[0].host, "host-b"));
		CHECK(rb.recs[0].filter && !strcmp(rb.recs[0].filter, "tcp port 443"));
		CHECK_MEM(rb.recs[1].id, a.rid, 16);
		CHECK(!strcmp(rb.recs[1].host, "host-a"));
		CHECK(rb.recs[1].filter == NULL);
	}
	if (CHECK_EQ_U64(rb.nifaces, 2)) {
		CHECK(rb.ifs[0].rec != rb.ifs[1].rec);
		CHECK_EQ_U64(rb.ifs[0].desc.ifindex, 2);
		CHECK_EQ_U64(rb.ifs[1].desc.ifindex, 2);
		CHECK(!strcmp(rb.ifs[0].desc.name, "ens3"));
		CHECK(!strcmp(rb.ifs[1].desc.name, "eth0"));
	}
	readback_free(&rb);
}

/*
 * Read the two files of paths twice: both reads hand out their 8 packets in order (the ids in
 * order). When that is the order of writing too, every packet is checked (check_packets).
 */
static void check_order(const char *const *paths, const char *what, const uint64_t *order,
			bool written_order)
{
	struct readback r1, r2;

	check_ctx("%s", what);
	read_back(paths, 2, &r1);
	read_back(paths, 2, &r2);
	if (written_order)
		check_packets(&r1);
	if (CHECK_EQ_U64(r1.n, 8) && CHECK_EQ_U64(r2.n, 8)) {
		for (int i = 0; i < 8; i++) {
			check_ctx("%s, packet %d", what, i);
			CHECK_EQ_U64(r1.g[i].p.sock_cookie, order[i]);
			CHECK_EQ_U64(r2.g[i].p.sock_cookie, order[i]);
		}
	}
	readback_free(&r1);
	readback_free(&r2);
	check_ctx("%s", "");
}

/*
 * Equal wall times within a chunk, across chunks of a file and across files: the earlier chunk
 * (by first time, then by file as given, then by place in the file) first, then record order.
 * Two reads of the same input give the same order.
 */
static void test_equal_times(void)
{
	/* Packets, by chunk: rel time of each; every chunk's CLOCK (its first time) is at 0. */
	static const uint64_t c1[] = { 10, 10, 5, 10 }, c2[] = { 10, 5 }, c3[] = { 10, 5 };
	uint64_t ids1[4] = { 0 }, ids2[2] = { 0 }, ids3[2] = { 0 };
	const char *paths[2];
	struct jrec a, b;
	bool ok;

	wants_reset();
	rnd_seed(0xE0E0);
	jrec_init(&a, "eq-a.lz4", 0xC1, "host-a", 1000 * NS, 0);
	jrec_iface(&a, 2, "eth0");
	jrec_init(&b, "eq-b.lz4", 0xC2, "host-b", 3 * NS, 0);
	jrec_iface(&b, 2, "eth0");
	ok = jrec_open(&a) && jrec_open(&b);
	ok = ok && chunk_open(&a, 0);
	for (int i = 0; ok && i < 4; i++)
		ok = (ids1[i] = put_packet(&a, c1[i], 2, 20, true)) != 0;
	ok = ok && chunk_close(&a) && chunk_open(&a, 0);
	for (int i = 0; ok && i < 2; i++)
		ok = (ids2[i] = put_packet(&a, c2[i], 2, 21, true)) != 0;
	ok = ok && chunk_close(&a) && chunk_open(&b, 0);
	for (int i = 0; ok && i < 2; i++)
		ok = (ids3[i] = put_packet(&b, c3[i], 2, 22, true)) != 0;
	ok = ok && chunk_close(&b);
	ok = jrec_close(&a) && ok;
	ok = jrec_close(&b) && ok;
	if (!ok)
		return;

	{
		const uint64_t order[] = { ids1[2], ids2[1], ids3[1], ids1[0],
					   ids1[1], ids1[3], ids2[0], ids3[0] };

		paths[0] = a.path;
		paths[1] = b.path;
		check_order(paths, "a then b", order, true);
	}
	{
		const uint64_t order[] = { ids3[1], ids1[2], ids2[1], ids3[0],
					   ids1[0], ids1[1], ids1[3], ids2[0] };

		paths[0] = b.path;
		paths[1] = a.path;
		check_order(paths, "b then a", order, false);
	}
}

/* The drops source_take_drops gave each packet, against what each must get. */
static void check_drops(const struct readback *rb)
{
	for (size_t i = 0; i < rb->n; i++) {
		const struct want *w = want_of(rb->g[i].p.sock_cookie);

		check_ctx("packet %" PRIu64 " at rel %" PRIu64, (uint64_t)rb->g[i].p.sock_cookie,
			  rb->g[i].wall - WALL0);
		if (w)
			CHECK_EQ_U64(rb->g[i].drops, w->drops);
	}
	check_ctx("%s", "");
}

/* Read one journal and check its packets, their drops, and each interface's lost total. */
static void check_losses(const char *path, const uint64_t *lost, unsigned nifaces)
{
	const char *paths[1] = { path };
	struct readback rb;

	read_checked(paths, 1, 0, &rb);
	check_drops(&rb);
	if (CHECK_EQ_U64(rb.nifaces, nifaces))
		for (unsigned i = 0; i < nifaces; i++)
			CHECK_EQ_U64(rb.ifs[i].lost, lost[i]);
	readback_free(&rb);
}

/*
 * LOSS records: the count goes on the first packet of the interface at or after the LOSS record's
 * wall time (in the same chunk or a later one); src_iface.lost totals them, including losses after
 * the interface's last packet; a LOSS not tied to an interface goes on none.
 */
static void test_losses(void)
{
	const uint64_t lost[] = { 11, 5 + 7 + 2 + 6 + 3 + 100 };
	struct jrec j;
	bool ok;

	wants_reset();
	jrec_init(&j, "loss.lz4", 0xD1, "unit-host", 1000 * NS, 0);
	jrec_iface(&j, 1, "lo");
	jrec_iface(&j, 2, "eth0");
	ok = jrec_open(&j) && chunk_open(&j, 50);
	ok = ok && put_packet(&j, 100, 2, 10, true);
	ok = ok && put_loss(&j, 150, 2, 5) && put_loss(&j, 120, 1, 11) && put_loss(&j, 160, 0, 13);
	ok = ok && put_packet_drops(&j, 200, 2, 11, 5);
	ok = ok && put_loss(&j, 250, 2, 7) && put_loss(&j, 300, 2, 2);
	ok = ok && put_packet_drops(&j, 300, 2, 12, 7 + 2);
	ok = ok && put_packet_drops(&j, 400, 1, 13, 11);
	ok = ok && put_packet(&j, 410, 1, 14, true);
	ok = ok && put_loss(&j, 420, 2, 6);
	ok = ok && chunk_close(&j) && chunk_open(&j, 1000);
	ok = ok && put_packet_drops(&j, 1000, 2, 20, 6);
	ok = ok && put_loss(&j, 1300, 2, 3);
	ok = ok && put_packet(&j, 1350, 1, 21, true);
	ok = ok && put_packet_drops(&j, 1400, 2, 22, 3);
	ok = ok && put_loss(&j, 5000, 2, 100);
	ok = ok && chunk_close(&j);
	ok = jrec_close(&j) && ok;
	if (ok)
		check_losses(j.path, lost, 2);
}

/*
 * Two chunks that overlap in time, each with a loss on eth0: chunk 1 (from 1000) is loaded first,
 * and its loss at 1300 is later than chunk 2's at 1150. The packet at 1200 must get chunk 2's 4
 * (a loss recorded before it), the packet at 1400 chunk 1's 3.
 */
static void test_losses_overlapping_chunks(void)
{
	const uint64_t lost[] = { 3 + 4 };
	struct jrec j;
	bool ok;

	wants_reset();
	jrec_init(&j, "loss-overlap.lz4", 0xD2, "unit-host", 1000 * NS, 0);
	jrec_iface(&j, 2, "eth0");
	ok = jrec_open(&j) && chunk_open(&j, 1000);
	ok = ok && put_packet(&j, 1000, 2, 20, true);
	ok = ok && put_loss(&j, 1300, 2, 3);
	ok = ok && put_packet_drops(&j, 1400, 2, 21, 3);
	ok = ok && chunk_close(&j) && chunk_open(&j, 1050);
	ok = ok && put_packet(&j, 1100, 2, 22, true);
	ok = ok && put_loss(&j, 1150, 2, 4);
	ok = ok && put_packet_drops(&j, 1200, 2, 23, 4);
	ok = ok && chunk_close(&j);
	ok = jrec_close(&j) && ok;
	if (ok)
		check_losses(j.path, lost, 1);
}

/*
 * A journal of five data chunks; the second's data frame gets one byte changed, the fourth's
 * header too. Both are damage (reported with their offsets), the other three chunks' packets
 * all come out.
 */
static void test_damaged_chunks(void)
{
	struct jr_chunk chunks[8];
	struct journal_reader *r;
	const char *paths[1], *why;
	char msg[2][128];
	static struct want all[MAX_WANT];
	size_t n_all, n = 0;
	struct readback rb;
	struct jrec j;
	bool ok;
	int fd;

	wants_reset();
	rnd_seed(0xDA3A);
	jrec_init(&j, "damaged.lz4", 0xE1, "unit-host", 1000 * NS, 0);
	jrec_iface(&j, 2, "eth0");
	ok = jrec_open(&j);
	for (unsigned c = 0; ok && c < 5; c++) {
		ok = chunk_open(&j, 1000 * c);
		for (unsigned i = 0; ok && i < 20; i++)
			ok = put_packet(&j, 1000 * c + 5 * i, 2, (uint32_t)rnd_range(100, 400),
					true);
		ok = ok && chunk_close(&j);
	}
	ok = jrec_close(&j) && ok;
	if (!ok)
		return;

	if (!CHECK_EQ_INT(jr_open(j.path, NULL, NULL, &r, &why), 0))
		return;
	while (n < 8 && jr_next(r, &chunks[n]) == 1)
		n++;
	jr_close(r);
	if (!CHECK_EQ_U64(n, 6))
		return;
	fd = open(j.path, O_RDWR | O_CLOEXEC);
	if (!CHECK(fd >= 0))
		return;
	{
		off_t frame_mid = (off_t)(chunks[2].offset + JR_CHUNK_HDR_SIZE +
					  chunks[2].meta.frame_len / 2);
		off_t in_header = (off_t)(chunks[4].offset + 8 + 12); /* its record count */
		uint8_t byte;

		CHECK(pread(fd, &byte, 1, frame_mid) == 1);
		byte ^= 0x40;
		CHECK(pwrite(fd, &byte, 1, frame_mid) == 1);
		CHECK(pread(fd, &byte, 1, in_header) == 1);
		byte ^= 0x01;
		CHECK(pwrite(fd, &byte, 1, in_header) == 1);
	}
	close(fd);
	snprintf(msg[0], sizeof(msg[0]), "damaged region at offset %" PRIu64 " (%" PRIu64 " bytes)",
		 chunks[2].offset, JR_CHUNK_HDR_SIZE + (uint64_t)chunks[2].meta.frame_len);
	snprintf(msg[1], sizeof(msg[1]), "damaged region at offset %" PRIu64 " (%" PRIu64 " bytes)",
		 chunks[4].offset, JR_CHUNK_HDR_SIZE + (uint64_t)chunks[4].meta.frame_len);

	/* Data chunk c holds wants[20c] .. wants[20c + 19]. */
	memcpy(all, wants, n_wants * sizeof(*wants));
	n_all = n_wants;
	wants_reset();
	for (size_t i = 0; i < n_all; i++) {
		size_t c = i / 20;

		if (c != 1 && c != 3)
			wants[n_wants++] = all[i];
	}
	paths[0] = j.path;
	read_checked(paths, 1, 2, &rb);
	CHECK_EQ_U64(rb.chunks, 4); /* the head chunk and three data chunks */
	check_log_has(&rb, msg[0]);
	check_log_has(&rb, msg[1]);
	readback_free(&rb);
}

/* A PACKET on an interface no IFACE record describes: skipped, counted as damage, warned once. */
static void test_unknown_interface(void)
{
	const char *paths[1];
	struct readback rb;
	struct jrec j;
	bool ok;

	wants_reset();
	rnd_seed(0x1F99);
	jrec_init(&j, "unknown-if.lz4", 0xF1, "unit-host", 1000 * NS, 0);
	jrec_iface(&j, 2, "eth0");
	ok = jrec_open(&j) && chunk_open(&j, 0);
	for (unsigned i = 0; ok && i < 30; i++)
		ok = put_packet(&j, 10 * i, i % 10 == 3 ? 99 : 2, (uint32_t)rnd_range(0, 64),
				i % 10 != 3);
	ok = ok && chunk_close(&j);
	ok = jrec_close(&j) && ok;
	if (!ok)
		return;
	paths[0] = j.path;
	CHECK_EQ_U64(n_wants, 27);
	read_checked(paths, 1, 3, &rb);
	CHECK_MSG(count_of(rb.log,
			   "a packet on interface 99, which the journal does not describe") == 1,
		  "not one warning about interface 99:\n%s", rb.log);
	CHECK_EQ_U64(rb.nifaces, 1);
	readback_free(&rb);
}

/* A SECRET record of library lib at rel, its client random all byte b. */
static bool put_secret(struct jrec *j, uint64_t rel, uint32_t lib, uint8_t b)
{
	struct tr_secret s = { .hdr = { .type = TR_REC_SECRET, .len = sizeof(s) } };

	s.hdr.ts = boot_at(j, rel);
	s.lib = lib;
	s.flags = TR_SEC_TLS12;
	memset(s.client_random, b, sizeof(s.client_random));
	return CHECK_EQ_INT(chunkbuf_add(&cb, &s, sizeof(s)), 0);
}

/* A LIBRARY record at rel: index, kind, path. */
static bool put_library(struct jrec *j, uint64_t rel, uint32_t index, uint16_t kind,
			const char *path)
{
	uint8_t lib[sizeof(struct tr_library) + 64];
	struct tr_library l = { .hdr = { .type = TR_REC_LIBRARY }, .index = index, .kind = kind };
	size_t off = sizeof(l);

	if (!CHECK_EQ_INT(tlv_put(lib, sizeof(lib), &off, TR_LIB_PATH, path), 0))
		return false;
	l.hdr.len = (uint32_t)off;
	l.hdr.ts = boot_at(j, rel);
	memcpy(lib, &l, sizeof(l));
	return CHECK_EQ_INT(chunkbuf_add(&cb, lib, off), 0);
}

/* What the consumer was given. */
struct taken {
	unsigned n;
	struct src_secret sec[8];
	uint64_t packets_before[8]; /* packets handed out when it came */
	uint64_t packets;
	int fail_at; /* return -ECANCELED on this call (1 is the first), or 0 */
};

static int take(void *ctx, const struct src_secret *sec)
{
	struct taken *t = ctx;

	if (t->n < 8) {
		t->sec[t->n] = *sec;
		t->packets_before[t->n] = t->packets;
	}
	return ++t->n == (unsigned)t->fail_at ? -ECANCELED : 0;
}

/*
 * SECRET records in two chunks (the second written first, but later in time), handed to the
 * consumer as their chunks are read: each once, in the order read, with its recording, its
 * library, its chunk and its wall-clock time, and counted by the library that names it (the one
 * LIBRARY record names two of the three); not again after source_rewind. A consumer's error stops
 * the reading.
 */
static void test_secret_consumer(void)
{
	const struct src_library *libs;
	struct taken t = { 0 };
	char *paths[1];
	struct packet_view v;
	struct src_chunk c;
	struct source *s;
	struct jrec j;
	int ret;
	bool ok;

	wants_reset();
	jrec_init(&j, "secrets.lz4", 0xC5, "unit-host", 1000 * NS, 0);
	jrec_iface(&j, 2, "eth0");
	ok = jrec_open(&j) && chunk_open(&j, 5000);
	ok = ok && put_packet(&j, 5100, 2, 10, true) && put_secret(&j, 5200, 7, 0xB0) &&
	     put_secret(&j, 5300, 8, 0xB1) && put_packet(&j, 5400, 2, 10, true) && chunk_close(&j);
	ok = ok && chunk_open(&j, 100) &&
	     put_library(&j, 100, 7, TR_LIB_OPENSSL, "/usr/lib/libssl.so.3") &&
	     put_packet(&j, 150, 2, 10, true) && put_secret(&j, 200, 7, 0xA0) && chunk_close(&j);
	ok = jrec_close(&j) && ok;
	paths[0] = j.path;
	if (!ok || !CHECK_EQ_INT(source_open(paths, 1, &s), 0))
		return;
	source_on_secret(s, take, &t);
	while ((ret = source_next(s, &v)) > 0)
		t.packets++;
	CHECK_EQ_INT(ret, 0);
	CHECK_EQ_U64(t.packets, 3);
	if (CHECK_EQ_U64(t.n, 3)) {
		static const uint8_t random[3] = { 0xA0, 0xB0, 0xB1 };
		static const uint64_t rel[3] = { 200, 5200, 5300 };
		static const uint64_t seq[3] = { 2, 1, 1 }; /* the head chunk is 0 */

		for (int i = 0; i < 3; i++) {
			check_ctx("secret %d", i);
			CHECK_EQ_U64(t.sec[i].s.client_random[0], random[i]);
			CHECK_EQ_U64(t.sec[i].wall, wall_at(&j, rel[i]));
			CHECK_EQ_U64(t.sec[i].rec, 0);
			if (CHECK_EQ_INT(source_chunk(s, t.sec[i].chunk, &c), 0))
				CHECK_EQ_U64(c.meta.seq, seq[i]);
			CHECK_EQ_INT(t.sec[i].lib, i < 2 ? 0 : -1);
		}
		check_ctx("%s", "");
		/* Each chunk's records are taken when it is read, before its packets go out. */
		CHECK_EQ_U64(t.packets_before[0], 0);
		CHECK_EQ_U64(t.packets_before[1], 1);
	}
	if (CHECK_EQ_U64(source_libraries(s, &libs), 1))
		CHECK_EQ_U64(libs[0].secrets, 2);
	source_rewind(s);
	while ((ret = source_next(s, &v)) > 0)
		;
	CHECK_EQ_INT(ret, 0);
	CHECK_EQ_U64(t.n, 3);
	CHECK_EQ_U64(libs[0].secrets, 2);
	source_close(s);

	check_ctx("a consumer that fails");
	memset(&t, 0, sizeof(t));
	t.fail_at = 2;
	if (!CHECK_EQ_INT(source_open(paths, 1, &s), 0))
		return;
	source_on_secret(s, take, &t);
	while ((ret = source_next(s, &v)) > 0)
		;
	CHECK_EQ_INT(ret, -ECANCELED);
	CHECK_EQ_U64(t.n, 2);
	source_close(s);
	check_ctx("%s", "");
}

/* A KEYLOG record of library lib at rel: label, its client random all byte b, a secret of len. */
static bool put_keylog(struct jrec *j, uint64_t rel, uint32_t lib, const char *label, uint8_t b,
		       uint8_t len)
{
	struct tr_keylog k = { .hdr = { .type = TR_REC_KEYLOG, .len = sizeof(k) } };

	k.hdr.ts = boot_at(j, rel);
	k.pid = 4242;
	k.lib = lib;
	k.label_len = (uint8_t)strlen(label);
	memcpy(k.label, label, k.label_len);
	memset(k.client_random, b, sizeof(k.client_random));
	k.secret_len = len;
	memset(k.secret, 0x77, sizeof(k.secret));
	return CHECK_EQ_INT(chunkbuf_add(&cb, &k, sizeof(k)), 0);
}

/*
 * KEYLOG records (format 1.6) go to the same consumer as SECRET records, with their type, and
 * count for the Go program's LIBRARY record; one whose lengths do not fit its fields is damage
 * (the rest of its chunk skipped), not handed over.
 */
static void test_keylog_records(void)
{
	const struct src_library *libs;
	struct taken t = { 0 };
	char *paths[1];
	struct packet_view v;
	struct source *s;
	struct jrec j;
	int ret;
	bool ok;

	wants_reset();
	jrec_init(&j, "keylog.lz4", 0xC6, "unit-host", 1000 * NS, 0);
	jrec_iface(&j, 2, "eth0");
	ok = jrec_open(&j) && chunk_open(&j, 100) &&
	     put_library(&j, 100, 3, TR_LIB_GO, "/usr/bin/goserver") &&
	     put_packet(&j, 150, 2, 10, true) &&
	     put_keylog(&j, 200, 3, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", 0xA0, 32) &&
	     put_keylog(&j, 300, 3, "CLIENT_RANDOM", 0xA1, 48) && chunk_close(&j);
	ok = ok && chunk_open(&j, 1000) && put_keylog(&j, 1100, 3, "CLIENT_RANDOM", 0xA2, 49) &&
	     put_keylog(&j, 1200, 3, "CLIENT_RANDOM", 0xA3, 48) && chunk_close(&j);
	ok = ok && chunk_open(&j, 2000) && put_keylog(&j, 2100, 3, "", 0xA4, 48) && chunk_close(&j);
	ok = jrec_close(&j) && ok;
	paths[0] = j.path;
	if (!ok || !CHECK_EQ_INT(source_open(paths, 1, &s), 0))
		return;
	source_on_secret(s, take, &t);
	while ((ret = source_next(s, &v)) > 0)
		;
	CHECK_EQ_INT(ret, 0);
	if (CHECK_EQ_U64(t.n, 2)) {
		CHECK_EQ_INT(t.sec[0].type, TR_REC_KEYLOG);
		CHECK_EQ_U64(t.sec[0].k.client_random[0], 0xA0);
		CHECK_EQ_U64(t.sec[0].k.label_len, 31);
		CHECK_EQ_U64(t.sec[0].k.pid, 4242);
		CHECK_EQ_U64(t.sec[0].wall, wall_at(&j, 200));
		CHECK_EQ_U64(t.sec[1].k.client_random[0], 0xA1);
		CHECK_EQ_U64(t.sec[1].k.secret_len, 48);
		CHECK_EQ_INT(t.sec[1].lib, 0);
	}
	CHECK_EQ_U64(source_damage(s), 2);
	if (CHECK_EQ_U64(source_libraries(s, &libs), 1)) {
		CHECK_EQ_U64(libs[0].secrets, 2);
		CHECK_EQ_INT(libs[0].kind, TR_LIB_GO);
	}
	source_close(s);
}

/* Whether the n bytes at hay hold needle. */
static bool holds(const uint8_t *hay, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	for (size_t i = 0; i + k <= n; i++)
		if (!memcmp(hay + i, needle, k))
			return true;
	return false;
}

/* A recording that could not record TLS secrets nor socket owners (HEADER tags 7 and 8, format
 * 1.5): the catalog has why, control characters as '?', and the pcapng's section header says what
 * the capture lacks. */
static void test_lacks(void)
{
	static const char *const secrets = "cannot load their programs: no\ncookie";
	static const char *const owners = "cannot attach to tlsrec_exit: Invalid argument";
	const struct recording *recs;
	char *paths[1];
	struct convert_stats st;
	struct source *src;
	char out[PATH_MAX], text[1024];
	uint8_t buf[8192];
	struct tr_header h;
	struct jrec j;
	ssize_t n;
	int fd;

	jrec_init(&j, "lacks.lz4", 0xA7, "unit-host", 1000 * NS, 0);
	CHECK_EQ_INT(tlv_put(j.header, sizeof(j.header), &j.header_len, TR_TAG_NO_SECRETS, secrets),
		     0);
	CHECK_EQ_INT(tlv_put(j.header, sizeof(j.header), &j.header_len, TR_TAG_NO_OWNERS, owners),
		     0);
	memcpy(&h, j.header, sizeof(h));
	h.hdr.len = (uint32_t)j.header_len;
	memcpy(j.header, &h, sizeof(h));
	j.cfg.header_len = j.header_len;
	jrec_iface(&j, 2, "eth0");
	if (!jrec_open(&j) || !jrec_close(&j))
		return;
	paths[0] = j.path;
	if (!CHECK_EQ_INT(source_open(paths, 1, &src), 0))
		return;
	if (CHECK_EQ_INT(source_recordings(src, &recs), 1)) {
		CHECK(!strcmp(recs[0].no_secrets, "cannot load their programs: no?cookie"));
		CHECK(!strcmp(recs[0].no_owners, owners));
		recording_lacks(&recs[0], text, sizeof(text));
		CHECK_MSG(strstr(text, "no TLS secrets: its TLS traffic cannot be decrypted") &&
				  strstr(text, "no socket owners: its packets name no process") &&
				  strstr(text, owners),
			  "%s", text);
	}
	tpath(out, "lacks.pcapng");
	fd = open(out, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (CHECK(fd >= 0)) {
		CHECK_EQ_INT(convert_pcapng(src, fd, &(struct convert_opts){ 0 }, &st), 0);
		n = pread(fd, buf, sizeof(buf), 0);
		CHECK(n > 0 && holds(buf, (size_t)n, "The recording on unit-host has no TLS secrets"));
		CHECK(n > 0 && holds(buf, (size_t)n, owners));
		close(fd);
	}
	source_close(src);
}

int main(void)
{
	if (!tmpdir_make("tlsasm-source"))
		return EXIT_FAILURE;
	if (!CHECK_EQ_INT(chunk_encoder_init(&enc), 0) ||
	    !CHECK_EQ_INT(chunkbuf_init(&cb, 1u << 20), 0))
		return check_exit();
	CHECK_RUN(test_sorted_within_chunk);
	CHECK_RUN(test_overlapping_chunks);
	CHECK_RUN(test_rotated_files);
	CHECK_RUN(test_two_recordings);
	CHECK_RUN(test_equal_times);
	CHECK_RUN(test_losses);
	CHECK_RUN(test_losses_overlapping_chunks);
	CHECK_RUN(test_damaged_chunks);
	CHECK_RUN(test_unknown_interface);
	CHECK_RUN(test_secret_consumer);
	CHECK_RUN(test_keylog_records);
	CHECK_RUN(test_lacks);
	chunkbuf_free(&cb);
	chunk_encoder_free(&enc);
	tmpdir_remove();
	return check_exit();
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests of the journal library (docs/journal-format.md) and of the number parsers in cli.h:
 * write journals with jw_*, read them back with jr_* and the record cursors, then damage copies of
 * them (truncation at every byte, single-bit flips, garbage around them, headers that lie) and
 * check that the reader recovers every intact chunk and reports exactly the damaged bytes.
 * No root, no BPF. Temporary files live in a mkdtemp directory under /tmp, removed at the end.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lz4frame.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "cli.h"
#include "journal.h"
#include "util.h"

#define MAX_CHUNKS 64
#define MAX_DMG 16
#define MAX_DATA_CHUNKS 16

static void fmt(char *out, size_t size, const char *f, ...) __attribute__((format(printf, 3, 4)));

/* snprintf that must not truncate. */
static void fmt(char *out, size_t size, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(out, size, f, ap);
	va_end(ap);
	CHECK_MSG(n >= 0 && (size_t)n < size, "name too long: %s", out);
}

/* Create or overwrite path with data, and give it exactly mode. 0 or -errno. */
static int spit(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (fchmod(fd, mode) || (len && write(fd, data, len) != (ssize_t)len))
		ret = errno ? -errno : -EIO;
	close(fd);
	return ret;
}

/* The stock lz4 tool is part of the contract ("readable with stock tools"): missing fails. */
static bool have_lz4(void)
{
	static const char msg[] = "the lz4 command line tool is not installed (Debian/Ubuntu: "
				  "apt-get install lz4): cannot check that journals are valid .lz4 "
				  "streams";

	return CHECK_MSG(in_path("lz4"), "%s", msg);
}

/* Damage reports, as jr_damage_fn receives them. */
struct dmg_log {
	unsigned n;
	uint64_t off[MAX_DMG];
	uint64_t len[MAX_DMG];
	char why[MAX_DMG][160];
};

static void on_damage(void *ctx, const char *path, uint64_t off, uint64_t len, const char *why)
{
	struct dmg_log *d = ctx;

	if (d->n < MAX_DMG) {
		d->off[d->n] = off;
		d->len[d->n] = len;
		snprintf(d->why[d->n], sizeof(d->why[0]), "%s", why ? why : "(null)");
	}
	d->n++;
}

static size_t fixed_size(uint16_t type)
{
	switch (type) {
	case TR_REC_HEADER:
		return sizeof(struct tr_header);
	case TR_REC_CLOCK:
		return sizeof(struct tr_clock);
	case TR_REC_IFACE:
		return sizeof(struct tr_iface);
	case TR_REC_LOSS:
		return sizeof(struct tr_loss);
	case TR_REC_PACKET:
		return sizeof(struct tr_packet);
	case TR_REC_END:
		return sizeof(struct tr_end);
	}
	return 0;
}

/*
 * Walk the records of a decompressed chunk as a reader does: rec_next, rec_fixed for the known
 * types, tlv_next over HEADER strings. 0 when every record is well formed, else -EBADMSG.
 */
static int walk_records(const uint8_t *raw, size_t len, uint32_t *count)
{
	struct rec_iter it = { raw, raw + len };
	uint64_t fixed[16];
	const uint8_t *rec;
	struct tr_rec h;
	int ret;

	*count = 0;
	while ((ret = rec_next(&it, &h, &rec)) == 1) {
		size_t size = fixed_size(h.type);

		(*count)++;
		if (!size)
			continue;
		if (rec_fixed(rec, &h, fixed, size))
			return -EBADMSG;
		if (h.type == TR_REC_HEADER) {
			struct tlv_iter t = { rec + size, rec + h.len };
			const char *val;
			uint16_t tag, vlen;
			int r;

			while ((r = tlv_next(&t, &tag, &val, &vlen)) == 1)
				;
			if (r)
				return -EBADMSG;
		}
	}
	return ret;
}

/* A chunk as the reader returned it. */
struct rchunk {
	uint64_t offset;
	struct jr_chunk_meta meta;
	int load; /* jr_load's return */
	uint8_t *raw; /* meta.raw_len bytes, valid when load == 0 */
	int walk; /* walk_records's return, when load == 0 */
	uint32_t found; /* records walk_records found */
};

/* Everything a reader said about one file. */
struct readout {
	int open_ret;
	const char *why;
	int next_ret; /* jr_next's return that ended the loop */
	int again_ret; /* jr_next once more after that */
	unsigned damaged;
	size_t n;
	struct rchunk c[MAX_CHUNKS];
	struct dmg_log dmg;
};

static void readout_free(struct readout *o)
{
	for (size_t i = 0; i < o->n; i++)
		free(o->c[i].raw);
	o->n = 0;
}

static void read_journal(const char *path, struct readout *o)
{
	struct journal_reader *r = NULL;
	struct jr_chunk c;
	int ret;

	memset(o, 0, sizeof(*o));
	o->open_ret = jr_open(path, on_damage, &o->dmg, &r, &o->why);
	if (o->open_ret)
		return;
	while ((ret = jr_next(r, &c)) == 1) {
		struct rchunk *rc = &o->c[o->n];

		if (!CHECK_MSG(o->n < MAX_CHUNKS, "more than %d chunks in %s", MAX_CHUNKS, path))
			break;
		o->n++;
		rc->offset = c.offset;
		rc->meta = c.meta;
		rc->raw = malloc(c.meta.raw_len ? c.meta.raw_len : 1);
		if (!CHECK(rc->raw != NULL))
			break;
		rc->load = jr_load(r, &c, rc->raw);
		if (!rc->load)
			rc->walk = walk_records(rc->raw, c.meta.raw_len, &rc->found);
	}
	o->next_ret = ret;
	o->again_ret = ret == 0 ? jr_next(r, &c) : 0;
	o->damaged = jr_damaged(r);
	jr_close(r);
}

/* A data chunk as it was handed to jw_write. */
struct wchunk {
	uint8_t *raw;
	size_t len;
	uint32_t records;
};

static void wchunks_free(struct wchunk *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(w[i].raw);
	memset(w, 0, n * sizeof(*w));
}

struct fixture {
	uint8_t rid[16];
	uint8_t header[512];
	size_t header_len;
	struct tr_iface ifaces[2];
	struct jw_config cfg;
	uint64_t packets;
};

static void fixture_init(struct fixture *f, const char *path)
{
	static const char *const args[] = { "tlsrec", "-i", "eth0", "-w", "journal.lz4", "" };
	struct tr_header h = { .hdr = { .type = TR_REC_HEADER } };
	size_t off = sizeof(h);
	__u64 unc;

	memset(f, 0, sizeof(*f));
	for (int i = 0; i < 16; i++)
		f->rid[i] = (uint8_t)(0xA0 + i);
	memcpy(h.magic, TR_HEADER_MAGIC, sizeof(h.magic));
	h.major = TR_FORMAT_MAJOR;
	h.minor = TR_FORMAT_MINOR;
	h.clock_id = CLOCK_BOOTTIME;
	memcpy(h.recording_id, f->rid, 16);
	memset(h.boot_id, 0x5A, sizeof(h.boot_id));
	clock_pair(&h.pair_boot_ns, &h.pair_real_ns, &unc);
	h.hdr.ts = h.pair_boot_ns;
	h.start_ns = h.pair_real_ns;
	h.snaplen = TR_MAX_SNAPLEN;
	CHECK_EQ_INT(tlv_put(f->header, sizeof(f->header), &off, TR_TAG_HOSTNAME, "unit-host"), 0);
	CHECK_EQ_INT(tlv_put(f->header, sizeof(f->header), &off, TR_TAG_KERNEL, "6.1.0-test"), 0);
	CHECK_EQ_INT(tlv_put(f->header, sizeof(f->header), &off, TR_TAG_MACHINE, "x86_64"), 0);
	CHECK_EQ_INT(tlv_put(f->header, sizeof(f->header), &off, TR_TAG_VERSION, TLSREC_VERSION),
		     0);
	for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++)
		CHECK_EQ_INT(tlv_put(f->header, sizeof(f->header), &off, TR_TAG_ARG, args[i]), 0);
	h.hdr.len = (__u32)off;
	memcpy(f->header, &h, sizeof(h));
	f->header_len = off;

	for (int i = 0; i < 2; i++) {
		struct tr_iface *it = &f->ifaces[i];

		it->hdr.type = TR_REC_IFACE;
		it->hdr.len = sizeof(*it);
		it->netns_ino = 4026531840u;
		it->ifindex = (__u32)(i + 1);
		it->linktype = 1;
		it->hwaddr_len = 6;
	}
	f->ifaces[0].mtu = 65536;
	f->ifaces[0].flags = TR_IFACE_UP | TR_IFACE_LOOPBACK | TR_IFACE_EGRESS;
	snprintf(f->ifaces[0].name, TR_IFNAMSIZ, "lo");
	f->ifaces[1].mtu = 1500;
	f->ifaces[1].flags = TR_IFACE_UP | TR_IFACE_INGRESS | TR_IFACE_EGRESS;
	memcpy(f->ifaces[1].hwaddr, "\x02\x00\x5e\x10\x00\x01", 6);
	snprintf(f->ifaces[1].name, TR_IFNAMSIZ, "eth0");

	f->cfg.path = path;
	f->cfg.recording_id = f->rid;
	f->cfg.header = f->header;
	f->cfg.header_len = f->header_len;
	f->cfg.ifaces = f->ifaces;
	f->cfg.n_ifaces = 2;
}

static struct chunk_encoder enc;

/* Empty cb for a new chunk. The only chunkbuf calls besides init/add/add_clock/free are here. */
static void chunk_start(struct chunkbuf *cb)
{
	if (!enc.stream)
		CHECK_EQ_INT(chunk_encoder_init(&enc), 0);
	chunkbuf_begin(cb, &enc);
}

/* Close cb's frame, ready for jw_write. */
static bool chunk_finish(struct chunkbuf *cb)
{
	return chunkbuf_end(cb) == 0;
}

/*
 * Fill cb as the recorder does: CLOCK, the IFACE records, npkt PACKET records with increasing
 * times (payloads half random, half repeated so that LZ4 finds matches), a LOSS record, and an END
 * record when last.
 */
static bool gen_chunk(struct chunkbuf *cb, struct fixture *f, unsigned npkt, bool last)
{
	uint8_t rec[sizeof(struct tr_packet) + 256];
	struct tr_clock clk;
	struct tr_loss loss = { .hdr = { .type = TR_REC_LOSS, .len = sizeof(loss) } };
	bool ok = true;
	uint64_t ts;

	chunk_start(cb);
	if (!CHECK_EQ_INT(chunkbuf_add_clock(cb), 0))
		return false;
	memcpy(&clk, cb->data, sizeof(clk));
	ts = clk.hdr.ts;
	for (size_t i = 0; i < f->cfg.n_ifaces; i++)
		ok &= CHECK_EQ_INT(chunkbuf_add(cb, &f->ifaces[i], sizeof(f->ifaces[i])), 0);
	for (unsigned i = 0; i < npkt; i++) {
		struct tr_packet p = { .hdr = { .type = TR_REC_PACKET } };
		uint32_t cap = i == 1 ? 0 : (uint32_t)(rnd() % 200);

		ts += 1 + rnd() % 100000;
		p.hdr.len = (__u32)sizeof(p) + cap;
		p.hdr.ts = ts;
		p.sock_cookie = rnd();
		p.ifindex = 1 + i % 2;
		p.cap_len = cap;
		p.orig_len = cap + (uint32_t)(rnd() % 1500);
		p.protocol = 0x0008;
		p.dir = (uint8_t)(1 + i % 2);
		memcpy(rec, &p, sizeof(p));
		rnd_bytes(rec + sizeof(p), cap / 2);
		for (uint32_t k = cap / 2; k < cap; k++)
			rec[sizeof(p) + k] = rec[sizeof(p) + k % 8];
		ok &= CHECK_EQ_INT(chunkbuf_add(cb, rec, sizeof(p) + cap), 0);
		f->packets++;
	}
	ts += 1000;
	loss.hdr.ts = ts;
	loss.count = 1 + rnd() % 10;
	loss.since_ns = clk.hdr.ts;
	loss.ifindex = 2;
	loss.what = TR_LOSS_PACKETS;
	loss.dir = TR_DIR_INGRESS;
	loss.where = TR_LOSS_RINGBUF;
	ok &= CHECK_EQ_INT(chunkbuf_add(cb, &loss, sizeof(loss)), 0);
	if (last) {
		struct tr_end end = {
			.hdr = { .type = TR_REC_END, .len = sizeof(end), .ts = ts + 1 }
		};

		end.packets = f->packets;
		end.lost = 3;
		ok &= CHECK_EQ_INT(chunkbuf_add(cb, &end, sizeof(end)), 0);
	}
	return ok && CHECK(chunk_finish(cb));
}

/*
 * Write n data chunks of npkt packets through jw_open/jw_write/jw_close, keeping a copy of each
 * in out[]. paths[i] (when given) gets jw_path after write i.
 */
static bool write_journal(struct fixture *f, size_t n, unsigned npkt, struct wchunk *out,
			  char (*paths)[PATH_MAX])
{
	struct journal_writer *w = NULL;
	struct chunkbuf cb;
	bool ok = true;

	if (!CHECK_EQ_INT(chunkbuf_init(&cb, 1u << 20), 0))
		return false;
	if (!CHECK_EQ_INT(jw_open(&f->cfg, &w), 0)) {
		chunkbuf_free(&cb);
		return false;
	}
	for (size_t i = 0; ok && i < n; i++) {
		ok = gen_chunk(&cb, f, npkt, i == n - 1);
		out[i].len = cb.len;
		out[i].records = cb.records;
		out[i].raw = malloc(cb.len);
		ok = ok && CHECK(out[i].raw != NULL);
		if (ok)
			memcpy(out[i].raw, cb.data, cb.len);
		ok = ok && CHECK_EQ_INT(jw_write(w, &cb), 0);
		if (paths)
			snprintf(paths[i], PATH_MAX, "%s", jw_path(w));
	}
	ok = CHECK_EQ_INT(jw_close(w), 0) && ok;
	chunkbuf_free(&cb);
	return ok;
}

/* A head chunk holds the HEADER record, a CLOCK record and the IFACE records, nothing else. */
static void check_head_chunk(const struct rchunk *c, const struct fixture *f)
{
	struct rec_iter it = { c->raw, c->raw + c->meta.raw_len };
	const uint8_t *rec;
	struct tr_clock clk;
	struct tr_rec h;

	CHECK_EQ_U64(c->meta.flags, JR_CHUNK_HEAD);
	CHECK_EQ_U64(c->meta.records, 2 + f->cfg.n_ifaces);
	if (!CHECK_EQ_INT(rec_next(&it, &h, &rec), 1) || !CHECK_EQ_U64(h.type, TR_REC_HEADER))
		return;
	CHECK_EQ_U64(h.len, f->header_len);
	CHECK_MEM(rec, f->header, f->header_len);
	if (!CHECK_EQ_INT(rec_next(&it, &h, &rec), 1) || !CHECK_EQ_U64(h.type, TR_REC_CLOCK))
		return;
	CHECK_EQ_U64(h.len, sizeof(clk));
	memcpy(&clk, rec, sizeof(clk));
	CHECK(clk.hdr.ts != 0 && clk.real_ns > clk.hdr.ts);
	for (size_t i = 0; i < f->cfg.n_ifaces; i++) {
		if (!CHECK_EQ_INT(rec_next(&it, &h, &rec), 1))
			return;
		CHECK_EQ_U64(h.len, sizeof(f->ifaces[i]));
		CHECK_MEM(rec, &f->ifaces[i], sizeof(f->ifaces[i]));
	}
	CHECK_EQ_INT(rec_next(&it, &h, &rec), 0);
}

static uint64_t now_real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * The header's first/last are the earliest/latest record time (records whose time is 0 left out)
 * plus the chunk's wall offset, realtime - boottime of its CLOCK record.
 */
static void check_chunk_times(const struct rchunk *c)
{
	struct rec_iter it = { c->raw, c->raw + c->meta.raw_len };
	uint64_t lo = 0, hi = 0, now = now_real_ns();
	const uint8_t *rec;
	int64_t wall = 0;
	bool have_clock = false;
	struct tr_rec h;

	while (rec_next(&it, &h, &rec) == 1) {
		if (h.type == TR_REC_CLOCK && !have_clock) {
			struct tr_clock clk;

			memcpy(&clk, rec, sizeof(clk));
			wall = (int64_t)(clk.real_ns - clk.hdr.ts);
			have_clock = true;
		}
		if (h.ts && (!lo || h.ts < lo))
			lo = h.ts;
		if (h.ts > hi)
			hi = h.ts;
	}
	if (!CHECK(have_clock))
		return;
	CHECK_EQ_U64(c->meta.first_ns, (uint64_t)((int64_t)lo + wall));
	CHECK_EQ_U64(c->meta.last_ns, (uint64_t)((int64_t)hi + wall));
	/* Wall clock of records written just now: within an hour of now. */
	CHECK(c->meta.first_ns > now - 3600000000000ULL &&
	      c->meta.last_ns < now + 3600000000000ULL);
}

/*
 * What every readable file must satisfy: opened, no damage, chunks back to back up to the end of
 * the file, a head chunk first and only first, sequence numbers from first_seq on, the recording
 * id everywhere, records well formed and as many as the header says, times consistent.
 */
static void check_clean_file(const struct readout *o, const struct fixture *f, uint64_t size,
			     uint64_t first_seq)
{
	char ctx[sizeof(check_context)];
	uint64_t at = 0;

	memcpy(ctx, check_context, sizeof(ctx));
	if (!CHECK_EQ_INT(o->open_ret, 0))
		return;
	CHECK(o->why == NULL);
	CHECK_EQ_INT(o->next_ret, 0);
	CHECK_EQ_INT(o->again_ret, 0);
	CHECK_EQ_U64(o->dmg.n, 0);
	CHECK_EQ_U64(o->damaged, 0);
	if (!CHECK(o->n >= 1))
		return;
	for (size_t i = 0; i < o->n; i++) {
		const struct rchunk *c = &o->c[i];

		check_ctx("%.180s chunk %zu at %llu", ctx, i, (unsigned long long)c->offset);
		CHECK_EQ_U64(c->offset, at);
		at = c->offset + JR_CHUNK_HDR_SIZE + c->meta.frame_len;
		CHECK_EQ_U64(c->meta.seq, first_seq + i);
		CHECK_MEM(c->meta.recording_id, f->rid, 16);
		CHECK_EQ_U64(c->meta.flags, i == 0 ? JR_CHUNK_HEAD : 0);
		if (!CHECK_EQ_INT(c->load, 0))
			continue;
		CHECK_EQ_INT(c->walk, 0);
		CHECK_EQ_U64(c->found, c->meta.records);
		check_chunk_times(c);
		if (i == 0)
			check_head_chunk(c, f);
	}
	check_ctx("%s", ctx);
	CHECK_EQ_U64(at, size);
}

static uint64_t chunk_end(const struct rchunk *c)
{
	return c->offset + JR_CHUNK_HDR_SIZE + c->meta.frame_len;
}

/* A chunk read back is byte for byte the one written. */
static void check_same_chunk(const struct rchunk *c, const struct wchunk *w)
{
	CHECK_EQ_INT(c->load, 0);
	CHECK_EQ_U64(c->meta.records, w->records);
	if (CHECK_EQ_U64(c->meta.raw_len, w->len) && !c->load)
		CHECK_MEM(c->raw, w->raw, w->len);
}

static uint64_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? UINT64_MAX : (uint64_t)st.st_size;
}

static unsigned file_mode(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0xFFFFu : (unsigned)(st.st_mode & 07777);
}

static void test_round_trip(void)
{
	enum { N = 5 };
	char path[PATH_MAX], out[PATH_MAX];
	struct wchunk w[N] = { 0 };
	struct fixture f;
	struct readout o;
	uint8_t *old, *dec, *all;
	size_t dec_len, all_len = 0;
	mode_t mask;
	bool ok;

	rnd_seed(0x1234567887654321ULL);
	tpath(path, "roundtrip.lz4");
	tpath(out, "roundtrip.raw");
	/* An existing, larger, world-readable file: overwritten, truncated, and made 0600. */
	old = calloc(1, 100000);
	CHECK(old != NULL);
	CHECK_EQ_INT(spit(path, old, 100000, 0644), 0);
	free(old);
	CHECK_EQ_U64(file_mode(path), 0644);

	fixture_init(&f, path);
	if (!write_journal(&f, N, 6, w, NULL))
		goto out;
	CHECK_EQ_U64(file_mode(path), 0600);

	read_journal(path, &o);
	check_clean_file(&o, &f, file_size(path), 0);
	if (CHECK_EQ_U64(o.n, 1 + N)) {
		for (size_t i = 0; i < N; i++) {
			check_ctx("data chunk %zu", i);
			check_same_chunk(&o.c[1 + i], &w[i]);
			all_len += w[i].len;
		}
		check_ctx("%s", "");
	}

	/* lz4 -dc prints the records of every chunk, in order, and nothing else. */
	if (o.n == 1 + N && have_lz4()) {
		char *argv[] = { "lz4", "-dcq", path, NULL };

		all_len += o.c[0].meta.raw_len;
		all = malloc(all_len);
		if (CHECK(all != NULL)) {
			size_t at = 0;

			memcpy(all, o.c[0].raw, o.c[0].meta.raw_len);
			at = o.c[0].meta.raw_len;
			for (size_t i = 0; i < N; i++) {
				memcpy(all + at, w[i].raw, w[i].len);
				at += w[i].len;
			}
			CHECK_EQ_INT(run_tool(argv, out, NULL), 0);
			dec = slurp(out, &dec_len);
			if (CHECK(dec != NULL) && CHECK_EQ_U64(dec_len, all_len))
				CHECK_MEM(dec, all, all_len);
			free(dec);
			free(all);
		}
	}
	readout_free(&o);

	/* A new file gets 0600 too, even with a umask of 0. */
	tpath(path, "fresh.lz4");
	wchunks_free(w, N);
	fixture_init(&f, path);
	mask = umask(0);
	ok = write_journal(&f, 1, 2, w, NULL);
	umask(mask);
	if (ok) {
		CHECK_EQ_U64(file_mode(path), 0600);
		read_journal(path, &o);
		check_clean_file(&o, &f, file_size(path), 0);
		if (CHECK_EQ_U64(o.n, 2))
			check_same_chunk(&o.c[1], &w[0]);
		readout_free(&o);
	}
out:
	wchunks_free(w, N);
}

/*
 * A write that fails part way (the file size limit stands in for a full disk): the chunk is cut
 * off again, so that the file ends with its last whole chunk; later chunks are refused with the
 * same error, even with room again; the room kept after the file's end is still allocated, and
 * jw_write_last ends the file right after that chunk.
 */
static void test_short_write(void)
{
	struct journal_writer *w = NULL;
	char path[PATH_MAX];
	struct stat before, after;
	struct rlimit old, lim;
	struct chunkbuf cb;
	struct fixture f;
	struct readout o;
	void (*prev)(int);
	uint64_t whole;

	rnd_seed(0x5157u);
	tpath(path, "short.lz4");
	fixture_init(&f, path);
	if (!CHECK_EQ_INT(chunkbuf_init(&cb, 1u << 20), 0))
		return;
	if (!CHECK_EQ_INT(jw_open(&f.cfg, &w), 0))
		goto out;
	if (gen_chunk(&cb, &f, 50, false))
		CHECK_EQ_INT(jw_write(w, &cb), 0);
	whole = file_size(path);
	if (!CHECK_EQ_INT(getrlimit(RLIMIT_FSIZE, &old), 0))
		goto out;
	lim = old;
	lim.rlim_cur = whole + 100;
	prev = signal(SIGXFSZ, SIG_IGN);
	if (CHECK_EQ_INT(stat(path, &before), 0) && CHECK_EQ_INT(setrlimit(RLIMIT_FSIZE, &lim), 0) &&
	    gen_chunk(&cb, &f, 500, false)) {
		CHECK_EQ_INT(jw_write(w, &cb), -EFBIG);
		CHECK_EQ_U64(file_size(path), whole);
		/* The cut freed the room kept after the file's end: it is taken back. */
		if (CHECK_EQ_INT(stat(path, &after), 0))
			CHECK(after.st_blocks >= before.st_blocks);
	}
	CHECK_EQ_INT(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, prev);
	if (gen_chunk(&cb, &f, 5, false)) {
		CHECK_EQ_INT(jw_write(w, &cb), -EFBIG);
		CHECK_EQ_U64(file_size(path), whole);
	}
	if (gen_chunk(&cb, &f, 0, true))
		CHECK_EQ_INT(jw_write_last(w, &cb), 0);
	CHECK_EQ_INT(jw_close(w), 0);
	read_journal(path, &o);
	check_clean_file(&o, &f, file_size(path), 0);
	if (CHECK_EQ_U64(o.n, 3))
		CHECK_EQ_U64(o.c[2].offset, whole);
	readout_free(&o);
out:
	chunkbuf_free(&cb);
}

/* Write to path until the file system is full. Returns true when it is. */
static bool fill_up(const char *path)
{
	static const uint8_t block[4096];
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	bool full = false;

	while (fd >= 0) {
		if (write(fd, block, sizeof(block)) < 0 && errno != EINTR) {
			full = errno == ENOSPC;
			break;
		}
	}
	if (fd >= 0)
		close(fd);
	return CHECK_MSG(full, "%s: could not fill the file system", path);
}

/* Write s to a file of /proc/self. 0 or -1. */
static int proc_put(const char *name, const char *s)
{
	char path[64];
	int fd, ret = -1;

	snprintf(path, sizeof(path), "/proc/self/%s", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (write(fd, s, strlen(s)) == (ssize_t)strlen(s))
		ret = 0;
	close(fd);
	return ret;
}

/* A tmpfs of size bytes at dir, in a mount namespace of this process's own (and a user namespace
 * when not root). Returns 0, or -errno with a message when it cannot be had here. */
static int small_tmpfs(const char *dir, const char *size)
{
	char map[64];
	uid_t uid = geteuid();
	gid_t gid = getegid();

	if (uid && unshare(CLONE_NEWUSER | CLONE_NEWNS))
		return -errno;
	if (uid) {
		proc_put("setgroups", "deny");
		snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
		if (proc_put("uid_map", map))
			return -EPERM;
		snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
		if (proc_put("gid_map", map))
			return -EPERM;
	} else if (unshare(CLONE_NEWNS)) {
		return -errno;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("none", dir, "tmpfs", 0, size))
		return -errno;
	return 0;
}

/*
 * A full file system (a small tmpfs, filled by another file): a chunk for which no blocks can be
 * reserved is refused, and the room kept after the last whole chunk stays allocated, so that
 * jw_write_last ends the file even when another writer takes every block freed meanwhile. Runs in
 * a child process, for the mount namespace.
 */
static void full_disk_child(const char *dir)
{
	struct journal_writer *w = NULL;
	char path[PATH_MAX], filler[PATH_MAX];
	struct chunkbuf cb;
	struct stat before, after;
	struct fixture f;
	struct readout o;
	uint64_t whole;
	int ret = small_tmpfs(dir, "size=1m");

	if (ret) {
		fprintf(stderr, "test_full_disk: SKIPPED: no tmpfs of our own at %s: %s\n", dir,
			strerror(-ret));
		return;
	}
	rnd_seed(0xF011u);
	fmt(path, sizeof(path), "%s/full.lz4", dir);
	fmt(filler, sizeof(filler), "%s/filler", dir);
	fixture_init(&f, path);
	if (!CHECK_EQ_INT(chunkbuf_init(&cb, 1u << 20), 0))
		return;
	if (!CHECK_EQ_INT(jw_open(&f.cfg, &w), 0))
		goto out;
	whole = file_size(path);
	if (!fill_up(filler) || !CHECK_EQ_INT(stat(path, &before), 0))
		goto out;
	/* More than the room kept: jw_write must reserve blocks, and there are none. */
	if (gen_chunk(&cb, &f, 2000, false) && CHECK(cb.frame_len > 128u << 10)) {
		CHECK_EQ_INT(jw_write(w, &cb), -ENOSPC);
		CHECK_EQ_U64(file_size(path), whole);
		if (CHECK_EQ_INT(stat(path, &after), 0))
			CHECK_MSG(after.st_blocks >= before.st_blocks,
				  "blocks kept: %lld before the failed write, %lld after",
				  (long long)before.st_blocks, (long long)after.st_blocks);
	}
	fill_up(filler);
	/* Bigger than the rest of the head chunk's page, well within the room kept. */
	if (gen_chunk(&cb, &f, 100, true) && CHECK(cb.frame_len > 8192))
		CHECK_EQ_INT(jw_write_last(w, &cb), 0);
	CHECK_EQ_INT(jw_close(w), 0);
	read_journal(path, &o);
	check_clean_file(&o, &f, file_size(path), 0);
	if (CHECK_EQ_U64(o.n, 2))
		CHECK_EQ_U64(o.c[1].offset, whole);
	readout_free(&o);
out:
	chunkbuf_free(&cb);
}

static void test_full_disk(void)
{
	char dir[PATH_MAX];
	int status;
	pid_t pid;

	tpath(dir, "small");
	if (!CHECK_EQ_INT(mkdir(dir, 0700), 0))
		return;
	fflush(stderr);
	pid = fork();
	if (!CHECK(pid >= 0))
		return;
	if (pid == 0) {
		full_disk_child(dir);
		chunk_encoder_free(&enc);
		_exit(check_failures ? EXIT_FAILURE : EXIT_SUCCESS);
	}
	if (CHECK_EQ_INT(waitpid(pid, &status, 0), pid))
		CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "the child failed (status %#x)", (unsigned)status);
}

/*
 * The next file of a rotation cannot be created (a directory holds its name; a full disk is the
 * same to the writer): the chunk written before is in the journal (jw_written), the recording
 * goes on failing, and jw_write_last ends it in the current file, which reads back whole.
 */
static void test_rotation_fails(void)
{
	struct journal_writer *w = NULL;
	char path[PATH_MAX], next[PATH_MAX];
	struct chunkbuf cb;
	struct fixture f;
	struct readout o;
	uint64_t whole;

	rnd_seed(0x707u);
	tpath(path, "rotfail.lz4");
	fmt(next, sizeof(next), "%s1", path);
	if (!CHECK_EQ_INT(mkdir(next, 0700), 0))
		return;
	fixture_init(&f, path);
	f.cfg.rotate_bytes = 1;
	if (!CHECK_EQ_INT(chunkbuf_init(&cb, 1u << 20), 0))
		return;
	if (!CHECK_EQ_INT(jw_open(&f.cfg, &w), 0))
		goto out;
	if (gen_chunk(&cb, &f, 20, false)) {
		CHECK_EQ_INT(jw_write(w, &cb), -EISDIR);
		CHECK(jw_written(w));
	}
	whole = file_size(path);
	if (gen_chunk(&cb, &f, 5, false)) {
		CHECK_EQ_INT(jw_write(w, &cb), -EISDIR);
		CHECK(!jw_written(w));
	}
	CHECK_EQ_U64(file_size(path), whole);
	if (gen_chunk(&cb, &f, 0, true))
		CHECK_EQ_INT(jw_write_last(w, &cb), 0);
	CHECK(!strcmp(jw_path(w), path));
	CHECK_EQ_INT(jw_close(w), 0);
	read_journal(path, &o);
	check_clean_file(&o, &f, file_size(path), 0);
	if (CHECK_EQ_U64(o.n, 3))
		CHECK_EQ_U64(o.c[2].offset, whole);
	readout_free(&o);
out:
	chunkbuf_free(&cb);
}

/* A chunk without records: an LZ4 frame with no content (and so no content size field). */
static void test_empty_chunk(void)
{
	struct journal_writer *w;
	struct chunkbuf cb, big;
	char path[PATH_MAX];
	struct fixture f;
	struct readout o;

	tpath(path, "empty-chunk.lz4");
	fixture_init(&f, path);
	if (!CHECK_EQ_INT(chunkbuf_init(&cb, 16), 0))
		return;
	chunk_start(&cb);
	if (CHECK_EQ_INT(jw_open(&f.cfg, &w), 0) && CHECK(chunk_finish(&cb))) {
		CHECK_EQ_INT(jw_write(w, &cb), 0);
		/* More than a chunk may hold: refused before anything is read or written. */
		if (CHECK_EQ_INT(chunkbuf_init(&big, JR_MAX_RAW + 1), 0)) {
			big.len = JR_MAX_RAW + 1;
			CHECK_EQ_INT(jw_write(w, &big), -EMSGSIZE);
			chunkbuf_free(&big);
		}
		CHECK_EQ_INT(jw_close(w), 0);
	}
	chunkbuf_free(&cb);
	read_journal(path, &o);
	CHECK_EQ_INT(o.open_ret, 0);
	CHECK_EQ_U64(o.dmg.n, 0);
	if (CHECK_EQ_U64(o.n, 2)) {
		CHECK_EQ_U64(o.c[1].meta.raw_len, 0);
		CHECK_EQ_U64(o.c[1].meta.records, 0);
		CHECK_EQ_INT(o.c[1].load, 0);
		CHECK_EQ_U64(o.c[1].found, 0);
		CHECK_EQ_U64(chunk_end(&o.c[1]), file_size(path));
	}
	readout_free(&o);
}

static void check_filename(const char *base, unsigned n, unsigned files, const char *want)
{
	char out[PATH_MAX];

	jw_filename(out, sizeof(out), base, n, files);
	CHECK_MSG(!strcmp(out, want), "jw_filename(\"%s\", %u, %u) = \"%s\", want \"%s\"", base, n,
		  files, out, want);
}

/* Names in dir, except those starting with '.', sorted, into names (max at most). */
static size_t list_dir(const char *dir, char (*names)[64], size_t max)
{
	struct dirent **ents;
	size_t n = 0;
	int cnt = scandir(dir, &ents, NULL, alphasort);

	for (int i = 0; i < cnt; i++) {
		if (ents[i]->d_name[0] != '.' && n < max)
			fmt(names[n++], 64, "%s", ents[i]->d_name);
		free(ents[i]);
	}
	if (cnt >= 0)
		free(ents);
	return n;
}

static void test_filenames(void)
{
	char small[8];

	check_filename("cap", 0, 0, "cap");
	check_filename("cap", 1, 0, "cap1");
	check_filename("cap", 2, 0, "cap2");
	check_filename("cap", 10, 0, "cap10");
	check_filename("cap", 123, 0, "cap123");
	check_filename("cap", 0, 1, "cap0");
	check_filename("cap", 0, 2, "cap0");
	check_filename("cap", 1, 2, "cap1");
	check_filename("cap", 0, 10, "cap0");
	check_filename("cap", 9, 10, "cap9");
	check_filename("cap", 0, 11, "cap00");
	check_filename("cap", 7, 11, "cap07");
	check_filename("cap", 10, 11, "cap10");
	check_filename("cap", 5, 100, "cap05");
	check_filename("cap", 99, 100, "cap99");
	check_filename("cap", 0, 101, "cap000");
	check_filename("cap", 100, 101, "cap100");
	check_filename("cap", 999, 1000, "cap999");
	check_filename("dir/j.lz4", 3, 0, "dir/j.lz43");
	jw_filename(small, sizeof(small), "abcdefghij", 5, 0);
	CHECK(!strcmp(small, "abcdefg"));
}

/* -C without -W: FILE, FILE1, FILE2, ... each past rotate_bytes except the last. */
static void test_rotation_unlimited(void)
{
	enum { N = 10 };
	char dir[PATH_MAX], base[PATH_MAX], name[PATH_MAX], paths[N][PATH_MAX];
	char names[32][64];
	struct wchunk w[N] = { 0 };
	struct fixture f;
	uint64_t seq = 0;
	size_t nfiles, next = 0;

	rnd_seed(0xC0FFEE);
	tpath(dir, "rot-unlimited");
	CHECK_EQ_INT(mkdir(dir, 0700), 0);
	fmt(base, sizeof(base), "%s/j", dir);
	fixture_init(&f, base);
	f.cfg.rotate_bytes = 2500;
	if (!write_journal(&f, N, 4, w, paths))
		goto out;

	nfiles = list_dir(dir, names, 32);
	CHECK_MSG(nfiles >= 3, "only %zu files: rotate_bytes did not rotate", nfiles);
	for (size_t i = 0; i < nfiles; i++) {
		struct readout o;
		uint64_t size;
		char want[64];
		bool found = false;

		/* tcpdump -C names: j, j1, j2, ...; looked up, as alphasort puts j10 before j2. */
		snprintf(want, sizeof(want), i ? "j%zu" : "j", i);
		for (size_t k = 0; k < nfiles; k++)
			found |= !strcmp(names[k], want);
		if (!CHECK_MSG(found, "file %s missing (tcpdump -C naming)", want))
			continue;
		fmt(name, sizeof(name), "%s/%s", dir, want);
		check_ctx("file %s", want);
		size = file_size(name);
		CHECK_EQ_U64(file_mode(name), 0600);
		read_journal(name, &o);
		check_clean_file(&o, &f, size, seq);
		seq += o.n;
		for (size_t k = 1; k < o.n && next < N; k++) {
			check_ctx("file %s chunk %zu, data chunk %zu", want, k, next);
			check_same_chunk(&o.c[k], &w[next++]);
		}
		check_ctx("file %s", want);
		if (o.n) {
			const struct rchunk *last = &o.c[o.n - 1];
			uint64_t last_size = JR_CHUNK_HDR_SIZE + last->meta.frame_len;

			if (i + 1 < nfiles) {
				CHECK(size >= f.cfg.rotate_bytes);
				CHECK(size - last_size < f.cfg.rotate_bytes);
			} else {
				CHECK(size < f.cfg.rotate_bytes);
				CHECK_MSG(!strcmp(paths[N - 1], name),
					  "writing %s at the end, want %s", paths[N - 1], name);
			}
		}
		readout_free(&o);
	}
	check_ctx("%s", "");
	CHECK_EQ_U64(next, N);
	CHECK_EQ_U64(seq, N + nfiles);
out:
	wchunks_free(w, N);
}

/* -C with -W 11: j00 ... j10, reused cyclically; a model of the rotation says what each holds. */
static void test_rotation_cyclic(void)
{
	enum { N = 14, FILES = 11 };
	char dir[PATH_MAX], base[PATH_MAX], name[PATH_MAX], paths[N][PATH_MAX];
	char names[32][64];
	struct wchunk w[N] = { 0 };
	/* model[file]: the chunks it holds; >= 0 a data chunk index, -1 a head chunk. */
	int model[FILES][4], model_n[FILES] = { 0 };
	uint64_t model_seq[FILES] = { 0 };
	struct fixture f;
	unsigned cur = 0;
	uint64_t seq = 0;

	rnd_seed(0xBADC0DE);
	tpath(dir, "rot-cyclic");
	CHECK_EQ_INT(mkdir(dir, 0700), 0);
	fmt(base, sizeof(base), "%s/j", dir);
	fixture_init(&f, base);
	f.cfg.rotate_bytes = 1; /* every write rotates */
	f.cfg.rotate_files = FILES;
	if (!write_journal(&f, N, 2, w, paths))
		goto out;

	model[0][0] = -1;
	model_n[0] = 1;
	model_seq[0] = seq++;
	for (int i = 0; i < N; i++) {
		model[cur][model_n[cur]++] = i;
		seq++;
		cur = (cur + 1) % FILES;
		fmt(name, sizeof(name), "%s/j%02u", dir, cur);
		CHECK_MSG(!strcmp(paths[i], name), "after write %d: writing %s, want %s", i,
			  paths[i], name);
		model[cur][0] = -1;
		model_n[cur] = 1;
		model_seq[cur] = seq++;
	}

	CHECK_EQ_U64(list_dir(dir, names, 32), FILES);
	for (unsigned i = 0; i < FILES; i++) {
		struct readout o;

		fmt(name, sizeof(name), "%s/j%02u", dir, i);
		check_ctx("file j%02u", i);
		read_journal(name, &o);
		check_clean_file(&o, &f, file_size(name), model_seq[i]);
		if (CHECK_EQ_U64(o.n, model_n[i]))
			for (int k = 1; k < model_n[i]; k++)
				check_same_chunk(&o.c[k], &w[model[i][k]]);
		readout_free(&o);
	}
	check_ctx("%s", "");
out:
	wchunks_free(w, N);
}

/* A small journal on disk and what a clean read of it says. */
struct sample {
	char path[PATH_MAX];
	uint8_t *bytes;
	size_t size;
	struct fixture f;
	struct wchunk w[MAX_DATA_CHUNKS];
	size_t nw;
	struct readout o;
};

static bool sample_make(struct sample *s, const char *name, size_t n, unsigned npkt, uint64_t seed)
{
	unsigned failures = check_failures;

	memset(s, 0, sizeof(*s));
	rnd_seed(seed);
	tpath(s->path, name);
	fixture_init(&s->f, s->path);
	s->nw = n;
	if (!write_journal(&s->f, n, npkt, s->w, NULL))
		return false;
	s->bytes = slurp(s->path, &s->size);
	if (!CHECK(s->bytes != NULL))
		return false;
	read_journal(s->path, &s->o);
	check_clean_file(&s->o, &s->f, s->size, 0);
	if (!CHECK_EQ_U64(s->o.n, 1 + n))
		return false;
	for (size_t i = 0; i < n; i++)
		check_same_chunk(&s->o.c[1 + i], &s->w[i]);
	return check_failures == failures;
}

static void sample_free(struct sample *s)
{
	free(s->bytes);
	wchunks_free(s->w, s->nw);
	readout_free(&s->o);
}

/* Chunk c read from a damaged copy is chunk i of the sample, header and records. */
static void check_sample_chunk(const struct sample *s, const struct rchunk *c, size_t i)
{
	const struct rchunk *want = &s->o.c[i];

	CHECK_EQ_U64(c->offset, want->offset);
	CHECK_EQ_U64(c->meta.flags, want->meta.flags);
	CHECK_EQ_U64(c->meta.records, want->meta.records);
	CHECK_MEM(c->meta.recording_id, want->meta.recording_id, 16);
	CHECK_EQ_U64(c->meta.seq, want->meta.seq);
	CHECK_EQ_U64(c->meta.first_ns, want->meta.first_ns);
	CHECK_EQ_U64(c->meta.last_ns, want->meta.last_ns);
	CHECK_EQ_U64(c->meta.raw_len, want->meta.raw_len);
	CHECK_EQ_U64(c->meta.frame_len, want->meta.frame_len);
	if (CHECK_EQ_INT(c->load, 0)) {
		CHECK_EQ_INT(c->walk, 0);
		CHECK_EQ_U64(c->found, want->meta.records);
		CHECK_MEM(c->raw, want->raw, want->meta.raw_len);
	}
}

/* Chunks of a few hundred KiB: several LZ4 blocks or pieces, however the writer cuts them. */
static void test_big_chunks(void)
{
	struct sample s;

	if (sample_make(&s, "big.lz4", 2, 2500, 0xB16))
		CHECK(s.w[0].len > 300000 && s.w[1].len > 300000);
	sample_free(&s);
}

/*
 * Cut the file at every length. A cut inside chunk k loses chunk k only, reported once as a region
 * from its start to the end of the file; a cut between chunks loses nothing and reports nothing.
 * A cut inside the first chunk header leaves a file that does not begin with a chunk header: "not
 * a journal" (-ENOEXEC), as the format says.
 */
static void test_truncation(void)
{
	char path[PATH_MAX];
	struct sample s;
	int fd;

	if (!sample_make(&s, "trunc-src.lz4", 3, 3, 0x7777)) {
		sample_free(&s);
		return;
	}
	tpath(path, "trunc.lz4");
	CHECK_EQ_INT(spit(path, s.bytes, s.size, 0600), 0);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (!CHECK(fd >= 0))
		goto out;
	for (uint64_t len = s.size; len-- > 0;) {
		struct readout o;
		size_t k = 0;

		check_ctx("truncated to %llu of %zu bytes", (unsigned long long)len, s.size);
		if (!CHECK_EQ_INT(ftruncate(fd, (off_t)len), 0))
			break;
		while (k < s.o.n && chunk_end(&s.o.c[k]) <= len)
			k++;
		read_journal(path, &o);
		/* Cut before the first chunk was whole: still a journal, with one damaged region. */
		if (len < JR_CHUNK_HDR_SIZE) {
			if (CHECK_EQ_INT(o.open_ret, 0) && CHECK_EQ_U64(o.dmg.n, 1)) {
				CHECK_EQ_U64(o.n, 0);
				CHECK_EQ_U64(o.dmg.off[0], 0);
				CHECK_EQ_U64(o.dmg.len[0], len);
				CHECK_MSG(strstr(o.dmg.why[0], len ? "truncated" : "empty") != NULL,
					  "damage reason \"%s\"", o.dmg.why[0]);
				CHECK_EQ_U64(o.damaged, 1);
			}
			readout_free(&o);
			continue;
		}
		if (!CHECK_EQ_INT(o.open_ret, 0))
			continue;
		CHECK_EQ_INT(o.next_ret, 0);
		CHECK_EQ_INT(o.again_ret, 0);
		if (CHECK_EQ_U64(o.n, k))
			for (size_t i = 0; i < k; i++)
				check_sample_chunk(&s, &o.c[i], i);
		if (s.o.c[k].offset == len) {
			CHECK_EQ_U64(o.dmg.n, 0);
		} else if (CHECK_EQ_U64(o.dmg.n, 1)) {
			CHECK_EQ_U64(o.dmg.off[0], s.o.c[k].offset);
			CHECK_EQ_U64(o.dmg.len[0], len - s.o.c[k].offset);
			CHECK_MSG(strstr(o.dmg.why[0], "truncated") != NULL,
				  "damage reason \"%s\" does not say truncated", o.dmg.why[0]);
		}
		CHECK_EQ_U64(o.damaged, o.dmg.n);
		readout_free(&o);
	}
	close(fd);
	check_ctx("%s", "");
out:
	sample_free(&s);
}

/* Where the parts of one chunk are, in file offsets (docs/journal-format.md; LZ4 frame format). */
#define MAX_BLOCKS 8

struct chunk_layout {
	uint64_t start, frame, hc, endmark, end;
	bool content_size; /* the frame header has one, at frame + 6 */
	uint64_t block[MAX_BLOCKS]; /* block size fields */
	unsigned blocks;
};

static bool chunk_layout(const struct sample *s, const struct rchunk *c, struct chunk_layout *l)
{
	const uint8_t *b = s->bytes;
	uint64_t pos;
	uint8_t flg;

	l->start = c->offset;
	l->frame = c->offset + JR_CHUNK_HDR_SIZE;
	l->end = chunk_end(c);
	if (!CHECK(!memcmp(b + l->frame, "\x04\x22\x4D\x18", 4)))
		return false;
	/* FLG: version 01 and a content checksum, as the format requires; no dictionary id. */
	flg = b[l->frame + 4];
	if (!CHECK_EQ_U64(flg & 0xC7, 0x44))
		return false;
	l->content_size = flg & 0x08;
	l->hc = l->frame + 6 + (l->content_size ? 8 : 0);
	l->blocks = 0;
	for (pos = l->hc + 1; pos + 4 <= l->end;) {
		uint32_t bs;

		memcpy(&bs, b + pos, 4);
		if (!bs)
			break;
		if (!CHECK(l->blocks < MAX_BLOCKS))
			return false;
		l->block[l->blocks++] = pos;
		pos += 4 + (bs & 0x7FFFFFFFu) + (flg & 0x10 ? 4 : 0);
	}
	l->endmark = pos;
	return CHECK_EQ_U64(l->endmark + 8, l->end);
}

/*
 * Must a flip of this bit be reported? Yes where the format checks the bit exactly or by a
 * checksum that catches every single-bit error; no where only an 8-bit or a content checksum
 * stands in the way, and a flip may then leave the records as they were.
 */
static bool must_detect(const struct sample *s, const struct chunk_layout *l, uint64_t off,
			unsigned bit)
{
	uint8_t flipped;

	/* Chunk header: skippable magic, size, chunk magic and version are compared exactly, the
	 * rest is under the CRC-32, which detects every single-bit error. */
	if (off < l->frame)
		return true;
	/* LZ4 frame magic: compared exactly. */
	if (off < l->frame + 4)
		return true;
	/* FLG. Exact: version (bits 7-6), reserved bit 1, the content checksum flag (2) the reader
	 * requires, and the content size flag (3) when there is a content size, which the reader
	 * requires to equal the raw length. The other bits, 5 (block independence), 4 (block
	 * checksum), 0 (dictionary id) and 3 when there is no content size, are covered only by
	 * the one-byte header checksum HC: a flip survives it with chance 1/256, and independent
	 * decoding of linked blocks can give the same output. */
	if (off == l->frame + 4)
		return bit == 7 || bit == 6 || bit == 2 || bit == 1 ||
		       (bit == 3 && l->content_size);
	/* BD: reserved bits exact; a block maximum size that stays valid (4-7) only under HC. */
	if (off == l->frame + 5) {
		flipped = (uint8_t)(s->bytes[off] ^ (1u << bit));
		return !(bit >= 4 && bit <= 6 && ((flipped >> 4) & 7) >= 4);
	}
	/* Content size: compared with the chunk header's raw length. HC: a flip of the stored
	 * checksum never matches the unchanged header. */
	if (off <= l->hc)
		return true;
	/* EndMark: nonzero makes it a block header with at most the 4 checksum bytes after it, too
	 * few for a block and a new EndMark: always an error. Content checksum: XXH32 compared. */
	if (off >= l->endmark)
		return true;
	/* Block sizes and compressed data have no checksum of their own (block checksums are off):
	 * a change is caught by the content checksum and the content size, unless it decodes to the
	 * same bytes (a match offset pointing at equal bytes). */
	return false;
}

/* Framing: chunk header, LZ4 frame header, block size fields, EndMark and content checksum. */
static bool is_framing(const struct chunk_layout *l, uint64_t off)
{
	if (off <= l->hc || off >= l->endmark)
		return true;
	for (unsigned i = 0; i < l->blocks; i++)
		if (off >= l->block[i] && off < l->block[i] + 4)
			return true;
	return false;
}

/*
 * Flip bits of a small journal, one at a time: every bit of the framing bytes, two bits of every
 * byte of compressed data (all eight there would take too long under ASan and test the same
 * thing: the content checksum). The chunk holding the bit is reported as one damaged region
 * spanning exactly that chunk, or (only where must_detect allows) reads back unchanged; every
 * other chunk reads back unchanged; nothing crashes.
 */
static void test_bit_flips(void)
{
	struct chunk_layout lay[MAX_CHUNKS];
	unsigned silent = 0, flips = 0, want = 0;
	char path[PATH_MAX];
	struct sample s;
	int fd;

	if (!sample_make(&s, "flip-src.lz4", 3, 3, 0x5EED)) {
		sample_free(&s);
		return;
	}
	for (size_t i = 0; i < s.o.n; i++)
		if (!chunk_layout(&s, &s.o.c[i], &lay[i]))
			goto out;
	tpath(path, "flip.lz4");
	CHECK_EQ_INT(spit(path, s.bytes, s.size, 0600), 0);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (!CHECK(fd >= 0))
		goto out;
	for (uint64_t off = 0; off < s.size; off++) {
		size_t k = 0;

		while (chunk_end(&s.o.c[k]) <= off)
			k++;
		bool framing = is_framing(&lay[k], off);

		for (unsigned bit = 0; bit < 8; bit++) {
			uint8_t b = (uint8_t)(s.bytes[off] ^ (1u << bit));
			unsigned loaded = 0;
			bool k_loaded = false;
			struct readout o;

			if (!framing && bit != off % 8 && bit != (off + 3) % 8)
				continue;
			check_ctx("bit %u of byte %llu (chunk %zu, +%llu)", bit,
				  (unsigned long long)off, k,
				  (unsigned long long)(off - s.o.c[k].offset));
			if (!CHECK_EQ_INT(pwrite(fd, &b, 1, (off_t)off), 1))
				goto done;
			flips++;
			read_journal(path, &o);
			if (!CHECK_EQ_INT(o.open_ret, 0)) {
				readout_free(&o);
				continue;
			}
			CHECK_EQ_INT(o.next_ret, 0);
			for (size_t i = 0; i < o.n; i++) {
				const struct rchunk *c = &o.c[i];
				size_t j = 0;

				while (j < s.o.n && s.o.c[j].offset != c->offset)
					j++;
				if (!CHECK_MSG(j < s.o.n, "a chunk at %llu that was not written",
					       (unsigned long long)c->offset))
					continue;
				if (j == k && c->load) {
					CHECK_EQ_INT(c->load, -EBADMSG);
					continue;
				}
				check_sample_chunk(&s, c, j);
				loaded += !c->load;
				k_loaded |= j == k && !c->load;
			}
			if (o.dmg.n) {
				if (CHECK_EQ_U64(o.dmg.n, 1)) {
					CHECK_EQ_U64(o.dmg.off[0], lay[k].start);
					CHECK_EQ_U64(o.dmg.len[0], lay[k].end - lay[k].start);
				}
				CHECK(!k_loaded);
			} else {
				CHECK_MSG(!must_detect(&s, &lay[k], off, bit),
					  "flip not reported where the format protects the bit");
				CHECK(k_loaded);
				silent++;
			}
			CHECK_EQ_U64(loaded + o.dmg.n, s.o.n);
			CHECK_EQ_U64(o.damaged, o.dmg.n);
			readout_free(&o);
		}
		if (!CHECK_EQ_INT(pwrite(fd, &s.bytes[off], 1, (off_t)off), 1))
			break;
	}
done:
	close(fd);
	check_ctx("%s", "");
	fprintf(stderr, "   %u bit flips in %zu bytes; %u left the records unchanged\n", flips,
		s.size, silent);
	for (size_t k = 0, off = 0; off < s.size; off++) {
		while (chunk_end(&s.o.c[k]) <= off)
			k++;
		want += is_framing(&lay[k], off) ? 8 : 2;
	}
	CHECK_EQ_U64(flips, want);
out:
	sample_free(&s);
}

static void expect_not_journal(const char *name, const void *data, size_t len, const char *what)
{
	char path[PATH_MAX];
	struct journal_reader *r = NULL;
	struct dmg_log d = { 0 };
	const char *why = NULL;
	int ret;

	tpath(path, name);
	CHECK_EQ_INT(spit(path, data, len, 0600), 0);
	check_ctx("%s (%zu bytes)", name, len);
	ret = jr_open(path, on_damage, &d, &r, &why);
	CHECK_EQ_INT(ret, -ENOEXEC);
	if (CHECK(why != NULL))
		CHECK_MSG(strstr(why, what) != NULL, "why \"%s\" does not mention \"%s\"", why,
			  what);
	CHECK_EQ_U64(d.n, 0);
	if (!ret)
		jr_close(r);
	check_ctx("%s", "");
}

static void test_wrong_files(void)
{
	/* File headers: pcap (microseconds, then nanoseconds), a pcapng section header, gzip. */
	static const char pcap[24] = "\xD4\xC3\xB2\xA1\x02\x00\x04\x00\0\0\0\0\0\0\0\0"
				     "\xFF\xFF\0\0\x01\0\0";
	static const char pcap_ns[24] = "\x4D\x3C\xB2\xA1\x02\x00\x04\x00";
	static const char pcapng[28] = "\x0A\x0D\x0D\x0A\x1C\0\0\0\x4D\x3C\x2B\x1A\x01\0\0\0"
				       "\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\x1C\0\0";
	static const char gzip[20] = "\x1F\x8B\x08\0\0\0\0\0\0\x03\x03";
	static const size_t sizes[] = { 1, 2, 7, 75, 76, 77, 4096, (1u << 20) + 100 };
	uint8_t fake[JR_CHUNK_HDR_SIZE + 100] = { 0x5C, 0x2A, 0x4D, 0x18, JR_CHUNK_PAYLOAD };
	char path[PATH_MAX], in[PATH_MAX], lz[PATH_MAX];
	struct journal_reader *r = NULL;
	const char *why = "unset";
	uint8_t *buf, *lzbuf;
	size_t lzlen;

	/* An empty file is a journal cut before its first chunk (created, then a crash). */
	tpath(path, "empty");
	CHECK_EQ_INT(spit(path, "", 0, 0600), 0);
	{
		struct readout o;

		read_journal(path, &o);
		CHECK_EQ_INT(o.open_ret, 0);
		CHECK_EQ_U64(o.n, 0);
		if (CHECK_EQ_U64(o.dmg.n, 1))
			CHECK(strstr(o.dmg.why[0], "empty") != NULL);
		readout_free(&o);
	}

	why = "unset";
	CHECK_EQ_INT(jr_open(util_tmpdir, on_damage, NULL, &r, &why), -ENOEXEC);
	CHECK(why && strstr(why, "directory"));

	why = "unset";
	CHECK_EQ_INT(jr_open("/dev/null", on_damage, NULL, &r, &why), -ENOEXEC);
	CHECK(why && strstr(why, "regular file"));

	why = "unset";
	tpath(path, "does-not-exist");
	CHECK_EQ_INT(jr_open(path, on_damage, NULL, &r, &why), -ENOENT);
	CHECK(why == NULL);

	expect_not_journal("pcap", pcap, sizeof(pcap), "a pcap file");
	expect_not_journal("pcap-ns", pcap_ns, sizeof(pcap_ns), "a pcap file");
	expect_not_journal("pcapng", pcapng, sizeof(pcapng), "pcapng");
	expect_not_journal("gzip", gzip, sizeof(gzip), "gzip");
	expect_not_journal("sqlite", "SQLite format 3\0\x10\0\1\1", 20, "SQLite");
	/* The right start, but no valid chunk header behind it. */
	expect_not_journal("fake-header", fake, sizeof(fake), "no chunk header");

	if (have_lz4()) {
		char *argv[] = { "lz4", "-zcq", in, NULL };

		tpath(in, "plain.txt");
		tpath(lz, "plain.txt.lz4");
		CHECK_EQ_INT(spit(in, "hello, hello, hello, world\n", 27, 0600), 0);
		CHECK_EQ_INT(run_tool(argv, lz, NULL), 0);
		lzbuf = slurp(lz, &lzlen);
		if (CHECK(lzbuf != NULL && lzlen > 4))
			expect_not_journal("plain-lz4", lzbuf, lzlen, "LZ4");
		free(lzbuf);
	}

	rnd_seed(0xF00D);
	buf = malloc(sizes[sizeof(sizes) / sizeof(sizes[0]) - 1]);
	if (!CHECK(buf != NULL))
		return;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char name[32];

		snprintf(name, sizeof(name), "random-%zu", sizes[i]);
		rnd_bytes(buf, sizes[i]);
		expect_not_journal(name, buf, sizes[i], "no chunk header");
	}
	free(buf);
}

/*
 * Garbage before, between and after chunks: one damaged region each, exactly the garbage, and
 * every chunk still loads. Garbage lengths around 1 MiB put the first chunk header across the
 * reader's scan block boundary.
 */
static void test_garbage_around(void)
{
	static const size_t before[] = { 1000,		 1,
					 (1u << 20) - 8, (1u << 20) - 7,
					 (1u << 20) - 4, (1u << 20) - 1,
					 1u << 20,	 (1u << 20) + 1 };
	char path[PATH_MAX];
	struct sample s;
	struct readout o;
	uint8_t *buf;
	size_t cap;

	if (!sample_make(&s, "garbage-src.lz4", 3, 3, 0xDEAD)) {
		sample_free(&s);
		return;
	}
	cap = s.size + (2u << 20);
	buf = malloc(cap);
	if (!CHECK(buf != NULL))
		goto out;
	tpath(path, "garbage.lz4");
	for (size_t i = 0; i < sizeof(before) / sizeof(before[0]); i++) {
		size_t g = before[i];

		check_ctx("%zu random bytes before the journal", g);
		rnd_bytes(buf, g);
		memcpy(buf + g, s.bytes, s.size);
		CHECK_EQ_INT(spit(path, buf, g + s.size, 0600), 0);
		read_journal(path, &o);
		if (CHECK_EQ_INT(o.open_ret, 0) && CHECK_EQ_U64(o.dmg.n, 1)) {
			CHECK_EQ_U64(o.dmg.off[0], 0);
			CHECK_EQ_U64(o.dmg.len[0], g);
		}
		if (CHECK_EQ_U64(o.n, s.o.n))
			for (size_t k = 0; k < o.n; k++) {
				CHECK_EQ_U64(o.c[k].offset, s.o.c[k].offset + g);
				CHECK_EQ_INT(o.c[k].load, 0);
				CHECK_MEM(o.c[k].raw, s.o.c[k].raw, s.o.c[k].meta.raw_len);
			}
		readout_free(&o);
	}

	/* g bytes between chunks 1 and 2, 50 after the last. */
	for (size_t g = 1; g <= 300; g += 299) {
		uint64_t at = s.o.c[2].offset;

		check_ctx("%zu bytes between chunks, 50 at the end", g);
		memcpy(buf, s.bytes, at);
		rnd_bytes(buf + at, g);
		memcpy(buf + at + g, s.bytes + at, s.size - at);
		rnd_bytes(buf + s.size + g, 50);
		CHECK_EQ_INT(spit(path, buf, s.size + g + 50, 0600), 0);
		read_journal(path, &o);
		CHECK_EQ_INT(o.open_ret, 0);
		if (CHECK_EQ_U64(o.dmg.n, 2)) {
			CHECK_EQ_U64(o.dmg.off[0], at);
			CHECK_EQ_U64(o.dmg.len[0], g);
			CHECK_EQ_U64(o.dmg.off[1], s.size + g);
			CHECK_EQ_U64(o.dmg.len[1], 50);
		}
		if (CHECK_EQ_U64(o.n, s.o.n))
			for (size_t k = 0; k < o.n; k++) {
				CHECK_EQ_INT(o.c[k].load, 0);
				CHECK_MEM(o.c[k].raw, s.o.c[k].raw, s.o.c[k].meta.raw_len);
			}
		readout_free(&o);
	}

	/* One byte before the last chunk, and the file cut right after that chunk's header: the
	 * byte, then the header alone, the last 76 bytes of the file, as a truncated chunk. */
	{
		uint64_t at = s.o.c[s.o.n - 1].offset;

		check_ctx("a byte, then a chunk header at the very end");
		memcpy(buf, s.bytes, at);
		buf[at] = 0;
		memcpy(buf + at + 1, s.bytes + at, JR_CHUNK_HDR_SIZE);
		CHECK_EQ_INT(spit(path, buf, at + 1 + JR_CHUNK_HDR_SIZE, 0600), 0);
		read_journal(path, &o);
		CHECK_EQ_INT(o.open_ret, 0);
		CHECK_EQ_U64(o.n, s.o.n - 1);
		if (CHECK_EQ_U64(o.dmg.n, 2)) {
			CHECK_EQ_U64(o.dmg.off[0], at);
			CHECK_EQ_U64(o.dmg.len[0], 1);
			CHECK_EQ_U64(o.dmg.off[1], at + 1);
			CHECK_EQ_U64(o.dmg.len[1], JR_CHUNK_HDR_SIZE);
		}
		readout_free(&o);
	}
	check_ctx("%s", "");
	free(buf);
out:
	sample_free(&s);
}

/*
 * Chunk headers with a valid crc that lie about the data frame. The lying chunk must not load,
 * nothing may crash, the chunk before it and the last chunk still load.
 */
static void test_lying_headers(void)
{
	char path[PATH_MAX];
	struct sample s;
	uint8_t *buf;

	if (!sample_make(&s, "lie-src.lz4", 3, 3, 0xABCDEF)) {
		sample_free(&s);
		return;
	}
	buf = malloc(s.size);
	if (!CHECK(buf != NULL))
		goto out;
	tpath(path, "lie.lz4");
	for (int v = 0; v < 8; v++) {
		struct jr_chunk_meta m = s.o.c[1].meta;
		struct readout o;
		size_t last = s.o.n - 1;
		bool k_loaded = false;

		switch (v) {
		case 0:
			m.raw_len++;
			break;
		case 1:
			m.raw_len--;
			break;
		case 2:
			m.raw_len = 0;
			break;
		case 3:
			m.frame_len = 0;
			break;
		case 4:
			m.frame_len--;
			break;
		case 5:
			m.frame_len++;
			break;
		case 6:
			m.raw_len = JR_MAX_RAW;
			break;
		case 7:
			m.frame_len = 7;
			break;
		}
		check_ctx("chunk 1 header lies, variant %d", v);
		memcpy(buf, s.bytes, s.size);
		chunk_header_encode(buf + s.o.c[1].offset, &m);
		CHECK_EQ_INT(spit(path, buf, s.size, 0600), 0);
		read_journal(path, &o);
		if (!CHECK_EQ_INT(o.open_ret, 0))
			continue;
		CHECK(o.dmg.n >= 1);
		CHECK_EQ_U64(o.damaged, o.dmg.n);
		if (CHECK(o.n >= 2)) {
			check_sample_chunk(&s, &o.c[0], 0);
			if (CHECK_EQ_U64(o.c[o.n - 1].offset, s.o.c[last].offset))
				check_sample_chunk(&s, &o.c[o.n - 1], last);
		}
		for (size_t i = 0; i < o.n; i++)
			k_loaded |= o.c[i].offset == s.o.c[1].offset && !o.c[i].load;
		CHECK(!k_loaded);
		readout_free(&o);
	}
	check_ctx("%s", "");
	free(buf);
out:
	sample_free(&s);
}

/*
 * A chunk header whose length (crc and all valid) swallows the chunks after it, and a journal cut
 * by a crash with a whole journal appended (cat a b): the chunks behind the bad length are found.
 */
static void test_hidden_chunks(void)
{
	char path[PATH_MAX];
	struct sample s;
	uint8_t *buf;

	if (!sample_make(&s, "hide-src.lz4", 8, 3, 0x5EED)) {
		sample_free(&s);
		return;
	}
	buf = malloc(2 * s.size);
	if (!CHECK(buf != NULL))
		goto out;
	tpath(path, "hide.lz4");
	for (int v = 0; v < 2; v++) {
		struct jr_chunk_meta m = s.o.c[1].meta;
		size_t len = s.size;
		struct readout o;

		memcpy(buf, s.bytes, s.size);
		if (v == 0) {
			check_ctx("chunk 1's length reaches into chunk %zu", s.o.n - 2);
			m.frame_len = (uint32_t)(s.o.c[s.o.n - 2].offset + 10 - s.o.c[1].offset -
						 JR_CHUNK_HDR_SIZE);
			chunk_header_encode(buf + s.o.c[1].offset, &m);
		} else {
			/* The first copy cut 10 bytes into chunk 2's data, then the whole file. */
			check_ctx("%s", "a cut journal followed by a whole one");
			len = s.o.c[2].offset + JR_CHUNK_HDR_SIZE + 10;
			memcpy(buf + len, s.bytes, s.size);
			len += s.size;
		}
		CHECK_EQ_INT(spit(path, buf, len, 0600), 0);
		read_journal(path, &o);
		if (!CHECK_EQ_INT(o.open_ret, 0))
			continue;
		if (v == 0) {
			/* Every chunk but the one that lies, in order. */
			if (CHECK_EQ_U64(o.n, s.o.n)) {
				for (size_t i = 0; i < o.n; i++) {
					if (i == 1)
						CHECK(o.c[i].load != 0);
					else
						check_sample_chunk(&s, &o.c[i], i);
				}
			}
			CHECK_EQ_U64(o.damaged, 1);
		} else {
			/* Chunks 0 and 1; the cut chunk, whose length reaches into the copy, fails
			 * to load and is reported; then every chunk of the copy. */
			if (CHECK_EQ_U64(o.n, 3 + s.o.n)) {
				check_sample_chunk(&s, &o.c[0], 0);
				check_sample_chunk(&s, &o.c[1], 1);
				CHECK_EQ_U64(o.c[2].offset, s.o.c[2].offset);
				CHECK(o.c[2].load != 0);
				for (size_t i = 0; i < s.o.n; i++)
					CHECK_EQ_INT(o.c[3 + i].load, 0);
			}
			if (CHECK_EQ_U64(o.dmg.n, 1))
				CHECK_EQ_U64(o.dmg.off[0], s.o.c[2].offset);
		}
		readout_free(&o);
	}
	check_ctx("%s", "");
	free(buf);
out:
	sample_free(&s);
}

/* An LZ4 frame of raw made with settings the writer does not use; its length, or 0. */
static size_t foreign_frame(uint8_t **out, const uint8_t *raw, size_t len, bool size, bool cksum,
			    bool block_cksum, LZ4F_blockSizeID_t bs, LZ4F_blockMode_t mode,
			    int level)
{
	LZ4F_preferences_t p = { .compressionLevel = level };
	size_t cap, n;

	p.frameInfo.blockSizeID = bs;
	p.frameInfo.blockMode = mode;
	p.frameInfo.contentSize = size ? len : 0;
	p.frameInfo.contentChecksumFlag =
		cksum ? LZ4F_contentChecksumEnabled : LZ4F_noContentChecksum;
	p.frameInfo.blockChecksumFlag =
		block_cksum ? LZ4F_blockChecksumEnabled : LZ4F_noBlockChecksum;
	cap = LZ4F_compressFrameBound(len, &p);
	*out = malloc(cap);
	if (!*out)
		return 0;
	n = LZ4F_compressFrame(*out, cap, raw, len, &p);
	return LZ4F_isError(n) ? 0 : n;
}

enum outcome { LOADS, DAMAGED, EITHER };

/*
 * Data frames written by another LZ4 encoder. Any standard frame with the content checksum loads
 * (other block sizes, independent blocks, block checksums, several blocks, high compression); a
 * frame without it is damage: the format requires it, it is what makes a chunk trustworthy.
 * Without a content size in the frame header the reader may refuse the frame or not (the chunk
 * header's raw length already bounds and checks the output), but when it loads it, exactly.
 */
static void test_foreign_frames(void)
{
	static const struct {
		bool size, cksum, block_cksum;
		enum outcome want;
		LZ4F_blockSizeID_t bs;
		LZ4F_blockMode_t mode;
		int level;
	} v[] = {
		{ true, true, false, LOADS, LZ4F_max64KB, LZ4F_blockIndependent, 9 },
		{ true, true, true, LOADS, LZ4F_max256KB, LZ4F_blockLinked, 0 },
		{ true, true, false, LOADS, LZ4F_default, LZ4F_blockLinked, -5 },
		{ true, false, false, DAMAGED, LZ4F_max4MB, LZ4F_blockLinked, 0 },
		{ false, true, false, EITHER, LZ4F_max4MB, LZ4F_blockLinked, 0 },
		{ false, false, false, DAMAGED, LZ4F_max64KB, LZ4F_blockIndependent, 0 },
		{ true, true, true, LOADS, LZ4F_max64KB, LZ4F_blockLinked, 3 },
		{ false, true, true, EITHER, LZ4F_max64KB, LZ4F_blockIndependent, 1 },
	};
	enum { NV = sizeof(v) / sizeof(v[0]), COPIES = 150 };
	uint64_t offs[NV];
	char path[PATH_MAX];
	struct sample s;
	struct readout o;
	uint8_t *file = NULL, *big = NULL;
	size_t len, big_len;

	if (!sample_make(&s, "foreign-src.lz4", 1, 8, 0xF0F0)) {
		sample_free(&s);
		return;
	}
	/* Many copies of the data chunk's records: well over 64 KiB, so several blocks. */
	big_len = COPIES * s.w[0].len;
	big = malloc(big_len);
	len = chunk_end(&s.o.c[0]);
	file = malloc(len);
	if (!CHECK(big && file))
		goto out;
	for (size_t i = 0; i < COPIES; i++)
		memcpy(big + i * s.w[0].len, s.w[0].raw, s.w[0].len);
	memcpy(file, s.bytes, len);
	for (size_t i = 0; i < NV; i++) {
		const uint8_t *raw = i % 2 ? s.w[0].raw : big;
		size_t raw_len = i % 2 ? s.w[0].len : big_len;
		struct jr_chunk_meta m = s.o.c[1].meta;
		uint8_t *frame, *grown;
		size_t flen;

		check_ctx("frame variant %zu", i);
		flen = foreign_frame(&frame, raw, raw_len, v[i].size, v[i].cksum, v[i].block_cksum,
				     v[i].bs, v[i].mode, v[i].level);
		if (!CHECK(flen > 0)) {
			free(frame);
			goto out;
		}
		m.seq = 1 + i;
		m.records = (uint32_t)(raw_len / s.w[0].len) * s.w[0].records;
		m.raw_len = (uint32_t)raw_len;
		m.frame_len = (uint32_t)flen;
		grown = realloc(file, len + JR_CHUNK_HDR_SIZE + flen);
		if (!CHECK(grown != NULL)) {
			free(frame);
			goto out;
		}
		file = grown;
		offs[i] = len;
		chunk_header_encode(file + len, &m);
		memcpy(file + len + JR_CHUNK_HDR_SIZE, frame, flen);
		len += JR_CHUNK_HDR_SIZE + flen;
		free(frame);
	}
	check_ctx("%s", "");
	tpath(path, "foreign.lz4");
	CHECK_EQ_INT(spit(path, file, len, 0600), 0);
	read_journal(path, &o);
	CHECK_EQ_INT(o.open_ret, 0);
	if (CHECK_EQ_U64(o.n, 1 + NV)) {
		unsigned d = 0;

		for (size_t i = 0; i < NV; i++) {
			const struct rchunk *c = &o.c[1 + i];

			check_ctx("frame variant %zu", i);
			CHECK_EQ_U64(c->offset, offs[i]);
			if (v[i].want == LOADS)
				CHECK_EQ_INT(c->load, 0);
			if (v[i].want == DAMAGED)
				CHECK_EQ_INT(c->load, -EBADMSG);
			if (!c->load) {
				CHECK_EQ_INT(c->walk, 0);
				CHECK_EQ_U64(c->found, c->meta.records);
				CHECK_MEM(c->raw, i % 2 ? s.w[0].raw : big, c->meta.raw_len);
			} else if (CHECK_EQ_INT(c->load, -EBADMSG) && CHECK(d < o.dmg.n) &&
				   d < MAX_DMG) {
				CHECK_EQ_U64(o.dmg.off[d], offs[i]);
				CHECK_EQ_U64(o.dmg.len[d], chunk_end(c) - offs[i]);
				d++;
			}
		}
		check_ctx("%s", "");
		CHECK_EQ_U64(o.dmg.n, d);
	}
	readout_free(&o);
out:
	free(big);
	free(file);
	sample_free(&s);
}

/* A record header followed by pad bytes, into buf at *off. */
static void put_rec(uint8_t *buf, size_t *off, uint16_t type, uint32_t len, uint64_t ts)
{
	struct tr_rec h = { .type = type, .len = len, .ts = ts };

	memcpy(buf + *off, &h, sizeof(h));
	*off += sizeof(h);
}

/* rec_next on a copy of the first len bytes of buf in a buffer of exactly that size (for ASan). */
static int rec_at(const uint8_t *buf, size_t len, struct tr_rec *h)
{
	uint8_t *copy = malloc(len ? len : 1);
	struct rec_iter it;
	const uint8_t *rec;
	int ret;

	if (!CHECK(copy != NULL))
		return -ENOMEM;
	memcpy(copy, buf, len);
	it = (struct rec_iter){ copy, copy + len };
	ret = rec_next(&it, h, &rec);
	free(copy);
	return ret;
}

/* rec_fixed on a copy of a record of hdr->len bytes, in a buffer of exactly that size. */
static int fixed_at(const uint8_t *rec, const struct tr_rec *hdr, void *out, size_t size)
{
	uint8_t *copy = malloc(hdr->len ? hdr->len : 1);
	int ret;

	if (!CHECK(copy != NULL))
		return -ENOMEM;
	memcpy(copy, rec, hdr->len);
	ret = rec_fixed(copy, hdr, out, size);
	free(copy);
	return ret;
}

static void test_record_cursor(void)
{
	uint8_t buf[256] = { 0 };
	struct tr_packet p = { .hdr = { .type = TR_REC_PACKET, .len = 58 },
			       .orig_len = 100,
			       .cap_len = 10 };
	struct tr_clock clk;
	struct tr_iface ifc;
	uint64_t fixed[16];
	struct rec_iter it;
	const uint8_t *rec;
	struct tr_rec h;
	size_t off = 0;

	/* Empty: the end. */
	CHECK_EQ_INT(rec_at(buf, 0, &h), 0);
	/* Fewer bytes than a record header. */
	CHECK_EQ_INT(rec_at(buf, 10, &h), -EBADMSG);
	CHECK_EQ_INT(rec_at(buf, 15, &h), -EBADMSG);
	/* Zero length, length below 16, length past the end, type 0. */
	put_rec(buf, &off, TR_REC_CLOCK, 0, 1);
	CHECK_EQ_INT(rec_at(buf, 64, &h), -EBADMSG);
	off = 0;
	put_rec(buf, &off, TR_REC_CLOCK, 15, 1);
	CHECK_EQ_INT(rec_at(buf, 64, &h), -EBADMSG);
	off = 0;
	put_rec(buf, &off, TR_REC_CLOCK, 65, 1);
	CHECK_EQ_INT(rec_at(buf, 64, &h), -EBADMSG);
	CHECK_EQ_INT(rec_at(buf, 65, &h), 1);
	off = 0;
	put_rec(buf, &off, 0, 32, 1);
	CHECK_EQ_INT(rec_at(buf, 64, &h), -EBADMSG);

	/* A record of exactly 16 bytes, then an unknown type 77 (returned; skipped by length), then
	 * a CLOCK record, then a broken one: the cursor stops there. */
	memset(buf, 0xEE, sizeof(buf));
	off = 0;
	put_rec(buf, &off, TR_REC_LOSS, 16, 5);
	put_rec(buf, &off, 77, 40, 6);
	off += 24;
	put_rec(buf, &off, TR_REC_CLOCK, 32, 7);
	off += 16;
	put_rec(buf, &off, TR_REC_END, 8, 8);
	it = (struct rec_iter){ buf, buf + off };
	if (CHECK_EQ_INT(rec_next(&it, &h, &rec), 1)) {
		CHECK_EQ_U64(h.type, TR_REC_LOSS);
		CHECK_EQ_U64(h.len, 16);
		CHECK(rec == buf);
		/* Shorter than its type's fixed part. */
		CHECK_EQ_INT(rec_fixed(rec, &h, fixed, sizeof(struct tr_loss)), -EBADMSG);
	}
	if (CHECK_EQ_INT(rec_next(&it, &h, &rec), 1)) {
		CHECK_EQ_U64(h.type, 77);
		CHECK_EQ_U64(h.len, 40);
		CHECK_EQ_U64(h.ts, 6);
		CHECK(rec == buf + 16);
	}
	if (CHECK_EQ_INT(rec_next(&it, &h, &rec), 1)) {
		CHECK_EQ_U64(h.type, TR_REC_CLOCK);
		CHECK(rec == buf + 56);
		CHECK_EQ_INT(rec_fixed(rec, &h, &clk, sizeof(clk)), 0);
		CHECK_EQ_U64(clk.hdr.ts, 7);
	}
	CHECK_EQ_INT(rec_next(&it, &h, &rec), -EBADMSG);

	/* One byte short of a fixed part, for every known type. */
	memset(buf, 0, sizeof(buf));
	for (uint16_t type = TR_REC_HEADER; type <= TR_REC_END; type++) {
		h = (struct tr_rec){ .type = type, .len = (uint32_t)fixed_size(type) - 1 };
		memcpy(buf, &h, sizeof(h));
		check_ctx("type %u", type);
		CHECK_EQ_INT(fixed_at(buf, &h, fixed, fixed_size(type)), -EBADMSG);
		h.len++;
		memcpy(buf, &h, sizeof(h));
		if (type == TR_REC_PACKET)
			memset(buf + 28, 0, 8);
		CHECK_EQ_INT(fixed_at(buf, &h, fixed, fixed_size(type)), 0);
	}
	check_ctx("%s", "");

	/* Longer than the fixed part: fine, the extra bytes are for later minor versions. */
	memset(&ifc, 0, sizeof(ifc));
	memset(buf, 0, sizeof(buf));
	ifc.hdr.type = TR_REC_IFACE;
	ifc.hdr.len = sizeof(ifc) + 20;
	ifc.ifindex = 42;
	memcpy(buf, &ifc, sizeof(ifc));
	if (CHECK_EQ_INT(rec_at(buf, sizeof(ifc) + 20, &h), 1)) {
		memset(&ifc, 0, sizeof(ifc));
		CHECK_EQ_INT(rec_fixed(buf, &h, &ifc, sizeof(ifc)), 0);
		CHECK_EQ_U64(ifc.ifindex, 42);
	}

	/* PACKET: the record length is 48 + cap_len, and cap_len <= orig_len. */
	memset(buf, 0, sizeof(buf));
	memcpy(buf, &p, sizeof(p));
	h = p.hdr;
	CHECK_EQ_INT(rec_fixed(buf, &h, fixed, sizeof(p)), 0);
	h.len = 57;
	CHECK_EQ_INT(rec_fixed(buf, &h, fixed, sizeof(p)), -EBADMSG);
	h.len = 59;
	CHECK_EQ_INT(rec_fixed(buf, &h, fixed, sizeof(p)), -EBADMSG);
	h.len = 40;
	CHECK_EQ_INT(rec_fixed(buf, &h, fixed, sizeof(p)), -EBADMSG);
	p.orig_len = 9;
	memcpy(buf, &p, sizeof(p));
	h = p.hdr;
	CHECK_EQ_INT(rec_fixed(buf, &h, fixed, sizeof(p)), -EBADMSG);
	p.orig_len = 10;
	memcpy(buf, &p, sizeof(p));
	CHECK_EQ_INT(rec_fixed(buf, &h, fixed, sizeof(p)), 0);
	p.orig_len = 0;
	p.cap_len = 0;
	p.hdr.len = sizeof(p);
	memcpy(buf, &p, sizeof(p));
	h = p.hdr;
	CHECK_EQ_INT(rec_fixed(buf, &h, fixed, sizeof(p)), 0);
	p.cap_len = 0xFFFFFFFFu;
	p.orig_len = 0xFFFFFFFFu;
	memcpy(buf, &p, sizeof(p));
	CHECK_EQ_INT(rec_fixed(buf, &h, fixed, sizeof(p)), -EBADMSG);
}

static void test_tlv(void)
{
	uint8_t buf[64];
	struct tlv_iter it;
	const char *val;
	uint16_t tag, len;
	size_t off = 0;

	CHECK_EQ_INT(tlv_put(buf, sizeof(buf), &off, TR_TAG_HOSTNAME, "host"), 0);
	CHECK_EQ_INT(tlv_put(buf, sizeof(buf), &off, TR_TAG_ARG, ""), 0);
	CHECK_EQ_INT(tlv_put(buf, sizeof(buf), &off, 999, "x"), 0);
	CHECK_EQ_U64(off, 8 + 4 + 5);
	/* Does not fit: refused, nothing written. */
	CHECK_EQ_INT(tlv_put(buf, 20, &off, TR_TAG_ARG, "abcd"), -ENOSPC);
	CHECK_EQ_U64(off, 17);
	CHECK_EQ_INT(tlv_put(buf, 21, &off, TR_TAG_ARG, ""), 0);
	CHECK_EQ_U64(off, 21);

	it = (struct tlv_iter){ buf, buf + off };
	if (CHECK_EQ_INT(tlv_next(&it, &tag, &val, &len), 1)) {
		CHECK_EQ_U64(tag, TR_TAG_HOSTNAME);
		CHECK(len == 4 && !memcmp(val, "host", 4));
	}
	if (CHECK_EQ_INT(tlv_next(&it, &tag, &val, &len), 1))
		CHECK(tag == TR_TAG_ARG && len == 0);
	if (CHECK_EQ_INT(tlv_next(&it, &tag, &val, &len), 1))
		CHECK(tag == 999 && len == 1 && val[0] == 'x');
	if (CHECK_EQ_INT(tlv_next(&it, &tag, &val, &len), 1))
		CHECK(tag == TR_TAG_ARG && len == 0);
	CHECK_EQ_INT(tlv_next(&it, &tag, &val, &len), 0);

	/* An entry running past the end by one byte; a partial tag/length. */
	it = (struct tlv_iter){ buf, buf + 7 };
	CHECK_EQ_INT(tlv_next(&it, &tag, &val, &len), -EBADMSG);
	it = (struct tlv_iter){ buf, buf + 3 };
	CHECK_EQ_INT(tlv_next(&it, &tag, &val, &len), -EBADMSG);
	it = (struct tlv_iter){ buf, buf + 8 };
	CHECK_EQ_INT(tlv_next(&it, &tag, &val, &len), 1);
	buf[2] = 0xFF;
	buf[3] = 0xFF;
	it = (struct tlv_iter){ buf, buf + sizeof(buf) };
	CHECK_EQ_INT(tlv_next(&it, &tag, &val, &len), -EBADMSG);
}

static void test_chunkbuf(void)
{
	struct tr_rec r = { .type = TR_REC_LOSS, .len = 16 };
	struct tr_packet p = { .hdr = { .type = TR_REC_PACKET, .len = 48, .ts = 500 } };
	struct chunkbuf cb;

	if (!CHECK_EQ_INT(chunkbuf_init(&cb, 100), 0))
		return;
	chunk_start(&cb);
	CHECK_EQ_INT(chunkbuf_add(&cb, &r, sizeof(r)), 0); /* time 0: not in the range */
	r.ts = 900;
	CHECK_EQ_INT(chunkbuf_add(&cb, &r, sizeof(r)), 0);
	CHECK_EQ_INT(chunkbuf_add(&cb, &p, sizeof(p)), 0);
	CHECK_EQ_U64(cb.len, 80);
	CHECK_EQ_U64(cb.records, 3);
	CHECK_EQ_U64(cb.ts_min, 500);
	CHECK_EQ_U64(cb.ts_max, 900);
	/* 20 bytes left: a 48-byte record does not fit and changes nothing. */
	CHECK_EQ_INT(chunkbuf_add(&cb, &p, sizeof(p)), -ENOSPC);
	CHECK_EQ_U64(cb.len, 80);
	CHECK_EQ_U64(cb.records, 3);
	r.ts = 100;
	CHECK_EQ_INT(chunkbuf_add(&cb, &r, sizeof(r)), 0);
	CHECK_EQ_U64(cb.ts_min, 100);
	CHECK_EQ_U64(cb.len, 96);
	CHECK_EQ_INT(chunkbuf_add_clock(&cb), -ENOSPC);
	chunk_start(&cb);
	CHECK(cb.len == 0 && cb.records == 0 && cb.ts_min == 0 &&
	      cb.ts_max == 0 && cb.wall_offset == 0);
	CHECK_EQ_INT(chunkbuf_add_clock(&cb), 0);
	CHECK_EQ_U64(cb.len, sizeof(struct tr_clock));
	CHECK(cb.wall_offset > 0);
	CHECK_EQ_U64(cb.ts_min, cb.ts_max);
	chunkbuf_free(&cb);
}

static void test_chunk_header(void)
{
	struct jr_chunk_meta m = { .flags = JR_CHUNK_HEAD,
				   .records = 12345,
				   .seq = 0x0102030405060708,
				   .first_ns = 1700000000000000000ULL,
				   .last_ns = 1700000000123456789ULL,
				   .raw_len = 1 << 20,
				   .frame_len = 654321 };
	uint8_t h[JR_CHUNK_HDR_SIZE], x[JR_CHUNK_HDR_SIZE];
	struct jr_chunk_meta d;
	unsigned caught = 0;

	for (int i = 0; i < 16; i++)
		m.recording_id[i] = (uint8_t)(i * 17);
	chunk_header_encode(h, &m);
	/* Layout of docs/journal-format.md, "Files and chunks". */
	CHECK_MEM(h, "\x5C\x2A\x4D\x18\x44\x00\x00\x00TLSRECck\x01\x00\x01\x00", 20);
	CHECK_MEM(h + 8 + 12, "\x39\x30\x00\x00", 4);
	CHECK_MEM(h + 8 + 32, "\x08\x07\x06\x05\x04\x03\x02\x01", 8);
	memset(&d, 0xAA, sizeof(d));
	if (CHECK_EQ_INT(chunk_header_decode(h, &d), 0)) {
		CHECK_EQ_U64(d.flags, m.flags);
		CHECK_EQ_U64(d.records, m.records);
		CHECK_MEM(d.recording_id, m.recording_id, 16);
		CHECK_EQ_U64(d.seq, m.seq);
		CHECK_EQ_U64(d.first_ns, m.first_ns);
		CHECK_EQ_U64(d.last_ns, m.last_ns);
		CHECK_EQ_U64(d.raw_len, m.raw_len);
		CHECK_EQ_U64(d.frame_len, m.frame_len);
	}
	for (unsigned bit = 0; bit < 8 * JR_CHUNK_HDR_SIZE; bit++) {
		memcpy(x, h, sizeof(x));
		x[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		caught += chunk_header_decode(x, &d) == -EBADMSG;
	}
	CHECK_EQ_U64(caught, 8 * JR_CHUNK_HDR_SIZE);

	/* Limits, with a correct crc. */
	m.raw_len = JR_MAX_RAW;
	m.frame_len = JR_MAX_FRAME;
	chunk_header_encode(h, &m);
	CHECK_EQ_INT(chunk_header_decode(h, &d), 0);
	m.raw_len = JR_MAX_RAW + 1;
	chunk_header_encode(h, &m);
	CHECK_EQ_INT(chunk_header_decode(h, &d), -EBADMSG);
	m.raw_len = 0;
	m.frame_len = JR_MAX_FRAME + 1;
	chunk_header_encode(h, &m);
	CHECK_EQ_INT(chunk_header_decode(h, &d), -EBADMSG);
	m.frame_len = 100;
	m.first_ns = m.last_ns + 1;
	chunk_header_encode(h, &m);
	CHECK_EQ_INT(chunk_header_decode(h, &d), -EBADMSG);
	m.first_ns = m.last_ns;
	chunk_header_encode(h, &m);
	CHECK_EQ_INT(chunk_header_decode(h, &d), 0);
	/* Another version is not version 1. */
	h[16] = 2;
	CHECK_EQ_INT(chunk_header_decode(h, &d), -EBADMSG);
}

#define U64(...) check_parse(parse_u64, "parse_u64", __LINE__, __VA_ARGS__)
#define SEC(...) check_parse(parse_seconds, "parse_seconds", __LINE__, __VA_ARGS__)

/* parse(s, lo, hi) returns want_ret, and when that is 0, gives want. */
static void check_parse(int (*parse)(const char *, uint64_t, uint64_t, uint64_t *),
			const char *name, int line, const char *s, uint64_t lo, uint64_t hi,
			int want_ret, uint64_t want)
{
	uint64_t v = 0xDEADBEEF;
	int got = parse(s, lo, hi, &v);

	check_ctx("%s(\"%s\", %" PRIu64 ", %" PRIu64 ") from line %d", name, s ? s : "NULL", lo,
		  hi, line);
	if (CHECK_EQ_INT(got, want_ret) && !want_ret)
		CHECK_EQ_U64(v, want);
}

static void test_cli_parsers(void)
{
	const uint64_t max = UINT64_MAX, s = 1000000000ULL;

	U64(NULL, 0, max, -EINVAL, 0);
	U64("", 0, max, -EINVAL, 0);
	U64("-1", 0, max, -EINVAL, 0);
	U64("+1", 0, max, -EINVAL, 0);
	U64(" 1", 0, max, -EINVAL, 0);
	U64("1 ", 0, max, -EINVAL, 0);
	U64("1x", 0, max, -EINVAL, 0);
	U64("0x10", 0, max, -EINVAL, 0);
	U64("1.5", 0, max, -EINVAL, 0);
	U64("0", 0, max, 0, 0);
	U64("007", 0, max, 0, 7);
	U64("18446744073709551615", 0, max, 0, UINT64_MAX);
	U64("18446744073709551616", 0, max, -ERANGE, 0);
	U64("18446744073709551620", 0, max, -ERANGE, 0);
	U64("99999999999999999999", 0, max, -ERANGE, 0);
	U64("184467440737095516150", 0, max, -ERANGE, 0);
	U64("5", 6, 10, -ERANGE, 0);
	U64("6", 6, 10, 0, 6);
	U64("10", 6, 10, 0, 10);
	U64("11", 6, 10, -ERANGE, 0);

	SEC(NULL, 0, max, -EINVAL, 0);
	SEC("", 0, max, -EINVAL, 0);
	SEC("-1", 0, max, -EINVAL, 0);
	SEC("1x", 0, max, -EINVAL, 0);
	SEC("1.5x", 0, max, -EINVAL, 0);
	SEC("1..5", 0, max, -EINVAL, 0);
	SEC("1.-5", 0, max, -EINVAL, 0);
	SEC("1.", 0, max, -EINVAL, 0);
	SEC(".5", 0, max, -EINVAL, 0);
	SEC(".", 0, max, -EINVAL, 0);
	SEC("1.0000000001", 0, max, -EINVAL, 0);
	SEC("1", 0, max, 0, s);
	SEC("0", 0, max, 0, 0);
	SEC("0.5", 0, max, 0, s / 2);
	SEC("0.25", 0, max, 0, s / 4);
	SEC("1.000000001", 0, max, 0, s + 1);
	SEC("0.000000001", 0, max, 0, 1);
	SEC("2.999999999", 0, max, 0, 3 * s - 1);
	SEC("18446744073709551616", 0, max, -ERANGE, 0);
	SEC("18446744073709551615", 0, max, -ERANGE, 0);
	SEC("18446744074", 0, max, -ERANGE, 0);
	SEC("18446744072.999999999", 0, max, 0, 18446744072999999999ULL);
	SEC("0.5", s, 60 * s, -ERANGE, 0);
	SEC("0.999999999", s, 60 * s, -ERANGE, 0);
	SEC("1", s, 60 * s, 0, s);
	SEC("60", s, 60 * s, 0, 60 * s);
	SEC("60.000000001", s, 60 * s, -ERANGE, 0);
	/* The largest value the contract allows: UINT64_MAX ns is 18446744073.709551615 s. */
	SEC("18446744073.709551615", 0, max, 0, UINT64_MAX);
	SEC("18446744073.709551616", 0, max, -ERANGE, 0);
	/* Not numbers are -EINVAL and numbers in range are accepted, whatever their length, as
	 * parse_u64 does ("sign" is named in the contract). */
	SEC("-100000000000000000000", 0, max, -EINVAL, 0);
	SEC("abcdefghijklmnopqrstuvwxyz", 0, max, -EINVAL, 0);
	SEC("0000000000000000000001.5", 0, max, 0, s + s / 2);
	check_ctx("%s", "");
}

/* test_journal [journal|cli]: both groups when no group is named. */
int main(int argc, char **argv)
{
	const char *group = argc > 1 ? argv[1] : "";

	if (argc > 2 || (*group && strcmp(group, "journal") && strcmp(group, "cli"))) {
		fprintf(stderr, "usage: %s [journal|cli]\n", argv[0]);
		return 2;
	}
	if (strcmp(group, "cli")) {
		if (!tmpdir_make("tlsrec-unit"))
			return EXIT_FAILURE;
		CHECK_RUN(test_chunk_header);
		CHECK_RUN(test_record_cursor);
		CHECK_RUN(test_tlv);
		CHECK_RUN(test_chunkbuf);
		CHECK_RUN(test_filenames);
		CHECK_RUN(test_round_trip);
		CHECK_RUN(test_empty_chunk);
		CHECK_RUN(test_short_write);
		CHECK_RUN(test_full_disk);
		CHECK_RUN(test_rotation_fails);
		CHECK_RUN(test_big_chunks);
		CHECK_RUN(test_rotation_unlimited);
		CHECK_RUN(test_rotation_cyclic);
		CHECK_RUN(test_truncation);
		CHECK_RUN(test_bit_flips);
		CHECK_RUN(test_wrong_files);
		CHECK_RUN(test_garbage_around);
		CHECK_RUN(test_lying_headers);
		CHECK_RUN(test_hidden_chunks);
		CHECK_RUN(test_foreign_frames);
		tmpdir_remove();
	}
	if (strcmp(group, "journal"))
		CHECK_RUN(test_cli_parsers);
	chunk_encoder_free(&enc);
	return check_exit();
}

// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "array.h"
#include "db.h"
#include "log.h"
#include "source.h"

/* Decompressed chunks (and their packet references) held at once: chunks that overlap in time
 * past it go to the spill file, their packets in time order, one run each. */
#define MAX_LOADED_BYTES (64u << 20)
/* Runs of one level merged into one run of the next once this many are open. */
#define SPILL_FANIN 16
/* Bytes of a run read at once. */
#define SPILL_READ (64u << 10)
/* The page cache of the list of chunks: what it holds past this goes to its temporary file. */
#define CHUNKS_CACHE_KIB 2048
/* Chunks of the list read at once, in the order read. */
#define CHUNK_WINDOW 256

/*
 * The list of chunks, in a private temporary database (db_open_temp) so that memory does not grow
 * with their number: every chunk of the files in scan, in the order found; those that are copies
 * of another (the same recording and number, found later) in dup, and how many each file holds of
 * another's in copies; the chunks to read in chunks, numbered from 1 in the order read (by first
 * time, then file and offset). picked takes the chunks a selection keeps, in the same order.
 * Numbers and times are kept as key() makes them, so that SQLite orders them as unsigned.
 */
#define CHUNK_COLS \
	"file INTEGER NOT NULL, rec INTEGER NOT NULL, offset INTEGER NOT NULL, seq INTEGER NOT NULL, " \
	"first_ns INTEGER NOT NULL, last_ns INTEGER NOT NULL, flags INTEGER NOT NULL, " \
	"records INTEGER NOT NULL, raw_len INTEGER NOT NULL, frame_len INTEGER NOT NULL, " \
	"damaged INTEGER NOT NULL, packets INTEGER NOT NULL"
#define CHUNK_NAMES \
	"file, rec, offset, seq, first_ns, last_ns, flags, records, raw_len, frame_len, damaged, packets"

static const char chunks_schema[] =
	"CREATE TABLE scan(" CHUNK_COLS "); "
	"CREATE TABLE dup(id INTEGER PRIMARY KEY); "
	"CREATE TABLE copies(file INTEGER NOT NULL, of INTEGER NOT NULL, n INTEGER NOT NULL, "
	"PRIMARY KEY(file, of)) WITHOUT ROWID; "
	"CREATE TABLE chunks(id INTEGER PRIMARY KEY, " CHUNK_COLS "); "
	"CREATE TABLE picked(id INTEGER PRIMARY KEY, " CHUNK_COLS "); BEGIN";

/* What the list keeps of a chunk. */
struct chunk_ref {
	size_t id; /* its number (source_chunk) once in chunks */
	unsigned file;
	unsigned rec;
	bool damaged;     /* found damaged (and reported) */
	uint64_t packets; /* handed out of it, once it is read */
	struct jr_chunk c;
};

struct pkt_ref {
	uint64_t wall;
	uint32_t off; /* of the record in the chunk */
	uint32_t iface;
};

/* A packet in the spill file: this, then its PACKET record (len bytes). */
struct spill_entry {
	uint64_t wall;
	uint64_t order;
	uint32_t iface;
	uint32_t len;
};

/*
 * A chunk's packets in time order, waiting in the merge: in memory (raw and pkts), or spilled as a
 * run of entries from off to end in the spill file, read through buf.
 */
struct loaded {
	size_t order; /* index in the sorted chunk list: ties go to the earlier chunk */
	uint8_t *raw;
	size_t raw_len;
	struct pkt_ref *pkts;
	size_t n, cap, next;
	uint64_t bytes; /* counted in loaded_bytes */
	bool spilled;
	unsigned level;         /* 0: one chunk's packets; n + 1: merged from runs of level n */
	uint64_t start, off, end;
	struct spill_entry head; /* the entry at off */
	uint8_t *buf;            /* from buf_off, buf_len bytes */
	uint64_t buf_off;
	size_t buf_len, buf_cap;
};

struct source {
	struct journal_reader **files;
	unsigned nfiles;
	struct catalog cat;
	sqlite3 *db; /* the list of chunks */
	sqlite3_stmt *scan_add, *get, *window, *mark;
	size_t nchunks, next_chunk;
	struct chunk_ref win[CHUNK_WINDOW]; /* chunks win_start to win_start + win_n - 1 */
	size_t win_start, win_n;
	bool count_packets; /* source_count_packets */
	struct loaded **heap; /* as many as are held at once */
	size_t nheap, heap_cap;
	uint64_t loaded_bytes;
	int spill_fd; /* -1 until a chunk is spilled */
	uint64_t spill_end;
	unsigned runs[64]; /* open runs by level */
	struct loaded *current; /* whose packet was handed out last */
	unsigned damage;
	uint64_t secrets_lost; /* LOSS records of TLS secrets: their total */
	source_secret_fn *on_secret;
	void *secret_ctx;
	uint64_t chunks_read;
	bool again; /* reading again after source_rewind: records other than packets are known */
	bool warned_clock, warned_iface;
	bool reported_drops;
};

static void on_damage(void *ctx, const char *path, uint64_t off, uint64_t len, const char *why)
{
	log_warn("%s: damaged region at offset %" PRIu64 " (%" PRIu64 " bytes): %s; skipped", path,
		 off, len, why);
}

static void copy_str(char *dst, size_t size, const char *src, uint16_t len)
{
	size_t n = len < size - 1 ? len : size - 1;

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* copy_str, with control characters as '?': for text tlsasm prints. */
static void copy_text(char *dst, size_t size, const char *src, uint16_t len)
{
	copy_str(dst, size, src, len);
	for (; *dst; dst++)
		if ((unsigned char)*dst < 0x20 || *dst == 0x7f)
			*dst = '?';
}

/* A copy of len bytes of val as a NUL-terminated string, or NULL. */
static char *dup_str(const char *val, uint16_t len)
{
	char *d = malloc((size_t)len + 1);

	if (d) {
		memcpy(d, val, len);
		d[len] = '\0';
	}
	return d;
}

/* Take what the recording's HEADER record says. 0, -EBADMSG when it is malformed, or -ENOMEM. */
static int parse_header(struct recording *r, const uint8_t *raw, const struct tr_rec *h)
{
	struct tr_header fx;
	struct tlv_iter it;
	const char *val;
	uint16_t tag, len;
	int ret;

	if (r->have_header)
		return 0;
	if (rec_fixed(raw, h, &fx, sizeof(fx)) || memcmp(fx.magic, TR_HEADER_MAGIC, 8))
		return -EBADMSG;
	if (fx.major != TR_FORMAT_MAJOR) {
		log_warn("a recording of format %u.%u (this tlsasm reads %u.x): its header is ignored",
			 fx.major, fx.minor, TR_FORMAT_MAJOR);
		return 0;
	}
	r->have_header = true;
	if (fx.snaplen && fx.snaplen <= TR_MAX_SNAPLEN)
		r->snaplen = fx.snaplen;
	r->start_ns = fx.start_ns;
	if (!r->have_offset) {
		r->offset = fx.pair_real_ns - fx.pair_boot_ns;
		r->have_offset = true;
	}
	it = (struct tlv_iter){ .p = raw + sizeof(fx), .end = raw + h->len };
	while ((ret = tlv_next(&it, &tag, &val, &len)) > 0) {
		if (tag == TR_TAG_HOSTNAME)
			copy_str(r->host, sizeof(r->host), val, len);
		else if (tag == TR_TAG_KERNEL)
			copy_str(r->kernel, sizeof(r->kernel), val, len);
		else if (tag == TR_TAG_MACHINE)
			copy_str(r->machine, sizeof(r->machine), val, len);
		else if (tag == TR_TAG_VERSION)
			copy_str(r->version, sizeof(r->version), val, len);
		else if (tag == TR_TAG_FILTER && !r->filter && !(r->filter = dup_str(val, len)))
			return -ENOMEM;
		else if (tag == TR_TAG_NO_SECRETS)
			copy_text(r->no_secrets, sizeof(r->no_secrets), val, len);
		else if (tag == TR_TAG_NO_OWNERS)
			copy_text(r->no_owners, sizeof(r->no_owners), val, len);
	}
	return ret;
}

/* Take a LIBRARY record of recording rec. 0, -EBADMSG when it is malformed, or -ENOMEM. */
static int parse_library(struct catalog *c, unsigned rec, const uint8_t *raw,
			 const struct tr_rec *h)
{
	struct src_library lib = { .rec = rec };
	struct tr_library fx;
	struct tlv_iter it;
	const char *val;
	uint16_t tag, len;
	int ret;

	if (rec_fixed(raw, h, &fx, sizeof(fx)))
		return -EBADMSG;
	lib.index = fx.index;
	lib.kind = fx.kind;
	it = (struct tlv_iter){ .p = raw + sizeof(fx), .end = raw + h->len };
	while ((ret = tlv_next(&it, &tag, &val, &len)) > 0) {
		if (tag == TR_LIB_PATH)
			copy_str(lib.path, sizeof(lib.path), val, len);
		else if (tag == TR_LIB_VERSION)
			copy_str(lib.version, sizeof(lib.version), val, len);
	}
	return ret ? ret : catalog_add_library(c, &lib);
}

/* Take a PROCESS record of recording rec, at wall. 0, -EBADMSG when it is malformed, or -ENOMEM. */
static int parse_process(struct catalog *c, unsigned rec, uint64_t wall, const uint8_t *raw,
			 const struct tr_rec *h)
{
	struct src_process p = { .rec = rec, .wall = wall };
	struct tlv_iter it;
	const char *val;
	uint16_t tag, len;
	int ret;

	if (rec_fixed(raw, h, &p.p, sizeof(p.p)))
		return -EBADMSG;
	p.p.comm[sizeof(p.p.comm) - 1] = '\0';
	it = (struct tlv_iter){ .p = raw + sizeof(p.p), .end = raw + h->len };
	while ((ret = tlv_next(&it, &tag, &val, &len)) > 0) {
		char **to = tag == TR_PROC_EXE ? &p.exe : tag == TR_PROC_CMDLINE ? &p.cmdline : NULL;

		if (!to || *to)
			continue;
		if (len > CATALOG_MAX_STRING)
			len = CATALOG_MAX_STRING;
		*to = dup_str(val, len);
		if (!*to) {
			ret = -ENOMEM;
			break;
		}
		if (tag == TR_PROC_CMDLINE)
			p.cmdline_len = len;
	}
	if (ret) {
		free(p.exe);
		free(p.cmdline);
		return ret;
	}
	return catalog_add_process(c, &p);
}

static void chunk_warning(struct source *s, const struct chunk_ref *cr, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A problem inside an intact chunk: counted as damage and reported with where it is. */
static void chunk_warning(struct source *s, const struct chunk_ref *cr, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	s->damage++;
	log_warn("%s: chunk %" PRIu64 " at offset %" PRIu64 ": %s", jr_path(s->files[cr->file]),
		 cr->c.meta.seq, cr->c.offset, what);
}

static int cmp_pkt(const void *a, const void *b)
{
	const struct pkt_ref *x = a, *y = b;

	if (x->wall != y->wall)
		return x->wall < y->wall ? -1 : 1;
	return (x->off > y->off) - (x->off < y->off);
}

/* Time arithmetic is modulo 2^64: hostile times give wrong dates, never undefined behaviour. */
static uint64_t wall_of(uint64_t ts, uint64_t offset)
{
	return ts + offset;
}

struct chunk_walk {
	uint64_t offset;
	bool have_offset;
	bool sorted;
	int last; /* the interface of the previous packet: most often the next one's */
	uint32_t records;
	uint32_t outside; /* packets outside the chunk header's time range */
};

/* A PACKET record: a reference in l, or a warning. 0, or -ENOMEM. */
static int add_packet(struct source *s, const struct chunk_ref *cr, struct chunk_walk *w,
		      const struct tr_packet *p, uint32_t off, struct loaded *l)
{
	uint64_t wall = wall_of(p->hdr.ts, w->offset);
	int i = w->last;

	if (i < 0 || s->cat.ifaces[i].desc.ifindex != p->ifindex || s->cat.ifaces[i].rec != cr->rec)
		i = w->last = catalog_find_iface(&s->cat, cr->rec, p->ifindex);
	if (i < 0) {
		if (s->again)
			return 0;
		if (!s->warned_iface)
			chunk_warning(s, cr, "a packet on interface %u, which the journal does not describe, is skipped (and any others like it)",
				      p->ifindex);
		else
			s->damage++;
		s->warned_iface = true;
		return 0;
	}
	if (!w->have_offset && !s->warned_clock) {
		log_warn("%s: chunk %" PRIu64 " has no clock record: its times are since boot, not wall-clock",
			 jr_path(s->files[cr->file]), cr->c.meta.seq);
		s->warned_clock = true;
	}
	/* The order of the merge rests on the chunk header's time range. */
	if (wall < cr->c.meta.first_ns || wall > cr->c.meta.last_ns) {
		w->outside++;
		return 0;
	}
	if (array_reserve(&l->pkts, &l->cap, l->n + 1, sizeof(*l->pkts), 1024))
		return -ENOMEM;
	l->pkts[l->n] = (struct pkt_ref){ .wall = wall, .off = off, .iface = (uint32_t)i };
	if (l->n && wall < l->pkts[l->n - 1].wall)
		w->sorted = false;
	l->n++;
	return 0;
}

/* A SECRET or KEYLOG record of chunk cr at wall (x: its type and record): counted by its library
 * and handed to the consumer. 0, or the consumer's -errno. */
static int take_secret(struct source *s, const struct chunk_ref *cr, uint64_t wall,
		       struct src_secret *x)
{
	x->rec = cr->rec;
	x->lib = catalog_find_library(&s->cat, cr->rec,
				      x->type == TR_REC_KEYLOG ? x->k.lib : x->s.lib);
	x->chunk = cr->id;
	x->wall = wall;
	if (x->lib >= 0)
		s->cat.libs[x->lib].secrets++;
	return s->on_secret ? s->on_secret(s->secret_ctx, x) : 0;
}

/*
 * Walk one decompressed chunk: HEADER, CLOCK, IFACE, LOSS, END, IFGONE and LIBRARY records update
 * the catalog; SECRET and KEYLOG to take_secret; PACKET records become references in l. Without
 * l (a head chunk read ahead of time) only the recording and its interfaces are taken, quietly:
 * the chunk is walked again, and reported on, when its turn comes. After source_rewind, only the
 * packets are taken, quietly too. Returns 0, -ENOMEM, or the secrets' consumer's -errno.
 */
static int parse_chunk(struct source *s, const struct chunk_ref *cr, const uint8_t *raw,
		       size_t len, struct loaded *l)
{
	struct recording *r = &s->cat.recs[cr->rec];
	struct chunk_walk w = { .offset = r->offset, .have_offset = r->have_offset, .sorted = true,
				.last = -1 };
	struct rec_iter it = { .p = raw, .end = raw + len };
	bool first = l && !s->again; /* the first full read of this chunk: take and report all */
	const uint8_t *rec = raw;
	const char *bad = NULL;
	struct tr_rec h;
	int ret;

	while ((ret = rec_next(&it, &h, &rec)) > 0) {
		union {
			struct tr_clock clock;
			struct tr_iface iface;
			struct tr_loss loss;
			struct tr_ifgone gone;
			struct tr_packet pkt;
			struct src_secret secret;
			struct tr_socket socket;
		} u;
		int i;

		w.records++;
		switch (h.type) {
		case TR_REC_HEADER:
			ret = parse_header(r, rec, &h);
			if (ret == -ENOMEM)
				return ret;
			if (ret) {
				bad = "malformed HEADER record";
				goto done;
			}
			if (!w.have_offset && r->have_offset) {
				w.offset = r->offset;
				w.have_offset = true;
			}
			break;
		case TR_REC_CLOCK:
			if (rec_fixed(rec, &h, &u.clock, sizeof(u.clock)))
				goto bad_record;
			w.offset = r->offset = u.clock.real_ns - u.clock.hdr.ts;
			w.have_offset = r->have_offset = true;
			break;
		case TR_REC_IFACE:
			if (rec_fixed(rec, &h, &u.iface, sizeof(u.iface)))
				goto bad_record;
			if (catalog_add_iface(&s->cat, cr->rec, &u.iface))
				return -ENOMEM;
			break;
		case TR_REC_LOSS:
			if (!first)
				break;
			if (rec_fixed(rec, &h, &u.loss, sizeof(u.loss)))
				goto bad_record;
			if (u.loss.what == TR_LOSS_SECRETS)
				s->secrets_lost += u.loss.count;
			if (u.loss.what != TR_LOSS_PACKETS)
				break;
			i = catalog_find_iface(&s->cat, cr->rec, u.loss.ifindex);
			if (i >= 0 && catalog_add_loss(&s->cat, (unsigned)i, wall_of(h.ts, w.offset),
						       u.loss.count))
				return -ENOMEM;
			break;
		case TR_REC_END:
			r->ended = true;
			break;
		case TR_REC_IFGONE:
			if (!first)
				break;
			if (rec_fixed(rec, &h, &u.gone, sizeof(u.gone)))
				goto bad_record;
			i = catalog_find_iface(&s->cat, cr->rec, u.gone.ifindex);
			if (i >= 0 && !s->cat.ifaces[i].gone_wall)
				s->cat.ifaces[i].gone_wall = wall_of(h.ts, w.offset);
			break;
		case TR_REC_PACKET:
			if (!l)
				break;
			if (rec_fixed(rec, &h, &u.pkt, sizeof(u.pkt)) || u.pkt.cap_len > r->snaplen)
				goto bad_record;
			if (add_packet(s, cr, &w, &u.pkt, (uint32_t)(rec - raw), l))
				return -ENOMEM;
			break;
		case TR_REC_LIBRARY:
			if (!first)
				break;
			ret = parse_library(&s->cat, cr->rec, rec, &h);
			if (ret == -ENOMEM)
				return ret;
			if (ret) {
				bad = "malformed LIBRARY record";
				goto done;
			}
			break;
		case TR_REC_SECRET:
		case TR_REC_KEYLOG:
			if (!first)
				break;
			u.secret.type = h.type;
			if (h.type == TR_REC_SECRET ?
				    rec_fixed(rec, &h, &u.secret.s, sizeof(u.secret.s)) :
				    rec_fixed(rec, &h, &u.secret.k, sizeof(u.secret.k)) ||
					    !u.secret.k.label_len ||
					    u.secret.k.label_len > TR_KEYLOG_LABEL ||
					    !u.secret.k.secret_len ||
					    u.secret.k.secret_len > TR_SECRET_LEN)
				goto bad_record;
			ret = take_secret(s, cr, wall_of(h.ts, w.offset), &u.secret);
			if (ret)
				return ret;
			break;
		case TR_REC_SOCKET:
			if (!first)
				break;
			if (rec_fixed(rec, &h, &u.socket, sizeof(u.socket)))
				goto bad_record;
			u.socket.comm[sizeof(u.socket.comm) - 1] = '\0';
			if (catalog_add_socket(&s->cat, cr->rec, wall_of(h.ts, w.offset), &u.socket))
				return -ENOMEM;
			break;
		case TR_REC_PROCESS:
			if (!first)
				break;
			ret = parse_process(&s->cat, cr->rec, wall_of(h.ts, w.offset), rec, &h);
			if (ret == -ENOMEM)
				return ret;
			if (ret) {
				bad = "malformed PROCESS record";
				goto done;
			}
			break;
		default:
			break; /* a record type from a later version: skip it */
		}
	}
	if (ret < 0) {
		bad = "impossible record length";
		rec = it.p;
	}
	goto done;
bad_record:
	bad = "malformed record";
done:
	if (first && bad)
		chunk_warning(s, cr, "%s at byte %zu of its records; the rest of the chunk is skipped",
			      bad, (size_t)(rec - raw));
	else if (first && w.records != cr->c.meta.records)
		chunk_warning(s, cr, "holds %u records, its header says %u", w.records,
			      cr->c.meta.records);
	if (first && w.outside)
		chunk_warning(s, cr, "%u packets outside the time range its header gives are skipped",
			      w.outside);
	if (l && !w.sorted)
		qsort(l->pkts, l->n, sizeof(*l->pkts), cmp_pkt);
	return 0;
}

/* Decompress chunk cr; *raw is NULL when it is damaged (reported, and marked in cr). */
static int read_chunk(struct source *s, struct chunk_ref *cr, uint8_t **raw)
{
	uint8_t *buf;
	int ret;

	*raw = NULL;
	if (cr->damaged)
		return 0;
	buf = malloc(cr->c.meta.raw_len ? cr->c.meta.raw_len : 1);
	if (!buf)
		return -ENOMEM;
	ret = jr_load(s->files[cr->file], &cr->c, buf);
	if (ret == -EBADMSG) {
		cr->damaged = true;
		free(buf);
		return 0;
	}
	if (ret) {
		free(buf);
		log_err("%s: %s", jr_path(s->files[cr->file]), strerror(-ret));
		return ret;
	}
	*raw = buf;
	return 0;
}

/* A number or time as the list keeps it: SQLite's signed order of keys is the unsigned order of
 * the values. */
static int64_t key(uint64_t v)
{
	return (int64_t)(v ^ (UINT64_C(1) << 63));
}

static uint64_t unkey(int64_t k)
{
	return (uint64_t)k ^ (UINT64_C(1) << 63);
}

/* What SQLite said of the list of chunks: -ENOSPC for a full disk, else -EIO. */
static int list_fail(const struct source *s, const char *what)
{
	int full = sqlite3_errcode(s->db) == SQLITE_FULL;

	log_err("%s the list of chunks in a temporary file: %s", what, sqlite3_errmsg(s->db));
	return full ? -ENOSPC : -EIO;
}

/* Step st (db_step): 1 for a row, 0 when done, or -errno after a message. */
static int list_step(const struct source *s, sqlite3_stmt *st, const char *what)
{
	int ret = db_step(st);

	return ret < 0 ? list_fail(s, what) : ret;
}

static int list_prepare(const struct source *s, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) == SQLITE_OK)
		return 0;
	*st = NULL;
	return list_fail(s, "keeping");
}

static int list_exec(const struct source *s, const char *sql)
{
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : list_fail(s, "keeping");
}

/* Bind cr to st's parameters 1 to 12 (CHUNK_NAMES). */
static void bind_chunk(sqlite3_stmt *st, const struct chunk_ref *cr)
{
	const struct jr_chunk_meta *m = &cr->c.meta;

	sqlite3_bind_int64(st, 1, cr->file);
	sqlite3_bind_int64(st, 2, cr->rec);
	sqlite3_bind_int64(st, 3, (int64_t)cr->c.offset);
	sqlite3_bind_int64(st, 4, key(m->seq));
	sqlite3_bind_int64(st, 5, key(m->first_ns));
	sqlite3_bind_int64(st, 6, key(m->last_ns));
	sqlite3_bind_int64(st, 7, m->flags);
	sqlite3_bind_int64(st, 8, m->records);
	sqlite3_bind_int64(st, 9, m->raw_len);
	sqlite3_bind_int64(st, 10, m->frame_len);
	sqlite3_bind_int64(st, 11, cr->damaged);
	sqlite3_bind_int64(st, 12, (int64_t)cr->packets);
}

/* Columns from..from + 11 of st's row (CHUNK_NAMES) into cr; its recording id is left out. */
static void column_chunk(sqlite3_stmt *st, int from, struct chunk_ref *cr)
{
	struct jr_chunk_meta *m = &cr->c.meta;

	cr->file = (unsigned)sqlite3_column_int64(st, from);
	cr->rec = (unsigned)sqlite3_column_int64(st, from + 1);
	cr->c.offset = (uint64_t)sqlite3_column_int64(st, from + 2);
	*m = (struct jr_chunk_meta){
		.seq = unkey(sqlite3_column_int64(st, from + 3)),
		.first_ns = unkey(sqlite3_column_int64(st, from + 4)),
		.last_ns = unkey(sqlite3_column_int64(st, from + 5)),
		.flags = (uint16_t)sqlite3_column_int64(st, from + 6),
		.records = (uint32_t)sqlite3_column_int64(st, from + 7),
		.raw_len = (uint32_t)sqlite3_column_int64(st, from + 8),
		.frame_len = (uint32_t)sqlite3_column_int64(st, from + 9),
	};
	cr->damaged = sqlite3_column_int64(st, from + 10);
	cr->packets = (uint64_t)sqlite3_column_int64(st, from + 11);
}

/* The row st stands on, chunk number i (0 on) of the list, into cr (with its recording's id). */
static void row_chunk(const struct source *s, sqlite3_stmt *st, size_t i, struct chunk_ref *cr)
{
	column_chunk(st, 0, cr);
	cr->id = i;
	memcpy(cr->c.meta.recording_id, s->cat.recs[cr->rec].id, 16);
}

/* Chunk number i (0 on) of the list into cr. 0 or -errno. */
static int get_chunk(const struct source *s, size_t i, struct chunk_ref *cr)
{
	int ret;

	sqlite3_bind_int64(s->get, 1, (int64_t)i + 1);
	ret = list_step(s, s->get, "reading");
	if (ret < 0)
		return ret;
	if (!ret)
		return list_fail(s, "a chunk missing from");
	row_chunk(s, s->get, i, cr);
	sqlite3_reset(s->get);
	return 0;
}

/* Chunk next_chunk (of those left), from the window, which is read again from it when it does
 * not hold it: in *cr (valid until the next call). 0 or -errno. */
static int peek(struct source *s, struct chunk_ref **cr)
{
	int ret = 0;

	if (s->next_chunk - s->win_start >= s->win_n) {
		s->win_start = s->next_chunk;
		s->win_n = 0;
		sqlite3_bind_int64(s->window, 1, (int64_t)s->next_chunk);
		while (s->win_n < CHUNK_WINDOW &&
		       (ret = list_step(s, s->window, "reading")) == 1) {
			row_chunk(s, s->window, s->win_start + s->win_n, &s->win[s->win_n]);
			s->win_n++;
		}
		sqlite3_reset(s->window);
		if (ret < 0)
			return ret;
		if (!s->win_n)
			return list_fail(s, "a chunk missing from");
	}
	*cr = &s->win[s->next_chunk - s->win_start];
	return 0;
}

/* Keep what reading cr found: whether it is damaged and how many packets it holds. 0 or
 * -errno. */
static int mark_chunk(struct source *s, const struct chunk_ref *cr)
{
	sqlite3_bind_int64(s->mark, 1, (int64_t)cr->id + 1);
	sqlite3_bind_int64(s->mark, 2, cr->damaged);
	sqlite3_bind_int64(s->mark, 3, (int64_t)cr->packets);
	return list_step(s, s->mark, "keeping");
}

/* A recording's chunk numbers, taken in order with no copies. */
struct gaps {
	int64_t rec;
	uint64_t lo, hi, n;
	uint64_t gap, after, before; /* the widest gap between two numbers taken: after - before */
};

/*
 * Warn of the chunks missing from recording g. Chunk numbers are read on a circle of 2^64 numbers:
 * the ones a recording holds lie on the shortest arc that covers them all (after its widest gap),
 * and what that arc lacks is missing. Numbers start at 0 and only damage or a crafted file wraps,
 * but a wrap is then no gap.
 */
static void gaps_end(const struct gaps *g)
{
	uint64_t first = g->lo, last = g->hi, missing;

	if (g->gap > g->lo - g->hi) { /* wider than the gap from the highest round to the lowest */
		first = g->after;
		last = g->before;
	}
	missing = last - first - (g->n - 1);
	if (missing)
		log_warn("%" PRIu64 " chunks of a recording are missing between chunk %" PRIu64 " and chunk %" PRIu64 " (a rotated file left out, or damage)",
			 missing, first, last);
}

/* Warn of the chunks missing from each recording, from st's rows (rec, seq: every chunk but the
 * copies, by recording and number). 0 or -errno. */
static int report_gaps(const struct source *s, sqlite3_stmt *st)
{
	struct gaps g = { .n = 0 };
	int ret;

	while ((ret = list_step(s, st, "reading")) == 1) {
		int64_t rec = sqlite3_column_int64(st, 0);
		uint64_t seq = unkey(sqlite3_column_int64(st, 1));

		if (g.n && rec != g.rec) {
			gaps_end(&g);
			g.n = 0;
		}
		if (!g.n) {
			g = (struct gaps){ .rec = rec, .lo = seq, .hi = seq, .n = 1 };
			continue;
		}
		if (seq - g.hi > g.gap) {
			g.gap = seq - g.hi;
			g.after = seq;
			g.before = g.hi;
		}
		g.hi = seq;
		g.n++;
	}
	if (g.n)
		gaps_end(&g);
	return ret;
}

/* Warn of the copies of chunks, one warning per pair of files, from st's rows (file, the file of
 * the first copy, how many). 0 or -errno. */
static int report_copies(const struct source *s, sqlite3_stmt *st)
{
	int ret;

	while ((ret = list_step(s, st, "reading")) == 1)
		log_warn("%s: %" PRId64 " chunks are copies of chunks in %s: skipped",
			 jr_path(s->files[sqlite3_column_int64(st, 0)]),
			 (int64_t)sqlite3_column_int64(st, 2),
			 jr_path(s->files[sqlite3_column_int64(st, 1)]));
	return ret;
}

/*
 * From the chunks scanned: drop second copies of a chunk (the same file given twice, or
 * overlapping copies), warn of them and of chunks missing, and list the others in the order they
 * are read. 0 or -errno.
 */
static int list_chunks(struct source *s)
{
	sqlite3_stmt *walk = NULL, *dup = NULL, *copy = NULL, *pairs = NULL, *left = NULL;
	int64_t rec = -1, seq = 0, file = 0;
	int ret, rc = 0;

	ret = list_exec(s, "CREATE INDEX scan_seq ON scan(rec, seq, file, offset)");
	if (!ret)
		ret = list_prepare(s, "SELECT rowid, rec, seq, file FROM scan ORDER BY rec, seq, file, offset",
				   &walk);
	if (!ret)
		ret = list_prepare(s, "INSERT INTO dup VALUES(?1)", &dup);
	if (!ret)
		ret = list_prepare(s,
				   "INSERT INTO copies VALUES(?1, ?2, 1) "
				   "ON CONFLICT DO UPDATE SET n = n + 1",
				   &copy);
	if (!ret)
		ret = list_prepare(s, "SELECT file, of, n FROM copies ORDER BY file, of", &pairs);
	if (!ret)
		ret = list_prepare(s,
				   "SELECT rec, seq FROM scan WHERE rowid NOT IN (SELECT id FROM dup) "
				   "ORDER BY rec, seq, file, offset",
				   &left);
	while (!ret && (rc = list_step(s, walk, "reading")) == 1) {
		if (sqlite3_column_int64(walk, 1) != rec || sqlite3_column_int64(walk, 2) != seq) {
			rec = sqlite3_column_int64(walk, 1);
			seq = sqlite3_column_int64(walk, 2);
			file = sqlite3_column_int64(walk, 3);
			continue;
		}
		sqlite3_bind_int64(dup, 1, sqlite3_column_int64(walk, 0));
		ret = list_step(s, dup, "keeping");
		sqlite3_bind_int64(copy, 1, sqlite3_column_int64(walk, 3));
		sqlite3_bind_int64(copy, 2, file);
		if (!ret)
			ret = list_step(s, copy, "keeping");
	}
	if (!ret && rc < 0)
		ret = rc;
	sqlite3_reset(walk);
	if (!ret)
		ret = report_copies(s, pairs);
	if (!ret)
		ret = report_gaps(s, left);
	sqlite3_finalize(walk);
	sqlite3_finalize(dup);
	sqlite3_finalize(copy);
	sqlite3_finalize(pairs);
	sqlite3_finalize(left);
	/* Numbered from 1 as inserted: in the order of the select. */
	if (!ret)
		ret = list_exec(s, "INSERT INTO chunks SELECT NULL, " CHUNK_NAMES " FROM scan "
				   "WHERE rowid NOT IN (SELECT id FROM dup) "
				   "ORDER BY first_ns, file, offset");
	if (!ret) {
		s->nchunks = (size_t)sqlite3_changes(s->db);
		ret = list_exec(s, "DROP TABLE scan; DROP TABLE dup; DROP TABLE copies");
	}
	return ret;
}

static int scan_file(struct source *s, unsigned f)
{
	struct journal_reader *jr = s->files[f];
	struct jr_chunk c;
	int ret;

	while ((ret = jr_next(jr, &c)) > 0) {
		int rec = catalog_recording(&s->cat, c.meta.recording_id);
		struct chunk_ref cr = { .file = f, .rec = (unsigned)rec, .c = c };

		if (rec == -ENOSPC)
			continue; /* a recording past CATALOG_MAX_RECORDINGS: counted */
		if (rec < 0)
			return rec;
		/* Head chunks describe the recording and its interfaces: read them now, so that
		 * the output can name every interface before its first packet. */
		if (c.meta.flags & JR_CHUNK_HEAD) {
			uint8_t *raw;

			ret = read_chunk(s, &cr, &raw);
			if (ret)
				return ret;
			if (raw)
				ret = parse_chunk(s, &cr, raw, c.meta.raw_len, NULL);
			free(raw);
			if (ret)
				return ret;
		}
		bind_chunk(s->scan_add, &cr);
		ret = list_step(s, s->scan_add, "keeping");
		if (ret)
			return ret;
	}
	if (ret < 0)
		log_err("%s: %s", jr_path(jr), strerror(-ret));
	return ret;
}

int source_open(char *const *paths, unsigned n, struct source **out)
{
	struct source *s = calloc(1, sizeof(*s));
	int ret = -ENOMEM;

	if (!s)
		return -ENOMEM;
	s->spill_fd = -1;
	s->files = calloc(n, sizeof(*s->files));
	if (!s->files)
		goto fail;
	for (unsigned i = 0; i < n; i++) {
		const char *why;

		ret = jr_open(paths[i], on_damage, NULL, &s->files[i], &why);
		if (ret) {
			if (why)
				log_err("%s: %s", paths[i], why);
			else
				log_err("%s: %s", paths[i], strerror(-ret));
			goto fail;
		}
		s->nfiles++;
	}
	ret = db_open_temp("keeping the list of chunks in a temporary file", 0, CHUNKS_CACHE_KIB,
			   chunks_schema, &s->db);
	if (!ret)
		ret = list_prepare(s,
				   "INSERT INTO scan VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
				   "?11, ?12)",
				   &s->scan_add);
	if (!ret)
		ret = list_prepare(s, "SELECT " CHUNK_NAMES " FROM chunks WHERE id = ?1", &s->get);
	if (!ret)
		ret = list_prepare(s, "SELECT " CHUNK_NAMES " FROM chunks WHERE id > ?1 ORDER BY id",
				   &s->window);
	if (!ret)
		ret = list_prepare(s, "UPDATE chunks SET damaged = ?2, packets = ?3 WHERE id = ?1",
				   &s->mark);
	for (unsigned i = 0; !ret && i < n; i++)
		ret = scan_file(s, i);
	if (!ret)
		ret = list_chunks(s);
	if (ret)
		goto fail;
	for (size_t i = 0; i < s->cat.nrecs; i++) {
		s->cat.recs[i].open_offset = s->cat.recs[i].offset;
		s->cat.recs[i].open_have_offset = s->cat.recs[i].have_offset;
	}
	*out = s;
	return 0;
fail:
	source_close(s);
	return ret;
}

static uint64_t head_wall(const struct loaded *l)
{
	return l->spilled ? l->head.wall : l->pkts[l->next].wall;
}

static uint64_t head_order(const struct loaded *l)
{
	return l->spilled ? l->head.order : l->order;
}

static bool before(const struct loaded *a, const struct loaded *b)
{
	uint64_t x = head_wall(a), y = head_wall(b);

	if (x != y)
		return x < y;
	return head_order(a) < head_order(b);
}

static void heap_push(struct source *s, struct loaded *l)
{
	size_t i = s->nheap++;

	s->heap[i] = l;
	while (i && before(s->heap[i], s->heap[(i - 1) / 2])) {
		struct loaded *t = s->heap[i];

		s->heap[i] = s->heap[(i - 1) / 2];
		s->heap[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

static struct loaded *heap_pop(struct source *s)
{
	struct loaded *top = s->heap[0];
	size_t i = 0;

	s->heap[0] = s->heap[--s->nheap];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		struct loaded *t;

		if (l < s->nheap && before(s->heap[l], s->heap[m]))
			m = l;
		if (r < s->nheap && before(s->heap[r], s->heap[m]))
			m = r;
		if (m == i)
			break;
		t = s->heap[i];
		s->heap[i] = s->heap[m];
		s->heap[m] = t;
		i = m;
	}
	return top;
}

static void free_loaded(struct source *s, struct loaded *l)
{
	s->loaded_bytes -= l->bytes;
	if (l->spilled) {
		s->runs[l->level]--;
		/* Give the run's space back; a file system that cannot just keeps it. */
		fallocate(s->spill_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)l->start,
			  (off_t)(l->end - l->start));
	}
	free(l->raw);
	free(l->pkts);
	free(l->buf);
	free(l);
}

/* Make the n bytes of run l at l->off readable in l->buf. 0 or -errno. */
static int run_fill(struct source *s, struct loaded *l, size_t n)
{
	size_t want = n > SPILL_READ ? n : SPILL_READ;
	ssize_t got;

	if (l->off >= l->buf_off && l->off - l->buf_off + n <= l->buf_len)
		return 0;
	if (want > l->end - l->off)
		want = (size_t)(l->end - l->off);
	if (want < n)
		return -EIO;
	if (want > l->buf_cap) {
		uint8_t *b = realloc(l->buf, want);

		if (!b)
			return -ENOMEM;
		s->loaded_bytes += want - l->buf_cap;
		l->bytes += want - l->buf_cap;
		l->buf = b;
		l->buf_cap = want;
	}
	do
		got = pread(s->spill_fd, l->buf, want, (off_t)l->off);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		return -errno;
	if ((size_t)got < n)
		return -EIO;
	l->buf_off = l->off;
	l->buf_len = (size_t)got;
	return 0;
}

/* Read the entry of run l at l->off into l->head, and its record into l->buf. 0 or -errno. */
static int run_head(struct source *s, struct loaded *l)
{
	int ret = run_fill(s, l, sizeof(l->head));

	if (ret)
		return ret;
	memcpy(&l->head, l->buf + (l->off - l->buf_off), sizeof(l->head));
	return run_fill(s, l, sizeof(l->head) + l->head.len);
}

/* The PACKET record of l's next packet, and its length. */
static const uint8_t *head_record(const struct loaded *l, uint32_t *len)
{
	const uint8_t *rec;
	struct tr_packet p;

	if (l->spilled) {
		*len = l->head.len;
		return l->buf + (l->off - l->buf_off) + sizeof(l->head);
	}
	rec = l->raw + l->pkts[l->next].off;
	memcpy(&p, rec, sizeof(p));
	*len = (uint32_t)sizeof(p) + p.cap_len;
	return rec;
}

/* Step l past its next packet. 1 when another follows, 0 when none, or -errno. */
static int advance(struct source *s, struct loaded *l)
{
	int ret;

	if (!l->spilled)
		return ++l->next < l->n;
	l->off += sizeof(l->head) + l->head.len;
	if (l->off == l->end)
		return 0;
	ret = run_head(s, l);
	return ret ? ret : 1;
}

static int spill_write(struct source *s, uint64_t off, const void *p, size_t len)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = pwrite(s->spill_fd, (const uint8_t *)p + done, len - done,
				   (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}

/* A run being written: entries gathered in buf, then written at off. */
struct run_out {
	uint8_t buf[SPILL_READ];
	size_t len;
	uint64_t off;
};

static int out_flush(struct source *s, struct run_out *o)
{
	int ret = spill_write(s, o->off, o->buf, o->len);

	o->off += o->len;
	o->len = 0;
	return ret;
}

/* Append l's next packet to run o. 0 or -errno. */
static int out_put(struct source *s, struct run_out *o, const struct loaded *l)
{
	struct spill_entry e = { .wall = head_wall(l), .order = head_order(l) };
	const uint8_t *rec = head_record(l, &e.len);
	int ret = 0;

	e.iface = l->spilled ? l->head.iface : l->pkts[l->next].iface;
	if (o->len + sizeof(e) + e.len > sizeof(o->buf))
		ret = out_flush(s, o);
	if (!ret && sizeof(e) + e.len > sizeof(o->buf)) {
		ret = spill_write(s, o->off, &e, sizeof(e));
		if (!ret)
			ret = spill_write(s, o->off + sizeof(e), rec, e.len);
		o->off += sizeof(e) + e.len;
		return ret;
	}
	memcpy(o->buf + o->len, &e, sizeof(e));
	memcpy(o->buf + o->len + sizeof(e), rec, e.len);
	o->len += sizeof(e) + e.len;
	return ret;
}

/* Make l, which o was filled from, the run o wrote, of this level. 0 or -errno. */
static int become_run(struct source *s, struct loaded *l, struct run_out *o, uint64_t start,
		      unsigned level)
{
	int ret = out_flush(s, o);

	if (ret)
		return ret;
	s->loaded_bytes -= l->bytes;
	free(l->raw);
	free(l->pkts);
	free(l->buf);
	*l = (struct loaded){ .order = l->order, .spilled = true, .level = level, .start = start,
			      .off = start, .end = o->off };
	s->spill_end = o->off;
	s->runs[level]++;
	return run_head(s, l);
}

/* An unlinked file in dir to spill into: its descriptor, or -errno. */
static int spill_open(const char *dir)
{
	char path[PATH_MAX];
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR))
		return fd >= 0 ? fd : -errno;
	/* A file system without O_TMPFILE: a named file, unlinked at once. */
	if (snprintf(path, sizeof(path), "%s/tlsasm-XXXXXX", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	unlink(path);
	return fd;
}

/* Write the packets of in-memory chunk l to the spill file as a run, and keep only that. */
static int spill(struct source *s, struct loaded *l)
{
	struct run_out *o;
	int ret = 0;

	if (s->spill_fd < 0) {
		const char *dir = getenv("TMPDIR");

		if (!dir || !*dir)
			dir = "/tmp";
		ret = spill_open(dir);
		if (ret < 0) {
			log_err("cannot make a file in %s for chunks that overlap in time: %s", dir,
				strerror(-ret));
			return ret;
		}
		s->spill_fd = ret;
		ret = 0;
	}
	o = malloc(sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->len = 0;
	o->off = s->spill_end;
	for (; !ret && l->next < l->n; l->next++)
		ret = out_put(s, o, l);
	if (!ret)
		ret = become_run(s, l, o, s->spill_end, 0);
	free(o);
	return ret;
}

/*
 * Merge the SPILL_FANIN runs of this level, taken out of the heap, into one run of the next
 * level, put back in their place. 0 or -errno.
 */
static int merge_runs(struct source *s, unsigned level)
{
	struct loaded *in[SPILL_FANIN], *l;
	uint64_t start = s->spill_end;
	struct run_out *o = malloc(sizeof(*o));
	size_t n = 0, k = 0;
	int ret = 0;

	if (!o)
		return -ENOMEM;
	o->len = 0;
	o->off = start;
	for (size_t i = 0; i < s->nheap; i++) {
		if (n < SPILL_FANIN && s->heap[i]->spilled && s->heap[i]->level == level)
			in[n++] = s->heap[i];
		else
			s->heap[k++] = s->heap[i];
	}
	s->nheap = 0;
	for (size_t i = 0; i < k; i++)
		heap_push(s, s->heap[i]);
	while (!ret && n) {
		size_t m = 0;

		for (size_t i = 1; i < n; i++)
			if (before(in[i], in[m]))
				m = i;
		ret = out_put(s, o, in[m]);
		if (!ret)
			ret = advance(s, in[m]);
		if (ret == 0) {
			l = in[m];
			in[m] = in[--n];
			if (n) {
				free_loaded(s, l);
				continue;
			}
			/* The last one becomes the merged run. */
			l->spilled = false;
			s->runs[level]--;
			fallocate(s->spill_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				  (off_t)l->start, (off_t)(l->end - l->start));
			ret = become_run(s, l, o, start, level + 1);
			if (!ret)
				heap_push(s, l);
			else
				free_loaded(s, l);
			break;
		}
		ret = ret > 0 ? 0 : ret;
	}
	for (size_t i = 0; i < n; i++)
		free_loaded(s, in[i]);
	free(o);
	return ret;
}

static int load_next(struct source *s)
{
	struct chunk_ref *cr;
	struct loaded *l;
	bool damaged;
	int ret = peek(s, &cr);

	if (ret)
		return ret;
	s->next_chunk++;
	damaged = cr->damaged;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	ret = read_chunk(s, cr, &l->raw);
	if (!ret && l->raw) {
		s->chunks_read++;
		l->raw_len = cr->c.meta.raw_len;
		l->order = cr->id;
		ret = parse_chunk(s, cr, l->raw, l->raw_len, l);
	}
	if (!ret && (cr->damaged != damaged || (s->count_packets && cr->packets != l->n))) {
		if (s->count_packets)
			cr->packets = l->n;
		ret = mark_chunk(s, cr);
	}
	if (!ret && l->n &&
	    array_reserve(&s->heap, &s->heap_cap, s->nheap + 1, sizeof(*s->heap), 16))
		ret = -ENOMEM;
	if (ret || !l->n) {
		free(l->raw);
		free(l->pkts);
		free(l);
		return ret;
	}
	l->bytes = l->raw_len + l->cap * sizeof(*l->pkts);
	s->loaded_bytes += l->bytes;
	if (s->nheap && s->loaded_bytes > MAX_LOADED_BYTES) {
		ret = spill(s, l);
		if (ret) {
			free_loaded(s, l);
			return ret;
		}
	}
	heap_push(s, l);
	for (unsigned v = 0; v + 1 < sizeof(s->runs) / sizeof(s->runs[0]); v++)
		if (s->runs[v] >= SPILL_FANIN && (ret = merge_runs(s, v)))
			return ret;
	return 0;
}

/* Say what the catalog's bounds dropped, once the first read is through. */
static void report_drops(struct source *s)
{
	const struct catalog *c = &s->cat;

	if (s->reported_drops)
		return;
	s->reported_drops = true;
	if (c->sockets_dropped)
		log_warn("%" PRIu64 " SOCKET records past the first %u are dropped: the sockets they name may go without an owner",
			 c->sockets_dropped, CATALOG_MAX_SOCKETS);
	if (c->procs_dropped)
		log_warn("%" PRIu64 " PROCESS records past the first %u are dropped: the processes they name may go without a name",
			 c->procs_dropped, CATALOG_MAX_PROCESSES);
	if (c->strings_dropped)
		log_warn("%" PRIu64 " PROCESS records are kept without their command line and executable: those kept already take %u MiB",
			 c->strings_dropped, CATALOG_MAX_STRING_BYTES >> 20);
	if (c->recs_dropped)
		log_warn("%" PRIu64 " chunks of recordings past the first %u are skipped: give fewer journals at once",
			 c->recs_dropped, CATALOG_MAX_RECORDINGS);
	if (c->ifaces_dropped)
		log_warn("%" PRIu64 " interfaces past the first %u are dropped: their packets are skipped",
			 c->ifaces_dropped, CATALOG_MAX_IFACES);
	if (c->libs_dropped)
		log_warn("%" PRIu64 " LIBRARY records past the first %u libraries are dropped: the SECRET records of the libraries they describe go without one",
			 c->libs_dropped, CATALOG_MAX_LIBRARIES);
}

int source_next(struct source *s, struct packet_view *v)
{
	const uint8_t *rec;
	struct loaded *l;
	uint32_t len;
	int ret;

	if (s->current) {
		l = s->current;
		s->current = NULL;
		ret = advance(s, l);
		if (ret > 0) {
			heap_push(s, l);
		} else {
			free_loaded(s, l);
			if (ret)
				return ret;
		}
	}
	while (s->next_chunk < s->nchunks) {
		struct chunk_ref *cr;

		ret = peek(s, &cr);
		if (ret)
			return ret;
		if (s->nheap && cr->c.meta.first_ns > head_wall(s->heap[0]))
			break;
		ret = load_next(s);
		if (ret)
			return ret;
	}
	if (!s->nheap) {
		if (!s->again)
			report_drops(s);
		return 0;
	}
	l = heap_pop(s);
	s->current = l;
	rec = head_record(l, &len);
	memcpy(&v->p, rec, sizeof(v->p));
	v->data = rec + sizeof(v->p);
	v->wall = head_wall(l);
	v->iface = l->spilled ? l->head.iface : l->pkts[l->next].iface;
	v->chunk = (size_t)head_order(l);
	return 1;
}

void source_rewind(struct source *s)
{
	if (s->current)
		free_loaded(s, s->current);
	s->current = NULL;
	for (size_t i = 0; i < s->nheap; i++)
		free_loaded(s, s->heap[i]);
	s->nheap = 0;
	s->next_chunk = 0;
	s->win_n = 0;
	s->chunks_read = 0;
	s->again = true;
	if (s->spill_fd >= 0 && ftruncate(s->spill_fd, 0) == 0)
		s->spill_end = 0;
	/* Times of a chunk without a CLOCK record come from the chunks read before it: start from
	 * the same place, so that the packets come out in the same order with the same times. */
	for (size_t i = 0; i < s->cat.nrecs; i++) {
		s->cat.recs[i].offset = s->cat.recs[i].open_offset;
		s->cat.recs[i].have_offset = s->cat.recs[i].open_have_offset;
	}
}

size_t source_nchunks(const struct source *s)
{
	return s->nchunks;
}

int source_chunk(const struct source *s, size_t i, struct src_chunk *out)
{
	struct chunk_ref cr;
	int ret = get_chunk(s, i, &cr);

	if (ret)
		return ret;
	*out = (struct src_chunk){ .path = jr_path(s->files[cr.file]),
				   .file = cr.file,
				   .rec = cr.rec,
				   .offset = cr.c.offset,
				   .meta = cr.c.meta,
				   .packets = cr.packets };
	return 0;
}

int source_select(struct source *s, bool (*keep)(void *ctx, const struct src_chunk *c), void *ctx)
{
	sqlite3_stmt *pick = NULL;
	size_t k = 0, first_dropped = SIZE_MAX;
	int ret = list_prepare(s, "INSERT INTO picked SELECT ?2, " CHUNK_NAMES " FROM chunks "
				  "WHERE id = ?1",
			       &pick);

	/* The chunks before the first one dropped keep their numbers; those after it are
	 * renumbered in picked. */
	for (size_t i = 0; !ret && i < s->nchunks; i++) {
		struct src_chunk c;

		ret = source_chunk(s, i, &c);
		if (ret)
			break;
		if (!keep(ctx, &c)) {
			if (first_dropped == SIZE_MAX)
				first_dropped = k;
			continue;
		}
		if (first_dropped != SIZE_MAX) {
			sqlite3_bind_int64(pick, 1, (int64_t)i + 1);
			sqlite3_bind_int64(pick, 2, (int64_t)k + 1);
			ret = list_step(s, pick, "keeping");
		}
		k++;
	}
	sqlite3_finalize(pick);
	if (!ret && first_dropped != SIZE_MAX) {
		char sql[160];

		snprintf(sql, sizeof(sql),
			 "DELETE FROM chunks WHERE id > %zu; INSERT INTO chunks SELECT * FROM picked; "
			 "DELETE FROM picked",
			 first_dropped);
		ret = list_exec(s, sql);
	}
	if (!ret)
		s->nchunks = k;
	s->win_n = 0;
	return ret;
}

size_t source_sockets(const struct source *s, const struct src_socket **out)
{
	*out = s->cat.sockets;
	return s->cat.nsockets;
}

size_t source_processes(const struct source *s, const struct src_process **out)
{
	*out = s->cat.procs;
	return s->cat.nprocs;
}

void source_count_packets(struct source *s)
{
	s->count_packets = true;
}

void source_on_secret(struct source *s, source_secret_fn *fn, void *ctx)
{
	s->on_secret = fn;
	s->secret_ctx = ctx;
}

unsigned source_libraries(const struct source *s, const struct src_library **out)
{
	*out = s->cat.libs;
	return (unsigned)s->cat.nlibs;
}

uint64_t source_secrets_lost(const struct source *s)
{
	return s->secrets_lost;
}

uint64_t source_take_drops(struct source *s, unsigned i, uint64_t wall)
{
	return catalog_take_drops(&s->cat, i, wall);
}

unsigned source_recordings(const struct source *s, const struct recording **out)
{
	*out = s->cat.recs;
	return (unsigned)s->cat.nrecs;
}

unsigned source_interfaces(const struct source *s, struct src_iface **out)
{
	*out = s->cat.ifaces;
	return (unsigned)s->cat.nifaces;
}

unsigned source_damage(const struct source *s)
{
	unsigned n = s->damage;

	for (unsigned i = 0; i < s->nfiles; i++)
		n += jr_damaged(s->files[i]);
	return n;
}

uint64_t source_chunks(const struct source *s)
{
	return s->chunks_read;
}

void source_close(struct source *s)
{
	if (!s)
		return;
	if (s->current)
		free_loaded(s, s->current);
	for (size_t i = 0; i < s->nheap; i++)
		free_loaded(s, s->heap[i]);
	for (unsigned i = 0; i < s->nfiles; i++)
		jr_close(s->files[i]);
	if (s->spill_fd >= 0)
		close(s->spill_fd);
	catalog_free(&s->cat);
	sqlite3_finalize(s->scan_add);
	sqlite3_finalize(s->get);
	sqlite3_finalize(s->window);
	sqlite3_finalize(s->mark);
	sqlite3_close(s->db);
	free(s->files);
	free(s->heap);
	free(s);
}

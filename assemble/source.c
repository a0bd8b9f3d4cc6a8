// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "log.h"
#include "source.h"

/* Decompressed chunks held at once before order is given up for memory. */
#define MAX_LOADED_BYTES (1ULL << 30)

struct chunk_ref {
	unsigned file;
	unsigned rec;
	bool damaged; /* found damaged (and reported) when its head was read */
	struct jr_chunk c;
};

struct pkt_ref {
	uint64_t wall;
	uint32_t off; /* of the record in the chunk */
	uint32_t iface;
};

struct loaded {
	size_t order; /* index in the sorted chunk list: ties go to the earlier chunk */
	uint8_t *raw;
	size_t raw_len;
	struct pkt_ref *pkts;
	size_t n, cap, next;
};

struct source {
	struct journal_reader **files;
	unsigned nfiles;
	struct catalog cat;
	struct chunk_ref *chunks;
	size_t nchunks, chunks_cap, next_chunk;
	struct loaded **heap;
	size_t nheap;
	uint64_t loaded_bytes;
	struct loaded *current; /* whose packet was handed out last */
	unsigned damage;
	uint64_t secrets_lost; /* LOSS records of TLS secrets: their total */
	uint64_t chunks_read;
	bool again; /* reading again after source_rewind: records other than packets are known */
	bool warned_order, warned_clock, warned_iface;
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

/*
 * Walk one decompressed chunk: HEADER, CLOCK, IFACE, LOSS, END, IFGONE, LIBRARY and SECRET
 * records update the catalog; PACKET records become references in l. Without l (a head chunk
 * read ahead of time) only the recording and its interfaces are taken, quietly: the chunk is
 * walked again, and reported on, when its turn comes. After source_rewind, only the packets are
 * taken, quietly too. Returns 0 or -ENOMEM.
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
			struct tr_secret secret;
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
			if (!first)
				break;
			if (rec_fixed(rec, &h, &u.secret, sizeof(u.secret)))
				goto bad_record;
			if (catalog_add_secret(&s->cat, cr->rec, (size_t)(cr - s->chunks), &u.secret))
				return -ENOMEM;
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

/* Decompress chunk number idx; *raw is NULL when it is damaged (reported, and marked). */
static int read_chunk(struct source *s, size_t idx, uint8_t **raw)
{
	struct chunk_ref *cr = &s->chunks[idx];
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

static int cmp_chunk(const void *a, const void *b)
{
	const struct chunk_ref *x = a, *y = b;

	if (x->c.meta.first_ns != y->c.meta.first_ns)
		return x->c.meta.first_ns < y->c.meta.first_ns ? -1 : 1;
	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	return (x->c.offset > y->c.offset) - (x->c.offset < y->c.offset);
}

static int cmp_rec_seq(const void *a, const void *b)
{
	const struct chunk_ref *x = a, *y = b;

	if (x->rec != y->rec)
		return x->rec < y->rec ? -1 : 1;
	if (x->c.meta.seq != y->c.meta.seq)
		return x->c.meta.seq < y->c.meta.seq ? -1 : 1;
	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	return (x->c.offset > y->c.offset) - (x->c.offset < y->c.offset);
}

/* Drop second copies of a chunk (the same file given twice, or overlapping copies): one warning
 * per pair of files. */
static void dedupe(struct source *s)
{
	unsigned *copies = calloc((size_t)s->nfiles * s->nfiles, sizeof(*copies));
	size_t k = 0;

	if (s->nchunks) /* qsort wants a non-NULL array, even for 0 elements */
		qsort(s->chunks, s->nchunks, sizeof(*s->chunks), cmp_rec_seq);
	for (size_t i = 0; i < s->nchunks; i++) {
		const struct chunk_ref *c = &s->chunks[i];
		struct recording *r = &s->cat.recs[c->rec];

		if (k && s->chunks[k - 1].rec == c->rec && s->chunks[k - 1].c.meta.seq == c->c.meta.seq) {
			if (copies)
				copies[c->file * s->nfiles + s->chunks[k - 1].file]++;
			continue;
		}
		if (!r->chunks)
			r->seq_first = c->c.meta.seq;
		r->seq_last = c->c.meta.seq;
		r->chunks++;
		s->chunks[k++] = *c;
	}
	s->nchunks = k;
	for (unsigned a = 0; copies && a < s->nfiles; a++)
		for (unsigned b = 0; b < s->nfiles; b++)
			if (copies[a * s->nfiles + b])
				log_warn("%s: %u chunks are copies of chunks in %s: skipped",
					 jr_path(s->files[a]), copies[a * s->nfiles + b],
					 jr_path(s->files[b]));
	free(copies);
	for (size_t i = 0; i < s->cat.nrecs; i++) {
		const struct recording *r = &s->cat.recs[i];
		uint64_t span = r->seq_last - r->seq_first + 1;

		if (r->chunks && span != r->chunks)
			log_warn("%" PRIu64 " chunks of a recording are missing between chunk %" PRIu64 " and chunk %" PRIu64 " (a rotated file left out, or damage)",
				 span - r->chunks, r->seq_first, r->seq_last);
	}
}

static int scan_file(struct source *s, unsigned f)
{
	struct journal_reader *jr = s->files[f];
	struct jr_chunk c;
	int ret;

	while ((ret = jr_next(jr, &c)) > 0) {
		int rec = catalog_recording(&s->cat, c.meta.recording_id);

		if (rec < 0)
			return rec;
		if (array_reserve(&s->chunks, &s->chunks_cap, s->nchunks + 1, sizeof(*s->chunks), 256))
			return -ENOMEM;
		s->chunks[s->nchunks++] = (struct chunk_ref){ .file = f, .rec = (unsigned)rec, .c = c };
		/* Head chunks describe the recording and its interfaces: read them now, so that
		 * the output can name every interface before its first packet. */
		if (c.meta.flags & JR_CHUNK_HEAD) {
			uint8_t *raw;

			ret = read_chunk(s, s->nchunks - 1, &raw);
			if (ret)
				return ret;
			if (raw)
				ret = parse_chunk(s, &s->chunks[s->nchunks - 1], raw, c.meta.raw_len,
						  NULL);
			free(raw);
			if (ret)
				return ret;
		}
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
	for (unsigned i = 0; i < n; i++) {
		ret = scan_file(s, i);
		if (ret)
			goto fail;
	}
	dedupe(s);
	if (s->nchunks)
		qsort(s->chunks, s->nchunks, sizeof(*s->chunks), cmp_chunk);
	for (size_t i = 0; i < s->cat.nrecs; i++) {
		s->cat.recs[i].open_offset = s->cat.recs[i].offset;
		s->cat.recs[i].open_have_offset = s->cat.recs[i].have_offset;
	}
	s->heap = calloc(s->nchunks ? s->nchunks : 1, sizeof(*s->heap));
	if (!s->heap) {
		ret = -ENOMEM;
		goto fail;
	}
	*out = s;
	return 0;
fail:
	source_close(s);
	return ret;
}

static bool before(const struct loaded *a, const struct loaded *b)
{
	const struct pkt_ref *x = &a->pkts[a->next], *y = &b->pkts[b->next];

	if (x->wall != y->wall)
		return x->wall < y->wall;
	return a->order < b->order;
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
	s->loaded_bytes -= l->raw_len;
	free(l->raw);
	free(l->pkts);
	free(l);
}

static int load_next(struct source *s)
{
	size_t idx = s->next_chunk++;
	struct loaded *l;
	int ret;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	ret = read_chunk(s, idx, &l->raw);
	if (!ret && l->raw) {
		s->chunks_read++;
		l->raw_len = s->chunks[idx].c.meta.raw_len;
		l->order = idx;
		ret = parse_chunk(s, &s->chunks[idx], l->raw, l->raw_len, l);
	}
	if (ret || !l->n) {
		free(l->raw);
		free(l->pkts);
		free(l);
		return ret;
	}
	s->loaded_bytes += l->raw_len;
	heap_push(s, l);
	return 0;
}

int source_next(struct source *s, struct packet_view *v)
{
	const struct pkt_ref *ref;
	struct loaded *l;
	int ret;

	if (s->current) {
		l = s->current;
		s->current = NULL;
		if (++l->next < l->n)
			heap_push(s, l);
		else
			free_loaded(s, l);
	}
	while (s->next_chunk < s->nchunks) {
		const struct jr_chunk_meta *m = &s->chunks[s->next_chunk].c.meta;

		if (s->nheap && m->first_ns > s->heap[0]->pkts[s->heap[0]->next].wall)
			break;
		if (s->nheap && s->loaded_bytes > MAX_LOADED_BYTES) {
			if (!s->warned_order)
				log_warn("chunks overlap in time more than memory allows: packets may come out of order");
			s->warned_order = true;
			break;
		}
		ret = load_next(s);
		if (ret)
			return ret;
	}
	if (!s->nheap)
		return 0;
	l = heap_pop(s);
	s->current = l;
	ref = &l->pkts[l->next];
	memcpy(&v->p, l->raw + ref->off, sizeof(v->p));
	v->data = l->raw + ref->off + sizeof(v->p);
	v->wall = ref->wall;
	v->iface = ref->iface;
	v->chunk = l->order;
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
	s->chunks_read = 0;
	s->again = true;
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

void source_chunk(const struct source *s, size_t i, struct src_chunk *out)
{
	const struct chunk_ref *cr = &s->chunks[i];

	*out = (struct src_chunk){ .path = jr_path(s->files[cr->file]),
				   .file = cr->file,
				   .rec = cr->rec,
				   .offset = cr->c.offset,
				   .meta = &cr->c.meta };
}

size_t source_select(struct source *s, bool (*keep)(void *ctx, const struct src_chunk *c),
		     void *ctx)
{
	size_t k = 0;

	for (size_t i = 0; i < s->nchunks; i++) {
		struct src_chunk c;

		source_chunk(s, i, &c);
		if (keep(ctx, &c))
			s->chunks[k++] = s->chunks[i];
	}
	s->nchunks = k;
	return k;
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

size_t source_secrets(const struct source *s, const struct src_secret **out)
{
	*out = s->cat.secrets;
	return s->cat.nsecrets;
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

int source_library_of(const struct source *s, const struct src_secret *sec)
{
	return catalog_find_library(&s->cat, sec->rec, sec->s.lib);
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
	catalog_free(&s->cat);
	free(s->files);
	free(s->chunks);
	free(s->heap);
	free(s);
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * Reading journal files. Every length read from the file is checked before it is used; a damaged
 * region is reported once with its offset and size, and reading resumes at the next valid chunk
 * header. "Not a journal" and "a damaged journal" are different answers.
 */
#include <errno.h>
#include <fcntl.h>
#include <lz4frame.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"

#define SCAN_BLOCK (1u << 20)

struct journal_reader {
	int fd;
	char *path;
	uint64_t size;
	uint64_t off;  /* where jr_next looks next */
	uint64_t prev; /* data of the chunk jr_next returned last, if off was reached by its length */
	unsigned damaged;
	jr_damage_fn damage;
	void *ctx;
	LZ4F_dctx *dctx;
	uint8_t *frame;
	size_t frame_cap;
};

/* The first 8 bytes of every chunk header: skippable frame magic and payload size. */
static const uint8_t chunk_start[8] = { 0x5C, 0x2A, 0x4D, 0x18, JR_CHUNK_PAYLOAD, 0, 0, 0 };

static int read_at(struct journal_reader *r, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(r->fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO; /* the file shrank under us */
		done += (size_t)n;
	}
	return 0;
}

static void report(struct journal_reader *r, uint64_t off, uint64_t len, const char *why)
{
	r->damaged++;
	if (r->damage)
		r->damage(r->ctx, r->path, off, len, why);
}

/* Is there a valid chunk header at off? 1 yes (and *m filled), 0 no, <0 I/O error. */
static int header_at(struct journal_reader *r, uint64_t off, struct jr_chunk_meta *m)
{
	uint8_t hdr[JR_CHUNK_HDR_SIZE];
	int ret;

	if (r->size - off < sizeof(hdr))
		return 0;
	ret = read_at(r, hdr, sizeof(hdr), off);
	if (ret)
		return ret;
	return chunk_header_decode(hdr, m) == 0;
}

/* Offset of the first valid chunk header at or after from, or r->size if none. <0 on I/O error. */
static int64_t find_header(struct journal_reader *r, uint64_t from)
{
	uint8_t *buf = malloc(SCAN_BLOCK);
	int64_t found = (int64_t)r->size;

	if (!buf)
		return -ENOMEM;
	while (from + JR_CHUNK_HDR_SIZE <= r->size) {
		size_t len = r->size - from < SCAN_BLOCK ? (size_t)(r->size - from) : SCAN_BLOCK;
		uint8_t *p = buf, *end;
		int ret = read_at(r, buf, len, from);

		if (ret) {
			found = ret;
			break;
		}
		end = buf + len;
		while ((p = memmem(p, (size_t)(end - p), chunk_start, sizeof(chunk_start)))) {
			struct jr_chunk_meta m;

			ret = header_at(r, from + (uint64_t)(p - buf), &m);
			if (ret) {
				found = ret < 0 ? ret : (int64_t)(from + (uint64_t)(p - buf));
				goto out;
			}
			p++;
		}
		if (len < SCAN_BLOCK)
			break;
		/* Overlap so that a header straddling two blocks is found. */
		from += len - sizeof(chunk_start) + 1;
	}
out:
	free(buf);
	return found;
}

/* Are the n bytes at b the beginning of a chunk header? */
static bool is_header_start(const uint8_t *b, size_t n)
{
	static const char magic[] = JR_CHUNK_MAGIC;
	size_t k = n < sizeof(chunk_start) ? n : sizeof(chunk_start);

	if (memcmp(b, chunk_start, k))
		return false;
	if (n > sizeof(chunk_start)) {
		k = n - sizeof(chunk_start) < 8 ? n - sizeof(chunk_start) : 8;
		return !memcmp(b + sizeof(chunk_start), magic, k);
	}
	return true;
}

static const char *other_format(const uint8_t *b, size_t n)
{
	static const struct {
		const char *magic;
		size_t len;
		const char *what;
	} known[] = {
		{ "\x0A\x0D\x0D\x0A", 4, "a pcapng file, not a tlsrec journal" },
		{ "\xD4\xC3\xB2\xA1", 4, "a pcap file, not a tlsrec journal" },
		{ "\xA1\xB2\xC3\xD4", 4, "a pcap file, not a tlsrec journal" },
		{ "\x4D\x3C\xB2\xA1", 4, "a pcap file, not a tlsrec journal" },
		{ "\xA1\xB2\x3C\x4D", 4, "a pcap file, not a tlsrec journal" },
		{ "\x04\x22\x4D\x18", 4, "an LZ4 file, but not a tlsrec journal" },
		{ "\x1F\x8B", 2, "a gzip file, not a tlsrec journal" },
		{ "SQLite format 3", 15, "an SQLite database, not a tlsrec journal" },
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (n >= known[i].len && !memcmp(b, known[i].magic, known[i].len))
			return known[i].what;
	return NULL;
}

int jr_open(const char *path, jr_damage_fn damage, void *ctx, struct journal_reader **out,
	    const char **why)
{
	struct journal_reader *r;
	struct jr_chunk_meta m;
	uint8_t first[JR_CHUNK_HDR_SIZE];
	struct stat st;
	int64_t at;
	int ret;

	*why = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->damage = damage;
	r->ctx = ctx;
	r->path = strdup(path);
	/* O_NONBLOCK: a FIFO with no writer is refused below, not waited for. */
	r->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (r->fd < 0 || !r->path) {
		ret = r->path ? -errno : -ENOMEM;
		goto fail;
	}
	if (fstat(r->fd, &st)) {
		ret = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		*why = S_ISDIR(st.st_mode) ? "a directory, not a tlsrec journal" :
					     "not a regular file (journals are read with random access)";
		ret = -ENOEXEC;
		goto fail;
	}
	if (fcntl(r->fd, F_SETFL, 0)) {
		ret = -errno;
		goto fail;
	}
	r->size = (uint64_t)st.st_size;
	if (LZ4F_isError(LZ4F_createDecompressionContext(&r->dctx, LZ4F_VERSION))) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = header_at(r, 0, &m);
	if (ret < 0)
		goto fail;
	if (ret == 0) {
		size_t n = r->size < sizeof(first) ? (size_t)r->size : sizeof(first);

		ret = read_at(r, first, n, 0);
		if (ret)
			goto fail;
		/* Nothing, or the start of a chunk header: a journal cut before its first chunk
		 * (a crash right after the file was created). jr_next reports it. */
		if (n < sizeof(first) && is_header_start(first, n)) {
			*out = r;
			return 0;
		}
		*why = other_format(first, n);
		if (*why) {
			ret = -ENOEXEC;
			goto fail;
		}
		at = find_header(r, 0);
		if (at < 0) {
			ret = (int)at;
			goto fail;
		}
		if ((uint64_t)at == r->size) {
			*why = "not a tlsrec journal (no chunk header anywhere in it)";
			ret = -ENOEXEC;
			goto fail;
		}
		report(r, 0, (uint64_t)at, "damaged data before the first chunk header");
		r->off = (uint64_t)at;
	}
	*out = r;
	return 0;
fail:
	jr_close(r);
	return ret;
}

int jr_next(struct journal_reader *r, struct jr_chunk *c)
{
	char why[128];

	if (r->size == 0 && !r->damaged)
		report(r, 0, 0, "empty file: cut before its first chunk");
	while (r->off < r->size) {
		uint64_t left = r->size - r->off;
		int64_t next;
		int ret = header_at(r, r->off, &c->meta);

		if (ret < 0)
			return ret;
		if (ret) {
			uint64_t whole = JR_CHUNK_HDR_SIZE + (uint64_t)c->meta.frame_len;

			if (whole <= left) {
				c->offset = r->off;
				r->prev = r->off + JR_CHUNK_HDR_SIZE;
				r->off += whole;
				return 1;
			}
			/* Cut short by a crash, or a length that lies: a chunk may follow inside. */
			next = find_header(r, r->off + JR_CHUNK_HDR_SIZE);
			if (next < 0)
				return (int)next;
			snprintf(why, sizeof(why), "%s chunk: %llu of %llu bytes present",
				 (uint64_t)next == r->size ? "truncated" : "damaged",
				 (unsigned long long)((uint64_t)next - r->off),
				 (unsigned long long)whole);
			report(r, r->off, (uint64_t)next - r->off, why);
			r->off = (uint64_t)next;
			r->prev = 0;
			continue;
		}
		/* No chunk where the previous one's length points: that length may be what is
		 * wrong, so look again from just after that chunk's header. If a chunk starts
		 * inside it, the previous chunk is reported damaged when it is loaded. */
		next = find_header(r, r->prev ? r->prev : r->off + 1);
		r->prev = 0;
		if (next < 0)
			return (int)next;
		if ((uint64_t)next < r->off) {
			r->off = (uint64_t)next;
			continue;
		}
		report(r, r->off, (uint64_t)next - r->off,
		       (uint64_t)next == r->size && left < JR_CHUNK_HDR_SIZE ?
			       "truncated chunk header" :
			       "damaged chunk header");
		r->off = (uint64_t)next;
	}
	return 0;
}

static int frame_damaged(struct journal_reader *r, const struct jr_chunk *c, const char *what)
{
	char why[160];

	snprintf(why, sizeof(why), "chunk %llu: %s", (unsigned long long)c->meta.seq, what);
	report(r, c->offset, JR_CHUNK_HDR_SIZE + (uint64_t)c->meta.frame_len, why);
	return -EBADMSG;
}

int jr_load(struct journal_reader *r, const struct jr_chunk *c, uint8_t *buf)
{
	const uint32_t flen = c->meta.frame_len, rlen = c->meta.raw_len;
	LZ4F_frameInfo_t fi;
	size_t in = 0, out = 0, n, hint;
	int ret;

	if (flen > r->frame_cap) {
		uint8_t *p = realloc(r->frame, flen);

		if (!p)
			return -ENOMEM;
		r->frame = p;
		r->frame_cap = flen;
	}
	ret = read_at(r, r->frame, flen, c->offset + JR_CHUNK_HDR_SIZE);
	if (ret)
		return ret;

	LZ4F_resetDecompressionContext(r->dctx);
	n = flen;
	hint = LZ4F_getFrameInfo(r->dctx, &fi, r->frame, &n);
	if (LZ4F_isError(hint))
		return frame_damaged(r, c, LZ4F_getErrorName(hint));
	/* The content checksum is what makes a chunk trustworthy: a frame without one is refused. */
	if (fi.contentChecksumFlag != LZ4F_contentChecksumEnabled ||
	    (fi.contentSize && fi.contentSize != rlen))
		return frame_damaged(r, c, "data frame does not match its chunk header");
	in = n;
	while (hint) {
		size_t src = flen - in, dst = rlen - out;

		hint = LZ4F_decompress(r->dctx, buf + out, &dst, r->frame + in, &src, NULL);
		if (LZ4F_isError(hint))
			return frame_damaged(r, c, LZ4F_getErrorName(hint));
		in += src;
		out += dst;
		if (hint && src == 0 && dst == 0)
			return frame_damaged(r, c, "data frame ends early");
	}
	if (in != flen || out != rlen)
		return frame_damaged(r, c, "data frame length does not match its chunk header");
	return 0;
}

const char *jr_path(const struct journal_reader *r)
{
	return r->path;
}

unsigned jr_damaged(const struct journal_reader *r)
{
	return r->damaged;
}

void jr_close(struct journal_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	LZ4F_freeDecompressionContext(r->dctx);
	free(r->frame);
	free(r->path);
	free(r);
}

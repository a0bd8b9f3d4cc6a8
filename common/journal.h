/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The journal file format (docs/journal-format.md): chunks of records, each chunk an LZ4 skippable
 * frame holding the chunk header followed by an LZ4 frame holding the records. Writer, reader and
 * record cursor. No libbpf here: tlsasm links this too.
 */
#ifndef TLSREC_JOURNAL_H
#define TLSREC_JOURNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <lz4.h>

#include "../bpf/events.h"
#include "xxh32.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "journal format version 1 is defined for little-endian hosts only"
#endif

#define JR_SKIPPABLE_MAGIC 0x184D2A5Cu
#define JR_CHUNK_MAGIC "TLSRECck"
#define JR_CHUNK_VERSION 1
#define JR_CHUNK_PAYLOAD 68
#define JR_CHUNK_HDR_SIZE (8 + JR_CHUNK_PAYLOAD)
#define JR_MAX_RAW (16u << 20)
#define JR_MAX_FRAME (17u << 20)

enum jr_chunk_flags {
	JR_CHUNK_HEAD = 1 << 0,
};

struct jr_chunk_meta {
	uint16_t flags;
	uint32_t records;
	uint8_t recording_id[16];
	uint64_t seq;
	uint64_t first_ns; /* wall clock */
	uint64_t last_ns;
	uint32_t raw_len;
	uint32_t frame_len;
};

/* Write the 76-byte chunk header (skippable frame header and payload, crc included). */
void chunk_header_encode(uint8_t out[JR_CHUNK_HDR_SIZE], const struct jr_chunk_meta *m);

/* Decode and check a chunk header. Returns 0, or -EBADMSG when it is not a valid one. */
int chunk_header_decode(const uint8_t in[JR_CHUNK_HDR_SIZE], struct jr_chunk_meta *m);

/* Records are compressed in pieces of this size, right after they are copied in (still in cache). */
#define JR_PIECE (64u << 10)

/* LZ4 compression state, one per thread that builds chunks. */
struct chunk_encoder {
	LZ4_stream_t *stream;
	struct xxh32 sum; /* the frame's content checksum */
};

/* Returns 0 or -ENOMEM. */
int chunk_encoder_init(struct chunk_encoder *e);
void chunk_encoder_free(struct chunk_encoder *e);

/*
 * A chunk being assembled: its records back to back, the LZ4 frame they are compressed into as
 * they arrive, and what the chunk header will say of them.
 */
struct chunkbuf {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t done;  /* bytes of data already compressed into frame */
	uint8_t *frame;
	size_t frame_len;
	size_t frame_cap;
	struct chunk_encoder *enc; /* from chunkbuf_begin to chunkbuf_end */
	uint32_t records;
	uint64_t ts_min; /* kernel ns, over records whose time is not 0 */
	uint64_t ts_max;
	uint64_t wall_offset; /* realtime - boottime (mod 2^64), from the chunk's CLOCK record */
};

/* Room for cap bytes of records and their compressed frame. Returns 0 or -ENOMEM. */
int chunkbuf_init(struct chunkbuf *cb, size_t cap);
void chunkbuf_free(struct chunkbuf *cb);

/* Start an empty chunk, compressed with e. */
void chunkbuf_begin(struct chunkbuf *cb, struct chunk_encoder *e);

/* Compress the records not yet compressed, in whole pieces. Returns 0 or -EIO. */
int chunkbuf_compress(struct chunkbuf *cb);

/* Compress the rest and close the frame: cb->frame holds the chunk's data frame. 0 or -EIO. */
int chunkbuf_end(struct chunkbuf *cb);

/* Append one whole record of len bytes. Returns 0, -ENOSPC when it does not fit, or -EIO. */
static inline int chunkbuf_add(struct chunkbuf *cb, const void *rec, size_t len)
{
	struct tr_rec h;

	if (len > cb->cap - cb->len)
		return -ENOSPC;
	memcpy(cb->data + cb->len, rec, len);
	memcpy(&h, rec, sizeof(h));
	cb->len += len;
	cb->records++;
	if (h.ts) {
		if (!cb->ts_min || h.ts < cb->ts_min)
			cb->ts_min = h.ts;
		if (h.ts > cb->ts_max)
			cb->ts_max = h.ts;
	}
	return cb->len - cb->done >= JR_PIECE ? chunkbuf_compress(cb) : 0;
}

/*
 * Read CLOCK_BOOTTIME and CLOCK_REALTIME at (nearly) the same moment: boottime is read on both
 * sides of realtime and the midpoint kept; *unc is half the gap.
 */
void clock_pair(__u64 *boot, __u64 *real, __u64 *unc);

/* Append a CLOCK record read now, and take the chunk's wall offset from it. 0, -ENOSPC or -EIO. */
int chunkbuf_add_clock(struct chunkbuf *cb);

/*
 * Append a tag/length/value string (cut at 65535 bytes) to a HEADER record being built in buf
 * (capacity cap) at *off, and advance *off. Returns 0, or -ENOSPC when it does not fit.
 */
int tlv_put(uint8_t *buf, size_t cap, size_t *off, uint16_t tag, const char *s);

/* The same for len bytes at v, NULs and all (cut at 65535 bytes). 0 or -ENOSPC. */
int tlv_put_mem(uint8_t *buf, size_t cap, size_t *off, uint16_t tag, const void *v, size_t len);

struct journal_writer;

struct jw_config {
	const char *path;          /* "-" writes to standard output */
	uint64_t rotate_bytes;     /* start a new file past this size; 0: never */
	unsigned rotate_files;     /* with rotate_bytes: reuse names after this many; 0: no limit */
	const uint8_t *recording_id; /* 16 bytes */
	const void *header;        /* HEADER record, first in every file */
	size_t header_len;
	const struct tr_iface *ifaces; /* IFACE records, in every file's head chunk */
	size_t n_ifaces;
};

/*
 * Create the first file (mode 0600) and write its head chunk. The writer keeps pointers into cfg:
 * they must outlive it. Returns 0 or -errno; *out owned by the caller, freed by jw_close.
 */
int jw_open(const struct jw_config *cfg, struct journal_writer **out);

/*
 * Write cb, ended with chunkbuf_end, as one chunk; rotate afterwards when due. Returns 0 or -errno
 * (-ENOSPC: the file system is full). A regular file keeps room allocated after its last chunk for
 * jw_write_last, and a chunk that is not written whole is cut off again, so that the file still
 * ends with a whole chunk. After a failure nothing more is written: the error is returned again.
 * An error does not always mean cb was not written: see jw_written.
 */
int jw_write(struct journal_writer *w, const struct chunkbuf *cb);

/*
 * Whether the chunk of the last jw_write call is in the journal: after it returned 0, and after
 * it returned the error of starting the next file of a rotation (a name taken by a directory, a
 * full disk), which ends the journal in the current file all the same.
 */
bool jw_written(const struct journal_writer *w);

/*
 * Write cb as the last chunk of the recording, into the room jw_write kept, even after jw_write
 * failed for want of space (or could not start the next file of a rotation: cb then goes into
 * the current one). Returns 0 or -errno: the first failure again when the output cannot take it
 * (a pipe or device that failed, a file whose end could not be cut back); then nothing is written.
 */
int jw_write_last(struct journal_writer *w, const struct chunkbuf *cb);

/* fdatasync the current file (a no-op for pipes and terminals). Returns 0 or -errno. */
int jw_sync(struct journal_writer *w);

/* Sync, close and free. Returns 0 or the -errno of the first failure. */
int jw_close(struct journal_writer *w);

/* Name of the file being written, for messages. */
const char *jw_path(const struct journal_writer *w);

/* Journal file name number n of a rotation, as tcpdump -C/-W names its files. */
void jw_filename(char *out, size_t size, const char *base, unsigned n, unsigned rotate_files);

struct journal_reader;

/* A damaged region of a file: where, how long, and why. */
typedef void (*jr_damage_fn)(void *ctx, const char *path, uint64_t offset, uint64_t len,
			     const char *why);

struct jr_chunk {
	uint64_t offset; /* of the chunk header */
	struct jr_chunk_meta meta;
};

/*
 * Open a journal for reading. Returns 0, -errno from open/read, or -ENOEXEC when the file is not a
 * journal; then *why (static) says what it seems to be: so is anything not a regular file (a FIFO
 * is refused at once, not waited for). An empty file, or one that holds the start
 * of a chunk header only, is a journal cut before its first chunk: it opens, and jr_next reports
 * it. Damage found later goes to damage(ctx, ...).
 */
int jr_open(const char *path, jr_damage_fn damage, void *ctx, struct journal_reader **out,
	    const char **why);

/*
 * The next chunk header. Returns 1 and fills *c, 0 at the end of the file, or -errno on an I/O
 * error. Damaged regions between chunks are reported and skipped; where a chunk's length does not
 * lead to the next chunk, the next chunk is looked for inside it.
 */
int jr_next(struct journal_reader *r, struct jr_chunk *c);

/*
 * Read c's data frame and decompress it into buf (c->meta.raw_len bytes). Returns 0, -EBADMSG when
 * the frame is damaged (reported), or -errno on an I/O error.
 */
int jr_load(struct journal_reader *r, const struct jr_chunk *c, uint8_t *buf);

const char *jr_path(const struct journal_reader *r);
unsigned jr_damaged(const struct journal_reader *r);
void jr_close(struct journal_reader *r);

/* Cursor over the records of a decompressed chunk. Records are not aligned: fields are copied. */
struct rec_iter {
	const uint8_t *p;
	const uint8_t *end;
};

/*
 * The next record: *hdr gets a copy of its header and *rec points at its first byte. Returns 1,
 * 0 at the end, or -EBADMSG when the next record's length is impossible (stop there).
 */
int rec_next(struct rec_iter *it, struct tr_rec *hdr, const uint8_t **rec);

/*
 * Copy the fixed part of a record of a known type into out (size bytes, the type's struct).
 * Returns 0, or -EBADMSG when the record is shorter than that or, for PACKET, its lengths
 * disagree (captured length != record length - 48, captured > original, or captured >
 * TR_MAX_SNAPLEN).
 */
int rec_fixed(const uint8_t *rec, const struct tr_rec *hdr, void *out, size_t size);

/* Cursor over the strings of a HEADER record. */
struct tlv_iter {
	const uint8_t *p;
	const uint8_t *end;
};

/* The next string: returns 1, 0 at the end, -EBADMSG when an entry runs past the record. */
int tlv_next(struct tlv_iter *it, uint16_t *tag, const char **val, uint16_t *len);

#endif /* TLSREC_JOURNAL_H */

// SPDX-License-Identifier: BSD-2-Clause
/* Chunk headers and chunk assembly (docs/journal-format.md, "Files and chunks"). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "clock.h"
#include "journal.h"

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

void chunk_header_encode(uint8_t out[JR_CHUNK_HDR_SIZE], const struct jr_chunk_meta *m)
{
	uint8_t *p = out + 8;

	put32(out, JR_SKIPPABLE_MAGIC);
	put32(out + 4, JR_CHUNK_PAYLOAD);
	memcpy(p, JR_CHUNK_MAGIC, 8);
	put16(p + 8, JR_CHUNK_VERSION);
	put16(p + 10, m->flags);
	put32(p + 12, m->records);
	memcpy(p + 16, m->recording_id, 16);
	put64(p + 32, m->seq);
	put64(p + 40, m->first_ns);
	put64(p + 48, m->last_ns);
	put32(p + 56, m->raw_len);
	put32(p + 60, m->frame_len);
	put32(p + 64, (uint32_t)crc32(0, p, 64));
}

int chunk_header_decode(const uint8_t in[JR_CHUNK_HDR_SIZE], struct jr_chunk_meta *m)
{
	const uint8_t *p = in + 8;

	if (get32(in) != JR_SKIPPABLE_MAGIC || get32(in + 4) != JR_CHUNK_PAYLOAD)
		return -EBADMSG;
	if (memcmp(p, JR_CHUNK_MAGIC, 8) || get16(p + 8) != JR_CHUNK_VERSION)
		return -EBADMSG;
	if (get32(p + 64) != (uint32_t)crc32(0, p, 64))
		return -EBADMSG;
	m->flags = get16(p + 10);
	m->records = get32(p + 12);
	memcpy(m->recording_id, p + 16, 16);
	m->seq = get64(p + 32);
	m->first_ns = get64(p + 40);
	m->last_ns = get64(p + 48);
	m->raw_len = get32(p + 56);
	m->frame_len = get32(p + 60);
	if (m->raw_len > JR_MAX_RAW || m->frame_len > JR_MAX_FRAME || m->first_ns > m->last_ns)
		return -EBADMSG;
	return 0;
}

/*
 * The data frame is written here rather than with liblz4's frame API (which tlsasm uses to read it
 * back): the content checksum is the largest cost of writing a journal, and liblz4's XXH32 runs at
 * half the speed of ours (see xxh32.h). The frame is a standard one (LZ4 frame format 1.6.x):
 * magic, FLG (version 01, linked blocks, content checksum), BD (64 KiB blocks), the descriptor's
 * checksum; blocks; end mark; XXH32 of the content.
 */
#define LZ4_FRAME_MAGIC 0x184D2204u
#define FRAME_FLG 0x44 /* version 01, blocks linked, no block checksum, no size, content checksum */
#define FRAME_BD 0x40  /* maximum block size 64 KiB */
#define FRAME_HEADER 7
#define BLOCK_RAW 0x80000000u /* block size flag: stored uncompressed */
#define LZ4_ACCEL 4

_Static_assert(JR_PIECE == 64 << 10, "a piece is one block of the largest size FRAME_BD allows");

int chunk_encoder_init(struct chunk_encoder *e)
{
	memset(e, 0, sizeof(*e));
	e->stream = LZ4_createStream();
	return e->stream ? 0 : -ENOMEM;
}

void chunk_encoder_free(struct chunk_encoder *e)
{
	LZ4_freeStream(e->stream);
	e->stream = NULL;
}

static size_t frame_bound(size_t cap)
{
	size_t blocks = cap / JR_PIECE + 1;

	return FRAME_HEADER + blocks * (4 + LZ4_COMPRESSBOUND(JR_PIECE)) + 4 + 4;
}

int chunkbuf_init(struct chunkbuf *cb, size_t cap)
{
	memset(cb, 0, sizeof(*cb));
	cb->frame_cap = frame_bound(cap);
	cb->data = malloc(cap);
	cb->frame = malloc(cb->frame_cap);
	if (!cb->data || !cb->frame) {
		chunkbuf_free(cb);
		return -ENOMEM;
	}
	cb->cap = cap;
	return 0;
}

void chunkbuf_free(struct chunkbuf *cb)
{
	free(cb->data);
	free(cb->frame);
	memset(cb, 0, sizeof(*cb));
}

void chunkbuf_begin(struct chunkbuf *cb, struct chunk_encoder *e)
{
	uint8_t desc[2] = { FRAME_FLG, FRAME_BD };

	cb->len = 0;
	cb->done = 0;
	cb->records = 0;
	cb->ts_min = 0;
	cb->ts_max = 0;
	cb->wall_offset = 0;
	cb->enc = e;
	LZ4_resetStream_fast(e->stream);
	xxh32_reset(&e->sum, 0);
	put32(cb->frame, LZ4_FRAME_MAGIC);
	cb->frame[4] = desc[0];
	cb->frame[5] = desc[1];
	cb->frame[6] = (uint8_t)(xxh32(desc, sizeof(desc), 0) >> 8);
	cb->frame_len = FRAME_HEADER;
}

/* One block of at most JR_PIECE bytes: compressed, or stored when that does not make it smaller.
 * The blocks before it stay in place, so LZ4 uses them as its dictionary (linked blocks). */
static int add_block(struct chunkbuf *cb, size_t len)
{
	const char *src = (const char *)cb->data + cb->done;
	uint8_t *out = cb->frame + cb->frame_len;
	int n;

	n = LZ4_compress_fast_continue(cb->enc->stream, src, (char *)out + 4, (int)len,
				       LZ4_COMPRESSBOUND(JR_PIECE), LZ4_ACCEL);
	if (n <= 0)
		return -EIO;
	if ((size_t)n < len) {
		put32(out, (uint32_t)n);
	} else {
		put32(out, (uint32_t)len | BLOCK_RAW);
		memcpy(out + 4, src, len);
		n = (int)len;
	}
	xxh32_update(&cb->enc->sum, src, len);
	cb->frame_len += 4 + (size_t)n;
	cb->done += len;
	return 0;
}

int chunkbuf_compress(struct chunkbuf *cb)
{
	int ret = 0;

	while (!ret && cb->len - cb->done >= JR_PIECE)
		ret = add_block(cb, JR_PIECE);
	return ret;
}

int chunkbuf_end(struct chunkbuf *cb)
{
	int ret = chunkbuf_compress(cb);

	if (!ret && cb->len > cb->done)
		ret = add_block(cb, cb->len - cb->done);
	if (ret)
		return ret;
	put32(cb->frame + cb->frame_len, 0); /* end mark */
	put32(cb->frame + cb->frame_len + 4, xxh32_digest(&cb->enc->sum));
	cb->frame_len += 8;
	cb->enc = NULL;
	return 0;
}

void clock_pair(__u64 *boot, __u64 *real, __u64 *unc)
{
	uint64_t b1 = clock_ns(CLOCK_BOOTTIME);
	uint64_t r = clock_ns(CLOCK_REALTIME);
	uint64_t b2 = clock_ns(CLOCK_BOOTTIME);

	*boot = b1 + (b2 - b1) / 2;
	*real = r;
	*unc = (b2 - b1 + 1) / 2;
}

int chunkbuf_add_clock(struct chunkbuf *cb)
{
	struct tr_clock c = { .hdr = { .type = TR_REC_CLOCK, .len = sizeof(c) } };
	int ret;

	clock_pair(&c.hdr.ts, &c.real_ns, &c.uncertainty_ns);
	ret = chunkbuf_add(cb, &c, sizeof(c));
	if (!ret)
		cb->wall_offset = c.real_ns - c.hdr.ts;
	return ret;
}

int tlv_put_mem(uint8_t *buf, size_t cap, size_t *off, uint16_t tag, const void *v, size_t len)
{
	if (len > UINT16_MAX)
		len = UINT16_MAX;
	if (*off + 4 + len > cap)
		return -ENOSPC;
	put16(buf + *off, tag);
	put16(buf + *off + 2, (uint16_t)len);
	memcpy(buf + *off + 4, v, len);
	*off += 4 + len;
	return 0;
}

int tlv_put(uint8_t *buf, size_t cap, size_t *off, uint16_t tag, const char *s)
{
	return tlv_put_mem(buf, cap, off, tag, s, strlen(s));
}

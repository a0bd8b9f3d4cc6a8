// SPDX-License-Identifier: BSD-2-Clause
/*
 * XXH32 (common/xxh32.c) against independent implementations: the test vectors of the xxHash
 * project's own sanity check, and liblz4's frame encoder, which ends a frame with the XXH32 (seed
 * 0, little-endian) of its content when the content checksum flag is set. Then the journal's data
 * frames (chunkbuf_end), with blocks stored raw and blocks compressed against them, decoded by
 * liblz4's LZ4F_decompress and by the lz4 tool.
 */
#include <lz4frame.h>

#include "check.h"
#include "journal.h"
#include "util.h"

#define PRIME32 2654435761u
#define PRIME64 11400714785074694797ull

/* XXH32 of data as liblz4's frame encoder computes it: the last 4 bytes of the frame. */
static bool lz4_xxh32(const uint8_t *data, size_t len, uint32_t *out)
{
	LZ4F_preferences_t prefs = { .frameInfo = { .contentChecksumFlag =
							    LZ4F_contentChecksumEnabled } };
	size_t cap = LZ4F_compressFrameBound(len, &prefs), n;
	uint8_t *frame = malloc(cap);
	bool ok = false;

	if (!CHECK(frame != NULL))
		return false;
	n = LZ4F_compressFrame(frame, cap, data, len, &prefs);
	/* FLG byte: version 01 and the content checksum flag, or the last 4 bytes mean nothing. */
	if (CHECK_MSG(!LZ4F_isError(n), "LZ4F_compressFrame: %s", LZ4F_getErrorName(n)) &&
	    CHECK(n >= 7 + 4 + 4) && CHECK_EQ_U64(frame[4] & 0xC4, 0x44)) {
		memcpy(out, frame + n - 4, 4);
		ok = true;
	}
	free(frame);
	return ok;
}

/* The xxHash sanity-check buffer (xxhsum's fillTestBuffer). */
static void sanity_buffer(uint8_t *p, size_t len)
{
	uint64_t gen = PRIME32;

	for (size_t i = 0; i < len; i++) {
		p[i] = (uint8_t)(gen >> 56);
		gen *= PRIME64;
	}
}

static uint32_t streamed(const uint8_t *p, size_t len, uint32_t seed)
{
	struct xxh32 s;

	xxh32_reset(&s, seed);
	xxh32_update(&s, p, len);
	return xxh32_digest(&s);
}

/* xxhsum's sanity vectors, both seeds, one-shot and streaming. */
static void test_known_vectors(void)
{
	static const struct {
		size_t len;
		uint32_t seed, want;
	} v[] = {
		{ 0, 0, 0x02CC5D05u },	 { 0, PRIME32, 0x36B78AE7u },
		{ 1, 0, 0xCF65B03Eu },	 { 1, PRIME32, 0xB4545AA4u },
		{ 14, 0, 0x1208E7E2u },	 { 14, PRIME32, 0x6AF1D1FEu },
		{ 222, 0, 0x5BD11DBDu }, { 222, PRIME32, 0x58803C5Fu },
	};
	uint8_t buf[222];
	struct xxh32 s;

	sanity_buffer(buf, sizeof(buf));
	CHECK_EQ_U64(xxh32("", 0, 0), 0x02CC5D05u);
	xxh32_reset(&s, 0);
	CHECK_EQ_U64(xxh32_digest(&s), 0x02CC5D05u);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		check_ctx("xxHash sanity vector: %zu bytes, seed 0x%08x", v[i].len, v[i].seed);
		CHECK_EQ_U64(xxh32(buf, v[i].len, v[i].seed), v[i].want);
		CHECK_EQ_U64(streamed(buf, v[i].len, v[i].seed), v[i].want);
	}
	check_ctx("%s", "");
}

/* Every length 0..300 (all tail paths, one to eighteen stripes) and a few large ones. */
static void test_against_lz4(void)
{
	static const size_t big[] = { 4095, 4096, 65535, 65536, 65537, (1u << 20) + 3 };
	size_t max = (1u << 20) + 3;
	uint8_t *buf = malloc(max);
	uint32_t want;

	if (!CHECK(buf != NULL))
		return;
	rnd_seed(0x5EED0001);
	rnd_bytes(buf, max);
	for (size_t len = 0; len <= 300; len++) {
		check_ctx("%zu random bytes", len);
		if (!lz4_xxh32(buf, len, &want))
			break;
		CHECK_EQ_U64(xxh32(buf, len, 0), want);
		CHECK_EQ_U64(streamed(buf, len, 0), want);
		/* The same bytes at every alignment. */
		for (size_t a = 1; a < 4 && len + a <= max; a++) {
			memmove(buf + a, buf, len);
			CHECK_EQ_U64(xxh32(buf + a, len, 0), want);
			memmove(buf, buf + a, len);
		}
	}
	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		check_ctx("%zu random bytes", big[i]);
		if (lz4_xxh32(buf, big[i], &want)) {
			CHECK_EQ_U64(xxh32(buf, big[i], 0), want);
			CHECK_EQ_U64(streamed(buf, big[i], 0), want);
		}
	}
	/* Not only random bytes: all zeros, all ones. */
	memset(buf, 0, 70000);
	check_ctx("70000 zero bytes");
	if (lz4_xxh32(buf, 70000, &want))
		CHECK_EQ_U64(xxh32(buf, 70000, 0), want);
	memset(buf, 0xFF, 70000);
	check_ctx("70000 0xFF bytes");
	if (lz4_xxh32(buf, 70000, &want))
		CHECK_EQ_U64(xxh32(buf, 70000, 0), want);
	check_ctx("%s", "");
	free(buf);
}

/* Two updates split at every position, and three for one length: as one update. */
static void test_split_everywhere(void)
{
	static const size_t lens[] = { 1, 15, 16, 17, 31, 32, 33, 47, 64, 100, 257, 1000 };
	uint8_t buf[1000];
	struct xxh32 s;

	rnd_seed(0x5EED0002);
	rnd_bytes(buf, sizeof(buf));
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t len = lens[i];
		uint32_t want;

		if (!lz4_xxh32(buf, len, &want))
			return;
		for (uint32_t seed = 0; seed < 2; seed++) {
			if (seed) /* one-shot with a seed: checked by the xxhsum vectors */
				want = xxh32(buf, len, PRIME32);
			for (size_t k = 0; k <= len; k++) {
				check_ctx("%zu bytes, seed %u, split at %zu", len, seed, k);
				xxh32_reset(&s, seed ? PRIME32 : 0);
				xxh32_update(&s, buf, k);
				xxh32_update(&s, buf + k, len - k);
				if (!CHECK_EQ_U64(xxh32_digest(&s), want))
					break;
			}
		}
	}
	for (size_t a = 0; a <= 64; a++) {
		for (size_t b = a; b <= 64; b++) {
			check_ctx("64 bytes in three updates: %zu, %zu, %zu", a, b - a, 64 - b);
			xxh32_reset(&s, 0);
			xxh32_update(&s, buf, a);
			xxh32_update(&s, buf + a, b - a);
			xxh32_update(&s, buf + b, 64 - b);
			if (!CHECK_EQ_U64(xxh32_digest(&s), xxh32(buf, 64, 0)))
				break;
		}
	}
	check_ctx("%s", "");
}

/*
 * One byte at a time, with the digest read after every byte (the digest does not end the stream):
 * after k bytes it is the hash of the first k bytes, as liblz4 computes it.
 */
static void test_digest_midway(void)
{
	uint8_t buf[300];
	struct xxh32 s;
	uint32_t want;

	rnd_seed(0x5EED0003);
	rnd_bytes(buf, sizeof(buf));
	xxh32_reset(&s, 0);
	for (size_t k = 0; k <= sizeof(buf); k++) {
		check_ctx("digest after %zu single-byte updates", k);
		if (!lz4_xxh32(buf, k, &want) || !CHECK_EQ_U64(xxh32_digest(&s), want))
			break;
		if (k < sizeof(buf))
			xxh32_update(&s, buf + k, 1);
	}
	check_ctx("%s", "");
}

/* Pieces of random sizes, empty ones included, small and large, for several lengths. */
static void test_random_pieces(void)
{
	static const size_t lens[] = { 100, 4099, 100000, 300001 };
	static const size_t piece_max[] = { 3, 40, 5000, 70000 };
	uint8_t *buf = malloc(300001);

	if (!CHECK(buf != NULL))
		return;
	rnd_seed(0x5EED0004);
	rnd_bytes(buf, 300001);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		uint32_t want;

		if (!lz4_xxh32(buf, lens[i], &want))
			break;
		for (size_t m = 0; m < sizeof(piece_max) / sizeof(piece_max[0]); m++) {
			for (int round = 0; round < 4; round++) {
				struct xxh32 s;
				size_t at = 0;

				check_ctx("%zu bytes in pieces of 0..%zu bytes, round %d", lens[i],
					  piece_max[m], round);
				xxh32_reset(&s, 0);
				while (at < lens[i]) {
					size_t n = rnd_range(0, piece_max[m]);

					if (n > lens[i] - at)
						n = lens[i] - at;
					xxh32_update(&s, buf + at, n);
					at += n;
				}
				CHECK_EQ_U64(xxh32_digest(&s), want);
			}
		}
	}
	check_ctx("%s", "");
	free(buf);
}

/* A reset state forgets everything; the seed is part of the state. */
static void test_reset(void)
{
	uint8_t buf[100];
	struct xxh32 s;

	rnd_seed(0x5EED0005);
	rnd_bytes(buf, sizeof(buf));
	xxh32_reset(&s, 7);
	xxh32_update(&s, buf, 37);
	xxh32_reset(&s, 0);
	xxh32_update(&s, buf, 100);
	CHECK_EQ_U64(xxh32_digest(&s), xxh32(buf, 100, 0));
	CHECK(xxh32(buf, 100, 1) != xxh32(buf, 100, 0));
	CHECK_EQ_U64(streamed(buf, 100, 0xDEADBEEF), xxh32(buf, 100, 0xDEADBEEF));
}

/* The blocks of an LZ4 frame written by chunkbuf_end: for each, its size field. */
struct frame_blocks {
	unsigned n;
	uint32_t size[16];
};

/* Walk the frame (LZ4 frame format: header of 7 bytes without content size, blocks, end mark,
 * content checksum); false when it does not have that shape. */
static bool walk_frame(const uint8_t *f, size_t len, struct frame_blocks *b)
{
	size_t pos = 7;

	b->n = 0;
	if (!CHECK(len >= 7 + 4 + 4) || !CHECK_MEM(f, "\x04\x22\x4D\x18", 4) ||
	    !CHECK_EQ_U64(f[4], 0x44) || !CHECK_EQ_U64(f[5], 0x40))
		return false;
	for (;;) {
		uint32_t bs;

		if (!CHECK(pos + 4 <= len))
			return false;
		memcpy(&bs, f + pos, 4);
		pos += 4;
		if (!bs)
			break;
		if (!CHECK(b->n < 16) || !CHECK((bs & 0x7FFFFFFFu) <= 65536))
			return false;
		b->size[b->n++] = bs;
		pos += bs & 0x7FFFFFFFu;
	}
	return CHECK_EQ_U64(pos + 4, len);
}

/* Decompress a frame with liblz4, feeding it in pieces of in_step bytes into out_step-byte
 * windows. The LZ4F result: 0 when the frame was whole and its checksum right. */
static size_t lz4f_decode(const uint8_t *f, size_t len, uint8_t *out, size_t cap, size_t *out_len,
			  size_t in_step, size_t out_step)
{
	LZ4F_dctx *d;
	size_t in = 0, hint = 1;

	*out_len = 0;
	if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION)))
		return (size_t)-1;
	while (hint && !LZ4F_isError(hint)) {
		size_t src = len - in < in_step ? len - in : in_step;
		size_t dst = cap - *out_len < out_step ? cap - *out_len : out_step;

		hint = LZ4F_decompress(d, out + *out_len, &dst, f + in, &src, NULL);
		in += src;
		*out_len += dst;
		if (!LZ4F_isError(hint) && hint && !src && !dst)
			break;
	}
	LZ4F_freeDecompressionContext(d);
	return hint;
}

static bool add_packet(struct chunkbuf *cb, uint64_t ts, const uint8_t *payload, uint32_t len)
{
	struct tr_packet p = { .hdr = { .type = TR_REC_PACKET, .len = sizeof(p) + len, .ts = ts },
			       .ifindex = 2,
			       .orig_len = len,
			       .cap_len = len,
			       .dir = TR_DIR_INGRESS };
	uint8_t *rec = malloc(sizeof(p) + len);
	bool ok;

	if (!CHECK(rec != NULL))
		return false;
	memcpy(rec, &p, sizeof(p));
	memcpy(rec + sizeof(p), payload, len);
	ok = CHECK_EQ_INT(chunkbuf_add(cb, rec, sizeof(p) + len), 0);
	free(rec);
	return ok;
}

/*
 * The journal's own frame writer against liblz4's decoder and the lz4 tool. Chunk 1 has four
 * blocks: random bytes (stored raw, flag 0x80000000), nearly the same bytes (compressed, every
 * match in the raw block before it), random again (raw), then zeros and small records
 * (compressed). Chunk 2 is one raw block of odd length (a short random record can come out a few
 * bytes smaller, from the zeros in its header: 9001 bytes of payload cannot). Each frame must
 * decode, in one go and in small pieces, to the records, with its XXH32 checked; a frame with a
 * wrong checksum must not.
 */
static void test_frames_raw_blocks(void)
{
	const uint32_t full = JR_PIECE - sizeof(struct tr_packet);
	struct tr_loss loss = { .hdr = { .type = TR_REC_LOSS, .len = sizeof(loss), .ts = 9 },
				.count = 3,
				.ifindex = 2,
				.what = TR_LOSS_PACKETS };
	struct tr_end end = { .hdr = { .type = TR_REC_END, .len = sizeof(end), .ts = 10 } };
	const uint32_t want_raw[2][4] = { { 1, 0, 1, 0 }, { 1 } };
	const unsigned want_blocks[2] = { 4, 1 };
	struct chunk_encoder enc;
	struct chunkbuf cb[2] = { 0 };
	uint8_t *a = malloc(full), *zero = calloc(1, 20000), *out = malloc(5 * JR_PIECE);
	char path[PATH_MAX], bad[PATH_MAX], dec[PATH_MAX];
	size_t out_len, all_len = 0, frames_len = 0;
	uint8_t *all = NULL, *frames = NULL;
	bool ok = true;

	if (!CHECK(a && zero && out) || !CHECK_EQ_INT(chunk_encoder_init(&enc), 0))
		goto out;
	rnd_seed(0x5EED0006);
	for (int i = 0; i < 2; i++)
		ok &= CHECK_EQ_INT(chunkbuf_init(&cb[i], 4 * JR_PIECE), 0);
	if (!ok)
		goto free_enc;

	chunkbuf_begin(&cb[0], &enc);
	rnd_bytes(a, full);
	ok &= add_packet(&cb[0], 1, a, full);
	/* The same bytes 16 further on: 65520 bytes back, within LZ4's reach of 65535. */
	memmove(a, a + 16, full - 16);
	ok &= add_packet(&cb[0], 2, a, full);
	rnd_bytes(a, full);
	ok &= add_packet(&cb[0], 3, a, full);
	ok &= add_packet(&cb[0], 4, zero, 20000);
	ok &= CHECK_EQ_INT(chunkbuf_add(&cb[0], &loss, sizeof(loss)), 0);
	ok &= CHECK_EQ_INT(chunkbuf_add(&cb[0], &end, sizeof(end)), 0);
	ok &= CHECK_EQ_INT(chunkbuf_end(&cb[0]), 0);
	chunkbuf_begin(&cb[1], &enc);
	rnd_bytes(a, 9001);
	ok &= add_packet(&cb[1], 5, a, 9001);
	ok &= CHECK_EQ_INT(chunkbuf_end(&cb[1]), 0);
	if (!ok)
		goto free_cb;

	for (int i = 0; i < 2; i++) {
		struct frame_blocks fb;
		LZ4F_frameInfo_t fi;
		LZ4F_dctx *d;
		size_t n = cb[i].frame_len, r;

		check_ctx("chunk %d", i + 1);
		if (walk_frame(cb[i].frame, cb[i].frame_len, &fb) &&
		    CHECK_EQ_U64(fb.n, want_blocks[i])) {
			for (unsigned k = 0; k < fb.n; k++) {
				check_ctx("chunk %d block %u", i + 1, k);
				CHECK_EQ_U64(fb.size[k] >> 31, want_raw[i][k]);
			}
		}
		check_ctx("chunk %d", i + 1);
		if (CHECK(!LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION)))) {
			r = LZ4F_getFrameInfo(d, &fi, cb[i].frame, &n);
			if (CHECK_MSG(!LZ4F_isError(r), "LZ4F_getFrameInfo: %s",
				      LZ4F_getErrorName(r))) {
				CHECK_EQ_INT(fi.contentChecksumFlag, LZ4F_contentChecksumEnabled);
				CHECK_EQ_INT(fi.blockMode, LZ4F_blockLinked);
				CHECK_EQ_INT(fi.blockSizeID, LZ4F_max64KB);
				CHECK_EQ_INT(fi.blockChecksumFlag, LZ4F_noBlockChecksum);
			}
			LZ4F_freeDecompressionContext(d);
		}
		r = lz4f_decode(cb[i].frame, cb[i].frame_len, out, 5 * JR_PIECE, &out_len,
				cb[i].frame_len, 5 * JR_PIECE);
		CHECK_MSG(r == 0, "LZ4F_decompress: %s", LZ4F_getErrorName(r));
		if (CHECK_EQ_U64(out_len, cb[i].len))
			CHECK_MEM(out, cb[i].data, cb[i].len);
		r = lz4f_decode(cb[i].frame, cb[i].frame_len, out, 5 * JR_PIECE, &out_len, 1000,
				777);
		CHECK_MSG(r == 0, "LZ4F_decompress in pieces: %s", LZ4F_getErrorName(r));
		if (CHECK_EQ_U64(out_len, cb[i].len))
			CHECK_MEM(out, cb[i].data, cb[i].len);
		/* The checksum is checked: one bit off in it, and the frame is refused. */
		cb[i].frame[cb[i].frame_len - 1] ^= 0x10;
		r = lz4f_decode(cb[i].frame, cb[i].frame_len, out, 5 * JR_PIECE, &out_len,
				cb[i].frame_len, 5 * JR_PIECE);
		CHECK_MSG(LZ4F_isError(r), "a frame with a wrong content checksum decoded");
		cb[i].frame[cb[i].frame_len - 1] ^= 0x10;
	}
	check_ctx("%s", "");

	/* Both frames back to back are an .lz4 stream: lz4 -dc prints both chunks' records. */
	all = malloc(cb[0].len + cb[1].len);
	frames = malloc(cb[0].frame_len + cb[1].frame_len);
	if (!CHECK(all && frames))
		goto free_cb;
	for (int i = 0; i < 2; i++) {
		memcpy(all + all_len, cb[i].data, cb[i].len);
		all_len += cb[i].len;
		memcpy(frames + frames_len, cb[i].frame, cb[i].frame_len);
		frames_len += cb[i].frame_len;
	}
	tpath(path, "frames.lz4");
	tpath(bad, "bad.lz4");
	tpath(dec, "frames.raw");
	if (need_tool("lz4", "lz4", "check that journal data frames are valid .lz4 frames")) {
		char *argv[] = { "lz4", "-dcq", path, NULL };
		char *argv_bad[] = { "lz4", "-dcq", bad, NULL };
		FILE *fp = fopen(path, "wb");
		uint8_t *got;
		size_t got_len;

		if (CHECK(fp != NULL)) {
			CHECK_EQ_U64(fwrite(frames, 1, frames_len, fp), frames_len);
			CHECK_EQ_INT(fclose(fp), 0);
		}
		CHECK_EQ_INT(run_tool(argv, dec, NULL), 0);
		got = slurp(dec, &got_len);
		if (CHECK(got != NULL) && CHECK_EQ_U64(got_len, all_len))
			CHECK_MEM(got, all, all_len);
		free(got);
		frames[frames_len - 1] ^= 0x01;
		fp = fopen(bad, "wb");
		if (CHECK(fp != NULL)) {
			CHECK_EQ_U64(fwrite(frames, 1, frames_len, fp), frames_len);
			CHECK_EQ_INT(fclose(fp), 0);
		}
		CHECK_MSG(run_tool(argv_bad, dec, NULL) != 0,
			  "lz4 -dc accepted a frame with a wrong content checksum");
	}
free_cb:
	free(all);
	free(frames);
	for (int i = 0; i < 2; i++)
		chunkbuf_free(&cb[i]);
free_enc:
	chunk_encoder_free(&enc);
out:
	free(a);
	free(zero);
	free(out);
}

int main(void)
{
	if (!tmpdir_make("tlsrec-xxh32"))
		return EXIT_FAILURE;
	CHECK_RUN(test_known_vectors);
	CHECK_RUN(test_against_lz4);
	CHECK_RUN(test_split_everywhere);
	CHECK_RUN(test_digest_midway);
	CHECK_RUN(test_random_pieces);
	CHECK_RUN(test_reset);
	CHECK_RUN(test_frames_raw_blocks);
	tmpdir_remove();
	return check_exit();
}

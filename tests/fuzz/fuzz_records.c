// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer: any bytes, as the records of intact chunks (valid headers and LZ4 frames) after a
 * head chunk that describes one recording and one interface; each chunk claims a time range taken
 * from the input too. Reaches record parsing, the catalog and the merge, which valid frames guard.
 */
#include <stdio.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct chunk_encoder enc;
static struct chunkbuf cb;
static const uint8_t rid[16] = { 1 };

static void emit(FILE *f, uint16_t flags, uint64_t seq, uint64_t first, uint64_t last)
{
	struct jr_chunk_meta m = { .flags = flags, .records = cb.records, .seq = seq,
				   .first_ns = first, .last_ns = last, .raw_len = (uint32_t)cb.len };
	uint8_t hdr[JR_CHUNK_HDR_SIZE];

	if (chunkbuf_end(&cb))
		abort();
	m.frame_len = (uint32_t)cb.frame_len;
	memcpy(m.recording_id, rid, 16);
	chunk_header_encode(hdr, &m);
	fwrite(hdr, 1, sizeof(hdr), f);
	fwrite(cb.frame, 1, cb.frame_len, f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/tlsrec-fuzz-XXXXXX";
	struct tr_header h = { .hdr = { .type = TR_REC_HEADER, .len = sizeof(h), .ts = 1000 },
			       .major = TR_FORMAT_MAJOR, .snaplen = TR_MAX_SNAPLEN };
	struct tr_clock c = { .hdr = { .type = TR_REC_CLOCK, .len = sizeof(c), .ts = 1000 },
			      .real_ns = 5000 };
	struct tr_iface i = { .hdr = { .type = TR_REC_IFACE, .len = sizeof(i) }, .ifindex = 1,
			      .linktype = 1, .name = "eth0" };
	size_t off = 0;
	uint64_t seq = 1;
	int fd;
	FILE *f;

	log_init("fuzz", LOG_QUIET); /* damage is expected */
	if (!enc.stream && (chunk_encoder_init(&enc) || chunkbuf_init(&cb, 1 << 20)))
		abort();
	fd = mkstemp(path);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f)
		abort();
	memcpy(h.magic, TR_HEADER_MAGIC, 8);
	chunkbuf_begin(&cb, &enc);
	chunkbuf_add(&cb, &h, sizeof(h));
	chunkbuf_add(&cb, &c, sizeof(c));
	chunkbuf_add(&cb, &i, sizeof(i));
	emit(f, JR_CHUNK_HEAD, 0, 5000, 5000);
	while (off + 10 <= size && seq < 8) {
		uint64_t first;
		uint16_t len;

		memcpy(&first, data + off, 8);
		memcpy(&len, data + off + 8, 2);
		off += 10;
		if (len > size - off)
			len = (uint16_t)(size - off);
		chunkbuf_begin(&cb, &enc);
		/* Raw bytes, not records: chunkbuf_add reads a record header from what it copies. */
		if (len) {
			uint8_t *t = calloc(1, len + sizeof(struct tr_rec));

			if (!t)
				abort();
			memcpy(t, data + off, len);
			chunkbuf_add(&cb, t, len);
			free(t);
		}
		off += len;
		first &= 0xffff;
		emit(f, 0, seq++, 4000 + first, 4000 + first + 0xffffff);
	}
	fclose(f);
	convert_and_check(path);
	unlink(path);
	return 0;
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests of tlsrec's writer thread (recorder/writer.c) when its output fails: a chunk that is
 * not written is counted by what it held, later chunks are refused, and the recording's last chunk
 * still goes into the room the journal writer kept, so that the file reads back whole; a chunk
 * written before the next file of a rotation failed is not counted. A file size limit
 * (RLIMIT_FSIZE) stands in for a full disk. No root, no BPF.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "check.h"
#include "journal.h"
#include "util.h"
#include "writer.h"

static uint64_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? UINT64_MAX : (uint64_t)st.st_size;
}

/* The count writer_unwritten gives for k, or UINT64_MAX when it has none. */
static uint64_t unwritten(const struct writer_lost *v, size_t n, __u32 ifindex, __u8 dir,
			  __u8 where, __u16 what)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].key.ifindex == ifindex && v[i].key.dir == dir && v[i].key.where == where &&
		    v[i].key.what == what)
			return v[i].count;
	return UINT64_MAX;
}

/* A chunk of 30 packets on interface 1 inbound, 20 on interface 2 outbound, one secret, and a
 * LOSS record of the kernel's. */
static void fill(struct chunkbuf *cb)
{
	uint8_t rec[sizeof(struct tr_packet) + 900];
	struct tr_secret sec = { .hdr = { .type = TR_REC_SECRET, .len = sizeof(sec), .ts = 5 } };
	struct tr_loss loss = { .hdr = { .type = TR_REC_LOSS, .len = sizeof(loss), .ts = 6 },
				.count = 7, .ifindex = 2, .what = TR_LOSS_PACKETS,
				.dir = TR_DIR_INGRESS, .where = TR_LOSS_RINGBUF };

	CHECK_EQ_INT(chunkbuf_add_clock(cb), 0);
	for (unsigned i = 0; i < 50; i++) {
		struct tr_packet p = { .hdr = { .type = TR_REC_PACKET, .len = sizeof(rec),
						.ts = 10 + i },
				       .ifindex = i < 30 ? 1 : 2, .orig_len = 900, .cap_len = 900,
				       .dir = i < 30 ? TR_DIR_INGRESS : TR_DIR_EGRESS };

		memcpy(rec, &p, sizeof(p));
		rnd_bytes(rec + sizeof(p), 900);
		CHECK_EQ_INT(chunkbuf_add(cb, rec, sizeof(rec)), 0);
	}
	CHECK_EQ_INT(chunkbuf_add(cb, &sec, sizeof(sec)), 0);
	CHECK_EQ_INT(chunkbuf_add(cb, &loss, sizeof(loss)), 0);
	CHECK_EQ_INT(chunkbuf_end(cb), 0);
}

/* What w counts as not written: packets in on 1 and out on 2, secrets, and the kernel's losses
 * that the chunks not written said. */
static void check_unwritten(struct writer *w, uint64_t in, uint64_t out, uint64_t secrets,
			    uint64_t ring)
{
	struct writer_lost *v = NULL;
	size_t n = 0;

	if (CHECK_EQ_INT(writer_unwritten(w, &v, &n), 0)) {
		CHECK_EQ_U64(n, 4);
		CHECK_EQ_U64(unwritten(v, n, 1, TR_DIR_INGRESS, TR_LOSS_OUTPUT, TR_LOSS_PACKETS), in);
		CHECK_EQ_U64(unwritten(v, n, 2, TR_DIR_EGRESS, TR_LOSS_OUTPUT, TR_LOSS_PACKETS), out);
		CHECK_EQ_U64(unwritten(v, n, 0, 0, TR_LOSS_OUTPUT, TR_LOSS_SECRETS), secrets);
		CHECK_EQ_U64(unwritten(v, n, 2, TR_DIR_INGRESS, TR_LOSS_RINGBUF, TR_LOSS_PACKETS),
			     ring);
	}
	free(v);
}

/* The last chunk (CLOCK and END) submitted after a failure: written all the same, and the writer
 * stops with err. */
static void write_last(struct writer *w, struct chunk_encoder *enc, struct writer_wait *until,
		       int err)
{
	struct tr_end end = { .hdr = { .type = TR_REC_END, .len = sizeof(end), .ts = 99 } };
	struct chunkbuf *cb = writer_get(w, until);

	if (CHECK(cb != NULL)) {
		chunkbuf_begin(cb, enc);
		CHECK_EQ_INT(chunkbuf_add_clock(cb), 0);
		CHECK_EQ_INT(chunkbuf_add(cb, &end, sizeof(end)), 0);
		CHECK_EQ_INT(chunkbuf_end(cb), 0);
		writer_submit_last(w, cb);
	}
	CHECK_EQ_INT(writer_drain(w, until), 0);
	CHECK(writer_last_written(w));
	CHECK_EQ_INT(writer_stop(w, until), err);
}

static void test_full(void)
{
	struct tr_header h = { .hdr = { .type = TR_REC_HEADER, .len = sizeof(h), .ts = 1 },
			       .major = TR_FORMAT_MAJOR, .minor = TR_FORMAT_MINOR };
	struct tr_end end = { .hdr = { .type = TR_REC_END, .len = sizeof(end), .ts = 99 } };
	struct writer_wait until = { .deadline_ns = clock_ns(CLOCK_MONOTONIC) + 10000000000ULL };
	static const uint8_t rid[16] = { 1, 2, 3 };
	struct journal_writer *jw = NULL;
	struct journal_reader *r = NULL;
	struct writer *w = NULL;
	struct chunk_encoder enc;
	struct rlimit old, lim;
	struct jw_config cfg;
	struct chunkbuf *cb;
	struct jr_chunk c;
	char path[PATH_MAX];
	const char *why;
	void (*prev)(int);
	uint64_t whole;
	unsigned chunks = 0;

	memcpy(h.magic, TR_HEADER_MAGIC, sizeof(h.magic));
	tpath(path, "full.lz4");
	cfg = (struct jw_config){ .path = path, .recording_id = rid, .header = &h,
				  .header_len = sizeof(h) };
	if (!CHECK_EQ_INT(chunk_encoder_init(&enc), 0))
		return;
	if (!CHECK_EQ_INT(jw_open(&cfg, &jw), 0) ||
	    !CHECK_EQ_INT(writer_start(jw, 1u << 20, 2, 1000000000ULL, &w), 0))
		goto out;
	whole = file_size(path);
	CHECK_EQ_INT(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = whole + 1000;
	prev = signal(SIGXFSZ, SIG_IGN);
	CHECK_EQ_INT(setrlimit(RLIMIT_FSIZE, &lim), 0);

	/* Cut short by the limit, then refused. */
	for (int i = 0; i < 2; i++) {
		cb = writer_get(w, &until);
		if (!CHECK(cb != NULL))
			break;
		chunkbuf_begin(cb, &enc);
		fill(cb);
		writer_submit(w, cb);
	}
	CHECK_EQ_INT(writer_drain(w, &until), 0);
	CHECK_EQ_INT(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, prev);
	CHECK_EQ_INT(writer_error(w), -EFBIG);
	CHECK_EQ_U64(file_size(path), whole);
	check_unwritten(w, 60, 40, 2, 14);
	/* The last chunk goes in all the same, right after the last whole one. */
	write_last(w, &enc, &until, -EFBIG);
	CHECK_EQ_INT(jw_close(jw), 0);
	jw = NULL;

	if (!CHECK_EQ_INT(jr_open(path, NULL, NULL, &r, &why), 0))
		goto out;
	while (jr_next(r, &c) == 1) {
		chunks++;
		if (chunks == 2) {
			CHECK_EQ_U64(c.offset, whole);
			CHECK_EQ_U64(c.meta.records, 2);
		}
	}
	CHECK_EQ_U64(chunks, 2);
	CHECK_EQ_U64(jr_damaged(r), 0);
	jr_close(r);
out:
	jw_close(jw);
	chunk_encoder_free(&enc);
}

/*
 * The next file of a rotation cannot be created (a directory holds its name): the chunk that
 * filled the current file is in it and is not counted unwritten; the error stops the recording,
 * the chunk after it is counted unwritten, and the last chunk ends the current file.
 */
static void test_rotation_fails(void)
{
	struct tr_header h = { .hdr = { .type = TR_REC_HEADER, .len = sizeof(h), .ts = 1 },
			       .major = TR_FORMAT_MAJOR, .minor = TR_FORMAT_MINOR };
	struct tr_end end = { .hdr = { .type = TR_REC_END, .len = sizeof(end), .ts = 99 } };
	struct writer_wait until = { .deadline_ns = clock_ns(CLOCK_MONOTONIC) + 10000000000ULL };
	static const uint8_t rid[16] = { 4, 5, 6 };
	uint32_t records[] = { 2, 53, 2 };
	struct journal_writer *jw = NULL;
	struct journal_reader *r = NULL;
	struct writer *w = NULL;
	struct chunk_encoder enc;
	char path[PATH_MAX], next[PATH_MAX];
	struct jw_config cfg;
	struct chunkbuf *cb;
	struct jr_chunk c;
	const char *why;
	unsigned chunks = 0;

	memcpy(h.magic, TR_HEADER_MAGIC, sizeof(h.magic));
	tpath(path, "rot.lz4");
	tpath(next, "rot.lz41");
	if (!CHECK_EQ_INT(mkdir(next, 0700), 0))
		return;
	cfg = (struct jw_config){ .path = path, .recording_id = rid, .header = &h,
				  .header_len = sizeof(h), .rotate_bytes = 1 };
	if (!CHECK_EQ_INT(chunk_encoder_init(&enc), 0))
		return;
	if (!CHECK_EQ_INT(jw_open(&cfg, &jw), 0) ||
	    !CHECK_EQ_INT(writer_start(jw, 1u << 20, 2, 1000000000ULL, &w), 0))
		goto out;

	/* Written, then the rotation fails; then refused. */
	for (int i = 0; i < 2; i++) {
		cb = writer_get(w, &until);
		if (!CHECK(cb != NULL))
			break;
		chunkbuf_begin(cb, &enc);
		fill(cb);
		writer_submit(w, cb);
	}
	CHECK_EQ_INT(writer_drain(w, &until), 0);
	CHECK_EQ_INT(writer_error(w), -EISDIR);
	check_unwritten(w, 30, 20, 1, 7);
	write_last(w, &enc, &until, -EISDIR);
	CHECK_EQ_INT(jw_close(jw), 0);
	jw = NULL;

	if (!CHECK_EQ_INT(jr_open(path, NULL, NULL, &r, &why), 0))
		goto out;
	while (jr_next(r, &c) == 1) {
		if (chunks < 3)
			CHECK_EQ_U64(c.meta.records, records[chunks]);
		chunks++;
	}
	CHECK_EQ_U64(chunks, 3);
	CHECK_EQ_U64(jr_damaged(r), 0);
	jr_close(r);
out:
	jw_close(jw);
	chunk_encoder_free(&enc);
}

int main(void)
{
	if (!tmpdir_make("test_writer"))
		return 1;
	rnd_seed(0x77);
	CHECK_RUN(test_full);
	CHECK_RUN(test_rotation_fails);
	tmpdir_remove();
	return check_exit();
}

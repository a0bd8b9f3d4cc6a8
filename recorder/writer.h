/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A thread that compresses and writes chunks, so that the ring buffer reader never waits for the
 * disk. Chunks come from a fixed pool: when the disk falls behind, the reader waits for a free
 * buffer, the kernel ring buffer fills, and the losses are counted there.
 */
#ifndef TLSREC_WRITER_H
#define TLSREC_WRITER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "journal.h"

struct writer;

/* How long a caller will wait: until *cancel is set (if cancel is not NULL), or CLOCK_MONOTONIC
 * reaches deadline_ns (if not 0). */
struct writer_wait {
	const volatile sig_atomic_t *cancel;
	uint64_t deadline_ns;
};

/*
 * Start the thread, writing to jw with nbufs chunk buffers of chunk_bytes each; sync the file at
 * most sync_ns after data was written. Returns 0 or -errno.
 */
int writer_start(struct journal_writer *jw, size_t chunk_bytes, unsigned nbufs, uint64_t sync_ns,
		 struct writer **out);

/* A free, empty buffer, waiting for one while all are queued; NULL when the wait is given up. */
struct chunkbuf *writer_get(struct writer *w, const struct writer_wait *until);

/* Queue cb (ended with chunkbuf_end) for writing; it returns to the pool once written. */
void writer_submit(struct writer *w, struct chunkbuf *cb);

/* Return cb to the pool unwritten. */
void writer_release(struct writer *w, struct chunkbuf *cb);

/*
 * Queue cb as the recording's last chunk: written with jw_write_last, into the room the journal
 * writer keeps, even after a write failed.
 */
void writer_submit_last(struct writer *w, struct chunkbuf *cb);

/*
 * Wait until every chunk queued is written, or counted unwritten, as long as until says.
 * Returns 0 or -ETIMEDOUT.
 */
int writer_drain(struct writer *w, const struct writer_wait *until);

/* count records of chunks that were not written, under a LOSS record's key: where TR_LOSS_OUTPUT
 * for packets (by interface and direction), TLS secrets and owners; the LOSS records those chunks
 * held, under their own keys and with their own counts. */
struct writer_lost {
	struct tr_loss_key key;
	uint64_t count;
};

/* A copy of the counts so far (after writer_drain: all of them): *out, of *n entries, is the
 * caller's to free. Returns 0 or -ENOMEM. */
int writer_unwritten(struct writer *w, struct writer_lost **out, size_t *n);

/* Whether the chunk queued with writer_submit_last was written. */
bool writer_last_written(struct writer *w);

/* The first write error so far (-errno), or 0. */
int writer_error(struct writer *w);

/*
 * Write everything queued, sync, stop the thread and free. Returns 0 or the first error, or
 * -ETIMEDOUT when the wait is given up while the thread is still writing (an output that accepts
 * nothing): then nothing is freed, the thread still uses the journal writer, and the caller must
 * not touch either but exit.
 */
int writer_stop(struct writer *w, const struct writer_wait *until);

#endif /* TLSREC_WRITER_H */

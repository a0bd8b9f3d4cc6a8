// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "array.h"
#include "writer.h"

struct writer {
	struct journal_writer *jw;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t queued;   /* a chunk was submitted, or stop */
	pthread_cond_t freed;    /* a buffer returned to the pool */
	unsigned nbufs;
	struct chunkbuf *bufs;
	struct chunkbuf **free_list; /* stack */
	unsigned nfree;
	struct chunkbuf **queue;     /* ring, in submission order */
	unsigned qhead, qlen;
	bool stopping;
	bool writing;            /* the thread has a chunk in hand */
	struct chunkbuf *last;   /* the recording's last chunk, written with jw_write_last */
	bool last_written;
	int error;
	uint64_t sync_ns;
	struct writer_lost *lost;
	size_t n_lost, lost_cap;
};

static struct timespec deadline(uint64_t mono)
{
	return (struct timespec){ .tv_sec = (time_t)(mono / 1000000000ULL),
				  .tv_nsec = (long)(mono % 1000000000ULL) };
}

/* Waits are cut into steps of this length, to look at the caller's cancel flag in between. */
#define WAIT_STEP_NS 100000000ULL

static bool given_up(const struct writer_wait *until, uint64_t now)
{
	return (until->cancel && *until->cancel) || (until->deadline_ns && now >= until->deadline_ns);
}

static uint64_t next_step(const struct writer_wait *until, uint64_t now)
{
	uint64_t t = now + WAIT_STEP_NS;

	return until->deadline_ns && until->deadline_ns < t ? until->deadline_ns : t;
}

/* Count n records under k; under the lock. Without memory, they are not counted: -ENOMEM. */
static int add_unwritten(struct writer *w, const struct tr_loss_key *k, uint64_t n)
{
	for (size_t i = 0; i < w->n_lost; i++) {
		if (!memcmp(&w->lost[i].key, k, sizeof(*k))) {
			w->lost[i].count += n;
			return 0;
		}
	}
	if (array_reserve(&w->lost, &w->lost_cap, w->n_lost + 1, sizeof(*w->lost), 8))
		return -ENOMEM;
	w->lost[w->n_lost++] = (struct writer_lost){ .key = *k, .count = n };
	return 0;
}

/* The records of cb, which was not written: packets by interface and direction, secrets, owners,
 * and the counts of the LOSS records it held under their own keys. Under the lock. */
static void count_unwritten(struct writer *w, const struct chunkbuf *cb)
{
	struct rec_iter it = { .p = cb->data, .end = cb->data + cb->len };
	const uint8_t *rec;
	struct tr_rec h;

	while (rec_next(&it, &h, &rec) > 0) {
		struct tr_loss_key k = { .where = TR_LOSS_OUTPUT };
		struct tr_packet p;
		struct tr_loss l;
		uint64_t n = 1;

		if (h.type == TR_REC_PACKET && !rec_fixed(rec, &h, &p, sizeof(p))) {
			k.ifindex = p.ifindex;
			k.dir = p.dir;
			k.what = TR_LOSS_PACKETS;
		} else if (h.type == TR_REC_SECRET || h.type == TR_REC_KEYLOG) {
			k.what = TR_LOSS_SECRETS;
		} else if (h.type == TR_REC_SOCKET || h.type == TR_REC_PROCESS) {
			k.what = TR_LOSS_SOCKETS;
		} else if (h.type == TR_REC_LOSS && !rec_fixed(rec, &h, &l, sizeof(l))) {
			k = (struct tr_loss_key){ .ifindex = l.ifindex, .dir = l.dir,
						  .where = l.where, .what = l.what };
			n = l.count;
		} else {
			continue;
		}
		if (add_unwritten(w, &k, n) && !w->error)
			w->error = -ENOMEM;
	}
}

static void *run(void *arg)
{
	struct writer *w = arg;
	uint64_t last_sync = clock_ns(CLOCK_MONOTONIC);
	bool dirty = false;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct chunkbuf *cb;
		bool written;
		int ret;

		while (!w->qlen && !w->stopping) {
			if (dirty) {
				struct timespec ts = deadline(last_sync + w->sync_ns);

				if (pthread_cond_timedwait(&w->queued, &w->lock, &ts) == ETIMEDOUT)
					break;
			} else {
				pthread_cond_wait(&w->queued, &w->lock);
			}
		}
		if (!w->qlen && w->stopping)
			break;
		if (!w->qlen) { /* the sync deadline passed */
			pthread_mutex_unlock(&w->lock);
			ret = jw_sync(w->jw);
			pthread_mutex_lock(&w->lock);
			if (ret && !w->error)
				w->error = ret;
			dirty = false;
			last_sync = clock_ns(CLOCK_MONOTONIC);
			continue;
		}
		cb = w->queue[w->qhead];
		w->qhead = (w->qhead + 1) % w->nbufs;
		w->qlen--;
		w->writing = true;
		pthread_mutex_unlock(&w->lock);

		/* After a failure jw_write writes nothing and returns it again. A chunk written but
		 * not followed by the next file of a rotation, or not synced, is in the journal: it
		 * is not counted unwritten, but the error stops the recording all the same. */
		if (cb == w->last) {
			ret = jw_write_last(w->jw, cb);
			written = !ret;
		} else {
			ret = jw_write(w->jw, cb);
			written = jw_written(w->jw);
		}
		dirty = true;
		if (!ret && clock_ns(CLOCK_MONOTONIC) - last_sync >= w->sync_ns) {
			ret = jw_sync(w->jw);
			dirty = false;
			last_sync = clock_ns(CLOCK_MONOTONIC);
		}

		pthread_mutex_lock(&w->lock);
		if (ret && !w->error)
			w->error = ret;
		if (cb == w->last)
			w->last_written = written;
		else if (!written)
			count_unwritten(w, cb);
		w->writing = false;
		w->free_list[w->nfree++] = cb;
		pthread_cond_signal(&w->freed);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int writer_start(struct journal_writer *jw, size_t chunk_bytes, unsigned nbufs, uint64_t sync_ns,
		 struct writer **out)
{
	struct writer *w = calloc(1, sizeof(*w));
	pthread_condattr_t ca;
	int ret = -ENOMEM;

	if (!w)
		return -ENOMEM;
	w->jw = jw;
	w->nbufs = nbufs;
	w->sync_ns = sync_ns;
	w->bufs = calloc(nbufs, sizeof(*w->bufs));
	w->free_list = calloc(nbufs, sizeof(*w->free_list));
	w->queue = calloc(nbufs, sizeof(*w->queue));
	if (!w->bufs || !w->free_list || !w->queue)
		goto fail;
	for (unsigned i = 0; i < nbufs; i++) {
		ret = chunkbuf_init(&w->bufs[i], chunk_bytes);
		if (ret)
			goto fail;
		w->free_list[w->nfree++] = &w->bufs[i];
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->queued, &ca);
	pthread_cond_init(&w->freed, &ca);
	pthread_condattr_destroy(&ca);
	ret = -pthread_create(&w->thread, NULL, run, w);
	if (ret) {
		pthread_cond_destroy(&w->queued);
		pthread_cond_destroy(&w->freed);
		pthread_mutex_destroy(&w->lock);
		goto fail;
	}
	*out = w;
	return 0;
fail:
	for (unsigned i = 0; w->bufs && i < nbufs; i++)
		chunkbuf_free(&w->bufs[i]);
	free(w->bufs);
	free(w->free_list);
	free(w->queue);
	free(w->lost);
	free(w);
	return ret;
}

struct chunkbuf *writer_get(struct writer *w, const struct writer_wait *until)
{
	struct chunkbuf *cb = NULL;

	pthread_mutex_lock(&w->lock);
	while (!w->nfree) {
		uint64_t now = clock_ns(CLOCK_MONOTONIC);
		struct timespec ts = deadline(next_step(until, now));

		if (given_up(until, now))
			goto out;
		pthread_cond_timedwait(&w->freed, &w->lock, &ts);
	}
	cb = w->free_list[--w->nfree];
out:
	pthread_mutex_unlock(&w->lock);
	return cb;
}

void writer_submit(struct writer *w, struct chunkbuf *cb)
{
	pthread_mutex_lock(&w->lock);
	w->queue[(w->qhead + w->qlen) % w->nbufs] = cb;
	w->qlen++;
	pthread_cond_signal(&w->queued);
	pthread_mutex_unlock(&w->lock);
}

void writer_release(struct writer *w, struct chunkbuf *cb)
{
	pthread_mutex_lock(&w->lock);
	w->free_list[w->nfree++] = cb;
	pthread_cond_signal(&w->freed);
	pthread_mutex_unlock(&w->lock);
}

void writer_submit_last(struct writer *w, struct chunkbuf *cb)
{
	pthread_mutex_lock(&w->lock);
	w->last = cb;
	pthread_mutex_unlock(&w->lock);
	writer_submit(w, cb);
}

int writer_drain(struct writer *w, const struct writer_wait *until)
{
	int ret = 0;

	pthread_mutex_lock(&w->lock);
	while (w->qlen || w->writing) {
		uint64_t now = clock_ns(CLOCK_MONOTONIC);
		struct timespec ts = deadline(next_step(until, now));

		if (given_up(until, now)) {
			ret = -ETIMEDOUT;
			break;
		}
		pthread_cond_timedwait(&w->freed, &w->lock, &ts);
	}
	pthread_mutex_unlock(&w->lock);
	return ret;
}

int writer_unwritten(struct writer *w, struct writer_lost **out, size_t *n)
{
	int ret = 0;

	pthread_mutex_lock(&w->lock);
	*n = w->n_lost;
	*out = malloc((w->n_lost ? w->n_lost : 1) * sizeof(**out));
	if (*out)
		memcpy(*out, w->lost, w->n_lost * sizeof(**out));
	else
		ret = -ENOMEM;
	pthread_mutex_unlock(&w->lock);
	return ret;
}

bool writer_last_written(struct writer *w)
{
	bool ret;

	pthread_mutex_lock(&w->lock);
	ret = w->last_written;
	pthread_mutex_unlock(&w->lock);
	return ret;
}

int writer_error(struct writer *w)
{
	int ret;

	pthread_mutex_lock(&w->lock);
	ret = w->error;
	pthread_mutex_unlock(&w->lock);
	return ret;
}

int writer_stop(struct writer *w, const struct writer_wait *until)
{
	int ret;

	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_signal(&w->queued);
	pthread_mutex_unlock(&w->lock);
	/* pthread_timedjoin_np takes CLOCK_REALTIME: wait in short steps, watching our own clock. */
	for (;;) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)WAIT_STEP_NS;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (pthread_timedjoin_np(w->thread, NULL, &ts) == 0)
			break;
		if (given_up(until, clock_ns(CLOCK_MONOTONIC)))
			return -ETIMEDOUT;
	}
	ret = w->error;
	if (!ret)
		ret = jw_sync(w->jw);
	for (unsigned i = 0; i < w->nbufs; i++)
		chunkbuf_free(&w->bufs[i]);
	pthread_cond_destroy(&w->queued);
	pthread_cond_destroy(&w->freed);
	pthread_mutex_destroy(&w->lock);
	free(w->bufs);
	free(w->free_list);
	free(w->queue);
	free(w->lost);
	free(w);
	return ret;
}


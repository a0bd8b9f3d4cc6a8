/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The recording loop: records from the kernel's ring buffers (packets, TLS secrets) go into chunks
 * as they are, with a CLOCK record and the IFACE records at the start of each chunk; the sockets
 * programs' events go through procs (SOCKET and PROCESS records); loss counters become LOSS
 * records. Chunks are compressed here, piece by piece while the records are still in
 * cache, and full or old chunks go to the writer thread.
 */
#ifndef TLSREC_SESSION_H
#define TLSREC_SESSION_H

#include <bpf/libbpf.h>
#include <signal.h>
#include <stdint.h>

#include "capture.h"
#include "ifaces.h"
#include "procs.h"
#include "writer.h"

struct loss_seen;

#define SESSION_MAX_RINGS 3

struct session {
	struct writer *wr;
	struct capture *cap;        /* NULL when recording secrets only */
	const int *packet_rings;    /* with cap: its ring buffers, one per CPU */
	unsigned n_packet_rings;
	int rings[SESSION_MAX_RINGS]; /* other ring buffers of journal records */
	size_t n_rings;
	struct procs *procs;        /* processes described so far; NULL: no sockets ring */
	int procs_ring;             /* with procs: the sockets programs' ring buffer */
	int loss_maps[SESSION_MAX_RINGS]; /* struct tr_loss_key -> per-CPU counts */
	size_t n_loss_maps;
	int watch_fd;               /* another file to wait on (new libraries), or -1 */
	int (*on_watch)(void *ctx); /* called when watch_fd is readable; 0 or -errno */
	void *ctx;
	const struct iface *ifaces; /* the recorded interfaces */
	size_t n_ifaces;
	uint64_t max_packets;       /* -c; 0: no limit */
	uint64_t chunk_age_ns;      /* a chunk this old is written even if not full */
	int poll_ms;
	uint64_t start_boot;        /* CLOCK_BOOTTIME ns at the start, for the first LOSS's "since" */

	/* state */
	struct ring_buffer **rbs; /* one for each ring, to read them in turn */
	size_t n_rbs;
	size_t first;    /* the ring read first at the next poll */
	unsigned budget; /* records still to take from the ring being read */
	bool behind;     /* a ring had more than its budget at the last poll */
	int epfd; /* the rings' epoll files, watch_fd and link_fd */
	int link_fd; /* rtnetlink, subscribed to link changes; -1 without interfaces */
	bool *gone;  /* for each of ifaces: it disappeared */
	size_t n_live; /* interfaces that have not */
	__u64 *percpu;
	int ncpus;
	struct chunk_encoder enc; /* chunks are compressed here, as they fill */
	struct chunkbuf *cur;
	uint64_t cur_since; /* CLOCK_MONOTONIC ns when cur was begun */
	struct writer_wait wait; /* how long to wait for a free chunk buffer */
	uint64_t packets;
	uint64_t secrets;
	uint64_t owners;       /* SOCKET and PROCESS records */
	uint64_t lost;         /* packets lost */
	uint64_t lost_secrets; /* SECRET records lost */
	uint64_t lost_owners;  /* SOCKET and PROCESS records lost */
	uint64_t lost_by[4];   /* all, by cause: TR_LOSS_RINGBUF, TR_LOSS_COPY, TR_LOSS_OUTPUT */
	bool ended;            /* session_finish wrote the END record */
	struct loss_seen *seen;
	size_t n_seen;
	int error;
};

/* Set up reading the rings. Fill the configuration fields first. 0 or -errno. */
int session_init(struct session *s);

/* Add a record of user space's (LIBRARY, seeded SOCKET and PROCESS) to the journal. 0 or -errno.
 * (A procs_emit_fn, ctx the session.) */
int session_append(void *s, const void *rec, size_t len);

/*
 * Record until *stop is set, -c is reached, or an error. A recorded interface that disappears
 * is reported (a warning and an IFGONE record) and recording goes on with the others. Returns 0,
 * -ENODEV when every recorded interface has disappeared, or -errno.
 */
int session_run(struct session *s, const volatile sig_atomic_t *stop);

/*
 * Once the programs are detached: take what is left in the ring buffers, the final loss counts and
 * the END record, and hand the last chunk to the writer, waiting for a free chunk buffer and for
 * the writer as long as until says (records that find none are counted lost). When the output
 * failed, what it did not take is counted lost instead of recorded, and a file whose end is
 * intact (full) gets a last chunk with LOSS records for them and the END record. s->ended says
 * whether the END record was written. Returns 0 or -errno (the writer's errors are its own).
 */
int session_finish(struct session *s, const struct writer_wait *until);

void session_free(struct session *s);

#endif /* TLSREC_SESSION_H */

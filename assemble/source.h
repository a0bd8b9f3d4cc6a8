/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The journals given to tlsasm, read as one: every chunk of every file, grouped by recording,
 * copies of a chunk dropped, and the packets handed out in wall-clock order across files, chunks
 * and CPUs.
 *
 * Order: chunks are sorted by their first timestamp (from the chunk header, without decompressing)
 * and loaded in that order; the earliest pending packet is handed out once no unloaded chunk can
 * hold an earlier one. Memory holds the chunks that overlap in time up to 64 MiB of them; past it,
 * each further chunk's packets are written in time order to an unlinked file in $TMPDIR (/tmp when
 * unset) as a run, read back 64 KiB at a time, and every 16 runs of one level are merged into one
 * of the next, so that memory stays bounded however many chunks overlap.
 */
#ifndef TLSASM_SOURCE_H
#define TLSASM_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "catalog.h"
#include "journal.h"

struct packet_view {
	const uint8_t *data;
	uint64_t wall;      /* ns since the epoch */
	unsigned iface;     /* index into interfaces */
	size_t chunk;       /* the chunk it is from (source_chunk) */
	struct tr_packet p; /* fixed part, copied (last: it ends in a flexible array) */
};

struct source;

/* Open every path. Returns 0, or -errno after printing why (a file that is not a journal is
 * -ENOEXEC). Damage is printed as warnings as it is found. */
int source_open(char *const *paths, unsigned n, struct source **out);

/* The recordings and interfaces found so far (interfaces can be added while reading). */
unsigned source_recordings(const struct source *s, const struct recording **out);
unsigned source_interfaces(const struct source *s, struct src_iface **out);

/* The next packet in time order: 1 and *v filled, 0 at the end, or -errno. v->data stays valid
 * until the next call. */
int source_next(struct source *s, struct packet_view *v);

/*
 * Read again from the first packet: source_next hands out the same packets in the same order with
 * the same times. Records other than packets are not taken again (losses already taken stay
 * taken, secrets are not added twice), and damage is not reported or counted again.
 */
void source_rewind(struct source *s);

/* One chunk of the journals: where it is and what its header says. path stays valid until
 * source_close. */
struct src_chunk {
	const char *path; /* its file */
	unsigned file;    /* index of its file among the paths given to source_open */
	unsigned rec;     /* index into recordings */
	uint64_t offset;  /* of its header in the file */
	struct jr_chunk_meta meta;
	uint64_t packets; /* the packets source_next handed out of it, with source_count_packets */
};

/*
 * The chunks to read, in the order they are read (by their first time); copies are left out.
 * They are kept in a private temporary SQLite database (memory does not grow with their number):
 * source_chunk reads chunk i (0 on) of it into out, and returns 0, or -EIO or -ENOSPC after a
 * message.
 */
size_t source_nchunks(const struct source *s);
int source_chunk(const struct source *s, size_t i, struct src_chunk *out);

/*
 * Before the first source_next: read only the chunks for which keep(ctx, chunk) is true (head
 * chunks have told the recordings and interfaces already); source_nchunks says how many are left.
 * Chunk numbers (packet_view.chunk, source_chunk) count the chunks left. Returns 0, or -errno
 * after a message.
 */
int source_select(struct source *s, bool (*keep)(void *ctx, const struct src_chunk *c), void *ctx);

/* Before the first source_next: count the packets source_next hands out of each chunk
 * (src_chunk.packets, 0 until the chunk is read; else always 0). */
void source_count_packets(struct source *s);

/* The SOCKET and PROCESS records read so far, in the order read. */
size_t source_sockets(const struct source *s, const struct src_socket **out);
size_t source_processes(const struct source *s, const struct src_process **out);

/* A SECRET record as source_next reads it, and where it is from. */
struct src_secret {
	unsigned rec;  /* index into recordings */
	int lib;       /* index into source_libraries of the library it names, or -1: none read yet */
	size_t chunk;  /* the chunk it is from (source_chunk) */
	uint64_t wall; /* its time on the wall clock, ns since the epoch */
	uint16_t type; /* TR_REC_SECRET: s; TR_REC_KEYLOG: k, its lengths within their fields */
	union {
		struct tr_secret s;
		struct tr_keylog k;
	};
};

/* Takes one SECRET record (valid during the call only). Returns 0, or -errno to stop reading:
 * source_next returns it. */
typedef int source_secret_fn(void *ctx, const struct src_secret *sec);

/*
 * Before the first source_next: hand each SECRET record to fn as it is read, once (not again
 * after source_rewind), in the order read. Without it SECRET records are read and let go. The
 * source keeps none of them: each library counts those that name it (src_library.secrets).
 */
void source_on_secret(struct source *s, source_secret_fn *fn, void *ctx);

/* The LIBRARY records read so far, one per recording and index. */
unsigned source_libraries(const struct source *s, const struct src_library **out);

/* SECRET records tlsrec could not record (its LOSS records of TLS secrets), read so far. */
uint64_t source_secrets_lost(const struct source *s);

/* Losses on interface i recorded at or before wall and not yet taken. */
uint64_t source_take_drops(struct source *s, unsigned i, uint64_t wall);

/* Damaged regions and malformed records seen so far. */
unsigned source_damage(const struct source *s);

/* Chunks read, for the summary. */
uint64_t source_chunks(const struct source *s);

void source_close(struct source *s);

#endif /* TLSASM_SOURCE_H */

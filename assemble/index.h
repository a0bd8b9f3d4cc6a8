/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The connection index (schema/index.sql, docs/index.md): an SQLite database beside the journals
 * that lists recordings, journal files, chunks, processes, sockets, connections with their owners,
 * TLS secrets, and which chunks hold each connection's packets.
 *
 * Building is incremental: a chunk is known by (recording, sequence number), and a run reads only
 * the chunks the index does not hold, in one transaction. Connections still open when a run ended
 * are taken up again by the next one (those whose last packet is at most INDEX_RESUME_NS before
 * the first new chunk), and the SOCKET and PROCESS records of earlier runs attribute connections
 * found later. Chunks older (by sequence number) than some of their recording already indexed
 * (rotated files given out of order) make the run index that recording again from the start.
 */
#ifndef TLSASM_INDEX_H
#define TLSASM_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "owners.h"
#include "source.h"

/* PRAGMA user_version of schema/index.sql: an index of another version is built again. */
#define INDEX_SCHEMA_VERSION 5

/* How long a connection may be idle and still be continued by packets of a later run. */
#define INDEX_RESUME_NS (600ULL * 1000000000ULL)

struct index;
struct sqlite3;
struct sqlite3_stmt;

struct index_stats {
	uint64_t chunks;      /* chunks in the journals, copies left out */
	uint64_t chunks_read; /* of them, decompressed and read by this run */
	uint64_t packets;     /* read by this run */
	uint64_t conns_new, conns_resumed;
	unsigned damage; /* damaged regions and malformed records seen */
};

/* The index of journals: db when given, else the first journal's name with ".db" added, into out
 * (size bytes). Returns 0, or -ENAMETOOLONG after a message. */
int index_path(const char *first_journal, const char *db, char *out, size_t size);

/* How index_open and index_prepare take the file at the index's path. */
enum {
	INDEX_CREATE = 1,   /* create it (mode 0600) with the schema when it does not exist */
	INDEX_OPTIONAL = 2, /* a file there that is no usable index is said in a warning */
};

/*
 * Open the index at path, creating it with INDEX_CREATE. Returns 0 with *out (freed by
 * index_close), -ENOENT when it does not exist and INDEX_CREATE is not set (no message), or -errno
 * after a message (a warning with INDEX_OPTIONAL, else an error): -EPERM when the file is not a
 * regular file of the user's own with one link and writable by no one else, -EPROTO when it is not
 * an index of this version (or not an SQLite database), -EIO when SQLite fails.
 */
int index_open(const char *path, unsigned flags, struct index **out);

/*
 * Drop from paths[0..*n) the names of an index among journals, keeping the order of the others:
 * JOURNAL.db (and SQLite's JOURNAL.db-wal and JOURNAL.db-shm beside it) when JOURNAL is among
 * them too, and the file db names. So journal.lz4* reads the journals and not their index. Each
 * is said in a note (-v).
 */
void index_skip_own(char **paths, unsigned *n, const char *db);

/*
 * Check the index: SQLite's PRAGMA quick_check, and invariants every index this tlsasm builds
 * keeps (no connection or chunk ends before it starts, no count below zero, every owner listed).
 * Returns 0, or -EUCLEAN after a message that says what is wrong and how to build it again.
 */
int index_check(struct index *ix);

/*
 * Read into the index what the journals hold that it does not: every chunk not indexed yet, in
 * one transaction (nothing is written when it fails). st is filled. Returns 0, or -errno after a
 * message (-ENOEXEC: a file that is not a journal).
 */
int index_update(struct index *ix, char *const *paths, unsigned n, struct index_stats *st);

/*
 * What the other commands call: open the index of paths (db, or beside the first) with flags,
 * check it (index_check), and bring it up to date. Returns 0 with *out, or -errno after a message;
 * *damage is the damage the update found (0 when nothing new was read). With INDEX_OPTIONAL, an
 * index that does not exist, cannot be used or is damaged is none: 0 with *out NULL (after a
 * message for one that cannot be used or is damaged).
 */
int index_prepare(char *const *paths, unsigned n, const char *db, unsigned flags,
		  struct index **out, unsigned *damage);

/* The database, for queries (owned by ix). */
struct sqlite3 *index_db(struct index *ix);

/*
 * Which connections to take. Conditions AND together; a list matches when any of its values does
 * (--pid 1 --pid 2: pid 1 or pid 2). pid, comm and uid match a connection when they match the
 * owner of either end. Empty (all zero) takes every connection.
 */
struct index_filter {
	const uint32_t *pids;
	size_t npids;
	const char *comm;
	bool has_uid;
	uint32_t uid;
	const int64_t *conns; /* connection ids */
	size_t nconns;
	bool has_since, has_until;
	uint64_t since_ns, until_ns; /* connections that overlap [since, until] */
	const char *host;            /* an address either end has (inet_ntop's text) */
	bool has_port;
	uint16_t port; /* a port either end has */
};

/*
 * The FROM and WHERE part of a query of connections c (joined with the processes of their ends as
 * po and pr) that f selects, into sql; bind its parameters with index_filter_bind from parameter
 * first on. Returns 0, or -ENOSPC when size is too small.
 */
int index_filter_sql(const struct index_filter *f, char *sql, size_t size);
int index_filter_bind(struct sqlite3_stmt *st, const struct index_filter *f, int first);

struct index_selection {
	size_t nconns;  /* in temp.selected of the index's connection (index_selected) */
	size_t nchunks; /* in temp.selected_chunks (index_selected_chunk): each chunk once, by
			 * what it is (its recording and number) wherever it is */
	size_t missing; /* rows of chunks of selected connections whose journal is gone (replaced) */
	char **paths;   /* the distinct paths the chunks are in, by path */
	size_t npaths;
};

/* The connections f selects, and the chunks that hold their packets and the SECRET records of
 * their client randoms (both kept in the index's temporary database, not in memory). Returns 0
 * with *out filled (free with index_selection_free), or -errno after a message. */
int index_select(struct index *ix, const struct index_filter *f, struct index_selection *out);

/* Whether chunk seq of recording recording_id holds packets or secrets of the connections the
 * last index_select selected: 1, 0, or -EIO after a message. */
int index_selected_chunk(struct index *ix, const uint8_t recording_id[16], uint64_t seq);

/*
 * Whether the connection of recording_id with these ends (either way round), protocol, family and
 * first time was selected by the last index_select: 1, 0, or -EIO after a message. When resumes
 * is not NULL, *resumes is set when the connection is a resumed TLS 1.2 one whose master secret is
 * that of client random root (the index's connections.resumes).
 */
int index_selected(struct index *ix, const uint8_t recording_id[16], uint8_t proto, uint8_t family,
		   const uint8_t addr[2][16], const uint16_t port[2], uint64_t first_ns,
		   bool *resumes, uint8_t root[32]);
void index_selection_free(struct index_selection *s);

/*
 * Add to o the SOCKET and PROCESS records the index holds for the recordings src has (numbered as
 * src numbers them): for attributing packets of chunks read without the chunks that hold their
 * owners' records. Returns 0 or -errno after a message.
 */
int index_load_owners(struct index *ix, const struct source *src, struct owners *o);

void index_close(struct index *ix);

/* `tlsasm index`: argv[0] is "index". Returns the exit status. */
int index_main(int argc, char **argv);

#endif /* TLSASM_INDEX_H */

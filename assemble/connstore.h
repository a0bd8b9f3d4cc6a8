/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Where tlsconn keeps the connections it has no room for in memory: a private temporary SQLite
 * database (SQLite's file with no name: in $SQLITE_TMPDIR, $TMPDIR or /var/tmp, unlinked, and only
 * written once its page cache of CONNSTORE_CACHE bytes is full). A connection is stored whole
 * under its id, found by its 4-tuple (tlsconn_tuple) and the number of its first packet.
 */
#ifndef TLSASM_CONNSTORE_H
#define TLSASM_CONNSTORE_H

#include <stdint.h>

#include "tlsconn.h"

#define CONNSTORE_CACHE (16 << 20)

struct sqlite3;
struct sqlite3_stmt;

struct connstore {
	struct sqlite3 *db;
	struct sqlite3_stmt *put, *latest, *each, *scan;
};

/* Open the database (once: an open store is left as it is). 0, or -EIO after a message. */
int connstore_open(struct connstore *s);

/* Store c (its sni and hello with it), over what was stored under its id. 0 or -EIO. */
int connstore_put(struct connstore *s, const struct tls_conn *c);

/*
 * Into c: of the connections of 4-tuple tuple, the latest (before = UINT64_MAX), or the latest
 * whose first packet is at most number `before`. 1, 0 when there is none, -ENOMEM or -EIO. c->sni
 * and c->hello are malloc'd.
 */
int connstore_get(struct connstore *s, const uint8_t tuple[TLSCONN_TUPLE_LEN], uint64_t before,
		  struct tls_conn *c);

/*
 * fn(ctx, c) for every connection, by id: c is passed with its sni (freed after fn) and no hello.
 * Stops at fn's first non-zero return, which it returns; else 0, -ENOMEM or -EIO.
 */
int connstore_each(struct connstore *s, int (*fn)(void *ctx, const struct tls_conn *c), void *ctx);

/* The connections by id, one a call (the first call starts from the first): 1 with c (its sni
 * malloc'd, no hello), 0 after the last, -ENOMEM or -EIO. */
int connstore_next(struct connstore *s, struct tls_conn *c);

void connstore_close(struct connstore *s);

#endif /* TLSASM_CONNSTORE_H */

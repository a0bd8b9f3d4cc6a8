// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "connstore.h"
#include "db.h"
#include "log.h"

/* One transaction, never committed: the database goes with the run. */
static const char schema[] =
	"CREATE TABLE conn(id INTEGER PRIMARY KEY, tuple BLOB NOT NULL, "
	"first_packet INTEGER NOT NULL, state BLOB NOT NULL, sni TEXT, hello BLOB); "
	"CREATE INDEX conn_tuple ON conn(tuple, first_packet); BEGIN";

static int fail(struct connstore *s, const char *what)
{
	log_err("cannot keep connections in a temporary file: %s: %s", what,
		s->db ? sqlite3_errmsg(s->db) : "out of memory");
	return -EIO;
}

int connstore_open(struct connstore *s)
{
	int ret;

	if (s->db)
		return 0;
	ret = db_open_temp("cannot keep connections in a temporary file", 65536,
			   CONNSTORE_CACHE >> 10, schema, &s->db);
	if (ret)
		return ret;
	if (sqlite3_prepare_v2(s->db,
			       "INSERT OR REPLACE INTO conn VALUES(?1, ?2, ?3, ?4, ?5, ?6)", -1,
			       &s->put, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db,
			       "SELECT state, sni, hello FROM conn WHERE tuple = ?1 AND "
			       "first_packet <= ?2 ORDER BY first_packet DESC, id DESC LIMIT 1",
			       -1, &s->latest, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, "SELECT state, sni FROM conn ORDER BY id", -1, &s->each,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, "SELECT state, sni FROM conn ORDER BY id", -1, &s->scan,
			       NULL) != SQLITE_OK)
		return fail(s, "preparing a statement");
	return 0;
}

int connstore_put(struct connstore *s, const struct tls_conn *c)
{
	struct tls_conn state = *c;
	uint8_t tuple[TLSCONN_TUPLE_LEN];
	int rc;

	state.sni = NULL;
	state.hello = NULL;
	tlsconn_tuple(c, tuple);
	sqlite3_bind_int64(s->put, 1, (int64_t)c->id);
	sqlite3_bind_blob(s->put, 2, tuple, sizeof(tuple), SQLITE_STATIC);
	sqlite3_bind_int64(s->put, 3, (int64_t)c->first_packet);
	sqlite3_bind_blob(s->put, 4, &state, sizeof(state), SQLITE_STATIC);
	if (c->sni)
		sqlite3_bind_text(s->put, 5, c->sni, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s->put, 5);
	if (c->hello)
		sqlite3_bind_blob(s->put, 6, c->hello, (int)c->hello_have, SQLITE_STATIC);
	else
		sqlite3_bind_null(s->put, 6);
	rc = sqlite3_step(s->put);
	sqlite3_reset(s->put);
	return rc == SQLITE_DONE ? 0 : fail(s, "writing a connection");
}

/* Column 0 (the state) and 1 (the sni) of st into c: 0, -ENOMEM, or -EIO for a row this file did
 * not write. */
static int row(struct connstore *s, sqlite3_stmt *st, struct tls_conn *c)
{
	const unsigned char *sni = sqlite3_column_text(st, 1);

	if (sqlite3_column_bytes(st, 0) != sizeof(*c))
		return fail(s, "a connection read back is not one written");
	memcpy(c, sqlite3_column_blob(st, 0), sizeof(*c));
	c->hello = NULL;
	c->sni = sni ? strdup((const char *)sni) : NULL;
	return sni && !c->sni ? -ENOMEM : 0;
}

/* The bytes of a ClientHello being gathered when c was stored: column 2 of st. 0, -ENOMEM or
 * -EIO. */
static int hello(struct connstore *s, sqlite3_stmt *st, struct tls_conn *c)
{
	size_t n = (size_t)sqlite3_column_bytes(st, 2);

	if (n != c->hello_have || n > c->hello_len)
		return fail(s, "a ClientHello read back is not the one written");
	if (!(c->hello = malloc(c->hello_len)))
		return -ENOMEM;
	memcpy(c->hello, sqlite3_column_blob(st, 2), n);
	return 0;
}

int connstore_get(struct connstore *s, const uint8_t tuple[TLSCONN_TUPLE_LEN], uint64_t before,
		  struct tls_conn *c)
{
	int rc, ret = 0;

	sqlite3_bind_blob(s->latest, 1, tuple, TLSCONN_TUPLE_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(s->latest, 2, before > INT64_MAX ? INT64_MAX : (int64_t)before);
	rc = sqlite3_step(s->latest);
	if (rc == SQLITE_ROW) {
		ret = row(s, s->latest, c);
		if (!ret && sqlite3_column_type(s->latest, 2) != SQLITE_NULL)
			ret = hello(s, s->latest, c);
		if (ret)
			free(c->sni);
		else
			ret = 1;
	} else if (rc != SQLITE_DONE) {
		ret = fail(s, "reading a connection back");
	}
	sqlite3_reset(s->latest);
	return ret;
}

int connstore_each(struct connstore *s, int (*fn)(void *ctx, const struct tls_conn *c), void *ctx)
{
	struct tls_conn c;
	int rc, ret = 0;

	while (!ret && (rc = sqlite3_step(s->each)) == SQLITE_ROW) {
		ret = row(s, s->each, &c);
		if (!ret)
			ret = fn(ctx, &c);
		free(c.sni);
	}
	if (!ret && rc != SQLITE_DONE)
		ret = fail(s, "reading the connections back");
	sqlite3_reset(s->each);
	return ret;
}

int connstore_next(struct connstore *s, struct tls_conn *c)
{
	int rc = sqlite3_step(s->scan), ret;

	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return fail(s, "reading the connections back");
	ret = row(s, s->scan, c);
	return ret ? ret : 1;
}

void connstore_close(struct connstore *s)
{
	sqlite3_finalize(s->scan);
	sqlite3_finalize(s->put);
	sqlite3_finalize(s->latest);
	sqlite3_finalize(s->each);
	sqlite3_close(s->db);
	memset(s, 0, sizeof(*s));
}

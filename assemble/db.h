/* SPDX-License-Identifier: BSD-2-Clause */
/* What tlsasm's SQLite databases (the index, the key log's temporary one) share. */
#ifndef TLSASM_DB_H
#define TLSASM_DB_H

#include <sqlite3.h>

/*
 * Step st once it is bound: 1 for a row (st stands on it), 0 when there is none left, or -1 when
 * SQLite failed (sqlite3_errmsg and sqlite3_errcode of its database say why). st is reset but for
 * a row.
 */
static inline int db_step(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

#endif /* TLSASM_DB_H */

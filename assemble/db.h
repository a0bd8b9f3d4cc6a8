/* SPDX-License-Identifier: BSD-2-Clause */
/* What tlsasm's SQLite databases (the index, the private temporary ones) share. */
#ifndef TLSASM_DB_H
#define TLSASM_DB_H

#include <sqlite3.h>

/*
 * Open a private temporary database: SQLite's file with no name (made 0600 and O_EXCL in
 * $SQLITE_TMPDIR, $TMPDIR, /var/tmp, /usr/tmp or /tmp, unlinked at once, and only written once its
 * page cache of cache_kib KiB is full), with no journal, no syncs and an exclusive lock, its
 * temporary tables and sorts in files too; of page_size bytes a page (0: SQLite's default). Then
 * run schema (statements). Returns 0 with *out (the caller's, for sqlite3_close), or -ENOMEM or
 * -EIO after a message that starts with what.
 */
int db_open_temp(const char *what, unsigned page_size, unsigned cache_kib, const char *schema,
		 sqlite3 **out);

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

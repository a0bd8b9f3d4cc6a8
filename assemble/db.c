// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdio.h>

#include "db.h"
#include "log.h"

/* The database lives as long as its owner and is read by no one else: no journal, no syncs, no
 * locks given back, and temporary tables and sorts in files too. */
#define TEMP_PRAGMAS                                                                           \
	"PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA locking_mode = EXCLUSIVE; " \
	"PRAGMA temp_store = FILE; "

int db_open_temp(const char *what, unsigned page_size, unsigned cache_kib, const char *schema,
		 sqlite3 **out)
{
	char pragmas[256], *msg = NULL;
	sqlite3 *db = NULL;
	int ret = -EIO;

	*out = NULL;
	if (page_size)
		snprintf(pragmas, sizeof(pragmas),
			 TEMP_PRAGMAS "PRAGMA page_size = %u; PRAGMA cache_size = -%u;", page_size,
			 cache_kib);
	else
		snprintf(pragmas, sizeof(pragmas), TEMP_PRAGMAS "PRAGMA cache_size = -%u;",
			 cache_kib);
	if (sqlite3_open_v2("", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		log_err("%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
		ret = db ? -EIO : -ENOMEM;
		goto fail;
	}
	if (sqlite3_exec(db, pragmas, NULL, NULL, &msg) != SQLITE_OK ||
	    sqlite3_exec(db, schema, NULL, NULL, &msg) != SQLITE_OK) {
		log_err("%s: %s", what, msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		goto fail;
	}
	*out = db;
	return 0;
fail:
	sqlite3_close(db);
	return ret;
}

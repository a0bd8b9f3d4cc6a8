// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer: any bytes, as a journal file indexed into a new SQLite index (schema/index.sql), read
 * again (nothing new to read), and selected from. Whatever the journal, the index built must pass
 * index_check: an index tlsasm itself wrote is never refused as damaged.
 */
#include <stdio.h>

#include "fuzz.h"
#include "index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void remove_db(const char *db)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	char name[128];

	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(name, sizeof(name), "%s%s", db, suffix[i]);
		unlink(name);
	}
}

/* A directory of our own: an index is not used where others can make files. */
static char dir[] = "/tmp/tlsrec-fuzz-XXXXXX";

static void remove_dir(void)
{
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool made;
	char path[96], db[128], *paths[1] = { path };
	struct index_selection sel;
	struct index_stats st;
	struct index *ix;
	int fd;

	log_init("fuzz", LOG_QUIET); /* damage is expected */
	if (!made && (!mkdtemp(dir) || atexit(remove_dir)))
		abort();
	made = true;
	snprintf(path, sizeof(path), "%s/journal-XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	snprintf(db, sizeof(db), "%s.db", path);
	if (index_open(db, true, &ix))
		abort();
	if (!index_update(ix, paths, 1, &st)) {
		if (index_check(ix))
			abort();
		if (index_update(ix, paths, 1, &st) || st.chunks_read)
			abort();
		if (!index_select(ix, &(struct index_filter){ 0 }, &sel))
			index_selection_free(&sel);
	}
	index_close(ix);
	remove_db(db);
	unlink(path);
	return 0;
}

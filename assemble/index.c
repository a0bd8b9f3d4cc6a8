// SPDX-License-Identifier: BSD-2-Clause
/*
 * SQLite use: statements prepared once per run, bound, stepped and reset; every write of a run in
 * one transaction; WAL. Strings bound with SQLITE_TRANSIENT (SQLite copies them); text columns read
 * back are copied before the next step.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "array.h"
#include "cli.h"
#include "db.h"
#include "exitcode.h"
#include "fileio.h"
#include "index.h"
#include "keylog.h"
#include "log.h"
#include "resume.h"
#include "table.h"

extern const char index_schema_sql[];

struct index {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *selected; /* index_selected's */
	sqlite3_stmt *selected_chunk; /* index_selected_chunk's */
};

/* One run of index_update: what it reads and the statements it writes with. */
struct run {
	struct index *ix;
	struct source *src;
	struct tlsconn t;
	struct owners o;
	int64_t *rec_id;     /* by recording of src: recordings.id */
	int64_t *journal_id; /* by file of src: journals.id */
	unsigned nfiles;
	int64_t *proc_id; /* by socket of o: processes.id, 0 when not looked up yet */
	uint64_t *min_seq; /* by recording: the lowest sequence number of a chunk to read */
	sqlite3_stmt *has_chunk, *proc_find, *proc_add, *pair, *secret_add;
};

/*
 * What a run keeps of each connection of r->t in its memo (kept with it while packets are added,
 * and in tlsconn's store): its row in connections (0 while new), the chunk its latest packet came
 * in (+ 1; 0 when none came in this run), and how many came there since it was last counted in
 * temp.run_pairs.
 */
#define ROW 0
#define CHUNK 1
#define PACKETS 2

/* Tables of one run in the connection's temporary database: which chunks hold how many packets
 * of each connection (by its id in r->t), each connection's row, and the rows taken up again. */
static const char run_tables[] =
	"DROP TABLE IF EXISTS temp.run_pairs; DROP TABLE IF EXISTS temp.run_rows; "
	"DROP TABLE IF EXISTS temp.run_resumed; "
	"CREATE TEMP TABLE run_pairs(conn INTEGER NOT NULL, chunk INTEGER NOT NULL, "
	"packets INTEGER NOT NULL, PRIMARY KEY(chunk, conn)) WITHOUT ROWID; "
	"CREATE TEMP TABLE run_rows(conn INTEGER PRIMARY KEY, row INTEGER NOT NULL); "
	"CREATE TEMP TABLE run_resumed(row INTEGER PRIMARY KEY)";

static int db_fail(sqlite3 *db, const char *path, const char *what)
{
	log_err("%s: %s: %s", path, what, sqlite3_errmsg(db));
	return -EIO;
}

static int exec(struct index *ix, const char *sql, const char *what)
{
	char *msg = NULL;

	if (sqlite3_exec(ix->db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	log_err("%s: %s: %s", ix->path, what, msg ? msg : sqlite3_errmsg(ix->db));
	sqlite3_free(msg);
	return -EIO;
}

static int prepare(struct index *ix, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(ix->db, sql, -1, st, NULL) == SQLITE_OK)
		return 0;
	*st = NULL;
	return db_fail(ix->db, ix->path, "preparing a statement");
}

/* Prepare each (sql, &statement) pair of the list, which ends with NULL: 0, or -EIO after a
 * message (the statements prepared stay for the caller to finalize). */
static int prepare_all(struct index *ix, ...)
{
	va_list ap;
	const char *sql;
	int ret = 0;

	va_start(ap, ix);
	while (!ret && (sql = va_arg(ap, const char *)))
		ret = prepare(ix, sql, va_arg(ap, sqlite3_stmt **));
	va_end(ap);
	return ret;
}

/* Step st once it is bound: 0 for a row written or none left, 1 for a row read, or -EIO. */
static int step(struct index *ix, sqlite3_stmt *st)
{
	int ret = db_step(st);

	return ret < 0 ? db_fail(ix->db, ix->path, "writing") : ret;
}

int index_path(const char *first_journal, const char *db, char *out, size_t size)
{
	int n = db ? snprintf(out, size, "%s", db) : snprintf(out, size, "%s.db", first_journal);

	if (n < 0 || (size_t)n >= size) {
		log_err("%s: the name of its index is too long", first_journal);
		return -ENAMETOOLONG;
	}
	return 0;
}

static int user_version(struct index *ix, int *v)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(ix->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -EPROTO;
	rc = sqlite3_step(st);
	*v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -EPROTO;
}

/* Whether the database has any table (an empty file does not). */
static int has_tables(struct index *ix, bool *any)
{
	sqlite3_stmt *st;
	int rc;

	if (prepare(ix, "SELECT count(*) FROM sqlite_master", &st))
		return -EPROTO;
	rc = sqlite3_step(st);
	*any = sqlite3_column_int(st, 0) > 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -EPROTO;
}

int index_open(const char *path, unsigned flags, struct index **out)
{
	enum log_level level = flags & INDEX_OPTIONAL ? LOG_WARN : LOG_ERROR;
	struct index *ix = calloc(1, sizeof(*ix));
	char dir[PATH_MAX];
	struct stat sb;
	bool any = false;
	int ret = -ENOMEM, v = 0;

	if (!ix || !(ix->path = strdup(path)))
		goto fail;
	/* SQLite makes JOURNAL.db-wal and -shm beside it, by name: where others may make files,
	 * they could make those first, and read or write what the index holds. */
	if (!stat(path_dir(path, dir, sizeof(dir)), &sb) && (sb.st_mode & 022)) {
		logmsg(level, "%s: in a directory others can write (they could make its -wal and -shm "
			      "files): not used as an index; give one with --db in a directory of "
			      "your own",
		       path);
		ret = -EPERM;
		goto fail;
	}
	if (lstat(path, &sb)) {
		int fd;

		ret = -errno;
		if (ret != -ENOENT || !(flags & INDEX_CREATE))
			goto fail_quiet;
		/* Created here, not by SQLite, for its mode (it says who talked to whom), and never
		 * through a link someone left there. */
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0) {
			ret = -errno;
			log_err("cannot create %s: %s", path, strerror(-ret));
			goto fail;
		}
		close(fd);
	} else if (!S_ISREG(sb.st_mode) || sb.st_uid != geteuid() || sb.st_nlink > 1 ||
		   (sb.st_mode & 022)) {
		/* What it holds becomes the processes named in the output: only one's own. */
		logmsg(level, "%s: %s: not used as an index (remove it, or give another with --db)",
		       path,
		       !S_ISREG(sb.st_mode)	 ? "not a regular file" :
		       sb.st_uid != geteuid() ? "owned by another user" :
		       sb.st_nlink > 1	 ? "it has other hard links" :
						   "writable by others");
		ret = -EPERM;
		goto fail;
	}
	if (sqlite3_open_v2(path, &ix->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL) !=
	    SQLITE_OK) {
		logmsg(level, "%s: cannot open: %s", path, sqlite3_errmsg(ix->db));
		ret = -EIO;
		goto fail;
	}
	sqlite3_busy_timeout(ix->db, 10000);
	if (exec(ix, "PRAGMA trusted_schema=OFF", "setting up")) {
		ret = -EIO;
		goto fail;
	}
	if (user_version(ix, &v) || has_tables(ix, &any)) {
		logmsg(level, "%s: not an index (%s): remove it, or give another with --db", path,
		       sqlite3_errmsg(ix->db));
		ret = -EPROTO;
		goto fail;
	}
	if (!any && v == 0) {
		ret = exec(ix, "PRAGMA journal_mode=WAL", "setting WAL");
		if (!ret)
			ret = exec(ix, "BEGIN", "creating the schema");
		if (!ret)
			ret = exec(ix, index_schema_sql, "creating the schema");
		if (!ret)
			ret = exec(ix, "COMMIT", "creating the schema");
		if (ret)
			goto fail;
	} else if (v != INDEX_SCHEMA_VERSION) {
		logmsg(level,
		       "%s: not an index of this tlsasm (schema version %d, this tlsasm reads %d): "
		       "remove it to build it again, or give another with --db",
		       path, v, INDEX_SCHEMA_VERSION);
		ret = -EPROTO;
		goto fail;
	}
	ret = exec(ix, "PRAGMA synchronous=NORMAL", "setting up");
	if (ret)
		goto fail;
	*out = ix;
	return 0;
fail:
	if (ret == -ENOMEM)
		log_err("%s: %s", path, strerror(ENOMEM));
fail_quiet:
	index_close(ix);
	return ret;
}

void index_close(struct index *ix)
{
	if (!ix)
		return;
	sqlite3_finalize(ix->selected);
	sqlite3_finalize(ix->selected_chunk);
	sqlite3_close(ix->db);
	free(ix->path);
	free(ix);
}

struct sqlite3 *index_db(struct index *ix)
{
	return ix->db;
}

static void hex(char *out, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

static void addr_text(char *out, size_t size, uint8_t family, const uint8_t *addr)
{
	if (!inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, out, (socklen_t)size))
		snprintf(out, size, "?");
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s && s[0])
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

/* 2 * n hex digits into n bytes. 0 or -EPROTO. */
static int unhex(const unsigned char *hex, uint8_t *out, size_t n)
{
	if (strlen((const char *)hex) != 2 * n)
		return -EPROTO;
	for (size_t i = 0; i < n; i++)
		if (sscanf((const char *)hex + 2 * i, "%2hhx", &out[i]) != 1)
			return -EPROTO;
	return 0;
}

static int64_t u64_col(uint64_t v)
{
	return (int64_t)v; /* stored modulo 2^64, read back the same way */
}

/* The recordings of src, each given its row. */
static int put_recordings(struct run *r)
{
	const struct recording *recs;
	unsigned n = source_recordings(r->src, &recs);
	sqlite3_stmt *add = NULL, *find = NULL;
	int ret;

	r->rec_id = calloc(n ? n : 1, sizeof(*r->rec_id));
	if (!r->rec_id)
		return -ENOMEM;
	ret = prepare(
		r->ix,
		"INSERT INTO recordings(recording_id, host, kernel, machine, version, start_ns) "
		"VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(recording_id) DO UPDATE SET "
		"host = coalesce(excluded.host, host), kernel = coalesce(excluded.kernel, kernel), "
		"machine = coalesce(excluded.machine, machine), "
		"version = coalesce(excluded.version, version), "
		"start_ns = coalesce(excluded.start_ns, start_ns)",
		&add);
	if (!ret)
		ret = prepare(r->ix, "SELECT id FROM recordings WHERE recording_id = ?1", &find);
	for (unsigned i = 0; !ret && i < n; i++) {
		char id[33];

		hex(id, recs[i].id, 16);
		sqlite3_bind_text(add, 1, id, -1, SQLITE_TRANSIENT);
		bind_text(add, 2, recs[i].host);
		bind_text(add, 3, recs[i].kernel);
		bind_text(add, 4, recs[i].machine);
		bind_text(add, 5, recs[i].version);
		if (recs[i].have_header)
			sqlite3_bind_int64(add, 6, u64_col(recs[i].start_ns));
		else
			sqlite3_bind_null(add, 6);
		ret = step(r->ix, add);
		if (ret)
			break;
		sqlite3_bind_text(find, 1, id, -1, SQLITE_TRANSIENT);
		ret = step(r->ix, find);
		if (ret == 1) {
			r->rec_id[i] = sqlite3_column_int64(find, 0);
			ret = 0;
		} else if (!ret) {
			ret = db_fail(r->ix->db, r->ix->path,
				      "a recording just added is not there");
		}
		sqlite3_reset(find);
	}
	sqlite3_finalize(add);
	sqlite3_finalize(find);
	return ret;
}

/* What names the content of a journal file: the recording and sequence number of its first
 * chunk, or its device and inode when its first chunk header is damaged. */
static void identity(const char *path, const struct stat *sb, char *out, size_t size)
{
	uint8_t h[JR_CHUNK_HDR_SIZE];
	struct jr_chunk_meta m;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool ok = fd >= 0 && read(fd, h, sizeof(h)) == (ssize_t)sizeof(h) &&
		  !chunk_header_decode(h, &m);

	if (fd >= 0)
		close(fd);
	if (ok) {
		char id[33];

		hex(id, m.recording_id, 16);
		snprintf(out, size, "%s:%" PRIu64, id, m.seq);
	} else {
		snprintf(out, size, "file:%ju:%ju", (uintmax_t)sb->st_dev, (uintmax_t)sb->st_ino);
	}
}

/* A row for each file: found by its identity (its path brought up to date), or added; a journal
 * that had this path before, with another identity, loses it. */
static int put_journals(struct run *r, char *const *paths, unsigned n)
{
	sqlite3_stmt *find = NULL, *add = NULL, *drop = NULL, *upd = NULL;
	int ret;

	r->nfiles = n;
	r->journal_id = calloc(n ? n : 1, sizeof(*r->journal_id));
	if (!r->journal_id)
		return -ENOMEM;
	ret = prepare_all(r->ix, "SELECT id FROM journals WHERE identity = ?1", &find,
			  "INSERT INTO journals(identity, path) VALUES(?1, ?2)", &add,
			  "UPDATE journals SET path = NULL WHERE path = ?1 AND identity != ?2", &drop,
			  "UPDATE journals SET path = ?2, dev = ?3, ino = ?4, size = ?5, "
			  "mtime_ns = ?6 WHERE id = ?1",
			  &upd, NULL);
	for (unsigned i = 0; !ret && i < n; i++) {
		char id[128], abs[PATH_MAX];
		const char *path = realpath(paths[i], abs) ? abs : paths[i];
		struct stat sb;

		if (stat(paths[i], &sb)) {
			ret = -errno;
			log_err("%s: %s", paths[i], strerror(errno));
			break;
		}
		identity(paths[i], &sb, id, sizeof(id));
		sqlite3_bind_text(drop, 1, path, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(drop, 2, id, -1, SQLITE_TRANSIENT);
		ret = step(r->ix, drop);
		sqlite3_bind_text(find, 1, id, -1, SQLITE_TRANSIENT);
		if (!ret && (ret = step(r->ix, find)) == 1) {
			r->journal_id[i] = sqlite3_column_int64(find, 0);
			ret = 0;
		} else if (!ret) {
			sqlite3_bind_text(add, 1, id, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(add, 2, path, -1, SQLITE_TRANSIENT);
			ret = step(r->ix, add);
			r->journal_id[i] = sqlite3_last_insert_rowid(r->ix->db);
		}
		sqlite3_reset(find);
		if (ret)
			break;
		sqlite3_bind_int64(upd, 1, r->journal_id[i]);
		sqlite3_bind_text(upd, 2, path, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(upd, 3, (int64_t)sb.st_dev);
		sqlite3_bind_int64(upd, 4, (int64_t)sb.st_ino);
		sqlite3_bind_int64(upd, 5, (int64_t)sb.st_size);
		sqlite3_bind_int64(upd, 6, (int64_t)sb.st_mtim.tv_sec * 1000000000 +
						   sb.st_mtim.tv_nsec);
		ret = step(r->ix, upd);
	}
	sqlite3_finalize(find);
	sqlite3_finalize(add);
	sqlite3_finalize(drop);
	sqlite3_finalize(upd);
	return ret;
}

/* source_select's test: a chunk not indexed yet. A failed lookup reads the chunk. */
static bool not_indexed(void *ctx, const struct src_chunk *c)
{
	struct run *r = ctx;
	int rc;

	sqlite3_bind_int64(r->has_chunk, 1, r->rec_id[c->rec]);
	sqlite3_bind_int64(r->has_chunk, 2, u64_col(c->meta.seq));
	rc = sqlite3_step(r->has_chunk);
	sqlite3_reset(r->has_chunk);
	if (rc != SQLITE_ROW && c->meta.seq < r->min_seq[c->rec])
		r->min_seq[c->rec] = c->meta.seq;
	return rc != SQLITE_ROW;
}

static void copy_blob(uint8_t *dst, size_t size, sqlite3_stmt *st, int col)
{
	int n = sqlite3_column_bytes(st, col);
	const void *p = sqlite3_column_blob(st, col);

	memset(dst, 0, size);
	if (p && n > 0)
		memcpy(dst, p, (size_t)n < size ? (size_t)n : size);
}

static void copy_text(char *dst, size_t size, sqlite3_stmt *st, int col)
{
	const unsigned char *p = sqlite3_column_text(st, col);

	snprintf(dst, size, "%s", p ? (const char *)p : "");
}

/* The sockets and processes of earlier runs, for the recordings src has. */
static int load_owners(struct index *ix, const struct source *src, const int64_t *rec_id,
		       struct owners *o)
{
	const struct recording *recs;
	unsigned n = source_recordings(src, &recs);
	sqlite3_stmt *socks = NULL, *procs = NULL, *count = NULL;
	int64_t nsocks = 0, nprocs = 0, all_socks = 0, all_procs = 0;
	int ret;

	/* As many as the catalog keeps of one reading: of the sockets, those open when tlsrec
	 * started (seeded) first, then the newest; of the processes, the newest. In the order they
	 * were written, as they were read. */
	ret = prepare_all(ix,
			  "SELECT ts_ns, how, cookie, netns, cgroup, pid, tid, uid, gid, comm, family, "
			  "protocol, local_addr, local_port, remote_addr, remote_port FROM sockets "
			  "WHERE rowid IN (SELECT rowid FROM sockets WHERE recording = ?1 "
			  "ORDER BY how = 5 DESC, rowid DESC LIMIT ?2) ORDER BY rowid",
			  &socks,
			  "SELECT pid, start_ns, ppid, uid, gid, comm, first_ns, exit_ns "
			  "FROM processes WHERE id IN (SELECT id FROM processes WHERE recording = ?1 "
			  "AND start_ns != 0 ORDER BY id DESC LIMIT ?2) ORDER BY id",
			  &procs,
			  "SELECT (SELECT count(*) FROM sockets WHERE recording = ?1), "
			  "(SELECT count(*) FROM processes WHERE recording = ?1 AND start_ns != 0)",
			  &count, NULL);
	for (unsigned i = 0; !ret && i < n; i++) {
		int rc = 0;

		sqlite3_bind_int64(count, 1, rec_id[i]);
		if ((rc = step(ix, count)) == 1) {
			all_socks += sqlite3_column_int64(count, 0);
			all_procs += sqlite3_column_int64(count, 1);
			sqlite3_reset(count);
		} else {
			ret = rc < 0 ? rc : db_fail(ix->db, ix->path, "counting records");
			break;
		}
		sqlite3_bind_int64(socks, 1, rec_id[i]);
		sqlite3_bind_int64(socks, 2, CATALOG_MAX_SOCKETS - nsocks);
		sqlite3_bind_int64(procs, 2, CATALOG_MAX_PROCESSES - nprocs);
		while (!ret && (rc = step(ix, socks)) == 1) {
			struct tr_socket s = { .hdr = { .type = TR_REC_SOCKET, .len = sizeof(s) } };

			s.how = (uint8_t)sqlite3_column_int(socks, 1);
			s.cookie = (uint64_t)sqlite3_column_int64(socks, 2);
			s.netns = (uint64_t)sqlite3_column_int64(socks, 3);
			s.cgroup = (uint64_t)sqlite3_column_int64(socks, 4);
			s.pid = (uint32_t)sqlite3_column_int64(socks, 5);
			s.tid = (uint32_t)sqlite3_column_int64(socks, 6);
			s.uid = (uint32_t)sqlite3_column_int64(socks, 7);
			s.gid = (uint32_t)sqlite3_column_int64(socks, 8);
			copy_text(s.comm, sizeof(s.comm), socks, 9);
			s.family = (uint16_t)sqlite3_column_int(socks, 10);
			s.protocol = (uint8_t)sqlite3_column_int(socks, 11);
			copy_blob(s.local, sizeof(s.local), socks, 12);
			s.local_port = (uint16_t)sqlite3_column_int(socks, 13);
			copy_blob(s.remote, sizeof(s.remote), socks, 14);
			s.remote_port = (uint16_t)sqlite3_column_int(socks, 15);
			ret = owners_add_socket(o, i, (uint64_t)sqlite3_column_int64(socks, 0), &s);
			nsocks++;
		}
		if (!ret && rc < 0)
			ret = rc;
		sqlite3_reset(socks);
		sqlite3_bind_int64(procs, 1, rec_id[i]);
		while (!ret && (rc = step(ix, procs)) == 1) {
			struct tr_process p = { .hdr = { .type = TR_REC_PROCESS, .len = sizeof(p) },
						.how = TR_PROC_SEEN };

			p.pid = (uint32_t)sqlite3_column_int64(procs, 0);
			p.start_ns = (uint64_t)sqlite3_column_int64(procs, 1);
			p.ppid = (uint32_t)sqlite3_column_int64(procs, 2);
			p.uid = (uint32_t)sqlite3_column_int64(procs, 3);
			p.gid = (uint32_t)sqlite3_column_int64(procs, 4);
			copy_text(p.comm, sizeof(p.comm), procs, 5);
			ret = owners_add_process(o, i, (uint64_t)sqlite3_column_int64(procs, 6), &p);
			nprocs++;
			if (!ret && sqlite3_column_type(procs, 7) != SQLITE_NULL) {
				p.how = TR_PROC_EXIT;
				ret = owners_add_process(o, i,
							 (uint64_t)sqlite3_column_int64(procs, 7), &p);
			}
		}
		if (!ret && rc < 0)
			ret = rc;
		sqlite3_reset(procs);
	}
	if (!ret && all_socks > nsocks)
		log_warn("%s: %" PRId64 " SOCKET records past the %u read are not: their sockets may go without an owner",
			 ix->path, all_socks - nsocks, CATALOG_MAX_SOCKETS);
	if (!ret && all_procs > nprocs)
		log_warn("%s: %" PRId64 " processes past the %u read are not: they may go without a name",
			 ix->path, all_procs - nprocs, CATALOG_MAX_PROCESSES);
	sqlite3_finalize(socks);
	sqlite3_finalize(procs);
	sqlite3_finalize(count);
	return ret;
}

int index_load_owners(struct index *ix, const struct source *src, struct owners *o)
{
	struct run r = { .ix = ix, .src = (struct source *)src };
	int ret = exec(ix, "BEGIN", "reading");

	if (!ret)
		ret = put_recordings(&r);
	if (!ret)
		ret = load_owners(ix, src, r.rec_id, o);
	if (ret == -ENOMEM)
		log_err("%s: %s", ix->path, strerror(ENOMEM));
	/* Only recordings new to the index were written: nothing worth keeping. */
	exec(ix, "ROLLBACK", "reading");
	free(r.rec_id);
	return ret;
}

/* What a connection of an earlier run is (as CONN_COLS, from column 0 on) into c, for
 * tlsconn_resume, with its orig as side 0. 0, or -EPROTO for a row tlsasm did not write. */
#define CONN_COLS                                                                              \
	"id, protocol, family, orig_addr, orig_port, resp_addr, resp_port, netns, netns2, "     \
	"first_ns, last_ns, orig_packets, orig_bytes, resp_packets, resp_bytes, tls_state, "    \
	"orig_known, orig_flags, resp_flags, orig_cookie, resp_cookie, stream"

static int row_conn(sqlite3_stmt *st, unsigned rec, struct tls_conn *c)
{
	const unsigned char *proto = sqlite3_column_text(st, 1);
	char a[64], b[64];

	memset(c, 0, sizeof(*c));
	c->rec = rec;
	c->proto = proto && !strcmp((const char *)proto, "udp") ? IPPROTO_UDP : IPPROTO_TCP;
	c->family = sqlite3_column_int(st, 2) == 6 ? 6 : 4;
	copy_text(a, sizeof(a), st, 3);
	copy_text(b, sizeof(b), st, 5);
	if (inet_pton(c->family == 4 ? AF_INET : AF_INET6, a, c->addr[0]) != 1 ||
	    inet_pton(c->family == 4 ? AF_INET : AF_INET6, b, c->addr[1]) != 1)
		return -EPROTO;
	c->port[0] = (uint16_t)sqlite3_column_int(st, 4);
	c->port[1] = (uint16_t)sqlite3_column_int(st, 6);
	c->netns[0] = (uint64_t)sqlite3_column_int64(st, 7);
	c->netns[1] = (uint64_t)sqlite3_column_int64(st, 8);
	c->first_wall = (uint64_t)sqlite3_column_int64(st, 9);
	c->last_wall = (uint64_t)sqlite3_column_int64(st, 10);
	for (int s = 0; s < 2; s++) {
		int flags = sqlite3_column_int(st, 17 + s);

		c->packets[s] = (uint64_t)sqlite3_column_int64(st, 11 + 2 * s);
		c->bytes[s] = (uint64_t)sqlite3_column_int64(st, 12 + 2 * s);
		c->flags[s] = (uint8_t)(flags & 15);
		c->egress[s] = flags & 16;
		c->syn[s] = flags & (TLSCONN_F_SYN | TLSCONN_F_SYNACK);
		c->cookie[s] = (uint64_t)sqlite3_column_int64(st, 19 + s);
	}
	c->state = (uint8_t)(sqlite3_column_int(st, 15) & 3);
	c->client_known = sqlite3_column_int(st, 16);
	return 0;
}

/* Connections of earlier runs that packets of this one may continue: of the recordings read,
 * not closed, and idle at most INDEX_RESUME_NS before the first chunk to read (the first read:
 * they are read by their first time). */
static int resume_conns(struct run *r)
{
	const struct recording *recs;
	unsigned nrecs = source_recordings(r->src, &recs);
	sqlite3_stmt *st = NULL, *resumed = NULL;
	struct src_chunk k;
	uint64_t first;
	int ret, rc = 0;

	if (!source_nchunks(r->src))
		return 0;
	ret = source_chunk(r->src, 0, &k);
	if (ret)
		return ret;
	first = k.meta.first_ns;
	ret = prepare(r->ix,
		      "SELECT " CONN_COLS " FROM connections WHERE recording = ?1 AND last_ns >= ?2 AND "
		      "(protocol = 'udp' OR conn_state IN ('S0', 'S1', 'S2', 'S3', 'SH', 'SHR', 'OTH')) "
		      "ORDER BY id",
		      &st);
	if (!ret)
		ret = prepare(r->ix, "INSERT INTO temp.run_resumed VALUES(?1)", &resumed);
	for (unsigned i = 0; !ret && i < nrecs; i++) {
		sqlite3_bind_int64(st, 1, r->rec_id[i]);
		sqlite3_bind_int64(st, 2, u64_col(first > INDEX_RESUME_NS ? first - INDEX_RESUME_NS
									 : 0));
		while (!ret && (rc = step(r->ix, st)) == 1) {
			struct tls_conn c, *added;

			if (row_conn(st, i, &c))
				continue; /* not written by tlsasm */
			ret = tlsconn_resume(&r->t, &c, &added);
			if (!ret) {
				added->memo[ROW] = sqlite3_column_int64(st, 0);
				sqlite3_bind_int64(resumed, 1, added->memo[ROW]);
				ret = step(r->ix, resumed);
			}
			/* Where reading its streams stopped: its TLS details are read on (none kept, or
			 * not understood: they are not). */
			if (!ret && sqlite3_column_type(st, 21) == SQLITE_BLOB &&
			    tlsconn_stream_restore(&r->t, added, sqlite3_column_blob(st, 21),
						   (size_t)sqlite3_column_bytes(st, 21)) == -ENOMEM)
				ret = -ENOMEM;
		}
		if (!ret && rc < 0)
			ret = rc;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	sqlite3_finalize(resumed);
	return ret;
}

/*
 * Connections of earlier runs with an end whose owner is not known, of the recordings that SOCKET
 * records of this run came in: added to r->t (after the packets, which they take none of) for
 * owners_resolve to look for their owners again with every socket known now. put_conns writes the
 * owners found. 0 or -errno.
 */
static int add_unowned(struct run *r)
{
	const struct src_socket *socks;
	const struct recording *recs;
	size_t nsocks = source_sockets(r->src, &socks);
	unsigned nrecs = source_recordings(r->src, &recs);
	sqlite3_stmt *st = NULL;
	int ret, rc = 0;

	/* Those taken up again already are in r->t. */
	ret = prepare(r->ix,
		      "SELECT " CONN_COLS " FROM connections WHERE recording = ?1 AND "
		      "(orig_process IS NULL OR resp_process IS NULL) AND "
		      "id NOT IN (SELECT row FROM temp.run_resumed) ORDER BY id",
		      &st);
	for (unsigned i = 0; !ret && i < nrecs; i++) {
		bool any = false;

		for (size_t k = 0; !any && k < nsocks; k++)
			any = socks[k].rec == i;
		if (!any)
			continue;
		sqlite3_bind_int64(st, 1, r->rec_id[i]);
		while (!ret && (rc = step(r->ix, st)) == 1) {
			struct tls_conn c, *added;

			if (row_conn(st, i, &c))
				continue; /* not written by tlsasm */
			ret = tlsconn_resume(&r->t, &c, &added);
			if (!ret)
				added->memo[ROW] = sqlite3_column_int64(st, 0);
		}
		if (!ret && rc < 0)
			ret = rc;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return ret;
}

/* Count c's packets in the chunk they came in last (memo[CHUNK]) in temp.run_pairs. 0 or -EIO. */
static int put_pair(struct run *r, const struct tls_conn *c)
{
	if (!c->memo[CHUNK])
		return 0;
	sqlite3_bind_int64(r->pair, 1, (int64_t)c->id);
	sqlite3_bind_int64(r->pair, 2, c->memo[CHUNK] - 1);
	sqlite3_bind_int64(r->pair, 3, c->memo[PACKETS]);
	return step(r->ix, r->pair);
}

/* Read the chunks left in src: connections, owners, counts. */
static int read_packets(struct run *r, struct index_stats *st)
{
	struct packet_view v;
	uint64_t n = 0;
	int ret;

	while ((ret = source_next(r->src, &v)) > 0) {
		struct tls_conn *c;
		int side, found = owners_take_packet(&r->t, r->src, &v, n++, &c, &side);

		if (found < 0)
			return found;
		if (!found)
			continue;
		if (c->memo[CHUNK] == (int64_t)v.chunk + 1) {
			c->memo[PACKETS]++;
			continue;
		}
		ret = put_pair(r, c);
		if (ret)
			return ret;
		c->memo[CHUNK] = (int64_t)v.chunk + 1;
		c->memo[PACKETS] = 1;
	}
	st->packets = n;
	return ret;
}

/* The processes.id of the owner o->owner[k]: its PROCESS record's row, or a row of its own for
 * a pid no PROCESS record named (start_ns 0). */
static int proc_id(struct run *r, const struct owner *w, int64_t *out)
{
	size_t k = (size_t)(w - r->o.owner);
	const struct tr_process *p = owners_process(&r->o, w->proc);
	int ret;

	if (r->proc_id[k]) {
		*out = r->proc_id[k];
		return 0;
	}
	sqlite3_bind_int64(r->proc_add, 1, r->rec_id[w->rec]);
	sqlite3_bind_int64(r->proc_add, 2, w->pid);
	sqlite3_bind_int64(r->proc_add, 3, p ? u64_col(p->start_ns) : 0);
	sqlite3_bind_int64(r->proc_add, 4, w->uid);
	sqlite3_bind_int64(r->proc_add, 5, w->gid);
	bind_text(r->proc_add, 6, w->comm);
	ret = step(r->ix, r->proc_add);
	if (ret)
		return ret;
	sqlite3_bind_int64(r->proc_find, 1, r->rec_id[w->rec]);
	sqlite3_bind_int64(r->proc_find, 2, w->pid);
	sqlite3_bind_int64(r->proc_find, 3, p ? u64_col(p->start_ns) : 0);
	ret = step(r->ix, r->proc_find);
	if (ret == 1) {
		*out = r->proc_id[k] = sqlite3_column_int64(r->proc_find, 0);
		ret = 0;
	} else if (!ret) {
		ret = db_fail(r->ix->db, r->ix->path, "a process just added is not there");
	}
	sqlite3_reset(r->proc_find);
	return ret;
}

/* source_on_secret's consumer: the secrets row of each SECRET or KEYLOG record that gives key log
 * lines, as it is read (a KEYLOG record names no cipher suite: 0; its version is TLS 1.2's for
 * CLIENT_RANDOM). A record whose secrets are all zeros gives a conversion nothing: it is not
 * counted as the secrets of its connection. */
static int put_secret(void *ctx, const struct src_secret *sec)
{
	struct run *r = ctx;
	const struct src_library *libs;
	bool given = sec->type == TR_REC_KEYLOG;
	sqlite3_stmt *k = r->secret_add;
	struct src_chunk c;
	char cr[65];
	int ret;

	if (!(given ? keylog_given_useful(&sec->k) : keylog_secret_useful(&sec->s)))
		return 0;
	ret = source_chunk(r->src, sec->chunk, &c);
	if (ret)
		return ret;
	source_libraries(r->src, &libs);
	hex(cr, given ? sec->k.client_random : sec->s.client_random, 32);
	sqlite3_bind_int64(k, 1, r->rec_id[sec->rec]);
	sqlite3_bind_int64(k, 2, u64_col(sec->wall));
	sqlite3_bind_int64(k, 3, given ? sec->k.pid : sec->s.pid);
	sqlite3_bind_int64(k, 4, given ? sec->k.tid : sec->s.tid);
	sqlite3_bind_text(k, 5, cr, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(k, 6, !given ? sec->s.version :
			 sec->k.label_len == 13 && !memcmp(sec->k.label, "CLIENT_RANDOM", 13) ?
							0x0303 : 0x0304);
	sqlite3_bind_int64(k, 7, given ? 0 : sec->s.cipher);
	bind_text(k, 8, sec->lib >= 0 ? libs[sec->lib].path : NULL);
	sqlite3_bind_int64(k, 9, r->journal_id[c.file]);
	sqlite3_bind_int64(k, 10, u64_col(c.offset));
	return step(r->ix, k);
}

/* The SOCKET and PROCESS records this run read. */
static int put_records(struct run *r)
{
	const struct src_socket *socks;
	const struct src_process *procs;
	size_t nsocks = source_sockets(r->src, &socks), nprocs = source_processes(r->src, &procs);
	sqlite3_stmt *s = NULL, *p = NULL;
	int ret;

	ret = prepare(r->ix,
		      "INSERT INTO sockets VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
		      "?13, ?14, ?15, ?16, ?17)",
		      &s);
	if (!ret)
		ret = prepare(r->ix,
			      "INSERT INTO processes(recording, pid, start_ns, ppid, uid, gid, comm, "
			      "exe, cmdline, first_ns, exit_ns, exit_code) "
			      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
			      "ON CONFLICT(recording, pid, start_ns) DO UPDATE SET "
			      "ppid = coalesce(excluded.ppid, ppid), uid = excluded.uid, "
			      "gid = excluded.gid, comm = coalesce(excluded.comm, comm), "
			      "exe = coalesce(excluded.exe, exe), "
			      "cmdline = coalesce(excluded.cmdline, cmdline), "
			      "first_ns = min(coalesce(first_ns, excluded.first_ns), excluded.first_ns), "
			      "exit_ns = coalesce(excluded.exit_ns, exit_ns), "
			      "exit_code = coalesce(excluded.exit_code, exit_code)",
			      &p);
	for (size_t i = 0; !ret && i < nsocks; i++) {
		const struct tr_socket *x = &socks[i].s;

		sqlite3_bind_int64(s, 1, r->rec_id[socks[i].rec]);
		sqlite3_bind_int64(s, 2, u64_col(socks[i].wall));
		sqlite3_bind_int(s, 3, x->how);
		sqlite3_bind_int64(s, 4, u64_col(x->cookie));
		sqlite3_bind_int64(s, 5, u64_col(x->netns));
		sqlite3_bind_int64(s, 6, u64_col(x->cgroup));
		sqlite3_bind_int64(s, 7, x->pid);
		sqlite3_bind_int64(s, 8, x->tid);
		sqlite3_bind_int64(s, 9, x->uid);
		sqlite3_bind_int64(s, 10, x->gid);
		sqlite3_bind_text(s, 11, x->comm, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(s, 12, x->family);
		sqlite3_bind_int(s, 13, x->protocol);
		sqlite3_bind_blob(s, 14, x->local, sizeof(x->local), SQLITE_TRANSIENT);
		sqlite3_bind_int(s, 15, x->local_port);
		sqlite3_bind_blob(s, 16, x->remote, sizeof(x->remote), SQLITE_TRANSIENT);
		sqlite3_bind_int(s, 17, x->remote_port);
		ret = step(r->ix, s);
	}
	for (size_t i = 0; !ret && i < nprocs; i++) {
		const struct src_process *x = &procs[i];
		bool exit = x->p.how == TR_PROC_EXIT;
		char *args = NULL;

		/* Arguments each ended by a NUL: separated by spaces instead. */
		if (x->cmdline && (args = malloc(x->cmdline_len + 1)) != NULL) {
			memcpy(args, x->cmdline, x->cmdline_len + 1);
			for (size_t c = 0; c + 1 < x->cmdline_len; c++)
				if (!args[c])
					args[c] = ' ';
		}
		sqlite3_bind_int64(p, 1, r->rec_id[x->rec]);
		sqlite3_bind_int64(p, 2, x->p.pid);
		sqlite3_bind_int64(p, 3, u64_col(x->p.start_ns));
		if (exit)
			sqlite3_bind_null(p, 4);
		else
			sqlite3_bind_int64(p, 4, x->p.ppid);
		sqlite3_bind_int64(p, 5, x->p.uid);
		sqlite3_bind_int64(p, 6, x->p.gid);
		bind_text(p, 7, x->p.comm);
		bind_text(p, 8, x->exe);
		bind_text(p, 9, args);
		sqlite3_bind_int64(p, 10, u64_col(x->wall));
		if (exit) {
			sqlite3_bind_int64(p, 11, u64_col(x->wall));
			sqlite3_bind_int(p, 12, x->p.exit_code);
		} else {
			sqlite3_bind_null(p, 11);
			sqlite3_bind_null(p, 12);
		}
		free(args);
		ret = step(r->ix, p);
	}
	sqlite3_finalize(s);
	sqlite3_finalize(p);
	return ret;
}

static void bind_owner(struct run *r, sqlite3_stmt *st, int col, const struct owner *w, int *ret)
{
	int64_t id;

	if (!w || *ret || (*ret = proc_id(r, w, &id))) {
		sqlite3_bind_null(st, col);
		sqlite3_bind_null(st, col + 1);
		return;
	}
	sqlite3_bind_int64(st, col, id);
	sqlite3_bind_int64(st, col + 1, w->tid);
}

/* The statements put_conns writes with, and what it counts. */
struct put {
	struct run *r;
	struct index_stats *st;
	sqlite3_stmt *add, *upd, *own, *rows;
	sqlite3_stmt *has_secret, *session_get, *session_put; /* follow_session's */
};

/* The index as resume_follow's store of sessions (ctx is the put): the sessions table, and the
 * secrets table for which handshakes have a master secret; a resumed connection's row says its
 * root in resumes (put_conn), so there is nothing to take. */
static int ix_has(void *ctx, const uint8_t cr[32])
{
	struct put *w = ctx;
	char crx[65];
	int ret;

	hex(crx, cr, 32);
	sqlite3_bind_text(w->has_secret, 1, crx, -1, SQLITE_TRANSIENT);
	ret = step(w->r->ix, w->has_secret);
	if (ret == 1)
		sqlite3_reset(w->has_secret);
	return ret;
}

/* The latest naming before c, of this run or an earlier one. */
static int ix_find(void *ctx, const struct tls_conn *c, const uint8_t *key, size_t len,
		   uint8_t root[32])
{
	struct put *w = ctx;
	int ret;

	sqlite3_bind_blob(w->session_get, 1, key, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(w->session_get, 2, u64_col(c->first_wall));
	ret = step(w->r->ix, w->session_get);
	if (ret == 1) {
		const unsigned char *t = sqlite3_column_text(w->session_get, 0);

		ret = t && !unhex(t, root, 32);
		sqlite3_reset(w->session_get);
	}
	return ret;
}

static int ix_name(void *ctx, const struct tls_conn *c, const uint8_t *key, size_t len,
		   const uint8_t root[32])
{
	struct put *w = ctx;
	char rootx[65];

	hex(rootx, root, 32);
	sqlite3_bind_blob(w->session_put, 1, key, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(w->session_put, 2, u64_col(c->first_wall));
	sqlite3_bind_int64(w->session_put, 3, w->r->rec_id[c->rec]);
	sqlite3_bind_text(w->session_put, 4, rootx, -1, SQLITE_TRANSIENT);
	return step(w->r->ix, w->session_put);
}

/*
 * TLS 1.2 session resumption (resume.h; survey.c does the same for a conversion): rootx is the
 * client random (hex) whose master secret c (client random cr) resumed, always one with a SECRET
 * record, or "" when c is not such a resumed connection. Returns 1 when c has a master secret (its
 * own or its session's), 0 when not (yet), or -errno.
 */
static int follow_session(struct put *w, const struct tls_conn *c, const uint8_t cr[32],
			  char rootx[65])
{
	const struct resume_store st = { ix_has, ix_find, NULL, ix_name, w };
	uint8_t root[32];
	int ret = resume_follow(&st, c, cr, root);

	rootx[0] = '\0';
	if (ret > 0 && memcmp(root, cr, 32))
		hex(rootx, root, 32);
	return ret;
}

/* Whether c, a handshake without a master secret so far, is a TLS 1.2 one that a later run may
 * give one: its SECRET record, or the naming of the session it resumed, in chunks yet to come. */
static bool awaits_secret(const struct tls_conn *c)
{
	uint8_t key[SESSION_KEY_MAX];
	uint16_t v = tlsconn_version(c);

	return v >= 0x0300 && v <= 0x0303 &&
	       (tlsconn_abbreviated(c) || tlsconn_session(c, 2, key) || tlsconn_session(c, 3, key));
}

/* Connection c: added, or brought up to date when taken up again. 0 or -errno. */
static int put_conn(void *ctx, const struct tls_conn *c)
{
	struct put *w = ctx;
	struct run *r = w->r;
	int o = tlsconn_client_side(c), ret = put_pair(r, c);
	int64_t row = c->memo[ROW];
	sqlite3_stmt *q = row ? w->upd : w->add, *own = w->own;
	const uint8_t *cr = tlsconn_client_random(c);
	uint16_t version = tlsconn_version(c);
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], crx[65], root[65] = "";
	bool keep = false;
	uint8_t *stream = NULL;
	size_t stream_len = 0;

	if (ret)
		return ret;
	/* A TLS 1.2 handshake kept for its secret (awaits_secret) is followed again below, packets
	 * or not: this run's chunks may hold its SECRET record. */
	if (row && !c->memo[CHUNK] && !(cr && awaits_secret(c))) {
		/* Taken up again, but no packet of it came: owners found now, if any. */
		const struct owner *wo = owners_end(&r->o, c, o), *wr = owners_end(&r->o, c, !o);

		if (!wo && !wr)
			return 0;
		bind_owner(r, own, 1, wo, &ret);
		bind_owner(r, own, 3, wr, &ret);
		sqlite3_bind_int64(own, 5, row);
		ret = ret ? ret : step(r->ix, own);
		sqlite3_reset(own);
		sqlite3_clear_bindings(own);
		return ret;
	}

	addr_text(a, sizeof(a), c->family, c->addr[o]);
	addr_text(b, sizeof(b), c->family, c->addr[!o]);
	sqlite3_bind_int64(q, 1, r->rec_id[c->rec]);
	sqlite3_bind_text(q, 2, c->proto == IPPROTO_UDP ? "udp" : "tcp", -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 3, c->family);
	sqlite3_bind_text(q, 4, a, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(q, 5, c->port[o]);
	sqlite3_bind_text(q, 6, b, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(q, 7, c->port[!o]);
	sqlite3_bind_int64(q, 8, u64_col(c->netns[0]));
	sqlite3_bind_int64(q, 9, u64_col(c->netns[1]));
	bind_owner(r, q, 10, owners_end(&r->o, c, o), &ret);
	bind_owner(r, q, 12, owners_end(&r->o, c, !o), &ret);
	sqlite3_bind_int64(q, 14, u64_col(c->first_wall));
	sqlite3_bind_int64(q, 15, u64_col(c->last_wall));
	sqlite3_bind_int64(q, 16, u64_col(c->packets[o]));
	sqlite3_bind_int64(q, 17, u64_col(c->bytes[o]));
	sqlite3_bind_int64(q, 18, u64_col(c->packets[!o]));
	sqlite3_bind_int64(q, 19, u64_col(c->bytes[!o]));
	if (version)
		sqlite3_bind_int(q, 20, version);
	else
		sqlite3_bind_null(q, 20);
	bind_text(q, 21, c->sni);
	bind_text(q, 22, c->alpn);
	if (cr)
		hex(crx, cr, 32);
	if (cr && !ret) {
		ret = follow_session(w, c, cr, root);
		/* Its streams are kept for a later run to name its sessions. */
		keep = !ret && awaits_secret(c);
		ret = ret < 0 ? ret : 0;
	}
	bind_text(q, 23, cr ? crx : NULL);
	sqlite3_bind_text(q, 24, tlsconn_conn_state(c), -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 25, c->state);
	sqlite3_bind_int(q, 26, c->client_known);
	sqlite3_bind_int(q, 27, c->flags[o] | (c->egress[o] ? 16 : 0));
	sqlite3_bind_int(q, 28, c->flags[!o] | (c->egress[!o] ? 16 : 0));
	sqlite3_bind_int64(q, 29, u64_col(c->cookie[o]));
	sqlite3_bind_int64(q, 30, u64_col(c->cookie[!o]));
	if (!ret && tlsconn_stream_save(c, o, keep, &stream, &stream_len) < 0)
		ret = -ENOMEM;
	if (stream)
		sqlite3_bind_blob(q, 31, stream, (int)stream_len, free);
	else
		sqlite3_bind_null(q, 31);
	bind_text(q, 34, root[0] ? root : NULL);
	if (row) {
		/* A row taken up again had its orig as side 0. */
		sqlite3_bind_int64(q, 32, row);
		sqlite3_bind_int(q, 33, o != 0);
	}
	if (!ret)
		ret = step(r->ix, q);
	else
		sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	if (!ret && !row) {
		row = sqlite3_last_insert_rowid(r->ix->db);
		w->st->conns_new++;
	} else if (!ret) {
		w->st->conns_resumed++;
	}
	if (!ret) {
		sqlite3_bind_int64(w->rows, 1, (int64_t)c->id);
		sqlite3_bind_int64(w->rows, 2, row);
		ret = step(r->ix, w->rows);
	}
	return ret;
}

/* Every connection of t: the new ones added, those taken up again brought up to date. */
static int put_conns(struct run *r, struct index_stats *st)
{
	static const char cols[] =
		"recording, protocol, family, orig_addr, orig_port, resp_addr, resp_port, netns, "
		"netns2, orig_process, orig_tid, resp_process, resp_tid, first_ns, last_ns, "
		"orig_packets, orig_bytes, resp_packets, resp_bytes, tls_version, sni, alpn, "
		"client_random, conn_state, tls_state, orig_known, orig_flags, resp_flags, "
		"orig_cookie, resp_cookie, stream, resumes";
	char sql[1024];
	sqlite3_stmt *add = NULL, *upd = NULL, *own = NULL, *rows = NULL;
	int ret;

	snprintf(sql, sizeof(sql),
		 "INSERT INTO connections(%s) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
		 "?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, "
		 "?29, ?30, ?31, ?34)",
		 cols);
	ret = prepare(r->ix, sql, &add);
	/* ?33: orig and resp change places (the client became known): the owners known go with
	 * their ends. The values on the right are the row's before the update. */
	if (!ret)
		ret = prepare(r->ix,
			      "UPDATE connections SET orig_addr = ?4, orig_port = ?5, resp_addr = ?6, "
			      "resp_port = ?7, netns2 = ?9, "
			      "orig_process = coalesce(?10, CASE WHEN ?33 THEN resp_process "
			      "ELSE orig_process END), "
			      "orig_tid = coalesce(?11, CASE WHEN ?33 THEN resp_tid ELSE orig_tid END), "
			      "resp_process = coalesce(?12, CASE WHEN ?33 THEN orig_process "
			      "ELSE resp_process END), "
			      "resp_tid = coalesce(?13, CASE WHEN ?33 THEN orig_tid ELSE resp_tid END), "
			      "last_ns = ?15, "
			      "orig_packets = ?16, orig_bytes = ?17, resp_packets = ?18, "
			      "resp_bytes = ?19, tls_version = coalesce(?20, tls_version), "
			      "sni = coalesce(?21, sni), alpn = coalesce(?22, alpn), "
			      "client_random = coalesce(?23, client_random), conn_state = ?24, "
			      "tls_state = ?25, orig_known = ?26, orig_flags = ?27, "
			      "resp_flags = ?28, orig_cookie = ?29, resp_cookie = ?30, stream = ?31, "
			      "resumes = coalesce(?34, resumes) WHERE id = ?32",
			      &upd);
	if (!ret)
		ret = prepare(r->ix,
			      "UPDATE connections SET orig_process = coalesce(orig_process, ?1), "
			      "orig_tid = CASE WHEN orig_process IS NULL THEN ?2 ELSE orig_tid END, "
			      "resp_process = coalesce(resp_process, ?3), "
			      "resp_tid = CASE WHEN resp_process IS NULL THEN ?4 ELSE resp_tid END WHERE id = ?5",
			      &own);
	if (!ret)
		ret = prepare(r->ix, "INSERT INTO temp.run_rows VALUES(?1, ?2)", &rows);
	struct put w = { .r = r, .st = st, .add = add, .upd = upd, .own = own, .rows = rows };

	if (!ret)
		ret = prepare_all(r->ix, "SELECT 1 FROM secrets WHERE client_random = ?1 LIMIT 1",
				  &w.has_secret,
				  "SELECT client_random FROM sessions WHERE id = ?1 AND first_ns < ?2 "
				  "ORDER BY first_ns DESC LIMIT 1",
				  &w.session_get,
				  "INSERT OR REPLACE INTO sessions VALUES(?1, ?2, ?3, ?4)",
				  &w.session_put, NULL);
	if (!ret)
		ret = tlsconn_each(&r->t, put_conn, &w);
	sqlite3_finalize(add);
	sqlite3_finalize(upd);
	sqlite3_finalize(own);
	sqlite3_finalize(rows);
	sqlite3_finalize(w.has_secret);
	sqlite3_finalize(w.session_get);
	sqlite3_finalize(w.session_put);
	return ret;
}

/* The chunks read, which chunks hold which connection's packets, and what each journal gave. */
static int put_chunks(struct run *r)
{
	sqlite3_stmt *c = NULL, *p = NULL, *j = NULL;
	int ret;

	ret = prepare_all(r->ix,
			  "INSERT OR IGNORE INTO chunks VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
			  &c,
			  "INSERT INTO conn_chunks SELECT w.row, ?2, ?3, p.packets "
			  "FROM temp.run_pairs p JOIN temp.run_rows w USING (conn) WHERE p.chunk = ?1 "
			  "ON CONFLICT DO UPDATE SET packets = packets + excluded.packets",
			  &p,
			  "UPDATE journals SET chunks = (SELECT count(*) FROM chunks WHERE journal = ?1), "
			  "indexed_ns = ?2 WHERE id = ?1",
			  &j, NULL);
	for (size_t i = 0; !ret && i < source_nchunks(r->src); i++) {
		struct src_chunk k;

		ret = source_chunk(r->src, i, &k);
		if (ret)
			break;
		sqlite3_bind_int64(c, 1, r->journal_id[k.file]);
		sqlite3_bind_int64(c, 2, u64_col(k.offset));
		sqlite3_bind_int64(c, 3, r->rec_id[k.rec]);
		sqlite3_bind_int64(c, 4, u64_col(k.meta.seq));
		sqlite3_bind_int64(c, 5, u64_col(k.meta.first_ns));
		sqlite3_bind_int64(c, 6, u64_col(k.meta.last_ns));
		sqlite3_bind_int64(c, 7, k.meta.records);
		sqlite3_bind_int64(c, 8, u64_col(k.packets));
		sqlite3_bind_int64(c, 9, k.meta.raw_len);
		sqlite3_bind_int64(c, 10, k.meta.frame_len);
		ret = step(r->ix, c);
		/* Which connections have packets in it, and how many. */
		sqlite3_bind_int64(p, 1, (int64_t)i);
		sqlite3_bind_int64(p, 2, r->journal_id[k.file]);
		sqlite3_bind_int64(p, 3, u64_col(k.offset));
		ret = ret ? ret : step(r->ix, p);
	}
	for (unsigned f = 0; !ret && f < r->nfiles; f++) {
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		sqlite3_bind_int64(j, 1, r->journal_id[f]);
		sqlite3_bind_int64(j, 2, (int64_t)now.tv_sec * 1000000000 + now.tv_nsec);
		ret = step(r->ix, j);
	}
	sqlite3_finalize(c);
	sqlite3_finalize(p);
	sqlite3_finalize(j);
	return ret;
}

static void run_free(struct run *r)
{
	sqlite3_finalize(r->has_chunk);
	sqlite3_finalize(r->proc_find);
	sqlite3_finalize(r->proc_add);
	sqlite3_finalize(r->pair);
	sqlite3_finalize(r->secret_add);
	source_close(r->src);
	tlsconn_free(&r->t);
	owners_free(&r->o);
	free(r->rec_id);
	free(r->journal_id);
	free(r->proc_id);
	free(r->min_seq);
}

static int new_min_seq(struct run *r)
{
	const struct recording *recs;
	unsigned n = source_recordings(r->src, &recs);

	r->min_seq = malloc((n + 1) * sizeof(*r->min_seq));
	if (!r->min_seq)
		return -ENOMEM;
	for (unsigned i = 0; i <= n; i++)
		r->min_seq[i] = UINT64_MAX;
	return 0;
}

/*
 * Chunks to read that are older (by sequence number) than some of their recording already
 * indexed: the connections, owners and counts of the later ones were made without them. Such a
 * recording is indexed again from the start: its rows are deleted (in the run's transaction) and
 * the files of the index that hold its chunks are added to *paths (*n of them, those after first
 * malloc'd), to be read with the others. *redo tells whether this happened. 0 or -errno.
 */
static int reindex_older(struct run *r, char ***paths, unsigned *n, bool *redo)
{
	static const char *const drop[] = {
		"DELETE FROM conn_chunks WHERE conn IN "
		"(SELECT id FROM connections WHERE recording = ?1)",
		"DELETE FROM connections WHERE recording = ?1",
		"DELETE FROM sockets WHERE recording = ?1",
		"DELETE FROM secrets WHERE recording = ?1",
		"DELETE FROM sessions WHERE recording = ?1",
		"DELETE FROM processes WHERE recording = ?1",
		"DELETE FROM chunks WHERE recording = ?1",
	};
	const struct recording *recs;
	unsigned nrecs = source_recordings(r->src, &recs);
	sqlite3_stmt *max = NULL, *files = NULL, *del[sizeof(drop) / sizeof(drop[0])] = { NULL };
	int ret, rc = 0;

	*redo = false;
	ret = prepare_all(r->ix, "SELECT max(seq) FROM chunks WHERE recording = ?1", &max,
			  "SELECT id, path, identity FROM journals WHERE path IS NOT NULL AND id IN "
			  "(SELECT journal FROM chunks WHERE recording = ?1)",
			  &files, NULL);
	for (size_t k = 0; !ret && k < sizeof(drop) / sizeof(drop[0]); k++)
		ret = prepare(r->ix, drop[k], &del[k]);
	for (unsigned i = 0; !ret && i < nrecs; i++) {
		bool older;

		if (r->min_seq[i] == UINT64_MAX)
			continue;
		sqlite3_bind_int64(max, 1, r->rec_id[i]);
		ret = step(r->ix, max);
		older = ret == 1 && sqlite3_column_type(max, 0) != SQLITE_NULL &&
			(uint64_t)sqlite3_column_int64(max, 0) > r->min_seq[i];
		sqlite3_reset(max);
		if (ret < 0 || !older) {
			ret = ret < 0 ? ret : 0;
			continue;
		}
		ret = 0;
		*redo = true;
		log_info("%s: chunks older than some indexed: recording %u is indexed again",
			 r->ix->path, i);
		sqlite3_bind_int64(files, 1, r->rec_id[i]);
		while (!ret && (rc = step(r->ix, files)) == 1) {
			int64_t id = sqlite3_column_int64(files, 0);
			const unsigned char *path = sqlite3_column_text(files, 1);
			const unsigned char *ident = sqlite3_column_text(files, 2);
			char now[128], **more;
			bool given = false;
			struct stat sb;

			for (unsigned f = 0; f < r->nfiles && !given; f++)
				given = r->journal_id[f] == id;
			if (given || !path || !ident || stat((const char *)path, &sb))
				continue;
			identity((const char *)path, &sb, now, sizeof(now));
			if (strcmp(now, (const char *)ident))
				continue; /* another file has its name now */
			more = realloc(*paths, (*n + 1) * sizeof(**paths));
			if (!more) {
				ret = -ENOMEM;
				break;
			}
			*paths = more;
			if (!((*paths)[*n] = strdup((const char *)path))) {
				ret = -ENOMEM;
				break;
			}
			(*n)++;
		}
		if (!ret && rc < 0)
			ret = rc;
		sqlite3_reset(files);
		for (size_t k = 0; !ret && k < sizeof(drop) / sizeof(drop[0]); k++) {
			sqlite3_bind_int64(del[k], 1, r->rec_id[i]);
			ret = step(r->ix, del[k]);
		}
	}
	sqlite3_finalize(max);
	sqlite3_finalize(files);
	for (size_t k = 0; k < sizeof(drop) / sizeof(drop[0]); k++)
		sqlite3_finalize(del[k]);
	return ret;
}

int index_update(struct index *ix, char *const *given, unsigned ngiven, struct index_stats *st)
{
	struct run r = { .ix = ix };
	char **paths = malloc((ngiven ? ngiven : 1) * sizeof(*paths));
	unsigned n = ngiven;
	bool began = false, redo;
	int ret;

	memset(st, 0, sizeof(*st));
	if (!paths) {
		log_err("%s: %s", ix->path, strerror(ENOMEM));
		return -ENOMEM;
	}
	memcpy(paths, given, ngiven * sizeof(*paths));
again:
	ret = source_open(paths, n, &r.src);
	if (ret && !began)
		goto out;
	if (ret)
		goto rollback;
	if (!began) {
		ret = exec(ix, "BEGIN IMMEDIATE", "starting a transaction");
		if (ret)
			goto out;
		began = true;
	}
	ret = exec(ix, run_tables, "making the tables of a run");
	if (!ret)
		ret = prepare(ix,
			      "INSERT INTO temp.run_pairs VALUES(?1, ?2, ?3) ON CONFLICT DO UPDATE "
			      "SET packets = packets + excluded.packets",
			      &r.pair);
	if (!ret)
		ret = put_recordings(&r);
	if (!ret)
		ret = new_min_seq(&r);
	if (!ret)
		ret = put_journals(&r, paths, n);
	if (!ret)
		ret = prepare(ix, "SELECT 1 FROM chunks WHERE recording = ?1 AND seq = ?2",
			      &r.has_chunk);
	if (ret)
		goto rollback;
	st->chunks = source_nchunks(r.src);
	ret = source_select(r.src, not_indexed, &r);
	if (ret)
		goto rollback;
	if (!source_nchunks(r.src)) {
		ret = put_chunks(&r);
		goto commit;
	}
	ret = reindex_older(&r, &paths, &n, &redo);
	if (ret)
		goto rollback;
	if (redo) {
		run_free(&r);
		memset(&r, 0, sizeof(r));
		r.ix = ix;
		goto again;
	}
	ret = load_owners(ix, r.src, r.rec_id, &r.o);
	if (!ret)
		ret = resume_conns(&r);
	if (!ret)
		ret = prepare(ix, "INSERT INTO secrets VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
			      &r.secret_add);
	source_on_secret(r.src, put_secret, &r);
	source_count_packets(r.src);
	if (!ret)
		ret = read_packets(&r, st);
	if (!ret)
		ret = owners_take_records(&r.o, r.src);
	if (!ret)
		ret = add_unowned(&r);
	if (!ret)
		ret = owners_resolve(&r.o);
	if (!ret && !(r.proc_id = calloc(r.o.nsocks + 1, sizeof(*r.proc_id))))
		ret = -ENOMEM;
	if (!ret)
		ret = prepare(ix,
			      "INSERT OR IGNORE INTO processes(recording, pid, start_ns, uid, gid, comm) "
			      "VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
			      &r.proc_add);
	if (!ret)
		ret = prepare(ix,
			      "SELECT id FROM processes WHERE recording = ?1 AND pid = ?2 AND "
			      "start_ns = ?3",
			      &r.proc_find);
	if (!ret)
		ret = put_records(&r);
	if (!ret)
		ret = put_conns(&r, st);
	if (!ret)
		ret = put_chunks(&r);
	if (!ret)
		ret = exec(ix,
			   "UPDATE connections SET has_secrets = 1 WHERE has_secrets = 0 AND "
			   "(client_random IN (SELECT client_random FROM secrets) OR "
			   "resumes IS NOT NULL)",
			   "matching secrets");
commit:
	if (ret)
		goto rollback;
	ret = exec(ix, "COMMIT", "committing");
	if (ret)
		goto rollback;
	st->chunks_read = source_chunks(r.src);
	st->damage = source_damage(r.src);
	goto out;
rollback:
	if (ret == -ENOMEM)
		log_err("%s: %s", ix->path, strerror(ENOMEM));
	exec(ix, "ROLLBACK", "rolling back");
out:
	run_free(&r);
	for (unsigned i = ngiven; i < n; i++)
		free(paths[i]);
	free(paths);
	return ret;
}

/* a < b for times stored as the int64 of a uint64 (wall clock ns, modulo 2^64). */
#define U64_LESS(a, b) "(CASE WHEN (" a " < 0) = (" b " < 0) THEN " a " < " b " ELSE " b " < 0 END)"

/*
 * Invariants every index this tlsasm builds keeps, in one scan of each table: each names what it
 * finds broken. (Not the address strings: a GLOB over them costs more than all the rest.)
 */
static const char *const invariants[] = {
	"SELECT CASE WHEN " U64_LESS("last_ns", "first_ns") " THEN 'a connection that ends before "
	"it starts' WHEN min(orig_packets, orig_bytes, resp_packets, resp_bytes) < 0 THEN "
	"'a connection with a count below zero' WHEN protocol NOT IN ('tcp', 'udp') OR "
	"family NOT IN (4, 6) OR tls_state NOT BETWEEN 0 AND 3 OR has_secrets NOT IN (0, 1) OR "
	"orig_port NOT BETWEEN 0 AND 65535 OR resp_port NOT BETWEEN 0 AND 65535 OR "
	"conn_state NOT IN ('S0', 'S1', 'SF', 'REJ', 'S2', 'S3', 'RSTO', 'RSTR', 'RSTOS0', "
	"'RSTRH', 'SH', 'SHR', 'OTH') THEN 'a connection of no known protocol, family, state or "
	"port' WHEN (orig_process IS NOT NULL AND NOT EXISTS (SELECT 1 FROM processes p WHERE "
	"p.id = c.orig_process)) OR (resp_process IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "
	"processes p WHERE p.id = c.resp_process)) THEN 'a connection owned by a process it does "
	"not list' END AS why FROM connections c WHERE why IS NOT NULL LIMIT 1",
	"SELECT 'a chunk that ends before it starts' FROM chunks WHERE "
	U64_LESS("last_ns", "first_ns") " LIMIT 1",
};

/* What is wrong with the index, into why (size bytes); "" when nothing. 0, or -EIO when SQLite
 * cannot even read it (why says so). */
static int find_damage(struct index *ix, char *why, size_t size)
{
	sqlite3_stmt *st = NULL;
	int rc;

	why[0] = '\0';
	if (sqlite3_prepare_v2(ix->db, "PRAGMA quick_check(1)", -1, &st, NULL) != SQLITE_OK)
		goto failed;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		goto failed;
	if (strcmp((const char *)sqlite3_column_text(st, 0), "ok"))
		snprintf(why, size, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	for (size_t i = 0; !why[0] && i < sizeof(invariants) / sizeof(invariants[0]); i++) {
		if (sqlite3_prepare_v2(ix->db, invariants[i], -1, &st, NULL) != SQLITE_OK)
			goto failed;
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			snprintf(why, size, "%s", (const char *)sqlite3_column_text(st, 0));
		else if (rc != SQLITE_DONE)
			goto failed;
		sqlite3_finalize(st);
	}
	return 0;
failed:
	snprintf(why, size, "%s", sqlite3_errmsg(ix->db));
	sqlite3_finalize(st);
	return -EIO;
}

int index_check(struct index *ix)
{
	char why[256];
	int ret = find_damage(ix, why, sizeof(why));

	if (!ret && !why[0])
		return 0;
	log_err("%s: damaged (%s): its answers cannot be trusted; build it again with tlsasm index "
		"--rebuild, or remove it",
		ix->path, why);
	return -EUCLEAN;
}

int index_prepare(char *const *paths, unsigned n, const char *db, unsigned flags,
		  struct index **out, unsigned *damage)
{
	struct index_stats st;
	char path[PATH_MAX];
	int ret = index_path(paths[0], db, path, sizeof(path));

	*damage = 0;
	*out = NULL;
	if (!ret)
		ret = index_open(path, flags, out);
	if (ret && (flags & INDEX_OPTIONAL) && ret != -ENAMETOOLONG && ret != -ENOMEM)
		return 0;
	if (ret)
		return ret;
	ret = index_check(*out);
	if (ret && (flags & INDEX_OPTIONAL)) { /* said as an error: it goes on without it */
		index_close(*out);
		*out = NULL;
		return 0;
	}
	if (!ret)
		ret = index_update(*out, paths, n, &st);
	if (ret) {
		index_close(*out);
		*out = NULL;
		return ret;
	}
	*damage = st.damage;
	if (st.chunks_read)
		log_info("%s: %" PRIu64 " new chunks indexed", path, st.chunks_read);
	return 0;
}

/* Whether name is base followed by ".db", ".db-wal" or ".db-shm". */
static bool names_index_of(const char *name, const char *base)
{
	size_t n = strlen(base);

	return !strncmp(name, base, n) &&
	       (!strcmp(name + n, ".db") || !strcmp(name + n, ".db-wal") ||
		!strcmp(name + n, ".db-shm"));
}

void index_skip_own(char **paths, unsigned *n, const char *db)
{
	struct stat sdb, sb;
	bool have_db = db && !stat(db, &sdb);
	unsigned k = 0;

	for (unsigned i = 0; i < *n; i++) {
		bool own = have_db && !stat(paths[i], &sb) && sb.st_dev == sdb.st_dev &&
			   sb.st_ino == sdb.st_ino;

		for (unsigned j = 0; !own && j < *n; j++)
			own = j != i && names_index_of(paths[i], paths[j]);
		if (own)
			log_info("%s: the connection index, not a journal: skipped", paths[i]);
		else
			paths[k++] = paths[i];
	}
	*n = k;
}

static int append(char *sql, size_t size, size_t *len, const char *s)
{
	size_t n = strlen(s);

	if (*len + n + 1 > size)
		return -ENOSPC;
	memcpy(sql + *len, s, n + 1);
	*len += n;
	return 0;
}

/* " AND (a IN (?, ?) OR b IN (?, ?))" for a list of n values. */
static int append_list(char *sql, size_t size, size_t *len, const char *a, const char *b, size_t n)
{
	int ret = append(sql, size, len, " AND (");

	for (int k = 0; !ret && k < (b ? 2 : 1); k++) {
		ret = append(sql, size, len, k ? ") OR " : "");
		ret = ret ? ret : append(sql, size, len, k ? b : a);
		ret = ret ? ret : append(sql, size, len, " IN (");
		for (size_t i = 0; !ret && i < n; i++)
			ret = append(sql, size, len, i ? ", ?" : "?");
	}
	return ret ? ret : append(sql, size, len, "))");
}

int index_filter_sql(const struct index_filter *f, char *sql, size_t size)
{
	size_t len = 0;
	int ret = append(sql, size, &len,
			 "FROM connections c LEFT JOIN processes po ON po.id = c.orig_process "
			 "LEFT JOIN processes pr ON pr.id = c.resp_process "
			 "JOIN recordings rc ON rc.id = c.recording WHERE 1");

	if (!ret && f->npids)
		ret = append_list(sql, size, &len, "po.pid", "pr.pid", f->npids);
	if (!ret && f->comm)
		ret = append(sql, size, &len, " AND (po.comm = ? OR pr.comm = ?)");
	if (!ret && f->has_uid)
		ret = append(sql, size, &len, " AND (po.uid = ? OR pr.uid = ?)");
	if (!ret && f->nconns)
		ret = append_list(sql, size, &len, "c.id", NULL, f->nconns);
	if (!ret && f->has_since)
		ret = append(sql, size, &len, " AND c.last_ns >= ?");
	if (!ret && f->has_until)
		ret = append(sql, size, &len, " AND c.first_ns <= ?");
	if (!ret && f->host)
		ret = append(sql, size, &len, " AND (c.orig_addr = ? OR c.resp_addr = ?)");
	if (!ret && f->has_port)
		ret = append(sql, size, &len, " AND (c.orig_port = ? OR c.resp_port = ?)");
	return ret;
}

int index_filter_bind(struct sqlite3_stmt *st, const struct index_filter *f, int i)
{
	for (int k = 0; k < 2; k++)
		for (size_t p = 0; p < f->npids; p++)
			sqlite3_bind_int64(st, i++, f->pids[p]);
	for (int k = 0; f->comm && k < 2; k++)
		sqlite3_bind_text(st, i++, f->comm, -1, SQLITE_TRANSIENT);
	for (int k = 0; f->has_uid && k < 2; k++)
		sqlite3_bind_int64(st, i++, f->uid);
	for (size_t p = 0; p < f->nconns; p++)
		sqlite3_bind_int64(st, i++, f->conns[p]);
	if (f->has_since)
		sqlite3_bind_int64(st, i++, u64_col(f->since_ns));
	if (f->has_until)
		sqlite3_bind_int64(st, i++, u64_col(f->until_ns));
	for (int k = 0; f->host && k < 2; k++)
		sqlite3_bind_text(st, i++, f->host, -1, SQLITE_TRANSIENT);
	for (int k = 0; f->has_port && k < 2; k++)
		sqlite3_bind_int(st, i++, f->port);
	return i;
}

void index_selection_free(struct index_selection *s)
{
	for (size_t i = 0; i < s->npaths; i++)
		free(s->paths[i]);
	free(s->paths);
	memset(s, 0, sizeof(*s));
}

/* The copy of path among s->paths (added when new), or NULL. */
static const char *intern(struct index_selection *s, size_t *cap, const char *path)
{
	for (size_t i = s->npaths; i > 0; i--)
		if (!strcmp(s->paths[i - 1], path))
			return s->paths[i - 1];
	if (array_reserve(&s->paths, cap, s->npaths + 1, sizeof(*s->paths), 8) ||
	    !(s->paths[s->npaths] = strdup(path)))
		return NULL;
	return s->paths[s->npaths++];
}

/* Row st (id, recording id, protocol, family, addresses and ports, first_ns) into c. 0, or
 * -EPROTO for what no index of this tlsasm holds. */
int index_select(struct index *ix, const struct index_filter *f, struct index_selection *out)
{
	size_t pcap = 0;
	char where[4096], sql[4800];
	sqlite3_stmt *st = NULL, *add = NULL;
	int ret, rc;

	memset(out, 0, sizeof(*out));
	sqlite3_finalize(ix->selected);
	ix->selected = NULL;
	sqlite3_finalize(ix->selected_chunk);
	ix->selected_chunk = NULL;
	ret = index_filter_sql(f, where, sizeof(where));
	if (ret) {
		log_err("too many filter values");
		return ret;
	}
	ret = exec(ix,
		   "DROP TABLE IF EXISTS temp.selected; DROP TABLE IF EXISTS temp.selected_chunks; "
		   "CREATE TEMP TABLE selected(id INTEGER PRIMARY KEY, recording_id TEXT, "
		   "protocol TEXT, family INTEGER, orig_addr TEXT, orig_port INTEGER, "
		   "resp_addr TEXT, resp_port INTEGER, first_ns INTEGER, client_random TEXT, "
		   "resumes TEXT); "
		   "CREATE TEMP TABLE selected_chunks(recording_id TEXT NOT NULL, seq INTEGER NOT NULL, "
		   "PRIMARY KEY(recording_id, seq)) WITHOUT ROWID",
		   "keeping the selection");
	if (ret)
		return ret;
	/* A connection resumes only an earlier one to the same server (resume.h): a tie the index
	 * holds to any other is not followed, nor are the chunks of that one's secrets read. */
	snprintf(sql, sizeof(sql),
		 "INSERT INTO temp.selected SELECT c.id, rc.recording_id, c.protocol, c.family, "
		 "c.orig_addr, c.orig_port, c.resp_addr, c.resp_port, c.first_ns, c.client_random, "
		 "CASE WHEN EXISTS (SELECT 1 FROM connections p WHERE p.client_random = c.resumes "
		 "AND p.family = c.family AND p.resp_addr = c.resp_addr AND "
		 "p.resp_port = c.resp_port AND p.first_ns < c.first_ns) THEN c.resumes END %s",
		 where);
	ret = prepare(ix, sql, &st);
	if (ret)
		return ret;
	index_filter_bind(st, f, 1);
	ret = step(ix, st);
	sqlite3_finalize(st);
	if (ret)
		return ret < 0 ? ret : db_fail(ix->db, ix->path, "keeping the selection");
	out->nconns = (size_t)sqlite3_changes(ix->db);
	ret = exec(ix, "CREATE INDEX temp.selected_at ON selected(first_ns)",
		   "keeping the selection");
	if (ret || !out->nconns)
		return ret;
	ret = prepare(ix,
		      "SELECT j.path, x.offset, r.recording_id, k.seq FROM "
		      "(SELECT journal, offset FROM conn_chunks "
		      "WHERE conn IN (SELECT id FROM temp.selected) "
		      "UNION SELECT journal, offset FROM secrets "
		      "WHERE client_random IN (SELECT client_random FROM temp.selected) "
		      "UNION SELECT journal, offset FROM secrets "
		      "WHERE client_random IN (SELECT resumes FROM temp.selected)) x "
		      "JOIN chunks k ON k.journal = x.journal AND k.offset = x.offset "
		      "JOIN recordings r ON r.id = k.recording "
		      "LEFT JOIN journals j ON j.id = x.journal ORDER BY j.path, x.offset",
		      &st);
	if (ret)
		return ret;
	ret = prepare(ix, "INSERT OR IGNORE INTO temp.selected_chunks VALUES(?1, ?2)", &add);
	while (!ret && (rc = step(ix, st)) == 1) {
		const unsigned char *path = sqlite3_column_text(st, 0);

		if (path && !intern(out, &pcap, (const char *)path)) {
			ret = -ENOMEM;
			break;
		}
		out->missing += !path;
		sqlite3_bind_value(add, 1, sqlite3_column_value(st, 2));
		sqlite3_bind_value(add, 2, sqlite3_column_value(st, 3));
		ret = step(ix, add);
	}
	sqlite3_finalize(st);
	sqlite3_finalize(add);
	if (!ret && rc < 0)
		ret = rc;
	if (!ret && (ret = prepare(ix, "SELECT count(*) FROM temp.selected_chunks", &st)) == 0) {
		ret = step(ix, st);
		out->nchunks = ret == 1 ? (size_t)sqlite3_column_int64(st, 0) : 0;
		ret = ret == 1 ? 0 : ret < 0 ? ret : db_fail(ix->db, ix->path, "counting chunks");
		sqlite3_finalize(st);
	}
	if (ret == -ENOMEM)
		log_err("%s: %s", ix->path, strerror(ENOMEM));
	if (ret)
		index_selection_free(out);
	return ret;
}

int index_selected_chunk(struct index *ix, const uint8_t recording_id[16], uint64_t seq)
{
	char rid[33];
	int ret;

	if (!ix->selected_chunk &&
	    prepare(ix, "SELECT 1 FROM temp.selected_chunks WHERE recording_id = ?1 AND seq = ?2",
		    &ix->selected_chunk))
		return -EIO;
	hex(rid, recording_id, 16);
	sqlite3_bind_text(ix->selected_chunk, 1, rid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(ix->selected_chunk, 2, u64_col(seq));
	ret = step(ix, ix->selected_chunk);
	sqlite3_reset(ix->selected_chunk);
	return ret;
}

int index_selected(struct index *ix, const uint8_t recording_id[16], uint8_t proto, uint8_t family,
		   const uint8_t addr[2][16], const uint16_t port[2], uint64_t first_ns,
		   bool *resumes, uint8_t root[32])
{
	char rid[33], a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	const unsigned char *r;
	int ret;

	if (!ix->selected &&
	    prepare(ix,
		    "SELECT resumes FROM temp.selected WHERE first_ns = ?1 AND recording_id = ?2 AND "
		    "protocol = ?3 AND family = ?4 AND ((orig_addr = ?5 AND orig_port = ?6 AND "
		    "resp_addr = ?7 AND resp_port = ?8) OR (orig_addr = ?7 AND orig_port = ?8 AND "
		    "resp_addr = ?5 AND resp_port = ?6)) LIMIT 1",
		    &ix->selected))
		return -EIO;
	hex(rid, recording_id, 16);
	addr_text(a, sizeof(a), family, addr[0]);
	addr_text(b, sizeof(b), family, addr[1]);
	sqlite3_bind_int64(ix->selected, 1, u64_col(first_ns));
	sqlite3_bind_text(ix->selected, 2, rid, -1, SQLITE_STATIC);
	sqlite3_bind_text(ix->selected, 3, proto == IPPROTO_UDP ? "udp" : "tcp", -1, SQLITE_STATIC);
	sqlite3_bind_int(ix->selected, 4, family);
	sqlite3_bind_text(ix->selected, 5, a, -1, SQLITE_STATIC);
	sqlite3_bind_int(ix->selected, 6, port[0]);
	sqlite3_bind_text(ix->selected, 7, b, -1, SQLITE_STATIC);
	sqlite3_bind_int(ix->selected, 8, port[1]);
	ret = step(ix, ix->selected);
	if (ret == 1 && resumes) {
		r = sqlite3_column_text(ix->selected, 0);
		*resumes = r && unhex(r, root, 32) == 0;
	}
	sqlite3_reset(ix->selected);
	return ret;
}

enum { OPT_DB = 256, OPT_REBUILD };

static const struct cli_option index_options[] = {
	{ "db", OPT_DB, required_argument, "PATH",
	  "Write the index to PATH instead of the first journal's name with .db added." },
	{ "rebuild", OPT_REBUILD, no_argument, NULL,
	  "Remove the index (and its -wal and -shm files) and build it again from the journals." },
	{ "verbose", 'v', no_argument, NULL, "Say more." },
	{ "help", 'h', no_argument, NULL, "Print this help and exit." },
	{ 0 },
};

static void index_usage(FILE *f)
{
	fputs("NAME\n"
	      "       tlsasm index - build or update the connection index of tlsrec journals\n"
	      "\n"
	      "SYNOPSIS\n"
	      "       tlsasm index [-v] [--db path] [--rebuild] journal...\n"
	      "\n"
	      "DESCRIPTION\n"
	      "       Reads the journals into an SQLite database, journal.db beside the first\n"
	      "       journal unless --db names another: recordings, journal files, chunks,\n"
	      "       processes, sockets, every TCP connection and UDP flow with the processes\n"
	      "       that own its local ends, packets and bytes each way, TLS version, server\n"
	      "       name, ALPN and client random, whether the TLS secrets were recorded, and\n"
	      "       which chunks hold its packets (docs/index.md describes every table).\n"
	      "\n"
	      "       Run again, it reads only the chunks it has not read: those written since,\n"
	      "       or the files of a rotated recording or of another host added to the list.\n"
	      "       One transaction per run: an index is never left half written. tlsasm\n"
	      "       conns and tlsasm procs build the index when it is absent and bring it up\n"
	      "       to date before they answer.\n"
	      "\n"
	      "       It prints what it read: chunks in the journals, chunks read now, packets,\n"
	      "       connections added and connections continued from an earlier run.\n"
	      "\n"
	      "       Before it adds to an index, and before tlsasm conns, procs or an extraction\n"
	      "       use one, it is checked (PRAGMA quick_check, and that no connection ends\n"
	      "       before it starts, no count is below zero, every owner is listed): a damaged\n"
	      "       index is refused, and --rebuild builds it again.\n"
	      "\n"
	      "OPTIONS\n",
	      f);
	cli_print_options(f, index_options);
	fputs("EXIT STATUS\n"
	      "       0 on success, 1 on failure (a journal that cannot be read, an index of\n"
	      "       another version, damaged, or not an index at all), 2 for a usage error,\n"
	      "       3 when a journal was damaged and everything intact in it was indexed.\n"
	      "\n"
	      "EXAMPLES\n"
	      "       Index a recording (writes journal.lz4.db):\n"
	      "              tlsasm index journal.lz4\n"
	      "       Index the files of a rotated recording, and two hosts' recordings, into\n"
	      "       one index:\n"
	      "              tlsasm index --db all.db journal.lz4* other-host.lz4\n"
	      "       Look into it with sqlite3:\n"
	      "              sqlite3 journal.lz4.db 'SELECT sni, count(*) FROM connections GROUP BY 1'\n"
	      "\n"
	      "SEE ALSO\n"
	      "       tlsasm(1), sqlite3(1), docs/index.md\n",
	      f);
}

/* Remove the index at path and the files SQLite keeps beside it. 0, or -errno after a message. */
static int remove_index(const char *path)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	char name[PATH_MAX + 16];

	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(name, sizeof(name), "%s%s", path, suffix[i]);
		if (unlink(name) && errno != ENOENT) {
			int ret = -errno;

			log_err("cannot remove %s: %s", name, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

int index_main(int argc, char **argv)
{
	struct index_stats st;
	struct index *ix = NULL;
	const char *db = NULL;
	char path[PATH_MAX];
	struct cli cli;
	bool rebuild = false;
	int c, verbose = 0, status = EXIT_FAIL;
	unsigned n;

	cli_init(&cli, index_options);
	optind = 1;
	while ((c = getopt_long(argc, argv, cli.shortopts, cli.longopts, NULL)) != -1) {
		switch (c) {
		case OPT_DB:
			db = optarg;
			break;
		case OPT_REBUILD:
			rebuild = true;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			index_usage(stdout);
			return EXIT_OK;
		default:
			cli_option_error(c, argv);
			return EXIT_USAGE;
		}
	}
	log_init("tlsasm", (enum log_level)(LOG_WARN + verbose));
	n = (unsigned)(argc - optind);
	index_skip_own(argv + optind, &n, db);
	if (!n) {
		log_err("no journal to read: give one or more journal files");
		return EXIT_USAGE;
	}
	if (index_path(argv[optind], db, path, sizeof(path)) || (rebuild && remove_index(path)) ||
	    index_open(path, INDEX_CREATE, &ix))
		return EXIT_FAIL;
	if (!index_check(ix) && !index_update(ix, argv + optind, n, &st)) {
		printf("%s: %" PRIu64 " chunks, %" PRIu64 " read now, %" PRIu64
		       " packets, %" PRIu64 " connections added, %" PRIu64 " continued\n",
		       path, st.chunks, st.chunks_read, st.packets, st.conns_new, st.conns_resumed);
		status = st.damage ? EXIT_DAMAGED : EXIT_OK;
	}
	index_close(ix);
	return status;
}

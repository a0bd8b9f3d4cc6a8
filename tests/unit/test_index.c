// SPDX-License-Identifier: BSD-2-Clause
/*
 * The connection index (assemble/index.c) and its queries (assemble/query.c), on journals written
 * here (synth.h):
 *   build      a journal of two hosts' worth of traffic: curl (pid 100) and python3 (pid 200) to
 *              a local server (pid 300) over lo, each connection in its own chunks; every row
 *              checked (owners of both ends, packets and bytes each way, conn_state, chunks);
 *   increment  more chunks appended to the open journal, one of them continuing a connection of
 *              the first run: the second run reads only the new chunks (counted), continues the
 *              connection, and a third run reads nothing;
 *   several    a second recording (another host) in another file, in the same index;
 *   select     index_select for --pid: exactly the connections of that pid and their chunks;
 *   hostile    an index that is not one, one of another version, a file that is not a journal,
 *              and a journal with a damaged chunk: clear errors, or the intact chunks indexed;
 *   split      a handshake split between two runs (the SYN in one, the hellos in the next), and
 *              a connection whose client becomes known in the second run: the TLS details,
 *              secrets, ends and selected chunks are those of an index built in one run;
 *   rotation   the files of a rotated recording indexed out of order (a later one first): the
 *              recording is indexed again, one row per connection as in one run;
 *   late owner the SOCKET record of a connection in a chunk after its last packet, read by a
 *              later run: the connection gets its owner;
 *   many owners an index whose runs wrote more SOCKET and PROCESS records of one recording than
 *              one reading keeps: as many are read back as the catalog keeps, seeded sockets
 *              first, then the newest;
 *   not an index  a stray file or a FIFO where the index goes, one with another hard link, and
 *              the index among the journals given: a conversion goes on, the index is skipped;
 *   binary     tlsasm conns --json (parsed by python3 -m json.tool), --csv (columns counted),
 *              the filters, tlsasm procs, and tlsasm index's summary;
 *   resume     TLS 1.2 resumption: a full handshake split between two runs, then one resuming
 *              its ticket, tied to it as in one run (and extracted with its master secret); a
 *              handshake whose master secret is all zeros has no secrets and names no session;
 *              a resumption is tied only once its server sent data after its Finished, never
 *              after an alert; a crafted tie to a connection to another server, or a later
 *              one, is ignored.
 */
#include <sqlite3.h>

#include "check.h"
#include "index.h"
#include "owners.h"
#include "query.h"
#include "synth.h"
#include "util.h"

static const char *tlsasm;

/* The value of a one-row, one-column query, or -1. */
static int64_t q1(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	if (!CHECK_MSG(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
		       sqlite3_errmsg(db)))
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static struct synth ja;
static struct synth_tcp curl_c, py_c, late_c;

/* First part of host A's journal: processes, the server, curl's connection (whole) and the start
 * of python3's (its handshake and request: it goes on in the second part). */
static bool write_first(void)
{
	bool ok = synth_open(&ja, "a.lz4", 0xa1, "host-a") && synth_begin(&ja);

	curl_c = (struct synth_tcp){ &ja, 1, { "127.0.0.1", "127.0.0.1" }, { 41000, 8443 },
				     { 101, 301 }, { TR_DIR_EGRESS, TR_DIR_EGRESS }, { 1, 2 } };
	py_c = (struct synth_tcp){ &ja, 1, { "127.0.0.1", "127.0.0.1" }, { 42000, 8443 },
				   { 201, 302 }, { TR_DIR_EGRESS, TR_DIR_EGRESS }, { 3, 4 } };
	ok = ok && synth_process(&ja, TR_PROC_SEED, 300, 1, 7, "server", "/usr/bin/python3",
				 "python3 -m server");
	ok = ok && synth_socket(&ja, TR_SOCK_BIND, 300, 300, 300, "server", IPPROTO_TCP,
				"0.0.0.0", 8443, "", 0);
	ok = ok && synth_process(&ja, TR_PROC_EXEC, 100, 1, 8, "curl", "/usr/bin/curl", "curl -k");
	ok = ok && synth_socket(&ja, TR_SOCK_CONNECT, 101, 100, 100, "curl", IPPROTO_TCP,
				"127.0.0.1", 41000, "127.0.0.1", 8443);
	ok = ok && synth_tcp_talk(&curl_c, 100, 1000);
	ok = ok && synth_socket(&ja, TR_SOCK_ACCEPT, 301, 300, 300, "server", IPPROTO_TCP,
				"127.0.0.1", 8443, "127.0.0.1", 41000);
	ok = ok && synth_end(&ja) && synth_begin(&ja);
	ok = ok && synth_process(&ja, TR_PROC_EXEC, 200, 1, 9, "python3", "/usr/bin/python3",
				 "python3 client.py");
	ok = ok && synth_socket(&ja, TR_SOCK_CONNECT, 201, 200, 200, "python3", IPPROTO_TCP,
				"127.0.0.1", 42000, "127.0.0.1", 8443);
	ok = ok && synth_socket(&ja, TR_SOCK_ACCEPT, 302, 300, 300, "server", IPPROTO_TCP,
				"127.0.0.1", 8443, "127.0.0.1", 42000);
	ok = ok && synth_seg(&py_c, 0, SY_SYN, NULL, 0) &&
	     synth_seg(&py_c, 1, SY_SYN | SY_ACK, NULL, 0) && synth_seg(&py_c, 0, SY_ACK, NULL, 0) &&
	     synth_seg(&py_c, 0, SY_ACK | SY_PSH, NULL, 200);
	return ok && synth_end(&ja);
}

/* Second part: python3's connection goes on and ends; a new connection of pid 100 (a second
 * curl, the pid used again) to a remote host. */
static bool write_second(void)
{
	bool ok = synth_begin(&ja);

	late_c = (struct synth_tcp){ &ja, 2, { "10.0.0.1", "192.0.2.7" }, { 43000, 443 }, { 103, 0 },
				     { TR_DIR_EGRESS, TR_DIR_INGRESS }, { 5, 6 } };
	ok = ok && synth_seg(&py_c, 1, SY_ACK | SY_PSH, NULL, 1300) &&
	     synth_seg(&py_c, 0, SY_ACK | SY_FIN, NULL, 0) &&
	     synth_seg(&py_c, 1, SY_ACK | SY_FIN, NULL, 0) && synth_seg(&py_c, 0, SY_ACK, NULL, 0);
	ok = ok && synth_process(&ja, TR_PROC_EXIT, 100, 1, 8, "curl", "", "");
	ok = ok && synth_end(&ja) && synth_begin(&ja);
	ok = ok && synth_process(&ja, TR_PROC_EXEC, 100, 1, 50, "curl", "/usr/bin/curl", "curl -6");
	ok = ok && synth_socket(&ja, TR_SOCK_CONNECT, 103, 100, 100, "curl", IPPROTO_TCP,
				"10.0.0.1", 43000, "192.0.2.7", 443);
	ok = ok && synth_tcp_talk(&late_c, 10, 20);
	return ok && synth_end(&ja);
}

static struct index *open_index(const char *name, bool create)
{
	char path[PATH_MAX];
	struct index *ix = NULL;

	tpath(path, name);
	CHECK_EQ_INT(index_open(path, create ? INDEX_CREATE : 0, &ix), 0);
	return ix;
}

static bool update(struct index *ix, char **paths, unsigned n, struct index_stats *st)
{
	return CHECK_EQ_INT(index_update(ix, paths, n, st), 0);
}

static void test_build_and_increment(void)
{
	struct index_stats st;
	struct index *ix;
	char *paths[1] = { ja.path };
	sqlite3 *db;
	uint64_t first_packets;

	if (!write_first() || !(ix = open_index("a.db", true)))
		return;
	db = index_db(ix);
	if (!update(ix, paths, 1, &st))
		goto out;
	check_ctx("first run");
	CHECK_EQ_U64(st.chunks, ja.chunks + 1); /* and the head chunk */
	CHECK_EQ_U64(st.chunks_read, ja.chunks + 1);
	CHECK_EQ_U64(st.packets, ja.packets);
	CHECK_EQ_U64(st.conns_new, 2);
	first_packets = ja.packets;
	CHECK_EQ_INT(q1(db, "SELECT count(*) FROM connections"), 2);
	CHECK_EQ_INT(q1(db, "SELECT po.pid FROM connections c JOIN processes po ON po.id = "
			    "c.orig_process WHERE c.orig_port = 41000"),
		     100);
	CHECK_EQ_INT(q1(db, "SELECT pr.pid FROM connections c JOIN processes pr ON pr.id = "
			    "c.resp_process WHERE c.orig_port = 41000"),
		     300);
	CHECK_EQ_INT(q1(db, "SELECT orig_packets * 1000000 + resp_packets FROM connections "
			    "WHERE orig_port = 41000"),
		     5 * 1000000 + 3);
	/* Frames: 14 + 20 + 20 bytes of headers, and the data. */
	CHECK_EQ_INT(q1(db, "SELECT orig_bytes FROM connections WHERE orig_port = 41000"),
		     5 * 54 + 100);
	CHECK_EQ_INT(q1(db, "SELECT resp_bytes FROM connections WHERE orig_port = 41000"),
		     3 * 54 + 1000);
	CHECK_EQ_INT(q1(db, "SELECT conn_state = 'SF' FROM connections WHERE orig_port = 41000"),
		     1);
	CHECK_EQ_INT(q1(db, "SELECT conn_state = 'S1' FROM connections WHERE orig_port = 42000"),
		     1);
	CHECK_EQ_INT(q1(db, "SELECT count(*) FROM conn_chunks k JOIN connections c ON c.id = "
			    "k.conn WHERE c.orig_port = 41000"),
		     1);
	CHECK_EQ_INT(q1(db, "SELECT sum(packets) FROM chunks"), (int64_t)ja.packets);
	CHECK_EQ_INT(q1(db, "SELECT cmdline = 'curl -k' FROM processes WHERE pid = 100"), 1);

	check_ctx("second run: only the new chunks");
	if (!write_second() || !update(ix, paths, 1, &st))
		goto out;
	CHECK_EQ_U64(st.chunks, ja.chunks + 1);
	CHECK_EQ_U64(st.chunks_read, 2);
	CHECK_EQ_U64(st.packets, ja.packets - first_packets);
	CHECK_EQ_U64(st.conns_new, 1);
	CHECK_EQ_U64(st.conns_resumed, 1);
	CHECK_EQ_INT(q1(db, "SELECT count(*) FROM connections"), 3);
	CHECK_EQ_INT(q1(db, "SELECT orig_packets * 1000000 + resp_packets FROM connections "
			    "WHERE orig_port = 42000"),
		     5 * 1000000 + 3);
	CHECK_EQ_INT(q1(db, "SELECT conn_state = 'SF' FROM connections WHERE orig_port = 42000"),
		     1);
	CHECK_EQ_INT(q1(db, "SELECT count(*) FROM conn_chunks k JOIN connections c ON c.id = "
			    "k.conn WHERE c.orig_port = 42000"),
		     2);
	check_ctx("pid reuse: two processes of pid 100");
	CHECK_EQ_INT(q1(db, "SELECT count(*) FROM processes WHERE pid = 100"), 2);
	CHECK_EQ_INT(q1(db, "SELECT po.start_ns FROM connections c JOIN processes po ON po.id = "
			    "c.orig_process WHERE c.orig_port = 43000"),
		     50);
	CHECK_EQ_INT(q1(db, "SELECT resp_process IS NULL FROM connections WHERE orig_port = 43000"),
		     1);

	check_ctx("third run: nothing new");
	if (!update(ix, paths, 1, &st))
		goto out;
	CHECK_EQ_U64(st.chunks_read, 0);
	CHECK_EQ_U64(st.packets, 0);
	CHECK_EQ_INT(q1(db, "SELECT count(*) FROM connections"), 3);
	CHECK_EQ_INT(q1(db, "SELECT chunks FROM journals"), (int64_t)ja.chunks + 1);
out:
	check_ctx("%s", "");
	index_close(ix);
}

static struct synth jb;

static void test_several(void)
{
	struct synth_tcp u = { &jb, 2, { "10.1.0.1", "10.1.0.2" }, { 5000, 53 }, { 77, 0 },
			       { TR_DIR_EGRESS, TR_DIR_INGRESS }, { 0, 0 } };
	struct index_stats st;
	struct index *ix;
	char *paths[2] = { ja.path, jb.path };
	bool ok;

	ok = synth_open(&jb, "b.lz4", 0xb2, "host-b") && synth_begin(&jb) &&
	     synth_socket(&jb, TR_SOCK_CREATE, 77, 900, 901, "dig", IPPROTO_UDP, "", 0, "", 0) &&
	     synth_packet(&jb, 2, TR_DIR_EGRESS, 77, IPPROTO_UDP, "10.1.0.1", 5000, "10.1.0.2", 53,
			  0, 0, NULL, 30) &&
	     synth_packet(&jb, 2, TR_DIR_INGRESS, 0, IPPROTO_UDP, "10.1.0.2", 53, "10.1.0.1", 5000,
			  0, 0, NULL, 90) &&
	     synth_end(&jb) && synth_close(&jb);
	(void)u;
	if (!ok || !(ix = open_index("both.db", true)))
		return;
	if (update(ix, paths, 2, &st)) {
		sqlite3 *db = index_db(ix);

		CHECK_EQ_U64(st.chunks, ja.chunks + jb.chunks + 2);
		CHECK_EQ_U64(st.chunks_read, st.chunks);
		CHECK_EQ_INT(q1(db, "SELECT count(*) FROM recordings"), 2);
		CHECK_EQ_INT(q1(db, "SELECT count(*) FROM journals"), 2);
		CHECK_EQ_INT(q1(db, "SELECT count(*) FROM connections"), 4);
		CHECK_EQ_INT(q1(db, "SELECT p.pid FROM connections c JOIN processes p ON p.id = "
				    "c.orig_process WHERE c.protocol = 'udp'"),
			     900);
		CHECK_EQ_INT(q1(db, "SELECT conn_state = 'SF' AND resp_bytes = 14 + 20 + 8 + 90 "
				    "FROM connections WHERE protocol = 'udp'"),
			     1);
		CHECK_EQ_INT(q1(db, "SELECT count(*) FROM connections c JOIN recordings r ON "
				    "r.id = c.recording WHERE r.host = 'host-b'"),
			     1);
	}
	if (update(ix, paths, 2, &st))
		CHECK_EQ_U64(st.chunks_read, 0);
	index_close(ix);
}

static void test_select(void)
{
	struct index *ix = open_index("a.db", false);
	uint32_t pids[] = { 200 };
	struct index_filter f = { .pids = pids, .npids = 1 };
	struct index_selection sel;

	if (!ix)
		return;
	if (CHECK_EQ_INT(index_select(ix, &f, &sel), 0)) {
		CHECK_EQ_U64(sel.nconns, 1);
		CHECK_EQ_U64(sel.nchunks, 2);
		CHECK_EQ_U64(sel.npaths, 1);
		CHECK_EQ_U64(sel.missing, 0);
		CHECK(sel.npaths && strstr(sel.paths[0], "a.lz4") != NULL);
		index_selection_free(&sel);
	}
	pids[0] = 100;
	f.has_port = true;
	f.port = 443;
	if (CHECK_EQ_INT(index_select(ix, &f, &sel), 0)) {
		CHECK_EQ_U64(sel.nconns, 1); /* the second curl's */
		CHECK_EQ_U64(sel.nchunks, 1);
		index_selection_free(&sel);
	}
	index_close(ix);
}

static void test_hostile(void)
{
	char path[PATH_MAX], bad[PATH_MAX], *paths[1] = { bad };
	struct index_stats st;
	struct index *ix = NULL;
	sqlite3 *db;
	FILE *f;

	check_ctx("not an index");
	tpath(path, "garbage.db");
	f = fopen(path, "w");
	if (CHECK(f != NULL)) {
		fputs("this is no database, but it is long enough to look like one, or not.......\n"
		      "................................................................................",
		      f);
		fclose(f);
	}
	CHECK_EQ_INT(index_open(path, INDEX_CREATE, &ix), -EPROTO);
	check_ctx("another version");
	tpath(path, "v99.db");
	if (CHECK_EQ_INT(sqlite3_open(path, &db), SQLITE_OK)) {
		CHECK_EQ_INT(sqlite3_exec(db, "CREATE TABLE t(x); PRAGMA user_version = 99", NULL,
					  NULL, NULL),
			     SQLITE_OK);
		sqlite3_close(db);
	}
	CHECK_EQ_INT(index_open(path, INDEX_CREATE, &ix), -EPROTO);
	check_ctx("absent, not to be created");
	tpath(path, "absent.db");
	CHECK_EQ_INT(index_open(path, 0, &ix), -ENOENT);

	check_ctx("not a journal");
	tpath(bad, "not-a-journal.lz4");
	f = fopen(bad, "w");
	if (CHECK(f != NULL)) {
		fputs("hello\n", f);
		fclose(f);
	}
	if ((ix = open_index("bad.db", true))) {
		CHECK(index_update(ix, paths, 1, &st) < 0);
		CHECK_EQ_INT(q1(index_db(ix), "SELECT count(*) FROM journals"), 0);
		index_close(ix);
	}

	check_ctx("a damaged chunk");
	{
		size_t len;
		uint8_t *data = slurp(ja.path, &len);

		tpath(bad, "damaged.lz4");
		f = fopen(bad, "w");
		if (CHECK(data != NULL) && CHECK(f != NULL)) {
			data[len / 2] ^= 0x40;
			fwrite(data, 1, len, f);
		}
		if (f)
			fclose(f);
		free(data);
		if ((ix = open_index("damaged.db", true))) {
			if (update(ix, paths, 1, &st)) {
				CHECK(st.damage > 0);
				CHECK(st.chunks_read < ja.chunks + 1);
				CHECK(st.chunks_read > 0);
			}
			index_close(ix);
		}
	}
	check_ctx("%s", "");
}

/* The file at an index's path, when it is no usable index: a conversion without filters goes on
 * without it; an index among the journals given (journal.lz4* picks it up) is skipped. */
static void test_not_an_index(void)
{
	char path[PATH_MAX], link2[PATH_MAX], out[PATH_MAX], *paths[1] = { ja.path };
	char dbname[PATH_MAX + 8];
	char *plain[] = { (char *)tlsasm, ja.path, "-o", out, NULL };
	char *globbed[] = { (char *)tlsasm, ja.path, dbname, "-o", out, NULL };
	char *index[] = { (char *)tlsasm, "index", ja.path, dbname, NULL };
	char *names[] = { "j.lz4", "j.lz4.db", "j.lz41", "j.lz4.db-wal", "j.lz4.db-shm", "x.db",
			  "j.lz41.db", path };
	struct index *ix = NULL;
	unsigned n = 8, damage;
	FILE *f;

	check_ctx("names skipped");
	tpath(path, "given.db");
	f = fopen(path, "w");
	if (CHECK(f != NULL))
		fclose(f);
	index_skip_own(names, &n, path);
	if (CHECK_EQ_INT(n, 3)) {
		CHECK(!strcmp(names[0], "j.lz4"));
		CHECK(!strcmp(names[1], "j.lz41"));
		CHECK(!strcmp(names[2], "x.db"));
	}

	check_ctx("a hard link");
	tpath(link2, "given2.db");
	CHECK_EQ_INT(link(path, link2), 0);
	CHECK_EQ_INT(index_open(path, INDEX_CREATE, &ix), -EPERM);

	check_ctx("not an SQLite database, with and without INDEX_OPTIONAL");
	snprintf(dbname, sizeof(dbname), "%s.db", ja.path);
	f = fopen(dbname, "w");
	if (CHECK(f != NULL)) {
		fputs("a stray file, not an index, left where the index goes..............\n", f);
		fclose(f);
	}
	ix = (struct index *)1;
	CHECK_EQ_INT(index_prepare(paths, 1, NULL, INDEX_OPTIONAL, &ix, &damage), 0);
	CHECK(ix == NULL);
	CHECK_EQ_INT(index_prepare(paths, 1, NULL, INDEX_CREATE, &ix, &damage), -EPROTO);
	tpath(out, "plain.pcapng");
	CHECK_EQ_INT(run_tool(plain, NULL, NULL), 0);
	CHECK_EQ_INT(run_tool(globbed, NULL, NULL), 0);

	check_ctx("a FIFO");
	CHECK_EQ_INT(unlink(dbname), 0);
	CHECK_EQ_INT(mkfifo(dbname, 0600), 0);
	ix = (struct index *)1;
	CHECK_EQ_INT(index_prepare(paths, 1, NULL, INDEX_OPTIONAL, &ix, &damage), 0);
	CHECK(ix == NULL);
	CHECK_EQ_INT(run_tool(plain, NULL, NULL), 0);

	check_ctx("the index among the journals");
	CHECK_EQ_INT(unlink(dbname), 0);
	CHECK_EQ_INT(run_tool(index, NULL, NULL), 0);
	CHECK_EQ_INT(access(dbname, F_OK), 0);
	CHECK_EQ_INT(run_tool(globbed, NULL, NULL), 0);
	CHECK_EQ_INT(unlink(dbname), 0);
	check_ctx("%s", "");
}

/* Run tlsasm with args; its standard output (NULL after a failed check) */
static char *run(char *const *args)
{
	return tool_output(args);
}

static size_t count_char(const char *s, char c)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

static void test_binary(void)
{
	char db[PATH_MAX], out[PATH_MAX], want[64], *text;
	char *json[] = { (char *)tlsasm, "conns", "--json", "--db", db, ja.path, NULL };
	char *csv[] = { (char *)tlsasm, "conns", "--csv", "--db", db, ja.path, NULL };
	char *pid[] = { (char *)tlsasm, "conns", "--db", db, "--pid", "200", "--pid", "999", ja.path,
			NULL };
	char *none[] = { (char *)tlsasm, "conns", "--db", db, "--pid", "100", "--comm", "python3",
			 ja.path, NULL };
	char *since[] = { (char *)tlsasm, "conns", "--csv", "--db", db, "--since", "1700000000",
			  ja.path, NULL };
	char *later[] = { (char *)tlsasm, "conns", "--csv", "--db", db, "--since",
			  "2023-11-14T23:13:21+01:00", "--until", "1700000001", ja.path, NULL };
	char *until[] = { (char *)tlsasm, "conns", "--csv", "--db", db, "--until",
			  "2023-11-14T22:13:20.000010Z", ja.path, NULL };
	char *host[] = { (char *)tlsasm, "conns", "--csv", "--db", db, "--host", "192.0.2.7",
			 "--uid", "1000", ja.path, NULL };
	char *procs[] = { (char *)tlsasm, "procs", "--db", db, ja.path, NULL };
	char *bad_time[] = { (char *)tlsasm, "conns", "--since", "yesterday", ja.path, NULL };
	char *index[] = { (char *)tlsasm, "index", "--db", db, ja.path, NULL };
	char *help[] = { (char *)tlsasm, "conns", "--help", NULL };

	tpath(db, "cli.db");
	snprintf(want, sizeof(want), "%" PRIu64 " chunks, %" PRIu64 " read now", ja.chunks + 1,
		 ja.chunks + 1);
	text = run(index);
	if (text)
		CHECK_MSG(strstr(text, want) != NULL, "index said: %s", text);
	free(text);
	text = run(index);
	if (text)
		CHECK_MSG(strstr(text, "0 read now") != NULL, "index said: %s", text);
	free(text);

	text = run(json);
	if (text) {
		char *tool[] = { "python3", "-m", "json.tool", out, NULL };
		FILE *f;

		tpath(out, "conns.json");
		f = fopen(out, "w");
		if (CHECK(f != NULL)) {
			fputs(text, f);
			fclose(f);
		}
		free(tool_output(tool));
		CHECK(strstr(text, "\"pid\": 200, \"tid\": 200, \"uid\": 1000, \"comm\": \"python3\"") !=
		      NULL);
		CHECK(strstr(text, "\"peer_pid\": 300, \"peer_comm\": \"server\"") != NULL);
		CHECK(strstr(text, "\"secrets\": false") != NULL);
		CHECK_EQ_U64(count_char(text, '{'), 3);
	}
	free(text);
	text = run(csv);
	if (text) {
		char *line = text;
		size_t lines = 0, commas = count_char(strtok(line, "\n"), ',');

		CHECK(!strncmp(text, "id,start,start_ns,duration,protocol,local_addr,local_port,", 58));
		while ((line = strtok(NULL, "\n"))) {
			CHECK_EQ_U64(count_char(line, ','), commas);
			lines++;
		}
		CHECK_EQ_U64(lines, 3);
	}
	free(text);
	text = run(pid);
	if (text) {
		CHECK_EQ_U64(count_char(text, '\n'), 2); /* header and python3's */
		CHECK(strstr(text, "python3") != NULL);
	}
	free(text);
	text = run(none);
	if (text)
		CHECK_EQ_U64(count_char(text, '\n'), 1);
	free(text);
	text = run(since);
	if (text)
		CHECK_EQ_U64(count_char(text, '\n'), 4);
	free(text);
	text = run(later); /* the same second, said with an offset: after every connection */
	if (text)
		CHECK_EQ_U64(count_char(text, '\n'), 1);
	free(text);
	text = run(until);
	if (text) {
		CHECK_EQ_U64(count_char(text, '\n'), 2); /* curl's first connection only */
		CHECK(strstr(text, ",41000,") != NULL);
	}
	free(text);
	text = run(host);
	if (text) {
		CHECK_EQ_U64(count_char(text, '\n'), 2);
		CHECK(strstr(text, ",43000,192.0.2.7,443,100,") != NULL);
	}
	free(text);
	text = run(procs);
	if (text) {
		CHECK_EQ_U64(count_char(text, '\n'), 5); /* header, two curls, python3, server */
		CHECK(strstr(text, "python3 -m server") != NULL);
	}
	free(text);
	CHECK_EQ_INT(run_tool(bad_time, NULL, NULL), 2);
	text = run(help);
	if (text)
		CHECK(strstr(text, "EXAMPLES") != NULL && strstr(text, "--since") != NULL);
	free(text);
}

/* A SECRET record of cr from pid 100, a millisecond after the last record, its secrets zero. */
static void secret_head(struct synth *y, struct tr_secret *s, const uint8_t cr[32],
			uint16_t version, uint32_t cipher, uint32_t flags)
{
	memset(s, 0, sizeof(*s));
	s->hdr.type = TR_REC_SECRET;
	s->hdr.len = sizeof(*s);
	s->hdr.ts = synth_boot(y);
	y->rel += 1000;
	s->version = version;
	s->cipher = cipher;
	s->flags = flags;
	s->pid = 100;
	s->tid = 100;
	memcpy(s->client_random, cr, 32);
}

static bool put_secret(struct synth *y, const uint8_t cr[32])
{
	struct tr_secret s;

	secret_head(y, &s, cr, 0x0304, 0x03001301, TR_SEC_TLS13);
	memset(s.handshake_secret, 0x11, TR_SECRET_LEN);
	memset(s.master_secret, 0x22, TR_SECRET_LEN);
	memset(s.handshake_traffic_hash, 0x33, TR_SECRET_LEN);
	memset(s.server_finished_hash, 0x44, TR_SECRET_LEN);
	memset(s.client_app_secret, 0x55, TR_SECRET_LEN);
	memset(s.server_app_secret, 0x66, TR_SECRET_LEN);
	memset(s.exporter_secret, 0x77, TR_SECRET_LEN);
	return CHECK_EQ_INT(chunkbuf_add(&y->cb, &s, sizeof(s)), 0);
}

/*
 * Host C's journal, its first nchunks chunks (1 to 4), rotated every rotate bytes (0: not): curl
 * (pid 100) connects (chunk 1), its ClientHello and the ServerHello (2), the SECRET record and
 * wget's whole connection (3), curl's data and close (4). A second connection, of port 46000,
 * starts with a segment of the server (chunk 1) before the client's hello (2): the client is known
 * from chunk 2 on.
 */
static bool write_c(const char *name, int nchunks, uint64_t rotate)
{
	struct synth y;
	struct synth_tcp c, d, e;
	uint8_t cr[32], cr2[32], rec[512];
	bool ok = synth_open(&y, name, 0xc1, "host-c");

	for (int i = 0; i < 32; i++) {
		cr[i] = (uint8_t)(0x40 + i);
		cr2[i] = (uint8_t)(0x80 + i);
	}
	y.cfg.rotate_bytes = rotate;
	ok = ok && synth_begin(&y);
	c = (struct synth_tcp){ &y, 2, { "10.0.0.1", "192.0.2.7" }, { 43000, 443 }, { 101, 0 },
				{ TR_DIR_EGRESS, TR_DIR_INGRESS }, { 5, 6 } };
	d = (struct synth_tcp){ &y, 2, { "10.0.0.1", "192.0.2.8" }, { 44000, 443 }, { 201, 0 },
				{ TR_DIR_EGRESS, TR_DIR_INGRESS }, { 7, 8 } };
	e = (struct synth_tcp){ &y, 2, { "10.0.0.1", "192.0.2.9" }, { 46000, 443 }, { 102, 0 },
				{ TR_DIR_EGRESS, TR_DIR_INGRESS }, { 9, 10 } };
	ok = ok && synth_process(&y, TR_PROC_EXEC, 100, 1, 8, "curl", "/usr/bin/curl", "curl -k");
	ok = ok && synth_socket(&y, TR_SOCK_CONNECT, 101, 100, 100, "curl", IPPROTO_TCP,
				"10.0.0.1", 43000, "192.0.2.7", 443);
	ok = ok && synth_socket(&y, TR_SOCK_CONNECT, 102, 100, 100, "curl", IPPROTO_TCP,
				"10.0.0.1", 46000, "192.0.2.9", 443);
	ok = ok && synth_seg(&c, 0, SY_SYN, NULL, 0) && synth_seg(&c, 1, SY_SYN | SY_ACK, NULL, 0) &&
	     synth_seg(&c, 0, SY_ACK, NULL, 0);
	ok = ok && synth_seg(&e, 1, SY_ACK, NULL, 0);
	ok = ok && synth_end(&y);
	if (nchunks >= 2) {
		ok = ok && synth_begin(&y);
		ok = ok && synth_seg(&c, 0, SY_ACK | SY_PSH, rec, tls_hello_record(rec, 1, cr, 0x1301));
		ok = ok && synth_seg(&c, 1, SY_ACK | SY_PSH, rec, tls_hello_record(rec, 2, cr, 0x1301));
		ok = ok && synth_seg(&e, 0, SY_ACK | SY_PSH, rec, tls_hello_record(rec, 1, cr2, 0x1301));
		ok = ok && synth_seg(&e, 1, SY_ACK | SY_PSH, rec, tls_hello_record(rec, 2, cr2, 0x1301));
		ok = ok && synth_end(&y);
	}
	if (nchunks >= 3) {
		ok = ok && synth_begin(&y) && put_secret(&y, cr);
		ok = ok && synth_process(&y, TR_PROC_EXEC, 200, 1, 9, "wget", "/usr/bin/wget", "wget");
		ok = ok && synth_socket(&y, TR_SOCK_CONNECT, 201, 200, 200, "wget", IPPROTO_TCP,
					"10.0.0.1", 44000, "192.0.2.8", 443);
		ok = ok && synth_tcp_talk(&d, 10, 20);
		ok = ok && synth_end(&y);
	}
	if (nchunks >= 4) {
		ok = ok && synth_begin(&y);
		ok = ok && synth_seg(&c, 0, SY_ACK | SY_PSH,
				     (const uint8_t *)"\x17\x03\x03\x00\x05hello", 10);
		ok = ok && synth_seg(&c, 0, SY_ACK | SY_FIN, NULL, 0) &&
		     synth_seg(&c, 1, SY_ACK | SY_FIN, NULL, 0) && synth_seg(&c, 0, SY_ACK, NULL, 0);
		ok = ok && synth_end(&y);
	}
	return synth_close(&y) && ok;
}

/* What the rows of the connections of an index say, one line each, ordered by orig port. */
static void conn_rows(sqlite3 *db, char *out, size_t size)
{
	sqlite3_stmt *st;
	size_t len = 0;

	out[0] = '\0';
	if (!CHECK(sqlite3_prepare_v2(db,
				      "SELECT c.orig_addr || ':' || c.orig_port || ' ' || c.resp_addr || "
				      "':' || c.resp_port || ' ' || c.orig_packets || '/' || "
				      "c.resp_packets || ' ' || c.conn_state || ' ' || c.tls_state || "
				      "' ' || coalesce(c.tls_version, '-') || ' ' || "
				      "coalesce(c.client_random, '-') || ' ' || c.has_secrets || ' ' || "
				      "c.orig_known || ' ' || coalesce(po.pid, '-') || ' ' || "
				      "coalesce(pr.pid, '-') FROM connections c "
				      "LEFT JOIN processes po ON po.id = c.orig_process "
				      "LEFT JOIN processes pr ON pr.id = c.resp_process "
				      "ORDER BY c.orig_port, c.first_ns",
				      -1, &st, NULL) == SQLITE_OK))
		return;
	while (sqlite3_step(st) == SQLITE_ROW && len + 1 < size) {
		int n = snprintf(out + len, size - len, "%s\n", sqlite3_column_text(st, 0));

		if (n < 0)
			break;
		len += (size_t)n < size - len ? (size_t)n : size - len - 1;
	}
	sqlite3_finalize(st);
}

/* The chunks index_select gives for --pid pid. */
static size_t pid_chunks(struct index *ix, uint32_t pid, size_t *nconns)
{
	struct index_filter f = { .pids = &pid, .npids = 1 };
	struct index_selection sel;
	size_t n = 0;

	*nconns = 0;
	if (CHECK_EQ_INT(index_select(ix, &f, &sel), 0)) {
		n = sel.nchunks;
		*nconns = sel.nconns;
		index_selection_free(&sel);
	}
	return n;
}

/* Index name with runs of journals (a NULL ends a run, two end the list); the rows into rows. */
static void index_runs(const char *name, char **runs, char *rows, size_t size, size_t *chunks,
		       size_t *nconns)
{
	struct index *ix = open_index(name, true);
	struct index_stats st;

	if (!ix)
		return;
	while (*runs) {
		unsigned n = 0;

		while (runs[n])
			n++;
		update(ix, runs, n, &st);
		runs += n + 1;
	}
	conn_rows(index_db(ix), rows, size);
	*chunks = pid_chunks(ix, 100, nconns);
	index_close(ix);
}

static void test_split(void)
{
	char part[PATH_MAX], full[PATH_MAX], inc[4096], fresh[4096];
	char *inc_runs[] = { part, NULL, full, NULL, NULL }, *fresh_runs[] = { full, NULL, NULL };
	size_t inc_chunks = 0, fresh_chunks = 0, inc_conns = 0, fresh_conns = 0;

	if (!write_c("part1.lz4", 1, 0) || !write_c("full.lz4", 4, 0))
		return;
	tpath(part, "part1.lz4");
	tpath(full, "full.lz4");
	index_runs("split-inc.db", inc_runs, inc, sizeof(inc), &inc_chunks, &inc_conns);
	index_runs("split-fresh.db", fresh_runs, fresh, sizeof(fresh), &fresh_chunks, &fresh_conns);
	/* curl's connection: TLS 1.3, its client random, secrets; the second one's client known
	 * from its hello, in the second run: orig is 10.0.0.1:46000, owned by curl. */
	CHECK_MSG(strstr(inc, "10.0.0.1:43000 192.0.2.7:443 6/3 SF 3 772 "
			      "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f 1 1 "
			      "100 -\n") != NULL,
		  "%s", inc);
	CHECK_MSG(strstr(inc, "10.0.0.1:46000 192.0.2.9:443 1/2 OTH 3 772 "
			      "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f 0 1 "
			      "100 -\n") != NULL,
		  "%s", inc);
	CHECK_MSG(!strcmp(inc, fresh), "incremental:\n%sin one run:\n%s", inc, fresh);
	CHECK_EQ_U64(inc_conns, 2);
	CHECK_EQ_U64(inc_chunks, fresh_chunks);
	CHECK_EQ_U64(inc_conns, fresh_conns);
}

/* The files of a rotated journal name: name, name1, name2, ... as many as exist. */
static unsigned rotated(const char *name, char paths[][PATH_MAX], unsigned max)
{
	unsigned n = 0;

	for (; n < max; n++) {
		char base[64];

		if (n)
			snprintf(base, sizeof(base), "%s%u", name, n);
		else
			snprintf(base, sizeof(base), "%s", name);
		tpath(paths[n], base);
		if (access(paths[n], F_OK))
			break;
	}
	return n;
}

static void test_rotation(void)
{
	char files[8][PATH_MAX], inc[4096], fresh[4096];
	char *inc_runs[16], *fresh_runs[16];
	size_t inc_chunks = 0, fresh_chunks = 0, inc_conns = 0, fresh_conns = 0, k = 0;
	unsigned n;

	if (!write_c("rot.lz4", 4, 300))
		return;
	n = rotated("rot.lz4", files, 8);
	if (!CHECK(n >= 4))
		return;
	inc_runs[k++] = files[n - 2]; /* a later file first */
	inc_runs[k++] = NULL;
	for (unsigned i = 0; i < n; i++) {
		inc_runs[k++] = files[i];
		fresh_runs[i] = files[i];
	}
	inc_runs[k++] = NULL;
	inc_runs[k] = NULL;
	fresh_runs[n] = fresh_runs[n + 1] = NULL;
	index_runs("rot-inc.db", inc_runs, inc, sizeof(inc), &inc_chunks, &inc_conns);
	index_runs("rot-fresh.db", fresh_runs, fresh, sizeof(fresh), &fresh_chunks, &fresh_conns);
	CHECK_MSG(strstr(inc, "10.0.0.1:43000 192.0.2.7:443 6/3 SF 3 ") != NULL, "%s", inc);
	CHECK_MSG(!strcmp(inc, fresh), "incremental:\n%sin one run:\n%s", inc, fresh);
	CHECK_EQ_U64(inc_conns, 2);
	CHECK_EQ_U64(inc_chunks, fresh_chunks);
	/* Only the earlier files given: the later one indexed before is read again with them. */
	k = 0;
	inc_runs[k++] = files[n - 1];
	inc_runs[k++] = NULL;
	for (unsigned i = 0; i + 1 < n; i++)
		inc_runs[k++] = files[i];
	inc_runs[k++] = NULL;
	inc_runs[k] = NULL;
	index_runs("rot-inc2.db", inc_runs, inc, sizeof(inc), &inc_chunks, &inc_conns);
	CHECK_MSG(!strcmp(inc, fresh), "incremental:\n%sin one run:\n%s", inc, fresh);
	CHECK_EQ_U64(inc_chunks, fresh_chunks);
	{
		struct index *ix = open_index("rot-inc2.db", false);

		if (ix) {
			CHECK_EQ_U64(q1(index_db(ix), "SELECT sum(chunks) FROM journals"),
				     q1(index_db(ix), "SELECT count(*) FROM chunks"));
			CHECK_EQ_U64(q1(index_db(ix), "SELECT count(*) FROM secrets"), 1);
			CHECK_EQ_U64(q1(index_db(ix), "SELECT count(*) FROM sockets"), 3);
			index_close(ix);
		}
	}
}

/* Host D: pid 500's whole connection (chunk 1), its SOCKET record only in chunk 2. */
static bool write_d(const char *name, int nchunks)
{
	struct synth y;
	struct synth_tcp c;
	bool ok = synth_open(&y, name, 0xd1, "host-d") && synth_begin(&y);

	c = (struct synth_tcp){ &y, 2, { "10.0.0.1", "192.0.2.7" }, { 45000, 443 }, { 501, 0 },
				{ TR_DIR_EGRESS, TR_DIR_INGRESS }, { 5, 6 } };
	ok = ok && synth_process(&y, TR_PROC_EXEC, 500, 1, 8, "curl", "/usr/bin/curl", "curl -k");
	ok = ok && synth_tcp_talk(&c, 10, 20) && synth_end(&y);
	if (nchunks >= 2)
		ok = ok && synth_begin(&y) &&
		     synth_socket(&y, TR_SOCK_CONNECT, 501, 500, 500, "curl", IPPROTO_TCP, "10.0.0.1",
				  45000, "192.0.2.7", 443) &&
		     synth_end(&y);
	return synth_close(&y) && ok;
}

static void test_late_owner(void)
{
	char part[PATH_MAX], full[PATH_MAX];
	char *runs[] = { part, NULL, full, NULL };
	struct index_stats st;
	struct index *ix;
	size_t nconns = 0;

	if (!write_d("late1.lz4", 1) || !write_d("late.lz4", 2))
		return;
	tpath(part, "late1.lz4");
	tpath(full, "late.lz4");
	ix = open_index("late.db", true);
	if (!ix)
		return;
	update(ix, runs, 1, &st);
	update(ix, runs + 2, 1, &st);
	CHECK_EQ_U64(st.chunks_read, 1);
	CHECK_EQ_U64(pid_chunks(ix, 500, &nconns), 1);
	CHECK_EQ_U64(nconns, 1);
	CHECK_EQ_U64(q1(index_db(ix), "SELECT count(*) FROM connections c JOIN processes p ON "
				      "p.id = c.orig_process WHERE p.pid = 500 AND c.orig_tid = 500 "
				      "AND c.resp_process IS NULL"),
		     1);
	index_close(ix);
}

static void test_many_owners(void)
{
	char path[PATH_MAX];
	char *paths[] = { path };
	struct source *src = NULL;
	struct owners o = { 0 };
	struct index_stats st;
	struct index *ix;

	if (!write_d("owners.lz4", 2))
		return;
	tpath(path, "owners.lz4");
	ix = open_index("owners.db", true);
	if (!ix || !update(ix, paths, 1, &st))
		goto out;
	/* One socket seeded at start (oldest), then more sockets and processes than are kept. */
	CHECK_EQ_INT(sqlite3_exec(index_db(ix),
				  "INSERT INTO sockets SELECT recording, ts_ns, 5, 77, netns, cgroup, "
				  "pid, tid, uid, gid, comm, family, protocol, local_addr, local_port, "
				  "remote_addr, remote_port FROM sockets LIMIT 1; "
				  "WITH RECURSIVE k(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM k "
				  "WHERE x < 600000) INSERT INTO sockets SELECT s.recording, s.ts_ns + x, "
				  "2, 1000 + x, s.netns, s.cgroup, s.pid, s.tid, s.uid, s.gid, s.comm, "
				  "s.family, s.protocol, s.local_addr, s.local_port, s.remote_addr, "
				  "s.remote_port FROM k, (SELECT * FROM sockets LIMIT 1) s; "
				  "WITH RECURSIVE k(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM k "
				  "WHERE x < 140000) INSERT INTO processes(recording, pid, start_ns, comm) "
				  "SELECT recording, 10000 + x, x, 'p' FROM k, "
				  "(SELECT recording FROM processes LIMIT 1)",
				  NULL, NULL, NULL),
		     SQLITE_OK);
	if (!CHECK_EQ_INT(source_open(paths, 1, &src), 0))
		goto out;
	CHECK_EQ_INT(index_load_owners(ix, src, &o), 0);
	CHECK_EQ_U64(o.nsocks, CATALOG_MAX_SOCKETS);
	CHECK_EQ_U64(o.nprocs, CATALOG_MAX_PROCESSES);
	if (CHECK_EQ_INT(owners_resolve(&o), 0)) {
		CHECK(owners_by_cookie(&o, 0, 77) != NULL);           /* seeded */
		CHECK(owners_by_cookie(&o, 0, 1000 + 600000) != NULL); /* the newest */
		CHECK(owners_by_cookie(&o, 0, 1000 + 1) == NULL);      /* among the oldest */
	}
out:
	owners_free(&o);
	source_close(src);
	index_close(ix);
}

/*
 * A damaged index is refused with a word on how to build it again, by index_check and by the
 * commands that use it, and tlsasm index --rebuild builds it again: a row that breaks an
 * invariant (a bit flipped inside a value: a connection that ends before it starts), and a
 * page that is no b-tree page (bit flips in its header).
 */
static void test_damaged(void)
{
	static const char *const damage[] = {
		"UPDATE connections SET last_ns = first_ns - 1000 WHERE id = 1",
		"UPDATE connections SET orig_packets = -5 WHERE id = 1",
		"UPDATE connections SET protocol = 'tcq' WHERE id = 1",
		"DELETE FROM processes WHERE id = (SELECT orig_process FROM connections WHERE "
		"orig_process IS NOT NULL LIMIT 1)",
		NULL, /* the page */
	};
	char path[PATH_MAX], err[PATH_MAX];
	char *conns[] = { (char *)tlsasm, "conns", "--db", path, ja.path, NULL };
	char *rebuild[] = { (char *)tlsasm, "index", "--rebuild", "--db", path, ja.path, NULL };
	char *paths[1] = { ja.path };
	struct index_stats st;
	struct index *ix;

	tpath(path, "damaged-index.db");
	tpath(err, "damaged-index.err");
	for (size_t i = 0; i < sizeof(damage) / sizeof(damage[0]); i++) {
		check_ctx("damage %zu", i);
		if (!(ix = open_index("damaged-index.db", true)))
			return;
		update(ix, paths, 1, &st);
		CHECK_EQ_INT(index_check(ix), 0);
		if (damage[i])
			CHECK_EQ_INT(sqlite3_exec(index_db(ix), damage[i], NULL, NULL, NULL),
				     SQLITE_OK);
		index_close(ix);
		if (!damage[i]) {
			size_t len;
			uint8_t *db = slurp(path, &len);
			FILE *f;

			/* Page 2, the recordings table's root: its type byte and cell count. */
			if (!CHECK(db != NULL) || !CHECK(len > 8192) ||
			    !CHECK((f = fopen(path, "r+")) != NULL)) {
				free(db);
				return;
			}
			db[4096] ^= 0x20;
			db[4099] ^= 0x40;
			fwrite(db, 1, len, f);
			fclose(f);
			free(db);
		}
		if ((ix = open_index("damaged-index.db", false))) {
			CHECK_EQ_INT(index_check(ix), -EUCLEAN);
			index_close(ix);
		}
		CHECK_EQ_INT(run_tool(conns, NULL, err), 1);
		{
			size_t len;
			char *text = (char *)slurp(err, &len);

			CHECK_MSG(text && strstr(text, "damaged") && strstr(text, "--rebuild"),
				  "stderr: %s", text ? text : "(none)");
			free(text);
		}
		CHECK_EQ_INT(run_tool(rebuild, NULL, NULL), 0);
		if ((ix = open_index("damaged-index.db", false))) {
			CHECK_EQ_INT(index_check(ix), 0);
			CHECK_EQ_INT(q1(index_db(ix), "SELECT count(*) FROM connections"), 3);
			index_close(ix);
		}
		unlink(path);
	}
	check_ctx("%s", "");
}

/* A TLS 1.2 SECRET record of cr with master secret ms (NULL: all zeros, as a library that had
 * none yet writes it). */
static bool put_secret12(struct synth *y, const uint8_t cr[32], const uint8_t *ms)
{
	struct tr_secret s;

	secret_head(y, &s, cr, 0x0303, 0x0300c02f, TR_SEC_TLS12);
	if (ms)
		memcpy(s.master_key, ms, TR_SECRET_LEN);
	return CHECK_EQ_INT(chunkbuf_add(&y->cb, &s, sizeof(s)), 0);
}

/* The record header (5) and handshake header (4) of a record of type that ends at q. */
static size_t tls12_close(uint8_t *out, uint8_t *q)
{
	size_t body = (size_t)(q - out) - 9;

	put_be16(out + 3, (uint16_t)(body + 4));
	out[6] = 0;
	put_be16(out + 7, (uint16_t)body);
	return (size_t)(q - out);
}

/* A TLS 1.2 ClientHello offering session ID fill (32 bytes of it) and ticket (tlen bytes; an
 * empty SessionTicket extension when 0). */
static size_t tls12_client_hello(uint8_t *out, const uint8_t cr[32], uint8_t fill,
				 const uint8_t *ticket, uint16_t tlen)
{
	uint8_t *q = out;

	*q++ = 0x16;
	q = put_be16(q, 0x0301);
	q += 2;
	*q++ = 1;
	q += 3;
	q = put_be16(q, 0x0303);
	memcpy(q, cr, 32);
	q += 32;
	*q++ = 32;
	memset(q, fill, 32);
	q += 32;
	q = put_be16(q, 2);
	q = put_be16(q, 0xc02f);
	*q++ = 1;
	*q++ = 0;
	q = put_be16(q, (uint16_t)(4 + tlen));
	q = put_be16(q, 35); /* SessionTicket, RFC 5077 section 3.2 */
	q = put_be16(q, tlen);
	if (tlen)
		memcpy(q, ticket, tlen);
	q += tlen;
	return tls12_close(out, q);
}

/* A TLS 1.2 ServerHello giving session ID fill (32 bytes of it), in a record with a Certificate
 * and a ServerHelloDone when full. */
static size_t tls12_server_hello(uint8_t *out, uint8_t fill, bool full)
{
	uint8_t *q = out, sr[32];
	size_t len;

	memset(sr, 0x5a, sizeof(sr));
	*q++ = 0x16;
	q = put_be16(q, 0x0303);
	q += 2;
	*q++ = 2;
	q += 3;
	q = put_be16(q, 0x0303);
	memcpy(q, sr, 32);
	q += 32;
	*q++ = 32;
	memset(q, fill, 32);
	q += 32;
	q = put_be16(q, 0xc02f);
	*q++ = 0;
	q = put_be16(q, 0);
	len = tls12_close(out, q);
	if (!full)
		return len;
	memcpy(q, "\x0b\x00\x00\x03\x00\x00\x00\x0e\x00\x00\x00", 11);
	q += 11;
	put_be16(out + 3, (uint16_t)(q - out - 5));
	return (size_t)(q - out);
}

/* The server's NewSessionTicket with ticket (tlen bytes), when tlen, then its ChangeCipherSpec. */
static size_t tls12_server_end(uint8_t *out, const uint8_t *ticket, uint16_t tlen)
{
	uint8_t *q = out;

	if (tlen) {
		*q++ = 0x16;
		q = put_be16(q, 0x0303);
		q = put_be16(q, (uint16_t)(4 + 6 + tlen));
		*q++ = 4;
		*q++ = 0;
		q = put_be16(q, (uint16_t)(6 + tlen));
		q = put_be16(put_be16(q, 0), 7200); /* lifetime hint */
		q = put_be16(q, tlen);
		memcpy(q, ticket, tlen);
		q += tlen;
	}
	memcpy(q, "\x14\x03\x03\x00\x01\x01", 6);
	return (size_t)(q + 6 - out);
}

enum resume_case {
	RESUME_WALK_SPLIT, /* part 1 ends after the ServerHello: its ticket and the SECRET later */
	RESUME_SECRET_LATE, /* part 1 ends after the handshake: only the SECRET record later */
	RESUME_ZERO,        /* the SECRET record's master secret is all zeros */
	RESUME_PROOF_LATE,  /* part 1 ends after B's server's Finished: its data later */
	RESUME_REFUSED,     /* B's server answers B's Finished with an alert */
};

/* B's server's records after its ChangeCipherSpec: its Finished, then application data, or with
 * refused an alert first, in the clear's record headers (bodies as good as encrypted). */
static size_t tls12_server_after(uint8_t *out, bool finished, bool data, bool refused)
{
	uint8_t *q = out;

	if (finished) {
		memcpy(q, "\x16\x03\x03\x00\x28", 5);
		memset(q + 5, 0xf1, 0x28);
		q += 5 + 0x28;
	}
	if (refused) {
		memcpy(q, "\x15\x03\x03\x00\x1a", 5);
		memset(q + 5, 0xa1, 0x1a);
		q += 5 + 0x1a;
	}
	if (data) {
		memcpy(q, "\x17\x03\x03\x00\x20", 5);
		memset(q + 5, 0xd1, 0x20);
		q += 5 + 0x20;
	}
	return (size_t)(q - out);
}

/*
 * Host T's journal, its first nchunks chunks (1 to 3): A (port 45000) makes a full TLS 1.2
 * handshake with 192.0.2.20:443, whose server gives session ID 0xa1... and a ticket; B (port
 * 45001) resumes it by that ticket in an abbreviated handshake. Chunk 1: A's hellos (and, with
 * RESUME_SECRET_LATE or RESUME_ZERO, the server's ticket and ChangeCipherSpec); chunk 2: A's
 * SECRET record (and the rest of its handshake); chunk 3: B, its server's Finished and its first
 * application data (but for RESUME_PROOF_LATE: chunk 4).
 */
static bool write_t(const char *name, int nchunks, enum resume_case how, const uint8_t cr[2][32],
		    const uint8_t ms[TR_SECRET_LEN])
{
	static const uint8_t ticket[40] = "RFC 5077 ticket: key name, IV, state...";
	struct synth y;
	struct synth_tcp a, b;
	uint8_t rec[512];
	bool early = how != RESUME_WALK_SPLIT, ok = synth_open(&y, name, 0x7e, "host-t");

	a = (struct synth_tcp){ &y, 2, { "10.0.0.1", "192.0.2.20" }, { 45000, 443 }, { 301, 0 },
				{ TR_DIR_EGRESS, TR_DIR_INGRESS }, { 11, 12 } };
	b = (struct synth_tcp){ &y, 2, { "10.0.0.1", "192.0.2.20" }, { 45001, 443 }, { 302, 0 },
				{ TR_DIR_EGRESS, TR_DIR_INGRESS }, { 13, 14 } };
	ok = ok && synth_begin(&y);
	ok = ok && synth_process(&y, TR_PROC_EXEC, 100, 1, 8, "curl", "/usr/bin/curl", "curl -k");
	ok = ok && synth_socket(&y, TR_SOCK_CONNECT, 301, 100, 100, "curl", IPPROTO_TCP,
				"10.0.0.1", 45000, "192.0.2.20", 443);
	ok = ok && synth_seg(&a, 0, SY_SYN, NULL, 0) && synth_seg(&a, 1, SY_SYN | SY_ACK, NULL, 0) &&
	     synth_seg(&a, 0, SY_ACK, NULL, 0);
	ok = ok && synth_seg(&a, 0, SY_ACK | SY_PSH, rec,
			     tls12_client_hello(rec, cr[0], 0, NULL, 0));
	ok = ok && synth_seg(&a, 1, SY_ACK | SY_PSH, rec, tls12_server_hello(rec, 0xa1, true));
	if (early)
		ok = ok && synth_seg(&a, 1, SY_ACK | SY_PSH, rec,
				     tls12_server_end(rec, ticket, sizeof(ticket)));
	ok = ok && synth_end(&y);
	if (nchunks >= 2) {
		ok = ok && synth_begin(&y);
		ok = ok && put_secret12(&y, cr[0], how == RESUME_ZERO ? NULL : ms);
		if (!early)
			ok = ok && synth_seg(&a, 1, SY_ACK | SY_PSH, rec,
					     tls12_server_end(rec, ticket, sizeof(ticket)));
		ok = ok && synth_end(&y);
	}
	if (nchunks >= 3) {
		ok = ok && synth_begin(&y);
		ok = ok && synth_socket(&y, TR_SOCK_CONNECT, 302, 100, 100, "curl", IPPROTO_TCP,
					"10.0.0.1", 45001, "192.0.2.20", 443);
		ok = ok && synth_seg(&b, 0, SY_SYN, NULL, 0) &&
		     synth_seg(&b, 1, SY_SYN | SY_ACK, NULL, 0) && synth_seg(&b, 0, SY_ACK, NULL, 0);
		ok = ok && synth_seg(&b, 0, SY_ACK | SY_PSH, rec,
				     tls12_client_hello(rec, cr[1], 0xb2, ticket, sizeof(ticket)));
		ok = ok && synth_seg(&b, 1, SY_ACK | SY_PSH, rec,
				     tls12_server_hello(rec, 0xb2, false));
		ok = ok && synth_seg(&b, 1, SY_ACK | SY_PSH, rec, tls12_server_end(rec, NULL, 0));
		ok = ok && synth_seg(&b, 1, SY_ACK | SY_PSH, rec,
				     tls12_server_after(rec, true, how != RESUME_PROOF_LATE,
							how == RESUME_REFUSED));
		ok = ok && synth_end(&y);
	}
	if (nchunks >= 4) {
		ok = ok && synth_begin(&y);
		ok = ok && synth_seg(&b, 1, SY_ACK | SY_PSH, rec,
				     tls12_server_after(rec, false, true, false));
		ok = ok && synth_end(&y);
	}
	return synth_close(&y) && ok;
}

/* The text of one-row, one-column query sql on db into out ("" for none, "NULL" for NULL). */
static void q_text(sqlite3 *db, const char *sql, char *out, size_t size)
{
	sqlite3_stmt *st;

	out[0] = '\0';
	if (!CHECK_MSG(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
		       sqlite3_errmsg(db)))
		return;
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(out, size, "%s",
			 sqlite3_column_type(st, 0) == SQLITE_NULL ?
				 "NULL" : (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

/* The text tlsasm argv writes to its --keylog file keys, into out (size bytes). */
static void tool_keys(char **argv, const char *keys, char *out, size_t size)
{
	char *text;

	out[0] = '\0';
	CHECK_EQ_INT(run_tool(argv, NULL, NULL), 0);
	text = (char *)slurp(keys, &(size_t){ 0 });
	if (CHECK(text != NULL))
		snprintf(out, size, "%s", text);
	free(text);
}

/*
 * A crafted index ties B to a root that is not an earlier connection to B's server: another
 * server's port, or a later first packet. An extraction of B ignores the tie.
 */
static void crafted_root(const char *db, char **extract, const char *keys)
{
	static const char *const crafts[] = {
		"UPDATE connections SET resp_port = 444 WHERE orig_port = 45000",
		"UPDATE connections SET resp_port = 443, first_ns = first_ns + 1000000000000, "
		"last_ns = last_ns + 1000000000000 WHERE orig_port = 45000",
	};
	char got[512];
	sqlite3 *h;

	if (!CHECK_EQ_INT(sqlite3_open(db, &h), SQLITE_OK))
		return;
	for (size_t i = 0; i < sizeof(crafts) / sizeof(crafts[0]); i++) {
		CHECK_EQ_INT(sqlite3_exec(h, crafts[i], NULL, NULL, NULL), SQLITE_OK);
		tool_keys(extract, keys, got, sizeof(got));
		CHECK_MSG(!strcmp(got, ""), "%s: extracted %s", crafts[i], got);
	}
	sqlite3_close(h);
}

/*
 * TLS 1.2 resumption through the index: A's handshake split between two runs (the first one reads
 * up to its ServerHello, or up to its end without its SECRET record), then B resuming A's ticket;
 * or B's handshake split between two runs before its server's first application data; or, with
 * RESUME_ZERO, all in one run. As in an index built in one run: A has secrets and names its
 * sessions (its ticket and session ID; B names its own session ID), B resumes A (has_secrets
 * too), and an extraction of B alone (--port 45001) writes B's client random with A's master
 * secret. With an all-zero master secret, A has none: it names no session, B resumes nothing, and
 * neither the index nor a conversion says they have secrets. With RESUME_REFUSED (B's server
 * answers B's Finished with an alert: B may not hold the session's master secret) B resumes
 * nothing and names no session; nor does it before its server's data (RESUME_PROOF_LATE).
 */
static void resume_runs(enum resume_case how)
{
	static const char *const names[] = { "walk split", "secret late", "zero master secret",
					     "proof late", "refused" };
	bool late = how == RESUME_PROOF_LATE, none = how == RESUME_ZERO || how == RESUME_REFUSED;
	uint8_t cr[2][32], ms[TR_SECRET_LEN];
	char part[PATH_MAX], full[PATH_MAX], db[PATH_MAX], keys[PATH_MAX], want[256], got[512];
	char crx[2][65], msx[2 * TR_SECRET_LEN + 1], name[32];
	char *runs[] = { part, NULL, full, NULL, NULL };
	char *extract[] = { (char *)tlsasm, "--db", db, "--port", "45001", full, "--keylog", keys,
			    NULL };
	char *convert[] = { (char *)tlsasm, full, "--keylog", keys, NULL };
	const char *b_row = "SELECT has_secrets || ' ' || coalesce(resumes, '-') FROM connections "
			    "WHERE orig_port = 45001";
	struct index *ix;
	struct index_stats st;
	sqlite3 *h;

	check_ctx("%s", names[how]);
	for (int i = 0; i < 32; i++) {
		cr[0][i] = (uint8_t)(0xa0 + i);
		cr[1][i] = (uint8_t)(0xc0 + i);
	}
	for (int i = 0; i < TR_SECRET_LEN; i++)
		ms[i] = (uint8_t)(0x10 + i);
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < 32; i++)
			snprintf(crx[k] + 2 * i, 3, "%02x", cr[k][i]);
	for (int i = 0; i < TR_SECRET_LEN; i++)
		snprintf(msx + 2 * i, 3, "%02x", ms[i]);
	snprintf(name, sizeof(name), "t%d-part.lz4", how);
	tpath(part, name);
	if (!write_t(name, late ? 3 : 1, how, cr, ms))
		return;
	snprintf(name, sizeof(name), "t%d-full.lz4", how);
	tpath(full, name);
	if (!write_t(name, late ? 4 : 3, how, cr, ms))
		return;
	snprintf(name, sizeof(name), "t%d.db", how);
	tpath(db, name);
	tpath(keys, "t-keys.txt");
	ix = open_index(name, true);
	if (!ix)
		return;
	if (how != RESUME_ZERO)
		update(ix, runs, 1, &st);
	if (late) {
		q_text(index_db(ix), b_row, got, sizeof(got));
		CHECK_MSG(!strcmp(got, "0 -"), "B before its server's data: %s", got);
	}
	update(ix, runs + 2, 1, &st);
	h = index_db(ix);
	q_text(h, "SELECT has_secrets || ' ' || coalesce(resumes, '-') FROM connections "
		  "WHERE orig_port = 45000", got, sizeof(got));
	CHECK_MSG(!strcmp(got, how == RESUME_ZERO ? "0 -" : "1 -"), "A: %s", got);
	snprintf(want, sizeof(want), "%s %s", none ? "0" : "1", none ? "-" : crx[0]);
	q_text(h, b_row, got, sizeof(got));
	CHECK_MSG(!strcmp(got, want), "B: %s, want %s", got, want);
	CHECK_EQ_INT((int)q1(h, "SELECT count(*) FROM sessions"),
		     how == RESUME_ZERO ? 0 : how == RESUME_REFUSED ? 2 : 3);
	index_close(ix);

	snprintf(want, sizeof(want), "CLIENT_RANDOM %s %s\n", crx[1], msx);
	tool_keys(extract, keys, got, sizeof(got));
	CHECK_MSG(!strcmp(got, none ? "" : want), "extracted: %s", got);
	/* A conversion agrees with the index on which handshakes have secrets. */
	tool_keys(convert, keys, got, sizeof(got));
	if (how == RESUME_ZERO)
		CHECK_MSG(!strcmp(got, ""), "converted: %s", got);
	else
		CHECK_MSG(!strstr(got, want) == none, "converted: %s", got);
	if (how == RESUME_SECRET_LATE)
		crafted_root(db, extract, keys);
	check_ctx("%s", "");
}

static void test_resume(void)
{
	resume_runs(RESUME_WALK_SPLIT);
	resume_runs(RESUME_SECRET_LATE);
	resume_runs(RESUME_ZERO);
	resume_runs(RESUME_PROOF_LATE);
	resume_runs(RESUME_REFUSED);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s TLSASM\n", argv[0]);
		return 2;
	}
	tlsasm = argv[1];
	if (!tmpdir_make("tlsrec-index"))
		return 1;
	CHECK_RUN(test_build_and_increment);
	if (ja.jw)
		synth_close(&ja);
	CHECK_RUN(test_several);
	CHECK_RUN(test_select);
	CHECK_RUN(test_hostile);
	CHECK_RUN(test_not_an_index);
	CHECK_RUN(test_split);
	CHECK_RUN(test_rotation);
	CHECK_RUN(test_late_owner);
	CHECK_RUN(test_many_owners);
	CHECK_RUN(test_binary);
	CHECK_RUN(test_damaged);
	CHECK_RUN(test_resume);
	tmpdir_remove();
	return check_exit();
}

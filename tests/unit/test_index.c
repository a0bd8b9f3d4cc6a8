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
 *   binary     tlsasm conns --json (parsed by python3 -m json.tool), --csv (columns counted),
 *              the filters, tlsasm procs, and tlsasm index's summary.
 */
#include <sqlite3.h>

#include "check.h"
#include "index.h"
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
	CHECK_EQ_INT(index_open(path, create, &ix), 0);
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
	CHECK_EQ_INT(index_open(path, true, &ix), -EPROTO);
	check_ctx("another version");
	tpath(path, "v99.db");
	if (CHECK_EQ_INT(sqlite3_open(path, &db), SQLITE_OK)) {
		CHECK_EQ_INT(sqlite3_exec(db, "CREATE TABLE t(x); PRAGMA user_version = 99", NULL,
					  NULL, NULL),
			     SQLITE_OK);
		sqlite3_close(db);
	}
	CHECK_EQ_INT(index_open(path, true, &ix), -EPROTO);
	check_ctx("absent, not to be created");
	tpath(path, "absent.db");
	CHECK_EQ_INT(index_open(path, false, &ix), -ENOENT);

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
	CHECK_RUN(test_binary);
	tmpdir_remove();
	return check_exit();
}

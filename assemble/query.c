// SPDX-License-Identifier: BSD-2-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "array.h"
#include "exitcode.h"
#include "log.h"
#include "query.h"

#define NS_PER_S 1000000000ULL

int query_parse_time(const char *s, uint64_t *ns)
{
	struct tm tm = { 0 };
	uint64_t frac = 0, scale = NS_PER_S;
	const char *p;
	long off = 0;
	time_t t;

	/* The index keeps times in SQLite's signed 64-bit integers: up to the year 2262. */
	if (!parse_seconds(s, 0, INT64_MAX, ns))
		return 0;
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		p = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
	if (!p)
		return -EINVAL;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++)
			if (scale > 1) {
				scale /= 10;
				frac += (uint64_t)(*p - '0') * scale;
			}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' &&
		   p[2] <= '9' && p[3] == ':' && p[4] >= '0' && p[4] <= '9' && p[5] >= '0' &&
		   p[5] <= '9') {
		off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600L + ((p[4] - '0') * 10 + (p[5] - '0')) * 60L;
		if (*p == '-')
			off = -off;
		p += 6;
	} else {
		return -EINVAL; /* RFC 3339 wants the offset: no guess at local time */
	}
	if (*p)
		return -EINVAL;
	t = timegm(&tm) - off;
	if (t < 0 || (uint64_t)t > (INT64_MAX - frac) / NS_PER_S)
		return -EINVAL;
	*ns = (uint64_t)t * NS_PER_S + frac;
	return 0;
}

int query_filter_option(struct query_filter *q, int c, const char *arg)
{
	struct in6_addr a6;
	uint64_t v;
	int ret = 0;

	switch (c) {
	case QUERY_OPT_PID:
	case QUERY_OPT_UID:
		ret = parse_u64(arg, 0, UINT32_MAX, &v);
		if (ret)
			break;
		if (c == QUERY_OPT_UID) {
			q->f.has_uid = true;
			q->f.uid = (uint32_t)v;
			return 1;
		}
		if (array_reserve(&q->pids, &q->pids_cap, q->f.npids + 1, sizeof(*q->pids), 8))
			return -ENOMEM;
		q->pids[q->f.npids++] = (uint32_t)v;
		q->f.pids = q->pids;
		return 1;
	case QUERY_OPT_CONN:
		ret = parse_u64(arg, 1, INT64_MAX, &v);
		if (ret)
			break;
		if (array_reserve(&q->conns, &q->conns_cap, q->f.nconns + 1, sizeof(*q->conns), 8))
			return -ENOMEM;
		q->conns[q->f.nconns++] = (int64_t)v;
		q->f.conns = q->conns;
		return 1;
	case QUERY_OPT_COMM:
		q->f.comm = arg;
		return 1;
	case QUERY_OPT_SINCE:
		ret = query_parse_time(arg, &q->f.since_ns);
		q->f.has_since = !ret;
		break;
	case QUERY_OPT_UNTIL:
		ret = query_parse_time(arg, &q->f.until_ns);
		q->f.has_until = !ret;
		break;
	case QUERY_OPT_HOST:
		/* As the index writes addresses: inet_ntop's text of the parsed address. */
		if (inet_pton(AF_INET, arg, &a6) == 1)
			inet_ntop(AF_INET, &a6, q->host, sizeof(q->host));
		else if (inet_pton(AF_INET6, arg, &a6) == 1)
			inet_ntop(AF_INET6, &a6, q->host, sizeof(q->host));
		else
			ret = -EINVAL;
		q->f.host = ret ? NULL : q->host;
		break;
	case QUERY_OPT_PORT:
		ret = parse_u64(arg, 0, 65535, &v);
		q->f.has_port = !ret;
		q->f.port = (uint16_t)v;
		break;
	default:
		return 0;
	}
	if (!ret)
		return 1;
	switch (c) {
	case QUERY_OPT_SINCE:
	case QUERY_OPT_UNTIL:
		log_err("--%s %s: not a time (2026-11-26T10:00:00Z, or seconds since the epoch)",
			c == QUERY_OPT_SINCE ? "since" : "until", arg);
		break;
	case QUERY_OPT_HOST:
		log_err("--host %s: not an IPv4 or IPv6 address", arg);
		break;
	default:
		log_err("--%s %s: %s", c == QUERY_OPT_PID ? "pid" : c == QUERY_OPT_UID ? "uid" :
				       c == QUERY_OPT_CONN ? "conn" : "port",
			arg, ret == -ERANGE ? "out of range" : "not a number");
	}
	return ret;
}

void query_filter_free(struct query_filter *q)
{
	free(q->pids);
	free(q->conns);
	memset(q, 0, sizeof(*q));
}

enum format { TEXT, JSON, CSV };

enum cell_kind { C_NULL, C_INT, C_TEXT, C_BOOL, C_SECONDS };

struct cell {
	enum cell_kind kind;
	int64_t i;
	double d;
	const char *s;
};

struct column {
	const char *name; /* JSON key and CSV header */
	const char *head; /* text header, "" for none */
	int width;        /* text: negative to align left */
};

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void csv_string(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void print_header(FILE *f, enum format fmt, const struct column *cols, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (fmt == CSV)
			fprintf(f, "%s%s", i ? "," : "", cols[i].name);
		else if (fmt == TEXT && cols[i].head[0])
			fprintf(f, "%s%*s", i ? " " : "", cols[i].width, cols[i].head);
	}
	if (fmt != JSON)
		fputc('\n', f);
	else
		fputs("[", f);
}

static void print_row(FILE *f, enum format fmt, const struct column *cols,
		      const struct cell *cells, size_t n, bool first)
{
	char buf[64];

	if (fmt == JSON)
		fputs(first ? "\n  {" : ",\n  {", f);
	for (size_t i = 0, shown = 0; i < n; i++) {
		const struct cell *c = &cells[i];
		const char *text = buf;

		switch (c->kind) {
		case C_NULL:
			text = fmt == JSON ? "null" : fmt == CSV ? "" : "-";
			break;
		case C_INT:
			snprintf(buf, sizeof(buf), "%" PRId64, c->i);
			break;
		case C_BOOL:
			text = fmt == JSON ? (c->i ? "true" : "false") : (c->i ? "yes" : "no");
			break;
		case C_SECONDS:
			snprintf(buf, sizeof(buf), "%.6f", c->d);
			break;
		case C_TEXT:
			text = c->s;
			break;
		}
		if (fmt == JSON) {
			fprintf(f, "%s\"%s\": ", i ? ", " : "", cols[i].name);
			if (c->kind == C_TEXT)
				json_string(f, text);
			else
				fputs(text, f);
		} else if (fmt == CSV) {
			if (i)
				fputc(',', f);
			csv_string(f, text);
		} else if (cols[i].head[0]) {
			fprintf(f, "%s%*s", shown++ ? " " : "", cols[i].width, text);
		}
	}
	fputs(fmt == JSON ? "}" : "\n", f);
}

static void print_end(FILE *f, enum format fmt, bool any)
{
	if (fmt == JSON)
		fputs(any ? "\n]\n" : "]\n", f);
}

static struct cell int_cell(sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return (struct cell){ .kind = C_NULL };
	return (struct cell){ .kind = C_INT, .i = sqlite3_column_int64(st, col) };
}

static struct cell text_cell(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	return s ? (struct cell){ .kind = C_TEXT, .s = (const char *)s }
		 : (struct cell){ .kind = C_NULL };
}

/* ns since the epoch as RFC 3339 with decimals (9 of them, or 3 for text), in UTC. */
static void rfc3339(char *out, size_t size, int64_t ns, int decimals)
{
	time_t t = (time_t)(ns / (int64_t)NS_PER_S);
	int64_t frac = ns % (int64_t)NS_PER_S;
	struct tm tm;
	size_t n;

	if (!gmtime_r(&t, &tm)) {
		snprintf(out, size, "?");
		return;
	}
	n = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, size - n, ".%0*" PRId64 "Z", decimals,
		 decimals == 3 ? frac / 1000000 : frac);
}

enum { OPT_JSON = 0x400, OPT_CSV, OPT_DB };

#define COMMON_OPTIONS                                                                      \
	{ "db", OPT_DB, required_argument, "PATH",                                          \
	  "The index to read (and bring up to date): PATH instead of the first journal's\n" \
	  "name with .db added." },                                                         \
	{ "json", OPT_JSON, no_argument, NULL, "Write a JSON array of objects." },          \
	{ "csv", OPT_CSV, no_argument, NULL, "Write CSV with a header line (RFC 4180)." },  \
	{ "verbose", 'v', no_argument, NULL, "Say more." },                                 \
	{ "help", 'h', no_argument, NULL, "Print this help and exit." }

static const struct cli_option conns_options[] = {
	QUERY_FILTER_OPTIONS,
	COMMON_OPTIONS,
	{ 0 },
};

static const struct cli_option procs_options[] = {
	COMMON_OPTIONS,
	{ 0 },
};

static void conns_usage(FILE *f)
{
	fputs("NAME\n"
	      "       tlsasm conns - list the connections of tlsrec journals\n"
	      "\n"
	      "SYNOPSIS\n"
	      "       tlsasm conns [--json|--csv] [--db path] [filters] journal...\n"
	      "\n"
	      "DESCRIPTION\n"
	      "       One line per TCP connection or UDP flow in the journals, in order of start:\n"
	      "       its id (what --conn takes), start time (UTC), duration in seconds,\n"
	      "       protocol, local and remote address and port, the pid and comm of the\n"
	      "       process that owns the local end, packets and bytes sent (out) and received\n"
	      "       (in) by the local end, TLS version, server name (SNI) and whether the\n"
	      "       journals hold the connection's TLS secrets. The local end is the one a\n"
	      "       process of the recording host owns (the client's when both are local);\n"
	      "       - stands for not known.\n"
	      "\n"
	      "       The answer comes from the index beside the journals (journal.db, see\n"
	      "       tlsasm index), which is built when absent and brought up to date first.\n"
	      "       Filters AND together; --pid and --conn may repeat (any of their values).\n"
	      "\n"
	      "OPTIONS\n",
	      f);
	cli_print_options(f, conns_options);
	fputs("EXIT STATUS\n"
	      "       0 on success, 1 on failure, 2 for a usage error, 3 when a journal was damaged\n"
	      "       (everything intact in it was indexed).\n"
	      "\n"
	      "EXAMPLES\n"
	      "       Every connection:\n"
	      "              tlsasm conns journal.lz4\n"
	      "       What curl did after ten o'clock, for a script:\n"
	      "              tlsasm conns --comm curl --since 2026-11-26T10:00:00Z --json journal.lz4\n"
	      "       Connections of two processes to port 443:\n"
	      "              tlsasm conns --pid 1234 --pid 1240 --port 443 journal.lz4*\n"
	      "\n"
	      "SEE ALSO\n"
	      "       tlsasm(1), docs/index.md\n",
	      f);
}

static void procs_usage(FILE *f)
{
	fputs("NAME\n"
	      "       tlsasm procs - list the processes that own connections in tlsrec journals\n"
	      "\n"
	      "SYNOPSIS\n"
	      "       tlsasm procs [--json|--csv] [--db path] journal...\n"
	      "\n"
	      "DESCRIPTION\n"
	      "       One line per process that owns an end of at least one connection: host,\n"
	      "       pid, user id, comm, the number of connections, packets and bytes it sent\n"
	      "       and received, and its command line. A process is a pid and its start\n"
	      "       time: a pid used again by another process is another line.\n"
	      "\n"
	      "OPTIONS\n",
	      f);
	cli_print_options(f, procs_options);
	fputs("EXIT STATUS\n"
	      "       As tlsasm conns.\n"
	      "\n"
	      "EXAMPLES\n"
	      "       Which programs talked, and how much:\n"
	      "              tlsasm procs journal.lz4\n"
	      "       The same as CSV:\n"
	      "              tlsasm procs --csv journal.lz4 > procs.csv\n"
	      "\n"
	      "SEE ALSO\n"
	      "       tlsasm(1), tlsasm conns, docs/index.md\n",
	      f);
}

struct query_args {
	enum format fmt;
	const char *db;
	int verbose;
	struct query_filter q;
	char **journals;
	unsigned n;
};

/* Parse a query command's arguments. -1 to go on, or an exit status. */
static int parse_query(int argc, char **argv, const struct cli_option *opts,
		       void (*usage)(FILE *f), struct query_args *a)
{
	struct cli cli;
	int c, ret;

	memset(a, 0, sizeof(*a));
	cli_init(&cli, opts);
	optind = 1;
	while ((c = getopt_long(argc, argv, cli.shortopts, cli.longopts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON:
			a->fmt = JSON;
			break;
		case OPT_CSV:
			a->fmt = CSV;
			break;
		case OPT_DB:
			a->db = optarg;
			break;
		case 'v':
			a->verbose++;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			ret = query_filter_option(&a->q, c, optarg);
			if (ret > 0)
				break;
			if (!ret)
				cli_option_error(c, argv);
			return ret == -ENOMEM ? EXIT_FAIL : EXIT_USAGE;
		}
	}
	log_init("tlsasm", (enum log_level)(LOG_WARN + a->verbose));
	a->journals = argv + optind;
	a->n = (unsigned)(argc - optind);
	index_skip_own(a->journals, &a->n, a->db);
	if (!a->n) {
		log_err("no journal to read: give one or more journal files");
		return EXIT_USAGE;
	}
	return -1;
}

static const struct column conn_cols[] = {
	{ "id", "ID", 5 },
	{ "start", "START", -24 },
	{ "start_ns", "", 0 },
	{ "duration", "DURATION", 10 },
	{ "protocol", "PROTO", -5 },
	{ "local_addr", "LOCAL", 21 },
	{ "local_port", "", 0 },
	{ "remote_addr", "REMOTE", -21 },
	{ "remote_port", "", 0 },
	{ "pid", "PID", 7 },
	{ "tid", "", 0 },
	{ "uid", "", 0 },
	{ "comm", "COMM", -15 },
	{ "peer_pid", "", 0 },
	{ "peer_comm", "", 0 },
	{ "packets_out", "PKTS>", 7 },
	{ "bytes_out", "BYTES>", 10 },
	{ "packets_in", "PKTS<", 7 },
	{ "bytes_in", "BYTES<", 10 },
	{ "tls", "TLS", 4 },
	{ "sni", "SNI", -24 },
	{ "alpn", "", 0 },
	{ "client_random", "", 0 },
	{ "secrets", "SECRETS", 7 },
	{ "conn_state", "", 0 },
	{ "host", "", 0 },
};
#define NCONN_COLS (sizeof(conn_cols) / sizeof(conn_cols[0]))

static void endpoint(char *out, size_t size, const char *addr, int port, bool v6)
{
	snprintf(out, size, v6 ? "[%s]:%d" : "%s:%d", addr, port);
}

/* One connection row of the query in conns_main into cells, and print it. */
static void print_conn(sqlite3_stmt *st, enum format fmt, bool first)
{
	struct cell cells[NCONN_COLS];
	char start[48], local[80], remote[80];
	/* The local end: orig unless only resp is owned. */
	bool swap = sqlite3_column_type(st, 9) == SQLITE_NULL &&
		    sqlite3_column_type(st, 13) != SQLITE_NULL;
	int l = swap ? 7 : 5, r = swap ? 5 : 7, lo = swap ? 13 : 9, ro = swap ? 9 : 13;
	int lp = swap ? 19 : 17, rp = swap ? 17 : 19;
	bool v6 = sqlite3_column_int(st, 4) == 6;
	const unsigned char *la = sqlite3_column_text(st, l), *ra = sqlite3_column_text(st, r);
	const char *tls = tlsconn_version_name((uint16_t)sqlite3_column_int(st, 21));
	size_t k = 0;

	rfc3339(start, sizeof(start), sqlite3_column_int64(st, 1), fmt == TEXT ? 3 : 9);
	cells[k++] = int_cell(st, 0);
	cells[k++] = (struct cell){ .kind = C_TEXT, .s = start };
	cells[k++] = int_cell(st, 1);
	cells[k++] = (struct cell){ .kind = C_SECONDS,
				    .d = (double)(sqlite3_column_int64(st, 2) -
						  sqlite3_column_int64(st, 1)) / 1e9 };
	cells[k++] = text_cell(st, 3);
	if (fmt == TEXT) {
		endpoint(local, sizeof(local), la ? (const char *)la : "?",
			 sqlite3_column_int(st, l + 1), v6);
		endpoint(remote, sizeof(remote), ra ? (const char *)ra : "?",
			 sqlite3_column_int(st, r + 1), v6);
		cells[k++] = (struct cell){ .kind = C_TEXT, .s = local };
		cells[k++] = (struct cell){ .kind = C_NULL };
		cells[k++] = (struct cell){ .kind = C_TEXT, .s = remote };
		cells[k++] = (struct cell){ .kind = C_NULL };
	} else {
		cells[k++] = text_cell(st, l);
		cells[k++] = int_cell(st, l + 1);
		cells[k++] = text_cell(st, r);
		cells[k++] = int_cell(st, r + 1);
	}
	cells[k++] = int_cell(st, lo);
	cells[k++] = int_cell(st, lo + 1);
	cells[k++] = int_cell(st, lo + 2);
	cells[k++] = text_cell(st, lo + 3);
	cells[k++] = int_cell(st, ro);
	cells[k++] = text_cell(st, ro + 3);
	cells[k++] = int_cell(st, lp);
	cells[k++] = int_cell(st, lp + 1);
	cells[k++] = int_cell(st, rp);
	cells[k++] = int_cell(st, rp + 1);
	cells[k++] = tls ? (struct cell){ .kind = C_TEXT, .s = tls } : (struct cell){ .kind = C_NULL };
	cells[k++] = text_cell(st, 22);
	cells[k++] = text_cell(st, 23);
	cells[k++] = text_cell(st, 24);
	cells[k++] = (struct cell){ .kind = C_BOOL, .i = sqlite3_column_int(st, 25) };
	cells[k++] = text_cell(st, 26);
	cells[k++] = text_cell(st, 27);
	print_row(stdout, fmt, conn_cols, cells, k, first);
}

/* Open the index of a's journals, run sql (a query of rows printed by print one by one), and
 * say what went wrong. Returns the exit status. */
static int run_query(struct query_args *a, const char *sql, bool filtered,
		     const struct column *cols, size_t ncols,
		     void (*print)(sqlite3_stmt *st, enum format fmt, bool first))
{
	struct index *ix = NULL;
	sqlite3_stmt *st = NULL;
	unsigned damage;
	bool any = false;
	int rc, status = EXIT_FAIL;

	if (index_prepare(a->journals, a->n, a->db, INDEX_CREATE, &ix, &damage))
		goto out;
	if (sqlite3_prepare_v2(index_db(ix), sql, -1, &st, NULL) != SQLITE_OK) {
		log_err("querying the index: %s", sqlite3_errmsg(index_db(ix)));
		goto out;
	}
	if (filtered)
		index_filter_bind(st, &a->q.f, 1);
	print_header(stdout, a->fmt, cols, ncols);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		print(st, a->fmt, !any);
		any = true;
	}
	print_end(stdout, a->fmt, any);
	if (rc != SQLITE_DONE) {
		log_err("querying the index: %s", sqlite3_errmsg(index_db(ix)));
		goto out;
	}
	if (fflush(stdout)) {
		log_err("writing the answer: %s", strerror(errno));
		goto out;
	}
	status = damage ? EXIT_DAMAGED : EXIT_OK;
out:
	sqlite3_finalize(st);
	index_close(ix);
	return status;
}

int conns_main(int argc, char **argv)
{
	struct query_args a;
	char where[4096], sql[5120];
	int status = parse_query(argc, argv, conns_options, conns_usage, &a);

	if (status >= 0)
		goto out;
	status = EXIT_USAGE;
	if (index_filter_sql(&a.q.f, where, sizeof(where))) {
		log_err("too many filter values");
		goto out;
	}
	snprintf(sql, sizeof(sql),
		 "SELECT c.id, c.first_ns, c.last_ns, c.protocol, c.family, c.orig_addr, "
		 "c.orig_port, c.resp_addr, c.resp_port, po.pid, c.orig_tid, po.uid, po.comm, "
		 "pr.pid, c.resp_tid, pr.uid, pr.comm, c.orig_packets, c.orig_bytes, "
		 "c.resp_packets, c.resp_bytes, c.tls_version, c.sni, c.alpn, c.client_random, "
		 "c.has_secrets, c.conn_state, rc.host %s ORDER BY c.first_ns, c.id",
		 where);
	status = run_query(&a, sql, true, conn_cols, NCONN_COLS, print_conn);
out:
	query_filter_free(&a.q);
	return status;
}

static const struct column proc_cols[] = {
	{ "host", "HOST", -16 },
	{ "pid", "PID", 7 },
	{ "start_ns", "", 0 },
	{ "ppid", "", 0 },
	{ "uid", "UID", 6 },
	{ "comm", "COMM", -15 },
	{ "connections", "CONNS", 6 },
	{ "packets_sent", "PKTS>", 8 },
	{ "bytes_sent", "BYTES>", 11 },
	{ "packets_received", "PKTS<", 8 },
	{ "bytes_received", "BYTES<", 11 },
	{ "exe", "", 0 },
	{ "cmdline", "CMDLINE", -1 },
};
#define NPROC_COLS (sizeof(proc_cols) / sizeof(proc_cols[0]))

static void print_proc(sqlite3_stmt *st, enum format fmt, bool first)
{
	struct cell cells[NPROC_COLS];

	cells[0] = text_cell(st, 0);
	for (int i = 1; i < 5; i++)
		cells[i] = int_cell(st, i);
	cells[5] = text_cell(st, 5);
	for (int i = 6; i < 11; i++)
		cells[i] = int_cell(st, i);
	cells[11] = text_cell(st, 11);
	cells[12] = text_cell(st, 12);
	print_row(stdout, fmt, proc_cols, cells, NPROC_COLS, first);
}

int procs_main(int argc, char **argv)
{
	struct query_args a;
	int status = parse_query(argc, argv, procs_options, procs_usage, &a);

	if (status < 0)
		status = run_query(
			&a,
			"SELECT rc.host, p.pid, p.start_ns, p.ppid, p.uid, p.comm, "
			"count(DISTINCT x.conn), sum(x.sp), sum(x.sb), sum(x.rp), sum(x.rb), p.exe, "
			"p.cmdline FROM (SELECT id AS conn, orig_process AS proc, orig_packets AS sp, "
			"orig_bytes AS sb, resp_packets AS rp, resp_bytes AS rb FROM connections "
			"WHERE orig_process IS NOT NULL UNION ALL SELECT id, resp_process, "
			"resp_packets, resp_bytes, orig_packets, orig_bytes FROM connections WHERE "
			"resp_process IS NOT NULL) x JOIN processes p ON p.id = x.proc "
			"JOIN recordings rc ON rc.id = p.recording "
			"GROUP BY p.id ORDER BY rc.host, p.pid, p.start_ns",
			false, proc_cols, NPROC_COLS, print_proc);
	query_filter_free(&a.q);
	return status;
}

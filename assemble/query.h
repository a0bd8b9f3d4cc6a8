/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * `tlsasm conns` and `tlsasm procs`: the connection index read back, as aligned text, JSON or
 * CSV; and the filter options (--pid, --comm, --uid, --conn, --since, --until, --host, --port)
 * that extraction takes too.
 */
#ifndef TLSASM_QUERY_H
#define TLSASM_QUERY_H

#include <stdint.h>

#include "cli.h"
#include "index.h"

/* Option values of the filters (long options only). */
enum {
	QUERY_OPT_PID = 0x300,
	QUERY_OPT_COMM,
	QUERY_OPT_UID,
	QUERY_OPT_CONN,
	QUERY_OPT_SINCE,
	QUERY_OPT_UNTIL,
	QUERY_OPT_HOST,
	QUERY_OPT_PORT,
};

/* The filter options, as entries of a cli_option table (put them before its end). */
#define QUERY_FILTER_OPTIONS                                                                      \
	{ "pid", QUERY_OPT_PID, required_argument, "N",                                           \
	  "Connections one of whose ends process N owns. Repeat for several (any of them)." },    \
	{ "comm", QUERY_OPT_COMM, required_argument, "NAME",                                      \
	  "Connections one of whose ends a process of this name (comm, as in ps) owns." },        \
	{ "uid", QUERY_OPT_UID, required_argument, "N",                                           \
	  "Connections one of whose ends a process of user id N owns." },                         \
	{ "conn", QUERY_OPT_CONN, required_argument, "ID",                                        \
	  "The connection of this id (as tlsasm conns lists it). Repeat for several." },          \
	{ "since", QUERY_OPT_SINCE, required_argument, "T",                                       \
	  "Connections still going at or after T: RFC 3339 (2026-11-26T10:00:00Z, or with an\n"  \
	  "offset: +01:00) or seconds since the epoch (1795000000.5)." },                          \
	{ "until", QUERY_OPT_UNTIL, required_argument, "T",                                       \
	  "Connections that started at or before T (as --since)." },                              \
	{ "host", QUERY_OPT_HOST, required_argument, "ADDR",                                      \
	  "Connections one of whose ends has IPv4 or IPv6 address ADDR." },                       \
	{ "port", QUERY_OPT_PORT, required_argument, "N",                                         \
	  "Connections one of whose ends has port N." }

/* The filter being built from options; f points into it. */
struct query_filter {
	struct index_filter f;
	uint32_t *pids;
	size_t pids_cap;
	int64_t *conns;
	size_t conns_cap;
	char host[64];
};

/*
 * Take filter option c (QUERY_OPT_*) with its argument. Returns 1 when taken, 0 when c is not a
 * filter option, or -EINVAL / -ERANGE / -ENOMEM after a message naming the option.
 */
int query_filter_option(struct query_filter *q, int c, const char *arg);

void query_filter_free(struct query_filter *q);

/* Parse an RFC 3339 time or seconds since the epoch into ns since the epoch. 0 or -EINVAL. */
int query_parse_time(const char *s, uint64_t *ns);

/* `tlsasm conns ...` and `tlsasm procs ...` (argv[0] is the command). Return the exit status. */
int conns_main(int argc, char **argv);
int procs_main(int argc, char **argv);

#endif /* TLSASM_QUERY_H */

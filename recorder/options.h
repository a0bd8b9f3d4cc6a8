/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef TLSREC_OPTIONS_H
#define TLSREC_OPTIONS_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define DEFAULT_RING_KIB 16384

/* A file to hook named on the command line. */
struct named_file {
	const char *path;
	bool go; /* --go-program; else --libssl */
};

struct opts {
	const char **ifnames;
	size_t n_ifnames, ifnames_cap;
	const char *path;
	__u32 snaplen;
	uint64_t count;
	uint64_t rotate_bytes;
	unsigned rotate_files;
	uint64_t ring_bytes;
	bool want_in, want_out;
	uint64_t flush_ns;
	bool secrets_only;
	bool no_secrets;
	pid_t *pids; /* -p */
	size_t n_pids, pids_cap;
	bool by_uid;
	__u32 uid;          /* -u */
	const char *cgroup; /* --cgroup */
	struct named_file *named; /* --libssl and --go-program, in order */
	size_t n_named, named_cap;
	bool list;         /* -D */
	bool list_targets; /* --list-targets */
	char *filter;      /* the words after the options, joined by spaces; NULL when none */
	int verbose;
};

/* Parse argv into o. Returns -1 to go on, or an exit status (having said why). */
int parse_args(int argc, char **argv, struct opts *o);

void opts_free(struct opts *o);

/* Log one error line and give the exit status of a usage error. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* TLSREC_OPTIONS_H */

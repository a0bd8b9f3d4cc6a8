/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One option table drives both getopt_long and the OPTIONS part of --help, so the two cannot
 * disagree. Range-checked number parsers with exact messages, as tcpdump's.
 */
#ifndef TLSREC_CLI_H
#define TLSREC_CLI_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

struct cli_option {
	const char *name; /* long name, or NULL */
	int val;          /* short letter, or a value >= 256 for a long-only option */
	int has_arg;      /* no_argument or required_argument */
	const char *arg;  /* name of the argument in help text */
	const char *help; /* paragraph; '\n' starts a new line */
};

#define CLI_MAX_OPTIONS 48

struct cli {
	char shortopts[2 * CLI_MAX_OPTIONS + 2];
	struct option longopts[CLI_MAX_OPTIONS + 1];
};

/* Build getopt_long's tables from opts, which ends with an entry whose val is 0. */
void cli_init(struct cli *c, const struct cli_option *opts);

/*
 * After getopt_long returned '?' or ':' (cli_init makes getopt report, not print, errors): log
 * one line saying what was wrong with the option at argv[optind - 1].
 */
void cli_option_error(int c, char **argv);

/* The n words of a filter expression, joined by spaces as tcpdump joins them, in a string the
 * caller frees. NULL with errno set when out of memory. */
char *cli_join(char *const *words, int n);

/* Print the options as a man page's OPTIONS section does. */
void cli_print_options(FILE *f, const struct cli_option *opts);

/*
 * Parse s as a decimal integer in [min, max]. Returns 0, or -EINVAL when s is not a number
 * (empty, trailing characters, sign) and -ERANGE when it is out of range.
 */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/*
 * Parse s as seconds, with up to nine decimals ("1", "0.25"), in [min_ns, max_ns] once converted
 * to nanoseconds. Returns 0, -EINVAL or -ERANGE as parse_u64.
 */
int parse_seconds(const char *s, uint64_t min_ns, uint64_t max_ns, uint64_t *out_ns);

#endif /* TLSREC_CLI_H */

// SPDX-License-Identifier: BSD-2-Clause
#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"

void cli_init(struct cli *c, const struct cli_option *opts)
{
	size_t n = 0, s = 0;

	memset(c, 0, sizeof(*c));
	c->shortopts[s++] = ':'; /* report a missing argument as ':' */
	opterr = 0;
	for (const struct cli_option *o = opts; o->val && n < CLI_MAX_OPTIONS; o++) {
		if (o->val < 256) {
			c->shortopts[s++] = (char)o->val;
			if (o->has_arg == required_argument)
				c->shortopts[s++] = ':';
		}
		if (o->name) {
			c->longopts[n].name = o->name;
			c->longopts[n].has_arg = o->has_arg;
			c->longopts[n].val = o->val;
			n++;
		}
	}
}

void cli_option_error(int c, char **argv)
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		log_err("option '%s' needs an argument", arg);
	else if (optopt && arg[0] == '-' && arg[1] != '-')
		log_err("unknown option '-%c'", optopt);
	else
		log_err("unknown option '%s'", arg);
}

static void print_paragraph(FILE *f, const char *text)
{
	const char *p = text;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		fprintf(f, "              %.*s\n", (int)len, p);
		p += len + (nl ? 1 : 0);
	}
}

void cli_print_options(FILE *f, const struct cli_option *opts)
{
	for (const struct cli_option *o = opts; o->val; o++) {
		fputs("       ", f);
		if (o->val < 256) {
			fprintf(f, "-%c", o->val);
			if (o->arg)
				fprintf(f, " %s", o->arg);
			if (o->name)
				fputs(", ", f);
		}
		if (o->name) {
			fprintf(f, "--%s", o->name);
			if (o->arg)
				fprintf(f, "=%s", o->arg);
		}
		fputc('\n', f);
		print_paragraph(f, o->help);
		fputc('\n', f);
	}
}

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int parse_seconds(const char *s, uint64_t min_ns, uint64_t max_ns, uint64_t *out_ns)
{
	uint64_t sec = 0, frac = 0, scale = 100000000;
	bool overflow = false;
	const char *p = s;

	if (!s || !isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		uint64_t d = (uint64_t)(*p - '0');

		if (sec > (UINT64_MAX - d) / 10)
			overflow = true;
		else
			sec = sec * 10 + d;
	}
	if (*p == '.') {
		if (!isdigit((unsigned char)*++p))
			return -EINVAL;
		for (int n = 0; isdigit((unsigned char)*p); p++, n++, scale /= 10) {
			if (n == 9)
				return -EINVAL;
			frac += (uint64_t)(*p - '0') * scale;
		}
	}
	if (*p)
		return -EINVAL;
	if (overflow || sec > (UINT64_MAX - frac) / 1000000000ULL)
		return -ERANGE;
	sec = sec * 1000000000ULL + frac;
	if (sec < min_ns || sec > max_ns)
		return -ERANGE;
	*out_ns = sec;
	return 0;
}

char *cli_join(char *const *words, int n)
{
	size_t len = 1;
	char *s;

	for (int i = 0; i < n; i++)
		len += strlen(words[i]) + 1;
	s = calloc(1, len);
	if (!s)
		return NULL;
	for (int i = 0; i < n; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, words[i]);
	}
	return s;
}

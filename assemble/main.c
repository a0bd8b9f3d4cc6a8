// SPDX-License-Identifier: BSD-2-Clause
/* tlsasm: read tlsrec journals and write pcapng. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "convert.h"
#include "exitcode.h"
#include "fileio.h"
#include "index.h"
#include "log.h"
#include "query.h"
#include "source.h"
#include "survey.h"

enum { OPT_KEYLOG = 256 };

static const struct cli_option options[] = {
	{ "output", 'o', required_argument, "FILE",
	  "Write pcapng to FILE, created with mode 0600; - writes to standard output." },
	{ "keylog", OPT_KEYLOG, required_argument, "FILE",
	  "Write the TLS secrets of every connection recorded as SSLKEYLOGFILE lines to FILE,\n"
	  "created with mode 0600; - writes to standard output. With or without -o." },
	{ "verbose", 'v', no_argument, NULL, "Say more." },
	{ "version", 'V', no_argument, NULL, "Print the version and exit." },
	{ "help", 'h', no_argument, NULL, "Print this help and exit." },
	{ 0 },
};

static void usage(FILE *f)
{
	fputs("NAME\n"
	      "       tlsasm - turn tlsrec journals into pcapng files\n"
	      "\n"
	      "SYNOPSIS\n"
	      "       tlsasm [-v] journal... -o file [--keylog file]\n"
	      "       tlsasm [-v] journal... --keylog file\n"
	      "\n"
	      "DESCRIPTION\n"
	      "       tlsasm reads the journals that tlsrec(8) wrote and writes their packets as a\n"
	      "       pcapng file that Wireshark and tshark read: one interface description per\n"
	      "       recorded interface (name, link type, snapshot length, nanosecond timestamps),\n"
	      "       packets in wall-clock order with their direction, and interface statistics\n"
	      "       with the number of packets tlsrec lost at the end.\n"
	      "\n"
	      "       TLS secrets that tlsrec recorded become key log lines (TLS 1.2 master secrets;\n"
	      "       TLS 1.3 handshake, application and exporter secrets, every key update\n"
	      "       included). Each TLS connection whose ClientHello was captured gets its own\n"
	      "       lines in a Decryption Secrets Block just before its first packet, so that\n"
	      "       Wireshark decrypts it with no key file. tlsasm says how many TLS connections\n"
	      "       it saw, how many have secrets, and lists those without.\n"
	      "\n"
	      "       Several journals are read as one: the files of a rotated recording (-C), in\n"
	      "       any order, or recordings of several hosts. A chunk that appears twice is\n"
	      "       read once.\n"
	      "\n"
	      "       A damaged journal (a file cut short by a crash, or flipped bits) still yields\n"
	      "       every packet of its intact chunks; each damaged region is reported with its\n"
	      "       offset and size.\n"
	      "\n"
	      "OPTIONS\n",
	      f);
	cli_print_options(f, options);
	fputs("EXIT STATUS\n"
	      "       0 on success, 1 on failure (a file that cannot be read, or is not a journal),\n"
	      "       2 for a usage error, 3 when a journal was damaged and everything intact in it\n"
	      "       was written.\n"
	      "\n"
	      "EXAMPLES\n"
	      "       Convert a journal:\n"
	      "              tlsasm journal.lz4 -o out.pcapng\n"
	      "       Read a rotated recording and look at it with tshark:\n"
	      "              tlsasm journal.lz4* -o - | tshark -r -\n"
	      "       See the HTTP requests inside TLS (the secrets are in the file):\n"
	      "              tlsasm journal.lz4 -o out.pcapng && tshark -r out.pcapng -Y http\n"
	      "       Only the key log, for a capture made with another tool:\n"
	      "              tlsasm journal.lz4 --keylog keys.txt\n"
	      "\n"
	      "SEE ALSO\n"
	      "       tlsrec(8), tshark(1), docs/journal-format.md\n",
	      f);
}

struct opts {
	const char *out;
	const char *keylog;
	char **journals;
	unsigned n_journals;
	int verbose;
};

/* Parse argv into o. Returns -1 to go on, or an exit status. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	struct cli cli;
	int c;

	memset(o, 0, sizeof(*o));
	cli_init(&cli, options);
	while ((c = getopt_long(argc, argv, cli.shortopts, cli.longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			o->out = optarg;
			break;
		case OPT_KEYLOG:
			o->keylog = optarg;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'V':
			printf("tlsasm %s\n", TLSREC_VERSION);
			return EXIT_OK;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			cli_option_error(c, argv);
			return EXIT_USAGE;
		}
	}
	o->journals = argv + optind;
	o->n_journals = (unsigned)(argc - optind);
	if (!o->n_journals) {
		log_err("no journal to read: give one or more journal files");
		return EXIT_USAGE;
	}
	if (!o->out && !o->keylog) {
		log_err("no output: give -o FILE (or -o - for standard output), or --keylog FILE");
		return EXIT_USAGE;
	}
	if (o->out && !strcmp(o->out, "-") && isatty(STDOUT_FILENO)) {
		log_err("standard output is a terminal: not writing pcapng to it");
		return EXIT_USAGE;
	}
	if (o->out && o->keylog && !strcmp(o->out, o->keylog)) {
		log_err("-o and --keylog both name %s", o->out);
		return EXIT_USAGE;
	}
	return -1;
}

/* Whether path names one of the inputs: not to be written over. */
static bool is_input(const struct opts *o, const char *path)
{
	struct stat out, in;

	if (!path || !strcmp(path, "-") || stat(path, &out))
		return false;
	for (unsigned i = 0; i < o->n_journals; i++)
		if (!stat(o->journals[i], &in) && in.st_dev == out.st_dev && in.st_ino == out.st_ino)
			return true;
	return false;
}

/* Create path for writing (mode 0600), or take standard output for "-". -errno after a message. */
static int create_output(const char *path)
{
	int fd = strcmp(path, "-") ? open_private(path) : STDOUT_FILENO;

	if (fd < 0)
		log_err("cannot create %s: %s", path, strerror(-fd));
	return fd;
}

/* Close what create_output opened. Returns 0, or -errno after a message. */
static int close_output(const char *path, int fd)
{
	if (fd == STDOUT_FILENO || !close(fd))
		return 0;
	log_err("writing %s: %s", path, strerror(errno));
	return -EIO;
}

static void report_recordings(const struct source *src)
{
	const struct recording *recs;
	unsigned n = source_recordings(src, &recs);

	for (unsigned i = 0; i < n; i++)
		if (!recs[i].ended)
			log_info("the recording%s%s has no END record: tlsrec was stopped abruptly, or its last file is not among the inputs",
				 recs[i].host[0] ? " on " : "", recs[i].host);
}

int main(int argc, char **argv)
{
	struct convert_stats st;
	struct source *src = NULL;
	struct survey sv = { 0 };
	struct opts o;
	unsigned damage;
	int fd = -1, kfd = -1, ret, status;

	log_init("tlsasm", LOG_WARN);
	if (argc > 1 && !strcmp(argv[1], "index"))
		return index_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "conns"))
		return conns_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "procs"))
		return procs_main(argc - 1, argv + 1);
	status = parse_args(argc, argv, &o);
	if (status >= 0)
		return status;
	log_init("tlsasm", (enum log_level)(LOG_WARN + o.verbose));
	if (is_input(&o, o.out) || is_input(&o, o.keylog)) {
		log_err("%s: refusing to write over an input journal",
			is_input(&o, o.out) ? o.out : o.keylog);
		return EXIT_USAGE;
	}

	ret = source_open(o.journals, o.n_journals, &src);
	if (ret)
		return EXIT_FAIL;
	status = EXIT_USAGE;
	if (o.out && (fd = create_output(o.out)) < 0)
		goto out;
	if (o.keylog && (kfd = create_output(o.keylog)) < 0)
		goto out;
	status = EXIT_FAIL;
	if (survey_run(src, &sv))
		goto out;
	survey_report(&sv, src);
	if (o.keylog) {
		ret = survey_write_keylog(&sv, kfd);
		if (ret) {
			log_err("writing %s: %s", o.keylog, strerror(-ret));
			goto out;
		}
		ret = close_output(o.keylog, kfd);
		kfd = -1;
		if (ret)
			goto out;
		log_info("%zu key log lines written to %s", sv.keys.n, o.keylog);
	}
	if (o.out) {
		source_rewind(src);
		ret = convert_pcapng(src, fd, &(struct convert_opts){ .dsb = sv.dsb, .n_dsb = sv.n_dsb }, &st);
		if (ret) {
			log_err("writing %s: %s", o.out, strerror(-ret));
			goto out;
		}
		ret = close_output(o.out, fd);
		fd = -1;
		if (ret)
			goto out;
		log_info("%" PRIu64 " packets (%" PRIu64 " lost while recording) and %" PRIu64
			 " decryption secrets blocks from %" PRIu64 " chunks written to %s, %" PRIu64
			 " bytes",
			 st.packets, st.lost, st.dsbs, source_chunks(src), o.out, st.bytes);
	}
	report_recordings(src);
	damage = source_damage(src);
	status = EXIT_OK;
	if (damage) {
		log_warn("%u damaged region%s skipped; every intact chunk was read", damage,
			 damage == 1 ? "" : "s");
		status = EXIT_DAMAGED;
	}
out:
	if (fd >= 0 && fd != STDOUT_FILENO)
		close(fd);
	if (kfd >= 0 && kfd != STDOUT_FILENO)
		close(kfd);
	survey_free(&sv);
	source_close(src);
	return status;
}

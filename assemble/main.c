// SPDX-License-Identifier: BSD-2-Clause
/* tlsasm: read tlsrec journals and write pcapng. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "convert.h"
#include "exitcode.h"
#include "extract.h"
#include "fileio.h"
#include "index.h"
#include "log.h"
#include "pfilter.h"
#include "query.h"
#include "source.h"
#include "survey.h"

enum { OPT_KEYLOG = 256, OPT_DB };

static const struct cli_option options[] = {
	{ "output", 'o', required_argument, "FILE",
	  "Write pcapng to FILE, created with mode 0600; - writes to standard output. A\n"
	  "symbolic link another user made (there or on the way), another user's file, a\n"
	  "file with other hard links or that others could read is replaced, never written\n"
	  "into; one's own FIFO, devices such as /dev/null and one's own or root's links\n"
	  "(/dev/stdout) are written." },
	{ "keylog", OPT_KEYLOG, required_argument, "FILE",
	  "Write the TLS secrets of every connection recorded as SSLKEYLOGFILE lines to FILE,\n"
	  "created as -o creates its file; - writes to standard output. With or without -o;\n"
	  "with filters, the secrets of the selected connections only." },
	QUERY_FILTER_OPTIONS,
	{ "db", OPT_DB, required_argument, "PATH",
	  "The connection index: PATH instead of the first journal's name with .db added.\n"
	  "With filters it is built or brought up to date first (see tlsasm index); without,\n"
	  "an index that exists is brought up to date and gives the owners of sockets that\n"
	  "its other journals recorded (a rotated file's, in the file before it)." },
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
	      "       tlsasm [-v] [filters] journal... -o file [--keylog file] [expression]\n"
	      "       tlsasm [-v] [filters] journal... --keylog file\n"
	      "       tlsasm index|conns|procs ... (see tlsasm COMMAND --help)\n"
	      "\n"
	      "DESCRIPTION\n"
	      "       tlsasm reads the journals that tlsrec(8) wrote and writes their packets as a\n"
	      "       pcapng file that Wireshark and tshark read: one interface description per\n"
	      "       recorded interface (name, link type, snapshot length, nanosecond timestamps),\n"
	      "       packets in wall-clock order with their direction, and interface statistics\n"
	      "       with the number of packets tlsrec lost at the end (and, for an interface\n"
	      "       that disappeared while tlsrec recorded it, when it did; tlsasm says so).\n"
	      "\n"
	      "       TLS secrets that tlsrec recorded become key log lines (TLS 1.2 master secrets;\n"
	      "       TLS 1.3 handshake, application and exporter secrets, every key update\n"
	      "       included). Each TLS connection whose ClientHello was captured gets its own\n"
	      "       lines in a Decryption Secrets Block just before its first packet, so that\n"
	      "       Wireshark decrypts it with no key file. tlsasm says how many TLS connections\n"
	      "       it saw, how many have secrets, and lists those without. A resumed TLS 1.2\n"
	      "       connection with no secret of its own gets the master secret of the session it\n"
	      "       resumes, found by its ticket or session ID in an earlier handshake.\n"
	      "\n"
	      "       Several journals are read as one: the files of a rotated recording (-C), in\n"
	      "       any order, or recordings of several hosts. A chunk that appears twice is\n"
	      "       read once. The index among them (journal.lz4* names journal.lz4.db too) is\n"
	      "       skipped. A journal must be a regular file: a FIFO is refused at once.\n"
	      "\n"
	      "       Every packet whose process is known carries it: a comment\n"
	      "       \"pid=1234 tid=1234 comm=curl uid=0\" (Wireshark's frame.comment, so\n"
	      "       -Y 'frame.comment contains \"comm=curl\"' works) and the pcapng option\n"
	      "       epb_processid_threadid. A packet belongs to the process that sent it when that\n"
	      "       process is on the recorded host, else to the one that received it.\n"
	      "\n"
	      "       Filters (--pid, --comm, --uid, --conn, --since, --until, --host, --port)\n"
	      "       select connections whole: their handshakes, their secrets and all their\n"
	      "       packets; packets of no TCP connection or UDP flow are left out. Conditions\n"
	      "       combine with AND; a repeated option matches any of its values. They use the\n"
	      "       connection index (built when missing, brought up to date when the journals\n"
	      "       grew) and read only the chunks that hold the selected connections, so the\n"
	      "       time taken grows with the output, not with the journals. The same journals\n"
	      "       and options always give the same bytes.\n"
	      "\n"
	      "       An expression after the journals is a capture filter in tcpdump's syntax\n"
	      "       (pcap-filter(7)), applied to each packet as tcpdump -r applies it. The first\n"
	      "       argument is a journal, and so is each next one that names a file; the\n"
	      "       expression starts at the first that does not.\n"
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
	      "       One process's connections, decrypted, and what it said over HTTP:\n"
	      "              tlsasm --pid 1234 journal.lz4 -o curl.pcapng\n"
	      "              tshark -r curl.pcapng -Y http\n"
	      "       Port 443 of curl processes during one hour, SYNs only:\n"
	      "              tlsasm --comm curl --since 2026-11-26T10:00:00Z \\\n"
	      "                     --until 2026-11-26T11:00:00Z journal.lz4* -o syn.pcapng \\\n"
	      "                     'tcp port 443 and tcp[tcpflags] & tcp-syn != 0'\n"
	      "       Only the key log, for a capture made with another tool:\n"
	      "              tlsasm journal.lz4 --keylog keys.txt\n"
	      "\n"
	      "SEE ALSO\n"
	      "       tlsrec(8), tshark(1), pcap-filter(7), docs/journal-format.md, docs/index.md\n",
	      f);
}

struct opts {
	const char *out;
	const char *keylog;
	const char *db;
	char **journals;
	unsigned n_journals;
	char *expr; /* the words after the journals, joined; NULL when none */
	struct query_filter q;
	bool filtered; /* a filter option was given */
	int verbose;
};

/* Parse argv into o. Returns -1 to go on, or an exit status. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	struct cli cli;
	int c;

	cli_init(&cli, options);
	while ((c = getopt_long(argc, argv, cli.shortopts, cli.longopts, NULL)) != -1) {
		int taken = query_filter_option(&o->q, c, optarg);

		if (taken < 0)
			return EXIT_USAGE;
		if (taken) {
			o->filtered = true;
			continue;
		}
		switch (c) {
		case 'o':
			o->out = optarg;
			break;
		case OPT_KEYLOG:
			o->keylog = optarg;
			break;
		case OPT_DB:
			o->db = optarg;
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
	log_init("tlsasm", (enum log_level)(LOG_WARN + o->verbose));
	o->journals = argv + optind;
	/* The first argument is a journal; the expression starts at the first later one that names
	 * no file. */
	while (optind + (int)o->n_journals < argc &&
	       (!o->n_journals || !access(o->journals[o->n_journals], F_OK)))
		o->n_journals++;
	if (optind + (int)o->n_journals < argc &&
	    !(o->expr = cli_join(o->journals + o->n_journals,
				 argc - optind - (int)o->n_journals))) {
		log_err("%s", strerror(ENOMEM));
		return EXIT_FAIL;
	}
	index_skip_own(o->journals, &o->n_journals, o->db);
	if (!o->n_journals) {
		log_err("no journal to read: give one or more journal files");
		return EXIT_USAGE;
	}
	if (o->expr && !o->out) {
		log_err("a filter expression (%s) needs -o: it selects packets to write", o->expr);
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

/* Whether path names one of the inputs, or the index: not to be written over. */
static bool is_input(const struct opts *o, const char *path)
{
	struct stat out, in;
	char db[PATH_MAX];

	if (!path || !strcmp(path, "-") || stat(path, &out))
		return false;
	for (unsigned i = 0; i < o->n_journals; i++)
		if (!stat(o->journals[i], &in) && in.st_dev == out.st_dev && in.st_ino == out.st_ino)
			return true;
	return !index_path(o->journals[0], o->db, db, sizeof(db)) && !stat(db, &in) &&
	       in.st_dev == out.st_dev && in.st_ino == out.st_ino;
}

/* Create path for writing (open_private), or take standard output for "-". A file descriptor, or
 * -errno after a message. */
static int create_output(const char *path)
{
	const char *what = NULL;
	int fd = strcmp(path, "-") ? open_private(path, &what) : STDOUT_FILENO;

	if (fd < 0 && what)
		log_err("%s: %s: not written into, and not replaced: %s", path, what,
			strerror(-fd));
	else if (fd < 0)
		log_err("cannot create %s: %s", path, strerror(-fd));
	else if (what)
		log_warn("%s: %s was there: replaced, not written into", path, what);
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
	struct src_iface *ifs;

	for (unsigned i = 0; i < n; i++) {
		char lacks[1024];

		if (!recs[i].ended)
			log_info("the recording%s%s has no END record: tlsrec was stopped abruptly, or its last file is not among the inputs",
				 recs[i].host[0] ? " on " : "", recs[i].host);
		if (recording_lacks(&recs[i], lacks, sizeof(lacks))[0])
			log_warn("the recording%s%s has %s", recs[i].host[0] ? " on " : "",
				 recs[i].host, lacks);
	}
	n = source_interfaces(src, &ifs);
	for (unsigned i = 0; i < n; i++) {
		time_t t = (time_t)(ifs[i].gone_wall / 1000000000ULL);
		char when[32] = "?";
		struct tm tm;

		if (!ifs[i].gone_wall)
			continue;
		if (gmtime_r(&t, &tm))
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
		log_warn("%s: the interface disappeared at %s while tlsrec recorded it",
			 ifs[i].desc.name, when);
	}
}

/* The packets, owners and secrets of src, and the selection when x is given. 0 or -errno. */
static int survey(struct source *src, struct extract *x, struct survey *sv)
{
	struct survey_opts so = { 0 };

	if (x)
		so = extract_survey_opts(x);
	return survey_run(src, sv, &so);
}

/* Open the journals: all of them, or, with filters, the chunks of the selected connections; with
 * the index, when there are filters or it exists. An exit status, or -1 to go on. */
static int open_input(struct opts *o, struct source **src, struct extract **x, unsigned *damage)
{
	if (extract_open(o->filtered ? &o->q.f : NULL, o->journals, o->n_journals, o->db, x,
			 damage))
		return EXIT_FAIL;
	if (o->filtered && !extract_selected(*x))
		log_warn("no connection matches the filters");
	if (*x)
		return extract_source(*x, src) ? EXIT_FAIL : -1;
	return source_open(o->journals, o->n_journals, src) ? EXIT_FAIL : -1;
}

int main(int argc, char **argv)
{
	struct convert_stats st;
	struct source *src = NULL;
	struct extract *x = NULL;
	struct pfilter *pf = NULL;
	struct survey sv = { 0 };
	struct opts o = { 0 };
	unsigned damage, indexed;
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
		goto out;
	status = EXIT_USAGE;
	if (is_input(&o, o.out) || is_input(&o, o.keylog)) {
		log_err("%s: refusing to write over an input journal or the index",
			is_input(&o, o.out) ? o.out : o.keylog);
		goto out;
	}
	if (o.expr && pfilter_new(o.expr, &pf))
		goto out;
	status = open_input(&o, &src, &x, &indexed);
	if (status >= 0)
		goto out;
	status = EXIT_USAGE;
	if (o.out && (fd = create_output(o.out)) < 0)
		goto out;
	if (o.keylog && (kfd = create_output(o.keylog)) < 0)
		goto out;
	status = EXIT_FAIL;
	if (survey(src, x, &sv))
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
		log_info("key log lines written to %s", o.keylog);
	}
	if (o.out) {
		source_rewind(src);
		ret = convert_pcapng(src, fd,
				     &(struct convert_opts){ .next_dsb = survey_next_dsb,
							     .meta = survey_packet_meta,
							     .ctx = &sv,
							     .filter = pf },
				     &st);
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
	damage = source_damage(src) > indexed ? source_damage(src) : indexed;
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
	extract_close(x);
	pfilter_free(pf);
	query_filter_free(&o.q);
	free(o.expr);
	return status;
}

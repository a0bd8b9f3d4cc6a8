// SPDX-License-Identifier: BSD-2-Clause
/* tlsrec's command line: one option table for getopt_long and for --help. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "../bpf/events.h"
#include "array.h"
#include "cli.h"
#include "exitcode.h"
#include "log.h"
#include "options.h"

enum {
	OPT_FLUSH = 256,
	OPT_SECRETS_ONLY,
	OPT_NO_SECRETS,
	OPT_CGROUP,
	OPT_LIBSSL,
	OPT_GO_PROGRAM,
	OPT_LIST_TARGETS,
};

static const struct cli_option options[] = {
	{ "interface", 'i', required_argument, "INTERFACE",
	  "Record packets on INTERFACE (a name, or an index as -D prints it). Repeat for\n"
	  "several interfaces. Without -i, or with -i any, every interface that is up is\n"
	  "recorded, lo included." },
	{ "write", 'w', required_argument, "FILE",
	  "Write the journal to FILE, created with mode 0600; - writes to standard output.\n"
	  "Required unless -D is given. A symbolic link another user made (there or on\n"
	  "the way), another user's file, a file with other hard links or that others\n"
	  "could read, there or at a rotated file's name, is replaced, never written into;\n"
	  "root's own FIFO, devices such as /dev/null and root's links (/dev/stdout) are\n"
	  "written." },
	{ "snapshot-length", 's', required_argument, "SNAPLEN",
	  "Record at most SNAPLEN bytes of each packet, 1 to 262144. 0 means 262144, the\n"
	  "default." },
	{ "count", 'c', required_argument, "COUNT", "Stop after recording COUNT packets." },
	{ "file-size", 'C', required_argument, "FILE_SIZE",
	  "Start a new file once the current one holds more than FILE_SIZE million bytes.\n"
	  "The second file is FILE1, the third FILE2, and so on, as tcpdump names them." },
	{ "file-count", 'W', required_argument, "FILECOUNT",
	  "With -C, keep at most FILECOUNT files: name them FILE0 to FILE<FILECOUNT-1> and\n"
	  "overwrite the oldest, as tcpdump does." },
	{ "buffer-size", 'B', required_argument, "BUFFER_SIZE",
	  "Size of the kernel ring buffers in KiB (default 16384), shared out among one ring\n"
	  "per CPU, each rounded up to a power of two and at least 1 MiB (or BUFFER_SIZE).\n"
	  "Packets that find their CPU's ring full are counted and reported as lost." },
	{ "direction", 'Q', required_argument, "DIRECTION",
	  "Record packets received (in), sent (out) or both (inout, the default). A loopback\n"
	  "interface is hooked once, at egress, and records every packet whatever this says." },
	{ "flush-interval", OPT_FLUSH, required_argument, "SECONDS",
	  "Write and sync buffered records at least this often (default 1, from 0.01 to\n"
	  "3600). After kill -9 or a power cut, at most the last SECONDS are lost, as long\n"
	  "as the disk keeps up." },
	{ "pid", 'p', required_argument, "PID",
	  "Record the TLS secrets of process PID (all its threads, not its children) only;\n"
	  "repeat for several. Packets are recorded as the other options say." },
	{ "uid", 'u', required_argument, "USER",
	  "Record the TLS secrets of processes running as USER (a name or a user id) only." },
	{ "cgroup", OPT_CGROUP, required_argument, "PATH",
	  "Record the TLS secrets of processes in the cgroup v2 at PATH (a directory under\n"
	  "the cgroup2 mount), and in the cgroups below it, only." },
	{ "libssl", OPT_LIBSSL, required_argument, "PATH",
	  "Hook this OpenSSL library too, or an executable that contains OpenSSL (built as\n"
	  "a PIE, with its symbol table). tlsrec finds the system's libssl, and those that\n"
	  "running and new processes map, by itself. Repeat for several." },
	{ "go-program", OPT_GO_PROGRAM, required_argument, "PATH",
	  "Hook the Go program PATH (its crypto/tls) before any process runs it. tlsrec\n"
	  "finds Go programs that processes run, at the start and later, by itself; this is\n"
	  "for one that starts and handshakes before tlsrec would see its process. Go 1.18\n"
	  "and later on amd64 (tested up to 1.26), stripped or not. Repeat for several." },
	{ "secrets-only", OPT_SECRETS_ONLY, no_argument, NULL,
	  "Record TLS secrets, not packets: the journal is then a key log, with the\n"
	  "processes that hold them but no socket owners. -i, -c and a filter expression do\n"
	  "not go with it; -s and -Q do not apply." },
	{ "no-secrets", OPT_NO_SECRETS, no_argument, NULL,
	  "Record packets, and which process owns each socket, but no TLS secrets: no\n"
	  "library is calibrated or hooked, so a handshake costs nothing more than its\n"
	  "packets (tlsasm then counts every TLS connection as one without secrets). -p, -u,\n"
	  "--cgroup, --libssl, --go-program and --list-targets do not go with it." },
	{ "list-targets", OPT_LIST_TARGETS, no_argument, NULL,
	  "List the OpenSSL libraries and Go programs tlsrec would hook: each with its\n"
	  "version, whether it could be calibrated or understood (and why not), where and\n"
	  "how it would be hooked, and which processes map or run it. Then exit." },
	{ "list-interfaces", 'D', no_argument, NULL,
	  "List the interfaces of this network namespace and whether they can be recorded." },
	{ "verbose", 'v', no_argument, NULL, "Say more; repeat for libbpf's messages." },
	{ "version", 'V', no_argument, NULL, "Print the version and exit." },
	{ "help", 'h', no_argument, NULL, "Print this help and exit." },
	{ 0 },
};

static void usage(FILE *f)
{
	fputs("NAME\n"
	      "       tlsrec - record network traffic and TLS secrets into a journal, with little cost\n"
	      "       to the host\n"
	      "\n"
	      "SYNOPSIS\n"
	      "       tlsrec [-i interface]... [-s snaplen] [-c count] [-C file_size [-W filecount]]\n"
	      "              [-B buffer_size] [-Q in|out|inout] [-p pid]... [-u user] [--cgroup path]\n"
	      "              [--libssl path]... [--go-program path]... [--secrets-only | --no-secrets]\n"
	      "              [--flush-interval seconds] [-v]\n"
	      "              -w file [expression]\n"
	      "       tlsrec -D\n"
	      "       tlsrec --list-targets [-p pid]... [--libssl path]... [--go-program path]...\n"
	      "\n"
	      "DESCRIPTION\n"
	      "       tlsrec attaches eBPF programs to the TC ingress and egress hooks of the chosen\n"
	      "       interfaces and writes every packet they see, as the kernel hands it over, to an\n"
	      "       LZ4-compressed journal. It also hooks the OpenSSL libraries in use and records\n"
	      "       each TLS connection's secrets once per handshake (and per TLS 1.3 KeyUpdate),\n"
	      "       never per read or write, and the Go programs that run (their crypto/tls), whose\n"
	      "       secrets it records as each is derived. It records which process owns each TCP and UDP\n"
	      "       socket (at socket, bind, connect and accept, and those there are at the start),\n"
	      "       and each process's exec and exit, so that every packet can be tied to the\n"
	      "       process that sent or received it. tlsasm(1) turns journals into pcapng files\n"
	      "       that Wireshark decrypts with no configuration.\n"
	      "\n"
	      "       Without -p, -u or --cgroup, the secrets of every process on the host that uses a\n"
	      "       hooked library are recorded; sockets and processes are recorded whatever those\n"
	      "       options say. The journal is created with mode 0600.\n"
	      "\n"
	      "       tlsrec needs Linux 5.15 or later and root. It stops on SIGINT or SIGTERM, removes\n"
	      "       its TC filters (and the clsact qdisc if it added it), writes what it holds, and\n"
	      "       prints how many packets and secrets it recorded and lost; a second signal stops\n"
	      "       it waiting for a stuck output. TC filters left by a tlsrec that was killed are\n"
	      "       removed by the next one.\n"
	      "\n"
	      "       When the output fails (a full disk, a pipe whose reader went away), tlsrec\n"
	      "       stops, counts what it could not write as lost, and on a full disk ends\n"
	      "       the journal with its last whole chunk and an END record. A recorded\n"
	      "       interface that disappears is reported (in the journal too) and the others\n"
	      "       are still recorded; tlsrec stops once none is left.\n"
	      "\n"
	      "OPTIONS\n",
	      f);
	cli_print_options(f, options);
	fputs("FILTER\n"
	      "       An expression after the options selects the packets to record, in tcpdump's\n"
	      "       syntax (pcap-filter(7)). libpcap compiles it for each link type recorded, and\n"
	      "       tlsrec translates it into eBPF and runs it in the TC hook before any copy:\n"
	      "       packets that do not match cost no ring buffer space and no time in tlsrec.\n"
	      "       TLS secrets and socket and process records are not filtered. The expression\n"
	      "       is kept in the journal; tlsasm writes it as the interfaces' if_filter.\n"
	      "\n"
	      "EXIT STATUS\n"
	      "       0 when stopped by a signal or -c, 1 on a failure while recording (a full\n"
	      "       disk, a broken pipe, an output that took nothing at the end) or once every\n"
	      "       recorded interface has disappeared, 2 for a usage error (bad option,\n"
	      "       unknown interface, bad filter expression, journal that cannot be created).\n"
	      "\n"
	      "OVERHEAD\n"
	      "       Per packet: one TC program run per hooked direction, copying at most snaplen\n"
	      "       bytes into the CPU's ring buffer. User space copies records into 1 MiB chunks,\n"
	      "       compresses them as they fill and writes them on a second thread. Per TLS\n"
	      "       handshake: a uprobe hit where OpenSSL ends each step (one to three per\n"
	      "       connection end, and one per session ticket or KeyUpdate), at an instruction\n"
	      "       the kernel emulates (or, where calibration cannot prove that hook, a uprobe\n"
	      "       and a uretprobe on its state machine); nothing with --no-secrets. Per socket\n"
	      "       and connection: a small BPF program at creation, bind, each TCP state change\n"
	      "       and accept; while tlsrec runs, every system call takes the kernel's slower\n"
	      "       path (the accept tracepoints; not with --secrets-only). Memory: the ring\n"
	      "       buffers, one snaplen-sized buffer per CPU, and 8 chunk buffers.\n"
	      "\n"
	      "EXAMPLES\n"
	      "       Record every interface and every TLS secret until Ctrl-C:\n"
	      "              tlsrec -w journal.lz4\n"
	      "       Record only HTTPS on eth0, filtered in the kernel:\n"
	      "              tlsrec -i eth0 -w https.lz4 tcp port 443\n"
	      "       Record eth0 into ten rotating files of 100 MB:\n"
	      "              tlsrec -i eth0 -C 100 -W 10 -w /var/lib/tlsrec/journal.lz4\n"
	      "       Record the secrets of one process only, as a key logger:\n"
	      "              tlsrec --secrets-only -p 1234 -w keys.lz4\n"
	      "       See which OpenSSL libraries would be hooked:\n"
	      "              tlsrec --list-targets\n"
	      "       Turn a journal into pcapng:\n"
	      "              tlsasm journal.lz4 -o out.pcapng\n"
	      "\n"
	      "SEE ALSO\n"
	      "       tlsasm(1), tcpdump(8), pcap-filter(7), docs/journal-format.md\n",
	      f);
}

int usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlogmsg(LOG_ERROR, fmt, ap);
	va_end(ap);
	return EXIT_USAGE;
}

static int number(const char *arg, uint64_t min, uint64_t max, uint64_t *v, const char *what)
{
	int ret = parse_u64(arg, min, max, v);

	if (ret == -EINVAL)
		return usage_error("invalid %s '%s': not a number", what, arg);
	if (ret)
		return usage_error("invalid %s '%s': must be between %llu and %llu", what, arg,
				   (unsigned long long)min, (unsigned long long)max);
	return 0;
}

int parse_args(int argc, char **argv, struct opts *o)
{
	struct cli cli;
	uint64_t v;
	int c, ret;

	*o = (struct opts){ .snaplen = TR_MAX_SNAPLEN, .ring_bytes = DEFAULT_RING_KIB * 1024ULL,
			    .want_in = true, .want_out = true, .flush_ns = 1000000000ULL };
	cli_init(&cli, options);
	while ((c = getopt_long(argc, argv, cli.shortopts, cli.longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (array_reserve(&o->ifnames, &o->ifnames_cap, o->n_ifnames + 1,
					  sizeof(*o->ifnames), 4))
				return EXIT_FAIL;
			o->ifnames[o->n_ifnames++] = optarg;
			break;
		case 'w':
			o->path = optarg;
			break;
		case 's':
			if ((ret = number(optarg, 0, TR_MAX_SNAPLEN, &v, "snapshot length")))
				return ret;
			o->snaplen = v ? (__u32)v : TR_MAX_SNAPLEN;
			break;
		case 'c':
			if ((ret = number(optarg, 1, UINT64_MAX, &o->count, "packet count")))
				return ret;
			break;
		case 'C':
			if ((ret = number(optarg, 1, 1000000, &v, "file size")))
				return ret;
			o->rotate_bytes = v * 1000000ULL;
			break;
		case 'W':
			if ((ret = number(optarg, 1, 1000000, &v, "file count")))
				return ret;
			o->rotate_files = (unsigned)v;
			break;
		case 'B':
			if ((ret = number(optarg, 64, 1048576, &v, "buffer size")))
				return ret;
			o->ring_bytes = v * 1024; /* shared out, each share rounded (capture.c) */
			break;
		case 'Q':
			o->want_in = !strcmp(optarg, "in") || !strcmp(optarg, "inout");
			o->want_out = !strcmp(optarg, "out") || !strcmp(optarg, "inout");
			if (!o->want_in && !o->want_out)
				return usage_error("invalid direction '%s': use in, out or inout", optarg);
			break;
		case OPT_FLUSH:
			ret = parse_seconds(optarg, 10000000ULL, 3600000000000ULL, &o->flush_ns);
			if (ret)
				return usage_error("invalid flush interval '%s': must be seconds from 0.01 to 3600",
						   optarg);
			break;
		case 'p':
			if ((ret = number(optarg, 1, INT32_MAX, &v, "process id")))
				return ret;
			if (array_reserve(&o->pids, &o->pids_cap, o->n_pids + 1, sizeof(*o->pids), 8))
				return EXIT_FAIL;
			o->pids[o->n_pids++] = (pid_t)v;
			break;
		case 'u': {
			const struct passwd *pw = getpwnam(optarg);

			if (pw) {
				v = pw->pw_uid;
			} else if (!isdigit((unsigned char)optarg[0])) {
				return usage_error("-u %s: no such user", optarg);
			} else if ((ret = number(optarg, 0, UINT32_MAX - 1, &v, "user id"))) {
				return ret;
			}
			o->by_uid = true;
			o->uid = (__u32)v;
			break;
		}
		case OPT_CGROUP:
			o->cgroup = optarg;
			break;
		case OPT_LIBSSL:
		case OPT_GO_PROGRAM:
			if (array_reserve(&o->named, &o->named_cap, o->n_named + 1, sizeof(*o->named),
					  4))
				return EXIT_FAIL;
			o->named[o->n_named++] = (struct named_file){ .path = optarg,
								      .go = c == OPT_GO_PROGRAM };
			break;
		case OPT_SECRETS_ONLY:
			o->secrets_only = true;
			break;
		case OPT_NO_SECRETS:
			o->no_secrets = true;
			break;
		case OPT_LIST_TARGETS:
			o->list_targets = true;
			break;
		case 'D':
			o->list = true;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'V':
			printf("tlsrec %s\n", TLSREC_VERSION);
			return EXIT_OK;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			cli_option_error(c, argv);
			return EXIT_USAGE;
		}
	}
	if (optind < argc && !(o->filter = cli_join(argv + optind, argc - optind)))
		return EXIT_FAIL;
	if (o->no_secrets && o->list_targets)
		return usage_error("%s", "--list-targets lists libraries to hook: not with --no-secrets");
	if (o->list || o->list_targets)
		return -1;
	if (o->secrets_only && o->filter)
		return usage_error("%s", "a filter expression selects packets: it does not go with --secrets-only");
	if (o->secrets_only && o->n_ifnames)
		return usage_error("%s", "-i records packets: it does not go with --secrets-only");
	if (o->secrets_only && o->count)
		return usage_error("%s", "-c counts packets: it does not go with --secrets-only");
	if (o->no_secrets && o->secrets_only)
		return usage_error("%s", "--no-secrets and --secrets-only leave nothing to record");
	if (o->no_secrets && (o->n_pids || o->by_uid || o->cgroup))
		return usage_error("%s", "-p, -u and --cgroup scope TLS secrets: not with --no-secrets");
	if (o->no_secrets && o->n_named)
		return usage_error("%s hooks %s for TLS secrets: not with --no-secrets",
				   o->named[0].go ? "--go-program" : "--libssl",
				   o->named[0].go ? "a Go program" : "a library");
	if (!o->path)
		return usage_error("%s", "no journal to write: give -w FILE");
	if (o->rotate_files && !o->rotate_bytes)
		return usage_error("%s", "-W needs -C");
	if (o->rotate_bytes && !strcmp(o->path, "-"))
		return usage_error("%s", "-C cannot rotate standard output");
	if (!strcmp(o->path, "-") && isatty(STDOUT_FILENO))
		return usage_error("%s", "standard output is a terminal: not writing a journal to it");
	return -1;
}


void opts_free(struct opts *o)
{
	free(o->ifnames);
	free(o->pids);
	free(o->named);
	free(o->filter);
	memset(o, 0, sizeof(*o));
}

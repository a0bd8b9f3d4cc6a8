// SPDX-License-Identifier: BSD-2-Clause
/* tlsrec: record packets from TC hooks, and TLS secrets from OpenSSL, into an LZ4 journal. */
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "calibrate.h"
#include "capture.h"
#include "exitcode.h"
#include "filter.h"
#include "ifaces.h"
#include "kfeatures.h"
#include "journal.h"
#include "log.h"
#include "mmapwatch.h"
#include "options.h"
#include "procs.h"
#include "secrets.h"
#include "select.h"
#include "session.h"
#include "sockets.h"
#include "targets.h"
#include "tc.h"
#include "userrec.h"
#include "writer.h"

#ifndef CAP_BPF
#define CAP_BPF 39
#endif
#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif

#define CHUNK_BYTES (1u << 20)
#define CHUNK_BUFFERS 8
/* Waiting for the output at the end: this long, or until a second signal. */
#define STOP_GRACE_NS (10ULL * 1000000000ULL)

/* Everything one run of tlsrec holds; freed on one path. */
struct run {
	struct opts o;
	struct iface *all, *sel;
	size_t n_all, n_sel;
	struct capture *cap;   /* packets; NULL with --secrets-only */
	struct filter *filt;   /* the capture filter's programs; NULL without an expression */
	struct secrets *sec;   /* TLS secrets; NULL if they cannot be recorded */
	struct sockets *socks; /* socket owners and processes; NULL if they cannot be recorded */
	struct procs *procs;
	struct targets *targets;
	struct mmapwatch *mw;  /* new executable mappings: libraries loaded later */
	struct tc_hooks *hooks;
	struct jw_config jc;
	struct journal_writer *jw;
	struct writer *wr;
	struct session s;
	bool session_up;
	unsigned libs_hooked;
	/* Why TLS secrets, and socket and process records, are not recorded ("" when they are):
	 * said when found, and in the journal's HEADER. */
	char no_secrets[320], no_owners[320];
	uint64_t t0; /* CLOCK_MONOTONIC ns at the start */
};

static bool have_caps(bool packets)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { 0 };

	if (syscall(SYS_capget, &h, d))
		return false;
#define HAS(cap) (d[(cap) / 32].effective & (1u << ((cap) % 32)))
	return HAS(CAP_SYS_ADMIN) ||
	       (HAS(CAP_BPF) && HAS(CAP_PERFMON) && (!packets || HAS(CAP_NET_ADMIN)));
#undef HAS
}

/* libbpf's messages: shown with -vv; warnings kept, and shown if loading fails. */
static char *libbpf_warnings;
static size_t libbpf_warnings_len;

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[1024];
	int n;

	if (log_level() >= LOG_DEBUG)
		return vfprintf(stderr, fmt, ap);
	if (level != LIBBPF_WARN)
		return 0;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n > 0) {
		size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
		char *p = realloc(libbpf_warnings, libbpf_warnings_len + len + 1);

		if (p) {
			memcpy(p + libbpf_warnings_len, line, len + 1);
			libbpf_warnings = p;
			libbpf_warnings_len += len;
		}
	}
	return n;
}

/* The first SIGINT, SIGTERM or SIGHUP stops recording; a second one stops waiting for the output. */
static volatile sig_atomic_t stop, give_up;

static void on_signal(int sig)
{
	if (stop)
		give_up = 1;
	stop = 1;
}

static void handle_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* A broken pipe and a file size limit (ulimit -f) are write errors, reported as such. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
}

static void print_recording(const struct run *r)
{
	char line[4096] = "";
	size_t off = 0;

	for (size_t i = 0; i < r->n_sel && off < sizeof(line); i++) {
		__u16 f = r->sel[i].rec.flags;

		off += (size_t)snprintf(line + off, sizeof(line) - off, "%s%s (%s)", i ? ", " : "",
					r->sel[i].rec.name,
					(f & TR_IFACE_INGRESS) && (f & TR_IFACE_EGRESS) ? "in, out" :
					f & TR_IFACE_INGRESS				 ? "in" :
											   "out");
	}
	if (r->cap)
		fprintf(stderr, "tlsrec: recording on %s; snapshot length %u bytes; %s%s%s", line,
			r->o.snaplen, r->o.filter ? "filter \"" : "",
			r->o.filter ? r->o.filter : "", r->o.filter ? "\"; " : "");
	else
		fprintf(stderr, "tlsrec: recording ");
	if (r->o.no_secrets)
		fprintf(stderr, "no TLS secrets (--no-secrets); writing %s\n", r->o.path);
	else
		fprintf(stderr, "TLS secrets from %u librar%s; writing %s\n", r->libs_hooked,
			r->libs_hooked == 1 ? "y" : "ies", r->o.path);
}

static bool usage_errno(int e)
{
	return e == ENOENT || e == EACCES || e == EPERM || e == EISDIR || e == EROFS ||
	       e == ENOTDIR || e == ENAMETOOLONG || e == ELOOP || e == ETXTBSY;
}

/*
 * The programs for ingress and egress of it (-1: none): the capture programs, or the filter
 * programs that run before them. 0, -ENOEXEC when the expression does not apply to its link type
 * (libpcap's message in err), or -errno after saying why.
 */
static int hook_progs(struct run *r, const struct iface *it, int fds[2], char *err, size_t errlen)
{
	static const int dirs[2] = { TR_DIR_INGRESS, TR_DIR_EGRESS };
	static const __u16 flags[2] = { TR_IFACE_INGRESS, TR_IFACE_EGRESS };

	for (int d = 0; d < 2; d++) {
		fds[d] = -1;
		if (!(it->rec.flags & flags[d]))
			continue;
		fds[d] = r->filt ? filter_prog(r->filt, it->rec.linktype, dirs[d], it->rec.name, err,
					       errlen) :
				   capture_prog_fd(r->cap, dirs[d]);
		if (fds[d] < 0)
			return fds[d];
	}
	return 0;
}

/*
 * Attach the programs to every selected interface. An interface named with -i must attach; one
 * taken as one of every interface that cannot (gone since it was listed, holding an old-style
 * ingress qdisc, or of a link type the filter expression does not apply to) is dropped from sel
 * with a warning. Returns 0 or -errno: -ENOEXEC when the expression does not apply to a named
 * interface.
 */
static int attach_all(struct run *r)
{
	struct iface *sel = r->sel;
	size_t k = 0;

	for (size_t i = 0; i < r->n_sel; i++) {
		char err[FILTER_ERR_LEN];
		int fds[2], ret = hook_progs(r, &sel[i], fds, err, sizeof(err));

		if (ret == -ENOEXEC) {
			if (sel[i].named) {
				log_err("bad filter expression for %s: %s", sel[i].rec.name, err);
				return ret;
			}
			log_warn("not recording %s: the filter expression does not apply to it: %s",
				 sel[i].rec.name, err);
			continue;
		}
		if (ret)
			return ret;
		ret = tc_attach(&r->hooks[k], (int)sel[i].rec.ifindex, fds[0], fds[1]);
		if (ret) {
			const char *why = ret == -EOPNOTSUPP ?
						  "it has an ingress qdisc, not clsact (tc qdisc show)" :
						  strerror(-ret);

			if (sel[i].named) {
				log_err("cannot attach to %s: %s", sel[i].rec.name, why);
				return ret;
			}
			log_warn("not recording %s: cannot attach: %s", sel[i].rec.name, why);
			continue;
		}
		if (r->hooks[k].not_first)
			log_warn("%s: another kind of TC filter holds priority 1 and runs first: packets it classifies are not recorded",
				 sel[i].rec.name);
		sel[k++] = sel[i];
	}
	r->n_sel = k;
	return k ? 0 : -ENODEV;
}

/* Create the journal: its HEADER record, and the IFACE records of the interfaces recorded. */
static int open_journal(int argc, char **argv, struct run *r)
{
	static __u8 rid[16];
	struct tr_iface *ifrecs;
	void *header;
	size_t header_len;
	int ret;

	if (getrandom(rid, sizeof(rid), 0) != sizeof(rid))
		return -errno;
	ifrecs = calloc(r->n_sel ? r->n_sel : 1, sizeof(*ifrecs));
	if (!ifrecs)
		return -ENOMEM;
	ret = build_header(argc, argv, &r->o,
			   &(struct lacks){ .secrets = r->no_secrets, .owners = r->no_owners }, rid,
			   &header, &header_len);
	if (ret) {
		free(ifrecs);
		return ret;
	}
	for (size_t i = 0; i < r->n_sel; i++)
		ifrecs[i] = r->sel[i].rec;
	r->jc = (struct jw_config){ .path = r->o.path, .rotate_bytes = r->o.rotate_bytes,
				    .rotate_files = r->o.rotate_files, .recording_id = rid,
				    .header = header, .header_len = header_len, .ifaces = ifrecs,
				    .n_ifaces = r->n_sel };
	return jw_open(&r->jc, &r->jw);
}

/* A LIBRARY record for t in the journal. 0 or -errno. */
static int record_library(struct run *r, const struct target *t)
{
	uint8_t rec[sizeof(struct tr_library) + 2 * (4 + PATH_MAX)];
	size_t len;
	int ret = build_library(t, rec, sizeof(rec), &len);

	return ret ? ret : session_append(&r->s, rec, len);
}

/* Which hook a calibrated library gets, and why when it is not the finish hook: for -v and
 * --list-targets. Returns a constant or buf. */
static const char *hook_kind(const struct calibration *c, char *buf, size_t size)
{
	if (c->hook_finish)
		return "one uprobe where each handshake step ends";
	snprintf(buf, size,
		 "a uprobe and a uretprobe on the handshake state machine, not where a step ends: %s",
		 c->hook_why);
	return buf;
}

/* "; N ms after a process mapped it" for a file found by a mapping while recording: what the
 * process did before then had no hook. */
static void late_by(const struct target *t, char *buf, size_t size)
{
	uint64_t ns = clock_ns(CLOCK_MONOTONIC);

	buf[0] = '\0';
	if (t->mapped_ns && ns > t->mapped_ns)
		snprintf(buf, size, "; %.1f ms after a process mapped it",
			 (double)(ns - t->mapped_ns) / 1e6);
}

/* Attach the uprobes of calibrated library t, and say so in the journal. 0 or -errno. */
static int hook(struct run *r, struct target *t)
{
	char kind[192], file[64], late[64];
	int ret;

	/* The very file calibrated or read, whatever its path names now. */
	snprintf(file, sizeof(file), "/proc/self/fd/%d", t->fd);
	if (t->kind == TARGET_GO)
		ret = secrets_attach_go(r->sec, t->index, file, t->go.hook_off);
	else
		ret = secrets_attach(r->sec, t->index, file, &t->cal);

	if (ret) {
		t->status = ret;
		snprintf(t->why, sizeof(t->why), "cannot attach uprobes: %s", strerror(-ret));
		log_warn("%s: not hooked: %s", t->path, t->why);
		return 0;
	}
	r->libs_hooked++;
	late_by(t, late, sizeof(late));
	if (t->kind == TARGET_GO) {
		log_info("hooked %s (Go program, %s): writeKeyLog+%u, file offset %#llx%s", t->path,
			 t->go.version, t->go.hook_skip, (unsigned long long)t->go.hook_off, late);
		return record_library(r, t);
	}
	if (t->cal.kind == CALIB_GNUTLS) {
		log_info("hooked %s (%s): its keylog function's jump, file offset %#lx%s", t->path,
			 t->cal.version, t->cal.hooks[0], late);
		return record_library(r, t);
	}
	if (!t->cal.hook_cheap)
		log_warn("%s: its hook is not on an instruction the kernel emulates: each handshake step costs a single-step (about 17 us here)",
			 t->path);
	log_info("hooked %s (%s): %s%s", t->path, t->cal.version,
		 hook_kind(&t->cal, kind, sizeof(kind)), late);
	return record_library(r, t);
}

/* A library found, at the start or while recording. Until the ring buffer is read, libraries are
 * only found: hooks that fired then would fill it with no one to empty it. */
static int on_target(void *ctx, struct target *t)
{
	struct run *r = ctx;

	if (t->status) {
		if (!t->named) /* the caller says why, as an error */
			log_warn("%s: not hooked: %s", t->path, t->why);
		return 0;
	}
	return r->session_up ? hook(r, t) : 0;
}

/* Find and calibrate the libraries there are (the mmap watch is up first, so that none is missed
 * between the scan and the watch): the ones named with --libssl and --go-program, the system's, and
 * the processes'.
 * start_recording hooks them. An exit status, or -1. */
static int find_libraries(struct run *r)
{
	int ret;

	for (size_t i = 0; i < r->o.n_pids; i++) {
		if (kill((pid_t)r->o.pids[i], 0) && errno == ESRCH)
			return usage_error("-p %d: no such process", (int)r->o.pids[i]);
	}
	ret = mmapwatch_open(&r->mw);
	if (ret)
		log_warn("cannot watch for libraries that processes load later: %s", strerror(-ret));
	ret = targets_open(r->o.pids, r->o.n_pids, on_target, r, &r->targets);
	for (size_t i = 0; !ret && i < r->o.n_named; i++) {
		const struct named_file *f = &r->o.named[i];
		char why[256];

		ret = targets_add_path(r->targets, f->go ? TARGET_GO : TARGET_OPENSSL, f->path, why,
				       sizeof(why));
		if (ret == -ENOEXEC || ret == -ENOENT)
			return usage_error("%s %s: %s", f->go ? "--go-program" : "--libssl",
					   f->path, why);
	}
	if (!ret)
		ret = targets_scan(r->targets);
	if (ret) {
		log_err("cannot look for OpenSSL libraries and Go programs: %s", strerror(-ret));
		return EXIT_FAIL;
	}
	return -1;
}

static int on_mapped(void *ctx, pid_t pid, const char *file, uint64_t mapped_ns)
{
	struct run *r = ctx;

	if (!file) {
		log_info("mappings were lost: looking at every process again");
		return targets_scan(r->targets);
	}
	return targets_mapped(r->targets, pid, file, mapped_ns);
}

static int on_watch(void *ctx)
{
	struct run *r = ctx;

	return mmapwatch_read(r->mw, on_mapped, r);
}

/* --list-targets: nothing to attach; say what was found. */
static int ignore_target(void *ctx, struct target *t)
{
	return 0;
}

static void print_comm(pid_t pid)
{
	char path[64], comm[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "re");
	if (f) {
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	printf(" %d (%s)", (int)pid, comm);
}

static int list_targets(const struct opts *o)
{
	struct target *const *v;
	struct targets *t;
	size_t n;
	int ret = targets_open(o->pids, o->n_pids, ignore_target, NULL, &t);

	for (size_t i = 0; !ret && i < o->n_named; i++) {
		const struct named_file *f = &o->named[i];
		char why[256];

		ret = targets_add_path(t, f->go ? TARGET_GO : TARGET_OPENSSL, f->path, why,
				       sizeof(why));
		if (ret == -ENOENT) {
			targets_close(t);
			return usage_error("%s %s: %s", f->go ? "--go-program" : "--libssl",
					   f->path, why);
		}
		if (ret == -ENOEXEC) /* listed with its reason */
			ret = 0;
	}
	if (!ret)
		ret = targets_scan(t);
	if (ret) {
		log_err("cannot look for OpenSSL libraries and Go programs: %s", strerror(-ret));
		targets_close(t);
		return EXIT_FAIL;
	}
	n = targets_list(t, &v);
	for (size_t i = 0; i < n; i++) {
		printf("%s\n", v[i]->path);
		if (v[i]->status && v[i]->kind == TARGET_GO) {
			printf("    not hooked: %s\n", v[i]->why);
		} else if (v[i]->status) {
			printf("    not calibrated: %s\n", v[i]->why);
		} else if (v[i]->kind == TARGET_GO) {
			printf("    Go program, %s; hook at file offset %#llx (writeKeyLog+%u, the jump of its stack check: an instruction the kernel emulates)\n",
			       v[i]->go.version, (unsigned long long)v[i]->go.hook_off,
			       v[i]->go.hook_skip);
		} else if (v[i]->cal.kind == CALIB_GNUTLS) {
			const struct calibration *c = &v[i]->cal;

			printf("    %s; hook at file offset %#lx (the jump of its default keylog function: an instruction the kernel emulates), once per secret: %u per side in a TLS 1.2 handshake, %u in TLS 1.3 (with a pre-shared key); client random at %#x in the session\n",
			       c->version, c->hooks[0], c->gnutls_hits12, c->gnutls_hits13,
			       c->gnutls_random);
		} else {
			const struct calibration *c = &v[i]->cal;
			char kind[192];

			printf("    %s; calibrated; hook at file offset %#lx%s\n", c->version,
			       c->hooks[0],
			       c->hook_cheap ? " (an instruction the kernel emulates)" :
					       " (single-stepped: costlier)");
			printf("    %s\n", hook_kind(c, kind, sizeof(kind)));
		}
		printf("    build id ");
		for (int k = 0; k < v[i]->build_id_len; k++)
			printf("%02x", v[i]->build_id[k]);
		printf(v[i]->build_id_len ? "\n" : "none\n");
		printf(v[i]->kind == TARGET_GO ? "    run by" : "    mapped by");
		for (unsigned k = 0; k < v[i]->n_pids; k++)
			print_comm(v[i]->pids[k]);
		printf("%s\n", v[i]->listed_more ? " and more" : v[i]->n_pids ? "" : " no process now");
	}
	if (!n)
		printf("no OpenSSL library or Go program found\n");
	targets_close(t);
	return EXIT_OK;
}

/* --cgroup: the cgroup v2 id of path (its inode). 0, or an exit status after saying why. */
static int cgroup_id(const char *path, __u64 *id)
{
	struct statfs sf;
	struct stat st;

	if (statfs(path, &sf) || stat(path, &st))
		return usage_error("--cgroup %s: %s", path, strerror(errno));
	if (sf.f_type != CGROUP2_SUPER_MAGIC || !S_ISDIR(st.st_mode))
		return usage_error("--cgroup %s: not a cgroup v2 directory", path);
	*id = st.st_ino;
	return 0;
}

static void print_losses(const struct session *s, bool packets)
{
	static const char *const why[] = {
		[TR_LOSS_RINGBUF] = "a kernel ring buffer was full at times: a larger -B, a smaller -s or fewer interfaces would help",
		[TR_LOSS_COPY] = "the kernel could not read the bytes of some packets",
		[TR_LOSS_OUTPUT] = "the journal's output did not take them (it failed, or was too slow when tlsrec had to stop)",
	};

	if (packets)
		fprintf(stderr, "%llu packets recorded\n%llu packets lost\n",
			(unsigned long long)s->packets, (unsigned long long)s->lost);
	fprintf(stderr, "%llu TLS secrets recorded\n", (unsigned long long)s->secrets);
	if (s->lost_secrets)
		fprintf(stderr, "%llu TLS secrets lost\n", (unsigned long long)s->lost_secrets);
	log_info("%llu socket and process records", (unsigned long long)s->owners);
	if (s->lost_owners)
		fprintf(stderr, "%llu socket and process records lost\n",
			(unsigned long long)s->lost_owners);
	for (size_t i = 0; i < sizeof(why) / sizeof(why[0]); i++)
		if (why[i] && s->lost_by[i])
			log_warn("%llu lost: %s", (unsigned long long)s->lost_by[i], why[i]);
}

/* Why part's programs did not load (err): what the kernel lacks, when it says, else err. Returns
 * buf. */
static const char *load_why(enum kpart part, int err, char *buf, size_t len)
{
	if (kfeatures_explain(part, buf, len) != 1)
		snprintf(buf, len, "%s", strerror(-err));
	return buf;
}

/* Attach the sockets programs: a program that does not attach costs the owners only, with a
 * warning. Done before the journal is started, so that its HEADER says what it lacks. */
static void attach_owners(struct run *r)
{
	const char *what;
	int ret = sockets_attach(r->socks, !r->o.secrets_only, &what);

	if (!ret)
		return;
	snprintf(r->no_owners, sizeof(r->no_owners), "cannot attach to %s: %s", what,
		 strerror(-ret));
	log_warn("not recording which process owns each socket: %s", r->no_owners);
	sockets_close(r->socks);
	r->socks = NULL;
	procs_close(r->procs);
	r->procs = NULL;
}

/* Stale filters removed, then the packet programs attached to every interface selected. An exit
 * status, or -1. */
static int attach_packets(struct run *r)
{
	int ret;

	for (size_t i = 0; i < r->n_all; i++)
		tc_remove_stale((int)r->all[i].rec.ifindex, r->all[i].rec.name);
	r->hooks = calloc(r->n_sel, sizeof(*r->hooks));
	if (!r->hooks)
		return EXIT_FAIL;
	/* Attach first, so that the journal's IFACE records say what is really recorded; until
	 * the reader starts, the ring buffers hold what arrives. */
	ret = attach_all(r);
	if (ret == -ENODEV)
		log_err("no interface could be attached");
	return ret == -ENOEXEC ? EXIT_USAGE : ret ? EXIT_FAIL : -1;
}

/* Load what records packets, secrets and owners, and attach to the interfaces and to what tells
 * the owners. An exit status, or -1. */
static int start_kernel_side(struct run *r)
{
	struct secrets_scope scope = { .pids = (const __u32 *)r->o.pids, .n_pids = r->o.n_pids,
				       .by_uid = r->o.by_uid, .uid = r->o.uid };
	char why[256];
	size_t n_hooks = 0;
	int ret;

	if (r->o.cgroup && (ret = cgroup_id(r->o.cgroup, &scope.cgroup)) != 0)
		return ret;
	if (!have_caps(!r->o.secrets_only)) {
		log_err("need root: loading BPF programs, TC filters and uprobes takes CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN");
		return EXIT_FAIL;
	}
	libbpf_set_print(libbpf_log);
	if (!r->o.secrets_only) {
		for (size_t i = 0; i < r->n_sel; i++)
			n_hooks += !!(r->sel[i].rec.flags & TR_IFACE_INGRESS) +
				   !!(r->sel[i].rec.flags & TR_IFACE_EGRESS);
		/* Two loss counters per hook: ring buffer full, bytes unreadable. */
		ret = capture_open(&(struct capture_opts){ .snaplen = r->o.snaplen,
							    .ring_bytes = r->o.ring_bytes,
							    .max_hooks = (__u32)n_hooks * 2,
							    .after_filter = r->o.filter != NULL },
				   &r->cap);
		if (ret) {
			if (libbpf_warnings)
				fputs(libbpf_warnings, stderr);
			log_err("cannot load the BPF programs: %s",
				load_why(KPART_PACKETS, ret, why, sizeof(why)));
			return EXIT_FAIL;
		}
		if (r->o.filter &&
		    filter_open(r->o.filter, r->o.snaplen, capture_prog_array_fd(r->cap),
				capture_owner_fd(r->cap), &r->filt))
			return EXIT_FAIL;
	}
	ret = r->o.no_secrets ? 0 : secrets_open(&scope, &r->sec);
	if (ret) {
		load_why(KPART_SECRETS, ret, why, sizeof(why));
		if (r->o.secrets_only) {
			if (libbpf_warnings)
				fputs(libbpf_warnings, stderr);
			log_err("cannot load the TLS secrets programs: %s", why);
			return EXIT_FAIL;
		}
		snprintf(r->no_secrets, sizeof(r->no_secrets), "cannot load their programs: %s",
			 why);
		log_warn("recording packets without TLS secrets: %s", r->no_secrets);
	}
	ret = sockets_open(&r->socks);
	if (!ret)
		ret = procs_open(&r->procs);
	if (ret) {
		snprintf(r->no_owners, sizeof(r->no_owners), "cannot load the programs: %s",
			 load_why(KPART_OWNERS, ret, why, sizeof(why)));
		log_warn("not recording which process owns each socket: %s", r->no_owners);
		sockets_close(r->socks);
		r->socks = NULL;
		procs_close(r->procs);
		r->procs = NULL;
	}
	if (r->sec) {
		ret = find_libraries(r);
		if (ret >= 0)
			return ret;
	}
	if (r->cap) {
		ret = attach_packets(r);
		if (ret >= 0)
			return ret;
	}
	if (r->socks)
		attach_owners(r);
	return -1;
}

/* Seed the journal with the processes and sockets there are (the sockets programs are attached
 * already, so that nothing falls between). 0 or -errno. */
static int record_owners(struct run *r)
{
	uint64_t t = clock_ns(CLOCK_MONOTONIC);
	size_t n_procs, n_socks;
	int ret;

	if (!procs_host_pids())
		log_warn("not in the initial pid namespace: the processes and sockets there are now are not recorded, only those that come later");
	ret = procs_seed(r->procs, !r->o.secrets_only, session_append, &r->s, &n_procs, &n_socks);
	if (ret) {
		log_err("cannot read the processes and sockets there are: %s", strerror(-ret));
		return ret;
	}
	log_info("%zu processes and %zu sockets there were, read in %llu ms", n_procs, n_socks,
		 (unsigned long long)((clock_ns(CLOCK_MONOTONIC) - t) / 1000000ULL));
	return 0;
}

/* The journal, the writer thread, the session, and the TLS libraries. An exit status, or -1. */
static int start_recording(int argc, char **argv, struct run *r)
{
	int ret = open_journal(argc, argv, r);

	if (ret) {
		log_err("cannot create %s: %s", r->o.path, strerror(-ret));
		return usage_errno(-ret) ? EXIT_USAGE : EXIT_FAIL;
	}
	ret = writer_start(r->jw, CHUNK_BYTES + sizeof(struct tr_packet) + r->o.snaplen +
					  r->n_sel * sizeof(struct tr_iface) + sizeof(struct tr_clock),
			   CHUNK_BUFFERS, r->o.flush_ns / 2, &r->wr);
	if (ret) {
		log_err("cannot start the writer: %s", strerror(-ret));
		return EXIT_FAIL;
	}
	r->s = (struct session){ .wr = r->wr, .cap = r->cap, .ifaces = r->sel, .n_ifaces = r->n_sel,
				 .max_packets = r->o.count, .watch_fd = -1, .ctx = r };
	if (r->cap) {
		r->s.n_packet_rings = capture_rings(r->cap, &r->s.packet_rings);
		r->s.loss_maps[r->s.n_loss_maps++] = capture_losses_fd(r->cap);
	}
	if (r->sec) {
		r->s.rings[r->s.n_rings++] = secrets_ring_fd(r->sec);
		r->s.loss_maps[r->s.n_loss_maps++] = secrets_losses_fd(r->sec);
	}
	if (r->socks) {
		r->s.procs = r->procs;
		r->s.procs_ring = sockets_ring_fd(r->socks);
		r->s.loss_maps[r->s.n_loss_maps++] = sockets_losses_fd(r->socks);
	}
	if (r->mw) {
		r->s.watch_fd = mmapwatch_fd(r->mw);
		r->s.on_watch = on_watch;
	}
	r->s.poll_ms = (int)(r->o.flush_ns / 10000000ULL);
	r->s.poll_ms = r->s.poll_ms < 1 ? 1 : r->s.poll_ms > 100 ? 100 : r->s.poll_ms;
	r->s.chunk_age_ns = r->o.flush_ns / 2 - (uint64_t)r->s.poll_ms * 1000000ULL;
	{
		__u64 boot, real, unc;

		clock_pair(&boot, &real, &unc);
		r->s.start_boot = boot;
	}
	ret = session_init(&r->s);
	r->session_up = !ret;
	if (ret) {
		log_err("cannot read the ring buffers: %s", strerror(-ret));
		return EXIT_FAIL;
	}
	if (r->socks && record_owners(r))
		return EXIT_FAIL;
	if (r->targets) {
		struct target *const *v;
		size_t n = targets_list(r->targets, &v);

		for (size_t i = 0; !ret && i < n; i++)
			if (!v[i]->status)
				ret = hook(r, v[i]);
		if (ret) {
			log_err("cannot record the libraries: %s", strerror(-ret));
			return EXIT_FAIL;
		}
	}
	print_recording(r);
	log_info("ready in %llu ms", (unsigned long long)((clock_ns(CLOCK_MONOTONIC) - r->t0) / 1000000ULL));
	return -1;
}

/* Stop: detach, take the rest, stop the writer. An exit status. */
static int finish(struct run *r, int ret)
{
	struct writer_wait until;
	int w;

	for (size_t i = 0; r->hooks && i < r->n_sel; i++) {
		w = tc_detach(&r->hooks[i]);
		if (w)
			log_warn("cannot detach from %s: %s", r->sel[i].rec.name, strerror(-w));
	}
	if (r->sec)
		secrets_detach(r->sec);
	if (r->socks)
		sockets_detach(r->socks);
	/* Keep what was recorded; when writing is what failed, count what was not written. */
	until = (struct writer_wait){ .cancel = &give_up, .deadline_ns = clock_ns(CLOCK_MONOTONIC) + STOP_GRACE_NS };
	w = session_finish(&r->s, &until);
	if (w && !ret) {
		log_err("recording failed: %s", strerror(-w));
		ret = w;
	}
	w = writer_stop(r->wr, &until);
	if (w == -ETIMEDOUT) {
		/* The writer thread is stuck in a write the output does not take: the filters are
		 * detached; leave without touching what it uses. */
		log_err("writing %s: the output takes nothing: giving up", jw_path(r->jw));
		print_losses(&r->s, r->cap);
		_exit(EXIT_FAIL);
	}
	r->wr = NULL;
	if (w) {
		log_err("writing %s: %s: stopped recording", jw_path(r->jw), strerror(-w));
		if (r->s.ended)
			log_warn("%s ends with the last chunk that fit, and an END record",
				 jw_path(r->jw));
		ret = ret ? ret : w;
	}
	print_losses(&r->s, r->cap);
	return ret ? EXIT_FAIL : EXIT_OK;
}

/* Free everything, on every path. The exit status. */
static int cleanup(struct run *r, int status)
{
	int ret;

	for (size_t i = 0; r->hooks && i < r->n_sel; i++)
		tc_detach(&r->hooks[i]);
	if (r->wr && writer_stop(r->wr, &(struct writer_wait){ .cancel = &give_up }) == -ETIMEDOUT)
		_exit(EXIT_FAIL);
	if (r->jw) {
		ret = jw_close(r->jw);
		if (ret && status == EXIT_OK) {
			log_err("closing %s: %s", r->o.path, strerror(-ret));
			status = EXIT_FAIL;
		}
	}
	session_free(&r->s);
	mmapwatch_close(r->mw);
	targets_close(r->targets);
	secrets_close(r->sec);
	sockets_close(r->socks);
	procs_close(r->procs);
	filter_close(r->filt);
	capture_close(r->cap);
	free(r->hooks);
	free((void *)r->jc.header);
	free((void *)r->jc.ifaces);
	free(r->sel);
	free(r->all);
	opts_free(&r->o);
	free(libbpf_warnings);
	return status;
}

int main(int argc, char **argv)
{
	struct run r = { .t0 = clock_ns(CLOCK_MONOTONIC) };
	int status, ret;

	if (calibrate_child_main(argc, argv))
		return EXIT_FAIL; /* not reached */
	log_init("tlsrec", LOG_WARN);
	status = parse_args(argc, argv, &r.o);
	if (status >= 0)
		goto out;
	log_init("tlsrec", (enum log_level)(LOG_WARN + r.o.verbose));
	if (r.o.list) {
		status = list_interfaces();
		goto out;
	}
	if (r.o.list_targets) {
		status = list_targets(&r.o);
		goto out;
	}
	if (r.o.filter) {
		char err[FILTER_ERR_LEN];

		ret = filter_check(r.o.filter, r.o.snaplen, err, sizeof(err));
		if (ret) {
			status = ret == -EINVAL ? usage_error("bad filter expression: %s", err) :
						  EXIT_FAIL;
			goto out;
		}
	}
	if (!r.o.secrets_only) {
		ret = ifaces_list(&r.all, &r.n_all);
		if (ret) {
			log_err("cannot list interfaces: %s", strerror(-ret));
			status = EXIT_FAIL;
			goto out;
		}
		status = select_ifaces(&r.o, r.all, r.n_all, &r.sel, &r.n_sel);
		if (status >= 0)
			goto out;
	}
	handle_signals();
	status = start_kernel_side(&r);
	if (status < 0)
		status = start_recording(argc, argv, &r);
	if (status < 0) {
		ret = session_run(&r.s, &stop);
		if (ret == -ENODEV) /* each said so as it went, as tcpdump does: status 1 */
			log_err("stopped: every interface recorded has disappeared");
		else if (ret && !writer_error(r.wr)) /* finish says how writing failed */
			log_err("recording failed: %s", strerror(-ret));
		status = finish(&r, ret);
	}
out:
	return cleanup(&r, status);
}

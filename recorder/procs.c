// SPDX-License-Identifier: BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "../bpf/exec_event.h"
#include "journal.h"
#include "log.h"
#include "procfs.h"
#include "procs.h"

/* Bytes of /proc/PID/cmdline kept in a record. */
#define CMDLINE_MAX 4096
#define RECORD_MAX (sizeof(struct tr_process) + 4 + PATH_MAX + 4 + CMDLINE_MAX)

/* pid -> start_ns of the process the journal has described under that pid; 0: none (it exited,
 * or never was). exited: the EXIT of the process that started at start was written (start is
 * then kept, and known_start says 0). Open addressing; pid 0 marks a free slot. */
struct known {
	__u32 pid;
	bool exited;
	__u64 start;
};

struct procs {
	struct known *known;
	size_t cap, used; /* cap a power of two */
	int cgroot;       /* the cgroup v2 root, for owners' cgroup ids; -1 when not found */
	bool host_pids;   /* /proc shows the pids the kernel's records have */
	uint8_t rec[RECORD_MAX];
	char text[CMDLINE_MAX + 1];
};

static struct known *slot(const struct procs *p, __u32 pid)
{
	size_t i = (pid * 2654435761u) & (p->cap - 1);

	while (p->known[i].pid && p->known[i].pid != pid)
		i = (i + 1) & (p->cap - 1);
	return &p->known[i];
}

static __u64 known_start(const struct procs *p, __u32 pid)
{
	const struct known *k = p->cap ? slot(p, pid) : NULL;

	return k && !k->exited ? k->start : 0;
}

/* Describe pid as the process that started at start (exited: whose EXIT was written). */
static int set_known(struct procs *p, __u32 pid, __u64 start, bool exited)
{
	struct known *k;

	if (!pid)
		return 0;
	if ((p->used + 1) * 2 > p->cap) {
		struct procs old = *p;

		p->cap = old.cap ? old.cap * 2 : 1024;
		p->known = calloc(p->cap, sizeof(*p->known));
		if (!p->known) {
			*p = old;
			return -ENOMEM;
		}
		for (size_t i = 0; i < old.cap; i++)
			if (old.known[i].pid)
				*slot(p, old.known[i].pid) = old.known[i];
		free(old.known);
	}
	k = slot(p, pid);
	p->used += !k->pid;
	k->pid = pid;
	k->start = start;
	k->exited = exited;
	return 0;
}

/* Whether the EXIT of the process of pid that started at start was written already. */
static bool exit_written(const struct procs *p, __u32 pid, __u64 start)
{
	const struct known *k = p->cap ? slot(p, pid) : NULL;

	return k && k->pid == pid && k->exited && k->start == start;
}

int procs_open(struct procs **out)
{
	struct procs *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->cgroot = cgroup2_root();
	p->host_pids = procs_host_pids();
	*out = p;
	return 0;
}

void procs_close(struct procs *p)
{
	if (!p)
		return;
	if (p->cgroot >= 0)
		close(p->cgroot);
	free(p->known);
	free(p);
}

/* A process as /proc shows it: what SOCKET and PROCESS records say of it. */
struct owner {
	__u32 pid, ppid, uid, gid;
	char comm[16];
	__u64 cgroup, netns, start;
};

/* o for pid, from /proc (text: a buffer of cap bytes to read into). 0 or -errno. */
static int read_owner(const struct procs *p, __u32 pid, struct owner *o, char *text, size_t cap)
{
	char path[64];
	struct proc_stat st;
	struct stat sb;
	ssize_t n;
	int ret;

	memset(o, 0, sizeof(*o));
	o->pid = pid;
	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	n = proc_read(path, text, cap);
	if (n < 0)
		return (int)n;
	ret = proc_parse_stat(text, &st);
	if (ret)
		return ret;
	memcpy(o->comm, st.comm, sizeof(o->comm));
	o->ppid = st.ppid;
	o->start = st.start_ticks * TR_START_TICK_NS;
	snprintf(path, sizeof(path), "/proc/%u/status", pid);
	n = proc_read(path, text, cap);
	if (n < 0)
		return (int)n;
	ret = proc_parse_ids(text, &o->uid, &o->gid);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "/proc/%u/ns/net", pid);
	if (!stat(path, &sb))
		o->netns = sb.st_ino;
	/* "0::/PATH": the cgroup v2 one; its id is the directory's inode. */
	snprintf(path, sizeof(path), "/proc/%u/cgroup", pid);
	if (p->cgroot >= 0 && proc_read(path, text, cap) > 0) {
		char *l = strstr(text, "0::/");

		if (l && (l == text || l[-1] == '\n')) {
			l[strcspn(l, "\n")] = '\0';
			if (!fstatat(p->cgroot, l[4] ? l + 4 : ".", &sb, 0))
				o->cgroup = sb.st_ino;
		}
	}
	return 0;
}

/* A PROCESS record of how for pid from /proc, in p->rec, and pid as o; the record's length, or
 * -errno (the process is gone). */
static ssize_t process_record(struct procs *p, __u32 pid, __u8 how, struct owner *o)
{
	struct tr_process r = { .hdr = { .type = TR_REC_PROCESS }, .pid = pid, .how = how };
	char path[64], exe[PATH_MAX];
	size_t off = sizeof(r);
	ssize_t n;
	int ret;

	ret = read_owner(p, pid, o, p->text, sizeof(p->text));
	if (ret)
		return ret;
	r.hdr.ts = clock_ns(CLOCK_BOOTTIME);
	r.start_ns = o->start;
	r.ppid = o->ppid;
	r.uid = o->uid;
	r.gid = o->gid;
	memcpy(r.comm, o->comm, sizeof(r.comm));
	snprintf(path, sizeof(path), "/proc/%u/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		ret = tlv_put(p->rec, sizeof(p->rec), &off, TR_PROC_EXE, exe);
		if (ret)
			return ret;
	}
	snprintf(path, sizeof(path), "/proc/%u/cmdline", pid);
	n = proc_read(path, p->text, sizeof(p->text));
	if (n > 0) {
		ret = tlv_put_mem(p->rec, sizeof(p->rec), &off, TR_PROC_CMDLINE, p->text, (size_t)n);
		if (ret)
			return ret;
	}
	r.hdr.len = (__u32)off;
	memcpy(p->rec, &r, sizeof(r));
	return (ssize_t)off;
}

int procs_seen(struct procs *p, __u32 pid, procs_emit_fn emit, void *ctx)
{
	struct owner o;
	ssize_t len;

	if (!pid || !p->host_pids || known_start(p, pid))
		return 0;
	len = process_record(p, pid, TR_PROC_SEEN, &o);
	if (len < 0)
		return len == -ENOMEM ? -ENOMEM : 0;
	if (set_known(p, pid, o.start, false))
		return -ENOMEM;
	return emit(ctx, p->rec, (size_t)len);
}

/* An exec event made a PROCESS EXEC record: /proc's exe and, when the kernel's copy is cut, its
 * cmdline, if the process still runs the same program; else what the kernel saw at exec. */
static int on_exec(struct procs *p, const struct sock_exec *e, procs_emit_fn emit, void *ctx)
{
	struct tr_process r = e->p;
	char path[64], exe[PATH_MAX];
	struct proc_stat st;
	size_t off = sizeof(r), args = e->args_len < sizeof(e->args) ? e->args_len : sizeof(e->args);
	bool same;
	ssize_t n;
	int ret;

	snprintf(path, sizeof(path), "/proc/%u/stat", r.pid);
	same = p->host_pids && proc_read(path, p->text, sizeof(p->text)) > 0 &&
	       !proc_parse_stat(p->text, &st) &&
	       st.start_ticks * TR_START_TICK_NS == r.start_ns &&
	       !strncmp(st.comm, r.comm, sizeof(r.comm));
	snprintf(path, sizeof(path), "/proc/%u/exe", r.pid);
	n = same ? readlink(path, exe, sizeof(exe) - 1) : -1;
	if (n > 0)
		exe[n] = '\0';
	else
		snprintf(exe, sizeof(exe), "%.*s", (int)sizeof(e->filename), e->filename);
	ret = exe[0] ? tlv_put(p->rec, sizeof(p->rec), &off, TR_PROC_EXE, exe) : 0;
	if (!ret && same && e->args_len > sizeof(e->args)) {
		snprintf(path, sizeof(path), "/proc/%u/cmdline", r.pid);
		n = proc_read(path, p->text, sizeof(p->text));
		if (n > 0)
			ret = tlv_put_mem(p->rec, sizeof(p->rec), &off, TR_PROC_CMDLINE, p->text,
					  (size_t)n);
		else
			ret = tlv_put_mem(p->rec, sizeof(p->rec), &off, TR_PROC_CMDLINE, e->args,
					  args);
	} else if (!ret && args) {
		ret = tlv_put_mem(p->rec, sizeof(p->rec), &off, TR_PROC_CMDLINE, e->args, args);
	}
	if (ret)
		return ret;
	r.hdr.len = (__u32)off;
	memcpy(p->rec, &r, sizeof(r));
	ret = set_known(p, r.pid, r.start_ns, false);
	return ret ? ret : emit(ctx, p->rec, off);
}

int procs_event(struct procs *p, const void *data, size_t size, procs_emit_fn emit, void *ctx)
{
	struct tr_process proc;
	struct tr_socket sock;
	struct tr_rec h;
	int ret;

	if (size < sizeof(h))
		return -EBADMSG;
	memcpy(&h, data, sizeof(h));
	if (h.len != size)
		return -EBADMSG;
	if (h.type == TR_REC_SOCKET && size == sizeof(sock)) {
		memcpy(&sock, data, sizeof(sock));
		socket_unmap_v4(&sock);
		ret = emit(ctx, &sock, sizeof(sock));
		return ret ? ret : procs_seen(p, sock.pid, emit, ctx);
	}
	if (h.type != TR_REC_PROCESS || size < sizeof(proc))
		return -EBADMSG;
	memcpy(&proc, data, sizeof(proc));
	if (proc.how == TR_PROC_EXEC && size == sizeof(struct sock_exec)) {
		struct sock_exec *e = malloc(sizeof(*e));

		if (!e)
			return -ENOMEM;
		memcpy(e, data, sizeof(*e));
		ret = on_exec(p, e, emit, ctx);
		free(e);
		return ret;
	}
	if (proc.how != TR_PROC_EXIT || size != sizeof(proc))
		return -EBADMSG;
	/* Two threads that exit at once can both be seen as the last one: one EXIT per process. A
	 * process that was described under that pid is forgotten; one that was not is remembered
	 * only as exited. */
	if (exit_written(p, proc.pid, proc.start_ns))
		return 0;
	if (set_known(p, proc.pid, proc.start_ns, true))
		return -ENOMEM;
	return emit(ctx, data, size);
}

static const __u8 v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* 1 mapped, 0 unspecified, -1 a real IPv6 address. */
static int mapped(const __u8 a[16])
{
	static const __u8 zero[16];

	if (!memcmp(a, v4mapped, 12))
		return 1;
	return memcmp(a, zero, 16) ? -1 : 0;
}

void socket_unmap_v4(struct tr_socket *r)
{
	int l, rm;

	if (r->family != AF_INET6)
		return;
	l = mapped(r->local);
	rm = mapped(r->remote);
	if (l < 0 || rm < 0 || l + rm == 0)
		return;
	r->family = AF_INET;
	memmove(r->local, r->local + 12, 4);
	memset(r->local + 4, 0, 12);
	memmove(r->remote, r->remote + 12, 4);
	memset(r->remote + 4, 0, 12);
}

/* Seeding: the sockets of every network namespace, and then their owners. */
struct seed_sock {
	__u64 inode;
	struct tr_socket r;
	bool owned;
};

struct seed {
	struct seed_sock *socks;
	size_t n_socks, cap_socks;
	__u64 *netns;
	size_t n_netns;
	__u32 *pids;
	size_t n_pids;
};

static int cmp_sock(const void *a, const void *b)
{
	const struct seed_sock *x = a, *y = b;

	return x->inode < y->inode ? -1 : x->inode > y->inode;
}

/* The sockets /proc/PID/net shows for the network namespace netns, new to sd. 0 or -ENOMEM. */
static int read_netns(struct seed *sd, __u32 pid, __u64 netns, char *line, size_t cap)
{
	static const struct {
		const char *name;
		int family, protocol;
	} tables[] = { { "tcp", AF_INET, IPPROTO_TCP },
		       { "tcp6", AF_INET6, IPPROTO_TCP },
		       { "udp", AF_INET, IPPROTO_UDP },
		       { "udp6", AF_INET6, IPPROTO_UDP } };
	__u64 *v = realloc(sd->netns, (sd->n_netns + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	sd->netns = v;
	sd->netns[sd->n_netns++] = netns;
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		char path[64];
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%u/net/%s", pid, tables[t].name);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, (int)cap, f)) {
			struct seed_sock s = { .r = { .netns = netns } };

			if (proc_parse_net(line, tables[t].family, tables[t].protocol, &s.r,
					   &s.inode) != 1 ||
			    !s.inode)
				continue;
			if (sd->n_socks == sd->cap_socks) {
				size_t c = sd->cap_socks ? sd->cap_socks * 2 : 256;
				struct seed_sock *grown = realloc(sd->socks, c * sizeof(*grown));

				if (!grown) {
					fclose(f);
					return -ENOMEM;
				}
				sd->socks = grown;
				sd->cap_socks = c;
			}
			sd->socks[sd->n_socks++] = s;
		}
		fclose(f);
	}
	return 0;
}

static int cmp_pid(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/* Every pid in /proc, in order. 0 or -errno. */
static int list_pids(struct seed *sd)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	size_t cap = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end;
		unsigned long v = strtoul(de->d_name, &end, 10);

		if (*end || !v || v > UINT32_MAX)
			continue;
		if (sd->n_pids == cap) {
			__u32 *n = realloc(sd->pids, (cap ? cap * 2 : 512) * sizeof(*n));

			if (!n) {
				closedir(d);
				return -ENOMEM;
			}
			sd->pids = n;
			cap = cap ? cap * 2 : 512;
		}
		sd->pids[sd->n_pids++] = (__u32)v;
	}
	closedir(d);
	qsort(sd->pids, sd->n_pids, sizeof(*sd->pids), cmp_pid);
	return 0;
}

/* SOCKET SEED for each socket of o's that no lower pid had. 0 or what emit returned. */
static int seed_owner(struct seed *sd, const struct owner *o, procs_emit_fn emit, void *ctx,
		      size_t *n_socks)
{
	char path[64], target[64];
	struct dirent *de;
	DIR *d;
	int ret = 0;

	snprintf(path, sizeof(path), "/proc/%u/fd", o->pid);
	d = opendir(path);
	if (!d)
		return 0;
	while (!ret && (de = readdir(d))) {
		struct seed_sock key, *s;
		char link[64 + 256];
		ssize_t n;

		snprintf(link, sizeof(link), "%s/%s", path, de->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (proc_socket_inode(target, &key.inode))
			continue;
		s = bsearch(&key, sd->socks, sd->n_socks, sizeof(*s), cmp_sock);
		if (!s || s->owned)
			continue;
		s->owned = true;
		s->r.hdr = (struct tr_rec){ .type = TR_REC_SOCKET, .len = sizeof(s->r),
					    .ts = clock_ns(CLOCK_BOOTTIME) };
		s->r.how = TR_SOCK_SEED;
		s->r.pid = s->r.tid = o->pid;
		s->r.uid = o->uid;
		s->r.gid = o->gid;
		s->r.cgroup = o->cgroup;
		memcpy(s->r.comm, o->comm, sizeof(s->r.comm));
		socket_unmap_v4(&s->r);
		ret = emit(ctx, &s->r, sizeof(s->r));
		*n_socks += !ret;
	}
	closedir(d);
	return ret;
}

bool procs_host_pids(void)
{
	struct stat sb;

	/* PROC_PID_INIT_INO: the initial pid namespace's inode, the same on every kernel. */
	return !stat("/proc/self/ns/pid", &sb) && sb.st_ino == 0xEFFFFFFCU;
}

int procs_seed(struct procs *p, bool sockets, procs_emit_fn emit, void *ctx, size_t *n_procs,
	       size_t *n_socks)
{
	struct seed sd = { 0 };
	struct owner *owners = NULL;
	size_t n_owners = 0;
	int ret;

	*n_procs = *n_socks = 0;
	if (!p->host_pids)
		return 0;
	ret = list_pids(&sd);
	if (!ret) {
		owners = calloc(sd.n_pids ? sd.n_pids : 1, sizeof(*owners));
		if (!owners)
			ret = -ENOMEM;
	}
	for (size_t i = 0; !ret && i < sd.n_pids; i++) {
		struct owner *o = &owners[n_owners];
		ssize_t len = process_record(p, sd.pids[i], TR_PROC_SEED, o);
		bool seen = false;

		if (len < 0) {
			ret = len == -ENOMEM ? -ENOMEM : 0; /* gone since listed */
			continue;
		}
		ret = set_known(p, o->pid, o->start, false);
		if (!ret)
			ret = emit(ctx, p->rec, (size_t)len);
		if (ret)
			break;
		n_owners++;
		for (size_t k = 0; k < sd.n_netns && !seen; k++)
			seen = sd.netns[k] == o->netns;
		if (sockets && !seen && o->netns)
			ret = read_netns(&sd, o->pid, o->netns, p->text, sizeof(p->text));
	}
	*n_procs = n_owners;
	if (!ret && sd.n_socks)
		qsort(sd.socks, sd.n_socks, sizeof(*sd.socks), cmp_sock);
	for (size_t i = 0; !ret && sd.n_socks && i < n_owners; i++)
		ret = seed_owner(&sd, &owners[i], emit, ctx, n_socks);
	free(owners);
	free(sd.socks);
	free(sd.netns);
	free(sd.pids);
	return ret;
}

/* Unescape a mountinfo field in place (spaces and the like are written as \040). */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		unsigned v;

		if (*s == '\\' && sscanf(s + 1, "%3o", &v) == 1) {
			*o++ = (char)v;
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* A directory fd on the root of a cgroup v2 mount of this mount namespace, or -errno. */
static int cgroup2_root_mounted(void)
{
	char line[4096], root[1024], point[1024], type[64];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int fd = -ENOENT;

	if (!f)
		return -errno;
	while (fd < 0 && fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - ");

		/* ID PARENT MAJ:MIN ROOT POINT ... - TYPE SOURCE OPTIONS */
		if (!sep || sscanf(line, "%*s %*s %*s %1023s %1023s", root, point) != 2 ||
		    sscanf(sep + 3, "%63s", type) != 1 || strcmp(type, "cgroup2") || strcmp(root, "/"))
			continue;
		unescape(point);
		fd = open(point, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			fd = -errno;
	}
	fclose(f);
	return fd;
}

int cgroup2_root(void)
{
	char dir[] = "/tmp/tlsrec-cgroup2.XXXXXX";
	int fd = cgroup2_root_mounted();

	if (fd >= 0)
		return fd;
	if (!mkdtemp(dir))
		return -errno;
	if (mount("none", dir, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) {
		fd = -errno;
	} else {
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			fd = -errno;
		umount2(dir, MNT_DETACH);
		log_debug("no cgroup v2 mount here: mounted one at %s for a moment", dir);
	}
	rmdir(dir);
	return fd;
}

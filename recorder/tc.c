// SPDX-License-Identifier: BSD-2-Clause
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "../bpf/events.h"
#include "log.h"
#include "procfs.h"
#include "tc.h"

/* A live owner in another pid namespace renews its heartbeat every second; one silent this long
 * is gone. */
#define HEARTBEAT_STALE_NS (5ULL * 1000000000ULL)

/* Low bit of the handles of tlsrec's filters: the clsact qdisc is tlsrec's (one created it, or it
 * held only tlsrec filters), to be removed once empty. */
#define HANDLE_QDISC_OURS 1u

struct tc_filter {
	__u32 handle;
	__u32 prio;
	__u32 prog_id; /* 0 when not a BPF filter */
	char name[64]; /* the BPF program's name as tc shows it ("tlsrec_egress:[42]"), or "" */
};

typedef int (*nl_fn)(void *ctx, struct nlmsghdr *nh);

/* Send a dump request and call fn for each reply message. 0, or -errno (netlink's error). */
static int nl_dump(void *req, size_t len, nl_fn fn, void *ctx)
{
	static __thread char buf[32768];
	int fd, ret = 0;
	bool done = false;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (send(fd, req, len, 0) < 0) {
		ret = -errno;
		goto out;
	}
	while (!done && !ret) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		int left = (int)n;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, left);
		     nh = NLMSG_NEXT(nh, left)) {
			if (nh->nlmsg_type == NLMSG_DONE) {
				done = true;
				break;
			}
			if (nh->nlmsg_type == NLMSG_ERROR) {
				ret = ((struct nlmsgerr *)NLMSG_DATA(nh))->error;
				done = true;
				break;
			}
			ret = fn(ctx, nh);
			if (ret)
				break;
		}
	}
out:
	close(fd);
	return ret;
}

static void parse_filter(struct nlmsghdr *nh, struct tc_filter *f)
{
	struct tcmsg *t = NLMSG_DATA(nh);
	int len = (int)nh->nlmsg_len - NLMSG_LENGTH(sizeof(*t));
	struct rtattr *a;
	bool bpf = false;

	memset(f, 0, sizeof(*f));
	f->handle = t->tcm_handle;
	f->prio = TC_H_MAJ(t->tcm_info) >> 16;
	for (a = (struct rtattr *)((char *)t + NLMSG_ALIGN(sizeof(*t))); RTA_OK(a, len);
	     a = RTA_NEXT(a, len)) {
		if (a->rta_type == TCA_KIND)
			bpf = !strncmp(RTA_DATA(a), "bpf", RTA_PAYLOAD(a));
		if (a->rta_type == TCA_OPTIONS && bpf) {
			int olen = (int)RTA_PAYLOAD(a);

			for (struct rtattr *o = RTA_DATA(a); RTA_OK(o, olen); o = RTA_NEXT(o, olen)) {
				if (o->rta_type == TCA_BPF_ID && RTA_PAYLOAD(o) >= sizeof(__u32))
					memcpy(&f->prog_id, RTA_DATA(o), sizeof(__u32));
				if (o->rta_type == TCA_BPF_NAME)
					snprintf(f->name, sizeof(f->name), "%.*s",
						 (int)RTA_PAYLOAD(o), (char *)RTA_DATA(o));
			}
		}
	}
}

typedef int (*filter_fn)(void *ctx, const struct tc_filter *f);

struct filter_walk {
	filter_fn fn;
	void *ctx;
	int count;
};

static int on_filter_msg(void *arg, struct nlmsghdr *nh)
{
	struct filter_walk *w = arg;
	struct tc_filter f;

	if (nh->nlmsg_type != RTM_NEWTFILTER)
		return 0;
	parse_filter(nh, &f);
	if (!f.handle) /* the classifier itself, not a filter */
		return 0;
	w->count++;
	return w->fn ? w->fn(w->ctx, &f) : 0;
}

/*
 * Call fn (if not NULL) for every filter on one clsact hook of ifindex. Returns the number of
 * filters, 0 when the interface has no clsact qdisc, or -errno.
 */
static int list_filters(int ifindex, bool ingress, filter_fn fn, void *ctx)
{
	struct {
		struct nlmsghdr n;
		struct tcmsg t;
	} req = {
		.n = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct tcmsg)),
		       .nlmsg_type = RTM_GETTFILTER,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		       .nlmsg_seq = 1 },
		.t = { .tcm_family = AF_UNSPEC,
		       .tcm_ifindex = ifindex,
		       .tcm_parent = TC_H_MAKE(TC_H_CLSACT,
					       ingress ? TC_H_MIN_INGRESS : TC_H_MIN_EGRESS) },
	};
	struct filter_walk w = { .fn = fn, .ctx = ctx };
	int ret = nl_dump(&req, req.n.nlmsg_len, on_filter_msg, &w);

	/* No clsact qdisc: the kernel says the parent does not exist. */
	if (ret == -EINVAL || ret == -ENOENT)
		return 0;
	return ret ? ret : w.count;
}

struct qdisc_find {
	int ifindex;
	char kind[16];
};

static int on_qdisc_msg(void *arg, struct nlmsghdr *nh)
{
	struct qdisc_find *q = arg;
	struct tcmsg *t = NLMSG_DATA(nh);
	int len = (int)nh->nlmsg_len - NLMSG_LENGTH(sizeof(*t));

	if (nh->nlmsg_type != RTM_NEWQDISC || t->tcm_ifindex != q->ifindex ||
	    t->tcm_parent != TC_H_INGRESS)
		return 0;
	for (struct rtattr *a = (struct rtattr *)((char *)t + NLMSG_ALIGN(sizeof(*t)));
	     RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == TCA_KIND)
			snprintf(q->kind, sizeof(q->kind), "%.*s", (int)RTA_PAYLOAD(a),
				 (char *)RTA_DATA(a));
	return 0;
}

/* The kind of ifindex's qdisc at ffff: ("clsact", or the old "ingress"), "" if none. 0 or -errno. */
static int ingress_qdisc_kind(int ifindex, char kind[16])
{
	struct {
		struct nlmsghdr n;
		struct tcmsg t;
	} req = {
		.n = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct tcmsg)),
		       .nlmsg_type = RTM_GETQDISC,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		       .nlmsg_seq = 1 },
		.t = { .tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex },
	};
	struct qdisc_find q = { .ifindex = ifindex };
	int ret = nl_dump(&req, req.n.nlmsg_len, on_qdisc_msg, &q);

	memcpy(kind, q.kind, sizeof(q.kind));
	return ret;
}

static bool is_tlsrec_name(const char *name)
{
	return !strncmp(name, TC_PROG_PREFIX, strlen(TC_PROG_PREFIX));
}

/* Read the tlsrec_owner map bound to program id. 0, -ENOENT if it has none, or -errno (-EPERM
 * without CAP_SYS_ADMIN, which BPF_PROG_GET_FD_BY_ID takes). */
static int prog_owner(__u32 id, struct tr_owner *owner)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info), map_ids[16];
	int fd, ret = -ENOENT;

	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return -errno;
	info.nr_map_ids = sizeof(map_ids) / sizeof(map_ids[0]);
	info.map_ids = (__u64)(unsigned long)map_ids;
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		ret = -errno;
		goto out;
	}
	for (__u32 i = 0; i < info.nr_map_ids && i < sizeof(map_ids) / sizeof(map_ids[0]); i++) {
		struct bpf_map_info mi = { 0 };
		__u32 mlen = sizeof(mi), key = 0;
		int mfd = bpf_map_get_fd_by_id(map_ids[i]);

		if (mfd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(mfd, &mi, &mlen) && !strcmp(mi.name, TC_OWNER_MAP) &&
		    mi.value_size == sizeof(*owner))
			ret = bpf_map_lookup_elem(mfd, &key, owner) ? -errno : 0;
		close(mfd);
		if (ret != -ENOENT)
			break;
	}
out:
	close(fd);
	return ret;
}

int tc_owner_self(struct tr_owner *o)
{
	struct stat st;
	int ret;

	memset(o, 0, sizeof(*o));
	o->pid = (__u32)getpid();
	ret = proc_start_time(getpid(), &o->start_time, NULL);
	if (ret)
		return ret;
	if (stat("/proc/self/ns/pid", &st))
		return -errno;
	o->pidns = st.st_ino;
	o->heartbeat = clock_ns(CLOCK_BOOTTIME);
	return 0;
}

/* In our pid namespace the owner's pid says it all (a killed one may linger as a zombie: that is
 * gone too); in another, only its heartbeat does. */
static bool owner_alive(const struct tr_owner *o)
{
	struct tr_owner self;
	__u64 start;
	char state;

	if (tc_owner_self(&self) || o->pidns != self.pidns)
		return clock_ns(CLOCK_BOOTTIME) - o->heartbeat < HEARTBEAT_STALE_NS;
	return o->pid && proc_start_time((pid_t)o->pid, &start, &state) == 0 &&
	       start == o->start_time && state != 'Z' && state != 'X';
}

struct stale_ctx {
	int ifindex;
	const char *ifname;
	bool ingress;
	int removed;
	bool qdisc_ours; /* a removed filter says the qdisc was tlsrec's */
};

static int remove_if_stale(void *arg, const struct tc_filter *f)
{
	struct stale_ctx *s = arg;
	struct tr_owner owner;
	int ret;

	if (!f->prog_id || !is_tlsrec_name(f->name))
		return 0;
	ret = prog_owner(f->prog_id, &owner);
	if (ret == -EPERM) {
		log_warn("%s: cannot tell whether tlsrec's TC filter %x was left by a killed tlsrec: that takes CAP_SYS_ADMIN",
			 s->ifname, f->handle);
		return 0;
	}
	if (ret == 0 && owner_alive(&owner))
		return 0;
	if (ret && ret != -ENOENT) {
		log_warn("%s: cannot check tlsrec's TC filter %x: %s", s->ifname, f->handle,
			 strerror(-ret));
		return 0;
	}
	{
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = s->ifindex,
				    .attach_point = s->ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = f->handle, .priority = f->prio);

		ret = bpf_tc_detach(&hook, &opts);
	}
	if (ret) {
		log_warn("%s: cannot remove a stale tlsrec TC filter: %s", s->ifname, strerror(-ret));
		return 0;
	}
	log_info("%s: removed a TC filter left behind by a tlsrec that is gone (%s)", s->ifname,
		 s->ingress ? "ingress" : "egress");
	s->removed++;
	s->qdisc_ours |= f->handle & HANDLE_QDISC_OURS;
	return 0;
}

static int destroy_qdisc(int ifindex)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

	return bpf_tc_hook_destroy(&hook);
}

static int count_filters(int ifindex)
{
	int in = list_filters(ifindex, true, NULL, NULL);
	int out = list_filters(ifindex, false, NULL, NULL);

	if (in < 0)
		return in;
	if (out < 0)
		return out;
	return in + out;
}

int tc_remove_stale(int ifindex, const char *ifname)
{
	int removed = 0;
	bool qdisc_ours = false;

	for (int d = 0; d < 2; d++) {
		struct stale_ctx s = { .ifindex = ifindex, .ifname = ifname, .ingress = d == 0 };
		int ret = list_filters(ifindex, s.ingress, remove_if_stale, &s);

		if (ret < 0) {
			log_debug("%s: cannot look for stale filters: %s", ifname, strerror(-ret));
			return ret;
		}
		removed += s.removed;
		qdisc_ours |= s.qdisc_ours;
	}
	if (qdisc_ours && count_filters(ifindex) == 0)
		destroy_qdisc(ifindex);
	return removed;
}

static int note_foreign(void *arg, const struct tc_filter *f)
{
	bool *foreign = arg;

	if (!f->prog_id || !is_tlsrec_name(f->name))
		*foreign = true;
	return 0;
}

/* A handle for a filter of ours: random (several tlsrecs share priority 1), never 0 (which asks
 * the kernel to choose), with the low bit saying whether the qdisc is ours. */
static __u32 pick_handle(bool qdisc_ours)
{
	__u32 h;

	if (getrandom(&h, sizeof(h), 0) != sizeof(h))
		h = (__u32)getpid() << 12 ^ (__u32)time(NULL);
	return (h & ~HANDLE_QDISC_OURS) | 2 | (qdisc_ours ? HANDLE_QDISC_OURS : 0);
}

static int attach_one(struct tc_hooks *h, int d, int prog_fd)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = h->ifindex,
			    .attach_point = d == 0 ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd, .priority = 1,
			    .handle = pick_handle(h->qdisc_ours));
	int ret;

	/* Priority 1 runs before other filters; if that slot holds another kind of classifier,
	 * take the next free priority the kernel gives. */
	ret = bpf_tc_attach(&hook, &opts);
	if (ret == -EINVAL || ret == -EEXIST) {
		opts.priority = 0;
		opts.handle = pick_handle(h->qdisc_ours);
		opts.prog_id = 0;
		ret = bpf_tc_attach(&hook, &opts);
		h->not_first = !ret;
	}
	if (ret)
		return ret;
	h->hook[d].on = true;
	h->hook[d].handle = opts.handle;
	h->hook[d].prio = opts.priority;
	return 0;
}

int tc_attach(struct tc_hooks *h, int ifindex, int prog_in, int prog_out)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	int ret;

	memset(h, 0, sizeof(*h));
	h->ifindex = ifindex;
	ret = bpf_tc_hook_create(&hook);
	if (ret == -EEXIST) {
		char kind[16];
		bool foreign = false;
		int n, m;

		/* The old ingress qdisc sits where clsact would, and has no egress hook. */
		ret = ingress_qdisc_kind(ifindex, kind);
		if (ret)
			return ret;
		if (strcmp(kind, "clsact"))
			return -EOPNOTSUPP;
		n = list_filters(ifindex, true, note_foreign, &foreign);
		m = list_filters(ifindex, false, note_foreign, &foreign);
		/* A qdisc that holds only other tlsrecs' filters is ours to remove once empty; one
		 * that was there empty, or with other filters, belongs to someone else. */
		h->qdisc_ours = n >= 0 && m >= 0 && n + m > 0 && !foreign;
	} else if (ret) {
		return ret;
	} else {
		h->qdisc_ours = true;
	}
	ret = prog_in >= 0 ? attach_one(h, 0, prog_in) : 0;
	if (!ret && prog_out >= 0)
		ret = attach_one(h, 1, prog_out);
	if (ret)
		tc_detach(h);
	return ret;
}

/* Errors that mean the filter or qdisc is gone already (the interface, or the qdisc, was
 * deleted): nothing of ours is left there. */
static bool gone(int err)
{
	return err == -ENOENT || err == -ENODEV || err == -EINVAL;
}

int tc_detach(struct tc_hooks *h)
{
	int first = 0;

	for (int d = 0; d < 2; d++) {
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = h->ifindex,
				    .attach_point = d == 0 ? BPF_TC_INGRESS : BPF_TC_EGRESS);
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = h->hook[d].handle,
				    .priority = h->hook[d].prio);
		int ret;

		if (!h->hook[d].on)
			continue;
		ret = bpf_tc_detach(&hook, &opts);
		if (ret && !gone(ret) && !first)
			first = ret;
		h->hook[d].on = false;
	}
	if (h->qdisc_ours && count_filters(h->ifindex) == 0) {
		int ret = destroy_qdisc(h->ifindex);

		if (ret && !gone(ret) && !first)
			first = ret;
	}
	h->qdisc_ours = false;
	return first;
}

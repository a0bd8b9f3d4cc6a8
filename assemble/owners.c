// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "array.h"
#include "owners.h"

/* Records of one cookie looked at, at most, around the connection's time. */
#define COOKIE_SCAN 32

/* A SOCKET record with its addresses as tls_conn holds them (IPv4, also v4-mapped, in the first
 * four bytes; family 4 or 6). */
struct owners_socket {
	uint32_t rec;
	uint8_t family;
	uint64_t wall;
	uint8_t local[16], remote[16];
	struct tr_socket s;
};

struct owners_process {
	uint32_t rec;
	uint64_t wall;
	struct tr_process p;
};

static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

int owners_add_socket(struct owners *o, uint32_t rec, uint64_t wall, const struct tr_socket *s)
{
	struct owners_socket *k;

	if (array_reserve(&o->socks, &o->socks_cap, o->nsocks + 1, sizeof(*o->socks), 64))
		return -ENOMEM;
	k = &o->socks[o->nsocks++];
	memset(k, 0, sizeof(*k));
	k->rec = rec;
	k->wall = wall;
	k->s = *s;
	k->s.comm[sizeof(k->s.comm) - 1] = '\0';
	k->family = s->family == AF_INET ? 4 : 6;
	if (k->family == 4) {
		memcpy(k->local, s->local, 4);
		memcpy(k->remote, s->remote, 4);
	} else if (!memcmp(s->local, v4_mapped, 12) &&
		   (!memcmp(s->remote, v4_mapped, 12) || !s->remote_port)) {
		k->family = 4;
		memcpy(k->local, s->local + 12, 4);
		memcpy(k->remote, s->remote + 12, 4);
	} else {
		memcpy(k->local, s->local, 16);
		memcpy(k->remote, s->remote, 16);
	}
	o->built = false;
	return 0;
}

int owners_add_process(struct owners *o, uint32_t rec, uint64_t wall, const struct tr_process *p)
{
	if (array_reserve(&o->procs, &o->procs_cap, o->nprocs + 1, sizeof(*o->procs), 64))
		return -ENOMEM;
	o->procs[o->nprocs++] = (struct owners_process){ .rec = rec, .wall = wall, .p = *p };
	o->built = false;
	return 0;
}

/* Packet v of src, numbered n, as tlsconn_add takes it. */
static struct tlsconn_pkt packet_of(const struct source *src, const struct packet_view *v,
				    uint64_t n)
{
	struct src_iface *ifs;

	source_interfaces(src, &ifs);
	return (struct tlsconn_pkt){ .index = n,
				     .wall = v->wall,
				     .frame = v->data,
				     .caplen = v->p.cap_len,
				     .wire_len = v->p.orig_len,
				     .rec = ifs[v->iface].rec,
				     .linktype = ifs[v->iface].desc.linktype,
				     .egress = v->p.dir == TR_DIR_EGRESS,
				     .cookie = v->p.sock_cookie,
				     .netns = ifs[v->iface].desc.netns_ino };
}

int owners_take_packet(struct tlsconn *t, const struct source *src, const struct packet_view *v,
		       uint64_t n, struct tls_conn **conn, int *side)
{
	struct tlsconn_pkt p = packet_of(src, v, n);

	*conn = NULL;
	*side = 0;
	return tlsconn_add(t, &p, conn, side);
}

int owners_take_records(struct owners *o, const struct source *src)
{
	const struct src_socket *socks;
	const struct src_process *procs;
	size_t n = source_sockets(src, &socks);
	int ret = 0;

	for (size_t i = 0; !ret && i < n; i++)
		ret = owners_add_socket(o, socks[i].rec, socks[i].wall, &socks[i].s);
	n = source_processes(src, &procs);
	for (size_t i = 0; !ret && i < n; i++)
		ret = owners_add_process(o, procs[i].rec, procs[i].wall, &procs[i].p);
	return ret;
}

#define CMP(a, b)                              \
	do {                                   \
		if ((a) != (b))                \
			return (a) < (b) ? -1 : 1; \
	} while (0)

/* Orders of the three lookups; each ends with the time, which lookups compare apart. */
static int key_cookie(const struct owners_socket *a, const struct owners_socket *b)
{
	CMP(a->rec, b->rec);
	CMP(a->s.cookie, b->s.cookie);
	return 0;
}

static int key_tuple(const struct owners_socket *a, const struct owners_socket *b)
{
	int c;

	CMP(a->rec, b->rec);
	CMP(a->s.netns, b->s.netns);
	CMP(a->s.protocol, b->s.protocol);
	CMP(a->family, b->family);
	CMP(a->s.local_port, b->s.local_port);
	CMP(a->s.remote_port, b->s.remote_port);
	c = memcmp(a->local, b->local, 16);
	return c ? c : memcmp(a->remote, b->remote, 16);
}

static int key_bind(const struct owners_socket *a, const struct owners_socket *b)
{
	CMP(a->rec, b->rec);
	CMP(a->s.netns, b->s.netns);
	CMP(a->s.protocol, b->s.protocol);
	CMP(a->family, b->family);
	CMP(a->s.local_port, b->s.local_port);
	return memcmp(a->local, b->local, 16);
}

typedef int (*key_fn)(const struct owners_socket *a, const struct owners_socket *b);

struct sort_ctx {
	const struct owners_socket *socks;
	key_fn key;
};

static int cmp_sock(const void *x, const void *y, void *ctx)
{
	const struct sort_ctx *c = ctx;
	const struct owners_socket *a = &c->socks[*(const uint32_t *)x];
	const struct owners_socket *b = &c->socks[*(const uint32_t *)y];
	int r = c->key(a, b);

	if (r)
		return r;
	CMP(a->wall, b->wall);
	CMP(*(const uint32_t *)x, *(const uint32_t *)y);
	return 0;
}

static int cmp_proc(const void *x, const void *y)
{
	const struct owners_process *a = x, *b = y;

	CMP(a->rec, b->rec);
	CMP(a->p.pid, b->p.pid);
	CMP(a->wall, b->wall);
	return 0;
}

/* The first index in idx (n of them, sorted by key then time) not before (probe, wall). */
static size_t lower_bound(const struct owners *o, const uint32_t *idx, size_t n, key_fn key,
			  const struct owners_socket *probe)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct owners_socket *m = &o->socks[idx[mid]];
		int r = key(m, probe);

		if (r < 0 || (r == 0 && m->wall < probe->wall))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static uint64_t distance(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

/* The socket with probe's key nearest in time to probe->wall, or -1. */
static int64_t nearest(const struct owners *o, const uint32_t *idx, size_t n, key_fn key,
		       const struct owners_socket *probe)
{
	size_t at = lower_bound(o, idx, n, key, probe);
	int64_t best = -1;

	if (at < n && !key(&o->socks[idx[at]], probe))
		best = idx[at];
	if (at > 0 && !key(&o->socks[idx[at - 1]], probe) &&
	    (best < 0 || distance(o->socks[idx[at - 1]].wall, probe->wall) <=
				 distance(o->socks[best].wall, probe->wall)))
		best = idx[at - 1];
	return best;
}

/* What a record says of its owner, for choosing among records of one cookie: most first. */
static int cookie_rank(uint8_t how)
{
	switch (how) {
	case TR_SOCK_CONNECT:
	case TR_SOCK_ACCEPT:
	case TR_SOCK_SEED:
		return 0;
	case TR_SOCK_BIND:
		return 1;
	default:
		return 2;
	}
}

static int64_t find_cookie(const struct owners *o, uint32_t rec, uint64_t cookie, uint64_t wall)
{
	struct owners_socket probe = { .rec = rec, .wall = wall, .s = { .cookie = cookie } };
	size_t at = lower_bound(o, o->by_cookie, o->n_cookie, key_cookie, &probe);
	size_t lo = at > COOKIE_SCAN ? at - COOKIE_SCAN : 0;
	size_t hi = o->n_cookie - at > COOKIE_SCAN ? at + COOKIE_SCAN : o->n_cookie;
	int64_t best = -1;

	for (size_t i = lo; i < hi; i++) {
		const struct owners_socket *k = &o->socks[o->by_cookie[i]];

		if (key_cookie(k, &probe))
			continue;
		if (best < 0 || cookie_rank(k->s.how) < cookie_rank(o->socks[best].s.how) ||
		    (cookie_rank(k->s.how) == cookie_rank(o->socks[best].s.how) &&
		     distance(k->wall, wall) < distance(o->socks[best].wall, wall)))
			best = o->by_cookie[i];
	}
	return best;
}

/* The socket of end side of c, or -1. */
static int64_t find_end(const struct owners *o, const struct tls_conn *c, int side)
{
	uint64_t ns[3] = { c->netns[0], c->netns[1], 0 };
	struct owners_socket probe = { .rec = c->rec, .family = c->family, .wall = c->first_wall };
	int64_t r;

	if (c->cookie[side] && (r = find_cookie(o, c->rec, c->cookie[side], c->first_wall)) >= 0)
		return r;
	probe.s.protocol = c->proto;
	probe.s.local_port = c->port[side];
	probe.s.remote_port = c->port[!side];
	memcpy(probe.local, c->addr[side], 16);
	memcpy(probe.remote, c->addr[!side], 16);
	for (int i = 0; i < 3; i++) {
		if (i < 2 && (!ns[i] || (i == 1 && ns[1] == ns[0])))
			continue;
		probe.s.netns = ns[i];
		r = nearest(o, o->by_tuple, o->n_tuple, key_tuple, &probe);
		if (r >= 0)
			return r;
	}
	if (!c->egress[side])
		return -1;
	for (int i = 0; i < 3; i++) {
		if (i < 2 && (!ns[i] || (i == 1 && ns[1] == ns[0])))
			continue;
		probe.s.netns = ns[i];
		probe.family = c->family;
		memcpy(probe.local, c->addr[side], 16);
		if ((r = nearest(o, o->by_bind, o->n_bind, key_bind, &probe)) >= 0)
			return r;
		/* A wildcard address; an IPv6 one takes IPv4 too (dual-stack sockets). */
		memset(probe.local, 0, 16);
		if ((r = nearest(o, o->by_bind, o->n_bind, key_bind, &probe)) >= 0)
			return r;
		probe.family = 6;
		if (c->family == 4 && (r = nearest(o, o->by_bind, o->n_bind, key_bind, &probe)) >= 0)
			return r;
	}
	return -1;
}

/* The PROCESS record of the socket's pid nearest before it (an EXIT there ended an earlier
 * process: then the first after it), else the first after it; -1 when there is none. */
static int64_t find_process(const struct owners *o, const struct owners_socket *k)
{
	struct owners_process probe = { .rec = k->rec, .wall = k->wall, .p = { .pid = k->s.pid } };
	size_t lo = 0, hi = o->nprocs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_proc(&o->procs[mid], &probe) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0 && o->procs[lo - 1].rec == k->rec && o->procs[lo - 1].p.pid == k->s.pid &&
	    o->procs[lo - 1].p.how != TR_PROC_EXIT)
		return (int64_t)lo - 1;
	for (; lo < o->nprocs && o->procs[lo].rec == k->rec && o->procs[lo].p.pid == k->s.pid; lo++)
		if (o->procs[lo].p.how != TR_PROC_EXIT)
			return (int64_t)lo;
	return -1;
}

/* Sort indices of the sockets that keep(s) into *out (n of them). 0 or -ENOMEM. */
static int build_index(struct owners *o, uint32_t **out, size_t *n, key_fn key,
		       bool (*keep)(const struct owners_socket *k))
{
	struct sort_ctx ctx = { o->socks, key };
	uint32_t *idx = realloc(*out, (o->nsocks ? o->nsocks : 1) * sizeof(*idx));

	if (!idx)
		return -ENOMEM;
	*out = idx;
	*n = 0;
	for (size_t i = 0; i < o->nsocks; i++)
		if (keep(&o->socks[i]))
			idx[(*n)++] = (uint32_t)i;
	if (*n)
		qsort_r(idx, *n, sizeof(*idx), cmp_sock, &ctx);
	return 0;
}

static bool has_cookie(const struct owners_socket *k)
{
	return k->s.cookie != 0;
}

static bool has_tuple(const struct owners_socket *k)
{
	return (k->s.how == TR_SOCK_CONNECT || k->s.how == TR_SOCK_ACCEPT ||
		k->s.how == TR_SOCK_SEED) &&
	       k->s.local_port && k->s.remote_port;
}

static bool is_bound(const struct owners_socket *k)
{
	return (k->s.how == TR_SOCK_BIND || k->s.how == TR_SOCK_SEED) && k->s.local_port &&
	       !k->s.remote_port;
}

/* Sort the processes (their order is what owner.proc names) and index the sockets; every
 * socket's owner. 0 or -ENOMEM. */
static int build(struct owners *o)
{
	struct owner *ow;
	int ret;

	if (o->nsocks > UINT32_MAX)
		return -ENOMEM;
	if (o->nprocs)
		qsort(o->procs, o->nprocs, sizeof(*o->procs), cmp_proc);
	ret = build_index(o, &o->by_cookie, &o->n_cookie, key_cookie, has_cookie);
	if (!ret)
		ret = build_index(o, &o->by_tuple, &o->n_tuple, key_tuple, has_tuple);
	if (!ret)
		ret = build_index(o, &o->by_bind, &o->n_bind, key_bind, is_bound);
	if (ret)
		return ret;
	ow = realloc(o->owner, (o->nsocks ? o->nsocks : 1) * sizeof(*ow));
	if (!ow)
		return -ENOMEM;
	o->owner = ow;
	for (size_t i = 0; i < o->nsocks; i++) {
		const struct owners_socket *k = &o->socks[i];
		int64_t p = find_process(o, k);

		ow[i] = (struct owner){ .rec = k->rec, .pid = k->s.pid, .tid = k->s.tid,
					.uid = k->s.uid, .gid = k->s.gid, .cgroup = k->s.cgroup,
					.proc = p };
		memcpy(ow[i].comm, k->s.comm, sizeof(ow[i].comm));
		if (p >= 0) {
			ow[i].start_ns = o->procs[p].p.start_ns;
			if (!ow[i].comm[0])
				memcpy(ow[i].comm, o->procs[p].p.comm, sizeof(ow[i].comm) - 1);
		}
	}
	o->built = true;
	return 0;
}

/* In tls_conn.memo: a local end (its packets were seen leaving) whose owner is not known, and one
 * that is not local or not known. */
#define END_LOCAL (-2)
#define END_NONE (-1)

int owners_resolve(struct owners *o)
{
	return o->built ? 0 : build(o);
}

const struct owner *owners_end(const struct owners *o, const struct tls_conn *c, int side)
{
	int64_t e = o->built ? find_end(o, c, side) : -1;

	return e >= 0 ? &o->owner[e] : NULL;
}

const struct owner *owners_by_cookie(const struct owners *o, uint32_t rec, uint64_t cookie)
{
	int64_t r;

	if (!o->built || !cookie)
		return NULL;
	r = find_cookie(o, rec, cookie, 0);
	return r >= 0 ? &o->owner[r] : NULL;
}

const struct owner *owners_packet(const struct owners *o, struct tlsconn *t,
				  const struct source *src, const struct packet_view *v, uint64_t n,
				  struct tls_conn **conn_out, int *err)
{
	struct tlsconn_pkt p = packet_of(src, v, n);
	struct tls_conn *c;
	int side, ret;

	*conn_out = NULL;
	ret = tlsconn_find(t, &p, &c, &side);
	if (ret <= 0) {
		*err = ret;
		return owners_by_cookie(o, p.rec, p.cookie);
	}
	*conn_out = c;
	if (!c->memo_set) {
		for (int s = 0; s < 2; s++) {
			int64_t e = o->built ? find_end(o, c, s) : -1;

			/* A local end whose owner is not known: its packets are nobody's, not the
			 * other end's process's. */
			c->memo[s] = e >= 0 ? (int32_t)e : c->egress[s] ? END_LOCAL : END_NONE;
		}
		c->memo_set = true;
	}
	if (c->memo[side] >= 0)
		return &o->owner[c->memo[side]];
	if (c->memo[side] == END_LOCAL || c->memo[!side] < 0)
		return NULL;
	return &o->owner[c->memo[!side]];
}

const struct tr_process *owners_process(const struct owners *o, int64_t proc)
{
	return proc >= 0 && (size_t)proc < o->nprocs ? &o->procs[proc].p : NULL;
}

void owners_free(struct owners *o)
{
	free(o->socks);
	free(o->procs);
	free(o->owner);
	free(o->by_cookie);
	free(o->by_tuple);
	free(o->by_bind);
	memset(o, 0, sizeof(*o));
}

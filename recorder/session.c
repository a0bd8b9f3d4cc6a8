// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "clock.h"
#include "log.h"
#include "session.h"

struct loss_seen {
	struct tr_loss_key key;
	__u64 total;
	__u64 since; /* CLOCK_BOOTTIME ns of the last report */
};

/* -ECANCELED when no buffer came free before tlsrec had to stop. */
static int begin_chunk(struct session *s)
{
	int ret;

	s->cur = writer_get(s->wr, &s->wait);
	if (!s->cur)
		return -ECANCELED;
	s->cur_since = clock_ns(CLOCK_MONOTONIC);
	chunkbuf_begin(s->cur, &s->enc);
	ret = chunkbuf_add_clock(s->cur);
	for (size_t i = 0; !ret && i < s->n_ifaces; i++)
		if (!s->gone[i])
			ret = chunkbuf_add(s->cur, &s->ifaces[i].rec, sizeof(s->ifaces[i].rec));
	return ret;
}

/* Close the current chunk's frame and hand it to the writer thread. */
static int flush_chunk(struct session *s)
{
	int ret;

	if (!s->cur)
		return 0;
	ret = chunkbuf_end(s->cur);
	if (ret)
		writer_release(s->wr, s->cur);
	else
		writer_submit(s->wr, s->cur);
	s->cur = NULL;
	return ret;
}

static int append(struct session *s, const void *rec, size_t len)
{
	int ret;

	if (!s->cur) {
		ret = begin_chunk(s);
		if (ret)
			return ret;
	}
	ret = chunkbuf_add(s->cur, rec, len);
	if (ret == -ENOSPC) {
		ret = flush_chunk(s);
		if (!ret)
			ret = begin_chunk(s);
		if (!ret)
			ret = chunkbuf_add(s->cur, rec, len);
	}
	return ret;
}

/* Append a record and count it, or count it lost when stopping and the output has not taken
 * the chunks before. 0 or -errno. */
static int take(struct session *s, const void *data, size_t size)
{
	struct tr_rec r; /* user space's records are not aligned */
	bool owner, secret;
	int ret;

	memcpy(&r, data, sizeof(r));
	owner = r.type == TR_REC_SOCKET || r.type == TR_REC_PROCESS;
	secret = r.type == TR_REC_SECRET || r.type == TR_REC_KEYLOG;
	ret = append(s, data, size);
	if (ret == -ECANCELED) {
		s->lost_by[TR_LOSS_OUTPUT] += r.type == TR_REC_PACKET || secret || owner;
		s->lost += r.type == TR_REC_PACKET;
		s->lost_secrets += secret;
		s->lost_owners += owner;
		return 0;
	}
	if (ret)
		return ret;
	s->packets += r.type == TR_REC_PACKET;
	s->secrets += secret;
	s->owners += owner;
	return 0;
}

/* Records taken from one ring before the next ring's turn: a CPU that fills its ring faster than
 * tlsrec reads cannot keep the other rings from being read. */
#define RING_BUDGET 4096

/* What a callback returns to stop reading the ring it was called for: the error, or -EAGAIN once
 * the ring's budget is spent (the record has been taken). */
static int done(struct session *s, int ret)
{
	if (ret && !s->error)
		s->error = ret;
	if (!ret && !--s->budget)
		return -EAGAIN;
	return ret;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct session *s = ctx;
	const struct tr_rec *r = data;
	__u32 pid;
	int ret;

	if (r->type == TR_REC_PACKET && s->max_packets && s->packets >= s->max_packets)
		return 0;
	ret = r->len == size ? take(s, data, size) : -EBADMSG;
	if (!ret && s->procs && r->type == TR_REC_SECRET && size == sizeof(struct tr_secret)) {
		memcpy(&pid, (const uint8_t *)data + offsetof(struct tr_secret, pid), sizeof(pid));
		ret = procs_seen(s->procs, pid, session_append, s);
	} else if (!ret && s->procs && r->type == TR_REC_KEYLOG && size == sizeof(struct tr_keylog)) {
		memcpy(&pid, (const uint8_t *)data + offsetof(struct tr_keylog, pid), sizeof(pid));
		ret = procs_seen(s->procs, pid, session_append, s);
	}
	return done(s, ret);
}

/* The sockets programs' events: records through procs. */
static int on_owner_event(void *ctx, void *data, size_t size)
{
	struct session *s = ctx;

	return done(s, procs_event(s->procs, data, size, session_append, s));
}

int session_append(void *ctx, const void *rec, size_t len)
{
	return take(ctx, rec, len);
}

static void on_loss(void *ctx, const struct tr_loss_key *k, __u64 total)
{
	struct session *s = ctx;
	struct loss_seen *seen = NULL;
	struct tr_loss rec = { .hdr = { .type = TR_REC_LOSS, .len = sizeof(rec) } };
	int ret;

	for (size_t i = 0; i < s->n_seen; i++)
		if (!memcmp(&s->seen[i].key, k, sizeof(*k)))
			seen = &s->seen[i];
	if (!seen) {
		struct loss_seen *v = realloc(s->seen, (s->n_seen + 1) * sizeof(*v));

		if (!v) {
			if (!s->error)
				s->error = -ENOMEM;
			return;
		}
		s->seen = v;
		seen = &v[s->n_seen++];
		*seen = (struct loss_seen){ .key = *k, .since = s->start_boot };
	}
	if (total <= seen->total)
		return;
	rec.hdr.ts = clock_ns(CLOCK_BOOTTIME);
	rec.count = total - seen->total;
	rec.since_ns = seen->since;
	rec.ifindex = k->ifindex;
	rec.what = k->what;
	rec.dir = k->dir;
	rec.where = k->where;
	if (k->what == TR_LOSS_SECRETS)
		s->lost_secrets += rec.count;
	else if (k->what == TR_LOSS_SOCKETS)
		s->lost_owners += rec.count;
	else
		s->lost += rec.count;
	if (k->where < sizeof(s->lost_by) / sizeof(s->lost_by[0]))
		s->lost_by[k->where] += rec.count;
	seen->total = total;
	seen->since = rec.hdr.ts;
	ret = append(s, &rec, sizeof(rec));
	if (ret && ret != -ECANCELED && !s->error)
		s->error = ret;
}

/* Every loss counter's key and total (summed over CPUs), to on_loss. 0 or -errno. */
static int read_losses(struct session *s)
{
	for (size_t m = 0; m < s->n_loss_maps; m++) {
		struct tr_loss_key key, next, *prev = NULL;

		while (bpf_map_get_next_key(s->loss_maps[m], prev, &next) == 0) {
			__u64 total = 0;

			if (bpf_map_lookup_elem(s->loss_maps[m], &next, s->percpu) == 0) {
				for (int i = 0; i < s->ncpus; i++)
					total += s->percpu[i];
				on_loss(s, &next, total);
			}
			key = next;
			prev = &key;
		}
		if (errno != ENOENT)
			return -errno;
	}
	return 0;
}

/* Recorded interface i has disappeared: say so, in the journal too. 0 or -errno. */
static int iface_gone(struct session *s, size_t i)
{
	struct tr_ifgone rec = { .hdr = { .type = TR_REC_IFGONE, .len = sizeof(rec) } };
	int ret;

	s->gone[i] = true;
	s->n_live--;
	log_warn("%s: the interface disappeared%s", s->ifaces[i].rec.name,
		 s->n_live ? "" : "; no recorded interface is left");
	rec.hdr.ts = clock_ns(CLOCK_BOOTTIME);
	rec.netns_ino = s->ifaces[i].rec.netns_ino;
	rec.ifindex = s->ifaces[i].rec.ifindex;
	memcpy(rec.name, s->ifaces[i].rec.name, sizeof(rec.name));
	ret = append(s, &rec, sizeof(rec));
	return ret == -ECANCELED ? 0 : ret;
}

/* Look whether recorded interface ifindex (0: every one) is still there. 0 or -errno. */
static int check_ifaces(struct session *s, __u32 ifindex)
{
	char name[IF_NAMESIZE];
	int ret = 0;

	for (size_t i = 0; !ret && i < s->n_ifaces; i++) {
		if (s->gone[i] || (ifindex && s->ifaces[i].rec.ifindex != ifindex))
			continue;
		if (!if_indextoname(s->ifaces[i].rec.ifindex, name) &&
		    (errno == ENXIO || errno == ENODEV))
			ret = iface_gone(s, i);
	}
	return ret;
}

/* Read the link notifications there are: a recorded interface deleted (or moved to another
 * network namespace) is gone. When notifications were lost, look at every interface.
 * 0 or -errno. */
static int read_links(struct session *s)
{
	union {
		struct nlmsghdr h;
		char buf[8192];
	} u;

	for (;;) {
		ssize_t n = recv(s->link_fd, u.buf, sizeof(u.buf), MSG_DONTWAIT);
		int ret = 0;

		if (n < 0 && errno == ENOBUFS)
			ret = check_ifaces(s, 0);
		else if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		for (struct nlmsghdr *h = &u.h; n > 0 && !ret && NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			const struct ifinfomsg *ifi = NLMSG_DATA(h);

			/* A bridge port leaving its bridge is an RTM_DELLINK too: check. */
			if (h->nlmsg_type == RTM_DELLINK &&
			    h->nlmsg_len >= NLMSG_LENGTH(sizeof(*ifi)) && ifi->ifi_index > 0)
				ret = check_ifaces(s, (__u32)ifi->ifi_index);
		}
		if (ret)
			return ret;
	}
}

/* Be told when a link is deleted, and look once whether one went before. Without rtnetlink,
 * say so: session_run then looks every second. 0 or -errno. */
static int watch_links(struct session *s)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	struct epoll_event ev = { .events = EPOLLIN };
	int fd;

	s->gone = calloc(s->n_ifaces, sizeof(*s->gone));
	if (!s->gone)
		return -ENOMEM;
	s->n_live = s->n_ifaces;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	ev.data.fd = fd;
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		log_warn("cannot watch the interfaces with rtnetlink: %s: looking every second instead",
			 strerror(errno));
		if (fd >= 0)
			close(fd);
	} else {
		s->link_fd = fd;
	}
	return check_ifaces(s, 0);
}

/* Wait up to timeout_ms for a wakeup (not at all while a ring is behind), then take what is in the
 * rings, at most RING_BUDGET records from each, starting with a different ring each time. The
 * number of records, or -errno (-EINTR when a signal came). The programs wake us only once a
 * batch has built up: on a timeout, or after a wakeup for one ring, take whatever else has
 * arrived. */
static int poll_rings(struct session *s, int timeout_ms)
{
	struct epoll_event ev[8];
	int n = epoll_wait(s->epfd, ev, 8, s->behind ? 0 : timeout_ms), total = 0;

	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		int ret = 0;

		if (ev[i].data.fd == s->watch_fd && s->on_watch)
			ret = s->on_watch(s->ctx);
		else if (ev[i].data.fd == s->link_fd)
			ret = read_links(s);
		if (ret)
			return ret;
	}
	s->behind = false;
	for (size_t i = 0; i < s->n_rbs; i++) {
		struct ring_buffer *rb = s->rbs[(s->first + i) % s->n_rbs];

		s->budget = RING_BUDGET;
		n = ring_buffer__consume(rb);
		if (n == -EAGAIN && !s->error) {
			s->behind = true;
			n = RING_BUDGET;
		}
		if (n < 0)
			return s->error ? s->error : n;
		total += n;
	}
	s->first = (s->first + 1) % s->n_rbs;
	return total;
}

/* Read ring fd too, handing its records to fn, and wait on it. 0 or -errno. */
static int add_ring(struct session *s, int fd, ring_buffer_sample_fn fn)
{
	struct ring_buffer *rb = ring_buffer__new(fd, fn, s, NULL);
	struct epoll_event ev = { .events = EPOLLIN };

	if (!rb)
		return -errno;
	s->rbs[s->n_rbs++] = rb;
	ev.data.fd = ring_buffer__epoll_fd(rb);
	return epoll_ctl(s->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev) ? -errno : 0;
}

int session_init(struct session *s)
{
	int ret;

	s->epfd = -1;
	s->link_fd = -1;
	ret = chunk_encoder_init(&s->enc);
	if (ret)
		return ret;
	s->ncpus = libbpf_num_possible_cpus();
	if (s->ncpus <= 0)
		return s->ncpus ? s->ncpus : -EINVAL;
	s->percpu = calloc((size_t)s->ncpus, sizeof(*s->percpu));
	s->rbs = calloc(s->n_packet_rings + s->n_rings + 1, sizeof(*s->rbs));
	if (!s->percpu || !s->rbs)
		return -ENOMEM;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0)
		return -errno;
	if (s->watch_fd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = s->watch_fd };

		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->watch_fd, &ev))
			return -errno;
	}
	for (unsigned i = 0; !ret && i < s->n_packet_rings; i++)
		ret = add_ring(s, s->packet_rings[i], on_record);
	for (size_t i = 0; !ret && i < s->n_rings; i++)
		ret = add_ring(s, s->rings[i], on_record);
	if (!ret && s->procs)
		ret = add_ring(s, s->procs_ring, on_owner_event);
	if (!ret && !s->n_rbs)
		ret = -EINVAL;
	if (!ret && s->n_ifaces)
		ret = watch_links(s);
	return ret;
}

int session_run(struct session *s, const volatile sig_atomic_t *stop)
{
	uint64_t next_loss = 0, next_heartbeat = 0;

	s->wait = (struct writer_wait){ .cancel = stop };
	while (!*stop && !s->error && !(s->max_packets && s->packets >= s->max_packets)) {
		uint64_t now;
		int ret = poll_rings(s, s->poll_ms);

		if (ret < 0 && ret != -EINTR)
			return s->error ? s->error : ret;
		if (s->n_ifaces && !s->n_live)
			return -ENODEV;
		now = clock_ns(CLOCK_MONOTONIC);
		if (now >= next_loss) {
			ret = read_losses(s);
			if (ret)
				return ret;
			next_loss = now + s->chunk_age_ns;
		}
		if (s->cap && now >= next_heartbeat) {
			ret = capture_heartbeat(s->cap);
			if (!ret && s->link_fd < 0)
				ret = check_ifaces(s, 0);
			if (ret)
				return ret;
			next_heartbeat = now + 1000000000ULL;
		}
		if (s->cur && now - s->cur_since >= s->chunk_age_ns) {
			ret = flush_chunk(s);
			if (ret)
				return ret;
		}
		ret = writer_error(s->wr);
		if (ret)
			return ret;
	}
	return s->error;
}

/* n records of k that the output did not take: they were counted as recorded (LOSS records in
 * those chunks were counted lost already). */
static void count_unwritten(struct session *s, const struct tr_loss_key *k, uint64_t n)
{
	if (k->where != TR_LOSS_OUTPUT)
		return;
	if (k->what == TR_LOSS_PACKETS) {
		s->packets -= n;
		s->lost += n;
	} else if (k->what == TR_LOSS_SECRETS) {
		s->secrets -= n;
		s->lost_secrets += n;
	} else {
		s->owners -= n;
		s->lost_owners += n;
	}
	s->lost_by[TR_LOSS_OUTPUT] += n;
}

/*
 * The output failed: what it did not take is lost. Count it so, and, when the output is a file
 * whose end is intact (a full file system), end it with a chunk of LOSS records for it and the END
 * record, in the room the journal writer kept. 0 or -errno.
 */
static int end_after_failure(struct session *s, const struct writer_wait *until)
{
	struct tr_end end = { .hdr = { .type = TR_REC_END, .len = sizeof(end) } };
	__u64 now = clock_ns(CLOCK_BOOTTIME);
	struct writer_lost *u;
	size_t n;
	int ret = writer_unwritten(s->wr, &u, &n);

	if (ret)
		return ret;
	for (size_t i = 0; i < n; i++)
		count_unwritten(s, &u[i].key, u[i].count);
	ret = begin_chunk(s);
	for (size_t i = 0; !ret && i < n; i++) {
		struct tr_loss rec = { .hdr = { .type = TR_REC_LOSS, .len = sizeof(rec),
						.ts = now },
				       .count = u[i].count, .since_ns = s->start_boot,
				       .ifindex = u[i].key.ifindex, .what = u[i].key.what,
				       .dir = u[i].key.dir, .where = u[i].key.where };

		ret = chunkbuf_add(s->cur, &rec, sizeof(rec));
	}
	free(u);
	end.hdr.ts = now;
	end.packets = s->packets;
	end.lost = s->lost;
	if (!ret)
		ret = chunkbuf_add(s->cur, &end, sizeof(end));
	if (!ret)
		ret = chunkbuf_end(s->cur);
	if (ret) {
		if (s->cur)
			writer_release(s->wr, s->cur);
		s->cur = NULL;
		return ret == -ECANCELED ? 0 : ret;
	}
	writer_submit_last(s->wr, s->cur);
	s->cur = NULL;
	if (!writer_drain(s->wr, until))
		s->ended = writer_last_written(s->wr);
	return 0;
}

int session_finish(struct session *s, const struct writer_wait *until)
{
	struct tr_end end = { .hdr = { .type = TR_REC_END, .len = sizeof(end) } };
	bool taken;
	int ret;

	s->wait = *until;
	/* A program that was running while it was detached may still be writing: give it a moment
	 * (the poll timeout), then take everything. A signal interrupts the wait, not the drain. */
	do
		ret = poll_rings(s, 10);
	while (ret > 0 || (ret == -EINTR && !(until->cancel && *until->cancel)));
	if (ret < 0 && ret != -EINTR)
		return ret;
	ret = read_losses(s);
	if (ret)
		return ret;
	end.hdr.ts = clock_ns(CLOCK_BOOTTIME);
	end.packets = s->packets;
	end.lost = s->lost;
	ret = append(s, &end, sizeof(end));
	if (ret && ret != -ECANCELED && !s->error)
		s->error = ret;
	taken = !ret;
	ret = flush_chunk(s);
	if (ret || s->error)
		return s->error ? s->error : ret;
	/* An output that takes nothing: writer_stop gives up on it. */
	if (writer_drain(s->wr, until))
		return 0;
	if (!writer_error(s->wr)) {
		s->ended = taken;
		return 0;
	}
	return end_after_failure(s, until);
}

void session_free(struct session *s)
{
	/* epfd is -1 from session_init on, before rbs is allocated (a session never set up has 0). */
	if (s->rbs && s->epfd >= 0)
		close(s->epfd);
	s->epfd = -1;
	if (s->rbs && s->link_fd >= 0)
		close(s->link_fd);
	s->link_fd = -1;
	free(s->gone);
	s->gone = NULL;
	for (size_t i = 0; i < s->n_rbs; i++)
		ring_buffer__free(s->rbs[i]);
	free(s->rbs);
	s->rbs = NULL;
	s->n_rbs = 0;
	free(s->percpu);
	s->percpu = NULL;
	chunk_encoder_free(&s->enc);
	free(s->seen);
	s->seen = NULL;
}

// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "survey.h"

/* Whether c is written. */
static bool wanted(const struct survey *sv, const struct tls_conn *c)
{
	return !sv->opts.want || sv->opts.want(sv->opts.ctx, c);
}

/* What plan learns of the connections, one after another. */
struct planning {
	struct survey *sv;
	bool *taken;   /* by line: its client random's DSB is planned */
	size_t need;   /* bytes of text, at most */
	size_t listed; /* TLS connections without secrets */
};

/* The first pass of plan over c: the DSBs and their text's length, at most; the TLS connections. */
static int count(void *ctx, const struct tls_conn *c)
{
	struct planning *p = ctx;
	struct survey *sv = p->sv;
	const uint8_t *cr = tlsconn_client_random(c);
	size_t first, n;

	/* Whether it is written is asked last: with a selection, that is a lookup in the index. */
	if ((c->state != TLSCONN_TLS && c->state != TLSCONN_HELLO) || !wanted(sv, c))
		return 0;
	sv->tls++;
	if (!cr || !(n = keylog_find(&sv->keys, cr, &first)))
		return 0;
	sv->with_secrets++;
	if (!p->taken[first]) {
		p->taken[first] = true;
		p->need += n * KEYLOG_LINE_MAX;
		sv->n_dsb++;
	}
	return 0;
}

/* The second: each DSB's lines, before the first connection that has its client random. */
static int place(void *ctx, const struct tls_conn *c)
{
	struct planning *p = ctx;
	struct survey *sv = p->sv;
	const uint8_t *cr = tlsconn_client_random(c);
	struct convert_dsb *d = &sv->dsb[sv->n_dsb];
	size_t first, n;

	if (!cr || !(n = keylog_find(&sv->keys, cr, &first)) || p->taken[first] || !wanted(sv, c))
		return 0;
	memset(p->taken + first, 1, n);
	d->before = c->first_packet;
	d->lines = sv->text + sv->text_len;
	for (size_t k = first; k < first + n; k++)
		sv->text_len += keylog_format(&sv->keys.lines[k], sv->text + sv->text_len);
	d->len = sv->text_len - (size_t)(d->lines - sv->text);
	sv->n_dsb++;
	return 0;
}

/*
 * A DSB for each connection whose client random has lines, in the order of the connections' first
 * packets; and the client randoms whose lines no connection takes.
 */
static int plan(struct survey *sv)
{
	struct planning p = { .sv = sv, .taken = calloc(sv->keys.n ? sv->keys.n : 1, 1) };
	int ret;

	if (!p.taken)
		return -ENOMEM;
	/* Room for every line first, so that the DSBs can point into the text as it grows. The lines
	 * of a client random go before the first connection that has it only (a connection seen
	 * twice, before and after NAT say): Wireshark keeps them for the rest of the file. */
	ret = tlsconn_each(&sv->conns, count, &p);
	memset(p.taken, 0, sv->keys.n);
	if (!ret) {
		sv->text = malloc(p.need ? p.need : 1);
		sv->dsb = calloc(sv->n_dsb ? sv->n_dsb : 1, sizeof(*sv->dsb));
		ret = sv->text && sv->dsb ? 0 : -ENOMEM;
	}
	sv->n_dsb = 0;
	if (!ret)
		ret = tlsconn_each(&sv->conns, place, &p);
	for (size_t i = 0; !ret && !sv->opts.want && i < sv->keys.n; i++)
		if (!p.taken[i] && (!i || memcmp(sv->keys.lines[i].client_random,
						 sv->keys.lines[i - 1].client_random, 32)))
			sv->unmatched++;
	free(p.taken);
	return ret;
}

int survey_run(struct source *src, struct survey *sv, const struct survey_opts *o)
{
	const struct src_secret *secrets;
	struct tls_conn *conn;
	struct packet_view v;
	size_t n;
	int ret, side;

	memset(sv, 0, sizeof(*sv));
	sv->src = src;
	if (o)
		sv->opts = *o;
	ret = keylog_init(&sv->keys);
	if (ret) {
		log_err("cannot derive TLS secrets: %s",
			ret == -ENOSYS ? "OpenSSL offers no HKDF" : strerror(-ret));
		return ret;
	}
	while ((ret = source_next(src, &v)) > 0) {
		ret = owners_take_packet(&sv->conns, src, &v, sv->packets++, &conn, &side);
		if (ret < 0)
			break;
	}
	if (!ret)
		ret = owners_take_records(&sv->owners, src);
	if (!ret && o && o->add && (ret = o->add(o->ctx, src, &sv->owners)))
		return ret;
	if (!ret)
		ret = owners_resolve(&sv->owners);
	n = source_secrets(src, &secrets);
	for (size_t i = 0; !ret && i < n; i++)
		ret = keylog_add(&sv->keys, &secrets[i].s);
	if (ret) {
		/* Errors of reading, of the store and of OpenSSL were reported where they happened. */
		if (ret == -ENOMEM)
			log_err("reading the journals: %s", strerror(ENOMEM));
		return ret;
	}
	keylog_sort(&sv->keys);
	ret = plan(sv);
	if (ret == -ENOMEM)
		log_err("planning the decryption secrets: %s", strerror(-ret));
	return ret;
}

/* The TLS connections without secrets: how many, and the first SURVEY_LIST_MAX by name. */
static int report_unmatched(void *ctx, const struct tls_conn *c)
{
	struct planning *p = ctx;
	const struct survey *sv = p->sv;
	const uint8_t *cr = tlsconn_client_random(c);
	char addrs[128], hex[65] = "";
	const char *name;
	size_t first;

	if ((c->state != TLSCONN_TLS && c->state != TLSCONN_HELLO) ||
	    (cr && keylog_find(&sv->keys, cr, &first)) || !wanted(sv, c))
		return 0;
	if (++p->listed > SURVEY_LIST_MAX)
		return 0;
	tlsconn_format(c, addrs, sizeof(addrs));
	for (int k = 0; cr && k < 32; k++)
		snprintf(hex + 2 * k, 3, "%02x", cr[k]);
	name = tlsconn_version_name(tlsconn_version(c));
	log_warn("no secrets for %s (%s%s%s%s%s)", addrs, name ? "TLS " : "", name ? name : "",
		 name ? ", " : "", cr ? "client random " : "ClientHello not captured", hex);
	return 0;
}

static void report_unmatched_conns(struct survey *sv)
{
	struct planning p = { .sv = sv };

	if (tlsconn_each(&sv->conns, report_unmatched, &p))
		return;
	if (p.listed > SURVEY_LIST_MAX)
		log_warn("and %zu more TLS connections without secrets", p.listed - SURVEY_LIST_MAX);
}

static void report_libraries(const struct source *src)
{
	const struct src_library *libs;
	const struct src_secret *secrets;
	unsigned nlibs = source_libraries(src, &libs);
	size_t n = source_secrets(src, &secrets);
	uint64_t *count = calloc(nlibs ? nlibs : 1, sizeof(*count)), orphans = 0;

	if (!count)
		return;
	for (size_t i = 0; i < n; i++) {
		int lib = source_library_of(src, &secrets[i]);

		if (lib >= 0)
			count[lib]++;
		else
			orphans++;
	}
	for (unsigned i = 0; i < nlibs; i++)
		log_info("%" PRIu64 " secret records from %s (%s)", count[i],
			 libs[i].path[0] ? libs[i].path : "a library with no path",
			 libs[i].version[0] ? libs[i].version : "version unknown");
	if (orphans)
		log_info("%" PRIu64 " secret records name a library the journals do not describe",
			 orphans);
	free(count);
}

void survey_report(struct survey *sv, const struct source *src)
{
	const struct keylog_stats *st = &sv->keys.st;

	if (sv->tls || sv->keys.n)
		log_warn("%" PRIu64 " TLS connection%s in the packets, %zu with secrets", sv->tls,
			 sv->tls == 1 ? "" : "s", sv->with_secrets);
	report_unmatched_conns(sv);
	if (sv->unmatched)
		log_warn("secrets of %zu TLS connection%s match no connection in these packets",
			 sv->unmatched, sv->unmatched == 1 ? "" : "s");
	if (source_secrets_lost(src))
		log_warn("tlsrec lost %" PRIu64 " TLS secret records while recording: connections may lack secrets",
			 source_secrets_lost(src));
	if (st->unknown_cipher)
		log_warn("%" PRIu64 " TLS 1.3 secret records skipped: no hash known for cipher suite 0x%04x",
			 st->unknown_cipher, st->last_unknown & 0xffff);
	if (st->walk_failed)
		log_warn("%" PRIu64 " application traffic secrets are not %u key updates or fewer past a generation known: only the generations known are written",
			 st->walk_failed, KEYLOG_MAX_AHEAD);
	if (st->no_budget)
		log_warn("%" PRIu64 " key updates not followed: the %" PRIu64 " HKDF steps a run may take are spent",
			 st->no_budget, KEYLOG_STEP_BUDGET);
	if (st->conflicts)
		log_warn("%" PRIu64 " key log lines recorded again with another secret: the first is kept",
			 st->conflicts);
	report_libraries(src);
}

/* All of len bytes of p to fd. 0 or -errno. */
static int write_all(int fd, const char *p, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t w = write(fd, p + done, len - done);

		if (w < 0 && errno != EINTR)
			return -errno;
		if (w == 0)
			return -EIO;
		if (w > 0)
			done += (size_t)w;
	}
	return 0;
}

int survey_write_keylog(const struct survey *sv, int fd)
{
	char buf[64 * KEYLOG_LINE_MAX];
	size_t i = 0;

	if (sv->opts.want) /* the lines of the selected connections: their DSBs' */
		return write_all(fd, sv->text, sv->text_len);
	while (i < sv->keys.n) {
		size_t len = 0;
		int ret;

		for (; i < sv->keys.n && len + KEYLOG_LINE_MAX <= sizeof(buf); i++)
			len += keylog_format(&sv->keys.lines[i], buf + len);
		ret = write_all(fd, buf, len);
		if (ret)
			return ret;
	}
	return 0;
}

void survey_packet_meta(void *ctx, uint64_t index, const struct packet_view *v,
			struct convert_meta *m)
{
	struct survey *sv = ctx;
	const struct owner *w;
	const struct tr_process *p;
	struct tls_conn *c;

	w = owners_packet(&sv->owners, &sv->conns, sv->src, v, index, &c, &m->error);
	if (sv->opts.want) {
		/* memo[2]: 1 when c is not written, 2 when it is. */
		if (c && !c->memo[2])
			c->memo[2] = wanted(sv, c) ? 2 : 1;
		if (!c || c->memo[2] != 2) {
			m->skip = true;
			return;
		}
	}
	if (!w)
		return;
	m->pid = w->pid;
	m->tid = w->tid;
	/* The process's name, as --comm and tlsasm conns have it; the thread's only when no
	 * PROCESS record names the process. */
	p = owners_process(&sv->owners, w->proc);
	snprintf(sv->comment, sizeof(sv->comment), "pid=%u tid=%u comm=%.16s uid=%u", w->pid, w->tid,
		 p && p->comm[0] ? p->comm : w->comm, w->uid);
	m->comment = sv->comment;
}

void survey_free(struct survey *sv)
{
	owners_free(&sv->owners);
	tlsconn_free(&sv->conns);
	keylog_free(&sv->keys);
	free(sv->dsb);
	free(sv->text);
	memset(sv, 0, sizeof(*sv));
}

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

/*
 * A DSB for each connection whose client random has lines, in the order of the connections' first
 * packets; and the client randoms whose lines no connection takes.
 */
static int plan(struct survey *sv)
{
	bool *taken = calloc(sv->keys.n ? sv->keys.n : 1, sizeof(*taken));
	size_t need = 0, first, n;

	if (!taken)
		return -ENOMEM;
	/* Room for every line first, so that the DSBs can point into the text as it grows. The lines
	 * of a client random go before the first connection that has it only (a connection seen
	 * twice, before and after NAT say): Wireshark keeps them for the rest of the file. */
	for (size_t i = 0; i < sv->conns.n; i++) {
		const uint8_t *cr = tlsconn_client_random(&sv->conns.conns[i]);

		if ((sv->want && !sv->want[i]) || !cr || !(n = keylog_find(&sv->keys, cr, &first)))
			continue;
		sv->with_secrets++;
		if (!taken[first]) {
			taken[first] = true;
			need += n * KEYLOG_LINE_MAX;
			sv->n_dsb++;
		}
	}
	memset(taken, 0, sv->keys.n * sizeof(*taken));
	sv->text = malloc(need ? need : 1);
	sv->dsb = calloc(sv->n_dsb ? sv->n_dsb : 1, sizeof(*sv->dsb));
	if (!sv->text || !sv->dsb) {
		free(taken);
		return -ENOMEM;
	}
	sv->n_dsb = 0;
	for (size_t i = 0; i < sv->conns.n; i++) {
		const uint8_t *cr = tlsconn_client_random(&sv->conns.conns[i]);
		struct convert_dsb *d = &sv->dsb[sv->n_dsb];

		if ((sv->want && !sv->want[i]) || !cr || !(n = keylog_find(&sv->keys, cr, &first)) ||
		    taken[first])
			continue;
		memset(taken + first, 1, n);
		d->before = sv->conns.conns[i].first_packet;
		d->lines = sv->text + sv->text_len;
		for (size_t k = first; k < first + n; k++)
			sv->text_len += keylog_format(&sv->keys.lines[k], sv->text + sv->text_len);
		d->len = sv->text_len - (size_t)(d->lines - sv->text);
		sv->n_dsb++;
	}
	for (size_t i = 0; !sv->want && i < sv->keys.n; i++)
		if (!taken[i] && (!i || memcmp(sv->keys.lines[i].client_random,
					       sv->keys.lines[i - 1].client_random, 32)))
			sv->unmatched++;
	free(taken);
	return 0;
}

/* The selection: which connections o wants. 0 or -ENOMEM. */
static int choose(struct survey *sv, const struct survey_opts *o)
{
	if (!o || !o->want)
		return 0;
	sv->want = calloc(sv->conns.n ? sv->conns.n : 1, sizeof(*sv->want));
	if (!sv->want)
		return -ENOMEM;
	for (size_t i = 0; i < sv->conns.n; i++)
		sv->want[i] = o->want(o->ctx, sv, i);
	return 0;
}

/* source_on_secret's consumer: the lines of each SECRET record as it is read. */
static int take_secret(void *ctx, const struct src_secret *sec)
{
	struct survey *sv = ctx;

	return keylog_add(&sv->keys, &sec->s);
}

int survey_run(struct source *src, struct survey *sv, const struct survey_opts *o)
{
	struct packet_view v;
	size_t conn;
	int ret, side;

	memset(sv, 0, sizeof(*sv));
	sv->src = src;
	ret = keylog_init(&sv->keys);
	if (ret) {
		log_err("cannot derive TLS secrets: %s",
			ret == -ENOSYS ? "OpenSSL offers no HKDF" : strerror(-ret));
		return ret;
	}
	source_on_secret(src, take_secret, sv);
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
		ret = owners_resolve(&sv->owners, &sv->conns);
	if (!ret)
		ret = choose(sv, o);
	if (ret) {
		/* Errors of reading and of OpenSSL were reported where they happened. */
		if (ret == -ENOMEM)
			log_err("reading the journals: %s", strerror(ENOMEM));
		return ret;
	}
	keylog_sort(&sv->keys);
	for (size_t i = 0; i < sv->conns.n; i++) {
		uint8_t state = sv->conns.conns[i].state;

		sv->tls += (state == TLSCONN_TLS || state == TLSCONN_HELLO) && (!sv->want || sv->want[i]);
	}
	ret = plan(sv);
	if (ret)
		log_err("planning the decryption secrets: %s", strerror(-ret));
	return ret;
}

int survey_next_dsb(void *ctx, struct convert_dsb *out)
{
	struct survey *sv = ctx;

	if (sv->dsb_read >= sv->n_dsb)
		return 0;
	*out = sv->dsb[sv->dsb_read++];
	return 1;
}

static void report_unmatched_conns(const struct survey *sv)
{
	uint64_t listed = 0;
	size_t first;

	for (size_t i = 0; i < sv->conns.n; i++) {
		const struct tls_conn *c = &sv->conns.conns[i];
		const uint8_t *cr = tlsconn_client_random(c);
		char addrs[128], hex[65] = "";
		const char *name;

		if ((c->state != TLSCONN_TLS && c->state != TLSCONN_HELLO) || (sv->want && !sv->want[i]))
			continue;
		if (cr && keylog_find(&sv->keys, cr, &first))
			continue;
		if (++listed > SURVEY_LIST_MAX)
			continue;
		tlsconn_format(c, addrs, sizeof(addrs));
		for (int k = 0; cr && k < 32; k++)
			snprintf(hex + 2 * k, 3, "%02x", cr[k]);
		name = tlsconn_version_name(tlsconn_version(c));
		log_warn("no secrets for %s (%s%s%s%s%s)", addrs, name ? "TLS " : "", name ? name : "",
			 name ? ", " : "", cr ? "client random " : "ClientHello not captured", hex);
	}
	if (listed > SURVEY_LIST_MAX)
		log_warn("and %" PRIu64 " more TLS connections without secrets",
			 listed - SURVEY_LIST_MAX);
}

/* How many SECRET records each library has; those of no library known make up the rest of the
 * records the key log was given. */
static void report_libraries(const struct survey *sv, const struct source *src)
{
	const struct src_library *libs;
	unsigned nlibs = source_libraries(src, &libs);
	uint64_t named = 0;

	for (unsigned i = 0; i < nlibs; i++) {
		named += libs[i].secrets;
		log_info("%" PRIu64 " secret records from %s (%s)", libs[i].secrets,
			 libs[i].path[0] ? libs[i].path : "a library with no path",
			 libs[i].version[0] ? libs[i].version : "version unknown");
	}
	if (sv->keys.st.records > named)
		log_info("%" PRIu64 " secret records name a library the journals do not describe",
			 sv->keys.st.records - named);
}

void survey_report(const struct survey *sv, const struct source *src)
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
	report_libraries(sv, src);
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

	if (sv->want) /* the lines of the selected connections: their DSBs' */
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
	int64_t conn;

	w = owners_packet(&sv->owners, &sv->conns, sv->src, v, index, &conn);
	if (sv->want && (conn < 0 || !sv->want[conn])) {
		m->skip = true;
		return;
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
	free(sv->want);
	tlsconn_free(&sv->conns);
	keylog_free(&sv->keys);
	free(sv->dsb);
	free(sv->text);
	memset(sv, 0, sizeof(*sv));
}

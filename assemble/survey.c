// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pcapng.h"
#include "resume.h"
#include "survey.h"

/* Key log text written at once. */
#define WRITE_MAX (64 * KEYLOG_LINE_MAX)

/* Whether c is written. */
static bool wanted(const struct survey *sv, const struct tls_conn *c)
{
	return !sv->opts.want || sv->opts.want(sv->opts.ctx, c);
}

/* The key log as resume_follow's store of sessions (ctx is the survey). */
static int keys_has(void *ctx, const uint8_t cr[32])
{
	struct survey *sv = ctx;

	return keylog_has(&sv->keys, cr);
}

/* With opts.resumes (an extraction: the chunks read may hold another naming of the session than
 * the latest), the index tied c to its root already, whichever session it offered. */
static int keys_find(void *ctx, const struct tls_conn *c, const uint8_t *key, size_t len,
		     uint8_t root[32])
{
	struct survey *sv = ctx;

	if (sv->opts.resumes)
		return sv->opts.resumes(sv->opts.ctx, c, root);
	return keylog_session_get(&sv->keys, key, len, root);
}

static int keys_take(void *ctx, const uint8_t cr[32], const uint8_t root[32])
{
	struct survey *sv = ctx;

	return keylog_resume_from(&sv->keys, cr, root);
}

static int keys_name(void *ctx, const struct tls_conn *c, const uint8_t *key, size_t len,
		     const uint8_t root[32])
{
	struct survey *sv = ctx;

	(void)c; /* connections are followed in order: every naming kept is an earlier one */
	return keylog_session(&sv->keys, key, len, root);
}

/* TLS 1.2 session resumption (resume.h), for every TLS connection whether written or not, in the
 * order of their first packets. 0 or -errno. */
static int follow_session(struct survey *sv, const struct tls_conn *c, const uint8_t cr[32])
{
	const struct resume_store st = { keys_has, keys_find, keys_take, keys_name, sv };
	uint8_t root[32];
	int ret = resume_follow(&st, c, cr, root);

	return ret < 0 ? ret : 0;
}

/* plan's, for each connection in the order of their first packets: the TLS connections, and a
 * DSB before the first connection that has each client random with lines. */
static int plan_conn(void *ctx, const struct tls_conn *c)
{
	struct survey *sv = ctx;
	const uint8_t *cr = tlsconn_client_random(c);
	int ret;

	if (c->state != TLSCONN_TLS && c->state != TLSCONN_HELLO)
		return 0;
	if (cr && (ret = follow_session(sv, c, cr)))
		return ret;
	/* Whether it is written is asked last: with a selection, that is a lookup in the index. */
	if (!wanted(sv, c))
		return 0;
	sv->tls++;
	if (!cr || (ret = keylog_has(&sv->keys, cr)) <= 0)
		return cr ? ret : 0;
	sv->with_secrets++;
	ret = keylog_plan(&sv->keys, cr, c->first_packet);
	sv->n_dsb += ret > 0;
	return ret < 0 ? ret : 0;
}

/*
 * A DSB for each connection whose client random has lines, in the order of the connections' first
 * packets; and the client randoms whose lines no connection takes. The lines of a client random
 * go before the first connection that has it only (a connection seen twice, before and after NAT
 * say): Wireshark keeps them for the rest of the file.
 */
static int plan(struct survey *sv)
{
	int ret = tlsconn_each(&sv->conns, plan_conn, sv);

	if (!ret && !sv->opts.want)
		ret = keylog_unplanned(&sv->keys, &sv->unmatched);
	return ret;
}

/* source_on_secret's consumer: the lines of each SECRET or KEYLOG record as it is read. */
static int take_secret(void *ctx, const struct src_secret *sec)
{
	struct survey *sv = ctx;

	return sec->type == TR_REC_KEYLOG ? keylog_add_given(&sv->keys, &sec->k) :
					    keylog_add(&sv->keys, &sec->s);
}

int survey_run(struct source *src, struct survey *sv, const struct survey_opts *o)
{
	struct tls_conn *conn;
	struct packet_view v;
	int ret, side;

	memset(sv, 0, sizeof(*sv));
	sv->src = src;
	if (o)
		sv->opts = *o;
	ret = keylog_init(&sv->keys);
	if (ret) {
		/* SQLite's failures were reported where they happened. */
		if (ret != -EIO)
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
		ret = owners_resolve(&sv->owners);
	if (!ret)
		ret = plan(sv);
	/* Errors of reading, of OpenSSL and of SQLite were reported where they happened. */
	if (ret == -ENOMEM)
		log_err("reading the journals: %s", strerror(ENOMEM));
	return ret;
}

int survey_next_dsb(void *ctx, struct convert_dsb *out)
{
	struct survey *sv = ctx;
	int ret;

	if (!sv->reading_dsbs) {
		sv->reading_dsbs = true;
		ret = keylog_read_start(&sv->keys, KEYLOG_PLANNED);
		if (ret)
			return ret;
	}
	return keylog_read(&sv->keys, PCAPNG_DSB_MAX, &out->before, &out->lines, &out->len);
}

/* report_unmatched_conns's, for each connection: the TLS connections without secrets, how many
 * (in *ctx), and the first SURVEY_LIST_MAX by name. */
static int report_unmatched(void *ctx, const struct tls_conn *c)
{
	struct survey *sv = ctx;
	const uint8_t *cr = tlsconn_client_random(c);
	char addrs[128], hex[65] = "";
	const char *name;
	int has;

	if (c->state != TLSCONN_TLS && c->state != TLSCONN_HELLO)
		return 0;
	has = cr ? keylog_has(&sv->keys, cr) : 0;
	if (has)
		return has < 0 ? has : 0;
	if (!wanted(sv, c) || ++sv->listed > SURVEY_LIST_MAX)
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
	sv->listed = 0;
	if (!tlsconn_each(&sv->conns, report_unmatched, sv) && sv->listed > SURVEY_LIST_MAX)
		log_warn("and %" PRIu64 " more TLS connections without secrets",
			 sv->listed - SURVEY_LIST_MAX);
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

void survey_report(struct survey *sv, const struct source *src)
{
	const struct keylog_stats *st = &sv->keys.st;

	if (sv->tls || sv->keys.n)
		log_warn("%" PRIu64 " TLS connection%s in the packets, %zu with secrets", sv->tls,
			 sv->tls == 1 ? "" : "s", sv->with_secrets);
	report_unmatched_conns(sv);
	if (sv->unmatched)
		log_warn("secrets of %" PRIu64 " TLS connection%s match no connection in these packets",
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
	if (st->resumed)
		log_info("%" PRIu64 " resumed TLS 1.2 connection%s given the master secret of the session %s resumed",
			 st->resumed, st->resumed == 1 ? "" : "s", st->resumed == 1 ? "it" : "they");
	if (st->unknown_label)
		log_warn("%" PRIu64 " key log lines skipped: a label tlsasm does not know",
			 st->unknown_label);
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

int survey_write_keylog(struct survey *sv, int fd)
{
	const char *text;
	uint64_t before;
	size_t len;
	/* With a selection, the lines of the selected connections: their DSBs'. */
	int ret = keylog_read_start(&sv->keys, sv->opts.want ? KEYLOG_PLANNED : KEYLOG_ALL);

	while (!ret && (ret = keylog_read(&sv->keys, WRITE_MAX, &before, &text, &len)) > 0)
		ret = write_all(fd, text, len);
	return ret;
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
	memset(sv, 0, sizeof(*sv));
}

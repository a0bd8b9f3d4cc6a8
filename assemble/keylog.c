// SPDX-License-Identifier: BSD-2-Clause
/* Key log lines from SECRET records: RFC 8446 sections 7.1 (key schedule) and 7.2 (updates). */
#include <errno.h>
#include <inttypes.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "db.h"
#include "keylog.h"
#include "log.h"

/*
 * The database (db_open_temp's) lives as long as the key log, in one transaction from keylog_init
 * on that is never committed (SQLite writes what its cache cannot hold to the file, which
 * keylog_free's close deletes). top: on an
 * application traffic secret of generation 0, the highest generation kept. One DSB per packet
 * (packet UNIQUE) lets SQLite read the plan's lines in order as the indexes keep them, with no
 * sort.
 */
static const char schema[] =
	"CREATE TABLE lines (cr BLOB NOT NULL, label INTEGER NOT NULL, gen INTEGER NOT NULL, "
	"secret BLOB NOT NULL, top INTEGER NOT NULL, PRIMARY KEY (cr, label, gen)) WITHOUT ROWID;"
	"CREATE TABLE plan (cr BLOB PRIMARY KEY, packet INTEGER NOT NULL UNIQUE) WITHOUT ROWID;"
	"CREATE TABLE sessions (id BLOB PRIMARY KEY, cr BLOB NOT NULL) WITHOUT ROWID;"
	"BEGIN;";

/* What SQLite said, after what was being done: -ENOSPC for a full disk, else -EIO. */
static int db_fail(struct keylog *k, const char *what)
{
	int full = sqlite3_errcode(k->db) == SQLITE_FULL;

	log_err("%s the key log in a temporary file: %s", what, sqlite3_errmsg(k->db));
	return full ? -ENOSPC : -EIO;
}

/* Step st: 1 for a row, 0 when done, or -errno after a message (db_step). */
static int step(struct keylog *k, sqlite3_stmt *st, const char *what)
{
	int ret = db_step(st);

	return ret < 0 ? db_fail(k, what) : ret;
}

static void bind_line(sqlite3_stmt *st, const uint8_t cr[32], enum keylog_label label, uint32_t gen)
{
	sqlite3_bind_blob(st, 1, cr, 32, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, (int)label);
	sqlite3_bind_int64(st, 3, gen);
}

/* The line of cr, label and gen: 1 with its secret (TR_SECRET_LEN bytes of room, or NULL), its
 * length and its top (or NULL), 0 when there is none, or -errno. */
static int get_line(struct keylog *k, const uint8_t cr[32], enum keylog_label label, uint32_t gen,
		    uint8_t *secret, size_t *len, uint32_t *top)
{
	int ret;

	bind_line(k->get, cr, label, gen);
	ret = step(k, k->get, "reading");
	if (ret != 1)
		return ret;
	*len = (size_t)sqlite3_column_bytes(k->get, 0); /* add_line's: TR_SECRET_LEN at most */
	if (secret)
		memcpy(secret, sqlite3_column_blob(k->get, 0), *len);
	if (top)
		*top = (uint32_t)sqlite3_column_int64(k->get, 1);
	sqlite3_reset(k->get);
	return 1;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/*
 * Add a line unless its secret is all zeros or it is known. Returns 0 (added, known with this
 * secret, or all zeros), 1 when it is known with another secret (the first one stays), or -errno.
 */
static int add_line(struct keylog *k, const uint8_t cr[32], enum keylog_label label, uint32_t gen,
		    const uint8_t *secret, size_t len)
{
	uint8_t known[TR_SECRET_LEN];
	size_t known_len;
	int ret;

	if (all_zero(secret, len))
		return 0;
	bind_line(k->add, cr, label, gen);
	sqlite3_bind_blob(k->add, 4, secret, (int)len, SQLITE_STATIC);
	ret = step(k, k->add, "keeping");
	if (ret < 0)
		return ret;
	if (sqlite3_changes(k->db)) {
		k->n++;
		return 0;
	}
	ret = get_line(k, cr, label, gen, known, &known_len, NULL);
	if (ret < 0)
		return ret;
	if (ret && known_len == len && !memcmp(known, secret, len))
		return 0;
	k->st.conflicts++;
	return 1;
}

static int prepare(struct keylog *k, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(k->db, sql, -1, st, NULL) == SQLITE_OK)
		return 0;
	return db_fail(k, "setting up");
}

/* The database, its tables and statements. 0 or -errno after a message. */
static int open_db(struct keylog *k)
{
	int ret = db_open_temp("setting up the key log in a temporary file", 0, KEYLOG_CACHE_KIB,
			       schema, &k->db);

	if (!ret)
		ret = prepare(k, "INSERT OR IGNORE INTO lines VALUES (?1, ?2, ?3, ?4, 0)", &k->add);
	if (!ret)
		ret = prepare(k,
			      "SELECT secret, top FROM lines WHERE cr = ?1 AND label = ?2 AND gen = ?3",
			      &k->get);
	if (!ret)
		ret = prepare(k,
			      "UPDATE lines SET top = ?4 WHERE cr = ?1 AND label = ?2 AND gen = ?3",
			      &k->set_top);
	if (!ret)
		ret = prepare(k, "SELECT 1 FROM lines WHERE cr = ?1 LIMIT 1", &k->has);
	if (!ret)
		ret = prepare(k,
			      "INSERT OR IGNORE INTO plan SELECT ?1, ?2 "
			      "WHERE EXISTS (SELECT 1 FROM lines WHERE cr = ?1)",
			      &k->plan);
	if (!ret)
		ret = prepare(k, "INSERT OR REPLACE INTO sessions VALUES (?1, ?2)", &k->session_put);
	if (!ret)
		ret = prepare(k, "SELECT cr FROM sessions WHERE id = ?1", &k->session_get);
	return ret;
}

int keylog_init(struct keylog *k)
{
	EVP_KDF *kdf;

	memset(k, 0, sizeof(*k));
	k->steps_left = KEYLOG_STEP_BUDGET;
	kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_HKDF, NULL);
	if (!kdf)
		return -ENOSYS;
	k->kdf = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf); /* the context holds its own reference */
	if (!k->kdf)
		return -ENOMEM;
	return open_db(k);
}

int keylog_expand_label(struct keylog *k, const char *digest, const uint8_t *secret,
			size_t secret_len, const char *label, const uint8_t *context,
			size_t context_len, uint8_t *out, size_t out_len)
{
	static const char prefix[] = "tls13 ";
	uint8_t info[2 + 1 + 255 + 1 + 255];
	size_t label_len = sizeof(prefix) - 1 + strlen(label), n = 0;
	OSSL_PARAM params[5];

	if (label_len > 255 || context_len > 255 || out_len > UINT16_MAX)
		return -EINVAL;
	/* struct HkdfLabel: uint16 length; opaque label<7..255>; opaque context<0..255> */
	info[n++] = (uint8_t)(out_len >> 8);
	info[n++] = (uint8_t)out_len;
	info[n++] = (uint8_t)label_len;
	memcpy(info + n, prefix, sizeof(prefix) - 1);
	memcpy(info + n + sizeof(prefix) - 1, label, label_len - (sizeof(prefix) - 1));
	n += label_len;
	info[n++] = (uint8_t)context_len;
	if (context_len)
		memcpy(info + n, context, context_len);
	n += context_len;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MODE, (char *)"EXPAND_ONLY", 0);
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)digest, 0);
	params[2] =
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, secret_len);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n);
	params[4] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(k->kdf, out, out_len, params) <= 0) {
		log_err("HKDF-Expand-Label with %s: %s", digest,
			ERR_reason_error_string(ERR_get_error()));
		return -EIO;
	}
	return 0;
}

/* The hash of a TLS 1.3 cipher suite (OpenSSL's id: 0x0300 << 16 | the IANA number), or NULL. */
static const char *suite_digest(uint32_t cipher, size_t *len)
{
	switch (cipher) {
	case 0x03001302: /* TLS_AES_256_GCM_SHA384 */
		*len = 48;
		return "SHA384";
	case 0x03001301: /* TLS_AES_128_GCM_SHA256 */
	case 0x03001303: /* TLS_CHACHA20_POLY1305_SHA256 */
	case 0x03001304: /* TLS_AES_128_CCM_SHA256 */
	case 0x03001305: /* TLS_AES_128_CCM_8_SHA256 */
		*len = 32;
		return "SHA256";
	default:
		return NULL;
	}
}

struct suite {
	const char *digest;
	size_t len;
};

/* label = HKDF-Expand-Label(secret, what, context, L), unless an input is all zeros. */
static int add_derived(struct keylog *k, const struct tr_secret *s, const struct suite *h,
		       enum keylog_label label, const uint8_t *secret, const char *what,
		       const uint8_t *context)
{
	uint8_t out[TR_SECRET_LEN];
	int ret;

	if (all_zero(secret, h->len) || all_zero(context, h->len))
		return 0;
	ret = keylog_expand_label(k, h->digest, secret, h->len, what, context, h->len, out, h->len);
	if (!ret)
		ret = add_line(k, s->client_random, label, 0, out, h->len);
	return ret < 0 ? ret : 0;
}

/*
 * Application traffic secrets of one side. Generation 0 comes from the master secret; current is
 * then looked for among the generations known for this client random (from earlier records of the
 * same connection, derived from the same generation 0) and up to KEYLOG_MAX_AHEAD "traffic upd"
 * steps past the highest of them, each kept in k->chain meanwhile and added when current is
 * reached. tlsrec writes a record at every key update, so a connection's records come one
 * generation apart: what a record costs is bounded whatever generation it claims. Every HKDF and
 * every look at a known generation counts against the run's KEYLOG_STEP_BUDGET.
 */
static int add_traffic(struct keylog *k, const struct tr_secret *s, const struct suite *h,
		       enum keylog_label label, const char *what, const uint8_t *current)
{
	uint8_t known[TR_SECRET_LEN];
	uint32_t top, ahead, gen;
	size_t len;
	int ret;

	if (all_zero(s->master_secret, h->len) || all_zero(s->server_finished_hash, h->len))
		return 0;
	if (array_reserve(&k->chain, &k->chain_cap, KEYLOG_MAX_AHEAD + 1, TR_SECRET_LEN, 1))
		return -ENOMEM;
	ret = keylog_expand_label(k, h->digest, s->master_secret, h->len, what,
				  s->server_finished_hash, h->len, k->chain, h->len);
	if (!ret)
		ret = add_line(k, s->client_random, label, 0, k->chain, h->len);
	/* ret 1: a generation 0 that disagrees with the one kept; its later ones are not kept. */
	if (ret || all_zero(current, h->len) || !memcmp(k->chain, current, h->len))
		return ret < 0 ? ret : 0;
	/* Not there: all zeros, never kept nor derived from. */
	ret = get_line(k, s->client_random, label, 0, NULL, &len, &top);
	if (ret <= 0)
		return ret;
	ret = get_line(k, s->client_random, label, top, k->chain, &len, NULL);
	if (ret <= 0)
		return ret;
	if (!memcmp(k->chain, current, h->len))
		return 0;
	for (ahead = 1; ahead <= KEYLOG_MAX_AHEAD; ahead++) {
		uint8_t *next = k->chain + (size_t)ahead * TR_SECRET_LEN;

		if (!k->steps_left) {
			k->st.no_budget++;
			return 0;
		}
		k->steps_left--;
		ret = keylog_expand_label(k, h->digest, next - TR_SECRET_LEN, h->len, "traffic upd",
					  NULL, 0, next, h->len);
		if (ret)
			return ret;
		if (!memcmp(next, current, h->len))
			break;
	}
	if (ahead <= KEYLOG_MAX_AHEAD) {
		for (uint32_t i = 1; i <= ahead; i++) {
			ret = add_line(k, s->client_random, label, top + i,
				       k->chain + (size_t)i * TR_SECRET_LEN, h->len);
			if (ret < 0)
				return ret;
		}
		bind_line(k->set_top, s->client_random, label, 0);
		sqlite3_bind_int64(k->set_top, 4, top + ahead);
		ret = step(k, k->set_top, "keeping");
		return ret < 0 ? ret : 0;
	}
	/* Not ahead: an older generation (a record read late), or none at all. */
	for (gen = 1; gen < top; gen++) {
		if (!k->steps_left) {
			k->st.no_budget++;
			return 0;
		}
		k->steps_left--;
		ret = get_line(k, s->client_random, label, gen, known, &len, NULL);
		if (ret < 0)
			return ret;
		if (ret && !memcmp(known, current, h->len))
			return 0;
	}
	k->st.walk_failed++;
	return 0;
}

static int add_tls13(struct keylog *k, const struct tr_secret *s)
{
	struct suite h;
	int ret;

	h.digest = suite_digest(s->cipher, &h.len);
	if (!h.digest) {
		k->st.unknown_cipher++;
		k->st.last_unknown = s->cipher;
		return 0;
	}
	ret = add_derived(k, s, &h, KEYLOG_CLIENT_HANDSHAKE, s->handshake_secret, "c hs traffic",
			  s->handshake_traffic_hash);
	if (!ret)
		ret = add_derived(k, s, &h, KEYLOG_SERVER_HANDSHAKE, s->handshake_secret,
				  "s hs traffic", s->handshake_traffic_hash);
	if (!ret)
		ret = add_traffic(k, s, &h, KEYLOG_CLIENT_TRAFFIC, "c ap traffic",
				  s->client_app_secret);
	if (!ret)
		ret = add_traffic(k, s, &h, KEYLOG_SERVER_TRAFFIC, "s ap traffic",
				  s->server_app_secret);
	if (!ret)
		ret = add_line(k, s->client_random, KEYLOG_EXPORTER, 0, s->exporter_secret, h.len);
	return ret < 0 ? ret : 0;
}

int keylog_add(struct keylog *k, const struct tr_secret *s)
{
	int ret = 0;

	k->st.records++;
	/* SSL_clear zeroes the client random: such a record names no connection. */
	if (all_zero(s->client_random, sizeof(s->client_random)))
		return 0;
	if (s->flags & TR_SEC_TLS12)
		ret = add_line(k, s->client_random, KEYLOG_CLIENT_RANDOM, 0, s->master_key,
			       sizeof(s->master_key));
	if (ret >= 0 && (s->flags & TR_SEC_TLS13))
		ret = add_tls13(k, s);
	return ret < 0 ? ret : 0;
}

static char *put_hex(char *p, const uint8_t *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		*p++ = digits[b[i] >> 4];
		*p++ = digits[b[i] & 15];
	}
	return p;
}

static const char *const label_names[] = {
	[KEYLOG_CLIENT_HANDSHAKE] = "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
	[KEYLOG_SERVER_HANDSHAKE] = "SERVER_HANDSHAKE_TRAFFIC_SECRET",
	[KEYLOG_CLIENT_TRAFFIC] = "CLIENT_TRAFFIC_SECRET_",
	[KEYLOG_SERVER_TRAFFIC] = "SERVER_TRAFFIC_SECRET_",
	[KEYLOG_EXPORTER] = "EXPORTER_SECRET",
	[KEYLOG_CLIENT_RANDOM] = "CLIENT_RANDOM",
};

/* The label of KEYLOG record r (as the library writes it: generation 0 for the traffic secrets),
 * or -1 for one not among enum keylog_label's. */
static int given_label(const struct tr_keylog *r)
{
	char label[TR_KEYLOG_LABEL + 2];

	for (unsigned l = 0; l < sizeof(label_names) / sizeof(label_names[0]); l++) {
		bool traffic = l == KEYLOG_CLIENT_TRAFFIC || l == KEYLOG_SERVER_TRAFFIC;
		int n = snprintf(label, sizeof(label), "%s%s", label_names[l], traffic ? "0" : "");

		if (n == r->label_len && !memcmp(label, r->label, (size_t)n))
			return (int)l;
	}
	return -1;
}

int keylog_add_given(struct keylog *k, const struct tr_keylog *r)
{
	int label, ret;

	k->st.records++;
	if (all_zero(r->client_random, sizeof(r->client_random)))
		return 0;
	label = given_label(r);
	if (label < 0) {
		k->st.unknown_label++;
		return 0;
	}
	ret = add_line(k, r->client_random, (enum keylog_label)label, 0, r->secret, r->secret_len);
	return ret < 0 ? ret : 0;
}

bool keylog_secret_useful(const struct tr_secret *s)
{
	struct suite h;

	if (all_zero(s->client_random, sizeof(s->client_random)))
		return false;
	if ((s->flags & TR_SEC_TLS12) && !all_zero(s->master_key, sizeof(s->master_key)))
		return true;
	if (!(s->flags & TR_SEC_TLS13) || !(h.digest = suite_digest(s->cipher, &h.len)))
		return false;
	/* add_derived's, add_traffic's and the exporter's inputs. */
	return (!all_zero(s->handshake_secret, h.len) &&
		!all_zero(s->handshake_traffic_hash, h.len)) ||
	       (!all_zero(s->master_secret, h.len) && !all_zero(s->server_finished_hash, h.len)) ||
	       !all_zero(s->exporter_secret, h.len);
}

bool keylog_given_useful(const struct tr_keylog *r)
{
	return !all_zero(r->client_random, sizeof(r->client_random)) && given_label(r) >= 0 &&
	       !all_zero(r->secret, r->secret_len);
}

/* The line of the row read stands on (client random, label, generation, secret: columns 1 to 4)
 * into buf (KEYLOG_LINE_MAX bytes), newline included, no NUL. Returns its length. */
static size_t format_line(sqlite3_stmt *read, char *buf)
{
	int label = sqlite3_column_int(read, 2);
	size_t len = (size_t)sqlite3_column_bytes(read, 4);
	char *p = buf;

	p += sprintf(p, "%s", label_names[label]);
	if (label == KEYLOG_CLIENT_TRAFFIC || label == KEYLOG_SERVER_TRAFFIC)
		p += sprintf(p, "%" PRIu32, (uint32_t)sqlite3_column_int64(read, 3));
	*p++ = ' ';
	p = put_hex(p, sqlite3_column_blob(read, 1), 32);
	*p++ = ' ';
	p = put_hex(p, sqlite3_column_blob(read, 4), len);
	*p++ = '\n';
	return (size_t)(p - buf);
}

int keylog_has(struct keylog *k, const uint8_t cr[32])
{
	int ret;

	sqlite3_bind_blob(k->has, 1, cr, 32, SQLITE_STATIC);
	ret = step(k, k->has, "reading");
	if (ret == 1)
		sqlite3_reset(k->has);
	return ret;
}

int keylog_plan(struct keylog *k, const uint8_t cr[32], uint64_t before)
{
	int ret;

	sqlite3_bind_blob(k->plan, 1, cr, 32, SQLITE_STATIC);
	sqlite3_bind_int64(k->plan, 2, (sqlite3_int64)before);
	ret = step(k, k->plan, "planning");
	return ret < 0 ? ret : sqlite3_changes(k->db) > 0;
}

int keylog_session(struct keylog *k, const uint8_t *id, size_t len, const uint8_t cr[32])
{
	sqlite3_bind_blob(k->session_put, 1, id, (int)len, SQLITE_STATIC);
	sqlite3_bind_blob(k->session_put, 2, cr, 32, SQLITE_STATIC);
	return step(k, k->session_put, "keeping a session of");
}

int keylog_resume_from(struct keylog *k, const uint8_t cr[32], const uint8_t from[32])
{
	uint8_t ms[TR_SECRET_LEN];
	size_t ms_len;
	int ret = get_line(k, cr, KEYLOG_CLIENT_RANDOM, 0, NULL, &ms_len, NULL);

	if (!ret)
		ret = get_line(k, from, KEYLOG_CLIENT_RANDOM, 0, ms, &ms_len, NULL);
	else if (ret == 1)
		ret = 0; /* cr has its own */
	if (ret != 1)
		return ret;
	ret = add_line(k, cr, KEYLOG_CLIENT_RANDOM, 0, ms, ms_len);
	if (!ret)
		k->st.resumed++;
	return ret < 0 ? ret : !ret;
}

int keylog_session_get(struct keylog *k, const uint8_t *id, size_t len, uint8_t cr[32])
{
	int ret;

	sqlite3_bind_blob(k->session_get, 1, id, (int)len, SQLITE_STATIC);
	ret = step(k, k->session_get, "reading a session of");
	if (ret != 1)
		return ret;
	ret = sqlite3_column_bytes(k->session_get, 0) == 32;
	if (ret)
		memcpy(cr, sqlite3_column_blob(k->session_get, 0), 32);
	sqlite3_reset(k->session_get);
	return ret;
}

int keylog_unplanned(struct keylog *k, uint64_t *n)
{
	sqlite3_stmt *st;
	int ret;

	ret = prepare(k,
		      "SELECT count(*) FROM (SELECT cr FROM lines GROUP BY cr) AS c "
		      "WHERE NOT EXISTS (SELECT 1 FROM plan WHERE plan.cr = c.cr)",
		      &st);
	if (!ret)
		ret = step(k, st, "reading");
	if (ret == 1) {
		*n = (uint64_t)sqlite3_column_int64(st, 0);
		ret = 0;
	}
	sqlite3_finalize(st);
	return ret;
}

int keylog_read_start(struct keylog *k, enum keylog_which which)
{
	sqlite3_finalize(k->read);
	k->read = NULL;
	k->row = false;
	/* CROSS JOIN: plan first, in the order of its packets. */
	return prepare(k,
		       which == KEYLOG_PLANNED ?
			       "SELECT p.packet, l.cr, l.label, l.gen, l.secret FROM plan AS p "
			       "CROSS JOIN lines AS l ON l.cr = p.cr "
			       "ORDER BY p.packet, l.label, l.gen" :
			       "SELECT 0, cr, label, gen, secret FROM lines "
			       "ORDER BY cr, label, gen",
		       &k->read);
}

int keylog_read(struct keylog *k, size_t max, uint64_t *before, const char **text, size_t *len)
{
	size_t n = 0;
	int ret = 1;

	if (max < KEYLOG_LINE_MAX)
		return -EINVAL;
	if (!k->read)
		return 0;
	/* Room for a line past max: formatted there, it is seen not to fit. */
	if (k->text_cap < max + KEYLOG_LINE_MAX) {
		char *t = realloc(k->text, max + KEYLOG_LINE_MAX);

		if (!t)
			return -ENOMEM;
		k->text = t;
		k->text_cap = max + KEYLOG_LINE_MAX;
	}
	if (!k->row)
		ret = step(k, k->read, "reading");
	if (ret > 0)
		*before = (uint64_t)sqlite3_column_int64(k->read, 0);
	/* The row stands until the next step: one that does not fit waits for the next piece. */
	while (ret > 0 && (uint64_t)sqlite3_column_int64(k->read, 0) == *before) {
		size_t line = format_line(k->read, k->text + n);

		if (n + line > max)
			break;
		n += line;
		ret = step(k, k->read, "reading");
	}
	k->row = ret > 0;
	if (ret <= 0) { /* the end, or an error: nothing more to read */
		sqlite3_finalize(k->read);
		k->read = NULL;
	}
	if (ret < 0 || !n)
		return ret;
	*text = k->text;
	*len = n;
	return 1;
}

void keylog_free(struct keylog *k)
{
	sqlite3_finalize(k->add);
	sqlite3_finalize(k->get);
	sqlite3_finalize(k->set_top);
	sqlite3_finalize(k->has);
	sqlite3_finalize(k->plan);
	sqlite3_finalize(k->session_put);
	sqlite3_finalize(k->session_get);
	sqlite3_finalize(k->read);
	sqlite3_close(k->db);
	EVP_KDF_CTX_free(k->kdf);
	free(k->text);
	free(k->chain);
	memset(k, 0, sizeof(*k));
}

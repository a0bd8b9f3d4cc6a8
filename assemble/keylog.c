// SPDX-License-Identifier: BSD-2-Clause
/* Key log lines from SECRET records: RFC 8446 sections 7.1 (key schedule) and 7.2 (updates). */
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "keylog.h"
#include "log.h"

struct line_key {
	const struct keylog *k;
	const uint8_t *cr;
	uint8_t label;
	uint32_t gen;
};

static uint64_t line_hash(const uint8_t cr[32], uint8_t label, uint32_t gen)
{
	uint64_t h = (uint64_t)gen << 8 | label, w;

	for (int i = 0; i < 4; i++) {
		memcpy(&w, cr + 8 * i, 8);
		h = table_hash(h ^ w);
	}
	return h;
}

static bool line_match(const void *ctx, uint32_t index)
{
	const struct line_key *key = ctx;
	const struct keylog_line *l = &key->k->lines[index];

	return l->label == key->label && l->gen == key->gen &&
	       !memcmp(l->client_random, key->cr, 32);
}

static uint64_t line_rehash(const void *ctx, uint32_t index)
{
	const struct keylog *k = ctx;
	const struct keylog_line *l = &k->lines[index];

	return line_hash(l->client_random, l->label, l->gen);
}

static const struct keylog_line *find_line(const struct keylog *k, const uint8_t cr[32],
					   uint8_t label, uint32_t gen)
{
	struct line_key key = { k, cr, label, gen };
	int64_t i = table_find(&k->index, line_hash(cr, label, gen), line_match, &key);

	return i < 0 ? NULL : &k->lines[i];
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
 * secret, or all zeros), 1 when it is known with another secret (the first one stays), or -ENOMEM.
 */
static int add_line(struct keylog *k, const uint8_t cr[32], enum keylog_label label, uint32_t gen,
		    const uint8_t *secret, size_t len)
{
	const struct keylog_line *known;
	struct keylog_line *l;

	if (all_zero(secret, len))
		return 0;
	known = find_line(k, cr, (uint8_t)label, gen);
	if (known) {
		if (known->len == len && !memcmp(known->secret, secret, len))
			return 0;
		k->st.conflicts++;
		return 1;
	}
	if (k->n >= UINT32_MAX - 1 ||
	    array_reserve(&k->lines, &k->cap, k->n + 1, sizeof(*k->lines), 64) ||
	    table_add(&k->index, line_hash(cr, (uint8_t)label, gen), (uint32_t)k->n, line_rehash,
		      k))
		return -ENOMEM;
	l = &k->lines[k->n++];
	memset(l, 0, sizeof(*l));
	memcpy(l->client_random, cr, 32);
	memcpy(l->secret, secret, len);
	l->len = (uint8_t)len;
	l->label = (uint8_t)label;
	l->gen = gen;
	return 0;
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
	return k->kdf ? 0 : -ENOMEM;
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
	const struct keylog_line *known;
	uint32_t top, step, gen;
	size_t zero;
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
	known = find_line(k, s->client_random, (uint8_t)label, 0);
	if (!known) /* all zeros: never kept, nor derived from */
		return 0;
	zero = (size_t)(known - k->lines);
	top = known->top;
	known = find_line(k, s->client_random, (uint8_t)label, top);
	if (!known)
		return 0;
	memcpy(k->chain, known->secret, h->len);
	if (!memcmp(k->chain, current, h->len))
		return 0;
	for (step = 1; step <= KEYLOG_MAX_AHEAD; step++) {
		uint8_t *next = k->chain + (size_t)step * TR_SECRET_LEN;

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
	if (step <= KEYLOG_MAX_AHEAD) {
		for (uint32_t i = 1; i <= step; i++) {
			ret = add_line(k, s->client_random, label, top + i,
				       k->chain + (size_t)i * TR_SECRET_LEN, h->len);
			if (ret < 0)
				return ret;
		}
		k->lines[zero].top = top + step;
		return 0;
	}
	/* Not ahead: an older generation (a record read late), or none at all. */
	for (gen = 1; gen < top; gen++) {
		if (!k->steps_left) {
			k->st.no_budget++;
			return 0;
		}
		k->steps_left--;
		known = find_line(k, s->client_random, (uint8_t)label, gen);
		if (known && !memcmp(known->secret, current, h->len))
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

static int cmp_line(const void *a, const void *b)
{
	const struct keylog_line *x = a, *y = b;
	int c = memcmp(x->client_random, y->client_random, 32);

	if (c)
		return c;
	if (x->label != y->label)
		return x->label < y->label ? -1 : 1;
	return (x->gen > y->gen) - (x->gen < y->gen);
}

void keylog_sort(struct keylog *k)
{
	table_free(&k->index);
	if (k->n)
		qsort(k->lines, k->n, sizeof(*k->lines), cmp_line);
}

size_t keylog_find(const struct keylog *k, const uint8_t cr[32], size_t *first)
{
	size_t lo = 0, hi = k->n, end;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (memcmp(k->lines[mid].client_random, cr, 32) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < k->n && !memcmp(k->lines[end].client_random, cr, 32); end++)
		;
	*first = lo;
	return end - lo;
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

size_t keylog_format(const struct keylog_line *l, char *buf)
{
	static const char *const names[] = {
		[KEYLOG_CLIENT_HANDSHAKE] = "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
		[KEYLOG_SERVER_HANDSHAKE] = "SERVER_HANDSHAKE_TRAFFIC_SECRET",
		[KEYLOG_CLIENT_TRAFFIC] = "CLIENT_TRAFFIC_SECRET_",
		[KEYLOG_SERVER_TRAFFIC] = "SERVER_TRAFFIC_SECRET_",
		[KEYLOG_EXPORTER] = "EXPORTER_SECRET",
		[KEYLOG_CLIENT_RANDOM] = "CLIENT_RANDOM",
	};
	char *p = buf;

	p += sprintf(p, "%s", names[l->label]);
	if (l->label == KEYLOG_CLIENT_TRAFFIC || l->label == KEYLOG_SERVER_TRAFFIC)
		p += sprintf(p, "%u", l->gen);
	*p++ = ' ';
	p = put_hex(p, l->client_random, 32);
	*p++ = ' ';
	p = put_hex(p, l->secret, l->len);
	*p++ = '\n';
	return (size_t)(p - buf);
}

void keylog_free(struct keylog *k)
{
	EVP_KDF_CTX_free(k->kdf);
	table_free(&k->index);
	free(k->lines);
	free(k->chain);
	memset(k, 0, sizeof(*k));
}

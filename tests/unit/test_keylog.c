// SPDX-License-Identifier: BSD-2-Clause
/*
 * Key log lines from SECRET records (assemble/keylog.c).
 *   - HKDF-Expand-Label against the values of RFC 8448 section 3 ("Simple 1-RTT Handshake"): the
 *     handshake and application traffic secrets, the exporter and resumption master secrets, the
 *     "derived" secrets, a finished key and traffic keys; and the transcript hash of
 *     ClientHello..ServerHello computed from the RFC's messages.
 *   - A SECRET record made of the RFC's values gives exactly the RFC's key log lines.
 *   - Key updates, SHA-384 and the other suites against an HKDF-Expand written here with HMAC
 *     (RFC 5869 section 2.3: one block is enough for 32 or 48 bytes).
 *   - TLS 1.2, all-zero secrets, duplicates, conflicts, a walk that never arrives, the budget.
 *   - KEYLOG records (lines a library derived, as Go's crypto/tls gives them): the RFC's lines
 *     given one by one come out as the RFC's record gives them, and agree with it; labels not
 *     known are counted, not written.
 *   - Reading: every line sorted by client random, label and generation (numerically); the plan
 *     (which client random's lines go before which packet: the first plan of each kept, none
 *     without lines) read back DSB by DSB in the order of their packets; the client randoms left
 *     unplanned; pieces of at most what the caller takes, cut at line ends, as full as they go.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "check.h"
#include "keylog.h"
#include "util.h"

/* RFC 8448 section 3, the values this file checks. */
static const char rfc_early[] = "33 ad 0a 1c 60 7e c0 3b 09 e6 cd 98 93 68 0c e2 10 ad f3 00 aa 1f "
				"26 60 e1 b2 2e 10 f1 70 f9 2a";
static const char rfc_empty_hash[] = "e3 b0 c4 42 98 fc 1c 14 9a fb f4 c8 99 6f b9 24 27 ae 41 e4 "
				     "64 9b 93 4c a4 95 99 1b 78 52 b8 55";
static const char rfc_derived_hs[] = "6f 26 15 a1 08 c7 02 c5 67 8f 54 fc 9d ba b6 97 16 c0 76 18 "
				     "9c 48 25 0c eb ea c3 57 6c 36 11 ba";
static const char rfc_hs_secret[] = "1d c8 26 e9 36 06 aa 6f dc 0a ad c1 2f 74 1b 01 04 6a a6 b9 "
				    "9f 69 1e d2 21 a9 f0 ca 04 3f be ac";
static const char rfc_hs_hash[] = "86 0c 06 ed c0 78 58 ee 8e 78 f0 e7 42 8c 58 ed d6 b4 3f 2c a3 "
				  "e6 e9 5f 02 ed 06 3c f0 e1 ca d8";
static const char rfc_c_hs[] = "b3 ed db 12 6e 06 7f 35 a7 80 b3 ab f4 5e 2d 8f 3b 1a 95 07 38 f5 "
			       "2e 96 00 74 6a 0e 27 a5 5a 21";
static const char rfc_s_hs[] = "b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 "
			       "10 5d 42 be fd 59 d3 91 ad 38";
static const char rfc_derived_ms[] = "43 de 77 e0 c7 77 13 85 9a 94 4d b9 db 25 90 b5 31 90 a6 5b "
				     "3e e2 e4 f1 2d d7 a0 bb 7c e2 54 b4";
static const char rfc_master[] = "18 df 06 84 3d 13 a0 8b f2 a4 49 84 4c 5f 8a 47 80 01 bc 4d 4c "
				 "62 79 84 d5 a4 1d a8 d0 40 29 19";
static const char rfc_fin_hash[] = "96 08 10 2a 0f 1c cc 6d b6 25 0b 7b 7e 41 7b 1a 00 0e aa da 3d "
				   "aa e4 77 7a 76 86 c9 ff 83 df 13";
static const char rfc_c_ap[] = "9e 40 64 6c e7 9a 7f 9d c0 5a f8 88 9b ce 65 52 87 5a fa 0b 06 df "
			       "00 87 f7 92 eb b7 c1 75 04 a5";
static const char rfc_s_ap[] = "a1 1a f9 f0 55 31 f8 56 ad 47 11 6b 45 a9 50 32 82 04 b4 f4 4b fb "
			       "6b 3a 4b 4f 1f 3f cb 63 16 43";
static const char rfc_exp[] = "fe 22 f8 81 17 6e da 18 eb 8f 44 52 9e 67 92 c5 0c 9a 3f 89 45 2f "
			      "68 d8 ae 31 1b 43 09 d3 cf 50";
static const char rfc_res_hash[] = "20 91 45 a9 6e e8 e2 a1 22 ff 81 00 47 cc 95 26 84 65 8d 60 49 "
				   "e8 64 29 42 6d b8 7c 54 ad 14 3d";
static const char rfc_res[] = "7d f2 35 f2 03 1d 2a 05 12 87 d0 2b 02 41 b0 bf da f8 6c c8 56 23 "
			      "1f 2d 5a ba 46 c4 34 ec 19 6c";
static const char rfc_s_finished_key[] = "00 8d 3b 66 f8 16 ea 55 9f 96 b5 37 e8 85 c3 1f c0 68 "
					 "bf 49 2c 65 2f 01 f2 88 a1 d8 cd c1 9f c8";
static const char rfc_s_hs_key[] = "3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc";
static const char rfc_s_hs_iv[] = "5d 31 3e b2 67 12 76 ee 13 00 0b 30";
static const char rfc_client_hello[] =
	"01 00 00 c0 03 03 cb 34 ec b1 e7 81 63 ba 1c 38 c6 da cb 19 6a 6d ff a2 1a 8d 99 12 ec 18 "
	"a2 ef 62 83 02 4d ec e7 00 00 06 13 01 13 03 13 02 01 00 00 91 00 00 00 0b 00 09 00 00 06 "
	"73 65 72 76 65 72 ff 01 00 01 00 00 0a 00 14 00 12 00 1d 00 17 00 18 00 19 01 00 01 01 01 "
	"02 01 03 01 04 00 23 00 00 00 33 00 26 00 24 00 1d 00 20 99 38 1d e5 60 e4 bd 43 d2 3d 8e "
	"43 5a 7d ba fe b3 c0 6e 51 c1 3c ae 4d 54 13 69 1e 52 9a af 2c 00 2b 00 03 02 03 04 00 0d "
	"00 20 00 1e 04 03 05 03 06 03 02 03 08 04 08 05 08 06 04 01 05 01 06 01 02 01 04 02 05 02 "
	"06 02 02 02 00 2d 00 02 01 01 00 1c 00 02 40 01";
static const char rfc_server_hello[] =
	"02 00 00 56 03 03 a6 af 06 a4 12 18 60 dc 5e 6e 60 24 9c d3 4c 95 93 0c 8a c5 cb 14 34 da "
	"c1 55 77 2e d3 e2 69 28 00 13 01 00 00 2e 00 33 00 24 00 1d 00 20 c9 82 88 76 11 20 95 fe "
	"66 76 2b db f7 c6 72 e1 56 d6 cc 25 3b 83 3d f1 dd 69 b1 b0 4e 75 1f 0f 00 2b 00 02 03 04";

static struct keylog kl;

static bool kl_init(void)
{
	if (kl.kdf)
		keylog_free(&kl);
	return CHECK_EQ_INT(keylog_init(&kl), 0);
}

/* keylog_expand_label(secret, label, context, len) == want, all given in hex. */
static void check_expand(const char *digest, const char *secret_hex, const char *label,
			 const char *context_hex, const char *want_hex)
{
	uint8_t secret[64], context[64], want[64], got[64];
	size_t slen = unhex(secret_hex, secret, sizeof(secret));
	size_t clen = context_hex ? unhex(context_hex, context, sizeof(context)) : 0;
	size_t wlen = unhex(want_hex, want, sizeof(want));

	check_ctx("HKDF-Expand-Label(%s, \"%s\")", digest, label);
	if (CHECK_EQ_INT(keylog_expand_label(&kl, digest, secret, slen, label, context, clen, got,
					     wlen),
			 0))
		CHECK_MEM(got, want, wlen);
	check_ctx("%s", "");
}

/* Every HKDF-Expand-Label of RFC 8448 section 3 that this code path takes. */
static void test_rfc8448_expand_label(void)
{
	uint8_t ch[256], sh[128], both[384], hash[32], want[32];
	size_t chlen, shlen;
	unsigned hlen;

	if (!kl_init())
		return;
	check_expand("SHA256", rfc_early, "derived", rfc_empty_hash, rfc_derived_hs);
	check_expand("SHA256", rfc_hs_secret, "c hs traffic", rfc_hs_hash, rfc_c_hs);
	check_expand("SHA256", rfc_hs_secret, "s hs traffic", rfc_hs_hash, rfc_s_hs);
	check_expand("SHA256", rfc_hs_secret, "derived", rfc_empty_hash, rfc_derived_ms);
	check_expand("SHA256", rfc_master, "c ap traffic", rfc_fin_hash, rfc_c_ap);
	check_expand("SHA256", rfc_master, "s ap traffic", rfc_fin_hash, rfc_s_ap);
	check_expand("SHA256", rfc_master, "exp master", rfc_fin_hash, rfc_exp);
	check_expand("SHA256", rfc_master, "res master", rfc_res_hash, rfc_res);
	check_expand("SHA256", rfc_s_hs, "finished", NULL, rfc_s_finished_key);
	check_expand("SHA256", rfc_s_hs, "key", NULL, rfc_s_hs_key);
	check_expand("SHA256", rfc_s_hs, "iv", NULL, rfc_s_hs_iv);

	/* The handshake traffic hash is Hash(ClientHello..ServerHello), the messages without
	 * their record headers. */
	chlen = unhex(rfc_client_hello, ch, sizeof(ch));
	shlen = unhex(rfc_server_hello, sh, sizeof(sh));
	CHECK_EQ_U64(chlen, 196);
	CHECK_EQ_U64(shlen, 90);
	memcpy(both, ch, chlen);
	memcpy(both + chlen, sh, shlen);
	CHECK_EQ_INT(EVP_Digest(both, chlen + shlen, hash, &hlen, EVP_sha256(), NULL), 1);
	unhex(rfc_hs_hash, want, sizeof(want));
	CHECK_MEM(hash, want, 32);

	/* Lengths the HkdfLabel cannot hold. */
	{
		char label[300];
		uint8_t out[32];

		memset(label, 'x', sizeof(label) - 1);
		label[sizeof(label) - 1] = '\0';
		CHECK_EQ_INT(keylog_expand_label(&kl, "SHA256", hash, 32, label, NULL, 0, out, 32),
			     -EINVAL);
		CHECK_EQ_INT(keylog_expand_label(&kl, "SHA256", hash, 32, "key", both, 256, out,
						 32),
			     -EINVAL);
	}
}

/* The client random of the RFC's ClientHello. */
static void rfc_client_random(uint8_t cr[32])
{
	uint8_t ch[256];

	unhex(rfc_client_hello, ch, sizeof(ch));
	memcpy(cr, ch + 6, 32);
}

/* A TLS 1.3 SECRET record of TLS_AES_128_GCM_SHA256 made of the RFC's values. */
static void rfc_record(struct tr_secret *s)
{
	memset(s, 0, sizeof(*s));
	s->hdr.type = TR_REC_SECRET;
	s->hdr.len = sizeof(*s);
	s->version = 0x0304;
	s->cipher = 0x03001301;
	s->flags = TR_SEC_TLS13;
	rfc_client_random(s->client_random);
	/* What follows the hash length is whatever the library had there. */
	memset(s->handshake_secret, 0xAA, TR_SECRET_LEN);
	unhex(rfc_hs_secret, s->handshake_secret, TR_SECRET_LEN);
	unhex(rfc_master, s->master_secret, TR_SECRET_LEN);
	unhex(rfc_hs_hash, s->handshake_traffic_hash, TR_SECRET_LEN);
	unhex(rfc_fin_hash, s->server_finished_hash, TR_SECRET_LEN);
	unhex(rfc_c_ap, s->client_app_secret, TR_SECRET_LEN);
	unhex(rfc_s_ap, s->server_app_secret, TR_SECRET_LEN);
	unhex(rfc_exp, s->exporter_secret, TR_SECRET_LEN);
}

/* Everything a reading of kl gives (with pieces of at most max bytes) into a string the caller
 * frees; each piece is whole lines. */
static char *read_all(enum keylog_which which, size_t max)
{
	size_t len = 0, cap = 1 << 16, n;
	char *text = malloc(cap), *more;
	const char *piece;
	uint64_t before;
	int ret;

	if (!CHECK(text != NULL) || !CHECK_EQ_INT(keylog_read_start(&kl, which), 0)) {
		free(text);
		return NULL;
	}
	while ((ret = keylog_read(&kl, max, &before, &piece, &n)) > 0) {
		CHECK(n > 0 && n <= max && piece[n - 1] == '\n');
		if (len + n + 1 > cap && (more = realloc(text, cap = 2 * (len + n + 1))))
			text = more;
		if (!CHECK(len + n + 1 <= cap))
			break;
		memcpy(text + len, piece, n);
		len += n;
	}
	CHECK_EQ_INT(ret, 0);
	text[len] = '\0';
	return text;
}

/* All lines of kl, formatted, into a string the caller frees. */
static char *all_lines(void)
{
	return read_all(KEYLOG_ALL, 4096);
}

static void check_text(const char *want)
{
	char *got = all_lines();

	if (got)
		CHECK_MSG(!strcmp(got, want), "key log:\n%s\nwant:\n%s", got, want);
	free(got);
}

/* "LABEL <RFC client random> <hex>\n", hex given with spaces. */
static void rfc_line(char *out, size_t size, const char *label, const char *hex_spaced)
{
	char hex[200];
	size_t n = 0;

	for (const char *p = hex_spaced; *p && n + 1 < sizeof(hex); p++)
		if (*p != ' ')
			hex[n++] = *p;
	hex[n] = '\0';
	snprintf(out + strlen(out), size - strlen(out),
		 "%s cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7 %s\n", label,
		 hex);
}

/* The RFC's five lines, in the order a key log has them. */
static void rfc_lines(char *out, size_t size)
{
	rfc_line(out, size, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", rfc_c_hs);
	rfc_line(out, size, "SERVER_HANDSHAKE_TRAFFIC_SECRET", rfc_s_hs);
	rfc_line(out, size, "CLIENT_TRAFFIC_SECRET_0", rfc_c_ap);
	rfc_line(out, size, "SERVER_TRAFFIC_SECRET_0", rfc_s_ap);
	rfc_line(out, size, "EXPORTER_SECRET", rfc_exp);
}

/* The record of the RFC's handshake gives the RFC's secrets as key log lines. */
static void test_rfc8448_record(void)
{
	struct tr_secret s;
	char want[2048] = "";

	if (!kl_init())
		return;
	rfc_record(&s);
	CHECK_EQ_INT(keylog_add(&kl, &s), 0);
	rfc_lines(want, sizeof(want));
	check_text(want);
	CHECK_EQ_U64(kl.st.records, 1);
	CHECK_EQ_U64(kl.st.walk_failed + kl.st.conflicts + kl.st.unknown_cipher, 0);
}

/* A KEYLOG record of label, the RFC's client random and secret (hex with spaces). */
static void given(struct tr_keylog *k, const char *label, const char *hex_spaced, size_t len)
{
	memset(k, 0, sizeof(*k));
	k->hdr.type = TR_REC_KEYLOG;
	k->hdr.len = sizeof(*k);
	k->label_len = (uint8_t)strlen(label);
	memcpy(k->label, label, k->label_len);
	rfc_client_random(k->client_random);
	k->secret_len = (uint8_t)len;
	unhex(hex_spaced, k->secret, len);
}

static void test_given(void)
{
	static const struct {
		const char *label, *hex;
	} rfc[] = {
		{ "SERVER_TRAFFIC_SECRET_0", rfc_s_ap },
		{ "CLIENT_HANDSHAKE_TRAFFIC_SECRET", rfc_c_hs },
		{ "EXPORTER_SECRET", rfc_exp },
		{ "SERVER_HANDSHAKE_TRAFFIC_SECRET", rfc_s_hs },
		{ "CLIENT_TRAFFIC_SECRET_0", rfc_c_ap },
	};
	static const char *const unknown[] = { "CLIENT_EARLY_TRAFFIC_SECRET",
					       "CLIENT_TRAFFIC_SECRET_1", "CLIENT_TRAFFIC_SECRET_",
					       "CLIENT_RANDOMX", "EXPORTER_SECRET_0", "X" };
	struct tr_secret s;
	struct tr_keylog k;
	char want[2048] = "";

	if (!kl_init())
		return;
	/* Out of order, each twice: the lines come out once, in the order of the labels. */
	for (int round = 0; round < 2; round++)
		for (size_t i = 0; i < sizeof(rfc) / sizeof(rfc[0]); i++) {
			given(&k, rfc[i].label, rfc[i].hex, 32);
			CHECK_EQ_INT(keylog_add_given(&kl, &k), 0);
		}
	rfc_lines(want, sizeof(want));
	check_text(want);
	/* The peer's SECRET record (OpenSSL) for the same connection agrees with them. */
	rfc_record(&s);
	CHECK_EQ_INT(keylog_add(&kl, &s), 0);
	check_text(want);
	CHECK_EQ_U64(kl.st.conflicts + kl.st.unknown_label, 0);
	CHECK_EQ_U64(kl.st.records, 11);
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		given(&k, unknown[i], rfc_c_ap, 32);
		CHECK_EQ_INT(keylog_add_given(&kl, &k), 0);
	}
	CHECK_EQ_U64(kl.st.unknown_label, sizeof(unknown) / sizeof(unknown[0]));
	/* Another secret for a line known: a conflict, the first kept. */
	given(&k, "EXPORTER_SECRET", rfc_c_ap, 32);
	CHECK_EQ_INT(keylog_add_given(&kl, &k), 0);
	CHECK_EQ_U64(kl.st.conflicts, 1);
	check_text(want);
	/* TLS 1.2's 48 bytes; a client random of zeros names nothing. */
	if (!kl_init())
		return;
	given(&k, "CLIENT_RANDOM", rfc_c_ap, 32);
	memset(k.secret, 0x5a, 48);
	k.secret_len = 48;
	CHECK_EQ_INT(keylog_add_given(&kl, &k), 0);
	memset(k.client_random, 0, 32);
	CHECK_EQ_INT(keylog_add_given(&kl, &k), 0);
	want[0] = '\0';
	rfc_line(want, sizeof(want), "CLIENT_RANDOM",
		 "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a");
	check_text(want);
}

/* HKDF-Expand-Label done here, with HMAC: the first block of HKDF-Expand is all of it. */
static void ref_expand(const EVP_MD *md, const uint8_t *secret, size_t len, const char *label,
		       const uint8_t *context, size_t clen, uint8_t *out)
{
	uint8_t info[600], mac[EVP_MAX_MD_SIZE];
	size_t n = 0, llen = strlen(label) + 6;
	unsigned mlen;

	info[n++] = (uint8_t)(len >> 8);
	info[n++] = (uint8_t)len;
	info[n++] = (uint8_t)llen;
	memcpy(info + n, "tls13 ", 6);
	memcpy(info + n + 6, label, llen - 6);
	n += llen;
	info[n++] = (uint8_t)clen;
	if (clen)
		memcpy(info + n, context, clen);
	n += clen;
	info[n++] = 0x01; /* T(1) = HMAC(PRK, T(0) | info | 0x01) */
	CHECK(HMAC(md, secret, (int)len, info, n, mac, &mlen) != NULL);
	CHECK_EQ_U64(mlen, len);
	memcpy(out, mac, len);
}

/* Generation gen of an application traffic secret, from its master secret. */
static void ref_traffic(const EVP_MD *md, const struct tr_secret *s, const char *label,
			unsigned gen, uint8_t *out)
{
	size_t len = (size_t)EVP_MD_get_size(md);

	ref_expand(md, s->master_secret, len, label, s->server_finished_hash, len, out);
	for (unsigned g = 0; g < gen; g++)
		ref_expand(md, out, len, "traffic upd", NULL, 0, out);
}

static void hexs(char *out, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

/* Append to want the line label + secret for s's client random. */
static void add_want(char *want, size_t size, const char *label, const struct tr_secret *s,
		     const uint8_t *secret, size_t len)
{
	char cr[65], sec[97];

	hexs(cr, s->client_random, 32);
	hexs(sec, secret, len);
	snprintf(want + strlen(want), size - strlen(want), "%s %s %s\n", label, cr, sec);
}

/* A random TLS 1.3 record of cipher, its application secrets at generations cgen and sgen. */
static void random_record(struct tr_secret *s, uint32_t cipher, unsigned cgen, unsigned sgen)
{
	const EVP_MD *md = cipher == 0x03001302 ? EVP_sha384() : EVP_sha256();

	memset(s, 0, sizeof(*s));
	s->hdr.type = TR_REC_SECRET;
	s->hdr.len = sizeof(*s);
	s->version = 0x0304;
	s->cipher = cipher;
	s->flags = TR_SEC_TLS13;
	rnd_bytes(s->client_random, 32);
	rnd_bytes(s->handshake_secret, TR_SECRET_LEN);
	rnd_bytes(s->master_secret, TR_SECRET_LEN);
	rnd_bytes(s->handshake_traffic_hash, TR_SECRET_LEN);
	rnd_bytes(s->server_finished_hash, TR_SECRET_LEN);
	rnd_bytes(s->exporter_secret, TR_SECRET_LEN);
	ref_traffic(md, s, "c ap traffic", cgen, s->client_app_secret);
	ref_traffic(md, s, "s ap traffic", sgen, s->server_app_secret);
}

/* The lines a random_record must give, by the reference derivation. */
static void want_of(char *want, size_t size, const struct tr_secret *s, const EVP_MD *md,
		    unsigned cgen, unsigned sgen)
{
	size_t len = (size_t)EVP_MD_get_size(md);
	uint8_t out[64];
	char label[64];

	ref_expand(md, s->handshake_secret, len, "c hs traffic", s->handshake_traffic_hash, len,
		   out);
	add_want(want, size, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", s, out, len);
	ref_expand(md, s->handshake_secret, len, "s hs traffic", s->handshake_traffic_hash, len,
		   out);
	add_want(want, size, "SERVER_HANDSHAKE_TRAFFIC_SECRET", s, out, len);
	for (unsigned g = 0; g <= cgen; g++) {
		ref_traffic(md, s, "c ap traffic", g, out);
		snprintf(label, sizeof(label), "CLIENT_TRAFFIC_SECRET_%u", g);
		add_want(want, size, label, s, out, len);
	}
	for (unsigned g = 0; g <= sgen; g++) {
		ref_traffic(md, s, "s ap traffic", g, out);
		snprintf(label, sizeof(label), "SERVER_TRAFFIC_SECRET_%u", g);
		add_want(want, size, label, s, out, len);
	}
	add_want(want, size, "EXPORTER_SECRET", s, s->exporter_secret, len);
}

/* Client at generation 3, server at 1: CLIENT_TRAFFIC_SECRET_0.._3, SERVER_TRAFFIC_SECRET_0.._1. */
static void test_key_update(void)
{
	static char want[8192];
	struct tr_secret s;

	rnd_seed(0x4B55);
	if (!kl_init())
		return;
	want[0] = '\0';
	random_record(&s, 0x03001301, 3, 1);
	want_of(want, sizeof(want), &s, EVP_sha256(), 3, 1);
	CHECK_EQ_INT(keylog_add(&kl, &s), 0);
	CHECK_EQ_U64(kl.n, 2 + 4 + 2 + 1);
	check_text(want);
	CHECK_EQ_U64(kl.st.walk_failed, 0);
}

/* TLS_AES_256_GCM_SHA384: 48-byte secrets throughout; the other suites: SHA-256. */
static void test_suites(void)
{
	static const uint32_t sha256[] = { 0x03001301, 0x03001303, 0x03001304, 0x03001305 };
	static char want[8192];
	struct tr_secret s;

	rnd_seed(0x5384);
	if (!kl_init())
		return;
	check_ctx("TLS_AES_256_GCM_SHA384");
	want[0] = '\0';
	random_record(&s, 0x03001302, 2, 2);
	want_of(want, sizeof(want), &s, EVP_sha384(), 2, 2);
	CHECK_EQ_INT(keylog_add(&kl, &s), 0);
	check_text(want); /* 48-byte secrets: want_of's lines */
	for (size_t c = 0; c < sizeof(sha256) / sizeof(sha256[0]); c++) {
		check_ctx("cipher 0x%08x", sha256[c]);
		if (!kl_init())
			return;
		want[0] = '\0';
		random_record(&s, sha256[c], 1, 0);
		want_of(want, sizeof(want), &s, EVP_sha256(), 1, 0);
		CHECK_EQ_INT(keylog_add(&kl, &s), 0);
		check_text(want);
	}
	check_ctx("an unknown cipher suite");
	if (!kl_init())
		return;
	random_record(&s, 0x03001399, 0, 0);
	CHECK_EQ_INT(keylog_add(&kl, &s), 0);
	CHECK_EQ_U64(kl.n, 0);
	CHECK_EQ_U64(kl.st.unknown_cipher, 1);
	CHECK_EQ_U64(kl.st.last_unknown, 0x03001399);
	check_ctx("%s", "");
}

/* TLS 1.2: exactly one line, CLIENT_RANDOM with the 48-byte master secret. */
static void test_tls12(void)
{
	struct tr_secret s = { .hdr = { .type = TR_REC_SECRET, .len = sizeof(s) } };
	char want[512] = "";

	rnd_seed(0x1212);
	if (!kl_init())
		return;
	s.version = 0x0303;
	s.cipher = 0x0300C02F; /* ECDHE-RSA-AES128-GCM-SHA256 */
	s.flags = TR_SEC_TLS12;
	rnd_bytes(s.client_random, 32);
	rnd_bytes(s.master_key, sizeof(s.master_key));
	/* The TLS 1.3 fields are not read without their flag. */
	rnd_bytes(s.handshake_secret, TR_SECRET_LEN);
	add_want(want, sizeof(want), "CLIENT_RANDOM", &s, s.master_key, 48);
	CHECK_EQ_INT(keylog_add(&kl, &s), 0);
	CHECK_EQ_U64(kl.n, 1);
	check_text(want);
}

/* What survey.c's store does for an abbreviated handshake of cr that offered session id. */
static int resume_by(const uint8_t cr[32], const char *id, size_t len)
{
	uint8_t from[32];
	int ret = keylog_session_get(&kl, (const uint8_t *)id, len, from);

	return ret == 1 ? keylog_resume_from(&kl, cr, from) : ret;
}

/* TLS 1.2 sessions: a resumed client random takes the master secret of the handshake that named
 * the session, through a chain of sessions too; nothing for an unknown session, nor over a line
 * of its own. */
static void test_sessions(void)
{
	struct tr_secret s = { .hdr = { .type = TR_REC_SECRET, .len = sizeof(s) } };
	uint8_t r1[32], r2[32], r3[32], mine[48];
	char want[1024] = "";

	rnd_seed(0x5E55);
	if (!kl_init())
		return;
	s.version = 0x0303;
	s.cipher = 0x0300C02F;
	s.flags = TR_SEC_TLS12;
	rnd_bytes(s.client_random, 32);
	rnd_bytes(s.master_key, sizeof(s.master_key));
	CHECK_EQ_INT(keylog_add(&kl, &s), 0);
	add_want(want, sizeof(want), "CLIENT_RANDOM", &s, s.master_key, 48);
	CHECK_EQ_INT(keylog_session(&kl, (const uint8_t *)"\2ticket-1", 9, s.client_random), 0);

	rnd_bytes(r1, 32);
	rnd_bytes(r2, 32);
	rnd_bytes(r3, 32);
	CHECK_EQ_INT(resume_by(r1, "\2ticket-2", 9), 0);
	CHECK_EQ_INT(resume_by(r1, "\2ticket-1", 9), 1);
	/* r1 names a new session, which r2 resumes. */
	CHECK_EQ_INT(keylog_session(&kl, (const uint8_t *)"\1id", 3, r1), 0);
	CHECK_EQ_INT(resume_by(r2, "\1id", 3), 1);
	CHECK_EQ_INT(keylog_resume_from(&kl, r3, s.client_random), 1);
	CHECK_EQ_U64(kl.st.resumed, 3);
	{
		/* Lines come by client random: these all have one label. */
		char lines[4][256] = { "" };
		const uint8_t *rs[3] = { r1, r2, r3 };

		memcpy(lines[0], want, strlen(want) + 1);
		for (int i = 0; i < 3; i++) {
			memcpy(s.client_random, rs[i], 32);
			add_want(lines[i + 1], sizeof(lines[i + 1]), "CLIENT_RANDOM", &s,
				 s.master_key, 48);
		}
		qsort(lines, 4, sizeof(lines[0]), (int (*)(const void *, const void *))strcmp);
		want[0] = '\0';
		for (int i = 0; i < 4; i++)
			strcat(want, lines[i]);
	}
	check_text(want);

	/* A client random with a line of its own keeps it. */
	memcpy(s.client_random, r1, 32);
	rnd_bytes(mine, sizeof(mine));
	memcpy(s.master_key, mine, sizeof(mine));
	CHECK_EQ_INT(keylog_add(&kl, &s), 0);
	CHECK_EQ_U64(kl.st.conflicts, 1);
	CHECK_EQ_INT(resume_by(r2, "\1id", 3), 0);
	CHECK_EQ_INT(keylog_resume_from(&kl, r2, r3), 0);
	rnd_bytes(r3, 32);
	CHECK_EQ_INT(keylog_resume_from(&kl, r1, r3), 0);
	CHECK_EQ_U64(kl.st.resumed, 3);
}

/* Add s; keylog_secret_useful said whether lines (more than n0 in all) would come of it. */
static void add_useful(const struct tr_secret *s, uint64_t n0)
{
	bool useful = keylog_secret_useful(s);

	CHECK_EQ_INT(keylog_add(&kl, s), 0);
	CHECK_MSG(useful == (kl.n > n0), "useful %d, lines %" PRIu64 " after %" PRIu64, useful,
		  kl.n, n0);
}

/*
 * All-zero secrets are not written, and nothing is derived from an all-zero input; what the index
 * counts as secrets (keylog_secret_useful, keylog_given_useful) is what gives lines.
 */
static void test_zero(void)
{
	struct tr_secret s;
	struct tr_keylog k;

	rnd_seed(0x2E50);
	if (!kl_init())
		return;
	check_ctx("TLS 1.2, master secret zero");
	memset(&s, 0, sizeof(s));
	s.flags = TR_SEC_TLS12;
	rnd_bytes(s.client_random, 32);
	add_useful(&s, 0);
	CHECK_EQ_U64(kl.n, 0);
	check_ctx("a master secret, but no TLS 1.2 flag");
	rnd_bytes(s.master_key, TR_SECRET_LEN);
	s.flags = 0;
	add_useful(&s, 0);
	s.flags = TR_SEC_TLS12;
	add_useful(&s, 0);
	CHECK_EQ_U64(kl.n, 1);

	check_ctx("TLS 1.3, one input zero at a time");
	random_record(&s, 0x03001301, 2, 2);
	memset(s.handshake_secret, 0, TR_SECRET_LEN);
	add_useful(&s, 1);
	CHECK_EQ_U64(kl.n, 1 + 3 + 3 + 1); /* no handshake lines */
	random_record(&s, 0x03001301, 2, 2);
	memset(s.handshake_traffic_hash, 0, TR_SECRET_LEN);
	add_useful(&s, 8);
	CHECK_EQ_U64(kl.n, 8 + 7);
	random_record(&s, 0x03001301, 2, 2);
	memset(s.master_secret, 0, TR_SECRET_LEN);
	add_useful(&s, 15);
	CHECK_EQ_U64(kl.n, 15 + 3); /* handshake and exporter lines only */
	random_record(&s, 0x03001301, 2, 2);
	memset(s.exporter_secret, 0, TR_SECRET_LEN);
	memset(s.client_app_secret, 0, TR_SECRET_LEN); /* generation unknown: _0 only */
	add_useful(&s, 18);
	CHECK_EQ_U64(kl.n, 18 + 2 + 1 + 3);
	CHECK_EQ_U64(kl.st.walk_failed, 0);

	check_ctx("TLS 1.3, every input zero, or a cipher suite unknown");
	random_record(&s, 0x03001301, 2, 2);
	memset(s.handshake_secret, 0, TR_SECRET_LEN);
	memset(s.server_finished_hash, 0, TR_SECRET_LEN);
	memset(s.exporter_secret, 0, TR_SECRET_LEN);
	add_useful(&s, 24);
	random_record(&s, 0x0300ffff, 2, 2);
	add_useful(&s, 24);

	check_ctx("client random zero (SSL_clear)");
	random_record(&s, 0x03001301, 0, 0);
	memset(s.client_random, 0, 32);
	add_useful(&s, 24);
	CHECK_EQ_U64(kl.n, 24);

	check_ctx("KEYLOG records");
	given(&k, "CLIENT_RANDOM", "", 0);
	k.secret_len = 48;
	CHECK(!keylog_given_useful(&k)); /* all zeros */
	k.secret[47] = 1;
	CHECK(keylog_given_useful(&k));
	given(&k, "CLIENT_EARLY_TRAFFIC_SECRET", rfc_c_hs, 32);
	CHECK(!keylog_given_useful(&k));
	check_ctx("%s", "");
}

/*
 * One line per label and client random: the same record twice, the client's and the server's
 * records of one connection, a later key update of it, and a record that disagrees.
 */
static void test_dedup(void)
{
	static char want[8192];
	struct tr_secret s, later, other;

	rnd_seed(0xDED0);
	if (!kl_init())
		return;
	random_record(&s, 0x03001301, 1, 0);
	CHECK_EQ_INT(keylog_add(&kl, &s), 0);
	CHECK_EQ_INT(keylog_add(&kl, &s), 0); /* the peer process, the same secrets */
	CHECK_EQ_U64(kl.n, 2 + 2 + 1 + 1);
	/* The same connection after more key updates: only the new generations are added. */
	later = s;
	ref_traffic(EVP_sha256(), &s, "c ap traffic", 4, later.client_app_secret);
	ref_traffic(EVP_sha256(), &s, "s ap traffic", 2, later.server_app_secret);
	CHECK_EQ_INT(keylog_add(&kl, &later), 0);
	CHECK_EQ_U64(kl.n, 2 + 5 + 3 + 1);
	/* And again an older record: nothing new. */
	CHECK_EQ_INT(keylog_add(&kl, &s), 0);
	CHECK_EQ_U64(kl.n, 11);
	/* Another record for the same client random with other secrets: the first lines stay. */
	other = s;
	rnd_bytes(other.exporter_secret, TR_SECRET_LEN);
	rnd_bytes(other.master_secret, TR_SECRET_LEN);
	CHECK_EQ_INT(keylog_add(&kl, &other), 0);
	CHECK_EQ_U64(kl.n, 11);
	CHECK_EQ_U64(kl.st.conflicts, 3); /* exporter, and each side's generation 0 */
	want[0] = '\0';
	want_of(want, sizeof(want), &s, EVP_sha256(), 4, 2);
	check_text(want);
	CHECK_EQ_U64(kl.st.records, 5);
}

/*
 * A current secret that no number of key updates reaches (a wrong offset in the recorder, say):
 * generation 0 only, counted. With the run's budget spent, key updates are not followed.
 */
static void test_walk_limits(void)
{
	struct tr_secret s, later;

	rnd_seed(0x3A1C);
	if (!kl_init())
		return;
	random_record(&s, 0x03001301, 0, 2);
	rnd_bytes(s.client_app_secret, TR_SECRET_LEN);
	CHECK_EQ_INT(keylog_add(&kl, &s), 0);
	CHECK_EQ_U64(kl.st.walk_failed, 1);
	CHECK_EQ_U64(kl.n, 2 + 1 + 3 + 1);
	CHECK_EQ_U64(kl.steps_left, KEYLOG_STEP_BUDGET - KEYLOG_MAX_AHEAD - 2);

	if (!kl_init())
		return;
	kl.steps_left = 2;
	random_record(&s, 0x03001301, 2, 3);
	CHECK_EQ_INT(keylog_add(&kl, &s), 0);
	CHECK_EQ_U64(kl.st.no_budget, 1);
	CHECK_EQ_U64(kl.st.walk_failed, 0);
	CHECK_EQ_U64(kl.n, 2 + 3 + 1 + 1); /* the client's two steps fit, the server's three not */
	CHECK_EQ_U64(kl.steps_left, 0);

	/* A generation out of reach of those known costs KEYLOG_MAX_AHEAD steps, however high. */
	check_ctx("a generation past KEYLOG_MAX_AHEAD");
	if (!kl_init())
		return;
	random_record(&s, 0x03001301, KEYLOG_MAX_AHEAD + 1, KEYLOG_MAX_AHEAD);
	CHECK_EQ_INT(keylog_add(&kl, &s), 0);
	CHECK_EQ_U64(kl.st.walk_failed, 1);
	CHECK_EQ_U64(kl.n, 2 + 1 + KEYLOG_MAX_AHEAD + 1 + 1);
	CHECK_EQ_U64(kl.steps_left, KEYLOG_STEP_BUDGET - 2 * KEYLOG_MAX_AHEAD);

	/* Reached in steps, as tlsrec writes a record at each key update: every generation. */
	check_ctx("records KEYLOG_MAX_AHEAD generations apart");
	if (!kl_init())
		return;
	random_record(&s, 0x03001301, 0, 0);
	for (unsigned g = KEYLOG_MAX_AHEAD; g <= 3 * KEYLOG_MAX_AHEAD; g += KEYLOG_MAX_AHEAD) {
		later = s;
		ref_traffic(EVP_sha256(), &s, "c ap traffic", g, later.client_app_secret);
		CHECK_EQ_INT(keylog_add(&kl, &later), 0);
	}
	CHECK_EQ_U64(kl.st.walk_failed, 0);
	CHECK_EQ_U64(kl.n, 2 + 3 * KEYLOG_MAX_AHEAD + 1 + 1 + 1);
	CHECK_EQ_U64(kl.steps_left, KEYLOG_STEP_BUDGET - 3 * KEYLOG_MAX_AHEAD);

	/* The same record again costs no step; an older one costs a look at each generation. */
	check_ctx("records again");
	for (int i = 0; i < 10; i++)
		CHECK_EQ_INT(keylog_add(&kl, &later), 0);
	CHECK_EQ_U64(kl.steps_left, KEYLOG_STEP_BUDGET - 3 * KEYLOG_MAX_AHEAD);
	ref_traffic(EVP_sha256(), &s, "c ap traffic", 5, later.client_app_secret);
	CHECK_EQ_INT(keylog_add(&kl, &later), 0);
	CHECK_EQ_U64(kl.st.walk_failed, 0);
	CHECK_EQ_U64(kl.steps_left, KEYLOG_STEP_BUDGET - 4 * KEYLOG_MAX_AHEAD - 5);
	CHECK_EQ_U64(kl.n, 2 + 3 * KEYLOG_MAX_AHEAD + 1 + 1 + 1);
	check_ctx("%s", "");
}

/* A record and the generations of its application traffic secrets. */
struct made {
	struct tr_secret s;
	unsigned cgen, sgen;
};

static int cmp_made(const void *a, const void *b)
{
	return memcmp(((const struct made *)a)->s.client_random,
		      ((const struct made *)b)->s.client_random, 32);
}

/*
 * Every line, by client random, then label (TLS 1.2's CLIENT_RANDOM last), then generation as a
 * number (2 before 10): the records' lines in the order of their client randoms. keylog_has
 * knows the client randoms that have lines and no other.
 */
static void test_read_all(void)
{
	static char want[1 << 16];
	struct made m[12];
	uint8_t unknown[32];

	rnd_seed(0xF1D0);
	if (!kl_init())
		return;
	want[0] = '\0';
	for (unsigned i = 0; i < 12; i++) {
		m[i].cgen = i;
		m[i].sgen = 11 - i;
		random_record(&m[i].s, 0x03001301, m[i].cgen, m[i].sgen);
		if (i == 5) { /* TLS 1.2 and 1.3 fields both filled */
			m[i].s.flags |= TR_SEC_TLS12;
			rnd_bytes(m[i].s.master_key, sizeof(m[i].s.master_key));
		}
		CHECK_EQ_INT(keylog_add(&kl, &m[i].s), 0);
	}
	qsort(m, 12, sizeof(m[0]), cmp_made);
	for (int i = 0; i < 12; i++) {
		want_of(want, sizeof(want), &m[i].s, EVP_sha256(), m[i].cgen, m[i].sgen);
		if (m[i].s.flags & TR_SEC_TLS12)
			add_want(want, sizeof(want), "CLIENT_RANDOM", &m[i].s, m[i].s.master_key, 48);
		CHECK_EQ_INT(keylog_has(&kl, m[i].s.client_random), 1);
	}
	check_text(want);
	CHECK_EQ_U64(kl.n, 12 * (2 + 13 + 1) + 1);
	rnd_bytes(unknown, 32);
	CHECK_EQ_INT(keylog_has(&kl, unknown), 0);
}

/*
 * The plan: a DSB per client random planned (the first plan kept; none for one without lines,
 * nor a second before one packet), read back in the order of the packets they go before, each
 * with its client random's lines only; the client randoms left unplanned counted.
 * keylog_read_start starts again from the first.
 */
static void test_plan(void)
{
	static const uint64_t before[6] = { 700, 30, 5, 12000, 31, 0 };
	static const int order[6] = { 5, 2, 1, 4, 0, 3 }; /* by before */
	static char want[6][4096];
	struct tr_secret s[10];
	uint8_t unknown[32];
	uint64_t n = 0, at;
	const char *text;
	size_t len;
	int i = 0;

	rnd_seed(0x91A5);
	if (!kl_init())
		return;
	for (int r = 0; r < 10; r++) {
		random_record(&s[r], 0x03001301, (unsigned)r % 3, 1);
		CHECK_EQ_INT(keylog_add(&kl, &s[r]), 0);
	}
	CHECK_EQ_INT(keylog_unplanned(&kl, &n), 0);
	CHECK_EQ_U64(n, 10);
	for (int r = 0; r < 6; r++) {
		want[r][0] = '\0';
		want_of(want[r], sizeof(want[r]), &s[r], EVP_sha256(), (unsigned)r % 3, 1);
		CHECK_EQ_INT(keylog_plan(&kl, s[r].client_random, before[r]), 1);
	}
	/* Planned already: the first plan stays; one DSB per packet. */
	CHECK_EQ_INT(keylog_plan(&kl, s[3].client_random, 1), 0);
	CHECK_EQ_INT(keylog_plan(&kl, s[7].client_random, before[2]), 0);
	rnd_bytes(unknown, 32);
	CHECK_EQ_INT(keylog_plan(&kl, unknown, 2), 0);
	CHECK_EQ_INT(keylog_unplanned(&kl, &n), 0);
	CHECK_EQ_U64(n, 4);
	for (int pass = 0; pass < 2; pass++) {
		check_ctx("pass %d", pass);
		i = 0;
		CHECK_EQ_INT(keylog_read_start(&kl, KEYLOG_PLANNED), 0);
		while (keylog_read(&kl, 1 << 16, &at, &text, &len) > 0 && CHECK(i < 6)) {
			CHECK_EQ_U64(at, before[order[i]]);
			CHECK_MSG(len == strlen(want[order[i]]) && !memcmp(text, want[order[i]], len),
				  "DSB %d:\n%.*s\nwant:\n%s", i, (int)len, text, want[order[i]]);
			i++;
		}
		CHECK_EQ_INT(i, 6);
		/* At the end it stays at the end. */
		CHECK_EQ_INT(keylog_read(&kl, 1 << 16, &at, &text, &len), 0);
	}
	check_ctx("%s", "");
}

/*
 * Pieces of at most max bytes: one client random's 2 + 41 + 41 + 1 lines (about 6.5 KB) in pieces
 * of at most max bytes (from a line's length to a few of them), each as full as whole lines make
 * it, the next DSB in a piece of its own; all of them together are the DSBs' lines. A max smaller
 * than the longest line is refused.
 */
static void test_pieces(void)
{
	static char want[1 << 15];
	struct tr_secret big, small;
	const char *text;
	size_t len, wanted;
	uint64_t at;

	rnd_seed(0x9EC5);
	if (!kl_init())
		return;
	random_record(&big, 0x03001301, 40, 40);
	random_record(&small, 0x03001301, 0, 0);
	CHECK_EQ_INT(keylog_add(&kl, &big), 0);
	CHECK_EQ_INT(keylog_add(&kl, &small), 0);
	CHECK_EQ_INT(keylog_plan(&kl, big.client_random, 10), 1);
	CHECK_EQ_INT(keylog_plan(&kl, small.client_random, 11), 1);
	want[0] = '\0';
	want_of(want, sizeof(want), &big, EVP_sha256(), 40, 40);
	wanted = strlen(want);
	want_of(want, sizeof(want), &small, EVP_sha256(), 0, 0);
	CHECK_EQ_INT(keylog_read_start(&kl, KEYLOG_PLANNED), 0);
	CHECK_EQ_INT(keylog_read(&kl, KEYLOG_LINE_MAX - 1, &at, &text, &len), -EINVAL);
	for (size_t max = KEYLOG_LINE_MAX; max < 1200; max += 7) {
		size_t total = 0, pieces = 0;

		check_ctx("max %zu", max);
		CHECK_EQ_INT(keylog_read_start(&kl, KEYLOG_PLANNED), 0);
		while (keylog_read(&kl, max, &at, &text, &len) > 0) {
			const char *next = want + total + len;

			pieces++;
			if (!CHECK(len <= max && text[len - 1] == '\n') ||
			    !CHECK(!memcmp(text, want + total, len)))
				break;
			CHECK_EQ_U64(at, total < wanted ? 10 : 11);
			total += len;
			/* Full: the next line of the same DSB would not have fit. */
			if (total < wanted)
				CHECK(len + (size_t)(strchr(next, '\n') + 1 - next) > max);
		}
		CHECK_EQ_U64(total, strlen(want));
		CHECK(pieces >= wanted / max + 2);
	}
	check_ctx("%s", "");
}

int main(void)
{
	CHECK_RUN(test_rfc8448_expand_label);
	CHECK_RUN(test_rfc8448_record);
	CHECK_RUN(test_key_update);
	CHECK_RUN(test_suites);
	CHECK_RUN(test_tls12);
	CHECK_RUN(test_sessions);
	CHECK_RUN(test_zero);
	CHECK_RUN(test_dedup);
	CHECK_RUN(test_given);
	CHECK_RUN(test_walk_limits);
	CHECK_RUN(test_read_all);
	CHECK_RUN(test_plan);
	CHECK_RUN(test_pieces);
	keylog_free(&kl);
	return check_exit();
}

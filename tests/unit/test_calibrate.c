/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Calibration of the system libssl, checked independently of how calibration works:
 *   - calibrate() finds every field exactly once (it fails otherwise) and a hook that costs no
 *     single-step: one uprobe where each handshake step ends;
 *   - in this process, linked against that same libssl, handshakes in memory with other cipher
 *     suites than calibration used (three TLS 1.2 and all three TLS 1.3 suites, client and server
 *     side): the fields read at the calibrated offsets are what OpenSSL's public API returns
 *     (client random, session, cipher, master key), and the key log lines tlsasm derives from
 *     them equal the lines OpenSSL's own key log callback wrote;
 *   - files that are not OpenSSL, or not there, are refused with a reason.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "../../assemble/keylog.h"
#include "../../recorder/calibrate.h"
#include "check.h"

#define MAX_TRUTH 16

static struct calibration cal;
static char truth[MAX_TRUTH][KEYLOG_LINE_MAX + 1];
static unsigned n_truth;

static void on_keylog(const SSL *ssl, const char *line)
{
	(void)ssl;
	if (CHECK(n_truth < MAX_TRUTH))
		snprintf(truth[n_truth++], sizeof(truth[0]), "%s\n", line);
}

/* A self-signed P-256 certificate for the server side. */
static SSL_CTX *server_ctx(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *crt = X509_new();
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!CHECK(key && crt && ctx))
		return NULL;
	ASN1_INTEGER_set(X509_get_serialNumber(crt), 1);
	X509_gmtime_adj(X509_getm_notBefore(crt), 0);
	X509_gmtime_adj(X509_getm_notAfter(crt), 3600);
	X509_set_pubkey(crt, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(crt), "CN", MBSTRING_ASC,
				   (const unsigned char *)"calibrate.test", -1, -1, 0);
	X509_set_issuer_name(crt, X509_get_subject_name(crt));
	CHECK(X509_sign(crt, key, EVP_sha256()) > 0);
	CHECK(SSL_CTX_use_certificate(ctx, crt) == 1);
	CHECK(SSL_CTX_use_PrivateKey(ctx, key) == 1);
	X509_free(crt);
	EVP_PKEY_free(key);
	return ctx;
}

/* Handshake a client and a server over a BIO pair; returns true when both finished. */
static bool handshake(SSL *c, SSL *s)
{
	BIO *bc, *bs;
	bool cd = false, sd = false;

	if (!BIO_new_bio_pair(&bc, 0, &bs, 0))
		return false;
	SSL_set_bio(c, bc, bc);
	SSL_set_bio(s, bs, bs);
	SSL_set_connect_state(c);
	SSL_set_accept_state(s);
	for (int i = 0; i < 100 && !(cd && sd); i++) {
		cd = cd || SSL_do_handshake(c) == 1;
		sd = sd || SSL_do_handshake(s) == 1;
	}
	return cd && sd;
}

static const void *pointer_at(const void *obj, uint32_t off)
{
	const void *p;

	memcpy(&p, (const uint8_t *)obj + off, sizeof(p));
	return p;
}

/* What tlsrec's BPF program copies (bpf/secrets.bpf.c), read here at the calibrated offsets. */
static void read_like_bpf(const SSL *ssl, struct tr_secret *r)
{
	const struct tr_ssl_offsets *o = &cal.off;
	const uint8_t *s = (const uint8_t *)ssl;
	const uint8_t *cipher = pointer_at(ssl, o->cipher);

	memset(r, 0, sizeof(*r));
	memcpy(&r->cipher, cipher + o->cipher_id, sizeof(r->cipher));
	memcpy(r->client_random, s + o->client_random, 32);
	if (SSL_version(ssl) == TLS1_3_VERSION) {
		r->version = 0x0304;
		r->flags = TR_SEC_TLS13;
		memcpy(r->handshake_secret, s + o->handshake_secret, TR_SECRET_LEN);
		memcpy(r->master_secret, s + o->master_secret, TR_SECRET_LEN);
		memcpy(r->handshake_traffic_hash, s + o->handshake_traffic_hash, TR_SECRET_LEN);
		memcpy(r->server_finished_hash, s + o->server_finished_hash, TR_SECRET_LEN);
		memcpy(r->client_app_secret, s + o->client_app_secret, TR_SECRET_LEN);
		memcpy(r->server_app_secret, s + o->server_app_secret, TR_SECRET_LEN);
		memcpy(r->exporter_secret, s + o->exporter_secret, TR_SECRET_LEN);
	} else {
		r->version = 0x0303;
		r->flags = TR_SEC_TLS12;
		memcpy(r->master_key, (const uint8_t *)pointer_at(ssl, o->session) + o->master_key,
		       TR_SECRET_LEN);
	}
}

/* The fields of one side against the public API, and the derived lines against the truth. */
static void check_side(const char *side, const SSL *ssl)
{
	const SSL_CIPHER *cipher = SSL_get_current_cipher(ssl);
	SSL_SESSION *sess = SSL_get_session(ssl);
	uint8_t cr[32], mk[48];
	struct tr_secret r;
	struct keylog k;
	unsigned found = 0, n = 0;
	const char *text;
	uint64_t before;
	size_t len;

	check_ctx("%s, %s", side, SSL_CIPHER_get_name(cipher));
	CHECK_EQ_U64(SSL_get_client_random(ssl, cr, sizeof(cr)), sizeof(cr));
	CHECK_MEM((const uint8_t *)ssl + cal.off.client_random, cr, sizeof(cr));
	CHECK(pointer_at(ssl, cal.off.session) == sess);
	CHECK(pointer_at(ssl, cal.off.cipher) == cipher);
	if (SSL_version(ssl) == TLS1_2_VERSION) {
		CHECK_EQ_U64(SSL_SESSION_get_master_key(sess, mk, sizeof(mk)), sizeof(mk));
		CHECK_MEM((const uint8_t *)sess + cal.off.master_key, mk, sizeof(mk));
	}
	read_like_bpf(ssl, &r);
	CHECK_EQ_U64(r.cipher, SSL_CIPHER_get_id(cipher));

	if (!CHECK_EQ_INT(keylog_init(&k), 0)) {
		keylog_free(&k);
		return;
	}
	CHECK_EQ_INT(keylog_add(&k, &r), 0);
	/* The current application secrets are generation 0: the walk to them must not fail. */
	CHECK_EQ_U64(k.st.walk_failed, 0);
	CHECK_EQ_U64(k.st.unknown_cipher, 0);
	CHECK_EQ_INT(keylog_has(&k, cr), 1);
	CHECK_EQ_INT(keylog_read_start(&k, KEYLOG_ALL), 0);
	/* Every line, one at a time: they are all of this client random. */
	while (keylog_read(&k, KEYLOG_LINE_MAX, &before, &text, &len) > 0) {
		char line[KEYLOG_LINE_MAX + 1];
		bool in_truth = false;

		memcpy(line, text, len);
		line[len] = '\0';
		n++;
		for (unsigned t = 0; t < n_truth; t++)
			in_truth = in_truth || !strcmp(line, truth[t]);
		found += in_truth;
		CHECK_MSG(in_truth, "derived line not in OpenSSL's key log: %s", line);
	}
	CHECK_EQ_U64(n, n_truth);
	CHECK_EQ_U64(found, n_truth);
	keylog_free(&k);
	check_ctx("%s", "");
}

static void check_suite(SSL_CTX *sctx, int version, const char *suite)
{
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	SSL *c, *s;

	n_truth = 0;
	SSL_CTX_set_keylog_callback(cctx, on_keylog);
	SSL_CTX_set_min_proto_version(cctx, version);
	SSL_CTX_set_max_proto_version(cctx, version);
	if (version == TLS1_3_VERSION)
		CHECK(SSL_CTX_set_ciphersuites(cctx, suite) == 1);
	else
		CHECK(SSL_CTX_set_cipher_list(cctx, suite) == 1);
	c = SSL_new(cctx);
	s = SSL_new(sctx);
	check_ctx("handshake %s", suite);
	if (CHECK(handshake(c, s)) &&
	    CHECK(!strcmp(SSL_CIPHER_get_name(SSL_get_current_cipher(c)), suite))) {
		CHECK(n_truth == (version == TLS1_3_VERSION ? 5u : 1u));
		check_side("client", c);
		check_side("server", s);
	}
	SSL_free(c);
	SSL_free(s);
	SSL_CTX_free(cctx);
}

/* calibrate() the file at path, as tlsrec does: open, then calibrate what was opened. */
static int calibrate_path(const char *path, struct calibration *c, char *why, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0) {
		snprintf(why, len, "%s", strerror(errno));
		return -errno;
	}
	ret = calibrate(fd, 0, c, why, len);
	close(fd);
	return ret;
}

static void test_system_libssl(void)
{
	static const char *const tls13[] = { "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
					     "TLS_CHACHA20_POLY1305_SHA256" };
	static const char *const tls12[] = { "ECDHE-ECDSA-AES128-GCM-SHA256",
					     "ECDHE-ECDSA-AES256-GCM-SHA384",
					     "ECDHE-ECDSA-CHACHA20-POLY1305" };
	char why[256] = "";
	Dl_info info;
	SSL_CTX *sctx;
	int ret;

	if (!CHECK(dladdr((void *)SSL_new, &info) && info.dli_fname))
		return;
	ret = calibrate_path(info.dli_fname, &cal, why, sizeof(why));
	if (!CHECK_MSG(ret == 0, "calibrate %s: %s", info.dli_fname, why))
		return;
	fprintf(stderr, "calibrated %s (%s): hooks %u at %#lx, %s, %s\n", info.dli_fname,
		cal.version, cal.n_hooks, cal.hooks[0], cal.hook_cheap ? "emulated" : "single-stepped",
		cal.hook_finish ? "where a handshake step ends" : "state machine");
	CHECK(cal.n_hooks >= 1);
	CHECK_MSG(cal.hook_finish && cal.n_hooks == 1,
		  "no single hook where a handshake step ends in %s: %s", info.dli_fname,
		  cal.hook_why);
	CHECK_MSG(cal.hook_cheap, "the hook in %s is single-stepped: ~17 us per handshake",
		  info.dli_fname);
	CHECK(!strcmp(cal.version, OpenSSL_version(OPENSSL_VERSION)));

	sctx = server_ctx();
	if (!sctx)
		return;
	SSL_CTX_set_ciphersuites(sctx, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
				       "TLS_CHACHA20_POLY1305_SHA256");
	for (size_t i = 0; i < 3; i++)
		check_suite(sctx, TLS1_3_VERSION, tls13[i]);
	for (size_t i = 0; i < 3; i++)
		check_suite(sctx, TLS1_2_VERSION, tls12[i]);
	SSL_CTX_free(sctx);
}

static void expect_refusal(const char *path, const char *reason)
{
	char why[256] = "";
	struct calibration c;

	check_ctx("%s", path);
	CHECK(calibrate_path(path, &c, why, sizeof(why)) < 0);
	CHECK_MSG(strstr(why, reason), "reason \"%s\" does not say \"%s\"", why, reason);
	check_ctx("%s", "");
}

static void test_refusals(void)
{
	Dl_info info;

	if (CHECK(dladdr((void *)EVP_sha256, &info) && info.dli_fname))
		expect_refusal(info.dli_fname, "not OpenSSL");
	expect_refusal("/nonexistent/libssl.so.3", "No such file");
}

int main(int argc, char **argv)
{
	if (calibrate_child_main(argc, argv))
		return 0;
	CHECK_RUN(test_system_libssl);
	CHECK_RUN(test_refusals);
	return check_exit();
}

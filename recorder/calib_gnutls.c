// SPDX-License-Identifier: BSD-2-Clause
/*
 * GnuTLS in the calibration child. The library is used through dlsym only (tlsrec does not link
 * it), its constants copied from gnutls/gnutls.h, which they have been since 3.0. The handshakes
 * run between a client and a server session of this process, over buffers (push and pull
 * callbacks), with a pre-shared key: no certificate, no socket.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "calib_gnutls.h"

#define GNUTLS_SERVER 1
#define GNUTLS_CLIENT 2
#define GNUTLS_CRD_PSK 4
#define GNUTLS_PSK_KEY_RAW 0
#define GNUTLS_E_AGAIN (-28)
#define GNUTLS_E_INTERRUPTED (-52)

#define MAX_CALLS 16    /* keylog calls in one pair of handshakes: 10 for TLS 1.3 */
#define SNAP 16384      /* bytes of the session looked at for the client random */
#define WIRE 65536      /* bytes in flight one way */
#define LABEL_MAX 31    /* what the BPF program reads of a label (TR_KEYLOG_LABEL, with a NUL) */
#define SECRET_MAX TR_SECRET_LEN

struct datum {
	unsigned char *data;
	unsigned int size;
};

typedef int (*keylog_fn)(void *session, const char *label, const struct datum *secret);

static struct {
	const char *(*check_version)(const char *);
	int (*init)(void **, unsigned);
	void (*deinit)(void *);
	keylog_fn (*get_keylog_function)(void *);
	void (*set_keylog_function)(void *, keylog_fn);
	int (*priority_set_direct)(void *, const char *, const char **);
	int (*credentials_set)(void *, int, void *);
	int (*psk_allocate_client_credentials)(void **);
	int (*psk_set_client_credentials)(void *, const char *, const struct datum *, int);
	void (*psk_free_client_credentials)(void *);
	int (*psk_allocate_server_credentials)(void **);
	void (*psk_set_server_credentials_function)(void *,
						    int (*)(void *, const char *, struct datum *));
	void (*psk_free_server_credentials)(void *);
	void (*transport_set_push_function)(void *, ssize_t (*)(void *, const void *, size_t));
	void (*transport_set_pull_function)(void *, ssize_t (*)(void *, void *, size_t));
	void (*transport_set_ptr)(void *, void *);
	void (*transport_set_errno)(void *, int);
	int (*handshake)(void *);
	void (*session_get_random)(void *, struct datum *, struct datum *);
	void *(**malloc)(size_t); /* gnutls_malloc, a variable: what the PSK callback hands over */
} api;

static const uint8_t psk[16] = "tlsrec-calibrate";

/* The two sessions of a pair (0 the client, 1 the server), what each has to read, and what the
 * keylog function was called with. */
static struct {
	void *s[2];
	struct wire {
		uint8_t b[WIRE];
		size_t len;
	} in[2];
	unsigned n_calls;
	bool overflow;
	struct call {
		int side;
		char label[LABEL_MAX + 1];
		uint8_t secret[SECRET_MAX];
		unsigned secret_len;
		uint8_t snap[SNAP];
		size_t snap_len;
	} calls[MAX_CALLS];
} pair;

static int side_of(const void *session)
{
	return session == pair.s[0] ? 0 : session == pair.s[1] ? 1 : -1;
}

static ssize_t push(void *ptr, const void *data, size_t n)
{
	struct wire *w = &pair.in[!(uintptr_t)ptr];

	if (n > sizeof(w->b) - w->len) {
		api.transport_set_errno(pair.s[(uintptr_t)ptr], ENOBUFS);
		return -1;
	}
	memcpy(w->b + w->len, data, n);
	w->len += n;
	return (ssize_t)n;
}

static ssize_t pull(void *ptr, void *data, size_t n)
{
	struct wire *w = &pair.in[(uintptr_t)ptr];

	if (!w->len) {
		api.transport_set_errno(pair.s[(uintptr_t)ptr], EAGAIN);
		return -1;
	}
	if (n > w->len)
		n = w->len;
	memcpy(data, w->b, n);
	memmove(w->b, w->b + n, w->len - n);
	w->len -= n;
	return (ssize_t)n;
}

static int server_key(void *session, const char *user, struct datum *key)
{
	(void)session;
	(void)user;
	key->data = (*api.malloc)(sizeof(psk));
	if (!key->data)
		return -1;
	memcpy(key->data, psk, sizeof(psk));
	key->size = sizeof(psk);
	return 0;
}

/* The truth: what GnuTLS hands the keylog function, and the session as it is then. */
static int on_keylog(void *session, const char *label, const struct datum *secret)
{
	struct call *c;
	size_t n = malloc_usable_size(session);

	if (pair.n_calls == MAX_CALLS || side_of(session) < 0) {
		pair.overflow = true;
		return 0;
	}
	c = &pair.calls[pair.n_calls++];
	c->side = side_of(session);
	snprintf(c->label, sizeof(c->label), "%s", label);
	if (strlen(label) > LABEL_MAX || !secret->size || secret->size > SECRET_MAX) {
		pair.overflow = true;
		return 0;
	}
	memcpy(c->secret, secret->data, secret->size);
	c->secret_len = secret->size;
	c->snap_len = n < SNAP ? n : SNAP;
	memcpy(c->snap, session, c->snap_len);
	return 0;
}

static int load_api(const struct calib_lib *lib, char *why, size_t len)
{
#define SYM(field, name)                                                                     \
	do {                                                                                 \
		*(void **)&api.field = lib->lookup(name);                                    \
		if (!api.field) {                                                            \
			snprintf(why, len, "GnuTLS without %s", name);                       \
			return -ENOENT;                                                      \
		}                                                                            \
	} while (0)
	SYM(check_version, "gnutls_check_version");
	SYM(init, "gnutls_init");
	SYM(deinit, "gnutls_deinit");
	SYM(get_keylog_function, "gnutls_session_get_keylog_function");
	SYM(set_keylog_function, "gnutls_session_set_keylog_function");
	SYM(priority_set_direct, "gnutls_priority_set_direct");
	SYM(credentials_set, "gnutls_credentials_set");
	SYM(psk_allocate_client_credentials, "gnutls_psk_allocate_client_credentials");
	SYM(psk_set_client_credentials, "gnutls_psk_set_client_credentials");
	SYM(psk_free_client_credentials, "gnutls_psk_free_client_credentials");
	SYM(psk_allocate_server_credentials, "gnutls_psk_allocate_server_credentials");
	SYM(psk_set_server_credentials_function, "gnutls_psk_set_server_credentials_function");
	SYM(psk_free_server_credentials, "gnutls_psk_free_server_credentials");
	SYM(transport_set_push_function, "gnutls_transport_set_push_function");
	SYM(transport_set_pull_function, "gnutls_transport_set_pull_function");
	SYM(transport_set_ptr, "gnutls_transport_set_ptr");
	SYM(transport_set_errno, "gnutls_transport_set_errno");
	SYM(handshake, "gnutls_handshake");
	SYM(session_get_random, "gnutls_session_get_random");
	SYM(malloc, "gnutls_malloc");
#undef SYM
	return 0;
}

int gnutls_find_hook(const uint8_t *c, size_t n, uint32_t *skip, uint32_t *flag)
{
	size_t i = 0;
	uint32_t disp;

	if (n >= 4 && !memcmp(c, "\xf3\x0f\x1e\xfa", 4)) /* endbr64 */
		i = 4;
	if (i + 4 <= n && c[i] == 0x80 && c[i + 1] == 0x7f && c[i + 3] == 0) {
		disp = c[i + 2];
		if (disp & 0x80) /* a negative displacement is no field of the session */
			return -ENOTSUP;
		i += 4;
	} else if (i + 7 <= n && c[i] == 0x80 && c[i + 1] == 0xbf && c[i + 6] == 0) {
		memcpy(&disp, c + i + 2, 4);
		if (disp >= 65536)
			return -ENOTSUP;
		i += 7;
	} else {
		return -ENOTSUP;
	}
	if (!(i + 2 <= n && (c[i] == 0x75 || c[i] == 0x74)) &&
	    !(i + 6 <= n && c[i] == 0x0f && (c[i + 1] == 0x85 || c[i + 1] == 0x84)))
		return -ENOTSUP;
	*skip = (uint32_t)i;
	*flag = disp;
	return 0;
}

/* A TLS 1.2 (tls13 false) or TLS 1.3 pair of handshakes, with on_keylog as keylog function of both
 * sessions. 0, or -errno with why. */
static int handshake(bool tls13, char *why, size_t len)
{
	const char *prio = tls13 ? "NORMAL:-VERS-ALL:+VERS-TLS1.3:+ECDHE-PSK:+PSK" :
				   "NORMAL:-VERS-ALL:+VERS-TLS1.2:+ECDHE-PSK:+PSK";
	const struct datum key = { (unsigned char *)psk, sizeof(psk) };
	void *ccred = NULL, *scred = NULL;
	int rc[2] = { 1, 1 }, ret = -EPROTO;

	memset(&pair, 0, sizeof(pair));
	if (api.psk_allocate_client_credentials(&ccred) || api.psk_allocate_server_credentials(&scred) ||
	    api.psk_set_client_credentials(ccred, "tlsrec", &key, GNUTLS_PSK_KEY_RAW) ||
	    api.init(&pair.s[0], GNUTLS_CLIENT) || api.init(&pair.s[1], GNUTLS_SERVER))
		goto out;
	api.psk_set_server_credentials_function(scred, server_key);
	for (uintptr_t i = 0; i < 2; i++) {
		if (api.priority_set_direct(pair.s[i], prio, NULL) ||
		    api.credentials_set(pair.s[i], GNUTLS_CRD_PSK, i ? scred : ccred))
			goto out;
		api.transport_set_ptr(pair.s[i], (void *)i);
		api.transport_set_push_function(pair.s[i], push);
		api.transport_set_pull_function(pair.s[i], pull);
		api.set_keylog_function(pair.s[i], on_keylog);
	}
	for (int i = 0; i < 64 && (rc[0] || rc[1]); i++) {
		for (int k = 0; k < 2; k++) {
			if (rc[k])
				rc[k] = api.handshake(pair.s[k]);
			if (rc[k] && rc[k] != GNUTLS_E_AGAIN && rc[k] != GNUTLS_E_INTERRUPTED)
				goto out;
		}
	}
	ret = rc[0] || rc[1] || pair.overflow ? -EPROTO : 0;
out:
	if (ret)
		snprintf(why, len, "a TLS %s handshake in memory failed", tls13 ? "1.3" : "1.2");
	return ret;
}

static void pair_free(void)
{
	for (int i = 0; i < 2; i++)
		if (pair.s[i])
			api.deinit(pair.s[i]);
	pair.s[0] = pair.s[1] = NULL;
}

/* Which of the labels a handshake must give a call is: 0 to 4 for those of TLS 1.3, 5 for TLS
 * 1.2's, 6 for TLS 1.3's early ones (a pre-shared key gives them, as here), or -1. */
static int label_index(const char *label)
{
	static const char *const labels[] = {
		"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
		"CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET",
		"CLIENT_RANDOM", "CLIENT_EARLY_TRAFFIC_SECRET", "EARLY_EXPORTER_SECRET",
	};

	for (int k = 0; k < 8; k++)
		if (!strcmp(label, labels[k]))
			return k < 6 ? k : 6;
	return -1;
}

/*
 * What one pair of handshakes proves: each side's keylog function got once each label a TLS 1.2
 * (one) or TLS 1.3 (five, and early ones) handshake has, each while the byte at cal->gnutls_flag
 * was not 0 (as the default function tests), and the client random is at one offset of the
 * session at every call: *at. 0, or -errno with why.
 */
static int check_pair(bool tls13, struct calibration *cal, uint32_t *at, char *why, size_t len)
{
	const char *v = tls13 ? "TLS 1.3" : "TLS 1.2";
	unsigned seen[2][7] = { { 0 } }, found = 0;
	struct datum cr = { 0 }, sr = { 0 };
	size_t snap = SNAP;

	api.session_get_random(pair.s[0], &cr, &sr);
	if (cr.size != 32) {
		snprintf(why, len, "no client random after a %s handshake", v);
		return -EPROTO;
	}
	for (unsigned i = 0; i < pair.n_calls; i++) {
		const struct call *c = &pair.calls[i];
		int k = label_index(c->label);

		if (k < 0 || (k == 5) == tls13) {
			snprintf(why, len, "its keylog function got the label %.40s in a %s handshake",
				 c->label, v);
			return -ESRCH;
		}
		if (c->snap_len <= cal->gnutls_flag || !c->snap[cal->gnutls_flag]) {
			snprintf(why, len, "the byte its keylog function tests is 0 during a handshake");
			return -ESRCH;
		}
		if (c->snap_len < snap)
			snap = c->snap_len;
		seen[c->side][k]++;
	}
	for (int side = 0; side < 2; side++) {
		for (int k = tls13 ? 0 : 5; k < (tls13 ? 5 : 6); k++) {
			if (seen[side][k] == 1)
				continue;
			snprintf(why, len, "its keylog function got a %s %s secret %u times, not once",
				 v, side ? "server's" : "client's", seen[side][k]);
			return -ESRCH;
		}
	}
	for (size_t o = 0; o + 32 <= snap; o++) {
		unsigned i = 0;

		while (i < pair.n_calls && !memcmp(pair.calls[i].snap + o, cr.data, 32))
			i++;
		if (i == pair.n_calls && !found++)
			*at = (uint32_t)o;
	}
	if (found != 1 || *at >= 65536) {
		snprintf(why, len, "the client random is at %u places in the session, not 1", found);
		return -ESRCH;
	}
	if (tls13)
		cal->gnutls_hits13 = pair.n_calls / 2;
	else
		cal->gnutls_hits12 = pair.n_calls / 2;
	return 0;
}

int gnutls_calibrate(const struct calib_lib *lib, struct calibration *cal, char *why, size_t len)
{
	uint8_t code[16];
	uint32_t skip, flag, at[2] = { 0, 0 };
	keylog_fn f;
	void *s = NULL;
	int ret = load_api(lib, why, len);

	if (ret)
		return ret;
	cal->kind = CALIB_GNUTLS;
	snprintf(cal->version, sizeof(cal->version), "GnuTLS %.100s", api.check_version(NULL));
	if (api.init(&s, GNUTLS_CLIENT)) {
		snprintf(why, len, "gnutls_init failed");
		return -EPROTO;
	}
	f = api.get_keylog_function(s);
	api.deinit(s);
	if (!f || !lib->code_at((uintptr_t)f, code)) {
		snprintf(why, len, "its default keylog function is not in the file's code");
		return -ESRCH;
	}
	if (gnutls_find_hook(code, sizeof(code), &skip, &flag)) {
		snprintf(why, len, "its default keylog function does not start as GnuTLS 3.6-3.8's: "
				   "no test of the session and a conditional jump");
		return -ENOTSUP;
	}
	cal->gnutls_flag = flag;
	cal->hooks[0] = lib->file_offset((uintptr_t)f + skip);
	cal->n_hooks = 1;
	cal->hook_cheap = true;
	for (int tls13 = 0; !ret && tls13 < 2; tls13++) {
		ret = handshake(tls13, why, len);
		if (!ret)
			ret = check_pair(tls13, cal, &at[tls13], why, len);
		pair_free();
	}
	if (!ret && at[0] != at[1]) {
		snprintf(why, len, "the client random moves between TLS 1.2 and TLS 1.3");
		ret = -ESRCH;
	}
	cal->gnutls_random = at[0];
	return ret;
}

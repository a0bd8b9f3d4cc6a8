// SPDX-License-Identifier: BSD-2-Clause
/*
 * Calibration runs in a child process: tlsrec itself does not link OpenSSL, and the child loads the
 * one file being calibrated (with its own dependencies, from its own root). The child is tlsrec run
 * again (/proc/self/exe) with CALIBRATE_ARG as first argument: a fresh process, not a fork of one
 * with threads. It writes a struct calib_reply on its standard output.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include <unwind.h>

#include "calib_gnutls.h"
#include "calibrate.h"
#include "clock.h"
#include "elfnote.h"
#include "exeload.h"
#include "exemap.h"
#include "ptrscan.h"
#include "sandbox.h"

#define CALIBRATE_ARG "--calibrate-child"
#define CHILD_TIMEOUT_MS 20000
#define PROOF_TIMEOUT_MS 5000
/* The child's descriptors: the library, and the mount namespace it is seen from. */
#define LIB_FD 3
#define MNTNS_FD 4

struct calib_reply {
	int status; /* 0 or -errno */
	char why[200];
	struct calibration cal;
};

/* OpenSSL's API, looked up in the library being calibrated (and its libcrypto). */
struct api {
	const void *(*TLS_method)(void);
	void *(*SSL_CTX_new)(const void *);
	void (*SSL_CTX_free)(void *);
	long (*SSL_CTX_ctrl)(void *, int, long, void *);
	int (*SSL_CTX_use_certificate)(void *, void *);
	int (*SSL_CTX_use_PrivateKey)(void *, void *);
	void (*SSL_CTX_set_keylog_callback)(void *, void (*)(const void *, const char *));
	void (*SSL_CTX_set_msg_callback)(void *, void (*)(int, int, int, const void *, size_t,
							 void *, void *));
	void (*SSL_CTX_set_info_callback)(void *, void (*)(const void *, int, int));
	int (*SSL_CTX_set_ciphersuites)(void *, const char *);
	void *(*SSL_new)(void *);
	void (*SSL_free)(void *);
	int (*SSL_set_fd)(void *, int);
	void (*SSL_set_connect_state)(void *);
	void (*SSL_set_accept_state)(void *);
	int (*SSL_do_handshake)(void *);
	int (*SSL_get_error)(const void *, int);
	size_t (*SSL_get_client_random)(const void *, unsigned char *, size_t);
	void *(*SSL_get_session)(const void *);
	size_t (*SSL_SESSION_get_master_key)(const void *, unsigned char *, size_t);
	const void *(*SSL_get_current_cipher)(const void *);
	uint32_t (*SSL_CIPHER_get_id)(const void *);
	int (*SSL_version)(const void *);
	void *(*BIO_new_mem_buf)(const void *, int);
	int (*BIO_free)(void *);
	void *(*PEM_read_bio_X509)(void *, void **, void *, void *);
	void *(*PEM_read_bio_PrivateKey)(void *, void **, void *, void *);
	void (*X509_free)(void *);
	void (*EVP_PKEY_free)(void *);
	const char *(*OpenSSL_version)(int);
	unsigned char *(*HMAC)(const void *, const void *, int, const unsigned char *, size_t,
			       unsigned char *, unsigned int *);
	const void *(*EVP_sha256)(void);
	int (*EVP_Digest)(const void *, size_t, unsigned char *, unsigned int *, const void *,
			  void *);
};

#define SSL_CTRL_SET_MAX_PROTO_VERSION 124
#define SSL_ERROR_WANT_READ 2
#define SSL_ERROR_WANT_WRITE 3
#define SSL3_RT_HANDSHAKE 22
#define SSL_CB_HANDSHAKE_DONE 0x20
#define TLS1_2_VERSION 0x303
#define TLS1_3_VERSION 0x304
#define HS_SERVER_HELLO 2
#define HS_FINISHED 20
#define HASH_LEN 32 /* the handshakes here use SHA-256 suites */

/* A throwaway P-256 key and certificate, only for the handshakes between two SSL objects of the
 * calibration process itself. */
static const char cert_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBkDCCATegAwIBAgIUF3EO3ob+yeNJfcpT9HYMfCco4NowCgYIKoZIzj0EAwIw\n"
	"HTEbMBkGA1UEAwwSdGxzcmVjLWNhbGlicmF0aW9uMCAXDTI2MTEyNjA5Mjk0MFoY\n"
	"DzIxMjYxMTAyMDkyOTQwWjAdMRswGQYDVQQDDBJ0bHNyZWMtY2FsaWJyYXRpb24w\n"
	"WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARzp0hqIeZPWAfn1XAhGyEeJCQB5Qhf\n"
	"Nqxhl0+fRSI7pQEYWwzh5daHdRlEY+sldSyauZMfpmOWC3jAOyDbLV2po1MwUTAd\n"
	"BgNVHQ4EFgQUkbJ19ehe6+BKIj1k0NzCNFuq740wHwYDVR0jBBgwFoAUkbJ19ehe\n"
	"6+BKIj1k0NzCNFuq740wDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNHADBE\n"
	"AiAUpV+8Vu1StEnjg7+v1g08kf/ZNVSahxZuyEb3+wwxHAIgbJiCIPMHnwHoe0cD\n"
	"8C62YAQW0/9gzvXrTkkuXFSKjZc=\n"
	"-----END CERTIFICATE-----\n";

static const char key_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgLhRBT6yyXhIOy8Kq\n"
	"suJx/b6r1tlkRqLlZdrmU3wUzeKhRANCAARzp0hqIeZPWAfn1XAhGyEeJCQB5Qhf\n"
	"Nqxhl0+fRSI7pQEYWwzh5daHdRlEY+sldSyauZMfpmOWC3jAOyDbLV2p\n"
	"-----END PRIVATE KEY-----\n";

static struct api api;

/* Where API functions are looked up: the loaded file and its dependencies, and for an executable
 * also its own symbol table (exe_fd, or -1). */
static struct {
	void *handle; /* NULL for an executable mapped at its own addresses (image) */
	uintptr_t bias;
	int fd;     /* the file, to read its code */
	int exe_fd; /* the loadable copy of an executable, or the executable itself, or -1 */
	struct exe_image image;
} loaded = { .fd = -1, .exe_fd = -1 };

/* What the callbacks saw during one pair of handshakes. */
static struct {
	char keylog[4096];
	size_t keylog_len;
	uint8_t transcript[32768]; /* the client's handshake messages, in order */
	size_t transcript_len;
	uintptr_t done_from[4]; /* where the "handshake done" callbacks were called from */
	unsigned n_done;
	bool overflow;
} seen;

static void on_keylog(const void *ssl, const char *line)
{
	size_t n = strlen(line);

	if (seen.keylog_len + n + 2 > sizeof(seen.keylog)) {
		seen.overflow = true;
		return;
	}
	memcpy(seen.keylog + seen.keylog_len, line, n);
	seen.keylog_len += n;
	seen.keylog[seen.keylog_len++] = '\n';
	seen.keylog[seen.keylog_len] = '\0';
}

static void on_msg(int write_p, int version, int type, const void *buf, size_t len, void *ssl,
		   void *arg)
{
	if (type != SSL3_RT_HANDSHAKE)
		return;
	if (seen.transcript_len + len > sizeof(seen.transcript)) {
		seen.overflow = true;
		return;
	}
	memcpy(seen.transcript + seen.transcript_len, buf, len);
	seen.transcript_len += len;
}

static void on_info(const void *ssl, int where, int ret)
{
	if (where != SSL_CB_HANDSHAKE_DONE)
		return;
	if (seen.n_done == sizeof(seen.done_from) / sizeof(seen.done_from[0])) {
		seen.overflow = true;
		return;
	}
	seen.done_from[seen.n_done++] = (uintptr_t)__builtin_return_address(0);
}

static void *lookup(const char *name)
{
	void *f = loaded.handle ? dlsym(loaded.handle, name) : NULL;

	if (!f && loaded.exe_fd >= 0)
		f = (void *)exe_symbol(loaded.exe_fd, loaded.bias, name);
	return f;
}

static int load_api(char *why, size_t len)
{
#define SYM(name)                                                                            \
	do {                                                                                 \
		*(void **)&api.name = lookup(#name);                                         \
		if (!api.name) {                                                             \
			snprintf(why, len, "no %s: not OpenSSL 1.1.1 or later", #name);      \
			return -ENOENT;                                                      \
		}                                                                            \
	} while (0)
	SYM(TLS_method);
	SYM(SSL_CTX_new);
	SYM(SSL_CTX_free);
	SYM(SSL_CTX_ctrl);
	SYM(SSL_CTX_use_certificate);
	SYM(SSL_CTX_use_PrivateKey);
	SYM(SSL_CTX_set_keylog_callback);
	SYM(SSL_CTX_set_msg_callback);
	SYM(SSL_CTX_set_info_callback);
	SYM(SSL_CTX_set_ciphersuites);
	SYM(SSL_new);
	SYM(SSL_free);
	SYM(SSL_set_fd);
	SYM(SSL_set_connect_state);
	SYM(SSL_set_accept_state);
	SYM(SSL_do_handshake);
	SYM(SSL_get_error);
	SYM(SSL_get_client_random);
	SYM(SSL_get_session);
	SYM(SSL_SESSION_get_master_key);
	SYM(SSL_get_current_cipher);
	SYM(SSL_CIPHER_get_id);
	SYM(SSL_version);
	SYM(BIO_new_mem_buf);
	SYM(BIO_free);
	SYM(PEM_read_bio_X509);
	SYM(PEM_read_bio_PrivateKey);
	SYM(X509_free);
	SYM(EVP_PKEY_free);
	SYM(HMAC);
	SYM(EVP_sha256);
	SYM(EVP_Digest);
#undef SYM
	/* Only for --list-targets; an executable may not have linked it in. */
	*(void **)&api.OpenSSL_version = lookup("OpenSSL_version");
	return 0;
}

/*
 * A breakpoint of the calibration's own, to prove a hook before the kernel gets it: an int3 over the
 * second instruction of a function (the first, a push, changes no argument register; a uprobe that
 * another tlsrec has there is left to the kernel), in this process's private copy of the code.
 * Each call records the function's first four arguments and, when the first is one of the two
 * SSL objects being watched, a copy of that object as it is then; the handler steps over the
 * original instruction (the trap flag) and puts the int3 back. x86-64 only.
 */
#define TRAP_HITS 8
#define TRAP_SNAP 16384
#define EFLAGS_TF 0x100

static struct {
	uintptr_t at; /* where the int3 is, or 0 */
	uint8_t orig; /* the byte under it, as the file holds it */
	bool stepping;
	const void *obj[2]; /* the client's and the server's SSL object */
	size_t snap_len;
	unsigned n_hits;
	bool overflow;
	struct hit {
		const void *ssl;
		int arg2, arg3, arg4;
		uint8_t snap[TRAP_SNAP];
	} hits[TRAP_HITS];
} trap;

#ifdef __x86_64__
static void on_trap(int sig, siginfo_t *si, void *uc)
{
	greg_t *g = ((ucontext_t *)uc)->uc_mcontext.gregs;
	struct hit *h;

	(void)sig;
	if (trap.stepping && si->si_code == TRAP_TRACE) { /* the original instruction ran: re-arm */
		*(volatile uint8_t *)trap.at = 0xcc;
		g[REG_EFL] &= ~(greg_t)EFLAGS_TF;
		trap.stepping = false;
		return;
	}
	if (!trap.at || (uintptr_t)g[REG_RIP] - 1 != trap.at)
		return;
	if (trap.n_hits < TRAP_HITS) {
		h = &trap.hits[trap.n_hits++];
		h->ssl = (const void *)g[REG_RDI];
		h->arg2 = (int)g[REG_RSI];
		h->arg3 = (int)g[REG_RDX];
		h->arg4 = (int)g[REG_RCX];
		if (h->ssl && (h->ssl == trap.obj[0] || h->ssl == trap.obj[1]))
			memcpy(h->snap, h->ssl, trap.snap_len);
	} else {
		trap.overflow = true;
	}
	*(volatile uint8_t *)trap.at = trap.orig;
	g[REG_RIP] = (greg_t)trap.at;
	g[REG_EFL] |= EFLAGS_TF;
	trap.stepping = true;
}
#endif

/* Watch the calls with these SSL objects (a new pair of handshakes). */
static void trap_watch(const void *c, const void *s)
{
	trap.obj[0] = c;
	trap.obj[1] = s;
	trap.n_hits = 0;
	trap.overflow = false;
}

struct pair {
	void *cctx, *sctx, *c, *s;
	int fds[2];
};

static void pair_free(struct pair *p)
{
	if (p->c)
		api.SSL_free(p->c);
	if (p->s)
		api.SSL_free(p->s);
	if (p->cctx)
		api.SSL_CTX_free(p->cctx);
	if (p->sctx)
		api.SSL_CTX_free(p->sctx);
	for (int i = 0; i < 2; i++)
		if (p->fds[i] >= 0)
			close(p->fds[i]);
	memset(p, 0, sizeof(*p));
	p->fds[0] = p->fds[1] = -1;
}

/*
 * A client and a server SSL object of this library after a complete handshake between them over a
 * socket pair (SSL_set_fd is in every build, where BIO pairs may not be linked in), at version: for TLS 1.2 only the server is limited to it, so that the client's
 * offered version (1.3) differs from the negotiated one - that tells the version field apart.
 */
static int handshake(int version, struct pair *p, char *why, size_t len)
{
	void *bio, *x509, *pkey;
	int rc = 0, rs = 0;

	memset(&seen, 0, sizeof(seen));
	memset(p, 0, sizeof(*p));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, p->fds)) {
		p->fds[0] = p->fds[1] = -1;
		goto fail;
	}
	p->cctx = api.SSL_CTX_new(api.TLS_method());
	p->sctx = api.SSL_CTX_new(api.TLS_method());
	if (!p->cctx || !p->sctx)
		goto fail;
	for (int i = 0; i < 2; i++) {
		void *ctx = i ? p->sctx : p->cctx;

		api.SSL_CTX_set_keylog_callback(ctx, on_keylog);
		api.SSL_CTX_set_info_callback(ctx, on_info);
		if (version == TLS1_3_VERSION)
			api.SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256");
	}
	if (version == TLS1_2_VERSION)
		api.SSL_CTX_ctrl(p->sctx, SSL_CTRL_SET_MAX_PROTO_VERSION, version, NULL);
	api.SSL_CTX_set_msg_callback(p->cctx, on_msg);
	bio = api.BIO_new_mem_buf(cert_pem, -1);
	x509 = bio ? api.PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	if (bio)
		api.BIO_free(bio);
	bio = api.BIO_new_mem_buf(key_pem, -1);
	pkey = bio ? api.PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	if (bio)
		api.BIO_free(bio);
	rc = x509 && pkey && api.SSL_CTX_use_certificate(p->sctx, x509) == 1 &&
	     api.SSL_CTX_use_PrivateKey(p->sctx, pkey) == 1;
	if (x509)
		api.X509_free(x509);
	if (pkey)
		api.EVP_PKEY_free(pkey);
	if (!rc)
		goto fail;
	p->c = api.SSL_new(p->cctx);
	p->s = api.SSL_new(p->sctx);
	if (!p->c || !p->s || api.SSL_set_fd(p->c, p->fds[0]) != 1 ||
	    api.SSL_set_fd(p->s, p->fds[1]) != 1)
		goto fail;
	api.SSL_set_connect_state(p->c);
	api.SSL_set_accept_state(p->s);
	trap_watch(p->c, p->s);
	rc = rs = 0;
	for (int i = 0; i < 64 && (rc != 1 || rs != 1); i++) {
		if (rc != 1)
			rc = api.SSL_do_handshake(p->c);
		if (rs != 1)
			rs = api.SSL_do_handshake(p->s);
	}
	if (rc == 1 && rs == 1 && !seen.overflow && api.SSL_version(p->c) == version)
		return 0;
fail:
	snprintf(why, len, "a TLS %s handshake in memory failed", version == TLS1_3_VERSION ? "1.3" : "1.2");
	pair_free(p);
	return -EPROTO;
}

/* The value of key log label in what the callbacks saw. Its length, or 0. */
static size_t keylog_value(const char *label, uint8_t *out, size_t cap)
{
	char pattern[64];
	const char *p;
	size_t n = 0;

	snprintf(pattern, sizeof(pattern), "%s ", label);
	for (p = seen.keylog; (p = strstr(p, pattern)); p++)
		if (p == seen.keylog || p[-1] == '\n')
			break;
	if (!p)
		return 0;
	p = strchr(p + strlen(pattern), ' '); /* skip the client random */
	if (!p)
		return 0;
	for (p++; n < cap && p[0] && p[1] && p[0] != '\n'; p += 2, n++) {
		unsigned v;

		if (sscanf(p, "%2x", &v) != 1)
			return 0;
		out[n] = (uint8_t)v;
	}
	return n;
}

/* How many times needle occurs in hay, at offsets that are multiples of step; *at the first. */
static int find(const uint8_t *hay, size_t n, const void *needle, size_t len, size_t step,
		size_t *at)
{
	int count = 0;

	for (size_t o = 0; o + len <= n; o += step) {
		if (memcmp(hay + o, needle, len))
			continue;
		if (!count++)
			*at = o;
	}
	return count;
}

/* Exactly once, or a reason. */
static int find_one(const char *what, const uint8_t *hay, size_t n, const void *needle,
		    size_t len, size_t step, __u32 *at, char *why, size_t wlen)
{
	size_t o = 0;
	int count = find(hay, n, needle, len, step, &o);

	if (count != 1) {
		snprintf(why, wlen, "the %s is at %d places in the object, not 1", what, count);
		return -ESRCH;
	}
	*at = (__u32)o;
	return 0;
}

/*
 * Exactly once in the client's SSL object of pair p (n bytes), or else one pointer away from it at
 * the same place as in the server's (a neighbour of the structure pointed to may hold the same
 * value): then bit is set in off->via and off->s3 is that pointer's offset, the same for every
 * such field (the first one found sets it).
 */
static int find_near(const char *what, const void *const p[2], size_t n, const void *needle,
		     size_t len, size_t step, __u32 bit, struct tr_ssl_offsets *off, __u32 *at,
		     char *why, size_t wlen)
{
	uint32_t ptr = 0, o = 0;
	size_t o1 = 0;
	int count = find(p[0], n, needle, len, step, &o1);

	if (count == 1) {
		off->via &= ~bit;
		*at = (__u32)o1;
		return 0;
	}
	/* Once one field is behind a pointer, the others are looked for behind that one only. */
	if (!count)
		count = off->via ? ptrscan(p, off->s3, off->s3 + 8, needle, len, step, &ptr, &o) :
				   ptrscan(p, 0, n, needle, len, step, &ptr, &o);
	if (count < 0) {
		snprintf(why, wlen, "cannot look for the %s: %s", what, strerror(-count));
		return count;
	}
	if (count != 1) {
		snprintf(why, wlen, "the %s is at %d places in the object or one pointer away, not 1",
			 what, count);
		return -ESRCH;
	}
	off->via |= bit;
	off->s3 = ptr;
	*at = o;
	return 0;
}

/* Where the field at offset at (in via by bit) of SSL object obj is. */
static const uint8_t *field_in(const void *obj, const struct tr_ssl_offsets *off, __u32 bit,
			       __u32 at)
{
	const uint8_t *base = obj;

	if (off->via & bit)
		memcpy(&base, (const uint8_t *)obj + off->s3, sizeof(base));
	return base + at;
}

static void sha256(const uint8_t *data, size_t len, uint8_t out[HASH_LEN])
{
	unsigned int n = HASH_LEN;

	api.EVP_Digest(data, len, out, &n, api.EVP_sha256(), NULL);
}

/* HKDF-Expand-Label(secret, label, context, 32) with SHA-256 (RFC 8446 section 7.1): one block. */
static void expand_label(const uint8_t *secret, const char *label, const uint8_t *ctx, size_t ctx_len,
			 uint8_t out[HASH_LEN])
{
	uint8_t info[2 + 1 + 6 + 32 + 1 + HASH_LEN + 1];
	size_t n = 0, l = strlen(label);
	unsigned int olen = HASH_LEN;

	info[n++] = 0;
	info[n++] = HASH_LEN;
	info[n++] = (uint8_t)(6 + l);
	memcpy(info + n, "tls13 ", 6);
	memcpy(info + n + 6, label, l);
	n += 6 + l;
	info[n++] = (uint8_t)ctx_len;
	memcpy(info + n, ctx, ctx_len);
	n += ctx_len;
	info[n++] = 1; /* T(1): one HMAC block is the whole output */
	api.HMAC(api.EVP_sha256(), secret, HASH_LEN, info, n, out, &olen);
}

/* The offset X where HKDF-Expand-Label(object[X..], label, ctx) gives want, exactly once. */
static int find_secret_of(const char *what, const uint8_t *obj, size_t n, const char *label,
			  const uint8_t *ctx, const uint8_t *want, __u32 *at, char *why, size_t wlen)
{
	uint8_t out[HASH_LEN];
	int count = 0;

	for (size_t o = 0; o + HASH_LEN <= n; o++) {
		expand_label(obj + o, label, ctx, HASH_LEN, out);
		if (memcmp(out, want, HASH_LEN))
			continue;
		if (!count++)
			*at = (__u32)o;
	}
	if (count != 1) {
		snprintf(why, wlen, "the %s is at %d places in the SSL object, not 1", what, count);
		return -ESRCH;
	}
	return 0;
}

/* The transcript hashes RFC 8446 derives from: ClientHello..ServerHello, and ClientHello..server
 * Finished (the first Finished the client receives). */
static int transcript_hashes(uint8_t hs[HASH_LEN], uint8_t fin[HASH_LEN], char *why, size_t len)
{
	size_t off = 0, sh = 0, sf = 0;

	while (off + 4 <= seen.transcript_len) {
		const uint8_t *m = seen.transcript + off;
		size_t mlen = (size_t)m[1] << 16 | (size_t)m[2] << 8 | m[3];

		off += 4 + mlen;
		if (m[0] == HS_SERVER_HELLO && !sh)
			sh = off;
		if (m[0] == HS_FINISHED && !sf) {
			sf = off;
			break;
		}
	}
	if (!sh || !sf || sf > seen.transcript_len) {
		snprintf(why, len, "the TLS 1.3 handshake transcript is not as expected");
		return -EPROTO;
	}
	sha256(seen.transcript, sh, hs);
	sha256(seen.transcript, sf, fin);
	return 0;
}

/* The loaded library's load bias and program headers, to turn addresses into file offsets. */
struct lib_map {
	uintptr_t bias;
	const ElfW(Phdr) *phdr;
	size_t phnum;
};

static int find_map(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct lib_map *m = arg;

	if (info->dlpi_addr != m->bias)
		return 0;
	m->phdr = info->dlpi_phdr;
	m->phnum = info->dlpi_phnum;
	return 1;
}

/* The loaded file's map: the dynamic linker's, or the one of the executable mapped by hand. */
static void lib_map_get(struct lib_map *m)
{
	m->bias = loaded.bias;
	if (loaded.handle) {
		dl_iterate_phdr(find_map, m);
		return;
	}
	m->phdr = loaded.image.ph;
	m->phnum = loaded.image.phnum;
}

/* The file offset of an address inside the library's executable segment, or 0. */
static unsigned long file_offset(const struct lib_map *m, uintptr_t addr)
{
	uintptr_t va = addr - m->bias;

	for (size_t i = 0; i < m->phnum; i++) {
		const ElfW(Phdr) *p = &m->phdr[i];

		if (p->p_type == PT_LOAD && (p->p_flags & PF_X) && va >= p->p_vaddr &&
		    va < p->p_vaddr + p->p_filesz)
			return (unsigned long)(va - p->p_vaddr + p->p_offset);
	}
	return 0;
}

/*
 * The code at addr, as the file holds it: in memory, another tool's uprobe (or another tlsrec's)
 * may have put a breakpoint over the first byte of the very function being looked at. Returns
 * false when addr is not in the file's code.
 */
static bool code_at(const struct lib_map *m, uintptr_t addr, uint8_t code[16])
{
	unsigned long off = file_offset(m, addr);

	return off && pread(loaded.fd, code, 16, (off_t)off) == 16;
}

/* Where a handshake function (return state_machine(s, 0 or 1)) tail-calls to, or 0. */
static uintptr_t tail_call_target(const struct lib_map *m, uintptr_t addr)
{
	uint8_t p[16];
	size_t i = 0;
	int32_t rel;

	if (!code_at(m, addr, p))
		return 0;
	if (!memcmp(p, "\xf3\x0f\x1e\xfa", 4)) /* endbr64 */
		i = 4;
	if (p[i] == 0x31 && p[i + 1] == 0xf6) /* xor %esi,%esi */
		i += 2;
	else if (p[i] == 0xbe) /* mov $imm32,%esi */
		i += 5;
	else
		return 0;
	if (p[i] == 0xe9) { /* jmp rel32 */
		memcpy(&rel, p + i + 1, 4);
		return addr + i + 5 + (intptr_t)rel;
	}
	if (p[i] == 0xeb) /* jmp rel8 */
		return addr + i + 2 + (int8_t)p[i + 1];
	return 0;
}

/* Past an endbr64, where the first real instruction is: the entry that uprobes can hook. */
static uintptr_t skip_endbr(const struct lib_map *m, uintptr_t addr)
{
	uint8_t p[16];

	return code_at(m, addr, p) && !memcmp(p, "\xf3\x0f\x1e\xfa", 4) ? addr + 4 : addr;
}

/* The length of push %reg at addr, with or without REX.B (1 or 2), or 0 for another instruction:
 * the kernel emulates a push, no single-step (~0.5 us a hit). */
static unsigned push_len(const struct lib_map *m, uintptr_t addr)
{
	uint8_t p[16];

	if (!code_at(m, addr, p))
		return 0;
	if ((p[0] & 0xf8) == 0x50)
		return 1;
	return p[0] == 0x41 && (p[1] & 0xf8) == 0x50 ? 2 : 0;
}

/*
 * Where to hook: the SSL object's handshake_func is ossl_statem_connect in a client and
 * ossl_statem_accept in a server; both are "return state_machine(s, server)", which runs each step
 * of a handshake, implicit ones inside SSL_read/SSL_write included, and each TLS 1.3 post-handshake
 * message (KeyUpdate, NewSessionTicket) - never a plain read or write.
 */
static int find_hook(const struct pair *p, size_t n, struct calibration *cal, char *why,
		     size_t len)
{
	struct lib_map m = { 0 };
	uintptr_t fc = 0, fs = 0, tc, ts;
	int count = 0;

	lib_map_get(&m);
	for (size_t o = 0; o + 8 <= n; o += 8) {
		uintptr_t a, b;

		memcpy(&a, (const uint8_t *)p->c + o, 8);
		memcpy(&b, (const uint8_t *)p->s + o, 8);
		if (a != b && file_offset(&m, a) && file_offset(&m, b)) {
			fc = a;
			fs = b;
			count++;
		}
	}
	if (count != 1) {
		snprintf(why, len, "the handshake function is at %d places in the SSL object, not 1",
			 count);
		return -ESRCH;
	}
	tc = tail_call_target(&m, fc);
	ts = tail_call_target(&m, fs);
	if (tc && tc == ts && file_offset(&m, tc)) {
		cal->hooks[0] = file_offset(&m, skip_endbr(&m, tc));
		cal->n_hooks = 1;
		cal->hook_cheap = push_len(&m, skip_endbr(&m, tc)) != 0;
	} else {
		/* Not the shape we know: hook the two handshake functions themselves. */
		cal->hooks[0] = file_offset(&m, skip_endbr(&m, fc));
		cal->hooks[1] = file_offset(&m, skip_endbr(&m, fs));
		cal->n_hooks = 2;
		cal->hook_cheap = push_len(&m, skip_endbr(&m, fc)) && push_len(&m, skip_endbr(&m, fs));
	}
	return 0;
}

/* The function the "handshake done" callbacks of the last pair of handshakes were called from (as
 * the unwind tables tell), or 0 with the reason in why. */
static uintptr_t done_function(char *why, size_t len)
{
	uintptr_t f = 0, g;

	if (!seen.n_done)
		snprintf(why, len, "OpenSSL did not call the handshake-done callback");
	for (unsigned i = 0; i < seen.n_done; i++) {
		g = (uintptr_t)_Unwind_FindEnclosingFunction((void *)(seen.done_from[i] - 1));
		if (!g) {
			snprintf(why, len, "no unwind table entry for where the handshake-done callback was called from");
			return 0;
		}
		if (f && g != f) {
			snprintf(why, len, "the handshake-done callbacks were called from different functions");
			return 0;
		}
		f = g;
	}
	return f;
}

/* The breakpoint at the instruction at (the one after the push at function entry). 0 or -errno. */
static int trap_arm(const struct lib_map *m, uintptr_t at, size_t snap_len)
{
#ifdef __x86_64__
	struct sigaction sa = { .sa_sigaction = on_trap, .sa_flags = SA_SIGINFO };
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uint8_t code[16];

	if (snap_len > TRAP_SNAP)
		return -EFBIG;
	if (!code_at(m, at, code))
		return -EINVAL;
	if (sigaction(SIGTRAP, &sa, NULL) ||
	    mprotect((void *)(at & ~(page - 1)), page, PROT_READ | PROT_WRITE | PROT_EXEC))
		return -errno;
	trap.orig = code[0];
	trap.snap_len = snap_len;
	trap.stepping = false;
	trap.at = at;
	*(volatile uint8_t *)at = 0xcc;
	return 0;
#else
	return -EOPNOTSUPP;
#endif
}

static void trap_disarm(void)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);

	*(volatile uint8_t *)trap.at = trap.orig;
	mprotect((void *)(trap.at & ~(page - 1)), page, PROT_READ | PROT_EXEC);
	trap.at = 0;
	signal(SIGTRAP, SIG_DFL);
}

/* What tlsrec's BPF program reads from an SSL object at the hook (bpf/secrets.bpf.c). */
struct field {
	const char *what;
	__u32 at, len;
	bool tls13;
};

static size_t fields(const struct tr_ssl_offsets *o, struct field f[10])
{
	const struct field all[] = {
		(o->via & TR_VIA_S3_CLIENT_RANDOM) ? (struct field){ "s3 pointer", o->s3, 8, false } :
						     (struct field){ "client random", o->client_random,
								     32, false },
		(o->via & TR_VIA_S3_CIPHER) ? (struct field){ "s3 pointer", o->s3, 8, false } :
					      (struct field){ "cipher pointer", o->cipher, 8, false },
		{ "session pointer", o->session, 8, false },
		{ "handshake secret", o->handshake_secret, HASH_LEN, true },
		{ "master secret", o->master_secret, HASH_LEN, true },
		{ "handshake traffic hash", o->handshake_traffic_hash, HASH_LEN, true },
		{ "server finished hash", o->server_finished_hash, HASH_LEN, true },
		{ "client application secret", o->client_app_secret, HASH_LEN, true },
		{ "server application secret", o->server_app_secret, HASH_LEN, true },
		{ "exporter secret", o->exporter_secret, HASH_LEN, true },
	};

	memcpy(f, all, sizeof(all));
	return sizeof(all) / sizeof(all[0]);
}

/*
 * What the breakpoint saw in one pair of handshakes at version, against what tlsrec needs of the
 * hook (its nf fields f): every call has one of the two SSL objects as first argument, each object
 * has exactly one call with a third argument other than 0, and at that call every field tlsrec
 * reads already holds its final value.
 */
static int check_hits(const struct pair *p, const struct field *f, size_t nf, int version, char *why,
		      size_t len)
{
	const char *v = version == TLS1_3_VERSION ? "TLS 1.3" : "TLS 1.2";

	if (trap.overflow) {
		snprintf(why, len, "called more than %d times in a %s handshake", TRAP_HITS, v);
		return -ESRCH;
	}
	for (unsigned i = 0; i < trap.n_hits; i++) {
		const struct hit *h = &trap.hits[i];

		if (h->ssl != p->c && h->ssl != p->s) {
			snprintf(why, len, "called without the SSL object as first argument");
			return -ESRCH;
		}
		/* (s, wst, clearbufs, stop): the same work state (WORK_MORE_A: not 0, not 1), then
		 * (0, 0) or (1, 1) in these handshakes. Arguments in other registers (a copy of the
		 * function without wst, say) would not show that shape. */
		if (h->arg2 != trap.hits[0].arg2 || h->arg2 == 0 || h->arg2 == 1 ||
		    (h->arg3 != h->arg4) || (h->arg3 != 0 && h->arg3 != 1)) {
			snprintf(why, len, "its arguments are not (SSL, work state, 0 or 1, the same)");
			return -ESRCH;
		}
	}
	for (int side = 0; side < 2; side++) {
		const void *obj = side ? p->s : p->c;
		const struct hit *h = NULL;
		int n = 0;

		for (unsigned i = 0; i < trap.n_hits; i++) {
			if (trap.hits[i].ssl == obj && trap.hits[i].arg3) {
				h = &trap.hits[i];
				n++;
			}
		}
		if (n != 1) {
			snprintf(why, len, "it ends a %s %s handshake %d times, not once", v,
				 side ? "server's" : "client's", n);
			return -ESRCH;
		}
		for (size_t k = 0; k < nf; k++) {
			if ((f[k].tls13 && version != TLS1_3_VERSION) ||
			    !memcmp(h->snap + f[k].at, (const uint8_t *)obj + f[k].at, f[k].len))
				continue;
			snprintf(why, len, "the %s %s is not final yet when it is called", v, f[k].what);
			return -ESRCH;
		}
	}
	return 0;
}

/*
 * The hook that costs one probe per handshake step: OpenSSL calls its "handshake done" info
 * callback from tls_finish_handshake(s, wst, clearbufs, stop), where every handshake and every TLS
 * 1.3 post-handshake message (session ticket, KeyUpdate) ends; clearbufs is 1 there for the state
 * TLS_ST_OK (and for a TLS 1.3 server that accepts early data, at that point too: as the state
 * machine returning 1 there), 0 on its other calls (before a TLS 1.3 server writes its tickets, a
 * client's early data). The state machine hook, by contrast, runs twice (entry and return) on each
 * SSL_do_handshake, SSL_read or SSL_write that drives a step, WANT_READ retries included. The
 * function is the one the callbacks were called from (at; 0 when done_function did not find one,
 * with its reason in why already), proven with a breakpoint in a TLS 1.2 and a TLS 1.3 pair of
 * handshakes; it is taken only when its first instruction is one the kernel emulates.
 */
static int find_finish(uintptr_t at, struct calibration *cal, char *why, size_t len)
{
	static const int versions[] = { TLS1_2_VERSION, TLS1_3_VERSION };
	struct lib_map m = { 0 };
	size_t snap = 0;
	struct field f[10];
	size_t nf = fields(&cal->off, f);
	unsigned push;
	int ret = 0;

	if (!at)
		return -ESRCH;
	lib_map_get(&m);
	at = skip_endbr(&m, at);
	if (!file_offset(&m, at)) {
		snprintf(why, len, "the handshake-done callback was called from outside the file");
		return -ESRCH;
	}
	push = push_len(&m, at);
	if (!push) {
		snprintf(why, len, "its first instruction would be single-stepped");
		return -ESRCH;
	}
	for (size_t k = 0; k < nf; k++)
		if (f[k].at + f[k].len > snap)
			snap = f[k].at + f[k].len;
	ret = trap_arm(&m, at + push, snap);
	if (ret) {
		snprintf(why, len, "cannot set a breakpoint on it: %s", strerror(-ret));
		return ret;
	}
	for (size_t i = 0; !ret && i < 2; i++) {
		struct pair p;

		ret = handshake(versions[i], &p, why, len);
		if (!ret) {
			ret = check_hits(&p, f, nf, versions[i], why, len);
			pair_free(&p);
		}
	}
	trap_disarm();
	if (ret)
		return ret;
	cal->hooks[0] = file_offset(&m, at);
	cal->n_hooks = 1;
	cal->hook_finish = true;
	cal->hook_cheap = true;
	return 0;
}

/*
 * Read a child's answer of size bytes from fd (which is closed) into buf, within timeout_ms in all,
 * then end the child whatever it does next (it ran foreign code: it may answer and then sleep, or
 * trickle bytes) and reap it (*status). Returns how many bytes came.
 */
static size_t collect(pid_t pid, int fd, void *buf, size_t size, int timeout_ms, int *status)
{
	uint64_t deadline = clock_ns(CLOCK_MONOTONIC) / 1000000 + (uint64_t)timeout_ms;
	size_t got = 0;

	while (got < size) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long long left = (long long)(deadline - clock_ns(CLOCK_MONOTONIC) / 1000000);
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			break;
		n = read(fd, (uint8_t *)buf + got, size - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	/* One that ended by itself keeps its status (a crash is told apart). */
	if (waitpid(pid, status, WNOHANG) != pid) {
		kill(pid, SIGKILL);
		while (waitpid(pid, status, 0) < 0 && errno == EINTR)
			;
	}
	return got;
}

/*
 * find_finish in a copy of this process: it patches code and runs the library under a breakpoint,
 * and nothing that goes wrong there may cost the state machine hook calibration found already.
 * cal gets the copy's answer, or keeps its hook with the reason in hook_why.
 */
static void find_finish_apart(uintptr_t at, struct calibration *cal)
{
	struct calibration c;
	int fds[2], status;
	pid_t pid;

	if (!at)
		return; /* done_function's reason is in hook_why */
	if (pipe2(fds, O_CLOEXEC)) {
		snprintf(cal->hook_why, sizeof(cal->hook_why), "cannot start its proof: %s",
			 strerror(errno));
		return;
	}
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		c = *cal;
		find_finish(at, &c, c.hook_why, sizeof(c.hook_why));
		_exit(write(fds[1], &c, sizeof(c)) == (ssize_t)sizeof(c) ? 0 : 1);
	}
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		snprintf(cal->hook_why, sizeof(cal->hook_why), "its proof could not start");
		return;
	}
	if (collect(pid, fds[0], &c, sizeof(c), PROOF_TIMEOUT_MS, &status) == sizeof(c))
		*cal = c;
	else
		snprintf(cal->hook_why, sizeof(cal->hook_why), "its proof crashed or took too long");
}

/*
 * The fields of a TLS 1.2 pair: client random, session, master key, cipher. (No version field: more
 * than one int holds the negotiated version, and the cipher suite tells it anyway.)
 */
static int calibrate_tls12(struct calibration *cal, char *why, size_t len)
{
	struct tr_ssl_offsets *off = &cal->off;
	uint8_t cr[32], mk[48];
	const void *sess, *cipher, *objs[2];
	uint32_t id;
	struct pair p;
	size_t n, sn;
	int ret;

	ret = handshake(TLS1_2_VERSION, &p, why, len);
	if (ret)
		return ret;
	objs[0] = p.c;
	objs[1] = p.s;
	n = malloc_usable_size(p.c);
	sess = api.SSL_get_session(p.c);
	cipher = api.SSL_get_current_cipher(p.c);
	sn = sess ? malloc_usable_size((void *)sess) : 0;
	if (api.SSL_get_client_random(p.c, cr, sizeof(cr)) != sizeof(cr) || !sess || !cipher ||
	    api.SSL_SESSION_get_master_key(sess, mk, sizeof(mk)) != sizeof(mk)) {
		snprintf(why, len, "the TLS 1.2 handshake left no session");
		ret = -EPROTO;
		goto out;
	}
	id = api.SSL_CIPHER_get_id(cipher);
	ret = find_near("client random", objs, n, cr, sizeof(cr), 1, TR_VIA_S3_CLIENT_RANDOM, off,
			&off->client_random, why, len);
	if (!ret)
		ret = find_one("session pointer", p.c, n, &sess, 8, 8, &off->session, why, len);
	if (!ret)
		ret = find_near("cipher pointer", objs, n, &cipher, 8, 8, TR_VIA_S3_CIPHER, off,
				&off->cipher, why, len);
	if (!ret)
		ret = find_one("master key", sess, sn, mk, sizeof(mk), 1, &off->master_key, why, len);
	if (!ret)
		ret = find_one("cipher id", cipher, 64, &id, 4, 4, &off->cipher_id, why, len);
out:
	pair_free(&p);
	return ret;
}

/* The TLS 1.3 fields, the state machine hook, and the function the handshake-done callbacks were
 * called from (*done_fn, or 0). */
static int calibrate_tls13(struct calibration *cal, uintptr_t *done_fn, char *why, size_t len)
{
	struct tr_ssl_offsets *off = &cal->off;
	uint8_t cr[32], chts[HASH_LEN], cts[HASH_LEN], sts[HASH_LEN], exp[HASH_LEN];
	uint8_t hs_hash[HASH_LEN], fin_hash[HASH_LEN];
	struct pair p;
	size_t n;
	int ret;

	ret = handshake(TLS1_3_VERSION, &p, why, len);
	if (ret)
		return ret;
	n = malloc_usable_size(p.c);
	if (keylog_value("CLIENT_HANDSHAKE_TRAFFIC_SECRET", chts, HASH_LEN) != HASH_LEN ||
	    keylog_value("CLIENT_TRAFFIC_SECRET_0", cts, HASH_LEN) != HASH_LEN ||
	    keylog_value("SERVER_TRAFFIC_SECRET_0", sts, HASH_LEN) != HASH_LEN ||
	    keylog_value("EXPORTER_SECRET", exp, HASH_LEN) != HASH_LEN ||
	    api.SSL_get_client_random(p.c, cr, sizeof(cr)) != sizeof(cr)) {
		snprintf(why, len, "the TLS 1.3 key log is not as expected");
		ret = -EPROTO;
		goto out;
	}
	ret = transcript_hashes(hs_hash, fin_hash, why, len);
	if (!ret && memcmp(field_in(p.c, off, TR_VIA_S3_CLIENT_RANDOM, off->client_random), cr,
			   sizeof(cr))) {
		snprintf(why, len, "the client random moves between TLS 1.2 and TLS 1.3");
		ret = -ESRCH;
	}
	if (!ret)
		ret = find_one("handshake traffic hash", p.c, n, hs_hash, HASH_LEN, 1,
			       &off->handshake_traffic_hash, why, len);
	if (!ret)
		ret = find_one("server finished hash", p.c, n, fin_hash, HASH_LEN, 1,
			       &off->server_finished_hash, why, len);
	if (!ret)
		ret = find_one("client application secret", p.c, n, cts, HASH_LEN, 1,
			       &off->client_app_secret, why, len);
	if (!ret)
		ret = find_one("server application secret", p.c, n, sts, HASH_LEN, 1,
			       &off->server_app_secret, why, len);
	if (!ret)
		ret = find_one("exporter secret", p.c, n, exp, HASH_LEN, 1, &off->exporter_secret,
			       why, len);
	if (!ret)
		ret = find_secret_of("handshake secret", p.c, n, "c hs traffic", hs_hash, chts,
				     &off->handshake_secret, why, len);
	if (!ret)
		ret = find_secret_of("master secret", p.c, n, "c ap traffic", fin_hash, cts,
				     &off->master_secret, why, len);
	/* The server's object is the same structure: the same fields at the same places. */
	if (!ret && (memcmp(field_in(p.s, off, TR_VIA_S3_CLIENT_RANDOM, off->client_random), cr,
			    sizeof(cr)) ||
		     memcmp((const uint8_t *)p.s + off->client_app_secret, cts, HASH_LEN) ||
		     memcmp((const uint8_t *)p.s + off->server_app_secret, sts, HASH_LEN))) {
		snprintf(why, len, "the server's SSL object does not have the client's layout");
		ret = -ESRCH;
	}
	if (!ret)
		ret = find_hook(&p, n, cal, why, len);
	if (!ret)
		*done_fn = done_function(cal->hook_why, sizeof(cal->hook_why));
out:
	pair_free(&p);
	return ret;
}

/*
 * Load the file open at LIB_FD (a shared library, or a position-independent executable, through
 * its copy at loaded.exe_fd) through /proc/self/fd: that very file, whatever its path names now.
 * An executable linked at a fixed address is mapped there by hand.
 */
static int load(char *why, size_t len)
{
	struct link_map *lm;
	char path[64];
	int ret;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", LIB_FD);
	loaded.handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!loaded.handle && loaded.exe_fd < 0) {
		snprintf(why, len, "cannot load it: %s", dlerror());
		ret = exe_map_fixed(LIB_FD, &loaded.image, why, len);
		if (ret)
			return ret;
		loaded.fd = loaded.exe_fd = LIB_FD;
		return 0;
	}
	if (!loaded.handle) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", loaded.exe_fd);
		loaded.handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		if (!loaded.handle) {
			snprintf(why, len, "cannot load the executable: %s", dlerror());
			return -ENOEXEC;
		}
	}
	if (dlinfo(loaded.handle, RTLD_DI_LINKMAP, &lm) || !lm) {
		snprintf(why, len, "cannot find where it is loaded");
		return -ENOENT;
	}
	loaded.bias = lm->l_addr;
	loaded.fd = LIB_FD;
	return 0;
}

/* Point OpenSSL at an empty configuration file. 0 or -errno. */
static int empty_config(void)
{
	char path[64];
	int fd = memfd_create("openssl.cnf", 0);

	if (fd < 0)
		return -errno;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return setenv("OPENSSL_CONF", path, 1) ? -errno : 0;
}

/* The loaded file, for another library kind's calibration (calib_gnutls.h). */
static unsigned long lib_file_offset(uintptr_t addr)
{
	struct lib_map m = { .bias = loaded.bias };

	dl_iterate_phdr(find_map, &m);
	return file_offset(&m, addr);
}

static bool lib_code_at(uintptr_t addr, uint8_t code[16])
{
	struct lib_map m = { .bias = loaded.bias };

	dl_iterate_phdr(find_map, &m);
	return code_at(&m, addr, code);
}

static const struct calib_lib lib = { lookup, lib_file_offset, lib_code_at };

/*
 * The child: confine itself, load the file and calibrate it. Runs in its own process, started by
 * sandbox_spawn; never returns. Its only way out is the answer on its standard output.
 */
static void __attribute__((noreturn)) child(const char *root)
{
	struct calib_reply r = { 0 };
	uintptr_t done_fn = 0;
	int mntns = fcntl(MNTNS_FD, F_GETFD) < 0 ? -1 : MNTNS_FD;

	r.status = sandbox_enter(mntns, root, r.why, sizeof(r.why));
	/* No system policy may turn a protocol version off: an empty configuration (devices such
	 * as /dev/null cannot be opened in the sandbox). */
	if (!r.status)
		r.status = empty_config();
	/* Files in memory are made before the filter, which allows none after: an executable's
	 * loadable copy, when the file is one. */
	if (!r.status) {
		loaded.exe_fd = exe_loadable_copy(LIB_FD, r.why, sizeof(r.why));
		if (loaded.exe_fd < 0 && loaded.exe_fd != -ENOEXEC)
			r.status = loaded.exe_fd;
	}
	if (!r.status)
		r.status = sandbox_seal(r.why, sizeof(r.why));
	if (!r.status)
		r.status = load(r.why, sizeof(r.why));
	/* What the file is, by what it exports rather than by its name. */
	if (!r.status && lookup(GNUTLS_PROBE_SYMBOL)) {
		r.status = gnutls_calibrate(&lib, &r.cal, r.why, sizeof(r.why));
		goto answer;
	}
	if (!r.status)
		r.status = load_api(r.why, sizeof(r.why));
	if (!r.status)
		r.status = calibrate_tls12(&r.cal, r.why, sizeof(r.why));
	if (!r.status)
		r.status = calibrate_tls13(&r.cal, &done_fn, r.why, sizeof(r.why));
	/* Without it, the state machine hook stays, and --list-targets says why. */
	if (!r.status)
		find_finish_apart(done_fn, &r.cal);
	if (!r.status)
		snprintf(r.cal.version, sizeof(r.cal.version), "%s",
			 api.OpenSSL_version ? api.OpenSSL_version(0) : "OpenSSL, version unknown");
answer:
	if (write(STDOUT_FILENO, &r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(1);
	/* Leave without running the library's (or a sanitizer's) exit handlers. */
	_exit(0);
}

bool calibrate_child_main(int argc, char **argv)
{
	if (argc != 3 || strcmp(argv[1], CALIBRATE_ARG))
		return false;
	child(argv[2]);
}

/* End s (of size bytes) within it, and make all but printable ASCII a '?': no terminal acts on it. */
static void printable(char *s, size_t size)
{
	s[size - 1] = '\0';
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

bool calibration_fits(int fd, const struct calibration *cal)
{
	Elf64_Phdr ph[ELF_MAX_PHDRS];
	Elf64_Ehdr eh;
	unsigned found = 0;

	if (elf_headers(fd, &eh, ph))
		return false;
	for (unsigned i = 0; i < cal->n_hooks; i++)
		for (unsigned k = 0; k < eh.e_phnum; k++)
			if (ph[k].p_type == PT_LOAD && (ph[k].p_flags & PF_X) &&
			    cal->hooks[i] >= ph[k].p_offset &&
			    cal->hooks[i] - ph[k].p_offset < ph[k].p_filesz) {
				found++;
				break;
			}
	return found == cal->n_hooks;
}

/*
 * Where pid's files are, for the child: its mount namespace (an open descriptor in *mntns, or -1
 * when pid is 0: ours) and its root there. 0 or -errno.
 */
static int where(pid_t pid, int *mntns, char *root, size_t len)
{
	char path[64];
	ssize_t n;

	*mntns = -1;
	snprintf(root, len, "/");
	if (!pid)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	n = readlink(path, root, len - 1);
	if (n <= 0)
		return n < 0 ? -errno : -ENOENT;
	root[n] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	*mntns = open(path, O_RDONLY | O_CLOEXEC);
	return *mntns < 0 ? -errno : 0;
}

int calibrate(int fd, pid_t pid, struct calibration *out, char *why, size_t len)
{
	char root[PATH_MAX];
	char *argv[] = { "tlsrec", CALIBRATE_ARG, root, NULL };
	int fds[MNTNS_FD + 1] = { -1, -1, -1, fd, -1 };
	struct calib_reply r;
	int pipefd[2], status, ret;
	pid_t child_pid;

	ret = where(pid, &fds[MNTNS_FD], root, sizeof(root));
	if (ret) {
		snprintf(why, len, "cannot find its process's root: %s", strerror(-ret));
		return ret;
	}
	if (pipe2(pipefd, O_CLOEXEC)) {
		ret = -errno;
		snprintf(why, len, "cannot start the calibration: %s", strerror(-ret));
		goto out;
	}
	fds[STDOUT_FILENO] = pipefd[1];
	ret = sandbox_spawn(argv, fds, MNTNS_FD + 1, &child_pid);
	close(pipefd[1]);
	if (ret) {
		close(pipefd[0]);
		snprintf(why, len, "cannot start the calibration: %s", strerror(-ret));
		goto out;
	}
	if (collect(child_pid, pipefd[0], &r, sizeof(r), CHILD_TIMEOUT_MS, &status) != sizeof(r)) {
		snprintf(why, len, "the calibration process %s",
			 WIFSIGNALED(status) ? "crashed (loading the library killed it)" :
					       "stopped without answering");
		ret = -EPROTO;
		goto out;
	}
	/* What the child says is data from a process that ran foreign code: bound it, keep its
	 * words printable, and let no status of its own make tlsrec's choices. */
	printable(r.why, sizeof(r.why));
	printable(r.cal.version, sizeof(r.cal.version));
	printable(r.cal.hook_why, sizeof(r.cal.hook_why));
	if (r.status) {
		snprintf(why, len, "%s", r.why);
		ret = -EPROTO;
		goto out;
	}
	if (r.cal.n_hooks < 1 || r.cal.n_hooks > CALIB_MAX_HOOKS ||
	    (r.cal.hook_finish && r.cal.n_hooks != 1) || !calibration_fits(fd, &r.cal) ||
	    (r.cal.kind != CALIB_OPENSSL && r.cal.kind != CALIB_GNUTLS) ||
	    (r.cal.kind == CALIB_GNUTLS && (r.cal.n_hooks != 1 || r.cal.gnutls_random >= 65536 ||
					    r.cal.gnutls_flag >= 65536))) {
		snprintf(why, len, "the calibration process answered nonsense");
		ret = -EPROTO;
		goto out;
	}
	*out = r.cal;
out:
	if (fds[MNTNS_FD] >= 0)
		close(fds[MNTNS_FD]);
	return ret;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * TLS key log lines (the SSLKEYLOGFILE format Wireshark reads: "LABEL <client random> <secret>",
 * lowercase hex) derived from SECRET records (docs/journal-format.md), and kept once per label and
 * client random however many records name the same connection.
 *
 * TLS 1.2: CLIENT_RANDOM <master secret>. TLS 1.3 (RFC 8446 section 7.1), with HKDF-Expand-Label
 * and the hash of the cipher suite: the handshake traffic secrets from the handshake secret and
 * Hash(ClientHello..ServerHello), the application traffic secrets of generation 0 from the master
 * secret and Hash(ClientHello..server Finished), every later generation up to the one recorded
 * (section 7.2, "traffic upd") when it is at most KEYLOG_MAX_AHEAD past one known, and the
 * exporter secret as recorded. HKDF comes from OpenSSL 3's
 * KDF API. An all-zero secret is never written, nor derived from.
 */
#ifndef TLSASM_KEYLOG_H
#define TLSASM_KEYLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "journal.h"
#include "table.h"

/* Key updates tried past the highest generation of an application traffic secret known for its
 * connection (0 when none), looking for the one a record holds. */
#define KEYLOG_MAX_AHEAD 64
/* Steps (an HKDF, or a look at a generation known already) all records of a run may take
 * together: a bound on the time hostile input costs. */
#define KEYLOG_STEP_BUDGET (UINT64_C(1) << 22)
/* The longest line: label, 64 hex digits, 96 hex digits, two spaces and the newline. */
#define KEYLOG_LINE_MAX 208

/* Labels, in the order the lines of one connection are written. */
enum keylog_label {
	KEYLOG_CLIENT_HANDSHAKE,
	KEYLOG_SERVER_HANDSHAKE,
	KEYLOG_CLIENT_TRAFFIC, /* CLIENT_TRAFFIC_SECRET_<gen> */
	KEYLOG_SERVER_TRAFFIC,
	KEYLOG_EXPORTER,
	KEYLOG_CLIENT_RANDOM, /* TLS 1.2 */
};

struct keylog_line {
	uint8_t client_random[32];
	uint8_t secret[TR_SECRET_LEN];
	uint8_t len;   /* bytes of secret: 32 or 48 */
	uint8_t label; /* enum keylog_label */
	uint32_t gen;  /* generation of a traffic secret; 0 for the others */
	uint32_t top;  /* on a traffic secret of generation 0: the highest generation kept */
};

/* What derivation met that a user should hear about. */
struct keylog_stats {
	uint64_t records;        /* SECRET records given */
	uint64_t unknown_cipher; /* TLS 1.3 records skipped: a cipher suite whose hash is unknown */
	uint32_t last_unknown;   /* the cipher id of the last of them */
	uint64_t walk_failed;    /* application secrets not reached from the generations known */
	uint64_t no_budget;      /* walks not tried: KEYLOG_STEP_BUDGET was spent */
	uint64_t conflicts;      /* a label and client random seen again with another secret */
};

struct evp_kdf_ctx_st;

struct keylog {
	struct keylog_line *lines; /* after keylog_sort: by client random, label, generation */
	size_t n, cap;
	struct table index; /* (label, generation, client random) -> line, until keylog_sort */
	struct evp_kdf_ctx_st *kdf;
	uint64_t steps_left; /* of KEYLOG_STEP_BUDGET */
	uint8_t *chain;      /* scratch: the generations of one walk, TR_SECRET_LEN bytes each */
	size_t chain_cap;
	struct keylog_stats st;
};

/* Set up an empty key log. Returns 0, -ENOMEM, or -ENOSYS when OpenSSL offers no HKDF. */
int keylog_init(struct keylog *k);

/*
 * Derive the lines of secret record s and add those not known yet; of two different secrets for
 * one label and client random, the first is kept. Not after keylog_sort. Returns 0, -ENOMEM, or
 * -EIO when OpenSSL fails.
 */
int keylog_add(struct keylog *k, const struct tr_secret *s);

/* Sort the lines by client random, then label and generation. No keylog_add after it. */
void keylog_sort(struct keylog *k);

/* After keylog_sort: the number of lines of client random cr, the first at *first. */
size_t keylog_find(const struct keylog *k, const uint8_t cr[32], size_t *first);

/* Write line l into buf (KEYLOG_LINE_MAX bytes), newline included, no NUL. Returns its length. */
size_t keylog_format(const struct keylog_line *l, char *buf);

/*
 * HKDF-Expand-Label(secret, label, context, out_len) of RFC 8446 section 7.1 with digest
 * ("SHA256", "SHA384"): HKDF-Expand with info = uint16 out_len, "tls13 " + label as an opaque
 * <7..255>, context as an opaque <0..255>. Returns 0, -EINVAL for a label or context too long, or
 * -EIO when OpenSSL fails.
 */
int keylog_expand_label(struct keylog *k, const char *digest, const uint8_t *secret,
			size_t secret_len, const char *label, const uint8_t *context,
			size_t context_len, uint8_t *out, size_t out_len);

void keylog_free(struct keylog *k);

#endif /* TLSASM_KEYLOG_H */

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

/* Key updates tried past the highest generation of an application traffic secret known for its
 * connection (0 when none), looking for the one a record holds. */
#define KEYLOG_MAX_AHEAD 64
/* Steps (an HKDF, or a look at a generation known already) all records of a run may take
 * together: a bound on the time hostile input costs. */
#define KEYLOG_STEP_BUDGET (UINT64_C(1) << 22)
/* The longest line: label, 64 hex digits, 96 hex digits, two spaces and the newline. */
#define KEYLOG_LINE_MAX 208
/* What SQLite keeps of the key log's database in memory: its page cache, in KiB. */
#define KEYLOG_CACHE_KIB 8192

/* Labels, in the order the lines of one connection are written. */
enum keylog_label {
	KEYLOG_CLIENT_HANDSHAKE,
	KEYLOG_SERVER_HANDSHAKE,
	KEYLOG_CLIENT_TRAFFIC, /* CLIENT_TRAFFIC_SECRET_<gen> */
	KEYLOG_SERVER_TRAFFIC,
	KEYLOG_EXPORTER,
	KEYLOG_CLIENT_RANDOM, /* TLS 1.2 */
};

/* What derivation met that a user should hear about. */
struct keylog_stats {
	uint64_t records;        /* SECRET and KEYLOG records given */
	uint64_t unknown_cipher; /* TLS 1.3 records skipped: a cipher suite whose hash is unknown */
	uint32_t last_unknown;   /* the cipher id of the last of them */
	uint64_t walk_failed;    /* application secrets not reached from the generations known */
	uint64_t no_budget;      /* walks not tried: KEYLOG_STEP_BUDGET was spent */
	uint64_t conflicts;      /* a label and client random seen again with another secret */
	uint64_t resumed;        /* TLS 1.2 client randoms given their session's master secret */
	uint64_t unknown_label;  /* KEYLOG records skipped: a label not among enum keylog_label's */
};

/* Which lines keylog_read gives. */
enum keylog_which {
	KEYLOG_ALL,     /* every line, by client random, label and generation */
	KEYLOG_PLANNED, /* each planned DSB's lines, by its packet, label and generation */
};

struct evp_kdf_ctx_st;
struct sqlite3;
struct sqlite3_stmt;

/*
 * The lines and the plan live in a private temporary SQLite database (sqlite3_open_v2 with the
 * name ""): a file SQLite makes, unlinked, in the first writable one of $SQLITE_TMPDIR, $TMPDIR,
 * /var/tmp, /usr/tmp and /tmp once its page cache (KEYLOG_CACHE_KIB) is full, and that goes with
 * keylog_free. Tables: lines (client random, label, generation) -> secret, plan (client
 * random) -> the packet its DSB goes before, and sessions (a TLS 1.2 session ID or ticket) -> the
 * client random of a handshake that has its master secret. The statements are the key log's; the
 * text keylog_read gives is in its buffer.
 */
struct keylog {
	struct sqlite3 *db;
	struct sqlite3_stmt *add, *get, *set_top, *has, *plan; /* prepared once */
	struct sqlite3_stmt *session_put, *session_get;
	struct sqlite3_stmt *read;                             /* keylog_read's, or NULL */
	bool row;   /* read stands on a row keylog_read has not given yet */
	char *text; /* keylog_read's last piece */
	size_t text_cap;
	uint64_t n; /* lines kept */
	struct evp_kdf_ctx_st *kdf;
	uint64_t steps_left; /* of KEYLOG_STEP_BUDGET */
	uint8_t *chain;      /* scratch: the generations of one walk, TR_SECRET_LEN bytes each */
	size_t chain_cap;
	struct keylog_stats st;
};

/* Set up an empty key log. Returns 0, -ENOMEM, -ENOSYS when OpenSSL offers no HKDF, or -EIO when
 * SQLite cannot make its database (after a message). keylog_free it either way. */
int keylog_init(struct keylog *k);

/*
 * Derive the lines of secret record s and add those not known yet; of two different secrets for
 * one label and client random, the first is kept. Returns 0, -ENOMEM, -EIO when OpenSSL or SQLite
 * fails, or -ENOSPC when the database's file has no room (both after a message).
 */
int keylog_add(struct keylog *k, const struct tr_secret *s);

/* The line of a KEYLOG record, as the library derived it (its lengths within their fields, as
 * source.h gives it), kept as keylog_add keeps those it derives: a label of enum keylog_label
 * (generation 0 for the traffic secrets), else counted in st.unknown_label. 0 or -errno. */
int keylog_add_given(struct keylog *k, const struct tr_keylog *r);

/*
 * Whether keylog_add (keylog_add_given) would give the record's client random a line: a secret
 * that is not all zeros (nor derived from all zeros only), of a cipher suite known, under a label
 * known. The index counts only such records, so that it says a connection has secrets where a
 * conversion writes some.
 */
bool keylog_secret_useful(const struct tr_secret *s);
bool keylog_given_useful(const struct tr_keylog *r);

/* Whether client random cr has lines: 1, 0, or -errno as keylog_add. */
int keylog_has(struct keylog *k, const uint8_t cr[32]);

/*
 * Plan a DSB with cr's lines just before packet number before, unless cr has no lines, or cr or
 * that packet has a DSB planned already. Returns 1 when planned now, 0 when not, or -errno as
 * keylog_add.
 */
int keylog_plan(struct keylog *k, const uint8_t cr[32], uint64_t before);

/*
 * TLS 1.2 sessions (session.h): id (len bytes, as session_key_* write it) names the session of
 * client random cr, whose CLIENT_RANDOM line holds its master secret. A later id replaces an
 * earlier one. 0 or -errno as keylog_add.
 */
int keylog_session(struct keylog *k, const uint8_t *id, size_t len, const uint8_t cr[32]);

/* The client random the latest keylog_session gave session id (len bytes), into cr: 1, 0 when
 * none did, or -errno as keylog_add. */
int keylog_session_get(struct keylog *k, const uint8_t *id, size_t len, uint8_t cr[32]);

/*
 * An abbreviated TLS 1.2 handshake of client random cr resumed the session of client random from:
 * give cr a CLIENT_RANDOM line with from's master secret. Returns 1 when it was added, 0 when from
 * has no CLIENT_RANDOM line (or cr has one already), or -errno as keylog_add.
 */
int keylog_resume_from(struct keylog *k, const uint8_t cr[32], const uint8_t from[32]);

/* How many client randoms have lines but no DSB planned: 0 and *n, or -errno as keylog_add. */
int keylog_unplanned(struct keylog *k, uint64_t *n);

/* Start reading the lines `which` says (again, if a reading was under way). 0 or -errno as
 * keylog_add. */
int keylog_read_start(struct keylog *k, enum keylog_which which);

/*
 * The next piece of what keylog_read_start started: whole lines as SSLKEYLOGFILE text, as many
 * as fit in max bytes (max >= KEYLOG_LINE_MAX), so that one piece takes at most max bytes however
 * many lines a client random has; with KEYLOG_PLANNED, the lines of one DSB only, and *before the
 * packet it goes before (0 with KEYLOG_ALL). *text stays valid until the next call. Returns 1, 0
 * at the end, -EINVAL for a max too small, or -errno as keylog_add.
 */
int keylog_read(struct keylog *k, size_t max, uint64_t *before, const char **text, size_t *len);

/*
 * HKDF-Expand-Label(secret, label, context, out_len) of RFC 8446 section 7.1 with digest
 * ("SHA256", "SHA384"): HKDF-Expand with info = uint16 out_len, "tls13 " + label as an opaque
 * <7..255>, context as an opaque <0..255>. Returns 0, -EINVAL for a label or context too long, or
 * -EIO when OpenSSL fails.
 */
int keylog_expand_label(struct keylog *k, const char *digest, const uint8_t *secret,
			size_t secret_len, const char *label, const uint8_t *context,
			size_t context_len, uint8_t *out, size_t out_len);

/* Free what k holds; its database's file goes with it. */
void keylog_free(struct keylog *k);

#endif /* TLSASM_KEYLOG_H */

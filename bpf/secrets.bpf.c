// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * TLS secrets out of OpenSSL processes, once per handshake step, never per read or write. Where
 * calibration proved it, one uprobe on the function that ends each handshake step
 * (tls_finish_handshake; its third argument is not 0 when a handshake, or a TLS 1.3 post-handshake
 * message such as KeyUpdate, is complete); otherwise a uprobe and a uretprobe on the library's
 * handshake state machine, which returns 1 then. At that point the SSL object's secrets are
 * copied, raw, into a SECRET record. The library is told by the attach cookie, which indexes the
 * offsets map.
 *
 * Go programs: one uprobe in crypto/tls.(*Config).writeKeyLog(label, clientRandom, secret), which
 * every handshake calls for each secret whether or not a KeyLogWriter is set, on the jump of its
 * stack check (recorder/gobin.c), where the arguments are still in the registers of Go's register
 * ABI; each becomes a KEYLOG record. The cookie is the LIBRARY index.
 *
 * GnuTLS: one uprobe on the conditional jump at the start of its default keylog function
 * _gnutls_nss_keylog_func(session, label, datum) (recorder/calib_gnutls.c), called once per
 * secret; each becomes a KEYLOG record. The cookie holds the LIBRARY index and two calibrated
 * offsets in the session.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "events.h"
#include "gokeylog.h"
#include "ring.bpf.h"

#define MAX_LIBRARIES 256
#define CGROUP_MAX_DEPTH 16

enum scope_flags {
	SCOPE_PIDS = 1 << 0,
	SCOPE_UID = 1 << 1,
	SCOPE_CGROUP = 1 << 2,
};

/* Set by user space before load. */
const volatile __u32 scope = 0;
const volatile __u32 scope_uid = 0;
const volatile __u64 scope_cgroup = 0;

#define SECRETS_RING (1 << 20)

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SECRETS_RING);
} secrets SEC(".maps");

/* Where a SECRET record is built and compared with the last one before it goes to the ring. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tr_secret);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_LIBRARIES);
	__type(key, __u32);
	__type(value, struct tr_ssl_offsets);
} ssl_offsets SEC(".maps");

/* -p: the thread group ids whose secrets are recorded. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} scope_pids SEC(".maps");

/* The SSL object of each thread inside the state machine, from entry to return (0 outside): task
 * storage, a pointer away from the thread, where a hash map costs a lookup per hook. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} in_progress SEC(".maps");

struct seen_key {
	__u64 ssl;
	__u32 tgid;
	__u32 pad;
};

/* What the last SECRET record of each SSL object held, as a fingerprint: a record is written only
 * when that changes (a new handshake on the same object, a KeyUpdate). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct seen_key);
	__type(value, __u64);
} seen SEC(".maps");

/*
 * A KEYLOG record being made, with room past it: the reads of the label and the secret are
 * bounded for the 6.1 verifier by a mask (63), not by their fields' sizes.
 */
struct go_keylog_buf {
	struct tr_keylog r;
	__u8 slack[64 - TR_SECRET_LEN];
};

/* Where a KEYLOG record is built. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct go_keylog_buf);
} keylog_scratch SEC(".maps");

struct go_seen_key {
	__u64 g; /* the goroutine (R14 in Go's register ABI) */
	__u32 tgid;
	__u32 pad;
};

/* The fingerprint of each goroutine's last KEYLOG record: when the stack check finds the stack too
 * small, the runtime grows it (or, asked to, preempts the goroutine) and runs the function again
 * from its start, through the hook a second time with the same arguments. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct go_seen_key);
	__type(value, __u64);
} go_seen SEC(".maps");

/* SECRET records that did not fit in the ring buffer. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 2);
	__type(key, struct tr_loss_key);
	__type(value, __u64);
} losses SEC(".maps");

static __always_inline bool in_scope(void)
{
	if (scope & SCOPE_PIDS) {
		__u32 tgid = bpf_get_current_pid_tgid() >> 32;

		if (!bpf_map_lookup_elem(&scope_pids, &tgid))
			return false;
	}
	if ((scope & SCOPE_UID) && (__u32)bpf_get_current_uid_gid() != scope_uid)
		return false;
	if (scope & SCOPE_CGROUP) {
		bool found = false;

		for (int level = 0; level < CGROUP_MAX_DEPTH && !found; level++)
			found = bpf_get_current_ancestor_cgroup_id(level) == scope_cgroup;
		if (!found)
			return false;
	}
	return true;
}

static __always_inline void count_loss(void)
{
	struct tr_loss_key key = { .where = TR_LOSS_RINGBUF, .what = TR_LOSS_SECRETS };

	count_loss_in(&losses, &key);
}

/* TLS 1.3 cipher suites are 0x1301 to 0x1305; no TLS 1.2 suite is in that range. */
static __always_inline bool tls13_suite(__u32 cipher)
{
	return (cipher & 0xffff) >= 0x1301 && (cipher & 0xffff) <= 0x1305;
}

static __always_inline __u64 fold(const __u8 *p)
{
	__u64 h = 0, v;

	for (int i = 0; i < 32; i += 8) {
		__builtin_memcpy(&v, p + i, 8);
		h = (h ^ v) * 0x100000001b3ULL;
	}
	return h;
}

/*
 * Copy into r what tells the secrets of ssl apart from the last ones sent: the cipher, the client
 * random and the current traffic secrets (TLS 1.3) or the master secret (TLS 1.2); the first two
 * through the pointer at o->s3 where o->via says so. Returns 0, or -1 when they cannot be read.
 */
static __always_inline int read_key(struct tr_secret *r, __u64 ssl, const struct tr_ssl_offsets *o)
{
	const void *s = (const void *)ssl, *cr = s, *cp = s;
	__u64 cipher = 0, session = 0, s3 = 0;

	if (o->via) {
		if (bpf_probe_read_user(&s3, sizeof(s3), s + o->s3) || !s3)
			return -1;
		if (o->via & TR_VIA_S3_CLIENT_RANDOM)
			cr = (const void *)s3;
		if (o->via & TR_VIA_S3_CIPHER)
			cp = (const void *)s3;
	}
	if (bpf_probe_read_user(&cipher, sizeof(cipher), cp + o->cipher) || !cipher ||
	    bpf_probe_read_user(&r->cipher, sizeof(r->cipher), (const void *)cipher + o->cipher_id) ||
	    bpf_probe_read_user(r->client_random, sizeof(r->client_random), cr + o->client_random))
		return -1;
	if (tls13_suite(r->cipher)) {
		r->version = 0x0304;
		r->flags = TR_SEC_TLS13;
		if (bpf_probe_read_user(r->client_app_secret, TR_SECRET_LEN, s + o->client_app_secret) ||
		    bpf_probe_read_user(r->server_app_secret, TR_SECRET_LEN, s + o->server_app_secret))
			return -1;
		__builtin_memset(r->master_key, 0, TR_SECRET_LEN);
	} else {
		r->version = 0x0303;
		r->flags = TR_SEC_TLS12;
		if (bpf_probe_read_user(&session, sizeof(session), s + o->session) || !session ||
		    bpf_probe_read_user(r->master_key, TR_SECRET_LEN,
					(const void *)session + o->master_key))
			return -1;
		__builtin_memset(r->handshake_secret, 0, 7 * TR_SECRET_LEN);
	}
	return 0;
}

/* The rest of a TLS 1.3 record, once read_key's part is known to be new. 0, or -1. */
static __always_inline int read_rest(struct tr_secret *r, __u64 ssl, const struct tr_ssl_offsets *o)
{
	const void *s = (const void *)ssl;

	if (!(r->flags & TR_SEC_TLS13))
		return 0;
	if (bpf_probe_read_user(r->handshake_secret, TR_SECRET_LEN, s + o->handshake_secret) ||
	    bpf_probe_read_user(r->master_secret, TR_SECRET_LEN, s + o->master_secret) ||
	    bpf_probe_read_user(r->handshake_traffic_hash, TR_SECRET_LEN,
				s + o->handshake_traffic_hash) ||
	    bpf_probe_read_user(r->server_finished_hash, TR_SECRET_LEN, s + o->server_finished_hash) ||
	    bpf_probe_read_user(r->exporter_secret, TR_SECRET_LEN, s + o->exporter_secret))
		return -1;
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(tlsrec_hs_enter, void *ssl)
{
	__u64 *p;

	if (!in_scope())
		return 0;
	p = bpf_task_storage_get(&in_progress, bpf_get_current_task_btf(), 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (p)
		*p = (__u64)ssl;
	return 0;
}

/* Send the secrets of ssl, unless they are the ones last sent for it. */
static __always_inline void record(void *ctx, __u64 ssl)
{
	__u64 id = bpf_get_current_pid_tgid(), fp, *last;
	__u32 lib = (__u32)bpf_get_attach_cookie(ctx), zero = 0;
	const struct tr_ssl_offsets *o;
	struct seen_key key = { 0 };
	struct tr_secret *r;

	o = bpf_map_lookup_elem(&ssl_offsets, &lib);
	if (!o)
		return;
	r = bpf_map_lookup_elem(&scratch, &zero);
	if (!r || read_key(r, ssl, o))
		return;
	key.ssl = ssl;
	key.tgid = id >> 32;
	fp = fold(r->client_random) ^ fold(r->flags & TR_SEC_TLS13 ? r->client_app_secret : r->master_key) ^
	     fold(r->flags & TR_SEC_TLS13 ? r->server_app_secret : r->master_key + 16);
	last = bpf_map_lookup_elem(&seen, &key);
	if ((last && *last == fp) || read_rest(r, ssl, o))
		return;
	bpf_map_update_elem(&seen, &key, &fp, BPF_ANY);
	r->hdr.type = TR_REC_SECRET;
	r->hdr.flags = 0;
	r->hdr.len = sizeof(*r);
	r->hdr.ts = bpf_ktime_get_boot_ns();
	r->ssl = ssl;
	r->pid = id >> 32;
	r->tid = (__u32)id;
	r->lib = o->lib;
	r->pad = 0;
	/* Waking the reader for each record costs a busy server a context switch per handshake (a
	 * fifth of its handshake rate, measured): wake it only at a quarter of the ring; it also polls
	 * on a timer, well inside the journal's flush interval. */
	if (ring_output(&secrets, r, sizeof(*r), SECRETS_RING / 4)) {
		bpf_map_delete_elem(&seen, &key);
		count_loss();
	}
}

/*
 * tls_finish_handshake(s, wst, clearbufs, stop): clearbufs is 1 when it is called for the state
 * TLS_ST_OK, a handshake or a post-handshake message complete, every secret in place. (A TLS 1.3
 * server that accepts early data passes 1 before the client's Finished too, where the state
 * machine hook saw a return of 1 as well: that record lacks the client's traffic secret, and the
 * complete one follows.)
 */
SEC("uprobe")
int BPF_KPROBE(tlsrec_hs_done, void *ssl, int wst, int clearbufs)
{
	if (clearbufs && in_scope())
		record(ctx, (__u64)ssl);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(tlsrec_hs_exit, int ret)
{
	__u64 *sslp, ssl;

	sslp = bpf_task_storage_get(&in_progress, bpf_get_current_task_btf(), 0, 0);
	if (!sslp || !*sslp)
		return 0;
	ssl = *sslp;
	*sslp = 0;
	/* 1: the handshake, or the post-handshake message, is complete; the secrets are in place
	 * (and, after SSL_clear, no longer the previous connection's). */
	if (ret == 1)
		record(ctx, ssl);
	return 0;
}

/* The scratch KEYLOG record, its label and secret zeroed (the unused bytes are written out), or
 * NULL. */
static __always_inline struct tr_keylog *keylog_scratch_get(void)
{
	struct go_keylog_buf *buf;
	__u32 zero = 0;

	buf = bpf_map_lookup_elem(&keylog_scratch, &zero);
	if (!buf)
		return NULL;
	__builtin_memset(buf->r.label, 0, sizeof(buf->r.label));
	__builtin_memset(buf->r.secret, 0, sizeof(buf->r.secret));
	return &buf->r;
}

/* Send KEYLOG record r of thread id (pid_tgid) from LIBRARY lib; a record that does not fit is
 * counted lost. 0, or the ring buffer's negative errno. */
static __always_inline long keylog_send(struct tr_keylog *r, __u64 id, __u32 lib)
{
	long ret;

	r->hdr.type = TR_REC_KEYLOG;
	r->hdr.flags = 0;
	r->hdr.len = sizeof(*r);
	r->hdr.ts = bpf_ktime_get_boot_ns();
	r->pid = id >> 32;
	r->tid = (__u32)id;
	r->lib = lib;
	r->pad = 0;
	ret = ring_output(&secrets, r, sizeof(*r), SECRETS_RING / 4);
	if (ret)
		count_loss();
	return ret;
}

/*
 * The arguments of writeKeyLog(label string, clientRandom, secret []byte), c in RAX (Go's
 * abi-internal.md: integer arguments in RAX, RBX, RCX, RDI, RSI, R8, R9, R10, R11; a string takes
 * two, a slice three): label in RBX (pointer) and RCX (length), clientRandom in RDI and RSI,
 * secret in R9 and R10. Lengths out of bounds, and what cannot be read, are dropped.
 */
SEC("uprobe")
int tlsrec_go_keylog(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), fp, *last;
	__u64 label_len = ctx->cx, cr_len = ctx->si, secret_len = ctx->r10;
	struct go_seen_key key = { .g = ctx->r14, .tgid = id >> 32 };
	struct tr_keylog *r;

	if (!in_scope() || !go_keylog_sizes_ok(label_len, cr_len, secret_len))
		return 0;
	r = keylog_scratch_get();
	if (!r)
		return 0;
	/*
	 * Bounds the verifier follows into the reads: clang tests len - 1 above, and 6.1's
	 * verifier carries neither that to len nor a test to a copy spilled before it (6.18's
	 * does). A mask it keeps on a spill, once clang cannot tell it does nothing; the buffer
	 * has room for what it allows past the secret.
	 */
	asm volatile("" : "+r"(label_len), "+r"(secret_len));
	label_len &= 63;
	secret_len &= 63;
	if (bpf_probe_read_user(r->label, label_len, (const void *)ctx->bx) ||
	    bpf_probe_read_user(r->client_random, 32, (const void *)ctx->di) ||
	    bpf_probe_read_user(r->secret, secret_len, (const void *)ctx->r9))
		return 0;
	r->label_len = (__u8)label_len;
	r->secret_len = (__u8)secret_len;
	fp = go_keylog_fingerprint(r);
	last = bpf_map_lookup_elem(&go_seen, &key);
	if (last && *last == fp)
		return 0;
	/* In place when the goroutine has an entry (Go reuses them): an update costs about 1 us. */
	if (last)
		*last = fp;
	else
		bpf_map_update_elem(&go_seen, &key, &fp, BPF_ANY);
	/* Not sent: not seen either, so that a repeat of it is sent. */
	if (keylog_send(r, id, (__u32)bpf_get_attach_cookie(ctx)))
		bpf_map_delete_elem(&go_seen, &key);
	return 0;
}

/*
 * The arguments of _gnutls_nss_keylog_func(session, label, datum) in RDI, RSI and RDX: label a C
 * string, datum a gnutls_datum_t { data pointer, unsigned size }. The cookie: the LIBRARY index in
 * bits 0-31, the offset of the client random in the session in bits 32-47, and in bits 48-63 that
 * of the byte the function tests first: a secret given while it is 0 (a KeyUpdate after the
 * handshake) the function drops, and so is it here. What is out of bounds or cannot be read is
 * dropped.
 */
SEC("uprobe")
int tlsrec_gnutls_keylog(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), cookie = bpf_get_attach_cookie(ctx);
	const void *session = (const void *)ctx->di;
	struct { __u64 data; __u32 size; __u32 pad; } datum;
	struct tr_keylog *r;
	__u64 secret_len;
	__u8 busy = 0;
	long n;

	if (!in_scope() ||
	    bpf_probe_read_user(&busy, 1, session + (cookie >> 48)) || !busy ||
	    bpf_probe_read_user(&datum, sizeof(datum), (const void *)ctx->dx) ||
	    datum.size < 1 || datum.size > TR_SECRET_LEN)
		return 0;
	r = keylog_scratch_get();
	if (!r)
		return 0;
	/* One byte past the label (into the client random, read next) tells a label of 32
	 * characters or more, which no GnuTLS label is, from one of 31. */
	n = bpf_probe_read_user_str(r->label, TR_KEYLOG_LABEL + 1, (const void *)ctx->si);
	if (n < 2 || n > TR_KEYLOG_LABEL)
		return 0;
	secret_len = datum.size;
	asm volatile("" : "+r"(secret_len)); /* a mask 6.1's verifier keeps, as in the Go program */
	secret_len &= 63;
	if (bpf_probe_read_user(r->client_random, 32, session + ((cookie >> 32) & 0xffff)) ||
	    bpf_probe_read_user(r->secret, secret_len, (const void *)datum.data))
		return 0;
	r->label_len = (__u8)(n - 1);
	r->secret_len = (__u8)secret_len;
	keylog_send(r, id, (__u32)cookie);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

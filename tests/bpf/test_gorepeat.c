// SPDX-License-Identifier: BSD-2-Clause
/*
 * The Go key log program (tlsrec_go_keylog in secrets.bpf.c) in the kernel, on a call run again
 * after the goroutine's stack grew. The Go runtime cannot be made to grow a stack at exactly
 * writeKeyLog, so this test carries stand-ins for it (gorepeat.S): functions that start with Go's
 * stack check, in two of its shapes, and, when the check fails, spill the arguments, call a
 * stand-in morestack, reload them and run again from their start, as Go's do. recorder/secrets.c
 * loads the object as tlsrec does; recorder/gobin.c finds the jump to probe in their first bytes,
 * as in a Go program; the uprobe goes at its file offset in /proc/self/exe. They are called with
 * Go's register ABI and a goroutine whose stack guard the test sets. What the secrets ring holds
 * after each call is what tlsrec writes into the journal (recorder/session.c takes its records as
 * they are).
 *
 * It shows, for each shape:
 * (a) a call run twice, once through morestack, gives one KEYLOG record, with its label, client
 *     random, secret, pid and tid (of the calling thread, not the main one) and the hook's library;
 * (b) two calls on one goroutine with different secrets give two;
 * (c) one secret from two goroutines gives two: the repeat is told per goroutine;
 * (d) a label of 0 or 33 bytes, a client random of other than 32, a secret of 0 or 49 give none,
 *     while 1 and 32, 1 and 48 are taken.
 * Not shown: what Go's morestack itself does. Its stub reloads the arguments from where it spilled
 * them, as the stand-in's does; it runs the function on a copied stack, another RSP, which the
 * program does not read.
 */
#include <bpf/libbpf.h>
#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../bpf/events.h"
#include "check.h"
#include "gobin.h"
#include "secrets.h"

#define LIB 7 /* the LIBRARY index the hooks name */
#define MAX_RECORDS 16
#define MAX_GOROUTINES 64

/* What gorepeat_call loads into the registers; the offsets are its. */
struct go_regs {
	uint64_t rax, rbx, rcx, rdi, rsi, r8, r9, r10, r11, r14;
	const void *fn;
};
_Static_assert(__builtin_offsetof(struct go_regs, fn) == 0x50, "go_regs layout");

/* The start of Go's g: stackguard0 at 0x10; the stand-in morestack counts its runs at 0x18. */
struct fake_g {
	uint64_t stack_lo, stack_hi, stackguard0, morestacks;
};

void gorepeat_call(const struct go_regs *r);
extern const uint8_t gorepeat_large[], gorepeat_large_end[];
extern const uint8_t gorepeat_small[], gorepeat_small_end[];

struct shape {
	const char *name;
	const uint8_t *fn, *end;
	uint32_t skip; /* where the probe is, from gobin_find_hook */
};

static struct shape shapes[] = {
	{ "lea, cmp r12, jbe rel32", gorepeat_large, gorepeat_large_end, 0 },
	{ "cmp rsp, jbe rel8", gorepeat_small, gorepeat_small_end, 0 },
};

/* writeKeyLog(label string, clientRandom, secret []byte) and the goroutine it runs on. */
struct call {
	const char *label;
	uint64_t label_len;
	const uint8_t *random;
	uint64_t random_len;
	const uint8_t *secret;
	uint64_t secret_len;
	struct fake_g *g;
};

static const uint64_t config = 0x1000; /* c, which the program does not read */
static char labels[64];			/* each label a prefix of it, readable past its end */
static uint8_t randoms[64], secret_a[64], secret_b[64];

static struct fake_g goroutines[MAX_GOROUTINES];
static unsigned n_goroutines;
static struct tr_keylog records[MAX_RECORDS];
static unsigned n_records, n_odd; /* odd: records of another type or size */
static struct ring_buffer *ring;

/* A goroutine the program has not seen, its stack check passing. */
static struct fake_g *new_g(void)
{
	if (n_goroutines == MAX_GOROUTINES)
		abort();
	return &goroutines[n_goroutines++];
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct tr_rec h;

	memcpy(&h, data, sizeof(h));
	if (h.type != TR_REC_KEYLOG || size != sizeof(struct tr_keylog) || n_records == MAX_RECORDS)
		n_odd++;
	else
		memcpy(&records[n_records++], data, size);
	return 0;
}

/* The records the calls since the last take wrote (their hooks ran before the calls returned). */
static unsigned take(void)
{
	n_records = 0;
	n_odd = 0;
	CHECK(ring_buffer__consume(ring) >= 0);
	CHECK_EQ_U64(n_odd, 0);
	return n_records;
}

static void go_write_key_log(const struct shape *s, const struct call *c)
{
	struct go_regs r = { .rax = config,
			     .rbx = (uintptr_t)c->label,
			     .rcx = c->label_len,
			     .rdi = (uintptr_t)c->random,
			     .rsi = c->random_len,
			     .r8 = 64,
			     .r9 = (uintptr_t)c->secret,
			     .r10 = c->secret_len,
			     .r11 = 64,
			     .r14 = (uintptr_t)c->g,
			     .fn = s->fn };

	gorepeat_call(&r);
}

static uint64_t boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void check_record(const struct tr_keylog *r, const struct call *c, uint32_t tid,
			 uint64_t before)
{
	uint8_t zero[TR_SECRET_LEN] = { 0 };

	CHECK_EQ_U64(r->hdr.type, TR_REC_KEYLOG);
	CHECK_EQ_U64(r->hdr.flags, 0);
	CHECK_EQ_U64(r->hdr.len, sizeof(*r));
	CHECK(r->hdr.ts >= before && r->hdr.ts <= boot_ns());
	CHECK_EQ_U64(r->pid, getpid());
	CHECK_EQ_U64(r->tid, tid);
	CHECK_EQ_U64(r->lib, LIB);
	CHECK_EQ_U64(r->pad, 0);
	if (!CHECK_EQ_U64(r->label_len, c->label_len) ||
	    !CHECK_EQ_U64(r->secret_len, c->secret_len))
		return;
	CHECK_MEM(r->label, c->label, c->label_len);
	CHECK_MEM(r->label + c->label_len, zero, TR_KEYLOG_LABEL - c->label_len);
	CHECK_MEM(r->client_random, c->random, 32);
	CHECK_MEM(r->secret, c->secret, c->secret_len);
	CHECK_MEM(r->secret + c->secret_len, zero, TR_SECRET_LEN - c->secret_len);
}

struct in_thread {
	const struct shape *s;
	const struct call *c;
	uint32_t tid;
};

static void *run_in_thread(void *arg)
{
	struct in_thread *t = arg;

	t->tid = (uint32_t)gettid();
	go_write_key_log(t->s, t->c);
	return NULL;
}

/* (a) The stack check fails once: the function runs through morestack, then again. */
static void test_replay(void)
{
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		struct call c = { labels, 31, randoms, 32, secret_a, 32, new_g() };
		struct in_thread t = { &shapes[i], &c, 0 };
		uint64_t before = boot_ns();
		pthread_t th;

		check_ctx("%s", shapes[i].name);
		c.g->stackguard0 = UINT64_MAX;
		if (!CHECK_EQ_INT(pthread_create(&th, NULL, run_in_thread, &t), 0))
			continue;
		pthread_join(th, NULL);
		CHECK_EQ_U64(c.g->morestacks, 1);
		CHECK(t.tid != (uint32_t)getpid());
		if (CHECK_EQ_U64(take(), 1))
			check_record(&records[0], &c, t.tid, before);
	}
}

/* (b) Two calls on one goroutine, different secrets. */
static void test_two_secrets(void)
{
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		struct call a = { labels, 31, randoms, 32, secret_a, 48, new_g() };
		struct call b = a;
		uint64_t before = boot_ns();

		check_ctx("%s", shapes[i].name);
		b.secret = secret_b;
		go_write_key_log(&shapes[i], &a);
		go_write_key_log(&shapes[i], &b);
		CHECK_EQ_U64(a.g->morestacks, 0);
		if (!CHECK_EQ_U64(take(), 2))
			continue;
		check_record(&records[0], &a, (uint32_t)gettid(), before);
		check_record(&records[1], &b, (uint32_t)gettid(), before);
	}
}

/* (c) One secret from two goroutines. */
static void test_two_goroutines(void)
{
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		struct call a = { labels, 31, randoms, 32, secret_a, 32, new_g() };
		struct call b = a;
		uint64_t before = boot_ns();

		check_ctx("%s", shapes[i].name);
		b.g = new_g();
		go_write_key_log(&shapes[i], &a);
		go_write_key_log(&shapes[i], &b);
		if (!CHECK_EQ_U64(take(), 2))
			continue;
		check_record(&records[0], &a, (uint32_t)gettid(), before);
		check_record(&records[1], &b, (uint32_t)gettid(), before);
	}
}

/* (d) Each length just out of its bounds, then each bound: a fresh goroutine for each call. */
static void test_bounds(void)
{
	static const uint64_t refused[][3] = {
		{ 0, 32, 32 },	{ TR_KEYLOG_LABEL + 1, 32, 32 }, { 31, 0, 32 }, { 31, 31, 32 },
		{ 31, 33, 32 }, { 31, 32, 0 },			 { 31, 32, TR_SECRET_LEN + 1 },
	};
	static const uint64_t taken[][3] = {
		{ 1, 32, 1 },
		{ TR_KEYLOG_LABEL, 32, TR_SECRET_LEN },
	};

	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		uint64_t before = boot_ns();
		struct call c[2];

		for (size_t j = 0; j < sizeof(refused) / sizeof(refused[0]); j++) {
			check_ctx("%s: lengths %llu %llu %llu", shapes[i].name,
				  (unsigned long long)refused[j][0], (unsigned long long)refused[j][1],
				  (unsigned long long)refused[j][2]);
			c[0] = (struct call){ labels, refused[j][0], randoms, refused[j][1],
					      secret_a, refused[j][2], new_g() };
			go_write_key_log(&shapes[i], &c[0]);
			CHECK_EQ_U64(take(), 0);
		}
		check_ctx("%s: the bounds", shapes[i].name);
		for (size_t j = 0; j < 2; j++) {
			c[j] = (struct call){ labels, taken[j][0], randoms, taken[j][1], secret_b,
					      taken[j][2], new_g() };
			go_write_key_log(&shapes[i], &c[j]);
		}
		if (!CHECK_EQ_U64(take(), 2))
			continue;
		check_record(&records[0], &c[0], (uint32_t)gettid(), before);
		check_record(&records[1], &c[1], (uint32_t)gettid(), before);
	}
}

/* The file offset of the executable's code at p (the main program is the first object). */
static int exe_offset(struct dl_phdr_info *info, size_t size, void *data)
{
	uint64_t *p = data, va = *p - info->dlpi_addr;

	*p = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && va >= ph->p_vaddr &&
		    va < ph->p_vaddr + ph->p_filesz)
			*p = va - ph->p_vaddr + ph->p_offset;
	}
	return 1;
}

/* Hook the shape where tlsrec would: the jump gobin_find_hook finds, at its file offset. */
static bool hook(struct secrets *sec, struct shape *s)
{
	uint64_t off = (uintptr_t)s->fn;
	int target;

	target = gobin_find_hook(s->fn, 24, &s->skip);
	if (!CHECK(target > 0 && target < s->end - s->fn))
		return false;
	dl_iterate_phdr(exe_offset, &off);
	if (!CHECK(off != 0))
		return false;
	return CHECK_EQ_INT(secrets_attach_go(sec, LIB, "/proc/self/exe", off + s->skip), 0);
}

int main(void)
{
	struct secrets *sec = NULL;
	bool ok = true;

	if (geteuid() != 0) {
		fprintf(stderr, "FAIL: test_gorepeat_bpf must run as root: it loads BPF programs\n");
		return 1;
	}
	for (size_t i = 0; i < 64; i++) {
		labels[i] = (char)('a' + i % 26);
		randoms[i] = (uint8_t)(i + 1);
		secret_a[i] = (uint8_t)(0xa0 ^ i);
		secret_b[i] = (uint8_t)(0xb0 ^ i);
	}
	memcpy(labels, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", 31);
	if (!CHECK_EQ_INT(secrets_open(&(struct secrets_scope){ 0 }, &sec), 0))
		return check_exit();
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]) && ok; i++)
		ok = hook(sec, &shapes[i]);
	ring = ring_buffer__new(secrets_ring_fd(sec), on_record, NULL, NULL);
	if (ok && CHECK(ring) && CHECK_EQ_U64(take(), 0)) {
		CHECK_RUN(test_replay);
		CHECK_RUN(test_two_secrets);
		CHECK_RUN(test_two_goroutines);
		CHECK_RUN(test_bounds);
	}
	ring_buffer__free(ring);
	secrets_close(sec);
	return check_exit();
}

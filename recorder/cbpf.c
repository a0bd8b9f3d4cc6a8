// SPDX-License-Identifier: BSD-2-Clause
/*
 * The translation is one pass over the cBPF instructions, each class by its own function, then
 * an epilogue. Jumps are emitted with a label (the cBPF instruction they go to, or one of the two
 * epilogue entries) and resolved at the end from the eBPF index where each label begins: cBPF
 * jumps go forward only, so the eBPF program is a DAG too and the verifier walks it quickly.
 *
 * Registers: r6 = ctx (struct __sk_buff *), r7 = A, r8 = X (callee-saved: they survive helper
 * calls); A and X are 32-bit, so every operation on them is ALU32 or JMP32. Stack: the 4 bytes a
 * packet load reads at fp-8, M[k] at fp-72+4k.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "cbpf.h"

#define R_CTX BPF_REG_6
#define R_A BPF_REG_7
#define R_X BPF_REG_8
#define LOAD_SLOT (-8)
#define MEM_SLOT(k) (-72 + 4 * (int)(k))
#define NO_LABEL SIZE_MAX
#define SKB_LEN ((__s16)offsetof(struct __sk_buff, len))
#define SKB_CB0 ((__s16)offsetof(struct __sk_buff, cb[0]))
#define TC_ACT_UNSPEC (-1)

struct tr {
	const struct sock_filter *in;
	size_t n;		  /* cBPF instructions; labels n and n + 1 are the epilogue's */
	struct bpf_insn *out;
	size_t *label;		  /* per eBPF instruction: the label it jumps to, or NO_LABEL */
	size_t len, cap;
	bool nomem;
	char *err;
	size_t errlen;
};

/* Labels after the cBPF instructions: r0 holds the returned value / nothing matched. */
#define L_END(t) ((t)->n)
#define L_NOMATCH(t) ((t)->n + 1)

static void emit_jump(struct tr *t, __u8 code, __u8 dst, __u8 src, __s16 off, __s32 imm,
		      size_t label)
{
	if (t->len == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 256;
		struct bpf_insn *out = reallocarray(t->out, cap, sizeof(*out));
		size_t *lab = out ? reallocarray(t->label, cap, sizeof(*lab)) : NULL;

		if (out)
			t->out = out;
		if (!lab) {
			t->nomem = true;
			return;
		}
		t->label = lab;
		t->cap = cap;
	}
	t->out[t->len] = (struct bpf_insn){
		.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm
	};
	t->label[t->len++] = label;
}

static void emit(struct tr *t, __u8 code, __u8 dst, __u8 src, __s16 off, __s32 imm)
{
	emit_jump(t, code, dst, src, off, imm, NO_LABEL);
}

static int refuse(struct tr *t, size_t i, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int refuse(struct tr *t, size_t i, const char *fmt, ...)
{
	int w = snprintf(t->err, t->errlen, "instruction %zu (code 0x%02x, k %u): ", i,
			 t->in[i].code, t->in[i].k);
	va_list ap;

	if (w >= 0 && (size_t)w < t->errlen) {
		va_start(ap, fmt);
		vsnprintf(t->err + w, t->errlen - (size_t)w, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/*
 * dst = the size bytes at offset k (plus X when indirect), big endian, through
 * bpf_skb_load_bytes; out of the packet ends with no match. Offsets are unsigned 32-bit as in
 * libpcap: X + k is computed in 64 bits, so it cannot wrap around to a small offset.
 */
static void emit_packet_load(struct tr *t, __u8 dst, __u8 size, __u32 k, bool indirect)
{
	static const __s32 bytes[] = { [BPF_W >> 3] = 4, [BPF_H >> 3] = 2, [BPF_B >> 3] = 1 };
	__s32 nbytes = bytes[size >> 3];

	emit(t, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, R_CTX, 0, 0);
	emit(t, BPF_ALU | BPF_MOV | BPF_K, BPF_REG_2, 0, 0, (__s32)k);
	if (indirect) {
		emit(t, BPF_ALU64 | BPF_ADD | BPF_X, BPF_REG_2, R_X, 0, 0);
		emit_jump(t, BPF_JMP | BPF_JGT | BPF_K, BPF_REG_2, 0, 0, INT32_MAX, L_NOMATCH(t));
	}
	emit(t, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_10, 0, 0);
	emit(t, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_3, 0, 0, LOAD_SLOT);
	emit(t, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_4, 0, 0, nbytes);
	emit(t, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_skb_load_bytes);
	emit_jump(t, BPF_JMP | BPF_JNE | BPF_K, BPF_REG_0, 0, 0, 0, L_NOMATCH(t));
	emit(t, BPF_LDX | BPF_MEM | size, dst, BPF_REG_10, LOAD_SLOT, 0);
	if (nbytes > 1)
		emit(t, BPF_ALU | BPF_END | BPF_TO_BE, dst, 0, 0, nbytes * 8);
}

/* Linux gives negative offsets a meaning of its own (SKF_AD_OFF, SKF_NET_OFF, SKF_LL_OFF). */
static int check_offset(struct tr *t, size_t i)
{
	if ((__s32)t->in[i].k < 0)
		return refuse(t, i, "negative offset: Linux ancillary data (SKF_AD_*) or "
				    "SKF_NET_OFF/SKF_LL_OFF loads are not supported");
	return 0;
}

static int check_mem(struct tr *t, size_t i)
{
	if (t->in[i].k >= BPF_MEMWORDS)
		return refuse(t, i, "scratch memory M[%u] does not exist", t->in[i].k);
	return 0;
}

static void emit_len(struct tr *t, __u8 dst)
{
	emit(t, BPF_LDX | BPF_MEM | BPF_W, dst, R_CTX, SKB_LEN, 0);
}

static int tr_ld(struct tr *t, size_t i)
{
	const struct sock_filter *f = &t->in[i];
	__u8 size = BPF_SIZE(f->code);
	int ret;

	switch (BPF_MODE(f->code)) {
	case BPF_ABS:
	case BPF_IND:
		if (size != BPF_W && size != BPF_H && size != BPF_B)
			break;
		if ((ret = check_offset(t, i)))
			return ret;
		emit_packet_load(t, R_A, size, f->k, BPF_MODE(f->code) == BPF_IND);
		return 0;
	case BPF_IMM:
		if (size != BPF_W)
			break;
		emit(t, BPF_ALU | BPF_MOV | BPF_K, R_A, 0, 0, (__s32)f->k);
		return 0;
	case BPF_MEM:
		if (size != BPF_W)
			break;
		if ((ret = check_mem(t, i)))
			return ret;
		emit(t, BPF_LDX | BPF_MEM | BPF_W, R_A, BPF_REG_10, MEM_SLOT(f->k), 0);
		return 0;
	case BPF_LEN:
		if (size != BPF_W)
			break;
		emit_len(t, R_A);
		return 0;
	}
	return refuse(t, i, "unknown load");
}

static int tr_ldx(struct tr *t, size_t i)
{
	const struct sock_filter *f = &t->in[i];
	int ret;

	switch (f->code) {
	case BPF_LDX | BPF_W | BPF_IMM:
		emit(t, BPF_ALU | BPF_MOV | BPF_K, R_X, 0, 0, (__s32)f->k);
		return 0;
	case BPF_LDX | BPF_W | BPF_MEM:
		if ((ret = check_mem(t, i)))
			return ret;
		emit(t, BPF_LDX | BPF_MEM | BPF_W, R_X, BPF_REG_10, MEM_SLOT(f->k), 0);
		return 0;
	case BPF_LDX | BPF_W | BPF_LEN:
		emit_len(t, R_X);
		return 0;
	case BPF_LDX | BPF_B | BPF_MSH: /* X = 4 * (P[k] & 0xf): an IPv4 header length */
		if ((ret = check_offset(t, i)))
			return ret;
		emit_packet_load(t, R_X, BPF_B, f->k, false);
		emit(t, BPF_ALU | BPF_AND | BPF_K, R_X, 0, 0, 0xf);
		emit(t, BPF_ALU | BPF_LSH | BPF_K, R_X, 0, 0, 2);
		return 0;
	}
	return refuse(t, i, "unknown load into X");
}

static int tr_st(struct tr *t, size_t i)
{
	const struct sock_filter *f = &t->in[i];
	int ret;

	if (f->code != BPF_ST && f->code != BPF_STX)
		return refuse(t, i, "unknown store");
	if ((ret = check_mem(t, i)))
		return ret;
	emit(t, BPF_STX | BPF_MEM | BPF_W, BPF_REG_10, f->code == BPF_ST ? R_A : R_X,
	     MEM_SLOT(f->k), 0);
	return 0;
}

/* cBPF and eBPF share the ALU operation codes; A and X are 32-bit: ALU32. */
static int tr_alu(struct tr *t, size_t i)
{
	const struct sock_filter *f = &t->in[i];
	__u8 op = BPF_OP(f->code);

	switch (op) {
	case BPF_NEG:
		if (BPF_SRC(f->code) != BPF_K)
			break;
		emit(t, BPF_ALU | BPF_NEG, R_A, 0, 0, 0);
		return 0;
	case BPF_DIV:
	case BPF_MOD:
		if (BPF_SRC(f->code) == BPF_K && f->k == 0)
			return refuse(t, i, "division by zero");
		if (BPF_SRC(f->code) == BPF_X) /* cBPF ends with 0; eBPF would go on */
			emit_jump(t, BPF_JMP32 | BPF_JEQ | BPF_K, R_X, 0, 0, 0, L_NOMATCH(t));
		/* fallthrough */
	case BPF_ADD:
	case BPF_SUB:
	case BPF_MUL:
	case BPF_OR:
	case BPF_AND:
	case BPF_XOR:
	case BPF_LSH:
	case BPF_RSH:
		if ((op == BPF_LSH || op == BPF_RSH) && BPF_SRC(f->code) == BPF_K && f->k >= 32)
			return refuse(t, i, "shift by %u bits", f->k);
		if ((op == BPF_LSH || op == BPF_RSH) && BPF_SRC(f->code) == BPF_X) {
			/* libpcap: 0 when X >= 32; eBPF would shift by X & 31 */
			emit(t, BPF_JMP32 | BPF_JLT | BPF_K, R_X, 0, 1, 32);
			emit(t, BPF_ALU | BPF_MOV | BPF_K, R_A, 0, 0, 0);
		}
		if (BPF_SRC(f->code) == BPF_X)
			emit(t, BPF_ALU | op | BPF_X, R_A, R_X, 0, 0);
		else
			emit(t, BPF_ALU | op | BPF_K, R_A, 0, 0, (__s32)f->k);
		return 0;
	}
	return refuse(t, i, "unknown arithmetic operation");
}

/* The jump's target label, or refuse when it leaves the program. */
static int target(struct tr *t, size_t i, __u32 by, size_t *label)
{
	if ((size_t)by >= t->n - i - 1)
		return refuse(t, i, "jump out of the program");
	*label = i + 1 + by;
	return 0;
}

static int tr_jmp(struct tr *t, size_t i)
{
	/* The condition that jumps when op's does not, for when jt is 0. JSET has none. */
	static const __u8 inverse[] = { [BPF_JEQ >> 4] = BPF_JNE, [BPF_JGT >> 4] = BPF_JLE,
					[BPF_JGE >> 4] = BPF_JLT };
	const struct sock_filter *f = &t->in[i];
	__u8 op = BPF_OP(f->code), src = BPF_SRC(f->code);
	__u8 x = src == BPF_X ? R_X : 0;
	__s32 imm = src == BPF_X ? 0 : (__s32)f->k; /* cBPF ignores k against X; eBPF refuses it */
	size_t yes = 0, no = 0;
	int ret;

	if (op == BPF_JA) {
		if (src != BPF_K)
			return refuse(t, i, "unknown jump");
		if ((ret = target(t, i, f->k, &yes)))
			return ret;
		emit_jump(t, BPF_JMP | BPF_JA, 0, 0, 0, 0, yes);
		return 0;
	}
	if (op != BPF_JEQ && op != BPF_JGT && op != BPF_JGE && op != BPF_JSET)
		return refuse(t, i, "unknown jump");
	if ((ret = target(t, i, f->jt, &yes)) || (ret = target(t, i, f->jf, &no)))
		return ret;
	if (yes == i + 1 && op != BPF_JSET) {
		emit_jump(t, BPF_JMP32 | inverse[op >> 4] | src, R_A, x, 0, imm, no);
		return 0;
	}
	emit_jump(t, BPF_JMP32 | op | src, R_A, x, 0, imm, yes);
	if (no != i + 1)
		emit_jump(t, BPF_JMP | BPF_JA, 0, 0, 0, 0, no);
	return 0;
}

static int tr_ret(struct tr *t, size_t i)
{
	const struct sock_filter *f = &t->in[i];

	switch (f->code) {
	case BPF_RET | BPF_K:
		if (f->k == 0) {
			emit_jump(t, BPF_JMP | BPF_JA, 0, 0, 0, 0, L_NOMATCH(t));
			return 0;
		}
		emit(t, BPF_ALU | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, (__s32)f->k);
		break;
	case BPF_RET | BPF_A:
		emit(t, BPF_ALU | BPF_MOV | BPF_X, BPF_REG_0, R_A, 0, 0);
		break;
	default:
		return refuse(t, i, "unknown return");
	}
	emit_jump(t, BPF_JMP | BPF_JA, 0, 0, 0, 0, L_END(t));
	return 0;
}

static int tr_misc(struct tr *t, size_t i)
{
	switch (t->in[i].code) {
	case BPF_MISC | BPF_TAX:
		emit(t, BPF_ALU | BPF_MOV | BPF_X, R_X, R_A, 0, 0);
		return 0;
	case BPF_MISC | BPF_TXA:
		emit(t, BPF_ALU | BPF_MOV | BPF_X, R_A, R_X, 0, 0);
		return 0;
	}
	return refuse(t, i, "unknown miscellaneous instruction");
}

/* ctx kept, A = X = 0, and the scratch words the program reads set to 0. */
static void emit_prologue(struct tr *t)
{
	__u16 read = 0;

	emit(t, BPF_ALU64 | BPF_MOV | BPF_X, R_CTX, BPF_REG_1, 0, 0);
	emit(t, BPF_ALU | BPF_MOV | BPF_K, R_A, 0, 0, 0);
	emit(t, BPF_ALU | BPF_MOV | BPF_K, R_X, 0, 0, 0);
	for (size_t i = 0; i < t->n; i++) {
		if ((t->in[i].code == (BPF_LD | BPF_W | BPF_MEM) ||
		     t->in[i].code == (BPF_LDX | BPF_W | BPF_MEM)) &&
		    t->in[i].k < BPF_MEMWORDS)
			read |= (__u16)(1u << t->in[i].k);
	}
	for (unsigned k = 0; k < BPF_MEMWORDS; k++) {
		if (read & (1u << k))
			emit(t, BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, MEM_SLOT(k), 0);
	}
}

/* L_END: r0 = min(r0, skb->len), then return it or tail call; L_NOMATCH: 0 or TC_ACT_UNSPEC. */
static void emit_epilogue(struct tr *t, size_t *start, enum cbpf_end end, int map_fd, __u32 slot)
{
	start[L_END(t)] = t->len;
	if (end == CBPF_END_TAIL_CALL) /* RET A with A == 0 */
		emit_jump(t, BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 0, 0, L_NOMATCH(t));
	emit_len(t, BPF_REG_1);
	emit(t, BPF_JMP | BPF_JLE | BPF_X, BPF_REG_0, BPF_REG_1, 1, 0);
	emit(t, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_0, BPF_REG_1, 0, 0);
	if (end == CBPF_END_TAIL_CALL) {
		emit(t, BPF_STX | BPF_MEM | BPF_W, R_CTX, BPF_REG_0, SKB_CB0, 0);
		emit(t, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, R_CTX, 0, 0);
		emit(t, BPF_LD | BPF_DW | BPF_IMM, BPF_REG_2, BPF_PSEUDO_MAP_FD, 0, map_fd);
		emit(t, 0, 0, 0, 0, 0);
		emit(t, BPF_ALU | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, (__s32)slot);
		emit(t, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_tail_call);
	} else {
		emit(t, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	}
	start[L_NOMATCH(t)] = t->len;
	emit(t, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0,
	     end == CBPF_END_TAIL_CALL ? TC_ACT_UNSPEC : 0);
	emit(t, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

/* Each jump's offset from its label's start; eBPF jump offsets are 16-bit. */
static int resolve(struct tr *t, const size_t *start)
{
	for (size_t j = 0; j < t->len; j++) {
		long off;

		if (t->label[j] == NO_LABEL)
			continue;
		off = (long)start[t->label[j]] - (long)(j + 1);
		if (off > INT16_MAX) {
			snprintf(t->err, t->errlen, "the program is too long for eBPF's jumps");
			return -EINVAL;
		}
		t->out[j].off = (__s16)off;
	}
	return 0;
}

int cbpf_translate(const struct sock_filter *in, size_t n, enum cbpf_end end, int prog_array_fd,
		   __u32 slot, struct cbpf_out *out, char *err, size_t errlen)
{
	static int (*const by_class[])(struct tr *, size_t) = {
		[BPF_LD] = tr_ld,   [BPF_LDX] = tr_ldx, [BPF_ST] = tr_st,	[BPF_STX] = tr_st,
		[BPF_ALU] = tr_alu, [BPF_JMP] = tr_jmp, [BPF_RET] = tr_ret, [BPF_MISC] = tr_misc,
	};
	struct tr t = { .in = in, .n = n, .err = err, .errlen = errlen };
	size_t *start = NULL;
	int ret = -EINVAL;

	if (n == 0 || n > BPF_MAXINSNS) {
		snprintf(err, errlen, "%zu instructions: a program has 1 to %d", n, BPF_MAXINSNS);
		return -EINVAL;
	}
	if (BPF_CLASS(in[n - 1].code) != BPF_RET) {
		refuse(&t, n - 1, "the program does not end with a return");
		return -EINVAL;
	}
	start = calloc(n + 2, sizeof(*start));
	if (!start)
		return -ENOMEM;
	emit_prologue(&t);
	for (size_t i = 0; i < n; i++) {
		start[i] = t.len;
		if ((ret = by_class[BPF_CLASS(in[i].code)](&t, i)))
			goto cleanup;
	}
	emit_epilogue(&t, start, end, prog_array_fd, slot);
	ret = t.nomem ? -ENOMEM : resolve(&t, start);
	if (!ret) {
		out->insns = t.out;
		out->n = t.len;
		t.out = NULL;
	}
cleanup:
	free(start);
	free(t.label);
	free(t.out);
	return ret;
}

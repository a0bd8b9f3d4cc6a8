/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Stand-ins for crypto/tls.(*Config).writeKeyLog, for bpf.go_repeat (test_gorepeat.c). Each starts
 * with a stack check as Go's compiler writes it (cmd/internal/obj/x86/obj6.go, stacksplit) and,
 * when the check fails, jumps to a stub at its end shaped as Go's: spill the argument registers
 * into the caller's spill area, call morestack, reload them, run the function again from its
 * start. Past the check each returns at once: the probe is on the check's jump.
 */
	.text

/* Spill the argument registers, call the stand-in morestack, reload them, jump to start. */
	.macro	MORESTACK start
	mov	%rax, 0x08(%rsp)
	mov	%rbx, 0x10(%rsp)
	mov	%rcx, 0x18(%rsp)
	mov	%rdi, 0x20(%rsp)
	mov	%rsi, 0x28(%rsp)
	mov	%r8, 0x30(%rsp)
	mov	%r9, 0x38(%rsp)
	mov	%r10, 0x40(%rsp)
	mov	%r11, 0x48(%rsp)
	call	gorepeat_morestack
	mov	0x08(%rsp), %rax
	mov	0x10(%rsp), %rbx
	mov	0x18(%rsp), %rcx
	mov	0x20(%rsp), %rdi
	mov	0x28(%rsp), %rsi
	mov	0x30(%rsp), %r8
	mov	0x38(%rsp), %r9
	mov	0x40(%rsp), %r10
	mov	0x48(%rsp), %r11
	jmp	\start
	.endm

/* The check of a frame over StackSmall (128 bytes), as Go 1.19 builds writeKeyLog (0x88 bytes):
 * lea -8(%rsp),%r12; cmp 0x10(%r14),%r12; jbe rel32 (written out: the assembler would shorten
 * it, Go does not). */
	.globl	gorepeat_large
	.globl	gorepeat_large_end
	.type	gorepeat_large, @function
gorepeat_large:
	lea	-0x8(%rsp), %r12
	cmp	0x10(%r14), %r12
	.byte	0x0f, 0x86
	.long	1f - 2f
2:	ret
1:	MORESTACK gorepeat_large
gorepeat_large_end:
	.size	gorepeat_large, . - gorepeat_large

/* The check of a small frame: cmp 0x10(%r14),%rsp; jbe rel8. */
	.globl	gorepeat_small
	.globl	gorepeat_small_end
	.type	gorepeat_small, @function
gorepeat_small:
	cmp	0x10(%r14), %rsp
	.byte	0x76, 1f - 2f
2:	ret
1:	MORESTACK gorepeat_small
gorepeat_small_end:
	.size	gorepeat_small, . - gorepeat_small

/*
 * What of runtime.morestack the probe can tell: the goroutine (R14) comes back with a stack its
 * check passes (stackguard0, at 0x10, set to 0), and the argument registers were not kept (they
 * are clobbered here). It counts its runs at 0x18 (stackguard1 in Go's g), for the test.
 */
	.type	gorepeat_morestack, @function
gorepeat_morestack:
	movq	$0, 0x10(%r14)
	incq	0x18(%r14)
	xor	%eax, %eax
	xor	%ebx, %ebx
	xor	%ecx, %ecx
	xor	%edi, %edi
	xor	%esi, %esi
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d
	ret
	.size	gorepeat_morestack, . - gorepeat_morestack

/*
 * void gorepeat_call(const struct go_regs *r): call r->fn with Go's register ABI
 * (cmd/compile/abi-internal.md): RAX, RBX, RCX, RDI, RSI, R8, R9, R10, R11 from r, the goroutine
 * in R14, and the spill area for the nine below the return address, which the caller reserves.
 * The registers C expects kept (RBX, RBP, R12 to R15) are.
 */
	.globl	gorepeat_call
	.type	gorepeat_call, @function
gorepeat_call:
	push	%rbx
	push	%rbp
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	sub	$0x48, %rsp
	mov	%rdi, %r15
	mov	0x00(%r15), %rax
	mov	0x08(%r15), %rbx
	mov	0x10(%r15), %rcx
	mov	0x18(%r15), %rdi
	mov	0x20(%r15), %rsi
	mov	0x28(%r15), %r8
	mov	0x30(%r15), %r9
	mov	0x38(%r15), %r10
	mov	0x40(%r15), %r11
	mov	0x48(%r15), %r14
	call	*0x50(%r15)
	add	$0x48, %rsp
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbp
	pop	%rbx
	ret
	.size	gorepeat_call, . - gorepeat_call

	.section .note.GNU-stack, "", @progbits

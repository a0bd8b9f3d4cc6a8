/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Go programs: whether an executable is one (its .go.buildinfo, else its .gopclntab), which Go
 * built it, and where its crypto/tls.(*Config).writeKeyLog(label, clientRandom, secret) is, found
 * through .gopclntab (kept by -ldflags=-s -w), with the file offset of the instruction to probe:
 * the conditional jump of the stack check that starts the function, which the kernel emulates and
 * after which the arguments are still in their registers. The file is read as data only, every
 * offset checked: it may be a user's.
 */
#ifndef TLSREC_GOBIN_H
#define TLSREC_GOBIN_H

#include <stddef.h>
#include <stdint.h>

struct gobin {
	char version[48];   /* "go1.19.8" from .go.buildinfo, else "Go 1.26 or later (no build ...)" */
	uint64_t func_va;   /* writeKeyLog's address in the executable */
	uint64_t func_off;  /* its file offset */
	uint64_t hook_off;  /* file offset of the stack check's jump */
	uint32_t hook_skip; /* bytes from the function's entry to the hook */
};

/*
 * Inspect the ELF file open at fd. Returns 0 with out filled; -ENOEXEC when it is not a Go program
 * (no .go.buildinfo nor .gopclntab section: nothing is said, why stays ""); -ENOTSUP when it is a
 * Go program that cannot be hooked (too old a Go, another architecture, no crypto/tls, an unknown
 * .gopclntab or prologue), with the reason in why; -ENOMEM; or another -errno from reading. It
 * reads a few hundred KiB of the file at a time, whatever the file says.
 */
int gobin_inspect(int fd, struct gobin *out, char *why, size_t len);

/*
 * Whether the n bytes of code at c start with the stack check of a Go function with a frame
 * (obj6.go, stacksplit): for a small frame "cmp 0x10(%r14),%rsp" (49 3b 66 10), for a larger one
 * "lea -X(%rsp),%r12" (4c 8d 64 24 X8, or 4c 8d a4 24 X32) then "cmp 0x10(%r14),%r12"
 * (4d 3b 66 10); R14 holds the goroutine, 0x10 is its stackguard0. Then "jbe" (76 rel8 or 0f 86
 * rel32) forward to the call of morestack at the function's end. Returns the offset from c of the
 * jump's target (which the caller checks is inside the function), with *skip the offset of the
 * jump, the instruction to probe: the kernel emulates it, and neither the lea nor the cmp writes an
 * argument register. -ENOTSUP for any other start.
 */
int gobin_find_hook(const uint8_t *c, size_t n, uint32_t *skip);

#endif /* TLSREC_GOBIN_H */

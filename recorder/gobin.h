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

#endif /* TLSREC_GOBIN_H */

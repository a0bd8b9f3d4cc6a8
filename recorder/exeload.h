/* SPDX-License-Identifier: BSD-2-Clause */
/* Loading an executable that contains OpenSSL, for its calibration. */
#ifndef TLSREC_EXELOAD_H
#define TLSREC_EXELOAD_H

#include <stddef.h>
#include <stdint.h>

/*
 * A copy in memory of the position-independent executable open at fd that dlopen accepts (through
 * /proc/self/fd/N): a file descriptor, -ENOEXEC when fd is not such an executable, or another
 * -errno with a reason in why. fd stays the caller's.
 */
int exe_loadable_copy(int fd, char *why, size_t len);

/* The address of function name in the ELF file fd (its .symtab or .dynsym), loaded at bias; 0 if
 * it has none. */
uintptr_t exe_symbol(int fd, uintptr_t bias, const char *name);

#endif /* TLSREC_EXELOAD_H */

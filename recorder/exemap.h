/* SPDX-License-Identifier: BSD-2-Clause */
/* Mapping an executable linked at a fixed address into the calibration child. */
#ifndef TLSREC_EXEMAP_H
#define TLSREC_EXEMAP_H

#include <stddef.h>

#include "elfnote.h"

/* An executable mapped at its own addresses (its load bias is 0). */
struct exe_image {
	Elf64_Phdr ph[ELF_MAX_PHDRS];
	unsigned phnum;
};

/*
 * Map the x86-64 ET_EXEC file open at fd at its link addresses, load the libraries it needs
 * (dlopen, RTLD_GLOBAL) and apply its relocations; its constructors are not run. Returns 0,
 * -ENOEXEC when fd is not such a file (why untouched), or another -errno with a reason in why
 * (-EINVAL: a damaged one). Meant for a sandboxed child: what it maps is never unmapped.
 */
int exe_map_fixed(int fd, struct exe_image *img, char *why, size_t len);

#endif /* TLSREC_EXEMAP_H */

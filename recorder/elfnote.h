/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef TLSREC_ELFNOTE_H
#define TLSREC_ELFNOTE_H

#include <stddef.h>
#include <stdint.h>

/* The GNU build id of the ELF file open on fd, up to 20 bytes, in id. Returns its length, 0 when
 * the file has none, or -errno (-ENOEXEC: not a 64-bit little-endian ELF file). */
int elf_build_id(int fd, uint8_t id[20]);

#endif /* TLSREC_ELFNOTE_H */

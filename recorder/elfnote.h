/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef TLSREC_ELFNOTE_H
#define TLSREC_ELFNOTE_H

#include <elf.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ELF_MAX_PHDRS 64

/* Read len bytes at off of fd: 0, -errno, or -ENOEXEC when the file ends first. */
int elf_read_at(int fd, void *buf, size_t len, off_t off);

/* The header and the program headers of the 64-bit little-endian ELF file open on fd. Returns 0,
 * -errno, or -ENOEXEC (not such a file, or more than ELF_MAX_PHDRS program headers). */
int elf_headers(int fd, Elf64_Ehdr *eh, Elf64_Phdr ph[ELF_MAX_PHDRS]);

/* The GNU build id of the ELF file open on fd, up to 20 bytes, in id. Returns its length, 0 when
 * the file has none, or -errno (-ENOEXEC: not a 64-bit little-endian ELF file). */
int elf_build_id(int fd, uint8_t id[20]);

#endif /* TLSREC_ELFNOTE_H */

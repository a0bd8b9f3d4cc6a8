/* SPDX-License-Identifier: BSD-2-Clause */
/* Finding a value one pointer away from an object, without trusting the object's pointers. */
#ifndef TLSREC_PTRSCAN_H
#define TLSREC_PTRSCAN_H

#include <stddef.h>
#include <stdint.h>

/* How far past a pointer the value is looked for: OpenSSL 1.1.1's ssl3_state_st is ~1.2 KiB. */
#define PTRSCAN_WINDOW 2048

/*
 * Look for needle (len bytes, at offsets that are multiples of step) in the PTRSCAN_WINDOW bytes
 * that each 8-aligned word of obj[0][from..to) points to, if it points to readable memory (read
 * through a pipe, so a word that is no pointer costs nothing); a place counts when the word at
 * the same offset of obj[1], an object of the same type, leads to needle at the same offset too.
 * Returns how many (word, offset) places hold it, with the first in *ptr_at (offset of the word)
 * and *at (offset past the pointer), or -errno.
 */
int ptrscan(const void *const obj[2], size_t from, size_t to, const void *needle, size_t len,
	    size_t step, uint32_t *ptr_at, uint32_t *at);

/* Copy up to len bytes at addr into buf, if readable: how many, or -errno (-EFAULT). */
long ptrscan_read(uintptr_t addr, void *buf, size_t len);

#endif /* TLSREC_PTRSCAN_H */

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * XXH32 (xxHash specification, "XXH32 algorithm description"), the checksum of LZ4 frames. Ours
 * rather than liblz4's because liblz4 does not export it, and because the copy compiled into
 * Debian's liblz4 is auto-vectorized into code about half as fast as the scalar algorithm.
 */
#ifndef TLSREC_XXH32_H
#define TLSREC_XXH32_H

#include <stddef.h>
#include <stdint.h>

struct xxh32 {
	uint32_t v[4];
	uint64_t total;
	uint8_t mem[16];
	uint32_t memsize;
	uint32_t seed;
};

void xxh32_reset(struct xxh32 *s, uint32_t seed);
void xxh32_update(struct xxh32 *s, const void *data, size_t len);
uint32_t xxh32_digest(const struct xxh32 *s);

/* The hash of one buffer. */
uint32_t xxh32(const void *data, size_t len, uint32_t seed);

#endif /* TLSREC_XXH32_H */

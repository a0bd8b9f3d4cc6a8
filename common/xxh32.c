// SPDX-License-Identifier: BSD-2-Clause
#include <string.h>

#include "xxh32.h"

#define P1 0x9E3779B1u
#define P2 0x85EBCA77u
#define P3 0xC2B2AE3Du
#define P4 0x27D4EB2Fu
#define P5 0x165667B1u

/* gcc's vectorizer turns the four independent lanes into SSE code without a 32-bit multiply,
 * which is slower than four scalar multiplies. */
#if defined(__GNUC__) && !defined(__clang__)
#define SCALAR __attribute__((optimize("no-tree-vectorize")))
#else
#define SCALAR
#endif

static inline uint32_t rotl(uint32_t x, int r)
{
	return (x << r) | (x >> (32 - r));
}

static inline uint32_t read32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4); /* the journal is little-endian only, as XXH32 reads */
	return v;
}

static inline uint32_t round32(uint32_t acc, uint32_t input)
{
	return rotl(acc + input * P2, 13) * P1;
}

void xxh32_reset(struct xxh32 *s, uint32_t seed)
{
	memset(s, 0, sizeof(*s));
	s->seed = seed;
	s->v[0] = seed + P1 + P2;
	s->v[1] = seed + P2;
	s->v[2] = seed;
	s->v[3] = seed - P1;
}

/* Consume whole 16-byte stripes; returns the bytes consumed. */
static SCALAR size_t stripes(uint32_t v[4], const uint8_t *p, size_t len)
{
	uint32_t a = v[0], b = v[1], c = v[2], d = v[3];
	const uint8_t *start = p, *end = p + (len & ~(size_t)15);

	for (; p < end; p += 16) {
		a = round32(a, read32(p));
		b = round32(b, read32(p + 4));
		c = round32(c, read32(p + 8));
		d = round32(d, read32(p + 12));
	}
	v[0] = a;
	v[1] = b;
	v[2] = c;
	v[3] = d;
	return (size_t)(p - start);
}

void xxh32_update(struct xxh32 *s, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t n;

	s->total += len;
	if (s->memsize) {
		size_t fill = 16 - s->memsize;

		if (len < fill) {
			memcpy(s->mem + s->memsize, p, len);
			s->memsize += (uint32_t)len;
			return;
		}
		memcpy(s->mem + s->memsize, p, fill);
		stripes(s->v, s->mem, 16);
		p += fill;
		len -= fill;
	}
	n = stripes(s->v, p, len);
	memcpy(s->mem, p + n, len - n);
	s->memsize = (uint32_t)(len - n);
}

uint32_t xxh32_digest(const struct xxh32 *s)
{
	const uint8_t *p = s->mem, *end = s->mem + s->memsize;
	uint32_t h;

	if (s->total >= 16)
		h = rotl(s->v[0], 1) + rotl(s->v[1], 7) + rotl(s->v[2], 12) + rotl(s->v[3], 18);
	else
		h = s->seed + P5;
	h += (uint32_t)s->total;
	for (; p + 4 <= end; p += 4)
		h = rotl(h + read32(p) * P3, 17) * P4;
	for (; p < end; p++)
		h = rotl(h + *p * P5, 11) * P1;
	h ^= h >> 15;
	h *= P2;
	h ^= h >> 13;
	h *= P3;
	h ^= h >> 16;
	return h;
}

uint32_t xxh32(const void *data, size_t len, uint32_t seed)
{
	struct xxh32 s;

	xxh32_reset(&s, seed);
	xxh32_update(&s, data, len);
	return xxh32_digest(&s);
}

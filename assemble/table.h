/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * An open-addressing table of indices into an array the caller owns: the caller hashes its key and
 * says whether the element at an index matches. Lookups stay constant-time however many recordings
 * or interfaces a (possibly hostile) journal names.
 */
#ifndef TLSASM_TABLE_H
#define TLSASM_TABLE_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

struct table {
	uint32_t *slots; /* index + 1; 0 is empty */
	size_t cap;      /* a power of two, or 0 */
	size_t n;
};

typedef bool (*table_match)(const void *ctx, uint32_t index);

/*
 * The slot that holds the index whose element matches (the slot holds index + 1), or NULL. The
 * caller may store another index in it whose element has the same key (and so the same hash).
 */
static inline uint32_t *table_find_slot(const struct table *t, uint64_t hash, table_match match,
					const void *ctx)
{
	for (size_t i = t->cap ? hash & (t->cap - 1) : 0; t->cap && t->slots[i];
	     i = (i + 1) & (t->cap - 1))
		if (match(ctx, t->slots[i] - 1))
			return &t->slots[i];
	return NULL;
}

/* The index whose element matches, or -1. */
static inline int64_t table_find(const struct table *t, uint64_t hash, table_match match,
				 const void *ctx)
{
	uint32_t *slot = table_find_slot(t, hash, match, ctx);

	return slot ? (int64_t)*slot - 1 : -1;
}

static inline void table_place(struct table *t, uint64_t hash, uint32_t index)
{
	size_t i = hash & (t->cap - 1);

	while (t->slots[i])
		i = (i + 1) & (t->cap - 1);
	t->slots[i] = index + 1;
	t->n++;
}

/*
 * Add index, whose key hashes to hash; rehash(ctx, index) gives the hash of any index already in
 * the table, for growing it. Returns 0 or -ENOMEM.
 */
static inline int table_add(struct table *t, uint64_t hash, uint32_t index,
			    uint64_t (*rehash)(const void *ctx, uint32_t index), const void *ctx)
{
	if (2 * (t->n + 1) > t->cap) {
		struct table bigger = { .cap = t->cap ? 2 * t->cap : 64 };

		bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
		if (!bigger.slots)
			return -ENOMEM;
		for (size_t i = 0; i < t->cap; i++)
			if (t->slots[i])
				table_place(&bigger, rehash(ctx, t->slots[i] - 1), t->slots[i] - 1);
		free(t->slots);
		*t = bigger;
	}
	table_place(t, hash, index);
	return 0;
}

static inline void table_free(struct table *t)
{
	free(t->slots);
	t->slots = NULL;
	t->cap = t->n = 0;
}

/* A 64-bit mix of a 64-bit key (splitmix64's finalizer). */
static inline uint64_t table_hash(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

#endif /* TLSASM_TABLE_H */

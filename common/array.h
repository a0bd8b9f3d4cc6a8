/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef TLSREC_ARRAY_H
#define TLSREC_ARRAY_H

#include <errno.h>
#include <stdlib.h>

/*
 * Make room for at least `need` elements of `size` bytes in the array *arr of capacity *cap,
 * doubling it (from `first`) as needed. Returns 0, or -ENOMEM with *arr and *cap unchanged.
 */
static inline int array_reserve(void *arr, size_t *cap, size_t need, size_t size, size_t first)
{
	void **p = arr;
	size_t n = *cap ? *cap : first;
	void *v;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	v = realloc(*p, n * size);
	if (!v)
		return -ENOMEM;
	*p = v;
	*cap = n;
	return 0;
}

#endif /* TLSREC_ARRAY_H */

/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef TLSREC_CLOCK_H
#define TLSREC_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Clock id's time in nanoseconds. */
static inline uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

#endif /* TLSREC_CLOCK_H */

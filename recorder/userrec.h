/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef TLSREC_USERREC_H
#define TLSREC_USERREC_H

#include <stddef.h>
#include <stdint.h>

#include "options.h"
#include "targets.h"

/* What a recording lacks because this kernel, or this host, would not let tlsrec make it: why, or
 * NULL (or "") when it is recorded. */
struct lacks {
	const char *secrets; /* TLS secrets */
	const char *owners;  /* SOCKET and PROCESS records */
};

/* The HEADER record for this run, with what it lacks, in a buffer the caller frees. 0 or
 * -errno. */
int build_header(int argc, char **argv, const struct opts *o, const struct lacks *l,
		 const __u8 rid[16], void **out, size_t *len);

/* The LIBRARY record of target t, in buf (cap bytes). 0 or -ENOSPC. */
int build_library(const struct target *t, uint8_t *buf, size_t cap, size_t *len);

#endif /* TLSREC_USERREC_H */

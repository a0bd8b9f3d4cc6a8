/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef TLSREC_USERREC_H
#define TLSREC_USERREC_H

#include <stddef.h>
#include <stdint.h>

#include "options.h"
#include "targets.h"

/* The HEADER record for this run, in a buffer the caller frees. 0 or -errno. */
int build_header(int argc, char **argv, const struct opts *o, const __u8 rid[16], void **out,
		 size_t *len);

/* The LIBRARY record of target t, in buf (cap bytes). 0 or -ENOSPC. */
int build_library(const struct target *t, uint8_t *buf, size_t cap, size_t *len);

#endif /* TLSREC_USERREC_H */

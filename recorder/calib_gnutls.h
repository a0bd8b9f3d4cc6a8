/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * GnuTLS as a library kind. GnuTLS hands every secret of a handshake (TLS 1.3: five per side, more
 * with early data; TLS 1.2: the master secret) to the session's keylog function, by default its
 * own _gnutls_nss_keylog_func(session, label, datum), which is not exported but which the exported
 * gnutls_session_get_keylog_function() returns for a fresh session, and which starts by testing
 * whether a handshake is in progress. The hook is the conditional jump of that test: the kernel
 * emulates it, and the arguments are still in RDI, RSI and RDX there.
 */
#ifndef TLSREC_CALIB_GNUTLS_H
#define TLSREC_CALIB_GNUTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "calibrate.h"

/* Exported by every GnuTLS since 3.6.13, and by nothing else: what tells a GnuTLS library. */
#define GNUTLS_PROBE_SYMBOL "gnutls_session_get_keylog_function"

/* The library loaded in the calibration child, as a library kind's calibration sees it. */
struct calib_lib {
	void *(*lookup)(const char *name); /* a symbol of the file or its dependencies, or NULL */
	unsigned long (*file_offset)(uintptr_t addr); /* in the file's code, or 0 */
	bool (*code_at)(uintptr_t addr, uint8_t code[16]); /* as the file holds it */
};

/*
 * Whether the n bytes of code at c start as _gnutls_nss_keylog_func does: an optional endbr64,
 * "cmpb $0x0,X(%rdi)" (80 7f X8 00, or 80 bf X32 00: the session's handshake_in_progress), then a
 * jne or je (75/74 rel8, 0f 85/0f 84 rel32). Returns 0 with *skip the offset of the jump (the
 * instruction to probe) and *flag X (below 65536), or -ENOTSUP for any other start.
 */
int gnutls_find_hook(const uint8_t *c, size_t n, uint32_t *skip, uint32_t *flag);

/*
 * In the calibration child, with the GnuTLS library lib loaded: find the hook through the getter,
 * find the client random's offset in the session, and prove both with TLS 1.2 and TLS 1.3
 * handshakes in memory whose own keylog function gives the truth. Fills cal (kind, version,
 * hooks[0], the gnutls fields); 0, or -errno with the reason in why.
 */
int gnutls_calibrate(const struct calib_lib *lib, struct calibration *cal, char *why, size_t len);

#endif /* TLSREC_CALIB_GNUTLS_H */

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * TLS 1.2 session resumption's one rule, for every store of sessions (the key log of a conversion,
 * the index): a handshake with a master secret names its sessions (the ticket its server sent, the
 * session ID the ServerHello gave); an abbreviated handshake without one, once confirmed (its
 * server sent application data after its Finished: tlsconn_resumption_confirmed), takes the master
 * secret of the latest earlier naming of the session it offered (its ticket first, then its
 * session ID) at the same server address and port, and then names its own sessions in turn.
 * Connections are to be followed in the order of their first packets.
 */
#ifndef TLSASM_RESUME_H
#define TLSASM_RESUME_H

#include <stddef.h>
#include <stdint.h>

#include "session.h"
#include "tlsconn.h"

/* What a store does for resume_follow: has, find and take return 1 (yes, done), 0 (no) or -errno;
 * name 0 or -errno. */
struct resume_store {
	/* Whether client random cr has a master secret that is not all zeros. */
	int (*has)(void *ctx, const uint8_t cr[32]);
	/* The client random of a handshake with a master secret that named session key (len
	 * bytes, session.h) latest before c, into root. */
	int (*find)(void *ctx, const struct tls_conn *c, const uint8_t *key, size_t len,
		    uint8_t root[32]);
	/* Client random cr (with none of its own) takes root's master secret; NULL: it needs
	 * nothing more than root, which resume_follow gives. */
	int (*take)(void *ctx, const uint8_t cr[32], const uint8_t root[32]);
	/* Session key (len bytes) of c names root's master secret. */
	int (*name)(void *ctx, const struct tls_conn *c, const uint8_t *key, size_t len,
		    const uint8_t root[32]);
	void *ctx;
};

/*
 * Follow c (client random cr) through store st: 1 with root, the client random whose master
 * secret c's handshake has (cr itself, or that of the session it resumed), after its sessions are
 * named; 0 when it has none (not TLS 1.0 to 1.2, or no secret and no session known or confirmed);
 * or -errno.
 */
int resume_follow(const struct resume_store *st, const struct tls_conn *c, const uint8_t cr[32],
		  uint8_t root[32]);

#endif /* TLSASM_RESUME_H */

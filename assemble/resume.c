// SPDX-License-Identifier: BSD-2-Clause
/* Sessions: RFC 5246 section 7.4.1.2 (session ID), RFC 5077 sections 3.1-3.4 (tickets). */
#include <string.h>

#include "resume.h"

int resume_follow(const struct resume_store *st, const struct tls_conn *c, const uint8_t cr[32],
		  uint8_t root[32])
{
	uint8_t key[SESSION_KEY_MAX];
	uint16_t v = tlsconn_version(c);
	size_t len;
	int has;

	if (v < 0x0300 || v > 0x0303)
		return 0;
	has = st->has(st->ctx, cr);
	if (has > 0)
		memcpy(root, cr, 32);
	/* tlsconn_session's 0 and 1: the ticket and the session ID the client offered. */
	for (int which = 0; !has && which < 2 && tlsconn_resumption_confirmed(c); which++) {
		if (!(len = tlsconn_session(c, which, key)))
			continue;
		has = st->find(st->ctx, c, key, len, root);
		if (has > 0 && st->take)
			has = st->take(st->ctx, cr, root);
	}
	/* 2 and 3: the ticket the server sent and the session ID it gave. */
	for (int which = 2; has > 0 && which < 4; which++) {
		int ret;

		if ((len = tlsconn_session(c, which, key)) &&
		    (ret = st->name(st->ctx, c, key, len, root)) < 0)
			return ret;
	}
	return has;
}

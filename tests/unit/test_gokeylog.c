// SPDX-License-Identifier: BSD-2-Clause
/*
 * bpf/gokeylog.h in user space: the argument lengths the Go key log program takes, and its
 * fingerprint, equal for a call repeated (a stack growth) and different for any other secret.
 */
#include <stddef.h>
#include <string.h> /* __always_inline comes with glibc's sys/cdefs.h */

#include "../../bpf/gokeylog.h"
#include "check.h"

static void test_sizes(void)
{
	CHECK(go_keylog_sizes_ok(31, 32, 32));
	CHECK(go_keylog_sizes_ok(13, 32, 48));
	CHECK(go_keylog_sizes_ok(1, 32, 1));
	CHECK(go_keylog_sizes_ok(TR_KEYLOG_LABEL, 32, TR_SECRET_LEN));
	CHECK(!go_keylog_sizes_ok(0, 32, 32));
	CHECK(!go_keylog_sizes_ok(TR_KEYLOG_LABEL + 1, 32, 32));
	CHECK(!go_keylog_sizes_ok(31, 31, 32));
	CHECK(!go_keylog_sizes_ok(31, 33, 32));
	CHECK(!go_keylog_sizes_ok(31, 32, 0));
	CHECK(!go_keylog_sizes_ok(31, 32, TR_SECRET_LEN + 1));
	/* What a register could hold: a length is a whole word. */
	CHECK(!go_keylog_sizes_ok(1ULL << 32 | 31, 32, 32));
	CHECK(!go_keylog_sizes_ok(31, 32, 1ULL << 63 | 32));
}

static void test_fingerprint(void)
{
	struct tr_keylog a = { .label_len = 23, .secret_len = 32 }, b;
	uint64_t fa;

	memcpy(a.label, "CLIENT_TRAFFIC_SECRET_0", 23);
	for (int i = 0; i < 32; i++)
		a.client_random[i] = (uint8_t)i;
	for (int i = 0; i < 32; i++)
		a.secret[i] = (uint8_t)(0x80 + i);
	fa = go_keylog_fingerprint(&a);
	b = a;
	b.pid = 7; /* not part of it: the map's key holds the process */
	CHECK_EQ_U64(go_keylog_fingerprint(&b), fa);
	/* Any byte of label, client random or secret, and each length, changes it. */
	for (size_t off = offsetof(struct tr_keylog, label); off < sizeof(a); off++) {
		b = a;
		((uint8_t *)&b)[off] ^= 1;
		check_ctx("byte %zu", off);
		CHECK(go_keylog_fingerprint(&b) != fa);
	}
	check_ctx("lengths");
	b = a;
	b.label_len = 24;
	CHECK(go_keylog_fingerprint(&b) != fa);
	b = a;
	b.secret_len = 48;
	CHECK(go_keylog_fingerprint(&b) != fa);
}

int main(void)
{
	CHECK_RUN(test_sizes);
	CHECK_RUN(test_fingerprint);
	return check_exit();
}

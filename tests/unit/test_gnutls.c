/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * recorder/calib_gnutls.c's reading of the start of GnuTLS's default keylog function: Debian's
 * 3.7.9 bytes (cmpb $0x0,0x71c(%rdi); jne), the other encodings it takes, and starts it refuses.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "../../recorder/calib_gnutls.h"
#include "check.h"

static void test_known(void)
{
	static const uint8_t deb[] = { 0x80, 0xbf, 0x1c, 0x07, 0x00, 0x00, 0x00, 0x75, 0x07 };
	static const uint8_t endbr_disp8_je32[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x80, 0x7f, 0x50, 0x00,
						    0x0f, 0x84, 0x10, 0x00, 0x00, 0x00 };
	uint32_t skip = 0, flag = 0;

	CHECK(gnutls_find_hook(deb, sizeof(deb), &skip, &flag) == 0);
	CHECK(skip == 7 && flag == 0x71c);
	CHECK(gnutls_find_hook(endbr_disp8_je32, sizeof(endbr_disp8_je32), &skip, &flag) == 0);
	CHECK(skip == 8 && flag == 0x50);
}

static void test_refused(void)
{
	uint8_t c[16] = { 0x80, 0xbf, 0x1c, 0x07, 0x00, 0x00, 0x00, 0x75, 0x07 };
	uint32_t skip, flag;

	check_ctx("cut short");
	CHECK(gnutls_find_hook(c, 8, &skip, &flag) == -ENOTSUP);
	check_ctx("not a jump after the test");
	c[7] = 0x90;
	CHECK(gnutls_find_hook(c, sizeof(c), &skip, &flag) == -ENOTSUP);
	check_ctx("a test of another register (rsi)");
	c[7] = 0x75;
	c[1] = 0xbe;
	CHECK(gnutls_find_hook(c, sizeof(c), &skip, &flag) == -ENOTSUP);
	check_ctx("a compare with 1, not 0");
	c[1] = 0xbf;
	c[6] = 1;
	CHECK(gnutls_find_hook(c, sizeof(c), &skip, &flag) == -ENOTSUP);
	check_ctx("an offset past what the cookie holds");
	c[6] = 0;
	c[4] = 1;
	CHECK(gnutls_find_hook(c, sizeof(c), &skip, &flag) == -ENOTSUP);
	check_ctx("a negative 8-bit offset");
	memcpy(c, "\x80\x7f\xf0\x00\x75\x07", 6);
	CHECK(gnutls_find_hook(c, sizeof(c), &skip, &flag) == -ENOTSUP);
	check_ctx("a push first");
	memcpy(c, "\x55\x80\xbf\x1c\x07\x00\x00\x00\x75\x07", 10);
	CHECK(gnutls_find_hook(c, sizeof(c), &skip, &flag) == -ENOTSUP);
}

int main(void)
{
	CHECK_RUN(test_known);
	CHECK_RUN(test_refused);
	return check_exit();
}

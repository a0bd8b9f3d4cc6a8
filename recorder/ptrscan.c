// SPDX-License-Identifier: BSD-2-Clause
/*
 * The words of an object found by calibration may be pointers, integers or stale data; reading
 * through them directly could fault. A write of the memory into a pipe tells readable from not
 * (EFAULT) instead. The raw system calls: a sanitizer's write() would check the range itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ptrscan.h"

/* Lowest and highest address taken as a pointer: above the zero page, below x86-64's user limit. */
#define PTR_MIN 0x10000UL
#define PTR_MAX 0x800000000000UL

static int pipefd[2] = { -1, -1 };

long ptrscan_read(uintptr_t addr, void *buf, size_t len)
{
	long n;

	if (pipefd[0] < 0 && pipe2(pipefd, O_CLOEXEC | O_NONBLOCK))
		return -errno;
	n = syscall(SYS_write, pipefd[1], (const void *)addr, len);
	if (n <= 0)
		return n < 0 ? -errno : 0;
	return syscall(SYS_read, pipefd[0], buf, (size_t)n) == n ? n : -EIO;
}

/* The window behind the word at w of obj, into win: its length, 0 if unreadable, or -errno. */
static long window(const void *obj, size_t w, unsigned char win[PTRSCAN_WINDOW])
{
	uintptr_t p;
	long got;

	memcpy(&p, (const unsigned char *)obj + w, 8);
	if (p < PTR_MIN || p >= PTR_MAX || p % 8)
		return 0;
	got = ptrscan_read(p, win, PTRSCAN_WINDOW);
	return got == -EFAULT ? 0 : got;
}

int ptrscan(const void *const obj[2], size_t from, size_t to, const void *needle, size_t len,
	    size_t step, uint32_t *ptr_at, uint32_t *at)
{
	unsigned char win[2][PTRSCAN_WINDOW];
	int count = 0;

	for (size_t w = from & ~(size_t)7; w + 8 <= to; w += 8) {
		long got = window(obj[0], w, win[0]), got2;

		if (got <= 0) {
			if (got < 0)
				return (int)got;
			continue;
		}
		got2 = window(obj[1], w, win[1]);
		if (got2 < 0)
			return (int)got2;
		for (size_t o = 0; o + len <= (size_t)got && o + len <= (size_t)got2; o += step) {
			if (memcmp(win[0] + o, needle, len) || memcmp(win[1] + o, needle, len))
				continue;
			if (!count++) {
				*ptr_at = (uint32_t)w;
				*at = (uint32_t)o;
			}
		}
	}
	return count;
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * recorder/gobin.c on real Go programs (tests/go: gotls built static, stripped, PIE and with cgo)
 * and on damaged copies of one. The address of writeKeyLog must be the one `go tool nm` gives,
 * turned into a file offset here with libelf; the stripped build must agree with the static one
 * it was built beside; the hook must be the jbe of the stack check. Damage must be refused, with a
 * reason, without a crash (ASan and UBSan watch).
 *
 *	test_gobin GO GOTLS_DIR
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "gobin.h"

#define FUNC "crypto/tls.(*Config).writeKeyLog"

static const char *go, *dir;

/* The address of FUNC as `go tool nm` prints it, or 0. */
static uint64_t nm_address(const char *path)
{
	char cmd[4096], line[1024];
	uint64_t va = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "'%s' tool nm '%s'", go, path);
	p = popen(cmd, "r");
	if (!p)
		return 0;
	while (fgets(line, sizeof(line), p)) {
		char name[512];
		unsigned long long a;
		char kind;

		if (sscanf(line, "%llx %c %511s", &a, &kind, name) == 3 && !strcmp(name, FUNC))
			va = a;
	}
	pclose(p);
	return va;
}

/* va as a file offset, through libelf's reading of the program headers; -1 if in none. */
static int64_t libelf_offset(const char *path, uint64_t va)
{
	int fd = open(path, O_RDONLY);
	int64_t off = -1;
	size_t n = 0;
	Elf *e;

	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (e && !elf_getphdrnum(e, &n)) {
		for (size_t i = 0; i < n; i++) {
			GElf_Phdr ph;

			if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD &&
			    va >= ph.p_vaddr && va < ph.p_vaddr + ph.p_filesz)
				off = (int64_t)(va - ph.p_vaddr + ph.p_offset);
		}
	}
	if (e)
		elf_end(e);
	close(fd);
	return off;
}

static int inspect_path(const char *path, struct gobin *g, char *why, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = gobin_inspect(fd, g, why, len);
	close(fd);
	return ret;
}

static void test_builds(void)
{
	static const char *const variants[] = { "static", "pie", "cgo" };
	uint64_t static_off = 0;

	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		char path[4096], why[256];
		struct gobin g;
		uint64_t va;
		uint8_t b[2];
		int fd;

		snprintf(path, sizeof(path), "%s/gotls-%s", dir, variants[i]);
		check_ctx("%s", path);
		va = nm_address(path);
		CHECK(va != 0);
		if (!CHECK_EQ_INT(inspect_path(path, &g, why, sizeof(why)), 0)) {
			fprintf(stderr, "    why: %s\n", why);
			continue;
		}
		CHECK(!strncmp(g.version, "go1.", 4));
		CHECK_EQ_U64(g.func_va, va);
		CHECK_EQ_INT((int64_t)g.func_off, libelf_offset(path, va));
		/* lea -X(%rsp),%r12; cmp 0x10(%r14),%r12: 9 bytes; cmp 0x10(%r14),%rsp: 4 */
		CHECK(g.hook_skip == 9 || g.hook_skip == 4 || g.hook_skip == 12);
		CHECK_EQ_U64(g.hook_off, g.func_off + g.hook_skip);
		fd = open(path, O_RDONLY);
		CHECK_EQ_INT(pread(fd, b, 2, (off_t)g.hook_off), 2);
		close(fd);
		CHECK_MSG(b[0] == 0x76 || (b[0] == 0x0f && b[1] == 0x86), "hook at a jbe: %02x %02x",
			  b[0], b[1]);
		if (!strcmp(variants[i], "static"))
			static_off = g.hook_off;
	}
	{
		char path[4096], why[256];
		struct gobin g;

		snprintf(path, sizeof(path), "%s/gotls-stripped", dir);
		check_ctx("%s", path);
		CHECK(nm_address(path) == 0); /* no symbols: found through .gopclntab alone */
		CHECK_EQ_INT(inspect_path(path, &g, why, sizeof(why)), 0);
		CHECK_EQ_U64(g.hook_off, static_off);
	}
}

/* Not Go: quietly -ENOEXEC, with no reason. */
static void test_foreign(void)
{
	static const char *const files[] = { "/bin/sh", "/etc/passwd", "/dev/null" };
	char why[256];
	struct gobin g;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		check_ctx("%s", files[i]);
		CHECK_EQ_INT(inspect_path(files[i], &g, why, sizeof(why)), -ENOEXEC);
		CHECK_EQ_INT(why[0], 0);
	}
}

struct image {
	uint8_t *p;
	size_t n;
	int fd; /* a memfd holding p[0, n) */
};

static int write_memfd(const uint8_t *p, size_t n)
{
	int fd = memfd_create("gobin", MFD_CLOEXEC);

	if (fd < 0 || write(fd, p, n) != (ssize_t)n)
		abort();
	return fd;
}

static struct image load(const char *name)
{
	char path[4096];
	struct image im = { 0 };
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st))
		abort();
	im.n = (size_t)st.st_size;
	im.p = malloc(im.n);
	if (!im.p || pread(fd, im.p, im.n, 0) != (ssize_t)im.n)
		abort();
	close(fd);
	im.fd = write_memfd(im.p, im.n);
	return im;
}

static uint8_t *find(struct image *im, const void *what, size_t len)
{
	return memmem(im->p, im->n, what, len);
}

/* gobin_inspect on the image with len bytes at `at` replaced by bytes; the image is restored. */
static int inspect_changed(struct image *im, const uint8_t *at, const void *bytes, size_t len,
			   struct gobin *g, char *why, size_t why_len)
{
	off_t off = at - im->p;
	int ret;

	if (pwrite(im->fd, bytes, len, off) != (ssize_t)len)
		abort();
	ret = gobin_inspect(im->fd, g, why, why_len);
	if (pwrite(im->fd, at, len, off) != (ssize_t)len)
		abort();
	return ret;
}

/* One change to a copy of the stripped build: refused as not sound, with a reason naming it. */
static void refused(struct image *im, const uint8_t *at, const void *bytes, size_t len, int want,
		    const char *reason)
{
	char why[256] = "";
	struct gobin g;

	CHECK_EQ_INT(inspect_changed(im, at, bytes, len, &g, why, sizeof(why)), want);
	CHECK_MSG(strstr(why, reason) != NULL, "why: \"%s\" lacks \"%s\"", why, reason);
}

static void test_damage(void)
{
	struct image im = load("gotls-stripped");
	uint8_t *bi = find(&im, "\xff Go buildinf:", 14), *name, *pcln, *ver;
	struct gobin g;
	char why[256];
	uint32_t bad_magic = 0xfffffffa;
	uint64_t huge = 1ULL << 40;
	uint16_t arm64 = 183;
	Elf64_Ehdr eh;

	memcpy(&eh, im.p, sizeof(eh));
	CHECK(eh.e_shoff + eh.e_shnum * sizeof(Elf64_Shdr) <= im.n);
	CHECK_EQ_INT(gobin_inspect(im.fd, &g, why, sizeof(why)), 0);
	CHECK(bi != NULL);
	/* The version's length (one byte), then the version. */
	ver = bi && !memcmp(bi + 33, g.version, strlen(g.version)) ? bi + 33 : NULL;
	name = find(&im, FUNC, sizeof(FUNC));
	pcln = find(&im, "\xf0\xff\xff\xff\x00\x00\x01\x08", 8);
	CHECK(ver && name && pcln);
	if (!bi || !ver || !name || !pcln)
		return;
	check_ctx("damaged gotls-stripped");
	refused(&im, bi + 15, "\x00", 1, -ENOTSUP, "older than 1.18");
	refused(&im, bi, "\xff Go buildinX", 14, -ENOTSUP, "without Go's build information");
	refused(&im, ver, "go1.17", 6, -ENOTSUP, "only Go 1.18 and later");
	refused(&im, ver, "devel ", 6, -ENOTSUP, "only Go 1.18 and later");
	refused(&im, bi + 32, "\x7f", 1, -ENOTSUP, "no Go version");
	refused(&im, im.p + 18, &arm64, 2, -ENOTSUP, "another architecture");
	refused(&im, pcln, &bad_magic, 4, -ENOTSUP, "unknown .gopclntab");
	refused(&im, pcln + 8, &huge, 8, -ENOTSUP, "points outside");
	refused(&im, pcln + 0x40, &huge, 8, -ENOTSUP, "points outside");
	refused(&im, name, "crypto/tls.(*Config).writeKeyLoX", sizeof(FUNC) - 1, -ENOTSUP,
		"does not use crypto/tls");
	refused(&im, im.p + g.func_off, "\x48\x83\xec\x18", 4, -ENOTSUP, "stack check expected");
	refused(&im, im.p + g.hook_off, "\x0f\x87", 2, -ENOTSUP, "stack check expected");
	/* A jump backwards, out of the function. */
	refused(&im, im.p + g.hook_off + 2, "\x00\x00\x00\x80", 4, -ENOTSUP, "stack check expected");
	/* The other stack checks a function can start with: accepted, the hook at their jbe. */
	{
		static const uint8_t small[] = { 0x49, 0x3b, 0x66, 0x10, 0x76, 0x20 };
		static const uint8_t large[] = { 0x4c, 0x8d, 0xa4, 0x24, 0x00, 0xff, 0xff, 0xff, 0x4d,
						 0x3b, 0x66, 0x10, 0x0f, 0x86, 0x20, 0, 0, 0 };
		struct gobin other;

		check_ctx("cmp; jbe rel8");
		CHECK_EQ_INT(inspect_changed(&im, im.p + g.func_off, small, sizeof(small), &other,
					     why, sizeof(why)), 0);
		CHECK_EQ_U64(other.hook_off, g.func_off + 4);
		check_ctx("lea disp32; cmp; jbe rel32");
		CHECK_EQ_INT(inspect_changed(&im, im.p + g.func_off, large, sizeof(large), &other,
					     why, sizeof(why)), 0);
		CHECK_EQ_U64(other.hook_off, g.func_off + 12);
		check_ctx("damaged gotls-stripped");
	}
	/* The name of the build information's section: no longer a Go program. */
	{
		uint8_t *sec = find(&im, ".go.buildinfo", 14);

		CHECK(sec != NULL);
		if (sec)
			refused(&im, sec, ".go.buildinfX", 14, -ENOEXEC, "");
	}
	/* Cut anywhere: refused, or (when all that is read is still there) the same answer. */
	for (size_t n = 0; n < im.n; n += im.n / 61 + 1) {
		struct gobin cut;
		int fd = write_memfd(im.p, n), ret;

		check_ctx("cut at %zu", n);
		ret = gobin_inspect(fd, &cut, why, sizeof(why));
		close(fd);
		CHECK(ret == -ENOEXEC || ret == -ENOTSUP || (ret == 0 && cut.hook_off == g.hook_off));
	}
	/* Bytes flipped in the ELF and pcHeader headers, the section headers and the prologue. */
	srand(14);
	for (int i = 0; i < 1000; i++) {
		const uint8_t *area[] = { im.p, pcln, im.p + eh.e_shoff, im.p + g.func_off };
		size_t sizes[] = { 120, 0x48, eh.e_shnum * sizeof(Elf64_Shdr), 16 };
		int k = i % 4;
		const uint8_t *at = area[k] + (size_t)rand() % sizes[k];
		uint8_t flipped = *at ^ (uint8_t)(1u << (rand() % 8));
		struct gobin any;
		int ret;

		check_ctx("flip %d at %td", i, at - im.p);
		ret = inspect_changed(&im, at, &flipped, 1, &any, why, sizeof(why));
		CHECK(ret == 0 || ret == -ENOEXEC || ret == -ENOTSUP);
	}
	close(im.fd);
	free(im.p);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test_gobin GO GOTLS_DIR\n");
		return 2;
	}
	go = argv[1];
	dir = argv[2];
	CHECK_RUN(test_builds);
	CHECK_RUN(test_foreign);
	CHECK_RUN(test_damage);
	return check_exit();
}

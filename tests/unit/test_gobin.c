// SPDX-License-Identifier: BSD-2-Clause
/*
 * recorder/gobin.c on real Go programs (tests/go: gotls built static, stripped, PIE and with cgo;
 * esbuild built by Go 1.20 to 1.26, stripped) and on damaged copies of them. The address of
 * writeKeyLog must be the one `go tool nm` gives, turned into a file offset here with libelf; the
 * stripped build must agree with the static one it was built beside; the hook must be the jbe of
 * the stack check. In esbuild's builds, which have no symbols, the jbe must lead to the block
 * that spills the nine argument registers in the register ABI's order, calls morestack, reloads
 * them and jumps back to the very entry gobin found. Damage must be refused, with a reason,
 * without a crash (ASan and UBSan watch), and without reading a whole pclntab into memory.
 *
 *	test_gobin GO GOTLS_DIR ESBUILD_VERSIONS ESBUILD_DIR
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "gobin.h"

#define FUNC "crypto/tls.(*Config).writeKeyLog"

static const char *go, *dir, *esbuild_versions, *esbuild_dir;

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

/*
 * The block the jbe of writeKeyLog's stack check leads to (obj6.go): the argument registers
 * spilled to 8(%rsp) on (RAX the receiver; RBX, RCX the label; RDI, RSI, R8 the client random;
 * R9, R10, R11 the secret), a call of morestack, the same reloaded, a jump back to the entry
 * (before Go 1.26 after a nop, 5 bytes or, from 1.22, 4: padding).
 * Whether the code at off in fd is that block, jumping back to entry.
 */
static bool morestack_block(int fd, uint64_t off, uint64_t entry)
{
	static const uint8_t reg[9][2] = { { 0x48, 0x44 }, { 0x48, 0x5c }, { 0x48, 0x4c },
					   { 0x48, 0x7c }, { 0x48, 0x74 }, { 0x4c, 0x44 },
					   { 0x4c, 0x4c }, { 0x4c, 0x54 }, { 0x4c, 0x5c } };
	uint8_t b[2 * 9 * 5 + 5 + 5 + 5];
	static const uint8_t nop5[] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 };
	static const uint8_t nop4[] = { 0x0f, 0x1f, 0x40, 0x00 };
	size_t jmp = 95;
	int32_t rel;

	if (pread(fd, b, sizeof(b), (off_t)off) != (ssize_t)sizeof(b))
		return false;
	for (int i = 0; i < 9; i++) {
		const uint8_t spill[5] = { reg[i][0], 0x89, reg[i][1], 0x24, (uint8_t)(8 * (i + 1)) };
		const uint8_t load[5] = { reg[i][0], 0x8b, reg[i][1], 0x24, (uint8_t)(8 * (i + 1)) };

		if (memcmp(b + 5 * i, spill, 5) || memcmp(b + 50 + 5 * i, load, 5))
			return false;
	}
	if (!memcmp(b + jmp, nop5, sizeof(nop5)))
		jmp += sizeof(nop5);
	else if (!memcmp(b + jmp, nop4, sizeof(nop4)))
		jmp += sizeof(nop4);
	memcpy(&rel, b + jmp + 1, 4);
	return b[45] == 0xe8 && b[jmp] == 0xe9 && off + jmp + 5 + (int64_t)rel == entry;
}

/* Each of esbuild's builds in ESBUILD_VERSIONS: hooked, its version the one listed. */
static void test_esbuild(void)
{
	FILE *list = fopen(esbuild_versions, "r");
	char line[256];
	int n = 0;

	CHECK(list != NULL);
	while (list && fgets(line, sizeof(line), list)) {
		char path[4096], why[256], version[64], want[64];
		struct gobin g;
		uint8_t b[6];
		int64_t rel;
		int fd;

		if (line[0] == '#' || sscanf(line, "%63s %*s %63[^\n]", version, want) != 2)
			continue;
		n++;
		snprintf(path, sizeof(path), "%s/esbuild-%s/bin/esbuild", esbuild_dir, version);
		check_ctx("%s", path);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (!CHECK_MSG(fd >= 0, "not installed (bash .ci/deps installs it)"))
			continue;
		if (!CHECK_EQ_INT(gobin_inspect(fd, &g, why, sizeof(why)), 0)) {
			fprintf(stderr, "    why: %s\n", why);
			close(fd);
			continue;
		}
		CHECK_MSG(!strcmp(g.version, want), "version \"%s\", not \"%s\"", g.version, want);
		CHECK_EQ_INT((int64_t)g.func_off, libelf_offset(path, g.func_va));
		CHECK_EQ_U64(g.hook_off, g.func_off + g.hook_skip);
		CHECK_EQ_INT(pread(fd, b, sizeof(b), (off_t)g.hook_off), (int)sizeof(b));
		if (CHECK_MSG(b[0] == 0x0f && b[1] == 0x86, "hook at a jbe rel32: %02x %02x", b[0],
			      b[1])) {
			rel = (int32_t)(b[2] | b[3] << 8 | b[4] << 16 | (uint32_t)b[5] << 24);
			CHECK_MSG(morestack_block(fd, g.hook_off + 6 + (uint64_t)rel, g.func_off),
				  "the jbe does not lead to the spills of writeKeyLog's arguments and back to its entry");
		}
		close(fd);
	}
	if (list)
		fclose(list);
	CHECK_MSG(n >= 7, "%d builds in %s", n, esbuild_versions);
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

	snprintf(path, sizeof(path), "%s/%s", name[0] == '/' ? "" : dir, name);
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
	/*
	 * Without its build information's section, a Go program still by its pclntab, of an
	 * unknown version; without that too, no Go program.
	 */
	{
		uint8_t *sec = find(&im, ".go.buildinfo", 14), *pcln_name = find(&im, ".gopclntab", 11);
		struct gobin other;

		CHECK(sec && pcln_name);
		if (sec && pcln_name) {
			CHECK_EQ_INT(inspect_changed(&im, sec, ".go.buildinfX", 14, &other, why,
						     sizeof(why)), 0);
			CHECK_MSG(!strcmp(other.version, "Go 1.18 or 1.19 (no build information)"),
				  "version \"%s\"", other.version);
			CHECK_EQ_U64(other.hook_off, g.hook_off);
			if (pwrite(im.fd, ".go.buildinfX", 14, sec - im.p) != 14)
				abort();
			refused(&im, pcln_name, ".gopclntaX", 11, -ENOEXEC, "");
			refused(&im, pcln, &bad_magic, 4, -ENOTSUP, "unknown .gopclntab");
			if (pwrite(im.fd, sec, 14, sec - im.p) != 14)
				abort();
		}
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

/* The section header of the section named name in the image, or NULL. */
static Elf64_Shdr *shdr(struct image *im, const char *name)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)im->p;
	Elf64_Shdr *sh = (Elf64_Shdr *)(im->p + eh->e_shoff);
	const char *names = (const char *)im->p + sh[eh->e_shstrndx].sh_offset;

	for (unsigned i = 0; i < eh->e_shnum; i++)
		if (!strcmp(names + sh[i].sh_name, name))
			return &sh[i];
	return NULL;
}

static long max_rss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/*
 * A pclntab claiming 500 MiB (the file made that long with a hole): read a window at a time, so
 * memory does not grow with it; a header claiming more functions than are read refused.
 */
static void test_huge(void)
{
	struct image im = load("gotls-stripped");
	Elf64_Shdr *s = shdr(&im, ".gopclntab");
	uint8_t *pcln = s ? im.p + s->sh_offset : NULL;
	uint64_t size = 500ull << 20, nfunc = (1u << 22) + 1;
	struct gobin g, big;
	char why[256];
	long before;

	CHECK(s != NULL);
	if (!s)
		return;
	CHECK_EQ_INT(gobin_inspect(im.fd, &g, why, sizeof(why)), 0);
	CHECK_EQ_INT(ftruncate(im.fd, (off_t)(s->sh_offset + size)), 0);
	before = max_rss_kb();
	CHECK_EQ_INT(inspect_changed(&im, (uint8_t *)&s->sh_size, &size, 8, &big, why, sizeof(why)),
		     0);
	CHECK_EQ_U64(big.hook_off, g.hook_off);
	CHECK_MSG(max_rss_kb() - before < 16 * 1024, "memory grew by %ld KiB",
		  max_rss_kb() - before);
	/* Its functions: the header's count, the table 32 MiB of the hole. */
	if (pwrite(im.fd, &size, 8, (uint8_t *)&s->sh_size - im.p) != 8)
		abort();
	refused(&im, pcln + 8, &nfunc, 8, -ENOTSUP, "claims 4194305 functions");
	/* The section beyond the file's end. */
	if (ftruncate(im.fd, (off_t)(s->sh_offset + size - 1)))
		abort();
	CHECK_EQ_INT(gobin_inspect(im.fd, &big, why, sizeof(why)), -ENOTSUP);
	CHECK_MSG(strstr(why, "cut short") != NULL, "why: \"%s\"", why);
	close(im.fd);
	free(im.p);
}

/*
 * A function table whose entries send the _func records and the names back and forth (each entry
 * the first function's or the last's, in turn): in order, a pclntab is read about once per stream;
 * this one would cost a window per function, on the thread that drains the rings, and is refused
 * once it has read a few times the section.
 */
static void test_scattered(void)
{
	struct image im = load("gotls-stripped");
	Elf64_Shdr *s = shdr(&im, ".gopclntab");
	uint8_t *pcln = s ? im.p + s->sh_offset : NULL, *tab;
	uint64_t nfunc, ftab;
	uint32_t first, last;
	size_t len;

	CHECK(s != NULL);
	if (!s)
		return;
	memcpy(&nfunc, pcln + 8, 8);
	memcpy(&ftab, pcln + 0x40, 8);
	len = 8 * nfunc;
	tab = malloc(len);
	if (!tab)
		abort();
	memcpy(tab, pcln + ftab, len);
	memcpy(&first, tab + 4, 4);
	memcpy(&last, tab + len - 4, 4);
	for (uint64_t i = 0; i < nfunc; i++)
		memcpy(tab + 8 * i + 4, i % 2 ? &last : &first, 4);
	refused(&im, pcln + ftab, tab, len, -ENOTSUP, "tables are out of order");
	free(tab);
	close(im.fd);
	free(im.p);
}

/*
 * Go 1.26 (esbuild 0.28.2): the pcHeader without the text's start, taken from .go.module's
 * moduledata, which must point back at the pclntab.
 */
static void test_go126(void)
{
	char path[4096], why[256];
	struct image im;
	Elf64_Shdr *s;
	struct gobin g;
	uint64_t zero = 0;

	snprintf(path, sizeof(path), "%s/esbuild-0.28.2/bin/esbuild", esbuild_dir);
	if (!CHECK_MSG(access(path, R_OK) == 0, "%s not installed (bash .ci/deps installs it)",
		       path))
		return;
	im = load(path);
	s = shdr(&im, ".go.module");
	check_ctx("damaged esbuild 0.28.2");
	CHECK(s != NULL);
	if (!s)
		return;
	CHECK_EQ_INT(gobin_inspect(im.fd, &g, why, sizeof(why)), 0);
	refused(&im, im.p + s->sh_offset, &zero, 8, -ENOTSUP, "does not give the start of the text");
	refused(&im, im.p + s->sh_offset + 0xb0, &zero, 8, -ENOTSUP,
		"does not give the start of the text");
	refused(&im, im.p + s->sh_offset + 0xa0, &zero, 8, -ENOTSUP,
		"does not give the start of the text");
	close(im.fd);
	free(im.p);
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: test_gobin GO GOTLS_DIR ESBUILD_VERSIONS ESBUILD_DIR\n");
		return 2;
	}
	go = argv[1];
	dir = argv[2];
	esbuild_versions = argv[3];
	esbuild_dir = argv[4];
	CHECK_RUN(test_builds);
	CHECK_RUN(test_esbuild);
	CHECK_RUN(test_foreign);
	CHECK_RUN(test_damage);
	CHECK_RUN(test_huge);
	CHECK_RUN(test_scattered);
	CHECK_RUN(test_go126);
	return check_exit();
}

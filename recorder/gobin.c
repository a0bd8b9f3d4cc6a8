// SPDX-License-Identifier: BSD-2-Clause
/*
 * Go executables (Go 1.18+ on amd64), read as data, a few small windows of the file at a time.
 * Layouts from the Go 1.19 source: debug/buildinfo/buildinfo.go (.go.buildinfo),
 * runtime/symtab.go (pcHeader, functab, _func), cmd/compile/abi-internal.md (the register ABI)
 * and cmd/internal/obj/x86/obj6.go (the stack check that starts a function); the Go 1.26 release
 * notes for its pcHeader.
 */
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "elfnote.h"
#include "gobin.h"

#define MAX_SECTIONS 1024
#define MAX_SHSTRTAB (64 * 1024)
#define MAX_FUNCS (1u << 22) /* kubelet has about 100,000: this bounds the time a file takes */
#define WINDOW (64 * 1024)   /* of each stream of the pclntab: 192 KiB in all, whatever the file */
/* What the three windows may read in all: a pclntab read in order takes each of its streams once,
 * about three times its size; one that sends them back and forth (a user's crafted file) would
 * otherwise cost a window per function, gigabytes, on the thread that drains the rings. */
#define READ_FACTOR 4
#define MAX_READ (512ull << 20)
#define BUILDINFO_MAGIC "\xff Go buildinf:"
#define BUILDINFO_READ 128 /* header (32), the version's length and the version */
#define PCLN_HEADER 0x48
#define PCLN_GO118 0xfffffff0u /* 1.18 and 1.19 */
#define PCLN_GO120 0xfffffff1u /* 1.20 on: the fields read here did not move */
#define MODULE_READ 0xc0
#define MODULE_PCHEADER 0x00
#define MODULE_MINPC 0xa0
#define MODULE_TEXT 0xb0
#define FUNC_NAME "crypto/tls.(*Config).writeKeyLog"
#define PROLOGUE_READ 24 /* the longest stack check: lea (8), cmp (4), jbe (6) */

struct elf {
	int fd;
	Elf64_Ehdr eh;
	Elf64_Phdr ph[ELF_MAX_PHDRS];
	Elf64_Shdr *sh;
	char *names; /* .shstrtab, NUL-terminated */
	size_t names_len;
};

/* A section of the file seen through a buffer of up to WINDOW bytes: buf holds [at, at + len). */
struct window {
	int fd;
	uint64_t off, size; /* the section's place in the file */
	uint64_t at;
	size_t len;
	uint64_t *budget; /* bytes the windows may still read */
	uint8_t buf[WINDOW];
};

/* The pclntab at address addr, read as three streams (functab, _func records, names). */
struct pcln {
	uint64_t addr;
	uint64_t budget;
	struct window ftab, funcs, names;
};

static uint32_t u32_at(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t u64_at(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* The section headers and their names. 0, -ENOEXEC (none, or not sound), -ENOMEM or -errno. */
static int read_sections(struct elf *e)
{
	const Elf64_Shdr *strs;
	int ret;

	if (!e->eh.e_shnum || e->eh.e_shnum > MAX_SECTIONS ||
	    e->eh.e_shentsize != sizeof(Elf64_Shdr) || e->eh.e_shstrndx >= e->eh.e_shnum)
		return -ENOEXEC;
	e->sh = calloc(e->eh.e_shnum, sizeof(*e->sh));
	if (!e->sh)
		return -ENOMEM;
	ret = elf_read_at(e->fd, e->sh, e->eh.e_shnum * sizeof(*e->sh), (off_t)e->eh.e_shoff);
	if (ret)
		return ret;
	strs = &e->sh[e->eh.e_shstrndx];
	if (strs->sh_type == SHT_NOBITS || !strs->sh_size || strs->sh_size > MAX_SHSTRTAB)
		return -ENOEXEC;
	e->names_len = strs->sh_size;
	e->names = calloc(1, e->names_len + 1);
	if (!e->names)
		return -ENOMEM;
	return elf_read_at(e->fd, e->names, e->names_len, (off_t)strs->sh_offset);
}

/* The section named name with bytes in the file, or NULL. */
static const Elf64_Shdr *section(const struct elf *e, const char *name)
{
	for (unsigned i = 0; i < e->eh.e_shnum; i++)
		if (e->sh[i].sh_name < e->names_len && e->sh[i].sh_type != SHT_NOBITS &&
		    !strcmp(e->names + e->sh[i].sh_name, name))
			return &e->sh[i];
	return NULL;
}

/* A uvarint (encoding/binary) at *pos of p[0, n): its value, or -1 when cut short or too long. */
static int64_t uvarint(const uint8_t *p, size_t n, size_t *pos)
{
	uint64_t v = 0;

	for (unsigned shift = 0; *pos < n && shift < 35; shift += 7) {
		uint8_t b = p[(*pos)++];

		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return (int64_t)v;
	}
	return -1;
}

/*
 * The Go version in .go.buildinfo: "\xff Go buildinf:", pointer size, flags; with flags bit 2
 * (Go 1.18 on) the version follows at 32 as a uvarint-prefixed string. 0, -ENOEXEC when there is
 * no such section (not Go), -ENOTSUP with why.
 */
static int read_version(const struct elf *e, struct gobin *g, char *why, size_t len)
{
	const Elf64_Shdr *s = section(e, ".go.buildinfo");
	uint8_t b[BUILDINFO_READ];
	size_t n, pos = 32;
	int64_t vlen;
	unsigned minor = 0;

	if (!s)
		return -ENOEXEC;
	n = s->sh_size < sizeof(b) ? s->sh_size : sizeof(b);
	if (n < 32 || elf_read_at(e->fd, b, n, (off_t)s->sh_offset) ||
	    memcmp(b, BUILDINFO_MAGIC, strlen(BUILDINFO_MAGIC))) {
		snprintf(why, len, "a .go.buildinfo section without Go's build information");
		return -ENOTSUP;
	}
	if (!(b[15] & 2)) {
		snprintf(why, len, "built by a Go older than 1.18 (build information by pointers): only Go 1.18 and later are supported");
		return -ENOTSUP;
	}
	vlen = uvarint(b, n, &pos);
	if (vlen < 4 || (size_t)vlen >= sizeof(g->version) || (size_t)vlen > n - pos) {
		snprintf(why, len, "its .go.buildinfo holds no Go version");
		return -ENOTSUP;
	}
	memcpy(g->version, b + pos, (size_t)vlen);
	g->version[vlen] = '\0';
	for (char *c = g->version; *c; c++)
		if ((unsigned char)*c < 0x21 || *c == 0x7f)
			*c = '?';
	if (strncmp(g->version, "go1.", 4) || sscanf(g->version + 4, "%u", &minor) != 1 ||
	    minor < 18) {
		snprintf(why, len, "built by %s: only Go 1.18 and later are supported", g->version);
		return -ENOTSUP;
	}
	return 0;
}

/* The pclntab's section (.data.rel.ro.gopclntab in a -buildmode=pie build before 1.26), or NULL. */
static const Elf64_Shdr *pclntab(const struct elf *e)
{
	const Elf64_Shdr *s = section(e, ".gopclntab");

	return s ? s : section(e, ".data.rel.ro.gopclntab");
}

/*
 * The pcHeader of the pclntab s into h, with its magic and padding checked, once the whole section
 * is known to be in the file. 0, -ENOTSUP with why, or -errno.
 */
static int read_header(const struct elf *e, const Elf64_Shdr *s, uint8_t h[PCLN_HEADER],
		       char *why, size_t len)
{
	struct stat st;
	int ret;

	if (fstat(e->fd, &st))
		return -errno;
	if (s->sh_offset > (uint64_t)st.st_size || s->sh_size > (uint64_t)st.st_size - s->sh_offset) {
		snprintf(why, len, "its .gopclntab is cut short");
		return -ENOTSUP;
	}
	ret = s->sh_size < PCLN_HEADER ? -ENOEXEC :
					 elf_read_at(e->fd, h, PCLN_HEADER, (off_t)s->sh_offset);
	if (ret && ret != -ENOEXEC)
		return ret;
	if (ret || (u32_at(h) != PCLN_GO118 && u32_at(h) != PCLN_GO120) || h[4] || h[5]) {
		snprintf(why, len, "an unknown .gopclntab (not Go 1.18 or later on amd64)");
		return -ENOTSUP;
	}
	return 0;
}

/*
 * A program without .go.buildinfo (esbuild's builds by Go 1.25 and 1.26 have none) is a Go program
 * still when it has a pclntab: its version then as far as the pcHeader tells it (the magic changed
 * at 1.20; textStart is 0 from 1.26 on). 0, -ENOEXEC when there is no pclntab (not Go), -ENOTSUP
 * with why, or -errno.
 */
static int version_from_pclntab(const struct elf *e, struct gobin *g, char *why, size_t len)
{
	const Elf64_Shdr *s = pclntab(e);
	uint8_t h[PCLN_HEADER];
	int ret;

	if (!s)
		return -ENOEXEC;
	ret = read_header(e, s, h, why, len);
	if (ret)
		return ret;
	snprintf(g->version, sizeof(g->version), "%s (no build information)",
		 u32_at(h) == PCLN_GO118 ? "Go 1.18 or 1.19" :
		 u64_at(h + 0x18)	  ? "Go 1.20 to 1.25" :
					    "Go 1.26 or later");
	return 0;
}

/* The file offset of [va, va + size) through the executable PT_LOAD holding it all. 0 or -1. */
static int code_offset(const struct elf *e, uint64_t va, uint64_t size, uint64_t *off)
{
	for (unsigned i = 0; i < e->eh.e_phnum; i++) {
		const Elf64_Phdr *p = &e->ph[i];

		if (p->p_type == PT_LOAD && (p->p_flags & PF_X) && va >= p->p_vaddr &&
		    va - p->p_vaddr <= p->p_filesz && size <= p->p_filesz - (va - p->p_vaddr)) {
			*off = va - p->p_vaddr + p->p_offset;
			return 0;
		}
	}
	return -1;
}

/* What reading a pclntab of size bytes may cost: READ_FACTOR times it (and three windows, for a
 * small one), at most MAX_READ. */
static uint64_t read_budget(uint64_t size)
{
	uint64_t b = size < MAX_READ / READ_FACTOR ? size * READ_FACTOR : MAX_READ;

	return b + 3 * WINDOW;
}

/* A window over the section s of the file fd, empty, reading out of budget. */
static void win_init(struct window *w, int fd, const Elf64_Shdr *s, uint64_t *budget)
{
	w->fd = fd;
	w->budget = budget;
	w->off = s->sh_offset;
	w->size = s->sh_size;
	w->at = 0;
	w->len = 0;
}

/*
 * n bytes (at most WINDOW) at offset pos of the section w reads, through its window: moved to
 * start at pos when they are not all in it, so that a stream read forwards is read once. 0,
 * -ERANGE when they are not all in the section, -ENOEXEC when the file ends first, -E2BIG when
 * the budget is spent, or -errno.
 */
static int win_read(struct window *w, uint64_t pos, void *out, size_t n)
{
	int ret;

	if (pos > w->size || n > w->size - pos)
		return -ERANGE;
	if (pos < w->at || pos - w->at > w->len || n > w->len - (pos - w->at)) {
		size_t len = w->size - pos < WINDOW ? (size_t)(w->size - pos) : WINDOW;

		w->len = 0;
		if (len > *w->budget)
			return -E2BIG;
		*w->budget -= len;
		ret = elf_read_at(w->fd, w->buf, len, (off_t)(w->off + pos));
		if (ret)
			return ret;
		w->at = pos;
		w->len = len;
	}
	memcpy(out, w->buf + (pos - w->at), n);
	return 0;
}

/*
 * The start of the text when the pcHeader no longer holds it (Go 1.26 on: "That field is now
 * always zero", the release notes): moduledata.text, moduledata being the start of the section
 * .go.module there (runtime/symtab.go: pcHeader *pcHeader at 0, minpc at 0xa0, text at 0xb0, the
 * same since 1.18). It must point back at this pclntab, and minpc be text + the first function's
 * entryoff. 0, or -ENOTSUP with why.
 */
static int module_text(const struct elf *e, const struct pcln *t, uint32_t first, char *why,
		       size_t len, uint64_t *text)
{
	const Elf64_Shdr *s = section(e, ".go.module");
	uint8_t m[MODULE_READ];

	if (!s || s->sh_size < sizeof(m) || elf_read_at(e->fd, m, sizeof(m), (off_t)s->sh_offset) ||
	    u64_at(m + MODULE_PCHEADER) != t->addr || u64_at(m + MODULE_TEXT) > UINT64_MAX - first ||
	    u64_at(m + MODULE_MINPC) != u64_at(m + MODULE_TEXT) + first) {
		snprintf(why, len, "its .gopclntab does not give the start of the text, and no .go.module section does");
		return -ENOTSUP;
	}
	*text = u64_at(m + MODULE_TEXT);
	return 0;
}

/*
 * Find FUNC_NAME in the pclntab t, its header h: its address and size. The pcHeader
 * (runtime/symtab.go): magic u32, two zero bytes, minLC, ptrSize, then nfunc, nfiles, textStart,
 * funcnameOffset, cuOffset, filetabOffset, pctabOffset, pclnOffset, 8 bytes each; functab at
 * pclnOffset: nfunc+1 pairs {entryoff, funcoff} (u32), the last one the end of the text; a _func
 * at functab + funcoff starts with entryOff u32, nameOff i32 (into the names at funcnameOffset).
 * The functab, the _func records and the names are each read in order, each through its own
 * window. 0, -ENOTSUP with why, or -errno.
 */
static int find_func(const struct elf *e, struct pcln *t, const uint8_t *h, uint64_t *va,
		     uint64_t *size, char *why, size_t len)
{
	uint64_t nfunc = u64_at(h + 0x08), text = u64_at(h + 0x18), names = u64_at(h + 0x20);
	uint64_t ftab = u64_at(h + 0x40), n = t->ftab.size;
	uint8_t pair[12], fn[8], name[sizeof(FUNC_NAME)];
	unsigned found = 0;
	int ret;

	if (h[6] != 1 || h[7] != 8) { /* minLC 1 (x86), pointers of 8 bytes */
		snprintf(why, len, "an unknown .gopclntab (not Go 1.18 or later on amd64)");
		return -ENOTSUP;
	}
	if (names >= n || ftab >= n || nfunc >= (n - ftab) / 8) {
		snprintf(why, len, "its .gopclntab's header points outside it");
		return -ENOTSUP;
	}
	if (nfunc > MAX_FUNCS) {
		snprintf(why, len, "its .gopclntab claims %llu functions, more than the %u read",
			 (unsigned long long)nfunc, MAX_FUNCS);
		return -ENOTSUP;
	}
	for (uint64_t i = 0; i < nfunc; i++) {
		uint64_t at;

		ret = win_read(&t->ftab, ftab + 8 * i, pair, sizeof(pair));
		if (!ret && !i && !text)
			ret = module_text(e, t, u32_at(pair), why, len, &text);
		if (ret)
			goto failed;
		ret = win_read(&t->funcs, ftab + u32_at(pair + 4), fn, sizeof(fn));
		if (ret)
			goto failed;
		at = names + (uint64_t)(int64_t)(int32_t)u32_at(fn + 4);
		ret = win_read(&t->names, at, name, sizeof(name));
		if (ret == -E2BIG)
			goto failed;
		if (ret || memcmp(name, FUNC_NAME, sizeof(FUNC_NAME)))
			continue;
		if (u32_at(fn) != u32_at(pair) || u32_at(pair + 8) <= u32_at(pair)) {
			ret = -ERANGE;
			goto failed;
		}
		*va = text + u32_at(pair);
		*size = u32_at(pair + 8) - u32_at(pair);
		found++;
	}
	if (found == 1)
		return 0;
	snprintf(why, len, found ? "%s is in its .gopclntab %u times" :
				   "no %s in its .gopclntab: the program does not use crypto/tls",
		 FUNC_NAME, found);
	return -ENOTSUP;
failed:
	if (ret == -ERANGE)
		snprintf(why, len, "its .gopclntab's function table points outside it");
	else if (ret == -ENOEXEC)
		snprintf(why, len, "its .gopclntab is cut short");
	else if (ret == -E2BIG)
		snprintf(why, len, "its .gopclntab's tables are out of order (%llu MiB read)",
			 (unsigned long long)(read_budget(n) >> 20));
	return ret == -ERANGE || ret == -ENOEXEC || ret == -E2BIG ? -ENOTSUP : ret;
}

int gobin_find_hook(const uint8_t *c, size_t n, uint32_t *skip)
{
	static const uint8_t cmp_rsp[] = { 0x49, 0x3b, 0x66, 0x10 };
	static const uint8_t cmp_r12[] = { 0x4d, 0x3b, 0x66, 0x10 };
	size_t p = 0, jlen;
	int64_t rel;

	if (n >= 13 && !memcmp(c, "\x4c\x8d\x64\x24", 4) && !memcmp(c + 5, cmp_r12, 4))
		p = 9;
	else if (n >= 16 && !memcmp(c, "\x4c\x8d\xa4\x24", 4) && !memcmp(c + 8, cmp_r12, 4))
		p = 12;
	else if (n >= 8 && !memcmp(c, cmp_rsp, 4))
		p = 4;
	else
		return -ENOTSUP;
	if (c[p] == 0x76 && n - p >= 2) {
		rel = (int8_t)c[p + 1];
		jlen = 2;
	} else if (c[p] == 0x0f && n - p >= 6 && c[p + 1] == 0x86) {
		rel = (int32_t)u32_at(c + p + 2);
		jlen = 6;
	} else {
		return -ENOTSUP;
	}
	*skip = (uint32_t)p;
	/* Forward, to the morestack call inside the function: checked by the caller. */
	return rel > 0 ? (int)(rel + (int64_t)(p + jlen)) : -ENOTSUP;
}

/* Where to hook writeKeyLog, found in the pclntab. 0, -ENOTSUP with why, or -errno. */
static int locate(const struct elf *e, struct gobin *g, char *why, size_t len)
{
	const Elf64_Shdr *s = pclntab(e);
	uint8_t h[PCLN_HEADER], code[PROLOGUE_READ] = { 0 };
	struct pcln *t;
	uint64_t size = 0;
	int ret, target;

	if (!s) {
		snprintf(why, len, "no .gopclntab section");
		return -ENOTSUP;
	}
	ret = read_header(e, s, h, why, len);
	if (ret)
		return ret;
	t = malloc(sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->addr = s->sh_addr;
	t->budget = read_budget(s->sh_size);
	win_init(&t->ftab, e->fd, s, &t->budget);
	win_init(&t->funcs, e->fd, s, &t->budget);
	win_init(&t->names, e->fd, s, &t->budget);
	ret = find_func(e, t, h, &g->func_va, &size, why, len);
	free(t);
	if (ret)
		return ret;
	if (code_offset(e, g->func_va, size, &g->func_off)) {
		snprintf(why, len, "%s at %#llx is not in an executable segment", FUNC_NAME,
			 (unsigned long long)g->func_va);
		return -ENOTSUP;
	}
	ret = elf_read_at(e->fd, code, size < sizeof(code) ? size : sizeof(code),
			  (off_t)g->func_off);
	if (ret)
		return ret == -ENOEXEC ? -ENOTSUP : ret;
	target = gobin_find_hook(code, size < sizeof(code) ? size : sizeof(code), &g->hook_skip);
	if (target < 0 || (uint64_t)target >= size) {
		snprintf(why, len,
			 "%s does not start with the stack check expected (%02x %02x %02x %02x %02x %02x ...)",
			 FUNC_NAME, code[0], code[1], code[2], code[3], code[4], code[5]);
		return -ENOTSUP;
	}
	g->hook_off = g->func_off + g->hook_skip;
	return 0;
}

int gobin_inspect(int fd, struct gobin *out, char *why, size_t len)
{
	struct elf e = { .fd = fd };
	struct gobin g = { 0 };
	int ret;

	why[0] = '\0';
	ret = elf_headers(fd, &e.eh, e.ph);
	if (!ret)
		ret = read_sections(&e);
	if (!ret) {
		ret = read_version(&e, &g, why, len);
		if (ret == -ENOEXEC)
			ret = version_from_pclntab(&e, &g, why, len);
	}
	if (!ret && e.eh.e_machine != EM_X86_64) {
		snprintf(why, len, "a Go program for another architecture (ELF machine %u): only amd64 is supported",
			 e.eh.e_machine);
		ret = -ENOTSUP;
	}
	if (!ret)
		ret = locate(&e, &g, why, len);
	if (!ret)
		*out = g;
	free(e.sh);
	free(e.names);
	return ret;
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * Go executables (Go 1.18+ on amd64), read as data. Layouts from the Go 1.19 source:
 * debug/buildinfo/buildinfo.go (.go.buildinfo), runtime/symtab.go (pcHeader, functab, _func),
 * cmd/compile/abi-internal.md (the register ABI) and cmd/internal/obj/x86/obj6.go (the stack
 * check that starts a function).
 */
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elfnote.h"
#include "gobin.h"

#define MAX_SECTIONS 1024
#define MAX_SHSTRTAB (64 * 1024)
#define MAX_PCLNTAB (512u << 20) /* kubelet's is about 30 MiB */
#define BUILDINFO_MAGIC "\xff Go buildinf:"
#define BUILDINFO_READ 128 /* header (32), the version's length and the version */
#define PCLN_HEADER 0x48
#define PCLN_GO118 0xfffffff0u /* 1.18 and 1.19 */
#define PCLN_GO120 0xfffffff1u /* 1.20 on: the fields read here did not move */
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

/*
 * Find FUNC_NAME in the pclntab t[0, n): its address and size. The pcHeader (runtime/symtab.go):
 * magic u32, two zero bytes, minLC, ptrSize, then nfunc, nfiles, textStart, funcnameOffset,
 * cuOffset, filetabOffset, pctabOffset, pclnOffset, 8 bytes each; functab at pclnOffset: nfunc+1
 * pairs {entryoff, funcoff} (u32), the last one the end of the text; a _func at functab + funcoff
 * starts with entryOff u32, nameOff i32 (into the names at funcnameOffset). 0, or -ENOTSUP.
 */
static int find_func(const uint8_t *t, size_t n, uint64_t *va, uint64_t *size, char *why,
		     size_t len)
{
	uint64_t nfunc, text, names, ftab;
	uint32_t magic;
	unsigned found = 0;

	magic = n >= PCLN_HEADER ? u32_at(t) : 0;
	/* two zero bytes, minLC 1 (x86), pointers of 8 bytes */
	if ((magic != PCLN_GO118 && magic != PCLN_GO120) || t[4] || t[5] || t[6] != 1 ||
	    t[7] != 8) {
		snprintf(why, len, "an unknown .gopclntab (not Go 1.18 or later on amd64)");
		return -ENOTSUP;
	}
	nfunc = u64_at(t + 0x08);
	text = u64_at(t + 0x18);
	names = u64_at(t + 0x20);
	ftab = u64_at(t + 0x40);
	if (names >= n || ftab >= n || nfunc >= (n - ftab) / 8) {
		snprintf(why, len, "its .gopclntab's header points outside it");
		return -ENOTSUP;
	}
	for (uint64_t i = 0; i < nfunc; i++) {
		const uint8_t *pair = t + ftab + 8 * i;
		uint64_t fn = ftab + u32_at(pair + 4);
		uint64_t name;

		if (fn > n - 8)
			goto damaged;
		name = names + (uint64_t)(int64_t)(int32_t)u32_at(t + fn + 4);
		if (name >= n || n - name < sizeof(FUNC_NAME) ||
		    memcmp(t + name, FUNC_NAME, sizeof(FUNC_NAME)))
			continue;
		if (u32_at(t + fn) != u32_at(pair) || u32_at(pair + 8) <= u32_at(pair))
			goto damaged;
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
damaged:
	snprintf(why, len, "its .gopclntab's function table points outside it");
	return -ENOTSUP;
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
	const Elf64_Shdr *s = section(e, ".gopclntab");
	uint8_t *t = NULL, code[PROLOGUE_READ] = { 0 };
	uint64_t size = 0;
	int ret, target;

	if (!s)
		s = section(e, ".data.rel.ro.gopclntab"); /* the name in a -buildmode=pie build */
	if (!s || s->sh_size > MAX_PCLNTAB) {
		snprintf(why, len,
			 s ? "its .gopclntab is larger than %u MiB" : "no .gopclntab section",
			 MAX_PCLNTAB >> 20);
		return -ENOTSUP;
	}
	t = malloc(s->sh_size ? s->sh_size : 1);
	if (!t)
		return -ENOMEM;
	ret = elf_read_at(e->fd, t, s->sh_size, (off_t)s->sh_offset);
	if (ret == -ENOEXEC)
		snprintf(why, len, "its .gopclntab is cut short");
	if (!ret)
		ret = find_func(t, s->sh_size, &g->func_va, &size, why, len);
	free(t);
	if (ret)
		return ret == -ENOEXEC ? -ENOTSUP : ret;
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
	if (!ret)
		ret = read_version(&e, &g, why, len);
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

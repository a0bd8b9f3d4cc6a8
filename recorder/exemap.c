// SPDX-License-Identifier: BSD-2-Clause
/*
 * dlopen refuses an executable linked at a fixed address (ET_EXEC), the way node 8 and node 16
 * are built. For its calibration only, the child maps such a file at its own addresses, loads
 * the libraries it needs with dlopen, and applies its relocations: enough to call the OpenSSL
 * linked into it, never to run its main or its constructors.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exemap.h"

#define MAX_IMAGE (1UL << 30)
#define MAX_DYN 512
#define PAGE 4096UL

extern void __register_frame(void *begin);

/* Whether [addr, addr+len) lies in one loaded segment of img. */
static bool in_image(const struct exe_image *img, uint64_t addr, uint64_t len)
{
	for (unsigned i = 0; i < img->phnum; i++) {
		const Elf64_Phdr *p = &img->ph[i];

		if (p->p_type == PT_LOAD && addr >= p->p_vaddr && len <= p->p_memsz &&
		    addr - p->p_vaddr <= p->p_memsz - len)
			return true;
	}
	return false;
}

/* Map each PT_LOAD of fd at its address, readable, writable and executable (the calibration puts
 * breakpoints in the code). 0 or -errno. */
static int map_segments(int fd, struct exe_image *img, char *why, size_t len)
{
	struct stat st;
	uint64_t total = 0;

	if (fstat(fd, &st))
		return -errno;
	for (unsigned i = 0; i < img->phnum; i++) {
		const Elf64_Phdr *p = &img->ph[i];
		uint64_t start = p->p_vaddr & ~(PAGE - 1), skip = p->p_vaddr - start;
		uint64_t file_end = p->p_vaddr + p->p_filesz, end = p->p_vaddr + p->p_memsz;
		void *at;

		if (p->p_type != PT_LOAD)
			continue;
		total += p->p_memsz;
		if (p->p_filesz > p->p_memsz || p->p_offset % PAGE != skip || total > MAX_IMAGE ||
		    p->p_offset > (uint64_t)st.st_size || p->p_filesz > st.st_size - p->p_offset ||
		    end < p->p_vaddr || !start) {
			snprintf(why, len, "its program headers are not those of an executable");
			return -EINVAL;
		}
		at = mmap((void *)start, skip + p->p_filesz, PROT_READ | PROT_WRITE | PROT_EXEC,
			  MAP_PRIVATE | MAP_FIXED_NOREPLACE, fd, (off_t)(p->p_offset - skip));
		if (at != (void *)start)
			goto taken;
		/* The rest of the last file page, then whole pages of zeros. */
		if (end > file_end && (file_end & (PAGE - 1)))
			memset((void *)file_end, 0, PAGE - (file_end & (PAGE - 1)));
		file_end = (file_end + PAGE - 1) & ~(PAGE - 1);
		if (end > file_end &&
		    mmap((void *)file_end, end - file_end, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != (void *)file_end)
			goto taken;
	}
	return 0;
taken:
	snprintf(why, len, "cannot map the executable at its addresses: %s", strerror(errno));
	return -ENOMEM;
}

/* The dynamic table's entries, copied out of the mapped image, in dyn (n of them). */
static size_t dynamic(const struct exe_image *img, Elf64_Dyn dyn[MAX_DYN])
{
	for (unsigned i = 0; i < img->phnum; i++) {
		const Elf64_Phdr *p = &img->ph[i];
		size_t n = p->p_filesz / sizeof(Elf64_Dyn);

		if (p->p_type != PT_DYNAMIC)
			continue;
		if (n > MAX_DYN)
			n = MAX_DYN;
		if (!in_image(img, p->p_vaddr, n * sizeof(Elf64_Dyn)))
			return 0;
		memcpy(dyn, (const void *)p->p_vaddr, n * sizeof(Elf64_Dyn));
		for (size_t k = 0; k < n; k++)
			if (dyn[k].d_tag == DT_NULL)
				return k;
		return n;
	}
	return 0;
}

struct dyninfo {
	uint64_t strtab, strsz, symtab, rela, relasz, jmprel, pltrelsz;
};

/* The name at index off of the string table, if it ends inside it; else NULL. */
static const char *name_at(const struct dyninfo *d, uint64_t off)
{
	const char *s = (const char *)d->strtab + off;

	return off < d->strsz && memchr(s, 0, d->strsz - off) ? s : NULL;
}

/*
 * Apply n relocations at rel. Undefined symbols are looked up in the libraries loaded so far
 * (their default versions); the executable's thread-local variables (TPOFF64) stay unset: they
 * would need a place in this process's static TLS block, and OpenSSL keeps its thread state in
 * pthread keys instead. 0 or -errno.
 */
static int relocate(const struct exe_image *img, const struct dyninfo *d, uint64_t rel, uint64_t n,
		    char *why, size_t len)
{
	for (uint64_t i = 0; i < n; i++) {
		const Elf64_Rela *r = (const Elf64_Rela *)rel + i;
		uint32_t type = ELF64_R_TYPE(r->r_info), si = ELF64_R_SYM(r->r_info);
		uint64_t s = 0, *where = (uint64_t *)r->r_offset;
		const Elf64_Sym *sym = (const Elf64_Sym *)d->symtab + si;
		const char *name = NULL;
		void *found = NULL;

		if (!in_image(img, r->r_offset, 8) ||
		    (si && !in_image(img, d->symtab + si * sizeof(*sym), sizeof(*sym))))
			goto bad;
		if (si) {
			name = name_at(d, sym->st_name);
			if (!name)
				goto bad;
			if (sym->st_shndx != SHN_UNDEF && type != R_X86_64_COPY)
				s = sym->st_value;
			else if ((found = dlsym(RTLD_DEFAULT, name)))
				s = (uint64_t)found;
		}
		switch (type) {
		case R_X86_64_NONE:
		case R_X86_64_TPOFF64:
			break;
		case R_X86_64_64:
			*where = s + (uint64_t)r->r_addend;
			break;
		case R_X86_64_GLOB_DAT:
		case R_X86_64_JUMP_SLOT:
			*where = s;
			break;
		case R_X86_64_RELATIVE:
			*where = (uint64_t)r->r_addend;
			break;
		case R_X86_64_IRELATIVE:
			if (!in_image(img, (uint64_t)r->r_addend, 1))
				goto bad;
			*where = ((uint64_t(*)(void))r->r_addend)();
			break;
		case R_X86_64_COPY:
			if (!in_image(img, r->r_offset, sym->st_size))
				goto bad;
			if (found)
				memcpy(where, found, sym->st_size);
			break;
		default:
			snprintf(why, len, "its relocation type %u is not supported", type);
			return -EOPNOTSUPP;
		}
	}
	return 0;
bad:
	snprintf(why, len, "its relocations point outside it");
	return -EINVAL;
}

/* Its .eh_frame for the unwinder (the calibration asks it who called a callback), when its
 * .eh_frame_hdr gives the address in the usual encoding (pc-relative, signed 32 bits). */
static void register_unwind(const struct exe_image *img)
{
	for (unsigned i = 0; i < img->phnum; i++) {
		const uint8_t *h = (const uint8_t *)img->ph[i].p_vaddr;
		int32_t rel;

		if (img->ph[i].p_type != PT_GNU_EH_FRAME || !in_image(img, img->ph[i].p_vaddr, 8) ||
		    h[0] != 1 || h[1] != 0x1b)
			continue;
		memcpy(&rel, h + 4, 4);
		if (in_image(img, (uint64_t)(h + 4 + rel), 4))
			__register_frame((void *)(h + 4 + rel));
	}
}

int exe_map_fixed(int fd, struct exe_image *img, char *why, size_t len)
{
	Elf64_Dyn dyn[MAX_DYN];
	struct dyninfo d = { 0 };
	Elf64_Ehdr eh;
	size_t n;
	int ret;

	memset(img, 0, sizeof(*img));
	if (elf_headers(fd, &eh, img->ph) || eh.e_type != ET_EXEC || eh.e_machine != EM_X86_64)
		return -ENOEXEC;
	img->phnum = eh.e_phnum;
	ret = map_segments(fd, img, why, len);
	if (ret)
		return ret;
	n = dynamic(img, dyn);
	for (size_t i = 0; i < n; i++) {
		uint64_t v = dyn[i].d_un.d_val;

		switch (dyn[i].d_tag) {
		case DT_STRTAB: d.strtab = v; break;
		case DT_STRSZ: d.strsz = v; break;
		case DT_SYMTAB: d.symtab = v; break;
		case DT_RELA: d.rela = v; break;
		case DT_RELASZ: d.relasz = v; break;
		case DT_JMPREL: d.jmprel = v; break;
		case DT_PLTRELSZ: d.pltrelsz = v; break;
		}
	}
	if (!d.strtab || !d.symtab || !in_image(img, d.strtab, d.strsz) ||
	    (d.relasz && !in_image(img, d.rela, d.relasz)) ||
	    (d.pltrelsz && !in_image(img, d.jmprel, d.pltrelsz))) {
		snprintf(why, len, "its dynamic section is damaged");
		return -EINVAL;
	}
	/* Its libraries first, from the root it runs in, so that its symbols resolve to them. */
	for (size_t i = 0; i < n; i++) {
		const char *lib = dyn[i].d_tag == DT_NEEDED ? name_at(&d, dyn[i].d_un.d_val) : NULL;

		if (dyn[i].d_tag == DT_NEEDED && (!lib || !dlopen(lib, RTLD_NOW | RTLD_GLOBAL))) {
			snprintf(why, len, "cannot load a library it needs: %s",
				 lib ? dlerror() : "a name outside its string table");
			return -ENOENT;
		}
	}
	ret = relocate(img, &d, d.rela, d.relasz / sizeof(Elf64_Rela), why, len);
	if (!ret)
		ret = relocate(img, &d, d.jmprel, d.pltrelsz / sizeof(Elf64_Rela), why, len);
	if (!ret)
		register_unwind(img);
	return ret;
}

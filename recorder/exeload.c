// SPDX-License-Identifier: BSD-2-Clause
/*
 * glibc refuses to dlopen a position-independent executable (DF_1_PIE in DT_FLAGS_1), though it
 * is laid out like a shared library. A copy in memory without that flag loads; its functions are
 * then found through its static symbol table (.symtab), since an executable exports few symbols.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elfnote.h"
#include "exeload.h"

#define MAX_DYN 512

/* The file offset of the DT_FLAGS_1 value if it has DF_1_PIE, 0 if not a PIE executable. */
static off_t pie_flag_at(int fd, Elf64_Xword *flags)
{
	Elf64_Phdr ph[ELF_MAX_PHDRS];
	Elf64_Dyn dyn[MAX_DYN];
	Elf64_Ehdr eh;

	if (elf_headers(fd, &eh, ph) || eh.e_type != ET_DYN)
		return 0;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		size_t n = ph[i].p_filesz / sizeof(Elf64_Dyn);

		if (ph[i].p_type != PT_DYNAMIC)
			continue;
		if (n > MAX_DYN)
			n = MAX_DYN;
		if (elf_read_at(fd, dyn, n * sizeof(dyn[0]), (off_t)ph[i].p_offset))
			return 0;
		for (size_t j = 0; j < n && dyn[j].d_tag != DT_NULL; j++) {
			if (dyn[j].d_tag == DT_FLAGS_1 && (dyn[j].d_un.d_val & DF_1_PIE)) {
				*flags = dyn[j].d_un.d_val;
				return (off_t)(ph[i].p_offset + j * sizeof(Elf64_Dyn) +
					       offsetof(Elf64_Dyn, d_un));
			}
		}
	}
	return 0;
}

int exe_loadable_copy(int fd, char *why, size_t len)
{
	Elf64_Xword flags = 0;
	struct stat st;
	off_t at, off = 0;
	int copy = -1;

	at = pie_flag_at(fd, &flags);
	if (!at)
		return -ENOEXEC;
	copy = memfd_create("tlsrec-calibration", MFD_CLOEXEC);
	if (copy < 0 || fstat(fd, &st))
		goto fail;
	while (off < st.st_size) {
		ssize_t n = sendfile(copy, fd, &off, (size_t)(st.st_size - off));

		if (n <= 0)
			goto fail;
	}
	flags &= ~(Elf64_Xword)DF_1_PIE;
	if (pwrite(copy, &flags, sizeof(flags), at) != (ssize_t)sizeof(flags))
		goto fail;
	return copy;
fail:
	snprintf(why, len, "cannot copy the executable to load it: %s", strerror(errno));
	if (copy >= 0)
		close(copy);
	return -EIO;
}

uintptr_t exe_symbol(int fd, uintptr_t bias, const char *name)
{
	uintptr_t found = 0;
	Elf_Scn *scn = NULL;
	Elf *elf;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return 0;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf)
		return 0;
	while (!found && (scn = elf_nextscn(elf, scn))) {
		Elf_Data *data = NULL;
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM) || !sh.sh_entsize)
			continue;
		while (!found && (data = elf_getdata(scn, data))) {
			size_t n = data->d_size / sh.sh_entsize;

			for (size_t i = 0; i < n; i++) {
				const char *s;
				GElf_Sym sym;

				if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF ||
				    GELF_ST_TYPE(sym.st_info) != STT_FUNC)
					continue;
				s = elf_strptr(elf, sh.sh_link, sym.st_name);
				if (s && !strcmp(s, name)) {
					found = bias + sym.st_value;
					break;
				}
			}
		}
	}
	elf_end(elf);
	return found;
}

// SPDX-License-Identifier: BSD-2-Clause
/* ELF-64 (the gABI, "Note Section" and "Program Header"): the NT_GNU_BUILD_ID note. */
#include <elf.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "elfnote.h"

#define MAX_NOTES 4096

int elf_read_at(int fd, void *buf, size_t len, off_t off)
{
	ssize_t n = pread(fd, buf, len, off);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -ENOEXEC;
}

/* The build id in the notes at [off, off + size), or 0. */
static int notes_build_id(int fd, off_t off, size_t size, uint8_t id[20])
{
	uint8_t buf[MAX_NOTES];
	size_t pos = 0;

	if (size > sizeof(buf))
		size = sizeof(buf);
	if (elf_read_at(fd, buf, size, off))
		return 0;
	while (pos + sizeof(Elf64_Nhdr) <= size) {
		Elf64_Nhdr nh;
		size_t name, desc;

		memcpy(&nh, buf + pos, sizeof(nh));
		name = (nh.n_namesz + 3) & ~3u;
		desc = (nh.n_descsz + 3) & ~3u;
		pos += sizeof(nh);
		if (name > size - pos || desc > size - pos - name)
			return 0;
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    !memcmp(buf + pos, "GNU", 4) && nh.n_descsz > 0 && nh.n_descsz <= 20) {
			memcpy(id, buf + pos + name, nh.n_descsz);
			return (int)nh.n_descsz;
		}
		pos += name + desc;
	}
	return 0;
}

int elf_headers(int fd, Elf64_Ehdr *eh, Elf64_Phdr ph[ELF_MAX_PHDRS])
{
	int ret = elf_read_at(fd, eh, sizeof(*eh), 0);

	if (ret)
		return ret;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB || eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    eh->e_phnum > ELF_MAX_PHDRS)
		return -ENOEXEC;
	return elf_read_at(fd, ph, eh->e_phnum * sizeof(ph[0]), (off_t)eh->e_phoff);
}

int elf_build_id(int fd, uint8_t id[20])
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph[ELF_MAX_PHDRS];
	int ret = elf_headers(fd, &eh, ph);

	if (ret)
		return ret;
	for (int i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type != PT_NOTE)
			continue;
		ret = notes_build_id(fd, (off_t)ph[i].p_offset, ph[i].p_filesz, id);
		if (ret)
			return ret;
	}
	return 0;
}

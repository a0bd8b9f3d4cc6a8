// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer: recorder/gobin.c on files a user could make. An input whose first byte is 0 is the
 * whole file; otherwise the rest is [192 bytes of .go.buildinfo][24 bytes of code][.gopclntab],
 * put into a small ELF executable here (code at address 0x400100), so that mutations reach the
 * pclntab walk and the prologue check instead of dying in the ELF headers; with bit 2 of the
 * first byte the 192 bytes are a .go.module instead (Go 1.26's moduledata). seed-gobin/go.bin is
 * such an input that gobin_inspect accepts (one function, writeKeyLog, with a stack check);
 * go126.bin the same with a pcHeader without the text's start and a .go.module giving it.
 */
#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gobin.h"

#define CODE_AT 0x100
#define INFO_AT 0x118
#define INFO_LEN 192
#define NAMES_AT 0x1d8
#define PCLN_AT 0x240
#define BASE 0x400000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char names[] = "\0.shstrtab\0.go.buildinfo\0.gopclntab\0.go.module";

/*
 * The ELF file around the parts of data[0, size), the first part named .go.module when module:
 * its length, in buf (malloc'd).
 */
static size_t wrap(const uint8_t *data, size_t size, int module, uint8_t **buf)
{
	size_t pcln = size > INFO_LEN + 24 ? size - INFO_LEN - 24 : 0;
	size_t shoff = (PCLN_AT + pcln + 7) & ~(size_t)7, n = shoff + 4 * sizeof(Elf64_Shdr);
	Elf64_Ehdr eh = { .e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB,
				       EV_CURRENT },
			  .e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
			  .e_phoff = sizeof(Elf64_Ehdr), .e_shoff = shoff,
			  .e_ehsize = sizeof(Elf64_Ehdr), .e_phentsize = sizeof(Elf64_Phdr),
			  .e_phnum = 1, .e_shentsize = sizeof(Elf64_Shdr), .e_shnum = 4,
			  .e_shstrndx = 1 };
	Elf64_Phdr ph = { .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_vaddr = BASE,
			  .p_paddr = BASE, .p_filesz = PCLN_AT, .p_memsz = PCLN_AT };
	Elf64_Shdr sh[4] = {
		{ 0 },
		{ .sh_name = 1, .sh_type = SHT_STRTAB, .sh_offset = NAMES_AT,
		  .sh_size = sizeof(names) },
		{ .sh_name = module ? 36 : 11, .sh_type = SHT_PROGBITS, .sh_addr = BASE + INFO_AT,
		  .sh_offset = INFO_AT, .sh_size = INFO_LEN },
		{ .sh_name = 25, .sh_type = SHT_PROGBITS, .sh_addr = BASE + PCLN_AT,
		  .sh_offset = PCLN_AT, .sh_size = pcln },
	};
	uint8_t *b = calloc(1, n);

	if (!b)
		abort();
	memcpy(b, &eh, sizeof(eh));
	memcpy(b + sizeof(eh), &ph, sizeof(ph));
	memcpy(b + INFO_AT, data, size < INFO_LEN ? size : INFO_LEN);
	if (size > INFO_LEN)
		memcpy(b + CODE_AT, data + INFO_LEN,
		       size < INFO_LEN + 24 ? size - INFO_LEN : 24);
	memcpy(b + NAMES_AT, names, sizeof(names));
	if (pcln)
		memcpy(b + PCLN_AT, data + INFO_LEN + 24, pcln);
	memcpy(b + shoff, sh, sizeof(sh));
	*buf = b;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("gobin", MFD_CLOEXEC);
	uint8_t *file = NULL;
	size_t n = 0;
	struct gobin g;
	char why[256];

	if (fd < 0)
		abort();
	if (size && data[0] == 0) {
		if (size > 1 && write(fd, data + 1, size - 1) != (ssize_t)(size - 1))
			abort();
	} else if (size) {
		n = wrap(data + 1, size - 1, data[0] & 2, &file);
		if (write(fd, file, n) != (ssize_t)n)
			abort();
	}
	if (gobin_inspect(fd, &g, why, sizeof(why)) == 0 &&
	    (g.hook_off < g.func_off || g.hook_off - g.func_off != g.hook_skip || g.hook_skip > 12))
		abort();
	free(file);
	close(fd);
	return 0;
}

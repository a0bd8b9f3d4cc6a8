/* SPDX-License-Identifier: BSD-2-Clause */
/* Shared by the fuzz targets: run tlsasm on a journal file and check the pcapng it writes. */
#ifndef TLSREC_FUZZ_H
#define TLSREC_FUZZ_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "convert.h"
#include "log.h"
#include "source.h"
#include "survey.h"

/* Every block well formed: lengths a multiple of 4 that fit, trailer equal to header, interface
 * ids of EPBs and ISBs defined by an IDB before them, captured lengths within the block and within
 * what Wireshark accepts. */
static void check_pcapng(const uint8_t *p, size_t n)
{
	size_t off = 0;
	uint32_t idbs = 0;

	while (off < n) {
		uint32_t type, len, len2, id, cap;

		if (n - off < 12)
			abort();
		memcpy(&type, p + off, 4);
		memcpy(&len, p + off + 4, 4);
		if (len < 12 || len % 4 || len > n - off)
			abort();
		memcpy(&len2, p + off + len - 4, 4);
		if (len != len2)
			abort();
		if (type == 1)
			idbs++;
		if (type == 5 || type == 6) {
			memcpy(&id, p + off + 8, 4);
			if (id >= idbs)
				abort();
		}
		if (type == 6) {
			memcpy(&cap, p + off + 20, 4);
			if (32 + ((cap + 3) & ~3u) > len || cap > 262144)
				abort();
		}
		off += len;
	}
}

/* Convert the journal at path as tlsasm does (a first pass for connections and secrets, then
 * the pcapng); check the output when there is one. */
static void convert_and_check(char *path)
{
	struct convert_stats st;
	struct survey sv;
	struct source *src;
	int out = -1;

	if (source_open(&path, 1, &src))
		return;
	if (!survey_run(src, &sv, NULL)) {
		source_rewind(src);
		out = memfd_create("pcapng", 0);
	}
	if (out >= 0 &&
	    convert_pcapng(src, out,
			   &(struct convert_opts){ .next_dsb = survey_next_dsb, .ctx = &sv },
			   &st) == 0) {
		off_t n = lseek(out, 0, SEEK_END);

		if (n > 0) {
			uint8_t *m = mmap(NULL, (size_t)n, PROT_READ, MAP_PRIVATE, out, 0);

			if (m == MAP_FAILED)
				abort();
			check_pcapng(m, (size_t)n);
			munmap(m, (size_t)n);
		}
	}
	if (out >= 0)
		close(out);
	survey_free(&sv);
	source_close(src);
}

#endif /* TLSREC_FUZZ_H */

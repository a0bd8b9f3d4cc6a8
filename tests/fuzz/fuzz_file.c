// SPDX-License-Identifier: BSD-2-Clause
/* libFuzzer: any bytes, as a whole journal file given to tlsasm (chunk scanning, resync, frames). */
#include <stdio.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/tlsrec-fuzz-XXXXXX";
	int fd = mkstemp(path);

	log_init("fuzz", LOG_QUIET); /* damage is expected */
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	convert_and_check(path);
	unlink(path);
	return 0;
}

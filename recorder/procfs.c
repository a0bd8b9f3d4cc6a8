// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procfs.h"

int proc_start_time(pid_t pid, __u64 *start, char *state)
{
	char path[64], buf[1024], *p;
	unsigned long long v;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: fields resume after the last ')'. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2])
		return -EINVAL;
	if (state)
		*state = p[2];
	/* Each step finds the space before the next field: field 3 (state) first, 22 last. */
	for (int field = 3; field <= 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return -EINVAL;
	}
	if (sscanf(p + 1, "%llu", &v) != 1)
		return -EINVAL;
	*start = v;
	return 0;
}

int proc_boot_id(__u8 id[16])
{
	char buf[64];
	int n = 0;
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	for (char *p = buf; *p && n < 16; p++) {
		unsigned v;

		if (*p == '-' || *p == '\n')
			continue;
		if (sscanf(p, "%2x", &v) != 1)
			return -EINVAL;
		id[n++] = (__u8)v;
		p++;
	}
	return n == 16 ? 0 : -EINVAL;
}

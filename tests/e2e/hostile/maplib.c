// SPDX-License-Identifier: BSD-2-Clause
/*
 * maplib FILE: map FILE as code and wait, so that tlsrec sees a process using it. Static, so that
 * it runs in a root directory that holds nothing else.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct stat st;
	int fd;

	if (argc != 2 || (fd = open(argv[1], O_RDONLY)) < 0 || fstat(fd, &st) ||
	    mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0) == MAP_FAILED) {
		perror("maplib");
		return 1;
	}
	puts("mapped");
	fflush(stdout);
	for (;;)
		pause();
}

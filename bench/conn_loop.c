// SPDX-License-Identifier: BSD-2-Clause
/*
 * conn_loop connect SECONDS: TCP connections on 127.0.0.1, one at a time, as fast as they go: a
 * thread accepts and closes; the client connects, waits for the close, closes. Prints connections
 * per second. conn_loop syscall SECONDS: getppid() in a loop; prints calls per second.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *server(void *arg)
{
	int l = *(int *)arg;

	for (;;) {
		int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);

		if (c >= 0)
			close(c);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	double secs = argc > 2 ? atof(argv[2]) : 5, t0, end;
	unsigned long n = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: conn_loop connect|syscall SECONDS\n");
		return 2;
	}
	if (!strcmp(argv[1], "syscall")) {
		for (t0 = now(), end = t0 + secs; now() < end;)
			for (int i = 0; i < 10000; i++, n++)
				getppid();
		printf("%.0f\n", n / (now() - t0));
		return 0;
	}
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	pthread_t t;

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1024) ||
	    getsockname(l, (struct sockaddr *)&a, &alen) || pthread_create(&t, NULL, server, &l)) {
		perror("conn_loop");
		return 1;
	}
	for (t0 = now(), end = t0 + secs; now() < end; n++) {
		int c = socket(AF_INET, SOCK_STREAM, 0);
		char b;
		struct linger lg = { 1, 0 }; /* RST on close: no TIME_WAIT piling up */

		if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a))) {
			perror("conn_loop: connect");
			return 1;
		}
		if (read(c, &b, 1) < 0)
			perror("conn_loop: read");
		setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(c);
	}
	printf("%.0f\n", n / (now() - t0));
	return 0;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * An HTTPS client with OpenSSL linked in statically (built as a position-independent executable
 * with its symbol table): what `tlsrec --libssl PATH` hooks in an executable.
 *
 * usage: static_client HOST PORT PATH KEYLOG [1.2|1.3]
 * GETs PATH over TLS (the version given, else as the server picks), appends the key log lines
 * OpenSSL gives its callback to KEYLOG (the truth), and prints "PATH STATUS".
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

static FILE *keylog;

static void on_keylog(const SSL *ssl, const char *line)
{
	(void)ssl;
	fprintf(keylog, "%s\n", line);
	fflush(keylog);
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	char req[512], resp[4096];
	SSL_CTX *ctx;
	SSL *ssl;
	int fd, n;

	if (argc < 5 || argc > 6 || inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1) {
		fprintf(stderr, "usage: static_client HOST PORT PATH KEYLOG [1.2|1.3]\n");
		return 2;
	}
	sin.sin_port = htons((unsigned short)atoi(argv[2]));
	keylog = fopen(argv[4], "a");
	ctx = SSL_CTX_new(TLS_client_method());
	if (!keylog || !ctx)
		return 1;
	SSL_CTX_set_keylog_callback(ctx, on_keylog);
	if (argc == 6) {
		int v = strcmp(argv[5], "1.2") ? TLS1_3_VERSION : TLS1_2_VERSION;

		SSL_CTX_set_min_proto_version(ctx, v);
		SSL_CTX_set_max_proto_version(ctx, v);
	}
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		perror("static_client: connect");
		return 1;
	}
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) != 1) {
		fprintf(stderr, "static_client: handshake failed\n");
		return 1;
	}
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
		     argv[3], argv[1]);
	if (SSL_write(ssl, req, n) != n) {
		fprintf(stderr, "static_client: write failed\n");
		return 1;
	}
	n = SSL_read(ssl, resp, sizeof(resp) - 1);
	if (n < 12) {
		fprintf(stderr, "static_client: no response\n");
		return 1;
	}
	resp[n] = '\0';
	printf("%s %.3s\n", argv[3], resp + 9);
	SSL_shutdown(ssl);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	fclose(keylog);
	return 0;
}

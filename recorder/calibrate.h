/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Self-calibration of an OpenSSL library file: load that very file in a child process, run TLS 1.2
 * and TLS 1.3 handshakes in memory with its key log callback as ground truth, and find where its
 * SSL objects keep what tlsrec reads (every field must be found exactly once), and where to hook:
 * the function that ends each handshake step, proven by a breakpoint, or else its handshake state
 * machine. No offset is ever guessed from a version string.
 */
#ifndef TLSREC_CALIBRATE_H
#define TLSREC_CALIBRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "../bpf/events.h"

#define CALIB_MAX_HOOKS 2

enum calib_kind {
	CALIB_OPENSSL,
	CALIB_GNUTLS, /* hooks[0]: the jump in its default keylog function (calib_gnutls.h) */
};

struct calibration {
	enum calib_kind kind;
	struct tr_ssl_offsets off; /* off.lib is left to the caller */
	char version[128];         /* OpenSSL_version(OPENSSL_VERSION) */
	/*
	 * File offsets of the instructions to probe. With hook_finish, hooks[0] is the entry of the
	 * function that ends each handshake step, tls_finish_handshake(s, wst, clearbufs, stop):
	 * one probe, which records when clearbufs is not 0 (the handshake, or a post-handshake
	 * message, is complete). Otherwise each is probed at entry and return: the internal
	 * state_machine() both handshake functions tail-call, or those two functions themselves.
	 */
	unsigned long hooks[CALIB_MAX_HOOKS];
	unsigned n_hooks;
	bool hook_finish;
	bool hook_cheap; /* the hooked instruction is a push, which the kernel emulates */
	char hook_why[96]; /* without hook_finish: why the completion function was not used */
	/* CALIB_GNUTLS: offsets in the session (both below 65536), and keylog calls per side */
	__u32 gnutls_random; /* the client random */
	__u32 gnutls_flag;   /* the byte that is not 0 while a handshake is in progress */
	unsigned gnutls_hits12, gnutls_hits13;
};

/*
 * Calibrate the OpenSSL library open at fd, as process pid sees it (0: as we do): the child loads
 * that very file inside pid's mount namespace and root, so that the library's own dependencies are
 * loaded, and confined there (sandbox.h). Returns 0, or -errno with a one-line reason in why (for
 * example "not OpenSSL (no SSL_do_handshake)", "the client random is at 2 places in the SSL
 * object"). fd stays the caller's.
 */
int calibrate(int fd, pid_t pid, struct calibration *out, char *why, size_t len);

/* Whether each hook of cal is in the code (an executable segment) of the file open at fd. */
bool calibration_fits(int fd, const struct calibration *cal);

/* When tlsrec runs as a calibration child (calibrate() starts it so), do that and exit; otherwise
 * return false. Call first thing in main. */
bool calibrate_child_main(int argc, char **argv);

#endif /* TLSREC_CALIBRATE_H */

/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef TLSREC_EXITCODE_H
#define TLSREC_EXITCODE_H

/* Exit status of both programs. */
enum exit_code {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	EXIT_DAMAGED = 3, /* input damaged, everything intact was read */
};

#endif /* TLSREC_EXITCODE_H */

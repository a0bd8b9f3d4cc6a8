/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the sockets programs (sockets.bpf.c) send user space besides finished journal records: the
 * start of a PROCESS EXEC record, with what the kernel knew at exec time. User space completes it
 * (recorder/procs.c) before it goes to the journal.
 */
#ifndef TLSREC_EXEC_EVENT_H
#define TLSREC_EXEC_EVENT_H

#include "events.h"

#define SOCK_EXEC_FILENAME 256
#define SOCK_EXEC_ARGS 1024

/* hdr.type TR_REC_PROCESS, how TR_PROC_EXEC, hdr.len sizeof(struct sock_exec). */
struct sock_exec {
	struct tr_process p;
	__u32 filename_len; /* bytes of filename, its NUL included; 0 when unreadable */
	__u32 args_len;     /* bytes of the argument area; args holds the first of them */
	char filename[SOCK_EXEC_FILENAME]; /* as given to execve() */
	char args[SOCK_EXEC_ARGS];         /* the arguments, each ended by a NUL */
};

_Static_assert(sizeof(struct sock_exec) == 64 + 8 + SOCK_EXEC_FILENAME + SOCK_EXEC_ARGS,
	       "sock_exec size");

/* Start times are kept at /proc's resolution (USER_HZ, 100 on every architecture Linux has), so
 * that a kernel record and one read from /proc name a process alike. */
#define TR_START_TICK_NS 10000000ULL

#endif /* TLSREC_EXEC_EVENT_H */

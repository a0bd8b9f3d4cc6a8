/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the journals describe: recordings (by recording id) and their interfaces (by recording and
 * index), each found in constant time, and each interface's losses waiting for the next packet.
 */
#ifndef TLSASM_CATALOG_H
#define TLSASM_CATALOG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "journal.h"
#include "table.h"

struct recording {
	uint8_t id[16];
	bool have_header;
	char host[256];
	char kernel[128];
	char machine[64];
	char version[64];
	char *filter;     /* the capture filter tlsrec applied (HEADER tag 6), or NULL; owned */
	/* Why tlsrec could not record TLS secrets (HEADER tag 7), SOCKET and PROCESS records
	 * (tag 8); "" when it did. Control characters as '?'. */
	char no_secrets[320];
	char no_owners[320];
	uint32_t snaplen; /* TR_MAX_SNAPLEN until the HEADER says otherwise */
	uint64_t start_ns;
	bool ended;      /* an END record was seen: tlsrec stopped cleanly */
	uint64_t offset; /* last known realtime - boottime, ns, modulo 2^64 */
	bool have_offset;
	uint64_t open_offset; /* offset as the head chunks left it: where a second read starts */
	bool open_have_offset;
};

struct loss_mark {
	uint64_t wall;
	uint64_t count;
};

struct src_iface {
	unsigned rec; /* index into recordings */
	struct tr_iface desc;
	uint64_t packets; /* handed out */
	uint64_t lost;    /* total of its LOSS records */
	uint64_t first_wall, last_wall;
	uint64_t gone_wall; /* when tlsrec saw it disappear (IFGONE record), or 0 */
	struct loss_mark *marks; /* losses not yet taken: a min-heap on wall */
	size_t n_marks, marks_cap;
	uint64_t carried; /* losses past CATALOG_MAX_LOSS_MARKS: taken with the next ones, or at
			   * the next packet when there are none */
};

/*
 * Recordings, interfaces and losses not yet taken: the first CATALOG_MAX_RECORDINGS recordings
 * (about 1.3 KB each) and CATALOG_MAX_IFACES interfaces (200 bytes each) are kept, and the chunks
 * of later recordings and the packets of later interfaces are dropped and counted (a tlsrec
 * recording is one run of tlsrec, with a few interfaces). At most CATALOG_MAX_LOSS_MARKS LOSS
 * records are held until the packets pass their time (16 bytes each); a loss past them is
 * counted with its interface's next ones taken (or at its next packet), a little early.
 */
#define CATALOG_MAX_RECORDINGS (1u << 14)
#define CATALOG_MAX_IFACES (1u << 16)
#define CATALOG_MAX_LOSS_MARKS (1u << 20)

/*
 * Bounds on what a catalog keeps of SOCKET and PROCESS records, so that its memory does not grow
 * with the journals (about 250 bytes a socket across tlsasm, and 100 bytes a process beside its
 * strings): the first CATALOG_MAX_SOCKETS SOCKET and CATALOG_MAX_PROCESSES PROCESS records read
 * are kept, later ones are dropped and counted; a process's exe and cmdline are cut at
 * CATALOG_MAX_STRING bytes, as tlsrec cuts them, and dropped once CATALOG_MAX_STRING_BYTES are
 * kept in all.
 */
#define CATALOG_MAX_SOCKETS (1u << 19)
#define CATALOG_MAX_PROCESSES (1u << 17)
#define CATALOG_MAX_STRING 4096u
#define CATALOG_MAX_STRING_BYTES (64u << 20)

/*
 * LIBRARY records: the first CATALOG_MAX_LIBRARIES libraries (by recording and index) are kept,
 * later ones dropped and counted (about 4.5 KB each). tlsrec hooks at most 256 libraries in a
 * recording (MAX_TARGETS, recorder/targets.c), so that this keeps every library of 4 recordings
 * that many. A path is cut at PATH_MAX - 1 bytes, as tlsrec's are.
 */
#define CATALOG_MAX_LIBRARIES (1u << 10)

/* A SOCKET record, the recording it is from, and its time on the wall clock (ns since the epoch). */
struct src_socket {
	unsigned rec;
	uint64_t wall;
	struct tr_socket s;
};

/* A PROCESS record: its fixed part, its strings (malloc'd, NUL-terminated; cmdline keeps its
 * NULs between arguments, cmdline_len bytes before the final NUL; NULL when absent). */
struct src_process {
	unsigned rec;
	uint64_t wall;
	struct tr_process p;
	char *exe;
	char *cmdline;
	size_t cmdline_len;
};

/* A LIBRARY record: a TLS library whose handshakes a recording holds. */
struct src_library {
	unsigned rec;
	uint32_t index; /* SECRET.lib */
	uint16_t kind;  /* enum tr_library_kind */
	char path[PATH_MAX];
	char version[128];
	uint64_t secrets; /* SECRET records that name it, read once it was known */
};

struct catalog {
	struct recording *recs;
	size_t nrecs, recs_cap;
	struct table rec_index;
	struct src_iface *ifaces;
	size_t nifaces, ifaces_cap;
	struct table iface_index;
	struct src_library *libs;
	size_t nlibs, libs_cap;
	struct src_socket *sockets; /* in the order read */
	size_t nsockets, sockets_cap;
	struct src_process *procs; /* in the order read */
	size_t nprocs, procs_cap;
	size_t string_bytes;                 /* of the processes' exe and cmdline */
	uint64_t sockets_dropped, procs_dropped; /* past CATALOG_MAX_SOCKETS, _PROCESSES */
	uint64_t strings_dropped;            /* processes kept without theirs */
	uint64_t libs_dropped;               /* past CATALOG_MAX_LIBRARIES */
	uint64_t recs_dropped, ifaces_dropped; /* past CATALOG_MAX_RECORDINGS, _IFACES */
	size_t n_marks;                      /* held by all interfaces */
	struct table lib_index;
};

/* The index of the recording with this id, added if new. Returns it, -ENOSPC when it is new
 * and CATALOG_MAX_RECORDINGS are kept (counted in recs_dropped), or -ENOMEM. */
int catalog_recording(struct catalog *c, const uint8_t id[16]);

/* The index of interface ifindex of recording rec, or -1. */
int catalog_find_iface(const struct catalog *c, unsigned rec, uint32_t ifindex);

/* Add the interface d describes to recording rec, unless it is known or CATALOG_MAX_IFACES are
 * (then count it dropped). Returns 0 or -ENOMEM. */
int catalog_add_iface(struct catalog *c, unsigned rec, const struct tr_iface *d);

/* Note count packets lost on interface i at time wall. Returns 0 or -ENOMEM. */
int catalog_add_loss(struct catalog *c, unsigned i, uint64_t wall, uint64_t count);

/* Losses on interface i noted at or before wall and not yet taken; takes them. */
uint64_t catalog_take_drops(struct catalog *c, unsigned i, uint64_t wall);

/* Keep a copy of SOCKET record s of recording rec, at wall, unless CATALOG_MAX_SOCKETS are kept
 * (then count it dropped). Returns 0 or -ENOMEM. */
int catalog_add_socket(struct catalog *c, unsigned rec, uint64_t wall, const struct tr_socket *s);

/*
 * Keep p (its strings, at most CATALOG_MAX_STRING bytes each, become the catalog's), unless
 * CATALOG_MAX_PROCESSES are kept; past CATALOG_MAX_STRING_BYTES without its strings. Drops are
 * counted, and dropped strings freed. Returns 0, or -ENOMEM (p's strings freed).
 */
int catalog_add_process(struct catalog *c, struct src_process *p);

/* The index of library index lib of recording rec, or -1. */
int catalog_find_library(const struct catalog *c, unsigned rec, uint32_t lib);

/* Add library l (its rec and index), unless one with its recording and index is known or
 * CATALOG_MAX_LIBRARIES are kept (then count it dropped). Returns 0 or -ENOMEM. */
int catalog_add_library(struct catalog *c, const struct src_library *l);

/*
 * What output made from recording r lacks because tlsrec could not record it (HEADER tags 7 and 8),
 * and why, as sentences in buf (len bytes); "" when it lacks nothing. Returns buf.
 */
char *recording_lacks(const struct recording *r, char *buf, size_t len);

void catalog_free(struct catalog *c);

#endif /* TLSASM_CATALOG_H */

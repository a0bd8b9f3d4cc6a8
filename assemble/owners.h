/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Who owns each local end of each connection, and who sent or received each packet, from the
 * SOCKET and PROCESS records of the journals (docs/journal-format.md) and the connections found in
 * the packets (tlsconn.h).
 *
 * An end (one side's address and port of a connection) is found, within its recording:
 *   1. by the socket cookie on the packets it sent (loopback packets all carry their sender's;
 *      packets leaving other interfaces carry it too), from any SOCKET record with that cookie;
 *   2. by its addresses: (network namespace, protocol, local address and port, remote address and
 *      port) from CONNECT, ACCEPT and SEED records;
 *   3. by its local address and port alone, from BIND records and seeded listeners (a wildcard
 *      address matches any), only when packets it sent were seen leaving: a remote peer's port
 *      is not taken for a local listener's.
 * Where several records fit, the one nearest in time to the connection's first packet is taken.
 * Each end that is local gets its own owner: traffic between two local processes is attributed to
 * each process for the packets it sent.
 *
 * A packet's owner is the owner of the end that sent it when that end is local (none when that
 * owner is not known: never the other end's), else the owner of the end that received it. A packet that is no TCP or UDP connection's (ICMP, ARP) is found by its
 * own cookie only.
 *
 * pid reuse: a process is (recording, pid, start_ns). A socket's process is the PROCESS record of
 * its pid nearest before the SOCKET record, else the first after it.
 */
#ifndef TLSASM_OWNERS_H
#define TLSASM_OWNERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "journal.h"
#include "source.h"
#include "tlsconn.h"

/* The owner of a socket: the thread that created, connected, accepted or bound it. */
struct owner {
	uint32_t rec; /* recording */
	uint32_t pid, tid, uid, gid;
	char comm[16];
	uint64_t cgroup;
	uint64_t start_ns; /* of the process (CLOCK_BOOTTIME ns), 0 when no PROCESS record says */
	int64_t proc;      /* that PROCESS record, for owners_process; -1 when none */
};

struct owners_socket;
struct owners_process;

struct owners {
	struct owners_socket *socks;
	size_t nsocks, socks_cap;
	struct owners_process *procs;
	size_t nprocs, procs_cap;
	struct owner *owner; /* by socket, once built */
	uint32_t *by_cookie, *by_tuple, *by_bind; /* socket indices, sorted by their keys */
	size_t n_cookie, n_tuple, n_bind;
	bool built;
};

/* Take a SOCKET record of recording rec seen at wall (ns since the epoch). 0 or -ENOMEM. */
int owners_add_socket(struct owners *o, uint32_t rec, uint64_t wall, const struct tr_socket *s);

/* Take a PROCESS record of recording rec seen at wall. 0 or -ENOMEM. */
int owners_add_process(struct owners *o, uint32_t rec, uint64_t wall, const struct tr_process *p);

/*
 * Pass 1, for one packet v of src numbered n (from 0, in the order source_next hands them out):
 * tlsconn_add (its recording, namespace, direction and cookie included). Nothing is kept per
 * packet: owners_packet finds the packet's connection again. Returns tlsconn_add's result (1 with
 * *conn and *side, 0, or -errno).
 */
int owners_take_packet(struct tlsconn *t, const struct source *src, const struct packet_view *v,
		       uint64_t n, struct tls_conn **conn, int *side);

/* Add the SOCKET and PROCESS records of src (all of them once source_next returned 0). 0 or
 * -ENOMEM. */
int owners_take_records(struct owners *o, const struct source *src);

/*
 * Once every record is in: index the sockets, so that owners are found. Can be called again after
 * more records were added. 0 or -ENOMEM.
 */
int owners_resolve(struct owners *o);

/* The owner of end side (0 or 1, as in tls_conn) of connection c, or NULL (not local, or not
 * known). Valid after owners_resolve until the next change. */
const struct owner *owners_end(const struct owners *o, const struct tls_conn *c, int side);

/*
 * Pass 2, once owners_resolve: the owner of packet v of src, numbered n as owners_take_packet had
 * it (its connection found again with tlsconn_find, so packets are best given in the same
 * order): its sender's when the sender is local, else its receiver's; a packet of no connection
 * by its own cookie; NULL when none is known. *conn is its connection (as tlsconn_find gives it,
 * its memo[0] and memo[1] used here), or NULL. *err is set to -errno when the store fails.
 */
const struct owner *owners_packet(const struct owners *o, struct tlsconn *t,
				  const struct source *src, const struct packet_view *v, uint64_t n,
				  struct tls_conn **conn, int *err);

/* The owner of the socket with this cookie in recording rec, or NULL. */
const struct owner *owners_by_cookie(const struct owners *o, uint32_t rec, uint64_t cookie);

/* The PROCESS record owner.proc names, or NULL. */
const struct tr_process *owners_process(const struct owners *o, int64_t proc);

void owners_free(struct owners *o);

#endif /* TLSASM_OWNERS_H */

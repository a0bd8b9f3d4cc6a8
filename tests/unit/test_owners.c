// SPDX-License-Identifier: BSD-2-Clause
/*
 * Owners of connection ends and of packets (assemble/owners.c), from a journal written here with
 * SOCKET and PROCESS records and the packets of:
 *   loopback  curl (pid 100) to a server (pid 200) over lo: each end its own process, every packet
 *             carrying its sender's cookie; the ACCEPT record comes after the handshake;
 *   remote    a client (pid 300, the second process of that pid) to a remote peer over eth0: its
 *             packets out carry its cookie, the peer's packets in carry none;
 *   seeded    sshd (pid 400) seeded from /proc with cookie 0, known by its addresses only;
 *   accepted  a listener bound to 0.0.0.0:8080 (pid 500) accepting a remote client, the ACCEPT
 *             record without a cookie (thread 501);
 *   reuse     a UDP datagram of the first process of pid 300 (comm "old"), which exited before the
 *             second one (comm "new") started;
 *   stranger  a remote host's connection to a port this host does not listen on (no owner), sent
 *             from remote port 8080 (not to be taken for the local listener's port);
 *   half      a client (pid 600) over lo to a local server that no record describes: the
 *             server's packets are nobody's, not the client's.
 * Every packet's owner is checked against the one it was written for, and each end's.
 */
#include "check.h"
#include "owners.h"
#include "source.h"
#include "synth.h"
#include "util.h"

#define MAX_PKTS 128

static uint32_t want_pid[MAX_PKTS]; /* owner of each packet, 0 for none */
static const char *want_comm[MAX_PKTS];

static void expect(const struct synth *y, size_t from, uint32_t pid, const char *comm)
{
	for (size_t i = from; i < y->packets && i < MAX_PKTS; i++) {
		want_pid[i] = pid;
		want_comm[i] = comm;
	}
}

static bool write_journal(struct synth *y)
{
	struct synth_tcp lo = { y, 1, { "127.0.0.1", "127.0.0.1" }, { 40000, 443 }, { 11, 21 },
				{ TR_DIR_EGRESS, TR_DIR_EGRESS }, { 1000, 9000 } };
	struct synth_tcp remote = { y, 2, { "10.0.0.1", "93.184.216.34" }, { 50000, 443 },
				    { 31, 0 }, { TR_DIR_EGRESS, TR_DIR_INGRESS }, { 5, 6 } };
	struct synth_tcp seeded = { y, 2, { "10.0.0.9", "10.0.0.1" }, { 5555, 22 }, { 0, 0 },
				    { TR_DIR_INGRESS, TR_DIR_EGRESS }, { 7, 8 } };
	struct synth_tcp accepted = { y, 2, { "10.0.0.7", "10.0.0.1" }, { 6000, 8080 }, { 0, 0 },
				      { TR_DIR_INGRESS, TR_DIR_EGRESS }, { 9, 10 } };
	struct synth_tcp stranger = { y, 2, { "10.0.0.8", "10.0.0.1" }, { 8080, 9999 }, { 0, 0 },
				      { TR_DIR_INGRESS, TR_DIR_EGRESS }, { 11, 12 } };
	struct synth_tcp half = { y, 1, { "127.0.0.1", "127.0.0.1" }, { 41000, 7070 }, { 61, 62 },
				  { TR_DIR_EGRESS, TR_DIR_EGRESS }, { 13, 14 } };
	size_t from;
	bool ok = synth_open(y, "owners.lz4", 0x0c, "owners-host") && synth_begin(y);

	ok = ok && synth_process(y, TR_PROC_SEED, 400, 1, 10, "sshd", "/usr/sbin/sshd", "sshd -D");
	ok = ok && synth_socket(y, TR_SOCK_SEED, 0, 400, 400, "sshd", IPPROTO_TCP, "10.0.0.1", 22,
				"10.0.0.9", 5555);
	ok = ok && synth_process(y, TR_PROC_EXEC, 300, 1, 20, "old", "/bin/old", "old");
	ok = ok && synth_socket(y, TR_SOCK_CREATE, 41, 300, 300, "old", IPPROTO_UDP, "", 0, "", 0);
	from = y->packets;
	ok = ok && synth_packet(y, 2, TR_DIR_EGRESS, 41, IPPROTO_UDP, "10.0.0.1", 5353,
				"10.0.0.53", 53, 0, 0, NULL, 40);
	expect(y, from, 300, "old");
	ok = ok && synth_process(y, TR_PROC_EXIT, 300, 1, 20, "old", "", "");
	ok = ok && synth_end(y) && synth_begin(y);

	ok = ok && synth_process(y, TR_PROC_EXEC, 100, 1, 30, "curl", "/usr/bin/curl",
				 "curl https://127.0.0.1/");
	ok = ok && synth_process(y, TR_PROC_SEEN, 200, 1, 5, "server", "/usr/bin/python3",
				 "python3 server.py");
	ok = ok && synth_socket(y, TR_SOCK_BIND, 20, 200, 200, "server", IPPROTO_TCP, "0.0.0.0",
				443, "", 0);
	ok = ok && synth_socket(y, TR_SOCK_CREATE, 11, 100, 100, "curl", IPPROTO_TCP, "", 0, "", 0);
	from = y->packets;
	ok = ok && synth_tcp_talk(&lo, 100, 1400);
	for (size_t i = from; i < y->packets; i++)
		expect(y, i, (i - from) == 1 || (i - from) == 4 || (i - from) == 6 ? 200 : 100,
		       (i - from) == 1 || (i - from) == 4 || (i - from) == 6 ? "server" : "curl");
	ok = ok && synth_socket(y, TR_SOCK_CONNECT, 11, 100, 101, "curl", IPPROTO_TCP, "127.0.0.1",
				40000, "127.0.0.1", 443);
	ok = ok && synth_socket(y, TR_SOCK_ACCEPT, 21, 200, 202, "server", IPPROTO_TCP, "127.0.0.1",
				443, "127.0.0.1", 40000);
	ok = ok && synth_end(y) && synth_begin(y);

	ok = ok && synth_process(y, TR_PROC_EXEC, 300, 1, 40, "new", "/bin/new", "new --flag");
	ok = ok && synth_socket(y, TR_SOCK_CONNECT, 31, 300, 300, "new", IPPROTO_TCP, "10.0.0.1",
				50000, "93.184.216.34", 443);
	from = y->packets;
	ok = ok && synth_tcp_talk(&remote, 300, 1200);
	expect(y, from, 300, "new");
	from = y->packets;
	ok = ok && synth_tcp_talk(&seeded, 50, 60);
	expect(y, from, 400, "sshd");
	ok = ok && synth_process(y, TR_PROC_SEED, 500, 1, 3, "web", "/usr/sbin/web", "web");
	ok = ok && synth_socket(y, TR_SOCK_BIND, 50, 500, 500, "web", IPPROTO_TCP, "0.0.0.0", 8080,
				"", 0);
	from = y->packets;
	ok = ok && synth_tcp_talk(&accepted, 10, 20);
	expect(y, from, 500, "web");
	ok = ok && synth_socket(y, TR_SOCK_ACCEPT, 0, 500, 501, "web", IPPROTO_TCP, "10.0.0.1", 8080,
				"10.0.0.7", 6000);
	from = y->packets;
	ok = ok && synth_seg(&stranger, 0, SY_SYN, NULL, 0);
	expect(y, from, 0, NULL);
	ok = ok && synth_socket(y, TR_SOCK_CONNECT, 61, 600, 600, "half", IPPROTO_TCP, "127.0.0.1",
				41000, "127.0.0.1", 7070);
	from = y->packets;
	ok = ok && synth_tcp_talk(&half, 100, 1400);
	for (size_t i = from; i < y->packets; i++)
		expect(y, i, (i - from) == 1 || (i - from) == 4 || (i - from) == 6 ? 0 : 600,
		       (i - from) == 1 || (i - from) == 4 || (i - from) == 6 ? NULL : "half");
	ok = ok && synth_end(y);
	return synth_close(y) && ok && CHECK(y->packets <= MAX_PKTS);
}

/* The connections, as tlsconn_each gives them (their sni left out). */
static struct tls_conn conns[64];
static size_t nconns;

static int keep(void *ctx, const struct tls_conn *c)
{
	(void)ctx;
	if (!CHECK(nconns < 64))
		return -ENOSPC;
	conns[nconns] = *c;
	conns[nconns++].sni = NULL;
	return 0;
}

/* The connection whose side 0 or 1 has this port, or NULL. */
static const struct tls_conn *conn_with_port(uint16_t port)
{
	for (size_t i = 0; i < nconns; i++)
		if (conns[i].port[0] == port || conns[i].port[1] == port)
			return &conns[i];
	return NULL;
}

static void check_end(const struct owners *o, uint16_t port, uint16_t end_port, uint32_t pid,
		      uint32_t tid)
{
	const struct tls_conn *c = conn_with_port(port);
	const struct owner *w;
	int side;

	check_ctx("connection of port %u, end %u", port, end_port);
	if (!CHECK(c != NULL))
		return;
	side = c->port[0] == end_port ? 0 : 1;
	w = owners_end(o, c, side);
	if (!pid) {
		CHECK(w == NULL);
		return;
	}
	if (CHECK(w != NULL)) {
		CHECK_EQ_INT(w->pid, pid);
		CHECK_EQ_INT(w->tid, tid);
	}
}

static void test_owners(void)
{
	struct synth y;
	struct source *src = NULL;
	struct tlsconn t = { 0 };
	struct owners o = { 0 };
	struct packet_view v;
	char *paths[1];
	uint64_t n = 0;
	int ret;

	if (!write_journal(&y))
		return;
	paths[0] = y.path;
	if (!CHECK_EQ_INT(source_open(paths, 1, &src), 0))
		return;
	while ((ret = source_next(src, &v)) > 0) {
		struct tls_conn *conn;
		int side;

		CHECK(owners_take_packet(&t, src, &v, n++, &conn, &side) >= 0);
	}
	CHECK_EQ_INT(ret, 0);
	CHECK_EQ_U64(n, y.packets);
	CHECK_EQ_INT(owners_take_records(&o, src), 0);
	CHECK_EQ_INT(owners_resolve(&o), 0);
	source_rewind(src);
	for (uint64_t i = 0; i < n && CHECK_EQ_INT(source_next(src, &v), 1); i++) {
		struct tls_conn *conn;
		int err = 0;
		const struct owner *w = owners_packet(&o, &t, src, &v, i, &conn, &err);

		check_ctx("packet %" PRIu64, i);
		CHECK_EQ_INT(err, 0);
		if (!want_pid[i]) {
			CHECK(w == NULL);
			continue;
		}
		if (!CHECK(w != NULL))
			continue;
		CHECK_EQ_INT(w->pid, want_pid[i]);
		CHECK_MSG(!strcmp(w->comm, want_comm[i]), "comm %s, not %s", w->comm, want_comm[i]);
	}
	CHECK_EQ_INT(tlsconn_each(&t, keep, NULL), 0);
	check_end(&o, 40000, 40000, 100, 101);
	check_end(&o, 40000, 443, 200, 202);
	check_end(&o, 50000, 50000, 300, 300);
	check_end(&o, 50000, 443, 0, 0);
	check_end(&o, 5555, 22, 400, 400);
	check_end(&o, 5555, 5555, 0, 0);
	check_end(&o, 6000, 8080, 500, 501);
	check_end(&o, 9999, 9999, 0, 0);
	check_end(&o, 9999, 8080, 0, 0);
	check_end(&o, 41000, 41000, 600, 600);
	check_end(&o, 41000, 7070, 0, 0);

	check_ctx("pid reuse");
	{
		const struct tls_conn *udp = conn_with_port(5353), *tcp = conn_with_port(50000);
		const struct owner *a = udp ? owners_end(&o, udp, 0) : NULL;
		const struct owner *b = tcp ? owners_end(&o, tcp, 0) : NULL;

		if (CHECK(a && b)) {
			CHECK_EQ_U64(a->start_ns, 20);
			CHECK_EQ_U64(b->start_ns, 40);
			CHECK(owners_process(&o, a->proc) != NULL);
			CHECK(owners_process(&o, a->proc) != owners_process(&o, b->proc));
		}
	}
	check_ctx("%s", "");
	owners_free(&o);
	tlsconn_free(&t);
	source_close(src);
}

int main(void)
{
	if (!tmpdir_make("tlsrec-owners"))
		return 1;
	CHECK_RUN(test_owners);
	tmpdir_remove();
	return check_exit();
}

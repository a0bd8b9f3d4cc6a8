// SPDX-License-Identifier: BSD-2-Clause
/* The /proc parsers behind PROCESS and SOCKET SEED records, on crafted text; EXIT events. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "check.h"
#include "procfs.h"
#include "procs.h"

static void test_stat(void)
{
	/* comm with spaces and parentheses: fields resume after the last ')'. */
	static const char text[] =
		"4242 (a) b (c)) S 17 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 "
		"123456 1000 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
	static const char long_comm[] =
		"7 (0123456789abcdefXYZ) R 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0\n";
	struct proc_stat st;

	CHECK_EQ_INT(proc_parse_stat(text, &st), 0);
	CHECK(!strcmp(st.comm, "a) b (c)"));
	CHECK_EQ_INT(st.state, 'S');
	CHECK_EQ_U64(st.ppid, 17);
	CHECK_EQ_U64(st.start_ticks, 123456);
	CHECK_EQ_INT(proc_parse_stat(long_comm, &st), 0);
	CHECK(!strcmp(st.comm, "0123456789abcde"));
	CHECK_EQ_U64(st.start_ticks, 99);
	CHECK_EQ_INT(proc_parse_stat("1 (x) S 0 1 1\n", &st), -EINVAL);
	CHECK_EQ_INT(proc_parse_stat("1 x S 0\n", &st), -EINVAL);
	CHECK_EQ_INT(proc_parse_stat("", &st), -EINVAL);
}

static void test_ids(void)
{
	static const char text[] = "Name:\tcat\nUmask:\t0022\nState:\tR (running)\nTgid:\t5\n"
				   "Uid:\t1000\t0\t0\t0\nGid:\t100\t0\t0\t0\nFDSize:\t64\n";
	__u32 uid = 0, gid = 0;

	CHECK_EQ_INT(proc_parse_ids(text, &uid, &gid), 0);
	CHECK_EQ_U64(uid, 1000);
	CHECK_EQ_U64(gid, 100);
	CHECK_EQ_INT(proc_parse_ids("Name:\tx\nUid:\t1\t1\t1\t1\n", &uid, &gid), -EINVAL);
}

static void test_net(void)
{
	static const char head[] = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
				   "retrnsmt   uid  timeout inode\n";
	static const char tcp[] = "   1: 0100007F:1F90 0200000A:D431 01 00000000:00000000 02:000A7A2C "
				  "00000000     0        0 31337 2 0000000000000000 20 4 30 10 -1\n";
	static const char udp[] = " 1234: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 "
				  "00000000   101        0 777 2 0000000000000000 0\n";
	static const char tcp6[] = "   0: 000080FE00000000FF005452003412FE:0016 "
				   "0000000000000000FFFF00000100007F:A1B2 01 00000000:00000000 "
				   "00:00000000 00000000     0        0 4242 1 0000000000000000 20 4 0 10 -1\n";
	struct tr_socket r;
	__u8 want[16];
	__u64 ino = 0;

	CHECK_EQ_INT(proc_parse_net(head, AF_INET, IPPROTO_TCP, &r, &ino), 0);
	memset(&r, 0xaa, sizeof(r));
	CHECK_EQ_INT(proc_parse_net(tcp, AF_INET, IPPROTO_TCP, &r, &ino), 1);
	CHECK_EQ_U64(ino, 31337);
	CHECK_EQ_INT(r.family, AF_INET);
	CHECK_EQ_INT(r.protocol, IPPROTO_TCP);
	inet_pton(AF_INET, "127.0.0.1", want);
	CHECK_MEM(r.local, want, 4);
	inet_pton(AF_INET, "10.0.0.2", want);
	CHECK_MEM(r.remote, want, 4);
	CHECK_EQ_U64(r.local_port, 8080);
	CHECK_EQ_U64(r.remote_port, 0xd431);
	CHECK_EQ_U64(r.local[4] | r.remote[15], 0);

	CHECK_EQ_INT(proc_parse_net(udp, AF_INET, IPPROTO_UDP, &r, &ino), 1);
	CHECK_EQ_U64(ino, 777);
	CHECK_EQ_INT(r.protocol, IPPROTO_UDP);
	CHECK_EQ_U64(r.local_port, 53);

	CHECK_EQ_INT(proc_parse_net(tcp6, AF_INET6, IPPROTO_TCP, &r, &ino), 1);
	CHECK_EQ_U64(ino, 4242);
	CHECK_EQ_INT(r.family, AF_INET6);
	inet_pton(AF_INET6, "fe80::5254:ff:fe12:3400", want);
	CHECK_MEM(r.local, want, 16);
	inet_pton(AF_INET6, "::ffff:127.0.0.1", want);
	CHECK_MEM(r.remote, want, 16);
	CHECK_EQ_U64(r.local_port, 22);
	CHECK_EQ_U64(r.remote_port, 0xa1b2);

	CHECK_EQ_INT(proc_parse_net("   0: 0100007F:1F90\n", AF_INET, IPPROTO_TCP, &r, &ino), -EINVAL);
	/* An IPv6 address in an IPv4 table, and a port out of range. */
	CHECK_EQ_INT(proc_parse_net(tcp6, AF_INET, IPPROTO_TCP, &r, &ino), -EINVAL);
	CHECK_EQ_INT(proc_parse_net("   1: 0100007F:11F90 0200000A:D431 01 00000000:00000000 "
				    "02:000A7A2C 00000000 0 0 1 2\n",
				    AF_INET, IPPROTO_TCP, &r, &ino),
		     -EINVAL);
}

static void test_socket_inode(void)
{
	__u64 ino = 0;

	CHECK_EQ_INT(proc_socket_inode("socket:[123456]", &ino), 0);
	CHECK_EQ_U64(ino, 123456);
	CHECK_EQ_INT(proc_socket_inode("socket:[12", &ino), -EINVAL);
	CHECK_EQ_INT(proc_socket_inode("pipe:[5]", &ino), -EINVAL);
	CHECK_EQ_INT(proc_socket_inode("/dev/null", &ino), -EINVAL);
}

static void test_cpu_list(void)
{
	bool set[12];

	CHECK_EQ_INT(cpu_list_parse("0-3,8,10-11\n", set, 12), 7);
	for (int i = 0; i < 12; i++)
		CHECK_EQ_INT(set[i], i <= 3 || i == 8 || i >= 10);
	CHECK_EQ_INT(cpu_list_parse("0\n", set, 12), 1);
	CHECK(set[0] && !set[1]);
	CHECK_EQ_INT(cpu_list_parse("2-20", set, 12), 10); /* CPUs beyond n are left out */
	CHECK(!set[1] && set[2] && set[11]);
	CHECK_EQ_INT(cpu_list_parse("", set, 12), 0);
	CHECK_EQ_INT(cpu_list_parse("3-1", set, 12), -EINVAL);
	CHECK_EQ_INT(cpu_list_parse("a", set, 12), -EINVAL);
	CHECK_EQ_INT(cpu_list_parse("1,-2", set, 12), -EINVAL);
	CHECK_EQ_INT(cpu_list_parse("1 2", set, 12), -EINVAL);
}

static void test_unmap(void)
{
	struct tr_socket r = { .family = AF_INET6 };
	__u8 want[16] = { 0 };

	/* Mapped and unspecified: IPv4. */
	inet_pton(AF_INET6, "::ffff:10.1.2.3", r.local);
	socket_unmap_v4(&r);
	CHECK_EQ_INT(r.family, AF_INET);
	inet_pton(AF_INET, "10.1.2.3", want);
	CHECK_MEM(r.local, want, 16);
	memset(want, 0, sizeof(want));
	CHECK_MEM(r.remote, want, 16);

	/* Unspecified both (a dual-stack wildcard), or one real IPv6 address: unchanged. */
	r = (struct tr_socket){ .family = AF_INET6 };
	socket_unmap_v4(&r);
	CHECK_EQ_INT(r.family, AF_INET6);
	inet_pton(AF_INET6, "::ffff:10.1.2.3", r.local);
	inet_pton(AF_INET6, "2001:db8::1", r.remote);
	socket_unmap_v4(&r);
	CHECK_EQ_INT(r.family, AF_INET6);
	CHECK_EQ_U64(r.local[10], 0xff);
}

struct written {
	unsigned n;
	struct tr_process last;
};

static int keep(void *ctx, const void *rec, size_t len)
{
	struct written *w = ctx;

	w->n++;
	if (len == sizeof(w->last))
		memcpy(&w->last, rec, len);
	return 0;
}

static int exit_event(struct procs *p, __u32 pid, __u64 start, struct written *w)
{
	struct tr_process r = { .hdr = { .type = TR_REC_PROCESS, .len = sizeof(r) },
				.start_ns = start, .pid = pid, .how = TR_PROC_EXIT };

	return procs_event(p, &r, sizeof(r), keep, w);
}

/* Two threads that exit at once can both be taken for the last one (kernels whose exit
 * tracepoint does not say, 6.1): the process's EXIT is written once; a later process with the
 * same pid has its own. */
static void test_exit_once(void)
{
	struct written w = { 0 };
	struct procs *p;

	if (!CHECK(procs_open(&p) == 0))
		return;
	CHECK_EQ_INT(exit_event(p, 4242, 30000000, &w), 0);
	CHECK_EQ_INT(exit_event(p, 4242, 30000000, &w), 0);
	CHECK_EQ_INT(w.n, 1);
	CHECK_EQ_INT(w.last.pid, 4242);
	CHECK_EQ_INT(w.last.how, TR_PROC_EXIT);
	CHECK_EQ_INT(exit_event(p, 4242, 90000000, &w), 0);
	CHECK_EQ_INT(exit_event(p, 4243, 30000000, &w), 0);
	CHECK_EQ_INT(exit_event(p, 4242, 90000000, &w), 0);
	CHECK_EQ_INT(w.n, 3);
	for (__u32 pid = 10000; pid < 15000; pid++) /* the table grows */
		CHECK_EQ_INT(exit_event(p, pid, 10000000, &w), 0);
	CHECK_EQ_INT(exit_event(p, 4242, 90000000, &w), 0);
	CHECK_EQ_INT(exit_event(p, 10017, 10000000, &w), 0);
	CHECK_EQ_INT(w.n, 3 + 5000);
	procs_close(p);
}

int main(void)
{
	CHECK_RUN(test_stat);
	CHECK_RUN(test_ids);
	CHECK_RUN(test_net);
	CHECK_RUN(test_socket_inode);
	CHECK_RUN(test_unmap);
	CHECK_RUN(test_cpu_list);
	CHECK_RUN(test_exit_once);
	return check_exit();
}

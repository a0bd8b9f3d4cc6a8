// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Who owns each TCP and UDP socket, and which processes there are: SOCKET records when a socket is
 * created, bound, connected or accepted, PROCESS records when a process execs or exits. Each fires
 * once per socket or connection or process, never per packet, read or write.
 *
 * - cgroup/sock_create and cgroup/post_bind4/6 on the cgroup v2 root run in the calling process:
 *   CREATE (owner and cookie) and BIND (owner, cookie, local address).
 * - inet_sock_set_state: entering SYN_SENT happens in connect(), in the caller's context: the
 *   owner is kept until the socket leaves SYN_SENT (established or failed), when its addresses are
 *   known: CONNECT.
 * - sys_exit_accept4/accept: the accepted socket, through the caller's file table: ACCEPT.
 * - sched_process_exec/exit: PROCESS records (exec's is completed from /proc by user space; exit's
 *   is written once per process, when its last thread exits).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "events.h"
#include "exec_event.h"
#include "ring.bpf.h"

#define AF_INET 2
#define AF_INET6 10

#define SOCKETS_RING (2 << 20)

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SOCKETS_RING);
} sockets SEC(".maps");

/* Where an exec record is built: too large for the stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sock_exec);
} exec_scratch SEC(".maps");

/* The owner of each socket in SYN_SENT (a SOCKET record without addresses), keyed by socket. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct tr_socket);
} connecting SEC(".maps");

/* SOCKET and PROCESS records that did not fit in the ring buffer. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1);
	__type(key, struct tr_loss_key);
	__type(value, __u64);
} losses SEC(".maps");

/* To the ring, waking the reader when a quarter of it is full. */
static __always_inline void emit(void *rec, __u64 size)
{
	struct tr_loss_key key = { .where = TR_LOSS_RINGBUF, .what = TR_LOSS_SOCKETS };

	if (ring_output(&sockets, rec, size, SOCKETS_RING / 4))
		count_loss_in(&losses, &key);
}

static __always_inline void begin_socket(struct tr_socket *r, __u8 how)
{
	r->hdr.type = TR_REC_SOCKET;
	r->hdr.len = sizeof(*r);
	r->hdr.ts = bpf_ktime_get_boot_ns();
	r->how = how;
}

/* The calling thread as the owner, and its network namespace. */
static __always_inline void current_owner(struct tr_socket *r)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u64 id = bpf_get_current_pid_tgid(), ug = bpf_get_current_uid_gid();

	r->pid = id >> 32;
	r->tid = (__u32)id;
	r->uid = (__u32)ug;
	r->gid = ug >> 32;
	r->cgroup = bpf_get_current_cgroup_id();
	bpf_get_current_comm(r->comm, sizeof(r->comm));
	r->netns = BPF_CORE_READ(t, nsproxy, net_ns, ns.inum);
}

static __always_inline bool tcp_or_udp(__u32 family, __u32 protocol)
{
	return (family == AF_INET || family == AF_INET6) &&
	       (protocol == IPPROTO_TCP || protocol == IPPROTO_UDP);
}

/* Family, protocol, addresses, ports, cookie and network namespace of sk. False when it is not
 * an inet TCP or UDP socket. */
static __always_inline bool sock_identity(struct tr_socket *r, const struct sock *sk)
{
	r->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	r->protocol = (__u8)BPF_CORE_READ(sk, sk_protocol);
	if (!tcp_or_udp(r->family, r->protocol))
		return false;
	r->local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
	r->remote_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (r->family == AF_INET) {
		bpf_core_read(r->local, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(r->remote, 4, &sk->__sk_common.skc_daddr);
	} else {
		bpf_core_read(r->local, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(r->remote, 16, &sk->__sk_common.skc_v6_daddr);
	}
	/* Nonzero once anything asked for it: sock_create here, a TC program for any packet. */
	r->cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
	r->netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	return true;
}

/* A record of how for sk, owned by the caller, from a cgroup hook. False when sk is not an inet
 * TCP or UDP socket. */
static __always_inline bool cgroup_socket(struct tr_socket *r, struct bpf_sock *sk, __u8 how)
{
	if (!tcp_or_udp(sk->family, sk->protocol))
		return false;
	begin_socket(r, how);
	current_owner(r);
	r->cookie = bpf_get_socket_cookie(sk);
	r->family = sk->family;
	r->protocol = sk->protocol;
	return true;
}

SEC("cgroup/sock_create")
int tlsrec_sock_create(struct bpf_sock *sk)
{
	struct tr_socket r = {};

	if (cgroup_socket(&r, sk, TR_SOCK_CREATE))
		emit(&r, sizeof(r));
	return 1;
}

/* post_bind4 may read src_ip4 only, post_bind6 src_ip6: v6 is a constant in each. */
static __always_inline int on_bind(struct bpf_sock *sk, bool v6)
{
	struct tr_socket r = {};

	if (!cgroup_socket(&r, sk, TR_SOCK_BIND))
		return 1;
	r.local_port = (__u16)sk->src_port;
	if (!v6) {
		__u32 a = sk->src_ip4;

		__builtin_memcpy(r.local, &a, 4);
	} else {
		__u32 a[4] = { sk->src_ip6[0], sk->src_ip6[1], sk->src_ip6[2], sk->src_ip6[3] };

		__builtin_memcpy(r.local, a, 16);
	}
	emit(&r, sizeof(r));
	return 1;
}

SEC("cgroup/post_bind4")
int tlsrec_bind4(struct bpf_sock *sk)
{
	return on_bind(sk, false);
}

SEC("cgroup/post_bind6")
int tlsrec_bind6(struct bpf_sock *sk)
{
	return on_bind(sk, true);
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(tlsrec_sock_state, const struct sock *sk, int oldstate, int newstate)
{
	__u64 key = (__u64)sk;
	struct tr_socket r = {}, *owner;

	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	if (newstate == TCP_SYN_SENT) {
		/* In connect(): the caller owns it. Its port is chosen after this. */
		current_owner(&r);
		bpf_map_update_elem(&connecting, &key, &r, BPF_ANY);
		return 0;
	}
	if (oldstate != TCP_SYN_SENT)
		return 0;
	owner = bpf_map_lookup_elem(&connecting, &key);
	if (!owner)
		return 0;
	r = *owner;
	bpf_map_delete_elem(&connecting, &key);
	begin_socket(&r, TR_SOCK_CONNECT);
	if (sock_identity(&r, sk))
		emit(&r, sizeof(r));
	return 0;
}

/* accept() returned fd: the socket behind it, in the caller's file table. */
static __always_inline int on_accept(long fd)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct tr_socket r = {};
	struct fdtable *fdt;
	struct file **files, *f = NULL;
	struct socket *so;
	struct sock *sk;

	if (fd < 0)
		return 0;
	fdt = BPF_CORE_READ(t, files, fdt);
	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	files = BPF_CORE_READ(fdt, fd);
	if (bpf_core_read(&f, sizeof(f), &files[fd]) || !f)
		return 0;
	so = BPF_CORE_READ(f, private_data);
	sk = BPF_CORE_READ(so, sk);
	if (!sk)
		return 0;
	begin_socket(&r, TR_SOCK_ACCEPT);
	current_owner(&r);
	if (sock_identity(&r, sk))
		emit(&r, sizeof(r));
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int tlsrec_accept4(struct trace_event_raw_sys_exit *ctx)
{
	return on_accept(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int tlsrec_accept(struct trace_event_raw_sys_exit *ctx)
{
	return on_accept(ctx->ret);
}

/* The fixed part of a PROCESS record for the thread group of p. */
static __always_inline void process_of(struct tr_process *r, struct task_struct *p, __u8 how)
{
	struct task_struct *leader = BPF_CORE_READ(p, group_leader);

	r->hdr.type = TR_REC_PROCESS;
	r->hdr.flags = 0;
	r->hdr.len = sizeof(*r);
	r->hdr.ts = bpf_ktime_get_boot_ns();
	r->start_ns = BPF_CORE_READ(leader, start_boottime) / TR_START_TICK_NS * TR_START_TICK_NS;
	r->pid = BPF_CORE_READ(p, tgid);
	r->ppid = BPF_CORE_READ(p, real_parent, tgid);
	r->uid = BPF_CORE_READ(p, real_cred, uid.val);
	r->gid = BPF_CORE_READ(p, real_cred, gid.val);
	r->how = how;
	r->pad[0] = r->pad[1] = r->pad[2] = 0;
	r->exit_code = 0;
	BPF_CORE_READ_STR_INTO(&r->comm, leader, comm);
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(tlsrec_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 zero = 0;
	struct sock_exec *e = bpf_map_lookup_elem(&exec_scratch, &zero);
	unsigned long start, end;
	__u64 n;
	long len;

	if (!e)
		return 0;
	process_of(&e->p, p, TR_PROC_EXEC);
	e->p.hdr.len = sizeof(*e);
	len = bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), BPF_CORE_READ(bprm, filename));
	e->filename_len = len > 0 ? (__u32)len : 0;
	start = BPF_CORE_READ(p, mm, arg_start);
	end = BPF_CORE_READ(p, mm, arg_end);
	e->args_len = end > start ? (__u32)(end - start) : 0;
	n = e->args_len < sizeof(e->args) ? e->args_len : sizeof(e->args);
	barrier_var(n);
	if (n > sizeof(e->args))
		n = sizeof(e->args);
	if (n && bpf_probe_read_user(e->args, n, (const void *)start))
		e->args_len = 0;
	emit(e, sizeof(*e));
	return 0;
}

/*
 * Every thread's exit. Only the first argument is read: recent kernels (6.18) give the tracepoint a
 * second one (group_dead), older ones (6.1) do not, and a program that reads it does not attach
 * there. The last thread is told by the thread group's live count instead: do_exit brings it down
 * before this tracepoint (in 6.1 and 6.18 alike), and it is 0 once the last thread has begun to
 * exit. Two threads that exit at once can both see 0: user space writes the process's EXIT once
 * (recorder/procs.c).
 */
SEC("raw_tp/sched_process_exit")
int BPF_PROG(tlsrec_exit, struct task_struct *p)
{
	struct tr_process r;

	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	process_of(&r, p, TR_PROC_EXIT);
	r.exit_code = BPF_CORE_READ(p, exit_code);
	emit(&r, sizeof(r));
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

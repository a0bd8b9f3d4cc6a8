// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdio.h>

#include <bpf/libbpf.h>

#include "kfeatures.h"

#define PROG(part, type, name, since) { part, KNEED_PROG, 0, type, name, since }
#define MAP(part, type, name, since) { part, KNEED_MAP, 0, type, name, since }
#define HELPER(part, prog, fn, since) { part, KNEED_HELPER, prog, BPF_FUNC_##fn, "bpf_" #fn, since }

/* What every part's programs call: its maps, the time, and the ring buffer. */
#define RECORD_HELPERS(part, prog)                               \
	HELPER(part, prog, map_lookup_elem, "3.19"),             \
	HELPER(part, prog, map_update_elem, "3.19"),             \
	HELPER(part, prog, ktime_get_boot_ns, "5.8"),            \
	HELPER(part, prog, ringbuf_output, "5.8"),               \
	HELPER(part, prog, ringbuf_query, "5.8")

/* What the sockets programs call to name the current thread as an owner. */
#define OWNER_HELPERS(prog)                                      \
	RECORD_HELPERS(KPART_OWNERS, prog),                      \
	HELPER(KPART_OWNERS, prog, get_current_pid_tgid, "4.2"), \
	HELPER(KPART_OWNERS, prog, get_current_uid_gid, "4.2"),  \
	HELPER(KPART_OWNERS, prog, get_current_comm, "4.2"),     \
	HELPER(KPART_OWNERS, prog, get_current_task, "4.8"),     \
	HELPER(KPART_OWNERS, prog, get_current_cgroup_id, "4.18"), \
	HELPER(KPART_OWNERS, prog, probe_read_kernel, "5.5")

/* Versions from the kernel's history (the commit that brought each). Programs first, then maps,
 * then helpers: a kernel without a program type lacks its helpers too. */
static const struct kneed table[] = {
	PROG(KPART_PACKETS, BPF_PROG_TYPE_SCHED_CLS, "TC classifier programs", "4.1"),
	MAP(KPART_PACKETS, BPF_MAP_TYPE_RINGBUF, "ring buffer", "5.8"),
	MAP(KPART_PACKETS, BPF_MAP_TYPE_ARRAY_OF_MAPS, "array of maps", "4.12"),
	MAP(KPART_PACKETS, BPF_MAP_TYPE_PROG_ARRAY, "program array", "4.2"),
	MAP(KPART_PACKETS, BPF_MAP_TYPE_ARRAY, "array", "3.19"),
	MAP(KPART_PACKETS, BPF_MAP_TYPE_PERCPU_HASH, "per-CPU hash", "4.6"),
	RECORD_HELPERS(KPART_PACKETS, BPF_PROG_TYPE_SCHED_CLS),
	HELPER(KPART_PACKETS, BPF_PROG_TYPE_SCHED_CLS, get_smp_processor_id, "4.1"),
	HELPER(KPART_PACKETS, BPF_PROG_TYPE_SCHED_CLS, tail_call, "4.2"),
	HELPER(KPART_PACKETS, BPF_PROG_TYPE_SCHED_CLS, skb_load_bytes, "4.5"),
	HELPER(KPART_PACKETS, BPF_PROG_TYPE_SCHED_CLS, get_socket_cookie, "4.12"),

	PROG(KPART_SECRETS, BPF_PROG_TYPE_KPROBE, "uprobe programs", "4.1"),
	MAP(KPART_SECRETS, BPF_MAP_TYPE_RINGBUF, "ring buffer", "5.8"),
	MAP(KPART_SECRETS, BPF_MAP_TYPE_TASK_STORAGE, "task storage", "5.11"),
	MAP(KPART_SECRETS, BPF_MAP_TYPE_LRU_HASH, "LRU hash", "4.10"),
	MAP(KPART_SECRETS, BPF_MAP_TYPE_HASH, "hash", "3.19"),
	MAP(KPART_SECRETS, BPF_MAP_TYPE_ARRAY, "array", "3.19"),
	MAP(KPART_SECRETS, BPF_MAP_TYPE_PERCPU_ARRAY, "per-CPU array", "4.6"),
	MAP(KPART_SECRETS, BPF_MAP_TYPE_PERCPU_HASH, "per-CPU hash", "4.6"),
	RECORD_HELPERS(KPART_SECRETS, BPF_PROG_TYPE_KPROBE),
	HELPER(KPART_SECRETS, BPF_PROG_TYPE_KPROBE, map_delete_elem, "3.19"),
	HELPER(KPART_SECRETS, BPF_PROG_TYPE_KPROBE, get_current_pid_tgid, "4.2"),
	HELPER(KPART_SECRETS, BPF_PROG_TYPE_KPROBE, get_current_uid_gid, "4.2"),
	HELPER(KPART_SECRETS, BPF_PROG_TYPE_KPROBE, get_current_ancestor_cgroup_id, "5.6"),
	HELPER(KPART_SECRETS, BPF_PROG_TYPE_KPROBE, probe_read_user, "5.5"),
	HELPER(KPART_SECRETS, BPF_PROG_TYPE_KPROBE, probe_read_user_str, "5.5"),
	HELPER(KPART_SECRETS, BPF_PROG_TYPE_KPROBE, get_current_task_btf, "5.11"),
	HELPER(KPART_SECRETS, BPF_PROG_TYPE_KPROBE, task_storage_get, "5.11"),
	HELPER(KPART_SECRETS, BPF_PROG_TYPE_KPROBE, get_attach_cookie, "5.15"),

	PROG(KPART_OWNERS, BPF_PROG_TYPE_CGROUP_SOCK, "cgroup socket programs", "4.10"),
	PROG(KPART_OWNERS, BPF_PROG_TYPE_TRACEPOINT, "tracepoint programs", "4.7"),
	PROG(KPART_OWNERS, BPF_PROG_TYPE_RAW_TRACEPOINT, "raw tracepoint programs", "4.17"),
	MAP(KPART_OWNERS, BPF_MAP_TYPE_RINGBUF, "ring buffer", "5.8"),
	MAP(KPART_OWNERS, BPF_MAP_TYPE_LRU_HASH, "LRU hash", "4.10"),
	MAP(KPART_OWNERS, BPF_MAP_TYPE_PERCPU_ARRAY, "per-CPU array", "4.6"),
	MAP(KPART_OWNERS, BPF_MAP_TYPE_PERCPU_HASH, "per-CPU hash", "4.6"),
	OWNER_HELPERS(BPF_PROG_TYPE_CGROUP_SOCK),
	HELPER(KPART_OWNERS, BPF_PROG_TYPE_CGROUP_SOCK, get_socket_cookie, "4.12"),
	OWNER_HELPERS(BPF_PROG_TYPE_TRACEPOINT),
	OWNER_HELPERS(BPF_PROG_TYPE_RAW_TRACEPOINT),
	HELPER(KPART_OWNERS, BPF_PROG_TYPE_RAW_TRACEPOINT, map_delete_elem, "3.19"),
	HELPER(KPART_OWNERS, BPF_PROG_TYPE_RAW_TRACEPOINT, probe_read_kernel_str, "5.5"),
	HELPER(KPART_OWNERS, BPF_PROG_TYPE_RAW_TRACEPOINT, probe_read_user, "5.5"),
};

const struct kneed *kfeatures_table(size_t *n)
{
	*n = sizeof(table) / sizeof(table[0]);
	return table;
}

const struct kneed *kfeatures_find(enum kpart part, enum kneed_kind kind, enum bpf_prog_type prog,
				   int id)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].part == part && table[i].kind == kind && table[i].id == id &&
		    (kind != KNEED_HELPER || table[i].prog == prog))
			return &table[i];
	return NULL;
}

/* The program type's entry, for naming it. */
static const char *prog_name(enum kpart part, enum bpf_prog_type prog)
{
	const struct kneed *k = kfeatures_find(part, KNEED_PROG, 0, (int)prog);

	return k ? k->name : "programs";
}

int kfeatures_explain(enum kpart part, char *why, size_t len)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct kneed *k = &table[i];
		int ret;

		if (k->part != part)
			continue;
		if (k->kind == KNEED_PROG)
			ret = libbpf_probe_bpf_prog_type((enum bpf_prog_type)k->id, NULL);
		else if (k->kind == KNEED_MAP)
			ret = libbpf_probe_bpf_map_type((enum bpf_map_type)k->id, NULL);
		else
			ret = libbpf_probe_bpf_helper(k->prog, (enum bpf_func_id)k->id, NULL);
		if (ret == -EPERM || ret == -EACCES)
			return ret;
		if (ret != 0) /* there, or the probe could not tell */
			continue;
		if (k->kind == KNEED_PROG)
			snprintf(why, len, "this kernel has no %s (Linux %s brought them)", k->name,
				 k->since);
		else if (k->kind == KNEED_MAP)
			snprintf(why, len, "this kernel has no %s maps (Linux %s brought them)",
				 k->name, k->since);
		else
			snprintf(why, len, "this kernel's %s cannot call %s (Linux %s brought it)",
				 prog_name(part, k->prog), k->name, k->since);
		return 1;
	}
	return 0;
}

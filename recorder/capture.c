// SPDX-License-Identifier: BSD-2-Clause
#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "capture.skel.h"
#include "log.h"
#include "procfs.h"
#include "tc.h"

struct capture {
	struct capture_bpf *skel;
	struct tr_owner owner;
	int *rings;     /* the ring buffers of PACKET records, one per online CPU */
	unsigned nrings;
	unsigned *ring_of; /* for each possible CPU, the index of its ring */
	int ncpus;      /* possible CPUs */
};

/* Each CPU's ring holds at least this much (or all of -B, if less): on a host with many CPUs, a
 * burst that one CPU handles alone still finds room. */
#define MIN_RING_BYTES (1 << 20)

/*
 * One ring buffer for each online CPU, each ring_bytes / CPUs rounded up to a power of two, and at
 * least MIN_RING_BYTES; a CPU offline now shares an online one's, should it come online while
 * tlsrec runs. When the online list cannot be read, every possible CPU counts as online. Sets
 * *each to the size of a ring. 0 or -errno.
 */
static int make_rings(struct capture *c, __u64 ring_bytes, __u64 *each)
{
	__u64 size = (__u64)sysconf(_SC_PAGESIZE);
	__u64 least = ring_bytes < MIN_RING_BYTES ? ring_bytes : MIN_RING_BYTES;
	bool *online = calloc((size_t)c->ncpus, sizeof(*online));
	char text[4096];
	int n = -EINVAL, ret = 0;
	unsigned shared = 0;

	c->rings = calloc((size_t)c->ncpus, sizeof(*c->rings));
	c->ring_of = calloc((size_t)c->ncpus, sizeof(*c->ring_of));
	if (!online || !c->rings || !c->ring_of) {
		ret = -ENOMEM;
		goto out;
	}
	if (proc_read("/sys/devices/system/cpu/online", text, sizeof(text)) > 0)
		n = cpu_list_parse(text, online, c->ncpus);
	if (n < 1) {
		for (int i = 0; i < c->ncpus; i++)
			online[i] = true;
		n = c->ncpus;
	}
	while (size * (__u64)n < ring_bytes || size < least)
		size <<= 1;
	for (int cpu = 0; cpu < c->ncpus; cpu++) {
		int fd;

		if (!online[cpu])
			continue;
		fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "tlsrec_packets", 0, 0, (__u32)size, NULL);
		if (fd < 0) {
			ret = -errno;
			goto out;
		}
		c->ring_of[cpu] = c->nrings;
		c->rings[c->nrings++] = fd;
	}
	for (int cpu = 0; cpu < c->ncpus; cpu++)
		if (!online[cpu])
			c->ring_of[cpu] = shared++ % c->nrings;
	*each = size;
out:
	free(online);
	return ret;
}

/* Put each CPU's ring in the map the programs look it up in. 0 or -errno. */
static int fill_rings(struct capture *c)
{
	int map = bpf_map__fd(c->skel->maps.rings);

	for (__u32 cpu = 0; cpu < (__u32)c->ncpus; cpu++)
		if (bpf_map_update_elem(map, &cpu, &c->rings[c->ring_of[cpu]], BPF_ANY))
			return -errno;
	return 0;
}

static int set_owner(struct capture *c)
{
	int map = bpf_map__fd(c->skel->maps.tlsrec_owner);
	__u32 key = 0;
	int ret;

	ret = tc_owner_self(&c->owner);
	if (ret)
		return ret;
	if (bpf_map_update_elem(map, &key, &c->owner, BPF_ANY))
		return -errno;
	if (bpf_prog_bind_map(bpf_program__fd(c->skel->progs.tlsrec_ingress), map, NULL) ||
	    bpf_prog_bind_map(bpf_program__fd(c->skel->progs.tlsrec_egress), map, NULL))
		return -errno;
	return 0;
}

/* The programs in capture_progs, where the filter programs' tail calls find them. 0 or -errno. */
static int fill_prog_array(struct capture *c)
{
	int map = bpf_map__fd(c->skel->maps.capture_progs);

	for (__u32 slot = 0; slot < 2; slot++) {
		int fd = capture_prog_fd(c, slot ? TR_DIR_EGRESS : TR_DIR_INGRESS);

		if (bpf_map_update_elem(map, &slot, &fd, BPF_ANY))
			return -errno;
	}
	return 0;
}

int capture_open(const struct capture_opts *o, struct capture **out)
{
	int ncpus = libbpf_num_possible_cpus();
	struct capture *c;
	__u64 each = 0;
	int ret;

	if (ncpus <= 0)
		return ncpus ? ncpus : -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->ncpus = ncpus;
	c->skel = capture_bpf__open();
	if (!c->skel) {
		ret = -errno;
		goto fail;
	}
	ret = make_rings(c, o->ring_bytes, &each);
	if (ret)
		goto fail;
	c->skel->rodata->snaplen = o->snaplen;
	/* Wake the reader when a quarter of a ring is full (it polls on a timer as well): fewer
	 * wakeups than an eighth, measured cheaper, with three quarters left while it drains. */
	c->skel->rodata->wakeup_bytes = each / 4;
	c->skel->rodata->after_filter = o->after_filter;
	ret = bpf_map__set_inner_map_fd(c->skel->maps.rings, c->rings[0]);
	if (!ret)
		ret = bpf_map__set_max_entries(c->skel->maps.rings, (__u32)ncpus);
	if (!ret)
		ret = bpf_map__set_value_size(c->skel->maps.scratch,
					      sizeof(struct tr_packet) + o->snaplen);
	if (!ret)
		ret = bpf_map__set_max_entries(c->skel->maps.scratch, (__u32)ncpus);
	if (!ret)
		ret = bpf_map__set_max_entries(c->skel->maps.losses, o->max_hooks ? o->max_hooks : 1);
	if (ret)
		goto fail;
	ret = capture_bpf__load(c->skel);
	if (ret)
		goto fail;
	ret = fill_rings(c);
	if (!ret)
		ret = set_owner(c);
	if (!ret && o->after_filter)
		ret = fill_prog_array(c);
	if (ret)
		goto fail;
	*out = c;
	return 0;
fail:
	capture_close(c);
	return ret;
}

int capture_prog_fd(const struct capture *c, int dir)
{
	return bpf_program__fd(dir == TR_DIR_INGRESS ? c->skel->progs.tlsrec_ingress :
						       c->skel->progs.tlsrec_egress);
}

int capture_prog_array_fd(const struct capture *c)
{
	return bpf_map__fd(c->skel->maps.capture_progs);
}

int capture_owner_fd(const struct capture *c)
{
	return bpf_map__fd(c->skel->maps.tlsrec_owner);
}

unsigned capture_rings(const struct capture *c, const int **fds)
{
	*fds = c->rings;
	return c->nrings;
}

int capture_ring_of(const struct capture *c, int cpu)
{
	return cpu >= 0 && cpu < c->ncpus ? (int)c->ring_of[cpu] : -EINVAL;
}

int capture_losses_fd(const struct capture *c)
{
	return bpf_map__fd(c->skel->maps.losses);
}

int capture_heartbeat(struct capture *c)
{
	struct timespec ts;
	__u32 key = 0;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	c->owner.heartbeat = (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
	if (bpf_map_update_elem(bpf_map__fd(c->skel->maps.tlsrec_owner), &key, &c->owner, BPF_ANY))
		return -errno;
	return 0;
}

void capture_close(struct capture *c)
{
	if (!c)
		return;
	capture_bpf__destroy(c->skel);
	for (unsigned i = 0; i < c->nrings; i++)
		close(c->rings[i]);
	free(c->rings);
	free(c->ring_of);
	free(c);
}

// SPDX-License-Identifier: BSD-2-Clause
#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "procs.h"
#include "sockets.h"
#include "sockets.skel.h"

#define MAX_LINKS 8

struct sockets {
	struct sockets_bpf *skel;
	struct bpf_link *links[MAX_LINKS];
	size_t n_links;
};

int sockets_open(struct sockets **out)
{
	struct sockets *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return -ENOMEM;
	s->skel = sockets_bpf__open();
	if (!s->skel) {
		ret = -errno;
		goto fail;
	}
	ret = sockets_bpf__load(s->skel);
	if (ret)
		goto fail;
	*out = s;
	return 0;
fail:
	sockets_close(s);
	return ret;
}

/* libbpf finds tracepoints in tracefs: mount it where it belongs if neither place has it. */
static int need_tracefs(void)
{
	if (!access("/sys/kernel/tracing/events", F_OK) ||
	    !access("/sys/kernel/debug/tracing/events", F_OK))
		return 0;
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL))
		return -errno;
	log_info("mounted tracefs at /sys/kernel/tracing, for the accept tracepoints");
	return 0;
}

static int keep(struct sockets *s, struct bpf_link *l)
{
	if (!l)
		return -errno;
	s->links[s->n_links++] = l;
	return 0;
}

int sockets_attach(struct sockets *s, bool sockets, const char **what)
{
	struct bpf_program *cg[] = { s->skel->progs.tlsrec_sock_create, s->skel->progs.tlsrec_bind4,
				     s->skel->progs.tlsrec_bind6 };
	struct bpf_program *raw[] = { s->skel->progs.tlsrec_exec, s->skel->progs.tlsrec_exit,
				      s->skel->progs.tlsrec_sock_state };
	int root, ret = 0;

	_Static_assert(sizeof(cg) / sizeof(cg[0]) + sizeof(raw) / sizeof(raw[0]) + 2 <= MAX_LINKS,
		       "links");
	/* Without packets to attribute, sockets are not worth their cost: the accept tracepoints
	 * alone add to every system call on the host. */
	for (size_t i = 0; !ret && i < (sockets ? 3 : 2); i++) {
		*what = bpf_program__name(raw[i]);
		ret = keep(s, bpf_program__attach(raw[i]));
	}
	if (ret || !sockets)
		goto out;
	*what = "the cgroup v2 root";
	root = cgroup2_root();
	if (root < 0)
		return root;
	for (size_t i = 0; !ret && i < sizeof(cg) / sizeof(cg[0]); i++) {
		*what = bpf_program__name(cg[i]);
		ret = keep(s, bpf_program__attach_cgroup(cg[i], root));
	}
	close(root);
	if (!ret) {
		*what = "tracefs";
		ret = need_tracefs();
	}
	if (!ret) {
		*what = "syscalls:sys_exit_accept4";
		ret = keep(s, bpf_program__attach(s->skel->progs.tlsrec_accept4));
	}
	if (!ret) {
		*what = "syscalls:sys_exit_accept";
		ret = keep(s, bpf_program__attach(s->skel->progs.tlsrec_accept));
	}
out:
	if (ret)
		sockets_detach(s);
	return ret;
}

int sockets_ring_fd(const struct sockets *s)
{
	return bpf_map__fd(s->skel->maps.sockets);
}

int sockets_losses_fd(const struct sockets *s)
{
	return bpf_map__fd(s->skel->maps.losses);
}

void sockets_detach(struct sockets *s)
{
	while (s->n_links)
		bpf_link__destroy(s->links[--s->n_links]);
}

void sockets_close(struct sockets *s)
{
	if (!s)
		return;
	sockets_detach(s);
	sockets_bpf__destroy(s->skel);
	free(s);
}

// SPDX-License-Identifier: BSD-2-Clause
#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "secrets.h"
#include "secrets.skel.h"

#define MAX_LINKS (256 * 2 * CALIB_MAX_HOOKS) /* libraries x (entry, return) x hooks */

struct secrets {
	struct secrets_bpf *skel;
	struct bpf_link *links[MAX_LINKS];
	size_t n_links;
};

enum { SCOPE_PIDS = 1, SCOPE_UID = 2, SCOPE_CGROUP = 4 }; /* as in secrets.bpf.c */

int secrets_open(const struct secrets_scope *scope, struct secrets **out)
{
	struct secrets *s = calloc(1, sizeof(*s));
	__u8 one = 1;
	int ret;

	if (!s)
		return -ENOMEM;
	s->skel = secrets_bpf__open();
	if (!s->skel) {
		ret = -errno;
		goto fail;
	}
	s->skel->rodata->scope = (scope->n_pids ? SCOPE_PIDS : 0) | (scope->by_uid ? SCOPE_UID : 0) |
				 (scope->cgroup ? SCOPE_CGROUP : 0);
	s->skel->rodata->scope_uid = scope->uid;
	s->skel->rodata->scope_cgroup = scope->cgroup;
	ret = secrets_bpf__load(s->skel);
	if (ret)
		goto fail;
	for (size_t i = 0; i < scope->n_pids; i++) {
		if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.scope_pids), &scope->pids[i], &one,
					BPF_ANY)) {
			ret = -errno;
			goto fail;
		}
	}
	*out = s;
	return 0;
fail:
	secrets_close(s);
	return ret;
}

static int attach_one(struct secrets *s, struct bpf_program *prog, bool ret, __u64 cookie,
		      const char *path, unsigned long offset)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = ret, .bpf_cookie = cookie);
	struct bpf_link *l;

	if (s->n_links == MAX_LINKS)
		return -ENOSPC;
	l = bpf_program__attach_uprobe_opts(prog, -1, path, offset, &opts);
	if (!l)
		return -errno;
	s->links[s->n_links++] = l;
	return 0;
}

int secrets_attach(struct secrets *s, __u32 lib, const char *path, const struct calibration *cal)
{
	struct tr_ssl_offsets off = cal->off;
	size_t first = s->n_links;
	int ret;

	/* GnuTLS: its offsets travel in the cookie (secrets.bpf.c, tlsrec_gnutls_keylog). */
	if (cal->kind == CALIB_GNUTLS)
		return attach_one(s, s->skel->progs.tlsrec_gnutls_keylog, false,
				  lib | (__u64)cal->gnutls_random << 32 | (__u64)cal->gnutls_flag << 48,
				  path, cal->hooks[0]);
	off.lib = lib;
	if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.ssl_offsets), &lib, &off, BPF_ANY))
		return -errno;
	for (unsigned i = 0; i < cal->n_hooks; i++) {
		if (cal->hook_finish) {
			ret = attach_one(s, s->skel->progs.tlsrec_hs_done, false, lib, path,
					 cal->hooks[i]);
		} else {
			ret = attach_one(s, s->skel->progs.tlsrec_hs_enter, false, lib, path,
					 cal->hooks[i]);
			if (!ret)
				ret = attach_one(s, s->skel->progs.tlsrec_hs_exit, true, lib, path,
						 cal->hooks[i]);
		}
		if (ret) {
			while (s->n_links > first)
				bpf_link__destroy(s->links[--s->n_links]);
			return ret;
		}
	}
	return 0;
}

int secrets_attach_go(struct secrets *s, __u32 lib, const char *path, unsigned long hook)
{
	return attach_one(s, s->skel->progs.tlsrec_go_keylog, false, lib, path, hook);
}

int secrets_ring_fd(const struct secrets *s)
{
	return bpf_map__fd(s->skel->maps.secrets);
}

int secrets_losses_fd(const struct secrets *s)
{
	return bpf_map__fd(s->skel->maps.losses);
}

void secrets_detach(struct secrets *s)
{
	while (s->n_links)
		bpf_link__destroy(s->links[--s->n_links]);
}

void secrets_close(struct secrets *s)
{
	if (!s)
		return;
	secrets_detach(s);
	secrets_bpf__destroy(s->skel);
	free(s);
}

// SPDX-License-Identifier: BSD-2-Clause
#include <bpf/bpf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../bpf/events.h"
#include "cbpf.h"
#include "cbpf_pcap.h"
#include "filter.h"
#include "log.h"

#define LINKTYPE_ETHERNET 1
#define LINKTYPE_RAW 101
/* The verifier's log of a rejected program: enough for any program libpcap emits. */
#define LOG_BYTES (1u << 20)

struct filter {
	char *expr;
	__u32 snaplen;
	int prog_array_fd, owner_map_fd;
	int fds[2][2]; /* [raw IP][egress]; -1 until loaded */
};

/*
 * Compile expr for linktype and translate it: libpcap compiles some words (inbound, outbound,
 * ifindex) into Linux's ancillary loads, which no TC program has. 0; -EINVAL when libpcap rejects
 * it, -EOPNOTSUPP when it does not translate, each with why in err; or -ENOMEM.
 */
static int check_one(const char *expr, int linktype, __u32 snaplen, char *err, size_t errlen)
{
	struct cbpf_out p = { 0 };
	struct sock_filter *code;
	char why[FILTER_ERR_LEN];
	size_t n;
	int ret = cbpf_compile(expr, linktype, snaplen, &code, &n, err, errlen);

	if (ret)
		return ret;
	ret = cbpf_translate(code, n, CBPF_END_RETURN, -1, 0, &p, why, sizeof(why));
	if (ret == -EINVAL) {
		snprintf(err, errlen, "libpcap compiles it into what tlsrec cannot run in the kernel: %s",
			 why);
		ret = -EOPNOTSUPP;
	}
	free(p.insns);
	free(code);
	return ret;
}

int filter_check(const char *expr, __u32 snaplen, char *err, size_t errlen)
{
	static const int linktypes[] = { LINKTYPE_ETHERNET, LINKTYPE_RAW };
	char other[FILTER_ERR_LEN];
	bool compiled = false;

	for (size_t i = 0; i < sizeof(linktypes) / sizeof(linktypes[0]); i++) {
		/* The libpcap message kept is Ethernet's: most expressions are written for it. */
		int ret = check_one(expr, linktypes[i], snaplen, i ? other : err,
				    i ? sizeof(other) : errlen);

		if (ret == -ENOMEM)
			return ret;
		if (ret == -EOPNOTSUPP) {
			if (i)
				snprintf(err, errlen, "%s", other);
			return -EINVAL;
		}
		compiled |= !ret;
	}
	return compiled ? 0 : -EINVAL;
}

int filter_open(const char *expr, __u32 snaplen, int prog_array_fd, int owner_map_fd,
		struct filter **out)
{
	struct filter *f = calloc(1, sizeof(*f));

	if (!f || !(f->expr = strdup(expr))) {
		free(f);
		return -ENOMEM;
	}
	f->snaplen = snaplen;
	f->prog_array_fd = prog_array_fd;
	f->owner_map_fd = owner_map_fd;
	for (int i = 0; i < 2; i++)
		f->fds[i][0] = f->fds[i][1] = -1;
	*out = f;
	return 0;
}

/* Load the translated program; the verifier's log when the kernel refuses it. An fd or -errno. */
static int load(const struct filter *f, const struct cbpf_out *p, int dir, const char *ifname)
{
	char *log = malloc(LOG_BYTES);
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_buf = log, .log_size = log ? LOG_BYTES : 0);
	/* Names start with tlsrec_, so that a later tlsrec finds what a killed one left. */
	int fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS,
			       dir == TR_DIR_INGRESS ? "tlsrec_filt_in" : "tlsrec_filt_out",
			       "Dual BSD/GPL", p->insns, p->n, &opts);

	if (fd < 0) {
		fd = -errno;
		while (log && log[0] && strchr("\n ", log[strlen(log) - 1]))
			log[strlen(log) - 1] = '\0';
		if (log && log[0])
			log_err("the kernel refused the filter program for %s: %s", ifname, log);
		else
			log_err("the kernel refused the filter program for %s: %s", ifname,
				strerror(-fd));
	} else if (bpf_prog_bind_map(fd, f->owner_map_fd, NULL)) {
		int e = -errno;

		log_err("cannot bind the owner map to the filter program: %s", strerror(-e));
		close(fd);
		fd = e;
	}
	free(log);
	return fd;
}

int filter_prog(struct filter *f, int linktype, int dir, const char *ifname, char *err,
		size_t errlen)
{
	int *fd = &f->fds[linktype == LINKTYPE_RAW][dir == TR_DIR_EGRESS];
	struct cbpf_out p = { 0 };
	struct sock_filter *code;
	size_t n;
	int ret;

	if (*fd >= 0)
		return *fd;
	ret = cbpf_compile(f->expr, linktype, f->snaplen, &code, &n, err, errlen);
	if (ret == -EINVAL)
		return -ENOEXEC;
	if (ret)
		return ret;
	ret = cbpf_translate(code, n, CBPF_END_TAIL_CALL, f->prog_array_fd,
			     dir == TR_DIR_EGRESS, &p, err, errlen);
	free(code);
	if (ret == -EINVAL)
		log_err("cannot translate the filter expression for %s: %s", ifname, err);
	if (ret)
		return ret;
	ret = load(f, &p, dir, ifname);
	free(p.insns);
	if (ret >= 0)
		*fd = ret;
	return ret;
}

void filter_close(struct filter *f)
{
	if (!f)
		return;
	for (int i = 0; i < 2; i++)
		for (int d = 0; d < 2; d++)
			if (f->fds[i][d] >= 0)
				close(f->fds[i][d]);
	free(f->expr);
	free(f);
}

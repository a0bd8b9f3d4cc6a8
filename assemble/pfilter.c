// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "cbpf_pcap.h"
#include "log.h"
#include "pfilter.h"

#define MAX_PROGS 8 /* (link type, snapshot length) pairs: a journal has one or two */
#define LINKTYPE_ETHERNET 1
#define LINKTYPE_RAW 101

struct prog {
	uint16_t linktype; /* LINKTYPE_*, as pcapng files and journals have them */
	uint32_t snaplen;
	bool ok; /* compiled; else the expression does not apply to this link type */
	struct bpf_program bpf; /* its instructions from cbpf_compile (the same layout) */
};

struct pfilter {
	char *expr;
	struct prog progs[MAX_PROGS];
	unsigned n;
};

/* Compile f->expr for linktype and snaplen into p, as tlsrec compiles its filter. 0, -EINVAL with
 * libpcap's message in err, or -ENOMEM. */
static int compile(const struct pfilter *f, struct prog *p, char *err, size_t size)
{
	struct sock_filter *code;
	size_t n;
	int ret = cbpf_compile(f->expr, p->linktype, p->snaplen, &code, &n, err, size);

	if (!ret)
		p->bpf = (struct bpf_program){ .bf_len = (u_int)n, .bf_insns = (struct bpf_insn *)code };
	p->ok = !ret;
	return ret;
}

int pfilter_new(const char *expr, struct pfilter **out)
{
	static const uint16_t linktypes[] = { LINKTYPE_ETHERNET, LINKTYPE_RAW };
	struct pfilter *f = calloc(1, sizeof(*f));
	char err[PCAP_ERRBUF_SIZE];
	int ret = -ENOMEM;

	if (!f || !(f->expr = strdup(expr)))
		goto fail;
	/* Refuse what applies to no link type tlsrec records, as tcpdump would refuse it. */
	for (size_t i = 0; i < sizeof(linktypes) / sizeof(linktypes[0]); i++) {
		struct prog p = { .linktype = linktypes[i], .snaplen = 262144 };

		ret = compile(f, &p, err, sizeof(err));
		if (ret == -ENOMEM)
			goto fail;
		if (!ret) {
			free(p.bpf.bf_insns);
			*out = f;
			return 0;
		}
	}
	log_err("bad filter expression: %s", err);
fail:
	pfilter_free(f);
	return ret;
}

static struct prog *prog_for(struct pfilter *f, uint16_t linktype, uint32_t snaplen)
{
	struct prog *p;
	char err[PCAP_ERRBUF_SIZE];

	for (unsigned i = 0; i < f->n; i++)
		if (f->progs[i].linktype == linktype && f->progs[i].snaplen == snaplen)
			return &f->progs[i];
	if (f->n == MAX_PROGS)
		return NULL;
	p = &f->progs[f->n++];
	*p = (struct prog){ .linktype = linktype, .snaplen = snaplen };
	if (compile(f, p, err, sizeof(err)) == -EINVAL)
		log_warn("the filter expression does not apply to link type %u%s: %s; its packets are left out",
			 linktype, linktype == LINKTYPE_ETHERNET ? " (Ethernet)" :
				   linktype == LINKTYPE_RAW	 ? " (raw IP)" :
								   "",
			 err);
	return p;
}

bool pfilter_match(struct pfilter *f, uint16_t linktype, uint32_t snaplen, const uint8_t *data,
		   uint32_t caplen, uint32_t origlen)
{
	struct pcap_pkthdr h = { .caplen = caplen, .len = origlen };
	struct prog *p = prog_for(f, linktype, snaplen);

	return p && p->ok && pcap_offline_filter(&p->bpf, &h, data);
}

void pfilter_free(struct pfilter *f)
{
	if (!f)
		return;
	for (unsigned i = 0; i < f->n; i++)
		if (f->progs[i].ok)
			free(f->progs[i].bpf.bf_insns);
	free(f->expr);
	free(f);
}

// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pfilter.h"

#define MAX_PROGS 8 /* (link type, snapshot length) pairs: a journal has one or two */
#define LINKTYPE_RAW 101

struct prog {
	uint16_t linktype; /* LINKTYPE_*, as pcapng files and journals have them */
	uint32_t snaplen;
	bool ok; /* compiled; else the expression does not apply to this link type */
	struct bpf_program bpf;
};

struct pfilter {
	char *expr;
	struct prog progs[MAX_PROGS];
	unsigned n;
};

/* libpcap's DLT_ for a LINKTYPE_: they differ for raw IP only, among what tlsrec records. */
static int dlt_of(uint16_t linktype)
{
	return linktype == LINKTYPE_RAW ? DLT_RAW : linktype;
}

/* Compile f->expr for linktype and snaplen into p. 0, or -EINVAL with libpcap's message in err. */
static int compile(const struct pfilter *f, struct prog *p, char *err, size_t size)
{
	pcap_t *dead = pcap_open_dead_with_tstamp_precision(dlt_of(p->linktype), (int)p->snaplen,
							    PCAP_TSTAMP_PRECISION_NANO);
	int ret = 0;

	if (!dead)
		return -ENOMEM;
	if (pcap_compile(dead, &p->bpf, f->expr, 1, PCAP_NETMASK_UNKNOWN)) {
		snprintf(err, size, "%s", pcap_geterr(dead));
		ret = -EINVAL;
	}
	pcap_close(dead);
	p->ok = !ret;
	return ret;
}

int pfilter_new(const char *expr, struct pfilter **out)
{
	static const uint16_t linktypes[] = { DLT_EN10MB, LINKTYPE_RAW };
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
			pcap_freecode(&p.bpf);
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
		log_warn("the filter expression does not apply to link type %s: %s; its packets are left out",
			 pcap_datalink_val_to_name(dlt_of(linktype)) ?
				 pcap_datalink_val_to_name(dlt_of(linktype)) :
				 "unknown",
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
			pcap_freecode(&f->progs[i].bpf);
	free(f->expr);
	free(f);
}

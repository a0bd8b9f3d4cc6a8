// SPDX-License-Identifier: BSD-2-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "pcapng.h"

#define LINKTYPE_ETHERNET 1
#define ETH_ADDRS_LEN 12 /* destination and source MAC: a VLAN tag goes after them */

static int write_shb(struct pcapng *w, const struct source *src)
{
	const struct recording *recs, *r = NULL;
	unsigned n = source_recordings(src, &recs);
	char os[192], appl[512], lacks[1024] = "", comment[1100] = "";

	for (unsigned i = 0; i < n && !r; i++)
		if (recs[i].have_header)
			r = &recs[i];
	snprintf(appl, sizeof(appl), "tlsasm %s", TLSREC_VERSION);
	if (r) {
		snprintf(os, sizeof(os), "Linux %s", r->kernel);
		snprintf(appl, sizeof(appl), "tlsasm %s, from a journal of tlsrec %s on %s",
			 TLSREC_VERSION, r->version, r->host);
	}
	/* What the capture lacks, said where Wireshark shows the capture's properties. */
	for (unsigned i = 0; i < n; i++) {
		size_t off = strlen(comment);

		if (recording_lacks(&recs[i], lacks, sizeof(lacks))[0] && off < sizeof(comment))
			snprintf(comment + off, sizeof(comment) - off, "%sThe recording%s%s has %s.",
				 off ? "\n" : "", recs[i].host[0] ? " on " : "", recs[i].host, lacks);
	}
	return pcapng_shb(w, &(struct pcapng_shb){ .hardware = r ? r->machine : NULL,
						    .os = r ? os : NULL,
						    .userappl = appl,
						    .comment = comment[0] ? comment : NULL });
}

static int write_idb(struct pcapng *w, const struct source *src, const struct src_iface *it)
{
	const struct recording *recs;
	char desc[512];

	source_recordings(src, &recs);
	snprintf(desc, sizeof(desc), "%s on %s", it->desc.name,
		 recs[it->rec].host[0] ? recs[it->rec].host : "an unnamed host");
	return pcapng_idb(w, &(struct pcapng_idb){
				     .linktype = it->desc.linktype,
				     .snaplen = recs[it->rec].snaplen,
				     .name = it->desc.name,
				     .description = desc,
				     .mac = it->desc.hwaddr_len == 6 ? it->desc.hwaddr : NULL,
				     .filter = recs[it->rec].filter,
			     });
}

/* IDBs up to interface `upto`, for interfaces the source found since the last call. */
static int describe(struct pcapng *w, struct source *src, unsigned *written, unsigned upto)
{
	struct src_iface *ifs;
	unsigned n = source_interfaces(src, &ifs);
	int ret = 0;

	while (!ret && *written < n && *written <= upto)
		ret = write_idb(w, src, &ifs[(*written)++]);
	return ret;
}

/* Write v, or leave it out when the filter says so (1); frame is room for TR_MAX_SNAPLEN bytes
 * when there is a filter. 0, 1 or -errno. */
static int write_packet(struct pcapng *w, struct source *src, const struct packet_view *v,
			const struct convert_opts *o, const struct convert_meta *m, uint8_t *frame)
{
	const struct recording *recs;
	struct src_iface *ifs;
	struct src_iface *it;
	struct pcapng_epb e = {
		.if_id = v->iface,
		.ts_ns = v->wall,
		.caplen = v->p.cap_len,
		.origlen = v->p.orig_len,
		.data = v->data,
		.comment = m->comment,
		.pid = m->pid,
		.tid = m->tid,
	};
	uint16_t tag[2];
	uint32_t snaplen;

	source_interfaces(src, &ifs);
	source_recordings(src, &recs);
	it = &ifs[v->iface];
	snaplen = recs[it->rec].snaplen;
	e.flags = v->p.dir == TR_DIR_INGRESS ? PCAPNG_EPB_INBOUND :
		  v->p.dir == TR_DIR_EGRESS  ? PCAPNG_EPB_OUTBOUND :
					       0;
	if (v->p.flags & TR_PKT_GSO)
		e.flags |= PCAPNG_EPB_TSO;
	/* The driver took the VLAN tag out of the frame; put it back as libpcap does, keeping the
	 * captured length within the snapshot length. */
	if ((v->p.flags & TR_PKT_VLAN) && it->desc.linktype == LINKTYPE_ETHERNET &&
	    (e.caplen + sizeof(tag) < snaplen ? e.caplen + sizeof(tag) : snaplen) >=
		    ETH_ADDRS_LEN + sizeof(tag)) {
		tag[0] = v->p.vlan_proto;
		tag[1] = htons(v->p.vlan_tci);
		e.prefix = (const uint8_t *)tag;
		e.prefix_len = sizeof(tag);
		e.prefix_at = ETH_ADDRS_LEN;
		e.caplen = e.caplen + sizeof(tag) < snaplen ? e.caplen + (uint32_t)sizeof(tag) : snaplen;
		e.origlen += sizeof(tag);
	}
	if (o->filter) {
		const uint8_t *bytes = e.data;

		if (e.prefix_len) { /* the filter sees the frame as the file holds it */
			memcpy(frame, e.data, e.prefix_at);
			memcpy(frame + e.prefix_at, e.prefix, e.prefix_len);
			memcpy(frame + e.prefix_at + e.prefix_len, e.data + e.prefix_at,
			       e.caplen - e.prefix_len - e.prefix_at);
			bytes = frame;
		}
		if (!pfilter_match(o->filter, it->desc.linktype, snaplen, bytes, e.caplen,
				   e.origlen))
			return 1;
	}
	e.dropcount = source_take_drops(src, v->iface, v->wall);
	if (!it->packets)
		it->first_wall = v->wall;
	it->last_wall = v->wall;
	it->packets++;
	return pcapng_epb(w, &e);
}

/* One DSB, or several cut at line ends when the lines are more than a block takes. */
static int write_dsb(struct pcapng *w, const struct convert_dsb *d, struct convert_stats *st)
{
	const char *p = d->lines, *end = d->lines + d->len;
	int ret = 0;

	while (!ret && p < end) {
		size_t len = (size_t)(end - p);

		if (len > PCAPNG_DSB_MAX) {
			len = PCAPNG_DSB_MAX;
			while (len && p[len - 1] != '\n')
				len--;
			if (!len) /* one line longer than a block: never from tlsasm's key log */
				return -EMSGSIZE;
		}
		ret = pcapng_dsb_tls(w, p, len);
		p += len;
		st->dsbs++;
	}
	return ret;
}

/* Pull o's next DSB into d; *more says whether there was one. 0 or -errno. */
static int pull_dsb(const struct convert_opts *o, struct convert_dsb *d, bool *more)
{
	int ret = o->next_dsb ? o->next_dsb(o->ctx, d) : 0;

	*more = ret > 0;
	return ret < 0 ? ret : 0;
}

/* Write the DSBs that go before packet number index (counted from 1), pulling each next one: d,
 * while *more, is the first not written. 0 or -errno. */
static int write_dsbs(struct pcapng *w, const struct convert_opts *o, uint64_t index,
		      struct convert_dsb *d, bool *more, struct convert_stats *st)
{
	int ret = 0;

	while (!ret && *more && d->before < index) {
		ret = write_dsb(w, d, st);
		if (!ret)
			ret = pull_dsb(o, d, more);
	}
	return ret;
}

/* The comment of an interface's statistics when it disappeared while tlsrec recorded it. */
#define GONE "the interface disappeared while tlsrec recorded it"

int convert_pcapng(struct source *src, int fd, const struct convert_opts *o,
		   struct convert_stats *st)
{
	struct pcapng *w = pcapng_open(fd);
	struct packet_view v;
	struct src_iface *ifs;
	unsigned written = 0, n;
	uint8_t *frame = o->filter ? malloc(TR_MAX_SNAPLEN) : NULL;
	struct convert_dsb dsb;
	uint64_t index = 0;
	bool more = false;
	int ret, closed;

	memset(st, 0, sizeof(*st));
	if (!w || (o->filter && !frame)) {
		ret = w ? -ENOMEM : -errno;
		free(frame);
		if (w)
			pcapng_close(w);
		return ret;
	}
	ret = write_shb(w, src);
	if (!ret)
		ret = describe(w, src, &written, UINT32_MAX);
	if (!ret)
		ret = pull_dsb(o, &dsb, &more);
	while (!ret && (ret = source_next(src, &v)) > 0) {
		struct convert_meta m = { 0 };

		if (o->meta)
			o->meta(o->ctx, index, &v, &m);
		index++;
		ret = m.error;
		if (ret || m.skip)
			continue;
		ret = describe(w, src, &written, v.iface);
		if (!ret)
			ret = write_dsbs(w, o, index, &dsb, &more, st);
		if (!ret)
			ret = write_packet(w, src, &v, o, &m, frame);
		st->packets += ret == 0;
		ret = ret > 0 ? 0 : ret;
	}
	if (!ret)
		ret = describe(w, src, &written, UINT32_MAX);
	n = source_interfaces(src, &ifs);
	for (unsigned i = 0; i < n && !ret; i++) {
		const struct recording *recs;
		uint64_t start, end;

		source_recordings(src, &recs);
		start = ifs[i].packets ? ifs[i].first_wall : recs[ifs[i].rec].start_ns;
		end = ifs[i].packets ? ifs[i].last_wall : start;
		/* Recorded until it disappeared. */
		end = ifs[i].gone_wall > end ? ifs[i].gone_wall : end;
		ret = pcapng_isb(w, &(struct pcapng_isb){ .if_id = i,
							   .ts_ns = end,
							   .starttime = start,
							   .endtime = end,
							   .ifdrop = ifs[i].lost,
							   .usrdeliv = ifs[i].packets,
							   .comment = ifs[i].gone_wall ? GONE :
											 NULL });
		st->lost += ifs[i].lost;
	}
	free(frame);
	st->bytes = pcapng_bytes(w);
	closed = pcapng_close(w);
	return ret ? ret : closed;
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * The pcapng writer (assemble/pcapng.c) against independent readers. Files are written with
 * pcapng_* and then read by:
 *   - a block walker here, which checks every length, option and padding byte against
 *     draft-ietf-opsawg-pcapng (sections 3.5, 4.1-4.3, 4.6);
 *   - libpcap (pcap_next_ex, nanosecond precision): every packet's time, lengths and bytes.
 *     libpcap 1.10 refuses a file whose interfaces differ in link type ("an interface has a type
 *     101 different from the type of the first interface") or in snapshot length, so it reads the
 *     files with one link type; the file that mixes Ethernet and raw IP goes to Wireshark only;
 *   - tshark: per packet time, lengths, epb_flags, interface name and description, drop count and
 *     encapsulation; and its pcapng file-format dissector for the blocks themselves (ISB counters,
 *     if_MACaddr, SHB strings, no expert warnings);
 *   - capinfos: file type, encapsulation, packet count, interfaces and their statistics entries.
 * Then the error paths: a pipe nobody reads, /dev/full, a bad descriptor, a block too large.
 */
#include <pcap/pcap.h>
#include <signal.h>

#include "array.h"
#include "check.h"
#include "pcapng.h"
#include "util.h"

#define LT_ETHERNET 1
#define LT_RAW 101
#define MAX_IFS 2
#define NS UINT64_C(1000000000)

struct xiface {
	uint16_t linktype;
	uint32_t snaplen;
	const char *name;
	const char *desc;
	const uint8_t *mac;
	const char *filter; /* if_filter, a libpcap string */
	/* the ISB written for it, from its packets */
	uint64_t first, last, drops, packets;
};

struct xpkt {
	uint32_t if_id;
	uint64_t ts;
	uint32_t caplen; /* in the file, the VLAN tag included */
	uint32_t origlen;
	uint32_t flags;
	uint64_t drops;
	bool vlan;
	uint8_t tag[4];
	uint32_t pid, tid; /* epb_processid_threadid; 0: none */
	char comment[80];  /* opt_comment; empty: none */
	uint8_t *data; /* given to the writer: caplen bytes, or caplen - 4 with a VLAN tag */
	uint8_t *wire; /* what the file must hold: caplen bytes */
};

struct xfile {
	char path[PATH_MAX];
	unsigned nif;
	struct xiface ifs[MAX_IFS];
	size_t n, cap;
	struct xpkt *p;
	const char *encap; /* capinfos -M's "File encapsulation" */
};

static const char shb_hardware[] = "x86_64";
static const char shb_os[] = "Linux 6.1.0-test";
static const char shb_appl[] = "tlsasm unit test";
static const uint8_t mac0[6] = { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01 };

static void xfile_init(struct xfile *f, const char *name)
{
	memset(f, 0, sizeof(*f));
	tpath(f->path, name);
}

static void xfile_free(struct xfile *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->p[i].data);
		free(f->p[i].wire);
	}
	free(f->p);
	f->p = NULL;
	f->n = 0;
}

static void add_iface(struct xfile *f, uint16_t linktype, uint32_t snaplen, const char *name,
		      const char *desc, const uint8_t *mac)
{
	f->ifs[f->nif++] = (struct xiface){
		.linktype = linktype, .snaplen = snaplen, .name = name, .desc = desc, .mac = mac
	};
}

/* A packet of len random bytes (plus a VLAN tag when vlan: 802.1Q, VLAN id from the seed). */
static bool add_pkt(struct xfile *f, uint32_t if_id, uint64_t ts, uint32_t len, uint32_t origlen,
		    uint32_t flags, uint64_t drops, bool vlan)
{
	struct xpkt *p;

	if (!CHECK_EQ_INT(array_reserve(&f->p, &f->cap, f->n + 1, sizeof(*f->p), 64), 0))
		return false;
	p = &f->p[f->n];
	memset(p, 0, sizeof(*p));
	p->if_id = if_id;
	p->ts = ts;
	p->caplen = len + (vlan ? 4 : 0);
	p->origlen = origlen + (vlan ? 4 : 0);
	p->flags = flags;
	p->drops = drops;
	p->vlan = vlan;
	/* A third of the packets name their process in both options, a third by ids only. */
	if (f->n % 3) {
		p->pid = (uint32_t)rnd_range(1, 4194304);
		p->tid = f->n % 2 ? p->pid : (uint32_t)rnd_range(1, 4194304);
	}
	if (f->n % 3 == 1)
		snprintf(p->comment, sizeof(p->comment), "pid=%u tid=%u comm=pkt %zu uid=%u", p->pid,
			 p->tid, f->n, (unsigned)rnd_range(0, 65535));
	p->data = malloc(len ? len : 1);
	p->wire = malloc(p->caplen ? p->caplen : 1);
	if (!CHECK(p->data && p->wire)) {
		free(p->data);
		free(p->wire);
		return false;
	}
	rnd_bytes(p->data, len);
	if (vlan) {
		uint16_t vid = (uint16_t)rnd_range(1, 4094);

		p->tag[0] = 0x81;
		p->tag[1] = 0x00;
		p->tag[2] = (uint8_t)(vid >> 8);
		p->tag[3] = (uint8_t)vid;
		memcpy(p->wire, p->data, 12);
		memcpy(p->wire + 12, p->tag, 4);
		memcpy(p->wire + 16, p->data + 12, len - 12);
	} else {
		memcpy(p->wire, p->data, len);
	}
	f->n++;
	return true;
}

/* Write f with the writer; fill in each interface's statistics. */
static bool write_xfile(struct xfile *f)
{
	int fd = open(f->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	struct pcapng *w;
	uint64_t bytes;
	struct stat st;
	bool ok = true;

	if (!CHECK(fd >= 0))
		return false;
	w = pcapng_open(fd);
	if (!CHECK(w != NULL)) {
		close(fd);
		return false;
	}
	ok &= CHECK_EQ_INT(pcapng_shb(w, &(struct pcapng_shb){ .hardware = shb_hardware,
							       .os = shb_os,
							       .userappl = shb_appl }),
			   0);
	for (unsigned i = 0; i < f->nif; i++) {
		struct xiface *it = &f->ifs[i];

		ok &= CHECK_EQ_INT(pcapng_idb(w, &(struct pcapng_idb){ .linktype = it->linktype,
								       .snaplen = it->snaplen,
								       .name = it->name,
								       .description = it->desc,
								       .mac = it->mac,
								       .filter = it->filter }),
				   0);
		it->packets = it->drops = it->first = it->last = 0;
	}
	for (size_t i = 0; i < f->n; i++) {
		const struct xpkt *p = &f->p[i];
		struct xiface *it = &f->ifs[p->if_id];
		struct pcapng_epb e = { .if_id = p->if_id,
					.ts_ns = p->ts,
					.caplen = p->caplen,
					.origlen = p->origlen,
					.data = p->data,
					.flags = p->flags,
					.dropcount = p->drops,
					.comment = p->comment[0] ? p->comment : NULL,
					.pid = p->pid,
					.tid = p->tid };

		if (p->vlan) {
			e.prefix = p->tag;
			e.prefix_len = 4;
			e.prefix_at = 12;
		}
		ok &= CHECK_EQ_INT(pcapng_epb(w, &e), 0);
		if (!it->packets++)
			it->first = p->ts;
		it->last = p->ts;
		it->drops += p->drops;
	}
	for (unsigned i = 0; i < f->nif; i++) {
		const struct xiface *it = &f->ifs[i];

		ok &= CHECK_EQ_INT(pcapng_isb(w, &(struct pcapng_isb){ .if_id = i,
								       .ts_ns = it->last,
								       .starttime = it->first,
								       .endtime = it->last,
								       .ifdrop = it->drops,
								       .usrdeliv = it->packets }),
				   0);
	}
	bytes = pcapng_bytes(w);
	ok &= CHECK_EQ_INT(pcapng_close(w), 0);
	close(fd);
	ok &= CHECK(!stat(f->path, &st)) && CHECK_EQ_U64(st.st_size, bytes);
	return ok;
}

/* A bounds-checked cursor over the file, as libpcap reads pcapng. */
struct cur {
	const uint8_t *p, *end;
	bool bad;
};

static const uint8_t *take(struct cur *c, size_t n)
{
	const uint8_t *p = c->p;

	if (c->bad || (size_t)(c->end - c->p) < n) {
		c->bad = true;
		return NULL;
	}
	c->p += n;
	return p;
}

static uint16_t take16(struct cur *c)
{
	const uint8_t *p = take(c, 2);
	uint16_t v = 0;

	if (p)
		memcpy(&v, p, 2);
	return v;
}

static uint32_t take32(struct cur *c)
{
	const uint8_t *p = take(c, 4);
	uint32_t v = 0;

	if (p)
		memcpy(&v, p, 4);
	return v;
}

/* A 64-bit value stored as two 32-bit halves, high first (EPB and ISB timestamps). */
static uint64_t take_ts(struct cur *c)
{
	uint64_t hi = take32(c);

	return hi << 32 | take32(c);
}

#define MAX_OPTS 8

struct opts {
	unsigned n;
	uint16_t code[MAX_OPTS];
	uint16_t len[MAX_OPTS];
	const uint8_t *val[MAX_OPTS];
};

/* Options to the end of the block body (section 3.5): padded with zeros, closed by
 * opt_endofopt unless there are none at all. */
static bool take_opts(struct cur *c, struct opts *o)
{
	o->n = 0;
	if (c->p == c->end)
		return true;
	for (;;) {
		uint16_t code = take16(c), len = take16(c);
		const uint8_t *val = take(c, len);
		const uint8_t *pad = take(c, (4 - len % 4) % 4);

		if (!CHECK(!c->bad))
			return false;
		for (unsigned i = 0; i < (4u - len % 4) % 4; i++)
			if (!CHECK_EQ_U64(pad[i], 0))
				return false;
		if (code == 0)
			return CHECK_EQ_U64(len, 0) && CHECK(c->p == c->end);
		if (!CHECK(o->n < MAX_OPTS))
			return false;
		o->code[o->n] = code;
		o->len[o->n] = len;
		o->val[o->n++] = val;
	}
}

/* The option with this code, which must be there exactly once with len bytes. */
static const uint8_t *opt(const struct opts *o, uint16_t code, uint16_t len)
{
	const uint8_t *v = NULL;

	for (unsigned i = 0; i < o->n; i++) {
		if (o->code[i] != code)
			continue;
		if (!CHECK_MSG(!v, "option %u twice", code) ||
		    !CHECK_MSG(o->len[i] == len, "option %u: %u bytes, want %u", code, o->len[i],
			       len))
			return NULL;
		v = o->val[i];
	}
	CHECK_MSG(v != NULL, "option %u missing", code);
	return v;
}

static void check_str_opt(const struct opts *o, uint16_t code, const char *s)
{
	const uint8_t *v = opt(o, code, (uint16_t)strlen(s));

	if (v)
		CHECK_MEM(v, s, strlen(s));
}

static uint64_t u64_at(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* The next block: its type, and a cursor over its body. Checks both lengths. */
static bool take_block(struct cur *file, uint32_t *type, struct cur *body)
{
	const uint8_t *start = file->p;
	uint32_t len, trailer;

	*type = take32(file);
	len = take32(file);
	if (!CHECK(!file->bad) || !CHECK(len >= 12) || !CHECK_EQ_U64(len % 4, 0) ||
	    !CHECK(take(file, len - 12) != NULL))
		return false;
	trailer = take32(file);
	if (!CHECK(!file->bad) || !CHECK_EQ_U64(trailer, len))
		return false;
	*body = (struct cur){ .p = start + 8, .end = start + len - 4 };
	return true;
}

/* Walk the whole file: SHB, IDBs, EPBs, ISBs, exactly as written. */
static void check_blocks(const struct xfile *f)
{
	size_t size;
	uint8_t *buf = slurp(f->path, &size);
	struct cur file = { .p = buf, .end = buf + size }, b;
	struct opts o;
	uint32_t type;
	const uint8_t *v;

	if (!CHECK(buf != NULL))
		return;
	check_ctx("%s: SHB", f->path);
	if (!take_block(&file, &type, &b) || !CHECK_EQ_U64(type, 0x0A0D0D0A))
		goto out;
	CHECK_EQ_U64(take32(&b), 0x1A2B3C4D);
	CHECK_EQ_U64(take16(&b), 1);
	CHECK_EQ_U64(take16(&b), 0);
	CHECK_EQ_U64(take_ts(&b), UINT64_MAX);
	if (take_opts(&b, &o) && CHECK_EQ_U64(o.n, 3)) {
		check_str_opt(&o, 2, shb_hardware);
		check_str_opt(&o, 3, shb_os);
		check_str_opt(&o, 4, shb_appl);
	}
	for (unsigned i = 0; i < f->nif; i++) {
		const struct xiface *it = &f->ifs[i];

		check_ctx("%s: IDB %u", f->path, i);
		if (!take_block(&file, &type, &b) || !CHECK_EQ_U64(type, 1))
			goto out;
		CHECK_EQ_U64(take16(&b), it->linktype);
		CHECK_EQ_U64(take16(&b), 0);
		CHECK_EQ_U64(take32(&b), it->snaplen);
		if (!take_opts(&b, &o))
			continue;
		CHECK_EQ_U64(o.n, 1 + !!it->name + !!it->desc + !!it->mac + !!it->filter);
		if (it->name)
			check_str_opt(&o, 2, it->name);
		if (it->desc)
			check_str_opt(&o, 3, it->desc);
		if (it->mac && (v = opt(&o, 6, 6)))
			CHECK_MEM(v, it->mac, 6);
		if ((v = opt(&o, 9, 1)))
			CHECK_EQ_U64(v[0], 9);
		/* if_filter (section 4.2): 0, a libpcap filter string, then the string */
		if (it->filter && (v = opt(&o, 11, (uint16_t)(1 + strlen(it->filter))))) {
			CHECK_EQ_U64(v[0], 0);
			CHECK_MEM(v + 1, it->filter, strlen(it->filter));
		}
	}
	for (size_t i = 0; i < f->n; i++) {
		const struct xpkt *p = &f->p[i];
		const uint8_t *data;

		check_ctx("%s: EPB %zu", f->path, i);
		if (!take_block(&file, &type, &b) || !CHECK_EQ_U64(type, 6))
			goto out;
		CHECK_EQ_U64(take32(&b), p->if_id);
		CHECK_EQ_U64(take_ts(&b), p->ts);
		CHECK_EQ_U64(take32(&b), p->caplen);
		CHECK_EQ_U64(take32(&b), p->origlen);
		data = take(&b, p->caplen);
		if (CHECK(data != NULL))
			CHECK_MEM(data, p->wire, p->caplen);
		v = take(&b, (4 - p->caplen % 4) % 4);
		for (unsigned k = 0; v && k < (4 - p->caplen % 4) % 4; k++)
			CHECK_EQ_U64(v[k], 0);
		if (!take_opts(&b, &o))
			continue;
		CHECK_EQ_U64(o.n, !!p->flags + !!p->drops + !!p->pid + !!p->comment[0]);
		if (p->comment[0])
			check_str_opt(&o, 1, p->comment);
		if (p->pid && (v = opt(&o, 8, 8))) {
			CHECK_MEM(v, &p->pid, 4);
			CHECK_MEM(v + 4, &p->tid, 4);
		}
		if (p->flags && (v = opt(&o, 2, 4)))
			CHECK_MEM(v, &p->flags, 4);
		if (p->drops && (v = opt(&o, 4, 8)))
			CHECK_EQ_U64(u64_at(v), p->drops);
	}
	for (unsigned i = 0; i < f->nif; i++) {
		const struct xiface *it = &f->ifs[i];

		check_ctx("%s: ISB %u", f->path, i);
		if (!take_block(&file, &type, &b) || !CHECK_EQ_U64(type, 5))
			goto out;
		CHECK_EQ_U64(take32(&b), i);
		CHECK_EQ_U64(take_ts(&b), it->last);
		if (!take_opts(&b, &o) || !CHECK_EQ_U64(o.n, 4))
			continue;
		if ((v = opt(&o, 2, 8))) {
			struct cur t = { .p = v, .end = v + 8 };

			CHECK_EQ_U64(take_ts(&t), it->first);
		}
		if ((v = opt(&o, 3, 8))) {
			struct cur t = { .p = v, .end = v + 8 };

			CHECK_EQ_U64(take_ts(&t), it->last);
		}
		if ((v = opt(&o, 5, 8)))
			CHECK_EQ_U64(u64_at(v), it->drops);
		if ((v = opt(&o, 8, 8)))
			CHECK_EQ_U64(u64_at(v), it->packets);
	}
	check_ctx("%s: end", f->path);
	CHECK(file.p == file.end);
out:
	check_ctx("%s", "");
	free(buf);
}

/* libpcap reads every packet back: time to the nanosecond, lengths, bytes. */
static void check_libpcap(const struct xfile *f)
{
	char err[PCAP_ERRBUF_SIZE] = "";
	struct pcap_pkthdr *h;
	const u_char *bytes;
	size_t i = 0;
	pcap_t *p;
	int ret;

	check_ctx("libpcap reading %s", f->path);
	p = pcap_open_offline_with_tstamp_precision(f->path, PCAP_TSTAMP_PRECISION_NANO, err);
	if (!CHECK_MSG(p != NULL, "pcap_open_offline: %s", err))
		return;
	CHECK_EQ_INT(pcap_datalink(p), f->ifs[0].linktype == LT_RAW ? DLT_RAW : DLT_EN10MB);
	CHECK_EQ_INT(pcap_snapshot(p), f->ifs[0].snaplen);
	CHECK_EQ_INT(pcap_get_tstamp_precision(p), PCAP_TSTAMP_PRECISION_NANO);
	while ((ret = pcap_next_ex(p, &h, &bytes)) == 1) {
		const struct xpkt *x = &f->p[i];

		if (!CHECK_MSG(i < f->n, "libpcap returns more than the %zu packets written", f->n))
			break;
		check_ctx("libpcap reading %s, packet %zu", f->path, i);
		CHECK_EQ_U64(h->ts.tv_sec, x->ts / NS);
		CHECK_EQ_U64(h->ts.tv_usec, x->ts % NS); /* nanoseconds, at this precision */
		CHECK_EQ_U64(h->caplen, x->caplen);
		CHECK_EQ_U64(h->len, x->origlen);
		if (h->caplen == x->caplen)
			CHECK_MEM(bytes, x->wire, x->caplen);
		if (x->vlan && h->caplen >= 16)
			CHECK_MEM(bytes + 12, x->tag, 4);
		i++;
	}
	check_ctx("libpcap reading %s", f->path);
	CHECK_MSG(ret == PCAP_ERROR_BREAK, "pcap_next_ex: %d (%s)", ret, pcap_geterr(p));
	CHECK_EQ_U64(i, f->n);
	pcap_close(p);
	check_ctx("%s", "");
}

static bool have_wireshark(void)
{
	bool ok = need_tool("tshark", "tshark", "check pcapng output with Wireshark's reader");

	return need_tool("capinfos", "wireshark-common",
			 "check pcapng output with Wireshark's reader") &&
	       ok;
}

/* The next line of *text (NUL-terminated in place), or NULL at the end. */
static char *next_line(char **text)
{
	char *line = *text, *nl;

	if (!line || !*line)
		return NULL;
	nl = strchr(line, '\n');
	if (nl) {
		*nl = '\0';
		*text = nl + 1;
	} else {
		*text = line + strlen(line);
	}
	return line;
}

#define MAX_FIELDS 14

/*
 * tshark -n -r path [-X read_format:format] -T fields -E separator=| -e field...: its output, or
 * NULL after a failed check.
 */
static char *tshark_fields(const char *path, const char *format, const char *const *fields,
			   unsigned n)
{
	char *argv[12 + 2 * MAX_FIELDS + 1], fmt_opt[64];
	unsigned k = 0;

	if (!CHECK(n <= MAX_FIELDS))
		return NULL;
	argv[k++] = "tshark";
	argv[k++] = "-n";
	argv[k++] = "-r";
	argv[k++] = (char *)path;
	if (format) {
		snprintf(fmt_opt, sizeof(fmt_opt), "read_format:%s", format);
		argv[k++] = "-X";
		argv[k++] = fmt_opt;
	}
	argv[k++] = "-T";
	argv[k++] = "fields";
	argv[k++] = "-E";
	argv[k++] = "separator=|";
	for (unsigned i = 0; i < n; i++) {
		argv[k++] = "-e";
		argv[k++] = (char *)fields[i];
	}
	argv[k] = NULL;
	return tool_output(argv);
}

/* What tshark shows of each packet, field by field. */
static void check_tshark_packets(const struct xfile *f)
{
	static const char *const fields[] = {
		"frame.interface_id",	"frame.time_epoch",
		"frame.cap_len",	"frame.len",
		"frame.packet_flags",	"frame.packet_flags_direction",
		"frame.interface_name", "frame.interface_description",
		"frame.drop_count",	"frame.encap_type",
		"frame.comment",
	};
	char *out = tshark_fields(f->path, NULL, fields, sizeof(fields) / sizeof(fields[0]));
	char *text = out, *line, want[512], flags[32], dir[32], drops[32];
	size_t i = 0;

	if (!out)
		return;
	for (; (line = next_line(&text)); i++) {
		const struct xpkt *p;
		const struct xiface *it;

		if (!CHECK_MSG(i < f->n, "tshark shows more than the %zu packets written: %s", f->n,
			       line))
			break;
		p = &f->p[i];
		it = &f->ifs[p->if_id];
		flags[0] = dir[0] = drops[0] = '\0';
		if (p->flags) {
			snprintf(flags, sizeof(flags), "0x%08x", p->flags);
			snprintf(dir, sizeof(dir), "0x%08x", p->flags & 3);
		}
		if (p->drops)
			snprintf(drops, sizeof(drops), "%" PRIu64, p->drops);
		snprintf(want, sizeof(want), "%u|%" PRIu64 ".%09" PRIu64 "|%u|%u|%s|%s|%s|%s|%s|%d|%s",
			 p->if_id, p->ts / NS, p->ts % NS, p->caplen, p->origlen, flags, dir,
			 it->name ? it->name : "", it->desc ? it->desc : "", drops,
			 it->linktype == LT_RAW ? 7 : 1, p->comment);
		CHECK_MSG(!strcmp(line, want), "tshark, packet %zu:\n  got  %s\n  want %s", i, line,
			  want);
	}
	CHECK_MSG(i == f->n, "tshark shows %zu packets of the %zu written in %s", i, f->n, f->path);
	free(out);
}

/* "a,b,c" as tshark aggregates a field that occurs several times. */
static void append(char *buf, size_t size, const char *fmt_, ...)
	__attribute__((format(printf, 3, 4)));

static void append(char *buf, size_t size, const char *fmt_, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	if (n && n + 1 < size)
		buf[n++] = ',';
	va_start(ap, fmt_);
	vsnprintf(buf + n, size - n, fmt_, ap);
	va_end(ap);
}

/*
 * Wireshark's dissector of the pcapng format itself ("MIME Files Format"): the block sequence,
 * the IDB and ISB fields, the SHB strings, and no expert information (which is where it reports
 * lengths that disagree, bad option lengths and the like).
 */
static void check_tshark_blocks(const struct xfile *f)
{
	enum { FIELDS = 13 };
	static const char *const fields[FIELDS] = {
		"pcapng.block.type",
		"pcapng.interface_description.link_type",
		"pcapng.interface_description.snap_length",
		"pcapng.options.option.data.interface.name",
		"pcapng.options.option.data.mac",
		"pcapng.options.option.data.interface.dropped",
		"pcapng.options.option.data.interface.delivered_to_user",
		"pcapng.options.option.data.packet.drop_count",
		"pcapng.options.option.data.hardware",
		"pcapng.options.option.data.user_application",
		"_ws.expert",
		"pcapng.options.option.data.interface.filter.type",
		"pcapng.options.option.data.interface.filter.string",
	};
	static char want[FIELDS][8192];
	char *out, *text, *line, *field;
	unsigned k = 0;

	for (unsigned i = 0; i < FIELDS; i++)
		want[i][0] = '\0';
	append(want[0], sizeof(want[0]), "0x0a0d0d0a");
	for (unsigned i = 0; i < f->nif; i++) {
		append(want[0], sizeof(want[0]), "0x00000001");
		append(want[1], sizeof(want[1]), "%u", f->ifs[i].linktype);
		append(want[2], sizeof(want[2]), "%u", f->ifs[i].snaplen);
		if (f->ifs[i].name)
			append(want[3], sizeof(want[3]), "%s", f->ifs[i].name);
		if (f->ifs[i].mac)
			append(want[4], sizeof(want[4]), "%02x:%02x:%02x:%02x:%02x:%02x",
			       f->ifs[i].mac[0], f->ifs[i].mac[1], f->ifs[i].mac[2],
			       f->ifs[i].mac[3], f->ifs[i].mac[4], f->ifs[i].mac[5]);
		if (f->ifs[i].filter) {
			append(want[11], sizeof(want[11]), "0");
			append(want[12], sizeof(want[12]), "%s", f->ifs[i].filter);
		}
	}
	for (size_t i = 0; i < f->n; i++) {
		append(want[0], sizeof(want[0]), "0x00000006");
		if (f->p[i].drops)
			append(want[7], sizeof(want[7]), "%" PRIu64, f->p[i].drops);
	}
	for (unsigned i = 0; i < f->nif; i++) {
		append(want[0], sizeof(want[0]), "0x00000005");
		append(want[5], sizeof(want[5]), "%" PRIu64, f->ifs[i].drops);
		append(want[6], sizeof(want[6]), "%" PRIu64, f->ifs[i].packets);
	}
	append(want[8], sizeof(want[8]), "%s", shb_hardware);
	append(want[9], sizeof(want[9]), "%s", shb_appl);

	out = tshark_fields(f->path, "MIME Files Format", fields, FIELDS);
	if (!out)
		return;
	text = out;
	line = next_line(&text);
	if (CHECK_MSG(line != NULL, "tshark's pcapng dissector printed nothing for %s", f->path)) {
		CHECK_MSG(next_line(&text) == NULL, "more than one line from the MIME reader");
		while (k < FIELDS && (field = strsep(&line, "|"))) {
			CHECK_MSG(
				!strcmp(field, want[k]),
				"tshark's pcapng dissector, %s, %s:\n  got  %.600s\n  want %.600s",
				f->path, fields[k], field, want[k]);
			k++;
		}
		CHECK_EQ_U64(k, FIELDS);
	}
	free(out);
}

/* The value after "key" on the first line between from and to that starts with it (after
 * blanks), into out; false when there is none. */
static bool value_of(const char *from, const char *to, const char *key, char *out, size_t size)
{
	size_t klen = strlen(key);

	while (from && from < to) {
		const char *eol = memchr(from, '\n', (size_t)(to - from));
		const char *s = from;

		if (!eol)
			eol = to;
		while (s < eol && (*s == ' ' || *s == '\t'))
			s++;
		if ((size_t)(eol - s) >= klen && !memcmp(s, key, klen)) {
			s += klen;
			while (s < eol && (*s == ' ' || *s == '\t'))
				s++;
			snprintf(out, size, "%.*s", (int)(eol - s), s);
			return true;
		}
		from = eol + 1;
	}
	out[0] = '\0';
	return CHECK_MSG(false, "capinfos printed no \"%s\"", key);
}

static void check_value(const char *from, const char *to, const char *key, const char *want)
{
	char got[256];

	if (value_of(from, to, key, got, sizeof(got)))
		CHECK_MSG(!strcmp(got, want), "capinfos \"%s\" is \"%s\", want \"%s\"", key, got,
			  want);
}

/* capinfos: file type, encapsulation, count, and per interface its IDB and its ISB. */
static void check_capinfos(const struct xfile *f)
{
	char *argv[] = { "capinfos", "-M", "-t", "-E", "-c", "-I", (char *)f->path, NULL };
	char *out = tool_output(argv), want[256];
	const char *end;

	if (!out)
		return;
	end = out + strlen(out);
	check_ctx("capinfos %s", f->path);
	if (value_of(out, end, "File type:", want, sizeof(want)))
		CHECK_MSG(strstr(want, "pcapng") != NULL, "file type \"%s\"", want);
	check_value(out, end, "File encapsulation:", f->encap);
	snprintf(want, sizeof(want), "%zu", f->n);
	check_value(out, end, "Number of packets:", want);
	snprintf(want, sizeof(want), "%u", f->nif);
	check_value(out, end, "Number of interfaces in file:", want);
	for (unsigned i = 0; i < f->nif; i++) {
		const struct xiface *it = &f->ifs[i];
		char head[64];
		const char *from, *to;

		snprintf(head, sizeof(head), "Interface #%u info:", i);
		from = strstr(out, head);
		if (!CHECK_MSG(from != NULL, "capinfos printed no \"%s\"", head))
			continue;
		snprintf(head, sizeof(head), "Interface #%u info:", i + 1);
		to = strstr(from, head);
		if (!to)
			to = end;
		check_ctx("capinfos %s, interface %u", f->path, i);
		if (it->name)
			check_value(from, to, "Name =", it->name);
		if (it->desc)
			check_value(from, to, "Description =", it->desc);
		check_value(from, to, "Encapsulation =",
			    it->linktype == LT_RAW ? "Raw IP (7 - rawip)" : "Ethernet (1 - ether)");
		snprintf(want, sizeof(want), "%u", it->snaplen);
		check_value(from, to, "Capture length =", want);
		check_value(from, to, "Time precision =", "nanoseconds (9)");
		check_value(from, to, "Number of stat entries =", "1");
		snprintf(want, sizeof(want), "%" PRIu64, it->packets);
		check_value(from, to, "Number of packets =", want);
	}
	check_ctx("%s", "");
	free(out);
}

static void check_file(const struct xfile *f, bool libpcap)
{
	check_blocks(f);
	if (libpcap)
		check_libpcap(f);
	if (have_wireshark()) {
		check_tshark_packets(f);
		check_tshark_blocks(f);
		check_capinfos(f);
	}
}

/*
 * Ethernet only, two interfaces (one with a MAC address and a description): timestamps at 0,
 * around 2^32 ns (both halves of the EPB timestamp), now, and in 2262; caplen below origlen;
 * every epb_flags direction with and without the TSO bit; drop counts; lengths 0 to 9001 with
 * every padding; VLAN tags put back at offset 12; then enough packets to pass the writer's 1 MiB
 * buffer several times.
 */
static void test_ethernet(void)
{
	const uint32_t in = PCAPNG_EPB_INBOUND, outb = PCAPNG_EPB_OUTBOUND, tso = PCAPNG_EPB_TSO;
	static const uint32_t flag_set[] = { 0, PCAPNG_EPB_INBOUND, PCAPNG_EPB_OUTBOUND,
					     PCAPNG_EPB_INBOUND | PCAPNG_EPB_TSO,
					     PCAPNG_EPB_OUTBOUND | PCAPNG_EPB_TSO };
	uint64_t ts = 1700000003ull * NS;
	struct xfile f;
	bool ok = true;

	rnd_seed(0xE7E7);
	xfile_init(&f, "ethernet.pcapng");
	f.encap = "ether";
	add_iface(&f, LT_ETHERNET, 262144, "eth0", "eth0 on unit-host", mac0);
	add_iface(&f, LT_ETHERNET, 262144, "lo", NULL, NULL);
	f.ifs[0].filter = "tcp port 443";
	ok &= add_pkt(&f, 0, 1700000000123456789ull, 60, 60, in, 0, false);
	ok &= add_pkt(&f, 1, 1700000000123456790ull, 61, 61, outb, 0, false);
	ok &= add_pkt(&f, 0, 1700000001000000000ull, 62, 1514, in, 5, false);
	ok &= add_pkt(&f, 1, 1700000001999999999ull, 63, 64000, outb | tso, 0, false);
	ok &= add_pkt(&f, 0, 0xFFFFFFFFull, 14, 14, 0, 0, false);
	ok &= add_pkt(&f, 0, 0x100000000ull, 15, 15, in, 1, false);
	ok &= add_pkt(&f, 1, 0x100000001ull, 0, 40, outb, 0, false);
	ok &= add_pkt(&f, 0, 0, 1, 1, 0, 0, false);
	ok &= add_pkt(&f, 0, 1700000002000000001ull, 60, 60, in, 2, true);
	ok &= add_pkt(&f, 0, 1700000002000000002ull, 47, 1500, outb, 0, true);
	ok &= add_pkt(&f, 0, 1700000002000000003ull, 12, 12, in, 0, true);
	ok &= add_pkt(&f, 1, 1700000002500000000ull, 9001, 9001, tso, 0, false);
	ok &= add_pkt(&f, 1, 0x7FFFFFFFFFFFFFFFull, 2, 2, outb, UINT32_MAX + 7ull, false);
	for (int i = 0; ok && i < 300; i++) {
		uint32_t len = (uint32_t)rnd_range(0, 9000);
		bool vlan = len >= 12 && rnd() % 10 == 0;

		ts += rnd_range(1, 2 * NS);
		ok = add_pkt(&f, (uint32_t)(rnd() & 1), ts, len, len + (uint32_t)rnd_range(0, 2000),
			     flag_set[rnd() % 5], rnd() % 5 ? 0 : rnd_range(1, 100000), vlan);
	}
	if (ok && write_xfile(&f))
		check_file(&f, true);
	xfile_free(&f);
}

/* Raw IP (link type 101), one interface without a MAC address. */
static void test_raw_ip(void)
{
	struct xfile f;
	bool ok = true;

	rnd_seed(0x1F1F);
	xfile_init(&f, "rawip.pcapng");
	f.encap = "rawip";
	add_iface(&f, LT_RAW, 65535, "tun0", "tun0 on unit-host", NULL);
	f.ifs[0].filter = "udp or (tcp[tcpflags] & tcp-syn != 0)";
	ok &= add_pkt(&f, 0, 0xFFFFFFFEull, 20, 20, PCAPNG_EPB_INBOUND, 0, false);
	ok &= add_pkt(&f, 0, 0xFFFFFFFFull, 40, 1400, PCAPNG_EPB_OUTBOUND, 3, false);
	ok &= add_pkt(&f, 0, 0x100000000ull, 41, 41, PCAPNG_EPB_OUTBOUND | PCAPNG_EPB_TSO, 0,
		      false);
	ok &= add_pkt(&f, 0, 0x1FFFFFFFFull, 42, 42, 0, 0, false);
	ok &= add_pkt(&f, 0, 0x200000000ull, 43, 65535, PCAPNG_EPB_INBOUND, 0, false);
	ok &= add_pkt(&f, 0, 1700000000999999999ull, 1500, 1500, PCAPNG_EPB_INBOUND, 1, false);
	if (ok && write_xfile(&f))
		check_file(&f, true);
	xfile_free(&f);
}

/*
 * Ethernet and raw IP in one file, with different snapshot lengths: what tlsasm writes for a
 * recording of eth0 and tun0. libpcap 1.10 cannot read it (see the top of this file); Wireshark
 * can, and must see each packet on its own interface with its own encapsulation.
 */
static void test_mixed_link_types(void)
{
	struct xfile f;
	bool ok = true;
	uint64_t ts = 1700000000ull * NS;

	rnd_seed(0x3131);
	xfile_init(&f, "mixed.pcapng");
	f.encap = "per-packet";
	add_iface(&f, LT_ETHERNET, 262144, "eth0", "eth0 on unit-host", mac0);
	add_iface(&f, LT_RAW, 1500, "tun0", NULL, NULL);
	for (int i = 0; ok && i < 40; i++) {
		uint32_t if_id = (uint32_t)(rnd() % 3 == 0);
		uint32_t len = (uint32_t)rnd_range(if_id ? 20 : 14, 1500);

		ts += rnd_range(1, NS);
		ok = add_pkt(&f, if_id, ts, len, len + (uint32_t)rnd_range(0, 100),
			     i % 2 ? PCAPNG_EPB_INBOUND : PCAPNG_EPB_OUTBOUND, rnd() % 4 ? 0 : 9,
			     !if_id && rnd() % 4 == 0);
	}
	if (ok && write_xfile(&f))
		check_file(&f, false);
	xfile_free(&f);
}

/* Write 64 KiB packets until the writer fails; what it returns then, and at close. */
static void check_failing_fd(int fd, int want, const char *what)
{
	uint8_t *data = calloc(1, 65536);
	struct pcapng *w = pcapng_open(fd);
	int ret = 0, i;

	check_ctx("%s", what);
	if (!CHECK(data != NULL) || !CHECK(w != NULL)) {
		free(data);
		pcapng_close(w);
		return;
	}
	CHECK_EQ_INT(pcapng_shb(w, &(struct pcapng_shb){ 0 }), 0);
	CHECK_EQ_INT(pcapng_idb(w, &(struct pcapng_idb){ .linktype = 1, .snaplen = 65536 }), 0);
	for (i = 0; i < 100 && !ret; i++)
		ret = pcapng_epb(w, &(struct pcapng_epb){ .caplen = 65536,
							  .origlen = 65536,
							  .data = data,
							  .ts_ns = (uint64_t)i });
	CHECK_EQ_INT(ret, want);
	CHECK_MSG(i > 1 && i < 100, "failed at packet %d: want a failure when 1 MiB is written", i);
	/* The writer stays failed, whatever is asked of it. */
	CHECK_EQ_INT(pcapng_epb(w, &(struct pcapng_epb){ .caplen = 1, .origlen = 1, .data = data }),
		     want);
	CHECK_EQ_INT(pcapng_isb(w, &(struct pcapng_isb){ 0 }), want);
	CHECK_EQ_INT(pcapng_idb(w, &(struct pcapng_idb){ .linktype = 1 }), want);
	CHECK_EQ_INT(pcapng_shb(w, &(struct pcapng_shb){ 0 }), want);
	CHECK_EQ_INT(pcapng_close(w), want);
	free(data);
	check_ctx("%s", "");
}

static void test_write_errors(void)
{
	uint8_t byte = 0x42;
	struct pcapng *w;
	char path[PATH_MAX];
	int fds[2], fd;

	/* A pipe whose reader has gone: EPIPE (SIGPIPE ignored, as a writer to a pipe must). */
	signal(SIGPIPE, SIG_IGN);
	if (CHECK_EQ_INT(pipe(fds), 0)) {
		close(fds[0]);
		check_failing_fd(fds[1], -EPIPE, "pipe without a reader");
		close(fds[1]);
	}

	/* A full disk: ENOSPC, at the first flush, or at close for a small file. */
	fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
	if (CHECK_MSG(fd >= 0, "/dev/full: %s", strerror(errno))) {
		check_failing_fd(fd, -ENOSPC, "/dev/full");
		w = pcapng_open(fd);
		if (CHECK(w != NULL)) {
			check_ctx("/dev/full, small file");
			CHECK_EQ_INT(pcapng_shb(w, &(struct pcapng_shb){ .os = "x" }), 0);
			CHECK_EQ_INT(pcapng_epb(w, &(struct pcapng_epb){ .caplen = 1,
									 .origlen = 1,
									 .data = &byte }),
				     0);
			CHECK_EQ_INT(pcapng_close(w), -ENOSPC);
		}
		close(fd);
	}

	/* Not a descriptor at all. */
	w = pcapng_open(-1);
	if (CHECK(w != NULL)) {
		check_ctx("fd -1");
		CHECK_EQ_INT(pcapng_shb(w, &(struct pcapng_shb){ 0 }), 0);
		CHECK_EQ_INT(pcapng_close(w), -EBADF);
	}

	/* A block larger than the writer's buffer: refused, and the writer stays failed. */
	tpath(path, "toolarge.pcapng");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (CHECK(fd >= 0)) {
		uint8_t *big = calloc(1, 2u << 20);

		w = pcapng_open(fd);
		if (CHECK(big != NULL) && CHECK(w != NULL)) {
			check_ctx("a 2 MiB packet");
			CHECK_EQ_INT(pcapng_shb(w, &(struct pcapng_shb){ 0 }), 0);
			CHECK_EQ_INT(pcapng_epb(w, &(struct pcapng_epb){ .caplen = 2u << 20,
									 .origlen = 2u << 20,
									 .data = big }),
				     -EMSGSIZE);
			CHECK_EQ_INT(pcapng_epb(w, &(struct pcapng_epb){ .caplen = 1,
									 .origlen = 1,
									 .data = &byte }),
				     -EMSGSIZE);
		}
		CHECK_EQ_INT(pcapng_close(w), -EMSGSIZE);
		free(big);
		close(fd);
	}
	check_ctx("%s", "");
}

int main(void)
{
	if (!tmpdir_make("tlsasm-pcapng"))
		return EXIT_FAILURE;
	CHECK_RUN(test_ethernet);
	CHECK_RUN(test_raw_ip);
	CHECK_RUN(test_mixed_link_types);
	CHECK_RUN(test_write_errors);
	tmpdir_remove();
	return check_exit();
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * jrecords JOURNAL...: one text line per HEADER, SOCKET, PROCESS, PACKET, SECRET, LOSS, END and
 * IFGONE record, for tests to grep.
 *
 *   HEADER format=1.6 no_secrets=cannot_load_their_programs:_... no_owners=...
 *   SOCKET how=CONNECT pid=1 tid=1 uid=0 gid=0 comm=curl cgroup=1 netns=4026531840 cookie=7
 *          proto=tcp family=4 local=10.0.0.1:5000 remote=10.0.0.2:80
 *   PROCESS how=EXEC pid=1 ppid=0 uid=0 gid=0 start=1000 comm=curl exit=0 exe=/usr/bin/curl
 *           cmdline=curl,-s,URL
 *   PACKET cookie=7 ifindex=1 dir=out proto=tcp src=10.0.0.1:5000 dst=10.0.0.2:80 flags=0x02
 *   SECRET pid=1 tid=1 version=0x0304 cipher=0x1301
 *   LOSS what=1 where=3 ifindex=1 dir=out count=12
 *   END packets=100 lost=12
 *   IFGONE ifindex=3 name=eth1
 *
 * (each on one line). Spaces in comm, exe and cmdline print as '_', arguments are joined by ','.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"

static const char *const sock_how[] = { "?", "CREATE", "CONNECT", "ACCEPT", "BIND", "SEED" };
static const char *const proc_how[] = { "?", "EXEC", "SEEN", "SEED", "EXIT" };

static __u16 linktypes[65536]; /* by ifindex, from IFACE records (kept small: tests) */

static void text(const char *p, size_t n, char sep)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (!c && i + 1 == n)
			break;
		putchar(!c ? sep : c <= ' ' || c >= 0x7f ? '_' : c);
	}
}

static void addr(int family, const __u8 *a, unsigned port)
{
	char s[INET6_ADDRSTRLEN];

	inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, a, s, sizeof(s));
	printf(family == AF_INET6 ? "[%s]:%u" : "%s:%u", s, port);
}

static const char *proto(unsigned p)
{
	return p == IPPROTO_TCP ? "tcp" : p == IPPROTO_UDP ? "udp" : "other";
}

static void socket_line(const uint8_t *rec, const struct tr_rec *h)
{
	struct tr_socket s;

	if (rec_fixed(rec, h, &s, sizeof(s)))
		return;
	printf("SOCKET how=%s pid=%u tid=%u uid=%u gid=%u comm=", s.how < 6 ? sock_how[s.how] : "?",
	       s.pid, s.tid, s.uid, s.gid);
	text(s.comm, strnlen(s.comm, sizeof(s.comm)), '_');
	printf(" cgroup=%llu netns=%llu cookie=%llu proto=%s family=%d local=",
	       (unsigned long long)s.cgroup, (unsigned long long)s.netns,
	       (unsigned long long)s.cookie, proto(s.protocol), s.family == AF_INET6 ? 6 : 4);
	addr(s.family, s.local, s.local_port);
	printf(" remote=");
	addr(s.family, s.remote, s.remote_port);
	putchar('\n');
}

/* The strings after the fixed part (fixed bytes) of rec, each named by name(tag) (NULL: left
 * out), with NULs as sep; then the end of the line. */
static void strings_line(const uint8_t *rec, const struct tr_rec *h, size_t fixed,
			 const char *(*name)(uint16_t tag), char sep)
{
	struct tlv_iter it = { .p = rec + fixed, .end = rec + h->len };
	const char *v, *n;
	uint16_t tag, len;

	while (tlv_next(&it, &tag, &v, &len) == 1) {
		if (!(n = name(tag)))
			continue;
		printf(" %s=", n);
		text(v, len, sep);
	}
	putchar('\n');
}

static const char *process_tag(uint16_t tag)
{
	return tag == TR_PROC_EXE ? "exe" : tag == TR_PROC_CMDLINE ? "cmdline" : "tag";
}

static void process_line(const uint8_t *rec, const struct tr_rec *h)
{
	struct tr_process p;

	if (rec_fixed(rec, h, &p, sizeof(p)))
		return;
	printf("PROCESS how=%s pid=%u ppid=%u uid=%u gid=%u start=%llu comm=",
	       p.how < 5 ? proc_how[p.how] : "?", p.pid, p.ppid, p.uid, p.gid,
	       (unsigned long long)p.start_ns);
	text(p.comm, strnlen(p.comm, sizeof(p.comm)), '_');
	printf(" exit=%d", p.exit_code);
	strings_line(rec, h, sizeof(p), process_tag, ',');
}

static void packet_line(const uint8_t *rec, const struct tr_rec *h)
{
	struct tr_packet p;
	const __u8 *d = rec + sizeof(p), *l4;
	size_t off, n;
	int family, pr;

	if (rec_fixed(rec, h, &p, sizeof(p)))
		return;
	off = linktypes[p.ifindex & 0xffff] == 1 ? 14 : 0; /* Ethernet, or raw IP */
	if (p.cap_len < off + 20)
		return;
	d += off;
	n = p.cap_len - off;
	if (d[0] >> 4 == 4) {
		family = AF_INET;
		pr = d[9];
		l4 = d + (d[0] & 15) * 4;
	} else if (d[0] >> 4 == 6 && n >= 40) {
		family = AF_INET6;
		pr = d[6];
		l4 = d + 40;
	} else {
		return;
	}
	if ((size_t)(l4 - d) + 14 > n)
		return;
	printf("PACKET cookie=%llu ifindex=%u dir=%s proto=%s src=", (unsigned long long)p.sock_cookie,
	       p.ifindex, p.dir == TR_DIR_INGRESS ? "in" : "out", proto((unsigned)pr));
	addr(family, family == AF_INET ? d + 12 : d + 8, (unsigned)(l4[0] << 8 | l4[1]));
	printf(" dst=");
	addr(family, family == AF_INET ? d + 16 : d + 24, (unsigned)(l4[2] << 8 | l4[3]));
	printf(" flags=0x%02x\n", pr == IPPROTO_TCP ? l4[13] : 0);
}

static void secret_line(const uint8_t *rec, const struct tr_rec *h)
{
	struct tr_secret s;

	if (rec_fixed(rec, h, &s, sizeof(s)))
		return;
	printf("SECRET pid=%u tid=%u version=0x%04x cipher=0x%04x\n", s.pid, s.tid, s.version,
	       s.cipher & 0xffff);
}

static void keylog_line(const uint8_t *rec, const struct tr_rec *h)
{
	struct tr_keylog k;

	if (rec_fixed(rec, h, &k, sizeof(k)) || k.label_len > TR_KEYLOG_LABEL ||
	    k.secret_len > TR_SECRET_LEN)
		return;
	printf("KEYLOG pid=%u tid=%u lib=%u %.*s ", k.pid, k.tid, k.lib, k.label_len, k.label);
	for (int i = 0; i < 32; i++)
		printf("%02x", k.client_random[i]);
	printf(" ");
	for (int i = 0; i < k.secret_len; i++)
		printf("%02x", k.secret[i]);
	printf("\n");
}

static void loss_line(const uint8_t *rec, const struct tr_rec *h)
{
	struct tr_loss l;

	if (rec_fixed(rec, h, &l, sizeof(l)))
		return;
	printf("LOSS what=%u where=%u ifindex=%u dir=%s count=%llu\n", l.what, l.where, l.ifindex,
	       l.dir == TR_DIR_INGRESS ? "in" : l.dir == TR_DIR_EGRESS ? "out" : "none",
	       (unsigned long long)l.count);
}

static void end_line(const uint8_t *rec, const struct tr_rec *h)
{
	struct tr_end e;

	if (!rec_fixed(rec, h, &e, sizeof(e)))
		printf("END packets=%llu lost=%llu\n", (unsigned long long)e.packets,
		       (unsigned long long)e.lost);
}

static void ifgone_line(const uint8_t *rec, const struct tr_rec *h)
{
	struct tr_ifgone g;

	if (rec_fixed(rec, h, &g, sizeof(g)))
		return;
	printf("IFGONE ifindex=%u name=", g.ifindex);
	text(g.name, strnlen(g.name, sizeof(g.name)), '_');
	putchar('\n');
}

static const char *header_tag(uint16_t tag)
{
	return tag == TR_TAG_NO_SECRETS ? "no_secrets" : tag == TR_TAG_NO_OWNERS ? "no_owners" : NULL;
}

/* The format, and what the recording lacks (tags 7 and 8, when present). */
static void header_line(const uint8_t *rec, const struct tr_rec *h)
{
	struct tr_header hd;

	if (rec_fixed(rec, h, &hd, sizeof(hd)))
		return;
	printf("HEADER format=%u.%u", hd.major, hd.minor);
	strings_line(rec, h, sizeof(hd), header_tag, '_');
}

static int dump(const char *path)
{
	struct journal_reader *r;
	struct jr_chunk c;
	const char *why;
	int ret = jr_open(path, NULL, NULL, &r, &why);

	if (ret) {
		fprintf(stderr, "jrecords: %s: %s\n", path, ret == -ENOEXEC ? why : strerror(-ret));
		return 1;
	}
	while ((ret = jr_next(r, &c)) == 1) {
		uint8_t *buf = malloc(c.meta.raw_len ? c.meta.raw_len : 1);
		struct rec_iter it;
		struct tr_rec h;
		const uint8_t *rec;

		if (!buf || jr_load(r, &c, buf)) {
			free(buf);
			continue;
		}
		it = (struct rec_iter){ .p = buf, .end = buf + c.meta.raw_len };
		while (rec_next(&it, &h, &rec) == 1) {
			struct tr_iface ifc;

			if (h.type == TR_REC_HEADER)
				header_line(rec, &h);
			else if (h.type == TR_REC_IFACE && !rec_fixed(rec, &h, &ifc, sizeof(ifc)))
				linktypes[ifc.ifindex & 0xffff] = ifc.linktype;
			else if (h.type == TR_REC_SOCKET)
				socket_line(rec, &h);
			else if (h.type == TR_REC_PROCESS)
				process_line(rec, &h);
			else if (h.type == TR_REC_PACKET)
				packet_line(rec, &h);
			else if (h.type == TR_REC_SECRET)
				secret_line(rec, &h);
			else if (h.type == TR_REC_KEYLOG)
				keylog_line(rec, &h);
			else if (h.type == TR_REC_LOSS)
				loss_line(rec, &h);
			else if (h.type == TR_REC_END)
				end_line(rec, &h);
			else if (h.type == TR_REC_IFGONE)
				ifgone_line(rec, &h);
		}
		free(buf);
	}
	jr_close(r);
	return ret < 0;
}

int main(int argc, char **argv)
{
	int status = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: jrecords JOURNAL...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++)
		status |= dump(argv[i]);
	return status;
}

// SPDX-License-Identifier: BSD-2-Clause
/* Block layouts: draft-ietf-opsawg-pcapng, section 4 (blocks) and 3.5 (options). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcapng.h"

#define BUF_SIZE (1u << 20)

#define BT_SHB 0x0A0D0D0Au
#define BT_IDB 0x00000001u
#define BT_ISB 0x00000005u
#define BT_EPB 0x00000006u
#define BT_DSB 0x0000000Au

#define DSB_TLS_KEYLOG 0x544c534bu /* "TLSK" */

#define OPT_ENDOFOPT 0
#define OPT_COMMENT 1
#define SHB_HARDWARE 2
#define SHB_OS 3
#define SHB_USERAPPL 4
#define IF_NAME 2
#define IF_DESCRIPTION 3
#define IF_MACADDR 6
#define IF_TSRESOL 9
#define IF_FILTER 11
#define IF_FILTER_LIBPCAP 0 /* if_filter's first byte: a libpcap filter string follows */
#define EPB_FLAGS 2
#define EPB_DROPCOUNT 4
#define EPB_PROCESSID_THREADID 8
#define ISB_STARTTIME 2
#define ISB_ENDTIME 3
#define ISB_IFDROP 5
#define ISB_USRDELIV 8

struct pcapng {
	int fd;
	int error;
	uint8_t *buf;
	size_t len;
	uint64_t bytes;
};

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static int flush(struct pcapng *w)
{
	size_t done = 0;

	while (!w->error && done < w->len) {
		ssize_t n = write(w->fd, w->buf + done, w->len - done);

		if (n < 0 && errno != EINTR)
			w->error = -errno;
		else if (n == 0)
			w->error = -EIO;
		else if (n > 0)
			done += (size_t)n;
	}
	w->len = 0;
	return w->error;
}

/* Room for a block of len bytes at the end of the buffer, or NULL on error. */
static uint8_t *reserve(struct pcapng *w, size_t len)
{
	uint8_t *p;

	if (w->error)
		return NULL;
	if (len > BUF_SIZE - w->len && flush(w))
		return NULL;
	if (len > BUF_SIZE) {
		w->error = -EMSGSIZE;
		return NULL;
	}
	p = w->buf + w->len;
	w->len += len;
	w->bytes += len;
	return p;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
	return p + 4;
}

static uint8_t *put_bytes(uint8_t *p, const void *data, size_t len)
{
	if (len) /* opt_endofopt has no value: data is NULL */
		memcpy(p, data, len);
	memset(p + len, 0, pad4(len) - len);
	return p + pad4(len);
}

static uint8_t *put_opt(uint8_t *p, uint16_t code, const void *val, uint16_t len)
{
	memcpy(p, &code, 2);
	memcpy(p + 2, &len, 2);
	return put_bytes(p + 4, val, len);
}

static size_t opt_size(size_t len)
{
	return 4 + pad4(len);
}

static size_t str_opt_size(const char *s)
{
	return s ? opt_size(strlen(s) > 65535 ? 65535 : strlen(s)) : 0;
}

static uint8_t *put_str_opt(uint8_t *p, uint16_t code, const char *s)
{
	if (!s)
		return p;
	return put_opt(p, code, s, (uint16_t)(strlen(s) > 65535 ? 65535 : strlen(s)));
}

static uint8_t *put_u64_opt(uint8_t *p, uint16_t code, uint64_t v)
{
	return put_opt(p, code, &v, 8);
}

static uint8_t *put_ts_opt(uint8_t *p, uint16_t code, uint64_t ts)
{
	uint32_t v[2] = { (uint32_t)(ts >> 32), (uint32_t)ts };

	return put_opt(p, code, v, 8);
}

static uint8_t *end_block(uint8_t *p, uint32_t total, bool opts)
{
	if (opts)
		p = put_opt(p, OPT_ENDOFOPT, NULL, 0);
	return put32(p, total);
}

struct pcapng *pcapng_open(int fd)
{
	struct pcapng *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->buf = malloc(BUF_SIZE);
	if (!w->buf) {
		free(w);
		return NULL;
	}
	w->fd = fd;
	return w;
}

int pcapng_shb(struct pcapng *w, const struct pcapng_shb *s)
{
	size_t opts = str_opt_size(s->comment) + str_opt_size(s->hardware) + str_opt_size(s->os) +
		      str_opt_size(s->userappl);
	uint32_t total = (uint32_t)(28 + opts + (opts ? 4 : 0));
	uint8_t *p = reserve(w, total);
	uint16_t ver[2] = { 1, 0 };
	uint64_t section_len = UINT64_MAX; /* unknown */

	if (!p)
		return w->error;
	p = put32(p, BT_SHB);
	p = put32(p, total);
	p = put32(p, 0x1A2B3C4D);
	memcpy(p, ver, 4);
	memcpy(p + 4, &section_len, 8);
	p += 12;
	p = put_str_opt(p, OPT_COMMENT, s->comment);
	p = put_str_opt(p, SHB_HARDWARE, s->hardware);
	p = put_str_opt(p, SHB_OS, s->os);
	p = put_str_opt(p, SHB_USERAPPL, s->userappl);
	end_block(p, total, opts);
	return 0;
}

/* if_filter (section 4.2): the kind of filter in one byte, then the filter; value length. */
static uint16_t filter_len(const char *f)
{
	return (uint16_t)(strlen(f) > 65534 ? 65535 : strlen(f) + 1);
}

int pcapng_idb(struct pcapng *w, const struct pcapng_idb *i)
{
	size_t opts = str_opt_size(i->name) + str_opt_size(i->description) +
		      (i->mac ? opt_size(6) : 0) + opt_size(1) +
		      (i->filter ? opt_size(filter_len(i->filter)) : 0);
	uint32_t total = (uint32_t)(20 + opts + 4);
	uint8_t *p = reserve(w, total);
	uint8_t tsresol = 9;

	if (!p)
		return w->error;
	p = put32(p, BT_IDB);
	p = put32(p, total);
	p = put32(p, i->linktype); /* link type (16 bits) and reserved (16 bits) */
	p = put32(p, i->snaplen);
	p = put_str_opt(p, IF_NAME, i->name);
	p = put_str_opt(p, IF_DESCRIPTION, i->description);
	if (i->mac)
		p = put_opt(p, IF_MACADDR, i->mac, 6);
	p = put_opt(p, IF_TSRESOL, &tsresol, 1);
	if (i->filter) {
		uint16_t len = filter_len(i->filter);

		memcpy(p, &(uint16_t){ IF_FILTER }, 2);
		memcpy(p + 2, &len, 2);
		p[4] = IF_FILTER_LIBPCAP;
		memcpy(p + 5, i->filter, len - 1u);
		memset(p + 4 + len, 0, pad4(len) - len);
		p += 4 + pad4(len);
	}
	end_block(p, total, true);
	return 0;
}

int pcapng_epb(struct pcapng *w, const struct pcapng_epb *e)
{
	uint32_t ids[2] = { e->pid, e->tid };
	size_t opts = str_opt_size(e->comment) + (e->flags ? opt_size(4) : 0) +
		      (e->dropcount ? opt_size(8) : 0) + (e->pid ? opt_size(8) : 0);
	uint32_t total = (uint32_t)(32 + pad4(e->caplen) + opts + (opts ? 4 : 0));
	uint8_t *p, *data;

	if (e->prefix_len && e->caplen < e->prefix_at + e->prefix_len && !w->error)
		w->error = -EINVAL;
	p = reserve(w, total);
	if (!p)
		return w->error;
	p = put32(p, BT_EPB);
	p = put32(p, total);
	p = put32(p, e->if_id);
	p = put32(p, (uint32_t)(e->ts_ns >> 32));
	p = put32(p, (uint32_t)e->ts_ns);
	p = put32(p, e->caplen);
	p = put32(p, e->origlen);
	data = p;
	if (e->prefix_len) {
		memcpy(data, e->data, e->prefix_at);
		memcpy(data + e->prefix_at, e->prefix, e->prefix_len);
		memcpy(data + e->prefix_at + e->prefix_len, e->data + e->prefix_at,
		       e->caplen - e->prefix_len - e->prefix_at);
	} else {
		memcpy(data, e->data, e->caplen);
	}
	memset(data + e->caplen, 0, pad4(e->caplen) - e->caplen);
	p = data + pad4(e->caplen);
	p = put_str_opt(p, OPT_COMMENT, e->comment);
	if (e->flags)
		p = put_opt(p, EPB_FLAGS, &e->flags, 4);
	if (e->dropcount)
		p = put_u64_opt(p, EPB_DROPCOUNT, e->dropcount);
	if (e->pid)
		p = put_opt(p, EPB_PROCESSID_THREADID, ids, 8);
	end_block(p, total, opts);
	return 0;
}

int pcapng_isb(struct pcapng *w, const struct pcapng_isb *s)
{
	size_t opts = str_opt_size(s->comment) + 2 * opt_size(8) + 2 * opt_size(8);
	uint32_t total = (uint32_t)(24 + opts + 4);
	uint8_t *p = reserve(w, total);

	if (!p)
		return w->error;
	p = put32(p, BT_ISB);
	p = put32(p, total);
	p = put32(p, s->if_id);
	p = put32(p, (uint32_t)(s->ts_ns >> 32));
	p = put32(p, (uint32_t)s->ts_ns);
	p = put_str_opt(p, OPT_COMMENT, s->comment);
	p = put_ts_opt(p, ISB_STARTTIME, s->starttime);
	p = put_ts_opt(p, ISB_ENDTIME, s->endtime);
	p = put_u64_opt(p, ISB_IFDROP, s->ifdrop);
	p = put_u64_opt(p, ISB_USRDELIV, s->usrdeliv);
	end_block(p, total, true);
	return 0;
}

int pcapng_dsb_tls(struct pcapng *w, const char *lines, size_t len)
{
	uint32_t total;
	uint8_t *p;

	if (len > PCAPNG_DSB_MAX && !w->error)
		w->error = -EMSGSIZE;
	total = (uint32_t)(20 + pad4(len));
	p = reserve(w, total);
	if (!p)
		return w->error;
	p = put32(p, BT_DSB);
	p = put32(p, total);
	p = put32(p, DSB_TLS_KEYLOG);
	p = put32(p, (uint32_t)len);
	p = put_bytes(p, lines, len);
	end_block(p, total, false);
	return 0;
}

uint64_t pcapng_bytes(const struct pcapng *w)
{
	return w->bytes;
}

int pcapng_close(struct pcapng *w)
{
	int ret;

	if (!w)
		return 0;
	ret = flush(w);
	free(w->buf);
	free(w);
	return ret;
}

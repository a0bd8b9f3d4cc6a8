/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A pcapng writer (draft-ietf-opsawg-pcapng): SHB, IDB, EPB, ISB and DSB with the options tlsasm
 * uses. Output is buffered and written with write(2) in large pieces.
 */
#ifndef TLSASM_PCAPNG_H
#define TLSASM_PCAPNG_H

#include <stddef.h>
#include <stdint.h>

#define PCAPNG_EPB_INBOUND 0x1u
#define PCAPNG_EPB_OUTBOUND 0x2u
#define PCAPNG_EPB_TSO (1u << 11) /* a segmentation-offload super-packet */

/* Largest secrets a DSB takes here: larger ones are split by the caller. */
#define PCAPNG_DSB_MAX (256u << 10)

struct pcapng;

struct pcapng_shb {
	const char *hardware; /* shb_hardware, or NULL */
	const char *os;       /* shb_os, or NULL */
	const char *userappl; /* shb_userappl, or NULL */
	const char *comment;  /* opt_comment, or NULL */
};

struct pcapng_idb {
	uint16_t linktype;
	uint32_t snaplen;
	const char *name;        /* if_name, or NULL */
	const char *description; /* if_description, or NULL */
	const uint8_t *mac;      /* if_MACaddr (6 bytes), or NULL */
	const char *filter;      /* if_filter, a libpcap filter string, or NULL */
	/* if_tsresol is always 9: timestamps are in nanoseconds */
};

struct pcapng_epb {
	uint32_t if_id;
	uint64_t ts_ns;
	uint32_t caplen;
	uint32_t origlen;
	const uint8_t *data;
	const uint8_t *prefix; /* optional bytes inserted after the first prefix_at bytes of data */
	uint32_t prefix_len;   /* (a VLAN tag put back, as libpcap does); counted in caplen */
	uint32_t prefix_at;
	uint32_t flags;      /* epb_flags; 0 omits the option */
	uint64_t dropcount;  /* epb_dropcount; 0 omits the option */
	const char *comment; /* opt_comment, or NULL */
	uint32_t pid;        /* epb_processid_threadid with tid; a pid of 0 omits the option */
	uint32_t tid;
};

struct pcapng_isb {
	uint32_t if_id;
	uint64_t ts_ns;
	uint64_t starttime; /* isb_starttime, ns */
	uint64_t endtime;   /* isb_endtime, ns */
	uint64_t ifdrop;    /* isb_ifdrop */
	uint64_t usrdeliv;  /* isb_usrdeliv */
	const char *comment; /* opt_comment, or NULL */
};

/* Write to fd (not closed by pcapng_close). Returns NULL with errno set on failure. */
struct pcapng *pcapng_open(int fd);

/* Each returns 0 or -errno; after an error the writer stays failed and returns it again. */
int pcapng_shb(struct pcapng *w, const struct pcapng_shb *s);
int pcapng_idb(struct pcapng *w, const struct pcapng_idb *i);
int pcapng_epb(struct pcapng *w, const struct pcapng_epb *e);
int pcapng_isb(struct pcapng *w, const struct pcapng_isb *s);

/*
 * A Decryption Secrets Block of secrets type TLS key log ("TLSK", draft section 4.7): len bytes of
 * SSLKEYLOGFILE lines, each ending in a newline, at most PCAPNG_DSB_MAX (else -EMSGSIZE). Readers
 * apply it to the packets after it.
 */
int pcapng_dsb_tls(struct pcapng *w, const char *lines, size_t len);

/* Bytes written so far (including what is buffered). */
uint64_t pcapng_bytes(const struct pcapng *w);

/* Flush and free. Returns 0 or the first error. */
int pcapng_close(struct pcapng *w);

#endif /* TLSASM_PCAPNG_H */

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The capture filter expression given after the journals (tcpdump's syntax), applied to each
 * packet as tcpdump -r applies it: compiled by libpcap for each link type and snapshot length the
 * packets come with, run by pcap_offline_filter.
 */
#ifndef TLSASM_PFILTER_H
#define TLSASM_PFILTER_H

#include <stdbool.h>
#include <stdint.h>

struct pfilter;

/*
 * Compile expr for Ethernet and raw IP, the link types tlsrec records. Returns 0, or -EINVAL after
 * printing libpcap's message when libpcap rejects it, or -ENOMEM.
 */
int pfilter_new(const char *expr, struct pfilter **out);

/*
 * Whether the packet (caplen bytes of a frame of link type linktype that was origlen long) passes.
 * A link type the expression cannot be compiled for passes nothing (said once, as a warning).
 */
bool pfilter_match(struct pfilter *f, uint16_t linktype, uint32_t snaplen, const uint8_t *data,
		   uint32_t caplen, uint32_t origlen);

void pfilter_free(struct pfilter *f);

#endif /* TLSASM_PFILTER_H */

/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef TLSREC_SELECT_H
#define TLSREC_SELECT_H

#include "ifaces.h"
#include "options.h"

/* -D: print the interfaces and whether they can be recorded. An exit status. */
int list_interfaces(void);

/* Choose the interfaces to record into *sel (freed by the caller), with their hooks set as -Q and
 * loopback want. Returns -1 to go on, or an exit status (having said why). */
int select_ifaces(const struct opts *o, struct iface *all, size_t n, struct iface **sel,
		  size_t *n_sel);

#endif /* TLSREC_SELECT_H */

// SPDX-License-Identifier: BSD-2-Clause
/* Which interfaces to record: -i, -Q, and what can be recorded at all (-D). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "exitcode.h"
#include "log.h"
#include "select.h"

static const char *describe_flags(const struct iface *it)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "%s%s", it->rec.flags & TR_IFACE_UP ? "Up" : "Down",
		 it->rec.flags & TR_IFACE_LOOPBACK ? ", Loopback" : "");
	return buf;
}

int list_interfaces(void)
{
	struct iface *all;
	size_t n;
	int ret = ifaces_list(&all, &n);

	if (ret) {
		log_err("cannot list interfaces: %s", strerror(-ret));
		return EXIT_FAIL;
	}
	for (size_t i = 0; i < n; i++) {
		const struct iface *it = &all[i];

		if (it->rec.linktype)
			printf("%u.%s [%s] %s\n", it->rec.ifindex, it->rec.name, describe_flags(it),
			       it->rec.linktype == 1 ? "Ethernet" : "raw IP");
		else
			printf("%u.%s [%s] not recordable (ARPHRD %d)\n", it->rec.ifindex,
			       it->rec.name, describe_flags(it), it->arphrd);
	}
	free(all);
	return EXIT_OK;
}

static struct iface *find_iface(struct iface *all, size_t n, const char *name)
{
	uint64_t idx;

	for (size_t i = 0; i < n; i++)
		if (!strcmp(all[i].rec.name, name))
			return &all[i];
	if (parse_u64(name, 1, UINT32_MAX, &idx) == 0)
		for (size_t i = 0; i < n; i++)
			if (all[i].rec.ifindex == idx)
				return &all[i];
	return NULL;
}

static void set_hooks(struct iface *it, const struct opts *o)
{
	it->rec.flags &= (__u16) ~(TR_IFACE_INGRESS | TR_IFACE_EGRESS);
	/* Loopback packets cross egress and then ingress: hook once, where the sending socket is
	 * still attached to the packet. */
	if (it->rec.flags & TR_IFACE_LOOPBACK)
		it->rec.flags |= TR_IFACE_EGRESS;
	else
		it->rec.flags |= (o->want_in ? TR_IFACE_INGRESS : 0) |
				 (o->want_out ? TR_IFACE_EGRESS : 0);
}

int select_ifaces(const struct opts *o, struct iface *all, size_t n, struct iface **sel,
			 size_t *n_sel)
{
	bool any = o->n_ifnames == 0;
	bool *named = calloc(n ? n : 1, sizeof(*named));
	int status = -1;
	size_t k = 0;

	*sel = calloc(n ? n : 1, sizeof(**sel));
	if (!*sel || !named) {
		free(named);
		return EXIT_FAIL;
	}
	for (size_t i = 0; i < o->n_ifnames && status < 0; i++) {
		struct iface *it;

		if (!strcmp(o->ifnames[i], "any")) {
			any = true;
			continue;
		}
		it = find_iface(all, n, o->ifnames[i]);
		if (!it)
			status = usage_error("%s: no such interface", o->ifnames[i]);
		else if (!it->rec.linktype)
			status = usage_error("%s: cannot record this interface: its link type has no pcap equivalent",
					     it->rec.name);
		else
			named[it - all] = true;
	}
	for (size_t i = 0; i < n && status < 0; i++) {
		struct iface *it = &all[i];

		if (!named[i] && !(any && (it->rec.flags & TR_IFACE_UP)))
			continue;
		if (!it->rec.linktype) {
			log_info("not recording %s: its link type (ARPHRD %d) has no pcap equivalent",
				 it->rec.name, it->arphrd);
			continue;
		}
		set_hooks(it, o);
		it->named = named[i];
		(*sel)[k++] = *it;
	}
	free(named);
	if (status < 0 && !k)
		status = usage_error("%s", "no interface to record");
	*n_sel = k;
	return status;
}

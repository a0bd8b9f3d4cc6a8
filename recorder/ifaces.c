// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <net/if_arp.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array.h"
#include "ifaces.h"

#define LINKTYPE_ETHERNET 1
#define LINKTYPE_RAW 101

int linktype_of(int arphrd)
{
	switch (arphrd) {
	case ARPHRD_ETHER:
	case ARPHRD_LOOPBACK: /* Linux gives lo an all-zero Ethernet header */
		return LINKTYPE_ETHERNET;
	case ARPHRD_NONE: /* tun, WireGuard: TC sees the IP header first */
		return LINKTYPE_RAW;
	default:
		return 0;
	}
}

static int cmp_index(const void *a, const void *b)
{
	const struct iface *x = a, *y = b;

	return (x->rec.ifindex > y->rec.ifindex) - (x->rec.ifindex < y->rec.ifindex);
}

/* Everything the IFACE record says of one interface, from ioctls (getifaddrs leaves out the ones
 * without a hardware address: tun, WireGuard). 0 or -errno. */
static int describe(int sock, unsigned ifindex, const char *name, __u64 netns, struct iface *it)
{
	struct ifreq ifr = { 0 };

	memset(it, 0, sizeof(*it));
	it->rec.hdr.type = TR_REC_IFACE;
	it->rec.hdr.len = sizeof(it->rec);
	it->rec.netns_ino = netns;
	it->rec.ifindex = ifindex;
	strncpy(it->rec.name, name, TR_IFNAMSIZ - 1);
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	if (ioctl(sock, SIOCGIFFLAGS, &ifr))
		return -errno;
	if (ifr.ifr_flags & IFF_UP)
		it->rec.flags |= TR_IFACE_UP;
	if (ifr.ifr_flags & IFF_LOOPBACK)
		it->rec.flags |= TR_IFACE_LOOPBACK;
	if (ioctl(sock, SIOCGIFHWADDR, &ifr))
		return -errno;
	it->arphrd = ifr.ifr_hwaddr.sa_family;
	it->rec.linktype = (__u16)linktype_of(it->arphrd);
	if (it->arphrd == ARPHRD_ETHER || it->arphrd == ARPHRD_LOOPBACK) {
		it->rec.hwaddr_len = 6;
		memcpy(it->rec.hwaddr, ifr.ifr_hwaddr.sa_data, 6);
	}
	if (!ioctl(sock, SIOCGIFMTU, &ifr))
		it->rec.mtu = (__u32)ifr.ifr_mtu;
	return 0;
}

int ifaces_list(struct iface **out, size_t *n)
{
	struct if_nameindex *names, *ni;
	struct iface *v = NULL;
	struct stat st;
	size_t cnt = 0, cap = 0;
	__u64 netns = 0;
	int sock, ret = 0;

	names = if_nameindex();
	if (!names)
		return -errno;
	if (!stat("/proc/self/ns/net", &st))
		netns = st.st_ino;
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0) {
		ret = -errno;
		goto out;
	}
	for (ni = names; ni->if_index; ni++) {
		ret = array_reserve(&v, &cap, cnt + 1, sizeof(*v), 16);
		if (ret)
			goto out;
		/* An interface that went away since it was listed is simply not there. */
		if (describe(sock, ni->if_index, ni->if_name, netns, &v[cnt]) == 0)
			cnt++;
	}
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_index);
	*out = v;
	*n = cnt;
	v = NULL;
out:
	free(v);
	if (sock >= 0)
		close(sock);
	if_freenameindex(names);
	return ret;
}

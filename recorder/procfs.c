// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "procfs.h"

ssize_t proc_read(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t n = 0;

	if (fd < 0)
		return -errno;
	while (len < cap - 1 && (n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	if (n < 0)
		n = -errno;
	close(fd);
	buf[len] = '\0';
	return n < 0 ? n : (ssize_t)len;
}

int proc_parse_stat(const char *text, struct proc_stat *st)
{
	const char *open = strchr(text, '('), *p = strrchr(text, ')');
	unsigned long long v;
	size_t n;

	/* comm may hold spaces and parentheses: fields resume after the last ')'. */
	if (!open || !p || p < open || p[1] != ' ' || !p[2])
		return -EINVAL;
	n = (size_t)(p - open - 1);
	if (n > sizeof(st->comm) - 1)
		n = sizeof(st->comm) - 1;
	memcpy(st->comm, open + 1, n);
	st->comm[n] = '\0';
	st->state = p[2];
	/* Each step finds the space before the next field: field 3 (state) first, 22 last. */
	for (int field = 3; field <= 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return -EINVAL;
		if (field == 4 && sscanf(p + 1, "%llu", &v) == 1)
			st->ppid = (__u32)v;
	}
	if (sscanf(p + 1, "%llu", &v) != 1)
		return -EINVAL;
	st->start_ticks = v;
	return 0;
}

int proc_start_time(pid_t pid, __u64 *start, char *state)
{
	char path[64], buf[1024];
	struct proc_stat st;
	ssize_t n;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	n = proc_read(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	ret = proc_parse_stat(buf, &st);
	if (ret)
		return ret;
	*start = st.start_ticks;
	if (state)
		*state = st.state;
	return 0;
}

int proc_parse_ids(const char *text, __u32 *uid, __u32 *gid)
{
	const char *u = strstr(text, "\nUid:"), *g = strstr(text, "\nGid:");

	if (!u || !g || sscanf(u + 5, "%u", uid) != 1 || sscanf(g + 5, "%u", gid) != 1)
		return -EINVAL;
	return 0;
}

/* An address as /proc/net prints it: 32-bit words in hex, each in host order. */
static int parse_addr(const char *hex, int words, __u8 *out)
{
	if (strlen(hex) != (size_t)words * 8)
		return -EINVAL;
	for (int i = 0; i < words; i++) {
		char w[9];
		__u32 v;

		memcpy(w, hex + i * 8, 8);
		w[8] = '\0';
		v = (__u32)strtoul(w, NULL, 16);
		memcpy(out + i * 4, &v, 4);
	}
	return 0;
}

int proc_parse_net(const char *line, int family, int protocol, struct tr_socket *r, __u64 *inode)
{
	char local[33], remote[33];
	unsigned lport, rport;
	unsigned long long ino;
	int words = family == AF_INET6 ? 4 : 1;

	/* sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode */
	if (strstr(line, "local_address"))
		return 0;
	if (sscanf(line, " %*u: %32[0-9A-Fa-f]:%x %32[0-9A-Fa-f]:%x %*x %*x:%*x %*x:%*x %*x %*u %*d %llu",
		   local, &lport, remote, &rport, &ino) != 5 ||
	    lport > 0xffff || rport > 0xffff)
		return -EINVAL;
	memset(r->local, 0, sizeof(r->local));
	memset(r->remote, 0, sizeof(r->remote));
	if (parse_addr(local, words, r->local) || parse_addr(remote, words, r->remote))
		return -EINVAL;
	r->family = (__u16)family;
	r->protocol = (__u8)protocol;
	r->local_port = (__u16)lport;
	r->remote_port = (__u16)rport;
	*inode = ino;
	return 1;
}

int proc_socket_inode(const char *target, __u64 *inode)
{
	unsigned long long v;
	char end;

	if (sscanf(target, "socket:[%llu%c", &v, &end) != 2 || end != ']')
		return -EINVAL;
	*inode = v;
	return 0;
}

int proc_boot_id(__u8 id[16])
{
	char buf[64];
	int n = 0;

	if (proc_read("/proc/sys/kernel/random/boot_id", buf, sizeof(buf)) <= 0)
		return -EIO;
	for (char *p = buf; *p && n < 16; p++) {
		unsigned v;

		if (*p == '-' || *p == '\n')
			continue;
		if (sscanf(p, "%2x", &v) != 1)
			return -EINVAL;
		id[n++] = (__u8)v;
		p++;
	}
	return n == 16 ? 0 : -EINVAL;
}

int cpu_list_parse(const char *text, bool *set, int n)
{
	const char *p = text;
	int count = 0;

	for (int i = 0; i < n; i++)
		set[i] = false;
	while (*p && *p != '\n') {
		char *end;
		unsigned long lo = strtoul(p, &end, 10), hi = lo;

		if (end == p || *p < '0' || *p > '9')
			return -EINVAL;
		p = end;
		if (*p == '-') {
			hi = strtoul(++p, &end, 10);
			if (end == p || *p < '0' || *p > '9' || hi < lo)
				return -EINVAL;
			p = end;
		}
		if (*p == ',')
			p++;
		else if (*p && *p != '\n')
			return -EINVAL;
		for (unsigned long c = lo; c <= hi && c < (unsigned long)n; c++)
			if (!set[c]) {
				set[c] = true;
				count++;
			}
	}
	return count;
}

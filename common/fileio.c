// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"

/* What is at a name, when it is not to be written into: NULL when it is. */
static const char *foreign(const struct stat *st)
{
	if (S_ISLNK(st->st_mode))
		return "a symbolic link";
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		return NULL; /* a device: only root makes those */
	if (!S_ISREG(st->st_mode) && !S_ISFIFO(st->st_mode))
		return "not a regular file";
	if (st->st_uid != geteuid())
		return S_ISFIFO(st->st_mode) ? "a FIFO of another user" : "a file of another user";
	if (S_ISREG(st->st_mode) && st->st_nlink > 1)
		return "a file with other hard links";
	return NULL;
}

/* A new file of mode 0600 in path's directory, renamed over path. The descriptor, or -errno. */
static int replace(const char *path)
{
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path + 1) : 0, fd, n;
	char tmp[PATH_MAX];

	n = snprintf(tmp, sizeof(tmp), "%.*s.%s.XXXXXX", dirlen, path, path + dirlen);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0600) || rename(tmp, path)) {
		int e = errno;

		unlink(tmp);
		close(fd);
		return -e;
	}
	return fd;
}

/* Close fd; -errno of the failure that came before. */
static int close_fail(int fd)
{
	int ret = -errno;

	close(fd);
	return ret;
}

int open_private(const char *path, const char **what)
{
	int flags = O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, fd, e;
	struct stat st;

	*what = NULL;
	for (int tries = 0; tries < 8; tries++) {
		fd = open(path, flags);
		e = errno;
		if (fd < 0 && e == ENOENT) {
			fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
			if (fd < 0 && errno == EEXIST)
				continue; /* made meanwhile: look at it again */
			if (fd < 0)
				return -errno;
			return fchmod(fd, 0600) ? close_fail(fd) : fd; /* 0600 whatever the umask */
		}
		if (fd < 0 && e != ELOOP && e != ENXIO && e != EACCES)
			return -e;
		/* ELOOP: a symbolic link. ENXIO: a FIFO without a reader, or a socket. */
		if (fd < 0 ? lstat(path, &st) : fstat(fd, &st))
			return fd < 0 ? -errno : close_fail(fd);
		*what = foreign(&st);
		if (*what) {
			if (fd >= 0)
				close(fd);
			return replace(path);
		}
		if (fd < 0 && e == ENXIO && S_ISFIFO(st.st_mode) && (flags & O_NONBLOCK)) {
			flags &= ~O_NONBLOCK; /* one's own FIFO: wait for its reader, as tcpdump does */
			continue;
		}
		if (fd < 0)
			return -e;
		/* Truncated only now: O_TRUNC would have cut it before it was looked at. */
		if (S_ISREG(st.st_mode) && (ftruncate(fd, 0) || fchmod(fd, 0600)))
			return close_fail(fd);
		flags = fcntl(fd, F_GETFL);
		if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK))
			return close_fail(fd);
		return fd;
	}
	return -EAGAIN;
}

int sync_parent_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	int fd, ret = 0;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd))
		ret = -errno;
	close(fd);
	return ret;
}

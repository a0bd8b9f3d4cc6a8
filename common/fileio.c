// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
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

/* A symbolic link nobody else made: the caller's or root's (/dev/stdout), with one name (not
 * someone's link hard-linked where the caller writes). */
static bool own_link(const struct stat *st)
{
	return S_ISLNK(st->st_mode) && (st->st_uid == geteuid() || st->st_uid == 0) &&
	       st->st_nlink == 1;
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

/* Make fd, opened O_NONBLOCK on what st describes, ready to write: a regular file truncated (only
 * now: O_TRUNC would have cut it before it was looked at) and set to 0600; blocking. fd, or -errno
 * after closing it. */
static int keep(int fd, const struct stat *st)
{
	int fl;

	if (S_ISREG(st->st_mode) && (ftruncate(fd, 0) || fchmod(fd, 0600)))
		goto fail;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK))
		goto fail;
	return fd;
fail:
	fl = -errno;
	close(fd);
	return fl;
}

/* Through one's own or root's link: a device, FIFO or socket whoever made it (/dev/stdout on a
 * pipe), or a regular file of one's own; never replaced. */
static int follow(const char *path, const char **what)
{
	int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		int e = -errno;

		close(fd);
		return e;
	}
	if (S_ISREG(st.st_mode) && foreign(&st)) {
		close(fd);
		*what = "a symbolic link to a file that is not the user's own";
		return -EPERM;
	}
	return keep(fd, &st);
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
			if (!fchmod(fd, 0600)) /* whatever the umask */
				return fd;
			e = -errno;
			close(fd);
			return e;
		}
		if (fd < 0 && e != ELOOP && e != ENXIO && e != EACCES)
			return -e;
		/* ELOOP: a symbolic link. ENXIO: a FIFO without a reader, or a socket. */
		if (fd < 0 ? lstat(path, &st) : fstat(fd, &st)) {
			e = -errno;
			if (fd >= 0)
				close(fd);
			return e;
		}
		if (fd < 0 && own_link(&st))
			return follow(path, what);
		*what = foreign(&st);
		if (*what) {
			if (fd >= 0)
				close(fd);
			return replace(path);
		}
		if (fd < 0 && e == ENXIO && S_ISFIFO(st.st_mode) && (flags & O_NONBLOCK)) {
			/* One's own FIFO: wait for its reader, as tcpdump does. */
			flags &= ~O_NONBLOCK;
			continue;
		}
		if (fd < 0)
			return -e;
		return keep(fd, &st);
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

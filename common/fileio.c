// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "fileio.h"

#define MAX_HOPS 40 /* symbolic links followed in one path, as the kernel's limit */

/* What is at a name, when it is not to be written into: NULL when it is. */
static const char *foreign(const struct stat *st)
{
	if (S_ISLNK(st->st_mode))
		return "a symbolic link";
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		return st->st_uid == geteuid() || st->st_uid == 0 ? NULL : "a device of another user";
	if (!S_ISREG(st->st_mode) && !S_ISFIFO(st->st_mode))
		return "not a regular file";
	if (st->st_uid != geteuid())
		return S_ISFIFO(st->st_mode) ? "a FIFO of another user" : "a file of another user";
	if (S_ISREG(st->st_mode) && st->st_nlink > 1)
		return "a file with other hard links";
	/* Anyone may have opened it before: what is written now must go to a new file. */
	if (S_ISREG(st->st_mode) && (st->st_mode & 077))
		return "a file others could read";
	return NULL;
}

/* A symbolic link nobody else made: the caller's or root's (/dev/stdout), with one name (not
 * someone's link hard-linked where the caller writes). */
static bool own_link(const struct stat *st)
{
	return S_ISLNK(st->st_mode) && (st->st_uid == geteuid() || st->st_uid == 0) &&
	       st->st_nlink == 1;
}

/*
 * The directory that holds path's last component, open (O_PATH), with that component in name:
 * walked one component at a time, never through a symbolic link that anyone but root or the
 * caller made (a user who owns a directory on the way could swap one in). *hops counts the links
 * followed. A descriptor, or -errno (-ELOOP: another's link on the way, *what set).
 */
static int open_parent(const char *path, char *name, size_t size, int *hops, const char **what)
{
	char rest[PATH_MAX], target[PATH_MAX];
	char *comp, *next;
	int dir, fd;

	if (strlen(path) >= sizeof(rest))
		return -ENAMETOOLONG;
	snprintf(rest, sizeof(rest), "%s", path);
	dir = open(rest[0] == '/' ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -errno;
	comp = rest;
	for (;;) {
		struct stat st;
		ssize_t n;

		while (*comp == '/')
			comp++;
		next = strchr(comp, '/');
		if (next) {
			*next++ = '\0';
			while (*next == '/')
				next++;
		}
		if (!next || !*next) { /* the last component */
			if (!*comp || strlen(comp) >= size) {
				close(dir);
				return *comp ? -ENAMETOOLONG : -EISDIR;
			}
			snprintf(name, size, "%s", comp);
			return dir;
		}
		fd = openat(dir, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st)) {
			int e = -errno;

			if (fd >= 0)
				close(fd);
			close(dir);
			return e;
		}
		if (S_ISDIR(st.st_mode)) {
			close(dir);
			dir = fd;
			comp = next;
			continue;
		}
		if (!S_ISLNK(st.st_mode) || !own_link(&st) || ++*hops > MAX_HOPS) {
			close(fd);
			close(dir);
			if (!S_ISLNK(st.st_mode))
				return -ENOTDIR;
			*what = *hops > MAX_HOPS ? "too many symbolic links" :
						   "a symbolic link of another user's on the way";
			return -ELOOP;
		}
		n = readlinkat(fd, "", target, sizeof(target) - 1);
		close(fd);
		if (n <= 0 || (size_t)n + 1 + strlen(next) >= sizeof(target)) {
			close(dir);
			return n < 0 ? -errno : -ENAMETOOLONG;
		}
		target[n] = '\0';
		/* Go on from the link's target, then what was left of the path. */
		snprintf(target + n, sizeof(target) - (size_t)n, "/%s", next);
		snprintf(rest, sizeof(rest), "%s", target);
		if (rest[0] == '/') {
			close(dir);
			dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (dir < 0)
				return -errno;
		}
		comp = rest;
	}
}

/* A new file of mode 0600 in dir, renamed over name. The descriptor, or -errno. */
static int replace(int dir, const char *name)
{
	char tmp[NAME_MAX + 1];
	unsigned rnd;
	int fd = -1;

	for (int tries = 0; fd < 0 && tries < 16; tries++) {
		if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
			return -EIO;
		if (snprintf(tmp, sizeof(tmp), ".%.200s.%08x", name, rnd) >= (int)sizeof(tmp))
			return -ENAMETOOLONG;
		fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC,
			    0600);
		if (fd < 0 && errno != EEXIST)
			return -errno;
	}
	if (fd < 0)
		return -EEXIST;
	if (fchmod(fd, 0600) || renameat(dir, tmp, dir, name)) {
		int e = errno;

		unlinkat(dir, tmp, 0);
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

static int open_at(const char *path, const char **what, int hops);

/*
 * Through one's own or root's link at name in dir: in /proc (/dev/stdout leads to
 * /proc/self/fd/1, a descriptor of ours: a pipe, say) opened as it is; elsewhere, its target
 * opened as any path is, by the same rules; never replaced.
 */
static int follow(int dir, const char *name, const char **what, int hops)
{
	char target[PATH_MAX], path[PATH_MAX];
	struct statfs sf;
	struct stat st;
	ssize_t n;
	int fd;

	if (!fstatfs(dir, &sf) && sf.f_type == PROC_SUPER_MAGIC) {
		fd = openat(dir, name, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		/* The caller chose it (> FILE): any mode will do, but only one's own file. */
		if (fstat(fd, &st) || (S_ISREG(st.st_mode) &&
				       (st.st_uid != geteuid() || st.st_nlink > 1))) {
			close(fd);
			*what = "a link in /proc to a file that is not the user's own";
			return -EPERM;
		}
		return keep(fd, &st);
	}
	n = readlinkat(dir, name, target, sizeof(target) - 1);
	if (n <= 0)
		return n < 0 ? -errno : -ENOENT;
	target[n] = '\0';
	if (target[0] == '/') {
		snprintf(path, sizeof(path), "%s", target);
	} else {
		/* Relative to the link's directory, which dir is: reached through our own fd. */
		if (snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dir, target) >=
		    (int)sizeof(path))
			return -ENAMETOOLONG;
	}
	return open_at(path, what, hops);
}

static int open_at(const char *path, const char **what, int hops)
{
	int flags = O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, dir, fd, e;
	char name[NAME_MAX + 1];
	struct stat st;

	dir = open_parent(path, name, sizeof(name), &hops, what);
	if (dir < 0)
		return dir;
	for (int tries = 0; tries < 8; tries++) {
		fd = openat(dir, name, flags);
		e = errno;
		if (fd < 0 && e == ENOENT) {
			fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY |
						       O_CLOEXEC, 0600);
			if (fd < 0 && errno == EEXIST)
				continue; /* made meanwhile: look at it again */
			e = fd < 0 ? -errno : fchmod(fd, 0600) ? -errno : 0; /* whatever the umask */
			if (fd >= 0 && e)
				close(fd);
			fd = e ? e : fd;
			goto out;
		}
		if (fd < 0 && e != ELOOP && e != ENXIO && e != EACCES) {
			fd = -e;
			goto out;
		}
		/* ELOOP: a symbolic link. ENXIO: a FIFO without a reader, or a socket. */
		if (fd < 0 ? fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) : fstat(fd, &st)) {
			e = -errno;
			if (fd >= 0)
				close(fd);
			fd = e;
			goto out;
		}
		if (fd < 0 && own_link(&st)) {
			fd = ++hops > MAX_HOPS ? -ELOOP : follow(dir, name, what, hops);
			goto out;
		}
		*what = foreign(&st);
		if (*what) {
			if (fd >= 0)
				close(fd);
			fd = replace(dir, name);
			goto out;
		}
		if (fd < 0 && e == ENXIO && S_ISFIFO(st.st_mode) && (flags & O_NONBLOCK)) {
			/* One's own FIFO: wait for its reader, as tcpdump does. */
			flags &= ~O_NONBLOCK;
			continue;
		}
		fd = fd < 0 ? -e : keep(fd, &st);
		goto out;
	}
	fd = -EAGAIN;
out:
	close(dir);
	return fd;
}

int open_private(const char *path, const char **what)
{
	*what = NULL;
	return open_at(path, what, 0);
}

const char *path_dir(const char *path, char *buf, size_t size)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(buf, size, ".");
	else if (slash == path)
		snprintf(buf, size, "/");
	else
		snprintf(buf, size, "%.*s", (int)(slash - path), path);
	return buf;
}

int sync_parent_dir(const char *path)
{
	char dir[4096];
	int fd, ret = 0;

	fd = open(path_dir(path, dir, sizeof(dir)), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd))
		ret = -errno;
	close(fd);
	return ret;
}

// SPDX-License-Identifier: BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "array.h"
#include "elfnote.h"
#include "log.h"
#include "targets.h"

#define MAX_TARGETS 256  /* calibrated: as many as the secrets program's offsets map holds */
#define MAX_REFUSED 4096 /* not calibrated, remembered so as not to try again */
#define LIB_PREFIX "libssl.so" /* OpenSSL's; NSS's is libssl3.so */
#define GNUTLS_PREFIX "libgnutls.so" /* not libgnutls-openssl.so, its OpenSSL API over it */
#define NOT_GO_SLOTS 1024 /* executables found not to be Go programs, remembered by file */

/* Where distributions keep libssl. */
static const char *const system_dirs[] = {
	"/lib",	    "/lib64",	  "/usr/lib",	     "/usr/lib64",
	"/usr/local/lib", "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
	"/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
};

struct targets {
	struct target **v; /* pointers: callers keep them */
	size_t n, cap;
	const pid_t *pids;
	size_t n_pids;
	target_fn fn;
	void *ctx;
	struct stat root;   /* ours, to tell a process in another root */
	struct stat userns; /* ours, to tell a root a user made */
	unsigned n_hooked, n_refused;
	bool warned_full, warned_refused;
	uint64_t mapped_ns; /* of the mapping being looked at, or 0 */
	/* Executables not to look at again (no Go program, or a user's past the refused limit):
	 * device, inode and change time, in a slot by inode (a miss costs a look at the file's
	 * headers again). */
	struct not_go {
		dev_t dev;
		ino_t ino;
		struct timespec ctime;
	} not_go[NOT_GO_SLOTS];
};

/* A TLS library by its name, to be calibrated: the calibration child tells its kind by what it
 * exports (calib_gnutls.h), whatever the name says. */
static bool is_libssl(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return !strncmp(base, LIB_PREFIX, strlen(LIB_PREFIX)) ||
	       !strncmp(base, GNUTLS_PREFIX, strlen(GNUTLS_PREFIX));
}

static void target_free(struct target *tg)
{
	if (tg->fd >= 0)
		close(tg->fd);
	free(tg);
}

static void note_pid(struct target *tg, pid_t pid)
{
	if (!pid)
		return;
	for (unsigned i = 0; i < tg->n_pids; i++)
		if (tg->pids[i] == pid)
			return;
	if (tg->n_pids < TARGET_MAX_PIDS)
		tg->pids[tg->n_pids++] = pid;
	else
		tg->listed_more = true;
}

/*
 * The calibration of another file with the same build id: the same build, the same layout. Only a
 * calibration that no user's code could have answered is shared: a build id is whatever the file
 * says it is.
 */
static const struct target *same_build(const struct targets *t, const struct target *tg)
{
	for (size_t i = 0; tg->build_id_len > 0 && i < t->n; i++)
		if (t->v[i]->status == 0 && !t->v[i]->users &&
		    t->v[i]->build_id_len == tg->build_id_len &&
		    !memcmp(t->v[i]->build_id, tg->build_id, (size_t)tg->build_id_len))
			return t->v[i];
	return NULL;
}

/*
 * Whether root (pid's, or "/": ours) was made by root: ours, or a root-owned directory that a
 * process of our user namespace has as its root. Anything else (unshare -Ur --root=DIR, a rootless
 * container) is a user's, and so is every library there that a file loads beside it. *owner is the
 * owner of root, or -1 when it cannot be told.
 */
static bool roots_own(const struct targets *t, const char *root, pid_t pid, uid_t *owner)
{
	struct stat rs, ns;
	char path[64];

	*owner = 0;
	if (!strcmp(root, "/"))
		return true;
	*owner = (uid_t)-1;
	if (stat(root, &rs))
		return false;
	*owner = rs.st_uid;
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	return rs.st_uid == 0 && !stat(path, &ns) && ns.st_dev == t->userns.st_dev &&
	       ns.st_ino == t->userns.st_ino;
}

/*
 * Calibration runs a library's code (in a sandbox, but still): of the files that processes map,
 * only those that root, or the owner of a user's root, owns and no one else may write are loaded.
 * Others are hooked only as copies of a build calibrated already (the same build id; no code of
 * theirs runs in tlsrec). --libssl names a file explicitly and skips this.
 */
static bool trusted(uid_t owner, const struct stat *st, char *why, size_t len)
{
	if (st->st_uid != 0 && st->st_uid != owner) {
		snprintf(why, len, "owned by uid %u, not by root: not loaded (name it with --libssl)",
			 (unsigned)st->st_uid);
		return false;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(why, len, "writable by others than its owner: not loaded (name it with --libssl)");
		return false;
	}
	return true;
}

/*
 * Calibrate tg, open at fd, found in root for pid. A root-owned file in a user's root is loaded in
 * ours, beside root's libraries, not the user's (whose libcrypto would answer for it); a user's
 * own file is loaded in the user's root, and its answer is for that file alone.
 */
static void calibrate_target(struct targets *t, struct target *tg, int fd, const struct stat *st,
			     pid_t pid)
{
	uid_t owner;
	bool made_by_root = roots_own(t, tg->root, pid, &owner);

	if (!tg->named && !trusted(owner, st, tg->why, sizeof(tg->why))) {
		tg->status = -EPERM;
		return;
	}
	tg->users = !made_by_root && st->st_uid != 0;
	if (!strcmp(tg->root, "/") || (!made_by_root && st->st_uid == 0))
		pid = 0;
	tg->status = calibrate(fd, pid, &tg->cal, tg->why, sizeof(tg->why));
}

/*
 * Open inner as seen from root, resolved inside it (a symbolic link there cannot lead out of it):
 * a regular file, or -errno. The path is a process's to swap for anything: it is looked at first
 * through an O_PATH descriptor, which opens nothing (a FIFO would block, a device act, a terminal
 * become ours), and opened only once it is a regular file.
 */
static int open_inside(const char *root, const char *inner, struct stat *st)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	char self[64];
	int dir, at, fd;

	dir = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -errno;
	at = (int)syscall(SYS_openat2, dir, inner, &how, sizeof(how));
	if (at < 0)
		at = -errno;
	close(dir);
	if (at < 0)
		return at;
	if (fstat(at, st) || !S_ISREG(st->st_mode)) {
		close(at);
		return -ENOEXEC;
	}
	snprintf(self, sizeof(self), "/proc/self/fd/%d", at);
	fd = open(self, O_RDONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		fd = -errno;
	close(at);
	return fd;
}

/* The root pid sees files from: "/" when it is ours (plain paths read better), or
 * /proc/PID/root. */
static void root_of(const struct targets *t, pid_t pid, char *root, size_t len)
{
	struct stat st;

	snprintf(root, len, "/proc/%d/root", (int)pid);
	if (!stat(root, &st) && st.st_dev == t->root.st_dev && st.st_ino == t->root.st_ino)
		snprintf(root, len, "/");
}

/* A target for the file inner in root, not yet open: NULL when out of memory. */
static struct target *new_target(const struct targets *t, enum target_kind kind,
				 const char *root, const char *inner, bool named)
{
	struct target *tg = calloc(1, sizeof(*tg));

	if (!tg)
		return NULL;
	tg->kind = kind;
	snprintf(tg->root, sizeof(tg->root), "%s", root);
	snprintf(tg->inner, sizeof(tg->inner), "%s", inner);
	snprintf(tg->path, sizeof(tg->path), "%s%s", strcmp(root, "/") ? root : "", inner);
	/* Shown and recorded, never opened: a name a process chose moves no terminal. */
	for (char *c = tg->path; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	tg->named = named;
	tg->mapped_ns = t->mapped_ns;
	tg->fd = -1;
	return tg;
}

/* The target of the file st describes, found already, or NULL. */
static struct target *find_file(const struct targets *t, const struct stat *st)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i]->dev == st->st_dev && t->v[i]->ino == st->st_ino)
			return t->v[i];
	return NULL;
}

/* Take tg, its file open at fd (now tg's), described by st, for pid. */
static void own_file(struct target *tg, int fd, const struct stat *st, pid_t pid)
{
	tg->fd = fd;
	tg->dev = st->st_dev;
	tg->ino = st->st_ino;
	tg->build_id_len = elf_build_id(fd, tg->build_id);
	if (tg->build_id_len < 0)
		tg->build_id_len = 0;
	note_pid(tg, pid);
}

/* Keep the new target tg (hooked, or refused with why) and hand it to the caller. */
static int keep(struct targets *t, struct target *tg)
{
	if (!tg->status && t->n_hooked == MAX_TARGETS) {
		if (!t->warned_full)
			log_warn("%s: not hooked: already %d libraries", tg->path, MAX_TARGETS);
		t->warned_full = true;
		target_free(tg);
		return 0;
	}
	if (array_reserve(&t->v, &t->cap, t->n + 1, sizeof(*t->v), 8)) {
		target_free(tg);
		return -ENOMEM;
	}
	if (tg->status)
		t->n_refused++;
	else
		tg->index = t->n_hooked++;
	t->v[t->n++] = tg;
	return t->fn(t->ctx, tg);
}

/* A user can run or map any number of files tlsrec refuses: once enough were refused, a user's
 * are not even looked at, and root's still are. */
static bool too_many_refused(struct targets *t, const struct stat *st, const char *path)
{
	if (t->n_refused < MAX_REFUSED || st->st_uid == 0)
		return false;
	if (!t->warned_refused)
		log_warn("%s: not looked at: %d files refused already", path, MAX_REFUSED);
	t->warned_refused = true;
	return true;
}

/* The file inner, as seen from root (on behalf of pid, or 0; named on the command line): a new
 * target unless known. */
static int consider(struct targets *t, const char *root, const char *inner, pid_t pid, bool named)
{
	struct target *tg, *same;
	const struct target *twin;
	struct stat st;
	int fd;

	tg = new_target(t, TARGET_OPENSSL, root, inner, named);
	if (!tg)
		return -ENOMEM;
	fd = open_inside(root, inner, &st);
	if (fd < 0) {
		/* gone already (the process exited), or not a file: nothing to hook, unless named */
		free(tg);
		return fd == -ENOMEM || named ? fd : 0;
	}
	same = find_file(t, &st);
	if (same) {
		note_pid(same, pid);
		close(fd);
		free(tg);
		return 0;
	}
	own_file(tg, fd, &st, pid);
	if (too_many_refused(t, &st, tg->path)) {
		target_free(tg);
		return 0;
	}
	twin = same_build(t, tg);
	if (twin && calibration_fits(fd, &twin->cal)) {
		tg->cal = twin->cal;
	} else if (twin) {
		tg->status = -ENOEXEC;
		snprintf(tg->why, sizeof(tg->why), "the build id of %.150s, but not its code",
			 twin->path);
	} else {
		calibrate_target(t, tg, fd, &st, pid);
		if (tg->status == -ENOMEM) {
			target_free(tg);
			return -ENOMEM;
		}
		/* The process (and with it its root) went away meanwhile: not the file's fault, so
		 * not remembered against it; the next process that maps it tries again. */
		if (tg->status && strcmp(tg->root, "/") && access(tg->root, F_OK)) {
			target_free(tg);
			return 0;
		}
	}
	return keep(t, tg);
}

static struct not_go *not_go_slot(struct targets *t, const struct stat *st)
{
	return &t->not_go[(st->st_ino ^ st->st_dev * 31) % NOT_GO_SLOTS];
}

static bool known_not_go(struct targets *t, const struct stat *st)
{
	const struct not_go *n = not_go_slot(t, st);

	return n->dev == st->st_dev && n->ino == st->st_ino &&
	       n->ctime.tv_sec == st->st_ctim.tv_sec && n->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

/*
 * The executable inner in root, open at fd (taken), for pid (0: named on the command line): a new
 * Go target, hooked or refused, unless it is no Go program. It is read as data, never run or
 * loaded, so a user's own file is as welcome as root's.
 */
static int consider_go(struct targets *t, const char *root, const char *inner, int fd,
		       const struct stat *st, pid_t pid, bool named)
{
	struct target *tg = new_target(t, TARGET_GO, root, inner, named);
	int ret;

	if (!tg) {
		close(fd);
		return -ENOMEM;
	}
	own_file(tg, fd, st, pid);
	/* Past the limit, a user's file is not read at all: reading one can take a few hundred
	 * milliseconds (gobin.c's budget), on the thread that drains the rings, at each exec. */
	ret = !named && too_many_refused(t, st, tg->path) ?
		      -ENOEXEC :
		      gobin_inspect(fd, &tg->go, tg->why, sizeof(tg->why));
	if (ret == -ENOMEM) {
		target_free(tg);
		return ret;
	}
	if ((ret == -ENOEXEC && !named) || (ret && too_many_refused(t, st, tg->path))) {
		struct not_go *n = not_go_slot(t, st);

		*n = (struct not_go){ .dev = st->st_dev, .ino = st->st_ino, .ctime = st->st_ctim };
		target_free(tg);
		return 0;
	}
	if (ret == -ENOEXEC)
		snprintf(tg->why, sizeof(tg->why),
			 "not a Go program (no .go.buildinfo or .gopclntab section)");
	else if (ret && ret != -ENOTSUP)
		snprintf(tg->why, sizeof(tg->why), "cannot read it: %s", strerror(-ret));
	tg->status = ret ? -ENOEXEC : 0;
	return keep(t, tg);
}

/* The file chroot_dir names for a process in another root of our mount namespace, whose paths we
 * see prefixed by it: its length in dir, or 0. */
static size_t chroot_of(const char *root, char *dir, size_t len)
{
	ssize_t n;

	if (!strcmp(root, "/"))
		return 0;
	n = readlink(root, dir, len - 1);
	if (n <= 1)
		return 0;
	dir[n] = '\0';
	return (size_t)n;
}

/* The executable pid runs, if it is a Go program not seen before. 0 or -errno; a process that is
 * gone, or runs nothing (a kernel thread), is no error. */
static int scan_exe(struct targets *t, pid_t pid)
{
	char link[64], root[64], shown[PATH_MAX], chroot_dir[PATH_MAX];
	const char *inner = shown;
	struct target *same;
	struct stat st;
	size_t chroot_len;
	ssize_t n;
	int fd;

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	if (stat(link, &st) || !S_ISREG(st.st_mode) || known_not_go(t, &st))
		return 0;
	same = find_file(t, &st);
	if (same) {
		note_pid(same, pid);
		return 0;
	}
	/* The file the process runs, whatever its path names (the link is the kernel's). */
	fd = open(link, O_RDONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = readlink(link, shown, sizeof(shown) - 1);
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || n <= 0 || find_file(t, &st)) {
		close(fd);
		return 0;
	}
	shown[n] = '\0';
	root_of(t, pid, root, sizeof(root));
	chroot_len = chroot_of(root, chroot_dir, sizeof(chroot_dir));
	if (chroot_len && !strncmp(shown, chroot_dir, chroot_len) && shown[chroot_len] == '/')
		inner += chroot_len;
	return consider_go(t, root, inner, fd, &st, pid, false);
}

/*
 * Look at what pid runs and maps. 0 or -errno; a process that is gone is no error. Its maps show paths as
 * our root sees them: from the root of its mount namespace (a container), which is where
 * /proc/PID/root leads, or, for a chroot in our mount namespace, from our root, which the chroot
 * directory prefixes.
 */
static int scan_pid(struct targets *t, pid_t pid)
{
	char path[64], line[PATH_MAX + 128], root[64], chroot_dir[PATH_MAX];
	size_t chroot_len;
	FILE *f;
	int ret = scan_exe(t, pid);

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (ret || !f)
		return ret;
	root_of(t, pid, root, sizeof(root));
	chroot_len = chroot_of(root, chroot_dir, sizeof(chroot_dir));
	while (!ret && fgets(line, sizeof(line), f)) {
		char *file = strchr(line, '/');
		char *nl;

		if (!file)
			continue;
		nl = strchr(file, '\n');
		if (nl)
			*nl = '\0';
		if (!is_libssl(file) || strstr(file, " (deleted)"))
			continue;
		if (chroot_len && !strncmp(file, chroot_dir, chroot_len) && file[chroot_len] == '/')
			file += chroot_len;
		ret = consider(t, root, file, pid, false);
	}
	fclose(f);
	return ret;
}

static bool in_scope(const struct targets *t, pid_t pid)
{
	for (size_t i = 0; i < t->n_pids; i++)
		if (t->pids[i] == pid)
			return true;
	return !t->n_pids;
}

int targets_scan(struct targets *t)
{
	DIR *d;
	struct dirent *e;
	int ret = 0;

	for (size_t i = 0; !t->n_pids && !ret && i < sizeof(system_dirs) / sizeof(system_dirs[0]);
	     i++) {
		d = opendir(system_dirs[i]);
		if (!d)
			continue;
		while (!ret && (e = readdir(d))) {
			char file[PATH_MAX], real[PATH_MAX];

			if (!is_libssl(e->d_name))
				continue;
			/* By the name of the file itself, not of a symbolic link such as libssl.so. */
			snprintf(file, sizeof(file), "%s/%s", system_dirs[i], e->d_name);
			if (realpath(file, real))
				ret = consider(t, "/", real, 0, false);
		}
		closedir(d);
	}
	d = opendir("/proc");
	if (!d)
		return ret ? ret : -errno;
	while (!ret && (e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);

		if (*end || pid <= 0 || pid == getpid() || !in_scope(t, (pid_t)pid))
			continue;
		ret = scan_pid(t, (pid_t)pid);
	}
	closedir(d);
	return ret;
}

/* The Go program at real (a path in our root), named on the command line. */
static int consider_named_go(struct targets *t, const char *real)
{
	struct target *same;
	struct stat st;
	int fd = open_inside("/", real, &st);

	if (fd < 0)
		return fd;
	same = find_file(t, &st);
	if (same) {
		close(fd);
		return 0;
	}
	return consider_go(t, "/", real, fd, &st, 0, true);
}

int targets_add_path(struct targets *t, enum target_kind kind, const char *path, char *why,
		     size_t len)
{
	char real[PATH_MAX];
	size_t before = t->n;
	int ret;

	if (!realpath(path, real)) {
		snprintf(why, len, "%s", strerror(errno));
		return -ENOENT;
	}
	ret = kind == TARGET_GO ? consider_named_go(t, real) : consider(t, "/", real, 0, true);
	if (ret == -ENOEXEC) {
		snprintf(why, len, "not a regular file");
		return -ENOENT;
	}
	if (ret || t->n == before) {
		snprintf(why, len, "%s", ret ? strerror(-ret) : "found already");
		return ret;
	}
	if (t->v[before]->status) {
		snprintf(why, len, "%s", t->v[before]->why);
		return -ENOEXEC;
	}
	return 0;
}

int targets_mapped(struct targets *t, pid_t pid, const char *file, uint64_t mapped_ns)
{
	char root[64];
	int ret;

	if (file[0] != '/' || pid == getpid() || !in_scope(t, pid))
		return 0;
	if (!is_libssl(file)) {
		t->mapped_ns = mapped_ns;
		ret = scan_exe(t, pid);
	} else if (strstr(file, " (deleted)")) {
		return 0;
	} else {
		root_of(t, pid, root, sizeof(root));
		t->mapped_ns = mapped_ns;
		ret = consider(t, root, file, pid, false);
	}
	t->mapped_ns = 0;
	return ret;
}

int targets_open(const pid_t *pids, size_t n_pids, target_fn fn, void *ctx, struct targets **out)
{
	struct targets *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	if (stat("/", &t->root) || stat("/proc/self/ns/user", &t->userns)) {
		free(t);
		return -errno;
	}
	t->pids = pids;
	t->n_pids = n_pids;
	t->fn = fn;
	t->ctx = ctx;
	*out = t;
	return 0;
}

size_t targets_list(const struct targets *t, struct target *const **out)
{
	*out = t->v;
	return t->n;
}

void targets_close(struct targets *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		target_free(t->v[i]);
	free(t->v);
	free(t);
}

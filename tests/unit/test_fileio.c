// SPDX-License-Identifier: BSD-2-Clause
/*
 * Output and input files (common/fileio.c, jr_open in common/journal_read.c):
 *   create     nothing there: a file of mode 0600 whatever the umask;
 *   own        one's own file of mode 0644: truncated in place, 0600;
 *   their link (as root) another user's link to a file, and a dangling one: the link is replaced,
 *              never followed, and the file it points to keeps its content (nothing is created
 *              where a dangling one points);
 *   own link   one's own link: followed to one's own file and to /dev/null, refused to a file
 *              with another hard link; never replaced;
 *   hard link  a second name of a file: replaced, the file keeps its content;
 *   devices    /dev/null is written as it is; a directory is refused;
 *   own fifo   one's own FIFO with a reader: written into, as tcpdump -w does;
 *   other user (as root) another user's file, hard link and FIFO without a reader: replaced, each
 *              keeps its owner and content; and as an unprivileged user in a sticky directory,
 *              another user's file is refused with -EPERM, left as it was;
 *   fifo input jr_open on a FIFO with no writer: refused at once, not waited for.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "fileio.h"
#include "journal.h"
#include "util.h"

/* A uid and gid that are not ours: nobody's. */
#define OTHER_UID 65534
#define OTHER_GID 65534

static void put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (!CHECK_MSG(fd >= 0, "creating %s: %s", path, strerror(errno)))
		return;
	CHECK_EQ_INT(write(fd, text, strlen(text)), (long long)strlen(text));
	close(fd);
}

/* Whether s is text (and not NULL). */
static bool str_is(const char *s, const char *text)
{
	return CHECK_MSG(s && !strcmp(s, text), "\"%s\", not \"%s\"", s ? s : "(null)", text);
}

/* Whether path holds exactly text. */
static bool holds(const char *path, const char *text)
{
	size_t len;
	uint8_t *got = slurp(path, &len);
	bool same = got && len == strlen(text) && !memcmp(got, text, len);

	CHECK_MSG(same, "%s holds \"%.60s\", not \"%s\"", path, got ? (char *)got : "(unreadable)",
		  text);
	free(got);
	return same;
}

/* open_private on path, then "journal" written: the descriptor's file, in *st. Returns what
 * open_private said was there (NULL too when it failed, a failed check). */
static const char *write_private(const char *path, struct stat *st)
{
	const char *what = "unset";
	int fd = open_private(path, &what);

	if (!CHECK_MSG(fd >= 0, "open_private(%s): %s", path, strerror(-fd)))
		return NULL;
	CHECK_EQ_INT(write(fd, "journal", 7), 7);
	CHECK_EQ_INT(fstat(fd, st), 0);
	close(fd);
	return what;
}

/* path is a regular file of ours, mode 0600, one link, holding "journal": the file written. */
static void is_ours(const char *path, const struct stat *written)
{
	struct stat st;

	if (!CHECK_EQ_INT(lstat(path, &st), 0))
		return;
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ_INT(st.st_mode & 07777, 0600);
	CHECK_EQ_INT(st.st_uid, geteuid());
	CHECK_EQ_INT(st.st_nlink, 1);
	CHECK(st.st_ino == written->st_ino && st.st_dev == written->st_dev);
	holds(path, "journal");
}

static void test_create(void)
{
	char path[PATH_MAX];
	struct stat st;
	mode_t old = umask(0);

	tpath(path, "new");
	CHECK(write_private(path, &st) == NULL);
	is_ours(path, &st);
	umask(0277); /* 0600 all the same */
	tpath(path, "new-umask");
	CHECK(write_private(path, &st) == NULL);
	is_ours(path, &st);
	umask(old);
}

static void test_own(void)
{
	char path[PATH_MAX];
	struct stat before, st;

	check_ctx("mode 0600");
	tpath(path, "own");
	put(path, "something much longer than a journal");
	CHECK_EQ_INT(chmod(path, 0600), 0);
	CHECK_EQ_INT(stat(path, &before), 0);
	CHECK(write_private(path, &st) == NULL);
	is_ours(path, &st);
	CHECK_MSG(st.st_ino == before.st_ino, "one's own file was replaced, not truncated");

	check_ctx("mode 0644: anyone may hold it open");
	tpath(path, "own-0644");
	put(path, "something much longer than a journal");
	CHECK_EQ_INT(chmod(path, 0644), 0);
	CHECK_EQ_INT(stat(path, &before), 0);
	str_is(write_private(path, &st), "a file others could read");
	is_ours(path, &st);
	CHECK_MSG(st.st_ino != before.st_ino, "a file others could read was written in place");
	check_ctx("%s", "");
}

static void test_their_link(void)
{
	char path[PATH_MAX], victim[PATH_MAX], ghost[PATH_MAX];
	const char *what;
	struct stat st;

	if (geteuid()) {
		fprintf(stderr, "test_their_link: SKIPPED: not root, cannot make another user's link "
				"(e2e.output_files covers it)\n");
		return;
	}
	check_ctx("a link to a file");
	tpath(victim, "victim");
	tpath(path, "link");
	put(victim, "precious");
	CHECK_EQ_INT(symlink(victim, path), 0);
	CHECK_EQ_INT(lchown(path, OTHER_UID, OTHER_GID), 0);
	what = write_private(path, &st);
	str_is(what, "a symbolic link");
	is_ours(path, &st);
	holds(victim, "precious");

	check_ctx("a dangling link");
	tpath(ghost, "ghost");
	tpath(path, "dangling");
	CHECK_EQ_INT(symlink(ghost, path), 0);
	CHECK_EQ_INT(lchown(path, OTHER_UID, OTHER_GID), 0);
	what = write_private(path, &st);
	str_is(what, "a symbolic link");
	is_ours(path, &st);
	CHECK_MSG(access(ghost, F_OK) && errno == ENOENT, "a file was created where a link points");
	check_ctx("%s", "");
}

/* One's own link (as root's /dev/stdout): followed to one's own file or a device, refused to a
 * file with other names, never replaced. */
static void test_own_link(void)
{
	char path[PATH_MAX], mine[PATH_MAX], other[PATH_MAX];
	const char *what;
	struct stat st, lst;

	check_ctx("to one's own file");
	tpath(mine, "mine");
	tpath(path, "own-link");
	put(mine, "something longer than a journal");
	CHECK_EQ_INT(chmod(mine, 0600), 0);
	CHECK_EQ_INT(symlink(mine, path), 0);
	CHECK(write_private(path, &st) == NULL);
	CHECK_EQ_INT(lstat(path, &lst), 0);
	CHECK(S_ISLNK(lst.st_mode));
	is_ours(mine, &st);

	check_ctx("to /dev/null");
	tpath(path, "null-link");
	CHECK_EQ_INT(symlink("/dev/null", path), 0);
	CHECK(write_private(path, &st) == NULL);
	CHECK(S_ISCHR(st.st_mode));
	CHECK_EQ_INT(lstat(path, &lst), 0);
	CHECK(S_ISLNK(lst.st_mode));

	check_ctx("to a file with another name");
	tpath(other, "other-name");
	CHECK_EQ_INT(link(mine, other), 0);
	CHECK_EQ_INT(unlink(path), 0);
	CHECK_EQ_INT(symlink(mine, path), 0);
	/* What the link leads to is taken by the same rules: that name gets a new file. */
	what = write_private(path, &st);
	str_is(what, "a file with other hard links");
	is_ours(mine, &st);
	holds(other, "journal"); /* what the first write left in the file both names had */
	CHECK_EQ_INT(lstat(path, &lst), 0);
	CHECK(S_ISLNK(lst.st_mode));
	check_ctx("%s", "");
}

static void test_hard_link(void)
{
	char path[PATH_MAX], orig[PATH_MAX];
	const char *what;
	struct stat st;

	tpath(orig, "orig");
	tpath(path, "hard");
	put(orig, "precious");
	CHECK_EQ_INT(link(orig, path), 0);
	what = write_private(path, &st);
	str_is(what, "a file with other hard links");
	is_ours(path, &st);
	holds(orig, "precious");
	CHECK_EQ_INT(stat(orig, &st), 0);
	CHECK_EQ_INT(st.st_nlink, 1);
}

static void test_devices(void)
{
	char path[PATH_MAX];
	const char *what;
	struct stat st;

	CHECK(write_private("/dev/null", &st) == NULL);
	CHECK(S_ISCHR(st.st_mode));
	CHECK_EQ_INT(stat("/dev/null", &st), 0);
	CHECK_MSG(S_ISCHR(st.st_mode) && (st.st_mode & 0666) == 0666,
		  "/dev/null is no longer the device it was");
	tpath(path, "dir");
	CHECK_EQ_INT(mkdir(path, 0700), 0);
	CHECK_EQ_INT(open_private(path, &what), -EISDIR);
}

static void test_own_fifo(void)
{
	char path[PATH_MAX], buf[16] = { 0 };
	const char *what;
	struct stat st;
	int r, w;

	tpath(path, "fifo");
	CHECK_EQ_INT(mkfifo(path, 0600), 0);
	r = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (!CHECK(r >= 0))
		return;
	w = open_private(path, &what);
	if (CHECK(w >= 0)) {
		CHECK(what == NULL);
		CHECK_EQ_INT(fcntl(w, F_GETFL) & O_NONBLOCK, 0);
		CHECK_EQ_INT(write(w, "journal", 7), 7);
		CHECK_EQ_INT(read(r, buf, sizeof(buf)), 7);
		CHECK(!strcmp(buf, "journal"));
		close(w);
	}
	close(r);
	CHECK_EQ_INT(lstat(path, &st), 0);
	CHECK(S_ISFIFO(st.st_mode));
}

/* path, a file holding text, of another user. */
static void put_as_other(const char *path, const char *text)
{
	put(path, text);
	CHECK_EQ_INT(chown(path, OTHER_UID, OTHER_GID), 0);
}

static void test_other_user(void)
{
	char dir[PATH_MAX], path[PATH_MAX], keep[PATH_MAX], fifo[PATH_MAX];
	const char *what;
	struct stat st;
	pid_t pid;
	int status, fd;

	if (geteuid()) {
		fprintf(stderr, "test_other_user: SKIPPED: not root, cannot make another user's files "
				"(e2e.output_files covers them)\n");
		return;
	}
	/* A sticky directory anyone can write, as /tmp; reachable by others. */
	CHECK_EQ_INT(chmod(util_tmpdir, 0711), 0);
	tpath(dir, "sticky");
	CHECK_EQ_INT(mkdir(dir, 0700), 0);
	CHECK_EQ_INT(chmod(dir, 01777), 0);

	check_ctx("another user's file, and a hard link to it");
	tpath(path, "sticky/theirs");
	tpath(keep, "sticky/theirs.keep");
	put_as_other(path, "theirs");
	CHECK_EQ_INT(link(path, keep), 0);
	what = write_private(path, &st);
	str_is(what, "a file of another user");
	is_ours(path, &st);
	holds(keep, "theirs");
	CHECK_EQ_INT(stat(keep, &st), 0);
	CHECK_EQ_INT(st.st_uid, OTHER_UID);

	check_ctx("another user's FIFO, no reader");
	tpath(fifo, "sticky/their-fifo");
	CHECK_EQ_INT(mkfifo(fifo, 0666), 0);
	CHECK_EQ_INT(chown(fifo, OTHER_UID, OTHER_GID), 0);
	alarm(10); /* a blocking open would hang here */
	what = write_private(fifo, &st);
	alarm(0);
	str_is(what, "a FIFO of another user");
	is_ours(fifo, &st);

	check_ctx("as an unprivileged user, another user's file in a sticky directory");
	tpath(path, "sticky/refused");
	put_as_other(path, "theirs");
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) || setgid(OTHER_GID + 1) || setuid(OTHER_UID - 1))
			_exit(10);
		fd = open_private(path, &what);
		if (fd >= 0)
			_exit(11);
		_exit(fd == -EPERM && what && !strcmp(what, "a file of another user") ? 0 : 12);
	}
	CHECK_EQ_INT(waitpid(pid, &status, 0), pid);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "the unprivileged child ended with status %d (10: setuid, 11: written, 12: "
		  "another error)",
		  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	holds(path, "theirs");
	CHECK_EQ_INT(stat(path, &st), 0);
	CHECK_EQ_INT(st.st_uid, OTHER_UID);
}

/*
 * A directory on the way that another user owns: a link they put there is not followed, to root's
 * file or anywhere (the walk refuses it), while root's own links on the way are.
 */
static void test_link_on_the_way(void)
{
	char dir[PATH_MAX], path[PATH_MAX], victim[PATH_MAX], link_dir[PATH_MAX];
	const char *what = NULL;
	struct stat st;

	if (geteuid()) {
		fprintf(stderr, "test_link_on_the_way: SKIPPED: not root, cannot make another user's "
				"directory\n");
		return;
	}
	tpath(victim, "root-dir");
	CHECK_EQ_INT(mkdir(victim, 0755), 0);
	tpath(victim, "root-dir/victim");
	put(victim, "root's");
	CHECK_EQ_INT(chmod(victim, 0600), 0);
	tpath(dir, "users");
	CHECK_EQ_INT(mkdir(dir, 0755), 0);
	tpath(path, "users/sub");
	tpath(link_dir, "root-dir");
	CHECK_EQ_INT(symlink(link_dir, path), 0);
	CHECK_EQ_INT(lchown(path, OTHER_UID, OTHER_GID), 0);
	CHECK_EQ_INT(chown(dir, OTHER_UID, OTHER_GID), 0);

	check_ctx("another user's link on the way");
	tpath(path, "users/sub/victim");
	CHECK_EQ_INT(open_private(path, &what), -ELOOP);
	str_is(what, "a symbolic link of another user's on the way");
	holds(victim, "root's");

	check_ctx("root's link on the way");
	CHECK_EQ_INT(lchown(dir, 0, 0), 0);
	tpath(path, "users/sub");
	CHECK_EQ_INT(lchown(path, 0, 0), 0);
	tpath(path, "users/sub/new");
	CHECK(write_private(path, &st) == NULL);
	tpath(path, "root-dir/new");
	is_ours(path, &st);
	check_ctx("%s", "");
}

/* /dev/stdout leads through /proc/self/fd to a descriptor of ours: a pipe is written into. */
static void test_stdout_pipe(void)
{
	char got[16] = "";
	const char *what;
	int p[2], saved, fd;

	if (!CHECK_EQ_INT(pipe(p), 0))
		return;
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	CHECK_EQ_INT(dup2(p[1], STDOUT_FILENO), STDOUT_FILENO);
	fd = open_private("/dev/stdout", &what);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	close(p[1]);
	if (CHECK_MSG(fd >= 0, "open_private(/dev/stdout): %s", strerror(-fd))) {
		CHECK_EQ_INT(write(fd, "journal", 7), 7);
		close(fd);
		CHECK_EQ_INT(read(p[0], got, sizeof(got) - 1), 7);
		CHECK(!strcmp(got, "journal"));
	}
	close(p[0]);
}

static void test_fifo_input(void)
{
	struct journal_reader *r = NULL;
	char path[PATH_MAX];
	struct timespec t0, t1;
	const char *why = NULL;

	tpath(path, "input-fifo");
	CHECK_EQ_INT(mkfifo(path, 0600), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	alarm(10); /* the test fails, killed, when jr_open waits for a writer */
	CHECK_EQ_INT(jr_open(path, NULL, NULL, &r, &why), -ENOEXEC);
	alarm(0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(why && strstr(why, "not a regular file"));
	CHECK(t1.tv_sec - t0.tv_sec < 2);
	if (r)
		jr_close(r);
}

int main(void)
{
	if (!tmpdir_make("tlsrec-fileio"))
		return EXIT_FAILURE;
	CHECK_RUN(test_create);
	CHECK_RUN(test_own);
	CHECK_RUN(test_their_link);
	CHECK_RUN(test_own_link);
	CHECK_RUN(test_hard_link);
	CHECK_RUN(test_devices);
	CHECK_RUN(test_own_fifo);
	CHECK_RUN(test_other_user);
	CHECK_RUN(test_link_on_the_way);
	CHECK_RUN(test_stdout_pipe);
	CHECK_RUN(test_fifo_input);
	tmpdir_remove();
	return check_exit();
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * recorder/sandbox.c: a child started by sandbox_spawn and confined by sandbox_enter tries what a
 * hostile library would, and reports each outcome through its standard output:
 *   - nothing of ours reaches it: no environment, /dev/null as standard input, no terminal, a
 *     session of its own, no descriptor but those handed over;
 *   - no way out: no socket but a stream pair, no file opened for writing, no directory made, no ioctl,
 *     no ptrace, no namespace, no clearing of its parent-death signal, no clone3, no memfd;
 *   - as root: PID 1 of its own PID namespace with a /proc of its own, and the sandbox's uid;
 *   - and what calibration needs still works: reading files, socket pairs, fork.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "../../recorder/sandbox.h"
#include "check.h"

#define CHILD_ARG "--sandbox-child"

extern char **environ;

struct report {
	int enter;    /* sandbox_enter's return */
	char why[200];
	int n_env;
	int stdin_null;
	int tty;      /* open("/dev/tty") */
	int own_session;
	int fd_extra; /* the first descriptor above 3 that is open, or -1 */
	int fd3;      /* fcntl(3, F_GETFD) */
	int inet;     /* socket(AF_INET) */
	int pair;     /* socketpair(AF_UNIX, SOCK_STREAM), as calibration makes them */
	int dgram_pair; /* one that could send to a named socket */
	int write_file, create_file, make_dir, read_file;
	int tiocsti, ptrace, userns, pdeathsig, clone3, memfd;
	int fork_ok;
	unsigned uid;
	int pid;
	char proc_self[16];
};

/* -errno of a failed call, or 0 (closing what it opened). */
static int outcome(long ret)
{
	if (ret < 0)
		return -errno;
	return 0;
}

static int open_outcome(int fd)
{
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static void __attribute__((noreturn)) child(void)
{
	struct report r = { 0 };
	struct stat st;
	int sv[2], fd;
	char c = 'x';
	pid_t p;

	r.own_session = getsid(0) == getpid(); /* asked first: the filter refuses getsid */
	r.enter = sandbox_enter(-1, "/", r.why, sizeof(r.why));
	if (!r.enter)
		r.enter = sandbox_seal(r.why, sizeof(r.why));
	for (char **e = environ; e && *e; e++)
		r.n_env++;
	r.stdin_null = !fstat(0, &st) && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
	r.tty = open_outcome(open("/dev/tty", O_RDWR));
	r.fd3 = fcntl(3, F_GETFD) < 0 ? -errno : 0;
	r.fd_extra = -1;
	for (fd = 4; fd < 64 && r.fd_extra < 0; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			r.fd_extra = fd;
	r.inet = open_outcome(socket(AF_INET, SOCK_STREAM, 0));
	r.pair = outcome(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv));
	r.dgram_pair = outcome(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	r.write_file = open_outcome(open("/etc/hostname", O_WRONLY));
	r.create_file = open_outcome(open("/tmp/tlsrec-sandbox-test", O_WRONLY | O_CREAT, 0666));
	r.make_dir = outcome(mkdir("/tmp/tlsrec-sandbox-test-dir", 0777));
	r.read_file = open_outcome(open("/proc/self/status", O_RDONLY));
	r.tiocsti = outcome(ioctl(0, TIOCSTI, &c));
	r.ptrace = outcome(ptrace(PTRACE_TRACEME, 0, NULL, NULL));
	r.userns = outcome(unshare(CLONE_NEWUSER));
	r.pdeathsig = outcome(prctl(PR_SET_PDEATHSIG, 0));
	r.clone3 = outcome(syscall(SYS_clone3, NULL, 0));
	r.memfd = open_outcome(memfd_create("x", 0));
	p = fork();
	if (p == 0)
		_exit(7);
	r.fork_ok = p > 0 && waitpid(p, &fd, 0) == p && WIFEXITED(fd) && WEXITSTATUS(fd) == 7;
	r.uid = (unsigned)getuid();
	r.pid = getpid();
	fd = (int)readlink("/proc/self", r.proc_self, sizeof(r.proc_self) - 1);
	if (fd > 0)
		r.proc_self[fd] = '\0';
	_exit(write(1, &r, sizeof(r)) == (ssize_t)sizeof(r) ? 0 : 1);
}

static void test_confined(void)
{
	char *argv[] = { "test_sandbox", CHILD_ARG, NULL };
	int pipefd[2], fds[4], status, stray;
	struct report r;
	bool root = geteuid() == 0;
	size_t got = 0;
	pid_t pid;

	if (!CHECK(!pipe2(pipefd, O_CLOEXEC)))
		return;
	/* A descriptor of ours without O_CLOEXEC: it must not reach the child. */
	stray = fcntl(pipefd[0], F_DUPFD, 20);
	CHECK(stray >= 20);
	fds[0] = -1;
	fds[1] = pipefd[1];
	fds[2] = -1;
	fds[3] = pipefd[0]; /* handed over as 3 */
	if (!CHECK_EQ_INT(sandbox_spawn(argv, fds, 4, &pid), 0))
		return;
	close(pipefd[1]);
	close(stray);
	while (got < sizeof(r)) {
		ssize_t n = read(pipefd[0], (char *)&r + got, sizeof(r) - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(pipefd[0]);
	CHECK(waitpid(pid, &status, 0) == pid);
	if (!CHECK_MSG(got == sizeof(r), "the child answered %zu bytes", got))
		return;
	if (!CHECK_MSG(r.enter == 0, "sandbox_enter: %s", r.why))
		return;
	CHECK_EQ_INT(r.n_env, 0);
	CHECK(r.stdin_null);
	CHECK(r.tty < 0);
	CHECK(r.own_session);
	CHECK_EQ_INT(r.fd3, 0);
	CHECK_EQ_INT(r.fd_extra, -1);
	CHECK_EQ_INT(r.inet, -EPERM);
	CHECK_EQ_INT(r.pair, 0);
	CHECK_EQ_INT(r.dgram_pair, -EPERM);
	CHECK_EQ_INT(r.write_file, -EPERM);
	CHECK_EQ_INT(r.create_file, -EPERM);
	CHECK_EQ_INT(r.make_dir, -EPERM);
	CHECK_EQ_INT(r.read_file, 0);
	CHECK_EQ_INT(r.tiocsti, -EPERM);
	CHECK_EQ_INT(r.ptrace, -EPERM);
	CHECK_EQ_INT(r.userns, -EPERM);
	CHECK_EQ_INT(r.pdeathsig, -EPERM);
	CHECK_EQ_INT(r.clone3, -ENOSYS);
	CHECK_EQ_INT(r.memfd, -EPERM);
	CHECK(r.fork_ok);
	if (!root) {
		fprintf(stderr, "test_sandbox: NOT ROOT: the namespaces and the uid are not checked\n");
		return;
	}
	CHECK_EQ_INT(r.uid, SANDBOX_UID);
	CHECK_EQ_INT(r.pid, 1);
	CHECK_MSG(!strcmp(r.proc_self, "1"), "/proc/self is %s", r.proc_self);
	CHECK(access("/tmp/tlsrec-sandbox-test", F_OK) && access("/tmp/tlsrec-sandbox-test-dir", F_OK));
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], CHILD_ARG))
		child();
	signal(SIGPIPE, SIG_IGN);
	CHECK_RUN(test_confined);
	return check_exit();
}

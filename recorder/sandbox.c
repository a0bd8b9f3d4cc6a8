// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"

#define STACK_SIZE (64 * 1024)
#define NS_FLAGS                                                                              \
	(CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS | CLONE_NEWCGROUP)
/* Every flag of clone(2) that makes or joins something: the child may fork, nothing more. */
#define CLONE_DENIED (NS_FLAGS | CLONE_NEWUSER | CLONE_NEWTIME)

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

struct spawn {
	char *const *argv;
	const int *fds;
	int n_fds;
	int err; /* set by the child when it could not start */
};

/*
 * The new process, until it runs /proc/self/exe: it shares our memory (CLONE_VM, as posix_spawn
 * does) while we wait, so it only makes system calls.
 */
static int spawned(void *arg)
{
	static char *const envp[] = { NULL };
	struct spawn *s = arg;
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	int moved[SANDBOX_MAX_FDS], null, i;
	sigset_t none;

	for (i = 1; i < _NSIG; i++)
		if (i != SIGKILL && i != SIGSTOP)
			sigaction(i, &dfl, NULL);
	null = open("/dev/null", O_RDWR);
	if (null < 0)
		goto fail;
	/* Above every target number first, so that placing one cannot close another. */
	for (i = 0; i < s->n_fds; i++) {
		int from = s->fds[i] >= 0 ? s->fds[i] : i <= 2 ? null : -1;

		moved[i] = from >= 0 ? fcntl(from, F_DUPFD, SANDBOX_MAX_FDS) : -1;
		if (from >= 0 && moved[i] < 0)
			goto fail;
	}
	for (i = 0; i < SANDBOX_MAX_FDS; i++) {
		int from = i < s->n_fds ? moved[i] : i <= 2 ? null : -1;

		if (from < 0)
			close(i);
		else if (dup2(from, i) < 0)
			goto fail;
	}
	if (close_range(SANDBOX_MAX_FDS, ~0u, 0) || setsid() < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL))
		goto fail;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve("/proc/self/exe", s->argv, envp);
fail:
	s->err = errno;
	_exit(127);
}

int sandbox_spawn(char *const argv[], const int *fds, int n_fds, pid_t *pid)
{
	struct spawn s = { .argv = argv, .fds = fds, .n_fds = n_fds };
	sigset_t all, old;
	char *stack;
	pid_t p;

	if (n_fds > SANDBOX_MAX_FDS)
		return -EINVAL;
	stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
		     -1, 0);
	if (stack == MAP_FAILED)
		return -errno;
	/* No handler of ours may run in the child while it shares our memory. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	p = clone(spawned, stack + STACK_SIZE,
		  CLONE_VM | CLONE_VFORK | SIGCHLD | (geteuid() == 0 ? NS_FLAGS : 0), &s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	munmap(stack, STACK_SIZE);
	if (p < 0)
		return -errno;
	if (s.err) {
		while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
			;
		return -s.err;
	}
	*pid = p;
	return 0;
}

static int fail(int err, char *why, size_t len, const char *what)
{
	snprintf(why, len, "cannot confine its calibration: %s: %s", what, strerror(err));
	return -err;
}

/* As root, in the namespaces sandbox_spawn made: the library's root, read-only, with our /proc. */
static int enter_root(int mntns_fd, const char *root, char *why, size_t len)
{
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
					     MOUNT_ATTR_NODEV };

	if (mntns_fd >= 0 && (setns(mntns_fd, CLONE_NEWNS) || unshare(CLONE_NEWNS)))
		return fail(errno, why, len, "its mount namespace");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return fail(errno, why, len, "private mounts");
	if (mount_setattr(AT_FDCWD, "/", AT_RECURSIVE, &ro, sizeof(ro)))
		return fail(errno, why, len, "read-only mounts");
	if (chroot(root) || chdir("/"))
		return fail(errno, why, len, root);
	/* The library is loaded as /proc/self/fd/N, which needs a /proc in its root. */
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
		return fail(errno, why, len, "a /proc of its own");
	return 0;
}

static int limit(int resource, rlim_t value)
{
	struct rlimit rl = { value, value };

	return setrlimit(resource, &rl) ? -errno : 0;
}

static int limits(void)
{
	int ret = 0;

	ret = ret ?: limit(RLIMIT_CORE, 0);
	ret = ret ?: limit(RLIMIT_CPU, 30);
	ret = ret ?: limit(RLIMIT_FSIZE, 1ul << 30); /* memfd copies of executables */
	ret = ret ?: limit(RLIMIT_NOFILE, 64);
	ret = ret ?: limit(RLIMIT_NPROC, 16); /* the proof's fork, and what a library tries */
	ret = ret ?: limit(RLIMIT_MEMLOCK, 0);
	ret = ret ?: limit(RLIMIT_MSGQUEUE, 0);
#ifndef UNDER_ASAN /* its shadow memory is terabytes of address space */
	ret = ret ?: limit(RLIMIT_AS, 4ul << 30);
#endif
	return ret;
}

static int allow(scmp_filter_ctx f, int nr)
{
	return seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 0);
}

/*
 * What loading a library (the dynamic loader, malloc, the sanitizers' runtime) and OpenSSL's
 * handshake over a socket pair need; anything else fails with EPERM. Files open read-only,
 * sockets only as a stream pair, processes only as forks, and no file in memory (memfd_create):
 * its pages would count against no limit.
 */
static int filter(void)
{
	static const int plain[] = {
		SCMP_SYS(read),		  SCMP_SYS(write),	     SCMP_SYS(readv),
		SCMP_SYS(writev),	  SCMP_SYS(pread64),	     SCMP_SYS(pwrite64),
		SCMP_SYS(lseek),	  SCMP_SYS(close),	     SCMP_SYS(fstat),
		SCMP_SYS(newfstatat),	  SCMP_SYS(stat),	     SCMP_SYS(lstat),
		SCMP_SYS(statx),	  SCMP_SYS(access),	     SCMP_SYS(faccessat),
		SCMP_SYS(faccessat2),	  SCMP_SYS(readlink),	     SCMP_SYS(readlinkat),
		SCMP_SYS(getcwd),	  SCMP_SYS(fcntl),	     SCMP_SYS(dup),
		SCMP_SYS(dup2),		  SCMP_SYS(dup3),	     SCMP_SYS(pipe2),
		SCMP_SYS(poll),		  SCMP_SYS(ppoll),	     SCMP_SYS(mmap),
		SCMP_SYS(mprotect),	  SCMP_SYS(munmap),	     SCMP_SYS(mremap),
		SCMP_SYS(madvise),	  SCMP_SYS(brk),	     SCMP_SYS(rt_sigaction),
		SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),    SCMP_SYS(sigaltstack),
		SCMP_SYS(getpid),	  SCMP_SYS(gettid),	     SCMP_SYS(getppid),
		SCMP_SYS(getuid),	  SCMP_SYS(geteuid),	     SCMP_SYS(getgid),
		SCMP_SYS(getegid),	  SCMP_SYS(kill),	     SCMP_SYS(tgkill),
		SCMP_SYS(wait4),	  SCMP_SYS(waitid),	     SCMP_SYS(exit),
		SCMP_SYS(exit_group),	  SCMP_SYS(futex),	     SCMP_SYS(set_robust_list),
		SCMP_SYS(rseq),		  SCMP_SYS(set_tid_address), SCMP_SYS(sched_yield),
		SCMP_SYS(sched_getaffinity), SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres),
		SCMP_SYS(gettimeofday),	  SCMP_SYS(nanosleep),	     SCMP_SYS(clock_nanosleep),
		SCMP_SYS(getrandom),	  SCMP_SYS(uname),	     SCMP_SYS(prlimit64),
		SCMP_SYS(getrlimit),	  SCMP_SYS(sysinfo),	     SCMP_SYS(sendto),
		SCMP_SYS(recvfrom),	  SCMP_SYS(sendmsg),	     SCMP_SYS(recvmsg),
		SCMP_SYS(shutdown),	  SCMP_SYS(getsockopt),	     SCMP_SYS(setsockopt),
		SCMP_SYS(getsockname),	  SCMP_SYS(getpeername),     SCMP_SYS(restart_syscall),
	};
	/* The sanitizers' runtime asks these; a library may too. Nothing else of prctl's. */
	static const int prctls[] = { PR_GET_DUMPABLE, PR_SET_NAME, PR_GET_NAME, PR_SET_VMA,
				      PR_GET_NO_NEW_PRIVS };
	/* O_TMPFILE without its O_DIRECTORY bit: opendir stays allowed */
	const scmp_datum_t writes = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND |
				    (O_TMPFILE & ~O_DIRECTORY);
	scmp_filter_ctx f = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	int ret = f ? 0 : -ENOMEM;

	for (size_t i = 0; !ret && i < sizeof(plain) / sizeof(plain[0]); i++)
		ret = allow(f, plain[i]);
	for (size_t i = 0; !ret && i < sizeof(prctls) / sizeof(prctls[0]); i++)
		ret = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
				       SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)prctls[i]));
	ret = ret ?: seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
				      SCMP_A2(SCMP_CMP_MASKED_EQ, writes, 0));
	ret = ret ?: seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(open), 1,
				      SCMP_A1(SCMP_CMP_MASKED_EQ, writes, 0));
	/* A stream pair: a datagram one could still send to a named socket (/dev/log, say). */
	ret = ret ?: seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socketpair), 2,
				      SCMP_A0(SCMP_CMP_EQ, AF_UNIX),
				      SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_STREAM));
	ret = ret ?: seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				      SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_DENIED, 0));
	/* clone3 passes its flags in memory, which a filter cannot read: glibc falls back to clone. */
	ret = ret ?: seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	ret = ret ?: seccomp_load(f);
	seccomp_release(f);
	return ret;
}

int sandbox_enter(int mntns_fd, const char *root, char *why, size_t len)
{
	bool root_user = geteuid() == 0;
	int ret;

	if (root_user) {
		/* sandbox_spawn makes the namespaces for root; no use going on without them. */
		if (getpid() != 1)
			return fail(EPERM, why, len, "not in namespaces of its own");
		ret = enter_root(mntns_fd, root, why, len);
		if (ret)
			return ret;
	} else if (strcmp(root, "/")) {
		return fail(EPERM, why, len, "another root needs root");
	}
	if (mntns_fd >= 0)
		close(mntns_fd);
	ret = limits();
	if (ret)
		return fail(-ret, why, len, "resource limits");
	if (root_user && (setgroups(0, NULL) || setresgid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID) ||
			  setresuid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID)))
		return fail(errno, why, len, "an unprivileged uid");
	/* Again after the uid changed, which clears it: tlsrec gone, the child goes too. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return fail(errno, why, len, "prctl");
	return 0;
}

int sandbox_seal(char *why, size_t len)
{
	int ret = filter();

	return ret ? fail(-ret, why, len, "its seccomp filter") : 0;
}

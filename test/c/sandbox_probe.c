/* sandbox_probe: the attacks of test/security/sandbox.test.ts against `ikc
 * sandbox`. Each attack is a real syscall; the result is printed as one JSON
 * line of errno names ("OK" for success), so the test can check them.
 *
 *   sandbox_probe attack EXIST FREE VSIG VSIGEX VLIMIT   (under ikc sandbox)
 *       EXIST: a live outside pid; FREE: a pid nobody has; VSIG, VSIGEX: outside
 *       processes the F_SETOWN / F_SETOWN_EX + F_SETSIG(SIGKILL) attacks aim at;
 *       VLIMIT: an outside process whose RLIMIT_NOFILE the prlimit attack sets.
 *   sandbox_probe int80                                  (under ikc sandbox)
 *       a 32-bit (i386) syscall, which the filter must refuse, not kill.
 *   sandbox_probe creds EXIST FREE                       (outside the sandbox)
 *       SCM_CREDENTIALS naming a foreign pid on a private socketpair: what the
 *       kernel itself says to this uid and these capabilities.
 *
 * Build: gcc -static -O2 -Wall -Werror -Iinclude -o sandbox_probe test/c/sandbox_probe.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include "broker_client.h"

#ifndef FUTEX_LOCK_PI2
#define FUTEX_LOCK_PI2 13
#endif

static const char *name(int e)
{
	static char other[16];
	switch (e) {
	case 0: return "OK";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case ESRCH: return "ESRCH";
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EINVAL: return "EINVAL";
	case ENOSYS: return "ENOSYS";
	case ENOTSOCK: return "ENOTSOCK";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EDEADLK: return "EDEADLK";
	case ENOEXEC: return "ENOEXEC";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	default: snprintf(other, sizeof(other), "E%d", e); return other;
	}
}

/* The errno name of a call that returned r (< 0 with errno set on failure). */
static const char *res(long r)
{
	return name(r < 0 ? errno : 0);
}

static int first = 1;

static void field(const char *key, const char *value)
{
	printf("%s\"%s\":\"%s\"", first ? "{" : ",", key, value);
	first = 0;
}

/* "A/B": the answers of one call for an existing and for a free pid, side by side. */
#define PAIR(key, call_exist, call_free)                                            \
	do {                                                                        \
		char v_[40];                                                        \
		errno = 0;                                                          \
		snprintf(v_, sizeof(v_), "%s/", res(call_exist));                   \
		errno = 0;                                                          \
		snprintf(v_ + strlen(v_), sizeof(v_) - strlen(v_), "%s", res(call_free)); \
		field(key, v_);                                                     \
	} while (0)

/* Sends one task_diag request for our own pid and waits for the reply; returns
 * 0 with the response fd closed, or -errno. The reply's arrival is also what
 * raises SIGIO on an O_ASYNC socket. */
static int ask_broker(int sock)
{
	int fd, r = ikc_send_task_diag(sock, TASK_DIAG_SHOW_BASE, TASK_DIAG_DUMP_ONE, (__u32)getpid());

	if (r < 0)
		return r;
	r = ikc_recv_reply(sock, &fd);
	if (fd >= 0)
		close(fd);
	return r;
}

/* Waits up to 2 s for one broker reply and drops it (after a message whose
 * answer we do not care about). */
static void drain(int sock)
{
	struct pollfd p = { sock, POLLIN, 0 };
	char buf[4096];

	if (poll(&p, 1, 2000) > 0 && recv(sock, buf, sizeof(buf), MSG_DONTWAIT) < 0)
		return;
}

/* sendmsg of one byte with SCM_CREDENTIALS naming `pid`. */
static long send_creds(int sock, pid_t pid)
{
	struct ucred cred = { pid, getuid(), getgid() };
	char cbuf[CMSG_SPACE(sizeof(cred))] = { 0 };
	char byte = 0;
	struct iovec iov = { &byte, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_CREDENTIALS;
	c->cmsg_len = CMSG_LEN(sizeof(cred));
	memcpy(CMSG_DATA(c), &cred, sizeof(cred));
	return sendmsg(sock, &mh, MSG_NOSIGNAL);
}

static long setown_ex(int fd, pid_t pid)
{
	struct f_owner_ex o = { F_OWNER_PID, pid };
	return fcntl(fd, F_SETOWN_EX, &o);
}

/* The clock id of a process's (or thread's) CPU clock, as clock_getcpuclockid makes it. */
static clockid_t cpu_clock(pid_t pid, int thread)
{
	return (clockid_t)((~(unsigned)pid) << 3) | 2 /* CPUCLOCK_SCHED */ | (thread ? 4 : 0);
}

static long clock_get(clockid_t id)
{
	struct timespec ts;
	return syscall(SYS_clock_gettime, id, &ts);
}

static long clock_res(clockid_t id)
{
	struct timespec ts;
	return syscall(SYS_clock_getres, id, &ts);
}

static long clock_sleep0(clockid_t id)
{
	struct timespec ts = { 0, 0 };
	/* clock_nanosleep returns the error instead of setting errno. */
	long r = syscall(SYS_clock_nanosleep, id, TIMER_ABSTIME, &ts, NULL);
	return r;
}

static long futex_pi(int op, pid_t owner)
{
	unsigned int word = (unsigned int)owner;
	struct timespec ts = { 0, 0 };
	return syscall(SYS_futex, &word, op | FUTEX_PRIVATE_FLAG, 0, op == FUTEX_TRYLOCK_PI ? NULL : &ts, NULL, 0);
}

static long prlimit_read(pid_t pid)
{
	struct rlimit old;
	return syscall(SYS_prlimit64, pid, RLIMIT_NOFILE, NULL, &old);
}

static char *const exec_argv[] = { "sandbox_probe", "never", NULL };
static char *const exec_envp[] = { NULL };

static long exec_path(const char *path)
{
	return syscall(SYS_execve, path, exec_argv, exec_envp);
}

static long execat(int dirfd, const char *path, int flags)
{
	return syscall(SYS_execveat, dirfd, path, exec_argv, exec_envp, flags);
}

/* Adds e's name to a comma list of distinct names. */
static void add_name(char *set, size_t size, int e)
{
	const char *n = name(e);
	char probe[24];

	snprintf(probe, sizeof(probe), ",%s,", n);
	{
		char with[600];
		snprintf(with, sizeof(with), ",%s,", set);
		if (strstr(with, probe))
			return;
	}
	snprintf(set + strlen(set), size - strlen(set), "%s%s", *set ? "," : "", n);
}

/* Records the errno name (or OK) of one call in a set of names. */
#define NOTE(set, call)                                                   \
	do {                                                              \
		long r_;                                                  \
		errno = 0;                                                \
		r_ = (call);                                              \
		add_name(set, sizeof(set), r_ < 0 ? errno : 0);           \
	} while (0)

static int attack(int argc, char **argv)
{
	const char *env = getenv("IKC_BROKER_FD");
	pid_t exist, freepid, vsig, vsigex, vlimit;
	char buf[600];
	int sock, fd, flags;
	long r;

	if (argc != 7 || !env) {
		fprintf(stderr, "usage: sandbox_probe attack EXIST FREE VSIG VSIGEX VLIMIT (under ikc sandbox)\n");
		return 2;
	}
	exist = atoi(argv[2]);
	freepid = atoi(argv[3]);
	vsig = atoi(argv[4]);
	vsigex = atoi(argv[5]);
	vlimit = atoi(argv[6]);
	sock = atoi(env);
	field("broker_fd", env);

	/* Which fds are open: only stdio and the broker connection should be. */
	buf[0] = 0;
	for (fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%d", buf[0] ? "," : "", fd);
	field("fds", buf);

	/* #13: a file the launcher had open as fd 200. */
	{
		char secret[64];
		ssize_t n = read(200, secret, sizeof(secret) - 1);
		if (n >= 0) {
			secret[n] = 0;
			for (ssize_t i = 0; i < n; i++)
				if (secret[i] < 0x20 || secret[i] > 0x7e || secret[i] == '"' || secret[i] == '\\')
					secret[i] = '?';
			snprintf(buf, sizeof(buf), "read %s", secret);
			field("fd200", buf);
		} else {
			field("fd200", name(errno));
		}
	}

	/* The broker answers (the sandbox still works). */
	r = ask_broker(sock);
	field("broker", name(r < 0 ? (int)-r : 0));

	/* Existence oracles: an existing pid and a free pid must get the same answer. */
	PAIR("setown_oracle", fcntl(sock, F_SETOWN, exist), fcntl(sock, F_SETOWN, freepid));
	PAIR("setown_pgrp_oracle", fcntl(sock, F_SETOWN, -exist), fcntl(sock, F_SETOWN, -freepid));
	PAIR("setownex_oracle", setown_ex(sock, exist), setown_ex(sock, freepid));
	if (fcntl(sock, F_SETOWN, 0) < 0 && errno != EPERM)
		return 1;
	PAIR("prlimit_oracle", prlimit_read(exist), prlimit_read(freepid));
	PAIR("clock_gettime_oracle", clock_get(cpu_clock(exist, 0)), clock_get(cpu_clock(freepid, 0)));
	PAIR("clock_gettime_thread_oracle", clock_get(cpu_clock(exist, 1)), clock_get(cpu_clock(freepid, 1)));
	PAIR("clock_getres_oracle", clock_res(cpu_clock(exist, 0)), clock_res(cpu_clock(freepid, 0)));
	PAIR("clock_nanosleep_oracle", clock_sleep0(cpu_clock(exist, 0)), clock_sleep0(cpu_clock(freepid, 0)));
	PAIR("futex_trylock_pi_oracle", futex_pi(FUTEX_TRYLOCK_PI, exist), futex_pi(FUTEX_TRYLOCK_PI, freepid));
	PAIR("futex_lock_pi_oracle", futex_pi(FUTEX_LOCK_PI2, exist), futex_pi(FUTEX_LOCK_PI2, freepid));
	{
		char pe[32], pf[32];
		snprintf(pe, sizeof(pe), "/proc/%d/", exist);
		snprintf(pf, sizeof(pf), "/proc/%d/", freepid);
		PAIR("execve_oracle", exec_path(pe), exec_path(pf));
		PAIR("execveat_oracle", execat(AT_FDCWD, pe, 0), execat(AT_FDCWD, pf, 0));
		/* The launcher started us with execveat(N, "", AT_EMPTY_PATH): whatever
		 * fd number N was, put an fd there and try again, with an empty path
		 * and with /proc paths (which ignore the fd). */
		buf[0] = 0;
		for (fd = 3; fd < 1024; fd++) {
			if (fd == sock)
				continue;
			if (dup3(1, fd, 0) < 0) {
				add_name(buf, sizeof(buf), errno);
				continue;
			}
			NOTE(buf, execat(fd, "", AT_EMPTY_PATH));
			NOTE(buf, execat(fd, pe, AT_EMPTY_PATH));
			NOTE(buf, execat(fd, pf, AT_EMPTY_PATH));
			close(fd);
		}
		field("execveat_sweep", buf);
	}

	/* SCM_CREDENTIALS naming another pid, existing or free. */
	{
		char v[40];
		r = send_creds(sock, exist);
		snprintf(v, sizeof(v), "%s/", res(r));
		if (r >= 0)
			drain(sock);
		r = send_creds(sock, freepid);
		snprintf(v + strlen(v), sizeof(v) - strlen(v), "%s", res(r));
		if (r >= 0)
			drain(sock);
		field("creds_oracle", v);
		r = send_creds(sock, getpid());
		field("creds_self", res(r));
		if (r >= 0)
			drain(sock);
	}

	/* #14: signals to outside processes through the socket's owner. Set the
	 * owner, SIGKILL as the signal and O_ASYNC, then make a reply arrive. */
	flags = fcntl(sock, F_GETFL);
	field("setownex_kill", res(setown_ex(sock, vsigex)));
	field("setsig", res(fcntl(sock, F_SETSIG, SIGKILL)));
	field("async", res(fcntl(sock, F_SETFL, flags | O_ASYNC)));
	r = ask_broker(sock);
	field("setown_kill", res(fcntl(sock, F_SETOWN, vsig)));
	r = ask_broker(sock);
	field("broker_after", name(r < 0 ? (int)-r : 0));
	if (fcntl(sock, F_SETFL, flags) < 0)
		return 1;

	/* #14: another process's limits. */
	{
		struct rlimit lim = { 16, 16 };
		field("prlimit_victim", res(syscall(SYS_prlimit64, vlimit, RLIMIT_NOFILE, &lim, NULL)));
	}

	/* What must still work: the caller's own limits, clocks, futexes, fcntl. */
	{
		struct rlimit lim;
		int ok = syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &lim) == 0 &&
			 syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &lim, NULL) == 0 && getrlimit(RLIMIT_CORE, &lim) == 0;
		field("prlimit_self", ok ? "OK" : name(errno));
	}
	{
		int ok = clock_get(CLOCK_MONOTONIC) == 0 && clock_get(CLOCK_REALTIME) == 0 &&
			 clock_get(CLOCK_PROCESS_CPUTIME_ID) == 0 && clock_get(CLOCK_THREAD_CPUTIME_ID) == 0 &&
			 clock_res(CLOCK_MONOTONIC) == 0 && clock_sleep0(CLOCK_MONOTONIC) == 0;
		field("clock_self", ok ? "OK" : name(errno));
	}
	{
		unsigned int word = 0;
		struct timespec ts = { 0, 1000 };
		int ok = syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) == 0 &&
			 syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 1, &ts, NULL, 0) < 0 && errno == EAGAIN;
		field("futex_self", ok ? "OK" : name(errno));
	}
	{
		int d = fcntl(1, F_DUPFD_CLOEXEC, 10), d2 = d >= 0 ? fcntl(d, F_DUPFD, 10) : -1;
		int fl = d >= 0 ? fcntl(d, F_GETFL) : -1;
		int ok = d >= 0 && d2 >= 0 && fcntl(d, F_GETFD) == FD_CLOEXEC && fcntl(d, F_SETFD, 0) == 0 && fl >= 0 &&
			 fcntl(d, F_SETFL, fl | O_NONBLOCK) == 0 && fcntl(d, F_SETFL, fl) == 0;
		field("fcntl_allowed", ok ? "OK" : name(errno));
		/* Commands that read or set another process's pid, or signal: F_GETOWN,
		 * F_GETOWN_EX, F_GETLK (l_pid), F_SETLK, F_OFD_GETLK, F_SETLEASE,
		 * F_NOTIFY, F_SETPIPE_SZ. */
		buf[0] = 0;
		if (d >= 0) {
			struct flock lk = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
			struct f_owner_ex o;
			int cmds[] = { F_GETOWN, F_GETSIG, F_SETLEASE, F_GETLEASE, F_NOTIFY, F_SETPIPE_SZ };
			NOTE(buf, fcntl(d, F_GETOWN_EX, &o));
			NOTE(buf, fcntl(d, F_GETLK, &lk));
			NOTE(buf, fcntl(d, F_SETLK, &lk));
			NOTE(buf, fcntl(d, F_OFD_GETLK, &lk));
			for (unsigned i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
				NOTE(buf, fcntl(d, cmds[i], 0));
			close(d);
			close(d2);
		}
		field("fcntl_denied", buf);
	}
	printf("}\n");
	return 0;
}

static int int80(void)
{
#if defined(__x86_64__)
	long r;
	/* i386 getpid (20): the filter sees AUDIT_ARCH_I386. */
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
	field("int80", r < 0 ? name((int)-r) : "OK");
#else
	field("int80", "EPERM");
#endif
	printf("}\n");
	return 0;
}

static int creds(int argc, char **argv)
{
	int sv[2];

	if (argc != 4)
		return 2;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
		return 1;
	PAIR("creds_oracle", send_creds(sv[0], atoi(argv[2])), send_creds(sv[0], atoi(argv[3])));
	printf("}\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "attack"))
		return attack(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "int80"))
		return int80();
	if (argc >= 2 && !strcmp(argv[1], "creds"))
		return creds(argc, argv);
	fprintf(stderr, "usage: sandbox_probe attack|int80|creds ...\n");
	return 2;
}

/* broker_identity: a broker client that tries to raise its rights after it
 * connected, for test/security/identity.test.ts. Each mode prints one JSON line:
 * for every reply, whether the dump listed TARGET (a process of another uid).
 *
 *   rise-exec SOCK TARGET N      queue N requests, then exec setuid-root passwd
 *                                while a child sharing the connection reads the replies
 *   seteuid-back SOCK TARGET UID as root: seteuid(UID), connect, seteuid(0), ask
 *   thread-drop SOCK TARGET UID  as root: one thread alone drops to UID (raw
 *                                setresuid), connects and asks; the others stay root
 * Build: gcc -O2 -Wall -Werror -pthread -Iinclude -o broker_identity test/c/broker_identity.c */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include "broker_client.h"

static const char *sock_path;
static unsigned target;

static int connect_broker(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct ikc_broker_reply hello;
	char text[1024];
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		return -errno;
	struct iovec iov[2] = { { &hello, sizeof(hello) }, { text, sizeof(text) } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	if (recvmsg(s, &mh, 0) < (ssize_t)sizeof(hello) || hello.result < 0)
		return -EPROTO;
	return s;
}

static int send_request(int s)
{
	return ikc_send_task_diag(s, TASK_DIAG_SHOW_BASE, TASK_DIAG_DUMP_ALL, 0);
}

/* Reads one reply; returns 1 if its dump lists `target`, 0 if not, -errno on a refusal. */
static int read_reply(int s)
{
	static char buf[16 << 20];
	int fd, seen = 0, r = ikc_recv_reply(s, &fd);
	ssize_t n, len = 0;

	if (r < 0)
		return r;
	if (fd < 0)
		return -EPROTO;
	while ((n = read(fd, buf + len, sizeof(buf) - len)) > 0)
		len += n;
	close(fd);
	for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
		if (h->nlmsg_type != TASK_DIAG_CMD_GET)
			break;
		struct task_diag_msg *m = NLMSG_DATA(h);
		if (m->pid == target)
			seen = 1;
	}
	return seen;
}

static void print_results(const int *r, int n)
{
	printf("{\"replies\":[");
	for (int i = 0; i < n; i++)
		printf("%s%d", i ? "," : "", r[i]);
	printf("]}\n");
	fflush(stdout);
}

static int rise_exec(int n)
{
	int s = connect_broker(), in[2], results[256];

	if (s < 0 || n > 256 || pipe(in) < 0)
		return 2;
	for (int i = 0; i < n; i++)
		if (send_request(s) < 0)
			return 2;
	pid_t child = fork();
	if (child == 0) {
		close(in[0]);
		for (int i = 0; i < n; i++)
			results[i] = read_reply(s);
		print_results(results, n);
		close(in[1]); /* passwd reads EOF and exits */
		_exit(0);
	}
	/* The parent becomes euid 0 by exec, with the connection (and its queued
	 * requests, sent as this process) still open. */
	close(in[1]);
	dup2(in[0], 0);
	execl("/usr/bin/passwd", "passwd", (char *)NULL);
	return 3;
}

static int seteuid_back(unsigned uid)
{
	int s, r;

	if (setresgid(-1, uid, -1) < 0 || setresuid(-1, uid, 0) < 0)
		return 2;
	s = connect_broker();
	if (s < 0 || setresuid(-1, 0, -1) < 0 || setresgid(-1, 0, -1) < 0)
		return 2;
	if (send_request(s) < 0)
		return 2;
	r = read_reply(s);
	print_results(&r, 1);
	return 0;
}

static unsigned drop_uid;
static int thread_result = -EPROTO;

static void *dropper(void *arg)
{
	int s;
	(void)arg;
	/* Raw syscalls: glibc's wrappers would change every thread. */
	if (syscall(SYS_setresgid, drop_uid, drop_uid, drop_uid) < 0 || syscall(SYS_setresuid, drop_uid, drop_uid, drop_uid) < 0)
		return NULL;
	s = connect_broker();
	if (s >= 0 && send_request(s) == 0)
		thread_result = read_reply(s);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;

	if (argc != 5)
		return 2;
	sock_path = argv[2];
	target = (unsigned)atoi(argv[3]);
	if (!strcmp(argv[1], "rise-exec"))
		return rise_exec(atoi(argv[4]));
	if (!strcmp(argv[1], "seteuid-back"))
		return seteuid_back((unsigned)atoi(argv[4]));
	if (!strcmp(argv[1], "thread-drop")) {
		drop_uid = (unsigned)atoi(argv[4]);
		if (pthread_create(&t, NULL, dropper, NULL) || pthread_join(t, NULL))
			return 2;
		print_results(&thread_result, 1);
		return 0;
	}
	return 2;
}

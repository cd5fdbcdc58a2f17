/* sandboxed-ps: a service that lists processes through the ikc broker while
 * /proc is out of its reach. Run it under `ikc --broker PATH sandbox --
 * ./sandboxed-ps`: it first shows that opening /proc/1/stat fails, then asks the
 * broker (fd IKC_BROKER_FD) for a task_diag dump and prints PID PPID UID COMMAND.
 * Build static (the sandbox forbids the file opens a dynamic loader needs):
 *   gcc -static -O2 -Iinclude -o sandboxed-ps examples/sandboxed-ps.c */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include "ikc/broker.h"
#include "ikc/task_diag.h"

/* Sends one task_diag request through the broker; returns the response fd or -errno. */
static int ask_broker(int sock, __u64 show, __u64 strategy, __u32 pid)
{
	struct {
		struct ikc_broker_request hdr;
		struct nlmsghdr nlh;
		struct task_diag_pid req;
	} __attribute__((packed)) msg = {
		.hdr = { IKC_BROKER_MAGIC, IKC_BROKER_VERSION, IKC_NS_CURRENT_PID, IKC_TASK_DIAG, 0,
			 sizeof(struct nlmsghdr) + sizeof(struct task_diag_pid), 0 },
		.nlh = { sizeof(struct nlmsghdr) + sizeof(struct task_diag_pid), TASK_DIAG_CMD_GET,
			 NLM_F_REQUEST | NLM_F_DUMP, 1, 0 },
		.req = { show, strategy, pid },
	};
	struct ikc_broker_reply reply;
	char text[1024], cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov[2] = { { &reply, sizeof(reply) }, { text, sizeof(text) } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;

	if (send(sock, &msg, sizeof(msg), MSG_NOSIGNAL) < 0)
		return -errno;
	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) < (ssize_t)sizeof(reply))
		return -EPROTO;
	if (reply.result < 0) {
		fprintf(stderr, "broker: %.*s\n", (int)reply.message_len, text);
		return reply.result;
	}
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int fd;
			memcpy(&fd, CMSG_DATA(c), sizeof(fd));
			return fd;
		}
	return -EPROTO;
}

int main(void)
{
	const char *env = getenv("IKC_BROKER_FD");
	static char buf[64 << 20];
	ssize_t n, len = 0;
	struct nlmsghdr *h;
	int fd, sock;

	fd = open("/proc/1/stat", O_RDONLY);
	if (fd >= 0) {
		fprintf(stderr, "sandboxed-ps: /proc is reachable: not sandboxed\n");
		close(fd);
	} else {
		fprintf(stderr, "sandboxed-ps: open /proc/1/stat: %s\n", strerror(errno));
	}
	if (!env) {
		fprintf(stderr, "sandboxed-ps: no IKC_BROKER_FD (run me under ikc sandbox)\n");
		return 2;
	}
	sock = atoi(env);
	fd = ask_broker(sock, TASK_DIAG_SHOW_BASE | TASK_DIAG_SHOW_CRED, TASK_DIAG_DUMP_ALL, 0);
	if (fd < 0) {
		fprintf(stderr, "sandboxed-ps: broker: %s\n", strerror(-fd));
		return 1;
	}
	while ((n = read(fd, buf + len, sizeof(buf) - len)) > 0)
		len += n;
	close(fd);
	printf("%7s %7s %6s %s\n", "PID", "PPID", "UID", "COMMAND");
	for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
		struct nlattr *na;
		struct task_diag_base *base = NULL;
		struct task_diag_creds *creds = NULL;
		int rem;

		if (h->nlmsg_type != TASK_DIAG_CMD_GET)
			break;
		na = (struct nlattr *)((char *)NLMSG_DATA(h) + NLA_ALIGN(sizeof(struct task_diag_msg)));
		rem = NLMSG_PAYLOAD(h, sizeof(struct task_diag_msg));
		for (; rem >= (int)sizeof(*na) && na->nla_len >= sizeof(*na) && na->nla_len <= rem;
		     rem -= NLA_ALIGN(na->nla_len), na = (struct nlattr *)((char *)na + NLA_ALIGN(na->nla_len))) {
			if (na->nla_type == TASK_DIAG_BASE)
				base = (void *)((char *)na + NLA_HDRLEN);
			if (na->nla_type == TASK_DIAG_CRED)
				creds = (void *)((char *)na + NLA_HDRLEN);
		}
		if (base && creds)
			printf("%7u %7u %6u %.16s\n", base->pid, base->ppid, creds->euid, base->comm);
	}
	return 0;
}

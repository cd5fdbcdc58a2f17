/* selftest_client: a task_diag client that sizes its request as the reference
 * selftest (tools/testing/selftests/task_diag/task_diag_all.c in
 * avagin/linux-task-diag) does: the message is nlmsg_total_size(0) +
 * nla_total_size(sizeof(struct task_diag_pid)) = 16 + 28 = 44 bytes, with the
 * struct at NLMSG_DATA and 4 bytes of alignment after it. Unlike the selftest,
 * whose stack buffer is left uninitialized, the buffer is zeroed first (a
 * strict reader cannot accept garbage past the struct). Like the selftest it
 * sets neither nlmsg_type nor nlmsg_flags (the reference kernel took the
 * command from the call; ikc reads type 0 as the command it is issued as).
 * It asks an ikc broker and prints, for test/c-abi.test.ts:
 *   request LEN PAYLOAD          the sizes sent
 *   PID TGID PPID STATE COMM     one line per task
 * or "refused -ERRNO MESSAGE" and exits 1.
 *
 *   selftest_client SOCKET a|A|o|t|c [PID]   (all, All threads, one, threads, children)
 * Build: gcc -std=c11 -O1 -Wall -Werror -Iinclude -o selftest_client test/c/selftest_client.c */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>
#include "ikc/broker.h"
#include "ikc/task_diag.h"

/* The sizes libnl and the kernel compute (include/net/netlink.h). */
static int nlmsg_total_size(int payload) { return NLMSG_ALIGN(NLMSG_HDRLEN + payload); }
static int nla_total_size(int payload) { return NLA_ALIGN(NLA_HDRLEN + payload); }

static int connect_broker(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct ikc_broker_reply hello;
	char text[1024];
	struct iovec iov[2] = { { &hello, sizeof(hello) }, { text, sizeof(text) } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		return -1;
	if (recvmsg(s, &mh, 0) < (ssize_t)sizeof(hello) || hello.kind != IKC_REPLY_HELLO)
		return -1;
	return s;
}

/* Sends the request; returns the response fd, or -1 after printing the refusal. */
static int ask(int s, const struct nlmsghdr *hdr)
{
	struct ikc_broker_request rq = { IKC_BROKER_MAGIC, IKC_BROKER_VERSION, IKC_NS_CURRENT_PID, IKC_TASK_DIAG, 0,
					  hdr->nlmsg_len, 0 };
	struct iovec out[2] = { { &rq, sizeof(rq) }, { (void *)hdr, hdr->nlmsg_len } };
	struct msghdr mo = { .msg_iov = out, .msg_iovlen = 2 };
	struct ikc_broker_reply reply;
	char text[1025] = { 0 }, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec in[2] = { { &reply, sizeof(reply) }, { text, sizeof(text) - 1 } };
	struct msghdr mi = { .msg_iov = in, .msg_iovlen = 2, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	int fd = -1;

	if (sendmsg(s, &mo, MSG_NOSIGNAL) < 0 || recvmsg(s, &mi, MSG_CMSG_CLOEXEC) < (ssize_t)sizeof(reply))
		return -1;
	if (reply.result < 0) {
		printf("refused %d %s\n", reply.result, text);
		return -1;
	}
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mi); c; c = CMSG_NXTHDR(&mi, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	return fd;
}

/* Prints each task of the dump, reading attributes as the selftest's show_task does. */
static int show(char *buf, ssize_t len)
{
	for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
		if (h->nlmsg_type == NLMSG_DONE)
			return *(int *)NLMSG_DATA(h) == 0 ? 0 : 5;
		if (h->nlmsg_type != TASK_DIAG_CMD_GET)
			return 4;
		struct task_diag_msg *msg = NLMSG_DATA(h);
		struct task_diag_base *base = NULL;
		int at = NLMSG_ALIGN(sizeof(*msg)), end = NLMSG_PAYLOAD(h, 0);
		while (at + NLA_HDRLEN <= end) {
			struct nlattr *na = (struct nlattr *)((char *)msg + at);
			if (na->nla_len < NLA_HDRLEN || at + na->nla_len > end)
				return 4;
			if (na->nla_type == TASK_DIAG_BASE && na->nla_len >= NLA_HDRLEN + sizeof(*base))
				base = (void *)((char *)na + NLA_HDRLEN);
			at += NLA_ALIGN(na->nla_len);
		}
		if (!base)
			return 4;
		printf("%u %u %u %u %.16s\n", msg->pid, msg->tgid, base->ppid, base->state, base->comm);
	}
	return 4; /* no NLMSG_DONE */
}

int main(int argc, char **argv)
{
	char nl_req[4096];
	struct nlmsghdr *hdr = (void *)nl_req;
	struct task_diag_pid *req;
	static char buf[64 << 20];
	ssize_t n, len = 0;
	int s, fd;

	if (argc < 3)
		return 2;
	memset(nl_req, 0, sizeof(nl_req));
	hdr->nlmsg_len = nlmsg_total_size(0);
	req = NLMSG_DATA(hdr);
	hdr->nlmsg_len += nla_total_size(sizeof(*req));
	req->show_flags = TASK_DIAG_SHOW_BASE;
	req->pid = argc > 3 ? (__u32)atoi(argv[3]) : 0;
	switch (argv[2][0]) {
	case 'a': req->dump_strategy = TASK_DIAG_DUMP_ALL; break;
	case 'A': req->dump_strategy = TASK_DIAG_DUMP_ALL_THREAD; break;
	case 'o': req->dump_strategy = TASK_DIAG_DUMP_ONE; break;
	case 't': req->dump_strategy = TASK_DIAG_DUMP_THREAD; break;
	case 'c': req->dump_strategy = TASK_DIAG_DUMP_CHILDREN; break;
	default: return 2;
	}
	printf("request %u %u\n", hdr->nlmsg_len, hdr->nlmsg_len - NLMSG_HDRLEN);

	s = connect_broker(argv[1]);
	if (s < 0)
		return 3;
	fd = ask(s, hdr);
	if (fd < 0)
		return 1;
	while ((n = read(fd, buf + len, sizeof(buf) - len)) > 0)
		len += n;
	close(fd);
	close(s);
	return show(buf, len);
}

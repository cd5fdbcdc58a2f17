/* broker_client.h: the two halves of one broker request, shared by the test
 * clients under test/c/ (examples/sandboxed-ps.c stays self-contained, as
 * documentation). Header-only: each test program is one gcc call. */
#ifndef IKC_TEST_BROKER_CLIENT_H
#define IKC_TEST_BROKER_CLIENT_H
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include "ikc/broker.h"
#include "ikc/task_diag.h"

/* Sends one task_diag request (CURRENT_PIDNS) on a connected broker socket; 0 or -errno. */
static inline int ikc_send_task_diag(int sock, __u64 show, __u64 strategy, __u32 pid)
{
	struct {
		struct ikc_broker_request hdr;
		struct nlmsghdr nlh;
		struct task_diag_pid req;
	} __attribute__((packed)) msg = {
		.hdr = { IKC_BROKER_MAGIC, IKC_BROKER_VERSION, IKC_NS_CURRENT_PID, IKC_TASK_DIAG, 0,
			 sizeof(struct nlmsghdr) + sizeof(struct task_diag_pid), 0 },
		.nlh = { sizeof(struct nlmsghdr) + sizeof(struct task_diag_pid), TASK_DIAG_CMD_GET,
			 NLM_F_REQUEST | (strategy == TASK_DIAG_DUMP_ONE ? 0 : NLM_F_DUMP), 1, 0 },
		.req = { show, strategy, pid },
	};
	return send(sock, &msg, sizeof(msg), MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* Receives one reply: its result (0 or -errno), with the response fd in *fd
 * (-1 if none came). */
static inline int ikc_recv_reply(int sock, int *fd)
{
	struct ikc_broker_reply reply;
	char text[1024], cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov[2] = { { &reply, sizeof(reply) }, { text, sizeof(text) } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;

	*fd = -1;
	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) < (ssize_t)sizeof(reply))
		return -EPROTO;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(c), sizeof(*fd));
	return reply.result;
}
#endif

/* Reads a task_diag response on stdin with nothing but the C header and the
 * kernel's netlink macros, and prints one line per task:
 *   pid tgid ppid pgid sid tpid state uid euid gid comm
 * Used by test/c-abi.test.ts to prove ikc's bytes match the uapi layout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ikc/task_diag.h"

int main(void)
{
	static char buf[64 << 20];
	size_t len = fread(buf, 1, sizeof(buf), stdin);
	struct nlmsghdr *hdr;
	int done = 0;

	_Static_assert(sizeof(struct task_diag_base) == 44, "task_diag_base");
	_Static_assert(sizeof(struct task_diag_creds) == 64, "task_diag_creds");
	_Static_assert(sizeof(struct task_diag_pid) == 24, "task_diag_pid");

	for (hdr = (struct nlmsghdr *)buf; NLMSG_OK(hdr, len); hdr = NLMSG_NEXT(hdr, len)) {
		struct task_diag_msg *msg = NLMSG_DATA(hdr);
		struct task_diag_base *base = NULL;
		struct task_diag_creds *creds = NULL;
		struct nlattr *na;
		int rem;

		if (hdr->nlmsg_type == NLMSG_DONE) {
			done = 1;
			break;
		}
		if (hdr->nlmsg_type != TASK_DIAG_CMD_GET || !(hdr->nlmsg_flags & NLM_F_MULTI))
			return 2;
		na = (struct nlattr *)((char *)msg + NLA_ALIGN(sizeof(*msg)));
		rem = NLMSG_PAYLOAD(hdr, sizeof(*msg));
		while (rem >= (int)sizeof(*na) && na->nla_len >= sizeof(*na) && na->nla_len <= rem) {
			if (na->nla_type == TASK_DIAG_BASE)
				base = (void *)((char *)na + NLA_HDRLEN);
			if (na->nla_type == TASK_DIAG_CRED)
				creds = (void *)((char *)na + NLA_HDRLEN);
			rem -= NLA_ALIGN(na->nla_len);
			na = (struct nlattr *)((char *)na + NLA_ALIGN(na->nla_len));
		}
		if (!base || !creds)
			return 3;
		printf("%u %u %u %u %u %u %u %u %u %u %.16s\n", msg->pid, msg->tgid, base->ppid, base->pgid,
		       base->sid, base->tpid, base->state, creds->uid, creds->euid, creds->gid, base->comm);
	}
	return done ? 0 : 4;
}

/* Reads a PROC_EVENTS stream on stdin with nothing but <linux/netlink.h>,
 * <linux/cn_proc.h> and include/ikc: prints "exec PID COMM" per exec event,
 * the header sizes first, and stops at NLMSG_DONE. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/cn_proc.h>
#include <linux/netlink.h>
#include <ikc/events.h>
#include <ikc/stream.h>

int main(void)
{
	static char buf[1 << 20];
	size_t len = 0;
	printf("sizes %zu %zu %zu %zu\n", sizeof(struct proc_event), sizeof(struct ikc_proc_event_extra), sizeof(struct ikc_events_request),
	       offsetof(struct proc_event, event_data.exit.exit_code));
	for (;;) {
		ssize_t n = read(0, buf + len, sizeof(buf) - len);
		if (n <= 0)
			return 1;
		len += (size_t)n;
		size_t off = 0;
		while (len - off >= NLMSG_HDRLEN) {
			struct nlmsghdr *h = (struct nlmsghdr *)(buf + off);
			if (h->nlmsg_len < NLMSG_HDRLEN || h->nlmsg_len > len - off)
				break;
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == IKC_PROC_EVENT) {
				struct proc_event *ev = NLMSG_DATA(h);
				struct ikc_proc_event_extra *x = (struct ikc_proc_event_extra *)(ev + 1);
				if (ev->what == PROC_EVENT_EXEC)
					printf("exec %d %.16s\n", ev->event_data.exec.process_pid, (x->flags & IKC_EVENT_HAS_COMM) ? x->comm : "?");
			}
			off += NLMSG_ALIGN(h->nlmsg_len);
		}
		memmove(buf, buf + off, len - off);
		len -= off;
	}
}

/* ikc PROC_EVENTS (docs/wire-format.md, "Events"): a stream (include/ikc/stream.h)
 * of the process connector's events. Each IKC_PROC_EVENT message is the
 * kernel's struct proc_event (<linux/cn_proc.h>) with its pids numbered in the
 * subscriber's pid namespace, then struct ikc_proc_event_extra, then
 * cmdline_len bytes of command line (NUL-separated). Native byte order. */
#ifndef IKC_EVENTS_H
#define IKC_EVENTS_H

#include <linux/types.h>

#define IKC_PROC_EVENT       0x7e20 /* nlmsg_type of an event */
#define IKC_EVENTS_SUBSCRIBE 0x7e21 /* request nlmsg_type (0 accepted too) */

#define IKC_EVENTS_CMDLINE 0x1 /* flags: an exec carries its command line */
#define IKC_EVENTS_SUBTREE 0x2 /* flags: follow the pids' descendants too */
#define IKC_EVENTS_MAX_PIDS 16

struct ikc_events_request {
	__u64 count;                      /* events, then NLMSG_DONE; 0: until closed */
	__u32 types;                      /* PROC_EVENT_* bits; 0: all */
	__u32 flags;                      /* IKC_EVENTS_* */
	__u32 npids;                      /* used entries of pids; 0: every task */
	__u32 reserved;                   /* 0 */
	__u32 pids[IKC_EVENTS_MAX_PIDS];  /* in the target namespace's numbering */
};

#define IKC_EVENT_HAS_COMM    0x1
#define IKC_EVENT_HAS_CMDLINE 0x2

struct ikc_proc_event_extra {
	__u32 flags;       /* IKC_EVENT_HAS_* */
	__u32 cmdline_len; /* bytes that follow */
	char comm[16];     /* the subject's comm (after an exec, the new one) */
};

#endif /* IKC_EVENTS_H */

/* The ikc broker protocol, v2 (docs/protocol.md): one SOCK_SEQPACKET message per
 * request and per reply, integers in native byte order. Identity is never sent:
 * the broker takes it from the kernel (SO_PEERCRED, SCM_CREDENTIALS, pidfd). */
#ifndef IKC_BROKER_H
#define IKC_BROKER_H

#include <linux/types.h>

#define IKC_BROKER_MAGIC 0x42434b49U /* "IKCB" on little-endian machines */
#define IKC_BROKER_VERSION 2 /* v2 added IKC_REPLY_STREAM; a v1 request is -EPROTONOSUPPORT */

enum ikc_ns_kind {
	IKC_NS_PASSED_FD = 0,   /* the one fd sent with SCM_RIGHTS */
	IKC_NS_CURRENT_PID = 1, /* the client's own pid namespace */
	IKC_NS_CURRENT_NET = 2, /* the client's own network namespace */
	IKC_NS_GLOBAL = 3,      /* the initial namespace (client must be in it) */
};

struct ikc_broker_request {
	__u32 magic;
	__u16 version;
	__u16 ns_kind;
	__u32 command;     /* e.g. IKC_TASK_DIAG */
	__u32 flags;       /* 0 */
	__u32 request_len; /* bytes following this header */
	__u32 reserved;    /* 0 */
	/* __u8 request[request_len]; */
};

enum ikc_reply_kind {
	IKC_REPLY_HELLO = 0,  /* sent once on connect; result = largest request accepted */
	IKC_REPLY_RESULT = 1, /* result = 0 with the snapshot response fd (SCM_RIGHTS), or -errno */
	IKC_REPLY_STREAM = 2, /* result = 0 with a stream's read end (SCM_RIGHTS; see ikc/stream.h) */
};

struct ikc_broker_reply {
	__u32 magic;
	__u16 version;
	__u16 kind;
	__s32 result;
	__u32 message_len; /* an error text follows */
};

#endif /* IKC_BROKER_H */

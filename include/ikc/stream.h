/* ikc stream responses (docs/wire-format.md, "Streams"): a command whose table
 * row says "stream" (LINK_STATS, PROC_EVENTS) answers with the read end of a
 * pipe carrying netlink messages. nlmsg_seq is the stream's own sequence
 * number (0, 1, 2, ...); read it as a byte stream and split at nlmsg_len (one
 * read may return several messages or part of one). The stream ends with one
 * NLMSG_DONE carrying struct ikc_stream_end, then EOF. Native byte order. */
#ifndef IKC_STREAM_H
#define IKC_STREAM_H

#include <linux/types.h>

#define IKC_STREAM_COMMAND_TYPES 0x7e00 /* first nlmsg_type of the commands' own messages */
#define IKC_STREAM_LOST          0x7f01 /* struct ikc_stream_lost */
#define IKC_STREAM_POSSIBLY_LOST 0x7f02 /* struct ikc_stream_lost, count IKC_LOST_UNKNOWN */

#define IKC_LOST_UNKNOWN (~(__u64)0)

enum ikc_loss_cause {
	IKC_LOSS_QUEUE_FULL = 1, /* the reader did not keep up */
	IKC_LOSS_SOURCE = 2,     /* the source lost them (a kernel socket overran) */
	IKC_LOSS_SILENCE = 3,    /* the source went quiet when it should not have */
};

struct ikc_stream_lost {
	__u64 count;     /* or IKC_LOST_UNKNOWN */
	__u32 first_seq; /* the sequence numbers the lost messages had, */
	__u32 last_seq;  /* 0 and 0 when they never had any (a source's loss) */
	__u32 cause;     /* enum ikc_loss_cause */
	__u32 reserved;
};

enum ikc_end_reason {
	IKC_END_COMPLETE = 1, /* the count asked for was delivered */
	IKC_END_SHUTDOWN = 2, /* the broker is shutting down */
	IKC_END_TOO_SLOW = 3, /* the reader fell too far behind */
	IKC_END_ERROR = 4,    /* error says which */
	IKC_END_REVOKED = 5,  /* the subscriber may no longer see the target */
};

struct ikc_stream_end {
	__s32 error;     /* -errno, where a dump's NLMSG_DONE carries its int */
	__u32 reason;    /* enum ikc_end_reason */
	__u64 delivered; /* messages before this one */
	__u64 lost;      /* messages dropped for this reader */
};

/* LINK_STATS (STATS_SUBSCRIBE for the links of a network namespace). */
#define IKC_STATS_SUBSCRIBE 0x7e10 /* request nlmsg_type (0 accepted too) */
#define IKC_STATS_SNAPSHOT  0x7e11 /* struct ikc_stats_tick, then the kernel's RTM_NEWLINK messages */

struct ikc_stats_request {
	__u64 count;         /* ticks before the stream ends; 0: until closed */
	__u32 interval_ms;   /* 100 .. 3600000 */
	__u32 flags;         /* 0 */
	__u64 show_flags;    /* task statistics only; 0 for links */
	__u32 dump_strategy; /* task statistics only; 0 for links */
	__u32 pid;           /* task statistics only; 0 for links */
};

struct ikc_stats_tick {
	__u64 tick;         /* deadline k = anchor + k * interval */
	__u64 missed;       /* ticks since the reader's previous snapshot never taken (late producer) */
	__u64 skipped;      /* ticks since then taken but replaced (latest wins) */
	__u64 monotonic_ns; /* CLOCK_MONOTONIC when taken */
	__u32 flags;
	__u32 reserved;
};

#endif /* IKC_STREAM_H */

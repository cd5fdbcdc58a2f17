/* task_diag wire format as ikc produces it: layout-compatible with Andrey
 * Vagin's include/uapi/linux/task_diag.h (task_diag v3), so programs written
 * against that header parse ikc responses unchanged. See docs/wire-format.md. */
#ifndef IKC_TASK_DIAG_H
#define IKC_TASK_DIAG_H

#include <linux/types.h>
#include <linux/netlink.h>

/* issue_kernel_command: the ns sentinels and the command number. */
#define IKC_CURRENT_PIDNS (-2)
#define IKC_CURRENT_NETNS (-3)
#define IKC_GLOBAL (-4)
#define IKC_READ_ONLY 0x80000000U
#define IKC_TASK_DIAG (IKC_READ_ONLY | 1U)

#define TASK_DIAG_CMD_GET 0xd101U

struct task_diag_msg {
	__u32 pid;
	__u32 tgid;
	__u32 flags;
};

#define TASK_DIAG_FLAG_CONT 0x00000001

enum {
	TASK_DIAG_BASE = 0,
	TASK_DIAG_CRED,
	TASK_DIAG_VMA,
	TASK_DIAG_VMA_STAT,
	TASK_DIAG_STAT,
	__TASK_DIAG_ATTR_MAX
};

/* Attribute types ikc adds, which the reference never had: 32..63. Requestable
 * (show_flags is 1 << type) and clear of the reference's numbers, which grow
 * from 0 (0..31 are left to it). See docs/wire-format.md, "Attribute types". */
#define TASK_DIAG_IKC_ATTR_FIRST 32
#define TASK_DIAG_IKC_ATTR_LAST 63

enum {
	TASK_DIAG_IKC_PS = 32,      /* struct task_diag_ikc_ps */
	TASK_DIAG_IKC_CMDLINE = 33, /* argv bytes as /proc/PID/cmdline; may repeat (joined in order) */
	TASK_DIAG_IKC_NAME = 34,    /* the whole task name, no NUL (comm is cut to 15 bytes) */
};

#define TASK_DIAG_SHOW_BASE (1ULL << TASK_DIAG_BASE)
#define TASK_DIAG_SHOW_CRED (1ULL << TASK_DIAG_CRED)
#define TASK_DIAG_SHOW_VMA (1ULL << TASK_DIAG_VMA)
#define TASK_DIAG_SHOW_VMA_STAT (1ULL << TASK_DIAG_VMA_STAT)
#define TASK_DIAG_SHOW_STAT (1ULL << TASK_DIAG_STAT)
#define TASK_DIAG_SHOW_IKC_PS (1ULL << TASK_DIAG_IKC_PS)
#define TASK_DIAG_SHOW_IKC_CMDLINE (1ULL << TASK_DIAG_IKC_CMDLINE)
#define TASK_DIAG_SHOW_IKC_NAME (1ULL << TASK_DIAG_IKC_NAME)

enum {
	TASK_DIAG_RUNNING,
	TASK_DIAG_INTERRUPTIBLE,
	TASK_DIAG_UNINTERRUPTIBLE,
	TASK_DIAG_STOPPED,
	TASK_DIAG_TRACE_STOP,
	TASK_DIAG_DEAD,
	TASK_DIAG_ZOMBIE,
	TASK_DIAG_PARKED, /* 7, 'P' in /proc */
	TASK_DIAG_IDLE,   /* 8, 'I' in /proc (TASK_IDLE) */
};

#define TASK_DIAG_COMM_LEN 16

struct task_diag_base {
	__u32 tgid;
	__u32 pid;
	__u32 ppid;
	__u32 tpid;
	__u32 sid;
	__u32 pgid;
	__u8 state;
	char comm[TASK_DIAG_COMM_LEN];
};

struct task_diag_caps {
	__u32 cap[2];
};

struct task_diag_creds {
	struct task_diag_caps cap_inheritable;
	struct task_diag_caps cap_permitted;
	struct task_diag_caps cap_effective;
	struct task_diag_caps cap_bset;
	__u32 uid;
	__u32 euid;
	__u32 suid;
	__u32 fsuid;
	__u32 gid;
	__u32 egid;
	__u32 sgid;
	__u32 fsgid;
};

/* The reference header's: CPU times in clock ticks (USER_HZ); a process's
 * faults and times are its thread group's, a thread's (ALL_THREAD, THREAD)
 * its own. 72 bytes (4 of them padding). */
struct task_diag_stat {
	__u64 minflt;
	__u64 cminflt;
	__u64 majflt;
	__u64 cmajflt;
	__u64 utime;
	__u64 stime;
	__u64 cutime;
	__u64 cstime;
	__u32 threads;
};

/* ikc's: what ps reads that task_diag_stat lacks. 64 bytes. */
struct task_diag_ikc_ps {
	__u64 start_time;  /* ns since boot (CLOCK_BOOTTIME); procfs: to the clock tick */
	__u64 vsize;       /* bytes */
	__u64 rss;         /* bytes (VmRSS) */
	__u64 locked;      /* bytes locked in RAM (VmLck): ps STAT's L */
	__u32 flags;       /* task->flags, PF_* */
	__u32 tty_nr;      /* controlling terminal as /proc/PID/stat encodes it; 0: none */
	__u32 tpgid;       /* the terminal's foreground process group; 0: none */
	__s32 nice;
	__s32 priority;    /* as /proc/PID/stat: prio - 100 */
	__u32 policy;      /* SCHED_* */
	__u32 rt_priority;
	__u32 processor;   /* CPU last run on */
};

#define TASK_DIAG_DUMP_ALL 0
#define TASK_DIAG_DUMP_ONE 1
#define TASK_DIAG_DUMP_ALL_THREAD 2
#define TASK_DIAG_DUMP_CHILDREN 3
#define TASK_DIAG_DUMP_THREAD 4

struct task_diag_pid {
	__u64 show_flags;
	__u64 dump_strategy;
	__u32 pid;
};

#endif /* IKC_TASK_DIAG_H */

// SPDX-License-Identifier: MIT OR GPL-2.0
/*
 * task_iter.bpf.c: the BPF task iterator behind ikc-core's `bpf` backend
 * (crates/ikc-core/src/backend/bpf/). One `read()` of the iterator fd walks
 * every task and writes, per task (or per thread-group leader), one fixed record
 * (`struct ikc_task`) followed by one `struct ikc_level` for each pid-namespace
 * level below the initial one, and after the last task one `struct ikc_walk_end`.
 * The fields are what /proc/PID/status shows (fs/proc/array.c task_state(),
 * task_cap()), as read from the initial pid and user namespaces.
 *
 * Rebuild with `bash build.sh` (deterministic; the object is committed).
 *
 * Kernel types: only the fields read here are declared, with
 * `preserve_access_index`, so clang records CO-RE relocations and the loader
 * (aya) resolves every offset against the running kernel's BTF. This is a
 * hand-kept subset of `bpftool btf dump file /sys/kernel/btf/vmlinux format c`:
 * the full dump is 2.8 MB, and compiling against it would make the object
 * depend on the kernel of the machine that built it.
 */

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed char __s8;
typedef short __s16;
typedef int __s32;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define CORE __attribute__((preserve_access_index))

/* ---- kernel types (CO-RE subset) ------------------------------------------------ */

typedef struct { unsigned int val; } CORE kuid_t;
typedef struct { unsigned int val; } CORE kgid_t;
/* A namespace's /proc inode number (ns_common.inum: `/proc/PID/ns/user`). */
struct ns_common { unsigned int inum; } CORE;
struct user_namespace { struct ns_common ns; } CORE;

/* kernel_cap_t is `struct { u64 val; }` since 6.3 and `struct { u32 cap[2]; }` before:
 * both are 8 bytes holding capabilities 0..63 in the same order on little endian. */
typedef struct { __u64 val; } CORE kernel_cap_t;

struct cred {
	kuid_t uid, suid, euid, fsuid;
	kgid_t gid, sgid, egid, fsgid;
	kernel_cap_t cap_inheritable, cap_permitted, cap_effective, cap_bset;
	struct user_namespace *user_ns;
} CORE;

struct pid_namespace;

struct upid {
	int nr;
	struct pid_namespace *ns;
} CORE;

struct pid {
	unsigned int level;
	struct upid numbers[1];
} CORE;

enum pid_type { PIDTYPE_PID, PIDTYPE_TGID, PIDTYPE_PGID, PIDTYPE_SID, PIDTYPE_MAX };

struct signal_struct {
	struct pid *pids[PIDTYPE_MAX];
} CORE;

/* mm_struct.flags: `mm_flags_t` (a bitmap struct) since 6.18, `unsigned long` before;
 * the dumpable bits are bits 0 and 1 of the first word in both. `user_ns`: the
 * namespace whose CAP_SYS_PTRACE overrides a non-dumpable mm (ptrace_has_cap()). */
typedef struct { unsigned long __mm_flags[1]; } CORE mm_flags_t;
struct mm_struct { mm_flags_t flags; struct user_namespace *user_ns; } CORE;
struct mm_struct___ulong { unsigned long flags; } CORE;

struct kthread { void *data; } CORE;
struct worker_pool;
struct work_struct;
struct worker {
	struct work_struct *current_work;
	struct worker_pool *pool;
	char desc[24];
} CORE;

struct task_struct {
	unsigned int __state;
	unsigned int flags;
	unsigned int ptrace;
	struct mm_struct *mm;
	int exit_state;
	int pid;
	int tgid;
	struct task_struct *real_parent;
	struct task_struct *parent;
	struct pid *thread_pid;
	void *worker_private;
	const struct cred *real_cred;
	char comm[16];
	struct signal_struct *signal;
	/* Set by exit_mm() from the mm it drops; never for kernel threads. Kernels
	 * with the CVE-2026-46333 fix (task_still_dumpable() in kernel/ptrace.c). */
	unsigned int user_dumpable: 1;
} CORE;

/* Before 5.14 the state was `volatile long state`. */
struct task_struct___pre514 { long state; } CORE;

struct seq_file;
struct bpf_iter_meta { struct seq_file *seq; __u64 session_id; __u64 seq_num; } CORE;
struct bpf_iter__task { struct bpf_iter_meta *meta; struct task_struct *task; } CORE;

/* ---- kernel constants (include/linux/sched.h, include/linux/sched/coredump.h) ------ */

#define TASK_REPORT        0x7f   /* R S D T t X Z P, the states /proc reports */
#define TASK_UNINTERRUPTIBLE 0x02
#define TASK_NOLOAD        0x400
#define TASK_IDLE          (TASK_UNINTERRUPTIBLE | TASK_NOLOAD)
#define TASK_REPORT_IDLE   0x80
#define TASK_RTLOCK_WAIT   0x1000
#define TASK_FROZEN        0x8000
#define PF_WQ_WORKER       0x00000020
#define PF_KTHREAD         0x00200000
#define MMF_DUMPABLE_MASK  0x3
#define SUID_DUMP_USER     1
#define MAX_PID_NS_LEVEL   32
#define PROC_USER_INIT_INO 0xEFFFFFFDU /* include/linux/proc_ns.h */

/* ---- the records (parsed by backend/bpf/record.rs; keep the two in step) ------------ */

#define IKC_TASK_VERSION 3

struct ikc_task {
	__u16 len;        /* this record plus its levels, in bytes */
	__u8 version;     /* IKC_TASK_VERSION */
	__u8 nlevels;     /* pid->level + 1: 1 in the initial namespace */
	__u32 tgid;       /* the ids below are numbered in the initial pid namespace */
	__u32 pid;
	__u32 ppid;       /* real parent's tgid; 0 once the task is unhashed */
	__u32 tpid;       /* tracer's pid, 0 if not ptraced */
	__u32 sid;
	__u32 pgid;
	__u8 state;       /* the letter /proc/PID/stat prints */
	__u8 dumpable;    /* task_still_dumpable() without the capability override */
	__u8 kthread;     /* PF_KTHREAD */
	__u8 worker;      /* a workqueue worker with a description: '+' busy, '-' idle; else 0 */
	__u64 cap_inheritable, cap_permitted, cap_effective, cap_bset;
	__u32 uid, euid, suid, fsuid, gid, egid, sgid, fsgid;
	char comm[16];    /* task->comm, NUL-terminated */
	char worker_desc[16]; /* the worker's description, cut to 15 bytes; else zeros */
	__u32 user_ns;    /* real_cred->user_ns->ns.inum */
	__u32 dumpable_ns; /* mm->user_ns->ns.inum; PROC_USER_INIT_INO without an mm */
};                    /* 136 bytes */

/* The task's pid, pgid and sid in the namespace of its own level `g` (NSpid, NSpgid,
 * NSsid of /proc/PID/status), for g = 1 .. nlevels - 1; level 0 is in `ikc_task`. */
struct ikc_level {
	__u32 pid, pgid, sid;
};

/* The last record of a walk: how many tasks the kernel showed the iterator (leaders
 * or not). /proc/loadavg counts every task; the reader compares the two to learn
 * whether the kernel kept any task from the walk. */
struct ikc_walk_end {
	__u16 len;        /* sizeof(struct ikc_walk_end) */
	__u8 version;     /* IKC_TASK_VERSION */
	__u8 nlevels;     /* 0: marks this record */
	__u32 reserved;
	__u64 tasks;      /* tasks visited */
};

_Static_assert(sizeof(struct ikc_task) == 136, "record layout");
_Static_assert(sizeof(struct ikc_walk_end) == 16, "record layout");

/* ---- helpers ---------------------------------------------------------------------- */

/* fls(): 1 + the index of the highest set bit, 0 for 0. */
static __always_inline unsigned int fls8(unsigned int x)
{
	unsigned int n = 0;
	for (int i = 0; i < 9; i++)
		if (x >> i)
			n = i + 1;
	return n;
}

/* fs/proc/array.c task_state_array[] indexed by __task_state_index(). */
static __always_inline __u8 state_letter(struct task_struct *t)
{
	unsigned int st, exit_state = t->exit_state;

	if (bpf_core_field_exists(t->__state))
		st = t->__state;
	else
		st = (unsigned int)BPF_CORE_READ((struct task_struct___pre514 *)t, state);

	unsigned int report = (st | exit_state) & TASK_REPORT;
	if ((st & TASK_IDLE) == TASK_IDLE)
		report = TASK_REPORT_IDLE;
	if (st & (TASK_RTLOCK_WAIT | TASK_FROZEN))
		report = TASK_UNINTERRUPTIBLE;

	switch (fls8(report)) {
	case 0: return 'R';
	case 1: return 'S';
	case 2: return 'D';
	case 3: return 'T';
	case 4: return 't';
	case 5: return 'X';
	case 6: return 'Z';
	case 7: return 'P';
	default: return 'I';
	}
}

/*
 * Per-level ids. These two are global functions, which the verifier checks once
 * on their own instead of at each of the 32 unrolled call sites (that cost
 * 100 ms per program load). Being global, they take kernel addresses as plain
 * integers and read through bpf_probe_read_kernel.
 */

/* pid->numbers[g].ns, the namespace of level g of `pid` (0 past its level). */
__noinline __u64 ikc_level_ns(__u64 pid_addr, __u32 g)
{
	struct pid *p = (struct pid *)pid_addr;
	unsigned int level = 0;
	__u64 ns = 0;

	if (!p || bpf_core_read(&level, sizeof(level), &p->level) || level < g)
		return 0;
	bpf_core_read(&ns, sizeof(ns), &p->numbers[g].ns);
	return ns;
}

/* pid_nr_ns(pid, ns) for the namespace `ns` of level g: numbers[g].nr if that
 * level's namespace is `ns` (level 0, the initial namespace, always is). */
__noinline __u32 ikc_level_nr(__u64 pid_addr, __u32 g, __u64 ns)
{
	struct pid *p = (struct pid *)pid_addr;
	unsigned int level = 0;
	int nr = 0;

	if (!p || bpf_core_read(&level, sizeof(level), &p->level) || level < g)
		return 0;
	if (g && ikc_level_ns(pid_addr, g) != ns)
		return 0;
	bpf_core_read(&nr, sizeof(nr), &p->numbers[g].nr);
	return nr;
}

/* The task's ids at level g (1 .. its own level): one call per level keeps the
 * unrolled 32-level loop in dump_task short, which is most of verifying it. */
__noinline int ikc_level(__u64 pid_addr, __u64 pgrp_addr, __u64 session_addr, __u32 g, struct ikc_level *out)
{
	__u64 ns = ikc_level_ns(pid_addr, g);

	if (!out)
		return 0;
	out->pid = ikc_level_nr(pid_addr, g, ns);
	out->pgid = ikc_level_nr(pgrp_addr, g, ns);
	out->sid = ikc_level_nr(session_addr, g, ns);
	return 0;
}

/* mm->flags & MMF_DUMPABLE_MASK, whatever the type of `flags`. */
static __always_inline int mm_dumpable(struct mm_struct *mm)
{
	unsigned long word;

	if (bpf_core_field_exists(mm->flags.__mm_flags))
		word = mm->flags.__mm_flags[0];
	else
		word = BPF_CORE_READ((struct mm_struct___ulong *)mm, flags);
	return (word & MMF_DUMPABLE_MASK) == SUID_DUMP_USER;
}

/*
 * task_still_dumpable() (kernel/ptrace.c), less its CAP_SYS_PTRACE override,
 * which is the viewer's: a task with an mm is dumpable if its mm is
 * SUID_DUMP_USER (overridden in mm->user_ns); one without (exited, a kernel
 * thread) if it was when it dropped its mm (overridden only in the initial user
 * namespace). Kernels before that fix checked no dumpability without an mm.
 */
static __always_inline void dumpability(struct task_struct *t, struct ikc_task *r)
{
	struct mm_struct *mm = t->mm;

	if (mm) {
		r->dumpable = mm_dumpable(mm);
		r->dumpable_ns = mm->user_ns->ns.inum;
		return;
	}
	r->dumpable_ns = PROC_USER_INIT_INO;
	if (bpf_core_field_exists(t->user_dumpable))
		r->dumpable = BPF_CORE_READ_BITFIELD(t, user_dumpable);
	else
		r->dumpable = 1;
}

/*
 * proc_task_name() shows a workqueue worker as "comm+desc" while it runs a work
 * item and "comm-desc" after (wq_worker_comm()). The record carries the parts;
 * the reader joins them.
 */
static __always_inline void worker_desc(struct task_struct *t, struct ikc_task *r)
{
	struct kthread *kt = BPF_CORE_READ(t, worker_private);
	struct worker *w = kt ? BPF_CORE_READ(kt, data) : 0;

	if (!w || !BPF_CORE_READ(w, pool))
		return;
	bpf_core_read(r->worker_desc, sizeof(r->worker_desc) - 1, &w->desc);
	if (r->worker_desc[0])
		r->worker = BPF_CORE_READ(w, current_work) ? '+' : '-';
}

/* ---- the iterator ---------------------------------------------------------------- */

/*
 * Fields are read straight through the BTF-typed task pointer the iterator hands
 * over (the verifier turns each load into a fault-safe kernel load) rather than
 * through bpf_probe_read_kernel: a helper call per field was a fifth of a walk.
 */

/* Set by the reader before each walk (it runs one walk at a time): nonzero for
 * ALL (thread-group leaders only), 0 for ALL_THREAD. One program instead of one
 * per strategy halves what loading costs: the loader resolves each CO-RE
 * relocation against the whole kernel BTF, and the verifier checks each program. */
__u32 ikc_leaders_only = 0;

static __always_inline int dump_task(struct bpf_iter__task *ctx, int leaders_only)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *t = ctx->task;
	struct ikc_task r = {};

	if (!t) {
		/* The end of the walk: seq_num numbers the tasks shown, from 0. */
		struct ikc_walk_end end = {
			.len = sizeof(end),
			.version = IKC_TASK_VERSION,
			.tasks = ctx->meta->seq_num + 1,
		};
		bpf_seq_write(seq, &end, sizeof(end));
		return 0;
	}
	r.pid = t->pid;
	r.tgid = t->tgid;
	if (leaders_only && r.pid != r.tgid)
		return 0;

	unsigned int flags = t->flags;
	struct pid *thread_pid = t->thread_pid;
	unsigned int level = thread_pid ? thread_pid->level : 0;
	if (level > MAX_PID_NS_LEVEL)
		level = MAX_PID_NS_LEVEL;

	r.version = IKC_TASK_VERSION;
	r.nlevels = level + 1;
	r.len = sizeof(r) + level * sizeof(struct ikc_level);
	r.kthread = !!(flags & PF_KTHREAD);

	/* task_state() in /proc/PID/status: PPid and TracerPid (ptrace_parent()'s pid)
	 * while pid_alive(); NSpgid and NSsid from the signal struct's pids. */
	if (thread_pid) {
		r.ppid = t->real_parent->tgid;
		if (t->ptrace)
			r.tpid = t->parent->pid;
	}
	struct signal_struct *sig = t->signal;
	struct pid *pgrp = sig->pids[PIDTYPE_PGID];
	struct pid *session = sig->pids[PIDTYPE_SID];
	r.pgid = pgrp ? pgrp->numbers[0].nr : 0;
	r.sid = session ? session->numbers[0].nr : 0;

	r.state = state_letter(t);

	/* task_cap() and task_state() read __task_cred(), the objective real_cred. */
	const struct cred *c = t->real_cred;
	/* The four sets follow each other in struct cred (include/linux/cred.h) as in
	 * the record; each is 8 bytes whether kernel_cap_t is a u64 or two u32s. */
	const __u64 *caps = (const __u64 *)&c->cap_inheritable;
	r.cap_inheritable = caps[0];
	r.cap_permitted = caps[1];
	r.cap_effective = caps[2];
	r.cap_bset = caps[3];
	r.uid = c->uid.val;
	r.euid = c->euid.val;
	r.suid = c->suid.val;
	r.fsuid = c->fsuid.val;
	r.gid = c->gid.val;
	r.egid = c->egid.val;
	r.sgid = c->sgid.val;
	r.fsgid = c->fsgid.val;

	r.user_ns = c->user_ns->ns.inum;
	dumpability(t, &r);

	__builtin_memcpy(r.comm, t->comm, sizeof(r.comm));
	r.comm[15] = 0;
	if ((flags & PF_WQ_WORKER) && r.kthread)
		worker_desc(t, &r);

	if (bpf_seq_write(seq, &r, sizeof(r)) || !level)
		return 0;
	/* A task in a nested pid namespace. The global level functions take plain
	 * addresses, which the verifier only accepts as numbers read from memory. */
	__u64 pid_addr = 0, pgrp_addr = 0, session_addr = 0;
	bpf_probe_read_kernel(&pid_addr, sizeof(pid_addr), &t->thread_pid);
	bpf_probe_read_kernel(&pgrp_addr, sizeof(pgrp_addr), &sig->pids[PIDTYPE_PGID]);
	bpf_probe_read_kernel(&session_addr, sizeof(session_addr), &sig->pids[PIDTYPE_SID]);
	for (unsigned int g = 1; g <= MAX_PID_NS_LEVEL; g++) {
		if (g > level)
			break;
		struct ikc_level l = {};
		ikc_level(pid_addr, pgrp_addr, session_addr, g, &l);
		bpf_seq_write(seq, &l, sizeof(l));
	}
	return 0;
}

/* ALL_THREAD, or ALL with ikc_leaders_only set. */
SEC("iter/task")
int ikc_tasks(struct bpf_iter__task *ctx)
{
	return dump_task(ctx, ikc_leaders_only);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";

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

/* What /proc/PID/stat reads for the STAT and PS groups (fs/proc/array.c do_task_stat). */
struct prev_cputime { __u64 utime, stime; } CORE;
struct tty_driver { int major, minor_start; } CORE;
struct tty_struct {
	int index;
	struct tty_driver *driver;
	struct { struct pid *pgrp; } ctrl;   /* 5.17+ */
} CORE;
struct tty_struct___pre517 { struct pid *pgrp; } CORE;

struct signal_struct {
	struct pid *pids[PIDTYPE_MAX];
	int nr_threads;
	struct tty_struct *tty;
	__u64 utime, stime, cutime, cstime;
	struct prev_cputime prev_cputime;
	unsigned long min_flt, maj_flt, cmin_flt, cmaj_flt;
	unsigned long long sum_sched_runtime;
} CORE;

/* mm_struct.flags: `mm_flags_t` (a bitmap struct) since 6.18, `unsigned long` before;
 * the dumpable bits are bits 0 and 1 of the first word in both. `user_ns`: the
 * namespace whose CAP_SYS_PTRACE overrides a non-dumpable mm (ptrace_has_cap()). */
typedef struct { unsigned long __mm_flags[1]; } CORE mm_flags_t;
/* rss_stat: percpu counters since 6.2 (their `count` is the running total that
 * get_mm_counter() reads), atomics before. */
struct percpu_counter { __s64 count; } CORE;
struct mm_struct {
	mm_flags_t flags;
	struct user_namespace *user_ns;
	unsigned long total_vm, locked_vm;
	struct percpu_counter rss_stat[4];
} CORE;
struct mm_struct___ulong { unsigned long flags; } CORE;
struct mm_struct___pre62 { struct { long count[4]; } rss_stat; } CORE;
#define MM_FILEPAGES  0
#define MM_ANONPAGES  1
#define MM_SHMEMPAGES 3

struct kthread { void *data; char *full_name; } CORE;
struct worker_pool;
struct work_struct;
struct worker {
	struct work_struct *current_work;
	struct worker_pool *pool;
	char desc[24];
} CORE;

struct sched_entity { __u64 sum_exec_runtime; } CORE;
struct thread_info { __u32 cpu; } CORE;

struct task_struct {
	struct thread_info thread_info;
	int prio, static_prio;
	unsigned int rt_priority, policy;
	struct sched_entity se;
	__u64 utime, stime;
	struct prev_cputime prev_cputime;
	__u64 start_boottime;
	unsigned long min_flt, maj_flt;
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

/* Before 5.16 (and on architectures without THREAD_INFO_IN_TASK) the CPU was here. */
struct task_struct___cpu { unsigned int cpu; } CORE;

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

#define IKC_TASK_VERSION 4

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
	/* STAT and PS (do_task_stat): raw, the reader sums a group and scales times as
	 * thread_group_cputime_adjusted() and cputime_adjust() do. */
	__u64 start_boottime; /* ns since boot */
	__u64 total_vm, locked_vm, rss; /* pages; rss = file + anon + shmem (get_mm_rss) */
	__u64 min_flt, maj_flt;        /* the task's own */
	__u64 utime, stime, runtime;   /* ns: tick samples and se.sum_exec_runtime */
	__u64 prev_utime, prev_stime;  /* task->prev_cputime */
	__u64 sig_min_flt, sig_maj_flt, sig_cmin_flt, sig_cmaj_flt; /* exited threads' and reaped children's */
	__u64 sig_utime, sig_stime, sig_runtime, sig_cutime, sig_cstime; /* ns */
	__u64 sig_prev_utime, sig_prev_stime; /* signal->prev_cputime */
	__u32 flags;      /* task->flags */
	__u32 tty_nr;     /* new_encode_dev(tty_devnum(signal->tty)); 0: none */
	__u32 tpgid;      /* the tty's foreground group, initial namespace; 0: none */
	__s32 prio, static_prio;
	__u32 policy, rt_priority, cpu;
	__u32 nr_threads; /* signal->nr_threads */
	__u32 reserved;
	/* NAME: proc_task_name() whole (get_kthread_comm(), wq_worker_comm()). */
	char full_name[64];   /* a kernel thread's kthread->full_name (5.17+); else empty */
	char worker_desc_whole[32]; /* a worker's description, whole */
};                    /* 448 bytes */

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

_Static_assert(sizeof(struct ikc_task) == 448, "record layout");
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
	bpf_core_read(r->worker_desc_whole, sizeof(r->worker_desc_whole) - 1, &w->desc);
	if (r->worker_desc[0])
		r->worker = BPF_CORE_READ(w, current_work) ? '+' : '-';
}

/* new_encode_dev(): major in bits 8-19, minor in bits 0-7 and 20-31. */
static __always_inline __u32 encode_dev(__u32 major, __u32 minor)
{
	return (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);
}

/* What do_task_stat() reads for STAT and PS, raw. */
static __always_inline void stat_fields(struct task_struct *t, struct signal_struct *sig, struct ikc_task *r)
{
	struct mm_struct *mm = t->mm;

	r->start_boottime = t->start_boottime;
	r->flags = t->flags;
	r->prio = t->prio;
	r->static_prio = t->static_prio;
	r->policy = t->policy;
	r->rt_priority = t->rt_priority;
	if (bpf_core_field_exists(t->thread_info.cpu))
		r->cpu = t->thread_info.cpu;
	else
		r->cpu = BPF_CORE_READ((struct task_struct___cpu *)t, cpu);
	r->min_flt = t->min_flt;
	r->maj_flt = t->maj_flt;
	r->utime = t->utime;
	r->stime = t->stime;
	r->runtime = t->se.sum_exec_runtime;
	r->prev_utime = t->prev_cputime.utime;
	r->prev_stime = t->prev_cputime.stime;
	r->sig_min_flt = sig->min_flt;
	r->sig_maj_flt = sig->maj_flt;
	r->sig_cmin_flt = sig->cmin_flt;
	r->sig_cmaj_flt = sig->cmaj_flt;
	r->sig_utime = sig->utime;
	r->sig_stime = sig->stime;
	r->sig_runtime = sig->sum_sched_runtime;
	r->sig_cutime = sig->cutime;
	r->sig_cstime = sig->cstime;
	r->sig_prev_utime = sig->prev_cputime.utime;
	r->sig_prev_stime = sig->prev_cputime.stime;
	r->nr_threads = sig->nr_threads;

	struct tty_struct *tty = sig->tty;
	if (tty) {
		struct tty_driver *drv = tty->driver;
		struct pid *fg;
		if (bpf_core_field_exists(tty->ctrl))
			fg = tty->ctrl.pgrp;
		else
			fg = BPF_CORE_READ((struct tty_struct___pre517 *)tty, pgrp);
		if (drv)
			r->tty_nr = encode_dev(drv->major, drv->minor_start + tty->index);
		r->tpgid = fg ? fg->numbers[0].nr : 0;
	}
	if (mm) {
		r->total_vm = mm->total_vm;
		r->locked_vm = mm->locked_vm;
		if (bpf_core_field_size(mm->rss_stat) > 4 * sizeof(long)) {
			__s64 file = mm->rss_stat[MM_FILEPAGES].count;
			__s64 anon = mm->rss_stat[MM_ANONPAGES].count;
			__s64 shmem = mm->rss_stat[MM_SHMEMPAGES].count;
			/* percpu_counter_read_positive() per counter */
			r->rss = (file > 0 ? file : 0) + (anon > 0 ? anon : 0) + (shmem > 0 ? shmem : 0);
		} else {
			struct mm_struct___pre62 *old = (void *)mm;
			long file = BPF_CORE_READ(old, rss_stat.count[MM_FILEPAGES]);
			long anon = BPF_CORE_READ(old, rss_stat.count[MM_ANONPAGES]);
			long shmem = BPF_CORE_READ(old, rss_stat.count[MM_SHMEMPAGES]);
			r->rss = (file > 0 ? file : 0) + (anon > 0 ? anon : 0) + (shmem > 0 ? shmem : 0);
		}
	}
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

/* The record being built: 448 bytes, more than the BPF stack holds beside the
 * rest. Programs run with migration disabled, so one slot per CPU is private. */
struct {
	__uint(type, 6); /* BPF_MAP_TYPE_PERCPU_ARRAY (no uapi headers here) */
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ikc_task);
} ikc_scratch SEC(".maps");

static __always_inline int dump_task(struct bpf_iter__task *ctx, int leaders_only)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *t = ctx->task;
	__u32 zero = 0;
	struct ikc_task *rp = bpf_map_lookup_elem(&ikc_scratch, &zero);

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
	if (!rp)
		return 0;
	__builtin_memset(rp, 0, sizeof(*rp));
	rp->pid = t->pid;
	rp->tgid = t->tgid;
	if (leaders_only && rp->pid != rp->tgid)
		return 0;

	unsigned int flags = t->flags;
	struct pid *thread_pid = t->thread_pid;
	unsigned int level = thread_pid ? thread_pid->level : 0;
	if (level > MAX_PID_NS_LEVEL)
		level = MAX_PID_NS_LEVEL;

	rp->version = IKC_TASK_VERSION;
	rp->nlevels = level + 1;
	rp->len = sizeof(*rp) + level * sizeof(struct ikc_level);
	rp->kthread = !!(flags & PF_KTHREAD);

	/* task_state() in /proc/PID/status: PPid and TracerPid (ptrace_parent()'s pid)
	 * while pid_alive(); NSpgid and NSsid from the signal struct's pids. */
	if (thread_pid) {
		rp->ppid = t->real_parent->tgid;
		if (t->ptrace)
			rp->tpid = t->parent->pid;
	}
	struct signal_struct *sig = t->signal;
	struct pid *pgrp = sig->pids[PIDTYPE_PGID];
	struct pid *session = sig->pids[PIDTYPE_SID];
	rp->pgid = pgrp ? pgrp->numbers[0].nr : 0;
	rp->sid = session ? session->numbers[0].nr : 0;

	rp->state = state_letter(t);

	/* task_cap() and task_state() read __task_cred(), the objective real_cred. */
	const struct cred *c = t->real_cred;
	/* The four sets follow each other in struct cred (include/linux/cred.h) as in
	 * the record; each is 8 bytes whether kernel_cap_t is a u64 or two u32s. */
	const __u64 *caps = (const __u64 *)&c->cap_inheritable;
	rp->cap_inheritable = caps[0];
	rp->cap_permitted = caps[1];
	rp->cap_effective = caps[2];
	rp->cap_bset = caps[3];
	rp->uid = c->uid.val;
	rp->euid = c->euid.val;
	rp->suid = c->suid.val;
	rp->fsuid = c->fsuid.val;
	rp->gid = c->gid.val;
	rp->egid = c->egid.val;
	rp->sgid = c->sgid.val;
	rp->fsgid = c->fsgid.val;

	rp->user_ns = c->user_ns->ns.inum;
	dumpability(t, rp);
	stat_fields(t, sig, rp);

	__builtin_memcpy(rp->comm, t->comm, sizeof(rp->comm));
	rp->comm[15] = 0;
	if ((flags & PF_WQ_WORKER) && rp->kthread)
		worker_desc(t, rp);
	else if (rp->kthread && bpf_core_field_exists(((struct kthread *)0)->full_name)) {
		struct kthread *kt = BPF_CORE_READ(t, worker_private);
		char *full = kt ? BPF_CORE_READ(kt, full_name) : 0;
		if (full)
			bpf_probe_read_kernel_str(rp->full_name, sizeof(rp->full_name), full);
	}

	if (bpf_seq_write(seq, rp, sizeof(*rp)) || !level)
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

//! The task records every part of ikc shares, as plain data without I/O (in
//! the style of procfs-core): what a backend reads about a task, what the
//! attribute groups report of it and what the visibility rule judges it by.
//! Backends fill these, task_diag encodes them, `visibility` reads them; this
//! module depends on none of them.

mod comm;
mod levels;
mod state;

pub use comm::Comm;
pub use levels::{LevelIds, NsLevels, MAX_LEVELS};
pub use state::TaskState;


/// Everything a backend learns about one task: what the attribute groups
/// report, plus what the visibility rule needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskInfo {
    pub base: TaskBase,
    pub creds: TaskCreds,
    /// Dumpability as the kernel's ptrace-read rule reads it (`task_still_dumpable`):
    /// `get_dumpable(mm) == SUID_DUMP_USER` for a task with an mm; for one without
    /// (exited, or a kernel thread) the dumpability it had when it dropped its mm
    /// (`task->user_dumpable`, never set for kernel threads).
    pub dumpable: bool,
    /// The task's ids in each pid namespace below procfs's (for namespace scoping).
    pub levels: NsLevels,
    /// Inode of the user namespace of the task's credentials (`cred->user_ns`);
    /// 0 when the backend was not asked for it (a viewer with `CAP_SYS_PTRACE` in
    /// the initial user namespace, for whom it changes nothing).
    pub user_ns: u64,
    /// Inode of the user namespace whose `CAP_SYS_PTRACE` overrides non-dumpability:
    /// `mm->user_ns`, or the initial user namespace for a task without an mm; 0 as for `user_ns`.
    pub dumpable_ns: u64,
    /// What the groups beyond BASE and CRED report (STAT, PS, CMDLINE, NAME),
    /// filled only when the request shows one of them; `None` otherwise.
    pub extra: Option<Box<TaskExtra>>,
}

/// The parts of a task only some requests show: each `None` unless asked for
/// (or unknown to the backend that read the task).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TaskExtra {
    pub stat: Option<TaskStat>,
    pub ps: Option<TaskPs>,
    /// The argument vector as `/proc/PID/cmdline` gives it: NUL-terminated strings, complete.
    pub cmdline: Option<Vec<u8>>,
    /// The task's whole name (`/proc/PID/comm`), which a kernel thread or workqueue
    /// worker may have longer than `comm`'s 15 bytes (`kworker/0:0H-kblockd`).
    pub name: Option<Vec<u8>>,
}

/// The owned form of `struct task_diag_stat` (the reference header's): fault
/// counts, CPU times in clock ticks (`USER_HZ`) and the thread count. For a
/// process (ALL, ONE, CHILDREN) the faults and times are the whole thread
/// group's, for a thread (ALL_THREAD, THREAD) the thread's own, as
/// `/proc/PID/stat` and `/proc/PID/task/TID/stat` print them; the `c*` fields
/// (reaped children) are the group's either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export, rename_all = "camelCase"))]
pub struct TaskStat {
    #[cfg_attr(test, ts(type = "number"))]
    pub minflt: u64,
    #[cfg_attr(test, ts(type = "number"))]
    pub cminflt: u64,
    #[cfg_attr(test, ts(type = "number"))]
    pub majflt: u64,
    #[cfg_attr(test, ts(type = "number"))]
    pub cmajflt: u64,
    #[cfg_attr(test, ts(type = "number"))]
    pub utime: u64,
    #[cfg_attr(test, ts(type = "number"))]
    pub stime: u64,
    #[cfg_attr(test, ts(type = "number"))]
    pub cutime: u64,
    #[cfg_attr(test, ts(type = "number"))]
    pub cstime: u64,
    pub threads: u32,
}

/// The owned form of ikc's `struct task_diag_ikc_ps`: what `ps` reads of a task
/// that the reference header lacks. Pids in the dump's numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export, rename_all = "camelCase"))]
pub struct TaskPs {
    /// When the task started, in nanoseconds since boot (`CLOCK_BOOTTIME`); with
    /// the pid, a process identity no pid reuse repeats. procfs knows it to the
    /// clock tick (10 ms), the BPF backend to the nanosecond.
    pub start_time: u64,
    /// Virtual memory size, bytes (0 without an mm).
    #[cfg_attr(test, ts(type = "number"))]
    pub vsize: u64,
    /// Resident set size, bytes (`VmRSS`, as procps shows it).
    #[cfg_attr(test, ts(type = "number"))]
    pub rss: u64,
    /// Memory locked into RAM, bytes (`VmLck`: STAT's `L`).
    #[cfg_attr(test, ts(type = "number"))]
    pub locked: u64,
    /// `task->flags` (`PF_*`), as `/proc/PID/stat` prints them.
    pub flags: u32,
    /// The controlling terminal's device number as `/proc/PID/stat` encodes it
    /// (major in bits 8-15, minor in bits 0-7 and 20-31); 0 for none.
    pub tty_nr: u32,
    /// The process group in the terminal's foreground; 0 for none.
    pub tpgid: u32,
    pub nice: i32,
    /// As `/proc/PID/stat` prints it: `prio - 100` (so -100..-1 for real-time tasks).
    pub priority: i32,
    /// `SCHED_*`.
    pub policy: u32,
    pub rt_priority: u32,
    /// The CPU it last ran on.
    pub processor: u32,
}

/// The owned form of `struct task_diag_base`. Pids are in the numbering of the
/// pid namespace the command was issued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export, rename_all = "camelCase"))]
pub struct TaskBase {
    pub tgid: u32,
    pub pid: u32,
    pub ppid: u32,
    /// Pid of the tracer (`ptrace` parent), 0 if not traced.
    pub tpid: u32,
    pub sid: u32,
    pub pgid: u32,
    /// A `TaskState` number.
    pub state: u8,
    #[cfg_attr(test, ts(type = "string"))]
    pub comm: Comm,
}

/// The owned form of `struct task_diag_creds`; capability sets as 64-bit masks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export, rename_all = "camelCase"))]
pub struct TaskCreds {
    pub cap_inheritable: u64,
    pub cap_permitted: u64,
    pub cap_effective: u64,
    pub cap_bset: u64,
    pub uid: u32,
    pub euid: u32,
    pub suid: u32,
    pub fsuid: u32,
    pub gid: u32,
    pub egid: u32,
    pub sgid: u32,
    pub fsgid: u32,
}

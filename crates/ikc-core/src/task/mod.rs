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

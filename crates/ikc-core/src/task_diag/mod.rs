//! task_diag, wire-compatible with Andrey Vagin's `include/uapi/linux/task_diag.h`
//! (v3): a request (`struct task_diag_pid`) and a dump of one netlink message per
//! task, each a `struct task_diag_msg` followed by the attribute groups asked for.

mod base;
mod creds;
mod dump;
mod message;
mod request;
mod scope;

pub use base::{Comm, TaskBase, TaskBaseBuffer, TASK_DIAG_BASE_LEN};
pub use creds::{TaskCreds, TaskCredsBuffer, TASK_DIAG_CREDS_LEN};
pub use dump::{dump, Access};
pub use message::{parse_response, TaskAttribute, TaskDiagMessage, TASK_DIAG_MSG_LEN};
pub use request::{ShowFlags, ShowGroup, Strategy, TaskDiagRequest, TASK_DIAG_PID_LEN};
pub use scope::PidScope;

/// `nlmsg_type` of requests and of each per-task message.
pub const TASK_DIAG_CMD_GET: u16 = 0xd101;

/// `task_diag_msg.flags`: the next message continues this task (never set by ikc,
/// which always fits a task in one message).
pub const TASK_DIAG_FLAG_CONT: u32 = 0x1;

/// Attribute types (`nla_type`); the matching show flag is `1 << type`.
pub const TASK_DIAG_BASE: u16 = 0;
pub const TASK_DIAG_CRED: u16 = 1;
pub const TASK_DIAG_VMA: u16 = 2;
pub const TASK_DIAG_VMA_STAT: u16 = 3;
pub const TASK_DIAG_STAT: u16 = 4;

/// `task_diag_base.state`, numbered as the uapi header numbers them.
/// `Idle` (7) is an ikc addition for kernels that report `I` (TASK_IDLE),
/// which the 2016 header predates. Exported to TypeScript named by the letters
/// `ps` prints (`letter()`), as the SDK's `TaskState` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export, repr(enum)))]
pub enum TaskState {
    #[cfg_attr(test, ts(rename = "R"))]
    Running = 0,
    #[cfg_attr(test, ts(rename = "S"))]
    Interruptible = 1,
    #[cfg_attr(test, ts(rename = "D"))]
    Uninterruptible = 2,
    #[cfg_attr(test, ts(rename = "T"))]
    Stopped = 3,
    #[cfg_attr(test, ts(rename = "t"))]
    TraceStop = 4,
    #[cfg_attr(test, ts(rename = "X"))]
    Dead = 5,
    #[cfg_attr(test, ts(rename = "Z"))]
    Zombie = 6,
    #[cfg_attr(test, ts(rename = "I"))]
    Idle = 7,
}

impl TaskState {
    /// Maps the state letter of `/proc/PID/stat` (as `fs/proc/array.c` prints it).
    pub fn from_proc_letter(c: u8) -> Option<TaskState> {
        Some(match c {
            b'R' => TaskState::Running,
            b'S' => TaskState::Interruptible,
            b'D' => TaskState::Uninterruptible,
            b'T' => TaskState::Stopped,
            b't' => TaskState::TraceStop,
            b'X' | b'x' => TaskState::Dead,
            b'Z' => TaskState::Zombie,
            b'I' => TaskState::Idle,
            // 'P' (parked), 'W', 'K' only appear on old kernels; they were
            // uninterruptible sleeps in all but name.
            b'P' | b'W' | b'K' => TaskState::Uninterruptible,
            _ => return None,
        })
    }

    /// The letter `ps` prints for this state.
    pub fn letter(self) -> char {
        match self {
            TaskState::Running => 'R',
            TaskState::Interruptible => 'S',
            TaskState::Uninterruptible => 'D',
            TaskState::Stopped => 'T',
            TaskState::TraceStop => 't',
            TaskState::Dead => 'X',
            TaskState::Zombie => 'Z',
            TaskState::Idle => 'I',
        }
    }
}

/// Everything the procfs backend learns about one task: what the attribute
/// groups report, plus what the visibility rule needs.
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
    pub levels: crate::backend::procfs::NsLevels,
    /// Inode of the user namespace of the task's credentials (`cred->user_ns`);
    /// 0 when the backend was not asked for it (a viewer with `CAP_SYS_PTRACE` in
    /// the initial user namespace, for whom it changes nothing).
    pub user_ns: u64,
    /// Inode of the user namespace whose `CAP_SYS_PTRACE` overrides non-dumpability:
    /// `mm->user_ns`, or the initial user namespace for a task without an mm; 0 as for `user_ns`.
    pub dumpable_ns: u64,
}

#[cfg(test)]
mod tests {
    use super::TaskState;

    /// generated/TaskState.ts names each state by the letter `ps` prints for it.
    #[test]
    fn typescript_names_are_the_ps_letters() {
        let decl = <TaskState as ts_rs::TS>::decl(&ts_rs::Config::default());
        let all = [
            TaskState::Running,
            TaskState::Interruptible,
            TaskState::Uninterruptible,
            TaskState::Stopped,
            TaskState::TraceStop,
            TaskState::Dead,
            TaskState::Zombie,
            TaskState::Idle,
        ];
        for state in all {
            let member = format!("\"{}\" = {}", state.letter(), state as u8);
            assert!(decl.contains(&member), "{member} missing from {decl}");
        }
        assert_eq!(decl.matches(" = ").count(), all.len());
    }
}

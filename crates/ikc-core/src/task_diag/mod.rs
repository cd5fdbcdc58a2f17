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
/// Attribute types ikc adds, which the reference never had, are numbered in
/// `TASK_DIAG_IKC_FIRST..=TASK_DIAG_IKC_LAST` (32-63): requestable (`show_flags`
/// is `1 << type`, so 0-63), and clear of the reference's numbers, which grow
/// from 0 (0-4 in its header, 5-31 left to it: its implementation already emits
/// STATM and CMDLINE, which no header revision found numbers) and of the
/// unrequestable 64 and 65 its early revisions used. See docs/wire-format.md.
pub const TASK_DIAG_IKC_FIRST: u16 = 32;
pub const TASK_DIAG_IKC_LAST: u16 = 63;
// Requestable (a show bit exists for each) and above every reference number.
const _: () = assert!(TASK_DIAG_STAT < TASK_DIAG_IKC_FIRST && TASK_DIAG_IKC_FIRST <= TASK_DIAG_IKC_LAST && TASK_DIAG_IKC_LAST < 64);

/// `task_diag_base.state`, numbered as the reference header numbers them
/// (`TASK_DIAG_PARKED` 7, `TASK_DIAG_IDLE` 8, as `fs/proc/array.c` orders its letters).
/// Exported to TypeScript named by the letters `ps` prints (`letter()`), as
/// the SDK's `TaskState` table.
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
    #[cfg_attr(test, ts(rename = "P"))]
    Parked = 7,
    #[cfg_attr(test, ts(rename = "I"))]
    Idle = 8,
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
            b'P' => TaskState::Parked,
            b'I' => TaskState::Idle,
            // 'W' (waking) and 'K' (wakekill) only appear on old kernels; they
            // were uninterruptible sleeps in all but name.
            b'W' | b'K' => TaskState::Uninterruptible,
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
            TaskState::Parked => 'P',
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
    use super::*;

    #[test]
    fn states_are_numbered_as_the_reference_header_numbers_them() {
        // include/uapi/linux/task_diag.h (avagin/linux-task-diag): RUNNING .. ZOMBIE, PARKED, IDLE.
        let all = [
            TaskState::Running,
            TaskState::Interruptible,
            TaskState::Uninterruptible,
            TaskState::Stopped,
            TaskState::TraceStop,
            TaskState::Dead,
            TaskState::Zombie,
            TaskState::Parked,
            TaskState::Idle,
        ];
        let letters: String = all.iter().map(|s| s.letter()).collect();
        assert_eq!(letters, "RSDTtXZPI", "fs/proc/array.c's task_state_array order");
        for (n, s) in all.iter().enumerate() {
            assert_eq!(*s as usize, n);
            assert_eq!(TaskState::from_proc_letter(s.letter() as u8), Some(*s), "{s:?}");
        }
        assert_eq!((TaskState::Parked as u8, TaskState::Idle as u8), (7, 8));
    }

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
            TaskState::Parked,
            TaskState::Idle,
        ];
        for state in all {
            let member = format!("\"{}\" = {}", state.letter(), state as u8);
            assert!(decl.contains(&member), "{member} missing from {decl}");
        }
        assert_eq!(decl.matches(" = ").count(), all.len());
    }
}

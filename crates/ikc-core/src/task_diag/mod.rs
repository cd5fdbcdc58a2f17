//! task_diag, wire-compatible with Andrey Vagin's `include/uapi/linux/task_diag.h`
//! (v3): a request (`struct task_diag_pid`) and a dump of one netlink message per
//! task, each a `struct task_diag_msg` followed by the attribute groups asked for.
//!
//! - `request`: the request and its validation
//! - `group/`: the registry of attribute groups, one file per group
//! - `message`: a task's message and the reader of a whole response
//! - `dump`: runs a request against a backend, as a viewer may see it
//! - `scope`: the target pid namespace: which tasks, numbered how

mod dump;
mod group;
mod message;
mod request;
mod scope;

pub use dump::{dump, Access};
// The registry, and each group's own items (its constants, buffer, group type).
pub use group::*;
pub use message::{parse_response, TaskDiagMessage, MAX_TASK_MESSAGE_LEN, TASK_DIAG_MSG_LEN};
pub use request::{ShowFlags, ShowGroup, Strategy, TaskDiagRequest, TASK_DIAG_PID_LEN};
pub use scope::PidScope;
// The task records live in `crate::task`; these paths keep working.
pub use crate::task::{Comm, TaskBase, TaskCreds, TaskExtra, TaskInfo, TaskPs, TaskStat, TaskState};

/// `nlmsg_type` of requests and of each per-task message.
pub const TASK_DIAG_CMD_GET: u16 = 0xd101;

/// `task_diag_msg.flags`: the next message continues this task (its attribute
/// groups did not all fit in `MAX_TASK_MESSAGE_LEN` bytes).
pub const TASK_DIAG_FLAG_CONT: u32 = 0x1;

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


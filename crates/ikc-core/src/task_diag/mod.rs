//! task_diag, wire-compatible with Andrey Vagin's `include/uapi/linux/task_diag.h`
//! (v3): a request (`struct task_diag_pid`) and a dump of one netlink message per
//! task, each a `struct task_diag_msg` followed by the attribute groups asked for.

mod base;
mod creds;
mod dump;
mod message;
mod request;
mod scope;

pub use base::{TaskBaseBuffer, TASK_DIAG_BASE_LEN};
pub use creds::{TaskCredsBuffer, TASK_DIAG_CREDS_LEN};
pub use dump::{dump, Access};
pub use message::{parse_response, TaskAttribute, TaskDiagMessage, TASK_DIAG_MSG_LEN};
pub use request::{ShowFlags, Strategy, TaskDiagRequest, TASK_DIAG_PID_LEN};
pub use scope::PidScope;
// The task records live in `crate::task`; these paths keep working.
pub use crate::task::{Comm, TaskBase, TaskCreds, TaskInfo, TaskState};

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

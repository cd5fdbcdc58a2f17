//! ikc-core: Lutomirski's `issue_kernel_command` and Vagin's task_diag, made real
//! in userspace. Module map (one concept each):
//! - `command`: the command table (number, namespace type, read-only bit)
//! - `ns`: namespace handles and the `CURRENT_*` / `GLOBAL` sentinels
//! - `net`: network-namespace commands (SOCK_DIAG, LINK_DUMP, ADDR_DUMP)
//! - `netlink`: message and attribute codec (checked buffers, emit/parse)
//! - `extensible`: the size rule for request structs (`copy_struct_from_user`'s)
//! - `task_diag`: the task_diag request, attribute groups, messages and dump
//! - `visibility`: the hidepid=2 / ptrace-read rule, as a pure function
//! - `userns`: the user-namespace tree that rule walks, learned from the kernel
//! - `backend`: where task data comes from (procfs)
//! - `response`: the sealed, read-only, close-on-exec response fd
//! - `kernel_command`: the call itself
//! - `sandbox`: runs a program under seccomp with only its broker connection
//! - `broker`: the daemon that answers for other processes, its protocol and client

pub mod backend;
pub mod broker;
pub mod command;
pub mod error;
pub mod extensible;
pub mod kernel_command;
pub mod net;
pub mod netlink;
pub mod ns;
pub mod response;
pub mod sandbox;
pub mod task_diag;
pub mod userns;
pub mod visibility;

pub use command::{NsType, ADDR_DUMP, LINK_DUMP, READ_ONLY, SOCK_DIAG, TASK_DIAG};
pub use error::{Error, Result};
pub use kernel_command::{issue_as, issue_kernel_command, issue_kernel_command_with, Caller, MAX_REQUEST_LEN};
pub use ns::{CURRENT_NETNS, CURRENT_PIDNS, GLOBAL};
pub use response::ResponseFd;

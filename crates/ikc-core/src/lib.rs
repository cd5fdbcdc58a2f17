//! ikc-core: Lutomirski's `issue_kernel_command` and Vagin's task_diag, made real
//! in userspace. Module map (one concept each); each module depends only on
//! those above it (tests aside):
//! - `wire`: `buffer!`, the checked field declarations every wire struct uses
//! - `error`: the one error type, each failure one errno
//! - `caps`: capability numbers and `capget`/`capset`
//! - `task`: the task records (ids, state, credentials, namespace levels), plain data
//! - `ns`: namespace types and handles, the `CURRENT_*` / `GLOBAL` sentinels
//! - `command`: the command table (number, namespace type, read-only bit)
//! - `netlink`: message and attribute codec (checked buffers, emit/parse)
//! - `extensible`: the size rule for request structs (`copy_struct_from_user`'s)
//! - `visibility`: the hidepid=2 / ptrace-read rule, as a pure function
//! - `userns`: the user-namespace tree that rule walks, learned from the kernel
//! - `backend`: where task records come from (procfs, the BPF task iterator)
//! - `task_diag`: the request, the registry of attribute groups, messages, the dump
//! - `net`: network-namespace commands (SOCK_DIAG, LINK_DUMP, ADDR_DUMP)
//! - `response`: the sealed, read-only, close-on-exec response fd
//! - `kernel_command`: the call itself, and the `Session` successive calls reuse
//! - `sandbox`: runs a program under seccomp with only its broker connection
//! - `broker`: the daemon that answers for other processes, its protocol and client

pub mod backend;
pub mod broker;
pub mod caps;
pub mod command;
pub mod error;
pub mod events;
pub mod extensible;
pub mod kernel_command;
pub mod net;
pub mod netlink;
pub mod ns;
pub mod response;
pub mod sandbox;
pub mod stats;
pub mod stream;
pub mod task;
pub mod task_diag;
pub mod userns;
pub mod visibility;
pub mod wire;

pub use command::{ADDR_DUMP, LINK_DUMP, READ_ONLY, SOCK_DIAG, TASK_DIAG};
pub use error::{Error, Result};
pub use kernel_command::{issue_as, issue_kernel_command, issue_kernel_command_with, Caller, Session, MAX_REQUEST_LEN};
pub use ns::{NsType, CURRENT_NETNS, CURRENT_PIDNS, GLOBAL};
pub use response::ResponseFd;

//! The Node.js binding of ikc-core: each function converts its arguments, calls
//! the core, and converts the result. Nothing here decides anything.

// Under `cargo test` napi-derive registers nothing, so the exported functions look unused.
#![cfg_attr(test, allow(dead_code))]

mod broker;
mod convert;
mod types;

use napi::bindgen_prelude::{AsyncTask, Buffer};
use napi::{Env, Task};
use napi_derive::napi;

use convert::{gather_iov, to_js_error, Code};
pub use types::CommandInfo;

/// `ns` sentinel: the caller's own pid namespace.
#[napi]
pub const CURRENT_PIDNS: i32 = ikc_core::ns::CURRENT_PIDNS;
/// `ns` sentinel: the caller's own network namespace.
#[napi]
pub const CURRENT_NETNS: i32 = ikc_core::ns::CURRENT_NETNS;
/// `ns` sentinel: the initial namespace of the command's type.
#[napi]
pub const GLOBAL: i32 = ikc_core::ns::GLOBAL;
/// The read-only bit of a command number.
#[napi]
pub const READ_ONLY: u32 = ikc_core::command::READ_ONLY;
/// `flags`: answer ALL/ALL_THREAD dumps from procfs only.
#[napi]
pub const FLAG_BACKEND_PROCFS: u32 = ikc_core::kernel_command::FLAG_BACKEND_PROCFS;
/// `flags`: answer ALL/ALL_THREAD dumps from the BPF task iterator.
#[napi]
pub const FLAG_BACKEND_BPF: u32 = ikc_core::kernel_command::FLAG_BACKEND_BPF;

/// The backend ('procfs' or 'bpf') a task_diag dump issued now with `flags` would use.
#[napi]
pub fn backend_in_use(flags: u32) -> napi::Result<String, Code> {
    ikc_core::kernel_command::backend_in_use(flags).map(|b| b.name().to_string()).map_err(to_js_error)
}

/// The task_diag command number (read-only bit included).
#[napi]
pub const TASK_DIAG: u32 = ikc_core::command::TASK_DIAG;
/// The sock_diag command number: the sockets of a network namespace.
#[napi]
pub const SOCK_DIAG: u32 = ikc_core::command::SOCK_DIAG;
/// The link dump command number: the links of a network namespace, with statistics.
#[napi]
pub const LINK_DUMP: u32 = ikc_core::command::LINK_DUMP;
/// The address dump command number: the addresses of a network namespace.
#[napi]
pub const ADDR_DUMP: u32 = ikc_core::command::ADDR_DUMP;

/// Issues a command and returns the response fd (read-only, sealed, close-on-exec).
/// The caller owns the fd and must close it.
#[napi]
pub fn issue_kernel_command(ns: i32, command: u32, iov: Vec<Buffer>, flags: Option<u32>) -> napi::Result<i32, Code> {
    let parts = gather_iov(&iov);
    ikc_core::issue_kernel_command(ns, command, &parts, flags.unwrap_or(0))
        .map(|fd| fd.into_raw_fd())
        .map_err(to_js_error)
}

/// The same call on the libuv thread pool; resolves to the response fd.
#[napi(ts_return_type = "Promise<number>")]
pub fn issue_kernel_command_async(ns: i32, command: u32, iov: Vec<Buffer>, flags: Option<u32>) -> AsyncTask<IssueTask> {
    let request = iov.iter().map(|b| b.to_vec()).collect();
    // The fd is duplicated now, in the caller's turn, not on the worker thread.
    let ns = Some(ikc_core::ns::NsSelector::from_raw(ns));
    AsyncTask::new(IssueTask { ns, command, request, flags: flags.unwrap_or(0) })
}

pub struct IssueTask {
    ns: Option<ikc_core::Result<ikc_core::ns::NsSelector>>,
    command: u32,
    request: Vec<Vec<u8>>,
    flags: u32,
}

impl Task for IssueTask {
    type Output = i32;
    type JsValue = i32;

    fn compute(&mut self) -> napi::Result<i32> {
        let parts: Vec<&[u8]> = self.request.iter().map(Vec::as_slice).collect();
        let ns = self.ns.take().unwrap_or_else(|| Err(ikc_core::Error::invalid("the task ran twice")));
        ns.and_then(|ns| ikc_core::issue_kernel_command_with(ns, self.command, &parts, self.flags))
            .map(|fd| fd.into_raw_fd())
            .map_err(|e| napi::Error::from_reason(e.to_string()))
    }

    fn resolve(&mut self, _env: Env, fd: i32) -> napi::Result<i32> {
        Ok(fd)
    }
}

/// Encodes a task_diag request message (`nlmsghdr` + `struct task_diag_pid`).
#[napi]
pub fn encode_task_diag_request(show: i64, strategy: i64, pid: u32, sequence: Option<u32>) -> napi::Result<Buffer, Code> {
    ikc_core::task_diag::TaskDiagRequest::encode(show as u64, strategy as u64, pid, sequence.unwrap_or(0))
        .map(Buffer::from)
        .map_err(to_js_error)
}

/// Encodes a SOCK_DIAG request for TCP or UDP sockets (`nlmsghdr` + `struct inet_diag_req_v2`).
#[napi]
pub fn encode_inet_diag_request(family: u32, protocol: u32, states: u32, ext: Option<u32>, sequence: Option<u32>) -> napi::Result<Buffer, Code> {
    ikc_core::net::encode_inet(family, protocol, states, ext.unwrap_or(0), sequence.unwrap_or(0))
        .map(Buffer::from)
        .map_err(to_js_error)
}

/// Encodes a SOCK_DIAG request for UNIX sockets (`nlmsghdr` + `struct unix_diag_req`).
#[napi]
pub fn encode_unix_diag_request(states: u32, show: u32, sequence: Option<u32>) -> napi::Result<Buffer, Code> {
    ikc_core::net::encode_unix(states, show, sequence.unwrap_or(0)).map(Buffer::from).map_err(to_js_error)
}

/// Encodes a LINK_DUMP request (`nlmsghdr` RTM_GETLINK + `struct ifinfomsg`).
#[napi]
pub fn encode_link_dump_request(sequence: Option<u32>) -> Buffer {
    ikc_core::net::encode_link(sequence.unwrap_or(0)).into()
}

/// Encodes an ADDR_DUMP request (`nlmsghdr` RTM_GETADDR + `struct ifaddrmsg`); family 0, 2 or 10.
#[napi]
pub fn encode_addr_dump_request(family: u32, sequence: Option<u32>) -> napi::Result<Buffer, Code> {
    ikc_core::net::encode_addr(family, sequence.unwrap_or(0)).map(Buffer::from).map_err(to_js_error)
}

/// The command table.
#[napi]
pub fn commands() -> Vec<CommandInfo> {
    ikc_core::command::COMMANDS.iter().map(CommandInfo::from).collect()
}

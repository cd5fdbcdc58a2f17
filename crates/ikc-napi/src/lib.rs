//! The Node.js binding of ikc-core: each function converts its arguments, calls
//! the core, and converts the result. Nothing here decides anything.

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
/// The task_diag command number (read-only bit included).
#[napi]
pub const TASK_DIAG: u32 = ikc_core::command::TASK_DIAG;

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
    AsyncTask::new(IssueTask { ns, command, request, flags: flags.unwrap_or(0) })
}

pub struct IssueTask {
    ns: i32,
    command: u32,
    request: Vec<Vec<u8>>,
    flags: u32,
}

impl Task for IssueTask {
    type Output = i32;
    type JsValue = i32;

    fn compute(&mut self) -> napi::Result<i32> {
        let parts: Vec<&[u8]> = self.request.iter().map(Vec::as_slice).collect();
        ikc_core::issue_kernel_command(self.ns, self.command, &parts, self.flags)
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

/// The command table.
#[napi]
pub fn commands() -> Vec<CommandInfo> {
    ikc_core::command::COMMANDS.iter().map(CommandInfo::from).collect()
}

//! `issue_kernel_command`: validate flags, command, namespace and request, run
//! the command as the caller may see the system, and return the answer as a
//! sealed read-only fd. Checks come in that order, so one bad argument always
//! gives the same errno.

use crate::backend::procfs::ProcFs;
use crate::command::{self, Command, NsType};
use crate::error::{Error, Result};
use crate::ns::{self, NsSelector};
use crate::response::ResponseFd;
use crate::task_diag::{self, TaskDiagRequest};
use crate::visibility::Viewer;

/// No flag is defined yet; every bit is reserved.
pub const KNOWN_FLAGS: u32 = 0;
/// Requests larger than this are refused before they are copied.
pub const MAX_REQUEST_LEN: usize = 64 * 1024;

/// Who issued a command, captured once when it is issued.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub viewer: Viewer,
    /// The caller's pid namespace.
    pub pid_ns: ns::NsId,
    /// Whether the mounted `/proc` shows the caller's own pid namespace.
    pub proc_is_own_pidns: bool,
}

impl Caller {
    /// The calling thread, as the kernel reports its credentials now.
    pub fn current(proc: &mut ProcFs) -> Result<Caller> {
        let (viewer, nspid_levels) = proc.current_viewer()?;
        Ok(Caller { viewer, pid_ns: ns::current(NsType::Pid)?, proc_is_own_pidns: nspid_levels == 1 })
    }
}

/// The call, for the calling process. `ns` is a namespace fd or one of
/// `ns::CURRENT_PIDNS`, `ns::CURRENT_NETNS`, `ns::GLOBAL`; `iov` is read as one
/// byte stream.
pub fn issue_kernel_command(ns: i32, command: u32, iov: &[&[u8]], flags: u32) -> Result<ResponseFd> {
    check_flags(flags)?;
    command::lookup(command)?;
    // Take our own reference to the caller's fd before opening anything: an fd we
    // open could otherwise reuse the number of one the caller just closed.
    let selector = NsSelector::from_raw(ns)?;
    let mut proc = ProcFs::open()?;
    let caller = Caller::current(&mut proc)?;
    issue_as(&mut proc, &caller, selector, command, iov, flags)
}

/// The call, on behalf of `caller` (in-process use, or a broker answering a
/// client), with the namespace argument already held.
pub fn issue_as(
    proc: &mut ProcFs,
    caller: &Caller,
    selector: NsSelector,
    command: u32,
    iov: &[&[u8]],
    flags: u32,
) -> Result<ResponseFd> {
    check_flags(flags)?;
    let spec = command::lookup(command)?;
    let target = ns::resolve(&selector, spec.ns_type)?;
    drop(selector);
    let request = gather(iov)?;
    let bytes = match spec.command {
        Command::TaskDiag => {
            let req = TaskDiagRequest::from_message(&request)?;
            if target.id != caller.pid_ns {
                return Err(Error::NotSupported("task_diag for a pid namespace other than the caller's own".into()));
            }
            if !caller.proc_is_own_pidns {
                return Err(Error::NotSupported("/proc is mounted from another pid namespace than the caller's".into()));
            }
            task_diag::dump(proc, &caller.viewer, &req)?
        }
    };
    ResponseFd::from_bytes(&bytes)
}

fn check_flags(flags: u32) -> Result<()> {
    if flags & !KNOWN_FLAGS != 0 {
        return Err(Error::invalid(format!("unknown flags {flags:#x}")));
    }
    Ok(())
}

/// Joins the iovec into one request, refusing oversized ones before copying.
fn gather(iov: &[&[u8]]) -> Result<Vec<u8>> {
    let total = iov.iter().try_fold(0usize, |acc, b| acc.checked_add(b.len()));
    match total {
        Some(n) if n <= MAX_REQUEST_LEN => Ok(iov.concat()),
        _ => Err(Error::invalid(format!("request exceeds {MAX_REQUEST_LEN} bytes"))),
    }
}

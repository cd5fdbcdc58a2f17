//! `issue_kernel_command`: validate flags, command, namespace and request, run
//! the command as the caller may see the system, and return the answer as a
//! read-only fd of the kind the command table names: a sealed snapshot, or a
//! stream whose producer keeps writing. Checks come in that order, so one bad
//! argument always gives the same errno.

use std::os::fd::OwnedFd;

use crate::backend::procfs::ProcFs;
use crate::backend::{self, Backend};
use crate::ns::NsSource;
use crate::caps::CAP_NET_ADMIN;
use crate::command::{self, Command, ResponseKind};
use crate::error::{Error, Result};
use crate::events;
use crate::net;
use crate::ns::{self, Namespace, NsSelector, NsType};
use crate::response::ResponseFd;
use crate::stats;
use crate::stream::{Lease, StopSignal};
use crate::task_diag::{self, Access, PidScope, ShowFlags, Strategy, TaskDiagRequest};
use crate::userns::UserNsTree;
use crate::visibility::{Judge, Viewer};

/// `flags`: answer ALL/ALL_THREAD dumps from procfs only.
pub const FLAG_BACKEND_PROCFS: u32 = 0x1;
/// `flags`: answer ALL/ALL_THREAD dumps from the BPF task iterator (`EOPNOTSUPP` if it cannot be had).
pub const FLAG_BACKEND_BPF: u32 = 0x2;
/// Every other bit is reserved. Neither backend bit: ikc picks (`backend::choose`).
pub const KNOWN_FLAGS: u32 = FLAG_BACKEND_PROCFS | FLAG_BACKEND_BPF;
/// Requests larger than this are refused before they are copied.
pub const MAX_REQUEST_LEN: usize = 64 * 1024;

/// What successive calls reuse: the open `/proc` that task records, the
/// caller's identity and namespace scoping are read through (the procfs
/// backend; the BPF one is process-wide already). In-process, each call opens
/// its own; a broker keeps one per connection, so that a request costs no
/// `open("/proc")`. No backend shows through it.
pub struct Session {
    proc: ProcFs,
    /// Streams started through this session end when it fires (a broker stopping).
    stop: Option<StopSignal>,
    /// What the next stream started keeps while it runs (a broker's quota slot).
    lease: Lease,
}

impl Session {
    pub fn open() -> Result<Session> {
        Ok(Session { proc: ProcFs::open()?, stop: None, lease: None })
    }

    /// A session whose streams end when `stop` fires.
    pub fn with_stop(mut self, stop: StopSignal) -> Session {
        self.stop = Some(stop);
        self
    }

    /// Gives the next stream started through this session `lease` to hold for its life.
    pub fn lease_next_stream(&mut self, lease: Box<dyn Send>) {
        self.lease = Some(lease);
    }

    /// The calling thread's credentials as the kernel reports them, and how
    /// many pid-namespace levels separate /proc's namespace from it (1: the same).
    pub fn current_viewer(&mut self) -> Result<(Viewer, usize)> {
        self.proc.current_viewer()
    }

    /// The procfs backend behind the session, for the crate's own readers
    /// (the broker's identity checks).
    pub(crate) fn procfs(&mut self) -> &mut ProcFs {
        &mut self.proc
    }
}

/// Who issued a command, captured once when it is issued.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    /// Credentials, with the tgid numbered as procfs numbers it.
    pub viewer: Viewer,
    /// A broker's client as it was when it connected: it is answered with no
    /// more than both this and `viewer` allow (rights may drop, never rise).
    pub connected_as: Option<Viewer>,
    /// Whether the kernel judges visibility (the issuing thread is the caller)
    /// or ikc's rules do (a broker, for a client).
    pub judge: Judge,
    /// The caller's pid namespace.
    pub pid_ns: ns::NsId,
    /// How many levels the caller's pid namespace sits below procfs's (0: the same).
    pub levels_below_proc: usize,
    /// Where the caller's own namespaces are found (`CURRENT_*`, `GLOBAL`).
    pub ns_source: ns::NsSource,
}

impl Caller {
    /// Every identity the caller is judged as.
    pub fn viewers(&self) -> impl Iterator<Item = &Viewer> {
        std::iter::once(&self.viewer).chain(self.connected_as.as_ref())
    }

    /// Whether every identity holds `cap` over the whole system.
    pub fn has_cap_globally(&self, cap: u32) -> bool {
        self.viewers().all(|v| v.has_cap_globally(cap))
    }

    /// The calling thread, as the kernel reports its credentials now.
    pub fn current(session: &mut Session) -> Result<Caller> {
        let (viewer, nspid_levels) = session.current_viewer()?;
        Ok(Caller {
            viewer,
            connected_as: None,
            judge: Judge::Kernel,
            pid_ns: ns::current(NsType::Pid)?,
            levels_below_proc: nspid_levels.saturating_sub(1),
            ns_source: ns::NsSource::ThisThread,
        })
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
    issue_kernel_command_with(NsSelector::from_raw(ns)?, command, iov, flags)
}

/// The call with the namespace argument already held (`NsSelector::from_raw`):
/// an asynchronous caller takes its reference when it is called, before it
/// hands the work to another thread.
pub fn issue_kernel_command_with(selector: NsSelector, command: u32, iov: &[&[u8]], flags: u32) -> Result<ResponseFd> {
    check_flags(flags)?;
    command::lookup(command)?;
    let mut session = Session::open()?;
    let caller = Caller::current(&mut session)?;
    issue_as(&mut session, &caller, &mut UserNsTree::default(), selector, command, iov, flags)
}

/// The call, on behalf of `caller` (in-process use, or a broker answering a
/// client), with the namespace argument already held, reusing `session`.
/// `users`: the user namespaces known so far (a broker learns the client's
/// before it calls).
pub fn issue_as(
    session: &mut Session,
    caller: &Caller,
    users: &mut UserNsTree,
    selector: NsSelector,
    command: u32,
    iov: &[&[u8]],
    flags: u32,
) -> Result<ResponseFd> {
    check_flags(flags)?;
    let spec = command::lookup(command)?;
    let target = ns::resolve(&selector, spec.ns_type, caller.ns_source)?;
    drop(selector);
    let request = gather(iov)?;
    match spec.response {
        ResponseKind::Snapshot => ResponseFd::from_bytes(&snapshot(session, caller, users, spec.command, target, &request, flags)?),
        ResponseKind::Stream => stream(session, caller, users, spec.command, target, &request, flags).map(ResponseFd::stream),
    }
}

/// A snapshot command's whole answer.
fn snapshot(
    session: &mut Session,
    caller: &Caller,
    users: &mut UserNsTree,
    command: Command,
    target: Namespace,
    request: &[u8],
    flags: u32,
) -> Result<Vec<u8>> {
    match command {
        Command::TaskDiag => {
            let req = TaskDiagRequest::from_message(request)?;
            let (backend, mut scope) = dump_setup(caller, target, &req, flags)?;
            dump_as(session, caller, users, &mut scope, &req, backend)
        }
        Command::SockDiag => net::sock_diag(&target, request, net_rights(caller)),
        Command::LinkDump => net::link_dump(&target, request, net_rights(caller)),
        Command::AddrDump => net::addr_dump(&target, request, net_rights(caller)),
        Command::LinkStats | Command::TaskStats | Command::ProcEvents => Err(Error::damaged(format!("{command:?} is a stream command"))),
    }
}

/// A stream command: its producer started, the stream's read end returned.
fn stream(
    session: &mut Session,
    caller: &Caller,
    users: &mut UserNsTree,
    command: Command,
    target: Namespace,
    request: &[u8],
    flags: u32,
) -> Result<OwnedFd> {
    let lease = session.lease.take();
    match command {
        Command::LinkStats => stats::subscribe_links(&target, request, net_rights(caller), session.stop.clone(), lease),
        Command::TaskStats => {
            let req = stats::TaskStatsRequest::from_message(request)?;
            let (backend, scope) = dump_setup(caller, target, &req.task, flags)?;
            let source = stats::TaskSource::new(caller.viewers().copied().collect(), caller.judge, users.clone(), scope, req.task, backend)?;
            stats::subscribe_tasks(source, &req, session.stop.clone(), lease)
        }
        Command::ProcEvents => {
            // Every pid the request names must be one task_diag would show the
            // caller: hidden, missing and outside the namespace are one ESRCH.
            for pid in events::EventsRequest::from_message(request)?.pids {
                visible_task(session, caller, users, &target, pid)?;
            }
            events::subscribe(caller, target, request, session.stop.clone(), lease)
        }
        Command::TaskDiag | Command::SockDiag | Command::LinkDump | Command::AddrDump => {
            Err(Error::damaged(format!("{command:?} is a snapshot command")))
        }
    }
}

/// What a task_diag dump for `caller` of `target` reads from (TASK_DIAG, and
/// every tick of TASK_STATS): the backend, and the pid-namespace scope.
fn dump_setup(caller: &Caller, target: Namespace, req: &TaskDiagRequest, flags: u32) -> Result<(Backend, PidScope)> {
    let in_initial_view = caller.levels_below_proc == 0 && ns::is_initial(NsSource::ThisThread, NsType::Pid, caller.pid_ns)?;
    let backend = task_diag_backend(req, flags, in_initial_view)?;
    Ok((backend, pid_scope(caller, target)?))
}

/// Task `pid` (numbered in `target`) as task_diag's ONE strategy answers the
/// caller: `ESRCH` whether it is missing, outside the namespace or hidden.
fn visible_task(session: &mut Session, caller: &Caller, users: &mut UserNsTree, target: &Namespace, pid: u32) -> Result<()> {
    let fd = target.fd.try_clone().map_err(|e| Error::from_io("dup namespace fd", &e))?;
    let mut scope = pid_scope(caller, Namespace { ns_type: target.ns_type, id: target.id, fd })?;
    let req = TaskDiagRequest { show: ShowFlags::BASE, strategy: Strategy::One, pid, sequence: 0 };
    dump_as(session, caller, users, &mut scope, &req, Backend::Procfs).map(drop)
}

/// A task_diag dump judged for every identity `caller` is answered as.
fn dump_as(session: &mut Session, caller: &Caller, users: &mut UserNsTree, scope: &mut PidScope, req: &TaskDiagRequest, backend: Backend) -> Result<Vec<u8>> {
    let viewers: Vec<Viewer> = caller.viewers().copied().collect();
    let mut access = Access { viewers: &viewers, judge: caller.judge, users };
    task_diag::dump(&mut session.proc, &mut access, scope, req, backend)
}

/// The backend a dump of `req` reads from: what `flags` ask for, resolved by
/// `backend::choose`. Auto reads per-process strategies (a handful of tasks)
/// from procfs, where a BPF walk would visit every task, and avoids a backend
/// that does not fill every group the request shows; an explicit one that
/// does not is `EOPNOTSUPP`.
fn task_diag_backend(req: &TaskDiagRequest, flags: u32, in_initial_view: bool) -> Result<Backend> {
    let unfilled = |b: Backend| task_diag::shown(req.show).find(|g| !g.filled_by(b));
    let requested = match requested_backend(flags) {
        Backend::Auto if req.strategy.needs_pid() || unfilled(Backend::Bpf).is_some() => Backend::Procfs,
        other => other,
    };
    let backend = backend::choose(requested, in_initial_view)?;
    match unfilled(backend) {
        Some(g) => Err(Error::NotSupported(format!("the {} backend does not fill {}", backend.name(), g.uapi_name))),
        None => Ok(backend),
    }
}

/// The rights the kernel should apply when it answers a network dump. The
/// kernel shows what it reserves for `CAP_NET_ADMIN` (TCP-MD5 keys, socket
/// marks) only if the socket's opener held it, so a broker opens the socket
/// without it for a client that does not hold it over the whole system (a
/// user namespace's root does not: conservative for a namespace it owns).
fn net_rights(caller: &Caller) -> net::Rights {
    match caller.judge {
        Judge::Kernel => net::Rights::Own,
        Judge::Rules if caller.has_cap_globally(CAP_NET_ADMIN) => net::Rights::Own,
        Judge::Rules => net::Rights::WithoutNetAdmin,
    }
}

/// Where the target pid namespace sits relative to the one procfs shows.
/// Only the caller's own pid namespace and those below it may be named: the
/// kernel's own rule for pid-namespace fds (`NS_GET_PARENT` stops at the
/// caller's), applied the same whether ikc runs in the caller or in a broker.
fn pid_scope(caller: &Caller, target: Namespace) -> Result<PidScope> {
    // The common case: the caller's own namespace, which /proc shows.
    if target.id == caller.pid_ns && caller.levels_below_proc == 0 {
        return Ok(PidScope::whole(target.id));
    }
    if target.id != caller.pid_ns && ns::depth_below(&target.fd, caller.pid_ns)?.is_none() {
        return Err(Error::PermissionDenied("the pid namespace is neither the caller's own nor below it".into()));
    }
    let caller_ns = caller.ns_source.open(NsType::Pid)?;
    let proc_ns = ns::ancestor(caller_ns, caller.levels_below_proc)?
        .ok_or_else(|| Error::NotSupported("/proc belongs to a pid namespace above the caller's reach".into()))?;
    let proc_id = ns::id_of(&proc_ns)?;
    if target.id == proc_id {
        return Ok(PidScope::whole(target.id));
    }
    match ns::depth_below(&target.fd, proc_id)? {
        Some(depth) => Ok(PidScope::nested(depth, target.id, target.fd, caller.levels_below_proc == 0)),
        None => Err(Error::PermissionDenied(
            "the pid namespace is not the one /proc shows nor below it, so its tasks cannot be read from here".into(),
        )),
    }
}

fn check_flags(flags: u32) -> Result<()> {
    if flags & !KNOWN_FLAGS != 0 {
        return Err(Error::invalid(format!("unknown flags {flags:#x}")));
    }
    if flags & KNOWN_FLAGS == KNOWN_FLAGS {
        return Err(Error::invalid("flags ask for both the procfs and the BPF backend"));
    }
    Ok(())
}

/// Which backend a task_diag dump issued now by this thread with `flags` would
/// use (`Err` carries why an explicit BPF request cannot be served).
pub fn backend_in_use(flags: u32) -> Result<Backend> {
    check_flags(flags)?;
    let caller = Caller::current(&mut Session::open()?)?;
    let in_initial_view = caller.levels_below_proc == 0 && ns::is_initial(NsSource::ThisThread, NsType::Pid, caller.pid_ns)?;
    backend::choose(requested_backend(flags), in_initial_view)
}

/// The backend the flags ask for.
pub fn requested_backend(flags: u32) -> Backend {
    match flags & KNOWN_FLAGS {
        FLAG_BACKEND_PROCFS => Backend::Procfs,
        FLAG_BACKEND_BPF => Backend::Bpf,
        _ => Backend::Auto,
    }
}

/// Joins the iovec into one request, refusing oversized ones before copying.
fn gather(iov: &[&[u8]]) -> Result<Vec<u8>> {
    let total = iov.iter().try_fold(0usize, |acc, b| acc.checked_add(b.len()));
    match total {
        Some(n) if n <= MAX_REQUEST_LEN => Ok(iov.concat()),
        _ => Err(Error::invalid(format!("request exceeds {MAX_REQUEST_LEN} bytes"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task_diag::{AttributeGroup, ShowFlags, Strategy, TestLevelsGroup};

    /// The test-only group says only procfs fills it.
    #[test]
    fn a_group_one_backend_lacks_is_eopnotsupp_there_and_avoided_by_auto() {
        let show = ShowFlags::BASE | TestLevelsGroup::SPEC.show();
        let req = TaskDiagRequest { show, strategy: Strategy::All, pid: 0, sequence: 0 };
        assert_eq!(task_diag_backend(&req, 0, true), Ok(Backend::Procfs), "auto");
        assert_eq!(task_diag_backend(&req, FLAG_BACKEND_PROCFS, true), Ok(Backend::Procfs));
        assert_eq!(task_diag_backend(&req, FLAG_BACKEND_BPF, true).unwrap_err().code(), "EOPNOTSUPP");
    }
}

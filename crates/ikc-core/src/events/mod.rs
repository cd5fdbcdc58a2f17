//! PROC_EVENTS: the process connector's events (fork, exec, exit with its
//! code and signal, uid, gid, sid, comm, ptrace, coredump) as a stream, shown
//! to each subscriber as task_diag would show it the tasks, in its own pid
//! namespace's numbering, with every loss announced.
//!
//! - `request`: `struct ikc_events_request` (types, flags, count, pids)
//! - `message`: the kernel's `struct proc_event` and the stream's `IKC_PROC_EVENT`
//! - `connector`: the one `NETLINK_CONNECTOR` socket
//! - `tasks`: the pid → credentials cache visibility is judged by
//! - `subscriber`: one stream's filter, audience and sink
//! - `hub`: the thread that fans the socket out to every subscriber
//!
//! The wire layout and the loss protocol are in docs/wire-format.md ("Events").

mod connector;
pub mod hub;
mod message;
mod request;
mod subscriber;
mod tasks;

use std::collections::HashSet;
use std::os::fd::OwnedFd;

pub use connector::{check_namespaces, Connector, PROC_CN_MCAST_IGNORE, PROC_CN_MCAST_LISTEN};
pub use message::{
    Event, EventExtraBuffer, EventType, ProcEventBuffer, EVENT_EXTRA_LEN, IKC_EVENT_HAS_CMDLINE, IKC_EVENT_HAS_COMM, IKC_PROC_EVENT, PROC_EVENT_ALL,
    PROC_EVENT_LEN,
};
pub use request::{EventsRequest, EventsRequestBuffer, EVENTS_REQUEST_LEN, IKC_EVENTS_CMDLINE, IKC_EVENTS_SUBSCRIBE, IKC_EVENTS_SUBTREE, MAX_PIDS};
pub use subscriber::Audience;

use crate::error::{Error, Result};
use crate::kernel_command::Caller;
use crate::ns::{self, Namespace};
use crate::stream::{self, Lease, StopSignal};

/// Starts a PROC_EVENTS stream for `caller` over the pid namespace `target`.
/// Errors come now (a bad request, a namespace the caller may not name, no
/// connector), never as a stream that stays silent.
pub fn subscribe(caller: &Caller, target: Namespace, request: &[u8], stop: Option<StopSignal>, lease: Lease) -> Result<OwnedFd> {
    let req = EventsRequest::from_message(request)?;
    // The caller's own pid namespace or one below it, as for task_diag.
    if target.id != caller.pid_ns && ns::depth_below(&target.fd, caller.pid_ns)?.is_none() {
        return Err(Error::PermissionDenied("the pid namespace is neither the caller's own nor below it".into()));
    }
    // The hub runs in this process, which must be where the kernel reports events from.
    connector::check_namespaces()?;
    let depth = depth_of(&target.fd)?;
    let viewers: Vec<_> = caller.viewers().copied().collect();
    let omniscient = viewers.iter().all(|v| v.sees_everything());
    let audience = Audience { viewers, omniscient, depth, pid_ns: target.id.ino };
    let pids = if req.pids.is_empty() { None } else { Some(global_pids(&req.pids, &target, depth)?) };
    let (read, sink) = stream::pipe()?;
    hub::join(subscriber::Subscriber { sink, req, audience, pids, stop, delivered: 0, _lease: lease })?;
    Ok(read)
}

/// How many levels `ns` sits below the initial pid namespace.
fn depth_of(ns_fd: &OwnedFd) -> Result<usize> {
    let mut depth = 0;
    let mut cur: Option<OwnedFd> = None;
    loop {
        let fd = cur.as_ref().unwrap_or(ns_fd);
        if ns::id_of(fd)?.ino == ns::PROC_PID_INIT_INO {
            return Ok(depth);
        }
        match ns::parent(fd)? {
            Some(p) => cur = Some(p),
            None => return Err(Error::NotSupported("the pid namespace is not below the initial one as this process sees it".into())),
        }
        depth += 1;
        if depth > crate::task::MAX_LEVELS {
            return Err(Error::damaged("pid namespace chain deeper than the kernel allows"));
        }
    }
}

/// The request's pids (numbered in `target`) as the initial namespace numbers
/// them. Whether the caller may see them was asked before (`issue`: task_diag's
/// ONE strategy, so hidden and missing are the same `ESRCH`); a pid gone since is `ESRCH` too.
fn global_pids(pids: &[u32], target: &Namespace, depth: usize) -> Result<HashSet<u32>> {
    let mut out = HashSet::new();
    for &p in pids {
        let global = if depth == 0 { Some(p) } else { ns::pid_from_pidns(&target.fd, p)? };
        out.insert(global.ok_or(Error::NoSuchProcess(p))?);
    }
    Ok(out)
}

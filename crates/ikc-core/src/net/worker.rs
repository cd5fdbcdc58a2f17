//! Opens a netlink socket inside a target network namespace without moving any
//! of the caller's threads: a dedicated, short-lived thread enters the namespace
//! (`setns`), opens the socket, leaves again at once, runs the dump and exits.
//! The socket stays bound to the target namespace whichever namespace reads it.
//! For the calling thread's own namespace no thread is started.

use std::os::fd::OwnedFd;

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sched::{setns, CloneFlags};
use nix::sys::socket::SockProtocol;
use nix::sys::stat::Mode;

use super::socket::NetlinkSocket;
use super::Rights;
use crate::caps::{self, CAP_NET_ADMIN};
use crate::error::{Error, Result};
use crate::ns::{self, Namespace, NsType};

/// Runs `query` on a netlink socket of `protocol` opened in `target` with `rights`.
pub fn with_socket_in<T: Send>(
    target: &Namespace,
    protocol: SockProtocol,
    rights: Rights,
    query: impl FnOnce(&NetlinkSocket) -> Result<T> + Send,
) -> Result<T> {
    query(&socket_in(target, protocol, rights)?)
}

/// A netlink socket of `protocol` opened in `target` with `rights`, for a
/// caller that keeps it (a stream that dumps once per tick): the socket stays
/// bound to `target` and to the rights it was opened with.
pub fn socket_in(target: &Namespace, protocol: SockProtocol, rights: Rights) -> Result<NetlinkSocket> {
    if rights == Rights::Own && target.id == ns::current(NsType::Net)? {
        return NetlinkSocket::open(protocol);
    }
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("ikc-netns".into())
            .spawn_scoped(scope, || open_in(&target.fd, protocol, rights))
            .map_err(|e| Error::from_io("spawn netns worker", &e))?;
        // The worker has no code path that panics; if it ever did, it is
        // joined here and reported instead of unwinding into the caller.
        worker.join().unwrap_or_else(|_| Err(Error::damaged("netns worker panicked")))
    })
}

/// In the worker thread: enter `netns`, open the socket, go home. If going home
/// fails the thread still ends with the call, so it never outlives it.
fn open_in(netns: &OwnedFd, protocol: SockProtocol, rights: Rights) -> Result<NetlinkSocket> {
    // A new thread starts in the namespaces of the thread that created it.
    let home = open("/proc/thread-self/ns/net", OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| Error::os("open /proc/thread-self/ns/net", e))?;
    let here = ns::id_of(&home)? == ns::id_of(netns)?;
    if !here {
        setns(netns, CloneFlags::CLONE_NEWNET).map_err(|e| match e {
            Errno::EPERM => Error::PermissionDenied(
                "entering that network namespace needs CAP_SYS_ADMIN over it (setns)".into(),
            ),
            e => Error::os("setns(CLONE_NEWNET)", e),
        })?;
    }
    // Capabilities are per thread: this one, which ends with the call, opens
    // the socket without CAP_NET_ADMIN, so the kernel hides what needs it.
    if rights == Rights::WithoutNetAdmin {
        caps::drop_effective(CAP_NET_ADMIN).map_err(|e| Error::os("drop CAP_NET_ADMIN (capset)", e))?;
    }
    let socket = NetlinkSocket::open(protocol);
    // Ignored on purpose: a caller may be allowed into the target but not back
    // (another user namespace owns its own); this thread exits with the call.
    let _ = setns(&home, CloneFlags::CLONE_NEWNET);
    socket
}

//! A broker client's identity, always from the kernel: `SO_PEERCRED` and a pidfd
//! (`SO_PEERPIDFD`) at connect; on every message `SCM_CREDENTIALS` and the
//! sender's own pidfd (`SCM_PIDFD`); and the sender's current credentials at
//! each request, from that pidfd and `capget` or from `/proc/PID/status`.
//! Holding a pidfd makes pid reuse harmless: if the process has exited, nothing
//! read about "its" pid is trusted.

use std::os::fd::{AsFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::socket::{getsockopt, sockopt};

use super::pidfd;
use crate::backend::procfs::ProcFs;
use crate::error::{Error, Result};
use crate::kernel_command::Caller;
use crate::ns::{NsId, NsSource};
use crate::visibility::Viewer;

/// The process at the other end of a connection.
#[derive(Debug)]
pub struct Peer {
    pub pid: u32,
    /// The uid and gid the client had when it connected (for logs and `--group` checks).
    pub uid: u32,
    pub gid: u32,
    pidfd: OwnedFd,
}

impl Peer {
    /// Who connected, as the kernel recorded it at `connect()`.
    pub fn of_socket(sock: &impl AsFd) -> Result<Peer> {
        let cred = getsockopt(sock, sockopt::PeerCredentials).map_err(|e| Error::os("SO_PEERCRED", e))?;
        let pid = u32::try_from(cred.pid()).map_err(|_| Error::PermissionDenied("peer has no pid in this namespace".into()))?;
        let pidfd = match getsockopt(sock, sockopt::PeerPidfd) {
            Ok(fd) => fd,
            // Kernels before 6.5: open one now and check below that it is the same process.
            Err(Errno::ENOPROTOOPT) => pidfd::open(pid)?,
            Err(e) => return Err(Error::os("SO_PEERPIDFD", e)),
        };
        let peer = Peer { pid, uid: cred.uid(), gid: cred.gid(), pidfd };
        peer.check_alive()?;
        Ok(peer)
    }

    /// Fails once the client process has exited: its pid may name someone else now.
    pub fn check_alive(&self) -> Result<()> {
        pidfd::check_alive(&self.pidfd)
    }

    /// The sender of one message. With `SCM_PIDFD` that is the process the kernel
    /// names in the message itself (so a connection may be handed on, e.g. to a
    /// sandboxed child, and each request is answered with its sender's rights).
    /// Without it (kernels before 6.5), only the process that connected may send.
    pub fn sender(&self, creds_pid: u32, pidfd: Option<OwnedFd>) -> Result<Sender> {
        let pidfd = match pidfd {
            Some(pidfd) => pidfd,
            None if creds_pid == self.pid => self.pidfd.try_clone().map_err(|e| io("dup pidfd", e))?,
            None => {
                return Err(Error::PermissionDenied(format!(
                    "message sent by pid {creds_pid}, but pid {} connected, and this kernel cannot name senders (SO_PASSPIDFD)",
                    self.pid
                )))
            }
        };
        let info = pidfd::info(&pidfd)?;
        let pid = match &info {
            Some(info) => info.pid,
            None => pidfd::pid_from_fdinfo(&pidfd)?,
        };
        Ok(Sender { pid, pidfd, info })
    }
}

/// The process that sent one message, held by a pidfd.
#[derive(Debug)]
pub struct Sender {
    pub pid: u32,
    pidfd: OwnedFd,
    /// What the kernel said of the process when the message was taken (6.13+).
    info: Option<pidfd::PidfdInfo>,
}

impl Sender {
    /// Fails once the process has exited: its pid may name someone else now.
    pub fn check_alive(&self) -> Result<()> {
        pidfd::check_alive(&self.pidfd)
    }

    /// The sender's credentials and namespaces now, as the kernel reports them.
    /// `proc_pid_ns`: the pid namespace /proc shows, if it is the broker's own.
    /// A sender in that namespace is read without /proc: its ids come with its
    /// pidfd (`PIDFD_GET_INFO`) and its capabilities from `capget`, the same
    /// objective credentials `/proc/PID/status` prints. Anyone else, or any
    /// kernel before 6.13, is read from `status`.
    pub fn caller(&self, proc: &mut ProcFs, proc_pid_ns: Option<NsId>) -> Result<Caller> {
        let pid_ns = NsSource::Process(self.pid).id(crate::NsType::Pid)?;
        let from_pidfd = match self.info {
            Some(info) if Some(pid_ns) == proc_pid_ns => {
                let cap_effective = pidfd::effective_caps(self.pid)?;
                Some((Viewer { tgid: info.tgid, fsuid: info.fsuid(), fsgid: info.fsgid(), cap_effective }, 0))
            }
            _ => None,
        };
        let (viewer, levels_below_proc) = match from_pidfd {
            Some(read) => read,
            None => {
                let status = proc.status_of(self.pid)?.ok_or_else(|| Error::PermissionDenied("the client process has exited".into()))?;
                (status.viewer(self.pid), status.levels.len().saturating_sub(1))
            }
        };
        // Read first, check after: if the process is still alive now, its pid was
        // never reused in between, so what was read by pid is the sender's.
        self.check_alive()?;
        Ok(Caller { viewer, pid_ns, levels_below_proc, ns_source: NsSource::Process(self.pid) })
    }
}

fn io(op: &str, e: std::io::Error) -> Error {
    Error::Os { op: op.into(), errno: e.raw_os_error().unwrap_or(Errno::EIO as i32) }
}

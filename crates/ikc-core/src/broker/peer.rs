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
use crate::error::{Error, Result};
use crate::kernel_command::{Caller, Session};
use crate::ns::{NsId, NsSource};
use crate::userns::UserNsTree;
use crate::visibility::{Judge, Viewer};

/// The process at the other end of a connection.
#[derive(Debug)]
pub struct Peer {
    pub pid: u32,
    /// The euid and egid the connecting thread had at `connect()` (SO_PEERCRED).
    pub uid: u32,
    pub gid: u32,
    pidfd: OwnedFd,
    /// The client as the broker first saw it: every answer on this connection
    /// is limited to what this identity may see as well.
    connected_as: Viewer,
    /// Its user namespace then, held so that its place in the tree is known.
    user_ns: OwnedFd,
}

impl Peer {
    /// Who connected, as the kernel recorded it at `connect()`.
    ///
    /// The kernel freezes the connecting thread's pid, euid, egid and groups
    /// there (`SO_PEERCRED`); nothing freezes capabilities, so they are read
    /// now, once, and kept only if the process still has that thread's euid
    /// and egid (a thread that dropped to another uid has its own credentials,
    /// which capget cannot read: it is taken to hold none).
    pub fn of_socket(sock: &impl AsFd, session: &mut Session, proc_pid_ns: Option<NsId>) -> Result<Peer> {
        let cred = getsockopt(sock, sockopt::PeerCredentials).map_err(|e| Error::os("SO_PEERCRED", e))?;
        let pid = u32::try_from(cred.pid()).map_err(|_| Error::PermissionDenied("peer has no pid in this namespace".into()))?;
        let pidfd = match getsockopt(sock, sockopt::PeerPidfd) {
            Ok(fd) => fd,
            // Kernels before 6.5: open one now and check below that it is the same process.
            Err(Errno::ENOPROTOOPT) => pidfd::open(pid)?,
            Err(e) => return Err(Error::os("SO_PEERPIDFD", e)),
        };
        let first = Sender::of(pid, pidfd.try_clone().map_err(|e| io("dup pidfd", e))?)?;
        let (seen, _, user_ns, _) = first.identity(session, proc_pid_ns)?;
        let same_ids = seen.euid == cred.uid() && seen.fsuid == cred.uid() && seen.fsgid == cred.gid();
        let connected_as = Viewer {
            tgid: pid,
            fsuid: cred.uid(),
            fsgid: cred.gid(),
            euid: cred.uid(),
            cap_effective: if same_ids { seen.cap_effective } else { 0 },
            user_ns: seen.user_ns,
        };
        let peer = Peer { pid, uid: cred.uid(), gid: cred.gid(), pidfd, connected_as, user_ns };
        peer.check_alive()?;
        Ok(peer)
    }

    /// The identity this connection was made with.
    pub fn connected_as(&self) -> Viewer {
        self.connected_as
    }

    /// Who to answer one request as: the sender as it is now, limited by the
    /// connection's first identity, and the user namespaces both live in.
    pub fn caller(&self, sender: &Sender, session: &mut Session, proc_pid_ns: Option<NsId>) -> Result<(Caller, UserNsTree)> {
        let (viewer, levels_below_proc, user_ns, pid_ns) = sender.identity(session, proc_pid_ns)?;
        let mut users = UserNsTree::default();
        users.learn(user_ns)?;
        users.learn(self.user_ns.try_clone().map_err(|e| io("dup user namespace", e))?)?;
        // `identity` checked the sender alive after everything it read by pid.
        let caller = Caller {
            viewer,
            connected_as: Some(self.connected_as),
            judge: Judge::Rules,
            pid_ns,
            levels_below_proc,
            ns_source: NsSource::Process(sender.pid),
        };
        Ok((caller, users))
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
        Sender::of(creds_pid, pidfd)
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
    fn of(fallback_pid: u32, pidfd: OwnedFd) -> Result<Sender> {
        let info = pidfd::info(&pidfd)?;
        let pid = match &info {
            Some(info) => info.pid,
            None if fallback_pid > 0 => pidfd::pid_from_fdinfo(&pidfd)?,
            None => return Err(pidfd::exited()),
        };
        Ok(Sender { pid, pidfd, info })
    }

    /// Fails once the process has exited: its pid may name someone else now.
    pub fn check_alive(&self) -> Result<()> {
        pidfd::check_alive(&self.pidfd)
    }

    /// The sender's credentials now, as the kernel reports them, how many
    /// pid-namespace levels it sits below /proc's, its user namespace and its pid namespace (read by pid: checked alive after).
    /// `proc_pid_ns`: the pid namespace /proc shows, if it is the broker's own.
    /// A sender in that namespace is read without /proc: its ids come with its
    /// pidfd (`PIDFD_GET_INFO`) and its capabilities from `capget`, the same
    /// objective credentials `/proc/PID/status` prints. Anyone else, or any
    /// kernel before 6.13, is read from `status`. The ids are kernel ids: the
    /// broker reads them from the initial user namespace.
    fn identity(&self, session: &mut Session, proc_pid_ns: Option<NsId>) -> Result<(Viewer, usize, OwnedFd, NsId)> {
        let pid_ns = NsSource::Process(self.pid).id(crate::NsType::Pid)?;
        let user_ns_fd = match pidfd::user_namespace(&self.pidfd)? {
            Some(fd) => fd,
            None => NsSource::Process(self.pid).open_user_ns()?,
        };
        let user_ns = crate::ns::id_of(&user_ns_fd)?.ino;
        let from_pidfd = match self.info {
            Some(info) if Some(pid_ns) == proc_pid_ns => {
                let cap_effective = pidfd::effective_caps(self.pid)?;
                let viewer = Viewer { tgid: info.tgid, fsuid: info.fsuid(), fsgid: info.fsgid(), euid: info.euid(), cap_effective, user_ns };
                Some((viewer, 0))
            }
            _ => None,
        };
        let (viewer, levels_below_proc) = match from_pidfd {
            Some(read) => read,
            None => {
                let status = session.procfs().status_of(self.pid)?.ok_or_else(|| Error::PermissionDenied("the client process has exited".into()))?;
                (status.viewer(self.pid, user_ns), status.levels.len().saturating_sub(1))
            }
        };
        // Read first, check after: if the process is still alive now, its pid was
        // never reused in between, so what was read by pid is the sender's.
        self.check_alive()?;
        Ok((viewer, levels_below_proc, user_ns_fd, pid_ns))
    }
}

fn io(op: &str, e: std::io::Error) -> Error {
    Error::from_io(op, &e)
}

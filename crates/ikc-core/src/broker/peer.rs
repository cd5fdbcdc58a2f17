//! A broker client's identity, always from the kernel: `SO_PEERCRED` and a pidfd
//! (`SO_PEERPIDFD`) at connect; on every message `SCM_CREDENTIALS` and the
//! sender's own pidfd (`SCM_PIDFD`); and the sender's current credentials from
//! `/proc/PID/status` at each request. Holding a pidfd makes pid reuse harmless:
//! if the process has exited, nothing read about "its" pid is trusted.

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::socket::{getsockopt, sockopt};

use crate::backend::procfs::ProcFs;
use crate::error::{Error, Result};
use crate::kernel_command::Caller;
use crate::ns::NsSource;

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
            Err(Errno::ENOPROTOOPT) => pidfd_open(pid)?,
            Err(e) => return Err(Error::os("SO_PEERPIDFD", e)),
        };
        let peer = Peer { pid, uid: cred.uid(), gid: cred.gid(), pidfd };
        peer.check_alive()?;
        Ok(peer)
    }

    /// Fails once the client process has exited: its pid may name someone else now.
    pub fn check_alive(&self) -> Result<()> {
        // SAFETY: pidfd_send_signal with signal 0 only checks that the process exists.
        let rc = unsafe { libc_syscall_pidfd_send_signal(self.pidfd.as_raw_fd()) };
        if rc == 0 {
            Ok(())
        } else {
            Err(Error::PermissionDenied("the client process has exited".into()))
        }
    }

    /// The sender of one message. With `SCM_PIDFD` that is the process the kernel
    /// names in the message itself (so a connection may be handed on, e.g. to a
    /// sandboxed child, and each request is answered with its sender's rights).
    /// Without it (kernels before 6.5), only the process that connected may send.
    pub fn sender(&self, creds_pid: u32, pidfd: Option<OwnedFd>) -> Result<Sender> {
        match pidfd {
            Some(pidfd) => {
                let pid = pid_of_pidfd(&pidfd)?;
                Ok(Sender { pid, pidfd })
            }
            None if creds_pid == self.pid => Ok(Sender { pid: self.pid, pidfd: self.pidfd.try_clone().map_err(|e| io("dup pidfd", e))? }),
            None => Err(Error::PermissionDenied(format!(
                "message sent by pid {creds_pid}, but pid {} connected, and this kernel cannot name senders (SO_PASSPIDFD)",
                self.pid
            ))),
        }
    }
}

/// The process that sent one message, held by a pidfd.
#[derive(Debug)]
pub struct Sender {
    pub pid: u32,
    pidfd: OwnedFd,
}

impl Sender {
    /// Fails once the process has exited: its pid may name someone else now.
    pub fn check_alive(&self) -> Result<()> {
        // SAFETY: pidfd_send_signal with signal 0 only checks that the process exists.
        if unsafe { libc_syscall_pidfd_send_signal(self.pidfd.as_raw_fd()) } == 0 {
            Ok(())
        } else {
            Err(Error::PermissionDenied("the client process has exited".into()))
        }
    }

    /// The sender's credentials and namespaces now, as the kernel reports them.
    pub fn caller(&self, proc: &mut ProcFs) -> Result<Caller> {
        let status = proc.status_of(self.pid)?.ok_or_else(|| Error::PermissionDenied("the client process has exited".into()))?;
        let pid_ns = NsSource::Process(self.pid).id(crate::NsType::Pid)?;
        // Read first, check after: if the process is still alive now, its pid was
        // never reused in between, so what was read is the sender's.
        self.check_alive()?;
        Ok(Caller {
            viewer: status.viewer(self.pid),
            pid_ns,
            levels_below_proc: status.levels.len().saturating_sub(1),
            ns_source: NsSource::Process(self.pid),
        })
    }
}

/// `struct pidfd_info` (include/uapi/linux/pidfd.h, Linux 6.13): its first,
/// fixed-size version, which every later kernel still accepts.
#[repr(C)]
#[derive(Default)]
struct PidfdInfo {
    mask: u64,
    cgroupid: u64,
    pid: u32,
    tgid: u32,
    ppid: u32,
    ids: [u32; 8], // ruid rgid euid egid suid sgid fsuid fsgid
    exit_code: i32,
}
/// `PIDFD_INFO_PID`: ask for (and be told of) the pid fields.
const PIDFD_INFO_PID: u64 = 1;
nix::ioctl_readwrite!(pidfd_get_info, 0xFF, 11, PidfdInfo);

/// The pid (in our namespace) a pidfd refers to: one `PIDFD_GET_INFO` ioctl, or
/// on kernels before 6.13 the `Pid:` line of its fdinfo.
fn pid_of_pidfd(pidfd: &OwnedFd) -> Result<u32> {
    let mut info = PidfdInfo { mask: PIDFD_INFO_PID, ..Default::default() };
    // SAFETY: the kernel writes at most size_of::<PidfdInfo>() bytes (encoded in the request) into `info`.
    match unsafe { pidfd_get_info(pidfd.as_raw_fd(), &mut info) } {
        Ok(_) if info.mask & PIDFD_INFO_PID != 0 && info.pid > 0 => return Ok(info.pid),
        Ok(_) | Err(Errno::ESRCH) => return Err(exited_sender()),
        Err(_) => {} // ENOTTY/EINVAL: an older kernel
    }
    pid_of_pidfd_fdinfo(pidfd)
}

fn exited_sender() -> Error {
    Error::PermissionDenied("the sender has exited or has no pid in the broker's namespace".into())
}

/// The pid a pidfd refers to, from `/proc/thread-self/fdinfo`.
fn pid_of_pidfd_fdinfo(pidfd: &OwnedFd) -> Result<u32> {
    // One open and one read: fdinfo of a pidfd is a few short lines.
    let path = format!("/proc/thread-self/fdinfo/{}", pidfd.as_raw_fd());
    let fd = nix::fcntl::open(path.as_str(), nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty())
        .map_err(|e| Error::os("open pidfd fdinfo", e))?;
    let mut buf = [0u8; 512];
    let n = nix::unistd::read(&fd, &mut buf).map_err(|e| Error::os("read pidfd fdinfo", e))?;
    let info = String::from_utf8_lossy(&buf[..n]);
    let pid = info.lines().find_map(|l| l.strip_prefix("Pid:")).map(str::trim).and_then(|p| p.parse::<i64>().ok());
    match pid {
        Some(p) if p > 0 => Ok(p as u32),
        _ => Err(exited_sender()),
    }
}

fn io(op: &str, e: std::io::Error) -> Error {
    Error::Os { op: op.into(), errno: e.raw_os_error().unwrap_or(Errno::EIO as i32) }
}

fn pidfd_open(pid: u32) -> Result<OwnedFd> {
    // SAFETY: pidfd_open returns a new fd (close-on-exec) or -1.
    let fd = unsafe { nix::libc::syscall(nix::libc::SYS_pidfd_open, pid as nix::libc::pid_t, 0) };
    if fd < 0 {
        return Err(Error::os("pidfd_open", Errno::last()));
    }
    // SAFETY: the kernel gave us this fd; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

unsafe fn libc_syscall_pidfd_send_signal(pidfd: i32) -> i64 {
    nix::libc::syscall(nix::libc::SYS_pidfd_send_signal, pidfd, 0, std::ptr::null::<u8>(), 0)
}

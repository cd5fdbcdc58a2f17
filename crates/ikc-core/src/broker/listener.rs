//! The broker's listening socket: bound at a path (mode and group set so the
//! right users can connect), or handed over by systemd socket activation.

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::sys::socket::{bind, getsockopt, listen, setsockopt, socket, sockopt, AddressFamily, Backlog, SockFlag, SockType, UnixAddr};

use crate::error::{Error, Result};

/// The first fd systemd passes (`SD_LISTEN_FDS_START`).
const LISTEN_FDS_START: i32 = 3;

fn ready(fd: &OwnedFd) -> Result<()> {
    // Credentials on every message, from the first one: accepted sockets inherit this.
    super::transport::pass_pidfd(fd);
    setsockopt(fd, sockopt::PassCred, &true).map_err(|e| Error::os("SO_PASSCRED", e))
}

/// Binds a new socket at `path`. A stale socket file nobody listens on is
/// replaced; anything else at `path` is left alone (`EADDRINUSE`).
pub fn bind_path(path: &Path, mode: u32, gid: Option<u32>) -> Result<OwnedFd> {
    let fd = socket(AddressFamily::Unix, SockType::SeqPacket, SockFlag::SOCK_CLOEXEC, None).map_err(|e| Error::os("socket", e))?;
    ready(&fd)?;
    let addr = UnixAddr::new(path).map_err(|e| Error::os(format!("socket path {}", path.display()), e))?;
    match bind(fd.as_raw_fd(), &addr) {
        Ok(()) => {}
        Err(Errno::EADDRINUSE) if is_stale(path) => {
            std::fs::remove_file(path).map_err(|e| io(format!("remove stale {}", path.display()), e))?;
            bind(fd.as_raw_fd(), &addr).map_err(|e| Error::os(format!("bind {}", path.display()), e))?;
        }
        Err(e) => return Err(Error::os(format!("bind {}", path.display()), e)),
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o777)).map_err(|e| io(format!("chmod {}", path.display()), e))?;
    if let Some(gid) = gid {
        nix::unistd::chown(path, None, Some(nix::unistd::Gid::from_raw(gid))).map_err(|e| Error::os(format!("chown {}", path.display()), e))?;
    }
    listen(&fd, Backlog::new(128).map_err(|e| Error::os("listen backlog", e))?).map_err(|e| Error::os("listen", e))?;
    Ok(fd)
}

/// A socket file that refuses connections belongs to a broker that is gone.
fn is_stale(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else { return false };
    if !meta.file_type().is_socket() {
        return false;
    }
    let Ok(probe) = socket(AddressFamily::Unix, SockType::SeqPacket, SockFlag::SOCK_CLOEXEC, None) else { return false };
    let Ok(addr) = UnixAddr::new(path) else { return false };
    matches!(nix::sys::socket::connect(probe.as_raw_fd(), &addr), Err(Errno::ECONNREFUSED))
}

/// The socket systemd passed (`LISTEN_PID` is this process, `LISTEN_FDS` is 1),
/// checked to be a listening unix `SOCK_SEQPACKET` socket.
pub fn from_systemd() -> Result<Option<OwnedFd>> {
    let (Ok(pid), Ok(count)) = (std::env::var("LISTEN_PID"), std::env::var("LISTEN_FDS")) else { return Ok(None) };
    if pid.parse::<u32>().ok() != Some(std::process::id()) {
        return Ok(None);
    }
    if count != "1" {
        return Err(Error::invalid(format!("LISTEN_FDS={count}: the broker takes exactly one socket")));
    }
    // SAFETY: systemd passed fd 3 to this process (LISTEN_PID matched) for us to own.
    let fd = unsafe { OwnedFd::from_raw_fd(LISTEN_FDS_START) };
    nix::fcntl::fcntl(fd.as_fd(), nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC)).map_err(|e| Error::os("F_SETFD", e))?;
    let kind = getsockopt(&fd, sockopt::SockType).map_err(|e| Error::os("SO_TYPE of the passed socket", e))?;
    let listening = getsockopt(&fd, sockopt::AcceptConn).map_err(|e| Error::os("SO_ACCEPTCONN", e))?;
    if kind != SockType::SeqPacket || !listening {
        return Err(Error::invalid("the socket systemd passed is not a listening SOCK_SEQPACKET socket (ListenSequentialPacket=)"));
    }
    ready(&fd)?;
    Ok(Some(fd))
}

fn io(op: String, e: std::io::Error) -> Error {
    Error::Os { op, errno: e.raw_os_error().unwrap_or(Errno::EIO as i32) }
}

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

/// Binds a new socket at `path`. It is made ready under a private name in the
/// same directory (mode and group set, listening) and only then renamed into
/// place, so no client ever finds a socket file there that refuses it or has
/// the wrong mode, and no other broker mistakes it for a stale one. A stale
/// socket file nobody listens on is replaced; anything else at `path` is left
/// alone (`EADDRINUSE`).
pub fn bind_path(path: &Path, mode: u32, gid: Option<u32>) -> Result<OwnedFd> {
    let fd = socket(AddressFamily::Unix, SockType::SeqPacket, SockFlag::SOCK_CLOEXEC, None).map_err(|e| Error::os("socket", e))?;
    ready(&fd)?;
    let name = path.file_name().ok_or_else(|| Error::invalid(format!("socket path {} names no file", path.display())))?;
    let tmp = path.with_file_name(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let addr = UnixAddr::new(&tmp).map_err(|e| Error::os(format!("socket path {}", tmp.display()), e))?;
    bind(fd.as_raw_fd(), &addr).map_err(|e| Error::os(format!("bind {}", tmp.display()), e))?;
    let placed = prepare(&fd, &tmp, mode, gid).and_then(|()| place(&tmp, path));
    if placed.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    placed.map(|()| fd)
}

/// Mode, group and listen, on the socket still under its private name.
fn prepare(fd: &OwnedFd, tmp: &Path, mode: u32, gid: Option<u32>) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(tmp, std::fs::Permissions::from_mode(mode & 0o777)).map_err(|e| io(format!("chmod {}", tmp.display()), e))?;
    if let Some(gid) = gid {
        nix::unistd::chown(tmp, None, Some(nix::unistd::Gid::from_raw(gid))).map_err(|e| Error::os(format!("chown {}", tmp.display()), e))?;
    }
    listen(fd, Backlog::new(128).map_err(|e| Error::os("listen backlog", e))?).map_err(|e| Error::os("listen", e))
}

/// Renames the ready socket to `path`, over a stale socket file but nothing else.
fn place(tmp: &Path, path: &Path) -> Result<()> {
    if std::fs::symlink_metadata(path).is_ok() && !is_stale(path) {
        return Err(Error::os(format!("bind {}: something else is there (a live broker, or not a socket)", path.display()), Errno::EADDRINUSE));
    }
    std::fs::rename(tmp, path).map_err(|e| io(format!("rename {} to {}", tmp.display(), path.display()), e))
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

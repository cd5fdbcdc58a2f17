//! Sending and receiving one broker message with its ancillary data
//! (`SCM_RIGHTS`, `SCM_CREDENTIALS`), shared by host and client. Received fds
//! become `OwnedFd`s at once, so every error path closes them.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags, UnixCredentials};

use crate::error::{Error, Result};

/// `SO_PASSPIDFD` (Linux 6.5): each message carries a pidfd of its sender as `SCM_PIDFD`.
pub const SO_PASSPIDFD: i32 = 76;
/// The cmsg type of that pidfd (`include/linux/socket.h`; not the option's number).
const SCM_PIDFD: i32 = 0x04;

/// Asks the kernel to stamp every message with its sender's pidfd. `false` on
/// kernels that do not know the option.
pub fn pass_pidfd(sock: &impl AsFd) -> bool {
    let on: nix::libc::c_int = 1;
    // SAFETY: a plain int socket option on a socket we hold.
    let rc = unsafe {
        nix::libc::setsockopt(
            sock.as_fd().as_raw_fd(),
            nix::libc::SOL_SOCKET,
            SO_PASSPIDFD,
            (&on as *const nix::libc::c_int).cast(),
            std::mem::size_of::<nix::libc::c_int>() as nix::libc::socklen_t,
        )
    };
    rc == 0
}

/// fds accepted per message; room for a few more so extras are seen (and closed).
pub const MAX_FDS: usize = 1;
const FD_ROOM: usize = 8;

/// One received message.
pub struct Incoming {
    pub bytes: Vec<u8>,
    pub fds: Vec<OwnedFd>,
    /// The sender as the kernel stamped it (`SCM_CREDENTIALS`), if the socket asked.
    pub creds: Option<UnixCredentials>,
    /// A pidfd of the sending process, taken by the kernel at send time (`SCM_PIDFD`).
    pub pidfd: Option<OwnedFd>,
    /// The message (or its fds) did not fit and was cut by the kernel.
    pub truncated: bool,
}

/// Receives one message of at most `max` bytes. `Ok(None)`: the peer closed.
pub fn receive(sock: &impl AsFd, max: usize) -> Result<Option<Incoming>> {
    let mut buf = vec![0u8; max + 1];
    let mut cmsg = nix::cmsg_space!(nix::libc::ucred, [RawFd; FD_ROOM], RawFd);
    let (len, fds, creds, pidfd, flags) = {
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg = loop {
            match recvmsg::<()>(sock.as_fd().as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::MSG_CMSG_CLOEXEC) {
                Err(Errno::EINTR) => continue,
                other => break other,
            }
        }
        .map_err(|e| Error::os("recvmsg", e))?;
        let mut fds = Vec::new();
        let mut creds = None;
        let mut pidfd = None;
        for c in msg.cmsgs().map_err(|e| Error::os("cmsgs", e))? {
            match c {
                // SAFETY: the kernel installed these fds in our table for us to own.
                ControlMessageOwned::ScmRights(raw) => fds.extend(raw.into_iter().map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })),
                ControlMessageOwned::ScmCredentials(c) => creds = Some(c),
                ControlMessageOwned::Unknown(u) if u.cmsg_header.cmsg_level == nix::libc::SOL_SOCKET && u.cmsg_header.cmsg_type == SCM_PIDFD => {
                    if let Ok(raw) = <[u8; 4]>::try_from(u.data_bytes.as_slice()) {
                        // SAFETY: as for SCM_RIGHTS: a new fd the kernel gave us.
                        pidfd = Some(unsafe { OwnedFd::from_raw_fd(i32::from_ne_bytes(raw)) });
                    }
                }
                _ => {}
            }
        }
        (msg.bytes, fds, creds, pidfd, msg.flags)
    };
    if len == 0 && fds.is_empty() {
        return Ok(None);
    }
    let truncated = len > max || flags.intersects(MsgFlags::MSG_TRUNC | MsgFlags::MSG_CTRUNC);
    buf.truncate(len.min(max));
    Ok(Some(Incoming { bytes: buf, fds, creds, pidfd, truncated }))
}

/// Sends one message, with an fd if given. Never raises SIGPIPE.
pub fn send(sock: &impl AsFd, bytes: &[u8], fd: Option<&OwnedFd>) -> Result<()> {
    let iov = [IoSlice::new(bytes)];
    let raw = fd.map(|f| [f.as_raw_fd()]);
    let cmsgs: Vec<ControlMessage> = raw.as_ref().map(|r| vec![ControlMessage::ScmRights(r)]).unwrap_or_default();
    loop {
        match sendmsg::<()>(sock.as_fd().as_raw_fd(), &iov, &cmsgs, MsgFlags::MSG_NOSIGNAL, None) {
            Ok(_) => return Ok(()),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(Error::os("sendmsg", e)),
        }
    }
}

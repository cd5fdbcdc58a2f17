//! Sending and receiving one broker message with its ancillary data
//! (`SCM_RIGHTS`, `SCM_CREDENTIALS`, `SCM_PIDFD`), shared by host and client.
//!
//! Every fd the kernel installs in our table while receiving becomes an
//! `OwnedFd` before anything looks at the message, so every path closes it. The
//! control buffer is walked by hand (`walk`) rather than by nix's `cmsgs()`,
//! which gives up on `MSG_CTRUNC` before handing out the fds the kernel already
//! installed: that leaked every fd of a message that carried more than fit.
//! What a cut control buffer can hold, and how each is taken:
//! - `SCM_RIGHTS` with fewer fds than were sent: the kernel installs as many as
//!   fit and drops the rest itself; the ones it installed are owned here.
//! - a last message cut short (`put_cmsg` copies a prefix of a header that says
//!   it is longer): only the bytes really there are read, so a cut
//!   `SCM_CREDENTIALS` is no credentials and a cut fd is none.
//! - no `SCM_PIDFD` at all (the kernel adds it last, if there is room): the
//!   message is marked truncated and refused, never answered by another identity.

use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::libc;
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, UnixCredentials};

use crate::error::{Error, Result};

/// `SO_PASSPIDFD` (Linux 6.5): each message carries a pidfd of its sender as `SCM_PIDFD`.
pub const SO_PASSPIDFD: i32 = 76;
/// The cmsg type of that pidfd (`include/linux/socket.h`; not the option's number).
const SCM_PIDFD: i32 = 0x04;

/// Asks the kernel to stamp every message with its sender's pidfd. `false` on
/// kernels that do not know the option.
pub fn pass_pidfd(sock: &impl AsFd) -> bool {
    let on: libc::c_int = 1;
    // SAFETY: a plain int socket option on a socket we hold.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_fd().as_raw_fd(),
            libc::SOL_SOCKET,
            SO_PASSPIDFD,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    rc == 0
}

/// fds accepted per message.
pub const MAX_FDS: usize = 1;
/// Room in the control buffer for this many fds (and the pidfd after them). A
/// message with more is cut by the kernel (`MSG_CTRUNC`): it installs what fits
/// and drops the rest itself, so one message never puts more than
/// `CONTROL_LEN / 4` fds in the broker's table, all of them closed here.
pub const FD_ROOM: usize = 8;

/// One received message.
pub struct Incoming {
    pub bytes: Vec<u8>,
    pub fds: Vec<OwnedFd>,
    /// The sender as the kernel stamped it (`SCM_CREDENTIALS`), if the socket asked.
    pub creds: Option<UnixCredentials>,
    /// A pidfd of the sending process, taken by the kernel at send time (`SCM_PIDFD`).
    pub pidfd: Option<OwnedFd>,
    /// The message (or its control data) did not fit and was cut by the kernel.
    pub truncated: bool,
}

/// `CMSG_ALIGN`: control messages start at multiples of `size_t`.
const fn cmsg_align(len: usize) -> usize {
    let a = std::mem::size_of::<usize>();
    (len + a - 1) & !(a - 1)
}
/// `sizeof(struct cmsghdr)`: `size_t cmsg_len; int cmsg_level; int cmsg_type;`.
const CMSG_HDR: usize = cmsg_align(std::mem::size_of::<libc::cmsghdr>());
/// `CMSG_SPACE(len)`.
const fn cmsg_space(len: usize) -> usize {
    CMSG_HDR + cmsg_align(len)
}
/// Room for what the kernel attaches: credentials, `FD_ROOM` fds, one pidfd.
const CONTROL_LEN: usize = cmsg_space(std::mem::size_of::<libc::ucred>()) + cmsg_space(FD_ROOM * 4) + cmsg_space(4);

/// One control message as it lies in a received buffer: `data` is what is
/// really there, which for a cut message is less than its header claims.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Cmsg<'a> {
    pub level: i32,
    pub kind: i32,
    pub data: &'a [u8],
}

/// `CMSG_FIRSTHDR`/`CMSG_NXTHDR` over the bytes the kernel filled
/// (`msg_controllen` of them), never reading past them. A header whose length
/// is below a header's size ends the walk (the kernel writes none).
pub(crate) fn walk(control: &[u8]) -> Vec<Cmsg<'_>> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while let Some(hdr) = control.get(at..).and_then(|rest| rest.get(..CMSG_HDR)) {
        let word = std::mem::size_of::<usize>();
        let (Some(len), Some(level), Some(kind)) = (
            hdr.get(..word).and_then(|b| b.try_into().ok()).map(usize::from_ne_bytes),
            hdr.get(word..word + 4).and_then(|b| b.try_into().ok()).map(i32::from_ne_bytes),
            hdr.get(word + 4..word + 8).and_then(|b| b.try_into().ok()).map(i32::from_ne_bytes),
        ) else {
            break;
        };
        if len < CMSG_HDR {
            break;
        }
        let end = at.saturating_add(len).min(control.len());
        let data = control.get(at + CMSG_HDR..end).unwrap_or(&[]);
        out.push(Cmsg { level, kind, data });
        let word_mask = std::mem::size_of::<usize>() - 1;
        match len.checked_add(word_mask).map(|l| l & !word_mask).and_then(|l| at.checked_add(l)) {
            Some(next) => at = next,
            None => break,
        }
    }
    out
}

/// What a control buffer carried, every fd in it owned.
#[derive(Default)]
pub(crate) struct Control {
    pub fds: Vec<OwnedFd>,
    pub creds: Option<UnixCredentials>,
    pub pidfd: Option<OwnedFd>,
    /// More `SCM_PIDFD`s than one (never from the kernel): owned only to be closed.
    pub extra: Vec<OwnedFd>,
}

/// The fd numbers that lie whole in `data`, an array of ints.
fn fd_numbers(data: &[u8]) -> impl Iterator<Item = RawFd> + '_ {
    data.chunks_exact(4).filter_map(|c| c.try_into().ok()).map(i32::from_ne_bytes).filter(|&fd| fd >= 0)
}

/// Takes ownership of every fd in `control` and reads the credentials.
///
/// # Safety
/// `control` must be a control buffer the kernel filled for this process
/// (`recvmsg`), or one built the same way whose fds the caller owns: every
/// `SCM_RIGHTS`/`SCM_PIDFD` fd in it is closed when the result drops.
pub(crate) unsafe fn take(control: &[u8]) -> Control {
    let mut out = Control::default();
    for c in walk(control) {
        if c.level != libc::SOL_SOCKET {
            continue;
        }
        match c.kind {
            // SAFETY (both): the kernel installed these fds in our table for us to own.
            libc::SCM_RIGHTS => out.fds.extend(fd_numbers(c.data).map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })),
            SCM_PIDFD => {
                for fd in fd_numbers(c.data) {
                    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
                    if out.pidfd.is_none() {
                        out.pidfd = Some(fd);
                    } else {
                        out.extra.push(fd);
                    }
                }
            }
            libc::SCM_CREDENTIALS => {
                let field = |i: usize| c.data.get(i * 4..i * 4 + 4).and_then(|b| b.try_into().ok()).map(u32::from_ne_bytes);
                if let (Some(pid), Some(uid), Some(gid)) = (field(0), field(1), field(2)) {
                    out.creds = Some(UnixCredentials::from(libc::ucred { pid: pid as i32, uid, gid }));
                }
            }
            _ => {}
        }
    }
    out
}

fn recvmsg_retrying(sock: RawFd, msg: &mut libc::msghdr, flags: libc::c_int) -> Result<usize> {
    loop {
        // SAFETY: `msg` points at buffers that live for the call, with their true lengths.
        let n = unsafe { libc::recvmsg(sock, msg, flags) };
        if n >= 0 {
            return Ok(n as usize);
        }
        match Errno::last() {
            Errno::EINTR => continue,
            e => return Err(Error::os("recvmsg", e)),
        }
    }
}

/// Receives one message of at most `max` bytes. `Ok(None)`: the peer closed.
///
/// It first waits for a message and learns its length without taking it
/// (`MSG_PEEK | MSG_TRUNC` with no control buffer: the kernel installs no fds
/// for that), so an idle connection holds no buffer and a small message gets a
/// small one.
pub fn receive(sock: &impl AsFd, max: usize) -> Result<Option<Incoming>> {
    let raw = sock.as_fd().as_raw_fd();
    let mut none = [0u8; 0];
    let mut peek_iov = libc::iovec { iov_base: none.as_mut_ptr().cast(), iov_len: 0 };
    // SAFETY: an all-zero msghdr is a valid empty one.
    let mut peek: libc::msghdr = unsafe { std::mem::zeroed() };
    peek.msg_iov = &mut peek_iov;
    peek.msg_iovlen = 1;
    let waiting = recvmsg_retrying(raw, &mut peek, libc::MSG_PEEK | libc::MSG_TRUNC)?;

    let mut buf = vec![0u8; waiting.min(max).saturating_add(1)];
    // u64 words: the kernel writes headers that hold a size_t.
    let mut control = [0u64; CONTROL_LEN.div_ceil(8)];
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    // SAFETY: as above.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    let len = recvmsg_retrying(raw, &mut msg, libc::MSG_CMSG_CLOEXEC);
    // Own the fds first, whatever else happened.
    let filled = (msg.msg_controllen as usize).min(std::mem::size_of_val(&control));
    // SAFETY: viewing the u64 array as the bytes the kernel wrote into it.
    let bytes = unsafe { std::slice::from_raw_parts(control.as_ptr().cast::<u8>(), filled) };
    // SAFETY: the kernel filled this buffer in this recvmsg; its fds are ours.
    let Control { fds, creds, pidfd, extra } = if len.is_ok() { unsafe { take(bytes) } } else { Control::default() };
    let len = len?;
    let flags = msg.msg_flags;
    if len == 0 && fds.is_empty() && waiting == 0 {
        return Ok(None);
    }
    let truncated = len > max || flags & (libc::MSG_TRUNC | libc::MSG_CTRUNC) != 0 || !extra.is_empty();
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A control buffer laid out as the kernel lays one: each message's header,
    /// its data, padding to the next; `cut` bytes short at the end if asked.
    fn build(msgs: &[(i32, i32, Vec<u8>)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (level, kind, data) in msgs {
            let start = out.len();
            out.extend_from_slice(&(CMSG_HDR + data.len()).to_ne_bytes());
            out.extend_from_slice(&level.to_ne_bytes());
            out.extend_from_slice(&kind.to_ne_bytes());
            out.resize(start + CMSG_HDR, 0);
            out.extend_from_slice(data);
            out.resize(start + cmsg_space(data.len()), 0);
        }
        out
    }
    fn ints(v: &[i32]) -> Vec<u8> {
        v.iter().flat_map(|i| i.to_ne_bytes()).collect()
    }
    fn creds() -> Vec<u8> {
        ints(&[4242, 4711, 4712])
    }
    /// New fds far above what other tests open, so a closed one is not reused meanwhile.
    fn high_fds(n: usize) -> Vec<RawFd> {
        let null = std::fs::File::open("/dev/null").expect("open /dev/null");
        (0..n).map(|_| nix::fcntl::fcntl(&null, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(3000)).expect("dup")).collect()
    }
    fn is_open(fd: RawFd) -> bool {
        // SAFETY: F_GETFD only asks whether the number is open.
        unsafe { libc::fcntl(fd, libc::F_GETFD) >= 0 }
    }

    #[test]
    fn walks_credentials_fds_and_a_pidfd() {
        let buf = build(&[(libc::SOL_SOCKET, libc::SCM_CREDENTIALS, creds()), (libc::SOL_SOCKET, libc::SCM_RIGHTS, ints(&[7, 8, 9])), (libc::SOL_SOCKET, SCM_PIDFD, ints(&[10]))]);
        let got = walk(&buf);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], Cmsg { level: libc::SOL_SOCKET, kind: libc::SCM_CREDENTIALS, data: &creds() });
        assert_eq!(got[1].data, &ints(&[7, 8, 9])[..]);
        assert_eq!(got[2], Cmsg { level: libc::SOL_SOCKET, kind: SCM_PIDFD, data: &ints(&[10]) });
    }

    #[test]
    fn every_fd_is_owned_and_closed_also_from_a_cut_buffer() {
        let fds = high_fds(6);
        let mut buf = build(&[
            (libc::SOL_SOCKET, libc::SCM_CREDENTIALS, creds()),
            (libc::SOL_SOCKET, libc::SCM_RIGHTS, ints(&fds[..3])),
            (libc::SOL_SOCKET, SCM_PIDFD, ints(&fds[3..4])),
            (libc::SOL_SOCKET, SCM_PIDFD, ints(&fds[4..5])),
            (libc::SOL_SOCKET, libc::SCM_RIGHTS, ints(&fds[5..6])),
        ]);
        // The last message cut after its data, before its padding (as put_cmsg leaves a full buffer).
        buf.truncate(buf.len() - 4);
        // SAFETY: these fds are this test's own.
        let control = unsafe { take(&buf) };
        assert_eq!(control.fds.iter().map(|f| f.as_raw_fd()).collect::<Vec<_>>(), vec![fds[0], fds[1], fds[2], fds[5]]);
        assert_eq!(control.pidfd.as_ref().map(|f| f.as_raw_fd()), Some(fds[3]));
        assert_eq!(control.extra.len(), 1, "a second pidfd is owned, to be closed");
        assert_eq!(control.creds.map(|c| (c.pid(), c.uid(), c.gid())), Some((4242, 4711, 4712)));
        assert!(fds.iter().all(|&fd| is_open(fd)));
        drop(control);
        assert!(fds.iter().all(|&fd| !is_open(fd)), "every fd closed when the message drops");
    }

    #[test]
    fn a_cut_message_gives_only_what_is_really_there() {
        let fds = high_fds(2);
        // The header says 16 + 12 bytes of credentials; 6 arrived.
        let mut buf = build(&[(libc::SOL_SOCKET, libc::SCM_RIGHTS, ints(&fds)), (libc::SOL_SOCKET, libc::SCM_CREDENTIALS, creds())]);
        buf.truncate(buf.len() - cmsg_space(12) + CMSG_HDR + 6);
        // SAFETY: as above.
        let control = unsafe { take(&buf) };
        assert!(control.creds.is_none(), "cut credentials are no credentials");
        assert_eq!(control.fds.len(), 2);
        // A cut fd array: only whole fd numbers are fds.
        let mut buf = build(&[(libc::SOL_SOCKET, libc::SCM_RIGHTS, ints(&[1, 2, 3]))]);
        buf.truncate(CMSG_HDR + 6);
        assert_eq!(fd_numbers(walk(&buf)[0].data).collect::<Vec<_>>(), vec![1]);
        drop(control);
        assert!(fds.iter().all(|&fd| !is_open(fd)));
    }

    #[test]
    fn other_levels_and_types_hold_no_fds() {
        let buf = build(&[(libc::SOL_IP, libc::SCM_RIGHTS, ints(&[5])), (libc::SOL_SOCKET, 0x1234, ints(&[6]))]);
        // SAFETY: neither message is taken as fds, so nothing is owned.
        let control = unsafe { take(&buf) };
        assert!(control.fds.is_empty() && control.pidfd.is_none() && control.extra.is_empty());
        std::mem::forget(control);
    }

    #[test]
    fn garbage_never_panics_or_reads_past_the_buffer() {
        let mut cases: Vec<Vec<u8>> = vec![vec![], vec![0; 3], vec![0; CMSG_HDR], vec![0xff; 64]];
        // A length of usize::MAX, one of exactly a header, one that wraps when aligned.
        for len in [usize::MAX, CMSG_HDR, usize::MAX - 2, CMSG_HDR - 1, 1 << 40] {
            let mut b = len.to_ne_bytes().to_vec();
            b.extend_from_slice(&libc::SOL_SOCKET.to_ne_bytes());
            b.extend_from_slice(&libc::SCM_RIGHTS.to_ne_bytes());
            b.extend_from_slice(&ints(&[1, 2]));
            cases.push(b);
        }
        let mut x: u32 = 12345;
        for n in 0..2000 {
            let mut b = vec![0u8; n % 200];
            for byte in &mut b {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                *byte = (x >> 16) as u8;
            }
            // Make small lengths likely, so walks go on past the first header.
            if b.len() >= 8 {
                b[..8].copy_from_slice(&((x as usize) % 64).to_ne_bytes());
            }
            cases.push(b);
        }
        for b in &cases {
            for c in walk(b) {
                assert!(c.data.len() <= b.len());
            }
        }
    }
}

//! The process connector socket: `NETLINK_CONNECTOR`, bound to `CN_IDX_PROC`,
//! subscribed to every event type with `PROC_CN_MCAST_LISTEN`, a large receive
//! buffer (`SO_RCVBUFFORCE`, else `SO_RCVBUF` up to `rmem_max`), non-blocking.
//! ikc never sends `PROC_CN_MCAST_IGNORE`: before Linux 6.6 the listener
//! count is global and an IGNORE can silence everyone; leaving a count behind
//! only keeps the kernel producing events that nobody reads (and the kernel
//! resets the count itself once a send finds no receiver).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{self, sockopt, MsgFlags, NetlinkAddr};

use super::message::{CnMsgBuffer, KernelEvent, CN_IDX_PROC, CN_MSG_LEN, CN_VAL_PROC};
use crate::error::{Error, Result};
use crate::netlink::{Emitable, NetlinkHeader, NetlinkHeaderBuffer, NLMSG_DONE, NLMSG_HEADER_LEN};

/// `NETLINK_CONNECTOR`.
const NETLINK_CONNECTOR: i32 = 11;
/// `enum proc_cn_mcast_op`.
pub const PROC_CN_MCAST_LISTEN: u32 = 1;
pub const PROC_CN_MCAST_IGNORE: u32 = 2;
/// The receive buffer asked for.
pub const RCVBUF: usize = 32 << 20;
/// How long LISTEN's acknowledgement may take: the kernel answers at once.
const ACK_TIMEOUT: Duration = Duration::from_secs(2);

/// One subscription to the process connector.
pub struct Connector {
    fd: OwnedFd,
    /// The receive buffer the kernel granted (`SO_RCVBUF` reads back twice the asked size).
    pub rcvbuf: usize,
    /// Whether `SO_RCVBUFFORCE` was allowed (`CAP_NET_ADMIN`).
    pub forced: bool,
    next_ack: u32,
}

/// What one receive gave.
#[derive(Debug)]
pub enum Received {
    /// Datagrams were read; events in the order the kernel queued them.
    Events,
    /// The kernel dropped messages for this socket (`ENOBUFS`): how many is unknown.
    Overrun,
    /// Nothing more to read now.
    Empty,
}

impl Connector {
    /// A raw socket bound to the process connector's group, not yet listening
    /// (tests use it to play a misbehaving client).
    pub fn bind_only() -> Result<Connector> {
        // SAFETY: socket(2) with constant arguments; the fd is ours alone.
        let raw = unsafe {
            nix::libc::socket(nix::libc::AF_NETLINK, nix::libc::SOCK_DGRAM | nix::libc::SOCK_CLOEXEC | nix::libc::SOCK_NONBLOCK, NETLINK_CONNECTOR)
        };
        if raw < 0 {
            return Err(match Errno::last() {
                e @ (Errno::EPROTONOSUPPORT | Errno::EAFNOSUPPORT) => Error::NotSupported(format!(
                    "no process connector here ({}): it exists only in the initial network namespace of a kernel built with CONFIG_PROC_EVENTS",
                    e.desc()
                )),
                e => Error::os("socket(NETLINK_CONNECTOR)", e),
            });
        }
        // SAFETY: `raw` is a new fd nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        socket::bind(fd.as_raw_fd(), &NetlinkAddr::new(0, CN_IDX_PROC)).map_err(|e| Error::os("bind CN_IDX_PROC", e))?;
        let forced = socket::setsockopt(&fd, sockopt::RcvBufForce, &RCVBUF).is_ok();
        if !forced {
            let max = std::fs::read_to_string("/proc/sys/net/core/rmem_max").ok().and_then(|s| s.trim().parse::<usize>().ok()).unwrap_or(RCVBUF);
            let _ = socket::setsockopt(&fd, sockopt::RcvBuf, &RCVBUF.min(max));
        }
        let rcvbuf = socket::getsockopt(&fd, sockopt::RcvBuf).unwrap_or(0);
        let seed = std::process::id().wrapping_mul(2_654_435_761) ^ std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        Ok(Connector { fd, rcvbuf, forced, next_ack: seed | 1 })
    }

    /// Opens a subscription: socket, LISTEN, and the kernel's acknowledgement.
    /// Outside the initial user and pid namespaces the kernel ignores LISTEN
    /// without a word: that is refused here (`EOPNOTSUPP`) instead of waiting.
    pub fn open() -> Result<Connector> {
        check_namespaces()?;
        let mut c = Connector::bind_only()?;
        let ack = c.send_op(PROC_CN_MCAST_LISTEN)?;
        c.await_ack(ack)?;
        Ok(c)
    }

    /// Sends LISTEN or IGNORE; returns the `ack` the kernel's answer carries.
    pub fn send_op(&mut self, op: u32) -> Result<u32> {
        let ack = self.next_ack;
        self.next_ack = self.next_ack.wrapping_add(2);
        let len = NLMSG_HEADER_LEN + CN_MSG_LEN + 4;
        let mut msg = vec![0u8; len];
        let header = NetlinkHeader { length: len as u32, message_type: NLMSG_DONE, flags: 0, sequence: ack, port: std::process::id() };
        header.emit(&mut msg[..NLMSG_HEADER_LEN]);
        {
            let mut cn = CnMsgBuffer::new_unchecked(&mut msg[NLMSG_HEADER_LEN..NLMSG_HEADER_LEN + CN_MSG_LEN]);
            cn.set_idx(CN_IDX_PROC);
            cn.set_val(CN_VAL_PROC);
            cn.set_seq(ack);
            cn.set_ack(ack);
            cn.set_len(4);
        }
        msg[NLMSG_HEADER_LEN + CN_MSG_LEN..].copy_from_slice(&op.to_ne_bytes());
        loop {
            match socket::sendto(self.fd.as_raw_fd(), &msg, &NetlinkAddr::new(0, 0), MsgFlags::empty()) {
                Ok(_) => return Ok(ack),
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(Error::os("send PROC_CN_MCAST op", e)),
            }
        }
    }

    /// Waits for the kernel's answer to the op sent with `ack`; events read meanwhile are dropped.
    fn await_ack(&mut self, ack: u32) -> Result<()> {
        let deadline = Instant::now() + ACK_TIMEOUT;
        let mut buf = vec![0u8; 64 * 1024];
        let mut events = Vec::new();
        loop {
            events.clear();
            match self.receive(&mut buf, &mut events)? {
                Received::Empty => {}
                Received::Overrun | Received::Events => {
                    if let Some(a) = events.iter().find(|e| e.what == 0 && e.ack == ack.wrapping_add(1)) {
                        return match a.data[0] {
                            0 => Ok(()),
                            err => Err(Error::Os { op: "PROC_CN_MCAST_LISTEN".into(), errno: err as i32 }),
                        };
                    }
                    continue;
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::os("PROC_CN_MCAST_LISTEN: no acknowledgement from the kernel", Errno::ETIMEDOUT));
            }
            let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
            let _ = poll(&mut fds, PollTimeout::from(u16::try_from(left.as_millis()).unwrap_or(u16::MAX)));
        }
    }

    /// Drops whatever the kernel queued so far (a bounded number of reads).
    pub fn discard_queued(&mut self) {
        let mut buf = vec![0u8; 64 * 1024];
        let mut events = Vec::new();
        for _ in 0..64 {
            events.clear();
            if matches!(self.receive(&mut buf, &mut events), Ok(Received::Empty) | Err(_)) {
                return;
            }
        }
    }

    /// Reads every datagram queued now (up to a bound), appending their events.
    pub fn receive(&mut self, buf: &mut [u8], out: &mut Vec<KernelEvent>) -> Result<Received> {
        let mut got = false;
        for _ in 0..1024 {
            match socket::recvfrom::<NetlinkAddr>(self.fd.as_raw_fd(), buf) {
                Ok((n, from)) => {
                    // Only the kernel's datagrams count (another process may send to our port).
                    if from.is_none_or(|a| a.pid() != 0) {
                        continue;
                    }
                    got = true;
                    parse_datagram(&buf[..n], out);
                }
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) => break,
                Err(Errno::ENOBUFS) => return Ok(Received::Overrun),
                Err(e) => return Err(Error::os("recv process connector", e)),
            }
        }
        Ok(if got { Received::Events } else { Received::Empty })
    }
}

impl AsFd for Connector {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Splits a datagram into netlink messages and parses the connector's.
fn parse_datagram(mut d: &[u8], out: &mut Vec<KernelEvent>) {
    while d.len() >= NLMSG_HEADER_LEN {
        let Ok(h) = NetlinkHeaderBuffer::new_checked(d) else { return };
        let len = h.length() as usize;
        if len < NLMSG_HEADER_LEN || len > d.len() {
            return;
        }
        if let Some(ev) = KernelEvent::parse(&d[NLMSG_HEADER_LEN..len]) {
            out.push(ev);
        }
        d = d.get(len.next_multiple_of(4)..).unwrap_or_default();
    }
}

/// The kernel ignores LISTEN from outside the initial user and pid namespaces.
pub fn check_namespaces() -> Result<()> {
    let pid = crate::ns::current(crate::ns::NsType::Pid)?;
    let user = crate::ns::id_of(&crate::ns::NsSource::ThisThread.open_user_ns()?)?;
    if pid.ino != crate::ns::PROC_PID_INIT_INO || user.ino != crate::visibility::INIT_USER_NS {
        return Err(Error::NotSupported(
            "the process connector ignores subscriptions from outside the initial user and pid namespaces; ask the broker".into(),
        ));
    }
    Ok(())
}

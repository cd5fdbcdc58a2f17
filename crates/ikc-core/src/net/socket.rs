//! A netlink socket connected to the kernel, used for exactly one dump: send the
//! request ikc built, read datagrams into a `DumpCollector` until `NLMSG_DONE`.
//! The socket belongs to the network namespace of the thread that opened it,
//! whichever thread reads it later.

use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::socket::{self, sockopt, AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType};
use nix::sys::time::TimeVal;

use super::collect::{DumpCollector, MAX_RESPONSE_LEN};
use crate::error::{Error, Result};

/// How long one `recv` may wait: the kernel answers a dump at once, so a
/// silent socket means something is wrong, not slow.
const RECV_TIMEOUT: Duration = Duration::from_secs(10);
/// The first receive buffer; grown when the kernel sends a larger datagram.
const RECV_BUFFER: usize = 64 * 1024;

pub struct NetlinkSocket {
    fd: OwnedFd,
}

impl NetlinkSocket {
    /// Opens a close-on-exec netlink socket in the calling thread's network
    /// namespace and connects it to the kernel (port 0), so that the kernel
    /// refuses to deliver anything another socket sends to it.
    pub fn open(protocol: SockProtocol) -> Result<NetlinkSocket> {
        let fd = socket::socket(AddressFamily::Netlink, SockType::Raw, SockFlag::SOCK_CLOEXEC, protocol)
            .map_err(|e| Error::os("socket(AF_NETLINK)", e))?;
        let timeout = TimeVal::new(RECV_TIMEOUT.as_secs() as _, 0);
        socket::setsockopt(&fd, sockopt::ReceiveTimeout, &timeout).map_err(|e| Error::os("SO_RCVTIMEO", e))?;
        socket::connect(fd.as_raw_fd(), &NetlinkAddr::new(0, 0)).map_err(|e| Error::os("connect netlink socket", e))?;
        Ok(NetlinkSocket { fd })
    }

    /// Sends `request` (one message, sequence `sequence`) and returns the whole answer.
    pub fn dump(&self, request: &[u8], sequence: u32) -> Result<Vec<u8>> {
        self.send(request)?;
        let mut collector = DumpCollector::new(sequence, MAX_RESPONSE_LEN);
        let mut buf = vec![0u8; RECV_BUFFER];
        while !collector.is_done() {
            let n = self.recv_datagram(&mut buf)?;
            collector.push(&buf[..n])?;
        }
        collector.finish()
    }

    fn send(&self, request: &[u8]) -> Result<()> {
        loop {
            match socket::send(self.fd.as_raw_fd(), request, MsgFlags::empty()) {
                // A netlink datagram is sent whole or not at all.
                Ok(n) if n == request.len() => return Ok(()),
                Ok(_) => return Err(Error::os("send netlink request", Errno::EMSGSIZE)),
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(Error::os("send netlink request", e)),
            }
        }
    }

    /// Reads one datagram of the kernel's whole: its size is peeked first, so
    /// none is truncated. A datagram from any other sender is dropped: connect
    /// makes the kernel refuse them, but one sent in the instant between the
    /// socket's bind and its connect is already queued.
    fn recv_datagram(&self, buf: &mut Vec<u8>) -> Result<usize> {
        loop {
            let size = self.recv(&mut [], MsgFlags::MSG_PEEK | MsgFlags::MSG_TRUNC)?;
            if size > MAX_RESPONSE_LEN {
                return Err(Error::os("netlink datagram", Errno::EMSGSIZE));
            }
            if size > buf.len() {
                buf.resize(size, 0);
            }
            let (n, from) = loop {
                match socket::recvfrom::<NetlinkAddr>(self.fd.as_raw_fd(), buf) {
                    Err(Errno::EINTR) => continue,
                    Err(Errno::EAGAIN) => return Err(Error::os("netlink dump", Errno::ETIMEDOUT)),
                    Err(e) => return Err(Error::os("recv netlink answer", e)),
                    Ok(r) => break r,
                }
            };
            if !from.is_some_and(|a| a.pid() == 0 && a.groups() == 0) {
                continue; // not the kernel's
            }
            if n == 0 {
                return Err(Error::damaged("netlink socket returned no data"));
            }
            return Ok(n);
        }
    }

    fn recv(&self, buf: &mut [u8], flags: MsgFlags) -> Result<usize> {
        loop {
            match socket::recv(self.fd.as_raw_fd(), buf, flags) {
                Ok(n) => return Ok(n),
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) => return Err(Error::os("netlink dump", Errno::ETIMEDOUT)),
                Err(e) => return Err(Error::os("recv netlink answer", e)),
            }
        }
    }
}

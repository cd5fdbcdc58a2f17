//! Network-namespace commands: SOCK_DIAG (the namespace's sockets), LINK_DUMP
//! and ADDR_DUMP (its links and addresses). The namespace fd is the capability:
//! each command validates the caller's request, re-encodes it from the parsed
//! fields (the caller's bytes never reach the kernel), runs the dump on a netlink
//! socket opened inside the namespace, and returns the kernel's messages as the
//! kernel framed them, ending with `NLMSG_DONE`. Used by `kernel_command`.
//!
//! - `request`: the dump header shared by all three
//! - `sock_diag`, `inet_diag`, `unix_diag`: the SOCK_DIAG request and its two bodies
//! - `rtnl`: the RTM_GETLINK and RTM_GETADDR requests
//! - `collect`: the kernel's answer, checked and capped
//! - `socket`, `worker`: the netlink socket, and the thread that opens it in the namespace

mod collect;
mod inet_diag;
mod request;
mod rtnl;
mod sock_diag;
mod socket;
mod unix_diag;
mod worker;

use nix::sys::socket::SockProtocol;

pub use collect::{DumpCollector, MAX_RESPONSE_LEN};
pub use inet_diag::{InetDiagReq, InetDiagReqBuffer, InetDiagSockId, INET_DIAG_REQ_V2_LEN};
pub use request::DUMP_FLAGS;
pub use rtnl::{encode_addr, encode_link, AddrDumpRequest, IfAddrMsg, IfInfoMsg, IfInfoMsgBuffer, LinkDumpRequest, IFADDRMSG_LEN, IFINFOMSG_LEN};
pub use sock_diag::{encode_inet, encode_unix, SockDiagBody, SockDiagRequest};
pub use unix_diag::{UnixDiagReq, UnixDiagReqBuffer, UDIAG_SHOW_KNOWN, UNIX_DIAG_REQ_LEN};

use crate::error::Result;
use crate::ns::Namespace;

pub const AF_UNSPEC: u8 = 0;
pub const AF_UNIX: u8 = 1;
pub const AF_INET: u8 = 2;
pub const AF_INET6: u8 = 10;
pub const AF_PACKET: u8 = 17;
pub const IPPROTO_TCP: u8 = 6;
pub const IPPROTO_UDP: u8 = 17;

/// `nlmsg_type` of sock_diag dump requests and of their answers.
pub const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// `nlmsg_type` of the sock_diag message that closes sockets; never sent.
pub const SOCK_DESTROY: u16 = 21;
pub const RTM_GETLINK: u16 = 18;
pub const RTM_GETADDR: u16 = 22;

/// Socket states a dump may ask for: `1 << TCP_x` for TCP_ESTABLISHED (1) up to
/// TCP_BOUND_INACTIVE (13), plus bit 0, which `ss` sets too.
pub const TCP_STATES: u32 = (1 << 14) - 1;

/// SOCK_DIAG: the sockets of `target`.
pub fn sock_diag(target: &Namespace, request: &[u8], rights: Rights) -> Result<Vec<u8>> {
    let req = SockDiagRequest::from_message(request)?;
    run(target, SockProtocol::NetlinkSockDiag, &req.to_message(), req.sequence, rights)
}

/// LINK_DUMP: the links of `target`, with their statistics.
pub fn link_dump(target: &Namespace, request: &[u8], rights: Rights) -> Result<Vec<u8>> {
    let req = LinkDumpRequest::from_message(request)?;
    run(target, SockProtocol::NetlinkRoute, &req.to_message(), req.sequence, rights)
}

/// ADDR_DUMP: the addresses of `target`.
pub fn addr_dump(target: &Namespace, request: &[u8], rights: Rights) -> Result<Vec<u8>> {
    let req = AddrDumpRequest::from_message(request)?;
    run(target, SockProtocol::NetlinkRoute, &req.to_message(), req.sequence, rights)
}

/// The links of one namespace, dumped again on each call through one socket
/// opened once in it with the subscriber's rights (link statistics streams).
pub struct LinkDumper {
    socket: socket::NetlinkSocket,
    sequence: u32,
}

impl LinkDumper {
    pub fn open(target: &Namespace, rights: Rights) -> Result<LinkDumper> {
        Ok(LinkDumper { socket: worker::socket_in(target, SockProtocol::NetlinkRoute, rights)?, sequence: 0 })
    }

    /// One RTM_GETLINK dump (every link with its IFLA_STATS64), as the kernel framed it, ending with `NLMSG_DONE`.
    pub fn dump(&mut self) -> Result<Vec<u8>> {
        self.sequence = self.sequence.wrapping_add(1);
        self.socket.dump(&rtnl::encode_link(self.sequence), self.sequence)
    }
}

fn run(target: &Namespace, protocol: SockProtocol, message: &[u8], sequence: u32, rights: Rights) -> Result<Vec<u8>> {
    worker::with_socket_in(target, protocol, rights, |socket| socket.dump(message, sequence))
}

/// With which rights the netlink socket is opened. The kernel decides what a
/// dump may show (TCP-MD5 keys, socket marks) by the opener's capabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rights {
    /// The calling thread's own.
    Own,
    /// The calling thread's less `CAP_NET_ADMIN` (a broker answering a client that lacks it).
    WithoutNetAdmin,
}

//! `struct inet_diag_req_v2` (linux/inet_diag.h): the body of a SOCK_DIAG dump
//! of TCP or UDP sockets, IPv4 or IPv6. Read through a checked buffer; what
//! passes is an `InetDiagReq` that ikc re-encodes for the kernel.

use super::{AF_INET, AF_INET6, IPPROTO_TCP, IPPROTO_UDP, TCP_STATES};
use crate::error::{Error, Result};
use crate::extensible::read_struct;
use crate::netlink::{Emitable, Parseable};
use crate::wire::{buffer, Be16, DecodeError, U32Pair};

/// `sizeof(struct inet_diag_req_v2)`.
pub const INET_DIAG_REQ_V2_LEN: usize = 56;

buffer!(
    /// A checked view of `struct inet_diag_req_v2`: all 56 bytes are present.
    /// The `struct inet_diag_sockid` inside holds ports and addresses in
    /// network byte order.
    InetDiagReqBuffer("inet_diag_req_v2", INET_DIAG_REQ_V2_LEN) {
        family, set_family: (u8, 0..1),
        protocol, set_protocol: (u8, 1..2),
        ext, set_ext: (u8, 2..3),
        pad, set_pad: (u8, 3..4),
        states, set_states: (u32, 4..8),
        sport, set_sport: (Be16, 8..10),
        dport, set_dport: (Be16, 10..12),
        src, set_src: ([u8; 16], 12..28),
        dst, set_dst: ([u8; 16], 28..44),
        interface, set_interface: (u32, 44..48),
        cookie, set_cookie: (U32Pair, 48..56),
    }
);

/// `struct inet_diag_sockid`: which sockets a dump matches. The kernel filters
/// a dump on the ports; the rest is carried as given (a dump ignores it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InetDiagSockId {
    /// Host byte order; 0 matches any.
    pub sport: u16,
    pub dport: u16,
    /// Network byte order, as on the wire (IPv4 in the first 4 bytes).
    pub src: [u8; 16],
    pub dst: [u8; 16],
    pub interface: u32,
    pub cookie: [u32; 2],
}

/// A validated `inet_diag_req_v2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InetDiagReq {
    /// `AF_INET` or `AF_INET6`.
    pub family: u8,
    /// `IPPROTO_TCP` or `IPPROTO_UDP`.
    pub protocol: u8,
    /// Extensions asked for: bit `INET_DIAG_x - 1` (all eight bits are defined).
    pub ext: u8,
    /// Socket states to dump: bit `1 << TCP_x`.
    pub states: u32,
    pub id: InetDiagSockId,
}

impl InetDiagReq {
    /// Checks every enumerated field and bit: unknown ones are `EINVAL`.
    pub fn validate(&self) -> Result<()> {
        if self.family != AF_INET && self.family != AF_INET6 {
            return Err(Error::invalid(format!("sdiag_family {} is neither AF_INET nor AF_INET6", self.family)));
        }
        if self.protocol != IPPROTO_TCP && self.protocol != IPPROTO_UDP {
            return Err(Error::invalid(format!("sdiag_protocol {} is neither IPPROTO_TCP nor IPPROTO_UDP", self.protocol)));
        }
        if self.states & !TCP_STATES != 0 {
            return Err(Error::invalid(format!("unknown idiag_states bits {:#x}", self.states & !TCP_STATES)));
        }
        Ok(())
    }

    /// Reads and validates the body of a request.
    pub fn from_payload(payload: &[u8]) -> Result<InetDiagReq> {
        // Bytes past the struct would be attributes (bytecode filters): zero ones
        // are no attribute and are dropped, any other is refused (E2BIG).
        let payload = read_struct("inet_diag_req_v2", payload, INET_DIAG_REQ_V2_LEN, INET_DIAG_REQ_V2_LEN)?;
        let buf = InetDiagReqBuffer::new_checked(&*payload).map_err(Error::malformed)?;
        if buf.pad() != 0 {
            return Err(Error::invalid(format!("inet_diag_req_v2 pad byte is {}, must be 0", buf.pad())));
        }
        let req = InetDiagReq::parse(&buf).map_err(Error::malformed)?;
        req.validate()?;
        Ok(req)
    }
}

impl<T: AsRef<[u8]>> Parseable<InetDiagReqBuffer<T>> for InetDiagReq {
    fn parse(buf: &InetDiagReqBuffer<T>) -> Result<Self, DecodeError> {
        Ok(InetDiagReq {
            family: buf.family(),
            protocol: buf.protocol(),
            ext: buf.ext(),
            states: buf.states(),
            id: InetDiagSockId {
                sport: buf.sport(),
                dport: buf.dport(),
                src: buf.src(),
                dst: buf.dst(),
                interface: buf.interface(),
                cookie: buf.cookie(),
            },
        })
    }
}

impl Emitable for InetDiagReq {
    fn buffer_len(&self) -> usize {
        INET_DIAG_REQ_V2_LEN
    }
    fn emit(&self, b: &mut [u8]) {
        let mut buf = InetDiagReqBuffer::new_unchecked(b);
        buf.set_family(self.family);
        buf.set_protocol(self.protocol);
        buf.set_ext(self.ext);
        buf.set_pad(0);
        buf.set_states(self.states);
        buf.set_sport(self.id.sport);
        buf.set_dport(self.id.dport);
        buf.set_src(self.id.src);
        buf.set_dst(self.id.dst);
        buf.set_interface(self.id.interface);
        buf.set_cookie(self.id.cookie);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> InetDiagReq {
        InetDiagReq {
            family: AF_INET6,
            protocol: IPPROTO_TCP,
            ext: 0x02,
            states: 1 << 10,
            id: InetDiagSockId { sport: 443, dport: 0, src: [0; 16], dst: [0; 16], interface: 3, cookie: [!0, !0] },
        }
    }

    fn bytes(family: u8, protocol: u8, pad: u8, states: u32) -> Vec<u8> {
        let mut v = vec![family, protocol, 0x02, pad]; // family, protocol, ext = INET_DIAG_INFO, pad
        v.extend_from_slice(&states.to_ne_bytes()); // idiag_states
        v.extend_from_slice(&[0x01, 0xbb]); // idiag_sport = 443, big endian
        v.extend_from_slice(&[0, 0]); // idiag_dport
        v.extend_from_slice(&[0; 16]); // idiag_src
        v.extend_from_slice(&[0; 16]); // idiag_dst
        v.extend_from_slice(&3u32.to_ne_bytes()); // idiag_if
        v.extend_from_slice(&[0xff; 8]); // idiag_cookie = INET_DIAG_NOCOOKIE twice
        v
    }

    #[test]
    fn emit_inet_diag_req() {
        let mut out = Vec::new();
        sample().emit_to_vec(&mut out);
        assert_eq!(out, bytes(10, 6, 0, 1 << 10));
    }

    #[test]
    fn parse_inet_diag_req() {
        assert_eq!(InetDiagReq::from_payload(&bytes(10, 6, 0, 1 << 10)).expect("valid"), sample());
    }

    #[test]
    fn bad_fields_are_einval() {
        let code = |b: &[u8]| InetDiagReq::from_payload(b).unwrap_err().code();
        assert_eq!(code(&bytes(1, 6, 0, 1)), "EINVAL", "AF_UNIX is not inet");
        assert_eq!(code(&bytes(0, 6, 0, 1)), "EINVAL", "AF_UNSPEC");
        assert_eq!(code(&bytes(2, 255, 0, 1)), "EINVAL", "IPPROTO_RAW");
        assert_eq!(code(&bytes(2, 136, 0, 1)), "EINVAL", "IPPROTO_UDPLITE");
        assert_eq!(code(&bytes(2, 6, 1, 1)), "EINVAL", "pad");
        assert_eq!(code(&bytes(2, 17, 0, 1 << 14)), "EINVAL", "unknown state bit");
        assert_eq!(code(&bytes(2, 17, 0, u32::MAX)), "EINVAL", "every bit");
        assert_eq!(code(&bytes(2, 6, 0, 1)[..55]), "EINVAL", "short");
        let mut long = bytes(2, 6, 0, 1);
        long.extend_from_slice(&[8, 0, 1, 0, 0, 0, 0, 0]); // an INET_DIAG_REQ_BYTECODE attribute
        assert_eq!(code(&long), "E2BIG", "attributes (bytecode filters) are refused");
    }

    #[test]
    fn payload_size_follows_the_extensible_struct_rule() {
        crate::extensible::assert_follows_the_rule("inet_diag_req_v2", &bytes(10, 6, 0, 1 << 10), InetDiagReq::from_payload);
    }
}

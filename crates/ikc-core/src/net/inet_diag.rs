//! `struct inet_diag_req_v2` (linux/inet_diag.h): the body of a SOCK_DIAG dump
//! of TCP or UDP sockets, IPv4 or IPv6. Read through a checked buffer; what
//! passes is an `InetDiagReq` that ikc re-encodes for the kernel.

use super::{AF_INET, AF_INET6, IPPROTO_TCP, IPPROTO_UDP, TCP_STATES};
use crate::error::{Error, Result};
use crate::extensible::read_struct;
use crate::netlink::{check_len, get_u32, put_u32, DecodeError, Emitable, Field, Parseable};

const FAMILY: usize = 0;
const PROTOCOL: usize = 1;
const EXT: usize = 2;
const PAD: usize = 3;
const STATES: Field = 4..8;
// struct inet_diag_sockid: ports and addresses in network byte order.
const SPORT: Field = 8..10;
const DPORT: Field = 10..12;
const SRC: Field = 12..28;
const DST: Field = 28..44;
const INTERFACE: Field = 44..48;
const COOKIE_LO: Field = 48..52;
const COOKIE_HI: Field = 52..56;
/// `sizeof(struct inet_diag_req_v2)`.
pub const INET_DIAG_REQ_V2_LEN: usize = COOKIE_HI.end;

/// A checked view of `struct inet_diag_req_v2`: all 56 bytes are present.
pub struct InetDiagReqBuffer<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> InetDiagReqBuffer<T> {
    pub fn new_checked(buffer: T) -> Result<Self, DecodeError> {
        check_len("inet_diag_req_v2", buffer.as_ref().len(), INET_DIAG_REQ_V2_LEN)?;
        Ok(InetDiagReqBuffer { buffer })
    }
    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }
    pub fn family(&self) -> u8 {
        self.b()[FAMILY]
    }
    pub fn protocol(&self) -> u8 {
        self.b()[PROTOCOL]
    }
    pub fn ext(&self) -> u8 {
        self.b()[EXT]
    }
    pub fn pad(&self) -> u8 {
        self.b()[PAD]
    }
    pub fn states(&self) -> u32 {
        get_u32(self.b(), STATES)
    }
    pub fn sport(&self) -> u16 {
        get_be16(self.b(), SPORT)
    }
    pub fn dport(&self) -> u16 {
        get_be16(self.b(), DPORT)
    }
    pub fn src(&self) -> [u8; 16] {
        get_16(self.b(), SRC)
    }
    pub fn dst(&self) -> [u8; 16] {
        get_16(self.b(), DST)
    }
    pub fn interface(&self) -> u32 {
        get_u32(self.b(), INTERFACE)
    }
    pub fn cookie(&self) -> [u32; 2] {
        [get_u32(self.b(), COOKIE_LO), get_u32(self.b(), COOKIE_HI)]
    }
}

// Fields proved in bounds by `new_checked`.
fn get_be16(b: &[u8], f: Field) -> u16 {
    u16::from_be_bytes([b[f.start], b[f.start + 1]])
}
fn get_16(b: &[u8], f: Field) -> [u8; 16] {
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[f]);
    a
}

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
        let buf = InetDiagReqBuffer::new_checked(&*payload)?;
        if buf.pad() != 0 {
            return Err(Error::invalid(format!("inet_diag_req_v2 pad byte is {}, must be 0", buf.pad())));
        }
        let req = InetDiagReq::parse(&buf)?;
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
        b[FAMILY] = self.family;
        b[PROTOCOL] = self.protocol;
        b[EXT] = self.ext;
        b[PAD] = 0;
        put_u32(b, STATES, self.states);
        b[SPORT].copy_from_slice(&self.id.sport.to_be_bytes());
        b[DPORT].copy_from_slice(&self.id.dport.to_be_bytes());
        b[SRC].copy_from_slice(&self.id.src);
        b[DST].copy_from_slice(&self.id.dst);
        put_u32(b, INTERFACE, self.id.interface);
        put_u32(b, COOKIE_LO, self.id.cookie[0]);
        put_u32(b, COOKIE_HI, self.id.cookie[1]);
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

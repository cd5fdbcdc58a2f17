//! The SOCK_DIAG request: `nlmsghdr` (`SOCK_DIAG_BY_FAMILY`, a dump) and either
//! `inet_diag_req_v2` or `unix_diag_req`, chosen by the first byte
//! (`sdiag_family`). SOCK_DESTROY and every other sock_diag message are refused:
//! only a dump that parsed is re-encoded and sent.

use super::inet_diag::{InetDiagReq, InetDiagSockId};
use super::request::{emit_dump_message, parse_dump_header};
use super::unix_diag::UnixDiagReq;
use super::{AF_INET, AF_INET6, AF_UNIX, SOCK_DIAG_BY_FAMILY};
use crate::error::{Error, Result};

/// A validated sock_diag dump request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SockDiagBody {
    Inet(InetDiagReq),
    Unix(UnixDiagReq),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SockDiagRequest {
    pub body: SockDiagBody,
    /// Echoed by the kernel in every response message.
    pub sequence: u32,
}

impl SockDiagRequest {
    /// Reads and validates a whole request message.
    pub fn from_message(bytes: &[u8]) -> Result<SockDiagRequest> {
        let (sequence, payload) = parse_dump_header(bytes, SOCK_DIAG_BY_FAMILY, "SOCK_DIAG_BY_FAMILY")?;
        let body = match payload.first().copied() {
            Some(AF_INET | AF_INET6) => SockDiagBody::Inet(InetDiagReq::from_payload(payload)?),
            Some(AF_UNIX) => SockDiagBody::Unix(UnixDiagReq::from_payload(payload)?),
            Some(family) => {
                return Err(Error::invalid(format!("sdiag_family {family}: only AF_INET, AF_INET6 and AF_UNIX are dumped")))
            }
            None => return Err(Error::invalid("sock_diag request without a body")),
        };
        Ok(SockDiagRequest { body, sequence })
    }

    /// The message ikc sends: built from the parsed fields, never the caller's bytes.
    pub fn to_message(&self) -> Vec<u8> {
        match &self.body {
            SockDiagBody::Inet(req) => emit_dump_message(SOCK_DIAG_BY_FAMILY, self.sequence, req),
            SockDiagBody::Unix(req) => emit_dump_message(SOCK_DIAG_BY_FAMILY, self.sequence, req),
        }
    }
}

/// Builds a TCP/UDP dump request from raw numbers (as a binding receives them).
pub fn encode_inet(family: u32, protocol: u32, states: u32, ext: u32, sequence: u32) -> Result<Vec<u8>> {
    let byte = |v: u32, what: &str| u8::try_from(v).map_err(|_| Error::invalid(format!("{what} {v} does not fit in a byte")));
    let req = InetDiagReq {
        family: byte(family, "family")?,
        protocol: byte(protocol, "protocol")?,
        ext: byte(ext, "ext")?,
        states,
        id: InetDiagSockId { cookie: [!0, !0], ..Default::default() },
    };
    req.validate()?;
    Ok(SockDiagRequest { body: SockDiagBody::Inet(req), sequence }.to_message())
}

/// Builds a UNIX dump request from raw numbers.
pub fn encode_unix(states: u32, show: u32, sequence: u32) -> Result<Vec<u8>> {
    let req = UnixDiagReq { states, show, ..Default::default() };
    req.validate()?;
    Ok(SockDiagRequest { body: SockDiagBody::Unix(req), sequence }.to_message())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(len: u32, kind: u16, flags: u16) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&len.to_ne_bytes()); // nlmsg_len
        v.extend_from_slice(&kind.to_ne_bytes()); // nlmsg_type
        v.extend_from_slice(&flags.to_ne_bytes()); // nlmsg_flags
        v.extend_from_slice(&3u32.to_ne_bytes()); // nlmsg_seq
        v.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_pid
        v
    }

    fn unix_request(kind: u16, flags: u16) -> Vec<u8> {
        let mut v = header(40, kind, flags);
        v.extend_from_slice(&[1, 0, 0, 0]); // AF_UNIX, protocol, pad
        v.extend_from_slice(&0xffu32.to_ne_bytes()); // udiag_states
        v.extend_from_slice(&0u32.to_ne_bytes()); // udiag_ino
        v.extend_from_slice(&0x15u32.to_ne_bytes()); // udiag_show = NAME | PEER | RQLEN
        v.extend_from_slice(&[0; 8]); // udiag_cookie
        v
    }

    #[test]
    fn emit_and_parse_unix_request() {
        let bytes = unix_request(20, 0x301);
        assert_eq!(encode_unix(0xff, 0x15, 3).expect("valid"), bytes);
        let req = SockDiagRequest::from_message(&bytes).expect("valid");
        assert_eq!(req.body, SockDiagBody::Unix(UnixDiagReq { states: 0xff, show: 0x15, ..Default::default() }));
        assert_eq!(req.to_message(), bytes);
    }

    #[test]
    fn emit_and_parse_inet_request() {
        let mut bytes = header(72, 20, 0x301);
        bytes.extend_from_slice(&[2, 17, 0, 0]); // AF_INET, IPPROTO_UDP, ext, pad
        bytes.extend_from_slice(&0xfffu32.to_ne_bytes()); // idiag_states
        bytes.extend_from_slice(&[0; 4 + 32 + 4]); // ports, addresses, interface
        bytes.extend_from_slice(&[0xff; 8]); // idiag_cookie = INET_DIAG_NOCOOKIE
        assert_eq!(encode_inet(2, 17, 0xfff, 0, 3).expect("valid"), bytes);
        let req = SockDiagRequest::from_message(&bytes).expect("valid");
        assert_eq!(req.to_message(), bytes);
    }

    #[test]
    fn a_zero_tail_is_dropped_and_never_sent() {
        let bytes = unix_request(20, 0x301);
        let mut padded = bytes.clone();
        padded[..4].copy_from_slice(&44u32.to_ne_bytes());
        padded.extend_from_slice(&[0; 4]);
        assert_eq!(SockDiagRequest::from_message(&padded).expect("zero tail").to_message(), bytes);
        padded[43] = 1;
        assert_eq!(SockDiagRequest::from_message(&padded).unwrap_err().code(), "E2BIG");
    }

    #[test]
    fn sock_destroy_and_other_families_are_einval() {
        let code = |b: &[u8]| SockDiagRequest::from_message(b).unwrap_err().code();
        assert_eq!(code(&unix_request(21, 0x301)), "EINVAL", "SOCK_DESTROY");
        assert_eq!(code(&unix_request(21, 0x005)), "EINVAL", "SOCK_DESTROY with an ack");
        assert_eq!(code(&unix_request(20, 0x001)), "EINVAL", "a lookup, not a dump");
        let mut netlink = unix_request(20, 0x301);
        netlink[16] = 16; // AF_NETLINK
        assert_eq!(code(&netlink), "EINVAL");
        let mut packet = unix_request(20, 0x301);
        packet[16] = 17; // AF_PACKET
        assert_eq!(code(&packet), "EINVAL");
        assert_eq!(code(&header(16, 20, 0x301)), "EINVAL", "no body");
        assert_eq!(encode_inet(2, 255, 1, 0, 0).unwrap_err().code(), "EINVAL");
        assert_eq!(encode_inet(258, 6, 1, 0, 0).unwrap_err().code(), "EINVAL");
        assert_eq!(encode_unix(1, 0x100, 0).unwrap_err().code(), "EINVAL");
    }
}

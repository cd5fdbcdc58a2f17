//! The rtnetlink dump requests: LINK_DUMP is `RTM_GETLINK` + `struct ifinfomsg`,
//! ADDR_DUMP is `RTM_GETADDR` + `struct ifaddrmsg`. A dump takes no filter in
//! these headers (the kernel's strict checking refuses them too), so every field
//! but the family must be zero. Bytes past the header would be attributes: the
//! size rule (`extensible::read_struct`) drops zero ones, which are no attribute,
//! and refuses any other (`E2BIG`), so no attribute is ever accepted.

use super::request::{emit_dump_message, parse_dump_header};
use super::{AF_INET, AF_INET6, AF_PACKET, AF_UNSPEC, RTM_GETADDR, RTM_GETLINK};
use crate::error::{Error, Result};
use crate::extensible::read_struct;
use crate::netlink::{Emitable, Parseable};
use crate::wire::{buffer, DecodeError};

/// `sizeof(struct ifinfomsg)`.
pub const IFINFOMSG_LEN: usize = 16;
/// `sizeof(struct ifaddrmsg)`.
pub const IFADDRMSG_LEN: usize = 8;

buffer!(
    /// A checked view of `struct ifinfomsg`.
    IfInfoMsgBuffer("ifinfomsg", IFINFOMSG_LEN) {
        family, set_family: (u8, 0..1),
        pad, set_pad: (u8, 1..2),
        kind, set_kind: (u16, 2..4),
        index, set_index: (u32, 4..8),
        flags, set_flags: (u32, 8..12),
        change, set_change: (u32, 12..16),
    }
);

buffer!(
    /// A checked view of `struct ifaddrmsg`.
    IfAddrMsgBuffer("ifaddrmsg", IFADDRMSG_LEN) {
        family, set_family: (u8, 0..1),
        prefixlen, set_prefixlen: (u8, 1..2),
        flags, set_flags: (u8, 2..3),
        scope, set_scope: (u8, 3..4),
        index, set_index: (u32, 4..8),
    }
);

/// The owned `struct ifinfomsg` (`ifi_index` kept as the wire's 32 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IfInfoMsg {
    pub family: u8,
    pub kind: u16,
    pub index: u32,
    pub flags: u32,
    pub change: u32,
}

impl<T: AsRef<[u8]>> Parseable<IfInfoMsgBuffer<T>> for IfInfoMsg {
    fn parse(buf: &IfInfoMsgBuffer<T>) -> Result<Self, DecodeError> {
        Ok(IfInfoMsg { family: buf.family(), kind: buf.kind(), index: buf.index(), flags: buf.flags(), change: buf.change() })
    }
}

impl Emitable for IfInfoMsg {
    fn buffer_len(&self) -> usize {
        IFINFOMSG_LEN
    }
    fn emit(&self, b: &mut [u8]) {
        let mut buf = IfInfoMsgBuffer::new_unchecked(b);
        buf.set_family(self.family);
        buf.set_pad(0);
        buf.set_kind(self.kind);
        buf.set_index(self.index);
        buf.set_flags(self.flags);
        buf.set_change(self.change);
    }
}

/// The owned `struct ifaddrmsg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IfAddrMsg {
    pub family: u8,
    pub prefixlen: u8,
    pub flags: u8,
    pub scope: u8,
    pub index: u32,
}

impl IfAddrMsg {
    /// Reads `struct ifaddrmsg`.
    pub fn parse_bytes(b: &[u8]) -> Result<Self, DecodeError> {
        IfAddrMsg::parse(&IfAddrMsgBuffer::new_checked(b)?)
    }
}

impl<T: AsRef<[u8]>> Parseable<IfAddrMsgBuffer<T>> for IfAddrMsg {
    fn parse(buf: &IfAddrMsgBuffer<T>) -> Result<Self, DecodeError> {
        Ok(IfAddrMsg { family: buf.family(), prefixlen: buf.prefixlen(), flags: buf.flags(), scope: buf.scope(), index: buf.index() })
    }
}

impl Emitable for IfAddrMsg {
    fn buffer_len(&self) -> usize {
        IFADDRMSG_LEN
    }
    fn emit(&self, b: &mut [u8]) {
        let mut buf = IfAddrMsgBuffer::new_unchecked(b);
        buf.set_family(self.family);
        buf.set_prefixlen(self.prefixlen);
        buf.set_flags(self.flags);
        buf.set_scope(self.scope);
        buf.set_index(self.index);
    }
}

/// A validated LINK_DUMP request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkDumpRequest {
    /// `AF_UNSPEC` or `AF_PACKET` (what `ip link` sends); both dump every link.
    pub family: u8,
    pub sequence: u32,
}

impl LinkDumpRequest {
    pub fn from_message(bytes: &[u8]) -> Result<LinkDumpRequest> {
        let (sequence, payload) = parse_dump_header(bytes, RTM_GETLINK, "RTM_GETLINK")?;
        let payload = read_struct("ifinfomsg", payload, IFINFOMSG_LEN, IFINFOMSG_LEN)?;
        let buf = IfInfoMsgBuffer::new_checked(&*payload).map_err(Error::malformed)?;
        let msg = IfInfoMsg::parse(&buf).map_err(Error::malformed)?;
        if buf.pad() != 0 || msg != (IfInfoMsg { family: msg.family, ..Default::default() }) {
            return Err(Error::invalid("ifinfomsg of a link dump: every field but ifi_family must be 0"));
        }
        Self::new(msg.family, sequence)
    }

    pub fn new(family: u8, sequence: u32) -> Result<LinkDumpRequest> {
        if family != AF_UNSPEC && family != AF_PACKET {
            return Err(Error::invalid(format!("ifi_family {family}: a link dump takes AF_UNSPEC or AF_PACKET")));
        }
        Ok(LinkDumpRequest { family, sequence })
    }

    pub fn to_message(&self) -> Vec<u8> {
        emit_dump_message(RTM_GETLINK, self.sequence, &IfInfoMsg { family: self.family, ..Default::default() })
    }
}

/// A validated ADDR_DUMP request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddrDumpRequest {
    /// `AF_UNSPEC` (every family), `AF_INET` or `AF_INET6`.
    pub family: u8,
    pub sequence: u32,
}

impl AddrDumpRequest {
    pub fn from_message(bytes: &[u8]) -> Result<AddrDumpRequest> {
        let (sequence, payload) = parse_dump_header(bytes, RTM_GETADDR, "RTM_GETADDR")?;
        let payload = read_struct("ifaddrmsg", payload, IFADDRMSG_LEN, IFADDRMSG_LEN)?;
        let msg = IfAddrMsg::parse_bytes(&payload).map_err(Error::malformed)?;
        if msg != (IfAddrMsg { family: msg.family, ..Default::default() }) {
            return Err(Error::invalid("ifaddrmsg of an address dump: every field but ifa_family must be 0"));
        }
        Self::new(u32::from(msg.family), sequence)
    }

    pub fn new(family: u32, sequence: u32) -> Result<AddrDumpRequest> {
        match u8::try_from(family) {
            Ok(f @ (AF_UNSPEC | AF_INET | AF_INET6)) => Ok(AddrDumpRequest { family: f, sequence }),
            _ => Err(Error::invalid(format!("ifa_family {family}: an address dump takes AF_UNSPEC, AF_INET or AF_INET6"))),
        }
    }

    pub fn to_message(&self) -> Vec<u8> {
        emit_dump_message(RTM_GETADDR, self.sequence, &IfAddrMsg { family: self.family, ..Default::default() })
    }
}

/// Builds a LINK_DUMP request (as a binding asks for it).
pub fn encode_link(sequence: u32) -> Vec<u8> {
    LinkDumpRequest { family: AF_UNSPEC, sequence }.to_message()
}

/// Builds an ADDR_DUMP request from a raw family number.
pub fn encode_addr(family: u32, sequence: u32) -> Result<Vec<u8>> {
    Ok(AddrDumpRequest::new(family, sequence)?.to_message())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(len: u32, kind: u16) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&len.to_ne_bytes()); // nlmsg_len
        v.extend_from_slice(&kind.to_ne_bytes()); // nlmsg_type
        v.extend_from_slice(&0x301u16.to_ne_bytes()); // nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP
        v.extend_from_slice(&5u32.to_ne_bytes()); // nlmsg_seq
        v.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_pid
        v
    }

    fn getlink(family: u8, index: u32) -> Vec<u8> {
        let mut v = header(32, 18);
        v.extend_from_slice(&[family, 0]); // ifi_family, __ifi_pad
        v.extend_from_slice(&0u16.to_ne_bytes()); // ifi_type
        v.extend_from_slice(&index.to_ne_bytes()); // ifi_index
        v.extend_from_slice(&0u32.to_ne_bytes()); // ifi_flags
        v.extend_from_slice(&0u32.to_ne_bytes()); // ifi_change
        v
    }

    fn getaddr(family: u8, prefixlen: u8) -> Vec<u8> {
        let mut v = header(24, 22);
        v.extend_from_slice(&[family, prefixlen, 0, 0]); // ifa_family, ifa_prefixlen, ifa_flags, ifa_scope
        v.extend_from_slice(&0u32.to_ne_bytes()); // ifa_index
        v
    }

    #[test]
    fn emit_and_parse_link_dump() {
        let req = LinkDumpRequest { family: 17, sequence: 5 };
        assert_eq!(req.to_message(), getlink(17, 0));
        assert_eq!(LinkDumpRequest::from_message(&getlink(17, 0)).expect("valid"), req);
        assert_eq!(LinkDumpRequest::from_message(&getlink(0, 0)).expect("valid").family, 0);
    }

    #[test]
    fn emit_and_parse_addr_dump() {
        let req = AddrDumpRequest { family: 10, sequence: 5 };
        assert_eq!(req.to_message(), getaddr(10, 0));
        assert_eq!(AddrDumpRequest::from_message(&getaddr(10, 0)).expect("valid"), req);
    }

    /// `message` with its payload replaced by `payload` (`nlmsg_len` follows).
    fn with_payload(message: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut v = message[..16].to_vec();
        v[..4].copy_from_slice(&(16 + payload.len() as u32).to_ne_bytes());
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn payload_size_follows_the_extensible_struct_rule() {
        let link = getlink(17, 0);
        crate::extensible::assert_follows_the_rule("ifinfomsg", &link[16..], |p| LinkDumpRequest::from_message(&with_payload(&link, p)));
        let addr = getaddr(10, 0);
        crate::extensible::assert_follows_the_rule("ifaddrmsg", &addr[16..], |p| AddrDumpRequest::from_message(&with_payload(&addr, p)));
    }

    #[test]
    fn filters_families_and_attributes_are_refused() {
        let link = |b: &[u8]| LinkDumpRequest::from_message(b).unwrap_err().code();
        let addr = |b: &[u8]| AddrDumpRequest::from_message(b).unwrap_err().code();
        assert_eq!(link(&getlink(7, 0)), "EINVAL", "AF_BRIDGE answers another question");
        assert_eq!(link(&getlink(0, 1)), "EINVAL", "ifi_index filter");
        let mut with_attr = getlink(0, 0);
        with_attr[0] = 40;
        with_attr.extend_from_slice(&[8, 0, 29, 0, 1, 0, 0, 0]); // IFLA_EXT_MASK
        assert_eq!(link(&with_attr), "E2BIG", "attributes");
        let mut addr_attr = getaddr(0, 0);
        addr_attr[0] = 32;
        addr_attr.extend_from_slice(&[8, 0, 8, 0, 1, 0, 0, 0]); // IFA_FLAGS
        assert_eq!(addr(&addr_attr), "E2BIG", "attributes");
        assert_eq!(link(&getaddr(0, 0)), "EINVAL", "RTM_GETADDR sent as LINK_DUMP");
        assert_eq!(addr(&getaddr(1, 0)), "EINVAL", "AF_UNIX");
        assert_eq!(addr(&getaddr(2, 24)), "EINVAL", "ifa_prefixlen");
        assert_eq!(addr(&getaddr(2, 0)[..23]), "EINVAL", "short");
        let mut new_addr = getaddr(2, 0);
        new_addr[4] = 20; // RTM_NEWADDR
        assert_eq!(addr(&new_addr), "EINVAL", "a write");
        assert_eq!(AddrDumpRequest::new(256 + 2, 0).unwrap_err().code(), "EINVAL");
    }
}

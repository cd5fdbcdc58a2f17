//! `struct nlmsghdr`: the 16-byte header in front of every netlink message.

use super::{Emitable, Parseable};
use crate::wire::{buffer, DecodeError};

/// `sizeof(struct nlmsghdr)`.
pub const NLMSG_HEADER_LEN: usize = 16;

buffer!(
    /// A checked view of a netlink message: the header is in bounds and
    /// `nlmsg_len` covers the header and fits in the buffer.
    NetlinkHeaderBuffer("netlink header", NLMSG_HEADER_LEN, check = Self::check_length) {
        length, set_length: (u32, 0..4),
        message_type, set_message_type: (u16, 4..6),
        flags, set_flags: (u16, 6..8),
        sequence, set_sequence: (u32, 8..12),
        port, set_port: (u32, 12..16),
    }
);

impl<T: AsRef<[u8]>> NetlinkHeaderBuffer<T> {
    fn check_length(&self) -> Result<(), DecodeError> {
        let (declared, len) = (self.length() as usize, self.buffer.as_ref().len());
        if declared < NLMSG_HEADER_LEN {
            return Err(DecodeError(format!("nlmsg_len {declared} is shorter than the header")));
        }
        if declared > len {
            return Err(DecodeError(format!("nlmsg_len {declared} exceeds the {len} bytes given")));
        }
        Ok(())
    }

    /// The bytes after the header, up to `nlmsg_len`.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[NLMSG_HEADER_LEN..self.length() as usize]
    }
}

/// The owned form of `struct nlmsghdr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NetlinkHeader {
    pub length: u32,
    pub message_type: u16,
    pub flags: u16,
    pub sequence: u32,
    pub port: u32,
}

impl NetlinkHeader {
    /// Reads a request that must be exactly one message: the header is valid and
    /// `nlmsg_len` covers every byte given, no more, no less. Returns the header and payload.
    pub fn parse_request(bytes: &[u8]) -> Result<(NetlinkHeader, &[u8]), DecodeError> {
        let buf = NetlinkHeaderBuffer::new_checked(bytes)?;
        let header = NetlinkHeader::parse(&buf)?;
        if header.length as usize != bytes.len() {
            return Err(DecodeError(format!("nlmsg_len {} does not match the {} request bytes given", header.length, bytes.len())));
        }
        Ok((header, &bytes[NLMSG_HEADER_LEN..]))
    }
}

impl<T: AsRef<[u8]>> Parseable<NetlinkHeaderBuffer<T>> for NetlinkHeader {
    fn parse(buf: &NetlinkHeaderBuffer<T>) -> Result<Self, DecodeError> {
        Ok(NetlinkHeader {
            length: buf.length(),
            message_type: buf.message_type(),
            flags: buf.flags(),
            sequence: buf.sequence(),
            port: buf.port(),
        })
    }
}

impl Emitable for NetlinkHeader {
    fn buffer_len(&self) -> usize {
        NLMSG_HEADER_LEN
    }
    fn emit(&self, b: &mut [u8]) {
        let mut buf = NetlinkHeaderBuffer::new_unchecked(b);
        buf.set_length(self.length);
        buf.set_message_type(self.message_type);
        buf.set_flags(self.flags);
        buf.set_sequence(self.sequence);
        buf.set_port(self.port);
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    // nlmsg_len 20, type NLMSG_DONE, flags NLM_F_MULTI, seq 7, port 0 (little endian).
    const DONE_HEADER: [u8; 16] = [
        20, 0, 0, 0, // nlmsg_len
        3, 0, // nlmsg_type = NLMSG_DONE
        2, 0, // nlmsg_flags = NLM_F_MULTI
        7, 0, 0, 0, // nlmsg_seq
        0, 0, 0, 0, // nlmsg_pid
    ];

    #[test]
    fn parse_header() {
        let mut bytes = DONE_HEADER.to_vec();
        bytes.extend_from_slice(&[0; 4]);
        let buf = NetlinkHeaderBuffer::new_checked(&bytes[..]).expect("valid");
        let h = NetlinkHeader::parse(&buf).expect("valid");
        assert_eq!(h, NetlinkHeader { length: 20, message_type: 3, flags: 2, sequence: 7, port: 0 });
        assert_eq!(buf.payload(), &[0; 4]);
    }

    #[test]
    fn emit_header() {
        let h = NetlinkHeader { length: 20, message_type: 3, flags: 2, sequence: 7, port: 0 };
        let mut out = Vec::new();
        h.emit_to_vec(&mut out);
        assert_eq!(out, DONE_HEADER);
    }

    #[test]
    fn short_and_inconsistent_headers_are_refused() {
        assert!(NetlinkHeaderBuffer::new_checked(&DONE_HEADER[..15]).is_err());
        // nlmsg_len says 20 but only 16 bytes are there.
        assert!(NetlinkHeaderBuffer::new_checked(&DONE_HEADER[..]).is_err());
        // nlmsg_len smaller than the header itself.
        let mut tiny = DONE_HEADER;
        tiny[0] = 8;
        assert!(NetlinkHeaderBuffer::new_checked(&tiny[..]).is_err());
    }
}

//! The netlink header every network dump request starts with, checked once for
//! all three commands: exactly one message, the expected `nlmsg_type`, and
//! `NLM_F_REQUEST | NLM_F_DUMP` (a dump, never a get, set or destroy). Also the
//! encoder ikc uses to build the message it sends to the kernel.

use crate::error::{Error, Result};
use crate::netlink::{Emitable, NetlinkHeader, NLMSG_HEADER_LEN, NLM_F_DUMP, NLM_F_REQUEST};

/// The only `nlmsg_flags` a network dump request may carry.
pub const DUMP_FLAGS: u16 = NLM_F_REQUEST | NLM_F_DUMP;

/// A request's header, checked: `bytes` is one message of `message_type`
/// whose flags are exactly `DUMP_FLAGS`. Returns the sequence and the payload.
pub fn parse_dump_header<'a>(bytes: &'a [u8], message_type: u16, what: &str) -> Result<(u32, &'a [u8])> {
    let (header, payload) = NetlinkHeader::parse_request(bytes).map_err(Error::malformed)?;
    if header.message_type != message_type {
        return Err(Error::invalid(format!(
            "nlmsg_type {} is not {what} ({message_type}): only dumps are issued",
            header.message_type
        )));
    }
    if header.flags != DUMP_FLAGS {
        return Err(Error::invalid(format!(
            "nlmsg_flags {:#x} must be NLM_F_REQUEST | NLM_F_DUMP ({DUMP_FLAGS:#x})",
            header.flags
        )));
    }
    Ok((header.sequence, payload))
}

/// One dump request message: header (`DUMP_FLAGS`, port 0) and `body`.
pub fn emit_dump_message(message_type: u16, sequence: u32, body: &impl Emitable) -> Vec<u8> {
    let length = NLMSG_HEADER_LEN + body.buffer_len();
    let mut out = Vec::with_capacity(length);
    // Request structs are a few dozen bytes.
    NetlinkHeader { length: length as u32, message_type, flags: DUMP_FLAGS, sequence, port: 0 }.emit_to_vec(&mut out);
    body.emit_to_vec(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Four(u32);
    impl Emitable for Four {
        fn buffer_len(&self) -> usize {
            4
        }
        fn emit(&self, b: &mut [u8]) {
            b[..4].copy_from_slice(&self.0.to_ne_bytes());
        }
    }

    fn message(len: u32, kind: u16, flags: u16) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&len.to_ne_bytes()); // nlmsg_len
        v.extend_from_slice(&kind.to_ne_bytes()); // nlmsg_type
        v.extend_from_slice(&flags.to_ne_bytes()); // nlmsg_flags
        v.extend_from_slice(&7u32.to_ne_bytes()); // nlmsg_seq
        v.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_pid
        v.extend_from_slice(&0xabcdu32.to_ne_bytes()); // body
        v
    }

    #[test]
    fn emit_and_parse_are_twins() {
        let bytes = message(20, 18, 0x301);
        assert_eq!(emit_dump_message(18, 7, &Four(0xabcd)), bytes);
        let (seq, payload) = parse_dump_header(&bytes, 18, "RTM_GETLINK").expect("valid");
        assert_eq!((seq, payload), (7, &0xabcdu32.to_ne_bytes()[..]));
    }

    #[test]
    fn anything_but_one_dump_message_is_einval() {
        let code = |b: &[u8]| parse_dump_header(b, 18, "RTM_GETLINK").unwrap_err().code();
        assert_eq!(code(&message(20, 18, 0x301)[..12]), "EINVAL", "shorter than a header");
        assert_eq!(code(&message(24, 18, 0x301)), "EINVAL", "nlmsg_len past the bytes");
        assert_eq!(code(&message(16, 18, 0x301)), "EINVAL", "trailing bytes");
        assert_eq!(code(&message(20, 16, 0x301)), "EINVAL", "RTM_NEWLINK");
        assert_eq!(code(&message(20, 18, 0x001)), "EINVAL", "a get, not a dump");
        assert_eq!(code(&message(20, 18, 0x101)), "EINVAL", "NLM_F_ROOT alone");
        assert_eq!(code(&message(20, 18, 0x305)), "EINVAL", "NLM_F_ACK");
        assert_eq!(code(&message(20, 18, 0x300)), "EINVAL", "no NLM_F_REQUEST");
    }
}

//! `struct unix_diag_req` (linux/unix_diag.h): the body of a SOCK_DIAG dump of
//! UNIX sockets. Read through a checked buffer; what passes is a
//! `UnixDiagReq` that ikc re-encodes for the kernel.

use super::{AF_UNIX, TCP_STATES};
use crate::error::{Error, Result};
use crate::extensible::read_struct;
use crate::netlink::{Emitable, Parseable};
use crate::wire::{buffer, DecodeError, U32Pair};

/// `sizeof(struct unix_diag_req)`.
pub const UNIX_DIAG_REQ_LEN: usize = 24;

/// `udiag_show` bits: NAME, VFS, PEER, ICONS, RQLEN, MEMINFO, UID.
pub const UDIAG_SHOW_KNOWN: u32 = 0x7f;

buffer!(
    /// A checked view of `struct unix_diag_req`: all 24 bytes are present.
    UnixDiagReqBuffer("unix_diag_req", UNIX_DIAG_REQ_LEN) {
        family, set_family: (u8, 0..1),
        protocol, set_protocol: (u8, 1..2),
        pad, set_pad: (u16, 2..4),
        states, set_states: (u32, 4..8),
        inode, set_inode: (u32, 8..12),
        show, set_show: (u32, 12..16),
        cookie, set_cookie: (U32Pair, 16..24),
    }
);

/// A validated `unix_diag_req`. `inode` and `cookie` name one socket for a
/// lookup; a dump ignores them, and they are carried as given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UnixDiagReq {
    /// Socket states to dump: bit `1 << TCP_x` (UNIX sockets use the TCP numbers).
    pub states: u32,
    pub inode: u32,
    /// Attributes asked for (`UDIAG_SHOW_*`).
    pub show: u32,
    pub cookie: [u32; 2],
}

impl UnixDiagReq {
    pub fn validate(&self) -> Result<()> {
        if self.states & !TCP_STATES != 0 {
            return Err(Error::invalid(format!("unknown udiag_states bits {:#x}", self.states & !TCP_STATES)));
        }
        if self.show & !UDIAG_SHOW_KNOWN != 0 {
            return Err(Error::invalid(format!("unknown udiag_show bits {:#x}", self.show & !UDIAG_SHOW_KNOWN)));
        }
        Ok(())
    }

    /// Reads and validates the body of a request.
    pub fn from_payload(payload: &[u8]) -> Result<UnixDiagReq> {
        let payload = read_struct("unix_diag_req", payload, UNIX_DIAG_REQ_LEN, UNIX_DIAG_REQ_LEN)?;
        let buf = UnixDiagReqBuffer::new_checked(&*payload).map_err(Error::malformed)?;
        if buf.family() != AF_UNIX {
            return Err(Error::invalid(format!("sdiag_family {} is not AF_UNIX", buf.family())));
        }
        if buf.protocol() != 0 || buf.pad() != 0 {
            return Err(Error::invalid("unix_diag_req: sdiag_protocol and pad must be 0"));
        }
        let req = UnixDiagReq::parse(&buf).map_err(Error::malformed)?;
        req.validate()?;
        Ok(req)
    }
}

impl<T: AsRef<[u8]>> Parseable<UnixDiagReqBuffer<T>> for UnixDiagReq {
    fn parse(buf: &UnixDiagReqBuffer<T>) -> Result<Self, DecodeError> {
        Ok(UnixDiagReq { states: buf.states(), inode: buf.inode(), show: buf.show(), cookie: buf.cookie() })
    }
}

impl Emitable for UnixDiagReq {
    fn buffer_len(&self) -> usize {
        UNIX_DIAG_REQ_LEN
    }
    fn emit(&self, b: &mut [u8]) {
        let mut buf = UnixDiagReqBuffer::new_unchecked(b);
        buf.set_family(AF_UNIX);
        buf.set_protocol(0);
        buf.set_pad(0);
        buf.set_states(self.states);
        buf.set_inode(self.inode);
        buf.set_show(self.show);
        buf.set_cookie(self.cookie);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(family: u8, protocol: u8, states: u32, show: u32) -> Vec<u8> {
        let mut v = vec![family, protocol, 0, 0]; // sdiag_family, sdiag_protocol, pad
        v.extend_from_slice(&states.to_ne_bytes()); // udiag_states
        v.extend_from_slice(&0u32.to_ne_bytes()); // udiag_ino
        v.extend_from_slice(&show.to_ne_bytes()); // udiag_show
        v.extend_from_slice(&[0; 8]); // udiag_cookie
        v
    }

    const LISTEN_AND_ESTABLISHED: u32 = (1 << 10) | (1 << 1);
    const NAME_PEER_RQLEN: u32 = 0x1 | 0x4 | 0x10;

    #[test]
    fn emit_unix_diag_req() {
        let mut out = Vec::new();
        UnixDiagReq { states: LISTEN_AND_ESTABLISHED, show: NAME_PEER_RQLEN, ..Default::default() }.emit_to_vec(&mut out);
        assert_eq!(out, bytes(1, 0, LISTEN_AND_ESTABLISHED, NAME_PEER_RQLEN));
    }

    #[test]
    fn parse_unix_diag_req() {
        let req = UnixDiagReq::from_payload(&bytes(1, 0, LISTEN_AND_ESTABLISHED, NAME_PEER_RQLEN)).expect("valid");
        assert_eq!(req, UnixDiagReq { states: LISTEN_AND_ESTABLISHED, show: NAME_PEER_RQLEN, ..Default::default() });
    }

    #[test]
    fn bad_fields_are_einval() {
        let code = |b: &[u8]| UnixDiagReq::from_payload(b).unwrap_err().code();
        assert_eq!(code(&bytes(2, 0, 1, 1)), "EINVAL", "AF_INET");
        assert_eq!(code(&bytes(1, 6, 1, 1)), "EINVAL", "a protocol");
        assert_eq!(code(&bytes(1, 0, 1 << 20, 1)), "EINVAL", "unknown state");
        assert_eq!(code(&bytes(1, 0, 1, 0x80)), "EINVAL", "unknown show bit");
        assert_eq!(code(&bytes(1, 0, 1, 1)[..20]), "EINVAL", "short");
        let mut padded = bytes(1, 0, 1, 1);
        padded[2] = 1;
        assert_eq!(code(&padded), "EINVAL", "pad");
        let mut long = bytes(1, 0, 1, 1);
        long.extend_from_slice(&[8, 0, 1, 0, 0, 0, 0, 0]); // an attribute
        assert_eq!(code(&long), "E2BIG", "attributes");
    }

    #[test]
    fn payload_size_follows_the_extensible_struct_rule() {
        crate::extensible::assert_follows_the_rule("unix_diag_req", &bytes(1, 0, 1, 0x15), UnixDiagReq::from_payload);
    }
}

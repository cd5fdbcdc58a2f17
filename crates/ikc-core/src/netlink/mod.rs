//! The netlink wire format as ikc speaks it: message headers and attributes,
//! each read through a checked buffer (declared with `wire::buffer!`) and
//! written through `Emitable`, in the style of rust-netlink's
//! `netlink-packet-core`.

mod attribute;
mod header;

pub use attribute::{emit_attribute, NlaBuffer, NlaIterator, NLA_HEADER_LEN, NLA_MAX_PAYLOAD};
pub use header::{NetlinkHeader, NetlinkHeaderBuffer, NLMSG_HEADER_LEN};
// The field helpers moved to `crate::wire`; these paths keep working.
pub use crate::wire::{align4, DecodeError, Field};

/// `nlmsg_type` of the message that ends a dump.
pub const NLMSG_DONE: u16 = 3;
/// `nlmsg_type` of an error report.
pub const NLMSG_ERROR: u16 = 2;
/// `nlmsg_flags`: the message is a request.
pub const NLM_F_REQUEST: u16 = 0x1;
/// `nlmsg_flags`: one of several messages of a dump.
pub const NLM_F_MULTI: u16 = 0x2;
/// `nlmsg_flags`: dump everything (`NLM_F_ROOT | NLM_F_MATCH`).
pub const NLM_F_DUMP: u16 = 0x300;

/// A wire value that knows its encoded size and can write itself into a buffer of that size.
pub trait Emitable {
    fn buffer_len(&self) -> usize;
    /// Writes exactly `buffer_len()` bytes at the start of `buffer`.
    /// Callers give a buffer at least that long (checked by `emit_to_vec`).
    fn emit(&self, buffer: &mut [u8]);

    /// Appends the encoding to `out`.
    fn emit_to_vec(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.resize(start + self.buffer_len(), 0);
        self.emit(&mut out[start..]);
    }
}

/// A wire value read from a checked buffer `B`.
pub trait Parseable<B: ?Sized>: Sized {
    fn parse(buf: &B) -> Result<Self, DecodeError>;
}

/// Appends an `NLMSG_DONE` message (payload: an `int` 0), which ends every dump.
pub fn emit_done(out: &mut Vec<u8>, seq: u32) {
    let header = NetlinkHeader {
        length: (NLMSG_HEADER_LEN + 4) as u32,
        message_type: NLMSG_DONE,
        flags: NLM_F_MULTI,
        sequence: seq,
        port: 0,
    };
    header.emit_to_vec(out);
    out.extend_from_slice(&0i32.to_ne_bytes());
}

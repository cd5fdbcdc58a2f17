//! `struct nlattr`: a 4-byte header (length, type) and a payload padded to 4 bytes.

use crate::error::{Error, Result};
use crate::wire::{align4, buffer, DecodeError};

/// `sizeof(struct nlattr)`.
pub const NLA_HEADER_LEN: usize = 4;

buffer!(
    /// A checked view of one attribute: `nla_len` covers the header and fits in the buffer.
    NlaBuffer("netlink attribute", NLA_HEADER_LEN, check = Self::check_length) {
        length, set_length: (u16, 0..2),
        kind, set_kind: (u16, 2..4),
    }
);

impl<T: AsRef<[u8]>> NlaBuffer<T> {
    fn check_length(&self) -> std::result::Result<(), DecodeError> {
        let (declared, len) = (self.length() as usize, self.buffer.as_ref().len());
        if declared < NLA_HEADER_LEN || declared > len {
            return Err(DecodeError(format!("nla_len {declared} out of range (have {len} bytes)")));
        }
        Ok(())
    }

    pub fn value(&self) -> &[u8] {
        &self.buffer.as_ref()[NLA_HEADER_LEN..self.length() as usize]
    }
}

/// The largest payload an attribute can carry: `nla_len` is 16 bits and counts the header.
pub const NLA_MAX_PAYLOAD: usize = u16::MAX as usize - NLA_HEADER_LEN;

/// Appends one attribute: header, `payload_len` bytes written by `fill`, zero
/// padding. A payload over `NLA_MAX_PAYLOAD` bytes does not fit `nla_len`:
/// `EMSGSIZE`, and nothing is appended.
pub fn emit_attribute(out: &mut Vec<u8>, kind: u16, payload_len: usize, fill: impl FnOnce(&mut [u8])) -> Result<()> {
    let total = NLA_HEADER_LEN + payload_len;
    let length = u16::try_from(total)
        .map_err(|_| Error::too_large(format!("attribute {kind}: {payload_len} bytes, more than nla_len can hold ({NLA_MAX_PAYLOAD})")))?;
    let start = out.len();
    out.resize(start + align4(total), 0);
    let mut nla = NlaBuffer::new_unchecked(&mut out[start..]);
    nla.set_length(length);
    nla.set_kind(kind);
    fill(&mut nla.into_inner()[NLA_HEADER_LEN..total]);
    Ok(())
}

/// Walks the attributes packed in a message payload.
pub struct NlaIterator<'a> {
    rest: &'a [u8],
}

impl<'a> NlaIterator<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        NlaIterator { rest: bytes }
    }
}

impl<'a> Iterator for NlaIterator<'a> {
    type Item = std::result::Result<NlaBuffer<&'a [u8]>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match NlaBuffer::new_checked(self.rest) {
            Ok(nla) => {
                let step = align4(nla.length() as usize).min(self.rest.len());
                let (this, rest) = self.rest.split_at(step);
                self.rest = rest;
                Some(NlaBuffer::new_checked(this))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emit_pads_to_four_bytes() {
        let mut out = Vec::new();
        emit_attribute(&mut out, 9, 3, |b| b.copy_from_slice(&[1, 2, 3])).expect("fits");
        assert_eq!(
            out,
            [
                7, 0, // nla_len = 4 + 3
                9, 0, // nla_type
                1, 2, 3, // payload
                0, // padding
            ]
        );
    }

    #[test]
    fn iterate_two_attributes() {
        let mut out = Vec::new();
        emit_attribute(&mut out, 1, 3, |b| b.copy_from_slice(&[1, 2, 3])).expect("fits");
        emit_attribute(&mut out, 2, 4, |b| b.copy_from_slice(&[4, 5, 6, 7])).expect("fits");
        let attrs: Vec<_> = NlaIterator::new(&out).collect::<std::result::Result<_, _>>().expect("valid");
        assert_eq!(attrs.len(), 2);
        assert_eq!((attrs[0].kind(), attrs[0].value()), (1, &[1u8, 2, 3][..]));
        assert_eq!((attrs[1].kind(), attrs[1].value()), (2, &[4u8, 5, 6, 7][..]));
    }

    #[test]
    fn an_attribute_longer_than_nla_len_holds_is_refused_not_cut() {
        let mut out = vec![9];
        emit_attribute(&mut out, 7, NLA_MAX_PAYLOAD, |b| b.fill(1)).expect("65531 bytes fit");
        assert_eq!(NlaBuffer::new_checked(&out[1..]).expect("valid").length(), u16::MAX);
        out.truncate(1);
        let err = emit_attribute(&mut out, 7, NLA_MAX_PAYLOAD + 1, |b| b.fill(1)).expect_err("65532 bytes do not");
        assert_eq!(err.code(), "EMSGSIZE");
        assert_eq!(out, [9], "nothing appended");
    }

    #[test]
    fn truncated_attribute_is_an_error() {
        let bytes = [8u8, 0, 1, 0, 1, 2]; // says 8 bytes, has 6
        let mut it = NlaIterator::new(&bytes);
        assert!(matches!(it.next(), Some(Err(_))));
        assert!(it.next().is_none());
        let zero = [0u8, 0, 1, 0];
        assert!(matches!(NlaIterator::new(&zero).next(), Some(Err(_))));
    }
}

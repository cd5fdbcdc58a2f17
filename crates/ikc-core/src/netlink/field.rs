//! Byte-range fields and the decode error shared by every checked buffer.
//! Each wire struct names its fields once as ranges; these helpers read and
//! write them in native byte order, as netlink does.

use std::ops::Range;

pub type Field = Range<usize>;

/// Why bytes could not be read as a wire value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Rounds up to the 4-byte alignment of netlink messages and attributes.
pub const fn align4(len: usize) -> usize {
    (len + 3) & !3
}

// The getters below index fields that `new_checked` proved are inside the buffer.
pub(crate) fn get_u16(b: &[u8], f: Field) -> u16 {
    let mut a = [0u8; 2];
    a.copy_from_slice(&b[f]);
    u16::from_ne_bytes(a)
}

pub(crate) fn get_u32(b: &[u8], f: Field) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[f]);
    u32::from_ne_bytes(a)
}

pub(crate) fn get_u64(b: &[u8], f: Field) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[f]);
    u64::from_ne_bytes(a)
}

pub(crate) fn put_u16(b: &mut [u8], f: Field, v: u16) {
    b[f].copy_from_slice(&v.to_ne_bytes());
}

pub(crate) fn put_u32(b: &mut [u8], f: Field, v: u32) {
    b[f].copy_from_slice(&v.to_ne_bytes());
}

pub(crate) fn put_u64(b: &mut [u8], f: Field, v: u64) {
    b[f].copy_from_slice(&v.to_ne_bytes());
}

/// Fails unless `buf` holds at least `need` bytes.
pub(crate) fn check_len(what: &str, have: usize, need: usize) -> Result<(), DecodeError> {
    if have < need {
        Err(DecodeError(format!("{what}: {have} bytes, need at least {need}")))
    } else {
        Ok(())
    }
}

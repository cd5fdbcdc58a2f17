//! The size rule for every request struct ikc reads, the kernel's rule for
//! extensible structs (`copy_struct_from_user`, as `openat2`, `clone3` and
//! `sched_setattr` read theirs). A struct may only grow at its end, so a
//! request built against another version of a header is read like this:
//!
//! - shorter than the oldest published size: `EINVAL` (fields are missing);
//! - shorter than ikc's struct but at least the oldest size: an older client,
//!   whose missing fields read as zero (the default of every added field);
//! - longer than ikc's struct: accepted if every byte past it is zero (a newer
//!   client's unused fields, or a client's alignment padding), `E2BIG` if any
//!   is not. A request is never silently half-understood.
//!
//! One function, called at each parse site with the struct's two sizes; the
//! rule is documented once, in docs/wire-format.md.

use std::borrow::Cow;

use crate::error::{Error, Result};

/// Reads the struct `what` from the start of `payload` by the rule above and
/// returns exactly `known` bytes: ikc's struct, zero-filled past a shorter
/// payload. `oldest` is the struct's first published size, `known` ikc's
/// (`oldest <= known`). Bytes past `known` are checked, never returned.
pub fn read_struct<'a>(what: &str, payload: &'a [u8], oldest: usize, known: usize) -> Result<Cow<'a, [u8]>> {
    debug_assert!(oldest <= known, "{what}: oldest size {oldest} above the known {known}");
    let len = payload.len();
    if len < oldest {
        return Err(Error::invalid(format!("struct {what} is at least {oldest} bytes, request carries {len}")));
    }
    if len < known {
        let mut owned = payload.to_vec();
        owned.resize(known, 0);
        return Ok(Cow::Owned(owned));
    }
    let (head, tail) = payload.split_at(known);
    if let Some(at) = tail.iter().position(|&b| b != 0) {
        return Err(Error::TooBig(format!(
            "struct {what} is {known} bytes here; the request carries {len}, and byte {} of them is not zero",
            known + at
        )));
    }
    Ok(Cow::Borrowed(head))
}

/// The rule's test for one request type, shared by the unit tests beside each
/// parser: `parse` reads a payload whose valid form is `valid`.
#[cfg(test)]
pub(crate) fn assert_follows_the_rule<T: PartialEq + std::fmt::Debug>(what: &str, valid: &[u8], parse: impl Fn(&[u8]) -> Result<T>) {
    let want = parse(valid).unwrap_or_else(|e| panic!("{what}: the valid payload is refused: {e}"));
    for len in 0..valid.len() {
        let got = parse(&valid[..len]).map(|_| ()).map_err(|e| e.code());
        assert_eq!(got, Err("EINVAL"), "{what}: {len} bytes, shorter than the struct");
    }
    for extra in 1..=16 {
        let mut long = valid.to_vec();
        long.resize(valid.len() + extra, 0);
        assert_eq!(parse(&long).as_ref(), Ok(&want), "{what}: {extra} zero bytes past the struct");
        for at in 0..extra {
            let mut dirty = long.clone();
            dirty[valid.len() + at] = 0x01;
            let got = parse(&dirty).map(|_| ()).map_err(|e| e.code());
            assert_eq!(got, Err("E2BIG"), "{what}: byte {at} of a {extra}-byte tail is not zero");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRUCT: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];

    fn code(payload: &[u8], oldest: usize) -> &'static str {
        read_struct("test", payload, oldest, STRUCT.len()).unwrap_err().code()
    }

    #[test]
    fn shorter_than_the_oldest_size_is_einval() {
        for len in 0..8 {
            assert_eq!(code(&STRUCT[..len], 8), "EINVAL", "{len} bytes");
        }
        assert_eq!(code(&STRUCT[..3], 4), "EINVAL", "below an older size");
    }

    #[test]
    fn exact_size_is_read_as_given() {
        let got = read_struct("test", &STRUCT, 8, 8).expect("exact");
        assert!(matches!(got, Cow::Borrowed(_)));
        assert_eq!(&*got, &STRUCT);
    }

    #[test]
    fn an_older_client_s_missing_fields_read_as_zero() {
        for len in 4..8 {
            let got = read_struct("test", &STRUCT[..len], 4, 8).expect("older client");
            let mut want = STRUCT[..len].to_vec();
            want.resize(8, 0);
            assert_eq!(&*got, &want[..], "{len} bytes");
        }
    }

    #[test]
    fn a_zero_tail_is_accepted_and_dropped() {
        for extra in [1, 4, 8, 100] {
            let mut long = STRUCT.to_vec();
            long.resize(8 + extra, 0);
            assert_eq!(&*read_struct("test", &long, 8, 8).expect("zero tail"), &STRUCT, "{extra} zero bytes");
        }
    }

    #[test]
    fn a_non_zero_byte_anywhere_in_the_tail_is_e2big() {
        for extra in [1, 4, 12] {
            for at in 0..extra {
                let mut long = STRUCT.to_vec();
                long.resize(8 + extra, 0);
                long[8 + at] = 0x80;
                let e = read_struct("test", &long, 8, 8).unwrap_err();
                assert_eq!((e.code(), e.errno()), ("E2BIG", 7), "byte {at} of a {extra}-byte tail");
                assert!(e.to_string().contains(&format!("byte {}", 8 + at)), "{e}");
            }
        }
    }
}

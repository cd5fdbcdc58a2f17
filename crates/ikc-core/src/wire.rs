//! Fixed-layout wire structs, declared once. `buffer!` turns one declaration
//! of a struct's fields (name, setter, type, byte range) into a checked
//! buffer type with a getter and a setter per field, after
//! netlink-packet-utils' `buffer!`; every struct ikc reads or writes (netlink
//! headers and attributes, task_diag's structs, the broker protocol, the BPF
//! records, the network dump requests) is one such declaration. Integers are
//! in native byte order, as netlink and a unix socket's two ends share it,
//! unless the field's type says otherwise (`Be16`). Also the decode error and
//! the length helpers every checked buffer shares.

use std::ops::Range;

/// A field's byte range within its struct.
pub type Field = Range<usize>;

/// Why bytes could not be read as a wire value. Which errno that is depends
/// on whose bytes they were: see `Error::malformed` and `Error::damaged`.
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

/// Fails unless `have` bytes are at least the `need` a `what` takes.
pub(crate) fn check_len(what: &str, have: usize, need: usize) -> Result<(), DecodeError> {
    if have < need {
        Err(DecodeError(format!("{what}: {have} bytes, need at least {need}")))
    } else {
        Ok(())
    }
}

/// How a field's bytes hold a value. `get` and `put` are given exactly the
/// field's bytes, whose length the declaration fixes.
pub trait Scalar {
    type Value;
    fn get(bytes: &[u8]) -> Self::Value;
    fn put(bytes: &mut [u8], value: Self::Value);
}

macro_rules! native_scalars {
    ($($t:ty),*) => {$(
        impl Scalar for $t {
            type Value = $t;
            fn get(bytes: &[u8]) -> $t {
                let mut a = [0u8; std::mem::size_of::<$t>()];
                a.copy_from_slice(bytes);
                <$t>::from_ne_bytes(a)
            }
            fn put(bytes: &mut [u8], value: $t) {
                bytes.copy_from_slice(&value.to_ne_bytes());
            }
        }
    )*};
}
native_scalars!(u8, u16, u32, u64, i32);

/// A fixed-size byte array (`char comm[16]`, an IPv6 address).
impl<const N: usize> Scalar for [u8; N] {
    type Value = [u8; N];
    fn get(bytes: &[u8]) -> [u8; N] {
        let mut a = [0u8; N];
        a.copy_from_slice(bytes);
        a
    }
    fn put(bytes: &mut [u8], value: [u8; N]) {
        bytes.copy_from_slice(&value);
    }
}

/// `__u32 x[2]`: two native words (the socket cookies of sock_diag requests).
pub enum U32Pair {}

impl Scalar for U32Pair {
    type Value = [u32; 2];
    fn get(bytes: &[u8]) -> [u32; 2] {
        [u32::get(&bytes[0..4]), u32::get(&bytes[4..8])]
    }
    fn put(bytes: &mut [u8], value: [u32; 2]) {
        u32::put(&mut bytes[0..4], value[0]);
        u32::put(&mut bytes[4..8], value[1]);
    }
}

/// A `__be16` (ports in `inet_diag_sockid`), read and written in host order.
pub enum Be16 {}

impl Scalar for Be16 {
    type Value = u16;
    fn get(bytes: &[u8]) -> u16 {
        u16::from_be_bytes([bytes[0], bytes[1]])
    }
    fn put(bytes: &mut [u8], value: u16) {
        bytes.copy_from_slice(&value.to_be_bytes());
    }
}

/// Declares a checked buffer over a wire struct:
///
/// ```ignore
/// buffer!(
///     /// `struct task_diag_msg`.
///     TaskDiagMsgBuffer("task_diag_msg", TASK_DIAG_MSG_LEN) {
///         pid, set_pid: (u32, 0..4),
///         flags, set_flags: (u32, 8..12),
///     }
/// );
/// ```
///
/// gives `TaskDiagMsgBuffer<T>` with `new_checked` (at least the given length,
/// refused with the struct's name; then the optional `check = path`
/// function's own validation), `new_unchecked`
/// (for writing into a buffer the caller sized), `into_inner`, and per field a
/// getter and, for `T: AsMut<[u8]>`, a setter. A field's type is a `Scalar`
/// or `bytes` (a slice of the range). Fields may overlap (records that share a header).
/// The getters index ranges `new_checked` proved are inside the buffer.
macro_rules! buffer {
    (
        $(#[$doc:meta])*
        $name:ident($what:literal, $min_len:expr $(, check = $check:path)?) {
            $( $(#[$fdoc:meta])* $field:ident, $set:ident : ($kind:tt, $range:expr) ),* $(,)?
        }
    ) => {
        $(#[$doc])*
        pub struct $name<T> {
            buffer: T,
        }

        #[allow(dead_code)]
        impl<T: AsRef<[u8]>> $name<T> {
            /// The fewest bytes `new_checked` accepts.
            pub const MIN_LEN: usize = $min_len;

            pub fn new_checked(buffer: T) -> Result<Self, $crate::wire::DecodeError> {
                $crate::wire::check_len($what, buffer.as_ref().len(), $min_len)?;
                let this = Self { buffer };
                $( $check(&this)?; )?
                Ok(this)
            }

            /// A view for writing into a buffer of at least `MIN_LEN` bytes.
            pub fn new_unchecked(buffer: T) -> Self {
                Self { buffer }
            }

            pub fn into_inner(self) -> T {
                self.buffer
            }

            $( $crate::wire::buffer!(@get $(#[$fdoc])* $field, $kind, $range); )*
        }

        #[allow(dead_code)]
        impl<T: AsRef<[u8]> + AsMut<[u8]>> $name<T> {
            $( $crate::wire::buffer!(@set $set, $kind, $range); )*
        }
    };
    (@get $(#[$fdoc:meta])* $field:ident, bytes, $range:expr) => {
        $(#[$fdoc])*
        pub fn $field(&self) -> &[u8] {
            &self.buffer.as_ref()[$range]
        }
    };
    (@get $(#[$fdoc:meta])* $field:ident, $kind:ty, $range:expr) => {
        $(#[$fdoc])*
        pub fn $field(&self) -> <$kind as $crate::wire::Scalar>::Value {
            <$kind as $crate::wire::Scalar>::get(&self.buffer.as_ref()[$range])
        }
    };
    (@set $set:ident, bytes, $range:expr) => {
        pub fn $set(&mut self, value: &[u8]) {
            self.buffer.as_mut()[$range].copy_from_slice(value)
        }
    };
    (@set $set:ident, $kind:ty, $range:expr) => {
        pub fn $set(&mut self, value: <$kind as $crate::wire::Scalar>::Value) {
            <$kind as $crate::wire::Scalar>::put(&mut self.buffer.as_mut()[$range], value)
        }
    };
}
pub(crate) use buffer;

#[cfg(test)]
mod tests {
    use super::*;

    buffer!(
        /// A struct with one of each kind of field.
        Sample("struct sample", 12) {
            small, set_small: (u8, 0..1),
            port, set_port: (Be16, 2..4),
            word, set_word: (u32, 4..8),
            tail, set_tail: (bytes, 8..12),
        }
    );

    fn sample_bytes() -> Vec<u8> {
        let mut v = vec![7, 0]; // small, a pad byte
        v.extend_from_slice(&443u16.to_be_bytes()); // port, network order
        v.extend_from_slice(&0xdead_beefu32.to_ne_bytes()); // word
        v.extend_from_slice(b"ikc!"); // tail
        v
    }

    #[test]
    fn fields_read_their_ranges() {
        let bytes = sample_bytes();
        let b = Sample::new_checked(&bytes[..]).expect("12 bytes");
        assert_eq!((b.small(), b.port(), b.word(), b.tail()), (7, 443, 0xdead_beef, &b"ikc!"[..]));
    }

    #[test]
    fn fields_write_their_ranges() {
        let mut b = Sample::new_unchecked(vec![0u8; 12]);
        b.set_small(7);
        b.set_port(443);
        b.set_word(0xdead_beef);
        b.set_tail(b"ikc!");
        assert_eq!(b.into_inner(), sample_bytes());
    }

    #[test]
    fn short_buffers_are_refused() {
        let err = Sample::new_checked(&sample_bytes()[..11]).err().expect("short");
        assert_eq!(err, DecodeError("struct sample: 11 bytes, need at least 12".into()));
    }
}

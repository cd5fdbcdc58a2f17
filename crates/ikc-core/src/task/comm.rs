//! A task's name as the kernel keeps it: 16 bytes, NUL-padded, not always UTF-8.

/// `TASK_DIAG_COMM_LEN` bytes of the kernel's `comm`, NUL-padded (not always UTF-8).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Comm(pub [u8; 16]);

impl Comm {
    /// Takes at most 15 bytes, so the field always ends with a NUL as `get_task_comm` leaves it.
    pub fn from_bytes(bytes: &[u8]) -> Comm {
        let mut c = [0u8; 16];
        let n = bytes.len().min(15);
        c[..n].copy_from_slice(&bytes[..n]);
        Comm(c)
    }
    /// The bytes before the first NUL.
    pub fn as_bytes(&self) -> &[u8] {
        let end = self.0.iter().position(|&b| b == 0).unwrap_or(16);
        &self.0[..end]
    }
    pub fn to_string_lossy(&self) -> String {
        String::from_utf8_lossy(self.as_bytes()).into_owned()
    }
}

impl std::fmt::Debug for Comm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.to_string_lossy())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comm_keeps_a_trailing_nul() {
        let c = Comm::from_bytes(b"0123456789abcdefXYZ");
        assert_eq!(c.as_bytes(), b"0123456789abcde");
        assert_eq!(c.0[15], 0);
    }
}

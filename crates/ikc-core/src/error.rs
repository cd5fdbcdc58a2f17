//! The one error type of ikc-core. Every failure maps to exactly one errno, so that
//! Rust callers can match on it, the napi binding can hand `.code`/`.errno` to
//! JavaScript, and the broker can answer `-errno` on the wire.

use std::fmt;

use crate::wire::DecodeError;

/// What went wrong, with enough context to act on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A malformed or inconsistent request: bad length, unknown bit, wrong namespace type.
    InvalidArgument(String),
    /// A file descriptor that is not open.
    BadFd(i32),
    /// The caller is not allowed to ask this (e.g. `GLOBAL` from a child namespace).
    PermissionDenied(String),
    /// The pid does not exist, or exists but the caller may not see it (same answer on purpose).
    NoSuchProcess(u32),
    /// A request that is well-formed but asks for something ikc does not implement.
    NotSupported(String),
    /// A request struct longer than ikc's whose extra bytes are not all zero:
    /// fields of a newer header that ikc cannot honour (`E2BIG`, as `copy_struct_from_user`).
    TooBig(String),
    /// A system call failed in a way the request did not cause.
    Os { op: String, errno: i32 },
    /// A broker refused a request: its errno and its message (which starts with the code).
    Broker { errno: i32, message: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidArgument(msg.into())
    }

    pub fn os(op: impl Into<String>, errno: nix::errno::Errno) -> Self {
        Error::Os { op: op.into(), errno: errno as i32 }
    }

    /// Bytes a caller sent that do not decode: the caller's fault, `EINVAL`.
    /// Use it where the bytes are known to be a request; data ikc reads from
    /// the kernel or its own BPF program is `damaged` instead.
    pub fn malformed(e: DecodeError) -> Self {
        Error::InvalidArgument(e.0)
    }

    /// Data from the kernel, or from ikc's own BPF program, that does not decode
    /// or breaks its contract: ikc's fault, not the caller's, so `EIO`.
    pub fn damaged(what: impl Into<String>) -> Self {
        Error::os(what, nix::errno::Errno::EIO)
    }

    /// A value too large for the field or message that must hold it: `EMSGSIZE`.
    pub fn too_large(what: impl Into<String>) -> Self {
        Error::os(what, nix::errno::Errno::EMSGSIZE)
    }

    /// A `std::io::Error` with the errno it carries (`EIO` if it carries none).
    pub fn from_io(op: impl Into<String>, e: &std::io::Error) -> Self {
        match e.raw_os_error() {
            Some(errno) => Error::Os { op: op.into(), errno },
            None => Error::damaged(format!("{}: {e}", op.into())),
        }
    }

    /// The Linux errno number for this error.
    pub fn errno(&self) -> i32 {
        use nix::errno::Errno as E;
        match self {
            Error::InvalidArgument(_) => E::EINVAL as i32,
            Error::BadFd(_) => E::EBADF as i32,
            Error::PermissionDenied(_) => E::EPERM as i32,
            Error::NoSuchProcess(_) => E::ESRCH as i32,
            Error::NotSupported(_) => E::EOPNOTSUPP as i32,
            Error::TooBig(_) => E::E2BIG as i32,
            Error::Os { errno, .. } | Error::Broker { errno, .. } => *errno,
        }
    }

    /// The symbolic errno name (`"EINVAL"`), as Node's `err.code` spells it.
    pub fn code(&self) -> &'static str {
        errno_name(self.errno())
    }
}

/// Runs `f`, turning a panic into ikc's own `EIO` so that none unwinds across a
/// foreign boundary (the napi binding calls every core function through this).
pub fn catch_panic<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let what = match (payload.downcast_ref::<&str>(), payload.downcast_ref::<String>()) {
            (Some(s), _) => s.to_string(),
            (_, Some(s)) => s.clone(),
            _ => "a panic with no message".to_string(),
        };
        Err(Error::Os { op: format!("ikc panicked: {what}"), errno: nix::errno::Errno::EIO as i32 })
    })
}

/// Names for the errnos ikc can return; any other number is spelled `EUNKNOWN`
/// (the number itself still travels in `errno()`).
pub fn errno_name(errno: i32) -> &'static str {
    use nix::errno::Errno as E;
    match E::from_raw(errno) {
        E::EPERM => "EPERM",
        E::ENOENT => "ENOENT",
        E::ESRCH => "ESRCH",
        E::EINTR => "EINTR",
        E::EIO => "EIO",
        E::E2BIG => "E2BIG",
        E::EBADF => "EBADF",
        E::EAGAIN => "EAGAIN",
        E::ENOMEM => "ENOMEM",
        E::EACCES => "EACCES",
        E::EFAULT => "EFAULT",
        E::EBUSY => "EBUSY",
        E::EEXIST => "EEXIST",
        E::ENOTDIR => "ENOTDIR",
        E::EINVAL => "EINVAL",
        E::ENFILE => "ENFILE",
        E::EMFILE => "EMFILE",
        E::ENOTTY => "ENOTTY",
        E::ENOSPC => "ENOSPC",
        E::ENOSYS => "ENOSYS",
        E::EMSGSIZE => "EMSGSIZE",
        E::EXDEV => "EXDEV",
        E::ENOBUFS => "ENOBUFS",
        E::EOPNOTSUPP => "EOPNOTSUPP",
        E::ECONNREFUSED => "ECONNREFUSED",
        E::ETIMEDOUT => "ETIMEDOUT",
        E::EPROTO => "EPROTO",
        E::EPROTONOSUPPORT => "EPROTONOSUPPORT",
        E::EPIPE => "EPIPE",
        E::ECONNRESET => "ECONNRESET",
        E::EADDRINUSE => "EADDRINUSE",
        E::ENOPROTOOPT => "ENOPROTOOPT",
        _ => "EUNKNOWN",
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidArgument(m) => write!(f, "EINVAL: {m}"),
            Error::BadFd(fd) => write!(f, "EBADF: fd {fd} is not open"),
            Error::PermissionDenied(m) => write!(f, "EPERM: {m}"),
            Error::NoSuchProcess(pid) => write!(f, "ESRCH: no visible process with pid {pid}"),
            Error::NotSupported(m) => write!(f, "EOPNOTSUPP: {m}"),
            Error::TooBig(m) => write!(f, "E2BIG: {m}"),
            Error::Os { op, errno } => {
                let desc = nix::errno::Errno::from_raw(*errno).desc();
                write!(f, "{}: {op}: {desc}", errno_name(*errno))
            }
            Error::Broker { message, .. } => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_errno_numbers() {
        assert_eq!(Error::invalid("x").errno(), 22);
        assert_eq!(Error::invalid("x").code(), "EINVAL");
        assert_eq!(Error::BadFd(9).code(), "EBADF");
        assert_eq!(Error::PermissionDenied("x".into()).errno(), 1);
        assert_eq!(Error::NoSuchProcess(1).errno(), 3);
        assert_eq!(Error::NotSupported("x".into()).code(), "EOPNOTSUPP");
        assert_eq!((Error::TooBig("x".into()).errno(), Error::TooBig("x".into()).code()), (7, "E2BIG"));
        assert_eq!(errno_name(7), "E2BIG");
        assert_eq!(Error::os("read", nix::errno::Errno::EMFILE).code(), "EMFILE");
    }

    #[test]
    fn decode_errors_are_the_callers_or_ikcs_by_where_the_bytes_came_from() {
        let e = || DecodeError("nla_len 9 out of range".into());
        assert_eq!(Error::malformed(e()).to_string(), "EINVAL: nla_len 9 out of range");
        assert_eq!(Error::damaged(format!("kernel sent {}", e())).to_string(), "EIO: kernel sent nla_len 9 out of range: I/O error");
        let io = std::io::Error::from_raw_os_error(24);
        assert_eq!(Error::from_io("dup", &io).code(), "EMFILE");
        assert_eq!(Error::from_io("join", &std::io::Error::other("panicked")).code(), "EIO");
    }

    #[test]
    fn a_panic_is_eio_and_the_value_passes_through() {
        assert_eq!(catch_panic(|| Ok(7)), Ok(7));
        assert_eq!(catch_panic::<()>(|| Err(Error::BadFd(3))), Err(Error::BadFd(3)));
        let e = catch_panic::<()>(|| panic!("boom {}", 1)).unwrap_err();
        assert_eq!((e.code(), e.errno()), ("EIO", 5));
        assert!(e.to_string().starts_with("EIO: ikc panicked: boom 1"), "{e}");
    }

    #[test]
    fn display_starts_with_the_code() {
        assert!(Error::NoSuchProcess(42).to_string().starts_with("ESRCH:"));
    }
}

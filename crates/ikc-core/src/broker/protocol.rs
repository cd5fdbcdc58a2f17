//! The broker wire protocol (v2), one `SOCK_SEQPACKET` message per request and
//! per reply. Every reply has the same shape: a result that is a count (HELLO:
//! the largest request accepted) or `-errno`, and an optional message text. The
//! response fd of a successful request travels with `SCM_RIGHTS`; the reply's
//! kind says whether it is a snapshot (RESULT) or a stream (STREAM). v2 added
//! STREAM: a v1 request is refused with `EPROTONOSUPPORT` in a reply a v1
//! client can read, and a v1 client refuses a v2 hello (`EPROTO`) by itself. Integers are
//! in native byte order: both ends of a unix socket share the machine. See
//! docs/protocol.md.

use crate::command::ResponseKind;
use crate::error::{Error, Result};
use crate::kernel_command::MAX_REQUEST_LEN;
use crate::netlink::Emitable;
use crate::wire::{buffer, DecodeError};

pub const MAGIC: u32 = 0x4243_4b49; // the bytes "IKCB" on little-endian machines
pub const VERSION: u16 = 2;
/// The first version, which knew only snapshot responses.
pub const VERSION_1: u16 = 1;

pub const REQUEST_HEADER_LEN: usize = 24;
/// The largest request message the broker reads.
pub const MAX_REQUEST_MESSAGE: usize = REQUEST_HEADER_LEN + MAX_REQUEST_LEN;

buffer!(
    /// The header of a request message (`struct ikc_broker_request`).
    RequestHeaderBuffer("broker request", REQUEST_HEADER_LEN) {
        magic, set_magic: (u32, 0..4),
        version, set_version: (u16, 4..6),
        ns_kind, set_ns_kind: (u16, 6..8),
        command, set_command: (u32, 8..12),
        flags, set_flags: (u32, 12..16),
        length, set_length: (u32, 16..20),
        reserved, set_reserved: (u32, 20..24),
    }
);

pub const REPLY_HEADER_LEN: usize = 16;

buffer!(
    /// The header of a reply message (`struct ikc_broker_reply`).
    ReplyHeaderBuffer("broker reply", REPLY_HEADER_LEN) {
        magic, set_magic: (u32, 0..4),
        version, set_version: (u16, 4..6),
        kind, set_kind: (u16, 6..8),
        result, set_result: (i32, 8..12),
        message_len, set_message_len: (u32, 12..16),
    }
);
/// Error texts are cut to this length.
pub const MAX_REPLY_MESSAGE: usize = 1024;
/// The largest errno Linux has room for (`include/linux/err.h`).
const MAX_ERRNO: i32 = 4095;

/// Which namespace a request names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum NsKind {
    /// The one fd passed with the message (`SCM_RIGHTS`).
    PassedFd = 0,
    /// The client's own pid namespace.
    CurrentPid = 1,
    /// The client's own network namespace.
    CurrentNet = 2,
    /// The initial namespace of the command's type.
    Global = 3,
}

impl NsKind {
    pub fn from_u16(v: u16) -> Option<NsKind> {
        Some(match v {
            0 => NsKind::PassedFd,
            1 => NsKind::CurrentPid,
            2 => NsKind::CurrentNet,
            3 => NsKind::Global,
            _ => return None,
        })
    }
}

/// A request header; the request bytes follow it in the same message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestHeader {
    pub ns_kind: NsKind,
    pub command: u32,
    pub flags: u32,
    pub length: u32,
}

impl RequestHeader {
    /// Validates a whole request message and splits off the request bytes.
    pub fn parse_message(msg: &[u8]) -> Result<(RequestHeader, &[u8])> {
        let buf = RequestHeaderBuffer::new_checked(msg).map_err(Error::malformed)?;
        if buf.magic() != MAGIC {
            return Err(Error::invalid("not an ikc broker request (bad magic)"));
        }
        let version = buf.version();
        if version != VERSION {
            return Err(Error::Os {
                op: format!("protocol version {version} is not supported (this broker speaks {VERSION}; update the client)"),
                errno: nix::errno::Errno::EPROTONOSUPPORT as i32,
            });
        }
        let kind = buf.ns_kind();
        let ns_kind = NsKind::from_u16(kind).ok_or_else(|| Error::invalid(format!("unknown namespace kind {kind}")))?;
        if buf.reserved() != 0 {
            return Err(Error::invalid("reserved header field is not zero"));
        }
        let length = buf.length();
        let body = &msg[REQUEST_HEADER_LEN..];
        if length as usize != body.len() {
            return Err(Error::invalid(format!("request_len {length} does not match the {} bytes sent", body.len())));
        }
        let header = RequestHeader { ns_kind, command: buf.command(), flags: buf.flags(), length };
        Ok((header, body))
    }

    /// The header followed by `request`, as one message.
    pub fn message(ns_kind: NsKind, command: u32, flags: u32, request: &[u8]) -> Vec<u8> {
        let header = RequestHeader { ns_kind, command, flags, length: request.len() as u32 };
        let mut out = Vec::with_capacity(REQUEST_HEADER_LEN + request.len());
        header.emit_to_vec(&mut out);
        out.extend_from_slice(request);
        out
    }
}

impl Emitable for RequestHeader {
    fn buffer_len(&self) -> usize {
        REQUEST_HEADER_LEN
    }
    fn emit(&self, b: &mut [u8]) {
        let mut buf = RequestHeaderBuffer::new_unchecked(b);
        buf.set_magic(MAGIC);
        buf.set_version(VERSION);
        buf.set_ns_kind(self.ns_kind as u16);
        buf.set_command(self.command);
        buf.set_flags(self.flags);
        buf.set_length(self.length);
        buf.set_reserved(0);
    }
}

/// The version a request message names, if it is an ikc request at all
/// (`VERSION` otherwise), to answer a refusal in that version's words.
pub fn requested_version(msg: &[u8]) -> u16 {
    match RequestHeaderBuffer::new_checked(msg) {
        Ok(buf) if buf.magic() == MAGIC => buf.version(),
        _ => VERSION,
    }
}

/// What a reply answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum ReplyKind {
    /// Sent once on connect: result = the largest request message accepted.
    Hello = 0,
    /// The answer to a request: 0 with a snapshot response fd, or -errno.
    Result = 1,
    /// The answer to a request for a stream: 0 with the stream's read end.
    Stream = 2,
}

/// A reply: `result` is a count or `-errno`, `message` explains an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The protocol version the reply is written in: `VERSION`, or
    /// `VERSION_1` to refuse a v1 client in words it understands.
    pub version: u16,
    pub kind: ReplyKind,
    pub result: i32,
    pub message: String,
}

impl Reply {
    pub fn hello() -> Reply {
        Reply { version: VERSION, kind: ReplyKind::Hello, result: MAX_REQUEST_MESSAGE as i32, message: String::new() }
    }
    pub fn ok(response: ResponseKind) -> Reply {
        let kind = match response {
            ResponseKind::Snapshot => ReplyKind::Result,
            ResponseKind::Stream => ReplyKind::Stream,
        };
        Reply { version: VERSION, kind, result: 0, message: String::new() }
    }
    pub fn error(e: &Error) -> Reply {
        let mut message = e.to_string();
        if message.len() > MAX_REPLY_MESSAGE {
            let mut cut = MAX_REPLY_MESSAGE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        Reply { version: VERSION, kind: ReplyKind::Result, result: -e.errno(), message }
    }

    /// The error for a request that names another protocol version, written in
    /// that version's reply format when it is v1 (whose layout v2 kept), so the
    /// old client reports the refusal instead of a malformed reply.
    pub fn refusing_version(e: &Error, requested: u16) -> Reply {
        let version = if requested == VERSION_1 { VERSION_1 } else { VERSION };
        Reply { version, ..Reply::error(e) }
    }

    pub fn parse(msg: &[u8]) -> Result<Reply, DecodeError> {
        let buf = ReplyHeaderBuffer::new_checked(msg)?;
        if buf.magic() != MAGIC {
            return Err(DecodeError("not an ikc broker reply (bad magic)".into()));
        }
        if buf.version() != VERSION {
            return Err(DecodeError(format!("the broker speaks protocol {}, this client {VERSION}", buf.version())));
        }
        let kind = match buf.kind() {
            0 => ReplyKind::Hello,
            1 => ReplyKind::Result,
            2 => ReplyKind::Stream,
            k => return Err(DecodeError(format!("unknown reply kind {k}"))),
        };
        let len = buf.message_len() as usize;
        let text = msg.get(REPLY_HEADER_LEN..REPLY_HEADER_LEN.saturating_add(len)).ok_or_else(|| DecodeError("reply message truncated".into()))?;
        Ok(Reply { version: VERSION, kind, result: buf.result(), message: String::from_utf8_lossy(text).into_owned() })
    }

    /// What a client makes of the first reply on a connection: `Ok` for a
    /// hello, the broker's error for a refusal (`-EAGAIN`: too many clients),
    /// `EPROTO` for anything else.
    pub fn into_hello(self) -> Result<()> {
        match (self.kind, self.result) {
            (ReplyKind::Hello, _) => Ok(()),
            (_, r) if r < 0 => Err(self.refusal()),
            _ => Err(Error::Broker { errno: nix::errno::Errno::EPROTO as i32, message: "EPROTO: broker did not say hello".into() }),
        }
    }

    /// What a client makes of the reply to a request and the fd that came with
    /// it: the response fd and its kind for a success, the broker's error for
    /// `-errno`, `EPROTO` for anything else (generic over the fd so it is
    /// testable without one).
    pub fn into_response<F>(self, fd: Option<F>) -> Result<(F, ResponseKind)> {
        match (self.kind, self.result, fd) {
            (ReplyKind::Result, 0, Some(fd)) => Ok((fd, ResponseKind::Snapshot)),
            (ReplyKind::Stream, 0, Some(fd)) => Ok((fd, ResponseKind::Stream)),
            (ReplyKind::Result, r, _) if r < 0 => Err(self.refusal()),
            _ => Err(Error::Broker { errno: nix::errno::Errno::EPROTO as i32, message: "EPROTO: malformed broker reply".into() }),
        }
    }

    /// The error a negative result stands for. Only `-MAX_ERRNO..=-1` is an
    /// errno; any other result (`i32::MIN`, whose negation overflows, or
    /// -262147) is a broken broker: `EPROTO`, never a made-up errno.
    fn refusal(self) -> Error {
        match self.result.checked_neg() {
            Some(errno) if (1..=MAX_ERRNO).contains(&errno) => Error::Broker { errno, message: self.message },
            _ => Error::Broker {
                errno: nix::errno::Errno::EPROTO as i32,
                message: format!("EPROTO: broker answered {}, which is not -errno", self.result),
            },
        }
    }
}

impl Emitable for Reply {
    fn buffer_len(&self) -> usize {
        REPLY_HEADER_LEN + self.message.len()
    }
    fn emit(&self, b: &mut [u8]) {
        b[REPLY_HEADER_LEN..].copy_from_slice(self.message.as_bytes());
        let mut buf = ReplyHeaderBuffer::new_unchecked(b);
        buf.set_magic(MAGIC);
        buf.set_version(self.version);
        buf.set_kind(self.kind as u16);
        buf.set_result(self.result);
        // Messages are cut to MAX_REPLY_MESSAGE bytes.
        buf.set_message_len(self.message.len() as u32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request_bytes() -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&MAGIC.to_ne_bytes()); // magic
        v.extend_from_slice(&2u16.to_ne_bytes()); // version
        v.extend_from_slice(&1u16.to_ne_bytes()); // ns_kind = CURRENT_PIDNS
        v.extend_from_slice(&0x8000_0001u32.to_ne_bytes()); // command = TASK_DIAG
        v.extend_from_slice(&0u32.to_ne_bytes()); // flags
        v.extend_from_slice(&3u32.to_ne_bytes()); // request_len
        v.extend_from_slice(&0u32.to_ne_bytes()); // reserved
        v.extend_from_slice(&[7, 8, 9]); // request
        v
    }

    #[test]
    fn emit_request() {
        assert_eq!(RequestHeader::message(NsKind::CurrentPid, 0x8000_0001, 0, &[7, 8, 9]), request_bytes());
    }

    #[test]
    fn parse_request() {
        let bytes = request_bytes();
        let (h, body) = RequestHeader::parse_message(&bytes).expect("valid");
        assert_eq!(h, RequestHeader { ns_kind: NsKind::CurrentPid, command: 0x8000_0001, flags: 0, length: 3 });
        assert_eq!(body, &[7, 8, 9]);
    }

    #[test]
    fn malformed_requests_are_einval() {
        let good = request_bytes();
        let bad = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = good.clone();
            f(&mut b);
            RequestHeader::parse_message(&b).unwrap_err().code()
        };
        assert_eq!(bad(&|b| b.truncate(10)), "EINVAL", "short header");
        assert_eq!(bad(&|b| b[0] = b'X'), "EINVAL", "magic");
        assert_eq!(bad(&|b| b[4] = 1), "EPROTONOSUPPORT", "version 1");
        assert_eq!(bad(&|b| b[4] = 3), "EPROTONOSUPPORT", "version 3");
        assert_eq!(bad(&|b| b[6] = 9), "EINVAL", "ns kind");
        assert_eq!(bad(&|b| b[20] = 1), "EINVAL", "reserved");
        assert_eq!(bad(&|b| b.push(0)), "EINVAL", "length mismatch");
        assert_eq!(bad(&|b| b[16] = 200), "EINVAL", "length lies");
    }

    #[test]
    fn reply_round_trip() {
        let e = Error::NoSuchProcess(5);
        let r = Reply::error(&e);
        let mut out = Vec::new();
        r.emit_to_vec(&mut out);
        let mut expect = Vec::new();
        expect.extend_from_slice(&MAGIC.to_ne_bytes()); // magic
        expect.extend_from_slice(&2u16.to_ne_bytes()); // version
        expect.extend_from_slice(&1u16.to_ne_bytes()); // kind = RESULT
        expect.extend_from_slice(&(-3i32).to_ne_bytes()); // result = -ESRCH
        expect.extend_from_slice(&(e.to_string().len() as u32).to_ne_bytes()); // message_len
        expect.extend_from_slice(e.to_string().as_bytes());
        assert_eq!(out, expect);
        assert_eq!(Reply::parse(&out).expect("valid"), r);
        assert!(Reply::parse(&out[..REPLY_HEADER_LEN + 2]).is_err());
    }

    #[test]
    fn a_result_that_is_no_errno_is_eproto() {
        // fuzz/regressions/broker_reply/: i32::MIN overflowed the negation; -262147 became errno 262147.
        for result in [i32::MIN, -262147, -4096] {
            let r = Reply { version: VERSION, kind: ReplyKind::Result, result, message: "x".into() };
            assert_eq!(r.clone().into_hello().unwrap_err().code(), "EPROTO", "hello, result {result}");
            assert_eq!(r.into_response(Some(())).unwrap_err().code(), "EPROTO", "result {result}");
        }
        let r = Reply { version: VERSION, kind: ReplyKind::Result, result: -4095, message: "x".into() };
        assert_eq!(r.into_response(Some(())).unwrap_err().errno(), 4095);
        assert_eq!(Reply::error(&Error::NoSuchProcess(1)).into_response(Some(())).unwrap_err().code(), "ESRCH");
        assert_eq!(Reply::ok(ResponseKind::Snapshot).into_response(Some(7)), Ok((7, ResponseKind::Snapshot)));
        assert_eq!(Reply::ok(ResponseKind::Stream).into_response(Some(7)), Ok((7, ResponseKind::Stream)));
        assert!(Reply::hello().into_hello().is_ok());
    }

    #[test]
    fn a_v1_client_is_refused_in_v1_words() {
        let mut v1 = request_bytes();
        v1[4] = 1;
        let e = RequestHeader::parse_message(&v1).unwrap_err();
        let mut out = Vec::new();
        Reply::refusing_version(&e, 1).emit_to_vec(&mut out);
        // A v1 client reads magic, version 1, kind RESULT and -EPROTONOSUPPORT.
        assert_eq!(&out[4..6], &1u16.to_ne_bytes());
        assert_eq!(&out[6..8], &1u16.to_ne_bytes());
        assert_eq!(&out[8..12], &(-(nix::errno::Errno::EPROTONOSUPPORT as i32)).to_ne_bytes());
        // ... and this client refuses a reply in another version.
        assert!(Reply::parse(&out).is_err());
    }
}

//! The stream response kind: a command that keeps answering (process events,
//! periodic statistics) returns the read end of a pipe. Like a snapshot it is
//! read-only and close-on-exec, reading it consults nobody's credentials, and
//! it is not a socket (the holder cannot `send` on it). Its producer, a thread
//! of ikc's (in the caller's process, or in the broker), writes netlink
//! messages into the write end through a [`Sink`]:
//!
//! - every message carries the stream's own sequence number in `nlmsg_seq`
//!   (0, 1, 2, ...), so a reader can tell that it lost nothing;
//! - messages are never interleaved (one writer per pipe), but one `read` may
//!   return several or part of one: read the stream as a byte stream and split
//!   it at `nlmsg_len`, as `netlink.ts` and [`StreamReader`] do;
//! - a reader that falls behind fills its bounded queue; what does not fit is
//!   dropped and announced by a `LOST` message ([`STREAM_LOST`]) with the count
//!   and the sequence numbers it would have had; the stream goes on;
//! - the stream ends with one `NLMSG_DONE` whose payload says why
//!   ([`StreamEnd`]: count reached, shutting down, too slow, an error, with an
//!   errno), then EOF. A reader that closes its end is noticed at once
//!   (`POLLERR` on the write end) and its queue freed.
//!
//! The wire layout is in docs/wire-format.md ("Streams").

use std::collections::VecDeque;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::error::{Error, Result};
use crate::netlink::{Emitable, NetlinkHeader, NetlinkHeaderBuffer, NLMSG_DONE, NLMSG_HEADER_LEN};

/// Netlink messages start on 4-byte boundaries.
const NLMSG_ALIGNTO: usize = 4;
use crate::wire::{buffer, DecodeError};

/// `nlmsg_type` of a loss notice (`struct ikc_stream_lost`).
pub const STREAM_LOST: u16 = 0x7f01;
/// `nlmsg_type` of a notice that events may have been lost without a count
/// (the source went quiet when it should not have; `struct ikc_stream_lost`, count unknown).
pub const STREAM_POSSIBLY_LOST: u16 = 0x7f02;
/// The first `nlmsg_type` a stream command may use for its own messages;
/// types from here to `STREAM_LOST` belong to the commands (see each command's module).
pub const STREAM_COMMAND_TYPES: u16 = 0x7e00;

/// The queue a stream keeps beside the pipe for a reader that is behind. The
/// pipe itself holds up to [`PIPE_CAPACITY`] more.
pub const DEFAULT_QUEUE_BYTES: usize = 1 << 20;
/// The pipe size asked for (`F_SETPIPE_SZ`, best effort: the kernel's
/// `pipe-max-size` and per-user page limits may keep it at the default 64 KiB).
pub const PIPE_CAPACITY: i32 = 1 << 20;

/// `count` of a loss notice when the number is not known.
pub const LOST_UNKNOWN: u64 = u64::MAX;

/// Why a stream lost messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum LossCause {
    /// The reader did not keep up; the messages were made, then dropped.
    QueueFull = 1,
    /// The source lost them before ikc saw them (a kernel socket overran).
    Source = 2,
    /// The source went quiet when it should not have (see `STREAM_POSSIBLY_LOST`).
    Silence = 3,
}

pub const STREAM_LOST_LEN: usize = 24;

buffer!(
    /// `struct ikc_stream_lost`: how many messages were lost, and the stream
    /// sequence numbers they would have had (`first_seq..=last_seq`; both 0 when
    /// they never had any, as for a source's loss).
    StreamLostBuffer("stream loss notice", STREAM_LOST_LEN) {
        count, set_count: (u64, 0..8),
        first_seq, set_first_seq: (u32, 8..12),
        last_seq, set_last_seq: (u32, 12..16),
        cause, set_cause: (u32, 16..20),
        reserved, set_reserved: (u32, 20..24),
    }
);

/// Why a stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum EndReason {
    /// The count the request asked for was delivered.
    Complete = 1,
    /// The broker (or the process) is shutting down.
    Shutdown = 2,
    /// The reader fell so far behind that the stream gave up on it.
    TooSlow = 3,
    /// An error ended it; `error` says which.
    Error = 4,
    /// The subscriber may no longer see what it asked for (rights may drop, never rise).
    Revoked = 5,
}

pub const STREAM_END_LEN: usize = 24;

buffer!(
    /// The payload of a stream's final `NLMSG_DONE` (`struct ikc_stream_end`).
    /// `error` comes first, where a dump's `NLMSG_DONE` carries its int.
    StreamEndBuffer("stream end", STREAM_END_LEN) {
        error, set_error: (i32, 0..4),
        reason, set_reason: (u32, 4..8),
        delivered, set_delivered: (u64, 8..16),
        lost, set_lost: (u64, 16..24),
    }
);

/// The final message, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamEnd {
    /// `-errno`, 0 unless `reason` is `Error` or `Revoked`.
    pub error: i32,
    pub reason: u32,
    /// Messages written before this one (loss notices included).
    pub delivered: u64,
    /// Messages dropped for this reader over the stream's life.
    pub lost: u64,
}

/// The framing every stream command's request shares: one `nlmsghdr` whose
/// type is `message_type` (`type_name` in errors) or 0, with no flag but
/// `NLM_F_REQUEST`, then `struct what` of `len` bytes, read by the size rule.
pub fn request_payload<'a>(bytes: &'a [u8], message_type: u16, type_name: &str, what: &str, len: usize) -> Result<std::borrow::Cow<'a, [u8]>> {
    let (header, payload) = NetlinkHeader::parse_request(bytes).map_err(Error::malformed)?;
    if header.message_type != message_type && header.message_type != 0 {
        return Err(Error::invalid(format!("nlmsg_type {:#x} is not {type_name} ({message_type:#x})", header.message_type)));
    }
    if header.flags & !crate::netlink::NLM_F_REQUEST != 0 {
        return Err(Error::invalid(format!("unsupported nlmsg_flags bits {:#x}", header.flags & !crate::netlink::NLM_F_REQUEST)));
    }
    crate::extensible::read_struct(what, payload, len, len)
}

/// What a stream's producer keeps alive while it runs: a broker's quota slot
/// for the stream, released when the stream ends (nothing in-process).
pub type Lease = Option<Box<dyn Send>>;

/// Tells producers to end their streams (`EndReason::Shutdown`): an fd that
/// polls readable (or hung up) once its owner is stopping, e.g. a broker's stop pipe.
#[derive(Debug, Clone)]
pub struct StopSignal(std::sync::Arc<OwnedFd>);

impl StopSignal {
    pub fn new(fd: std::sync::Arc<OwnedFd>) -> StopSignal {
        StopSignal(fd)
    }

    /// Which signal this is (streams sharing work must share their stop signal too).
    pub fn id(&self) -> usize {
        std::sync::Arc::as_ptr(&self.0) as usize
    }
}

impl AsFd for StopSignal {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

/// The read end handed to the caller: a pipe opened read-only, close-on-exec.
pub fn pipe() -> Result<(OwnedFd, Sink)> {
    let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| Error::os("pipe2", e))?;
    // Only the writer is non-blocking: the reader's file description is its own
    // (it may poll, or block in read).
    fcntl(&write, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).map_err(|e| Error::os("fcntl O_NONBLOCK", e))?;
    let _ = fcntl(&write, FcntlArg::F_SETPIPE_SZ(PIPE_CAPACITY));
    Ok((read, Sink::new(write, DEFAULT_QUEUE_BYTES)))
}

/// What became of a message offered to a sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offered {
    /// Written to the pipe or queued behind it.
    Queued,
    /// The queue was full: dropped, to be announced by a `LOST` notice.
    Dropped,
}

/// The reader closed its end: the stream is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReaderGone;

/// A loss not yet announced.
#[derive(Debug, Clone, Copy)]
struct PendingLoss {
    count: u64,
    first_seq: u32,
    last_seq: u32,
    cause: LossCause,
}

/// The producer's side of one stream: the pipe's write end and a bounded queue.
pub struct Sink {
    pipe: OwnedFd,
    queue: VecDeque<Vec<u8>>,
    /// Bytes of `queue[0]` already written.
    head_written: usize,
    queued_bytes: usize,
    limit: usize,
    next_seq: u32,
    delivered: u64,
    lost_total: u64,
    loss: Option<PendingLoss>,
}

impl Sink {
    fn new(pipe: OwnedFd, limit: usize) -> Sink {
        Sink {
            pipe,
            queue: VecDeque::new(),
            head_written: 0,
            queued_bytes: 0,
            limit,
            next_seq: 0,
            delivered: 0,
            lost_total: 0,
            loss: None,
        }
    }

    /// Sets how many bytes may wait beside the pipe (tests and the broker's limits).
    pub fn set_queue_limit(&mut self, limit: usize) {
        self.limit = limit;
    }

    /// The sequence number the next message will carry.
    pub fn next_seq(&self) -> u32 {
        self.next_seq
    }

    /// Messages written or queued so far (notices included), and dropped so far.
    pub fn counts(&self) -> (u64, u64) {
        (self.delivered, self.lost_total)
    }

    /// Whether messages wait beside the pipe (poll the write end for `POLLOUT`).
    pub fn has_backlog(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Offers one message of `message_type` with `payload`; it takes the next
    /// sequence number whether it is kept or dropped.
    pub fn offer(&mut self, message_type: u16, flags: u16, payload: &[u8]) -> std::result::Result<Offered, ReaderGone> {
        self.flush()?;
        // A loss is announced before anything after it, with the number before theirs.
        self.announce_loss();
        let seq = self.take_seq();
        let message = frame(message_type, flags, seq, payload);
        // The queue holds up to `limit` bytes, or one message however large.
        if self.loss.is_some() || (self.has_backlog() && self.queued_bytes + message.len() > self.limit) {
            self.record_loss(1, Some(seq), LossCause::QueueFull);
            return Ok(Offered::Dropped);
        }
        self.enqueue(message);
        self.flush()?;
        Ok(Offered::Queued)
    }

    /// How many queued messages have not started to be written (what
    /// `offer_latest` would replace now).
    pub fn replaceable(&mut self) -> usize {
        let _ = self.flush();
        self.queue.len().saturating_sub(usize::from(self.head_written > 0))
    }

    /// Replaces every queued message that has not started to be written with
    /// this one ("latest wins"): returns how many it replaced. For periodic
    /// snapshots, where an old one is worth nothing once a newer exists.
    pub fn offer_latest(&mut self, message_type: u16, flags: u16, payload: &[u8]) -> std::result::Result<usize, ReaderGone> {
        self.flush()?;
        let keep = usize::from(self.head_written > 0);
        let replaced = self.queue.len().saturating_sub(keep);
        for m in self.queue.drain(keep..) {
            self.queued_bytes -= m.len();
        }
        let seq = self.take_seq();
        self.enqueue(frame(message_type, flags, seq, payload));
        self.flush()?;
        Ok(replaced)
    }

    /// Records that the source lost `count` messages (`LOST_UNKNOWN` if it
    /// cannot tell), to be announced before the next message. `cause` says how.
    pub fn source_lost(&mut self, count: u64, cause: LossCause) {
        self.record_loss(count, None, cause);
    }

    /// Writes what the pipe takes now. `Err(ReaderGone)` once the read end is closed.
    pub fn flush(&mut self) -> std::result::Result<(), ReaderGone> {
        while let Some(head) = self.queue.front() {
            match nix::unistd::write(&self.pipe, &head[self.head_written..]) {
                Ok(n) => {
                    self.head_written += n;
                    if self.head_written == head.len() {
                        self.queued_bytes -= head.len();
                        self.queue.pop_front();
                        self.head_written = 0;
                    }
                }
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) => break,
                Err(_) => return Err(ReaderGone),
            }
        }
        if self.queue.is_empty() && self.loss.is_some() {
            self.announce_loss();
            if self.has_backlog() {
                return self.flush();
            }
        }
        Ok(())
    }

    /// Whether the reader closed its end (never blocks).
    pub fn reader_gone(&self) -> bool {
        let mut fds = [PollFd::new(self.pipe.as_fd(), PollFlags::empty())];
        matches!(poll(&mut fds, PollTimeout::ZERO), Ok(n) if n > 0
            && fds[0].revents().is_some_and(|r| r.intersects(PollFlags::POLLERR | PollFlags::POLLHUP)))
    }

    /// The events to poll the write end for: `POLLOUT` while a backlog waits
    /// (a closed reader shows as `POLLERR` either way).
    pub fn poll_flags(&self) -> PollFlags {
        if self.has_backlog() || self.loss.is_some() {
            PollFlags::POLLOUT
        } else {
            PollFlags::empty()
        }
    }

    /// Ends the stream: the final `NLMSG_DONE` saying why, written within
    /// `grace` if the reader makes room, then the write end is closed (the
    /// reader sees EOF). A reader that is gone or never makes room simply gets
    /// EOF; messages still queued are dropped with it.
    pub fn finish(mut self, reason: EndReason, errno: i32, grace: Duration) {
        let seq = self.take_seq();
        let mut payload = [0u8; STREAM_END_LEN];
        {
            let mut end = StreamEndBuffer::new_unchecked(&mut payload[..]);
            end.set_error(-errno.abs());
            end.set_reason(reason as u32);
            end.set_delivered(self.delivered);
            end.set_lost(self.lost_total + self.loss.map_or(0, |l| l.count.min(u64::MAX - 1)));
        }
        if self.loss.is_some() && self.queue.is_empty() {
            self.announce_loss();
        }
        self.enqueue(frame(NLMSG_DONE, 0, seq, &payload));
        let deadline = std::time::Instant::now() + grace;
        loop {
            if self.flush().is_err() || self.queue.is_empty() {
                return;
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return;
            }
            let mut fds = [PollFd::new(self.pipe.as_fd(), PollFlags::POLLOUT)];
            let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
            let _ = poll(&mut fds, PollTimeout::from(ms));
        }
    }

    fn take_seq(&mut self) -> u32 {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        seq
    }

    fn enqueue(&mut self, message: Vec<u8>) {
        self.queued_bytes += message.len();
        self.delivered += 1;
        self.queue.push_back(message);
    }

    fn record_loss(&mut self, count: u64, seq: Option<u32>, cause: LossCause) {
        match (&mut self.loss, seq) {
            (Some(l), Some(s)) => {
                l.count = l.count.saturating_add(count);
                if l.first_seq == 0 && l.last_seq == 0 && l.cause != LossCause::QueueFull {
                    l.first_seq = s;
                }
                l.last_seq = s;
            }
            (Some(l), None) => {
                l.count = if count == LOST_UNKNOWN || l.count == LOST_UNKNOWN { LOST_UNKNOWN } else { l.count.saturating_add(count) };
                l.cause = cause;
            }
            (None, s) => {
                self.loss = Some(PendingLoss { count, first_seq: s.unwrap_or(0), last_seq: s.unwrap_or(0), cause });
            }
        }
    }

    /// Queues the pending loss notice, if the queue has room for it (a notice
    /// is small; it may exceed the limit by its own size, never more).
    fn announce_loss(&mut self) {
        let Some(loss) = self.loss else { return };
        if self.has_backlog() && self.queued_bytes > self.limit {
            return;
        }
        self.loss = None;
        if loss.count != LOST_UNKNOWN {
            self.lost_total = self.lost_total.saturating_add(loss.count);
        }
        let message_type = if loss.cause == LossCause::Silence { STREAM_POSSIBLY_LOST } else { STREAM_LOST };
        let mut payload = [0u8; STREAM_LOST_LEN];
        {
            let mut b = StreamLostBuffer::new_unchecked(&mut payload[..]);
            b.set_count(loss.count);
            b.set_first_seq(loss.first_seq);
            b.set_last_seq(loss.last_seq);
            b.set_cause(loss.cause as u32);
        }
        let seq = self.take_seq();
        self.enqueue(frame(message_type, 0, seq, &payload));
    }
}

impl AsFd for Sink {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.pipe.as_fd()
    }
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sink(fd {}, seq {}, {} queued)", self.pipe.as_raw_fd(), self.next_seq, self.queue.len())
    }
}

/// One netlink message: header, payload, padding to `NLMSG_ALIGNTO`.
fn frame(message_type: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    let len = NLMSG_HEADER_LEN + payload.len();
    let mut out = vec![0u8; len.next_multiple_of(NLMSG_ALIGNTO)];
    // Every producer makes payloads far below 4 GiB; a length that does not fit is cut off, never wrapped.
    let header = NetlinkHeader { length: u32::try_from(len).unwrap_or(u32::MAX), message_type, flags, sequence: seq, port: 0 };
    header.emit(&mut out[..NLMSG_HEADER_LEN]);
    out[NLMSG_HEADER_LEN..len].copy_from_slice(payload);
    out
}

/// A message read from a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamMessage {
    pub message_type: u16,
    pub flags: u16,
    pub seq: u32,
    pub payload: Vec<u8>,
}

impl StreamMessage {
    /// The end of the stream, if this is its final message.
    pub fn end(&self) -> Option<std::result::Result<StreamEnd, DecodeError>> {
        (self.message_type == NLMSG_DONE).then(|| {
            let b = StreamEndBuffer::new_checked(&self.payload[..])?;
            Ok(StreamEnd { error: b.error(), reason: b.reason(), delivered: b.delivered(), lost: b.lost() })
        })
    }

    /// The loss notice this is, if it is one: (count, first_seq, last_seq, cause).
    pub fn loss(&self) -> Option<std::result::Result<(u64, u32, u32, u32), DecodeError>> {
        matches!(self.message_type, STREAM_LOST | STREAM_POSSIBLY_LOST).then(|| {
            let b = StreamLostBuffer::new_checked(&self.payload[..])?;
            Ok((b.count(), b.first_seq(), b.last_seq(), b.cause()))
        })
    }
}

/// Splits a stream's bytes into messages (for Rust clients and tests; the SDK
/// has its own in `netlink.ts`). Blocking reads on the fd given.
pub struct StreamReader {
    fd: OwnedFd,
    buf: Vec<u8>,
    eof: bool,
}

impl StreamReader {
    pub fn new(fd: OwnedFd) -> StreamReader {
        StreamReader { fd, buf: Vec::new(), eof: false }
    }

    /// The next message; `Ok(None)` at EOF. A stream whose bytes are not
    /// netlink messages is `EIO` (the producer is ikc: damage, not the caller's fault).
    pub fn next_message(&mut self, timeout: Option<Duration>) -> Result<Option<StreamMessage>> {
        loop {
            if self.buf.len() >= NLMSG_HEADER_LEN {
                let declared = NetlinkHeaderBuffer::new_unchecked(&self.buf[..]).length() as usize;
                if declared < NLMSG_HEADER_LEN {
                    return Err(Error::damaged(format!("stream message declares {declared} bytes")));
                }
                let padded = declared.next_multiple_of(NLMSG_ALIGNTO);
                if self.buf.len() >= declared {
                    let h = NetlinkHeaderBuffer::new_checked(&self.buf[..]).map_err(|e| Error::damaged(e.0))?;
                    let message = StreamMessage {
                        message_type: h.message_type(),
                        flags: h.flags(),
                        seq: h.sequence(),
                        payload: h.payload().to_vec(),
                    };
                    self.buf.drain(..padded.min(self.buf.len()));
                    return Ok(Some(message));
                }
            }
            if self.eof {
                return if self.buf.is_empty() { Ok(None) } else { Err(Error::damaged("stream ends inside a message")) };
            }
            if let Some(t) = timeout {
                let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
                let ms = u16::try_from(t.as_millis()).unwrap_or(u16::MAX);
                match poll(&mut fds, PollTimeout::from(ms)) {
                    Ok(0) => return Err(Error::os("read stream", Errno::ETIMEDOUT)),
                    Ok(_) | Err(Errno::EINTR) => {}
                    Err(e) => return Err(Error::os("poll stream", e)),
                }
            }
            let mut chunk = [0u8; 16 * 1024];
            match nix::unistd::read(&self.fd, &mut chunk) {
                Ok(0) => self.eof = true,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(Errno::EINTR | Errno::EAGAIN) => {}
                Err(e) => return Err(Error::os("read stream", e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(fd: OwnedFd) -> StreamReader {
        StreamReader::new(fd)
    }

    fn next(r: &mut StreamReader) -> StreamMessage {
        r.next_message(Some(Duration::from_secs(5))).expect("read").expect("a message")
    }

    #[test]
    fn messages_carry_consecutive_sequence_numbers_and_end_with_a_reason() {
        let (read, mut sink) = pipe().expect("pipe");
        for i in 0..3u8 {
            assert_eq!(sink.offer(STREAM_COMMAND_TYPES, 0, &[i; 5]), Ok(Offered::Queued));
        }
        sink.finish(EndReason::Complete, 0, Duration::from_secs(1));
        let mut r = reader(read);
        for i in 0..3u8 {
            let m = next(&mut r);
            assert_eq!((m.message_type, m.seq, m.payload.as_slice()), (STREAM_COMMAND_TYPES, u32::from(i), &[i; 5][..]));
        }
        let end = next(&mut r);
        assert_eq!(end.seq, 3);
        assert_eq!(end.end(), Some(Ok(StreamEnd { error: 0, reason: EndReason::Complete as u32, delivered: 3, lost: 0 })));
        assert_eq!(r.next_message(None).expect("eof"), None);
    }

    #[test]
    fn a_reader_behind_gets_a_loss_notice_with_the_missing_sequence_numbers() {
        let (read, mut sink) = pipe().expect("pipe");
        sink.set_queue_limit(0);
        let big = vec![7u8; 8192];
        let mut kept = 0u32;
        let mut dropped = Vec::new();
        // Fill the pipe; everything past it is dropped, since no queue is allowed.
        for _ in 0..400 {
            let seq = sink.next_seq();
            match sink.offer(STREAM_COMMAND_TYPES, 0, &big).expect("reader present") {
                Offered::Queued => kept += 1,
                Offered::Dropped => dropped.push(seq),
            }
        }
        assert!(!dropped.is_empty() && kept > 0, "kept {kept}, dropped {}", dropped.len());
        let mut r = reader(read);
        for seq in 0..kept {
            // The last kept one waits in the queue until the pipe has room.
            sink.flush().expect("reader present");
            assert_eq!(next(&mut r).seq, seq);
        }
        // The reader caught up: the next offer first announces the loss.
        let after = sink.next_seq();
        assert_eq!(sink.offer(STREAM_COMMAND_TYPES, 0, b"x"), Ok(Offered::Queued));
        let notice = next(&mut r);
        let first = dropped[0];
        let last = *dropped.last().expect("dropped");
        assert_eq!(notice.loss(), Some(Ok((dropped.len() as u64, first, last, LossCause::QueueFull as u32))));
        assert_eq!(notice.seq, last + 1, "the notice takes the number after the lost ones");
        assert_eq!(next(&mut r).seq, notice.seq + 1);
        assert!(after <= notice.seq + 1);
    }

    #[test]
    fn latest_wins_replaces_queued_snapshots() {
        let (read, mut sink) = pipe().expect("pipe");
        let big = vec![1u8; 64 * 1024];
        // Fill the pipe and queue a backlog behind it.
        for _ in 0..40 {
            sink.offer_latest(STREAM_COMMAND_TYPES, 0, &big).expect("reader present");
        }
        let last = sink.next_seq();
        let replaced = sink.offer_latest(STREAM_COMMAND_TYPES, 0, b"newest").expect("reader present");
        assert!(replaced <= 1, "at most the one queued behind the partly written head: {replaced}");
        let reading = std::thread::spawn(move || {
            let mut r = reader(read);
            let mut seen = Vec::new();
            while let Some(m) = r.next_message(Some(Duration::from_secs(5))).expect("read") {
                seen.push((m.seq, m.payload.len()));
            }
            seen
        });
        sink.finish(EndReason::Complete, 0, Duration::from_secs(5));
        let seen = reading.join().expect("reader");
        assert!(seen.contains(&(last, 6)), "the newest snapshot arrives: {seen:?}");
        assert!(seen.len() < 41, "older snapshots were replaced");
    }

    #[test]
    fn a_closed_reader_is_noticed() {
        let (read, mut sink) = pipe().expect("pipe");
        assert!(!sink.reader_gone());
        drop(read);
        assert!(sink.reader_gone());
        assert_eq!(sink.offer(STREAM_COMMAND_TYPES, 0, b"x"), Err(ReaderGone));
    }

    #[test]
    fn a_source_loss_of_unknown_size_is_announced() {
        let (read, mut sink) = pipe().expect("pipe");
        sink.source_lost(LOST_UNKNOWN, LossCause::Silence);
        sink.offer(STREAM_COMMAND_TYPES, 0, b"y").expect("reader present");
        let mut r = reader(read);
        let notice = next(&mut r);
        assert_eq!(notice.message_type, STREAM_POSSIBLY_LOST);
        assert_eq!(notice.loss(), Some(Ok((LOST_UNKNOWN, 0, 0, LossCause::Silence as u32))));
    }

    #[test]
    fn the_read_end_is_not_writable_and_not_a_socket() {
        let (read, _sink) = pipe().expect("pipe");
        assert_eq!(nix::unistd::write(&read, b"x"), Err(Errno::EBADF));
        let flags = fcntl(&read, FcntlArg::F_GETFD).expect("F_GETFD");
        assert_ne!(flags & libc_fd_cloexec(), 0, "close-on-exec");
        assert_eq!(nix::sys::socket::send(read.as_raw_fd(), b"x", nix::sys::socket::MsgFlags::empty()), Err(Errno::ENOTSOCK));
    }

    fn libc_fd_cloexec() -> i32 {
        nix::fcntl::FdFlag::FD_CLOEXEC.bits()
    }
}

//! STATS_SUBSCRIBE: counters pushed to a subscriber at a fixed interval
//! (netconf's "subscribe once, receive periodically", reference 003), as a
//! stream. Each tick delivers one snapshot message (`IKC_STATS_SNAPSHOT`):
//! `struct ikc_stats_tick` (tick number, ticks missed, `CLOCK_MONOTONIC` time),
//! then the kernel's own messages for that tick as the kernel framed them,
//! ending with its `NLMSG_DONE` (LINK_STATS: `RTM_NEWLINK` with
//! `IFLA_STATS64`; raw counters, never rates).
//!
//! - Ticks are drift-free: a `timerfd` with absolute deadlines
//!   (`anchor + k·interval`); when the producer is late the timer's expiration
//!   count says how many ticks passed, and those are reported as `missed`.
//! - A reader that falls behind gets "latest wins": a snapshot still queued when
//!   the next is taken is replaced, and the newer one counts it in `skipped`.
//!
//! - `request`: `struct ikc_stats_request`
//! - `ticker`: the absolute-deadline timer

mod request;
mod ticker;

use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

pub use request::{LinkStatsRequest, StatsRequestBuffer, IKC_STATS_SUBSCRIBE, MAX_INTERVAL_MS, MIN_INTERVAL_MS, STATS_REQUEST_LEN};
pub use ticker::Ticker;

use crate::error::{Error, Result};
use crate::net::{self, LinkDumper};
use crate::ns::Namespace;
use crate::stream::{self, EndReason, Lease, Sink, StopSignal, STREAM_COMMAND_TYPES};
use crate::wire::buffer;

/// `nlmsg_type` of a snapshot.
pub const IKC_STATS_SNAPSHOT: u16 = STREAM_COMMAND_TYPES + 0x11;

pub const STATS_TICK_LEN: usize = 40;

buffer!(
    /// `struct ikc_stats_tick`, at the start of every snapshot's payload; the
    /// kernel's messages follow it.
    StatsTickBuffer("ikc_stats_tick", STATS_TICK_LEN) {
        tick, set_tick: (u64, 0..8),
        missed, set_missed: (u64, 8..16),
        skipped, set_skipped: (u64, 16..24),
        monotonic_ns, set_monotonic_ns: (u64, 24..32),
        flags, set_flags: (u32, 32..36),
        reserved, set_reserved: (u32, 36..40),
    }
);

/// How long a finished stream waits for its reader to take the final message.
const FINISH_GRACE: Duration = Duration::from_secs(2);

/// LINK_STATS: the links of `target`, every `interval`, on a stream. The
/// socket is opened now, with `rights`, and the first dump taken now, so that a
/// subscription that cannot work fails here with its errno rather than in the stream.
pub fn subscribe_links(target: &Namespace, request: &[u8], rights: net::Rights, stop: Option<StopSignal>, lease: Lease) -> Result<OwnedFd> {
    let req = LinkStatsRequest::from_message(request)?;
    let mut dumper = LinkDumper::open(target, rights)?;
    let first = dumper.dump()?;
    let ticker = Ticker::start(Duration::from_millis(u64::from(req.interval_ms)))?;
    let (read, sink) = stream::pipe()?;
    std::thread::Builder::new()
        .name("ikc-link-stats".into())
        .spawn(move || {
            // The broker's quota slot is held for as long as the stream runs.
            let _lease = lease;
            run(sink, &ticker, &req, stop.as_ref(), first, || dumper.dump());
        })
        .map_err(|e| Error::from_io("spawn stats stream", &e))?;
    Ok(read)
}

/// The producer: one snapshot per tick until the count is reached, the reader
/// leaves, the stop signal fires or a dump fails; then the final message.
fn run(mut sink: Sink, ticker: &Ticker, req: &LinkStatsRequest, stop: Option<&StopSignal>, first: Vec<u8>, mut dump: impl FnMut() -> Result<Vec<u8>>) {
    let mut tick = 0u64;
    // The newest tick the reader is sure to see, and the newest offered one
    // (which the next offer replaces if the reader has not started on it).
    let mut surviving: Option<u64> = None;
    let mut pending: Option<(u64, u64)> = None;
    let mut next = Some(first);
    loop {
        if let Some(kernel) = next.take() {
            let replaceable = sink.replaceable() > 0;
            let (base, skipped) = match pending {
                Some((_, pending_skipped)) if replaceable => (surviving, pending_skipped + 1),
                Some((pending_tick, _)) => (Some(pending_tick), 0),
                None => (None, 0),
            };
            // Ticks between the reader's previous snapshot and this one: taken
            // and replaced (`skipped`), or never taken (`missed`).
            let unseen = tick - base.map_or(0, |b| b + 1);
            let payload = snapshot(tick, unseen.saturating_sub(skipped), skipped, &kernel);
            if sink.offer_latest(IKC_STATS_SNAPSHOT, 0, &payload).is_err() {
                return;
            }
            surviving = base;
            pending = Some((tick, skipped));
            if req.count != 0 && tick + 1 >= req.count {
                return sink.finish(EndReason::Complete, 0, FINISH_GRACE);
            }
        }
        let mut fds = vec![PollFd::new(ticker.as_fd(), PollFlags::POLLIN), PollFd::new(sink.as_fd(), sink.poll_flags())];
        if let Some(s) = stop {
            fds.push(PollFd::new(s.as_fd(), PollFlags::POLLIN));
        }
        if let Err(e) = poll(&mut fds, PollTimeout::NONE) {
            if e == nix::errno::Errno::EINTR {
                continue;
            }
            return sink.finish(EndReason::Error, e as i32, FINISH_GRACE);
        }
        let ready = |i: usize| fds.get(i).and_then(PollFd::revents).unwrap_or(PollFlags::empty());
        let (timer, pipe, stopped) = (ready(0), ready(1), ready(2));
        if !stopped.is_empty() {
            return sink.finish(EndReason::Shutdown, 0, FINISH_GRACE);
        }
        if pipe.intersects(PollFlags::POLLERR | PollFlags::POLLHUP) || sink.flush().is_err() {
            return;
        }
        if timer.contains(PollFlags::POLLIN) {
            let passed = match ticker.expirations() {
                Ok(n) => n,
                Err(e) => return sink.finish(EndReason::Error, e.errno(), FINISH_GRACE),
            };
            // Ticks the producer slept through were never taken.
            tick += passed;
            match dump() {
                Ok(kernel) => next = Some(kernel),
                Err(e) => return sink.finish(EndReason::Error, e.errno(), FINISH_GRACE),
            }
        }
    }
}

/// A snapshot's payload: the tick header, then the kernel's messages (ending with its `NLMSG_DONE`).
fn snapshot(tick: u64, missed: u64, skipped: u64, body: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; STATS_TICK_LEN + body.len()];
    {
        let mut h = StatsTickBuffer::new_unchecked(&mut out[..STATS_TICK_LEN]);
        h.set_tick(tick);
        h.set_missed(missed);
        h.set_skipped(skipped);
        h.set_monotonic_ns(ticker::monotonic_ns());
    }
    out[STATS_TICK_LEN..].copy_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::LINK_STATS;
    use crate::ns::CURRENT_NETNS;
    use crate::netlink::NLMSG_HEADER_LEN;
    use crate::stream::StreamReader;

    fn subscribe(interval_ms: u32, count: u64) -> StreamReader {
        let req = LinkStatsRequest { interval_ms, count }.to_message();
        let fd = crate::issue_kernel_command(CURRENT_NETNS, LINK_STATS, &[&req], 0).expect("LINK_STATS");
        assert_eq!(fd.kind(), crate::command::ResponseKind::Stream);
        StreamReader::new(fd.into_owned_fd())
    }

    #[test]
    fn delivers_count_snapshots_of_the_links_then_ends_complete() {
        let mut r = subscribe(100, 3);
        let mut ticks = Vec::new();
        let mut times = Vec::new();
        loop {
            let m = r.next_message(Some(Duration::from_secs(5))).expect("read").expect("not EOF before the end");
            if let Some(end) = m.end() {
                let end = end.expect("valid end");
                assert_eq!((end.reason, end.error, end.delivered, end.lost), (EndReason::Complete as u32, 0, 3, 0));
                assert_eq!(m.seq, 3);
                break;
            }
            assert_eq!(m.message_type, IKC_STATS_SNAPSHOT);
            let h = StatsTickBuffer::new_checked(&m.payload[..]).expect("tick header");
            ticks.push((h.tick(), h.missed(), h.skipped()));
            times.push(h.monotonic_ns());
            // The kernel's RTM_NEWLINK messages follow; lo is in every namespace.
            let body = &m.payload[STATS_TICK_LEN..];
            let first = crate::netlink::NetlinkHeaderBuffer::new_checked(body).expect("a kernel message");
            assert_eq!(first.message_type(), 16, "RTM_NEWLINK");
        }
        assert_eq!(ticks, vec![(0, 0, 0), (1, 0, 0), (2, 0, 0)]);
        assert!(times.windows(2).all(|w| w[1] > w[0]));
        assert_eq!(r.next_message(None).expect("eof"), None, "EOF after the end");
    }

    #[test]
    fn a_reader_that_sleeps_sees_the_gap_counted() {
        let mut r = subscribe(100, 0);
        let first = r.next_message(Some(Duration::from_secs(5))).expect("read").expect("tick 0");
        assert_eq!(StatsTickBuffer::new_checked(&first.payload[..]).expect("tick").tick(), 0);
        // Snapshots of lo are small: the pipe holds every one, nothing is
        // replaced; each arrives with nothing missed, ticks consecutive.
        std::thread::sleep(Duration::from_millis(450));
        let mut last = 0;
        for _ in 0..4 {
            let m = r.next_message(Some(Duration::from_secs(5))).expect("read").expect("a tick");
            let h = StatsTickBuffer::new_checked(&m.payload[..]).expect("tick");
            assert_eq!(h.tick() - last - 1, h.missed() + h.skipped(), "the gap is accounted for");
            last = h.tick();
        }
        assert!(last >= 4);
    }

    #[test]
    fn bad_requests_are_refused_before_any_stream() {
        let mut req = LinkStatsRequest { interval_ms: 1000, count: 1 }.to_message();
        req[NLMSG_HEADER_LEN + 8..NLMSG_HEADER_LEN + 12].copy_from_slice(&5u32.to_ne_bytes());
        let e = crate::issue_kernel_command(CURRENT_NETNS, LINK_STATS, &[&req], 0).unwrap_err();
        assert_eq!(e.code(), "EINVAL");
        assert_eq!(crate::issue_kernel_command(crate::ns::CURRENT_PIDNS, LINK_STATS, &[&req], 0).unwrap_err().code(), "EINVAL");
    }
}

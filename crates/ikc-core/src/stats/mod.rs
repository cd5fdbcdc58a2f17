//! STATS_SUBSCRIBE: counters pushed to a subscriber at a fixed interval
//! (netconf's "subscribe once, receive periodically", reference 003), as a
//! stream. Each tick delivers one snapshot message (`IKC_STATS_SNAPSHOT`):
//! `struct ikc_stats_tick` (tick number, ticks missed, `CLOCK_MONOTONIC` time),
//! then the kernel's own messages for that tick as the kernel framed them,
//! ending with its `NLMSG_DONE` (LINK_STATS: `RTM_NEWLINK` with
//! `IFLA_STATS64`; TASK_STATS: the task_diag dump the request names, STAT
//! and PS carrying CPU times, RSS and start times; raw counters, never rates).
//!
//! - Ticks are drift-free: a `timerfd` with absolute deadlines
//!   (`anchor + k·interval`); when the producer is late the timer's expiration
//!   count says how many ticks passed, and those are reported as `missed`.
//! - A reader that falls behind gets "latest wins": a snapshot still queued when
//!   the next is taken is replaced, and the newer one counts it in `skipped`.
//!
//! - Subscribers of one target at one interval share one dump per tick.
//!
//! - `request`: `struct ikc_stats_request`
//! - `ticker`: the absolute-deadline timer
//! - `group`: the shared tickers, one thread and one dump per tick each
//! - `member`: one subscriber of a group, its numbering and its stream
//! - `tasks`: TASK_STATS's source, a task_diag dump for a fixed identity

mod group;
mod member;
mod request;
mod tasks;
mod ticker;

use std::os::fd::OwnedFd;

pub use request::{LinkStatsRequest, TaskStatsRequest, StatsRequestBuffer, IKC_STATS_SUBSCRIBE, MAX_INTERVAL_MS, MIN_INTERVAL_MS, STATS_REQUEST_LEN};
pub use group::running as groups_running;
pub use tasks::TaskSource;
pub use ticker::Ticker;

use group::{GroupKey, Source};
use member::Member;

use crate::error::Result;
use crate::net::{self, LinkDumper};
use crate::ns::Namespace;
use crate::stream::{self, Lease, StopSignal, STREAM_COMMAND_TYPES};
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

/// LINK_STATS: the links of `target`, every `interval`, on a stream. The
/// socket is opened now, with `rights`, and the first dump taken now, so that a
/// subscription that cannot work fails here with its errno rather than in the
/// stream; then the subscriber joins the group sharing its namespace, rights
/// and interval (`group`), whose next deadline is its tick 1.
pub fn subscribe_links(target: &Namespace, request: &[u8], rights: net::Rights, stop: Option<StopSignal>, lease: Lease) -> Result<OwnedFd> {
    let req = LinkStatsRequest::from_message(request)?;
    let mut dumper = LinkDumper::open(target, rights)?;
    let first = Dump::take(|| dumper.dump())?;
    let (read, sink) = stream::pipe()?;
    let key = GroupKey::Links { ns: target.id, rights, interval_ms: req.interval_ms, stop: stop.as_ref().map_or(0, StopSignal::id) };
    group::join(key, Box::new(dumper), &first, |base| Member::new(sink, lease, req.count, base), stop)?;
    Ok(read)
}

/// TASK_STATS: a task_diag dump by `source` every interval, on a stream of
/// its own (each is filtered for its subscriber). The first dump is taken
/// now, so a request that cannot be answered fails here with its errno.
pub fn subscribe_tasks(mut source: TaskSource, req: &TaskStatsRequest, stop: Option<StopSignal>, lease: Lease) -> Result<OwnedFd> {
    let first = source.dump()?;
    let (read, sink) = stream::pipe()?;
    let count = req.count;
    group::join(GroupKey::alone(req.interval_ms), Box::new(source), &first, |base| Member::new(sink, lease, count, base), stop)?;
    Ok(read)
}

/// One kernel dump, shared by every member of a group, and when it was taken.
pub(crate) struct Dump {
    kernel: Vec<u8>,
    taken_ns: u64,
}

impl Dump {
    /// `dump`'s answer, stamped with the time it was taken.
    fn take(dump: impl FnOnce() -> Result<Vec<u8>>) -> Result<Dump> {
        let kernel = dump()?;
        Ok(Dump { kernel, taken_ns: ticker::monotonic_ns() })
    }
}

/// A snapshot's payload: the tick header, then the kernel's messages (ending with its `NLMSG_DONE`).
fn snapshot(tick: u64, missed: u64, skipped: u64, dump: &Dump) -> Vec<u8> {
    let body = &dump.kernel[..];
    let mut out = vec![0u8; STATS_TICK_LEN + body.len()];
    {
        let mut h = StatsTickBuffer::new_unchecked(&mut out[..STATS_TICK_LEN]);
        h.set_tick(tick);
        h.set_missed(missed);
        h.set_skipped(skipped);
        h.set_monotonic_ns(dump.taken_ns);
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
    use crate::stream::{EndReason, StreamReader};
    use std::time::Duration;

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

    #[test]
    fn subscribers_of_one_target_and_interval_share_one_dump_per_tick() {
        // An interval no other test uses, so its groups are this test's.
        const MS: u32 = 3_599_993;
        let mut readers: Vec<StreamReader> = (0..200).map(|_| subscribe(MS, 0)).collect();
        assert_eq!(super::groups_running(Some(MS)), 1, "200 subscribers, one group");
        let other = subscribe(MS - 1, 0);
        assert_eq!(super::groups_running(Some(MS - 1)), 1, "another interval is another group");
        for r in &mut readers {
            let m = r.next_message(Some(Duration::from_secs(5))).expect("read").expect("tick 0");
            assert_eq!(StatsTickBuffer::new_checked(&m.payload[..]).expect("tick").tick(), 0);
        }
        drop(readers);
        drop(other);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while super::groups_running(Some(MS)) + super::groups_running(Some(MS - 1)) > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(super::groups_running(Some(MS)) + super::groups_running(Some(MS - 1)), 0, "a group ends with its last member");
    }

    #[test]
    fn a_late_joiner_numbers_from_0_and_gets_the_same_dumps() {
        const MS: u32 = 101;
        let snaps = |r: &mut StreamReader, n: usize| -> Vec<(u64, u64, Vec<u8>)> {
            (0..n)
                .map(|_| {
                    let m = r.next_message(Some(Duration::from_secs(5))).expect("read").expect("a tick");
                    let h = StatsTickBuffer::new_checked(&m.payload[..]).expect("tick");
                    (h.tick(), h.monotonic_ns(), m.payload[STATS_TICK_LEN..].to_vec())
                })
                .collect()
        };
        let mut a = subscribe(MS, 0);
        let early = snaps(&mut a, 3);
        let mut b = subscribe(MS, 0);
        let late = snaps(&mut b, 3);
        let more = snaps(&mut a, 3);
        assert_eq!(late.iter().map(|s| s.0).collect::<Vec<_>>(), vec![0, 1, 2], "its own numbering");
        // Its tick 0 is its own dump; ticks 1 and 2 are the group's, byte for byte what the first one got.
        let shared: Vec<_> = early.iter().chain(&more).map(|s| (s.1, s.2.clone())).collect();
        for s in &late[1..] {
            assert!(shared.contains(&(s.1, s.2.clone())), "tick {} was the group's dump", s.0);
        }
    }

    #[test]
    fn task_stats_deliver_the_task_diag_dump_each_tick() {
        use crate::task_diag::{ShowFlags, Strategy, TaskDiagRequest};
        let show = ShowFlags::BASE.0 | crate::task_diag::group_of_kind(crate::task_diag::TASK_DIAG_STAT).map_or(0, |g| g.show().0);
        let task = TaskDiagRequest::from_message(&TaskDiagRequest::encode(show, Strategy::One as u64, std::process::id(), 0).expect("encode")).expect("valid");
        let req = TaskStatsRequest { interval_ms: 100, count: 2, task }.to_message();
        let fd = crate::issue_kernel_command(crate::ns::CURRENT_PIDNS, crate::command::TASK_STATS, &[&req], 0).expect("TASK_STATS");
        let mut r = StreamReader::new(fd.into_owned_fd());
        let mut ticks = Vec::new();
        while let Some(m) = r.next_message(Some(Duration::from_secs(5))).expect("read") {
            if let Some(end) = m.end() {
                assert_eq!(end.expect("end").reason, EndReason::Complete as u32);
                continue;
            }
            let h = StatsTickBuffer::new_checked(&m.payload[..]).expect("tick");
            let body = &m.payload[STATS_TICK_LEN..];
            let first = crate::netlink::NetlinkHeaderBuffer::new_checked(body).expect("a task_diag message");
            assert_eq!(first.message_type(), crate::task_diag::TASK_DIAG_CMD_GET);
            ticks.push(h.tick());
        }
        assert_eq!(ticks, vec![0, 1]);
        // A pid that does not exist is refused at once, as TASK_DIAG refuses it.
        let gone = TaskDiagRequest { pid: 0x3fff_fff0, ..task };
        let req = TaskStatsRequest { interval_ms: 100, count: 1, task: gone }.to_message();
        assert_eq!(crate::issue_kernel_command(crate::ns::CURRENT_PIDNS, crate::command::TASK_STATS, &[&req], 0).unwrap_err().code(), "ESRCH");
    }
}

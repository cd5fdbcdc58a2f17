//! One subscriber of a shared ticker: its stream, the tick its own numbering
//! starts at, how many ticks it asked for, and what it was last handed (for
//! `missed` and `skipped`, which are per reader: each has its own pace).

use std::time::Duration;

use super::{snapshot, Dump, IKC_STATS_SNAPSHOT};
use crate::stream::{EndReason, Lease, ReaderGone, Sink};

/// How long a finished stream waits for its reader to take the final message.
const FINISH_GRACE: Duration = Duration::from_secs(2);

pub struct Member {
    pub sink: Sink,
    /// The broker's quota slot for this stream, given back when the member goes.
    _lease: Lease,
    /// Snapshots asked for; 0: until the reader closes.
    count: u64,
    /// The group tick this member's tick 0 was taken at.
    base: u64,
    /// The newest member tick the reader is sure to see, and the newest one
    /// offered with its `skipped` (replaced by the next offer if the reader has
    /// not started on it).
    surviving: Option<u64>,
    pending: Option<(u64, u64)>,
}

/// What a delivery left the member as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivered {
    /// Still subscribed.
    More,
    /// Its count is reached: finish the stream.
    Complete,
    /// The reader closed its end.
    Gone,
}

impl Member {
    pub fn new(sink: Sink, lease: Lease, count: u64, base: u64) -> Member {
        Member { sink, _lease: lease, count, base, surviving: None, pending: None }
    }

    /// Offers the group's dump taken at `group_tick` as this member's snapshot.
    pub fn deliver(&mut self, group_tick: u64, kernel: &Dump) -> Delivered {
        let tick = group_tick.saturating_sub(self.base);
        let replaceable = self.sink.replaceable() > 0;
        let (seen, skipped) = match self.pending {
            Some((_, pending_skipped)) if replaceable => (self.surviving, pending_skipped + 1),
            Some((pending_tick, _)) => (Some(pending_tick), 0),
            None => (None, 0),
        };
        // Ticks between the reader's previous snapshot and this one: taken and
        // replaced (`skipped`), or never taken (`missed`).
        let unseen = tick.saturating_sub(seen.map_or(0, |b| b + 1));
        let payload = snapshot(tick, unseen.saturating_sub(skipped), skipped, kernel);
        if self.sink.offer_latest(IKC_STATS_SNAPSHOT, 0, &payload) == Err(ReaderGone) {
            return Delivered::Gone;
        }
        self.surviving = seen;
        self.pending = Some((tick, skipped));
        if self.count != 0 && tick + 1 >= self.count {
            Delivered::Complete
        } else {
            Delivered::More
        }
    }

    /// Ends this member's stream with `reason`, without holding up the group:
    /// the final message waits for the reader on a thread of its own.
    pub fn finish(self, reason: EndReason, errno: i32) {
        let Member { sink, _lease, .. } = self;
        let spawned = std::thread::Builder::new().name("ikc-stats-end".into()).spawn(move || {
            let _lease = _lease;
            sink.finish(reason, errno, FINISH_GRACE);
        });
        // Without a thread the sink is dropped with the closure: the reader gets EOF.
        drop(spawned);
    }
}

//! What one uid may take from the broker: connections, requests in flight, and
//! response bytes. Keyed by the uid the kernel recorded at `connect()`
//! (`SO_PEERCRED`, in the broker's user namespace), which no client can choose.
//!
//! - **Connections**: at most `max_clients` in all; a uid other than 0 at most
//!   `clients_per_uid`, and the last `max_clients / 16` slots are kept for root,
//!   so neither one user nor a few can lock root out. Over it: `EAGAIN`.
//! - **Requests in flight**: at most `requests_per_uid` at once per uid other
//!   than 0 (each connection already has at most one). Over it: `EAGAIN`.
//! - **Response size**: a response larger than `max_response` is `EMSGSIZE`,
//!   for every uid: it bounds what one answer pins.
//! - **Response budget**: a uid other than 0 is handed responses pinning at
//!   most `response_budget` bytes of memory per `budget_window` (a bucket of
//!   that many bytes, refilled continuously at budget/window), else `ENOBUFS`.
//!   A response is charged the pages its memfd holds (`pinned`): at least one,
//!   so thousands of 100-byte answers cost what they really pin.
//!
//! Why a budget over time rather than a bound on what is held: a response is a
//! sealed memfd whose pages are charged to the broker, and they stay pinned for
//! as long as anyone holds the fd. The broker cannot see when a client closes a
//! response it was given (the fd is in the client's table, and may have been
//! passed on), so it bounds what it hands out instead: a client that keeps
//! every response pins at most `response_budget` bytes per window (plus one
//! response), not whatever it can ask for. `ENOBUFS` ("no buffer space") says
//! the refusal is about the broker's memory for this uid and passes with time;
//! `EMSGSIZE` says this one answer is too large and asking again will not help.
//!
//! - **Streams**: a stream (events, statistics) runs in the broker until its
//!   reader closes it, whether or not the connection that asked stays: at most
//!   `max_streams` in all and `streams_per_uid` per uid other than 0, else
//!   `EAGAIN`. The slot is held by the stream's producer and given back when
//!   the stream ends.
//!
//! Root (uid 0) is not limited per uid: it could read everything itself.
//! Every count here is bookkeeping only, so it is tested without sockets.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nix::errno::Errno;

use crate::error::Error;

/// The limits, as `Config` sets them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub max_clients: usize,
    pub clients_per_uid: usize,
    pub requests_per_uid: usize,
    pub max_response: u64,
    pub response_budget: u64,
    pub budget_window: Duration,
    pub max_streams: usize,
    pub streams_per_uid: usize,
}

/// Beyond this many uids on record, idle ones whose budget is full are dropped.
const SWEEP_ABOVE: usize = 1024;

#[derive(Debug, Default)]
struct Usage {
    connections: usize,
    in_flight: usize,
    streams: usize,
    /// Bytes of budget left and when that was computed; `None` is a full budget.
    budget: Option<(u64, Instant)>,
}

#[derive(Debug, Default)]
struct State {
    connections: usize,
    streams: usize,
    uids: HashMap<u32, Usage>,
}

/// The live counts of one broker, shared by its threads.
#[derive(Debug)]
pub struct Quotas {
    limits: Limits,
    state: Mutex<State>,
    /// Connections being served, for `BrokerHandle::active_clients`.
    active: Arc<AtomicUsize>,
}

fn again(msg: String) -> Error {
    Error::Os { op: msg, errno: Errno::EAGAIN as i32 }
}

impl Quotas {
    pub fn new(limits: Limits, active: Arc<AtomicUsize>) -> Arc<Quotas> {
        Arc::new(Quotas { limits, state: Mutex::new(State::default()), active })
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Connection slots kept for root: the last sixteenth.
    pub fn root_reserve(&self) -> usize {
        self.limits.max_clients / 16
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; if something did, the counts are still counts.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits one connection of `uid`, or says why not (`EAGAIN`). The slot is
    /// given back when the returned guard drops.
    pub fn connect(self: &Arc<Self>, uid: u32, now: Instant) -> Result<ConnectionSlot, Error> {
        let l = &self.limits;
        let mut s = self.state();
        if s.connections >= l.max_clients {
            return Err(again(format!("too many clients: the broker serves {} connections at most (--max-clients)", l.max_clients)));
        }
        if uid != 0 {
            let reserve = self.root_reserve();
            if s.connections >= l.max_clients - reserve {
                return Err(again(format!("too many clients: the last {reserve} of {} connections are kept for root (--max-clients)", l.max_clients)));
            }
            let mine = s.uids.get(&uid).map_or(0, |u| u.connections);
            if mine >= l.clients_per_uid {
                return Err(again(format!("uid {uid} has {mine} connections, the most one uid may hold (--max-clients-per-uid)")));
            }
        }
        if s.uids.len() > SWEEP_ABOVE {
            let limits = self.limits.clone();
            s.uids.retain(|_, u| !idle(u, &limits, now));
        }
        s.connections += 1;
        s.uids.entry(uid).or_default().connections += 1;
        self.active.fetch_add(1, Ordering::SeqCst);
        Ok(ConnectionSlot { quotas: self.clone(), uid })
    }

    /// Admits one request of `uid` (`EAGAIN` beyond `requests_per_uid` in flight);
    /// in flight until the returned guard drops.
    pub fn request(self: &Arc<Self>, uid: u32) -> Result<RequestSlot, Error> {
        let mut s = self.state();
        let usage = s.uids.entry(uid).or_default();
        if uid != 0 && usage.in_flight >= self.limits.requests_per_uid {
            let n = usage.in_flight;
            return Err(again(format!("uid {uid} has {n} requests in flight, the most one uid may (--max-requests-per-uid)")));
        }
        usage.in_flight += 1;
        Ok(RequestSlot { quotas: self.clone(), uid })
    }

    /// Admits one stream of `uid` (`EAGAIN` beyond `max_streams` in all or
    /// `streams_per_uid` for a uid other than 0); running until the guard drops.
    pub fn stream(self: &Arc<Self>, uid: u32) -> Result<StreamSlot, Error> {
        let mut s = self.state();
        if s.streams >= self.limits.max_streams {
            let n = s.streams;
            return Err(again(format!("the broker runs {n} streams, the most it may (--max-streams)")));
        }
        let usage = s.uids.entry(uid).or_default();
        if uid != 0 && usage.streams >= self.limits.streams_per_uid {
            let n = usage.streams;
            return Err(again(format!("uid {uid} has {n} streams open, the most one uid may (--max-streams-per-uid)")));
        }
        usage.streams += 1;
        s.streams += 1;
        Ok(StreamSlot { quotas: self.clone(), uid })
    }

    /// Streams running now, in all and for `uid`.
    pub fn streams(&self, uid: u32) -> (usize, usize) {
        let s = self.state();
        (s.streams, s.uids.get(&uid).map_or(0, |u| u.streams))
    }

    fn release_stream(&self, uid: u32) {
        let now = Instant::now();
        let mut s = self.state();
        s.streams = s.streams.saturating_sub(1);
        if let Some(u) = s.uids.get_mut(&uid) {
            u.streams = u.streams.saturating_sub(1);
            if idle(u, &self.limits, now) {
                s.uids.remove(&uid);
            }
        }
    }

    /// Hands `uid` a response of `len` bytes that pins `bytes` of memory (its
    /// pages), or refuses it: `EMSGSIZE` when `len` is over `max_response` (any
    /// uid), `ENOBUFS` when `bytes` is over what is left of the budget now (uids
    /// other than 0). A refused response is not charged.
    pub fn charge(&self, uid: u32, len: u64, bytes: u64, now: Instant) -> Result<(), Error> {
        let l = &self.limits;
        if len > l.max_response {
            return Err(Error::Os {
                op: format!("the response is {len} bytes, more than the {} one response may be (--max-response-size)", l.max_response),
                errno: Errno::EMSGSIZE as i32,
            });
        }
        if uid == 0 {
            return Ok(());
        }
        let mut s = self.state();
        let usage = s.uids.entry(uid).or_default();
        let left = available(usage.budget, l, now);
        if bytes > left {
            // Left as it was: a refusal spends nothing (and rounds nothing away).
            let wait = refill_time(bytes - left, l);
            return Err(Error::Os {
                op: format!(
                    "uid {uid} was handed its response budget ({} bytes of memory per {} s, --response-budget): {left} left, {bytes} needed; again in {:.1} s",
                    l.response_budget,
                    l.budget_window.as_secs_f64(),
                    wait.as_secs_f64()
                ),
                errno: Errno::ENOBUFS as i32,
            });
        }
        usage.budget = Some((left - bytes, now));
        Ok(())
    }

    /// `ENOBUFS` before any work when `uid` has not even one page of budget
    /// left: a client hammering at a spent budget costs no dumps.
    pub fn precheck(&self, uid: u32, now: Instant) -> Result<(), Error> {
        if uid == 0 {
            return Ok(());
        }
        let l = &self.limits;
        let s = self.state();
        let left = s.uids.get(&uid).map_or(l.response_budget, |u| available(u.budget, l, now));
        let page = pinned(0, 0);
        if left >= page.min(l.response_budget) {
            return Ok(());
        }
        let wait = refill_time(page - left, l);
        Err(Error::Os {
            op: format!(
                "uid {uid} was handed its response budget ({} bytes of memory per {} s, --response-budget); again in {:.1} s",
                l.response_budget,
                l.budget_window.as_secs_f64(),
                wait.as_secs_f64()
            ),
            errno: Errno::ENOBUFS as i32,
        })
    }

    /// (connections, uids on record): for tests and logs.
    pub fn counts(&self) -> (usize, usize) {
        let s = self.state();
        (s.connections, s.uids.len())
    }

    fn release(&self, uid: u32, connection: bool) {
        let now = Instant::now();
        let mut s = self.state();
        if connection {
            s.connections = s.connections.saturating_sub(1);
            self.active.fetch_sub(1, Ordering::SeqCst);
        }
        if let Some(u) = s.uids.get_mut(&uid) {
            if connection {
                u.connections = u.connections.saturating_sub(1);
            } else {
                u.in_flight = u.in_flight.saturating_sub(1);
            }
            if idle(u, &self.limits, now) {
                s.uids.remove(&uid);
            }
        }
    }
}

/// The memory a response memfd of `len` bytes pins: its allocated blocks
/// (`st_blocks`, 512-byte units: huge pages where shmem uses them), and never
/// less than its length in whole 4 KiB pages, nor less than one page.
pub fn pinned(len: u64, blocks: u64) -> u64 {
    const PAGE: u64 = 4096;
    blocks.saturating_mul(512).max(len.div_ceil(PAGE).saturating_mul(PAGE)).max(PAGE)
}

/// What is left of a budget at `now`: refilled at budget/window since it was
/// last computed, up to the whole budget.
fn available(budget: Option<(u64, Instant)>, l: &Limits, now: Instant) -> u64 {
    let Some((left, at)) = budget else { return l.response_budget };
    let window = l.budget_window.as_nanos().max(1);
    let refill = now.saturating_duration_since(at).as_nanos().saturating_mul(u128::from(l.response_budget)) / window;
    u64::try_from(u128::from(left).saturating_add(refill)).unwrap_or(u64::MAX).min(l.response_budget)
}

/// How long `missing` bytes of budget take to come back.
fn refill_time(missing: u64, l: &Limits) -> Duration {
    if l.response_budget == 0 {
        return l.budget_window;
    }
    let nanos = u128::from(missing).saturating_mul(l.budget_window.as_nanos()) / u128::from(l.response_budget);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// A uid with nothing open and its whole budget needs no record.
fn idle(u: &Usage, l: &Limits, now: Instant) -> bool {
    u.connections == 0 && u.in_flight == 0 && u.streams == 0 && available(u.budget, l, now) >= l.response_budget
}

/// One admitted connection; given back on drop.
#[derive(Debug)]
pub struct ConnectionSlot {
    quotas: Arc<Quotas>,
    uid: u32,
}

impl ConnectionSlot {
    pub fn uid(&self) -> u32 {
        self.uid
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.quotas.release(self.uid, true);
    }
}

/// One request in flight; given back on drop.
#[derive(Debug)]
pub struct RequestSlot {
    quotas: Arc<Quotas>,
    uid: u32,
}

impl Drop for RequestSlot {
    fn drop(&mut self) {
        self.quotas.release(self.uid, false);
    }
}

/// One running stream; given back when its producer drops it.
#[derive(Debug)]
pub struct StreamSlot {
    quotas: Arc<Quotas>,
    uid: u32,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.quotas.release_stream(self.uid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn limits() -> Limits {
        Limits { max_clients: 32, clients_per_uid: 4, requests_per_uid: 2, max_response: 4 * MIB, response_budget: 10 * MIB, budget_window: Duration::from_secs(10), max_streams: 5, streams_per_uid: 2 }
    }

    #[test]
    fn streams_are_bounded_per_uid_and_in_all_and_given_back() {
        let q = quotas(limits());
        let a: Vec<_> = (0..2).map(|_| q.stream(1000).expect("within the uid's share")).collect();
        assert_eq!(q.stream(1000).unwrap_err().code(), "EAGAIN", "a third for one uid");
        let root: Vec<_> = (0..3).map(|_| q.stream(0).expect("root is not limited per uid")).collect();
        assert_eq!(q.stream(0).unwrap_err().code(), "EAGAIN", "the broker's total");
        assert_eq!(q.stream(1001).unwrap_err().code(), "EAGAIN", "the total binds every uid");
        drop(a);
        assert_eq!(q.streams(1000), (3, 0));
        let _b = q.stream(1001).expect("given back");
        drop(root);
        assert_eq!(q.streams(1001), (1, 1));
    }
    fn quotas(l: Limits) -> Arc<Quotas> {
        Quotas::new(l, Arc::new(AtomicUsize::new(0)))
    }
    fn code<T: std::fmt::Debug>(r: Result<T, Error>) -> &'static str {
        r.map_or_else(|e| e.code(), |_| "OK")
    }

    #[test]
    fn one_uid_gets_its_share_and_root_and_others_still_get_in() {
        let q = quotas(limits());
        let now = Instant::now();
        let mine: Vec<_> = (0..4).map(|_| q.connect(4711, now).expect("within the quota")).collect();
        assert_eq!(code(q.connect(4711, now)), "EAGAIN", "a fifth connection of the same uid");
        assert_eq!(code(q.connect(4712, now)), "OK", "another uid");
        assert_eq!(code(q.connect(0, now)), "OK", "root");
        drop(mine);
        assert_eq!(code(q.connect(4711, now)), "OK", "slots come back when connections close");
        assert_eq!(q.active.load(Ordering::SeqCst), 0, "every guard above is dropped");
    }

    #[test]
    fn the_last_sixteenth_is_kept_for_root() {
        let q = quotas(Limits { clients_per_uid: 100, ..limits() });
        let now = Instant::now();
        // 32 slots, 2 for root: 30 for everyone else together.
        let many: Vec<_> = (0..30).map(|i| q.connect(5000 + i % 3, now).expect("below the reserve")).collect();
        assert_eq!(code(q.connect(4711, now)), "EAGAIN");
        let r1 = q.connect(0, now).expect("root's reserve");
        let r2 = q.connect(0, now).expect("root's reserve");
        assert_eq!(code(q.connect(0, now)), "EAGAIN", "--max-clients binds root too");
        assert_eq!(q.counts().0, 32);
        drop((many, r1, r2));
        assert_eq!(q.counts(), (0, 0), "nothing on record once all is given back");
    }

    #[test]
    fn requests_in_flight_are_bounded_per_uid_but_not_for_root() {
        let q = quotas(limits());
        let a = q.request(4711).expect("first");
        let _b = q.request(4711).expect("second");
        assert_eq!(code(q.request(4711)), "EAGAIN");
        assert_eq!(code(q.request(4712)), "OK");
        let root: Vec<_> = (0..10).map(|_| q.request(0).expect("root is not limited per uid")).collect();
        drop(a);
        assert_eq!(code(q.request(4711)), "OK", "a finished request frees its slot");
        drop(root);
    }

    #[test]
    fn responses_over_the_size_cap_are_emsgsize_for_everyone() {
        let q = quotas(limits());
        let now = Instant::now();
        assert_eq!(code(q.charge(4711, 4 * MIB + 1, 4 * MIB + 1, now)), "EMSGSIZE");
        assert_eq!(code(q.charge(0, 4 * MIB + 1, 4 * MIB + 1, now)), "EMSGSIZE");
        assert_eq!(code(q.charge(4711, 4 * MIB, 4 * MIB, now)), "OK");
    }

    #[test]
    fn the_budget_is_spent_refused_with_enobufs_and_refilled_over_the_window() {
        let q = quotas(limits());
        let t0 = Instant::now();
        for _ in 0..10 {
            q.charge(4711, MIB, MIB, t0).expect("within the budget");
        }
        let refused = q.charge(4711, MIB, MIB, t0).expect_err("the budget is spent");
        assert_eq!(refused.code(), "ENOBUFS");
        assert!(refused.to_string().contains("again in 1.0 s"), "{refused}");
        assert_eq!(code(q.precheck(4711, t0)), "ENOBUFS", "refused before any work");
        assert_eq!(code(q.precheck(4711, t0 + Duration::from_millis(4))), "OK", "a page is back after 4 ms");
        assert_eq!(code(q.charge(4712, MIB, MIB, t0)), "OK", "another uid has its own budget");
        assert_eq!(code(q.charge(0, 4 * MIB, 4 * MIB, t0)), "OK", "root has none");
        // The bucket refills at budget/window: 1 MiB a second.
        assert_eq!(code(q.charge(4711, MIB, MIB, t0 + Duration::from_millis(900))), "ENOBUFS");
        assert_eq!(code(q.charge(4711, MIB, MIB, t0 + Duration::from_millis(1000))), "OK");
        // Never more than one budget, however long it rested.
        let later = t0 + Duration::from_secs(3600);
        for _ in 0..10 {
            q.charge(4711, MIB, MIB, later).expect("a whole budget again");
        }
        assert_eq!(code(q.charge(4711, 1, 1, later)), "ENOBUFS");
    }

    #[test]
    fn over_any_window_a_uid_is_handed_at_most_two_budgets() {
        // Spend greedily every 10 ms for 30 s: what is handed out in any 10 s
        // window is at most the budget plus the refill during it.
        let l = Limits { max_response: MIB, ..limits() };
        let q = quotas(l.clone());
        let t0 = Instant::now();
        let mut handed: Vec<(Duration, u64)> = Vec::new();
        for ms in (0..30_000).step_by(10) {
            let t = Duration::from_millis(ms);
            while q.charge(4711, 64 << 10, 64 << 10, t0 + t).is_ok() {
                handed.push((t, 64 << 10));
            }
        }
        for (start, _) in &handed {
            let in_window: u64 = handed.iter().filter(|(t, _)| *t >= *start && *t < *start + l.budget_window).map(|(_, b)| b).sum();
            assert!(in_window <= 2 * l.response_budget, "{in_window} bytes in a window from {start:?}");
        }
        let total: u64 = handed.iter().map(|(_, b)| b).sum();
        assert!(total <= l.response_budget * 4, "30 s is three windows plus the first budget: {total}");
    }

    #[test]
    fn records_of_idle_uids_do_not_pile_up() {
        let q = quotas(Limits { max_clients: 100_000, clients_per_uid: 1, ..limits() });
        let now = Instant::now();
        for uid in 1..5000 {
            let c = q.connect(uid, now).expect("one each");
            drop(c);
        }
        assert_eq!(q.counts(), (0, 0), "a uid with nothing open and a full budget is forgotten");
        for uid in 1..3000 {
            q.charge(uid, 1, 1, now).expect("tiny");
        }
        // Spent budgets are remembered until they refill; a sweep then drops them.
        let c = q.connect(1, now + Duration::from_secs(11)).expect("connect");
        assert_eq!(q.counts(), (1, 1));
        drop(c);
    }

    #[test]
    fn a_response_costs_the_pages_it_pins() {
        assert_eq!(pinned(0, 0), 4096, "even an empty memfd holds an inode: one page");
        assert_eq!(pinned(164, 8), 4096, "a tiny answer pins a page");
        assert_eq!(pinned(4097, 16), 8192);
        assert_eq!(pinned(5000, 4096), 2 << 20, "a huge page is charged whole");
        assert_eq!(pinned(u64::MAX, u64::MAX), u64::MAX);
        // 2,000 tiny answers spend 8 MB of budget, not 328 KB.
        let q = quotas(Limits { response_budget: 8 * MIB, ..limits() });
        let now = Instant::now();
        let handed = (0..3000).take_while(|_| q.charge(4711, 164, pinned(164, 8), now).is_ok()).count();
        assert_eq!(handed, 2048);
    }

    #[test]
    fn absurd_limits_and_clocks_never_panic() {
        let q = quotas(Limits { max_clients: 0, clients_per_uid: 0, requests_per_uid: 0, max_response: u64::MAX, response_budget: u64::MAX, budget_window: Duration::ZERO, max_streams: 0, streams_per_uid: 0 });
        let now = Instant::now();
        assert_eq!(code(q.connect(0, now)), "EAGAIN");
        assert_eq!(code(q.request(1)), "EAGAIN");
        assert_eq!(code(q.charge(1, u64::MAX, u64::MAX, now)), "OK");
        assert_eq!(code(q.charge(1, u64::MAX, u64::MAX, now)), "ENOBUFS");
        // A clock that goes backwards refills nothing.
        if let Some(before) = now.checked_sub(Duration::from_secs(1)) {
            assert_eq!(code(q.charge(1, 1, 1, before)), "ENOBUFS");
        }
        let z = quotas(Limits { response_budget: 0, max_response: 0, ..limits() });
        assert_eq!(code(z.charge(1, 0, 0, now)), "OK");
        assert_eq!(code(z.charge(1, 1, 1, now)), "EMSGSIZE");
    }
}

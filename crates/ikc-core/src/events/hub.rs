//! The hub: one thread per process (the broker is one process) that holds the
//! one connector socket and fans its events out to every subscriber.
//!
//! - Loss at the source is never silent: `ENOBUFS` on the socket, or a gap in
//!   the connector's per-CPU sequence numbers (which count every message the
//!   connector sends, its acknowledgements included, and ikc receives them
//!   all since it filters nothing in the kernel), is a `LOST` notice on every
//!   stream, and the cache is seeded again.
//! - Silence is noticed: every `SILENCE_CHECK` the fork counter of
//!   `/proc/stat` (`processes`) is compared with the fork events received; a
//!   counter that moved while nothing came means the kernel stopped sending
//!   (its listener count was zeroed: an unbalanced IGNORE before Linux 6.6, or
//!   a send that found no receiver because ikc's own socket overran). The hub
//!   re-arms with a fresh socket (LISTEN on the old one would not count again)
//!   and every stream gets `POSSIBLY_LOST`.
//! - A subscriber whose reader closes is dropped at once (`POLLERR`); one that
//!   does not read fills its own queue and loses its own events (`LOST`);
//!   nothing one subscriber does changes what another receives.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::eventfd::{EfdFlags, EventFd};

use super::connector::{Connector, Received};
use super::message::{EventType, KernelEvent};
use super::subscriber::{Fate, Subscriber, CMDLINE_LIMIT};
use super::tasks::TaskCache;
use crate::error::{Error, Result};
use crate::stats::Ticker;
use crate::stream::{EndReason, LossCause, LOST_UNKNOWN};

/// How often silence is looked for.
pub const SILENCE_CHECK: Duration = Duration::from_millis(500);
/// How long a finished stream waits for its reader to take the final message.
const FINISH_GRACE: Duration = Duration::from_secs(1);

/// Fault injection for tests: while set, the hub discards what the kernel
/// sends, as if the connector had gone quiet.
pub static SIMULATE_SILENCE: AtomicBool = AtomicBool::new(false);
/// How many times a hub of this process re-armed its subscription.
pub static REARMS: AtomicU64 = AtomicU64::new(0);
/// Source losses seen by hubs of this process (ENOBUFS or sequence gaps).
pub static SOURCE_LOSSES: AtomicU64 = AtomicU64::new(0);

/// A subscriber on its way to the hub, and where the hub says it is in.
type Joining = (Subscriber, mpsc::SyncSender<()>);

struct Handle {
    tx: Sender<Joining>,
    wake: Arc<EventFd>,
    generation: u64,
}

static HUB: Mutex<Option<Handle>> = Mutex::new(None);
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// How long `join` waits for the hub to take a subscriber in.
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Hands a subscriber to this process's hub, starting the hub (and its
/// connector socket, whose errors are returned here) if none runs. Returns
/// once the hub has taken it in: every event the kernel sends after that
/// reaches it.
pub fn join(sub: Subscriber) -> Result<()> {
    let (done_tx, done_rx) = mpsc::sync_channel(1);
    send(sub, done_tx)?;
    done_rx.recv_timeout(JOIN_TIMEOUT).map_err(|_| Error::os("events hub did not take the subscriber in", nix::errno::Errno::ETIMEDOUT))
}

fn send(sub: Subscriber, done: mpsc::SyncSender<()>) -> Result<()> {
    let mut joining = (sub, done);
    let mut hub = HUB.lock().map_err(|_| Error::damaged("events hub lock poisoned"))?;
    for _ in 0..2 {
        if hub.is_none() {
            *hub = Some(start()?);
        }
        let Some(h) = hub.as_ref() else { continue };
        match h.tx.send(joining) {
            Ok(()) => {
                let _ = h.wake.write(1);
                return Ok(());
            }
            Err(mpsc::SendError(back)) => {
                joining = back;
                *hub = None;
            }
        }
    }
    Err(Error::damaged("events hub would not start"))
}

fn start() -> Result<Handle> {
    let mut connector = Connector::open()?;
    let mut cache = TaskCache::new()?;
    // A dump of a busy host takes seconds (50 000 threads: some 4 s): what the
    // kernel sent meanwhile would be judged that late, its tasks gone by then.
    // Nobody has joined yet, so it is dropped; tasks forked meanwhile are read
    // when an event names them.
    cache.seed()?;
    connector.discard_queued();
    let wake = Arc::new(EventFd::from_flags(EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK).map_err(|e| Error::os("eventfd", e))?);
    let ticker = Ticker::start(SILENCE_CHECK)?;
    let (tx, rx) = mpsc::channel();
    let generation = GENERATION.fetch_add(1, Ordering::Relaxed) + 1;
    let hub = Hub { connector, cache, subs: Vec::new(), next_seq: Vec::new(), forks_counted: forks_since_boot(), forks_seen: 0, reseed: false };
    let w = wake.clone();
    std::thread::Builder::new()
        .name("ikc-events".into())
        .spawn(move || hub.run(rx, &w, &ticker, generation))
        .map_err(|e| Error::from_io("spawn events hub", &e))?;
    Ok(Handle { tx, wake, generation })
}

struct Hub {
    connector: Connector,
    cache: TaskCache,
    subs: Vec<Subscriber>,
    /// The next connector sequence number expected from each CPU.
    next_seq: Vec<Option<u32>>,
    forks_counted: Option<u64>,
    forks_seen: u64,
    reseed: bool,
}

impl Hub {
    fn run(mut self, rx: Receiver<Joining>, wake: &EventFd, ticker: &Ticker, generation: u64) {
        let mut buf = vec![0u8; 256 * 1024];
        let mut events = Vec::with_capacity(1024);
        loop {
            self.take_new(&rx);
            if self.subs.is_empty() {
                // Leave only if nobody is joining: the lock orders this against `join`.
                let Ok(mut hub) = HUB.lock() else { return };
                self.take_new(&rx);
                if self.subs.is_empty() {
                    if hub.as_ref().is_some_and(|h| h.generation == generation) {
                        *hub = None;
                    }
                    return;
                }
            }
            let mut fds = vec![
                PollFd::new(self.connector.as_fd(), PollFlags::POLLIN),
                PollFd::new(wake.as_fd(), PollFlags::POLLIN),
                PollFd::new(ticker.as_fd(), PollFlags::POLLIN),
            ];
            for s in &self.subs {
                fds.push(PollFd::new(s.sink.as_fd(), s.sink.poll_flags()));
            }
            let stops: Vec<usize> = self.subs.iter().enumerate().filter(|(_, s)| s.stop.is_some()).map(|(i, _)| i).collect();
            for &i in &stops {
                if let Some(st) = &self.subs[i].stop {
                    fds.push(PollFd::new(st.as_fd(), PollFlags::POLLIN));
                }
            }
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
            let ready = |i: usize| fds.get(i).and_then(PollFd::revents).unwrap_or(PollFlags::empty());
            let n = self.subs.len();
            let sink_ready: Vec<PollFlags> = (0..n).map(|i| ready(3 + i)).collect();
            let stopped: Vec<usize> = stops.iter().enumerate().filter(|(k, _)| !ready(3 + n + k).is_empty()).map(|(_, &i)| i).collect();
            let (conn, woke, tick) = (ready(0), ready(1), ready(2));
            drop(fds);
            if !woke.is_empty() {
                let _ = wake.read();
            }
            // Subscribers that joined while the hub polled are in before anything is read.
            self.take_new(&rx);
            // Closed readers go at once; backlogs move on.
            let mut gone = vec![false; self.subs.len()];
            for (i, r) in sink_ready.iter().enumerate() {
                if r.intersects(PollFlags::POLLERR | PollFlags::POLLHUP) || (r.contains(PollFlags::POLLOUT) && self.subs[i].sink.flush().is_err()) {
                    gone[i] = true;
                }
            }
            let mut finishing: Vec<(usize, EndReason)> = stopped.into_iter().map(|i| (i, EndReason::Shutdown)).collect();
            if conn.contains(PollFlags::POLLIN) {
                self.receive(&mut buf, &mut events, &mut gone, &mut finishing);
            }
            if tick.contains(PollFlags::POLLIN) {
                let _ = ticker.expirations();
                self.check_silence(&mut buf, &mut events, &mut gone, &mut finishing);
                if self.reseed {
                    self.reseed = false;
                    self.cache.invalidate();
                }
                self.cache.sweep(4096);
            }
            self.retire(gone, finishing);
        }
    }

    fn take_new(&mut self, rx: &Receiver<Joining>) {
        loop {
            match rx.try_recv() {
                Ok((s, done)) => {
                    // Nothing is read again here: a dump while events queue up
                    // makes the hub judge them late, when their tasks are gone.
                    self.subs.push(s);
                    let _ = done.send(());
                }
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => return,
            }
        }
    }

    fn receive(&mut self, buf: &mut [u8], events: &mut Vec<KernelEvent>, gone: &mut [bool], finishing: &mut Vec<(usize, EndReason)>) {
        events.clear();
        let got = self.connector.receive(buf, events);
        if SIMULATE_SILENCE.load(Ordering::Relaxed) {
            events.clear();
            return;
        }
        match got {
            Ok(Received::Overrun) => {
                self.source_loss(LOST_UNKNOWN);
                // The next read starts a new run of numbers.
                self.next_seq.iter_mut().for_each(|s| *s = None);
            }
            Ok(Received::Events | Received::Empty) => {}
            Err(_) => {}
        }
        let batch = std::mem::take(events);
        for ev in &batch {
            self.dispatch(ev, gone, finishing);
        }
        *events = batch;
    }

    /// Per-CPU sequence numbers: a gap is messages the kernel sent and this socket never got.
    fn account_seq(&mut self, ev: &KernelEvent) {
        let cpu = ev.cpu as usize;
        if cpu > 4096 {
            return;
        }
        if self.next_seq.len() <= cpu {
            self.next_seq.resize(cpu + 1, None);
        }
        if let Some(expected) = self.next_seq[cpu] {
            let gap = ev.seq.wrapping_sub(expected);
            if gap != 0 && gap < 1 << 31 {
                self.source_loss(u64::from(gap));
            }
        }
        self.next_seq[cpu] = Some(ev.seq.wrapping_add(1));
    }

    fn source_loss(&mut self, count: u64) {
        SOURCE_LOSSES.fetch_add(1, Ordering::Relaxed);
        for s in &mut self.subs {
            s.sink.source_lost(count, LossCause::Source);
        }
        // Forks and exits were missed: every cached entry is read again before it is used.
        self.reseed = true;
    }

    fn dispatch(&mut self, ev: &KernelEvent, gone: &mut [bool], finishing: &mut Vec<(usize, EndReason)>) {
        self.account_seq(ev);
        let Some(t) = ev.event_type() else { return };
        let (pid, tgid) = ev.subject();
        let mut comm_known = true;
        match t {
            EventType::None => return,
            EventType::Fork => {
                self.forks_seen += 1;
                self.cache.fork(ev.data[0], pid, tgid);
            }
            EventType::Exec | EventType::Uid | EventType::Gid => {
                // An exec whose task is gone before it is read has a new comm
                // nobody can know: none is sent rather than the old one.
                comm_known = self.cache.read(tgid, pid) || t != EventType::Exec;
            }
            EventType::Comm => {
                let mut comm = [0u8; 16];
                for (c, w) in comm.chunks_exact_mut(4).zip(&ev.data[2..6]) {
                    c.copy_from_slice(&w.to_ne_bytes());
                }
                self.cache.set_comm(pid, comm);
            }
            _ => {}
        }
        let comm = self.cache.get(pid).filter(|_| comm_known).map(|e| e.comm);
        let mut cmdline: Option<Option<Vec<u8>>> = None;
        for (i, s) in self.subs.iter_mut().enumerate() {
            if gone[i] || finishing.iter().any(|(f, _)| *f == i) {
                continue;
            }
            let mut read_cmdline = |c: &mut TaskCache| cmdline.get_or_insert_with(|| c.cmdline(tgid, CMDLINE_LIMIT)).clone();
            match s.offer(ev, &mut self.cache, comm.as_ref(), &mut read_cmdline) {
                Ok(Fate::Complete) => finishing.push((i, EndReason::Complete)),
                Ok(Fate::Sent | Fate::Skipped) => {}
                Err(_) => gone[i] = true,
            }
        }
        if t == EventType::Exit {
            self.cache.exit(pid);
        }
    }

    fn check_silence(&mut self, buf: &mut [u8], events: &mut Vec<KernelEvent>, gone: &mut [bool], finishing: &mut Vec<(usize, EndReason)>) {
        // What is queued now was sent before the counter is read.
        self.receive(buf, events, gone, finishing);
        let now = forks_since_boot();
        let (Some(before), Some(after)) = (self.forks_counted, now) else {
            self.forks_counted = now;
            return;
        };
        let forked = after.saturating_sub(before);
        let seen = std::mem::take(&mut self.forks_seen);
        self.forks_counted = now;
        // Two forks with no event at all: the kernel is not sending.
        if forked >= 2 && seen == 0 {
            self.rearm();
        }
    }

    /// A fresh socket and LISTEN on it (the old one is closed without IGNORE).
    fn rearm(&mut self) {
        let Ok(fresh) = Connector::open() else { return };
        REARMS.fetch_add(1, Ordering::Relaxed);
        self.connector = fresh;
        self.next_seq.clear();
        self.reseed = true;
        for s in &mut self.subs {
            s.sink.source_lost(LOST_UNKNOWN, LossCause::Silence);
        }
    }

    /// Drops closed subscribers and ends finished ones.
    fn retire(&mut self, gone: Vec<bool>, mut finishing: Vec<(usize, EndReason)>) {
        if !gone.iter().any(|g| *g) && finishing.is_empty() {
            return;
        }
        finishing.sort_by_key(|(i, _)| *i);
        finishing.dedup_by_key(|(i, _)| *i);
        let subs = std::mem::take(&mut self.subs);
        for (i, s) in subs.into_iter().enumerate() {
            if gone.get(i).copied().unwrap_or(false) {
                continue;
            }
            if let Some((_, reason)) = finishing.iter().find(|(f, _)| *f == i) {
                let reason = *reason;
                let sink = s.sink;
                std::thread::spawn(move || sink.finish(reason, 0, FINISH_GRACE));
                continue;
            }
            self.subs.push(s);
        }
    }
}

/// The kernel's count of forks since boot (`processes` in `/proc/stat`).
pub fn forks_since_boot() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    stat.lines().find_map(|l| l.strip_prefix("processes ")).and_then(|n| n.trim().parse().ok())
}

#[allow(dead_code)]
fn _assert_send(_: &OwnedFd) {}

//! Shared tickers: subscribers of the same target at the same interval share
//! one kernel dump per tick, so a thousand subscribers to one namespace's link
//! counters every second cost one dump a second, not a thousand. A group is
//! keyed by everything the dump depends on: the namespace, the rights its
//! socket was opened with (so a shared dump shows no sharer more than it may
//! see), the interval, and whose stop signal ends it (each broker its own).
//! Task statistics are filtered for each subscriber's identity, so each is a
//! group of its own (`GroupKey::Alone`). One thread per group polls its timer,
//! every member's pipe and the stop signal; it ends when its last member leaves.

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::member::{Delivered, Member};
use super::{Dump, Ticker};
use crate::error::{Error, Result};
use crate::net::{LinkDumper, Rights};

use crate::ns::NsId;
use crate::stream::{EndReason, StopSignal};

/// What a shared dump depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupKey {
    Links {
        ns: NsId,
        rights: Rights,
        interval_ms: u32,
        /// The stop signal's identity (`StopSignal::id`), 0 for none.
        stop: usize,
    },
    /// A group nobody else joins (numbered to be unique), at `interval_ms`.
    Alone { id: u64, interval_ms: u32 },
}

impl GroupKey {
    pub fn interval_ms(&self) -> u32 {
        match *self {
            GroupKey::Links { interval_ms, .. } | GroupKey::Alone { interval_ms, .. } => interval_ms,
        }
    }

    /// A key no other subscription has.
    pub fn alone(interval_ms: u32) -> GroupKey {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        GroupKey::Alone { id: NEXT.fetch_add(1, Ordering::Relaxed), interval_ms }
    }
}

/// Where a group's dumps come from: the kernel's answer for one tick.
pub trait Source: Send + 'static {
    fn dump(&mut self) -> Result<Dump>;
}

impl Source for LinkDumper {
    fn dump(&mut self) -> Result<Dump> {
        Dump::take(|| LinkDumper::dump(self))
    }
}

/// A running group, as joiners find it.
struct Handle {
    joiners: Sender<Member>,
    /// Written to wake the group's poll when a member joins.
    wake: OwnedFd,
    /// The group's tick now: a joiner's tick 0 is taken at it.
    tick: Arc<AtomicU64>,
}

fn groups() -> MutexGuard<'static, HashMap<GroupKey, Handle>> {
    static GROUPS: OnceLock<Mutex<HashMap<GroupKey, Handle>>> = OnceLock::new();
    // A panic while the map is held cannot leave it half-changed (every change is one insert or remove).
    GROUPS.get_or_init(Default::default).lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How many groups run now, in all and at `interval_ms` (tests, and the
/// bench's figure of dumps per tick).
pub fn running(interval_ms: Option<u32>) -> usize {
    groups().keys().filter(|k| interval_ms.is_none_or(|ms| k.interval_ms() == ms)).count()
}

/// Adds a subscriber whose first snapshot `first` (taken with `dumper`, just
/// now) it has not yet been given. It joins the group for `key` if one runs,
/// else starts one with `dumper` (whose socket is then the group's).
pub fn join(key: GroupKey, source: Box<dyn Source>, first: &Dump, make_member: impl FnOnce(u64) -> Member, stop: Option<StopSignal>) -> Result<()> {
    let mut map = groups();
    if let Some(h) = map.get(&key) {
        let base = h.tick.load(Ordering::SeqCst);
        let mut member = make_member(base);
        match member.deliver(base, first) {
            Delivered::More => {}
            Delivered::Complete => {
                member.finish(EndReason::Complete, 0);
                return Ok(());
            }
            Delivered::Gone => return Ok(()),
        }
        // The group removes itself only under this lock, so it is there to receive.
        if h.joiners.send(member).is_ok() {
            let _ = nix::unistd::write(&h.wake, &[1]);
        }
        return Ok(());
    }
    let mut member = make_member(0);
    let ticker = Ticker::start(std::time::Duration::from_millis(u64::from(key.interval_ms())))?;
    let (wake_rx, wake_tx) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK).map_err(|e| Error::os("pipe2", e))?;
    let (tx, rx) = channel();
    let tick = Arc::new(AtomicU64::new(0));
    match member.deliver(0, first) {
        Delivered::More => {}
        Delivered::Complete => {
            member.finish(EndReason::Complete, 0);
            return Ok(());
        }
        Delivered::Gone => return Ok(()),
    }
    let group = Group { key, source, ticker, wake: wake_rx, joiners: rx, tick: tick.clone(), stop, members: vec![member] };
    std::thread::Builder::new()
        .name(match key {
            GroupKey::Links { .. } => "ikc-link-stats".into(),
            GroupKey::Alone { .. } => "ikc-task-stats".into(),
        })
        .spawn(move || group.run())
        .map_err(|e| Error::from_io("spawn stats group", &e))?;
    map.insert(key, Handle { joiners: tx, wake: wake_tx, tick });
    Ok(())
}

struct Group {
    key: GroupKey,
    source: Box<dyn Source>,
    ticker: Ticker,
    wake: OwnedFd,
    joiners: Receiver<Member>,
    tick: Arc<AtomicU64>,
    stop: Option<StopSignal>,
    members: Vec<Member>,
}

impl Group {
    fn run(mut self) {
        loop {
            if self.members.is_empty() && self.leave_if_alone() {
                return;
            }
            let mut fds = vec![
                PollFd::new(self.ticker.as_fd(), PollFlags::POLLIN),
                PollFd::new(self.wake.as_fd(), PollFlags::POLLIN),
                PollFd::new(self.stop.as_ref().map_or(self.wake.as_fd(), |s| s.as_fd()), PollFlags::POLLIN),
            ];
            fds.extend(self.members.iter().map(|m| PollFd::new(m.sink.as_fd(), m.sink.poll_flags())));
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return self.end_all(EndReason::Error, e as i32),
            }
            let ready: Vec<PollFlags> = fds.iter().map(|f| f.revents().unwrap_or(PollFlags::empty())).collect();
            drop(fds);
            if self.stop.is_some() && !ready[2].is_empty() {
                return self.end_all(EndReason::Shutdown, 0);
            }
            // Readers that closed, or whose pipe took what was queued.
            let mut i = 0;
            self.members.retain_mut(|m| {
                let r = ready[3 + i];
                i += 1;
                !(r.intersects(PollFlags::POLLERR | PollFlags::POLLHUP) || m.sink.flush().is_err())
            });
            if ready[1].contains(PollFlags::POLLIN) {
                let mut drain = [0u8; 64];
                while matches!(nix::unistd::read(&self.wake, &mut drain), Ok(n) if n > 0) {}
                self.members.extend(self.joiners.try_iter());
            }
            if ready[0].contains(PollFlags::POLLIN) {
                let passed = match self.ticker.expirations() {
                    Ok(n) => n,
                    Err(e) => return self.end_all(EndReason::Error, e.errno()),
                };
                // Ticks the group slept through were never taken: `missed` for every member.
                let tick = self.tick.fetch_add(passed, Ordering::SeqCst) + passed;
                let kernel = match self.source.dump() {
                    Ok(k) => k,
                    Err(e) => return self.end_all(EndReason::Error, e.errno()),
                };
                for mut m in std::mem::take(&mut self.members) {
                    match m.deliver(tick, &kernel) {
                        Delivered::More => self.members.push(m),
                        Delivered::Complete => m.finish(EndReason::Complete, 0),
                        Delivered::Gone => {}
                    }
                }
            }
        }
    }

    /// With no member left: unregisters the group unless someone joined
    /// meanwhile (joiners send under the same lock). True if it is gone.
    fn leave_if_alone(&mut self) -> bool {
        let mut map = groups();
        self.members.extend(self.joiners.try_iter());
        if self.members.is_empty() {
            map.remove(&self.key);
            return true;
        }
        false
    }

    fn end_all(mut self, reason: EndReason, errno: i32) {
        {
            let mut map = groups();
            map.remove(&self.key);
            self.members.extend(self.joiners.try_iter());
        }
        for m in self.members.drain(..) {
            m.finish(reason, errno);
        }
    }
}

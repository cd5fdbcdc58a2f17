//! One subscriber of a hub: its stream's sink, what it asked for, who it is
//! (the credentials it is judged by) and where it stands (its pid namespace).
//! Deciding whether an event reaches it, and in which numbering, is here.

use std::collections::HashSet;

use super::message::{encode, EventType, KernelEvent};
use super::request::EventsRequest;
use super::tasks::TaskCache;
use crate::stream::{Lease, Offered, ReaderGone, Sink, StopSignal};
use crate::visibility::Viewer;

/// The longest command line sent with an exec.
pub const CMDLINE_LIMIT: usize = 4096;

/// Who a subscriber is and where it stands.
#[derive(Debug, Clone)]
pub struct Audience {
    /// Every identity it is judged as (a broker's client: as it is and as it connected).
    pub viewers: Vec<Viewer>,
    /// Sees every task (`CAP_SYS_PTRACE` over the initial user namespace, for every identity).
    pub omniscient: bool,
    /// Its pid namespace's depth below the initial one, and its inode.
    pub depth: usize,
    pub pid_ns: u64,
}

pub struct Subscriber {
    pub sink: Sink,
    pub req: EventsRequest,
    pub audience: Audience,
    /// The tgids followed (initial-namespace numbers), when the request names pids.
    pub pids: Option<HashSet<u32>>,
    pub stop: Option<StopSignal>,
    pub delivered: u64,
    pub _lease: Lease,
}

/// What became of an event for one subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Skipped,
    Sent,
    /// The count asked for is reached: the stream is to end.
    Complete,
}

impl Subscriber {
    /// Offers `ev` if this subscriber wants it and may see it. `comm` and
    /// `cmdline` are what the hub knows of the subject after the event.
    pub fn offer(&mut self, ev: &KernelEvent, cache: &mut TaskCache, comm: Option<&[u8; 16]>, cmdline: &mut dyn FnMut(&mut TaskCache) -> Option<Vec<u8>>) -> Result<Fate, ReaderGone> {
        let Some(t) = ev.event_type() else { return Ok(Fate::Skipped) };
        let (pid, tgid) = ev.subject();
        // The followed subtree grows and shrinks by every fork and exit, asked for or not.
        let wanted = self.req.wants(t) && !(t == EventType::Exit && self.req.nonzero_exit_only() && ev.exit_code() == Some(0));
        if !wanted && !(self.req.subtree() && matches!(t, EventType::Fork | EventType::Exit)) {
            return Ok(Fate::Skipped);
        }
        if let Some(set) = &mut self.pids {
            let related = ev.related().map(|(_, g)| g);
            let follows = set.contains(&tgid) || (t == EventType::Fork && related.is_some_and(|g| set.contains(&g)));
            if !follows {
                return Ok(Fate::Skipped);
            }
            if t == EventType::Fork && self.req.subtree() && pid == tgid {
                set.insert(tgid);
            }
            if t == EventType::Exit && pid == tgid && self.req.subtree() {
                set.remove(&tgid);
            }
        }
        if !wanted {
            return Ok(Fate::Skipped);
        }
        // Re-reading is for judged subscribers only: a re-read of a task that
        // has exited (no mm, no ns links) would replace what was known of it
        // with less, for every other subscriber too.
        if !self.audience.omniscient {
            cache.fresh(tgid, pid);
            if !cache.may_see(&self.audience.viewers, pid) {
                return Ok(Fate::Skipped);
            }
        }
        // Pids into the subscriber's numbering; the subject must be in its namespace.
        let mut data = ev.data;
        if self.audience.depth > 0 {
            for &w in ev.pid_words() {
                data[w] = if data[w] == 0 { 0 } else { cache.pid_in(data[w], self.audience.depth, self.audience.pid_ns).unwrap_or(0) };
            }
            let (sp, sg) = match t {
                EventType::Fork => (data[2], data[3]),
                _ => (data[0], data[1]),
            };
            if sp == 0 || sg == 0 {
                return Ok(Fate::Skipped);
            }
            // The subject is in the namespace, so another task it names that
            // did not translate may be known wrongly (an entry inherited at a
            // fork into a new namespace): read once more, then translate again.
            for pair in ev.pid_words().chunks_exact(2) {
                let (pw, gw) = (pair[0], pair[1]);
                if data[pw] == 0 && ev.data[pw] != 0 && cache.read(ev.data[gw], ev.data[pw]) {
                    data[pw] = cache.pid_in(ev.data[pw], self.audience.depth, self.audience.pid_ns).unwrap_or(0);
                    data[gw] = cache.pid_in(ev.data[gw], self.audience.depth, self.audience.pid_ns).unwrap_or(0);
                }
            }
        }
        // Another task an event names (a parent, a tracer) is shown only if visible too.
        if !self.audience.omniscient {
            let hide = |w: usize, data: &mut [u32; 6], cache: &mut TaskCache| {
                if data[w] != 0 && !cache.may_see(&self.audience.viewers, ev.data[w]) {
                    data[w] = 0;
                }
            };
            for &w in ev.pid_words() {
                let subject_word = match t {
                    EventType::Fork => w >= 2,
                    _ => w < 2,
                };
                if !subject_word {
                    hide(w, &mut data, cache);
                }
            }
        }
        let cmd = if t == EventType::Exec && self.req.cmdline() { cmdline(cache) } else { None };
        let payload = encode(ev, &data, comm, cmd.as_deref());
        match self.sink.offer(super::message::IKC_PROC_EVENT, 0, &payload)? {
            Offered::Queued | Offered::Dropped => {}
        }
        self.delivered += 1;
        if self.req.count != 0 && self.delivered >= self.req.count {
            return Ok(Fate::Complete);
        }
        Ok(Fate::Sent)
    }
}

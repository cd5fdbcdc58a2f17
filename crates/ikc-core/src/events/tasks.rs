//! The pid → credentials cache a hub judges visibility by: seeded from a
//! procfs dump, inherited on fork (a child starts with its parent's
//! credentials), refreshed from procfs on exec, uid and gid events (the
//! connector reports only real and effective ids, and nothing at all for
//! `capset`, `PR_SET_DUMPABLE` or a file-capability exec), refreshed again
//! when an entry is older than `MAX_AGE` and a subscriber that does not see
//! everything asks, dropped on exit. An entry that cannot be read is marked
//! untrusted, and an untrusted entry shows the task to nobody who is judged:
//! when in doubt, hide.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::backend::procfs::ProcFs;
use crate::error::Result;
use crate::task::{NsLevels, TaskInfo};
use crate::userns::UserNsTree;
use crate::visibility::{self, Target, Viewer};

/// How long a cached verdict may stand before a judged subscriber's event
/// re-reads it (changes no event reports: dumpability, capabilities).
pub const MAX_AGE: Duration = Duration::from_millis(250);

/// What the cache knows of one task (keyed by its tid).
#[derive(Debug, Clone)]
pub struct Entry {
    pub target: Target,
    pub levels: NsLevels,
    /// The inode of the task's pid namespace, 0 if not read.
    pub pid_ns: u64,
    pub comm: [u8; 16],
    pub read_at: Instant,
    /// Read from procfs (or inherited from an entry that was); false once a read failed.
    pub trusted: bool,
}

pub struct TaskCache {
    proc: ProcFs,
    map: HashMap<u32, Entry>,
    pub users: UserNsTree,
    /// A pid namespace's chain of inodes, itself first, up to the initial one.
    chains: HashMap<u64, Option<Vec<u64>>>,
    pub reads: u64,
    /// Entries the last seed did not find (dropped by the next one).
    ghosts: std::collections::HashSet<u32>,
    /// Entries `sweep` has yet to check.
    to_sweep: Vec<u32>,
}

impl TaskCache {
    pub fn new() -> Result<TaskCache> {
        let mut proc = ProcFs::open()?;
        proc.set_owner_check(true);
        Ok(TaskCache { proc, map: HashMap::new(), users: UserNsTree::default(), chains: HashMap::new(), reads: 0, ghosts: Default::default(), to_sweep: Vec::new() })
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Reads every task procfs lists. An entry of a task no longer listed is
    /// kept until the next seed: the task is gone, but its exit may still be
    /// queued on the socket, and it is judged by what it was when last read
    /// (dropping it would hide that exit from everyone who saw the task).
    pub fn seed(&mut self) -> Result<()> {
        let mut listed = std::collections::HashSet::new();
        for tgid in self.proc.tgids()? {
            let Some(tids) = self.proc.tids(tgid)? else { continue };
            for tid in tids {
                listed.insert(tid);
                self.read(tgid, tid);
            }
        }
        let previous_ghosts = std::mem::take(&mut self.ghosts);
        self.map.retain(|tid, _| listed.contains(tid) || !previous_ghosts.contains(tid));
        self.ghosts = self.map.keys().filter(|t| !listed.contains(t)).copied().collect();
        Ok(())
    }

    /// After a loss: every entry may be out of date (exits, execs, id changes
    /// were missed), so each is read again before a judged subscriber's next
    /// event uses it, and entries of tasks that are gone are swept out a
    /// batch at a time (`sweep`). Cheap, unlike `seed`, which would stall the
    /// hub for seconds on a busy host while the kernel keeps sending.
    pub fn invalidate(&mut self) {
        let long_ago = Instant::now().checked_sub(MAX_AGE * 2);
        for e in self.map.values_mut() {
            match long_ago {
                Some(t) => e.read_at = t,
                None => e.trusted = false,
            }
        }
        self.to_sweep = self.map.keys().copied().collect();
    }

    /// Drops up to `batch` entries, left by `invalidate`, whose task is gone.
    pub fn sweep(&mut self, batch: usize) {
        let n = self.to_sweep.len().saturating_sub(batch);
        for tid in self.to_sweep.split_off(n) {
            if let Some(e) = self.map.get(&tid) {
                if !self.proc.task_exists(e.target.tgid, tid) {
                    self.map.remove(&tid);
                }
            }
        }
    }

    pub fn get(&self, tid: u32) -> Option<&Entry> {
        self.map.get(&tid)
    }

    /// Reads one task into the cache; false (and the entry untrusted, if there was one) if it cannot be read.
    pub fn read(&mut self, tgid: u32, tid: u32) -> bool {
        self.reads += 1;
        match self.proc.read_task(tgid, tid) {
            Ok(Some(info)) => {
                let mut pid_ns = if info.levels.len() > 1 { self.proc.pid_ns_inode(tgid, tid).ok().flatten().unwrap_or(0) } else { 0 };
                // An exited task's ns links are gone, but a task never changes
                // pid namespace: the one read before stands (same task: same numbers).
                if pid_ns == 0 && info.levels.len() > 1 {
                    if let Some(old) = self.map.get(&tid).filter(|e| e.levels == info.levels) {
                        pid_ns = old.pid_ns;
                    }
                }
                if pid_ns != 0 && !self.chains.contains_key(&pid_ns) {
                    let chain = self.proc.open_pid_ns(tgid, tid).ok().flatten().and_then(|fd| chain_of(fd).ok());
                    self.chains.insert(pid_ns, chain);
                }
                if !self.users.knows(info.user_ns) {
                    if let Ok(Some(fd)) = self.proc.open_user_ns(tgid, tid) {
                        let _ = self.users.learn(fd);
                    }
                }
                self.map.insert(tid, entry(&info, pid_ns));
                true
            }
            Ok(None) | Err(_) => {
                if let Some(e) = self.map.get_mut(&tid) {
                    e.trusted = false;
                }
                false
            }
        }
    }

    /// A fork: the child starts as its parent thread is (or is read, when the
    /// parent is unknown or the child's numbers in nested pid namespaces are needed).
    pub fn fork(&mut self, parent_pid: u32, child_pid: u32, child_tgid: u32) {
        // The kernel sends a fork's event from the parent after waking the
        // child, which may exec on another CPU first: its exec event (and the
        // read it caused) can come before the fork's. What was read of the
        // child itself is worth more than what it inherited, so it stays.
        if self.map.get(&child_pid).is_some_and(|e| e.trusted && e.target.tgid == child_tgid && e.read_at.elapsed() <= MAX_AGE) {
            return;
        }
        let inherited = self.map.get(&parent_pid).cloned();
        match inherited {
            Some(mut e) if e.levels.len() <= 1 => {
                e.target.tgid = child_tgid;
                if e.levels.len() == 1 {
                    if let Some(l) = e.levels.level_mut(0) {
                        l.pid = child_pid;
                    }
                }
                self.map.insert(child_pid, e);
            }
            _ => {
                if !self.read(child_tgid, child_pid) {
                    // Gone already, or unreadable: known to nobody who is judged.
                    if let Some(mut e) = inherited {
                        e.trusted = false;
                        e.target.tgid = child_tgid;
                        self.map.insert(child_pid, e);
                    }
                }
            }
        }
    }

    pub fn set_comm(&mut self, tid: u32, comm: [u8; 16]) {
        if let Some(e) = self.map.get_mut(&tid) {
            e.comm = comm;
        }
    }

    pub fn exit(&mut self, tid: u32) {
        self.map.remove(&tid);
    }

    /// Re-reads an entry older than `MAX_AGE` (for a judged subscriber).
    pub fn fresh(&mut self, tgid: u32, tid: u32) {
        if self.map.get(&tid).is_none_or(|e| e.read_at.elapsed() > MAX_AGE) {
            self.read(tgid, tid);
        }
    }

    /// Whether every one of `viewers` may see task `tid` by the task_diag rules.
    pub fn may_see(&mut self, viewers: &[Viewer], tid: u32) -> bool {
        let Some(e) = self.map.get(&tid) else { return false };
        if !e.trusted {
            return false;
        }
        let target = e.target;
        viewers.iter().all(|v| visibility::may_read(v, target, &mut self.users))
    }

    /// The task's pid in the pid namespace `ns` at `depth` below the initial
    /// one: `None` if it is not in `ns` (or below it), or not known.
    pub fn pid_in(&self, tid: u32, depth: usize, ns: u64) -> Option<u32> {
        if depth == 0 {
            return Some(tid);
        }
        let e = self.map.get(&tid)?;
        let own_depth = e.levels.len().checked_sub(1)?;
        if own_depth < depth || e.pid_ns == 0 {
            return None;
        }
        let chain = self.chains.get(&e.pid_ns)?.as_ref()?;
        // chain[0] is the task's own namespace, chain[own_depth] the initial one.
        (chain.get(own_depth - depth) == Some(&ns)).then(|| e.levels.at(depth).map(|l| l.pid)).flatten()
    }

    /// Reads `/proc/TGID/cmdline` (at most `limit` bytes) through the held
    /// procfs. Empty is unknown: an exited task (its mm gone) reads empty.
    pub fn cmdline(&mut self, tgid: u32, limit: usize) -> Option<Vec<u8>> {
        self.proc.cmdline(tgid, limit).ok().flatten().filter(|c| !c.is_empty())
    }
}

fn entry(info: &TaskInfo, pid_ns: u64) -> Entry {
    Entry { target: Target::from(info), levels: info.levels.clone(), pid_ns, comm: info.base.comm.0, read_at: Instant::now(), trusted: true }
}

/// A pid namespace's inode and its ancestors' (`NS_GET_PARENT`).
fn chain_of(fd: std::os::fd::OwnedFd) -> Result<Vec<u64>> {
    let mut chain = vec![crate::ns::id_of(&fd)?.ino];
    let mut cur = fd;
    while let Some(p) = crate::ns::parent(&cur)? {
        chain.push(crate::ns::id_of(&p)?.ino);
        cur = p;
        if chain.len() > crate::task::MAX_LEVELS {
            break;
        }
    }
    Ok(chain)
}

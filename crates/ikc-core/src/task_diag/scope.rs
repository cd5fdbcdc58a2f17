//! Pid-namespace scope of a dump: which tasks belong to the target namespace
//! (it or a descendant), and their ids renumbered in it, as the kernel's
//! `task_*_nr_ns(task, ns)` would give them. A parent, tracer, process group or
//! session outside the namespace shows as 0.
//!
//! procfs numbers everything in its own namespace P; the target T sits `depth`
//! levels below P. A task's `NSpid` line lists its pid at each level from P down,
//! so its pid in T is entry `depth`, if the task's namespace at that level is T.

use std::collections::HashMap;
use std::os::fd::OwnedFd;

use crate::backend::procfs::ProcFs;
use crate::error::{Error, Result};
use crate::ns::{self, NsId};
use crate::task::{TaskBase, TaskInfo};

pub struct PidScope {
    /// Levels between procfs's namespace and the target; 0 = the same namespace.
    depth: usize,
    target: NsId,
    /// The target held open, to translate request pids with the kernel's help.
    target_fd: Option<OwnedFd>,
    /// Whether procfs numbers pids as the caller does (so kernel translations apply).
    caller_is_proc_ns: bool,
    /// Innermost pid-namespace inode → whether it is the target or below it.
    members: HashMap<u64, bool>,
    /// procfs pid → pid in the target (0 = outside).
    renumbered: HashMap<u32, u32>,
}

impl PidScope {
    /// The namespace procfs itself shows: no filtering, no renumbering.
    pub fn whole(target: NsId) -> PidScope {
        PidScope { depth: 0, target, target_fd: None, caller_is_proc_ns: true, members: HashMap::new(), renumbered: HashMap::new() }
    }

    pub fn nested(depth: usize, target: NsId, target_fd: OwnedFd, caller_is_proc_ns: bool) -> PidScope {
        PidScope { depth, target, target_fd: Some(target_fd), caller_is_proc_ns, members: HashMap::new(), renumbered: HashMap::new() }
    }

    pub fn is_whole(&self) -> bool {
        self.depth == 0
    }

    /// Whether the task lives in the target namespace or one below it.
    pub fn contains(&mut self, proc: &ProcFs, task: &TaskInfo) -> Result<bool> {
        if self.depth == 0 {
            return Ok(true);
        }
        if task.levels.len() <= self.depth {
            return Ok(false);
        }
        let Some(inode) = proc.pid_ns_inode(task.base.tgid, task.base.pid)? else { return Ok(false) };
        if let Some(&known) = self.members.get(&inode) {
            return Ok(known);
        }
        let up = task.levels.len() - 1 - self.depth;
        let member = if up == 0 {
            inode == self.target.ino
        } else {
            match proc.open_pid_ns(task.base.tgid, task.base.pid)? {
                Some(fd) => match ns::ancestor(fd, up)? {
                    Some(anc) => ns::depth_below(&anc, self.target)? == Some(0),
                    None => false,
                },
                None => return Ok(false),
            }
        };
        self.members.insert(inode, member);
        Ok(member)
    }

    /// Rewrites a member's ids into the target's numbering.
    pub fn renumber(&mut self, proc: &mut ProcFs, task: &mut TaskInfo) -> Result<()> {
        if self.depth == 0 {
            return Ok(());
        }
        let b = &mut task.base;
        let (pid_p, tgid_p, ppid_p, tpid_p) = (b.pid, b.tgid, b.ppid, b.tpid);
        // contains() said the task is at least depth + 1 levels deep.
        let ids = task.levels.at(self.depth).unwrap_or_default();
        (b.pid, b.pgid, b.sid) = (ids.pid, ids.pgid, ids.sid);
        self.renumbered.insert(pid_p, b.pid);
        let tgid = if tgid_p == pid_p { b.pid } else { self.pid_in_target(proc, tgid_p)? };
        let ppid = self.pid_in_target(proc, ppid_p)?;
        let tpid = self.pid_in_target(proc, tpid_p)?;
        let b = &mut task.base;
        (b.tgid, b.ppid, b.tpid) = (tgid, ppid, tpid);
        // The terminal's foreground group (PS), a pid like the others.
        if let Some(tpgid) = task.extra.as_ref().and_then(|e| e.ps).map(|ps| ps.tpgid) {
            let tpgid = self.pid_in_target(proc, tpgid)?;
            if let Some(ps) = task.extra.as_mut().and_then(|e| e.ps.as_mut()) {
                ps.tpgid = tpgid;
            }
        }
        Ok(())
    }

    /// The target's number for a procfs pid; 0 if that task is outside the target.
    fn pid_in_target(&mut self, proc: &mut ProcFs, pid: u32) -> Result<u32> {
        if pid == 0 {
            return Ok(0);
        }
        if let Some(&n) = self.renumbered.get(&pid) {
            return Ok(n);
        }
        let n = match proc.status_of(pid)? {
            Some(status) => {
                let ids = status.levels.at(self.depth);
                let probe = TaskInfo { levels: status.levels, ..probe_task(status.tgid, pid) };
                match ids {
                    Some(ids) if self.contains(proc, &probe)? => ids.pid,
                    _ => 0,
                }
            }
            None => 0,
        };
        self.renumbered.insert(pid, n);
        Ok(n)
    }

    /// The procfs pid of a pid numbered in the target (the pid of a request).
    pub fn procfs_pid(&mut self, proc: &mut ProcFs, pid: u32) -> Result<u32> {
        if self.depth == 0 {
            return Ok(pid);
        }
        if let (Some(fd), true) = (&self.target_fd, self.caller_is_proc_ns) {
            match ns::pid_from_pidns(fd, pid) {
                Ok(Some(p)) => return Ok(p),
                Ok(None) => return Err(Error::NoSuchProcess(pid)),
                Err(Error::NotSupported(_)) => {} // older kernel: scan below
                Err(e) => return Err(e),
            }
        }
        for tgid in proc.tgids()? {
            for tid in proc.tids(tgid)?.unwrap_or_default() {
                let Some(status) = proc.status_of(tid)? else { continue };
                if status.levels.at(self.depth).is_some_and(|ids| ids.pid == pid) {
                    let probe = TaskInfo { levels: status.levels, ..probe_task(tgid, tid) };
                    if self.contains(proc, &probe)? {
                        return Ok(tid);
                    }
                }
            }
        }
        Err(Error::NoSuchProcess(pid))
    }
}

/// A record carrying only the ids `contains` looks at.
fn probe_task(tgid: u32, pid: u32) -> TaskInfo {
    TaskInfo {
        base: TaskBase { tgid, pid, ..Default::default() },
        creds: Default::default(),
        dumpable: true,
        levels: Default::default(),
        user_ns: 0,
        dumpable_ns: 0,
        extra: None,
    }
}

//! The procfs backend: reads `/proc/PID/stat` and `/proc/PID/status` relative to
//! a held `/proc` directory fd (never re-resolving paths from `/`), and parses
//! them into `TaskInfo`. A task that vanishes mid-read is reported as gone, never
//! half-filled.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{openat, OFlag};
use nix::sys::stat::{fstat, Mode};

use crate::error::{Error, Result};
use crate::task_diag::{Comm, TaskBase, TaskCreds, TaskInfo, TaskState};
use crate::visibility::Viewer;

/// `PF_KTHREAD` in the flags field of `/proc/PID/stat`.
const PF_KTHREAD: u64 = 0x0020_0000;

/// An open `/proc` and reusable read buffers.
pub struct ProcFs {
    root: OwnedFd,
    buf: Vec<u8>,
}

/// The fields of `/proc/PID/stat` that ikc uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatFields {
    pub pid: u32,
    pub comm: Comm,
    pub state: u8,
    pub ppid: u32,
    pub pgrp: u32,
    pub session: u32,
    pub flags: u64,
}

/// The fields of `/proc/PID/status` that ikc uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusFields {
    pub tgid: u32,
    pub tracer_pid: u32,
    /// Real, effective, saved, filesystem.
    pub uid: [u32; 4],
    pub gid: [u32; 4],
    pub cap_inh: u64,
    pub cap_prm: u64,
    pub cap_eff: u64,
    pub cap_bnd: u64,
    /// `NSpid`, `NSpgid`, `NSsid`: the ids in each pid namespace from procfs's
    /// own (index 0) down to the task's (last); one entry when they coincide.
    pub levels: NsLevels,
}

/// The deepest nesting the kernel allows (`MAX_PID_NS_LEVEL`) plus the root.
pub const MAX_LEVELS: usize = 33;

/// A task's pid, pgid and sid at each pid-namespace level below procfs's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NsLevels {
    pub len: usize,
    pub pid: [u32; MAX_LEVELS],
    pub pgid: [u32; MAX_LEVELS],
    pub sid: [u32; MAX_LEVELS],
}

impl Default for NsLevels {
    fn default() -> Self {
        NsLevels { len: 0, pid: [0; MAX_LEVELS], pgid: [0; MAX_LEVELS], sid: [0; MAX_LEVELS] }
    }
}

fn parse_levels(value: &str, out: &mut [u32; MAX_LEVELS]) -> Option<usize> {
    let mut n = 0;
    for field in value.split_ascii_whitespace() {
        *out.get_mut(n)? = field.parse().ok()?;
        n += 1;
    }
    Some(n)
}

fn gone(e: Errno) -> bool {
    // ESRCH/ENOENT: the task exited. EACCES/EPERM: procfs itself hides it (hidepid).
    matches!(e, Errno::ESRCH | Errno::ENOENT | Errno::EACCES | Errno::EPERM)
}

impl ProcFs {
    pub fn open() -> Result<ProcFs> {
        let root = nix::fcntl::open("/proc", OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
            .map_err(|e| Error::os("open /proc", e))?;
        Ok(ProcFs { root, buf: Vec::with_capacity(4096) })
    }

    /// The numeric entries of a directory under `/proc`, ascending.
    fn numeric_entries(&self, path: &str) -> Result<Option<Vec<u32>>> {
        let fd = match openat(self.root.as_fd(), path, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty()) {
            Ok(fd) => fd,
            Err(e) if gone(e) => return Ok(None),
            Err(e) => return Err(Error::os(format!("open /proc/{path}"), e)),
        };
        let mut dir = nix::dir::Dir::from_fd(fd).map_err(|e| Error::os(format!("opendir /proc/{path}"), e))?;
        let mut out = Vec::new();
        for entry in dir.iter() {
            let entry = match entry {
                Ok(e) => e,
                Err(e) if gone(e) => return Ok(None),
                Err(e) => return Err(Error::os(format!("readdir /proc/{path}"), e)),
            };
            if let Some(n) = entry.file_name().to_str().ok().and_then(|s| s.parse::<u32>().ok()) {
                out.push(n);
            }
        }
        out.sort_unstable();
        Ok(Some(out))
    }

    /// Every thread-group id procfs lists, ascending.
    pub fn tgids(&self) -> Result<Vec<u32>> {
        Ok(self.numeric_entries(".")?.unwrap_or_default())
    }

    /// The thread ids of a thread group, ascending; `None` if it is gone.
    pub fn tids(&self, tgid: u32) -> Result<Option<Vec<u32>>> {
        self.numeric_entries(&format!("{tgid}/task"))
    }

    /// The children (thread-group leaders) of every thread of `tgid`, ascending,
    /// from `/proc/TGID/task/TID/children`.
    pub fn children(&mut self, tgid: u32) -> Result<Option<Vec<u32>>> {
        let Some(tids) = self.tids(tgid)? else { return Ok(None) };
        let mut kids = Vec::new();
        for tid in tids {
            if !self.read_file(&format!("{tgid}/task/{tid}/children"))? {
                continue;
            }
            let text = String::from_utf8_lossy(&self.buf);
            kids.extend(text.split_ascii_whitespace().filter_map(|s| s.parse::<u32>().ok()));
        }
        kids.sort_unstable();
        kids.dedup();
        Ok(Some(kids))
    }

    /// Reads a file under `/proc` into `self.buf`; false if the task is gone.
    fn read_file(&mut self, path: &str) -> Result<bool> {
        Ok(self.read_file_owner(path)?.is_some())
    }

    /// Reads a file into `self.buf` and returns its owner (uid, gid); `None` if gone.
    fn read_file_owner(&mut self, path: &str) -> Result<Option<(u32, u32)>> {
        let fd = match openat(self.root.as_fd(), path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()) {
            Ok(fd) => fd,
            Err(e) if gone(e) => return Ok(None),
            Err(e) => return Err(Error::os(format!("open /proc/{path}"), e)),
        };
        let st = match fstat(&fd) {
            Ok(st) => st,
            Err(e) if gone(e) => return Ok(None),
            Err(e) => return Err(Error::os(format!("fstat /proc/{path}"), e)),
        };
        self.buf.clear();
        match File::from(fd).read_to_end(&mut self.buf) {
            Ok(_) => Ok(Some((st.st_uid, st.st_gid))),
            Err(e) => match e.raw_os_error().map(Errno::from_raw) {
                Some(errno) if gone(errno) => Ok(None),
                Some(errno) => Err(Error::os(format!("read /proc/{path}"), errno)),
                None => Err(Error::os(format!("read /proc/{path}"), Errno::EIO)),
            },
        }
    }

    /// The directory of a task relative to `/proc`.
    fn task_dir(tgid: u32, tid: u32) -> String {
        if tgid == tid {
            tgid.to_string()
        } else {
            format!("{tgid}/task/{tid}")
        }
    }

    /// Reads `/proc/PID/status` of any task id; `None` if gone.
    pub fn status_of(&mut self, pid: u32) -> Result<Option<StatusFields>> {
        if !self.read_file(&format!("{pid}/status"))? {
            return Ok(None);
        }
        Ok(parse_status(&self.buf))
    }

    /// Reads one task; `None` if it is gone (or its files are unreadable).
    pub fn read_task(&mut self, tgid: u32, tid: u32) -> Result<Option<TaskInfo>> {
        let dir = Self::task_dir(tgid, tid);
        let Some((owner_uid, owner_gid)) = self.read_file_owner(&format!("{dir}/stat"))? else { return Ok(None) };
        let Some(stat) = parse_stat(&self.buf) else { return Ok(None) };
        let Some(status) = self.status_of_dir(&dir)? else { return Ok(None) };
        if stat.pid != tid || status.tgid != tgid {
            return Ok(None); // the id was reused between the listing and the read
        }
        let state = TaskState::from_proc_letter(stat.state).unwrap_or(TaskState::Uninterruptible);
        let kthread = stat.flags & PF_KTHREAD != 0;
        let exited = matches!(state, TaskState::Zombie | TaskState::Dead);
        // procfs makes a task's files owned by root when it is not dumpable
        // (`task_dump_owner`); tasks without an mm skip the kernel's dumpable check.
        let dumpable = kthread || exited || (owner_uid == status.uid[1] && owner_gid == status.gid[1]);
        Ok(Some(TaskInfo {
            base: TaskBase {
                tgid,
                pid: tid,
                ppid: stat.ppid,
                tpid: status.tracer_pid,
                sid: stat.session,
                pgid: stat.pgrp,
                state: state as u8,
                comm: stat.comm,
            },
            creds: TaskCreds {
                cap_inheritable: status.cap_inh,
                cap_permitted: status.cap_prm,
                cap_effective: status.cap_eff,
                cap_bset: status.cap_bnd,
                uid: status.uid[0],
                euid: status.uid[1],
                suid: status.uid[2],
                fsuid: status.uid[3],
                gid: status.gid[0],
                egid: status.gid[1],
                sgid: status.gid[2],
                fsgid: status.gid[3],
            },
            dumpable,
            levels: status.levels,
        }))
    }

    fn status_of_dir(&mut self, dir: &str) -> Result<Option<StatusFields>> {
        if !self.read_file(&format!("{dir}/status"))? {
            return Ok(None);
        }
        Ok(parse_status(&self.buf))
    }

    /// The calling thread's credentials as the kernel reports them, and how many
    /// pid-namespace levels separate procfs from the caller (1 = same namespace).
    /// The viewer's tgid is in procfs's numbering, like every pid the backend reads.
    pub fn current_viewer(&mut self) -> Result<(Viewer, usize)> {
        if !self.read_file("thread-self/status")? {
            return Err(Error::os("read /proc/thread-self/status", Errno::ENOENT));
        }
        let status = parse_status(&self.buf)
            .ok_or_else(|| Error::os("parse /proc/thread-self/status", Errno::EIO))?;
        let tgid = nix::fcntl::readlinkat(self.root.as_fd(), "self")
            .ok()
            .and_then(|p| p.to_str().and_then(|s| s.parse::<u32>().ok()))
            .ok_or_else(|| Error::os("readlink /proc/self", Errno::ENOENT))?;
        let viewer = Viewer {
            tgid,
            fsuid: status.uid[3],
            fsgid: status.gid[3],
            cap_effective: status.cap_eff,
        };
        Ok((viewer, status.levels.len))
    }

    /// The inode of a task's pid namespace (`/proc/TGID/task/TID/ns/pid`); `None` if gone
    /// or not readable (the same ptrace-read rule that hides the task).
    pub fn pid_ns_inode(&self, tgid: u32, tid: u32) -> Result<Option<u64>> {
        let path = format!("{tgid}/task/{tid}/ns/pid");
        let link = match nix::fcntl::readlinkat(self.root.as_fd(), path.as_str()) {
            Ok(l) => l,
            Err(e) if gone(e) => return Ok(None),
            Err(e) => return Err(Error::os(format!("readlink /proc/{path}"), e)),
        };
        // "pid:[4026531836]"
        Ok(link.to_str().and_then(|l| l.strip_prefix("pid:[")?.strip_suffix(']')?.parse().ok()))
    }

    /// Opens a task's pid namespace; `None` if gone or not readable.
    pub fn open_pid_ns(&self, tgid: u32, tid: u32) -> Result<Option<OwnedFd>> {
        let path = format!("{tgid}/task/{tid}/ns/pid");
        match openat(self.root.as_fd(), path.as_str(), OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()) {
            Ok(fd) => Ok(Some(fd)),
            Err(e) if gone(e) => Ok(None),
            Err(e) => Err(Error::os(format!("open /proc/{path}"), e)),
        }
    }
}

/// Parses `/proc/PID/stat`. The comm is everything between the first `(` and the
/// last `)`, since a comm may itself contain parentheses and spaces.
pub fn parse_stat(b: &[u8]) -> Option<StatFields> {
    let open = b.iter().position(|&c| c == b'(')?;
    let close = b.iter().rposition(|&c| c == b')')?;
    if close < open {
        return None;
    }
    let pid = std::str::from_utf8(&b[..open]).ok()?.trim().parse().ok()?;
    let comm = Comm::from_bytes(&b[open + 1..close]);
    let rest = std::str::from_utf8(b.get(close + 1..)?).ok()?;
    let mut f = rest.split_ascii_whitespace();
    let state = *f.next()?.as_bytes().first()?;
    // ppid and pgrp/session print as signed ints; 0 for "none".
    let num = |s: Option<&str>| -> Option<u32> { s?.parse::<i64>().ok().map(|v| v.max(0) as u32) };
    let ppid = num(f.next())?;
    let pgrp = num(f.next())?;
    let session = num(f.next())?;
    let _tty_nr = f.next()?;
    let _tpgid = f.next()?;
    let flags = f.next()?.parse::<u64>().ok()?;
    Some(StatFields { pid, comm, state, ppid, pgrp, session, flags })
}

/// Parses the lines of `/proc/PID/status` that ikc needs.
pub fn parse_status(b: &[u8]) -> Option<StatusFields> {
    let text = std::str::from_utf8(b).ok()?;
    let mut s = StatusFields::default();
    let (mut have_tgid, mut have_uid, mut have_gid) = (false, false, false);
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        let ids = |v: &str| -> Option<[u32; 4]> {
            let mut it = v.split_ascii_whitespace().map(|x| x.parse::<u32>());
            Some([it.next()?.ok()?, it.next()?.ok()?, it.next()?.ok()?, it.next()?.ok()?])
        };
        let hex = |v: &str| u64::from_str_radix(v, 16).ok();
        match key {
            "Tgid" => {
                s.tgid = value.parse().ok()?;
                have_tgid = true;
            }
            "TracerPid" => s.tracer_pid = value.parse().ok()?,
            "Uid" => {
                s.uid = ids(value)?;
                have_uid = true;
            }
            "Gid" => {
                s.gid = ids(value)?;
                have_gid = true;
            }
            "CapInh" => s.cap_inh = hex(value)?,
            "CapPrm" => s.cap_prm = hex(value)?,
            "CapEff" => s.cap_eff = hex(value)?,
            "CapBnd" => s.cap_bnd = hex(value)?,
            "NSpid" => s.levels.len = parse_levels(value, &mut s.levels.pid)?,
            "NSpgid" => {
                parse_levels(value, &mut s.levels.pgid)?;
            }
            "NSsid" => {
                parse_levels(value, &mut s.levels.sid)?;
            }
            _ => {}
        }
    }
    (have_tgid && have_uid && have_gid).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_a_hostile_comm() {
        let line = b"1234 (a) b (c) S 1 1234 1234 0 -1 4194560 93 0 0 0 0 0 0 0 20 0 1 0 5 1 1\n";
        let s = parse_stat(line).expect("parses");
        assert_eq!(s.pid, 1234);
        assert_eq!(s.comm.as_bytes(), b"a) b (c");
        assert_eq!((s.state, s.ppid, s.pgrp, s.session), (b'S', 1, 1234, 1234));
        assert_eq!(s.flags, 4194560);
    }

    #[test]
    fn stat_garbage_is_none() {
        assert!(parse_stat(b"").is_none());
        assert!(parse_stat(b"12 (x").is_none());
        assert!(parse_stat(b"12 x) S").is_none());
        assert!(parse_stat(b"12 (x) S 1 2").is_none());
    }

    #[test]
    fn status_fields() {
        let text = b"Name:\tbash\nTgid:\t77\nPid:\t78\nPPid:\t1\nTracerPid:\t5\n\
Uid:\t1000\t1001\t1002\t1003\nGid:\t10\t11\t12\t13\nNSpid:\t78\t3\nNSpgid:\t78\t3\nNSsid:\t1\t0\n\
CapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t0000000000003000\nCapBnd:\t000001ffffffffff\n";
        let s = parse_status(text).expect("parses");
        assert_eq!(s.tgid, 77);
        assert_eq!(s.tracer_pid, 5);
        assert_eq!(s.uid, [1000, 1001, 1002, 1003]);
        assert_eq!(s.gid, [10, 11, 12, 13]);
        assert_eq!(s.cap_prm, 0x1ff_ffff_ffff);
        assert_eq!(s.cap_eff, 0x3000);
        assert_eq!(s.levels.len, 2);
        assert_eq!(&s.levels.pid[..2], &[78, 3]);
    }

    #[test]
    fn status_without_ids_is_none() {
        assert!(parse_status(b"Name:\tx\nTgid:\t1\n").is_none());
    }

    #[test]
    fn reads_own_process() {
        let mut proc = ProcFs::open().expect("/proc");
        let me = std::process::id();
        let t = proc.read_task(me, me).expect("read").expect("present");
        assert_eq!(t.base.pid, me);
        assert_eq!(t.base.tgid, me);
        assert_eq!(t.base.ppid, std::os::unix::process::parent_id());
        assert!(proc.tgids().expect("list").contains(&me));
    }
}

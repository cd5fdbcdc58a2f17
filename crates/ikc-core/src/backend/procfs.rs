//! The procfs backend: reads `/proc/PID/stat` and `/proc/PID/status` relative to
//! a held `/proc` directory fd (never re-resolving paths from `/`), and parses
//! them into `TaskInfo`. A task that vanishes mid-read is reported as gone, never
//! half-filled.

use std::os::fd::{AsFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{openat, OFlag};
use nix::sys::stat::{fstat, Mode};

use crate::error::{Error, Result};
use crate::task_diag::{Comm, TaskBase, TaskCreds, TaskInfo, TaskState};
use crate::visibility::Viewer;

/// An open `/proc` and reusable read buffers.
pub struct ProcFs {
    root: OwnedFd,
    buf: Vec<u8>,
    /// Whether `read_task` must learn dumpability (a file's owner): only when the
    /// viewer lacks `CAP_SYS_PTRACE`, which makes dumpability irrelevant.
    check_owner: bool,
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

/// The fields of `/proc/PID/status` that ikc uses: everything task_diag reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusFields {
    /// `Name:`, unescaped (the kernel escapes only `\n` and `\\` there).
    pub name: Comm,
    /// The letter of `State:`.
    pub state: u8,
    pub pid: u32,
    pub ppid: u32,
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
        Ok(ProcFs { root, buf: vec![0; 4096], check_owner: true })
    }

    /// Tells `read_task` whether dumpability matters to the current viewer.
    pub fn set_owner_check(&mut self, on: bool) {
        self.check_owner = on;
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
        Ok(self.read_file_at(path, false)?.is_some())
    }

    /// Reads a file into `self.buf` and returns its owner (uid, gid) when
    /// `owner` is asked for (else (0, 0)); `None` if gone.
    fn read_file_at(&mut self, path: &str, owner: bool) -> Result<Option<(u32, u32)>> {
        let fd = match openat(self.root.as_fd(), path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()) {
            Ok(fd) => fd,
            Err(e) if gone(e) => return Ok(None),
            Err(e) => return Err(Error::os(format!("open /proc/{path}"), e)),
        };
        let ids = if owner {
            match fstat(&fd) {
                Ok(st) => (st.st_uid, st.st_gid),
                Err(e) if gone(e) => return Ok(None),
                Err(e) => return Err(Error::os(format!("fstat /proc/{path}"), e)),
            }
        } else {
            (0, 0)
        };
        match read_whole(&fd, &mut self.buf) {
            Ok(()) => Ok(Some(ids)),
            Err(e) if gone(e) => Ok(None),
            Err(e) => Err(Error::os(format!("read /proc/{path}"), e)),
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

    /// Reads one task from its `status` file alone; `None` if it is gone (or
    /// unreadable). procfs makes a non-dumpable task's files owned by root
    /// (`task_dump_owner`), which is how dumpability is learned.
    pub fn read_task(&mut self, tgid: u32, tid: u32) -> Result<Option<TaskInfo>> {
        self.read_task_at(&Self::task_dir(tgid, tid), tid, Some(tgid))
    }

    /// Reads the task with id `pid` (a process or any of its threads: procfs
    /// answers `/proc/TID` for threads too), learning its tgid from the file.
    pub fn read_task_by_pid(&mut self, pid: u32) -> Result<Option<TaskInfo>> {
        self.read_task_at(&pid.to_string(), pid, None)
    }

    fn read_task_at(&mut self, dir: &str, tid: u32, tgid: Option<u32>) -> Result<Option<TaskInfo>> {
        let check_owner = self.check_owner;
        let Some((owner_uid, owner_gid)) = self.read_file_at(&format!("{dir}/status"), check_owner)? else { return Ok(None) };
        let Some(status) = parse_status(&self.buf) else { return Ok(None) };
        if status.pid != tid || tgid.is_some_and(|t| t != status.tgid) {
            return Ok(None); // the id was reused between the listing and the read
        }
        let tgid = status.tgid;
        // NSpgid/NSsid give the process group and session; kernels without pid
        // namespaces print no NS lines, so those come from `stat` there.
        let (pgid, sid) = if status.levels.len > 0 {
            (status.levels.pgid[0], status.levels.sid[0])
        } else {
            match self.read_file(&format!("{dir}/stat"))?.then(|| parse_stat(&self.buf)).flatten() {
                Some(stat) => (stat.pgrp, stat.session),
                None => return Ok(None),
            }
        };
        let state = TaskState::from_proc_letter(status.state).unwrap_or(TaskState::Uninterruptible);
        let exited = matches!(state, TaskState::Zombie | TaskState::Dead);
        // Tasks without an mm (exited ones, kernel threads, owned by root with
        // euid 0) skip the kernel's dumpable check.
        let dumpable = !check_owner || exited || (owner_uid == status.uid[1] && owner_gid == status.gid[1]);
        Ok(Some(TaskInfo {
            base: TaskBase { tgid, pid: tid, ppid: status.ppid, tpid: status.tracer_pid, sid, pgid, state: state as u8, comm: status.name },
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

/// Reads a whole procfs file into `buf` (cleared first). A procfs file that fits
/// comes in one `read`; the buffer grows only for larger ones.
fn read_whole(fd: &OwnedFd, buf: &mut Vec<u8>) -> std::result::Result<(), Errno> {
    // Give back the room the last (shorter) file left unused, so a file that fits is one read.
    let room = buf.capacity().max(4096);
    buf.resize(room, 0);
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize(buf.len().max(4096) * 2, 0);
        }
        match nix::unistd::read(fd, &mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => {
                len += n;
                // Status-like files end with a newline: a short read that ends one is the end.
                if len < buf.len() && buf[len - 1] == b'\n' {
                    break;
                }
            }
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
    buf.truncate(len);
    Ok(())
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

/// `Name:` as `proc_task_name` prints it: `seq_escape_str(.., "\n\\")`, so
/// only a newline (`\n`) and a backslash (`\\`) come escaped.
fn unescape_name(raw: &[u8]) -> Comm {
    let mut out = Vec::with_capacity(16);
    let mut bytes = raw.iter().copied();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'n') => out.push(b'\n'),
            Some(other) => out.push(other),
            None => out.push(b'\\'),
        }
    }
    Comm::from_bytes(&out)
}

fn ascii(v: &[u8]) -> Option<&str> {
    std::str::from_utf8(v).ok().map(str::trim)
}

fn ids(v: &[u8]) -> Option<[u32; 4]> {
    let mut it = ascii(v)?.split_ascii_whitespace().map(|x| x.parse::<u32>());
    Some([it.next()?.ok()?, it.next()?.ok()?, it.next()?.ok()?, it.next()?.ok()?])
}

fn hex(v: &[u8]) -> Option<u64> {
    u64::from_str_radix(ascii(v)?, 16).ok()
}

/// Parses the lines of `/proc/PID/status` that ikc needs. Works on bytes: a
/// comm need not be UTF-8.
pub fn parse_status(b: &[u8]) -> Option<StatusFields> {
    let mut s = StatusFields::default();
    let (mut have_tgid, mut have_uid, mut have_gid) = (false, false, false);
    for line in b.split(|&c| c == b'\n') {
        let Some(colon) = line.iter().position(|&c| c == b':') else { continue };
        let (key, value) = (&line[..colon], &line[colon + 1..]);
        match key {
            // One tab follows the colon; the name itself may end in spaces.
            b"Name" => s.name = unescape_name(value.strip_prefix(b"\t").unwrap_or(value)),
            b"State" => s.state = *ascii(value)?.as_bytes().first()?,
            b"Pid" => s.pid = ascii(value)?.parse().ok()?,
            b"PPid" => s.ppid = ascii(value)?.parse().ok()?,
            b"Tgid" => {
                s.tgid = ascii(value)?.parse().ok()?;
                have_tgid = true;
            }
            b"TracerPid" => s.tracer_pid = ascii(value)?.parse().ok()?,
            b"Uid" => {
                s.uid = ids(value)?;
                have_uid = true;
            }
            b"Gid" => {
                s.gid = ids(value)?;
                have_gid = true;
            }
            b"CapInh" => s.cap_inh = hex(value)?,
            b"CapPrm" => s.cap_prm = hex(value)?,
            b"CapEff" => s.cap_eff = hex(value)?,
            b"CapBnd" => s.cap_bnd = hex(value)?,
            b"NSpid" => s.levels.len = parse_levels(ascii(value)?, &mut s.levels.pid)?,
            b"NSpgid" => {
                parse_levels(ascii(value)?, &mut s.levels.pgid)?;
            }
            b"NSsid" => {
                parse_levels(ascii(value)?, &mut s.levels.sid)?;
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
    fn status_name_is_unescaped_bytes() {
        // A comm of "a\nb\\c " followed by a byte that is not UTF-8.
        let text = b"Name:\ta\\nb\\\\c \xff\nState:\tS (sleeping)\nTgid:\t5\nPid:\t5\nPPid:\t1\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n";
        let s = parse_status(text).expect("parses despite the non-UTF-8 comm");
        assert_eq!(s.name.as_bytes(), b"a\nb\\c \xff");
        assert_eq!((s.state, s.pid, s.ppid), (b'S', 5, 1));
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

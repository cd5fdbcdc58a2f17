//! The procfs backend: reads `/proc/PID/status` (and `stat` only on kernels
//! without pid namespaces) relative to a held `/proc` directory fd, never
//! re-resolving paths from `/`, into `TaskInfo`; `parse.rs` does the parsing. A
//! task that vanishes mid-read is reported as gone, never half-filled.

mod parse;

use std::os::fd::{AsFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{openat, openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{fstat, Mode};

use crate::error::{Error, Result};
use crate::task::{TaskBase, TaskCreds, TaskExtra, TaskInfo, TaskPs, TaskState};
use crate::visibility::Viewer;
pub use parse::{parse_stat, parse_stat_fields, parse_status, parse_status_memory, parse_status_name, StatFields, StatusFields};
// The namespace levels live in `crate::task`; these paths keep working.
pub use crate::task::{LevelIds, NsLevels, MAX_LEVELS};

/// A path under `/proc`, built on the stack: the backend builds one or two per
/// task, and the longest ("TGID/task/TID/children") is 35 bytes.
struct ProcPath {
    buf: [u8; 64],
    len: usize,
}

impl ProcPath {
    fn new(args: std::fmt::Arguments) -> ProcPath {
        use std::io::Write;
        let mut p = ProcPath { buf: [0; 64], len: 0 };
        let mut cursor = std::io::Cursor::new(&mut p.buf[..]);
        // A longer path cannot be a task's: it is cut, and opening it fails.
        let _ = cursor.write_fmt(args);
        p.len = cursor.position() as usize;
        p
    }

    /// The path of a file in a task's directory: `TGID/NAME`, or
    /// `TGID/task/TID/NAME` for a thread other than the leader.
    fn task_file(tgid: u32, tid: u32, name: &str) -> ProcPath {
        if tgid == tid {
            ProcPath::new(format_args!("{tgid}/{name}"))
        } else {
            ProcPath::new(format_args!("{tgid}/task/{tid}/{name}"))
        }
    }

    fn as_str(&self) -> &str {
        // Only ever written from `str`s and numbers; a cut in a multi-byte
        // character (impossible for task paths) would read as empty.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

/// An open `/proc` and reusable read buffers.
pub struct ProcFs {
    root: OwnedFd,
    buf: Vec<u8>,
    /// Whether `read_task` must learn dumpability (a file's owner) and the
    /// task's user namespace: only for a viewer that does not see everything.
    check_owner: bool,
    /// What `read_task` reads beyond `status`.
    wants: Wants,
    /// Nanoseconds per clock tick (`USER_HZ`) and the page size, which `stat` counts in.
    tick_ns: u64,
    page: u64,
}

/// The files `read_task` reads beyond `status`, for the groups a request shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Wants {
    /// `stat`, for STAT and PS.
    pub stat: bool,
    /// `cmdline`, for CMDLINE.
    pub cmdline: bool,
    /// The whole name (from `status`, already read), for NAME.
    pub name: bool,
    /// Every task is a thread of its own (ALL_THREAD, THREAD): its
    /// `task/TID/stat`, whose faults and times are the thread's, even for the
    /// leader (whose `TGID/stat` sums the group's).
    pub per_thread: bool,
}

impl Wants {
    fn any(&self) -> bool {
        self.stat || self.cmdline || self.name
    }
}

/// What procfs says when asked for a task's user namespace link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NsLink {
    /// The inode of the task's user namespace.
    Read(u64),
    /// procfs refused: the reader may not `ptrace_may_access(task,
    /// PTRACE_MODE_READ_FSCREDS)`, the check hidepid=2 applies.
    Refused,
    /// The task is gone.
    Gone,
}

fn gone(e: Errno) -> bool {
    // ESRCH/ENOENT: the task exited. EACCES/EPERM: procfs itself hides it (hidepid).
    matches!(e, Errno::ESRCH | Errno::ENOENT | Errno::EACCES | Errno::EPERM)
}

impl ProcFs {
    /// Opens `/proc`, which must be a procfs: a caller can mount anything there
    /// in a mount namespace of its own, and what ikc reads must be the kernel's.
    pub fn open() -> Result<ProcFs> {
        let root = nix::fcntl::open("/proc", OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
            .map_err(|e| Error::os("open /proc", e))?;
        let fs = nix::sys::statfs::fstatfs(&root).map_err(|e| Error::os("statfs /proc", e))?;
        if fs.filesystem_type() != nix::sys::statfs::PROC_SUPER_MAGIC {
            return Err(Error::os("/proc is not a procfs", Errno::EIO));
        }
        let conf = |v| nix::unistd::sysconf(v).ok().flatten().filter(|&n| n > 0).map(|n| n as u64);
        let tick_ns = 1_000_000_000 / conf(nix::unistd::SysconfVar::CLK_TCK).unwrap_or(100);
        let page = conf(nix::unistd::SysconfVar::PAGE_SIZE).unwrap_or(4096);
        Ok(ProcFs { root, buf: vec![0; 4096], check_owner: true, wants: Wants::default(), tick_ns, page })
    }

    /// Opens a path under `/proc` without crossing a mount (`RESOLVE_NO_XDEV`):
    /// procfs has none inside, so a mount there is a caller feeding its own
    /// ikc other files (`EXDEV`, an error, never a quiet answer).
    fn open_beneath(&self, path: &str, flags: OFlag) -> std::result::Result<OwnedFd, Errno> {
        let how = OpenHow::new().flags(flags | OFlag::O_CLOEXEC).resolve(ResolveFlag::RESOLVE_NO_XDEV);
        match openat2(self.root.as_fd(), path, how) {
            // Kernels before 5.6 lack openat2.
            Err(Errno::ENOSYS) => openat(self.root.as_fd(), path, flags | OFlag::O_CLOEXEC, Mode::empty()),
            other => other,
        }
    }

    /// Tells `read_task` whether dumpability and user namespaces matter to the
    /// current viewer. When they do, a task whose namespace link procfs refuses
    /// to the reading thread is not returned: for a reader judging for itself
    /// that is the kernel's own verdict (a broker, as root, is never refused).
    pub fn set_owner_check(&mut self, on: bool) {
        self.check_owner = on;
    }

    /// What `read_task` reads beyond `status` (the BPF backend reads the same groups).
    pub fn wants(&self) -> Wants {
        self.wants
    }

    /// Tells `read_task` which files to read beyond `status`.
    pub fn set_wants(&mut self, wants: Wants) {
        self.wants = wants;
    }

    /// Reads what `wants` asks beyond `status` (whose bytes `self.buf` still
    /// holds); `None` if the task went away meanwhile.
    fn read_extra(&mut self, dir_tgid: u32, tid: u32) -> Result<Option<TaskExtra>> {
        let wants = self.wants;
        let mut extra = TaskExtra::default();
        if wants.name {
            extra.name = parse_status_name(&self.buf);
        }
        if wants.stat {
            // From status, which `self.buf` still holds: what procps shows as RSS and STAT's L.
            let (rss, locked) = parse_status_memory(&self.buf);
            let path = if wants.per_thread {
                ProcPath::new(format_args!("{dir_tgid}/task/{tid}/stat"))
            } else {
                ProcPath::task_file(dir_tgid, tid, "stat")
            };
            if !self.read_file(path.as_str())? {
                return Ok(None);
            }
            let Some((stat, ps)) = parse_stat_fields(&self.buf, self.tick_ns, self.page) else { return Ok(None) };
            (extra.stat, extra.ps) = (Some(stat), Some(TaskPs { rss, locked, ..ps }));
        }
        if wants.cmdline {
            if !self.read_file_whole(ProcPath::task_file(dir_tgid, tid, "cmdline").as_str())? {
                return Ok(None);
            }
            extra.cmdline = Some(self.buf.clone());
        }
        Ok(Some(extra))
    }

    /// The user namespace of a task, from its `ns/user` link; reading the link
    /// needs what hidepid=2 needs, so a refusal is the kernel saying "hidden".
    pub fn user_ns_link(&self, tgid: u32, tid: u32) -> Result<NsLink> {
        self.ns_link(ProcPath::task_file(tgid, tid, "ns/user").as_str())
    }

    /// The calling thread's own user namespace, from procfs itself.
    pub fn own_user_ns(&self) -> Result<u64> {
        match self.ns_link("thread-self/ns/user")? {
            NsLink::Read(ns) => Ok(ns),
            NsLink::Refused | NsLink::Gone => Err(Error::os("readlink /proc/thread-self/ns/user", Errno::ENOENT)),
        }
    }

    /// Reads a user-namespace link: the link itself is opened beneath `/proc`
    /// (so no mount can stand in for it) and read through that fd, which is
    /// where procfs makes its ptrace-read check.
    fn ns_link(&self, path: &str) -> Result<NsLink> {
        let read = self.open_beneath(path, OFlag::O_PATH | OFlag::O_NOFOLLOW).and_then(|fd| nix::fcntl::readlinkat(&fd, ""));
        let link = match read {
            Ok(l) => l,
            Err(Errno::EACCES | Errno::EPERM) => return Ok(NsLink::Refused),
            Err(Errno::ENOENT | Errno::ESRCH) => return Ok(NsLink::Gone),
            Err(e) => return Err(Error::os(format!("readlink /proc/{path}"), e)),
        };
        // "user:[4026531837]"
        let ino = link.to_str().and_then(|l| l.strip_prefix("user:[")?.strip_suffix(']')?.parse().ok());
        ino.map(NsLink::Read).ok_or_else(|| Error::damaged(format!("unexpected link /proc/{path}")))
    }

    /// Opens a task's user namespace; `None` if gone or refused.
    pub fn open_user_ns(&self, tgid: u32, tid: u32) -> Result<Option<OwnedFd>> {
        let path = ProcPath::task_file(tgid, tid, "ns/user");
        match openat(self.root.as_fd(), path.as_str(), OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()) {
            Ok(fd) => Ok(Some(fd)),
            Err(e) if gone(e) => Ok(None),
            Err(e) => Err(Error::os(format!("open /proc/{}", path.as_str()), e)),
        }
    }

    /// A lookup that fails as a missing pid's does (pid 0 is never a task), so
    /// that a found task and a missing one cost the same path.
    pub fn miss(&self) {
        let _ = openat(self.root.as_fd(), "0/status", OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty());
    }

    /// The numeric entries of a directory under `/proc`, ascending.
    fn numeric_entries(&self, path: &str) -> Result<Option<Vec<u32>>> {
        let fd = match self.open_beneath(path, OFlag::O_RDONLY | OFlag::O_DIRECTORY) {
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
        self.numeric_entries(ProcPath::new(format_args!("{tgid}/task")).as_str())
    }

    /// The children (thread-group leaders) of every thread of `tgid`, ascending,
    /// from `/proc/TGID/task/TID/children`.
    pub fn children(&mut self, tgid: u32) -> Result<Option<Vec<u32>>> {
        let Some(tids) = self.tids(tgid)? else { return Ok(None) };
        let mut kids = Vec::new();
        for tid in tids {
            if !self.read_file(ProcPath::new(format_args!("{tgid}/task/{tid}/children")).as_str())? {
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

    /// Reads a file to its end into `self.buf` (`cmdline` does not end with a
    /// newline, so a short read is not its end); false if the task is gone.
    fn read_file_whole(&mut self, path: &str) -> Result<bool> {
        let fd = match self.open_beneath(path, OFlag::O_RDONLY) {
            Ok(fd) => fd,
            Err(e) if gone(e) => return Ok(false),
            Err(e) => return Err(Error::os(format!("open /proc/{path}"), e)),
        };
        self.buf.clear();
        let mut chunk = [0u8; 4096];
        loop {
            match nix::unistd::read(&fd, &mut chunk) {
                Ok(0) => return Ok(true),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(Errno::EINTR) => continue,
                Err(e) if gone(e) => return Ok(false),
                Err(e) => return Err(Error::os(format!("read /proc/{path}"), e)),
            }
        }
    }

    /// Reads a file into `self.buf` and returns its owner (uid, gid) when
    /// `owner` is asked for (else (0, 0)); `None` if gone.
    fn read_file_at(&mut self, path: &str, owner: bool) -> Result<Option<(u32, u32)>> {
        let fd = match self.open_beneath(path, OFlag::O_RDONLY) {
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

    /// Reads `/proc/PID/status` of any task id; `None` if gone.
    pub fn status_of(&mut self, pid: u32) -> Result<Option<StatusFields>> {
        if !self.read_file(ProcPath::task_file(pid, pid, "status").as_str())? {
            return Ok(None);
        }
        Ok(parse_status(&self.buf))
    }

    /// Reads one task from its `status` file alone; `None` if it is gone (or
    /// unreadable). procfs makes a non-dumpable task's files owned by root
    /// (`task_dump_owner`), which is how dumpability is learned.
    pub fn read_task(&mut self, tgid: u32, tid: u32) -> Result<Option<TaskInfo>> {
        self.read_task_at(tgid, tid, Some(tgid))
    }

    /// Reads the task with id `pid` (a process or any of its threads: procfs
    /// answers `/proc/TID` for threads too), learning its tgid from the file.
    pub fn read_task_by_pid(&mut self, pid: u32) -> Result<Option<TaskInfo>> {
        self.read_task_at(pid, pid, None)
    }

    /// Reads the task in directory `dir_tgid` (with `/task/TID` for a thread)
    /// whose id is `tid`; `tgid`, when known, must match the file's.
    fn read_task_at(&mut self, dir_tgid: u32, tid: u32, tgid: Option<u32>) -> Result<Option<TaskInfo>> {
        let check_owner = self.check_owner;
        let status_path = ProcPath::task_file(dir_tgid, tid, "status");
        let Some((owner_uid, owner_gid)) = self.read_file_at(status_path.as_str(), check_owner)? else { return Ok(None) };
        let Some(status) = parse_status(&self.buf) else { return Ok(None) };
        if status.pid != tid || tgid.is_some_and(|t| t != status.tgid) {
            return Ok(None); // the id was reused between the listing and the read
        }
        // A task released while its status was printed: `Pid:` names the file's
        // pid, but NSpid (and PPid, NSpgid, NSsid) read 0 once the task's pid is gone.
        if status.levels.at(0).is_some_and(|own| own.pid != tid) {
            return Ok(None);
        }
        let tgid = status.tgid;
        // NSpgid/NSsid give the process group and session; kernels without pid
        // namespaces print no NS lines, so those come from `stat` there.
        let (pgid, sid) = if let Some(own) = status.levels.at(0) {
            (own.pgid, own.sid)
        } else {
            match self.read_file(ProcPath::task_file(dir_tgid, tid, "stat").as_str())?.then(|| parse_stat(&self.buf)).flatten() {
                Some(stat) => (stat.pgrp, stat.session),
                None => return Ok(None),
            }
        };
        let state = TaskState::from_proc_letter(status.state).unwrap_or(TaskState::Uninterruptible);
        // With an mm, procfs makes a non-dumpable task's files owned by root
        // (`task_dump_owner`). Without one (exited, kernel thread) the kernel
        // judges by the dumpability the task had when it let its mm go, which
        // procfs does not show: taken as not dumpable, so only CAP_SYS_PTRACE in
        // the initial user namespace sees it (exact for kernel threads).
        let dumpable = !check_owner || (status.has_mm && owner_uid == status.uid[1] && owner_gid == status.gid[1]);
        let (user_ns, dumpable_ns) = if check_owner {
            match self.user_ns_link(dir_tgid, tid)? {
                NsLink::Read(ns) => (ns, if status.has_mm { ns } else { crate::visibility::INIT_USER_NS }),
                NsLink::Refused | NsLink::Gone => return Ok(None),
            }
        } else {
            (0, 0)
        };
        let extra = match self.wants.any() {
            true => match self.read_extra(dir_tgid, tid)? {
                Some(extra) => Some(Box::new(extra)),
                None => return Ok(None),
            },
            false => None,
        };
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
            user_ns,
            dumpable_ns,
            extra,
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
            .ok_or_else(|| Error::damaged("parse /proc/thread-self/status"))?;
        let tgid = nix::fcntl::readlinkat(self.root.as_fd(), "self")
            .ok()
            .and_then(|p| p.to_str().and_then(|s| s.parse::<u32>().ok()))
            .ok_or_else(|| Error::os("readlink /proc/self", Errno::ENOENT))?;
        let user_ns = self.own_user_ns()?;
        Ok((status.viewer(tgid, user_ns), status.levels.len()))
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

    /// Whether `/proc/TGID/task/TID` is there (the task has not been reaped).
    pub fn task_exists(&self, tgid: u32, tid: u32) -> bool {
        let path = ProcPath::new(format_args!("{tgid}/task/{tid}"));
        !matches!(self.open_beneath(path.as_str(), OFlag::O_PATH | OFlag::O_DIRECTORY), Err(Errno::ENOENT | Errno::ESRCH))
    }

    /// A process's command line (`/proc/TGID/cmdline`, its arguments
    /// NUL-separated), at most `limit` bytes; `None` if gone or hidden. Opened
    /// beneath the held, statfs-checked `/proc` like every other read here, so
    /// hidepid applies to it as to status and no mount can stand in for it.
    pub fn cmdline(&self, tgid: u32, limit: usize) -> Result<Option<Vec<u8>>> {
        let path = ProcPath::new(format_args!("{tgid}/cmdline"));
        let fd = match self.open_beneath(path.as_str(), OFlag::O_RDONLY) {
            Ok(fd) => fd,
            Err(e) if gone(e) => return Ok(None),
            Err(e) => return Err(Error::os(format!("open /proc/{}", path.as_str()), e)),
        };
        let mut out = vec![0u8; limit];
        let mut len = 0;
        while len < limit {
            match nix::unistd::read(&fd, &mut out[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(Errno::EINTR) => continue,
                Err(e) if gone(e) => return Ok(None),
                Err(e) => return Err(Error::os(format!("read /proc/{}", path.as_str()), e)),
            }
        }
        out.truncate(len);
        Ok(Some(out))
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

impl StatusFields {
    /// The credentials visibility is judged by: the process's fsuid, fsgid and
    /// effective capabilities (the one place a `Viewer` is made from the kernel's report).
    /// `user_ns`: the inode of the process's user namespace, which status does not print.
    pub fn viewer(&self, tgid: u32, user_ns: u64) -> Viewer {
        Viewer { tgid, fsuid: self.uid[3], fsgid: self.gid[3], euid: self.uid[1], cap_effective: self.cap_eff, user_ns }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmdline_is_bounded_and_nul_separated() {
        let proc = ProcFs::open().expect("/proc");
        let me = std::process::id();
        let whole = std::fs::read(format!("/proc/{me}/cmdline")).expect("cmdline");
        assert_eq!(proc.cmdline(me, 1 << 20).expect("read"), Some(whole.clone()));
        assert_eq!(proc.cmdline(me, 3).expect("read"), Some(whole[..3.min(whole.len())].to_vec()));
        assert_eq!(proc.cmdline(i32::MAX as u32, 64).expect("read"), None, "a pid that names no task");
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

    #[test]
    fn task_paths_are_built_without_allocating() {
        assert_eq!(ProcPath::task_file(42, 42, "status").as_str(), "42/status");
        assert_eq!(ProcPath::task_file(42, 43, "status").as_str(), "42/task/43/status");
        assert_eq!(ProcPath::new(format_args!("{}/task/{}/children", u32::MAX, u32::MAX)).as_str(), "4294967295/task/4294967295/children");
        let long = "x".repeat(100);
        assert_eq!(ProcPath::new(format_args!("{long}")).as_str().len(), 64, "cut, not a panic");
    }
}

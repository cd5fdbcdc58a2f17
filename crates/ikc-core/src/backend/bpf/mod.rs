//! The BPF backend (cargo feature `bpf`): one BPF task iterator (`iter/task`,
//! Linux 5.8+, `bpf/task_iter.bpf.c`) walks every task and writes fixed-size
//! records, read here into the same `TaskInfo` the procfs backend produces, so
//! the dump and the visibility rule run unchanged on top. Serves a caller in
//! the initial pid and user namespaces, where its ids are numbered;
//! `backend::choose` decides when. This file loads and walks; `record.rs` reads.
//!
//! The object is built by `bpf/build.sh` and committed; aya loads it, resolving
//! kernel struct offsets from `/sys/kernel/btf/vmlinux` (CO-RE). No clang or
//! libbpf at run time.

mod record;
mod stat;

use std::fs::File;
use std::io::Read;
use std::sync::{Mutex, OnceLock};

use aya::maps::Array;
use aya::programs::Iter;
use aya::{Btf, Ebpf, EbpfLoader};

use crate::error::{Error, Result};
use crate::ns::{self, NsSource, NsType};
use crate::netlink::DecodeError;
pub use stat::{cputime_adjust, StatMode};
pub use record::{frame_walk, parse_walk, parse_records, proc_task_name, RawStat, Record, TaskRecord, TaskRecordBuffer, Walk, WorkerDesc, LEVEL_RECORD_LEN, TASK_RECORD_LEN, TASK_RECORD_VERSION, WALK_END_LEN};

/// The room left for each read(): more than the kernel's seq_file buffer (32 KiB),
/// so each read returns everything one fill of it holds.
const READ_CHUNK: usize = 64 << 10;
/// The compiled iterator, with its BTF and CO-RE relocations.
static OBJECT: &[u8] = aya::include_bytes_aligned!("../../../bpf/task_iter.bpf.o");
/// The program, and its global that makes a walk emit only thread-group leaders
/// (ALL) instead of every task (ALL_THREAD).
const PROG: &str = "ikc_tasks";
const GLOBALS: &str = ".bss";

/// `PROC_USER_INIT_INO`: the inode of the initial user namespace.
const PROC_USER_INIT_INO: u64 = 0xEFFF_FFFD;

/// The loaded iterator program. Loading parses the kernel's BTF (tens of
/// milliseconds), so one instance serves many dumps, one at a time; each dump
/// is a new link and iterator fd, read to the end.
pub struct TaskIter {
    ebpf: Ebpf,
}

fn not_supported(what: &str, e: impl std::fmt::Display) -> Error {
    Error::NotSupported(format!("BPF task iterator: {what}: {e}"))
}

impl TaskIter {
    /// Loads and verifies the program against the running kernel.
    pub fn load() -> Result<TaskIter> {
        // aya's loader parses the kernel's BTF for its CO-RE relocations and keeps
        // it to itself; attaching to `bpf_iter_task` needs a second copy. Parsing
        // that copy on another thread meanwhile takes ~10 ms off a cold load.
        let (btf, ebpf) = std::thread::scope(|s| {
            let btf = s.spawn(Btf::from_sys_fs);
            let ebpf = EbpfLoader::new().load(OBJECT);
            (btf.join(), ebpf)
        });
        let btf = btf
            .map_err(|_| not_supported("kernel BTF", "the parsing thread panicked"))?
            .map_err(|e| not_supported("kernel BTF (/sys/kernel/btf/vmlinux)", e))?;
        let mut ebpf = ebpf.map_err(|e| not_supported("load object", e))?;
        program(&mut ebpf)?.load("task", &btf).map_err(|e| not_supported(&format!("load {PROG}"), e))?;
        Ok(TaskIter { ebpf })
    }

    /// One walk over every task (`threads`) or every thread-group leader: the raw records.
    pub fn read_raw(&mut self, threads: bool) -> Result<Vec<u8>> {
        let globals = self.ebpf.map_mut(GLOBALS).ok_or_else(|| not_supported("object", format!("no {GLOBALS}")))?;
        let mut leaders_only: Array<_, u32> = Array::try_from(globals).map_err(|e| not_supported(GLOBALS, e))?;
        leaders_only.set(0, u32::from(!threads), 0).map_err(|e| not_supported("set ikc_leaders_only", e))?;
        let prog = program(&mut self.ebpf)?;
        let link_id = prog.attach().map_err(|e| not_supported("attach", e))?;
        let link = prog.take_link(link_id).map_err(|e| not_supported("take link", e))?;
        let mut file: File = link.into_file().map_err(|e| not_supported("create iterator", e))?;
        // Read up to the end record and no further: not to EOF. A read() after
        // the end restarts the walk past the last tid and returns the tasks forked
        // since, after the end record (see `frame_walk`).
        // Zeroed once by the allocator (no fill loop); doubled when a walk outgrows it.
        let mut out = vec![0u8; 1 << 20];
        let (mut len, mut framed) = (0, 0);
        loop {
            if out.len() - len < READ_CHUNK {
                out.resize(out.len() * 2, 0);
            }
            match file.read(&mut out[len..]) {
                // EOF before the end record: a damaged walk, which parse_walk reports.
                Ok(0) => break,
                Ok(n) => len += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::from_io("read BPF task iterator", &e)),
            }
            if frame_walk(&out[..len], &mut framed).map_err(damaged)? {
                break;
            }
        }
        out.truncate(len);
        Ok(out)
    }

    /// Every task (`threads`) or every thread-group leader, ordered as the
    /// procfs backend lists them: by tgid, then by tid; with what `extras` asks.
    pub fn read(&mut self, threads: bool, extras: Extras) -> Result<Walk> {
        let mut walk = if extras.stats || extras.name {
            // A group's STAT sums its threads: walk them all, keep leaders after.
            let raw = self.read_raw(threads || extras.stats)?;
            let (records, tasks_visited) = parse_records(&raw).map_err(damaged)?;
            let mode = if extras.per_thread { StatMode::Thread } else { StatMode::Group };
            let mut tasks = stat::task_infos(records, mode, extras.stats, extras.name, page_size());
            if !threads {
                tasks.retain(|t| t.base.pid == t.base.tgid);
            }
            Walk { tasks, tasks_visited }
        } else {
            parse_walk(&self.read_raw(threads)?).map_err(damaged)?
        };
        // The kernel walks by tid; a thread's tid can fall between other groups'.
        // Sorting keys, not the large records, keeps this a small part of a walk.
        walk.tasks.sort_by_cached_key(|t| (t.base.tgid, t.base.pid));
        Ok(walk)
    }
}

fn program(ebpf: &mut Ebpf) -> Result<&mut Iter> {
    ebpf.program_mut(PROG)
        .ok_or_else(|| not_supported("object", format!("no program {PROG}")))?
        .try_into()
        .map_err(|e| not_supported(PROG, e))
}

/// A walk the kernel wrote and this reader cannot frame or parse: ikc's own data
/// is damaged (a reader and object out of step, or a kernel that broke the
/// contract), which is `EIO`, not the caller's `EINVAL`.
fn damaged(e: DecodeError) -> Error {
    let what = e.0.strip_prefix("BPF task walk: ").unwrap_or(&e.0);
    Error::damaged(format!("BPF task walk: {what}"))
}

/// Whether the calling thread can use this backend, and why not: it must be in
/// the initial pid namespace (the iterator walks, and the records number, that
/// namespace) and the initial user namespace (the records hold kernel uids,
/// which procfs shows unchanged only there), and the programs must load (root,
/// or CAP_BPF with CAP_PERFMON; kernel BTF; Linux 5.8+).
pub fn available() -> Result<()> {
    let pid_ns = ns::current(NsType::Pid)?;
    if !ns::is_initial(NsSource::ThisThread, NsType::Pid, pid_ns)? {
        return Err(Error::NotSupported("BPF task iterator: not in the initial pid namespace".into()));
    }
    let user_ns = nix::sys::stat::stat("/proc/thread-self/ns/user").map_err(|e| Error::os("stat /proc/thread-self/ns/user", e))?;
    if user_ns.st_ino != PROC_USER_INIT_INO {
        return Err(Error::NotSupported("BPF task iterator: not in the initial user namespace".into()));
    }
    shared().map(|_| ())
}

static ITER: OnceLock<Result<Mutex<TaskIter>>> = OnceLock::new();

/// The process-wide iterator, loaded on first use (a failure is remembered).
fn shared() -> Result<&'static Mutex<TaskIter>> {
    ITER.get_or_init(|| TaskIter::load().map(Mutex::new)).as_ref().map_err(Clone::clone)
}

/// Whether this process has already loaded the programs (so using them costs no load).
pub fn loaded() -> bool {
    matches!(ITER.get(), Some(Ok(_)))
}

/// What a walk reports beyond BASE and CRED: STAT and PS, NAME.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Extras {
    pub stats: bool,
    pub name: bool,
    /// STAT per thread (ALL_THREAD, THREAD) rather than per thread group.
    pub per_thread: bool,
}

fn page_size() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE).ok().flatten().filter(|&n| n > 0).map_or(4096, |n| n as u64)
}

/// ALL (`threads == false`) or ALL_THREAD of the initial pid namespace, as
/// `TaskInfo` records ordered like the procfs backend's, with the number of
/// tasks the kernel showed the walk. Check `available()` first: this does not
/// check the caller's namespaces.
pub fn read_all_tasks(threads: bool, extras: Extras) -> Result<Walk> {
    let iter = shared()?;
    let mut iter = iter.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    iter.read(threads, extras)
}


#[cfg(test)]
mod tests {
    use super::*;
    use nix::errno::Errno;

    #[test]
    fn a_damaged_walk_is_eio_not_the_callers_einval() {
        let err = damaged(parse_walk(&[]).expect_err("no end record"));
        assert_eq!((err.code(), err.errno()), ("EIO", Errno::EIO as i32));
        assert_eq!(err.to_string(), "EIO: BPF task walk: no end record (cut short): I/O error");
        let err = damaged(parse_walk(&[0; 16]).expect_err("version 0"));
        assert_eq!(err.to_string(), format!("EIO: BPF task walk: ikc_task version 0 (this reader knows {TASK_RECORD_VERSION}): I/O error"));
    }
}

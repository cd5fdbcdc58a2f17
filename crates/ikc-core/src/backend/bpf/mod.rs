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

pub mod pin;
mod record;
mod stat;
mod sys;

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use aya::maps::Array;
use aya::programs::links::FdLink;
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

/// The iterator: one pinned link per walk mode when this process may use pins
/// (`pin.rs`: root), else the program loaded in this process. Loading parses the
/// kernel's BTF (tens of milliseconds), so one instance serves many dumps, one
/// at a time; each dump is a new iterator fd, read to the end.
pub struct TaskIter {
    /// Pinned links, by mode: [leaders only, every task].
    pinned: [Option<OwnedFd>; 2],
    /// Where pins are kept and the object's hash, while pins are in use.
    pins: Option<(PathBuf, String)>,
    /// The program loaded here (no pins), its global set before each walk.
    loaded: Option<Ebpf>,
    /// The kernel's BTF, parsed once for every load of this process.
    btf: Option<Btf>,
}

fn not_supported(what: &str, e: impl std::fmt::Display) -> Error {
    Error::NotSupported(format!("BPF task iterator: {what}: {e}"))
}

impl TaskIter {
    /// The iterator for ALL walks, ready: a checked pin (made on first use) for
    /// root, else the program loaded and verified against the running kernel.
    pub fn load() -> Result<TaskIter> {
        TaskIter::load_with_pins(pin::dir())
    }

    /// As `load`, with pins kept in `dir` (`None`: no pins). The directory must
    /// pass `pin.rs`'s checks (root's alone, on bpffs), else pins are not used.
    pub fn load_with_pins(dir: Option<PathBuf>) -> Result<TaskIter> {
        let mut iter = TaskIter { pinned: [None, None], pins: dir.map(|d| (d, pin::object_hash(OBJECT))), loaded: None, btf: None };
        if iter.pinned_link(false)?.is_none() {
            iter.loaded_program()?;
        }
        Ok(iter)
    }

    /// The program loaded afresh in this process, never from or into a pin (what a load costs).
    pub fn load_fresh() -> Result<TaskIter> {
        TaskIter::load_with_pins(None)
    }

    /// Whether walks of this mode go through a pinned link.
    pub fn is_pinned(&self, threads: bool) -> bool {
        // A mode is pinned once a walk of it (or `load`, for leaders) opened its pin.
        self.pinned[usize::from(threads)].is_some()
    }

    /// Loads the object (with the kernel's BTF, parsed once per process) and its
    /// program, the global set to `leaders_only`.
    fn load_object(&mut self, leaders_only: bool) -> Result<Ebpf> {
        let mut ebpf = match &self.btf {
            Some(btf) => EbpfLoader::new().btf(Some(btf)).load(OBJECT).map_err(|e| not_supported("load object", e))?,
            None => {
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
                let ebpf = ebpf.map_err(|e| not_supported("load object", e))?;
                self.btf = Some(btf);
                ebpf
            }
        };
        set_leaders_only(&mut ebpf, leaders_only)?;
        let btf = self.btf.as_ref().ok_or_else(|| not_supported("kernel BTF", "not parsed"))?;
        program(&mut ebpf)?.load("task", btf).map_err(|e| not_supported(&format!("load {PROG}"), e))?;
        Ok(ebpf)
    }

    fn loaded_program(&mut self) -> Result<&mut Ebpf> {
        if self.loaded.is_none() {
            let ebpf = self.load_object(true)?;
            self.loaded = Some(ebpf);
        }
        self.loaded.as_mut().ok_or_else(|| not_supported("object", "not loaded"))
    }

    /// The pinned link of a mode: a checked pin, or one made now (a program
    /// loaded for this mode alone, its global frozen, attached and pinned).
    /// `None` when pins are off or cannot be made here (then they stay off).
    fn pinned_link(&mut self, threads: bool) -> Result<Option<BorrowedFd<'_>>> {
        let i = usize::from(threads);
        let Some((dir, hash)) = self.pins.clone() else { return Ok(None) };
        if self.pinned[i].is_none() {
            let link = match pin::open(&dir, &hash, threads) {
                Some(link) => Some(link),
                None => self.make_pin(&dir, &hash, threads)?,
            };
            match link {
                Some(link) => self.pinned[i] = Some(link),
                None => {
                    self.pins = None;
                    return Ok(None);
                }
            }
        }
        Ok(self.pinned[i].as_ref().map(|fd| fd.as_fd()))
    }

    fn make_pin(&mut self, dir: &Path, hash: &str, threads: bool) -> Result<Option<OwnedFd>> {
        if pin::ensure_dir(dir).is_err() {
            return Ok(None);
        }
        let mut ebpf = self.load_object(!threads)?;
        // The global is fixed for good: nothing can switch a pinned walk's mode.
        match ebpf.map(GLOBALS) {
            Some(aya::maps::Map::Array(globals)) => sys::map_freeze(globals.fd().as_fd()).map_err(|e| not_supported("freeze globals", e))?,
            _ => return Err(not_supported("object", format!("no array {GLOBALS}"))),
        }
        let prog = program(&mut ebpf)?;
        let tag = prog.info().map_err(|e| not_supported("program info", e))?.tag().to_be_bytes();
        let link_id = prog.attach().map_err(|e| not_supported("attach", e))?;
        let link: FdLink = prog.take_link(link_id).map_err(|e| not_supported("take link", e))?.try_into().map_err(|e| not_supported("link", e))?;
        let pinned = pin::pin(dir, hash, threads, tag, |tmp| link.pin(tmp).map(drop).map_err(|e| e.to_string()));
        if pinned.is_err() {
            return Ok(None);
        }
        // Opened back by name and checked: what other processes will open.
        Ok(pin::open(dir, hash, threads))
    }

    /// A new walk: an iterator fd of the pinned link, or of a new link of the loaded program.
    fn walk_file(&mut self, threads: bool) -> Result<File> {
        if let Some(link) = self.pinned_link(threads)? {
            return sys::iter_create(link).map_err(|e| Error::os("BPF_ITER_CREATE", e));
        }
        let ebpf = self.loaded_program()?;
        set_leaders_only(ebpf, !threads)?;
        let prog = program(ebpf)?;
        let link_id = prog.attach().map_err(|e| not_supported("attach", e))?;
        let link = prog.take_link(link_id).map_err(|e| not_supported("take link", e))?;
        link.into_file().map_err(|e| not_supported("create iterator", e))
    }

    /// One walk over every task (`threads`) or every thread-group leader: the raw records.
    pub fn read_raw(&mut self, threads: bool) -> Result<Vec<u8>> {
        let mut file = self.walk_file(threads)?;
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

fn set_leaders_only(ebpf: &mut Ebpf, leaders_only: bool) -> Result<()> {
    let globals = ebpf.map_mut(GLOBALS).ok_or_else(|| not_supported("object", format!("no {GLOBALS}")))?;
    let mut flag: Array<_, u32> = Array::try_from(globals).map_err(|e| not_supported(GLOBALS, e))?;
    flag.set(0, u32::from(leaders_only), 0).map_err(|e| not_supported("set ikc_leaders_only", e))
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

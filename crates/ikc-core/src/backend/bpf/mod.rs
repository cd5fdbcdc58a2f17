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

use std::fs::File;
use std::io::Read;
use std::sync::{Mutex, OnceLock};

use aya::programs::Iter;
use aya::{Btf, Ebpf, EbpfLoader};
use nix::errno::Errno;

use crate::command::NsType;
use crate::error::{Error, Result};
use crate::ns::{self, NsSource};
use crate::task_diag::TaskInfo;
pub use record::{parse_records, proc_task_name, TaskRecord, TaskRecordBuffer, WorkerDesc, LEVEL_RECORD_LEN, TASK_RECORD_LEN, TASK_RECORD_VERSION};

/// The compiled iterator, with its BTF and CO-RE relocations.
static OBJECT: &[u8] = aya::include_bytes_aligned!("../../../bpf/task_iter.bpf.o");
/// The program that emits every task (ALL_THREAD) and the one that emits thread-group leaders (ALL).
const PROG_TASKS: &str = "ikc_tasks";
const PROG_LEADERS: &str = "ikc_leaders";

/// `PROC_USER_INIT_INO`: the inode of the initial user namespace.
const PROC_USER_INIT_INO: u64 = 0xEFFF_FFFD;

/// The loaded iterator programs. Loading parses the kernel's BTF (tens of
/// milliseconds), so one instance serves many dumps; each dump is a new link
/// and iterator fd, read to the end.
pub struct TaskIter {
    ebpf: Ebpf,
}

fn not_supported(what: &str, e: impl std::fmt::Display) -> Error {
    Error::NotSupported(format!("BPF task iterator: {what}: {e}"))
}

impl TaskIter {
    /// Loads and verifies both programs against the running kernel.
    pub fn load() -> Result<TaskIter> {
        let btf = Btf::from_sys_fs().map_err(|e| not_supported("kernel BTF (/sys/kernel/btf/vmlinux)", e))?;
        let mut ebpf = EbpfLoader::new().btf(Some(&btf)).load(OBJECT).map_err(|e| not_supported("load object", e))?;
        for name in [PROG_TASKS, PROG_LEADERS] {
            let prog: &mut Iter = program(&mut ebpf, name)?;
            prog.load("task", &btf).map_err(|e| not_supported(&format!("load {name}"), e))?;
        }
        Ok(TaskIter { ebpf })
    }

    /// One walk over every task (`threads`) or every thread-group leader: the raw records.
    pub fn read_raw(&mut self, threads: bool) -> Result<Vec<u8>> {
        let prog = program(&mut self.ebpf, if threads { PROG_TASKS } else { PROG_LEADERS })?;
        let link_id = prog.attach().map_err(|e| not_supported("attach", e))?;
        let link = prog.take_link(link_id).map_err(|e| not_supported("take link", e))?;
        let mut file: File = link.into_file().map_err(|e| not_supported("create iterator", e))?;
        // Each read() returns at most the kernel's seq_file buffer (32 KiB) of whole records.
        let mut out = Vec::with_capacity(1 << 20);
        file.read_to_end(&mut out).map_err(|e| Error::os("read BPF task iterator", io_errno(&e)))?;
        Ok(out)
    }

    /// Every task (`threads`) or every thread-group leader, ordered as the
    /// procfs backend lists them: by tgid, then by tid.
    pub fn read(&mut self, threads: bool) -> Result<Vec<TaskInfo>> {
        let raw = self.read_raw(threads)?;
        let mut tasks: Vec<TaskInfo> = parse_records(&raw)?.iter().map(TaskRecord::task_info).collect();
        tasks.sort_unstable_by_key(|t| (t.base.tgid, t.base.pid));
        Ok(tasks)
    }
}

fn program<'a>(ebpf: &'a mut Ebpf, name: &str) -> Result<&'a mut Iter> {
    ebpf.program_mut(name)
        .ok_or_else(|| not_supported("object", format!("no program {name}")))?
        .try_into()
        .map_err(|e| not_supported(name, e))
}

fn io_errno(e: &std::io::Error) -> Errno {
    e.raw_os_error().map_or(Errno::EIO, Errno::from_raw)
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

/// ALL (`threads == false`) or ALL_THREAD of the initial pid namespace, as
/// `TaskInfo` records ordered like the procfs backend's. Check `available()`
/// first: this does not check the caller's namespaces.
pub fn read_all_tasks(threads: bool) -> Result<Vec<TaskInfo>> {
    let iter = shared()?;
    let mut iter = iter.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    iter.read(threads)
}


//! Where task data comes from: procfs (always built, the fallback) or the BPF
//! task iterator (feature `bpf`, on by default). Each backend fills `TaskInfo`
//! records; the dump, the visibility rule and the namespace scope do not care
//! which one did. Only ALL and ALL_THREAD use BPF: per-process strategies read
//! a handful of tasks, which procfs does as fast.

#[cfg(feature = "bpf")]
pub mod bpf;
pub mod procfs;

use crate::error::{Error, Result};
use crate::task_diag::TaskInfo;
use procfs::ProcFs;

/// A caller's choice (`issue_kernel_command` flags), or what `Auto` resolved to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Auto,
    Procfs,
    Bpf,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Auto => "auto",
            Backend::Procfs => "procfs",
            Backend::Bpf => "bpf",
        }
    }
}

/// Below this many tasks, loading the BPF programs (tens of milliseconds, once
/// per process) costs more than reading procfs; a process that has them loaded
/// (a broker) uses them whatever the count.
pub const AUTO_BPF_MIN_TASKS: usize = 2000;

/// Resolves `Auto`, and checks that an explicit `Bpf` can be had (`EOPNOTSUPP`
/// with the reason otherwise). `in_initial_view`: the caller and /proc are in the
/// initial pid namespace, which is what the iterator numbers tasks in.
pub fn choose(requested: Backend, in_initial_view: bool) -> Result<Backend> {
    match requested {
        Backend::Procfs => Ok(Backend::Procfs),
        Backend::Bpf => {
            if !in_initial_view {
                return Err(Error::NotSupported("the BPF backend numbers tasks in the initial pid namespace; /proc here shows another".into()));
            }
            bpf_available().map(|_| Backend::Bpf)
        }
        Backend::Auto => {
            let worth_it = bpf_loaded() || (task_count().is_some_and(|n| n >= AUTO_BPF_MIN_TASKS) && may_load_bpf());
            Ok(if in_initial_view && worth_it && bpf_available().is_ok() { Backend::Bpf } else { Backend::Procfs })
        }
    }
}

/// Every task (`threads`) or thread-group leader, from the BPF iterator, with
/// any thread group it did not report read through procfs instead (some kernels
/// keep tasks from iterators), ordered by tgid then tid like a procfs walk.
#[cfg(feature = "bpf")]
pub fn bpf_all_tasks(proc: &mut ProcFs, threads: bool) -> Result<Vec<TaskInfo>> {
    let mut tasks = bpf::read_all_tasks(threads)?;
    let seen: std::collections::HashSet<u32> = tasks.iter().map(|t| t.base.tgid).collect();
    for tgid in proc.tgids()? {
        if seen.contains(&tgid) {
            continue;
        }
        let tids = if threads { proc.tids(tgid)?.unwrap_or_default() } else { vec![tgid] };
        for tid in tids {
            tasks.extend(proc.read_task(tgid, tid)?);
        }
    }
    tasks.sort_unstable_by_key(|t| (t.base.tgid, t.base.pid));
    Ok(tasks)
}

#[cfg(not(feature = "bpf"))]
pub fn bpf_all_tasks(_proc: &mut ProcFs, _threads: bool) -> Result<Vec<TaskInfo>> {
    bpf_available().map(|_| Vec::new())
}

#[cfg(feature = "bpf")]
fn bpf_available() -> Result<()> {
    bpf::available()
}
#[cfg(not(feature = "bpf"))]
fn bpf_available() -> Result<()> {
    Err(Error::NotSupported("this build of ikc has no BPF backend (feature `bpf`)".into()))
}

#[cfg(feature = "bpf")]
fn bpf_loaded() -> bool {
    bpf::loaded()
}
#[cfg(not(feature = "bpf"))]
fn bpf_loaded() -> bool {
    false
}

/// Whether this thread holds what loading BPF programs needs (`CAP_SYS_ADMIN`, or
/// `CAP_BPF` with `CAP_PERFMON`), so auto does not parse the kernel's BTF only to
/// be refused.
fn may_load_bpf() -> bool {
    const CAP_SYS_ADMIN: u32 = 21;
    const CAP_PERFMON: u32 = 38;
    const CAP_BPF: u32 = 39;
    let Ok(status) = std::fs::read("/proc/thread-self/status") else { return false };
    let Some(s) = procfs::parse_status(&status) else { return false };
    let has = |cap: u32| s.cap_eff & (1u64 << cap) != 0;
    has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON))
}

/// The number of tasks on the system, from the fourth field of /proc/loadavg
/// ("running/total").
fn task_count() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().nth(3)?.split('/').nth(1)?.parse().ok()
}

//! Where task data comes from: procfs (always built, the fallback) or the BPF
//! task iterator (feature `bpf`, on by default). Each backend fills `TaskInfo`
//! records; the dump, the visibility rule and the namespace scope do not care
//! which one did. Only ALL and ALL_THREAD use BPF: per-process strategies read
//! a handful of tasks, which procfs does as fast.

#[cfg(feature = "bpf")]
pub mod bpf;
pub mod procfs;

use crate::caps::{self, CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN};
use crate::error::{Error, Result};
use crate::task::TaskInfo;
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

/// Every task (`threads`) or thread-group leader, from the BPF iterator,
/// ordered by tgid then tid like a procfs walk.
///
/// Some kernels keep tasks from BPF iterators that /proc still shows (a sandbox
/// hiding its own agent); those are read through procfs. The walk's end record
/// says how many tasks it was shown. When the kernel's task and fork counters
/// did not move during the walk, the world stood still, so that count against
/// the kernel's total proves whether anything was kept, and the groups the
/// reported tasks name as parents, sessions and process groups usually account
/// for it. Otherwise every group /proc lists is checked (a listing that costs
/// as much as the walk).
#[cfg(feature = "bpf")]
pub fn bpf_all_tasks(proc: &mut ProcFs, threads: bool) -> Result<Vec<TaskInfo>> {
    let before = TaskCounters::read();
    let wants = proc.wants();
    let walk = bpf::read_all_tasks(threads, bpf::Extras { stats: wants.stat, name: wants.name, per_thread: wants.per_thread })?;
    let kept = TaskCounters::kept_from_walk(before, TaskCounters::read(), walk.tasks_visited);
    let mut tasks = walk.tasks;
    let extra = match kept {
        Some(0) => return Ok(tasks),
        Some(n) => match groups_named_by(proc, &tasks, threads)? {
            (found, found_tasks) if found_tasks == n => found,
            _ => unseen_groups(proc, &tasks, threads)?,
        },
        None => unseen_groups(proc, &tasks, threads)?,
    };
    tasks.extend(extra);
    tasks.sort_by_cached_key(|t| (t.base.tgid, t.base.pid));
    Ok(tasks)
}

/// The thread groups of `tasks` (sorted by tgid), sorted.
#[cfg(feature = "bpf")]
fn groups(tasks: &[TaskInfo]) -> Vec<u32> {
    let mut tgids: Vec<u32> = tasks.iter().map(|t| t.base.tgid).collect();
    tgids.dedup();
    tgids
}

/// The thread groups missing from `tasks` that its tasks name as parent,
/// session or process group, read through procfs (every thread, or the leader),
/// and how many tasks those groups have in all.
#[cfg(feature = "bpf")]
fn groups_named_by(proc: &mut ProcFs, tasks: &[TaskInfo], threads: bool) -> Result<(Vec<TaskInfo>, u64)> {
    let mut named: Vec<u32> = tasks.iter().flat_map(|t| [t.base.ppid, t.base.sid, t.base.pgid]).filter(|&id| id != 0).collect();
    named.sort_unstable();
    named.dedup();
    let seen = groups(tasks);
    named.retain(|id| seen.binary_search(id).is_err());
    let (mut found, mut count) = (Vec::new(), 0);
    for tgid in named {
        let Some(tids) = proc.tids(tgid)? else { continue };
        count += tids.len() as u64;
        for tid in if threads { tids } else { vec![tgid] } {
            found.extend(proc.read_task(tgid, tid)?);
        }
    }
    Ok((found, count))
}

/// Every thread group /proc lists that `tasks` lacks, read through procfs.
#[cfg(feature = "bpf")]
fn unseen_groups(proc: &mut ProcFs, tasks: &[TaskInfo], threads: bool) -> Result<Vec<TaskInfo>> {
    let (seen, mut found) = (groups(tasks), Vec::new());
    for tgid in proc.tgids()? {
        if seen.binary_search(&tgid).is_ok() {
            continue;
        }
        let tids = if threads { proc.tids(tgid)?.unwrap_or_default() } else { vec![tgid] };
        for tid in tids {
            found.extend(proc.read_task(tgid, tid)?);
        }
    }
    Ok(found)
}

/// The kernel's count of tasks (`nr_threads`, /proc/loadavg) and of forks since
/// boot (`total_forks`, /proc/stat "processes"). Equal readings before and after
/// a walk mean no task was created or released in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TaskCounters {
    tasks: u64,
    forks: u64,
}

impl TaskCounters {
    /// How many tasks the kernel kept from a walk that was shown `visited`, given
    /// the counters read just before and just after it; `None` when that cannot be
    /// known (a counter could not be read, or a task was created or released).
    #[cfg_attr(not(feature = "bpf"), allow(dead_code))]
    fn kept_from_walk(before: Option<TaskCounters>, after: Option<TaskCounters>, visited: u64) -> Option<u64> {
        match (before, after) {
            (Some(b), Some(a)) if a == b => b.tasks.checked_sub(visited),
            _ => None,
        }
    }

    #[cfg_attr(not(feature = "bpf"), allow(dead_code))]
    fn read() -> Option<TaskCounters> {
        let tasks = task_count()? as u64;
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let forks = stat.lines().find_map(|l| l.strip_prefix("processes "))?.trim().parse().ok()?;
        Some(TaskCounters { tasks, forks })
    }
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
    let Ok(sets) = caps::get(0) else { return false };
    let has = |cap| caps::has(sets.effective, cap);
    has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON))
}

/// The number of tasks on the system (`nr_threads`), from the fourth field of
/// /proc/loadavg ("running/total").
fn task_count() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().nth(3)?.split('/').nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::TaskCounters;

    #[test]
    fn only_a_still_world_says_how_many_tasks_a_walk_missed() {
        let c = |tasks, forks| Some(TaskCounters { tasks, forks });
        assert_eq!(TaskCounters::kept_from_walk(c(100, 5000), c(100, 5000), 100), Some(0), "nothing withheld");
        assert_eq!(TaskCounters::kept_from_walk(c(100, 5000), c(100, 5000), 87), Some(13), "a withheld group of 13");
        assert_eq!(TaskCounters::kept_from_walk(c(100, 5000), c(100, 5001), 100), None, "a fork and an exit during the walk");
        assert_eq!(TaskCounters::kept_from_walk(c(100, 5000), c(99, 5000), 99), None, "an exit during the walk");
        assert_eq!(TaskCounters::kept_from_walk(c(100, 5000), c(100, 5000), 101), None, "more visited than exist");
        assert_eq!(TaskCounters::kept_from_walk(None, c(100, 5000), 100), None, "unreadable counters");
        assert_eq!(TaskCounters::kept_from_walk(c(100, 5000), None, 100), None, "unreadable counters");
    }
}

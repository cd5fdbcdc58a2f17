//! STAT, PS and NAME from the BPF records' raw numbers, computed as
//! `do_task_stat()` computes `/proc/PID/stat` (fs/proc/array.c): a process's
//! faults and times summed over its live threads plus what its exited threads
//! left in the signal struct (`thread_group_cputime()`), times scaled so that
//! user + system is the precise runtime (`cputime_adjust()`, kernel/sched/cputime.c)
//! and kept from going backwards by the last value procfs showed (`prev_cputime`).

use std::collections::HashMap;

use super::record::{RawStat, TaskRecord};
use crate::task::{TaskExtra, TaskInfo, TaskPs, TaskStat};

/// Nanoseconds per clock tick (`USER_HZ` = 100): `nsec_to_clock_t()`.
const NS_PER_TICK: u64 = 10_000_000;

/// Which numbers a task's STAT carries: the reference's `whole`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatMode {
    /// ALL, ONE, CHILDREN: the thread group's (every thread of a group gets them).
    Group,
    /// ALL_THREAD, THREAD: each thread's own.
    Thread,
}

/// `cputime_adjust()`: user and system time, in ns, scaled to sum to `rtime`
/// and not below the previous answer (`prev`).
pub fn cputime_adjust(utime: u64, stime: u64, rtime: u64, prev: (u64, u64)) -> (u64, u64) {
    let (prev_u, prev_s) = prev;
    if prev_s.saturating_add(prev_u) >= rtime {
        return prev;
    }
    let mut s = if stime == 0 {
        0
    } else if utime == 0 {
        rtime
    } else {
        // mul_u64_u64_div_u64(stime, rtime, stime + utime)
        ((stime as u128 * rtime as u128) / (stime as u128 + utime as u128)) as u64
    };
    if s < prev_s {
        s = prev_s;
    }
    let mut u = rtime - s.min(rtime);
    if u < prev_u {
        u = prev_u;
        s = rtime.saturating_sub(u);
    }
    (u, s)
}

/// The faults and raw times of a thread group: its live threads' and the signal struct's.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    min_flt: u64,
    maj_flt: u64,
    utime: u64,
    stime: u64,
    runtime: u64,
}

fn ticks(ns: u64) -> u64 {
    ns / NS_PER_TICK
}

/// A task's STAT: its own numbers (`sums` None) or its group's.
fn stat(r: &RawStat, sums: Option<&Sums>) -> TaskStat {
    let (min_flt, maj_flt, (u, s)) = match sums {
        Some(g) => (
            g.min_flt + r.sig_min_flt,
            g.maj_flt + r.sig_maj_flt,
            cputime_adjust(g.utime + r.sig_utime, g.stime + r.sig_stime, g.runtime + r.sig_runtime, (r.sig_prev_utime, r.sig_prev_stime)),
        ),
        None => (r.min_flt, r.maj_flt, cputime_adjust(r.utime, r.stime, r.runtime, (r.prev_utime, r.prev_stime))),
    };
    TaskStat {
        minflt: min_flt,
        cminflt: r.sig_cmin_flt,
        majflt: maj_flt,
        cmajflt: r.sig_cmaj_flt,
        utime: ticks(u),
        stime: ticks(s),
        cutime: ticks(r.sig_cutime),
        cstime: ticks(r.sig_cstime),
        threads: r.nr_threads,
    }
}

/// A task's PS. `rss` is the kernel's running count (what `/proc/PID/stat`
/// prints), which can lag `VmRSS` (procfs's) by the per-CPU batches.
fn ps(r: &RawStat, page: u64) -> TaskPs {
    TaskPs {
        start_time: r.start_boottime,
        vsize: r.total_vm * page,
        rss: r.rss * page,
        locked: r.locked_vm * page,
        flags: r.flags,
        tty_nr: r.tty_nr,
        tpgid: r.tpgid,
        nice: r.static_prio - 120,
        priority: r.prio - 100,
        policy: r.policy,
        rt_priority: r.rt_priority,
        processor: r.cpu,
    }
}

/// `proc_task_name()` whole: a worker's id and description, a kernel thread's
/// full name, else its comm.
fn whole_name(t: &TaskRecord) -> Vec<u8> {
    let comm = t.info.base.comm.as_bytes();
    if let Some(w) = &t.worker {
        let mut name = comm.to_vec();
        name.push(if w.busy { b'+' } else { b'-' });
        name.extend_from_slice(&t.worker_desc_whole);
        name.truncate(63);
        return name;
    }
    if t.kernel_thread && !t.full_name.is_empty() {
        return t.full_name.clone();
    }
    comm.to_vec()
}

/// What the walk reports of each record: STAT and PS in `mode` when `stats`, NAME when `name`.
pub fn task_infos(records: Vec<TaskRecord>, mode: StatMode, stats: bool, name: bool, page: u64) -> Vec<TaskInfo> {
    let mut sums: HashMap<u32, Sums> = HashMap::new();
    if stats && mode == StatMode::Group {
        for t in &records {
            let g = sums.entry(t.info.base.tgid).or_default();
            g.min_flt += t.raw.min_flt;
            g.maj_flt += t.raw.maj_flt;
            g.utime += t.raw.utime;
            g.stime += t.raw.stime;
            g.runtime += t.raw.runtime;
        }
    }
    records
        .into_iter()
        .map(|t| {
            let mut extra = TaskExtra::default();
            if stats {
                extra.stat = Some(stat(&t.raw, sums.get(&t.info.base.tgid)));
                extra.ps = Some(ps(&t.raw, page));
            }
            if name {
                extra.name = Some(whole_name(&t));
            }
            let mut info = t.into_task_info();
            info.extra = Some(Box::new(extra));
            info
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_scaled_to_the_runtime_and_never_go_back() {
        // 3 ticks user, 1 system sampled; 8 ms ran: split 6 / 2.
        assert_eq!(cputime_adjust(30, 10, 8, (0, 0)), (6, 2));
        assert_eq!(cputime_adjust(0, 10, 8, (0, 0)), (0, 8), "system only");
        assert_eq!(cputime_adjust(10, 0, 8, (0, 0)), (8, 0), "user only");
        assert_eq!(cputime_adjust(30, 10, 8, (7, 1)), (7, 1), "procfs already showed as much");
        assert_eq!(cputime_adjust(30, 10, 9, (7, 1)), (7, 2), "user kept from going back");
    }
}

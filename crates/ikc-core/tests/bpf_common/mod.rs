//! Shared by the BPF test crates (bpf_vs_procfs, bpf_churn, bpf_dumpable):
//! whether this process may load BPF, and polling a task's state. Each crate
//! uses some of these.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use ikc_core::caps::{CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN};

/// Why this process cannot load BPF programs, if it cannot.
pub fn skip_reason() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let eff = status.lines().find_map(|l| l.strip_prefix("CapEff:")).and_then(|v| u64::from_str_radix(v.trim(), 16).ok())?;
    let has = |c: u32| eff & (1 << c) != 0;
    if has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON)) {
        None
    } else {
        Some(format!("needs root or CAP_BPF + CAP_PERFMON (CapEff {eff:#x})"))
    }
}

/// The state letter of a task (`/proc/TGID/task/TID/stat`), `None` once it is gone.
pub fn state_of(tgid: u32, tid: u32) -> Option<u8> {
    let stat = std::fs::read(format!("/proc/{tgid}/task/{tid}/stat")).ok()?;
    let close = stat.iter().rposition(|&c| c == b')')?;
    stat.get(close + 2).copied()
}

/// Polls until `ok` holds, for at most five seconds.
pub fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < Duration::from_secs(5), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `state_of` for a process (its leader).
pub fn state_of_pid(pid: nix::unistd::Pid) -> Option<u8> {
    let n = pid.as_raw() as u32;
    state_of(n, n)
}

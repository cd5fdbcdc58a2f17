//! BPF dumps raced by fork/exec/exit churn (feature `bpf`; needs root, or
//! CAP_BPF with CAP_PERFMON: skipped with a printed reason otherwise).
//!
//! Storm processes start short-lived threads and fork short-lived children
//! (some exec `true`, some exit at once) as fast as they can, while ALL and
//! ALL_THREAD dumps run through the BPF backend. Every dump must succeed, hold
//! only well-formed records, and contain every task of the long-lived processes
//! started before the first dump and alive after the last.
//!
//! Twice: in the initial pid namespace through the whole backend (walk, procfs
//! fallback, sort), and inside a fresh pid namespace where the walk sees only the
//! storm. There, as on a machine with a large `pid_max`, every new task's pid is
//! above the walk's last one, the case a read past the walk's end turns into
//! records after its end; here, with `pid_max` 32768 and old tasks near it, the
//! initial namespace rarely shows it. `IKC_CHURN_DUMPS=N` runs N dumps in each
//! instead of the default few hundred.
//!
//! Helper processes are this test binary re-run with `IKC_CHURN_HELPER` set.
#![cfg(feature = "bpf")]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ikc_core::backend::procfs::ProcFs;
use ikc_core::backend::{bpf, bpf_all_tasks};
mod bpf_common;
use bpf_common::skip_reason;
use ikc_core::error::Result;
use ikc_core::task_diag::{TaskInfo, TaskState};
use nix::sys::signal::Signal;

const STORMS: usize = 3;

fn dumps() -> usize {
    std::env::var("IKC_CHURN_DUMPS").ok().and_then(|v| v.parse().ok()).unwrap_or(300)
}

/// What a helper run becomes: `storm` (churn until killed), `threads:N` (N
/// sleeping threads) or `nsdump` (the storm and its dumps, as pid 1 of a new pid
/// namespace). The first two print `IKC_READY` and their tids as the host's
/// /proc numbers them; `nsdump` prints `IKC_RESULT` and a report.
#[test]
fn helper() {
    let Ok(mode) = std::env::var("IKC_CHURN_HELPER") else { return };
    if mode == "storm" {
        println!("IKC_READY {}", own_tids());
        storm();
    }
    if mode == "nsdump" {
        // The walk numbers tasks in this namespace (the iterator's), the records
        // in the initial one, and pid 1's exit kills whatever is left.
        let report = churn(|threads| bpf::read_all_tasks(threads, Default::default()).map(|w| w.tasks));
        println!("IKC_RESULT\n{report}");
        return;
    }
    let n: usize = mode.strip_prefix("threads:").and_then(|s| s.parse().ok()).expect("IKC_CHURN_HELPER");
    let (tx, rx) = std::sync::mpsc::channel();
    for _ in 0..n {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let _ = tx.send(());
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        });
    }
    (0..n).for_each(|_| rx.recv().expect("thread started"));
    println!("IKC_READY {}", own_tids());
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// This process's tids, comma-separated, its own first, in the numbering of the
/// host's /proc (the initial pid namespace's, which the records use).
fn own_tids() -> String {
    let me: u32 = std::fs::read_link("/proc/self").ok().and_then(|p| p.to_str()?.parse().ok()).expect("/proc/self");
    let dir = std::fs::read_dir(format!("/proc/{me}/task")).expect("task dir");
    let mut tids: Vec<u32> = dir.flatten().filter_map(|e| e.file_name().to_str()?.parse().ok()).filter(|&t| t != me).collect();
    tids.sort_unstable();
    std::iter::once(me).chain(tids).map(|t| t.to_string()).collect::<Vec<_>>().join(",")
}

/// Short-lived threads, children that exit at once and children that exec `true`,
/// a few at a time, in a loop: tasks created and reaped as fast as one process can.
fn storm() -> ! {
    loop {
        let threads: Vec<_> = (0..2).map(|_| std::thread::spawn(|| ())).collect();
        // SAFETY: the child only calls _exit, which is async-signal-safe.
        let forked = match unsafe { nix::unistd::fork() } {
            Ok(nix::unistd::ForkResult::Child) => unsafe { nix::libc::_exit(0) },
            Ok(nix::unistd::ForkResult::Parent { child }) => Some(child),
            Err(_) => None,
        };
        let execs: Vec<_> = (0..3).filter_map(|_| Command::new("true").stdin(Stdio::null()).spawn().ok()).collect();
        for t in threads {
            let _ = t.join();
        }
        if let Some(child) = forked {
            let _ = nix::sys::wait::waitpid(child, None);
        }
        for mut c in execs {
            let _ = c.wait();
        }
    }
}

/// Helper processes, killed and reaped when dropped.
struct Helpers(Vec<Child>);

impl Drop for Helpers {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn helper_command(mode: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().expect("test binary"));
    cmd.args(["--exact", "helper", "--nocapture", "--test-threads=1"]).env("IKC_CHURN_HELPER", mode);
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null());
    cmd
}

impl Helpers {
    /// Starts a helper and waits until it is ready: its tids (its own first).
    fn start(&mut self, mode: &str) -> Vec<u32> {
        let mut cmd = helper_command(mode);
        // SAFETY: prctl is async-signal-safe. The helper dies with its parent, even a killed one.
        unsafe {
            cmd.pre_exec(|| nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(std::io::Error::from));
        }
        let mut child = cmd.spawn().expect("spawn helper");
        let out = child.stdout.take().expect("stdout");
        self.0.push(child);
        // The marker follows libtest's "test helper ... " on the same line.
        let line = BufReader::new(out).lines().map_while(std::result::Result::ok).find(|l| l.contains("IKC_READY"));
        let tids = line.as_deref().and_then(|l| l.rsplit_once("IKC_READY ")).map(|(_, t)| t.split(',').filter_map(|t| t.parse().ok()).collect());
        tids.unwrap_or_else(|| panic!("helper {mode} did not start"))
    }
}

/// Why `tasks` is not a well-formed dump (ordered, no task twice, ids consistent), if it is not.
fn malformed(tasks: &[TaskInfo], threads: bool) -> Option<String> {
    let mut seen = BTreeSet::new();
    for (i, t) in tasks.iter().enumerate() {
        let b = &t.base;
        if b.pid == 0 || b.tgid == 0 || (!threads && b.pid != b.tgid) || b.state > TaskState::Idle as u8 {
            return Some(format!("record {i}: {b:?}"));
        }
        if t.levels.is_empty() || t.levels.at(0).map(|l| l.pid) != Some(b.pid) {
            return Some(format!("record {i}: levels {:?} for {b:?}", t.levels));
        }
        if !seen.insert(b.pid) {
            return Some(format!("pid {} twice", b.pid));
        }
        if i > 0 && (tasks[i - 1].base.tgid, tasks[i - 1].base.pid) > (b.tgid, b.pid) {
            return Some(format!("out of order at record {i}"));
        }
    }
    None
}

/// Starts the long-lived processes and the storms, runs `dumps()` dumps through
/// `dump` (ALL, then ALL_THREAD, in turn) and checks each. The report's first
/// line is `dumps=N failures=K`, then a summary and the first failures.
fn churn(mut dump: impl FnMut(bool) -> Result<Vec<TaskInfo>>) -> String {
    let dumps = dumps();
    let mut helpers = Helpers(Vec::new());
    // The long-lived tasks: alive before the first dump and after the last.
    let mut lived: Vec<(u32, u32)> = Vec::new();
    for mode in ["threads:4", "threads:0", "threads:1"] {
        let tids = helpers.start(mode);
        lived.extend(tids.iter().map(|&tid| (tids[0], tid)));
    }
    assert!(lived.len() >= 4 + 1 + 1 + 3, "the helpers and their threads: {lived:?}");
    let forks = || std::fs::read_to_string("/proc/stat").ok()?.lines().find_map(|l| l.strip_prefix("processes "))?.trim().parse::<u64>().ok();
    let forks_before = forks();
    let mut storms = Helpers(Vec::new());
    for _ in 0..STORMS {
        storms.start("storm");
    }

    let (mut failures, mut tasks_seen) = (Vec::new(), 0usize);
    let start = Instant::now();
    for i in 0..dumps {
        let threads = i % 2 == 1;
        match dump(threads) {
            Err(e) => failures.push(format!("dump {i} (threads={threads}): {e} [errno {}]", e.errno())),
            Ok(tasks) => {
                tasks_seen += tasks.len();
                if let Some(why) = malformed(&tasks, threads) {
                    failures.push(format!("dump {i} (threads={threads}): malformed: {why}"));
                }
                let pids: BTreeSet<u32> = tasks.iter().map(|t| t.base.pid).collect();
                for &(tgid, tid) in &lived {
                    if (threads || tid == tgid) && !pids.contains(&tid) {
                        failures.push(format!("dump {i} (threads={threads}): long-lived task {tid} of {tgid} missing"));
                    }
                }
            }
        }
    }
    let elapsed = start.elapsed();
    let churn = forks().zip(forks_before).map_or(0, |(a, b)| a - b);
    drop(storms);
    for &(tgid, tid) in &lived {
        assert!(std::path::Path::new(&format!("/proc/{tgid}/task/{tid}")).exists(), "long-lived task {tid} died during the storm");
    }
    assert!(churn > dumps as u64, "the storm did not churn: {churn} forks in {dumps} dumps");
    let mut report = format!(
        "dumps={dumps} failures={}\n{dumps} dumps in {:.1} s ({} tasks each on average), {churn} forks meanwhile",
        failures.len(),
        elapsed.as_secs_f64(),
        tasks_seen / dumps.max(1),
    );
    for f in failures.iter().take(20) {
        report.push('\n');
        report.push_str(f);
    }
    report
}

fn assert_no_failures(what: &str, report: &str) {
    println!("{what}: {report}");
    let failed = report.lines().next().and_then(|l| l.split_once("failures=")).and_then(|(_, n)| n.parse::<usize>().ok());
    assert_eq!(failed, Some(0), "{what}: {report}");
}

#[test]
fn bpf_dumps_survive_fork_exec_exit_churn() {
    if let Some(why) = skip_reason() {
        println!("SKIPPED bpf_dumps_survive_fork_exec_exit_churn: {why}");
        return;
    }
    bpf::available().expect("the BPF backend loads for a privileged caller in the initial namespaces");
    let mut procfs = ProcFs::open().expect("/proc");
    let report = churn(|threads| bpf_all_tasks(&mut procfs, threads));
    assert_no_failures("bpf churn (initial pid namespace)", &report);
}

#[test]
fn bpf_walks_in_a_young_pid_namespace_survive_churn() {
    if let Some(why) = skip_reason() {
        println!("SKIPPED bpf_walks_in_a_young_pid_namespace_survive_churn: {why}");
        return;
    }
    let mut cmd = Command::new("unshare");
    cmd.args(["--pid", "--fork", "--kill-child"]).arg(std::env::current_exe().expect("test binary"));
    cmd.args(["--exact", "helper", "--nocapture", "--test-threads=1"]).env("IKC_CHURN_HELPER", "nsdump");
    let out = cmd.stdin(Stdio::null()).stderr(Stdio::inherit()).output().expect("unshare --pid");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = stdout.split_once("IKC_RESULT\n").map(|(_, r)| r.lines().take_while(|l| !l.starts_with("ok") && !l.is_empty()).collect::<Vec<_>>().join("\n"));
    let report = report.unwrap_or_else(|| panic!("the namespaced dumper gave no report ({}):\n{stdout}", out.status));
    assert_no_failures("bpf churn (fresh pid namespace)", &report);
}

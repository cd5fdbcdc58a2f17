//! The BPF task-iterator backend against the procfs backend (feature `bpf`;
//! needs root, or CAP_BPF with CAP_PERFMON: skipped with a printed reason
//! otherwise). The test freezes a set of processes it makes (SIGSTOP, a traced
//! one, a zombie, threads, another uid, a non-dumpable one, a child pid
//! namespace), reads them with both backends and requires identical `TaskInfo`
//! records, then identical task_diag responses (ALL and ALL_THREAD, BASE|CRED)
//! restricted to those tasks. It also prints timings (never asserted).
//!
//! Helper processes are this test binary re-run with `IKC_BPF_HELPER` set: the
//! `helper` test then becomes the process the parent asked for.
#![cfg(feature = "bpf")]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod bpf_common;
use bpf_common::{skip_reason, state_of, wait_for};
use ikc_core::backend::Backend;
use ikc_core::backend::bpf;
use ikc_core::backend::procfs::ProcFs;
use ikc_core::command::NsType;
use ikc_core::netlink::emit_done;
use ikc_core::task_diag::{self, parse_response, PidScope, ShowFlags, Strategy, TaskAttribute, TaskDiagMessage, TaskDiagRequest, TaskInfo, TaskState};
use ikc_core::userns::UserNsTree;
use ikc_core::visibility::{may_read, Judge, Viewer};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;


/// The process a helper run turns into: `threads:N[:nodump]`, ready when it prints `IKC_READY`.
#[test]
fn helper() {
    let Ok(mode) = std::env::var("IKC_BPF_HELPER") else { return };
    let mut parts = mode.split(':');
    assert_eq!(parts.next(), Some("threads"));
    let n: usize = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    if parts.next() == Some("nodump") {
        nix::sys::prctl::set_dumpable(false).expect("PR_SET_DUMPABLE");
    }
    for i in 0..n {
        std::thread::Builder::new().name(format!("ikc-helper{i}")).spawn(|| loop {
            std::thread::sleep(Duration::from_secs(3600));
        }).expect("thread");
    }
    println!("IKC_READY");
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// Processes made by the test, killed and reaped when dropped.
struct Fixture {
    children: Vec<Child>,
    /// Grandchildren, which this process (a subreaper) reaps once their parents die.
    adopted: Vec<u32>,
    /// Thread-group ids (procfs numbering) of every process to freeze and compare.
    tgids: Vec<u32>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for &pid in &self.adopted {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(Pid::from_raw(pid as i32), None);
        }
    }
}

impl Fixture {
    fn spawn(&mut self, cmd: &mut Command) -> u32 {
        // SAFETY: prctl is async-signal-safe. The child dies with this test, even if it is killed.
        unsafe {
            cmd.pre_exec(|| nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(std::io::Error::from));
        }
        let child = cmd.stdin(Stdio::null()).spawn().expect("spawn");
        let pid = child.id();
        self.children.push(child);
        self.tgids.push(pid);
        pid
    }

    /// This test binary as a helper with `threads` extra threads; waits until it is ready.
    fn helper(&mut self, threads: usize, nodump: bool, configure: impl FnOnce(&mut Command)) -> u32 {
        // By /proc/self/exe, not by its path: a helper runs as another uid (1000
        // below), which cannot reach the binary by its path when the checkout is
        // closed to it (a clone in /root, mode 0700). The child, already that uid
        // when it execs, may read its own exe link, which opens the binary without
        // walking the checkout's directories.
        let mut cmd = Command::new("/proc/self/exe");
        cmd.args(["--exact", "helper", "--nocapture", "--test-threads=1"]);
        cmd.env("IKC_BPF_HELPER", format!("threads:{threads}{}", if nodump { ":nodump" } else { "" }));
        cmd.stdout(Stdio::piped()).stderr(Stdio::null());
        configure(&mut cmd);
        let pid = self.spawn(&mut cmd);
        let out = self.children.last_mut().and_then(|c| c.stdout.take()).expect("stdout");
        // The marker follows libtest's "test helper ... " on the same line.
        let ready = BufReader::new(out).lines().map_while(Result::ok).any(|l| l.ends_with("IKC_READY"));
        assert!(ready, "helper {pid} did not start");
        pid
    }
}

fn children_of(pid: u32) -> Vec<u32> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    text.split_ascii_whitespace().filter_map(|s| s.parse().ok()).collect()
}

/// Every kind of task the backends must agree on, stopped.
fn make_frozen_tasks() -> Fixture {
    let mut f = Fixture { children: Vec::new(), adopted: Vec::new(), tgids: Vec::new() };
    // Orphaned grandchildren (the zombie, the namespaced sleep) come to this process to be reaped.
    nix::sys::prctl::set_child_subreaper(true).expect("PR_SET_CHILD_SUBREAPER");
    f.spawn(Command::new("sleep").arg("1000"));
    // Threads, in a new session.
    // SAFETY: setsid is async-signal-safe.
    f.helper(3, false, |c| unsafe {
        c.pre_exec(|| nix::unistd::setsid().map(drop).map_err(std::io::Error::from));
    });
    // Another uid and gid, not dumpable, in its own process group, with a thread.
    f.helper(1, true, |c| {
        c.uid(1000).gid(1000).process_group(0);
    });
    // A zombie: `sleep` never reaps the child the shell left it.
    let parent = f.spawn(Command::new("sh").args(["-c", "sleep 0 & exec sleep 1000"]));
    wait_for("a zombie", || children_of(parent).iter().any(|&z| state_of(z, z) == Some(b'Z')));
    f.adopted.extend(children_of(parent));
    f.tgids.extend(children_of(parent));
    // A child pid namespace: `sleep` is its pid 1 and a session leader there.
    let outer = f.spawn(Command::new("unshare").args(["--pid", "--fork", "--kill-child", "setsid", "sleep", "1000"]));
    wait_for("the namespaced sleep", || {
        children_of(outer).first().is_some_and(|&p| std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c == "sleep\n"))
    });
    f.adopted.extend(children_of(outer));
    f.tgids.extend(children_of(outer));
    // A traced process (this thread is its tracer).
    let traced = f.spawn(Command::new("sleep").arg("1000"));
    nix::sys::ptrace::seize(Pid::from_raw(traced as i32), nix::sys::ptrace::Options::empty()).expect("PTRACE_SEIZE");

    for &tgid in &f.tgids {
        let _ = kill(Pid::from_raw(tgid as i32), Signal::SIGSTOP);
    }
    let procfs = ProcFs::open().expect("/proc");
    for &tgid in &f.tgids {
        for tid in procfs.tids(tgid).expect("tids").unwrap_or_default() {
            wait_for(&format!("task {tid} to stop"), || matches!(state_of(tgid, tid), Some(b'T' | b't' | b'Z')));
        }
    }
    f
}

/// Every task (ALL_THREAD) or leader (ALL) procfs lists, read by the procfs backend.
fn procfs_tasks(procfs: &mut ProcFs, threads: bool) -> Vec<TaskInfo> {
    // Learn dumpability as for a viewer without CAP_SYS_PTRACE (a dump by root turns it off).
    procfs.set_owner_check(true);
    // BASE and CRED only (a dump before may have asked for more).
    procfs.set_wants(Default::default());
    let mut out = Vec::new();
    for tgid in procfs.tgids().expect("tgids") {
        let tids = if threads { procfs.tids(tgid).expect("tids").unwrap_or_default() } else { vec![tgid] };
        out.extend(tids.into_iter().filter_map(|tid| procfs.read_task(tgid, tid).expect("read")));
    }
    out
}

/// A BPF record with only the fields procfs filled in `p`: it leaves the
/// namespace inodes 0 when it does not read them (bpf_dumpable.rs checks the
/// BPF ones against the kernel).
fn as_procfs_fills(b: &TaskInfo, p: &TaskInfo) -> TaskInfo {
    let mut b = b.clone();
    if p.user_ns == 0 && p.dumpable_ns == 0 {
        (b.user_ns, b.dumpable_ns) = (0, 0);
    }
    // procfs cannot read an exited task's dumpability: it takes it as not dumpable.
    if b.base.state == TaskState::Zombie as u8 {
        b.dumpable = p.dumpable;
    }
    b
}

/// The response the dump writes for these records, as `viewer` may see them.
fn response(tasks: &[TaskInfo], viewer: &Viewer, req: &TaskDiagRequest) -> Vec<u8> {
    let mut out = Vec::new();
    for t in tasks.iter().filter(|t| may_read(viewer, *t, &mut UserNsTree::default())) {
        let mut msg = TaskDiagMessage { pid: t.base.pid, tgid: t.base.tgid, ..Default::default() };
        msg.attributes = vec![TaskAttribute::Base(t.base), TaskAttribute::Creds(t.creds)];
        msg.emit_message(req.sequence, &mut out).expect("emits");
    }
    emit_done(&mut out, req.sequence);
    out
}

/// The dump's eyes: this process, judged by ikc's rules (as a broker judges).
fn access<'a>(viewer: &'a Viewer, users: &'a mut UserNsTree) -> task_diag::Access<'a> {
    task_diag::Access { viewers: std::slice::from_ref(viewer), judge: Judge::Rules, users }
}

/// A response cut down to the messages of the given tasks.
fn restrict(bytes: &[u8], keep: &BTreeSet<u32>, sequence: u32) -> Vec<u8> {
    let mut out = Vec::new();
    for msg in parse_response(bytes).expect("valid response").into_iter().filter(|m| keep.contains(&m.pid)) {
        msg.emit_message(sequence, &mut out).expect("emits");
    }
    emit_done(&mut out, sequence);
    out
}

#[test]
fn bpf_matches_procfs_on_frozen_tasks() {
    if let Some(why) = skip_reason() {
        println!("SKIPPED bpf_matches_procfs_on_frozen_tasks: {why}");
        return;
    }
    bpf::available().expect("the BPF backend loads for a privileged caller in the initial namespaces");
    let fixture = make_frozen_tasks();
    let mut procfs = ProcFs::open().expect("/proc");
    let (viewer, _) = procfs.current_viewer().expect("viewer");
    let mut users = UserNsTree::default();

    for threads in [false, true] {
        let before = bpf::read_all_tasks(threads, Default::default()).expect("BPF dump");
        let by_procfs = procfs_tasks(&mut procfs, threads);
        let after = bpf::read_all_tasks(threads, Default::default()).expect("BPF dump");
        let completed = ikc_core::backend::bpf_all_tasks(&mut procfs, threads).expect("BPF dump with withheld groups");
        // The walk's end record counts every task the kernel showed it: each one,
        // for a walk over every thread; more than the leaders, for a leaders' walk.
        for walk in [&before, &after] {
            if threads {
                assert_eq!(walk.tasks_visited, walk.tasks.len() as u64, "a walk over every thread counts what it emitted");
            } else {
                assert!(walk.tasks_visited > walk.tasks.len() as u64, "a leaders' walk still visits the fixture's other threads");
            }
        }
        let (before, after) = (before.tasks, after.tasks);
        let seen: BTreeMap<u32, &TaskInfo> = before.iter().chain(&after).map(|t| (t.base.pid, t)).collect();

        // The frozen tasks: present in both reads and identical field by field.
        let frozen: BTreeSet<u32> = by_procfs.iter().filter(|t| fixture.tgids.contains(&t.base.tgid)).map(|t| t.base.pid).collect();
        let want = if threads { 3 + 5 + 2 + 1 + 2 + 1 } else { 1 + 1 + 1 + 2 + 2 + 1 };
        assert!(frozen.len() >= want, "threads={threads}: procfs shows {} of the frozen tasks", frozen.len());
        for t in by_procfs.iter().filter(|t| frozen.contains(&t.base.pid)) {
            for (name, read) in [("first", &before), ("second", &after)] {
                let b = read.iter().find(|b| b.base.pid == t.base.pid).map(|b| as_procfs_fills(b, t));
                assert_eq!(b.as_ref(), Some(t), "threads={threads}: the {name} BPF read disagrees with procfs on task {}", t.base.pid);
            }
        }
        assert!(by_procfs.iter().any(|t| frozen.contains(&t.base.pid) && t.levels.len() == 2), "a task in a child pid namespace");
        assert!(by_procfs.iter().any(|t| frozen.contains(&t.base.pid) && t.base.tpid != 0), "a traced task");
        assert!(by_procfs.iter().any(|t| frozen.contains(&t.base.pid) && !t.dumpable), "a non-dumpable task");

        // Every task procfs lists, the iterator lists too, unless it has exited since.
        // Whole thread groups a kernel withholds from BPF iterators are reported.
        let missing: Vec<&TaskInfo> = by_procfs
            .iter()
            .filter(|t| !seen.contains_key(&t.base.pid))
            .filter(|t| std::path::Path::new(&format!("/proc/{}/task/{}", t.base.tgid, t.base.pid)).exists())
            .collect();
        let missing_groups: BTreeSet<u32> = missing.iter().map(|t| t.base.tgid).collect();
        for &tgid in &missing_groups {
            let partial = seen.values().any(|t| t.base.tgid == tgid);
            assert!(!partial, "threads={threads}: the iterator skipped some threads of {tgid} but not all");
            assert!(!fixture.tgids.contains(&tgid), "threads={threads}: the iterator skipped frozen process {tgid}");
            let comm = missing.iter().find(|t| t.base.tgid == tgid).map(|t| t.base.comm);
            println!("NOTE threads={threads}: thread group {tgid} ({comm:?}) is in procfs, withheld from BPF iterators by this kernel");
            // The backend finds withheld groups through procfs.
            let alive = std::path::Path::new(&format!("/proc/{tgid}")).exists();
            assert!(!alive || completed.iter().any(|t| t.base.tgid == tgid), "threads={threads}: the BPF backend lacks withheld group {tgid}");
        }

        // Live tasks may change between the reads: their differences are printed, not asserted.
        for t in by_procfs.iter().filter(|t| !frozen.contains(&t.base.pid)) {
            match (before.iter().find(|b| b.base.pid == t.base.pid), after.iter().find(|b| b.base.pid == t.base.pid)) {
                (Some(b), Some(a)) if b != t && a != t => {
                    println!("NOTE threads={threads}: live task {} differs in both BPF reads:", t.base.pid);
                    println!("  procfs {:?} dumpable={}\n  bpf    {:?} dumpable={}", t.base, t.dumpable, a.base, a.dumpable);
                }
                _ => {}
            }
        }

        // The responses of both backends, restricted to the frozen tasks, byte for byte.
        let strategy = if threads { Strategy::AllThread } else { Strategy::All };
        let req = TaskDiagRequest { show: ShowFlags::BASE | ShowFlags::CRED, strategy, pid: 0, sequence: 7 };
        let frozen_bpf: Vec<TaskInfo> = after.iter().filter(|t| frozen.contains(&t.base.pid)).cloned().collect();
        let frozen_procfs: Vec<TaskInfo> = by_procfs.iter().filter(|t| frozen.contains(&t.base.pid)).cloned().collect();
        let from_bpf = response(&frozen_bpf, &viewer, &req);
        assert_eq!(from_bpf, response(&frozen_procfs, &viewer, &req), "threads={threads}: responses differ");
        // And the procfs side as the real dump writes it.
        let mut scope = PidScope::whole(ikc_core::ns::current(NsType::Pid).expect("pid ns"));
        let dumped = task_diag::dump(&mut procfs, &mut access(&viewer, &mut users), &mut scope, &req, Backend::Procfs).expect("dump");
        assert_eq!(from_bpf, restrict(&dumped, &frozen, req.sequence), "threads={threads}: BPF records vs the procfs dump");
        // And the real dump through each backend, as issue_kernel_command runs it.
        let mut scope = PidScope::whole(ikc_core::ns::current(NsType::Pid).expect("pid ns"));
        let dumped_bpf = task_diag::dump(&mut procfs, &mut access(&viewer, &mut users), &mut scope, &req, Backend::Bpf).expect("BPF dump");
        assert_eq!(restrict(&dumped_bpf, &frozen, req.sequence), restrict(&dumped, &frozen, req.sequence), "threads={threads}: the BPF dump vs the procfs dump");
        println!("threads={threads}: {} frozen tasks identical; {} bytes of response", frozen.len(), from_bpf.len());

        // STAT, PS and NAME through each backend's dump, field by field where
        // both carry the field: procfs knows the start time to the clock tick
        // and reports VmRSS; BPF reports the running rss count that /proc/PID/stat prints.
        let show = ShowFlags::BASE | ShowFlags::STAT | ShowFlags::IKC_PS | ShowFlags::IKC_NAME;
        let req = TaskDiagRequest { show, strategy, pid: 0, sequence: 8 };
        let mut read = |backend| {
            let mut scope = PidScope::whole(ikc_core::ns::current(NsType::Pid).expect("pid ns"));
            let bytes = task_diag::dump(&mut procfs, &mut access(&viewer, &mut UserNsTree::default()), &mut scope, &req, backend).expect("dump");
            parse_response(&restrict(&bytes, &frozen, req.sequence)).expect("parses")
        };
        let (p, b) = (read(Backend::Procfs), read(Backend::Bpf));
        assert_eq!(p.len(), frozen.len(), "threads={threads}: procfs dumps every frozen task");
        assert_eq!(b.iter().map(|t| t.pid).collect::<Vec<_>>(), p.iter().map(|t| t.pid).collect::<Vec<_>>());
        let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE).ok().flatten().map_or(4096, |n| n as u64);
        for (p, b) in p.iter().zip(&b) {
            assert_eq!(b.stat(), p.stat(), "threads={threads}: STAT of task {}", p.pid);
            assert_eq!(b.name(), p.name(), "threads={threads}: NAME of task {}", p.pid);
            let (pp, bp) = (p.ps().expect("procfs PS"), b.ps().expect("BPF PS"));
            assert_eq!(bp.start_time / 10_000_000 * 10_000_000, pp.start_time, "threads={threads}: start of task {}", p.pid);
            let dir = if threads { format!("/proc/{}/task/{}/stat", p.tgid, p.pid) } else { format!("/proc/{}/stat", p.pid) };
            let stat = std::fs::read_to_string(&dir).unwrap_or_default();
            let rss: u64 = stat.rsplit(')').next().and_then(|f| f.split_whitespace().nth(21)).and_then(|r| r.parse().ok()).unwrap_or(0);
            assert_eq!(bp.rss, rss * page, "threads={threads}: BPF rss of task {} against {dir}", p.pid);
            let same = |ps: &task_diag::TaskPs| task_diag::TaskPs { start_time: 0, rss: 0, ..*ps };
            assert_eq!(same(bp), same(pp), "threads={threads}: PS of task {}", p.pid);
        }
        println!("threads={threads}: STAT, PS and NAME agree on {} frozen tasks", p.len());
    }
    drop(fixture);
}

/// Sleeping processes for the timing run, killed and reaped when dropped.
struct Sleepers(Vec<Pid>);

impl Sleepers {
    fn spawn(n: usize) -> Sleepers {
        let mut pids = Vec::with_capacity(n);
        for _ in 0..n {
            // SAFETY: the child only calls pause() (async-signal-safe) until killed.
            match unsafe { nix::unistd::fork() }.expect("fork") {
                nix::unistd::ForkResult::Child => loop {
                    nix::unistd::pause();
                },
                nix::unistd::ForkResult::Parent { child } => pids.push(child),
            }
        }
        Sleepers(pids)
    }
}

impl Drop for Sleepers {
    fn drop(&mut self) {
        for &p in &self.0 {
            let _ = kill(p, Signal::SIGKILL);
        }
        for &p in &self.0 {
            let _ = nix::sys::wait::waitpid(p, None);
        }
    }
}

/// The median of `runs` timings of `f`, in milliseconds.
fn median_ms(runs: usize, mut f: impl FnMut() -> usize) -> (f64, usize) {
    let mut times = Vec::with_capacity(runs);
    let mut n = 0;
    for _ in 0..runs {
        let t = Instant::now();
        n = std::hint::black_box(f());
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    (times[runs / 2], n)
}

/// A raw loop: list /proc, then open and read /proc/PID/stat of every process.
fn raw_stat_loop(buf: &mut Vec<u8>) -> usize {
    use std::io::Read;
    let mut n = 0;
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().filter(|s| s.bytes().all(|b| b.is_ascii_digit())) else { continue };
        if let Ok(mut f) = std::fs::File::open(format!("/proc/{pid}/stat")) {
            buf.clear();
            if f.read_to_end(buf).is_ok() {
                n += 1;
            }
        }
    }
    n
}

/// Prints one BPF dump against the procfs backend and a raw stat loop, at the
/// current task count and, if `IKC_BPF_BENCH_EXTRA=N` is set, with N more
/// sleeping processes. Timings are printed, never asserted.
#[test]
fn timing() {
    if let Some(why) = skip_reason() {
        println!("SKIPPED timing: {why}");
        return;
    }
    let t = Instant::now();
    let mut iter = bpf::TaskIter::load().expect("BPF backend");
    println!("timing: load and verify the program (kernel BTF parse included): {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    let extra: usize = std::env::var("IKC_BPF_BENCH_EXTRA").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    for load in if extra > 0 { vec![0, extra] } else { vec![0] } {
        let _sleepers = Sleepers::spawn(load);
        let mut procfs = ProcFs::open().expect("/proc");
        let mut buf = Vec::with_capacity(4096);
        let (raw, n_raw) = median_ms(5, || raw_stat_loop(&mut buf));
        let (pfs, n_pfs) = median_ms(5, || procfs_tasks(&mut procfs, false).len());
        let (b_raw, n_bytes) = median_ms(5, || iter.read_raw(false).expect("bpf").len());
        let (b_all, n_all) = median_ms(5, || iter.read(false, Default::default()).expect("bpf").tasks.len());
        let (b_thr, n_thr) = median_ms(5, || iter.read(true, Default::default()).expect("bpf").tasks.len());
        println!("timing (+{load} sleeping processes, median of 5):");
        println!("  raw /proc/PID/stat loop        {raw:8.2} ms  {n_raw} processes");
        println!("  procfs backend, ALL            {pfs:8.2} ms  {n_pfs} processes");
        println!("  BPF iterator read only, ALL    {b_raw:8.2} ms  {n_bytes} bytes");
        println!("  BPF backend, ALL (parsed)      {b_all:8.2} ms  {n_all} processes  ({:.1}x faster than the raw loop)", raw / b_all);
        println!("  BPF backend, ALL_THREAD        {b_thr:8.2} ms  {n_thr} tasks");
    }
}

//! Dumpability and user namespaces as the BPF walk reads them, against the
//! kernel (feature `bpf`; needs root: skipped with a printed reason otherwise).
//!
//! Zombies (children that exited and are not reaped yet) are made dumpable or
//! not before they exit; the kernel's own ptrace-read check (`kcmp`, by a viewer
//! of the zombie's uid, which passes or fails on dumpability alone) says which
//! they are, and the walk must agree. User namespaces are made with `unshare`
//! and compared with the inode of `/proc/PID/ns/user`.
#![cfg(feature = "bpf")]

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

use ikc_core::backend::bpf;
use ikc_core::task_diag::TaskInfo;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::{fork, ForkResult, Pid};

mod bpf_common;

/// `PROC_USER_INIT_INO`: the initial user namespace's inode.
const INIT_USER_NS: u64 = 0xEFFF_FFFD;
const NOBODY: u32 = 65534;
const KCMP_VM: i64 = 1;

fn skip_reason() -> Option<String> {
    if nix::unistd::geteuid().is_root() {
        None
    } else {
        Some("needs root (BPF, fork as another uid, user namespaces)".into())
    }
}

/// Children forked here, killed and reaped when dropped.
struct Kids(Vec<Pid>);

impl Drop for Kids {
    fn drop(&mut self) {
        for &p in &self.0 {
            let _ = kill(p, Signal::SIGKILL);
            let _ = waitpid(p, None);
        }
    }
}

/// Forks a child that runs `child` (raw syscalls only: this process has threads)
/// and then exits with its result.
fn fork_child(kids: &mut Kids, child: fn() -> i32) -> Pid {
    // SAFETY: the child makes only async-signal-safe system calls, then _exit.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => unsafe { nix::libc::_exit(child()) },
        ForkResult::Parent { child } => {
            kids.0.push(child);
            child
        }
    }
}

/// Becomes nobody (uid and gid; the capabilities go with root).
fn become_nobody() -> bool {
    let (u, g) = (nix::unistd::Uid::from_raw(NOBODY), nix::unistd::Gid::from_raw(NOBODY));
    nix::unistd::setresgid(g, g, g).is_ok() && nix::unistd::setresuid(u, u, u).is_ok()
}

fn set_dumpable(on: bool) -> bool {
    // SAFETY: prctl(PR_SET_DUMPABLE) only sets a flag of this process's mm.
    unsafe { nix::libc::prctl(nix::libc::PR_SET_DUMPABLE, on as nix::libc::c_ulong, 0, 0, 0) == 0 }
}

/// The kernel's verdict: may nobody, with no capabilities, ptrace-read `pid`
/// (kcmp checks PTRACE_MODE_READ_REALCREDS on both tasks)? A zombie of nobody
/// passes the uid and capability checks, so only its dumpability decides.
fn nobody_may_read(kids: &mut Kids, pid: Pid) -> bool {
    static TARGET: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);
    TARGET.store(pid.as_raw(), std::sync::atomic::Ordering::SeqCst);
    let viewer = fork_child(kids, || {
        if !become_nobody() {
            return 3;
        }
        let target = TARGET.load(std::sync::atomic::Ordering::SeqCst);
        // SAFETY: kcmp takes two pids and compares their mm pointers; no memory is passed.
        let r = unsafe { nix::libc::syscall(nix::libc::SYS_kcmp, nix::libc::getpid(), target, KCMP_VM, 0, 0) };
        match (r, nix::errno::Errno::last()) {
            (r, _) if r >= 0 => 0,
            (_, nix::errno::Errno::EPERM) => 1,
            _ => 2,
        }
    });
    kids.0.retain(|&p| p != viewer);
    match waitpid(viewer, None).expect("wait for the viewer") {
        nix::sys::wait::WaitStatus::Exited(_, 0) => true,
        nix::sys::wait::WaitStatus::Exited(_, 1) => false,
        other => panic!("the kcmp viewer failed: {other:?}"),
    }
}

fn find(tasks: &[TaskInfo], pid: u32) -> &TaskInfo {
    tasks.iter().find(|t| t.base.pid == pid).unwrap_or_else(|| panic!("task {pid} is not in the BPF walk"))
}

/// A zombie to make: its name, what its child runs before exiting, and the
/// dumpability that should follow (None: as the system's settings make it).
type Case = (&'static str, fn() -> i32, Option<bool>);

#[test]
fn zombies_are_as_dumpable_as_when_they_dropped_their_mm() {
    if let Some(why) = skip_reason() {
        println!("SKIPPED zombies_are_as_dumpable_as_when_they_dropped_their_mm: {why}");
        return;
    }
    let mut kids = Kids(Vec::new());
    // Each exits at once as nobody; the exit code says a step failed.
    let cases: [Case; 3] = [
        ("dumpable", || if become_nobody() && set_dumpable(true) { 0 } else { 9 }, Some(true)),
        ("PR_SET_DUMPABLE 0", || if become_nobody() && set_dumpable(true) && set_dumpable(false) { 0 } else { 9 }, Some(false)),
        // Changing uid makes the mm what fs.suid_dumpable says (0, the default: not dumpable).
        ("changed uid", || if become_nobody() { 0 } else { 9 }, None),
    ];
    let zombies: Vec<Pid> = cases.iter().map(|&(_, f, _)| fork_child(&mut kids, f)).collect();
    for &z in &zombies {
        bpf_common::wait_for(&format!("zombie {z}"), || bpf_common::state_of_pid(z) == Some(b'Z'));
    }
    let walk = bpf::read_all_tasks(false, Default::default()).expect("BPF walk");
    for (&(name, _, by_construction), &z) in cases.iter().zip(&zombies) {
        let kernel = nobody_may_read(&mut kids, z);
        if let Some(want) = by_construction {
            assert_eq!(kernel, want, "{name}: the kernel's ptrace-read check on zombie {z}");
        }
        let t = find(&walk.tasks, z.as_raw() as u32);
        assert_eq!(t.base.state, ikc_core::task_diag::TaskState::Zombie as u8, "{name}: {z} is a zombie");
        assert_eq!(t.dumpable, kernel, "{name}: zombie {z} dumpable as the kernel says");
        assert_eq!((t.user_ns, t.dumpable_ns), (INIT_USER_NS, INIT_USER_NS), "{name}: a zombie's non-dumpability yields only to the initial namespace");
        println!("zombie {z} ({name}): dumpable={}, kernel lets nobody read it: {kernel}", t.dumpable);
    }
    // The exit codes: every step in the children worked.
    for (&(name, ..), z) in cases.iter().zip(zombies) {
        kids.0.retain(|&p| p != z);
        assert_eq!(waitpid(z, None).expect("reap"), nix::sys::wait::WaitStatus::Exited(z, 0), "{name}");
    }
}

/// Processes started here, killed and reaped when dropped.
struct Procs(Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn user_ns_of(pid: u32) -> u64 {
    std::fs::metadata(format!("/proc/{pid}/ns/user")).expect("ns/user").ino()
}

#[test]
fn user_namespaces_are_the_kernels() {
    if let Some(why) = skip_reason() {
        println!("SKIPPED user_namespaces_are_the_kernels: {why}");
        return;
    }
    assert_eq!(user_ns_of(std::process::id()), INIT_USER_NS, "this test runs in the initial user namespace");
    let mut procs = Procs(Vec::new());
    // `unshare -U` makes the namespace, then execs: creds and mm both belong to it.
    let mut cmd = Command::new("unshare");
    cmd.args(["-U", "sleep", "1000"]).stdin(Stdio::null());
    // SAFETY: prctl is async-signal-safe; the process dies with this test.
    unsafe {
        cmd.pre_exec(|| nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(std::io::Error::from));
    }
    procs.0.push(cmd.spawn().expect("unshare -U"));
    let inside = procs.0[0].id();
    bpf_common::wait_for("unshare to exec sleep", || std::fs::read_to_string(format!("/proc/{inside}/comm")).is_ok_and(|c| c == "sleep\n"));
    // A process that enters a new user namespace without exec: its creds are in
    // the new one, its mm (made at its last exec) still in the initial one.
    let mut kids = Kids(Vec::new());
    let no_exec = fork_child(&mut kids, || {
        if nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUSER).is_err() {
            return 9;
        }
        loop {
            nix::unistd::pause();
        }
    });
    bpf_common::wait_for("the child to unshare its user namespace", || user_ns_of(no_exec.as_raw() as u32) != INIT_USER_NS);

    let walk = bpf::read_all_tasks(true, Default::default()).expect("BPF walk");
    let t = find(&walk.tasks, inside);
    let ns = user_ns_of(inside);
    assert_ne!(ns, INIT_USER_NS);
    assert_eq!((t.user_ns, t.dumpable_ns), (ns, ns), "unshare -U sleep ({inside}): creds and mm in its namespace");

    let t = find(&walk.tasks, no_exec.as_raw() as u32);
    assert_eq!((t.user_ns, t.dumpable_ns), (user_ns_of(no_exec.as_raw() as u32), INIT_USER_NS), "unshare without exec ({no_exec})");

    let me = std::process::id();
    for tid in std::fs::read_dir("/proc/self/task").expect("tasks").flatten().filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok()) {
        let t = find(&walk.tasks, tid);
        assert_eq!((t.user_ns, t.dumpable_ns), (INIT_USER_NS, INIT_USER_NS), "this process's thread {tid} of {me}");
        assert!(t.dumpable, "this process is dumpable");
    }

    // Kernel threads: kthreadd's children (kthreadd itself, pid 2, may be withheld).
    let kthreads: Vec<&TaskInfo> = walk.tasks.iter().filter(|t| t.base.ppid == 2 || t.base.pid == 2).collect();
    assert!(!kthreads.is_empty(), "kernel threads in the walk");
    // Kernels with the task_still_dumpable() fix record `user_dumpable`, never set
    // for kernel threads; before it, a task without an mm counted as dumpable.
    let fixed = std::fs::read("/sys/kernel/btf/vmlinux").is_ok_and(|b| b.windows(14).any(|w| w == b"\0user_dumpable"));
    for t in kthreads {
        let name = String::from_utf8_lossy(t.base.comm.as_bytes());
        assert_eq!((t.user_ns, t.dumpable_ns), (INIT_USER_NS, INIT_USER_NS), "kernel thread {} ({name})", t.base.pid);
        assert_eq!(t.dumpable, !fixed, "kernel thread {} ({name}) dumpable", t.base.pid);
    }
    drop(kids);
}

//! Test fixture for the integration suites: makes processes with exactly the
//! shape a test needs, prints one JSON line describing them, then sleeps until
//! killed. Not part of ikc; built by `cargo test` and by test/setup.ts.
//!
//!   ikc-fixture tree N            N children, the odd ones in their own process group
//!   ikc-fixture threads N NAME    N extra threads named NAME0..NAME{N-1}
//!   ikc-fixture zombie            one child that has exited and is never reaped
//!   ikc-fixture session           a new session (setsid) with one child
//!   ikc-fixture traced            one child that this process traces (PTRACE_SEIZE)
//!   ikc-fixture cred UID GID [nodump] [keepcap] [euid=E] [egid=G]
//!                                 switch to these ids (from root), optionally non-dumpable,
//!                                 or keeping CAP_NET_ADMIN permitted

use std::io::Write;
use std::time::Duration;

use nix::sys::prctl;
use nix::unistd::{fork, getpid, gettid, setpgid, setsid, ForkResult, Gid, Pid, Uid};

fn sleep_forever() -> ! {
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// Waits until every task listed is asleep (`S` in its stat), so tests that
/// compare states never catch one on its way into sleep.
fn settle(tasks: &[(i32, i32)]) {
    for &(pid, tid) in tasks {
        for _ in 0..2000 {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")).unwrap_or_default();
            let state = stat.rsplit_once(") ").map(|(_, rest)| rest.starts_with('S')).unwrap_or(true);
            if state {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

fn ready(json: String) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{json}");
    let _ = out.flush();
}

fn spawn_child(own_group: bool) -> Pid {
    // SAFETY: the fixture is single-threaded when it forks; the child only sleeps.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            if own_group {
                setpgid(Pid::from_raw(0), Pid::from_raw(0)).expect("setpgid");
            }
            sleep_forever()
        }
        ForkResult::Parent { child } => child,
    }
}

fn tree(n: usize) {
    let pids: Vec<Pid> = (0..n).map(|i| spawn_child(i % 2 == 1)).collect();
    settle(&pids.iter().map(|p| (p.as_raw(), p.as_raw())).collect::<Vec<_>>());
    let kids: Vec<String> = pids.iter().map(Pid::to_string).collect();
    ready(format!(r#"{{"pid":{},"children":[{}]}}"#, getpid(), kids.join(",")));
    sleep_forever()
}

fn threads(n: usize, name: &str) {
    let (tx, rx) = std::sync::mpsc::channel();
    for i in 0..n {
        let tx = tx.clone();
        let name = std::ffi::CString::new(format!("{name}{i}")).expect("name");
        std::thread::spawn(move || {
            prctl::set_name(&name).expect("PR_SET_NAME");
            tx.send(gettid().as_raw()).expect("send");
            sleep_forever()
        });
    }
    let mut tids: Vec<i32> = (0..n).map(|_| rx.recv().expect("tid")).collect();
    tids.sort_unstable();
    let me = getpid().as_raw();
    settle(&tids.iter().map(|&t| (me, t)).collect::<Vec<_>>());
    let tids: Vec<String> = tids.iter().map(i32::to_string).collect();
    ready(format!(r#"{{"pid":{},"tids":[{}]}}"#, getpid(), tids.join(",")));
    sleep_forever()
}

fn zombie() {
    // SAFETY: single-threaded; the child exits at once.
    let child = match unsafe { fork() }.expect("fork") {
        ForkResult::Child => std::process::exit(0),
        ForkResult::Parent { child } => child,
    };
    ready(format!(r#"{{"pid":{},"children":[{}]}}"#, getpid(), child));
    sleep_forever()
}

fn session() {
    setsid().expect("setsid");
    let child = spawn_child(false);
    ready(format!(r#"{{"pid":{},"children":[{}]}}"#, getpid(), child));
    sleep_forever()
}

fn traced() {
    let child = spawn_child(false);
    nix::sys::ptrace::seize(child, nix::sys::ptrace::Options::empty()).expect("PTRACE_SEIZE");
    ready(format!(r#"{{"pid":{},"children":[{}]}}"#, getpid(), child));
    sleep_forever()
}

fn cred(args: &[String]) {
    let uid: u32 = args[0].parse().expect("uid");
    let gid: u32 = args[1].parse().expect("gid");
    let flag = |f: &str| args.iter().any(|a| a == f);
    let opt = |k: &str| args.iter().find_map(|a| a.strip_prefix(k).map(|v| v.parse::<u32>().expect("id")));
    let euid = opt("euid=").unwrap_or(uid);
    let egid = opt("egid=").unwrap_or(gid);
    nix::unistd::setgroups(&[]).expect("setgroups");
    nix::unistd::setresgid(Gid::from_raw(gid), Gid::from_raw(egid), Gid::from_raw(gid)).expect("setresgid");
    if flag("keepcap") {
        prctl::set_keepcaps(true).expect("PR_SET_KEEPCAPS");
    }
    nix::unistd::setresuid(Uid::from_raw(uid), Uid::from_raw(euid), Uid::from_raw(uid)).expect("setresuid");
    // Changing ids made the process non-dumpable; make it dumpable again unless asked not to.
    prctl::set_dumpable(!flag("nodump")).expect("PR_SET_DUMPABLE");
    ready(format!(r#"{{"pid":{}}}"#, getpid()));
    sleep_forever()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize| args.get(i).and_then(|s| s.parse::<usize>().ok()).unwrap_or(2);
    match args.first().map(String::as_str) {
        Some("tree") => tree(num(1)),
        Some("threads") => threads(num(1), args.get(2).map(String::as_str).unwrap_or("worker")),
        Some("zombie") => zombie(),
        Some("session") => session(),
        Some("traced") => traced(),
        Some("cred") if args.len() >= 3 => cred(&args[1..]),
        _ => {
            eprintln!("usage: ikc-fixture tree N | threads N NAME | zombie | session | traced | cred UID GID [nodump] [keepcap] [euid=E] [egid=G]");
            std::process::exit(2)
        }
    }
}

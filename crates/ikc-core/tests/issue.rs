//! `issue_kernel_command` from Rust: real dumps of this test process.

use ikc_core::task_diag::{parse_response, ShowFlags, Strategy, TaskDiagRequest};
use ikc_core::{issue_kernel_command, CURRENT_PIDNS, GLOBAL, TASK_DIAG};

fn request(strategy: Strategy, pid: u32) -> Vec<u8> {
    TaskDiagRequest { show: ShowFlags::BASE | ShowFlags::CRED, strategy, pid, sequence: 5 }.to_message()
}

#[test]
fn dumps_own_threads() {
    let me = std::process::id();
    let handle = std::thread::spawn(|| std::thread::park_timeout(std::time::Duration::from_secs(5)));
    let fd = issue_kernel_command(CURRENT_PIDNS, TASK_DIAG, &[&request(Strategy::Thread, me)], 0).expect("dump");
    let tasks = parse_response(&fd.read_all().expect("read")).expect("parse");
    assert!(tasks.len() >= 2, "main thread and the spawned one");
    assert!(tasks.iter().all(|t| t.tgid == me));
    let base = tasks[0].base().expect("BASE asked for");
    assert_eq!((base.pid, base.ppid), (me, std::os::unix::process::parent_id()));
    let creds = tasks[0].creds().expect("CRED asked for");
    assert_eq!(creds.euid, nix::unistd::geteuid().as_raw());
    handle.thread().unpark();
    let _ = handle.join();
}

#[test]
fn global_equals_current_in_the_initial_namespace() {
    let req = request(Strategy::One, 1);
    let a = issue_kernel_command(GLOBAL, TASK_DIAG, &[&req], 0).expect("global");
    let b = issue_kernel_command(CURRENT_PIDNS, TASK_DIAG, &[&req], 0).expect("current");
    let (a, b) = (parse_response(&a.read_all().expect("read")).expect("parse"), parse_response(&b.read_all().expect("read")).expect("parse"));
    assert_eq!(a[0].pid, 1);
    assert_eq!(a[0].base(), b[0].base());
}

//! Every bad argument gets its errno and leaves the process's fd count unchanged.
//! A file of its own: it counts this process's fds, so no other test may run beside it.

use ikc_core::task_diag::{ShowFlags, Strategy, TaskDiagRequest};
use ikc_core::{issue_kernel_command, CURRENT_NETNS, CURRENT_PIDNS, TASK_DIAG};

fn request(strategy: Strategy, pid: u32) -> Vec<u8> {
    TaskDiagRequest { show: ShowFlags::BASE | ShowFlags::CRED, strategy, pid, sequence: 5 }.to_message()
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("fd dir").count()
}

#[test]
fn bad_arguments_get_their_errno_and_leak_nothing() {
    let me = std::process::id();
    let good = request(Strategy::One, me);
    let before = open_fds();
    let code = |ns: i32, command: u32, iov: &[&[u8]], flags: u32| match issue_kernel_command(ns, command, iov, flags) {
        Ok(_) => "OK",
        Err(e) => e.code(),
    };
    assert_eq!(code(CURRENT_PIDNS, TASK_DIAG, &[&good], 0), "OK");
    assert_eq!(code(CURRENT_PIDNS, TASK_DIAG, &[&good[..7], &good[7..]], 0), "OK");
    assert_eq!(code(CURRENT_PIDNS, TASK_DIAG, &[&good], 4), "EINVAL");
    assert_eq!(code(CURRENT_PIDNS, TASK_DIAG, &[&good], 3), "EINVAL");
    assert_eq!(code(CURRENT_PIDNS, 0x8000_0999, &[&good], 0), "EINVAL");
    assert_eq!(code(CURRENT_PIDNS, TASK_DIAG & !ikc_core::READ_ONLY, &[&good], 0), "EINVAL");
    assert_eq!(code(CURRENT_NETNS, TASK_DIAG, &[&good], 0), "EINVAL");
    assert_eq!(code(-9, TASK_DIAG, &[&good], 0), "EBADF");
    assert_eq!(code(CURRENT_PIDNS, TASK_DIAG, &[&good[..20]], 0), "EINVAL");
    assert_eq!(code(CURRENT_PIDNS, TASK_DIAG, &[&vec![0u8; 1 << 20]], 0), "EINVAL");
    assert_eq!(code(CURRENT_PIDNS, TASK_DIAG, &[&request(Strategy::One, 4_000_000)], 0), "ESRCH");
    assert_eq!(open_fds(), before);
}

//! The broker's accept loop at its fd limit (EMFILE). A file of its own: it
//! lowers this process's RLIMIT_NOFILE and fills the fd table, so no other test
//! may run beside it.
//!
//! Before the spare-fd refusal and the backoff, a client arriving while the
//! table was full waited forever, and the accept loop spun at 100% CPU writing
//! one log line per failed accept.

use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use ikc_core::broker::protocol::{Reply, ReplyKind};
use ikc_core::broker::{listener, serve, Client, Config, LogLevel};
use nix::sys::socket::{connect, recv, setsockopt, socket, sockopt, AddressFamily, MsgFlags, SockFlag, SockType, UnixAddr};
use nix::libc;
use nix::sys::time::TimeVal;

/// The first reply on a new connection (2 s at most), raw: no fd is needed to read it.
fn first_reply(path: &Path) -> Result<Reply, String> {
    let sock = socket(AddressFamily::Unix, SockType::SeqPacket, SockFlag::SOCK_CLOEXEC, None).map_err(|e| format!("socket: {e}"))?;
    connect(sock.as_raw_fd(), &UnixAddr::new(path).map_err(|e| e.to_string())?).map_err(|e| format!("connect: {e}"))?;
    setsockopt(&sock, sockopt::ReceiveTimeout, &TimeVal::new(2, 0)).map_err(|e| e.to_string())?;
    let mut buf = [0u8; 2048];
    let n = recv(sock.as_raw_fd(), &mut buf, MsgFlags::empty()).map_err(|e| format!("no reply within 2 s: {e}"))?;
    Reply::parse(&buf[..n]).map_err(|e| e.to_string())
}

/// CPU time (user + system) of this process.
fn cpu() -> Duration {
    // SAFETY: getrusage fills one struct rusage.
    let mut r: libc::rusage = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut r) }, 0);
    let us = |t: libc::timeval| Duration::from_micros(t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64);
    us(r.ru_utime) + us(r.ru_stime)
}

/// Lowers this process's soft fd limit to `soft`.
fn limit_fds(soft: u64) {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit read and write one struct rlimit.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    lim.rlim_cur = soft.min(lim.rlim_max);
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
}

#[test]
fn at_the_fd_limit_clients_are_refused_at_once_and_the_loop_rests() {
    let dir = std::env::temp_dir().join(format!("ikc-fd-limit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("broker.sock");
    limit_fds(96);
    let fd = listener::bind_path(&path, 0o600, None).expect("bind");
    let broker = serve(fd, Config { log_level: LogLevel::Error, ..Config::default() }).expect("serve");
    assert_eq!(first_reply(&path).map(|r| r.kind), Ok(ReplyKind::Hello), "served below the limit");
    // Let that connection's thread finish and close its fds, so none frees up later.
    let open_fds = || std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0);
    let mut last = open_fds();
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(100));
        let now = open_fds();
        if now == last {
            break;
        }
        last = now;
    }

    // Fill the table, then free one slot: the client's socket takes it, so the
    // broker's accept finds none.
    let mut filler: Vec<OwnedFd> = Vec::new();
    while let Ok(f) = File::open("/dev/null") {
        filler.push(f.into());
    }
    for round in 0..5 {
        filler.pop();
        let t0 = Instant::now();
        let reply = first_reply(&path).unwrap_or_else(|e| panic!("round {round}: {e}"));
        let took = t0.elapsed();
        assert_eq!((reply.kind, reply.result), (ReplyKind::Result, -(nix::errno::Errno::EAGAIN as i32)), "round {round}: {}", reply.message);
        assert!(reply.message.contains("file descriptors"), "{}", reply.message);
        assert!(took < Duration::from_millis(500), "refused in {took:?}");
        // Take the slot back, as a full table would.
        if let Ok(f) = File::open("/dev/null") {
            filler.push(f.into());
        }
    }

    // Nothing pending, table still full: the loop sleeps in poll.
    let c0 = cpu();
    std::thread::sleep(Duration::from_millis(500));
    let spent = cpu() - c0;
    assert!(spent < Duration::from_millis(100), "{spent:?} of CPU in 500 ms at the fd limit");

    // Once fds are free the broker serves again.
    drop(filler);
    let client = Client::connect(&path).expect("connect after the limit");
    let req = ikc_core::task_diag::TaskDiagRequest {
        show: ikc_core::task_diag::ShowFlags::BASE,
        strategy: ikc_core::task_diag::Strategy::One,
        pid: std::process::id(),
        sequence: 1,
    }
    .to_message();
    client.issue(ikc_core::CURRENT_PIDNS, ikc_core::TASK_DIAG, &[&req], 0).expect("answered");
    drop(client);
    broker.stop();
    broker.join();
    let _ = std::fs::remove_dir_all(&dir);
}

//! Test fixture for the integration suites: makes processes with exactly the
//! shape a test needs, prints one JSON line describing them, then sleeps until
//! killed. Not part of ikc; built by `cargo test` and by test/setup.ts.
//!
//!   ikc-fixture tree N            N children, the odd ones in their own process group
//!   ikc-fixture threads N NAME    N extra threads named NAME0..NAME{N-1}
//!   ikc-fixture forest N T        N children of T threads each (a benchmark workload)
//!   ikc-fixture zombie            one child that has exited and is never reaped
//!   ikc-fixture churn             until killed: short-lived threads and children (some exec `true`)
//!   ikc-fixture session           a new session (setsid) with one child
//!   ikc-fixture traced            one child that this process traces (PTRACE_SEIZE)
//!   ikc-fixture broker-flood PATH ROUNDS   malformed messages to a broker, then a valid one
//!   ikc-fixture broker-forge PATH UID      as UID, send with forged SCM_CREDENTIALS (pid 1, uid 0)
//!   ikc-fixture broker-orphan PATH         connects, waits for a line on stdin, then a child
//!                                          sends a request and exits; reports the reply
//!   ikc-fixture broker-liar PATH ERRNO MESSAGE   a fake broker at PATH that answers every
//!                                          request with -ERRNO and MESSAGE, true or not
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

fn forest(n: usize, threads: usize) {
    let kids: Vec<Pid> = (0..n)
        .map(|_| {
            // SAFETY: the fixture is single-threaded when it forks; each child only starts threads and sleeps.
            match unsafe { fork() }.expect("fork") {
                ForkResult::Child => {
                    for _ in 1..threads {
                        let spawned = std::thread::Builder::new().stack_size(64 * 1024).spawn(|| sleep_forever());
                        if spawned.is_err() {
                            break; // out of threads: a smaller workload still measures
                        }
                    }
                    sleep_forever()
                }
                ForkResult::Parent { child } => child,
            }
        })
        .collect();
    ready(format!(r#"{{"pid":{},"children":[{}]}}"#, getpid(), kids.iter().map(Pid::to_string).collect::<Vec<_>>().join(",")));
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

/// Tasks created and reaped as fast as one process can (a storm for BPF walks).
fn churn() -> ! {
    ready(format!(r#"{{"pid":{}}}"#, getpid()));
    loop {
        let threads: Vec<_> = (0..2).map(|_| std::thread::spawn(|| ())).collect();
        // SAFETY: the child only calls _exit, which is async-signal-safe.
        let forked = match unsafe { fork() } {
            Ok(ForkResult::Child) => unsafe { nix::libc::_exit(0) },
            Ok(ForkResult::Parent { child }) => Some(child),
            Err(_) => None,
        };
        let execs: Vec<_> = (0..3).filter_map(|_| std::process::Command::new("true").spawn().ok()).collect();
        threads.into_iter().for_each(|t| drop(t.join()));
        if let Some(c) = forked {
            let _ = nix::sys::wait::waitpid(c, None);
        }
        execs.into_iter().for_each(|mut c| drop(c.wait()));
    }
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

mod raw_broker {
    //! The broker protocol spoken by hand, to send what a well-behaved client never would.
    use std::io::{IoSlice, IoSliceMut};
    use std::os::fd::{AsRawFd, OwnedFd, RawFd};

    use ikc_core::broker::protocol::{NsKind, Reply, RequestHeader, MAX_REQUEST_MESSAGE};
    use ikc_core::task_diag::{ShowFlags, Strategy, TaskDiagRequest};
    use nix::sys::socket::{connect, recvmsg, sendmsg, socket, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType, UnixAddr, UnixCredentials};

    pub fn connect_raw(path: &str) -> OwnedFd {
        let sock = socket(AddressFamily::Unix, SockType::SeqPacket, SockFlag::SOCK_CLOEXEC, None).expect("socket");
        connect(sock.as_raw_fd(), &UnixAddr::new(path).expect("path")).expect("connect");
        let (hello, _) = receive(&sock).expect("hello");
        assert_eq!(hello.result as usize, MAX_REQUEST_MESSAGE);
        sock
    }

    pub fn valid_request() -> Vec<u8> {
        let req = TaskDiagRequest { show: ShowFlags::BASE, strategy: Strategy::One, pid: 1, sequence: 1 }.to_message();
        RequestHeader::message(NsKind::CurrentPid, ikc_core::TASK_DIAG, 0, &req)
    }

    /// Sends bytes with the given fds; returns the errno of sendmsg, if any.
    pub fn send(sock: &OwnedFd, bytes: &[u8], fds: &[RawFd], creds: Option<&UnixCredentials>) -> Result<(), nix::errno::Errno> {
        let mut cmsgs = Vec::new();
        if !fds.is_empty() {
            cmsgs.push(ControlMessage::ScmRights(fds));
        }
        if let Some(c) = creds {
            cmsgs.push(ControlMessage::ScmCredentials(c));
        }
        sendmsg::<()>(sock.as_raw_fd(), &[IoSlice::new(bytes)], &cmsgs, MsgFlags::MSG_NOSIGNAL, None).map(|_| ())
    }

    /// One reply and whether it carried an fd; `None` when the broker closed the connection.
    pub fn receive(sock: &OwnedFd) -> Option<(Reply, bool)> {
        let mut buf = vec![0u8; 4096];
        let mut cmsg = nix::cmsg_space!([RawFd; 4]);
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg = recvmsg::<()>(sock.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::MSG_CMSG_CLOEXEC).ok()?;
        let mut got_fd = false;
        for c in msg.cmsgs().ok()? {
            if let ControlMessageOwned::ScmRights(fds) = c {
                got_fd = true;
                for fd in fds {
                    let _ = nix::unistd::close(fd);
                }
            }
        }
        let n = msg.bytes;
        if n == 0 {
            return None;
        }
        Some((Reply::parse(&buf[..n]).ok()?, got_fd))
    }
}

/// Sends every kind of malformed message, `rounds` times, and reports the
/// errnos the broker answered; then checks a valid request still works.
fn broker_flood(path: &str, rounds: usize) {
    use raw_broker::*;
    let sock = connect_raw(path);
    let good = valid_request();
    let netns = std::fs::File::open("/proc/self/ns/net").expect("netns");
    let null = std::fs::File::open("/dev/null").expect("null");
    use std::os::fd::AsRawFd;
    let (n1, n2) = (netns.as_raw_fd(), null.as_raw_fd());
    let mut bad_magic = good.clone();
    bad_magic[0] ^= 0xff;
    let mut bad_version = good.clone();
    bad_version[4] = 9;
    let mut bad_kind = good.clone();
    bad_kind[6] = 7;
    let mut bad_len = good.clone();
    bad_len[16] = 3;
    let mut unknown_cmd = good.clone();
    unknown_cmd[8] = 0x77;
    let mut fd_kind = good.clone();
    fd_kind[6] = 0; // PASSED_FD
    let mut garbage_body = good.clone();
    let body = garbage_body.len() - 40;
    garbage_body[body..].fill(0xab);
    let huge = vec![0u8; ikc_core::broker::protocol::MAX_REQUEST_MESSAGE + 100];
    let cases: Vec<(&str, Vec<u8>, Vec<i32>)> = vec![
        ("short", vec![1, 2, 3], vec![]),
        ("bad magic", bad_magic, vec![]),
        ("bad version", bad_version, vec![]),
        ("bad ns kind", bad_kind, vec![]),
        ("length lies", bad_len, vec![]),
        ("unknown command", unknown_cmd, vec![]),
        ("garbage request", garbage_body, vec![]),
        ("huge", huge, vec![]),
        ("fd with kind CURRENT", good.clone(), vec![n2]),
        ("three fds", fd_kind.clone(), vec![n1, n2, n2]),
        ("kind FD without fd", fd_kind.clone(), vec![]),
        ("net ns fd for task_diag", fd_kind, vec![n1]),
    ];
    let mut answers = Vec::new();
    for round in 0..rounds {
        for (name, bytes, fds) in &cases {
            send(&sock, bytes, fds, None).expect("send");
            let (reply, got_fd) = receive(&sock).expect("the broker stays connected");
            if round == 0 {
                answers.push(format!(r#""{name}":{},"{name} fd":{got_fd}"#, reply.result));
            }
        }
    }
    send(&sock, &good, &[], None).expect("send");
    let (reply, got_fd) = receive(&sock).expect("reply");
    answers.push(format!(r#""valid":{},"valid fd":{got_fd}"#, reply.result));
    ready(format!("{{{}}}", answers.join(",")));
}

/// Drops to `uid`, then claims to be pid 1 / uid 0 in SCM_CREDENTIALS.
fn broker_forge(path: &str, uid: u32) {
    use raw_broker::*;
    let sock = connect_raw(path);
    nix::unistd::setgroups(&[]).expect("setgroups");
    nix::unistd::setresgid(Gid::from_raw(uid), Gid::from_raw(uid), Gid::from_raw(uid)).expect("setresgid");
    nix::unistd::setresuid(Uid::from_raw(uid), Uid::from_raw(uid), Uid::from_raw(uid)).expect("setresuid");
    let forged = nix::sys::socket::UnixCredentials::from(nix::libc::ucred { pid: 1, uid: 0, gid: 0 });
    let forged_send = match send(&sock, &valid_request(), &[], Some(&forged)) {
        Ok(()) => "sent".to_string(),
        Err(e) => format!("{e:?}"),
    };
    // The honest request: asking for pid 1 as uid `uid` must be ESRCH.
    send(&sock, &valid_request(), &[], None).expect("send");
    let (reply, _) = receive(&sock).expect("reply");
    ready(format!(r#"{{"forged":"{forged_send}","honest":{}}}"#, reply.result));
}

/// Connects, says so, and waits for a line on stdin (the test stops the broker
/// meanwhile). Then a child sends a request on this connection and exits; the
/// parent reaps it, says so, and reports the reply (after the test resumes the broker).
fn broker_orphan(path: &str) {
    use raw_broker::*;
    let sock = connect_raw(path);
    ready(format!(r#"{{"pid":{}}}"#, getpid()));
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    // SAFETY: single-threaded fixture; the child sends one message and exits.
    let child = match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            send(&sock, &valid_request(), &[], None).expect("send");
            std::process::exit(0)
        }
        ForkResult::Parent { child } => child,
    };
    nix::sys::wait::waitpid(child, None).expect("reap");
    ready(format!(r#"{{"sender":{child},"reaped":true}}"#));
    let (reply, got_fd) = receive(&sock).expect("reply");
    let message = reply.message.replace('"', "'");
    ready(format!(r#"{{"result":{},"fd":{got_fd},"message":"{message}"}}"#, reply.result));
}

/// A fake broker: says hello, then answers every request with `-errno` and
/// `message` verbatim, so a client's error has a code (from the errno) that its
/// message may contradict. One thread per connection.
fn broker_liar(path: &str, errno: i32, message: &str) {
    use ikc_core::broker::protocol::{Reply, ReplyKind};
    use ikc_core::netlink::Emitable;
    use nix::sys::socket::{accept, bind, listen, recvmsg, socket, AddressFamily, Backlog, ControlMessageOwned, MsgFlags, SockFlag, SockType, UnixAddr};
    use std::io::IoSliceMut;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

    let listener = socket(AddressFamily::Unix, SockType::SeqPacket, SockFlag::SOCK_CLOEXEC, None).expect("socket");
    bind(listener.as_raw_fd(), &UnixAddr::new(path).expect("path")).expect("bind");
    listen(&listener, Backlog::new(16).expect("backlog")).expect("listen");
    let bytes = |r: Reply| {
        let mut v = Vec::new();
        r.emit_to_vec(&mut v);
        v
    };
    let hello = bytes(Reply::hello());
    let lie = bytes(Reply { version: ikc_core::broker::protocol::VERSION, kind: ReplyKind::Result, result: -errno, message: message.to_string() });
    ready(format!(r#"{{"pid":{}}}"#, getpid()));
    loop {
        // SAFETY: accept returned a new fd that nothing else owns.
        let conn = unsafe { OwnedFd::from_raw_fd(accept(listener.as_raw_fd()).expect("accept")) };
        let (hello, lie) = (hello.clone(), lie.clone());
        std::thread::spawn(move || {
            let _ = raw_broker::send(&conn, &hello, &[], None);
            let mut buf = vec![0u8; 1 << 17];
            let mut cmsg = nix::cmsg_space!([RawFd; 4]);
            loop {
                let mut iov = [IoSliceMut::new(&mut buf)];
                let Ok(msg) = recvmsg::<()>(conn.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::MSG_CMSG_CLOEXEC) else { return };
                for c in msg.cmsgs().into_iter().flatten() {
                    if let ControlMessageOwned::ScmRights(fds) = c {
                        for fd in fds {
                            let _ = nix::unistd::close(fd);
                        }
                    }
                }
                if msg.bytes == 0 || raw_broker::send(&conn, &lie, &[], None).is_err() {
                    return;
                }
            }
        });
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize| args.get(i).and_then(|s| s.parse::<usize>().ok()).unwrap_or(2);
    match args.first().map(String::as_str) {
        Some("tree") => tree(num(1)),
        Some("threads") => threads(num(1), args.get(2).map(String::as_str).unwrap_or("worker")),
        Some("zombie") => zombie(),
        Some("churn") => churn(),
        Some("forest") => forest(num(1), num(2)),
        Some("session") => session(),
        Some("traced") => traced(),
        Some("cred") if args.len() >= 3 => cred(&args[1..]),
        Some("broker-flood") if args.len() >= 3 => broker_flood(&args[1], num(2)),
        Some("broker-forge") if args.len() >= 3 => broker_forge(&args[1], num(2) as u32),
        Some("broker-orphan") if args.len() >= 2 => broker_orphan(&args[1]),
        Some("broker-liar") if args.len() >= 4 => broker_liar(&args[1], num(2) as i32, &args[3]),
        _ => {
            eprintln!("usage: ikc-fixture tree N | threads N NAME | forest N T | zombie | churn | session | traced | broker-liar PATH ERRNO MESSAGE | cred UID GID [nodump] [keepcap] [euid=E] [egid=G]");
            std::process::exit(2)
        }
    }
}

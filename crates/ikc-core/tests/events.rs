//! PROC_EVENTS in-process, as root: a storm of processes and threads made by
//! the test, every fork, exec and exit of which must arrive, in order per
//! task, with the right parents, exit codes, signals and comms; type and
//! subtree filters; several subscribers; loss and silence announced.

use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

use ikc_core::command::PROC_EVENTS;
use ikc_core::events::{Event, EventType, EventsRequest, IKC_EVENTS_CMDLINE, IKC_EVENTS_SUBTREE, IKC_PROC_EVENT};
use ikc_core::stream::{StreamMessage, StreamReader, STREAM_LOST, STREAM_POSSIBLY_LOST};
use ikc_core::CURRENT_PIDNS;

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn subscribe(req: &EventsRequest) -> StreamReader {
    let fd = ikc_core::issue_kernel_command(CURRENT_PIDNS, PROC_EVENTS, &[&req.to_message()], 0).expect("PROC_EVENTS");
    StreamReader::new(fd.into_owned_fd())
}

fn next(r: &mut StreamReader) -> StreamMessage {
    r.next_message(Some(Duration::from_secs(10))).expect("read").expect("a message before EOF")
}

fn comm(e: &Event) -> String {
    let c = e.comm.unwrap_or_default();
    String::from_utf8_lossy(&c[..c.iter().position(|&b| b == 0).unwrap_or(16)]).into_owned()
}

/// Every event of the stream about `pids` (by tgid) until each has exited.
fn collect_until_exited(r: &mut StreamReader, pids: &[u32]) -> (HashMap<u32, Vec<(u32, Event)>>, Vec<StreamMessage>) {
    let mut by_task: HashMap<u32, Vec<(u32, Event)>> = HashMap::new();
    let mut notices = Vec::new();
    let mut left: std::collections::HashSet<u32> = pids.iter().copied().collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last_seq = None;
    while !left.is_empty() {
        assert!(Instant::now() < deadline, "{} tasks never exited on the stream; notices {notices:?}; rearms {}, source losses {}", left.len(), ikc_core::events::hub::REARMS.load(std::sync::atomic::Ordering::SeqCst), ikc_core::events::hub::SOURCE_LOSSES.load(std::sync::atomic::Ordering::SeqCst));
        let m = next(r);
        if let Some(prev) = last_seq {
            assert_eq!(m.seq, prev + 1, "stream sequence numbers are consecutive");
        }
        last_seq = Some(m.seq);
        if m.message_type != IKC_PROC_EVENT {
            notices.push(m);
            continue;
        }
        let e = Event::decode(&m.payload).expect("an event");
        let (pid, tgid) = e.subject();
        if pids.contains(&tgid) {
            if e.event_type() == Some(EventType::Exit) && pid == tgid {
                left.remove(&tgid);
            }
            by_task.entry(pid).or_default().push((m.seq, e));
        }
    }
    (by_task, notices)
}

#[test]
fn a_storm_of_processes_is_seen_whole_in_order_with_parents_codes_and_comms() {
    if !is_root() {
        eprintln!("skipped: needs root (the process connector)");
        return;
    }
    let mut r = subscribe(&EventsRequest { types: 0, flags: IKC_EVENTS_CMDLINE, ..Default::default() });
    let me = std::process::id();
    let mut kids = Vec::new();
    let mut want_code = HashMap::new();
    for i in 0..200u32 {
        let child = match i % 4 {
            // sleep: exec, a comm of its own, exit 0.
            0 => Command::new("/bin/sleep").arg("0.01").spawn(),
            // sh: exit with a code.
            1 | 2 => Command::new("/bin/sh").arg("-c").arg(format!("exit {}", i % 7)).spawn(),
            // killed by a signal.
            _ => Command::new("/bin/sleep").arg("5").spawn(),
        }
        .expect("spawn");
        let pid = child.id();
        want_code.insert(pid, match i % 4 {
            0 => 0,
            1 | 2 => (i % 7) << 8,
            _ => 9,
        });
        kids.push((i, child));
    }
    let mut pids = Vec::new();
    for (i, mut c) in kids {
        if i % 4 == 3 {
            std::thread::sleep(Duration::from_millis(1));
            let _ = c.kill();
        }
        let _ = c.wait();
        pids.push(c.id());
    }
    let (by_task, notices) = collect_until_exited(&mut r, &pids);
    assert!(notices.iter().all(|m| m.message_type != STREAM_LOST && m.message_type != STREAM_POSSIBLY_LOST), "no loss: {notices:?}");
    for pid in &pids {
        let evs = &by_task[pid];
        let kinds: Vec<EventType> = evs.iter().filter_map(|(_, e)| e.event_type()).filter(|t| matches!(t, EventType::Fork | EventType::Exec | EventType::Exit)).collect();
        assert_eq!(kinds, vec![EventType::Fork, EventType::Exec, EventType::Exit], "pid {pid}: {evs:?}");
        let (_, fork) = evs.iter().find(|(_, e)| e.event_type() == Some(EventType::Fork)).expect("fork");
        assert_eq!(fork.data[1], me, "the parent is the test");
        let (_, exec) = evs.iter().find(|(_, e)| e.event_type() == Some(EventType::Exec)).expect("exec");
        let (_, exit) = evs.iter().find(|(_, e)| e.event_type() == Some(EventType::Exit)).expect("exit");
        assert_eq!(exit.data[2], want_code[pid], "pid {pid}: exit_code");
        assert_eq!(exit.data[3], 17, "exit_signal SIGCHLD");
        assert_eq!(exit.data[5], me, "exit's parent");
        // The comm after exec is the new program's, if ikc read it before the task went.
        let c = comm(exec);
        assert!(c == "sleep" || c == "sh" || c.is_empty() || c.starts_with("events-"), "pid {pid}: exec comm {c:?}");
        assert!(exec.timestamp_ns >= fork.timestamp_ns && exit.timestamp_ns >= exec.timestamp_ns);
    }
}

#[test]
fn threads_fork_and_exit_with_exit_signal_minus_one() {
    if !is_root() {
        return;
    }
    let mut r = subscribe(&EventsRequest { types: EventType::Fork.bit() | EventType::Exit.bit(), ..Default::default() });
    let me = std::process::id();
    let tids: Vec<u32> = (0..100)
        .map(|_| std::thread::spawn(|| nix::unistd::gettid().as_raw() as u32))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    let mut seen: HashMap<u32, Vec<Event>> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while tids.iter().any(|t| seen.get(t).is_none_or(|v| v.len() < 2)) {
        assert!(Instant::now() < deadline);
        let m = next(&mut r);
        if m.message_type != IKC_PROC_EVENT {
            continue;
        }
        let e = Event::decode(&m.payload).expect("event");
        assert!(matches!(e.event_type(), Some(EventType::Fork | EventType::Exit)), "only the types asked for");
        let (pid, tgid) = e.subject();
        if tgid == me {
            seen.entry(pid).or_default().push(e);
        }
    }
    for t in &tids {
        let v = &seen[t];
        assert_eq!(v[0].event_type(), Some(EventType::Fork));
        assert_eq!(v[0].data[3], me, "child_tgid is the process");
        assert_eq!(v[1].event_type(), Some(EventType::Exit));
        assert_eq!(v[1].data[3], u32::MAX, "a thread's exit_signal is -1");
    }
}

#[test]
fn a_subtree_filter_follows_descendants_only_and_nonzero_exit_drops_clean_exits() {
    if !is_root() {
        return;
    }
    // The root of the subtree waits for a line before it forks.
    let mut root = Command::new("/bin/sh")
        .arg("-c")
        .arg("read x; for i in 1 2 3 4 5; do (exit 3); /bin/true; done; exit 0")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("sh");
    let root_pid = root.id();
    let types = EventType::Fork.bit() | EventType::NonzeroExit.bit();
    let mut r = subscribe(&EventsRequest { types, flags: IKC_EVENTS_SUBTREE, pids: vec![root_pid], ..Default::default() });
    // Noise outside the subtree.
    for _ in 0..20 {
        Command::new("/bin/sh").arg("-c").arg("exit 4").status().expect("noise");
    }
    use std::io::Write;
    root.stdin.take().expect("stdin").write_all(b"go\n").expect("write");
    root.wait().expect("wait");
    let mut forks = 0;
    let mut exits = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while forks < 10 || exits.len() < 5 {
        assert!(Instant::now() < deadline, "forks {forks}, exits {exits:?}");
        let m = next(&mut r);
        if m.message_type != IKC_PROC_EVENT {
            continue;
        }
        let e = Event::decode(&m.payload).expect("event");
        match e.event_type() {
            // The root's own fork (by this process) came just before the
            // subscription and may still be in the hub's backlog: it is the subtree's too.
            Some(EventType::Fork) if e.data[3] == root_pid => {}
            Some(EventType::Fork) => {
                assert_eq!(e.data[1], root_pid, "only the subtree's forks");
                forks += 1;
            }
            Some(EventType::Exit) => {
                assert_ne!(e.data[2], 0, "only non-zero exits");
                assert_eq!(e.data[5], root_pid, "only the subtree's exits");
                exits.push(e.data[2]);
            }
            other => panic!("a type not asked for: {other:?}"),
        }
    }
    assert!(exits.iter().all(|&c| c == 3 << 8), "{exits:?}");
}

#[test]
fn a_closed_subscriber_goes_and_others_lose_nothing() {
    if !is_root() {
        return;
    }
    let req = EventsRequest { types: EventType::Exit.bit(), ..Default::default() };
    let mut steady = subscribe(&req);
    // A misbehaving neighbour: subscribes and leaves in a loop, and floods
    // IGNORE on a connector socket of its own.
    let churn = std::thread::spawn(move || {
        for _ in 0..50 {
            let r = subscribe(&req);
            drop(r);
            if let Ok(mut c) = ikc_core::events::Connector::bind_only() {
                for _ in 0..20 {
                    let _ = c.send_op(ikc_core::events::PROC_CN_MCAST_IGNORE);
                }
                let _ = c.send_op(ikc_core::events::PROC_CN_MCAST_LISTEN);
                for _ in 0..20 {
                    let _ = c.send_op(ikc_core::events::PROC_CN_MCAST_IGNORE);
                }
            }
        }
    });
    let pids: Vec<u32> = (0..100).map(|_| {
        let mut c = Command::new("/bin/true").spawn().expect("true");
        c.wait().expect("wait");
        c.id()
    }).collect();
    churn.join().expect("churn");
    let (by_task, notices) = collect_until_exited(&mut steady, &pids);
    assert_eq!(by_task.len(), pids.len());
    assert!(notices.is_empty(), "{notices:?}");
}

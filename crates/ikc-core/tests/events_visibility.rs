//! PROC_EVENTS shows each subscriber what task_diag would: a judged
//! subscriber (as the broker judges its clients) sees its own uid's tasks and
//! nothing of root's or of a non-dumpable task's; a subscriber of a child pid
//! namespace sees only that namespace, in its numbering.

use std::collections::HashSet;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ikc_core::command::PROC_EVENTS;
use ikc_core::events::{Event, EventType, EventsRequest, IKC_PROC_EVENT};
use ikc_core::ns::NsSelector;
use ikc_core::stream::StreamReader;
use ikc_core::userns::UserNsTree;
use ikc_core::visibility::{Judge, Viewer, INIT_USER_NS};
use ikc_core::{issue_as, Caller, Session, CURRENT_PIDNS};

const NOBODY: u32 = 65534;

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn events_until(r: &mut StreamReader, mut done: impl FnMut(&Event) -> bool) -> Vec<Event> {
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(Instant::now() < deadline, "timed out after {} events", out.len());
        let m = match r.next_message(Some(Duration::from_secs(10))) {
            Ok(Some(m)) => m,
            other => panic!("{other:?} after {} events: {out:?}", out.len()),
        };
        if m.message_type != IKC_PROC_EVENT {
            continue;
        }
        let e = Event::decode(&m.payload).expect("event");
        let stop = done(&e);
        out.push(e);
        if stop {
            return out;
        }
    }
}

#[test]
fn a_judged_subscriber_sees_its_own_tasks_only() {
    if !is_root() {
        return;
    }
    // An execute-only copy of sleep: exec of a file one may not read makes the task non-dumpable.
    let dir = std::env::temp_dir().join(format!("ikc-events-vis-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let xsleep = dir.join("xsleep");
    std::fs::copy("/bin/sleep", &xsleep).expect("copy");
    std::fs::set_permissions(&xsleep, std::os::unix::fs::PermissionsExt::from_mode(0o711)).expect("chmod");
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o711)).expect("chmod");

    let mut session = Session::open().expect("session");
    let mut caller = Caller::current(&mut session).expect("caller");
    caller.viewer = Viewer { tgid: 1, fsuid: NOBODY, fsgid: NOBODY, euid: NOBODY, cap_effective: 0, user_ns: INIT_USER_NS };
    caller.judge = Judge::Rules;
    let req = EventsRequest::default().to_message();
    let fd = issue_as(&mut session, &caller, &mut UserNsTree::default(), NsSelector::from_raw(CURRENT_PIDNS).expect("ns"), PROC_EVENTS, &[&req], 0).expect("PROC_EVENTS");
    let mut r = StreamReader::new(fd.into_owned_fd());

    let run_as = |uid: u32, prog: &str| {
        let mut c = Command::new(prog);
        c.arg("0.05");
        if uid != 0 {
            c.uid(uid).gid(uid);
        }
        c.spawn().expect("spawn")
    };
    let mut mine = Vec::new();
    let mut roots = Vec::new();
    for _ in 0..10 {
        mine.push(run_as(NOBODY, "/bin/sleep"));
        roots.push(run_as(0, "/bin/sleep"));
    }
    let mut hidden = run_as(NOBODY, xsleep.to_str().expect("path"));
    let hidden_pid = hidden.id();
    let mine_pids: HashSet<u32> = mine.iter().map(|c| c.id()).collect();
    let root_pids: HashSet<u32> = roots.iter().map(|c| c.id()).collect();
    for c in mine.iter_mut().chain(roots.iter_mut()) {
        c.wait().expect("wait");
    }
    hidden.wait().expect("wait");
    // A last task of nobody's, to know the stream has passed the others.
    let mut last = run_as(NOBODY, "/bin/sleep");
    let last_pid = last.id();
    last.wait().expect("wait");
    let evs = events_until(&mut r, |e| e.event_type() == Some(EventType::Exit) && e.subject().1 == last_pid);
    let mut exits = HashSet::new();
    for e in &evs {
        let (pid, tgid) = e.subject();
        assert!(!root_pids.contains(&tgid), "an event of root's task {pid} reached nobody: {e:?}");
        if tgid == hidden_pid {
            assert_eq!(e.event_type(), Some(EventType::Fork), "after its exec the non-dumpable task is hidden: {e:?}");
        }
        if e.event_type() == Some(EventType::Fork) && mine_pids.contains(&tgid) {
            assert_eq!((e.data[0], e.data[1]), (0, 0), "the parent (root's) is not named");
        }
        if e.event_type() == Some(EventType::Exit) {
            exits.insert(tgid);
        }
        // Nothing but nobody's own tasks: every subject is one the test made as nobody.
        assert!(mine_pids.contains(&tgid) || tgid == hidden_pid || tgid == last_pid, "an unknown task's event {e:?}");
    }
    let missing: Vec<_> = mine_pids.iter().filter(|p| !exits.contains(p)).collect();
    let seen: Vec<_> = evs.iter().map(|e| (e.event_type(), e.subject().1)).collect();
    assert!(missing.is_empty(), "every one of nobody's exits arrived: missing {missing:?}; seen {seen:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_child_pid_namespace_sees_only_itself_in_its_numbering() {
    if !is_root() {
        return;
    }
    let mut ns_init = Command::new("unshare")
        .args(["--pid", "--fork", "--kill-child", "/bin/sh", "-c", "read x; for i in 1 2 3 4 5; do /bin/sleep 0.05; done"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("unshare");
    // The namespace's init is unshare's child.
    let deadline = Instant::now() + Duration::from_secs(5);
    let sh = loop {
        let kids = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", ns_init.id())).unwrap_or_default();
        if let Some(p) = kids.split_whitespace().next().and_then(|p| p.parse::<u32>().ok()) {
            break p;
        }
        assert!(Instant::now() < deadline, "no child of unshare");
        std::thread::sleep(Duration::from_millis(10));
    };
    let ns = std::fs::File::open(format!("/proc/{sh}/ns/pid")).expect("ns");
    let fd = ikc_core::issue_kernel_command(std::os::fd::AsRawFd::as_raw_fd(&ns), PROC_EVENTS, &[&EventsRequest::default().to_message()], 0).expect("PROC_EVENTS");
    let mut r = StreamReader::new(fd.into_owned_fd());
    ns_init.stdin.take().expect("stdin").write_all(b"go\n").expect("go");
    // Noise outside the namespace.
    for _ in 0..10 {
        Command::new("/bin/true").status().expect("true");
    }
    let mut exits = 0;
    let evs = events_until(&mut r, |e| {
        if e.event_type() == Some(EventType::Exit) && e.data[5] == 1 {
            exits += 1;
        }
        exits == 5
    });
    ns_init.wait().expect("wait");
    for e in &evs {
        let (pid, tgid) = e.subject();
        assert!(pid < 100 && tgid < 100, "pids are the namespace's: {e:?}");
        if e.event_type() == Some(EventType::Fork) {
            assert_eq!(e.data[1], 1, "forked by the namespace's init");
        }
    }
    let forks = evs.iter().filter(|e| e.event_type() == Some(EventType::Fork)).count();
    // The namespace's init execs /bin/sh once itself.
    let execs = evs.iter().filter(|e| e.event_type() == Some(EventType::Exec) && e.subject().0 != 1).count();
    assert_eq!((forks, execs), (5, 5), "{evs:?}");
}

/// A pid filter naming a task the subscriber may not see is refused exactly as
/// one naming no task: ESRCH either way, as task_diag's ONE strategy answers.
#[test]
fn a_hidden_pid_and_a_missing_one_are_the_same_esrch() {
    if !is_root() {
        return;
    }
    let mut session = Session::open().expect("session");
    let mut caller = Caller::current(&mut session).expect("caller");
    caller.viewer = Viewer {
        tgid: 1,
        fsuid: NOBODY,
        fsgid: NOBODY,
        euid: NOBODY,
        cap_effective: 0,
        user_ns: INIT_USER_NS,
    };
    caller.judge = Judge::Rules;
    let mut mine = Command::new("/bin/sleep")
        .arg("5")
        .uid(NOBODY)
        .gid(NOBODY)
        .spawn()
        .expect("spawn");
    let mut ask = |pid: u32| {
        let req = EventsRequest {
            pids: vec![pid],
            ..Default::default()
        }
        .to_message();
        issue_as(
            &mut session,
            &caller,
            &mut UserNsTree::default(),
            NsSelector::from_raw(CURRENT_PIDNS).expect("ns"),
            PROC_EVENTS,
            &[&req],
            0,
        )
        .map(drop)
        .map_err(|e| (e.code(), e.to_string()))
    };
    let hidden =
        ask(std::process::id()).expect_err("root's own test process is hidden from nobody");
    let missing = ask(i32::MAX as u32).expect_err("no such pid");
    assert_eq!(hidden.0, "ESRCH");
    assert_eq!(hidden.0, missing.0);
    // The message names only the pid asked for, nothing about why.
    assert_eq!(
        hidden.1.replace(&std::process::id().to_string(), "N"),
        missing.1.replace(&(i32::MAX as u32).to_string(), "N")
    );
    ask(mine.id()).expect("nobody's own task may be followed");
    let _ = mine.kill();
    let _ = mine.wait();
}

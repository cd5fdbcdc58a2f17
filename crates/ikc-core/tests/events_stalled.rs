//! A stalled PROC_EVENTS reader gets LOST with the count and the stream goes
//! on. Alone in its binary: its 20 000 threads overrun the connector socket,
//! a source loss every other stream of this process's hub would see.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::process::Command;
use std::time::{Duration, Instant};

use ikc_core::command::PROC_EVENTS;
use ikc_core::events::{Event, EventType, EventsRequest, IKC_PROC_EVENT};
use ikc_core::stream::{StreamMessage, StreamReader};
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
fn a_stalled_reader_gets_lost_with_the_count_and_the_stream_goes_on() {
    if !is_root() {
        return;
    }
    let fd: OwnedFd = ikc_core::issue_kernel_command(CURRENT_PIDNS, PROC_EVENTS, &[&EventsRequest::default().to_message()], 0).expect("sub").into_owned_fd();
    let mut steady = subscribe(&EventsRequest { types: EventType::Exit.bit(), ..Default::default() });
    // The stalled one reads nothing while thousands of events pass.
    let mut pids = Vec::new();
    // Fork and exit of 20000 threads: some 3.5 MB of messages, past the pipe and queue (2 MiB).
    for _ in 0..100 {
        let hs: Vec<_> = (0..200).map(|_| std::thread::spawn(|| ())).collect();
        hs.into_iter().for_each(|h| h.join().expect("thread"));
    }
    for _ in 0..20 {
        let mut c = Command::new("/bin/true").spawn().expect("true");
        c.wait().expect("wait");
        pids.push(c.id());
    }
    let (by_task, notices) = collect_until_exited(&mut steady, &pids);
    assert_eq!(by_task.len(), pids.len(), "the steady reader is unaffected");
    assert!(notices.is_empty(), "{notices:?}");
    let mut stalled = StreamReader::new(fd);
    let mut expected = 0u32;
    let mut lost = None;
    for _ in 0..200_000 {
        let m = next(&mut stalled);
        if let Some(l) = m.loss() {
            let (count, first, last, _cause) = l.expect("loss notice");
            // The lost messages had the numbers between the last one read and the notice.
            assert_eq!((first, last), (expected, m.seq - 1), "the notice names the missing numbers");
            assert_eq!(u64::from(last - first + 1), count, "the count matches the sequence range");
            lost = Some(count);
            break;
        }
        assert_eq!(m.seq, expected, "sequence numbers are consecutive until a loss");
        expected = m.seq + 1;
    }
    assert!(lost.is_some_and(|c| c > 0), "the stalled reader was told it lost events");
}

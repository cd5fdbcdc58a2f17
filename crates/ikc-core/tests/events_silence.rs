//! Silence at the source (simulated: the hub discards what the kernel sends)
//! is noticed from the fork counter, the subscription re-armed, and every
//! stream told POSSIBLY_LOST. Alone in its binary: the fault is process-wide.

use std::process::Command;
use std::time::{Duration, Instant};

use ikc_core::command::PROC_EVENTS;
use ikc_core::events::{Event, EventType, EventsRequest, IKC_PROC_EVENT};
use ikc_core::stream::{StreamMessage, StreamReader, STREAM_POSSIBLY_LOST};
use ikc_core::CURRENT_PIDNS;

fn subscribe(req: &EventsRequest) -> StreamReader {
    let fd = ikc_core::issue_kernel_command(CURRENT_PIDNS, PROC_EVENTS, &[&req.to_message()], 0).expect("PROC_EVENTS");
    StreamReader::new(fd.into_owned_fd())
}

fn next(r: &mut StreamReader) -> StreamMessage {
    r.next_message(Some(Duration::from_secs(10))).expect("read").expect("a message before EOF")
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

#[test]
fn simulated_silence_rearms_and_says_possibly_lost() {
    if !is_root() {
        return;
    }
    let mut r = subscribe(&EventsRequest { types: EventType::Exit.bit(), ..Default::default() });
    ikc_core::events::hub::SIMULATE_SILENCE.store(true, std::sync::atomic::Ordering::SeqCst);
    let before = ikc_core::events::hub::REARMS.load(std::sync::atomic::Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(10);
    while ikc_core::events::hub::REARMS.load(std::sync::atomic::Ordering::SeqCst) == before {
        assert!(Instant::now() < deadline, "silence was never noticed");
        Command::new("/bin/true").status().expect("true");
        std::thread::sleep(Duration::from_millis(20));
    }
    ikc_core::events::hub::SIMULATE_SILENCE.store(false, std::sync::atomic::Ordering::SeqCst);
    let mut c = Command::new("/bin/true").spawn().expect("true");
    c.wait().expect("wait");
    let pid = c.id();
    let mut saw_notice = false;
    loop {
        let m = next(&mut r);
        if m.message_type == STREAM_POSSIBLY_LOST {
            saw_notice = true;
            continue;
        }
        if m.message_type == IKC_PROC_EVENT && Event::decode(&m.payload).expect("event").subject().1 == pid {
            break;
        }
    }
    assert!(saw_notice, "POSSIBLY_LOST before the events after the re-arm");
}

//! What each fuzz target checks, one function per target (the targets in
//! `fuzz_targets/` only call these), and the seed messages the corpus is made
//! of (`examples/gen_corpus.rs`). Each check is "no panic" plus a property:
//! whatever a decoder accepts, ikc re-encodes to bytes it accepts again as the
//! same value, and those bytes are what was sent (up to the fields ikc sets).
//! The asserts here are the harness's: a failed one is a finding.

use ikc_core::broker::protocol::{NsKind, Reply, ReplyKind, RequestHeader, MAX_REPLY_MESSAGE, MAX_REQUEST_MESSAGE, REPLY_HEADER_LEN};
use ikc_core::command::{self, Command};
use ikc_core::net::{
    encode_inet, encode_unix, AddrDumpRequest, DumpCollector, MAX_RESPONSE_LEN, LinkDumpRequest, SockDiagBody, SockDiagRequest, DUMP_FLAGS, RTM_GETADDR, RTM_GETLINK,
    SOCK_DIAG_BY_FAMILY,
};
use ikc_core::netlink::{align4, emit_attribute, emit_done, Emitable, NetlinkHeader, NetlinkHeaderBuffer, NlaIterator, NLMSG_DONE};
use ikc_core::task_diag::{
    parse_response, Comm, ShowFlags, Strategy, TaskAttribute, TaskBase, TaskCreds, TaskDiagMessage, TaskDiagRequest, TASK_DIAG_PID_LEN,
};
use ikc_core::{Error, ADDR_DUMP, LINK_DUMP, SOCK_DIAG, TASK_DIAG};

const REQUEST_FLAGS: std::ops::Range<usize> = 6..8;
const PORT: std::ops::Range<usize> = 12..16;
/// The tail padding of `struct task_diag_pid`, after the 16-byte header.
const TASK_DIAG_PID_PADDING: std::ops::Range<usize> = 16 + 20..16 + TASK_DIAG_PID_LEN;

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

/// A request decoder refuses with `EINVAL` (or, for groups task_diag defines
/// but ikc lacks, `EOPNOTSUPP`; for `request`, a struct with non-zero bytes
/// past ikc's size, `E2BIG`): never another errno, which would tell a caller
/// something about the system it did not ask.
fn assert_request_error(what: &str, e: &Error, also: &[&str]) {
    let code = e.code();
    assert!(code == "EINVAL" || also.contains(&code), "{what} refused with {code}: {e}");
}

/// What an accepted request re-encodes to: the bytes sent, cut to the message
/// ikc emits (`nlmsg_len` set to its length). The cut is the zero tail the
/// struct-size rule drops; nothing else may be dropped.
fn without_zero_tail(data: &[u8], emitted: usize) -> Vec<u8> {
    let (head, tail) = data.split_at(emitted);
    assert!(tail.iter().all(|&b| b == 0), "only a zero tail past the struct is dropped");
    let mut expect = head.to_vec();
    expect[..4].copy_from_slice(&(emitted as u32).to_ne_bytes());
    expect
}

/// `TaskDiagRequest::from_message`: an accepted request re-encodes (by
/// `to_message` and by `encode`, what the binding calls) to the bytes sent,
/// but for the fields ikc sets itself (flags, port, struct padding), and
/// parses back to itself.
pub fn task_diag_request(data: &[u8]) {
    let req = match TaskDiagRequest::from_message(data) {
        Ok(req) => req,
        Err(e) => return assert_request_error("task_diag request", &e, &["EOPNOTSUPP", "E2BIG"]),
    };
    assert!(req.pid <= i32::MAX as u32, "pid {} passed", req.pid);
    assert!(!req.strategy.needs_pid() || req.pid != 0, "{:?} passed without a pid", req.strategy);
    assert_eq!(req.show.0 & !ShowFlags::SUPPORTED, 0, "unimplemented show bits passed");
    let message = req.to_message();
    let mut expect = without_zero_tail(data, message.len());
    expect[REQUEST_FLAGS].copy_from_slice(&DUMP_FLAGS.to_ne_bytes());
    expect[PORT].fill(0);
    expect[TASK_DIAG_PID_PADDING].fill(0);
    // nlmsg_type 0 (as the reference selftest leaves it) reads as TASK_DIAG_CMD_GET.
    expect[4..6].copy_from_slice(&ikc_core::task_diag::TASK_DIAG_CMD_GET.to_ne_bytes());
    assert_eq!(message, expect, "the request re-encodes to what was sent");
    assert_eq!(TaskDiagRequest::from_message(&message), Ok(req), "the re-encoded request parses to itself");
    let encoded = TaskDiagRequest::encode(req.show.0, req.strategy as u64, req.pid, req.sequence);
    assert_eq!(encoded.as_ref(), Ok(&message), "the binding's encoder agrees");
}

/// The netlink codec: `NetlinkHeader::parse_request`, the attribute iterator,
/// the dump collector and `task_diag::parse_response`, each on the same bytes. What is read is
/// emitted again and must read back the same.
pub fn netlink_codec(data: &[u8]) {
    if let Ok((header, payload)) = NetlinkHeader::parse_request(data) {
        assert_eq!(header.length as usize, data.len());
        let mut out = Vec::new();
        header.emit_to_vec(&mut out);
        out.extend_from_slice(payload);
        assert_eq!(out, data, "a header re-emits to its bytes");
    }

    let mut attrs = Vec::new();
    let mut emitted = Vec::new();
    for nla in NlaIterator::new(data) {
        let Ok(nla) = nla else { break };
        let value = nla.value();
        assert_eq!(value.len() + 4, nla.length() as usize);
        emit_attribute(&mut emitted, nla.kind(), value.len(), |b| b.copy_from_slice(value)).expect("a parsed attribute fits nla_len");
        attrs.push((nla.kind(), value.to_vec()));
    }
    let again: Vec<_> = NlaIterator::new(&emitted)
        .map(|nla| nla.map(|n| (n.kind(), n.value().to_vec())).expect("re-emitted attributes are valid"))
        .collect();
    assert_eq!(again, attrs, "attributes re-emit to attributes that read the same");

    // The collector of a network dump, fed the bytes as one datagram for the
    // sequence of the first message: it keeps a prefix of them, and a finished
    // dump ends at an NLMSG_DONE.
    if let Some(seq) = data.get(8..12) {
        let mut collector = DumpCollector::new(u32::from_ne_bytes([seq[0], seq[1], seq[2], seq[3]]), MAX_RESPONSE_LEN);
        if collector.push(data).is_ok() {
            if let Ok(kept) = collector.finish() {
                assert!(data.starts_with(&kept), "the collector keeps the bytes as sent");
                let (mut rest, mut last) = (&kept[..], None);
                while !rest.is_empty() {
                    let msg = NetlinkHeaderBuffer::new_checked(rest).expect("kept messages are well formed");
                    last = Some(msg.message_type());
                    rest = &rest[align4(msg.length() as usize).min(rest.len())..];
                }
                assert_eq!(last, Some(NLMSG_DONE), "a finished dump ends at NLMSG_DONE");
            }
        }
    }

    if let Ok(tasks) = parse_response(data) {
        let mut out = Vec::new();
        for t in &tasks {
            t.emit_message(1, &mut out).expect("a parsed message re-emits");
        }
        emit_done(&mut out, 1);
        assert_eq!(parse_response(&out).as_ref(), Ok(&tasks), "a parsed response re-emits to one that parses the same");
    }
}

/// The network request validators (SOCK_DIAG, LINK_DUMP, ADDR_DUMP): what one
/// accepts is a dump of its own type, re-encoded from the parsed fields, equal
/// to what was sent but for `nlmsg_pid` (ikc sends 0), and it parses to itself.
/// No bytes are a valid request of two commands.
pub fn net_request(data: &[u8]) {
    let mut accepted = 0;
    let mut check = |message: Vec<u8>, kind: u16| {
        accepted += 1;
        assert_eq!((u16_at(&message, 4), u16_at(&message, 6)), (kind, DUMP_FLAGS), "only dumps of the command's type are sent");
        let mut expect = without_zero_tail(data, message.len());
        expect[PORT].fill(0);
        assert_eq!(message, expect, "an accepted request re-encodes to itself");
    };
    match SockDiagRequest::from_message(data) {
        Ok(req) => {
            check(req.to_message(), SOCK_DIAG_BY_FAMILY);
            assert_eq!(SockDiagRequest::from_message(&req.to_message()), Ok(req));
            if let SockDiagBody::Unix(u) = req.body {
                if u.inode == 0 && u.cookie == [0, 0] {
                    assert_eq!(encode_unix(u.states, u.show, req.sequence), Ok(req.to_message()), "the binding's encoder agrees");
                }
            }
        }
        Err(e) => assert_request_error("sock_diag request", &e, &["E2BIG"]),
    }
    match LinkDumpRequest::from_message(data) {
        Ok(req) => {
            check(req.to_message(), RTM_GETLINK);
            assert_eq!(LinkDumpRequest::new(req.family, req.sequence), Ok(req));
        }
        Err(e) => assert_request_error("link dump request", &e, &["E2BIG"]),
    }
    match AddrDumpRequest::from_message(data) {
        Ok(req) => {
            check(req.to_message(), RTM_GETADDR);
            assert_eq!(AddrDumpRequest::new(u32::from(req.family), req.sequence), Ok(req));
        }
        Err(e) => assert_request_error("address dump request", &e, &["E2BIG"]),
    }
    assert!(accepted <= 1, "one message was a valid request of {accepted} commands");
}

/// `RequestHeader::parse_message` on what the broker reads from a client (at
/// most `MAX_REQUEST_MESSAGE` bytes), then what the broker does with no
/// socket involved: the command lookup and the command's own request parser
/// (checked as in its own target). An accepted header re-emits to the bytes.
pub fn broker_request(data: &[u8]) {
    let data = &data[..data.len().min(MAX_REQUEST_MESSAGE)];
    let (header, body) = match RequestHeader::parse_message(data) {
        Ok(parsed) => parsed,
        Err(e) => return assert_request_error("broker request", &e, &["EPROTONOSUPPORT"]),
    };
    assert_eq!(header.length as usize, body.len());
    assert_eq!(RequestHeader::message(header.ns_kind, header.command, header.flags, body), data, "a request re-emits to its bytes");
    let spec = match command::lookup(header.command) {
        Ok(spec) => spec,
        Err(e) => return assert_request_error("command number", &e, &[]),
    };
    match spec.command {
        Command::TaskDiag => task_diag_request(body),
        Command::SockDiag | Command::LinkDump | Command::AddrDump => net_request(body),
        Command::LinkStats | Command::TaskStats => stats_request(body),
        Command::ProcEvents => events_request(body),
    }
}

/// `EventsRequest::from_message`: EINVAL or E2BIG for what it refuses; an
/// accepted request parses the same from what it re-encodes to.
pub fn events_request(data: &[u8]) {
    match ikc_core::events::EventsRequest::from_message(data) {
        Ok(req) => assert_eq!(ikc_core::events::EventsRequest::from_message(&req.to_message()).as_ref(), Ok(&req)),
        Err(e) => assert_request_error("events request", &e, &["E2BIG"]),
    }
}

/// `LinkStatsRequest::from_message`: EINVAL or E2BIG for what it refuses; an
/// accepted request parses the same from what it re-encodes to.
pub fn stats_request(data: &[u8]) {
    match ikc_core::stats::LinkStatsRequest::from_message(data) {
        Ok(req) => assert_eq!(ikc_core::stats::LinkStatsRequest::from_message(&req.to_message()), Ok(req)),
        Err(e) => assert_request_error("link stats request", &e, &["E2BIG"]),
    }
    match ikc_core::stats::TaskStatsRequest::from_message(data) {
        Ok(req) => assert_eq!(ikc_core::stats::TaskStatsRequest::from_message(&req.to_message()), Ok(req)),
        // A show bit the header defines but ikc does not produce is EOPNOTSUPP, as for TASK_DIAG.
        Err(e) => assert_request_error("task stats request", &e, &["E2BIG", "EOPNOTSUPP"]),
    }
}

/// `Reply::parse` on what a client reads from a broker (at most a header and
/// `MAX_REPLY_MESSAGE` bytes), and what the client makes of it
/// (`into_hello`, `into_response`): never a panic, an errno that is a real
/// one, and a reply that re-emits to one that parses the same.
pub fn broker_reply(data: &[u8]) {
    let data = &data[..data.len().min(REPLY_HEADER_LEN + MAX_REPLY_MESSAGE)];
    let Ok(reply) = Reply::parse(data) else { return };
    let mut out = Vec::new();
    reply.emit_to_vec(&mut out);
    assert_eq!(Reply::parse(&out).as_ref(), Ok(&reply), "a reply re-emits to one that parses the same");
    let is_errno = |e: &Error| (1..4096).contains(&e.errno());
    if let Err(e) = reply.clone().into_hello() {
        assert!(is_errno(&e), "hello refused with errno {}", e.errno());
    }
    match reply.into_response(Some(())) {
        Ok(((), _kind)) => {}
        Err(e) => assert!(is_errno(&e), "request refused with errno {}", e.errno()),
    }
}

/// `message` with `extra` zero bytes after its struct (`nlmsg_len` covers them).
fn with_zero_tail(message: &[u8], extra: usize) -> Vec<u8> {
    let mut v = message.to_vec();
    let len = message.len() + extra;
    v.resize(len, 0);
    v[..4].copy_from_slice(&(len as u32).to_ne_bytes());
    v
}

/// Seed inputs per target, each a real message made by ikc's own emitters
/// (plus edge cases), named for the corpus files.
pub fn seeds() -> Vec<(&'static str, Vec<(String, Vec<u8>)>)> {
    let task_requests: Vec<(String, Vec<u8>)> = [
        ("all_base", ShowFlags::BASE, Strategy::All, 0),
        ("all_thread_base_cred", ShowFlags::BASE | ShowFlags::CRED, Strategy::AllThread, 0),
        ("one_base_cred", ShowFlags::BASE | ShowFlags::CRED, Strategy::One, 1),
        ("children_cred", ShowFlags::CRED, Strategy::Children, 1),
        ("thread_max_pid", ShowFlags::BASE, Strategy::Thread, i32::MAX as u32),
        ("all_no_groups", ShowFlags(0), Strategy::All, 0),
    ]
    .into_iter()
    .map(|(name, show, strategy, pid)| (name.to_string(), TaskDiagRequest { show, strategy, pid, sequence: 7 }.to_message()))
    .chain([
        // Defined but unimplemented group (EOPNOTSUPP), and a request cut short.
        ("vma_unsupported".into(), TaskDiagRequest::encode(1 << 2, 0, 0, 1).expect("encodable")),
        ("truncated".into(), TaskDiagRequest::encode(1, 1, 42, 1).expect("encodable")[..30].to_vec()),
        // Sized as the reference selftest sizes it: nla_total_size(24) = 28 bytes of payload.
        ("selftest_sized".into(), with_zero_tail(&TaskDiagRequest::encode(1, 2, 0, 1).expect("encodable"), 4)),
    ])
    .collect();

    let net_requests: Vec<(String, Vec<u8>)> = vec![
        ("inet_tcp".into(), encode_inet(2, 6, 0xfff, 0, 3).expect("valid")),
        ("inet6_udp_ext".into(), encode_inet(10, 17, 0x3fff, 0xff, 3).expect("valid")),
        ("unix_all_show".into(), encode_unix(0xfff, 0x7f, 3).expect("valid")),
        ("link_dump".into(), LinkDumpRequest { family: 0, sequence: 5 }.to_message()),
        ("link_dump_packet".into(), LinkDumpRequest { family: 17, sequence: 5 }.to_message()),
        ("addr_dump_inet6".into(), AddrDumpRequest { family: 10, sequence: 5 }.to_message()),
        ("unix_zero_tail".into(), with_zero_tail(&encode_unix(0xfff, 0x7f, 3).expect("valid"), 8)),
    ];

    let task = |pid: u32, attributes: Vec<TaskAttribute>| TaskDiagMessage { pid, tgid: pid, flags: 0, attributes };
    let base = |pid: u32, comm: &[u8]| TaskBase { tgid: pid, pid, ppid: 1, tpid: 0, sid: pid, pgid: pid, state: 1, comm: Comm::from_bytes(comm) };
    let creds = TaskCreds { cap_effective: 0x1ff_ffff_ffff, uid: 1000, euid: 1000, gid: 100, ..Default::default() };
    let response = |tasks: &[TaskDiagMessage]| {
        let mut out = Vec::new();
        for t in tasks {
            t.emit_message(9, &mut out).expect("a seed emits");
        }
        emit_done(&mut out, 9);
        out
    };
    let mut two_attrs = Vec::new();
    emit_attribute(&mut two_attrs, 1, 3, |b| b.copy_from_slice(&[1, 2, 3])).expect("fits");
    emit_attribute(&mut two_attrs, 0x8002, 8, |b| b.copy_from_slice(&[0xff; 8])).expect("fits");
    let netlink: Vec<(String, Vec<u8>)> = vec![
        ("response_empty".into(), response(&[])),
        ("response_one_base".into(), response(&[task(1, vec![TaskAttribute::Base(base(1, b"init"))])])),
        (
            "response_two_tasks_all_attrs".into(),
            response(&[
                task(5, vec![TaskAttribute::Base(base(5, b"sleep")), TaskAttribute::Creds(creds)]),
                task(6, vec![TaskAttribute::Creds(creds), TaskAttribute::Other(42, vec![1, 2, 3])]),
            ]),
        ),
        ("response_no_done".into(), {
            let mut out = Vec::new();
            task(1, vec![TaskAttribute::Base(base(1, b"init"))]).emit_message(9, &mut out).expect("a seed emits");
            out
        }),
        ("request_task_diag".into(), task_requests[2].1.clone()),
        ("attributes".into(), two_attrs),
    ];

    let broker_requests: Vec<(String, Vec<u8>)> = vec![
        ("task_diag_current".into(), RequestHeader::message(NsKind::CurrentPid, TASK_DIAG, 0, &task_requests[1].1)),
        ("task_diag_global_procfs".into(), RequestHeader::message(NsKind::Global, TASK_DIAG, 1, &task_requests[2].1)),
        ("sock_diag_current".into(), RequestHeader::message(NsKind::CurrentNet, SOCK_DIAG, 0, &net_requests[0].1)),
        ("link_dump_fd".into(), RequestHeader::message(NsKind::PassedFd, LINK_DUMP, 0, &net_requests[3].1)),
        ("addr_dump_global".into(), RequestHeader::message(NsKind::Global, ADDR_DUMP, 0, &net_requests[5].1)),
        ("empty_body".into(), RequestHeader::message(NsKind::CurrentPid, TASK_DIAG, 0, &[])),
    ];

    let reply = |r: Reply| {
        let mut out = Vec::new();
        r.emit_to_vec(&mut out);
        out
    };
    let broker_replies: Vec<(String, Vec<u8>)> = vec![
        ("hello".into(), reply(Reply::hello())),
        ("ok".into(), reply(Reply::ok(ikc_core::command::ResponseKind::Snapshot))),
        ("stream".into(), reply(Reply::ok(ikc_core::command::ResponseKind::Stream))),
        ("esrch".into(), reply(Reply::error(&Error::NoSuchProcess(5)))),
        ("einval_long_text".into(), reply(Reply::error(&Error::invalid("x".repeat(2000))))),
        ("unknown_kind".into(), reply(Reply { version: ikc_core::broker::protocol::VERSION, kind: ReplyKind::Result, result: -22, message: "é".into() }).into_iter().enumerate().map(|(i, b)| if i == 6 { 7 } else { b }).collect()),
    ];

    vec![
        ("task_diag_request", task_requests),
        ("net_request", net_requests),
        ("netlink_codec", netlink),
        ("broker_request", broker_requests),
        ("broker_reply", broker_replies),
    ]
}

//! SOCK_DIAG, LINK_DUMP and ADDR_DUMP against the running kernel, in the
//! caller's network namespace and in a fresh one made by a thread of this test
//! (root only). A file of its own: it makes namespaces and counts threads and fds.

use std::net::TcpListener;
use std::os::fd::{AsRawFd, OwnedFd};

use ikc_core::net::{encode_inet, encode_unix, AddrDumpRequest, LinkDumpRequest};
use ikc_core::{issue_kernel_command, ADDR_DUMP, CURRENT_NETNS, LINK_DUMP, SOCK_DIAG};

const NLMSG_DONE: u16 = 3;

/// (nlmsg_type, payload) of every message; asserts the stream ends with NLMSG_DONE.
fn messages(bytes: &[u8]) -> Vec<(u16, Vec<u8>)> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let len = u32::from_ne_bytes(rest[0..4].try_into().unwrap()) as usize;
        let kind = u16::from_ne_bytes(rest[4..6].try_into().unwrap());
        out.push((kind, rest[16..len].to_vec()));
        rest = &rest[((len + 3) & !3).min(rest.len())..];
    }
    assert_eq!(out.last().map(|m| m.0), Some(NLMSG_DONE), "the stream ends with NLMSG_DONE");
    out
}

fn issue(ns: i32, command: u32, request: &[u8]) -> Result<Vec<u8>, &'static str> {
    issue_kernel_command(ns, command, &[request], 0).map(|fd| fd.read_all().unwrap()).map_err(|e| e.code())
}

/// Source ports of the TCP listeners in a SOCK_DIAG answer (idiag_sport is big-endian).
fn tcp_ports(ns: i32) -> Vec<u16> {
    let req = encode_inet(2, 6, 1 << 10, 0, 1).unwrap();
    let bytes = issue(ns, SOCK_DIAG, &req).unwrap();
    messages(&bytes).iter().filter(|m| m.0 == 20).map(|m| u16::from_be_bytes([m.1[4], m.1[5]])).collect()
}

/// The IFLA_IFNAME of every link in a LINK_DUMP answer.
fn link_names(ns: i32) -> Vec<String> {
    let bytes = issue(ns, LINK_DUMP, &LinkDumpRequest { family: 0, sequence: 2 }.to_message()).unwrap();
    let mut names = Vec::new();
    for (_, payload) in messages(&bytes).iter().filter(|m| m.0 == 16) {
        let mut attrs = &payload[16..];
        while attrs.len() >= 4 {
            let len = u16::from_ne_bytes([attrs[0], attrs[1]]) as usize;
            if u16::from_ne_bytes([attrs[2], attrs[3]]) == 3 {
                names.push(String::from_utf8_lossy(&attrs[4..len]).trim_end_matches('\0').to_string());
            }
            attrs = &attrs[((len + 3) & !3).min(attrs.len())..];
        }
    }
    names
}

fn task_netns_links() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_link(t.unwrap().path().join("ns/net")).ok())
        .map(|p| p.display().to_string())
        .collect()
}

/// A new, empty network namespace, held by an fd; the thread that made it is gone.
fn fresh_netns() -> OwnedFd {
    std::thread::spawn(|| {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare(CLONE_NEWNET) as root");
        OwnedFd::from(std::fs::File::open("/proc/thread-self/ns/net").unwrap())
    })
    .join()
    .unwrap()
}

#[test]
fn dumps_of_the_current_namespace() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    assert!(tcp_ports(CURRENT_NETNS).contains(&port));
    assert!(link_names(CURRENT_NETNS).contains(&"lo".to_string()));
    let unix = issue(CURRENT_NETNS, SOCK_DIAG, &encode_unix(0x3fff, 0x15, 4).unwrap()).unwrap();
    messages(&unix);
    let addrs = issue(CURRENT_NETNS, ADDR_DUMP, &AddrDumpRequest { family: 2, sequence: 3 }.to_message()).unwrap();
    assert!(messages(&addrs).iter().all(|m| m.0 == 20 || m.0 == NLMSG_DONE), "only RTM_NEWADDR and NLMSG_DONE");
}

#[test]
fn a_foreign_namespace_shows_its_own_things_only() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: making a network namespace needs root");
        return;
    }
    let home = task_netns_links();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let netns = fresh_netns();
    let fd = netns.as_raw_fd();
    for _ in 0..20 {
        assert!(!tcp_ports(fd).contains(&port), "a host listener in a fresh namespace");
        assert_eq!(link_names(fd), vec!["lo".to_string()]);
        assert_eq!(issue(fd, SOCK_DIAG, b"short"), Err("EINVAL"));
    }
    let me = std::fs::read_link("/proc/thread-self/ns/net").unwrap().display().to_string();
    assert!(task_netns_links().iter().all(|l| *l == me), "every thread is home: {:?} (before: {home:?})", task_netns_links());
}

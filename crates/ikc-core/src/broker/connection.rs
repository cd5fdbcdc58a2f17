//! One client's connection, on a thread of its own: the hello, then one
//! request at a time, each admitted under the uid's quotas, answered for the
//! sender the kernel names (`peer`), and replied to with exactly one message
//! of the fixed reply shape (a result, a text, at most one fd).

use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::time::Instant;

use nix::sys::socket::{setsockopt, sockopt};
use nix::sys::time::TimeVal;

use super::host::Config;
use super::log::{caused_by_client, log, log_throttled, LogLevel, Logs};
use super::peer::Peer;
use super::policy;
use super::protocol::{NsKind, Reply, RequestHeader, MAX_REQUEST_MESSAGE};
use super::quota::{ConnectionSlot, Quotas};
use super::transport::{self, Incoming, MAX_FDS};
use crate::command::{self, ResponseKind};
use crate::error::{Error, Result};
use crate::kernel_command::{issue_as, Session};
use crate::netlink::Emitable;
use crate::ns::{self, NsId, NsSelector};
use crate::response::ResponseFd;
use crate::stream::StopSignal;
use crate::NsType;

pub(super) fn send_reply(conn: &OwnedFd, reply: &Reply, fd: Option<&OwnedFd>) -> Result<()> {
    let mut bytes = Vec::new();
    reply.emit_to_vec(&mut bytes);
    transport::send(conn, &bytes, fd)
}

pub(super) fn serve_connection(conn: Arc<OwnedFd>, cfg: &Config, slot: ConnectionSlot, quotas: &Arc<Quotas>, logs: &Logs, stop: StopSignal) {
    let uid = slot.uid();
    // Every message then names its sender (a pidfd); older kernels fall back to the connecting process.
    transport::pass_pidfd(&conn);
    let timeouts = setsockopt(&conn, sockopt::PassCred, &true)
        .and_then(|_| setsockopt(&conn, sockopt::ReceiveTimeout, &TimeVal::new(cfg.idle_timeout.as_secs() as i64, 0)))
        .and_then(|_| setsockopt(&conn, sockopt::SendTimeout, &TimeVal::new(cfg.send_timeout.as_secs() as i64, 0)));
    if let Err(e) = timeouts {
        log(cfg, LogLevel::Warn, format_args!("setsockopt: {e}"));
        return;
    }
    let mut proc = match Session::open() {
        Ok(p) => p.with_stop(stop),
        Err(e) => {
            log(cfg, LogLevel::Error, format_args!("{e}"));
            return;
        }
    };
    // The pid namespace /proc shows, when it is the broker's own (the usual case):
    // senders in it can be read without /proc.
    let proc_pid_ns = match proc.current_viewer() {
        Ok((_, 1)) => ns::current(NsType::Pid).ok(),
        _ => None,
    };
    let peer = match Peer::of_socket(&conn, &mut proc, proc_pid_ns) {
        Ok(p) => p,
        Err(e) => {
            let _ = send_reply(&conn, &Reply::error(&e), None);
            return;
        }
    };
    log(cfg, LogLevel::Debug, format_args!("client pid {} uid {} connected", peer.pid, peer.uid));
    // The hello is sent after SO_PASSCRED is set, so every request carries credentials.
    if send_reply(&conn, &Reply::hello(), None).is_err() {
        return;
    }
    loop {
        let incoming = match transport::receive(&conn, MAX_REQUEST_MESSAGE) {
            Ok(Some(m)) => m,
            Ok(None) => break, // the client closed
            Err(e) => {
                log(cfg, LogLevel::Debug, format_args!("client pid {}: {e}; closing", peer.pid));
                break;
            }
        };
        // One more request of this uid in flight, or EAGAIN; a spent budget is
        // ENOBUFS before any work (the message's fds close here).
        let turn = match quotas.request(uid).and_then(|t| quotas.precheck(uid, Instant::now()).map(|()| t)) {
            Ok(t) => t,
            Err(e) => {
                drop(incoming);
                log_throttled(cfg, &logs.refused, LogLevel::Warn, format_args!("refused a request of uid {uid}: {e}"));
                if send_reply(&conn, &Reply::error(&e), None).is_err() {
                    break;
                }
                continue;
            }
        };
        let version = super::protocol::requested_version(&incoming.bytes);
        let result = answer(&mut proc, proc_pid_ns, &peer, (quotas, uid), incoming).and_then(|fd| hand_out(quotas, uid, fd));
        let (reply, fd) = match result {
            Ok((kind, fd)) => (Reply::ok(kind), Some(fd)),
            Err(e) => {
                if caused_by_client(&e) {
                    log(cfg, LogLevel::Debug, format_args!("client pid {}: {e}", peer.pid));
                } else {
                    log_throttled(cfg, &logs.failed, LogLevel::Warn, format_args!("a request of client pid {} uid {uid} failed: {e}", peer.pid));
                }
                (Reply::refusing_version(&e, version), None)
            }
        };
        let sent = send_reply(&conn, &reply, fd.as_ref());
        drop(turn);
        if let Err(e) = sent {
            log(cfg, LogLevel::Debug, format_args!("client pid {}: {e}; dropping it", peer.pid));
            break;
        }
    }
    log(cfg, LogLevel::Debug, format_args!("client pid {} gone", peer.pid));
}

/// The response fd, if `uid` may be handed it now (`quota::Quotas::charge`):
/// `EMSGSIZE` when its length is over the size cap, `ENOBUFS` when the memory
/// it pins is over what is left of the uid's budget. A memfd pins whole pages
/// (at least one, even for a few bytes; huge ones where shmem uses them), so
/// that is what is charged: a client keeping thousands of tiny answers pins
/// pages, not bytes. A refused response is closed here.
/// A stream was admitted before its producer started (`answer`); it is not charged.
fn hand_out(quotas: &Quotas, uid: u32, fd: ResponseFd) -> Result<(ResponseKind, OwnedFd)> {
    if fd.kind() == ResponseKind::Stream {
        return Ok((ResponseKind::Stream, fd.into_owned_fd()));
    }
    let st = nix::sys::stat::fstat(fd.as_fd()).map_err(|e| Error::os("fstat response", e))?;
    let len = u64::try_from(st.st_size).unwrap_or(0);
    quotas.charge(uid, len, super::quota::pinned(len, u64::try_from(st.st_blocks).unwrap_or(0)), Instant::now())?;
    Ok((ResponseKind::Snapshot, fd.into_owned_fd()))
}

/// Checks and runs one request. Every failure is an errno for the client.
fn answer(proc: &mut Session, proc_pid_ns: Option<NsId>, peer: &Peer, (quotas, uid): (&Arc<Quotas>, u32), mut msg: Incoming) -> Result<ResponseFd> {
    if msg.truncated {
        return Err(Error::Os { op: format!("request larger than {MAX_REQUEST_MESSAGE} bytes, or too many fds"), errno: nix::errno::Errno::EMSGSIZE as i32 });
    }
    if msg.fds.len() > MAX_FDS {
        return Err(Error::invalid(format!("{} fds sent, at most {MAX_FDS} accepted", msg.fds.len())));
    }
    let creds = msg.creds.ok_or_else(|| Error::PermissionDenied("message carries no SCM_CREDENTIALS".into()))?;
    let (header, body) = RequestHeader::parse_message(&msg.bytes)?;
    let selector = match (header.ns_kind, msg.fds.pop()) {
        (NsKind::PassedFd, Some(fd)) => NsSelector::Fd(fd),
        (NsKind::PassedFd, None) => return Err(Error::invalid("namespace kind FD but no fd passed")),
        (_, Some(_)) => return Err(Error::invalid("an fd was passed but the namespace kind is not FD")),
        (NsKind::CurrentPid, None) => NsSelector::CurrentPid,
        (NsKind::CurrentNet, None) => NsSelector::CurrentNet,
        (NsKind::Global, None) => NsSelector::Global,
    };
    let creds_pid = u32::try_from(creds.pid()).map_err(|_| Error::PermissionDenied("sender has no pid here".into()))?;
    let sender = peer.sender(creds_pid, msg.pidfd.take())?;
    let (caller, mut users) = peer.caller(&sender, proc, proc_pid_ns)?;
    let spec = command::lookup(header.command)?;
    policy::may_issue(&caller, spec)?;
    if spec.response == ResponseKind::Stream {
        // Admitted before it starts; the producer holds the slot for the stream's life.
        proc.lease_next_stream(Box::new(quotas.stream(uid)?));
    }
    let fd = issue_as(proc, &caller, &mut users, selector, header.command, &[body], header.flags)?;
    // The sender's namespaces were opened by pid: make sure it was still the sender.
    sender.check_alive()?;
    Ok(fd)
}

#[cfg(test)]
mod tests {
    //! A connection served over a socketpair, with this test as the client: no
    //! listener, no other process. The kernel still stamps credentials and
    //! pidfds, so every check runs as in a broker.
    use std::os::fd::AsRawFd;
    use std::sync::atomic::AtomicUsize;

    use nix::sys::socket::{sendmsg, socketpair, AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType};

    use super::*;
    use crate::broker::protocol::{ReplyKind, REPLY_HEADER_LEN, REQUEST_HEADER_LEN, VERSION};
    use crate::command::{LINK_STATS, TASK_DIAG};

    struct Served {
        client: OwnedFd,
        thread: std::thread::JoinHandle<()>,
        _stop: OwnedFd,
    }

    /// A connection thread serving one end; `before` is sent on the other end
    /// before the thread starts (so before it sets `SO_PASSCRED`).
    fn serve(before: Option<&[u8]>) -> Served {
        let (client, server) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC).expect("socketpair");
        if let Some(bytes) = before {
            transport::send(&client, bytes, None).expect("send early");
        }
        let (stop_rx, stop_tx) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe");
        let cfg = Config { log_level: LogLevel::Error, ..Config::default() };
        let quotas = Quotas::new(cfg.limits(), Arc::new(AtomicUsize::new(0)));
        let slot = quotas.connect(nix::unistd::getuid().as_raw(), Instant::now()).expect("slot");
        let thread = std::thread::spawn(move || {
            serve_connection(Arc::new(server), &cfg, slot, &quotas, &Logs::new(), StopSignal::new(Arc::new(stop_rx)));
        });
        Served { client, thread, _stop: stop_tx }
    }

    /// One reply: its raw bytes (the fixed shape checked) and the fd it carried.
    fn reply(s: &Served) -> (Reply, Option<OwnedFd>) {
        let mut msg = transport::receive(&s.client, 4096).expect("receive").expect("a reply, not EOF");
        assert!(msg.fds.len() <= 1, "at most one fd per reply");
        let r = Reply::parse(&msg.bytes).expect("a v2 reply");
        assert_eq!(msg.bytes.len(), REPLY_HEADER_LEN + r.message.len(), "header and text, nothing else");
        if r.result < 0 {
            assert!(msg.fds.is_empty(), "an error carries no fd");
            assert!(r.message.starts_with(crate::error::errno_name(-r.result)), "the text starts with the errno name: {}", r.message);
        }
        (r, msg.fds.pop())
    }

    fn hello(s: &Served) {
        let (r, fd) = reply(s);
        assert_eq!((r.version, r.kind, r.result, fd.is_none()), (VERSION, ReplyKind::Hello, MAX_REQUEST_MESSAGE as i32, true));
    }

    fn task_diag_self() -> Vec<u8> {
        let req = crate::task_diag::TaskDiagRequest::encode(crate::task_diag::ShowFlags::BASE.0, crate::task_diag::Strategy::One as u64, std::process::id(), 0).expect("request");
        RequestHeader::message(NsKind::CurrentPid, TASK_DIAG, 0, &req)
    }

    fn result(s: &Served, bytes: &[u8]) -> (i32, Option<ReplyKind>) {
        transport::send(&s.client, bytes, None).expect("send");
        let (r, fd) = reply(s);
        (r.result, fd.map(|_| r.kind))
    }

    #[test]
    fn hello_then_answers_with_the_fd_kind_its_command_has() {
        let s = serve(None);
        hello(&s);
        assert_eq!(result(&s, &task_diag_self()), (0, Some(ReplyKind::Result)));
        let stats = crate::stats::LinkStatsRequest { interval_ms: 100, count: 1 }.to_message();
        assert_eq!(result(&s, &RequestHeader::message(NsKind::CurrentNet, LINK_STATS, 0, &stats)), (0, Some(ReplyKind::Stream)));
        drop(s.client);
        s.thread.join().expect("the connection thread ends when the client closes");
    }

    #[test]
    fn truncated_and_oversized_messages_get_an_errno_and_the_connection_goes_on() {
        let s = serve(None);
        hello(&s);
        let good = task_diag_self();
        // (An empty message is not among them: recv returns 0 for it as for EOF, so it ends the connection.)
        for cut in [1, 10, REQUEST_HEADER_LEN - 1, REQUEST_HEADER_LEN, good.len() - 1] {
            assert_eq!(result(&s, &good[..cut]).0, -(nix::errno::Errno::EINVAL as i32), "{cut} bytes");
        }
        let huge = vec![0u8; MAX_REQUEST_MESSAGE + 1];
        assert_eq!(result(&s, &huge).0, -(nix::errno::Errno::EMSGSIZE as i32));
        assert_eq!(result(&s, &good), (0, Some(ReplyKind::Result)), "still serving");
    }

    #[test]
    fn extra_fds_are_refused_and_closed() {
        let s = serve(None);
        hello(&s);
        let (probe_rx, probe_tx) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe");
        let good = task_diag_self();
        let fds = [probe_tx.as_raw_fd(), probe_tx.as_raw_fd()];
        let cmsg = [ControlMessage::ScmRights(&fds)];
        sendmsg::<()>(s.client.as_raw_fd(), &[std::io::IoSlice::new(&good)], &cmsg, MsgFlags::empty(), None).expect("sendmsg");
        let (r, fd) = reply(&s);
        assert_eq!((r.result, fd.is_none()), (-(nix::errno::Errno::EINVAL as i32), true));
        // Our copy closed, the broker's two closed too: the pipe's reader sees EOF.
        drop(probe_tx);
        let mut buf = [0u8; 1];
        assert_eq!(nix::unistd::read(&probe_rx, &mut buf), Ok(0), "every received fd was closed");
        assert_eq!(result(&s, &good), (0, Some(ReplyKind::Result)));
    }

    #[test]
    fn a_message_that_names_no_sender_is_eperm() {
        let good = task_diag_self();
        let s = serve(Some(&good));
        hello(&s);
        let (r, fd) = reply(&s);
        assert_eq!((r.result, fd.is_none()), (-(nix::errno::Errno::EPERM as i32), true), "{}", r.message);
        // Queued before SO_PASSCRED/SO_PASSPIDFD: the kernel names no sender (pid 0), so it is nobody's request.
        assert!(r.message.contains("pid 0") || r.message.contains("SCM_CREDENTIALS"), "{}", r.message);
        assert_eq!(result(&s, &good), (0, Some(ReplyKind::Result)), "the next, with credentials, is served");
    }
}

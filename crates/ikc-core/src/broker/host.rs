//! The broker daemon: accepts clients on a `SOCK_SEQPACKET` unix socket and
//! answers each request with a response fd or `-errno`, on behalf of the client
//! as the kernel identifies it (see `peer`). One thread per connection and one
//! request in flight per connection; every count, size and wait is bounded.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{accept4, setsockopt, sockopt, SockFlag};
use nix::sys::time::TimeVal;

use super::peer::Peer;
use super::policy;
use super::protocol::{NsKind, Reply, RequestHeader, MAX_REQUEST_MESSAGE};
use super::transport::{self, Incoming, MAX_FDS};
use crate::backend::procfs::ProcFs;
use crate::command;
use crate::error::{Error, Result};
use crate::kernel_command::issue_as;
use crate::netlink::Emitable;
use crate::ns::{self, NsId, NsSelector};
use crate::NsType;
use crate::response::ResponseFd;

/// How loud the broker is on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
}

impl LogLevel {
    pub fn parse(s: &str) -> Option<LogLevel> {
        Some(match s {
            "error" => LogLevel::Error,
            "warn" => LogLevel::Warn,
            "info" => LogLevel::Info,
            "debug" => LogLevel::Debug,
            _ => return None,
        })
    }
}

/// Limits and logging of one broker.
#[derive(Debug, Clone)]
pub struct Config {
    /// Connections served at once; further ones get `-EAGAIN` and are closed.
    pub max_clients: usize,
    /// A connection that sends nothing for this long is closed.
    pub idle_timeout: Duration,
    /// A client that does not take its reply within this time is dropped.
    pub send_timeout: Duration,
    pub log_level: LogLevel,
}

impl Default for Config {
    fn default() -> Self {
        Config { max_clients: 256, idle_timeout: Duration::from_secs(60), send_timeout: Duration::from_secs(5), log_level: LogLevel::Info }
    }
}

fn log(cfg: &Config, level: LogLevel, msg: std::fmt::Arguments) {
    if level <= cfg.log_level {
        eprintln!("ikc-broker: {}: {msg}", format!("{level:?}").to_lowercase());
    }
}

/// Ends a broker's accept loop when `stop()` is called (from any thread).
#[derive(Clone)]
pub struct Stopper(Arc<Mutex<Option<OwnedFd>>>);

impl Stopper {
    /// Closing the pipe's write end wakes the accept loop, which then returns.
    pub fn stop(&self) {
        if let Ok(mut fd) = self.0.lock() {
            fd.take();
        }
    }
}

/// A running broker: `stop()` closes the listener and ends the accept loop.
/// Every method takes `&self`, so the handle can be shared (`Arc`) between an
/// owner that stops it and a thread that waits for it.
pub struct BrokerHandle {
    stop: Stopper,
    thread: Mutex<Option<JoinHandle<()>>>,
    active: Arc<AtomicUsize>,
}

impl BrokerHandle {
    /// Connections being served now.
    pub fn active_clients(&self) -> usize {
        self.active.load(Ordering::SeqCst)
    }
    /// A counter of the connections being served, readable after the handle moved.
    pub fn active_counter(&self) -> Arc<AtomicUsize> {
        self.active.clone()
    }
    pub fn stopper(&self) -> Stopper {
        self.stop.clone()
    }
    /// Asks the accept loop to end (connections in progress finish their request).
    pub fn stop(&self) {
        self.stop.stop();
    }
    /// Waits for the accept loop to end; a second caller waits for the first.
    pub fn join(&self) {
        if let Ok(mut thread) = self.thread.lock() {
            if let Some(t) = thread.take() {
                let _ = t.join();
            }
        }
    }
}

impl Drop for BrokerHandle {
    fn drop(&mut self) {
        self.stop();
        self.join();
    }
}

/// Serves `listener` (a bound, listening `SOCK_SEQPACKET` socket with
/// `SO_PASSCRED` set) on a thread of its own.
pub fn serve(listener: OwnedFd, cfg: Config) -> Result<BrokerHandle> {
    serve_and_clean(listener, cfg, None)
}

/// `serve`, removing the socket file at `created` once the broker stops.
fn serve_and_clean(listener: OwnedFd, cfg: Config, created: Option<std::path::PathBuf>) -> Result<BrokerHandle> {
    let (stop_rx, stop_tx) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| Error::os("pipe2", e))?;
    let active = Arc::new(AtomicUsize::new(0));
    let counter = active.clone();
    let thread = std::thread::Builder::new()
        .name("ikc-broker".into())
        .spawn(move || {
            accept_loop(listener, stop_rx, cfg, counter);
            if let Some(path) = created {
                let _ = std::fs::remove_file(path);
            }
        })
        .map_err(|e| Error::os("spawn broker thread", nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(0))))?;
    Ok(BrokerHandle { stop: Stopper(Arc::new(Mutex::new(Some(stop_tx)))), thread: Mutex::new(Some(thread)), active })
}

/// The socket file's mode when the caller gives none: owner and group.
pub const DEFAULT_SOCKET_MODE: u32 = 0o660;

/// Where the broker listens: the socket systemd passed if there is one for this
/// process, else a new socket at `path` with `mode` and group `gid`.
pub fn start(path: Option<&std::path::Path>, mode: u32, gid: Option<u32>, cfg: Config) -> Result<BrokerHandle> {
    if let Some(fd) = super::listener::from_systemd()? {
        return serve(fd, cfg); // systemd owns the socket file
    }
    let path = path.ok_or_else(|| Error::invalid("no socket path given and no socket passed by systemd (LISTEN_FDS)"))?;
    let fd = super::listener::bind_path(path, mode, gid)?;
    serve_and_clean(fd, cfg, Some(path.to_path_buf()))
}

fn accept_loop(listener: OwnedFd, stop: OwnedFd, cfg: Config, active: Arc<AtomicUsize>) {
    let cfg = Arc::new(cfg);
    log(&cfg, LogLevel::Info, format_args!("serving (max {} clients)", cfg.max_clients));
    loop {
        let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN), PollFd::new(stop.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => {
                log(&cfg, LogLevel::Error, format_args!("poll: {e}"));
                return;
            }
            Ok(_) => {}
        }
        if fds[1].revents().is_some_and(|r| !r.is_empty()) {
            log(&cfg, LogLevel::Info, format_args!("stopping"));
            return;
        }
        let conn = match accept4(listener.as_raw_fd(), SockFlag::SOCK_CLOEXEC) {
            // SAFETY: accept4 returned a new fd that nothing else owns.
            Ok(fd) => unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) },
            Err(e) => {
                log(&cfg, LogLevel::Warn, format_args!("accept: {e}"));
                continue;
            }
        };
        if active.load(Ordering::SeqCst) >= cfg.max_clients {
            let _ = send_reply(&conn, &Reply::error(&Error::Os { op: "too many clients".into(), errno: nix::errno::Errno::EAGAIN as i32 }), None);
            log(&cfg, LogLevel::Warn, format_args!("refused a client: {} connections already", cfg.max_clients));
            continue;
        }
        active.fetch_add(1, Ordering::SeqCst);
        let (cfg2, active2) = (cfg.clone(), active.clone());
        let spawned = std::thread::Builder::new().name("ikc-broker-conn".into()).spawn(move || {
            serve_connection(conn, &cfg2);
            active2.fetch_sub(1, Ordering::SeqCst);
        });
        if let Err(e) = spawned {
            active.fetch_sub(1, Ordering::SeqCst);
            log(&cfg, LogLevel::Error, format_args!("cannot start a connection thread: {e}"));
        }
    }
}

fn send_reply(conn: &OwnedFd, reply: &Reply, fd: Option<&OwnedFd>) -> Result<()> {
    let mut bytes = Vec::new();
    reply.emit_to_vec(&mut bytes);
    transport::send(conn, &bytes, fd)
}

fn serve_connection(conn: OwnedFd, cfg: &Config) {
    // Every message then names its sender (a pidfd); older kernels fall back to the connecting process.
    transport::pass_pidfd(&conn);
    let timeouts = setsockopt(&conn, sockopt::PassCred, &true)
        .and_then(|_| setsockopt(&conn, sockopt::ReceiveTimeout, &TimeVal::new(cfg.idle_timeout.as_secs() as i64, 0)))
        .and_then(|_| setsockopt(&conn, sockopt::SendTimeout, &TimeVal::new(cfg.send_timeout.as_secs() as i64, 0)));
    if let Err(e) = timeouts {
        log(cfg, LogLevel::Warn, format_args!("setsockopt: {e}"));
        return;
    }
    let mut proc = match ProcFs::open() {
        Ok(p) => p,
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
        let (reply, fd) = match answer(&mut proc, proc_pid_ns, &peer, incoming) {
            Ok(fd) => (Reply::ok(), Some(fd.into_owned_fd())),
            Err(e) => {
                log(cfg, LogLevel::Debug, format_args!("client pid {}: {e}", peer.pid));
                (Reply::error(&e), None)
            }
        };
        if let Err(e) = send_reply(&conn, &reply, fd.as_ref()) {
            log(cfg, LogLevel::Debug, format_args!("client pid {}: {e}; dropping it", peer.pid));
            break;
        }
    }
    log(cfg, LogLevel::Debug, format_args!("client pid {} gone", peer.pid));
}

/// Checks and runs one request. Every failure is an errno for the client.
fn answer(proc: &mut ProcFs, proc_pid_ns: Option<NsId>, peer: &Peer, mut msg: Incoming) -> Result<ResponseFd> {
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
    policy::may_issue(&caller, command::lookup(header.command)?)?;
    let fd = issue_as(proc, &caller, &mut users, selector, header.command, &[body], header.flags)?;
    // The sender's namespaces were opened by pid: make sure it was still the sender.
    sender.check_alive()?;
    Ok(fd)
}

//! The broker daemon's lifecycle (as Chromium's `broker_process` is apart from
//! its `broker_host`): its configuration, start and stop, and the accept loop,
//! which admits each client under the quotas or refuses it at once, and hands
//! each admitted one to a thread of its own (`connection`). Every count, size
//! and wait is bounded.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{accept4, getsockopt, sockopt, SockFlag};

use super::connection::{send_reply, serve_connection};
use super::log::{log, log_throttled, LogLevel, Logs};
use super::protocol::Reply;
use super::quota::{Limits, Quotas};
use crate::error::{Error, Result};
use crate::stream::StopSignal;

/// Limits and logging of one broker. Per-uid limits are keyed by the uid the
/// kernel recorded at `connect()` and do not bind root; see `quota`.
#[derive(Debug, Clone)]
pub struct Config {
    /// Connections served at once; further ones get `-EAGAIN` and are closed.
    /// The last sixteenth is kept for root.
    pub max_clients: usize,
    /// Connections one uid may hold at once (`-EAGAIN` beyond).
    pub max_clients_per_uid: usize,
    /// Requests one uid may have in flight at once (`-EAGAIN` beyond).
    pub max_requests_per_uid: usize,
    /// The largest response handed out (`-EMSGSIZE` beyond).
    pub max_response_bytes: u64,
    /// Memory (whole pages) the responses handed to one uid may pin per
    /// `response_window` (`-ENOBUFS` beyond). The broker cannot see when a
    /// client closes a response, so it bounds what it hands out.
    pub response_budget_bytes: u64,
    pub response_window: Duration,
    /// Streams (events, statistics) running at once, in all and per uid
    /// (`-EAGAIN` beyond). A stream outlives the connection that asked for it.
    pub max_streams: usize,
    pub max_streams_per_uid: usize,
    /// A connection that sends nothing for this long is closed.
    pub idle_timeout: Duration,
    /// A client that does not take its reply within this time is dropped.
    pub send_timeout: Duration,
    pub log_level: LogLevel,
}

impl Default for Config {
    /// 256 connections cost the broker about 3 fds and one mostly idle thread
    /// each. 32 per uid: a user's sandboxed programs and tools, with room, while
    /// eight users are needed to fill the broker. 8 requests in flight per uid:
    /// more parallelism than a small machine has cores, and each in-flight dump
    /// holds its response in memory. 64 MiB per response: a full dump of tens
    /// of thousands of tasks or sockets. 256 MiB per minute per uid: hundreds
    /// of full listings a minute, while a client that keeps every answer pins
    /// at most that much more each minute. 16 streams per uid and 512 in all:
    /// each is a thread and a pipe (up to 1 MiB) with a queue of up to 1 MiB.
    fn default() -> Self {
        Config {
            max_clients: 256,
            max_clients_per_uid: 32,
            max_requests_per_uid: 8,
            max_response_bytes: 64 << 20,
            response_budget_bytes: 256 << 20,
            response_window: Duration::from_secs(60),
            max_streams: 512,
            max_streams_per_uid: 16,
            idle_timeout: Duration::from_secs(60),
            send_timeout: Duration::from_secs(5),
            log_level: LogLevel::Info,
        }
    }
}

impl Config {
    pub(super) fn limits(&self) -> Limits {
        Limits {
            max_clients: self.max_clients,
            clients_per_uid: self.max_clients_per_uid,
            requests_per_uid: self.max_requests_per_uid,
            max_response: self.max_response_bytes,
            response_budget: self.response_budget_bytes,
            budget_window: self.response_window,
            max_streams: self.max_streams,
            streams_per_uid: self.max_streams_per_uid,
        }
    }

    /// Refuses limits that cannot work together.
    pub fn check(&self) -> Result<()> {
        if self.response_budget_bytes < super::quota::pinned(self.max_response_bytes, 0) {
            return Err(Error::invalid(format!(
                "the response budget ({} bytes) is smaller than the largest response ({} bytes): such a response could never be handed out",
                self.response_budget_bytes, self.max_response_bytes
            )));
        }
        if self.response_window.is_zero() {
            return Err(Error::invalid("the response window must be longer than 0"));
        }
        Ok(())
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
    if let Err(e) = cfg.check() {
        if let Some(path) = created {
            let _ = std::fs::remove_file(path);
        }
        return Err(e);
    }
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
    cfg.check()?;
    if let Some(fd) = super::listener::from_systemd()? {
        return serve(fd, cfg); // systemd owns the socket file
    }
    let path = path.ok_or_else(|| Error::invalid("no socket path given and no socket passed by systemd (LISTEN_FDS)"))?;
    let fd = super::listener::bind_path(path, mode, gid)?;
    serve_and_clean(fd, cfg, Some(path.to_path_buf()))
}

/// The lowest fd number the fd-limit headroom starts at: connections whose fd
/// lands there are refused, so requests on the connections already served
/// still find the few fds each needs (pidfd, namespace links, the memfd).
fn fd_headroom_start() -> u64 {
    let mut lim = nix::libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes one struct rlimit.
    match unsafe { nix::libc::getrlimit(nix::libc::RLIMIT_NOFILE, &mut lim) } {
        0 => lim.rlim_cur.saturating_sub((lim.rlim_cur / 16).max(32)),
        _ => u64::MAX,
    }
}

/// A spare fd, closed to make room to accept (and refuse) a client when the
/// fd table is full, so that client hears `EAGAIN` at once instead of waiting.
fn spare_fd() -> Option<OwnedFd> {
    nix::fcntl::open("/dev/null", nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty()).ok()
}

/// Tells a client it is not served, and closes the connection.
fn refuse(conn: OwnedFd, e: &Error) {
    // A new connection's queue is empty: this one small reply never blocks.
    let _ = send_reply(&conn, &Reply::error(e), None);
}

fn too_busy(why: &str) -> Error {
    Error::Os { op: why.into(), errno: Errno::EAGAIN as i32 }
}

/// Waits `d` unless the broker is stopped meanwhile (then `true`).
fn pause(stop: &OwnedFd, d: Duration) -> bool {
    let mut fds = [PollFd::new(stop.as_fd(), PollFlags::POLLIN)];
    let ms = u16::try_from(d.as_millis()).unwrap_or(u16::MAX);
    matches!(poll(&mut fds, PollTimeout::from(ms)), Ok(n) if n > 0)
}

fn accept_loop(listener: OwnedFd, stop: OwnedFd, cfg: Config, active: Arc<AtomicUsize>) {
    // Streams started by this broker end when it stops (the pipe hangs up).
    let stop = Arc::new(stop);
    let streams_stop = StopSignal::new(stop.clone());
    let cfg = Arc::new(cfg);
    let quotas = Quotas::new(cfg.limits(), active);
    let logs = Arc::new(Logs::new());
    log(
        &cfg,
        LogLevel::Info,
        format_args!(
            "serving (max {} clients, {} per uid, {} requests in flight per uid; responses up to {} bytes, {} bytes per uid per {} s)",
            cfg.max_clients,
            cfg.max_clients_per_uid,
            cfg.max_requests_per_uid,
            cfg.max_response_bytes,
            cfg.response_budget_bytes,
            cfg.response_window.as_secs()
        ),
    );
    // Non-blocking, so an accept after poll never waits for a client that gave up.
    let nonblocking = nix::fcntl::fcntl(listener.as_fd(), nix::fcntl::FcntlArg::F_GETFL)
        .map(|f| nix::fcntl::OFlag::from_bits_truncate(f) | nix::fcntl::OFlag::O_NONBLOCK)
        .and_then(|f| nix::fcntl::fcntl(listener.as_fd(), nix::fcntl::FcntlArg::F_SETFL(f)));
    if let Err(e) = nonblocking {
        log(&cfg, LogLevel::Error, format_args!("O_NONBLOCK on the listening socket: {e}"));
        return;
    }
    let mut spare = spare_fd();
    // After an accept error that leaves the client waiting: back off, 10 ms doubling to 1 s.
    let mut backoff = Duration::ZERO;
    loop {
        if !backoff.is_zero() && pause(&stop, backoff) {
            log(&cfg, LogLevel::Info, format_args!("stopping"));
            return;
        }
        let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN), PollFd::new(stop.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::NONE) {
            Err(Errno::EINTR) => continue,
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
        if fds[0].revents().is_some_and(|r| r.intersects(PollFlags::POLLERR | PollFlags::POLLHUP | PollFlags::POLLNVAL)) {
            log(&cfg, LogLevel::Error, format_args!("the listening socket failed; stopping"));
            return;
        }
        let conn = match accept4(listener.as_raw_fd(), SockFlag::SOCK_CLOEXEC) {
            // SAFETY: accept4 returned a new fd that nothing else owns.
            Ok(fd) => unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) },
            Err(Errno::EINTR | Errno::EAGAIN | Errno::ECONNABORTED) => continue,
            Err(e @ (Errno::EMFILE | Errno::ENFILE)) => {
                // The fd table is full: give up the spare fd for a moment to take
                // the waiting client and tell it so, rather than leave it hanging
                // (and the listener readable, which would spin this loop).
                let refused = spare.take().is_some()
                    && match accept4(listener.as_raw_fd(), SockFlag::SOCK_CLOEXEC) {
                        Ok(fd) => {
                            // SAFETY: as above.
                            refuse(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) }, &too_busy("the broker is out of file descriptors"));
                            true
                        }
                        Err(_) => false,
                    };
                spare = spare_fd();
                log_throttled(&cfg, &logs.accept, LogLevel::Warn, format_args!("accept: {e}: refusing clients until fds are free"));
                if !refused || spare.is_none() {
                    backoff = (backoff * 2).clamp(Duration::from_millis(10), Duration::from_secs(1));
                }
                continue;
            }
            Err(e) => {
                log_throttled(&cfg, &logs.accept, LogLevel::Warn, format_args!("accept: {e}"));
                backoff = (backoff * 2).clamp(Duration::from_millis(10), Duration::from_secs(1));
                continue;
            }
        };
        backoff = Duration::ZERO;
        if spare.is_none() {
            spare = spare_fd();
        }
        if conn.as_raw_fd() as u64 >= fd_headroom_start() {
            log_throttled(&cfg, &logs.refused, LogLevel::Warn, format_args!("refused a client: near the fd limit (fd {})", conn.as_raw_fd()));
            refuse(conn, &too_busy("the broker is near its file descriptor limit"));
            continue;
        }
        // The uid the kernel recorded at connect(): what every per-uid quota counts.
        let uid = match getsockopt(&conn, sockopt::PeerCredentials) {
            Ok(c) => c.uid(),
            Err(e) => {
                refuse(conn, &Error::os("SO_PEERCRED", e));
                continue;
            }
        };
        let slot = match quotas.connect(uid, Instant::now()) {
            Ok(s) => s,
            Err(e) => {
                log_throttled(&cfg, &logs.refused, LogLevel::Warn, format_args!("refused a client of uid {uid}: {e}"));
                refuse(conn, &e);
                continue;
            }
        };
        // Shared with the thread, so a thread that cannot start still lets us answer.
        let conn = Arc::new(conn);
        let (cfg2, quotas2, logs2, conn2, stop2) = (cfg.clone(), quotas.clone(), logs.clone(), conn.clone(), streams_stop.clone());
        let spawned = std::thread::Builder::new().name("ikc-broker-conn".into()).spawn(move || {
            serve_connection(conn2, &cfg2, slot, &quotas2, &logs2, stop2);
        });
        if let Err(e) = spawned {
            log_throttled(&cfg, &logs.failed, LogLevel::Error, format_args!("cannot start a connection thread: {e}"));
            if let Ok(conn) = Arc::try_unwrap(conn) {
                refuse(conn, &too_busy("the broker cannot start a thread for this connection"));
            }
        }
    }
}


//! Node classes over the core broker: `Broker` (the daemon, on its own thread),
//! `BrokerConnection` (a client), and `runSandboxed`. Conversions only.

use std::os::fd::{AsRawFd, IntoRawFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::{AsyncTask, Buffer};
use napi::{Env, Task};
use napi_derive::napi;

use ikc_core::broker::{BrokerHandle, Client, Config, LogLevel, Stopper};

use crate::convert::{gather_iov, to_js_error, Code};

/// How to start a broker. Unset fields take the core's defaults.
#[napi(object)]
pub struct BrokerOptions {
    /// Where to bind; ignored when systemd passed a socket (LISTEN_FDS).
    pub socket_path: Option<String>,
    /// File mode of the socket (default 0o660).
    pub mode: Option<u32>,
    /// Group owning the socket.
    pub gid: Option<u32>,
    pub max_clients: Option<u32>,
    /// Connections one uid may hold (root is not limited per uid).
    pub max_clients_per_uid: Option<u32>,
    /// Requests one uid may have in flight.
    pub max_requests_per_uid: Option<u32>,
    /// The largest response handed out, in bytes (EMSGSIZE beyond).
    pub max_response_bytes: Option<i64>,
    /// Response bytes one uid is handed per `responseWindowMs` (ENOBUFS beyond).
    pub response_budget_bytes: Option<i64>,
    pub response_window_ms: Option<u32>,
    pub idle_timeout_ms: Option<u32>,
    /// 'error' | 'warn' | 'info' | 'debug'
    pub log_level: Option<String>,
}

fn config(o: &BrokerOptions) -> Result<Config, ikc_core::Error> {
    let d = Config::default();
    let log_level = match o.log_level.as_deref() {
        None => d.log_level,
        Some(s) => LogLevel::parse(s).ok_or_else(|| ikc_core::Error::invalid(format!("unknown log level '{s}' (error, warn, info, debug)")))?,
    };
    let bytes = |v: Option<i64>, default: u64, what: &str| match v {
        None => Ok(default),
        Some(n) => u64::try_from(n).map_err(|_| ikc_core::Error::invalid(format!("{what} must not be negative"))),
    };
    Ok(Config {
        max_clients: o.max_clients.map(|n| n as usize).unwrap_or(d.max_clients),
        max_clients_per_uid: o.max_clients_per_uid.map(|n| n as usize).unwrap_or(d.max_clients_per_uid),
        max_requests_per_uid: o.max_requests_per_uid.map(|n| n as usize).unwrap_or(d.max_requests_per_uid),
        max_response_bytes: bytes(o.max_response_bytes, d.max_response_bytes, "maxResponseBytes")?,
        response_budget_bytes: bytes(o.response_budget_bytes, d.response_budget_bytes, "responseBudgetBytes")?,
        response_window: o.response_window_ms.map(|ms| Duration::from_millis(ms as u64)).unwrap_or(d.response_window),
        idle_timeout: o.idle_timeout_ms.map(|ms| Duration::from_millis(ms as u64)).unwrap_or(d.idle_timeout),
        log_level,
        ..d
    })
}

/// A running broker.
#[napi]
pub struct Broker {
    stopper: Stopper,
    active: Arc<AtomicUsize>,
    handle: std::sync::Mutex<Option<BrokerHandle>>,
}

#[napi]
impl Broker {
    /// Binds (or takes systemd's socket) and starts serving on a thread of its own.
    #[napi(factory)]
    pub fn start(options: BrokerOptions) -> napi::Result<Broker, Code> {
        let cfg = config(&options).map_err(to_js_error)?;
        let path = options.socket_path.as_ref().map(PathBuf::from);
        let handle = ikc_core::broker::start(path.as_deref(), options.mode.unwrap_or(0o660), options.gid, cfg).map_err(to_js_error)?;
        Ok(Broker { stopper: handle.stopper(), active: handle.active_counter(), handle: std::sync::Mutex::new(Some(handle)) })
    }

    /// Stops accepting; requests in progress finish.
    #[napi]
    pub fn stop(&self) {
        self.stopper.stop();
    }

    /// Connections being served now.
    #[napi(getter)]
    pub fn active_clients(&self) -> u32 {
        self.active.load(Ordering::SeqCst) as u32
    }

    /// Resolves when the broker has stopped (call once).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn closed(&self) -> AsyncTask<BrokerClosed> {
        AsyncTask::new(BrokerClosed { handle: self.handle.lock().ok().and_then(|mut h| h.take()) })
    }
}

pub struct BrokerClosed {
    handle: Option<BrokerHandle>,
}

impl Task for BrokerClosed {
    type Output = ();
    type JsValue = ();
    fn compute(&mut self) -> napi::Result<()> {
        if let Some(h) = self.handle.as_mut() {
            h.join();
        }
        Ok(())
    }
    fn resolve(&mut self, _env: Env, _: ()) -> napi::Result<()> {
        Ok(())
    }
}

/// A connection to a broker.
#[napi]
pub struct BrokerConnection {
    client: Option<Arc<Client>>,
}

fn closed() -> ikc_core::Error {
    ikc_core::Error::BadFd(-1)
}

#[napi]
impl BrokerConnection {
    #[napi(factory)]
    pub fn connect(path: String) -> napi::Result<BrokerConnection, Code> {
        let client = Client::connect(std::path::Path::new(&path)).map_err(to_js_error)?;
        Ok(BrokerConnection { client: Some(Arc::new(client)) })
    }

    /// Adopts an already connected socket (e.g. `IKC_BROKER_FD` in a sandbox); the fd is duplicated.
    #[napi(factory)]
    pub fn from_fd(fd: i32) -> napi::Result<BrokerConnection, Code> {
        match ikc_core::ns::NsSelector::from_raw(fd).map_err(to_js_error)? {
            ikc_core::ns::NsSelector::Fd(owned) => Ok(BrokerConnection { client: Some(Arc::new(Client::from_connected(owned))) }),
            _ => Err(to_js_error(ikc_core::Error::BadFd(fd))),
        }
    }

    /// The socket's fd number (to hand to a sandboxed child).
    #[napi(getter)]
    pub fn fd(&self) -> i32 {
        self.client.as_ref().map(|c| c.socket().as_raw_fd()).unwrap_or(-1)
    }

    #[napi]
    pub fn issue(&self, ns: i32, command: u32, iov: Vec<Buffer>, flags: Option<u32>) -> napi::Result<i32, Code> {
        let client = self.client.as_ref().ok_or_else(|| to_js_error(closed()))?;
        client.issue(ns, command, &gather_iov(&iov), flags.unwrap_or(0)).map(IntoRawFd::into_raw_fd).map_err(to_js_error)
    }

    #[napi(ts_return_type = "Promise<number>")]
    pub fn issue_async(&self, ns: i32, command: u32, iov: Vec<Buffer>, flags: Option<u32>) -> AsyncTask<BrokerIssue> {
        let request = iov.iter().map(|b| b.to_vec()).collect();
        // The fd is duplicated now, in the caller's turn, not on the worker thread.
        let ns = Some(ikc_core::ns::NsSelector::from_raw(ns));
        AsyncTask::new(BrokerIssue { client: self.client.clone(), ns, command, request, flags: flags.unwrap_or(0) })
    }

    #[napi]
    pub fn close(&mut self) {
        self.client = None;
    }
}

pub struct BrokerIssue {
    client: Option<Arc<Client>>,
    ns: Option<ikc_core::Result<ikc_core::ns::NsSelector>>,
    command: u32,
    request: Vec<Vec<u8>>,
    flags: u32,
}

impl Task for BrokerIssue {
    type Output = i32;
    type JsValue = i32;
    fn compute(&mut self) -> napi::Result<i32> {
        let client = self.client.as_ref().ok_or_else(|| napi::Error::from_reason(closed().to_string()))?;
        let parts: Vec<&[u8]> = self.request.iter().map(Vec::as_slice).collect();
        let ns = self.ns.take().unwrap_or_else(|| Err(ikc_core::Error::invalid("the task ran twice")));
        ns.and_then(|ns| client.issue_with(ns, self.command, &parts, self.flags))
            .map(IntoRawFd::into_raw_fd)
            .map_err(|e| napi::Error::from_reason(e.to_string()))
    }
    fn resolve(&mut self, _env: Env, fd: i32) -> napi::Result<i32> {
        Ok(fd)
    }
}

/// Runs `argv` under ikc's seccomp sandbox with `keepFd` inherited (as
/// `IKC_BROKER_FD`); resolves to its exit status (128 + signal if killed).
#[napi(ts_return_type = "Promise<number>")]
pub fn run_sandboxed(argv: Vec<String>, keep_fd: Option<i32>) -> AsyncTask<SandboxRun> {
    AsyncTask::new(SandboxRun { argv, keep_fd })
}

pub struct SandboxRun {
    argv: Vec<String>,
    keep_fd: Option<i32>,
}

impl Task for SandboxRun {
    type Output = i32;
    type JsValue = i32;
    fn compute(&mut self) -> napi::Result<i32> {
        ikc_core::sandbox::run(&self.argv, self.keep_fd).map_err(|e| napi::Error::from_reason(e.to_string()))
    }
    fn resolve(&mut self, _env: Env, status: i32) -> napi::Result<i32> {
        Ok(status)
    }
}

//! The Node.js binding of ikc-core: each function converts its arguments, calls
//! the core, and converts the result. Nothing here decides anything. Errors,
//! sync and async alike, are JavaScript errors with `.code` (the errno name) and
//! `.errno` (its number); see `convert.rs`.

// Under `cargo test` napi-derive registers nothing, so the exported functions look unused.
#![cfg_attr(test, allow(dead_code))]

mod convert;
mod types;

use std::os::fd::IntoRawFd;
use std::path::Path;
use std::sync::Arc;

use napi::bindgen_prelude::{AsyncTask, Buffer};
use napi::Env;
use napi_derive::napi;

use ikc_core::broker::{BrokerHandle, Connection, DEFAULT_SOCKET_MODE};

use convert::{call, CoreTask};
pub use types::{AttributeGroupInfo, Backend, BrokerOptions, CommandInfo, EventTypeInfo, EventsRequestOptions, LogLevel, NsType, ResponseKind};

/// `ns` sentinel: the caller's own pid namespace.
#[napi]
pub const CURRENT_PIDNS: i32 = ikc_core::ns::CURRENT_PIDNS;
/// `ns` sentinel: the caller's own network namespace.
#[napi]
pub const CURRENT_NETNS: i32 = ikc_core::ns::CURRENT_NETNS;
/// `ns` sentinel: the initial namespace of the command's type.
#[napi]
pub const GLOBAL: i32 = ikc_core::ns::GLOBAL;
/// The read-only bit of a command number.
#[napi]
pub const READ_ONLY: u32 = ikc_core::command::READ_ONLY;
/// `flags`: answer ALL/ALL_THREAD dumps from procfs only.
#[napi]
pub const FLAG_BACKEND_PROCFS: u32 = ikc_core::kernel_command::FLAG_BACKEND_PROCFS;
/// `flags`: answer ALL/ALL_THREAD dumps from the BPF task iterator.
#[napi]
pub const FLAG_BACKEND_BPF: u32 = ikc_core::kernel_command::FLAG_BACKEND_BPF;
/// The task_diag command number (read-only bit included).
#[napi]
pub const TASK_DIAG: u32 = ikc_core::command::TASK_DIAG;
/// The sock_diag command number: the sockets of a network namespace.
#[napi]
pub const SOCK_DIAG: u32 = ikc_core::command::SOCK_DIAG;
/// The link dump command number: the links of a network namespace, with statistics.
#[napi]
pub const LINK_DUMP: u32 = ikc_core::command::LINK_DUMP;
/// The address dump command number: the addresses of a network namespace.
#[napi]
pub const ADDR_DUMP: u32 = ikc_core::command::ADDR_DUMP;
/// `LINK_STATS`: the links' counters of a network namespace, every interval, on a stream.
#[napi]
pub const LINK_STATS: u32 = ikc_core::command::LINK_STATS;
/// `TASK_STATS`: a task_diag dump of a pid namespace, every interval, on a stream.
#[napi]
pub const TASK_STATS: u32 = ikc_core::command::TASK_STATS;

/// `PROC_EVENTS`: the process connector's events, filtered and shown as task_diag would, on a stream.
#[napi]
pub const PROC_EVENTS: u32 = ikc_core::command::PROC_EVENTS;
/// `nlmsg_type` of an event on a PROC_EVENTS stream (`struct proc_event`, then `struct ikc_proc_event_extra`).
#[napi]
pub const IKC_PROC_EVENT: u32 = ikc_core::events::IKC_PROC_EVENT as u32;

/// The backend ('procfs' or 'bpf') a task_diag dump issued now with `flags` would use.
#[napi]
pub fn backend_in_use(env: Env, flags: u32) -> napi::Result<Backend> {
    call(&env, || ikc_core::kernel_command::backend_in_use(flags).map(Backend::from))
}

/// Issues a command and returns the response fd (read-only, sealed, close-on-exec).
/// The caller owns the fd and must close it.
#[napi]
pub fn issue_kernel_command(env: Env, ns: i32, command: u32, iov: Vec<Buffer>, flags: Option<u32>) -> napi::Result<i32> {
    call(&env, || ikc_core::issue_kernel_command(ns, command, &convert::iov(&iov), flags.unwrap_or(0)).map(|fd| fd.into_raw_fd()))
}

/// The same call on the libuv thread pool; resolves to the response fd.
#[napi(ts_return_type = "Promise<number>")]
pub fn issue_kernel_command_async(ns: i32, command: u32, iov: Vec<Buffer>, flags: Option<u32>) -> AsyncTask<CoreTask<i32>> {
    let request: Vec<Vec<u8>> = iov.iter().map(|b| b.to_vec()).collect();
    let flags = flags.unwrap_or(0);
    // The fd is duplicated now, in the caller's turn, not on the worker thread.
    let mut ns = Some(ikc_core::ns::NsSelector::from_raw(ns));
    CoreTask::spawn(move || {
        convert::take_once(&mut ns)
            .and_then(|ns| ikc_core::issue_kernel_command_with(ns, command, &convert::iov(&request), flags))
            .map(|fd| fd.into_raw_fd())
    })
}

/// Encodes a task_diag request message (`nlmsghdr` + `struct task_diag_pid`).
#[napi]
pub fn encode_task_diag_request(env: Env, show: i64, strategy: i64, pid: u32, sequence: Option<u32>) -> napi::Result<Buffer> {
    call(&env, || ikc_core::task_diag::TaskDiagRequest::encode(show as u64, strategy as u64, pid, sequence.unwrap_or(0)).map(Buffer::from))
}

/// Encodes a SOCK_DIAG request for TCP or UDP sockets (`nlmsghdr` + `struct inet_diag_req_v2`).
#[napi]
pub fn encode_inet_diag_request(env: Env, family: u32, protocol: u32, states: u32, ext: Option<u32>, sequence: Option<u32>) -> napi::Result<Buffer> {
    call(&env, || ikc_core::net::encode_inet(family, protocol, states, ext.unwrap_or(0), sequence.unwrap_or(0)).map(Buffer::from))
}

/// Encodes a SOCK_DIAG request for UNIX sockets (`nlmsghdr` + `struct unix_diag_req`).
#[napi]
pub fn encode_unix_diag_request(env: Env, states: u32, show: u32, sequence: Option<u32>) -> napi::Result<Buffer> {
    call(&env, || ikc_core::net::encode_unix(states, show, sequence.unwrap_or(0)).map(Buffer::from))
}

/// Encodes a LINK_DUMP request (`nlmsghdr` RTM_GETLINK + `struct ifinfomsg`).
#[napi]
pub fn encode_link_dump_request(env: Env, sequence: Option<u32>) -> napi::Result<Buffer> {
    call(&env, || Ok(ikc_core::net::encode_link(sequence.unwrap_or(0)).into()))
}

/// Encodes a LINK_STATS request (`struct ikc_stats_request`): a snapshot every
/// `interval_ms` (100 ms to 1 h), `count` of them (0: until the stream is closed).
#[napi]
pub fn encode_link_stats_request(env: Env, interval_ms: u32, count: Option<i64>) -> napi::Result<Buffer> {
    call(&env, || {
        let count = u64::try_from(count.unwrap_or(0)).map_err(|_| ikc_core::Error::invalid("count must not be negative"))?;
        let req = ikc_core::stats::LinkStatsRequest { interval_ms, count };
        // Validated as the command will validate it, so a bad interval is EINVAL here already.
        ikc_core::stats::LinkStatsRequest::from_message(&req.to_message()).map(|r| Buffer::from(r.to_message()))
    })
}

/// Encodes a TASK_STATS request (`struct ikc_stats_request` with a task_diag
/// request's show bits, strategy and pid): that dump every `interval_ms`.
#[napi]
pub fn encode_task_stats_request(env: Env, interval_ms: u32, count: Option<i64>, show: i64, strategy: i64, pid: u32) -> napi::Result<Buffer> {
    call(&env, || {
        let count = u64::try_from(count.unwrap_or(0)).map_err(|_| ikc_core::Error::invalid("count must not be negative"))?;
        let (show, strategy) = match (u64::try_from(show), u64::try_from(strategy)) {
            (Ok(s), Ok(t)) => (s, t),
            _ => return Err(ikc_core::Error::invalid("show and strategy must not be negative")),
        };
        let task = ikc_core::task_diag::TaskDiagRequest::from_message(&ikc_core::task_diag::TaskDiagRequest::encode(show, strategy, pid, 0)?)?;
        let req = ikc_core::stats::TaskStatsRequest { interval_ms, count, task };
        ikc_core::stats::TaskStatsRequest::from_message(&req.to_message()).map(|r| Buffer::from(r.to_message()))
    })
}

/// Encodes a PROC_EVENTS request (`struct ikc_events_request`), validated as
/// the command validates it: an unknown event name, a negative count, too many
/// pids or a subtree without pids are EINVAL here already.
#[napi]
pub fn encode_events_request(env: Env, options: EventsRequestOptions) -> napi::Result<Buffer> {
    call(&env, || {
        use ikc_core::events::{EventsRequest, IKC_EVENTS_CMDLINE, IKC_EVENTS_SUBTREE};
        let count = u64::try_from(options.count.unwrap_or(0)).map_err(|_| ikc_core::Error::invalid("count must not be negative"))?;
        let mut flags = 0;
        if options.cmdline.unwrap_or(false) {
            flags |= IKC_EVENTS_CMDLINE;
        }
        if options.subtree.unwrap_or(false) {
            flags |= IKC_EVENTS_SUBTREE;
        }
        let names = options.types.unwrap_or_default();
        EventsRequest::from_names(&names, flags, count, options.pids.unwrap_or_default()).map(|r| Buffer::from(r.to_message()))
    })
}

/// The event types a PROC_EVENTS request can name, with their `PROC_EVENT_*` bits.
#[napi]
pub fn event_types() -> Vec<EventTypeInfo> {
    use ikc_core::events::EventType;
    EventType::ALL.into_iter().chain(std::iter::once(EventType::NonzeroExit)).map(|t| EventTypeInfo { name: t.name().into(), bit: t.bit() }).collect()
}

/// Encodes an ADDR_DUMP request (`nlmsghdr` RTM_GETADDR + `struct ifaddrmsg`); family 0, 2 or 10.
#[napi]
pub fn encode_addr_dump_request(env: Env, family: u32, sequence: Option<u32>) -> napi::Result<Buffer> {
    call(&env, || ikc_core::net::encode_addr(family, sequence.unwrap_or(0)).map(Buffer::from))
}

/// The command table.
#[napi]
pub fn commands() -> Vec<CommandInfo> {
    ikc_core::command::COMMANDS.iter().map(CommandInfo::from).collect()
}

/// The task_diag attribute groups, ordered by type: every show bit the uapi
/// header defines, whether ikc implements it, and which backends fill it.
#[napi]
pub fn attribute_groups() -> Vec<AttributeGroupInfo> {
    ikc_core::task_diag::groups().iter().map(AttributeGroupInfo::from).collect()
}

/// A running broker.
#[napi]
pub struct Broker(Arc<BrokerHandle>);

#[napi]
impl Broker {
    /// Binds (or takes systemd's socket) and starts serving on a thread of its own.
    #[napi(factory)]
    pub fn start(env: Env, options: BrokerOptions) -> napi::Result<Broker> {
        let path = options.socket_path.as_deref().map(Path::new);
        let mode = options.mode.unwrap_or(DEFAULT_SOCKET_MODE);
        call(&env, || ikc_core::broker::start(path, mode, options.gid, convert::broker_config(&options)?).map(|h| Broker(Arc::new(h))))
    }

    /// Stops accepting; requests in progress finish.
    #[napi]
    pub fn stop(&self) {
        self.0.stop();
    }

    /// Connections being served now.
    #[napi(getter)]
    pub fn active_clients(&self) -> u32 {
        self.0.active_clients() as u32
    }

    /// Resolves when the broker has stopped.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn closed(&self) -> AsyncTask<CoreTask<()>> {
        let handle = self.0.clone();
        CoreTask::spawn(move || {
            handle.join();
            Ok(())
        })
    }
}

/// A connection to a broker.
#[napi]
pub struct BrokerConnection(Connection);

#[napi]
impl BrokerConnection {
    #[napi(factory)]
    pub fn connect(env: Env, path: String) -> napi::Result<BrokerConnection> {
        call(&env, || Connection::connect(Path::new(&path)).map(BrokerConnection))
    }

    /// Adopts an already connected socket (e.g. `IKC_BROKER_FD` in a sandbox); the fd is duplicated.
    #[napi(factory)]
    pub fn from_fd(env: Env, fd: i32) -> napi::Result<BrokerConnection> {
        call(&env, || Connection::from_fd(fd).map(BrokerConnection))
    }

    /// The socket's fd number (to hand to a sandboxed child); -1 once closed.
    #[napi(getter)]
    pub fn fd(&self) -> i32 {
        self.0.fd()
    }

    #[napi]
    pub fn issue(&self, env: Env, ns: i32, command: u32, iov: Vec<Buffer>, flags: Option<u32>) -> napi::Result<i32> {
        call(&env, || self.0.issue(ns, command, &convert::iov(&iov), flags.unwrap_or(0)).map(IntoRawFd::into_raw_fd))
    }

    #[napi(ts_return_type = "Promise<number>")]
    pub fn issue_async(&self, ns: i32, command: u32, iov: Vec<Buffer>, flags: Option<u32>) -> AsyncTask<CoreTask<i32>> {
        let (conn, request, flags) = (self.0.clone(), iov.iter().map(|b| b.to_vec()).collect::<Vec<_>>(), flags.unwrap_or(0));
        // The fd is duplicated now, in the caller's turn, not on the worker thread.
        let mut ns = Some(ikc_core::ns::NsSelector::from_raw(ns));
        CoreTask::spawn(move || convert::take_once(&mut ns).and_then(|ns| conn.issue_with(ns, command, &convert::iov(&request), flags)).map(IntoRawFd::into_raw_fd))
    }

    /// Closes this handle; calls already in flight finish, later ones are EBADF.
    #[napi]
    pub fn close(&mut self) {
        self.0.close();
    }
}

/// Runs `argv` under ikc's seccomp sandbox with `keepFd` inherited (as
/// `IKC_BROKER_FD`); resolves to its exit status (128 + signal if killed).
#[napi(ts_return_type = "Promise<number>")]
pub fn run_sandboxed(argv: Vec<String>, keep_fd: Option<i32>) -> AsyncTask<CoreTask<i32>> {
    CoreTask::spawn(move || ikc_core::sandbox::run(&argv, keep_fd))
}

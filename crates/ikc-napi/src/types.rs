//! The JavaScript-facing objects of the binding: plain objects it returns or
//! takes, and string enums for every choice it exposes. Their conversions to and
//! from ikc-core values are in `convert.rs`.

use napi_derive::napi;

/// One row of the command table.
#[napi(object)]
pub struct CommandInfo {
    pub name: String,
    /// The number to pass as `command` (read-only bit included).
    pub id: u32,
    /// The namespace type the command needs.
    pub ns_type: NsType,
    pub read_only: bool,
    /// The kind of fd it answers with: a sealed snapshot, or a stream.
    pub response: ResponseKind,
}

/// The kind of fd a command answers with.
#[napi(string_enum = "lowercase")]
pub enum ResponseKind {
    /// A sealed memfd holding the whole answer: read it with `pread` from 0.
    Snapshot,
    /// A pipe that keeps delivering netlink messages until it ends.
    Stream,
}

/// One row of the task_diag attribute-group registry.
#[napi(object)]
pub struct AttributeGroupInfo {
    /// What the SDK and CLI call it (`"base"`, `"creds"`).
    pub name: String,
    /// Its name in the uapi header (`"TASK_DIAG_CRED"`).
    pub uapi_name: String,
    /// The header's number (`TASK_DIAG_*`): the `nla_type` of its attribute, if it has one.
    pub nla_type: u32,
    /// Its bit in `show_flags` (the flag is `1n << BigInt(showBit)`).
    pub show_bit: u32,
    /// Set for a show bit with no attribute of its own: the group whose records it changes.
    pub modifies: Option<String>,
    /// Whether ikc produces it (if not, asking for it is `EOPNOTSUPP`).
    pub implemented: bool,
    /// The backends that fill it (`"procfs"`, `"bpf"`).
    pub backends: Vec<Backend>,
}

/// The kind of namespace a command is scoped to.
#[napi(string_enum = "lowercase")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NsType {
    Pid,
    Net,
}

/// Where task_diag dumps read tasks: the caller's choice, or what `auto` resolved to.
#[napi(string_enum = "lowercase")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Auto,
    Procfs,
    Bpf,
}

/// How loud a broker is on stderr.
#[napi(string_enum = "lowercase")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
}

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
    /// Streams running at once in the broker (EAGAIN beyond).
    pub max_streams: Option<u32>,
    /// Streams one uid may have running (root is not limited per uid).
    pub max_streams_per_uid: Option<u32>,
    pub idle_timeout_ms: Option<u32>,
    pub log_level: Option<LogLevel>,
}

/// What a PROC_EVENTS request asks for (`struct ikc_events_request`).
#[napi(object)]
pub struct EventsRequestOptions {
    /// Event names ("fork", "exec", "exit", "uid", "gid", "sid", "comm",
    /// "ptrace", "coredump", "nonzero-exit"); none or empty: every type.
    pub types: Option<Vec<String>>,
    /// Follow only these processes (numbered in the command's pid namespace), at most 16.
    pub pids: Option<Vec<u32>>,
    /// The pids are roots: their descendants forked later are followed too.
    pub subtree: Option<bool>,
    /// Send each exec's command line with it.
    pub cmdline: Option<bool>,
    /// Events to deliver before the stream ends (0 or none: until closed).
    pub count: Option<i64>,
}

/// One event type a PROC_EVENTS request can name.
#[napi(object)]
pub struct EventTypeInfo {
    pub name: String,
    /// Its `PROC_EVENT_*` bit (`what` of `struct proc_event`).
    pub bit: u32,
}

//! Conversions between ikc-core values and napi values, and the one way a core
//! error becomes a JavaScript error, thrown (sync) or rejected (async) alike:
//! `.code` the errno name, `.errno` its number, `.message` what the core displays.

use std::time::Duration;

use napi::bindgen_prelude::{AsyncTask, JsObjectValue, Object, ToNapiValue, TypeName};
use napi::{Env, JsError, JsValue, Task};

use ikc_core::broker::Config;
use ikc_core::error::catch_panic;

use crate::types::{AttributeGroupInfo, Backend, BrokerOptions, CommandInfo, LogLevel, NsType, ResponseKind};

impl From<ikc_core::command::ResponseKind> for ResponseKind {
    fn from(k: ikc_core::command::ResponseKind) -> Self {
        match k {
            ikc_core::command::ResponseKind::Snapshot => ResponseKind::Snapshot,
            ikc_core::command::ResponseKind::Stream => ResponseKind::Stream,
        }
    }
}

/// The JavaScript error for a core error. napi-rs sets `.code` from the status
/// string of a `napi::Error<S>`; `.errno` is set on the object it creates, which
/// the returned error then carries by reference, so napi-rs throws or rejects
/// with that very object.
pub fn to_js_error(env: &Env, e: &ikc_core::Error) -> napi::Error {
    let error = JsError::from(napi::Error::new(e.code(), e.to_string())).into_unknown(*env);
    let with_errno = Object::from_raw(env.raw(), error.raw()).set_named_property("errno", e.errno());
    // Only a dying environment refuses the property; its error is then the one to report.
    with_errno.map_or_else(|failed| failed, |()| napi::Error::from(error))
}

/// A core call on the JavaScript thread: its value, or its error as `to_js_error` makes it.
/// A panic is the core's `EIO`, never an unwind through napi.
pub fn call<T>(env: &Env, f: impl FnOnce() -> ikc_core::Result<T>) -> napi::Result<T> {
    catch_panic(f).map_err(|e| to_js_error(env, &e))
}

/// A core call on the libuv thread pool. `Task::compute` can only fail with a
/// `napi::Status`, which has no room for an errno (napi-rs/napi-rs#2333), so the
/// core's `Result` is the task's output and `resolve`, back on the JavaScript
/// thread, converts it exactly as `call` does for the sync functions.
pub struct CoreTask<T>(Box<dyn FnMut() -> ikc_core::Result<T> + Send>);

impl<T: ToNapiValue + TypeName + Send + 'static> CoreTask<T> {
    pub fn spawn(f: impl FnMut() -> ikc_core::Result<T> + Send + 'static) -> AsyncTask<CoreTask<T>> {
        AsyncTask::new(CoreTask(Box::new(f)))
    }
}

impl<T: ToNapiValue + TypeName + Send + 'static> Task for CoreTask<T> {
    type Output = ikc_core::Result<T>;
    type JsValue = T;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        Ok(catch_panic(&mut self.0))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<T> {
        output.map_err(|e| to_js_error(&env, &e))
    }
}

/// The byte slices of a request given as several buffers.
pub fn iov<B: AsRef<[u8]>>(parts: &[B]) -> Vec<&[u8]> {
    parts.iter().map(AsRef::as_ref).collect()
}

impl From<&ikc_core::command::CommandSpec> for CommandInfo {
    fn from(c: &ikc_core::command::CommandSpec) -> Self {
        CommandInfo { name: c.name.to_string(), id: c.id(), ns_type: c.ns_type.into(), read_only: c.read_only, response: c.response.into() }
    }
}

impl From<&ikc_core::task_diag::GroupSpec> for AttributeGroupInfo {
    fn from(g: &ikc_core::task_diag::GroupSpec) -> Self {
        AttributeGroupInfo {
            name: g.name.to_string(),
            uapi_name: g.uapi_name.to_string(),
            nla_type: g.kind.into(),
            show_bit: g.kind.into(),
            modifies: g.modifies.and_then(ikc_core::task_diag::group_of_kind).map(|m| m.name.to_string()),
            implemented: g.implemented(),
            backends: g.backends.iter().map(|&b| b.into()).collect(),
        }
    }
}

impl From<ikc_core::NsType> for NsType {
    fn from(t: ikc_core::NsType) -> Self {
        match t {
            ikc_core::NsType::Pid => NsType::Pid,
            ikc_core::NsType::Net => NsType::Net,
        }
    }
}

impl From<ikc_core::backend::Backend> for Backend {
    fn from(b: ikc_core::backend::Backend) -> Self {
        match b {
            ikc_core::backend::Backend::Auto => Backend::Auto,
            ikc_core::backend::Backend::Procfs => Backend::Procfs,
            ikc_core::backend::Backend::Bpf => Backend::Bpf,
        }
    }
}

impl From<LogLevel> for ikc_core::broker::LogLevel {
    fn from(l: LogLevel) -> Self {
        match l {
            LogLevel::Error => ikc_core::broker::LogLevel::Error,
            LogLevel::Warn => ikc_core::broker::LogLevel::Warn,
            LogLevel::Info => ikc_core::broker::LogLevel::Info,
            LogLevel::Debug => ikc_core::broker::LogLevel::Debug,
        }
    }
}

/// The broker's configuration from JS options; a negative byte count is EINVAL.
pub fn broker_config(o: &BrokerOptions) -> ikc_core::Result<Config> {
    let d = Config::default();
    let bytes = |v: Option<i64>, default: u64, what: &str| match v {
        None => Ok(default),
        Some(n) => u64::try_from(n).map_err(|_| ikc_core::Error::invalid(format!("{what} must not be negative"))),
    };
    Ok(Config {
        max_clients: o.max_clients.map_or(d.max_clients, |n| n as usize),
        max_clients_per_uid: o.max_clients_per_uid.map_or(d.max_clients_per_uid, |n| n as usize),
        max_requests_per_uid: o.max_requests_per_uid.map_or(d.max_requests_per_uid, |n| n as usize),
        max_response_bytes: bytes(o.max_response_bytes, d.max_response_bytes, "maxResponseBytes")?,
        response_budget_bytes: bytes(o.response_budget_bytes, d.response_budget_bytes, "responseBudgetBytes")?,
        response_window: o.response_window_ms.map_or(d.response_window, |ms| Duration::from_millis(ms.into())),
        max_streams: o.max_streams.map_or(d.max_streams, |n| n as usize),
        max_streams_per_uid: o.max_streams_per_uid.map_or(d.max_streams_per_uid, |n| n as usize),
        idle_timeout: o.idle_timeout_ms.map_or(d.idle_timeout, |ms| Duration::from_millis(ms.into())),
        log_level: o.log_level.map_or(d.log_level, Into::into),
        ..d
    })
}

/// The value a task was built with, for its one run (`compute` runs once; a
/// second run is reported, never a panic).
pub fn take_once<T>(slot: &mut Option<ikc_core::Result<T>>) -> ikc_core::Result<T> {
    slot.take().unwrap_or_else(|| Err(ikc_core::Error::invalid("the task ran twice")))
}

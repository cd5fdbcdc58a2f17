//! The broker's log on stderr: a level, and lines rate-limited per kind of
//! trouble so that a flood of refusals costs a line per interval, not one each.

use std::time::{Duration, Instant};

use nix::errno::Errno;

use super::host::Config;
use super::throttle::Throttle;
use crate::error::Error;

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

pub fn log(cfg: &Config, level: LogLevel, msg: std::fmt::Arguments) {
    if level <= cfg.log_level {
        eprintln!("ikc-broker: {}: {msg}", format!("{level:?}").to_lowercase());
    }
}

/// How often a line of each kind of trouble may be logged.
const LOG_INTERVAL: Duration = Duration::from_secs(5);

/// The broker's rate-limited log lines, one throttle per kind of event.
pub struct Logs {
    pub accept: Throttle,
    pub refused: Throttle,
    pub failed: Throttle,
}

impl Logs {
    pub fn new() -> Logs {
        Logs { accept: Throttle::new(LOG_INTERVAL), refused: Throttle::new(LOG_INTERVAL), failed: Throttle::new(LOG_INTERVAL) }
    }
}

/// Logs `msg` at `level` if `throttle` lets a line through now, with the count
/// of lines it left out since the last one.
pub fn log_throttled(cfg: &Config, throttle: &Throttle, level: LogLevel, msg: std::fmt::Arguments) {
    if level > cfg.log_level {
        return;
    }
    match throttle.admit(Instant::now()) {
        Some(0) => log(cfg, level, msg),
        Some(n) => log(cfg, level, format_args!("{msg} (and {n} more like it in the last {} s)", LOG_INTERVAL.as_secs())),
        None => {}
    }
}

/// Errors a client's request causes by itself (a bad request, a process it may
/// not see, a sender that exited): debug. Anything else is the broker's own
/// trouble (fds, memory, the kernel) and worth a (rate-limited) warning.
pub fn caused_by_client(e: &Error) -> bool {
    matches!(e, Error::InvalidArgument(_) | Error::BadFd(_) | Error::PermissionDenied(_) | Error::NoSuchProcess(_) | Error::NotSupported(_))
        || matches!(Errno::from_raw(e.errno()), Errno::EMSGSIZE | Errno::ENOENT | Errno::EACCES | Errno::ESRCH)
}

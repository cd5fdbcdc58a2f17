//! The broker: a privileged daemon that answers `issue_kernel_command` for
//! clients that cannot (or must not) read /proc themselves, filtered to what the
//! kernel's own rules let each client see. Host and client are apart; the wire
//! protocol and the permission checks are shared, pure code.

pub mod client;
mod connection;
pub mod host;
pub mod listener;
mod log;
pub mod peer;
pub(crate) mod pidfd;
pub mod policy;
pub mod protocol;
pub mod quota;
pub(crate) mod throttle;
pub(crate) mod transport;

pub use client::{Client, Connection};
pub use host::{serve, start, BrokerHandle, Config, Stopper, DEFAULT_SOCKET_MODE};
pub use log::LogLevel;

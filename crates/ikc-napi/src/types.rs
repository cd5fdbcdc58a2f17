//! JavaScript-facing objects returned by the binding.

use napi_derive::napi;

/// One row of the command table.
#[napi(object)]
pub struct CommandInfo {
    pub name: String,
    /// The number to pass as `command` (read-only bit included).
    pub id: u32,
    /// `"pid"` or `"net"`: the namespace type the command needs.
    pub ns_type: String,
    pub read_only: bool,
}

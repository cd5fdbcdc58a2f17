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
    pub backends: Vec<String>,
}

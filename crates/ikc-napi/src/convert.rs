//! Conversions between ikc-core values and napi values.

use napi::bindgen_prelude::Buffer;

use crate::types::{AttributeGroupInfo, CommandInfo};

/// The errno name a thrown error carries as `err.code` (e.g. `"EINVAL"`).
#[derive(Debug, Clone, Copy)]
pub struct Code(pub &'static str);

impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        self.0
    }
}

/// A core error as a JavaScript error: `.code` is the errno name, the message
/// starts with it too (the async path can only carry the message).
pub fn to_js_error(e: ikc_core::Error) -> napi::Error<Code> {
    napi::Error::new(Code(e.code()), e.to_string())
}

pub fn gather_iov(iov: &[Buffer]) -> Vec<&[u8]> {
    iov.iter().map(|b| &b[..]).collect()
}

impl From<&ikc_core::command::CommandSpec> for CommandInfo {
    fn from(c: &ikc_core::command::CommandSpec) -> Self {
        CommandInfo { name: c.name.to_string(), id: c.id(), ns_type: c.ns_type.name().to_string(), read_only: c.read_only }
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
            backends: g.backends.iter().map(|b| b.name().to_string()).collect(),
        }
    }
}

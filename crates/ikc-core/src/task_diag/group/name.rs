//! The NAME group (`TASK_DIAG_IKC_NAME`, type 34, an ikc extension): a task's
//! whole name as `/proc/PID/comm` and `ps` give it, with no NUL. BASE's `comm`
//! keeps 15 bytes, which cuts the names kernel threads and workqueue workers
//! have (`kworker/0:0H-kblockd`, up to 63 bytes); for every other task the two agree.

use super::{AttributeGroup, GroupSpec, TaskAttribute, EVERY_BACKEND};
use crate::backend::procfs::Wants;
use crate::netlink::Emitable;
use crate::task::TaskInfo;
use crate::task_diag::{ShowFlags, TaskDiagMessage, TaskDiagRequest};
use crate::wire::DecodeError;

/// Its `nla_type`, in ikc's range.
pub const TASK_DIAG_IKC_NAME: u16 = 34;
const _: () = assert!(crate::task_diag::TASK_DIAG_IKC_FIRST <= TASK_DIAG_IKC_NAME && TASK_DIAG_IKC_NAME <= crate::task_diag::TASK_DIAG_IKC_LAST);

/// The name's bytes (not always UTF-8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameBytes(pub Vec<u8>);

impl Emitable for NameBytes {
    fn buffer_len(&self) -> usize {
        self.0.len()
    }
    fn emit(&self, b: &mut [u8]) {
        b.copy_from_slice(&self.0);
    }
}

/// The NAME group.
pub struct Name;

impl AttributeGroup for Name {
    const SPEC: GroupSpec = GroupSpec { name: "name", uapi_name: "TASK_DIAG_IKC_NAME", kind: TASK_DIAG_IKC_NAME, modifies: None, backends: EVERY_BACKEND };
    type Value = NameBytes;

    fn of_task(task: &TaskInfo, _: &TaskDiagRequest) -> Option<NameBytes> {
        task.extra.as_ref()?.name.clone().map(NameBytes)
    }

    fn parse(payload: &[u8]) -> Result<NameBytes, DecodeError> {
        Ok(NameBytes(payload.to_vec()))
    }

    fn wants(wants: &mut Wants) {
        wants.name = true;
    }
}

impl ShowFlags {
    /// `TASK_DIAG_SHOW_IKC_NAME`.
    pub const IKC_NAME: ShowFlags = Name::SPEC.show();
}

impl TaskDiagMessage {
    /// The message's NAME attribute, if it has one.
    pub fn name(&self) -> Option<&[u8]> {
        self.attributes.iter().find_map(|a| match a {
            TaskAttribute::Name(n) => Some(&n.0[..]),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task_diag::{parse_response, Strategy};

    /// This process's name through the whole call, against /proc/self/comm
    /// (kernel threads' long names are checked from JS against `ps`).
    #[test]
    fn the_name_is_what_comm_says() {
        let me = std::process::id();
        let request = TaskDiagRequest { show: ShowFlags::BASE | Name::SPEC.show(), strategy: Strategy::One, pid: me, sequence: 1 }.to_message();
        let fd = crate::issue_kernel_command(crate::CURRENT_PIDNS, crate::TASK_DIAG, &[&request], 0).expect("dump");
        let tasks = parse_response(&fd.read_all().expect("read")).expect("parses");
        let comm = std::fs::read("/proc/self/comm").expect("comm");
        assert_eq!(tasks[0].name(), Some(comm.strip_suffix(b"\n").unwrap_or(&comm)));
    }
}

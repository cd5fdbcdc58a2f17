//! The BASE group: `struct task_diag_base` (attribute `TASK_DIAG_BASE`), a
//! task's ids, state and comm.

use super::{AttributeGroup, GroupSpec, TaskAttribute, EVERY_BACKEND};
use crate::netlink::{Emitable, Parseable};
use crate::task::{Comm, TaskBase, TaskInfo};
use crate::task_diag::{ShowFlags, TaskDiagMessage, TaskDiagRequest};
use crate::wire::{buffer, DecodeError};

/// Its `nla_type`; the show flag is `1 << TASK_DIAG_BASE`.
pub const TASK_DIAG_BASE: u16 = 0;

/// `sizeof(struct task_diag_base)`: 41 bytes of fields, padded to 4-byte alignment.
pub const TASK_DIAG_BASE_LEN: usize = 44;
/// Where the fields end and the struct's padding starts.
const FIELDS_END: usize = 41;

buffer!(
    /// A checked view of a `task_diag_base` payload. The kernel's struct is
    /// 44 bytes; the fields end at 41, which is all a reader needs.
    TaskBaseBuffer("task_diag_base", FIELDS_END) {
        tgid, set_tgid: (u32, 0..4),
        pid, set_pid: (u32, 4..8),
        ppid, set_ppid: (u32, 8..12),
        tpid, set_tpid: (u32, 12..16),
        sid, set_sid: (u32, 16..20),
        pgid, set_pgid: (u32, 20..24),
        state, set_state: (u8, 24..25),
        comm, set_comm: ([u8; 16], 25..FIELDS_END),
    }
);

/// The BASE group.
pub struct Base;

impl AttributeGroup for Base {
    const SPEC: GroupSpec = GroupSpec { name: "base", uapi_name: "TASK_DIAG_BASE", kind: TASK_DIAG_BASE, modifies: None, backends: EVERY_BACKEND };
    type Value = TaskBase;

    fn of_task(task: &TaskInfo, _: &TaskDiagRequest) -> Option<TaskBase> {
        Some(task.base)
    }

    fn parse(payload: &[u8]) -> Result<TaskBase, DecodeError> {
        TaskBase::parse(&TaskBaseBuffer::new_checked(payload)?)
    }
}

impl ShowFlags {
    /// `TASK_DIAG_SHOW_BASE`.
    pub const BASE: ShowFlags = Base::SPEC.show();
}

impl TaskDiagMessage {
    /// The message's BASE attribute, if it has one.
    pub fn base(&self) -> Option<&TaskBase> {
        self.attributes.iter().find_map(|a| match a {
            TaskAttribute::Base(b) => Some(b),
            _ => None,
        })
    }
}

impl<T: AsRef<[u8]>> Parseable<TaskBaseBuffer<T>> for TaskBase {
    fn parse(buf: &TaskBaseBuffer<T>) -> Result<Self, DecodeError> {
        Ok(TaskBase {
            tgid: buf.tgid(),
            pid: buf.pid(),
            ppid: buf.ppid(),
            tpid: buf.tpid(),
            sid: buf.sid(),
            pgid: buf.pgid(),
            state: buf.state(),
            comm: Comm(buf.comm()),
        })
    }
}

impl Emitable for TaskBase {
    fn buffer_len(&self) -> usize {
        TASK_DIAG_BASE_LEN
    }
    fn emit(&self, b: &mut [u8]) {
        b[FIELDS_END..TASK_DIAG_BASE_LEN].fill(0);
        let mut buf = TaskBaseBuffer::new_unchecked(b);
        buf.set_tgid(self.tgid);
        buf.set_pid(self.pid);
        buf.set_ppid(self.ppid);
        buf.set_tpid(self.tpid);
        buf.set_sid(self.sid);
        buf.set_pgid(self.pgid);
        buf.set_state(self.state);
        buf.set_comm(self.comm.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TaskBase {
        TaskBase { tgid: 100, pid: 101, ppid: 1, tpid: 0, sid: 100, pgid: 100, state: 1, comm: Comm::from_bytes(b"sleep") }
    }

    fn sample_bytes() -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&100u32.to_ne_bytes()); // tgid
        v.extend_from_slice(&101u32.to_ne_bytes()); // pid
        v.extend_from_slice(&1u32.to_ne_bytes()); // ppid
        v.extend_from_slice(&0u32.to_ne_bytes()); // tpid
        v.extend_from_slice(&100u32.to_ne_bytes()); // sid
        v.extend_from_slice(&100u32.to_ne_bytes()); // pgid
        v.push(1); // state = TASK_DIAG_INTERRUPTIBLE
        v.extend_from_slice(b"sleep\0\0\0\0\0\0\0\0\0\0\0"); // comm[16]
        v.extend_from_slice(&[0, 0, 0]); // struct padding
        v
    }

    #[test]
    fn emit_base() {
        let mut out = Vec::new();
        sample().emit_to_vec(&mut out);
        assert_eq!(out, sample_bytes());
    }

    #[test]
    fn parse_base() {
        let bytes = sample_bytes();
        let parsed = TaskBase::parse(&TaskBaseBuffer::new_checked(&bytes[..]).expect("long enough")).expect("valid");
        assert_eq!(parsed, sample());
    }

    #[test]
    fn short_base_is_refused() {
        assert!(TaskBaseBuffer::new_checked(&sample_bytes()[..40]).is_err());
    }
}

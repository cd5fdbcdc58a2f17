//! One task's response message: `nlmsghdr` (type `TASK_DIAG_CMD_GET`,
//! `NLM_F_MULTI`), `struct task_diag_msg { u32 pid, tgid, flags; }`, then one
//! attribute per group asked for. Also the reader of a whole response stream.

use super::{TaskAttribute, TASK_DIAG_CMD_GET};
use crate::error::Result;
use crate::netlink::{align4, emit_attribute, Emitable};
use crate::netlink::{NetlinkHeader, NetlinkHeaderBuffer, NlaIterator, NLMSG_DONE, NLMSG_ERROR, NLMSG_HEADER_LEN, NLM_F_MULTI};
use crate::wire::{buffer, DecodeError};

/// `sizeof(struct task_diag_msg)`.
pub const TASK_DIAG_MSG_LEN: usize = 12;

buffer!(
    /// A checked view of `struct task_diag_msg`, the fixed part of a task message.
    TaskDiagMsgBuffer("task_diag_msg", TASK_DIAG_MSG_LEN) {
        pid, set_pid: (u32, 0..4),
        tgid, set_tgid: (u32, 4..8),
        flags, set_flags: (u32, 8..12),
    }
);

/// The owned form of one per-task message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TaskDiagMessage {
    pub pid: u32,
    pub tgid: u32,
    pub flags: u32,
    pub attributes: Vec<TaskAttribute>,
}

impl TaskDiagMessage {
    /// Appends the whole netlink message (header included) to `out`;
    /// `EMSGSIZE` (and `out` as it was) if an attribute is too long for `nla_len`.
    pub fn emit_message(&self, sequence: u32, out: &mut Vec<u8>) -> Result<()> {
        let start = out.len();
        out.resize(start + NLMSG_HEADER_LEN + TASK_DIAG_MSG_LEN, 0);
        {
            let mut msg = TaskDiagMsgBuffer::new_unchecked(&mut out[start + NLMSG_HEADER_LEN..]);
            msg.set_pid(self.pid);
            msg.set_tgid(self.tgid);
            msg.set_flags(self.flags);
        }
        for attr in &self.attributes {
            if let Err(e) = emit_attribute(out, attr.kind(), attr.value_len(), |p| attr.emit_value(p)) {
                out.truncate(start);
                return Err(e);
            }
        }
        let header = NetlinkHeader {
            length: (out.len() - start) as u32,
            message_type: TASK_DIAG_CMD_GET,
            flags: NLM_F_MULTI,
            sequence,
            port: 0,
        };
        header.emit(&mut out[start..start + NLMSG_HEADER_LEN]);
        Ok(())
    }

    /// Reads the payload of a `TASK_DIAG_CMD_GET` message (what follows `nlmsghdr`).
    pub fn parse_payload(payload: &[u8]) -> std::result::Result<TaskDiagMessage, DecodeError> {
        let buf = TaskDiagMsgBuffer::new_checked(payload)?;
        let mut msg = TaskDiagMessage { pid: buf.pid(), tgid: buf.tgid(), flags: buf.flags(), attributes: Vec::new() };
        for nla in NlaIterator::new(&payload[TASK_DIAG_MSG_LEN..]) {
            let nla = nla?;
            msg.attributes.push(TaskAttribute::parse(nla.kind(), nla.value())?);
        }
        Ok(msg)
    }
}

/// Reads a whole task_diag response: task messages up to `NLMSG_DONE`.
/// A response without `NLMSG_DONE`, or with an `NLMSG_ERROR`, is an error.
pub fn parse_response(mut bytes: &[u8]) -> std::result::Result<Vec<TaskDiagMessage>, DecodeError> {
    let mut tasks = Vec::new();
    while !bytes.is_empty() {
        let buf = NetlinkHeaderBuffer::new_checked(bytes)?;
        match buf.message_type() {
            NLMSG_DONE => return Ok(tasks),
            NLMSG_ERROR => return Err(DecodeError("response carries NLMSG_ERROR".into())),
            TASK_DIAG_CMD_GET => tasks.push(TaskDiagMessage::parse_payload(buf.payload())?),
            other => return Err(DecodeError(format!("unexpected nlmsg_type {other:#x}"))),
        }
        let step = align4(buf.length() as usize).min(bytes.len());
        bytes = &bytes[step..];
    }
    Err(DecodeError("response ends without NLMSG_DONE".into()))
}

#[cfg(test)]
mod tests {
    use super::super::TASK_DIAG_BASE_LEN;
    use super::*;
    use crate::netlink::{emit_done, NLA_HEADER_LEN};
    use crate::task::{Comm, TaskBase, TaskCreds};

    fn task() -> TaskDiagMessage {
        TaskDiagMessage {
            pid: 5,
            tgid: 5,
            flags: 0,
            attributes: vec![TaskAttribute::Base(TaskBase {
                tgid: 5,
                pid: 5,
                ppid: 1,
                tpid: 0,
                sid: 5,
                pgid: 5,
                state: 0,
                comm: Comm::from_bytes(b"init"),
            })],
        }
    }

    #[test]
    fn emit_message_layout() {
        let mut out = Vec::new();
        task().emit_message(3, &mut out).expect("emits");
        assert_eq!(out.len(), NLMSG_HEADER_LEN + TASK_DIAG_MSG_LEN + align4(NLA_HEADER_LEN + TASK_DIAG_BASE_LEN));
        let mut expect = Vec::new();
        expect.extend_from_slice(&76u32.to_ne_bytes()); // nlmsg_len = 16 + 12 + 48
        expect.extend_from_slice(&0xd101u16.to_ne_bytes()); // nlmsg_type
        expect.extend_from_slice(&2u16.to_ne_bytes()); // NLM_F_MULTI
        expect.extend_from_slice(&3u32.to_ne_bytes()); // nlmsg_seq
        expect.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_pid
        for v in [5u32, 5, 0] {
            expect.extend_from_slice(&v.to_ne_bytes()); // task_diag_msg pid, tgid, flags
        }
        expect.extend_from_slice(&48u16.to_ne_bytes()); // nla_len = 4 + 44
        expect.extend_from_slice(&0u16.to_ne_bytes()); // nla_type = TASK_DIAG_BASE
        assert_eq!(&out[..expect.len()], &expect[..]);
    }

    #[test]
    fn response_round_trip() {
        let mut t2 = task();
        t2.pid = 6;
        t2.attributes.push(TaskAttribute::Creds(TaskCreds { uid: 7, ..Default::default() }));
        t2.attributes.push(TaskAttribute::Other(42, vec![1, 2, 3]));
        let mut out = Vec::new();
        task().emit_message(1, &mut out).expect("emits");
        t2.emit_message(1, &mut out).expect("emits");
        emit_done(&mut out, 1);
        assert_eq!(parse_response(&out).expect("valid"), vec![task(), t2]);
    }

    #[test]
    fn missing_done_and_garbage_are_errors() {
        let mut out = Vec::new();
        task().emit_message(1, &mut out).expect("emits");
        assert!(parse_response(&out).is_err());
        assert!(parse_response(&out[..out.len() - 1]).is_err());
        let mut bad_attr = out.clone();
        bad_attr[NLMSG_HEADER_LEN + TASK_DIAG_MSG_LEN] = 200; // nla_len beyond the message
        emit_done(&mut bad_attr, 1);
        assert!(parse_response(&bad_attr).is_err());
    }
}

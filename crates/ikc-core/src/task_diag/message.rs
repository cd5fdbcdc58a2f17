//! One task's response message: `nlmsghdr` (type `TASK_DIAG_CMD_GET`,
//! `NLM_F_MULTI`), `struct task_diag_msg { u32 pid, tgid, flags; }`, then one
//! attribute per group asked for. Also the reader of a whole response stream.

use super::{TaskAttribute, TASK_DIAG_CMD_GET, TASK_DIAG_FLAG_CONT};
use crate::error::{Error, Result};
use crate::netlink::{align4, emit_attribute, Emitable};
use crate::netlink::{NetlinkHeader, NetlinkHeaderBuffer, NlaIterator, NLA_HEADER_LEN, NLMSG_DONE, NLMSG_ERROR, NLMSG_HEADER_LEN, NLM_F_MULTI};
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

/// The largest task message ikc writes. The kernel's task_diag answers into
/// a buffer of at most this many bytes (`task_diag_read` allocates
/// `min(len, 16384)`), so no message of ikc's is larger than one the kernel
/// could write, and a reader sized for the kernel's messages reads ikc's.
pub const MAX_TASK_MESSAGE_LEN: usize = 16384;

impl TaskDiagMessage {
    /// Appends the task as one netlink message (header included), however
    /// long; `EMSGSIZE` (and `out` as it was) if an attribute is too long for `nla_len`.
    pub fn emit_message(&self, sequence: u32, out: &mut Vec<u8>) -> Result<()> {
        self.emit_messages(sequence, u32::MAX as usize, out)
    }

    /// Appends the task as messages of at most `limit` bytes, as the kernel's
    /// `task_diag_fill` does when its buffer fills: the attributes in order,
    /// and when the next one does not fit, the message ends with
    /// `TASK_DIAG_FLAG_CONT` set and the next message (the same pid and tgid)
    /// continues with it; the last message has the task's own flags. An
    /// attribute that does not fit even a message of its own is `EMSGSIZE`,
    /// the kernel's answer too, and `out` is left as it was.
    pub fn emit_messages(&self, sequence: u32, limit: usize, out: &mut Vec<u8>) -> Result<()> {
        let start = out.len();
        let emitted = self.emit_within(sequence, limit, out);
        if emitted.is_err() {
            out.truncate(start);
        }
        emitted
    }

    fn emit_within(&self, sequence: u32, limit: usize, out: &mut Vec<u8>) -> Result<()> {
        let mut message = self.start_message(out);
        let mut carried = 0;
        for attr in &self.attributes {
            let len = align4(NLA_HEADER_LEN + attr.value_len());
            if carried > 0 && out.len() - message + len > limit {
                self.finish_message(out, message, sequence, TASK_DIAG_FLAG_CONT)?;
                (message, carried) = (self.start_message(out), 0);
            }
            if out.len() - message + len > limit {
                return Err(Error::too_large(format!(
                    "task {}: attribute {} of {} bytes does not fit a message of {limit} bytes",
                    self.pid,
                    attr.kind(),
                    attr.value_len()
                )));
            }
            emit_attribute(out, attr.kind(), attr.value_len(), |p| attr.emit_value(p))?;
            carried += 1;
        }
        self.finish_message(out, message, sequence, 0)
    }

    /// Appends the headers of a message of this task; returns where it starts.
    fn start_message(&self, out: &mut Vec<u8>) -> usize {
        let start = out.len();
        out.resize(start + NLMSG_HEADER_LEN + TASK_DIAG_MSG_LEN, 0);
        let mut msg = TaskDiagMsgBuffer::new_unchecked(&mut out[start + NLMSG_HEADER_LEN..]);
        msg.set_pid(self.pid);
        msg.set_tgid(self.tgid);
        start
    }

    /// Fills in the headers of the message at `start`, which ends at the end of `out`.
    fn finish_message(&self, out: &mut [u8], start: usize, sequence: u32, more_flags: u32) -> Result<()> {
        let length = u32::try_from(out.len() - start).map_err(|_| Error::too_large(format!("task {}: a message over 4 GiB", self.pid)))?;
        TaskDiagMsgBuffer::new_unchecked(&mut out[start + NLMSG_HEADER_LEN..]).set_flags(self.flags | more_flags);
        let header = NetlinkHeader { length, message_type: TASK_DIAG_CMD_GET, flags: NLM_F_MULTI, sequence, port: 0 };
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

/// Reads a whole task_diag response: task messages up to `NLMSG_DONE`, one
/// per task: a message flagged `TASK_DIAG_FLAG_CONT` and the messages that
/// continue it (the same pid and tgid) are read as one, with the last one's
/// flags. A response without `NLMSG_DONE`, with an `NLMSG_ERROR`, or whose
/// continued task does not continue, is an error.
pub fn parse_response(mut bytes: &[u8]) -> std::result::Result<Vec<TaskDiagMessage>, DecodeError> {
    let mut tasks: Vec<TaskDiagMessage> = Vec::new();
    let continued = |tasks: &[TaskDiagMessage]| tasks.last().filter(|t| t.flags & TASK_DIAG_FLAG_CONT != 0).map(|t| t.pid);
    while !bytes.is_empty() {
        let buf = NetlinkHeaderBuffer::new_checked(bytes)?;
        match buf.message_type() {
            NLMSG_DONE => match continued(&tasks) {
                Some(pid) => return Err(DecodeError(format!("response ends while task {pid} continues"))),
                None => return Ok(tasks),
            },
            NLMSG_ERROR => return Err(DecodeError("response carries NLMSG_ERROR".into())),
            TASK_DIAG_CMD_GET => {
                let msg = TaskDiagMessage::parse_payload(buf.payload())?;
                match (continued(&tasks), tasks.last_mut()) {
                    (Some(_), Some(task)) if (task.pid, task.tgid) == (msg.pid, msg.tgid) => {
                        task.flags = msg.flags;
                        task.attributes.extend(msg.attributes);
                    }
                    (Some(pid), _) => return Err(DecodeError(format!("task {pid} continues in a message of task {}", msg.pid))),
                    (None, _) => tasks.push(msg),
                }
            }
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
    use crate::netlink::emit_done;
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

    /// The headers of one task message: `nlmsghdr` and `task_diag_msg`.
    fn headers(nlmsg_len: u32, sequence: u32, pid: u32, flags: u32) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&nlmsg_len.to_ne_bytes()); // nlmsg_len
        v.extend_from_slice(&0xd101u16.to_ne_bytes()); // nlmsg_type = TASK_DIAG_CMD_GET
        v.extend_from_slice(&2u16.to_ne_bytes()); // nlmsg_flags = NLM_F_MULTI
        v.extend_from_slice(&sequence.to_ne_bytes()); // nlmsg_seq
        v.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_pid
        for v2 in [pid, pid, flags] {
            v.extend_from_slice(&v2.to_ne_bytes()); // task_diag_msg pid, tgid, flags
        }
        v
    }

    fn attribute(attr: &TaskAttribute) -> Vec<u8> {
        let mut v = Vec::new();
        emit_attribute(&mut v, attr.kind(), attr.value_len(), |p| attr.emit_value(p)).expect("fits");
        v
    }

    #[test]
    fn a_task_too_long_for_one_message_continues_in_the_next() {
        let mut t = task();
        t.attributes.push(TaskAttribute::Creds(TaskCreds { uid: 7, ..Default::default() }));
        // 100 bytes: the headers (28) and BASE (48) fit, CRED (68) does not.
        let mut out = Vec::new();
        t.emit_messages(4, 100, &mut out).expect("each attribute fits a message of its own");
        let mut expect = headers(76, 4, 5, TASK_DIAG_FLAG_CONT); // nlmsg_len = 28 + 48; continued
        expect.extend(attribute(&t.attributes[0])); // TASK_DIAG_BASE
        expect.extend(headers(96, 4, 5, 0)); // nlmsg_len = 28 + 68; the task's own flags
        expect.extend(attribute(&t.attributes[1])); // TASK_DIAG_CRED
        assert_eq!(out, expect);
        emit_done(&mut out, 4);
        assert_eq!(parse_response(&out), Ok(vec![t.clone()]), "read back as one task");
        // With room for both it is one message, as emit_message writes it.
        let (mut fits, mut one) = (Vec::new(), Vec::new());
        t.emit_messages(4, 144, &mut fits).expect("fits");
        t.emit_message(4, &mut one).expect("fits");
        assert_eq!((fits.len(), &fits), (144, &one));
    }

    #[test]
    fn an_attribute_that_fits_no_message_is_emsgsize() {
        let mut out = vec![1, 2, 3];
        let err = task().emit_messages(4, 75, &mut out).expect_err("28 + 48 bytes do not fit 75");
        assert_eq!(err.code(), "EMSGSIZE");
        assert_eq!(out, [1, 2, 3], "nothing appended");
    }

    #[test]
    fn a_continued_task_must_continue() {
        let mut cont = task();
        cont.flags = TASK_DIAG_FLAG_CONT;
        let mut ends = Vec::new();
        cont.emit_message(1, &mut ends).expect("emits");
        emit_done(&mut ends, 1);
        assert!(parse_response(&ends).is_err(), "NLMSG_DONE while task 5 continues");
        let mut other = Vec::new();
        cont.emit_message(1, &mut other).expect("emits");
        TaskDiagMessage { pid: 6, tgid: 6, ..task() }.emit_message(1, &mut other).expect("emits");
        emit_done(&mut other, 1);
        assert!(parse_response(&other).is_err(), "task 5 continued by task 6");
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

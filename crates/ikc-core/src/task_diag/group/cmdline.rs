//! The CMDLINE group (`TASK_DIAG_IKC_CMDLINE`, type 33, an ikc extension): a
//! process's argument vector, complete, as `/proc/PID/cmdline` gives it (each
//! argument NUL-terminated; a process that rewrote its arguments may leave
//! other bytes). Empty for kernel threads and zombies. One that does not fit
//! a message continues in the next (`TASK_DIAG_FLAG_CONT`) as more CMDLINE
//! attributes, which a reader joins in order.
//!
//! This is where secrets passed in argv live: it is shown under the same rule
//! as every other group (a task the caller may not see is never in a dump).

use super::{AttributeGroup, GroupSpec, TaskAttribute, MAX_PIECE};
use crate::backend::procfs::Wants;
use crate::backend::Backend;
use crate::netlink::Emitable;
use crate::task::TaskInfo;
use crate::task_diag::{ShowFlags, TaskDiagMessage, TaskDiagRequest};
use crate::wire::DecodeError;

/// Its `nla_type`, in ikc's range.
pub const TASK_DIAG_IKC_CMDLINE: u16 = 33;
const _: () = assert!(crate::task_diag::TASK_DIAG_IKC_FIRST <= TASK_DIAG_IKC_CMDLINE && TASK_DIAG_IKC_CMDLINE <= crate::task_diag::TASK_DIAG_IKC_LAST);

/// One CMDLINE attribute: the argument bytes, or a piece of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdlineBytes(pub Vec<u8>);

impl Emitable for CmdlineBytes {
    fn buffer_len(&self) -> usize {
        self.0.len()
    }
    fn emit(&self, b: &mut [u8]) {
        b.copy_from_slice(&self.0);
    }
}

/// The CMDLINE group.
pub struct Cmdline;

impl AttributeGroup for Cmdline {
    const SPEC: GroupSpec =
        GroupSpec { name: "cmdline", uapi_name: "TASK_DIAG_IKC_CMDLINE", kind: TASK_DIAG_IKC_CMDLINE, modifies: None, backends: &[Backend::Procfs] };
    type Value = CmdlineBytes;

    fn of_task(task: &TaskInfo, _: &TaskDiagRequest) -> Option<CmdlineBytes> {
        task.extra.as_ref()?.cmdline.clone().map(CmdlineBytes)
    }

    fn parse(payload: &[u8]) -> Result<CmdlineBytes, DecodeError> {
        Ok(CmdlineBytes(payload.to_vec()))
    }

    fn wants(wants: &mut Wants) {
        wants.cmdline = true;
    }

    /// Pieces of `MAX_PIECE` bytes, so each fits a message of its own.
    fn push_pieces(value: CmdlineBytes, out: &mut Vec<TaskAttribute>, wrap: fn(CmdlineBytes) -> TaskAttribute) {
        if value.0.len() <= MAX_PIECE {
            return out.push(wrap(value));
        }
        out.extend(value.0.chunks(MAX_PIECE).map(|piece| wrap(CmdlineBytes(piece.to_vec()))));
    }
}

impl ShowFlags {
    /// `TASK_DIAG_SHOW_IKC_CMDLINE`.
    pub const IKC_CMDLINE: ShowFlags = Cmdline::SPEC.show();
}

impl TaskDiagMessage {
    /// The task's whole argument bytes (its CMDLINE attributes joined), if it has any.
    pub fn cmdline(&self) -> Option<Vec<u8>> {
        let mut pieces = self.attributes.iter().filter_map(|a| match a {
            TaskAttribute::Cmdline(c) => Some(&c.0[..]),
            _ => None,
        });
        let first = pieces.next()?;
        Some(pieces.fold(first.to_vec(), |mut all, p| {
            all.extend_from_slice(p);
            all
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task_diag::{parse_response, TASK_DIAG_FLAG_CONT};

    #[test]
    fn long_argv_continues_in_pieces_that_join_back() {
        let argv: Vec<u8> = (0..40_000u32).map(|i| if i % 100 == 99 { 0 } else { b'a' + (i % 26) as u8 }).collect();
        let mut out = Vec::new();
        Cmdline::push_pieces(CmdlineBytes(argv.clone()), &mut out, TaskAttribute::Cmdline);
        assert_eq!(out.iter().map(TaskAttribute::value_len).collect::<Vec<_>>(), [MAX_PIECE, MAX_PIECE, 40_000 - 2 * MAX_PIECE]);
        let msg = TaskDiagMessage { pid: 7, tgid: 7, flags: 0, attributes: out };
        let mut bytes = Vec::new();
        msg.emit_messages(1, crate::task_diag::MAX_TASK_MESSAGE_LEN, &mut bytes).expect("each piece fits a message");
        crate::netlink::emit_done(&mut bytes, 1);
        let flags: Vec<u32> = bytes.chunks(4).skip(6).take(1).map(|f| u32::from_ne_bytes(f.try_into().expect("4"))).collect();
        assert_eq!(flags, [TASK_DIAG_FLAG_CONT], "the first message continues");
        let tasks = parse_response(&bytes).expect("parses");
        assert_eq!(tasks.len(), 1);
        assert_eq!(tasks[0].cmdline(), Some(argv));
    }

    #[test]
    fn empty_argv_is_an_empty_attribute() {
        let mut out = Vec::new();
        Cmdline::push_pieces(CmdlineBytes(Vec::new()), &mut out, TaskAttribute::Cmdline);
        assert_eq!(out, [TaskAttribute::Cmdline(CmdlineBytes(Vec::new()))]);
    }
}

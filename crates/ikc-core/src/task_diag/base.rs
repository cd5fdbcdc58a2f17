//! `struct task_diag_base` (attribute `TASK_DIAG_BASE`): ids, state and comm.

use crate::netlink::{DecodeError, Emitable, Parseable};
use crate::netlink::{check_len, get_u32, put_u32, Field};
use crate::task::{Comm, TaskBase};

const TGID: Field = 0..4;
const PID: Field = 4..8;
const PPID: Field = 8..12;
const TPID: Field = 12..16;
const SID: Field = 16..20;
const PGID: Field = 20..24;
const STATE: usize = 24;
const COMM: Field = 25..41;
/// `sizeof(struct task_diag_base)`: 41 bytes of fields, padded to 4-byte alignment.
pub const TASK_DIAG_BASE_LEN: usize = 44;

/// A checked view of a `task_diag_base` payload.
pub struct TaskBaseBuffer<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> TaskBaseBuffer<T> {
    pub fn new_checked(buffer: T) -> Result<Self, DecodeError> {
        // The kernel's struct is 44 bytes; the fields end at 41.
        check_len("task_diag_base", buffer.as_ref().len(), COMM.end)?;
        Ok(TaskBaseBuffer { buffer })
    }
}

impl<T: AsRef<[u8]>> Parseable<TaskBaseBuffer<T>> for TaskBase {
    fn parse(buf: &TaskBaseBuffer<T>) -> Result<Self, DecodeError> {
        let b = buf.buffer.as_ref();
        let mut comm = [0u8; 16];
        comm.copy_from_slice(&b[COMM]);
        Ok(TaskBase {
            tgid: get_u32(b, TGID),
            pid: get_u32(b, PID),
            ppid: get_u32(b, PPID),
            tpid: get_u32(b, TPID),
            sid: get_u32(b, SID),
            pgid: get_u32(b, PGID),
            state: b[STATE],
            comm: Comm(comm),
        })
    }
}

impl Emitable for TaskBase {
    fn buffer_len(&self) -> usize {
        TASK_DIAG_BASE_LEN
    }
    fn emit(&self, b: &mut [u8]) {
        put_u32(b, TGID, self.tgid);
        put_u32(b, PID, self.pid);
        put_u32(b, PPID, self.ppid);
        put_u32(b, TPID, self.tpid);
        put_u32(b, SID, self.sid);
        put_u32(b, PGID, self.pgid);
        b[STATE] = self.state;
        b[COMM].copy_from_slice(&self.comm.0);
        b[COMM.end..TASK_DIAG_BASE_LEN].fill(0);
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

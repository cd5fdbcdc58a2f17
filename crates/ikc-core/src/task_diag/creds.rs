//! `struct task_diag_creds` (attribute `TASK_DIAG_CRED`): capability sets, each
//! two u32 words (`_LINUX_CAPABILITY_U32S_3`), then the eight uids and gids.

use crate::netlink::{check_len, get_u32, put_u32, Field};
use crate::netlink::{DecodeError, Emitable, Parseable};
use crate::task::TaskCreds;

const CAP_INHERITABLE: usize = 0;
const CAP_PERMITTED: usize = 8;
const CAP_EFFECTIVE: usize = 16;
const CAP_BSET: usize = 24;
const UID: Field = 32..36;
const EUID: Field = 36..40;
const SUID: Field = 40..44;
const FSUID: Field = 44..48;
const GID: Field = 48..52;
const EGID: Field = 52..56;
const SGID: Field = 56..60;
const FSGID: Field = 60..64;
/// `sizeof(struct task_diag_creds)`.
pub const TASK_DIAG_CREDS_LEN: usize = FSGID.end;

/// A checked view of a `task_diag_creds` payload.
pub struct TaskCredsBuffer<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> TaskCredsBuffer<T> {
    pub fn new_checked(buffer: T) -> Result<Self, DecodeError> {
        check_len("task_diag_creds", buffer.as_ref().len(), TASK_DIAG_CREDS_LEN)?;
        Ok(TaskCredsBuffer { buffer })
    }
}

/// `struct task_diag_caps { __u32 cap[2]; }`: word 0 holds capabilities 0..31.
fn get_caps(b: &[u8], at: usize) -> u64 {
    let lo = get_u32(b, at..at + 4) as u64;
    let hi = get_u32(b, at + 4..at + 8) as u64;
    lo | (hi << 32)
}

fn put_caps(b: &mut [u8], at: usize, caps: u64) {
    put_u32(b, at..at + 4, caps as u32);
    put_u32(b, at + 4..at + 8, (caps >> 32) as u32);
}

impl<T: AsRef<[u8]>> Parseable<TaskCredsBuffer<T>> for TaskCreds {
    fn parse(buf: &TaskCredsBuffer<T>) -> Result<Self, DecodeError> {
        let b = buf.buffer.as_ref();
        Ok(TaskCreds {
            cap_inheritable: get_caps(b, CAP_INHERITABLE),
            cap_permitted: get_caps(b, CAP_PERMITTED),
            cap_effective: get_caps(b, CAP_EFFECTIVE),
            cap_bset: get_caps(b, CAP_BSET),
            uid: get_u32(b, UID),
            euid: get_u32(b, EUID),
            suid: get_u32(b, SUID),
            fsuid: get_u32(b, FSUID),
            gid: get_u32(b, GID),
            egid: get_u32(b, EGID),
            sgid: get_u32(b, SGID),
            fsgid: get_u32(b, FSGID),
        })
    }
}

impl Emitable for TaskCreds {
    fn buffer_len(&self) -> usize {
        TASK_DIAG_CREDS_LEN
    }
    fn emit(&self, b: &mut [u8]) {
        put_caps(b, CAP_INHERITABLE, self.cap_inheritable);
        put_caps(b, CAP_PERMITTED, self.cap_permitted);
        put_caps(b, CAP_EFFECTIVE, self.cap_effective);
        put_caps(b, CAP_BSET, self.cap_bset);
        put_u32(b, UID, self.uid);
        put_u32(b, EUID, self.euid);
        put_u32(b, SUID, self.suid);
        put_u32(b, FSUID, self.fsuid);
        put_u32(b, GID, self.gid);
        put_u32(b, EGID, self.egid);
        put_u32(b, SGID, self.sgid);
        put_u32(b, FSGID, self.fsgid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TaskCreds {
        TaskCreds {
            cap_inheritable: 0,
            cap_permitted: 0x1_ffff_ffff,
            cap_effective: 0x1_ffff_ffff,
            cap_bset: 0x1ff_ffff_ffff,
            uid: 1000,
            euid: 1001,
            suid: 1002,
            fsuid: 1003,
            gid: 100,
            egid: 101,
            sgid: 102,
            fsgid: 103,
        }
    }

    fn sample_bytes() -> Vec<u8> {
        let mut v = Vec::new();
        let words = |v: &mut Vec<u8>, lo: u32, hi: u32| {
            v.extend_from_slice(&lo.to_ne_bytes());
            v.extend_from_slice(&hi.to_ne_bytes());
        };
        words(&mut v, 0, 0); // cap_inheritable.cap[0..2]
        words(&mut v, 0xffff_ffff, 1); // cap_permitted
        words(&mut v, 0xffff_ffff, 1); // cap_effective
        words(&mut v, 0xffff_ffff, 0x1ff); // cap_bset
        for id in [1000u32, 1001, 1002, 1003, 100, 101, 102, 103] {
            v.extend_from_slice(&id.to_ne_bytes()); // uid euid suid fsuid gid egid sgid fsgid
        }
        v
    }

    #[test]
    fn emit_creds() {
        let mut out = Vec::new();
        sample().emit_to_vec(&mut out);
        assert_eq!(out, sample_bytes());
    }

    #[test]
    fn parse_creds() {
        let bytes = sample_bytes();
        let buf = TaskCredsBuffer::new_checked(&bytes[..]).expect("long enough");
        assert_eq!(TaskCreds::parse(&buf).expect("valid"), sample());
    }

    #[test]
    fn short_creds_are_refused() {
        assert!(TaskCredsBuffer::new_checked(&sample_bytes()[..63]).is_err());
    }
}

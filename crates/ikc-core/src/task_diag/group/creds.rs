//! The CRED group: `struct task_diag_creds` (attribute `TASK_DIAG_CRED`): capability sets, each
//! two u32 words (`_LINUX_CAPABILITY_U32S_3`), then the eight uids and gids.

use super::{AttributeGroup, GroupSpec, TaskAttribute, EVERY_BACKEND};
use crate::netlink::{Emitable, Parseable};
use crate::task::{TaskCreds, TaskInfo};
use crate::task_diag::{ShowFlags, TaskDiagMessage, TaskDiagRequest};
use crate::wire::{buffer, DecodeError, Scalar};

/// Its `nla_type`; the show flag is `1 << TASK_DIAG_CRED`.
pub const TASK_DIAG_CRED: u16 = 1;

/// `sizeof(struct task_diag_creds)`.
pub const TASK_DIAG_CREDS_LEN: usize = 64;

/// `struct task_diag_caps { __u32 cap[2]; }`: word 0 holds capabilities 0..31,
/// word 1 capabilities 32..63, read and written as one 64-bit mask.
pub enum CapWords {}

impl Scalar for CapWords {
    type Value = u64;
    fn get(b: &[u8]) -> u64 {
        u64::from(u32::get(&b[0..4])) | (u64::from(u32::get(&b[4..8])) << 32)
    }
    fn put(b: &mut [u8], caps: u64) {
        u32::put(&mut b[0..4], caps as u32);
        u32::put(&mut b[4..8], (caps >> 32) as u32);
    }
}

buffer!(
    /// A checked view of a `task_diag_creds` payload.
    TaskCredsBuffer("task_diag_creds", TASK_DIAG_CREDS_LEN) {
        cap_inheritable, set_cap_inheritable: (CapWords, 0..8),
        cap_permitted, set_cap_permitted: (CapWords, 8..16),
        cap_effective, set_cap_effective: (CapWords, 16..24),
        cap_bset, set_cap_bset: (CapWords, 24..32),
        uid, set_uid: (u32, 32..36),
        euid, set_euid: (u32, 36..40),
        suid, set_suid: (u32, 40..44),
        fsuid, set_fsuid: (u32, 44..48),
        gid, set_gid: (u32, 48..52),
        egid, set_egid: (u32, 52..56),
        sgid, set_sgid: (u32, 56..60),
        fsgid, set_fsgid: (u32, 60..64),
    }
);

/// The CRED group.
pub struct Creds;

impl AttributeGroup for Creds {
    const SPEC: GroupSpec = GroupSpec { name: "creds", uapi_name: "TASK_DIAG_CRED", kind: TASK_DIAG_CRED, modifies: None, backends: EVERY_BACKEND };
    type Value = TaskCreds;

    fn of_task(task: &TaskInfo, _: &TaskDiagRequest) -> Option<TaskCreds> {
        Some(task.creds)
    }

    fn parse(payload: &[u8]) -> Result<TaskCreds, DecodeError> {
        TaskCreds::parse(&TaskCredsBuffer::new_checked(payload)?)
    }
}

impl ShowFlags {
    /// `TASK_DIAG_SHOW_CRED`.
    pub const CRED: ShowFlags = Creds::SPEC.show();
}

impl TaskDiagMessage {
    /// The message's CRED attribute, if it has one.
    pub fn creds(&self) -> Option<&TaskCreds> {
        self.attributes.iter().find_map(|a| match a {
            TaskAttribute::Creds(c) => Some(c),
            _ => None,
        })
    }
}

impl<T: AsRef<[u8]>> Parseable<TaskCredsBuffer<T>> for TaskCreds {
    fn parse(buf: &TaskCredsBuffer<T>) -> Result<Self, DecodeError> {
        Ok(TaskCreds {
            cap_inheritable: buf.cap_inheritable(),
            cap_permitted: buf.cap_permitted(),
            cap_effective: buf.cap_effective(),
            cap_bset: buf.cap_bset(),
            uid: buf.uid(),
            euid: buf.euid(),
            suid: buf.suid(),
            fsuid: buf.fsuid(),
            gid: buf.gid(),
            egid: buf.egid(),
            sgid: buf.sgid(),
            fsgid: buf.fsgid(),
        })
    }
}

impl Emitable for TaskCreds {
    fn buffer_len(&self) -> usize {
        TASK_DIAG_CREDS_LEN
    }
    fn emit(&self, b: &mut [u8]) {
        let mut buf = TaskCredsBuffer::new_unchecked(b);
        buf.set_cap_inheritable(self.cap_inheritable);
        buf.set_cap_permitted(self.cap_permitted);
        buf.set_cap_effective(self.cap_effective);
        buf.set_cap_bset(self.cap_bset);
        buf.set_uid(self.uid);
        buf.set_euid(self.euid);
        buf.set_suid(self.suid);
        buf.set_fsuid(self.fsuid);
        buf.set_gid(self.gid);
        buf.set_egid(self.egid);
        buf.set_sgid(self.sgid);
        buf.set_fsgid(self.fsgid);
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

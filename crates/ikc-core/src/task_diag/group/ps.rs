//! The PS group (`TASK_DIAG_IKC_PS`, type 32, an ikc extension): what `ps`
//! reads of a task that the reference header's STAT lacks, as `struct
//! task_diag_ikc_ps` (include/ikc/task_diag.h): the start time (nanoseconds
//! since boot, which with the pid names a process no pid reuse repeats), the
//! memory sizes, `task->flags`, the terminal and its foreground group, and the
//! scheduling numbers. The procfs backend reads them from `stat`.

use super::{AttributeGroup, GroupSpec, TaskAttribute, EVERY_BACKEND};
use crate::backend::procfs::Wants;
use crate::netlink::{Emitable, Parseable};
use crate::task::{TaskInfo, TaskPs};
use crate::task_diag::{ShowFlags, TaskDiagMessage, TaskDiagRequest};
use crate::wire::{buffer, DecodeError};

/// Its `nla_type`, in ikc's range.
pub const TASK_DIAG_IKC_PS: u16 = 32;
const _: () = assert!(crate::task_diag::TASK_DIAG_IKC_FIRST <= TASK_DIAG_IKC_PS && TASK_DIAG_IKC_PS <= crate::task_diag::TASK_DIAG_IKC_LAST);

/// `sizeof(struct task_diag_ikc_ps)`.
pub const TASK_DIAG_IKC_PS_LEN: usize = 64;

buffer!(
    /// A checked view of a `task_diag_ikc_ps` payload.
    TaskPsBuffer("task_diag_ikc_ps", TASK_DIAG_IKC_PS_LEN) {
        start_time, set_start_time: (u64, 0..8),
        vsize, set_vsize: (u64, 8..16),
        rss, set_rss: (u64, 16..24),
        locked, set_locked: (u64, 24..32),
        flags, set_flags: (u32, 32..36),
        tty_nr, set_tty_nr: (u32, 36..40),
        tpgid, set_tpgid: (u32, 40..44),
        nice, set_nice: (i32, 44..48),
        priority, set_priority: (i32, 48..52),
        policy, set_policy: (u32, 52..56),
        rt_priority, set_rt_priority: (u32, 56..60),
        processor, set_processor: (u32, 60..64),
    }
);

/// The PS group.
pub struct Ps;

impl AttributeGroup for Ps {
    const SPEC: GroupSpec = GroupSpec { name: "ps", uapi_name: "TASK_DIAG_IKC_PS", kind: TASK_DIAG_IKC_PS, modifies: None, backends: EVERY_BACKEND };
    type Value = TaskPs;

    fn of_task(task: &TaskInfo, _: &TaskDiagRequest) -> Option<TaskPs> {
        task.extra.as_ref()?.ps
    }

    fn parse(payload: &[u8]) -> Result<TaskPs, DecodeError> {
        TaskPs::parse(&TaskPsBuffer::new_checked(payload)?)
    }

    fn wants(wants: &mut Wants) {
        wants.stat = true;
    }
}

impl ShowFlags {
    /// `TASK_DIAG_SHOW_IKC_PS`.
    pub const IKC_PS: ShowFlags = Ps::SPEC.show();
}

impl TaskDiagMessage {
    /// The message's PS attribute, if it has one.
    pub fn ps(&self) -> Option<&TaskPs> {
        self.attributes.iter().find_map(|a| match a {
            TaskAttribute::Ps(p) => Some(p),
            _ => None,
        })
    }
}

impl<T: AsRef<[u8]>> Parseable<TaskPsBuffer<T>> for TaskPs {
    fn parse(buf: &TaskPsBuffer<T>) -> Result<Self, DecodeError> {
        Ok(TaskPs {
            start_time: buf.start_time(),
            vsize: buf.vsize(),
            rss: buf.rss(),
            locked: buf.locked(),
            flags: buf.flags(),
            tty_nr: buf.tty_nr(),
            tpgid: buf.tpgid(),
            nice: buf.nice(),
            priority: buf.priority(),
            policy: buf.policy(),
            rt_priority: buf.rt_priority(),
            processor: buf.processor(),
        })
    }
}

impl Emitable for TaskPs {
    fn buffer_len(&self) -> usize {
        TASK_DIAG_IKC_PS_LEN
    }
    fn emit(&self, b: &mut [u8]) {
        let mut buf = TaskPsBuffer::new_unchecked(b);
        buf.set_start_time(self.start_time);
        buf.set_vsize(self.vsize);
        buf.set_rss(self.rss);
        buf.set_locked(self.locked);
        buf.set_flags(self.flags);
        buf.set_tty_nr(self.tty_nr);
        buf.set_tpgid(self.tpgid);
        buf.set_nice(self.nice);
        buf.set_priority(self.priority);
        buf.set_policy(self.policy);
        buf.set_rt_priority(self.rt_priority);
        buf.set_processor(self.processor);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TaskPs {
        TaskPs {
            start_time: 50_000_000_000,
            vsize: 8_192_000,
            rss: 1_228_800,
            locked: 8192,
            flags: 0x400100,
            tty_nr: 34817,
            tpgid: 4321,
            nice: -5,
            priority: 15,
            policy: 0,
            rt_priority: 0,
            processor: 1,
        }
    }

    fn sample_bytes() -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&50_000_000_000u64.to_ne_bytes()); // start_time, ns since boot
        v.extend_from_slice(&8_192_000u64.to_ne_bytes()); // vsize, bytes
        v.extend_from_slice(&1_228_800u64.to_ne_bytes()); // rss, bytes
        v.extend_from_slice(&8192u64.to_ne_bytes()); // locked, bytes
        v.extend_from_slice(&0x400100u32.to_ne_bytes()); // flags (PF_*)
        v.extend_from_slice(&34817u32.to_ne_bytes()); // tty_nr: pts/1 (136, 1)
        v.extend_from_slice(&4321u32.to_ne_bytes()); // tpgid
        v.extend_from_slice(&(-5i32).to_ne_bytes()); // nice
        v.extend_from_slice(&15i32.to_ne_bytes()); // priority
        v.extend_from_slice(&0u32.to_ne_bytes()); // policy = SCHED_OTHER
        v.extend_from_slice(&0u32.to_ne_bytes()); // rt_priority
        v.extend_from_slice(&1u32.to_ne_bytes()); // processor
        v
    }

    #[test]
    fn emit_ps() {
        let mut out = Vec::new();
        sample().emit_to_vec(&mut out);
        assert_eq!(out, sample_bytes());
    }

    #[test]
    fn parse_ps() {
        assert_eq!(Ps::parse(&sample_bytes()), Ok(sample()));
        assert!(Ps::parse(&sample_bytes()[..63]).is_err());
    }
}

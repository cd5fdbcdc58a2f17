//! The STAT group: `struct task_diag_stat` (attribute `TASK_DIAG_STAT`, type 4)
//! exactly as the reference header lays it out: fault counts and CPU times (in
//! clock ticks, `USER_HZ`, as the reference's `nsec_to_clock_t` gives them),
//! then the thread count. A process's are its thread group's, a thread's its
//! own (the reference's `whole`); the procfs backend reads them from `stat`.

use super::{AttributeGroup, GroupSpec, TaskAttribute, EVERY_BACKEND};
use crate::backend::procfs::Wants;
use crate::netlink::{Emitable, Parseable};
use crate::task::{TaskInfo, TaskStat};
use crate::task_diag::{ShowFlags, TaskDiagMessage, TaskDiagRequest};
use crate::wire::{buffer, DecodeError};

/// Its `nla_type`; the show flag is `1 << TASK_DIAG_STAT`.
pub const TASK_DIAG_STAT: u16 = 4;

/// `sizeof(struct task_diag_stat)`: 68 bytes of fields, padded to the u64 alignment.
pub const TASK_DIAG_STAT_LEN: usize = 72;
const FIELDS_END: usize = 68;

buffer!(
    /// A checked view of a `task_diag_stat` payload (its fields end at 68).
    TaskStatBuffer("task_diag_stat", FIELDS_END) {
        minflt, set_minflt: (u64, 0..8),
        cminflt, set_cminflt: (u64, 8..16),
        majflt, set_majflt: (u64, 16..24),
        cmajflt, set_cmajflt: (u64, 24..32),
        utime, set_utime: (u64, 32..40),
        stime, set_stime: (u64, 40..48),
        cutime, set_cutime: (u64, 48..56),
        cstime, set_cstime: (u64, 56..64),
        threads, set_threads: (u32, 64..68),
    }
);

/// The STAT group.
pub struct Stat;

impl AttributeGroup for Stat {
    const SPEC: GroupSpec = GroupSpec { name: "stat", uapi_name: "TASK_DIAG_STAT", kind: TASK_DIAG_STAT, modifies: None, backends: EVERY_BACKEND };
    type Value = TaskStat;

    fn of_task(task: &TaskInfo, _: &TaskDiagRequest) -> Option<TaskStat> {
        task.extra.as_ref()?.stat
    }

    fn parse(payload: &[u8]) -> Result<TaskStat, DecodeError> {
        TaskStat::parse(&TaskStatBuffer::new_checked(payload)?)
    }

    fn wants(wants: &mut Wants) {
        wants.stat = true;
    }
}

impl ShowFlags {
    /// `TASK_DIAG_SHOW_STAT`.
    pub const STAT: ShowFlags = Stat::SPEC.show();
}

impl TaskDiagMessage {
    /// The message's STAT attribute, if it has one.
    pub fn stat(&self) -> Option<&TaskStat> {
        self.attributes.iter().find_map(|a| match a {
            TaskAttribute::Stat(s) => Some(s),
            _ => None,
        })
    }
}

impl<T: AsRef<[u8]>> Parseable<TaskStatBuffer<T>> for TaskStat {
    fn parse(buf: &TaskStatBuffer<T>) -> Result<Self, DecodeError> {
        Ok(TaskStat {
            minflt: buf.minflt(),
            cminflt: buf.cminflt(),
            majflt: buf.majflt(),
            cmajflt: buf.cmajflt(),
            utime: buf.utime(),
            stime: buf.stime(),
            cutime: buf.cutime(),
            cstime: buf.cstime(),
            threads: buf.threads(),
        })
    }
}

impl Emitable for TaskStat {
    fn buffer_len(&self) -> usize {
        TASK_DIAG_STAT_LEN
    }
    fn emit(&self, b: &mut [u8]) {
        b[FIELDS_END..TASK_DIAG_STAT_LEN].fill(0);
        let mut buf = TaskStatBuffer::new_unchecked(b);
        buf.set_minflt(self.minflt);
        buf.set_cminflt(self.cminflt);
        buf.set_majflt(self.majflt);
        buf.set_cmajflt(self.cmajflt);
        buf.set_utime(self.utime);
        buf.set_stime(self.stime);
        buf.set_cutime(self.cutime);
        buf.set_cstime(self.cstime);
        buf.set_threads(self.threads);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TaskStat {
        TaskStat { minflt: 93, cminflt: 7, majflt: 2, cmajflt: 1, utime: 11, stime: 12, cutime: 13, cstime: 14, threads: 3 }
    }

    fn sample_bytes() -> Vec<u8> {
        let mut v = Vec::new();
        for n in [93u64, 7, 2, 1] {
            v.extend_from_slice(&n.to_ne_bytes()); // minflt, cminflt, majflt, cmajflt
        }
        for n in [11u64, 12, 13, 14] {
            v.extend_from_slice(&n.to_ne_bytes()); // utime, stime, cutime, cstime (clock ticks)
        }
        v.extend_from_slice(&3u32.to_ne_bytes()); // threads
        v.extend_from_slice(&[0; 4]); // struct padding to 8-byte alignment
        v
    }

    #[test]
    fn emit_stat() {
        let mut out = Vec::new();
        sample().emit_to_vec(&mut out);
        assert_eq!(out, sample_bytes());
    }

    #[test]
    fn parse_stat() {
        assert_eq!(Stat::parse(&sample_bytes()), Ok(sample()));
        assert_eq!(Stat::parse(&sample_bytes()[..68]), Ok(sample()), "without the padding");
        assert!(Stat::parse(&sample_bytes()[..67]).is_err());
    }
}

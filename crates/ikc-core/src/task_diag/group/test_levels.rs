//! A test-only group (`cfg(test)`, type 63, which no header defines): a task's
//! ids at every pid-namespace level, as `NSpid`, `NSpgid` and `NSsid` print
//! them, one `{ u32 pid, pgid, sid; }` per level. It exists to prove what a
//! new group costs: this file and its line in `registry!`, nothing else. Its
//! payload's length varies with the task, unlike BASE's and CRED's. It says
//! only procfs fills it (the BPF records carry the levels too), so that the
//! backend choice is tested on a group one backend lacks.

use super::{AttributeGroup, GroupSpec};
use crate::backend::Backend;
use crate::netlink::Emitable;
use crate::task::{LevelIds, TaskInfo};
use crate::task_diag::TaskDiagRequest;
use crate::wire::{buffer, DecodeError};

/// Its `nla_type`, and its bit in `show_flags`: the last one there is.
pub const IKC_TEST_LEVELS: u16 = 63;
// In the range ikc numbers its own attributes.
const _: () = assert!(crate::task_diag::TASK_DIAG_IKC_FIRST <= IKC_TEST_LEVELS && IKC_TEST_LEVELS <= crate::task_diag::TASK_DIAG_IKC_LAST);
const LEVEL_LEN: usize = 12;

buffer!(
    /// One level of the payload.
    TestLevelBuffer("ikc_test_level", LEVEL_LEN) {
        pid, set_pid: (u32, 0..4),
        pgid, set_pgid: (u32, 4..8),
        sid, set_sid: (u32, 8..12),
    }
);

/// The attribute's owned form: the levels from procfs's namespace down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestLevels(pub Vec<LevelIds>);

impl Emitable for TestLevels {
    fn buffer_len(&self) -> usize {
        self.0.len() * LEVEL_LEN
    }
    fn emit(&self, b: &mut [u8]) {
        for (ids, chunk) in self.0.iter().zip(b.chunks_exact_mut(LEVEL_LEN)) {
            let mut level = TestLevelBuffer::new_unchecked(chunk);
            level.set_pid(ids.pid);
            level.set_pgid(ids.pgid);
            level.set_sid(ids.sid);
        }
    }
}

/// The group.
pub struct TestLevelsGroup;

impl AttributeGroup for TestLevelsGroup {
    const SPEC: GroupSpec = GroupSpec { name: "test-levels", uapi_name: "IKC_TEST_LEVELS", kind: IKC_TEST_LEVELS, modifies: None, backends: &[Backend::Procfs] };
    type Value = TestLevels;

    fn of_task(task: &TaskInfo, _: &TaskDiagRequest) -> Option<TestLevels> {
        Some(TestLevels((0..task.levels.len()).filter_map(|g| task.levels.at(g)).collect()))
    }

    fn parse(payload: &[u8]) -> Result<TestLevels, DecodeError> {
        if !payload.len().is_multiple_of(LEVEL_LEN) {
            return Err(DecodeError(format!("ikc_test_levels: {} bytes is no whole number of levels", payload.len())));
        }
        let level = |chunk| TestLevelBuffer::new_checked(chunk).map(|b| LevelIds { pid: b.pid(), pgid: b.pgid(), sid: b.sid() });
        payload.chunks_exact(LEVEL_LEN).map(level).collect::<Result<_, _>>().map(TestLevels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task_diag::{groups, parse_response, ShowFlags, Strategy, TaskAttribute, TaskDiagRequest};

    fn sample_bytes() -> Vec<u8> {
        let mut v = Vec::new();
        for id in [4321u32, 4300, 4000, 7, 1, 0] {
            v.extend_from_slice(&id.to_ne_bytes()); // level 0 pid pgid sid, then level 1
        }
        v
    }

    fn sample() -> TestLevels {
        TestLevels(vec![LevelIds { pid: 4321, pgid: 4300, sid: 4000 }, LevelIds { pid: 7, pgid: 1, sid: 0 }])
    }

    #[test]
    fn emit_levels() {
        let mut out = Vec::new();
        sample().emit_to_vec(&mut out);
        assert_eq!(out, sample_bytes());
    }

    #[test]
    fn parse_levels() {
        assert_eq!(TestLevelsGroup::parse(&sample_bytes()), Ok(sample()));
        assert!(TestLevelsGroup::parse(&sample_bytes()[..13]).is_err(), "a level cut short");
    }

    #[test]
    fn the_registry_line_is_all_it_takes_to_be_listed_and_requested() {
        let row = groups().into_iter().find(|g| g.kind == IKC_TEST_LEVELS).expect("listed");
        assert_eq!((row.name, row.implemented()), ("test-levels", true));
        assert_ne!(ShowFlags::SUPPORTED & (1 << IKC_TEST_LEVELS), 0);
        let show = ShowFlags::BASE | TestLevelsGroup::SPEC.show();
        let request = TaskDiagRequest { show, strategy: Strategy::One, pid: 1, sequence: 3 };
        assert_eq!(TaskDiagRequest::from_message(&request.to_message()), Ok(request));
    }

    /// This process through the whole call, against what its status file says.
    #[test]
    fn a_dump_carries_it_and_a_reader_parses_it() {
        let me = std::process::id();
        let show = ShowFlags::BASE | TestLevelsGroup::SPEC.show();
        let request = TaskDiagRequest { show, strategy: Strategy::One, pid: me, sequence: 3 }.to_message();
        let fd = crate::issue_kernel_command(crate::CURRENT_PIDNS, crate::TASK_DIAG, &[&request], 0).expect("dump");
        let tasks = parse_response(&fd.read_all().expect("read")).expect("parses");
        let status = std::fs::read_to_string("/proc/self/status").expect("status");
        let nspid: Vec<u32> = status.lines().find_map(|l| l.strip_prefix("NSpid:")).expect("NSpid").split_whitespace().map(|p| p.parse().expect("pid")).collect();
        let [task] = &tasks[..] else { panic!("one task, got {tasks:?}") };
        let Some(TaskAttribute::TestLevels(TestLevels(levels))) = task.attributes.get(1) else { panic!("no levels in {task:?}") };
        assert_eq!(levels.iter().map(|l| l.pid).collect::<Vec<_>>(), nspid);
        assert_eq!(task.base().map(|b| b.pid), Some(me));
    }
}

//! A task's scheduler state, numbered as task_diag's reference header numbers it.

/// `task_diag_base.state`, numbered as the reference header numbers them
/// (`TASK_DIAG_PARKED` 7, `TASK_DIAG_IDLE` 8, as `fs/proc/array.c` orders its letters).
/// Exported to TypeScript named by the letters `ps` prints (`letter()`), as
/// the SDK's `TaskState` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export, repr(enum)))]
pub enum TaskState {
    #[cfg_attr(test, ts(rename = "R"))]
    Running = 0,
    #[cfg_attr(test, ts(rename = "S"))]
    Interruptible = 1,
    #[cfg_attr(test, ts(rename = "D"))]
    Uninterruptible = 2,
    #[cfg_attr(test, ts(rename = "T"))]
    Stopped = 3,
    #[cfg_attr(test, ts(rename = "t"))]
    TraceStop = 4,
    #[cfg_attr(test, ts(rename = "X"))]
    Dead = 5,
    #[cfg_attr(test, ts(rename = "Z"))]
    Zombie = 6,
    #[cfg_attr(test, ts(rename = "P"))]
    Parked = 7,
    #[cfg_attr(test, ts(rename = "I"))]
    Idle = 8,
}

impl TaskState {
    /// Maps the state letter of `/proc/PID/stat` (as `fs/proc/array.c` prints it).
    pub fn from_proc_letter(c: u8) -> Option<TaskState> {
        Some(match c {
            b'R' => TaskState::Running,
            b'S' => TaskState::Interruptible,
            b'D' => TaskState::Uninterruptible,
            b'T' => TaskState::Stopped,
            b't' => TaskState::TraceStop,
            b'X' | b'x' => TaskState::Dead,
            b'Z' => TaskState::Zombie,
            b'P' => TaskState::Parked,
            b'I' => TaskState::Idle,
            // 'W' (waking) and 'K' (wakekill) only appear on old kernels; they
            // were uninterruptible sleeps in all but name.
            b'W' | b'K' => TaskState::Uninterruptible,
            _ => return None,
        })
    }

    /// The state a `task_diag_base.state` number names.
    pub fn from_number(n: u8) -> Option<TaskState> {
        const BY_NUMBER: [TaskState; 9] = [
            TaskState::Running,
            TaskState::Interruptible,
            TaskState::Uninterruptible,
            TaskState::Stopped,
            TaskState::TraceStop,
            TaskState::Dead,
            TaskState::Zombie,
            TaskState::Parked,
            TaskState::Idle,
        ];
        BY_NUMBER.get(n as usize).copied()
    }

    /// The letter `ps` prints for this state.
    pub fn letter(self) -> char {
        match self {
            TaskState::Running => 'R',
            TaskState::Interruptible => 'S',
            TaskState::Uninterruptible => 'D',
            TaskState::Stopped => 'T',
            TaskState::TraceStop => 't',
            TaskState::Dead => 'X',
            TaskState::Zombie => 'Z',
            TaskState::Parked => 'P',
            TaskState::Idle => 'I',
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_numbered_as_the_reference_header_numbers_them() {
        // include/uapi/linux/task_diag.h (avagin/linux-task-diag): RUNNING .. ZOMBIE, PARKED, IDLE.
        let all = [
            TaskState::Running,
            TaskState::Interruptible,
            TaskState::Uninterruptible,
            TaskState::Stopped,
            TaskState::TraceStop,
            TaskState::Dead,
            TaskState::Zombie,
            TaskState::Parked,
            TaskState::Idle,
        ];
        let letters: String = all.iter().map(|s| s.letter()).collect();
        assert_eq!(letters, "RSDTtXZPI", "fs/proc/array.c's task_state_array order");
        for (n, s) in all.iter().enumerate() {
            assert_eq!(*s as usize, n);
            assert_eq!(TaskState::from_proc_letter(s.letter() as u8), Some(*s), "{s:?}");
        }
        assert_eq!((TaskState::Parked as u8, TaskState::Idle as u8), (7, 8));
    }

    #[test]
    fn numbers_are_the_headers() {
        for n in 0..9 {
            assert_eq!(TaskState::from_number(n).map(|s| s as u8), Some(n));
        }
        assert_eq!(TaskState::from_number(9), None);
    }

    /// generated/TaskState.ts names each state by the letter `ps` prints for it.
    #[test]
    fn typescript_names_are_the_ps_letters() {
        let decl = <TaskState as ts_rs::TS>::decl(&ts_rs::Config::default());
        let all = [
            TaskState::Running,
            TaskState::Interruptible,
            TaskState::Uninterruptible,
            TaskState::Stopped,
            TaskState::TraceStop,
            TaskState::Dead,
            TaskState::Zombie,
            TaskState::Parked,
            TaskState::Idle,
        ];
        for state in all {
            let member = format!("\"{}\" = {}", state.letter(), state as u8);
            assert!(decl.contains(&member), "{member} missing from {decl}");
        }
        assert_eq!(decl.matches(" = ").count(), all.len());
    }
}

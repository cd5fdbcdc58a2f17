//! A task's scheduler state, numbered as task_diag's uapi header numbers it.

/// `task_diag_base.state`, numbered as the uapi header numbers them.
/// `Idle` (7) is an ikc addition for kernels that report `I` (TASK_IDLE),
/// which the 2016 header predates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum TaskState {
    Running = 0,
    Interruptible = 1,
    Uninterruptible = 2,
    Stopped = 3,
    TraceStop = 4,
    Dead = 5,
    Zombie = 6,
    Idle = 7,
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
            b'I' => TaskState::Idle,
            // 'P' (parked), 'W', 'K' only appear on old kernels; they were
            // uninterruptible sleeps in all but name.
            b'P' | b'W' | b'K' => TaskState::Uninterruptible,
            _ => return None,
        })
    }

    /// The state a `task_diag_base.state` number names.
    pub fn from_number(n: u8) -> Option<TaskState> {
        const BY_NUMBER: [TaskState; 8] = [
            TaskState::Running,
            TaskState::Interruptible,
            TaskState::Uninterruptible,
            TaskState::Stopped,
            TaskState::TraceStop,
            TaskState::Dead,
            TaskState::Zombie,
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
            TaskState::Idle => 'I',
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_the_headers() {
        for n in 0..8 {
            assert_eq!(TaskState::from_number(n).map(|s| s as u8), Some(n));
        }
        assert_eq!(TaskState::from_number(8), None);
    }
}

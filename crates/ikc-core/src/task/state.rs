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

//! The record the BPF task iterator writes for each task (`struct ikc_task`
//! and its `struct ikc_level`s in `bpf/task_iter.bpf.c`): a checked buffer type,
//! the owned form with emit/parse twins, and its conversion to `TaskInfo`.

use crate::backend::procfs::{NsLevels, MAX_LEVELS};
use crate::netlink::{check_len, get_u32, get_u64, put_u32, put_u64, DecodeError, Emitable, Field, Parseable};
use crate::task_diag::{Comm, TaskBase, TaskCreds, TaskInfo, TaskState};

// `struct ikc_task` (task_iter.bpf.c), native byte order.
const LEN: Field = 0..2;
const VERSION: usize = 2;
const NLEVELS: usize = 3;
const TGID: Field = 4..8;
const PID: Field = 8..12;
const PPID: Field = 12..16;
const TPID: Field = 16..20;
const SID: Field = 20..24;
const PGID: Field = 24..28;
const STATE: usize = 28;
const DUMPABLE: usize = 29;
const KTHREAD: usize = 30;
const WORKER: usize = 31;
const CAP_INHERITABLE: Field = 32..40;
const CAP_PERMITTED: Field = 40..48;
const CAP_EFFECTIVE: Field = 48..56;
const CAP_BSET: Field = 56..64;
const IDS: usize = 64; // uid euid suid fsuid gid egid sgid fsgid, 4 bytes each
const COMM: Field = 96..112;
const WORKER_DESC: Field = 112..128;
/// `sizeof(struct ikc_task)`.
pub const TASK_RECORD_LEN: usize = WORKER_DESC.end;
/// `sizeof(struct ikc_level)`: pid, pgid, sid in one deeper namespace.
pub const LEVEL_RECORD_LEN: usize = 12;
/// `IKC_TASK_VERSION`: the record layout this reader knows.
pub const TASK_RECORD_VERSION: u8 = 1;

/// One task as the iterator reports it. `info.base.comm` is the raw `task->comm`;
/// `task_info()` gives the record as procfs shows the task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRecord {
    pub info: TaskInfo,
    pub kernel_thread: bool,
    /// A workqueue worker's description, if it has one.
    pub worker: Option<WorkerDesc>,
}

/// What `wq_worker_comm()` appends to a kworker's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerDesc {
    /// Running a work item now (`+`), or not (`-`).
    pub busy: bool,
    pub desc: Comm,
}

impl TaskRecord {
    /// The task as the procfs backend reads it: a worker's name is `comm+desc`
    /// or `comm-desc`, cut to 15 bytes (`proc_task_name()`).
    pub fn task_info(&self) -> TaskInfo {
        let mut info = self.info.clone();
        info.base.comm = proc_task_name(&info.base.comm, self.worker.as_ref());
        info
    }
}

/// `proc_task_name()`: the comm, and for a workqueue worker its description.
pub fn proc_task_name(comm: &Comm, worker: Option<&WorkerDesc>) -> Comm {
    let Some(w) = worker else { return *comm };
    let mut name = comm.as_bytes().to_vec();
    name.push(if w.busy { b'+' } else { b'-' });
    name.extend_from_slice(w.desc.as_bytes());
    Comm::from_bytes(&name)
}

/// A checked view of one `struct ikc_task` and the `struct ikc_level`s after it.
pub struct TaskRecordBuffer<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> TaskRecordBuffer<T> {
    /// Validates the version, the level count and that the whole record is present.
    pub fn new_checked(buffer: T) -> Result<Self, DecodeError> {
        let b = buffer.as_ref();
        check_len("ikc_task", b.len(), TASK_RECORD_LEN)?;
        if b[VERSION] != TASK_RECORD_VERSION {
            return Err(DecodeError(format!("ikc_task version {} (this reader knows {TASK_RECORD_VERSION})", b[VERSION])));
        }
        let levels = b[NLEVELS] as usize;
        if levels == 0 || levels > MAX_LEVELS {
            return Err(DecodeError(format!("ikc_task: {levels} pid-namespace levels")));
        }
        let want = TASK_RECORD_LEN + (levels - 1) * LEVEL_RECORD_LEN;
        let len = u16::from_ne_bytes([b[LEN.start], b[LEN.start + 1]]) as usize;
        if len != want {
            return Err(DecodeError(format!("ikc_task: len {len}, {levels} levels need {want}")));
        }
        check_len("ikc_task with its levels", b.len(), want)?;
        Ok(TaskRecordBuffer { buffer })
    }

    /// The bytes this record takes, levels included.
    pub fn record_len(&self) -> usize {
        TASK_RECORD_LEN + (self.levels() - 1) * LEVEL_RECORD_LEN
    }

    fn levels(&self) -> usize {
        self.buffer.as_ref()[NLEVELS] as usize
    }
}

impl<T: AsRef<[u8]>> Parseable<TaskRecordBuffer<T>> for TaskRecord {
    fn parse(buf: &TaskRecordBuffer<T>) -> Result<Self, DecodeError> {
        let b = buf.buffer.as_ref();
        let id = |i: usize| get_u32(b, IDS + 4 * i..IDS + 4 * i + 4);
        // The same mapping as the procfs backend's, from the same letter.
        let state = TaskState::from_proc_letter(b[STATE]).unwrap_or(TaskState::Uninterruptible);
        let base = TaskBase {
            tgid: get_u32(b, TGID),
            pid: get_u32(b, PID),
            ppid: get_u32(b, PPID),
            tpid: get_u32(b, TPID),
            sid: get_u32(b, SID),
            pgid: get_u32(b, PGID),
            state: state as u8,
            comm: Comm::from_bytes(until_nul(&b[COMM])),
        };
        let mut levels = NsLevels { len: buf.levels(), ..Default::default() };
        (levels.pid[0], levels.pgid[0], levels.sid[0]) = (base.pid, base.pgid, base.sid);
        for g in 1..levels.len {
            let at = TASK_RECORD_LEN + (g - 1) * LEVEL_RECORD_LEN;
            levels.pid[g] = get_u32(b, at..at + 4);
            levels.pgid[g] = get_u32(b, at + 4..at + 8);
            levels.sid[g] = get_u32(b, at + 8..at + 12);
        }
        let creds = TaskCreds {
            cap_inheritable: get_u64(b, CAP_INHERITABLE),
            cap_permitted: get_u64(b, CAP_PERMITTED),
            cap_effective: get_u64(b, CAP_EFFECTIVE),
            cap_bset: get_u64(b, CAP_BSET),
            uid: id(0),
            euid: id(1),
            suid: id(2),
            fsuid: id(3),
            gid: id(4),
            egid: id(5),
            sgid: id(6),
            fsgid: id(7),
        };
        let info = TaskInfo { base, creds, dumpable: b[DUMPABLE] != 0, levels };
        let worker = match b[WORKER] {
            0 => None,
            c => Some(WorkerDesc { busy: c == b'+', desc: Comm::from_bytes(until_nul(&b[WORKER_DESC])) }),
        };
        Ok(TaskRecord { info, kernel_thread: b[KTHREAD] != 0, worker })
    }
}

impl Emitable for TaskRecord {
    fn buffer_len(&self) -> usize {
        TASK_RECORD_LEN + self.info.levels.len.saturating_sub(1) * LEVEL_RECORD_LEN
    }
    fn emit(&self, b: &mut [u8]) {
        let (t, c, l) = (&self.info.base, &self.info.creds, &self.info.levels);
        b[LEN].copy_from_slice(&(self.buffer_len() as u16).to_ne_bytes());
        b[VERSION] = TASK_RECORD_VERSION;
        b[NLEVELS] = l.len.max(1) as u8;
        put_u32(b, TGID, t.tgid);
        put_u32(b, PID, t.pid);
        put_u32(b, PPID, t.ppid);
        put_u32(b, TPID, t.tpid);
        put_u32(b, SID, t.sid);
        put_u32(b, PGID, t.pgid);
        b[STATE] = state_letter(t.state);
        b[DUMPABLE] = self.info.dumpable as u8;
        b[KTHREAD] = self.kernel_thread as u8;
        b[WORKER] = self.worker.map_or(0, |w| if w.busy { b'+' } else { b'-' });
        put_u64(b, CAP_INHERITABLE, c.cap_inheritable);
        put_u64(b, CAP_PERMITTED, c.cap_permitted);
        put_u64(b, CAP_EFFECTIVE, c.cap_effective);
        put_u64(b, CAP_BSET, c.cap_bset);
        for (i, v) in [c.uid, c.euid, c.suid, c.fsuid, c.gid, c.egid, c.sgid, c.fsgid].into_iter().enumerate() {
            put_u32(b, IDS + 4 * i..IDS + 4 * i + 4, v);
        }
        b[COMM].copy_from_slice(&t.comm.0);
        b[WORKER_DESC].copy_from_slice(&self.worker.map_or([0; 16], |w| w.desc.0));
        for g in 1..l.len {
            let at = TASK_RECORD_LEN + (g - 1) * LEVEL_RECORD_LEN;
            put_u32(b, at..at + 4, l.pid[g]);
            put_u32(b, at + 4..at + 8, l.pgid[g]);
            put_u32(b, at + 8..at + 12, l.sid[g]);
        }
    }
}

fn until_nul(b: &[u8]) -> &[u8] {
    &b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]
}

fn state_letter(state: u8) -> u8 {
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
    BY_NUMBER.get(state as usize).map_or(b'D', |s| s.letter() as u8)
}

/// Reads a whole iterator output: one record after another, nothing left over.
pub fn parse_records(mut bytes: &[u8]) -> Result<Vec<TaskRecord>, DecodeError> {
    let mut out = Vec::with_capacity(bytes.len() / TASK_RECORD_LEN);
    while !bytes.is_empty() {
        let buf = TaskRecordBuffer::new_checked(bytes)?;
        let len = buf.record_len();
        out.push(TaskRecord::parse(&buf)?);
        bytes = &bytes[len..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TaskRecord {
        let mut levels = NsLevels { len: 2, ..Default::default() };
        (levels.pid[0], levels.pgid[0], levels.sid[0]) = (4321, 4300, 4000);
        (levels.pid[1], levels.pgid[1], levels.sid[1]) = (7, 1, 0);
        TaskRecord {
            info: TaskInfo {
                base: TaskBase {
                    tgid: 4320,
                    pid: 4321,
                    ppid: 1,
                    tpid: 99,
                    sid: 4000,
                    pgid: 4300,
                    state: TaskState::Stopped as u8,
                    comm: Comm::from_bytes(b"sleep"),
                },
                creds: TaskCreds {
                    cap_inheritable: 0,
                    cap_permitted: 0x1ff_ffff_ffff,
                    cap_effective: 0x3000,
                    cap_bset: 0x1ff_ffff_ffff,
                    uid: 1000,
                    euid: 1001,
                    suid: 1002,
                    fsuid: 1003,
                    gid: 100,
                    egid: 101,
                    sgid: 102,
                    fsgid: 103,
                },
                dumpable: false,
                levels,
            },
            kernel_thread: false,
            worker: Some(WorkerDesc { busy: true, desc: Comm::from_bytes(b"events") }),
        }
    }

    fn sample_bytes() -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&140u16.to_ne_bytes()); // len = 128 + one level
        v.push(1); // version
        v.push(2); // nlevels
        for id in [4320u32, 4321, 1, 99, 4000, 4300] {
            v.extend_from_slice(&id.to_ne_bytes()); // tgid pid ppid tpid sid pgid
        }
        v.push(b'T'); // state letter
        v.push(0); // dumpable
        v.push(0); // kthread
        v.push(b'+'); // worker: busy
        for caps in [0u64, 0x1ff_ffff_ffff, 0x3000, 0x1ff_ffff_ffff] {
            v.extend_from_slice(&caps.to_ne_bytes()); // inheritable permitted effective bset
        }
        for id in [1000u32, 1001, 1002, 1003, 100, 101, 102, 103] {
            v.extend_from_slice(&id.to_ne_bytes()); // uid euid suid fsuid gid egid sgid fsgid
        }
        v.extend_from_slice(b"sleep\0\0\0\0\0\0\0\0\0\0\0"); // comm[16]
        v.extend_from_slice(b"events\0\0\0\0\0\0\0\0\0\0"); // worker_desc[16]
        for id in [7u32, 1, 0] {
            v.extend_from_slice(&id.to_ne_bytes()); // level 1: pid pgid sid
        }
        v
    }

    #[test]
    fn emit_record() {
        let mut out = Vec::new();
        sample().emit_to_vec(&mut out);
        assert_eq!(out, sample_bytes());
    }

    #[test]
    fn parse_record() {
        let bytes = sample_bytes();
        let buf = TaskRecordBuffer::new_checked(&bytes[..]).expect("valid");
        assert_eq!(buf.record_len(), 140);
        assert_eq!(TaskRecord::parse(&buf).expect("parses"), sample());
    }

    #[test]
    fn records_follow_each_other() {
        let mut bytes = sample_bytes();
        let mut second = sample();
        second.info.levels = NsLevels { len: 1, ..Default::default() };
        (second.info.levels.pid[0], second.info.levels.pgid[0], second.info.levels.sid[0]) = (4321, 4300, 4000);
        second.emit_to_vec(&mut bytes);
        assert_eq!(parse_records(&bytes).expect("valid"), vec![sample(), second]);
    }

    #[test]
    fn damaged_records_are_refused() {
        let good = sample_bytes();
        assert!(parse_records(&good[..good.len() - 1]).is_err(), "level cut short");
        assert!(parse_records(&good[..120]).is_err(), "header cut short");
        let mut version = good.clone();
        version[VERSION] = 2;
        assert!(parse_records(&version).is_err(), "unknown version");
        let mut no_levels = good.clone();
        no_levels[NLEVELS] = 0;
        assert!(parse_records(&no_levels).is_err(), "zero levels");
        let mut too_deep = good.clone();
        too_deep[NLEVELS] = 34;
        assert!(parse_records(&too_deep).is_err(), "deeper than MAX_PID_NS_LEVEL");
        let mut lying = good;
        lying[LEN.start] = 128;
        assert!(parse_records(&lying).is_err(), "len disagrees with nlevels");
    }

    #[test]
    fn workqueue_workers_are_named_as_procfs_names_them() {
        let comm = Comm::from_bytes(b"kworker/1:2");
        let busy = WorkerDesc { busy: true, desc: Comm::from_bytes(b"events") };
        let idle = WorkerDesc { busy: false, desc: Comm::from_bytes(b"mm_percpu_wq") };
        assert_eq!(proc_task_name(&comm, None).as_bytes(), b"kworker/1:2");
        assert_eq!(proc_task_name(&comm, Some(&busy)).as_bytes(), b"kworker/1:2+eve");
        assert_eq!(proc_task_name(&comm, Some(&idle)).as_bytes(), b"kworker/1:2-mm_");
        let full = Comm::from_bytes(b"kworker/u8:12-x");
        assert_eq!(proc_task_name(&full, Some(&busy)).as_bytes(), b"kworker/u8:12-x", "a 15-byte comm leaves no room");
        assert_eq!(sample().task_info().base.comm.as_bytes(), b"sleep+events");
    }
}

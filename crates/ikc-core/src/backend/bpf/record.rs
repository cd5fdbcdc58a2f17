//! The records the BPF task iterator writes (`bpf/task_iter.bpf.c`): one
//! `struct ikc_task` and its `struct ikc_level`s per task, then one
//! `struct ikc_walk_end`. A checked buffer type, the owned forms with emit/parse
//! twins, and the conversion to `TaskInfo`.

use crate::backend::procfs::{LevelIds, NsLevels, MAX_LEVELS};
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
const USER_NS: Field = 128..132; // real_cred->user_ns->ns.inum
const DUMPABLE_NS: Field = 132..136; // mm->user_ns->ns.inum, or the initial user namespace's
/// `sizeof(struct ikc_task)`.
pub const TASK_RECORD_LEN: usize = DUMPABLE_NS.end;
/// `sizeof(struct ikc_level)`: pid, pgid, sid in one deeper namespace.
pub const LEVEL_RECORD_LEN: usize = 12;
/// `IKC_TASK_VERSION`: the record layout this reader knows.
pub const TASK_RECORD_VERSION: u8 = 3;
/// `sizeof(struct ikc_walk_end)`: the record after the last task.
pub const WALK_END_LEN: usize = 16;
// `struct ikc_walk_end`: len, version, nlevels (0) as in `ikc_task`, then:
const WALK_TASKS: Field = 8..16;

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
    pub fn into_task_info(self) -> TaskInfo {
        let mut info = self.info;
        info.base.comm = proc_task_name(&info.base.comm, self.worker.as_ref());
        info
    }
}

/// One record of a walk's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Task(TaskRecord),
    /// The last record: how many tasks the kernel showed the walk, leaders or not.
    WalkEnd { tasks_visited: u64 },
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
        check_len("ikc_task", b.len(), WALK_END_LEN)?;
        if b[VERSION] != TASK_RECORD_VERSION {
            return Err(DecodeError(format!("ikc_task version {} (this reader knows {TASK_RECORD_VERSION})", b[VERSION])));
        }
        let levels = b[NLEVELS] as usize;
        if levels == 0 {
            return Ok(TaskRecordBuffer { buffer }); // a walk end: 16 bytes, checked above
        }
        if levels > MAX_LEVELS {
            return Err(DecodeError(format!("ikc_task: {levels} pid-namespace levels")));
        }
        check_len("ikc_task", b.len(), TASK_RECORD_LEN)?;
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
        match self.levels() {
            0 => WALK_END_LEN,
            n => TASK_RECORD_LEN + (n - 1) * LEVEL_RECORD_LEN,
        }
    }

    fn levels(&self) -> usize {
        self.buffer.as_ref()[NLEVELS] as usize
    }
}

impl<T: AsRef<[u8]>> Parseable<TaskRecordBuffer<T>> for Record {
    fn parse(buf: &TaskRecordBuffer<T>) -> Result<Self, DecodeError> {
        match buf.levels() {
            0 => Ok(Record::WalkEnd { tasks_visited: get_u64(buf.buffer.as_ref(), WALK_TASKS) }),
            _ => TaskRecord::parse(buf).map(Record::Task),
        }
    }
}

impl<T: AsRef<[u8]>> Parseable<TaskRecordBuffer<T>> for TaskRecord {
    fn parse(buf: &TaskRecordBuffer<T>) -> Result<Self, DecodeError> {
        let b = buf.buffer.as_ref();
        if buf.levels() == 0 {
            return Err(DecodeError("ikc_task: a walk end where a task was expected".into()));
        }
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
        let own = LevelIds { pid: base.pid, pgid: base.pgid, sid: base.sid };
        let deeper = (1..buf.levels()).map(|g| {
            let at = TASK_RECORD_LEN + (g - 1) * LEVEL_RECORD_LEN;
            LevelIds { pid: get_u32(b, at..at + 4), pgid: get_u32(b, at + 4..at + 8), sid: get_u32(b, at + 8..at + 12) }
        });
        let levels: NsLevels = std::iter::once(own).chain(deeper).collect();
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
        let info = TaskInfo {
            base,
            creds,
            dumpable: b[DUMPABLE] != 0,
            levels,
            user_ns: get_u32(b, USER_NS).into(),
            dumpable_ns: get_u32(b, DUMPABLE_NS).into(),
        };
        let worker = match b[WORKER] {
            0 => None,
            c => Some(WorkerDesc { busy: c == b'+', desc: Comm::from_bytes(until_nul(&b[WORKER_DESC])) }),
        };
        Ok(TaskRecord { info, kernel_thread: b[KTHREAD] != 0, worker })
    }
}

impl Emitable for TaskRecord {
    fn buffer_len(&self) -> usize {
        TASK_RECORD_LEN + self.info.levels.len().saturating_sub(1) * LEVEL_RECORD_LEN
    }
    fn emit(&self, b: &mut [u8]) {
        let (t, c, l) = (&self.info.base, &self.info.creds, &self.info.levels);
        b[LEN].copy_from_slice(&(self.buffer_len() as u16).to_ne_bytes());
        b[VERSION] = TASK_RECORD_VERSION;
        b[NLEVELS] = l.len().max(1) as u8;
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
        // Namespace inodes are 32 bits in the kernel (ns_common.inum).
        put_u32(b, USER_NS, self.info.user_ns as u32);
        put_u32(b, DUMPABLE_NS, self.info.dumpable_ns as u32);
        for g in 1..l.len() {
            let at = TASK_RECORD_LEN + (g - 1) * LEVEL_RECORD_LEN;
            let ids = l.at(g).unwrap_or_default();
            put_u32(b, at..at + 4, ids.pid);
            put_u32(b, at + 4..at + 8, ids.pgid);
            put_u32(b, at + 8..at + 12, ids.sid);
        }
    }
}

fn until_nul(b: &[u8]) -> &[u8] {
    &b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]
}

fn state_letter(state: u8) -> u8 {
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
    BY_NUMBER.get(state as usize).map_or(b'D', |s| s.letter() as u8)
}

impl Emitable for Record {
    fn buffer_len(&self) -> usize {
        match self {
            Record::Task(t) => t.buffer_len(),
            Record::WalkEnd { .. } => WALK_END_LEN,
        }
    }
    fn emit(&self, b: &mut [u8]) {
        match self {
            Record::Task(t) => t.emit(b),
            Record::WalkEnd { tasks_visited } => {
                b[..WALK_END_LEN].fill(0);
                b[LEN].copy_from_slice(&(WALK_END_LEN as u16).to_ne_bytes());
                b[VERSION] = TASK_RECORD_VERSION;
                put_u64(b, WALK_TASKS, *tasks_visited);
            }
        }
    }
}

/// Frames the records of a walk's output as it arrives: moves `at` past every
/// whole record from `at` on and says whether the last one is the walk's end.
/// The reader must stop there: a read() after the end restarts the walk where
/// it left off (`task_seq_start()`), and the kernel then emits tasks forked
/// since (with higher tids) but, its end callback done (`done_stop`), no second
/// end record. Only the header is looked at; `parse_walk` checks the rest.
pub fn frame_walk(bytes: &[u8], at: &mut usize) -> Result<bool, DecodeError> {
    loop {
        let rest = bytes.get(*at..).unwrap_or_default();
        let (Some(&version), Some(&levels)) = (rest.get(VERSION), rest.get(NLEVELS)) else { return Ok(false) };
        if version != TASK_RECORD_VERSION {
            return Err(DecodeError(format!("ikc_task version {version} (this reader knows {TASK_RECORD_VERSION})")));
        }
        let len = match levels as usize {
            0 => WALK_END_LEN,
            n if n > MAX_LEVELS => return Err(DecodeError(format!("ikc_task: {n} pid-namespace levels"))),
            n => TASK_RECORD_LEN + (n - 1) * LEVEL_RECORD_LEN,
        };
        if rest.len() < len {
            return Ok(false);
        }
        *at += len;
        if levels == 0 {
            return Ok(true);
        }
    }
}

/// A whole walk's output, read: the tasks in the order the kernel gave them.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Walk {
    pub tasks: Vec<TaskInfo>,
    /// How many tasks the kernel showed the walk (all of them, for a leaders-only walk).
    pub tasks_visited: u64,
}

/// Reads a whole iterator output: task records, then exactly one walk end, nothing
/// left over. Each record goes straight into its `TaskInfo` (no copies: a walk can
/// hold 100k tasks).
pub fn parse_walk(mut bytes: &[u8]) -> Result<Walk, DecodeError> {
    let mut tasks = Vec::with_capacity(bytes.len() / TASK_RECORD_LEN);
    while !bytes.is_empty() {
        let buf = TaskRecordBuffer::new_checked(bytes)?;
        let rest = &bytes[buf.record_len()..];
        match Record::parse(&buf)? {
            Record::Task(t) => tasks.push(t.into_task_info()),
            Record::WalkEnd { tasks_visited } if rest.is_empty() => return Ok(Walk { tasks, tasks_visited }),
            Record::WalkEnd { .. } => return Err(DecodeError("BPF task walk: records after its end".into())),
        }
        bytes = rest;
    }
    Err(DecodeError("BPF task walk: no end record (cut short)".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TaskRecord {
        let levels = NsLevels::from_iter([LevelIds { pid: 4321, pgid: 4300, sid: 4000 }, LevelIds { pid: 7, pgid: 1, sid: 0 }]);
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
                user_ns: 0xF000_0123,
                dumpable_ns: 0xEFFF_FFFD,
            },
            kernel_thread: false,
            worker: Some(WorkerDesc { busy: true, desc: Comm::from_bytes(b"events") }),
        }
    }

    fn sample_bytes() -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&148u16.to_ne_bytes()); // len = 136 + one level
        v.push(TASK_RECORD_VERSION); // version
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
        v.extend_from_slice(&0xF000_0123u32.to_ne_bytes()); // user_ns
        v.extend_from_slice(&0xEFFF_FFFDu32.to_ne_bytes()); // dumpable_ns
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
        assert_eq!(buf.record_len(), 148);
        assert_eq!(TaskRecord::parse(&buf).expect("parses"), sample());
    }

    #[test]
    fn namespace_inodes_follow_the_worker_description() {
        let bytes = sample_bytes();
        assert_eq!(bytes[128..132], 0xF000_0123u32.to_ne_bytes(), "user_ns");
        assert_eq!(bytes[132..136], 0xEFFF_FFFDu32.to_ne_bytes(), "dumpable_ns");
        let mut other = bytes.clone();
        other[132..136].copy_from_slice(&4_026_532_000u32.to_ne_bytes());
        let t = TaskRecord::parse(&TaskRecordBuffer::new_checked(&other[..]).expect("valid")).expect("parses");
        assert_eq!((t.info.user_ns, t.info.dumpable_ns), (0xF000_0123, 4_026_532_000));
        assert_eq!((t.info.dumpable, t.kernel_thread), (false, false));
        other[DUMPABLE] = 1;
        other[KTHREAD] = 1;
        let t = TaskRecord::parse(&TaskRecordBuffer::new_checked(&other[..]).expect("valid")).expect("parses");
        assert_eq!((t.info.dumpable, t.kernel_thread), (true, true));
    }

    fn walk_end(tasks_visited: u64) -> Vec<u8> {
        let mut v = Vec::new();
        Record::WalkEnd { tasks_visited }.emit_to_vec(&mut v);
        v
    }

    #[test]
    fn walk_end_record() {
        let mut want = vec![16, 0, TASK_RECORD_VERSION, 0, 0, 0, 0, 0];
        want.extend_from_slice(&30_119u64.to_ne_bytes());
        assert_eq!(walk_end(30_119), want);
        let buf = TaskRecordBuffer::new_checked(&want[..]).expect("valid");
        assert_eq!(Record::parse(&buf).expect("parses"), Record::WalkEnd { tasks_visited: 30_119 });
    }

    #[test]
    fn a_walk_is_tasks_then_its_end() {
        let mut bytes = sample_bytes();
        let mut second = sample();
        second.info.levels = NsLevels::from_iter([LevelIds { pid: 4321, pgid: 4300, sid: 4000 }]);
        second.emit_to_vec(&mut bytes);
        bytes.extend(walk_end(5));
        let walk = parse_walk(&bytes).expect("valid");
        assert_eq!(walk, Walk { tasks: vec![sample().into_task_info(), second.into_task_info()], tasks_visited: 5 });
    }

    #[test]
    fn damaged_walks_are_refused() {
        let good = [sample_bytes(), walk_end(1)].concat();
        assert!(parse_walk(&good).is_ok());
        assert!(parse_walk(&sample_bytes()).is_err(), "no end record");
        assert!(parse_walk(&[walk_end(1), sample_bytes()].concat()).is_err(), "records after the end");
        assert!(parse_walk(&good[..good.len() - 1]).is_err(), "end cut short");
        let task = sample_bytes();
        assert!(parse_walk(&[&task[..task.len() - 1], &walk_end(1)[..]].concat()).is_err(), "level cut short");
        assert!(parse_walk(&task[..120]).is_err(), "header cut short");
        let mut version = good.clone();
        version[VERSION] = TASK_RECORD_VERSION + 1;
        assert!(parse_walk(&version).is_err(), "unknown version");
        let mut too_deep = good.clone();
        too_deep[NLEVELS] = 34;
        assert!(parse_walk(&too_deep).is_err(), "deeper than MAX_PID_NS_LEVEL");
        let mut lying = good;
        lying[LEN.start] = 128;
        assert!(parse_walk(&lying).is_err(), "len disagrees with nlevels");
    }

    #[test]
    fn a_walk_is_framed_as_it_arrives_and_ends_at_its_end_record() {
        let mut second = sample();
        second.info.levels = NsLevels::from_iter([LevelIds { pid: 4321, pgid: 4300, sid: 4000 }]);
        let mut walk = sample_bytes(); // 148 bytes: one level below the root
        second.emit_to_vec(&mut walk); // 136
        walk.extend(walk_end(2)); // 16
        // Every way the kernel's reads could split it: framed up to the last
        // whole record, and ended only once the end record is all there.
        for cut in 0..=walk.len() {
            let mut at = 0;
            let ended = frame_walk(&walk[..cut], &mut at).expect("valid so far");
            let whole = [0, 148, 284, 300].into_iter().filter(|&b| b <= cut).max().unwrap_or(0);
            assert_eq!((at, ended), (whole, cut == walk.len()), "cut at {cut}");
            // Framing on from there once the rest arrives ends at the end record too.
            assert!(ended || frame_walk(&walk, &mut at) == Ok(true), "cut at {cut}");
            assert_eq!(at, walk.len());
        }
        // What follows the end record is not framed: the reader stops there.
        let mut after = walk.clone();
        after.extend(sample_bytes());
        let mut at = 0;
        assert_eq!(frame_walk(&after, &mut at), Ok(true));
        assert_eq!(at, walk.len());
    }

    #[test]
    fn damaged_headers_stop_the_framing() {
        let mut version = sample_bytes();
        version[VERSION] = TASK_RECORD_VERSION + 1;
        assert!(frame_walk(&version, &mut 0).is_err(), "unknown version");
        let mut too_deep = sample_bytes();
        too_deep[NLEVELS] = 34;
        assert!(frame_walk(&too_deep, &mut 0).is_err(), "deeper than MAX_PID_NS_LEVEL");
        let mut at = 0;
        assert_eq!(frame_walk(&sample_bytes()[..3], &mut at), Ok(false), "a header not yet whole");
        assert_eq!(at, 0);
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
        assert_eq!(sample().into_task_info().base.comm.as_bytes(), b"sleep+events");
    }
}

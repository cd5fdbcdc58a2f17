//! The records the BPF task iterator writes (`bpf/task_iter.bpf.c`): one
//! `struct ikc_task` and its `struct ikc_level`s per task, then one
//! `struct ikc_walk_end`. A checked buffer type, the owned forms with emit/parse
//! twins, and the conversion to `TaskInfo`.

use crate::netlink::{Emitable, Parseable};
use crate::task::{Comm, LevelIds, NsLevels, TaskBase, TaskCreds, TaskInfo, TaskState, MAX_LEVELS};
use crate::wire::{buffer, DecodeError};

/// `sizeof(struct ikc_task)`.
pub const TASK_RECORD_LEN: usize = 448;
/// `sizeof(struct ikc_level)`: pid, pgid, sid in one deeper namespace.
pub const LEVEL_RECORD_LEN: usize = 12;
/// `IKC_TASK_VERSION`: the record layout this reader knows.
pub const TASK_RECORD_VERSION: u8 = 4;
/// `sizeof(struct ikc_walk_end)`: the record after the last task.
pub const WALK_END_LEN: usize = 16;

buffer!(
    /// The start every record shares: its length, the layout's version, and
    /// how many pid-namespace levels it carries (0: the walk's end record).
    RecordHeaderBuffer("ikc_task header", 4) {
        len, set_len: (u16, 0..2),
        version, set_version: (u8, 2..3),
        nlevels, set_nlevels: (u8, 3..4),
    }
);

buffer!(
    /// A checked view of one `struct ikc_task` (task_iter.bpf.c) and the
    /// `struct ikc_level`s after it, or of the `struct ikc_walk_end` that
    /// shares its header: the version, the level count and that the whole
    /// record is present are checked.
    TaskRecordBuffer("ikc_task", WALK_END_LEN, check = Self::check_record) {
        len, set_len: (u16, 0..2),
        version, set_version: (u8, 2..3),
        nlevels, set_nlevels: (u8, 3..4),
        tgid, set_tgid: (u32, 4..8),
        pid, set_pid: (u32, 8..12),
        ppid, set_ppid: (u32, 12..16),
        tpid, set_tpid: (u32, 16..20),
        sid, set_sid: (u32, 20..24),
        pgid, set_pgid: (u32, 24..28),
        /// The letter procfs prints.
        state, set_state: (u8, 28..29),
        dumpable, set_dumpable: (u8, 29..30),
        kthread, set_kthread: (u8, 30..31),
        /// `+` (running a work item), `-`, or 0 (not a workqueue worker).
        worker, set_worker: (u8, 31..32),
        cap_inheritable, set_cap_inheritable: (u64, 32..40),
        cap_permitted, set_cap_permitted: (u64, 40..48),
        cap_effective, set_cap_effective: (u64, 48..56),
        cap_bset, set_cap_bset: (u64, 56..64),
        uid, set_uid: (u32, 64..68),
        euid, set_euid: (u32, 68..72),
        suid, set_suid: (u32, 72..76),
        fsuid, set_fsuid: (u32, 76..80),
        gid, set_gid: (u32, 80..84),
        egid, set_egid: (u32, 84..88),
        sgid, set_sgid: (u32, 88..92),
        fsgid, set_fsgid: (u32, 92..96),
        comm, set_comm: ([u8; 16], 96..112),
        worker_desc, set_worker_desc: ([u8; 16], 112..128),
        /// `real_cred->user_ns->ns.inum`.
        user_ns, set_user_ns: (u32, 128..132),
        /// `mm->user_ns->ns.inum`, or the initial user namespace's.
        dumpable_ns, set_dumpable_ns: (u32, 132..136),
        // STAT and PS, raw (see `RawStat`).
        start_boottime, set_start_boottime: (u64, 136..144),
        total_vm, set_total_vm: (u64, 144..152),
        locked_vm, set_locked_vm: (u64, 152..160),
        rss, set_rss: (u64, 160..168),
        min_flt, set_min_flt: (u64, 168..176),
        maj_flt, set_maj_flt: (u64, 176..184),
        utime, set_utime: (u64, 184..192),
        stime, set_stime: (u64, 192..200),
        runtime, set_runtime: (u64, 200..208),
        prev_utime, set_prev_utime: (u64, 208..216),
        prev_stime, set_prev_stime: (u64, 216..224),
        sig_min_flt, set_sig_min_flt: (u64, 224..232),
        sig_maj_flt, set_sig_maj_flt: (u64, 232..240),
        sig_cmin_flt, set_sig_cmin_flt: (u64, 240..248),
        sig_cmaj_flt, set_sig_cmaj_flt: (u64, 248..256),
        sig_utime, set_sig_utime: (u64, 256..264),
        sig_stime, set_sig_stime: (u64, 264..272),
        sig_runtime, set_sig_runtime: (u64, 272..280),
        sig_cutime, set_sig_cutime: (u64, 280..288),
        sig_cstime, set_sig_cstime: (u64, 288..296),
        sig_prev_utime, set_sig_prev_utime: (u64, 296..304),
        sig_prev_stime, set_sig_prev_stime: (u64, 304..312),
        task_flags, set_task_flags: (u32, 312..316),
        tty_nr, set_tty_nr: (u32, 316..320),
        tpgid, set_tpgid: (u32, 320..324),
        prio, set_prio: (i32, 324..328),
        static_prio, set_static_prio: (i32, 328..332),
        policy, set_policy: (u32, 332..336),
        rt_priority, set_rt_priority: (u32, 336..340),
        cpu, set_cpu: (u32, 340..344),
        nr_threads, set_nr_threads: (u32, 344..348),
        full_name, set_full_name: ([u8; 64], 352..416),
        worker_desc_whole, set_worker_desc_whole: ([u8; 32], 416..TASK_RECORD_LEN),
        /// `struct ikc_walk_end`, after the shared header: how many tasks the walk was shown.
        tasks_visited, set_tasks_visited: (u64, 8..WALK_END_LEN),
    }
);

buffer!(
    /// `struct ikc_level`: a task's ids in one pid namespace below the root.
    LevelRecordBuffer("ikc_level", LEVEL_RECORD_LEN) {
        pid, set_pid: (u32, 0..4),
        pgid, set_pgid: (u32, 4..8),
        sid, set_sid: (u32, 8..12),
    }
);

/// The bytes a record with `nlevels` levels takes (0: a walk end), if the
/// count is one the kernel allows.
fn record_len(nlevels: u8) -> Result<usize, DecodeError> {
    match nlevels as usize {
        0 => Ok(WALK_END_LEN),
        n if n > MAX_LEVELS => Err(DecodeError(format!("ikc_task: {n} pid-namespace levels"))),
        n => Ok(TASK_RECORD_LEN + (n - 1) * LEVEL_RECORD_LEN),
    }
}

fn check_version(version: u8) -> Result<(), DecodeError> {
    if version != TASK_RECORD_VERSION {
        return Err(DecodeError(format!("ikc_task version {version} (this reader knows {TASK_RECORD_VERSION})")));
    }
    Ok(())
}

/// One task as the iterator reports it. `info.base.comm` is the raw `task->comm`;
/// `task_info()` gives the record as procfs shows the task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRecord {
    pub info: TaskInfo,
    pub kernel_thread: bool,
    /// A workqueue worker's description, if it has one.
    pub worker: Option<WorkerDesc>,
    /// What STAT and PS are made of, as the kernel keeps it.
    pub raw: RawStat,
    /// A kernel thread's whole name (`kthread->full_name`), if it has one.
    pub full_name: Vec<u8>,
    /// A worker's whole description (`worker.desc`).
    pub worker_desc_whole: Vec<u8>,
}

/// The raw numbers `do_task_stat()` turns into `/proc/PID/stat`'s: times in
/// ns, sizes in pages, priorities as the scheduler keeps them; `sig_*` from
/// the thread group's `signal_struct`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RawStat {
    pub start_boottime: u64,
    pub total_vm: u64,
    pub locked_vm: u64,
    pub rss: u64,
    pub min_flt: u64,
    pub maj_flt: u64,
    pub utime: u64,
    pub stime: u64,
    pub runtime: u64,
    pub prev_utime: u64,
    pub prev_stime: u64,
    pub sig_min_flt: u64,
    pub sig_maj_flt: u64,
    pub sig_cmin_flt: u64,
    pub sig_cmaj_flt: u64,
    pub sig_utime: u64,
    pub sig_stime: u64,
    pub sig_runtime: u64,
    pub sig_cutime: u64,
    pub sig_cstime: u64,
    pub sig_prev_utime: u64,
    pub sig_prev_stime: u64,
    pub flags: u32,
    pub tty_nr: u32,
    pub tpgid: u32,
    pub prio: i32,
    pub static_prio: i32,
    pub policy: u32,
    pub rt_priority: u32,
    pub cpu: u32,
    pub nr_threads: u32,
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

impl<T: AsRef<[u8]>> TaskRecordBuffer<T> {
    fn check_record(&self) -> Result<(), DecodeError> {
        check_version(self.version())?;
        let want = record_len(self.nlevels())?;
        if self.nlevels() == 0 {
            return Ok(()); // a walk end: its 16 bytes are the minimum length
        }
        crate::wire::check_len("ikc_task", self.buffer.as_ref().len(), TASK_RECORD_LEN)?;
        let len = self.len() as usize;
        if len != want {
            return Err(DecodeError(format!("ikc_task: len {len}, {} levels need {want}", self.nlevels())));
        }
        crate::wire::check_len("ikc_task with its levels", self.buffer.as_ref().len(), want)
    }

    /// The bytes this record takes, levels included.
    pub fn record_len(&self) -> usize {
        record_len(self.nlevels()).unwrap_or(WALK_END_LEN)
    }

    fn levels(&self) -> usize {
        self.nlevels() as usize
    }

    /// Level `g` (1 ..< levels) of a task record: its ids one namespace deeper than `g - 1`.
    fn level(&self, g: usize) -> LevelRecordBuffer<&[u8]> {
        let at = TASK_RECORD_LEN + (g - 1) * LEVEL_RECORD_LEN;
        LevelRecordBuffer::new_unchecked(&self.buffer.as_ref()[at..at + LEVEL_RECORD_LEN])
    }
}

impl<T: AsRef<[u8]>> Parseable<TaskRecordBuffer<T>> for Record {
    fn parse(buf: &TaskRecordBuffer<T>) -> Result<Self, DecodeError> {
        match buf.levels() {
            0 => Ok(Record::WalkEnd { tasks_visited: buf.tasks_visited() }),
            _ => TaskRecord::parse(buf).map(Record::Task),
        }
    }
}

impl<T: AsRef<[u8]>> Parseable<TaskRecordBuffer<T>> for TaskRecord {
    fn parse(buf: &TaskRecordBuffer<T>) -> Result<Self, DecodeError> {
        if buf.levels() == 0 {
            return Err(DecodeError("ikc_task: a walk end where a task was expected".into()));
        }
        // The same mapping as the procfs backend's, from the same letter.
        let state = TaskState::from_proc_letter(buf.state()).unwrap_or(TaskState::Uninterruptible);
        let base = TaskBase {
            tgid: buf.tgid(),
            pid: buf.pid(),
            ppid: buf.ppid(),
            tpid: buf.tpid(),
            sid: buf.sid(),
            pgid: buf.pgid(),
            state: state as u8,
            comm: Comm::from_bytes(until_nul(&buf.comm())),
        };
        let own = LevelIds { pid: base.pid, pgid: base.pgid, sid: base.sid };
        let deeper = (1..buf.levels()).map(|g| {
            let l = buf.level(g);
            LevelIds { pid: l.pid(), pgid: l.pgid(), sid: l.sid() }
        });
        let levels: NsLevels = std::iter::once(own).chain(deeper).collect();
        let creds = TaskCreds {
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
        };
        let info = TaskInfo {
            base,
            creds,
            dumpable: buf.dumpable() != 0,
            levels,
            user_ns: buf.user_ns().into(),
            dumpable_ns: buf.dumpable_ns().into(),
            extra: None,
        };
        let worker = match buf.worker() {
            0 => None,
            c => Some(WorkerDesc { busy: c == b'+', desc: Comm::from_bytes(until_nul(&buf.worker_desc())) }),
        };
        let raw = RawStat {
            start_boottime: buf.start_boottime(),
            total_vm: buf.total_vm(),
            locked_vm: buf.locked_vm(),
            rss: buf.rss(),
            min_flt: buf.min_flt(),
            maj_flt: buf.maj_flt(),
            utime: buf.utime(),
            stime: buf.stime(),
            runtime: buf.runtime(),
            prev_utime: buf.prev_utime(),
            prev_stime: buf.prev_stime(),
            sig_min_flt: buf.sig_min_flt(),
            sig_maj_flt: buf.sig_maj_flt(),
            sig_cmin_flt: buf.sig_cmin_flt(),
            sig_cmaj_flt: buf.sig_cmaj_flt(),
            sig_utime: buf.sig_utime(),
            sig_stime: buf.sig_stime(),
            sig_runtime: buf.sig_runtime(),
            sig_cutime: buf.sig_cutime(),
            sig_cstime: buf.sig_cstime(),
            sig_prev_utime: buf.sig_prev_utime(),
            sig_prev_stime: buf.sig_prev_stime(),
            flags: buf.task_flags(),
            tty_nr: buf.tty_nr(),
            tpgid: buf.tpgid(),
            prio: buf.prio(),
            static_prio: buf.static_prio(),
            policy: buf.policy(),
            rt_priority: buf.rt_priority(),
            cpu: buf.cpu(),
            nr_threads: buf.nr_threads(),
        };
        Ok(TaskRecord {
            info,
            kernel_thread: buf.kthread() != 0,
            worker,
            raw,
            full_name: until_nul(&buf.full_name()).to_vec(),
            worker_desc_whole: until_nul(&buf.worker_desc_whole()).to_vec(),
        })
    }
}

impl Emitable for TaskRecord {
    fn buffer_len(&self) -> usize {
        TASK_RECORD_LEN + self.info.levels.len().saturating_sub(1) * LEVEL_RECORD_LEN
    }
    fn emit(&self, b: &mut [u8]) {
        let (t, c, l) = (&self.info.base, &self.info.creds, &self.info.levels);
        // At most MAX_LEVELS levels: 520 bytes.
        let len = self.buffer_len() as u16;
        for g in 1..l.len() {
            let at = TASK_RECORD_LEN + (g - 1) * LEVEL_RECORD_LEN;
            let ids = l.at(g).unwrap_or_default();
            let mut level = LevelRecordBuffer::new_unchecked(&mut b[at..at + LEVEL_RECORD_LEN]);
            level.set_pid(ids.pid);
            level.set_pgid(ids.pgid);
            level.set_sid(ids.sid);
        }
        let mut buf = TaskRecordBuffer::new_unchecked(b);
        buf.set_len(len);
        buf.set_version(TASK_RECORD_VERSION);
        buf.set_nlevels(l.len().max(1) as u8);
        buf.set_tgid(t.tgid);
        buf.set_pid(t.pid);
        buf.set_ppid(t.ppid);
        buf.set_tpid(t.tpid);
        buf.set_sid(t.sid);
        buf.set_pgid(t.pgid);
        buf.set_state(TaskState::from_number(t.state).unwrap_or(TaskState::Uninterruptible).letter() as u8);
        buf.set_dumpable(self.info.dumpable as u8);
        buf.set_kthread(self.kernel_thread as u8);
        buf.set_worker(self.worker.map_or(0, |w| if w.busy { b'+' } else { b'-' }));
        buf.set_cap_inheritable(c.cap_inheritable);
        buf.set_cap_permitted(c.cap_permitted);
        buf.set_cap_effective(c.cap_effective);
        buf.set_cap_bset(c.cap_bset);
        buf.set_uid(c.uid);
        buf.set_euid(c.euid);
        buf.set_suid(c.suid);
        buf.set_fsuid(c.fsuid);
        buf.set_gid(c.gid);
        buf.set_egid(c.egid);
        buf.set_sgid(c.sgid);
        buf.set_fsgid(c.fsgid);
        buf.set_comm(t.comm.0);
        buf.set_worker_desc(self.worker.map_or([0; 16], |w| w.desc.0));
        // Namespace inodes are 32 bits in the kernel (ns_common.inum).
        buf.set_user_ns(self.info.user_ns as u32);
        buf.set_dumpable_ns(self.info.dumpable_ns as u32);
        let r = &self.raw;
        buf.set_start_boottime(r.start_boottime);
        buf.set_total_vm(r.total_vm);
        buf.set_locked_vm(r.locked_vm);
        buf.set_rss(r.rss);
        buf.set_min_flt(r.min_flt);
        buf.set_maj_flt(r.maj_flt);
        buf.set_utime(r.utime);
        buf.set_stime(r.stime);
        buf.set_runtime(r.runtime);
        buf.set_prev_utime(r.prev_utime);
        buf.set_prev_stime(r.prev_stime);
        buf.set_sig_min_flt(r.sig_min_flt);
        buf.set_sig_maj_flt(r.sig_maj_flt);
        buf.set_sig_cmin_flt(r.sig_cmin_flt);
        buf.set_sig_cmaj_flt(r.sig_cmaj_flt);
        buf.set_sig_utime(r.sig_utime);
        buf.set_sig_stime(r.sig_stime);
        buf.set_sig_runtime(r.sig_runtime);
        buf.set_sig_cutime(r.sig_cutime);
        buf.set_sig_cstime(r.sig_cstime);
        buf.set_sig_prev_utime(r.sig_prev_utime);
        buf.set_sig_prev_stime(r.sig_prev_stime);
        buf.set_task_flags(r.flags);
        buf.set_tty_nr(r.tty_nr);
        buf.set_tpgid(r.tpgid);
        buf.set_prio(r.prio);
        buf.set_static_prio(r.static_prio);
        buf.set_policy(r.policy);
        buf.set_rt_priority(r.rt_priority);
        buf.set_cpu(r.cpu);
        buf.set_nr_threads(r.nr_threads);
        let mut name = [0u8; 64];
        let n = self.full_name.len().min(63);
        name[..n].copy_from_slice(&self.full_name[..n]);
        let mut desc = [0u8; 32];
        let n = self.worker_desc_whole.len().min(31);
        desc[..n].copy_from_slice(&self.worker_desc_whole[..n]);
        buf.set_full_name(name);
        buf.set_worker_desc_whole(desc);
        buf.into_inner()[348..352].fill(0); // reserved
    }
}

fn until_nul(b: &[u8]) -> &[u8] {
    &b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]
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
                let mut buf = TaskRecordBuffer::new_unchecked(b);
                buf.set_len(WALK_END_LEN as u16);
                buf.set_version(TASK_RECORD_VERSION);
                buf.set_tasks_visited(*tasks_visited);
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
        let Ok(header) = RecordHeaderBuffer::new_checked(rest) else { return Ok(false) };
        check_version(header.version())?;
        let len = record_len(header.nlevels())?;
        if rest.len() < len {
            return Ok(false);
        }
        *at += len;
        if header.nlevels() == 0 {
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

/// Reads a whole iterator output as its records (for the groups that need
/// more than one record, as a process's STAT needs its threads'), and the
/// number of tasks the walk was shown.
pub fn parse_records(mut bytes: &[u8]) -> Result<(Vec<TaskRecord>, u64), DecodeError> {
    let mut tasks = Vec::with_capacity(bytes.len() / TASK_RECORD_LEN);
    while !bytes.is_empty() {
        let buf = TaskRecordBuffer::new_checked(bytes)?;
        let rest = &bytes[buf.record_len()..];
        match Record::parse(&buf)? {
            Record::Task(t) => tasks.push(t),
            Record::WalkEnd { tasks_visited } if rest.is_empty() => return Ok((tasks, tasks_visited)),
            Record::WalkEnd { .. } => return Err(DecodeError("BPF task walk: records after its end".into())),
        }
        bytes = rest;
    }
    Err(DecodeError("BPF task walk: no end record (cut short)".into()))
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

    // Offsets poked by the damage tests (`struct ikc_task`).
    const LEN: usize = 0;
    const VERSION: usize = 2;
    const NLEVELS: usize = 3;
    const DUMPABLE: usize = 29;
    const KTHREAD: usize = 30;

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
                extra: None,
            },
            kernel_thread: false,
            worker: Some(WorkerDesc { busy: true, desc: Comm::from_bytes(b"events") }),
            raw: RawStat {
                start_boottime: 5_000_000_123,
                total_vm: 2000,
                locked_vm: 2,
                rss: 300,
                min_flt: 93,
                maj_flt: 2,
                utime: 30_000_000,
                stime: 10_000_000,
                runtime: 45_000_000,
                prev_utime: 0,
                prev_stime: 0,
                sig_min_flt: 1,
                sig_maj_flt: 0,
                sig_cmin_flt: 7,
                sig_cmaj_flt: 1,
                sig_utime: 0,
                sig_stime: 0,
                sig_runtime: 0,
                sig_cutime: 130_000_000,
                sig_cstime: 140_000_000,
                sig_prev_utime: 0,
                sig_prev_stime: 0,
                flags: 0x400100,
                tty_nr: 34817,
                tpgid: 4300,
                prio: 120,
                static_prio: 120,
                policy: 0,
                rt_priority: 0,
                cpu: 1,
                nr_threads: 1,
            },
            full_name: Vec::new(),
            worker_desc_whole: b"events_unbound_long".to_vec(),
        }
    }

    fn sample_bytes() -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&460u16.to_ne_bytes()); // len = 448 + one level
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
        for n in [5_000_000_123u64, 2000, 2, 300] {
            v.extend_from_slice(&n.to_ne_bytes()); // start_boottime (ns), total_vm, locked_vm, rss (pages)
        }
        for n in [93u64, 2, 30_000_000, 10_000_000, 45_000_000, 0, 0] {
            v.extend_from_slice(&n.to_ne_bytes()); // min_flt maj_flt utime stime runtime prev_utime prev_stime
        }
        for n in [1u64, 0, 7, 1, 0, 0, 0, 130_000_000, 140_000_000, 0, 0] {
            v.extend_from_slice(&n.to_ne_bytes()); // sig: min maj cmin cmaj utime stime runtime cutime cstime prev_u prev_s
        }
        for n in [0x400100u32, 34817, 4300, 120, 120, 0, 0, 1, 1, 0] {
            v.extend_from_slice(&n.to_ne_bytes()); // flags tty_nr tpgid prio static_prio policy rt_priority cpu nr_threads reserved
        }
        v.extend_from_slice(&[0; 64]); // full_name: none
        let mut desc = b"events_unbound_long".to_vec();
        desc.resize(32, 0);
        v.extend_from_slice(&desc); // worker_desc_whole[32]
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
        assert_eq!(buf.record_len(), 460);
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
        assert!(parse_walk(&task[..400]).is_err(), "stat fields cut short");
        let mut version = good.clone();
        version[VERSION] = TASK_RECORD_VERSION + 1;
        assert!(parse_walk(&version).is_err(), "unknown version");
        let mut too_deep = good.clone();
        too_deep[NLEVELS] = 34;
        assert!(parse_walk(&too_deep).is_err(), "deeper than MAX_PID_NS_LEVEL");
        let mut lying = good;
        lying[LEN] = 128;
        assert!(parse_walk(&lying).is_err(), "len disagrees with nlevels");
    }

    #[test]
    fn a_walk_is_framed_as_it_arrives_and_ends_at_its_end_record() {
        let mut second = sample();
        second.info.levels = NsLevels::from_iter([LevelIds { pid: 4321, pgid: 4300, sid: 4000 }]);
        let mut walk = sample_bytes(); // 460 bytes: one level below the root
        second.emit_to_vec(&mut walk); // 448
        walk.extend(walk_end(2)); // 16
        // Every way the kernel's reads could split it: framed up to the last
        // whole record, and ended only once the end record is all there.
        for cut in 0..=walk.len() {
            let mut at = 0;
            let ended = frame_walk(&walk[..cut], &mut at).expect("valid so far");
            let whole = [0, 460, 908, 924].into_iter().filter(|&b| b <= cut).max().unwrap_or(0);
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

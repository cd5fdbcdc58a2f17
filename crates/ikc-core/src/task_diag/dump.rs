//! Runs a validated task_diag request against a backend: picks the tasks the
//! strategy names, drops those the viewer may not see, and writes one message
//! per task followed by `NLMSG_DONE`.

use super::{PidScope, Strategy, TaskAttribute, TaskDiagMessage, TaskDiagRequest, MAX_TASK_MESSAGE_LEN};
use crate::backend::procfs::ProcFs;
use crate::backend::Backend;
use crate::backend::procfs::NsLink;
use crate::error::{Error, Result};
use crate::netlink::emit_done;
use crate::task::TaskInfo;
use crate::userns::UserNsTree;
use crate::visibility::{may_read, Judge, Target, Viewer};

/// Whose eyes a dump sees with: a task is shown only if every viewer may see
/// it (a broker's client is judged as it is now and as it was when it
/// connected: rights on a connection may drop, never rise).
pub struct Access<'a> {
    pub viewers: &'a [Viewer],
    pub judge: Judge,
    /// The user namespaces met so far (used by `Judge::Rules`).
    pub users: &'a mut UserNsTree,
}

impl Access<'_> {
    fn sees_everything(&self) -> bool {
        self.viewers.iter().all(Viewer::sees_everything)
    }

    /// Whether the task is visible. Fills in the task's user namespace when
    /// the backend left it out (a BPF record read for another kind of viewer).
    fn allows(&mut self, proc: &ProcFs, task: &mut TaskInfo) -> Result<bool> {
        if self.sees_everything() {
            return Ok(true);
        }
        // In-process the kernel judges every task: this thread reads the task's
        // namespace link, which procfs refuses unless ptrace_may_access allows
        // it, whatever a backend already filled in (the BPF record carries the
        // namespace too, and taking it would skip the kernel's check: found when
        // auto chose BPF at 50k tasks for root without CAP_SYS_PTRACE).
        if task.user_ns == 0 || self.judge == Judge::Kernel {
            match proc.user_ns_link(task.base.tgid, task.base.pid)? {
                NsLink::Read(ns) => task.user_ns = ns,
                NsLink::Refused | NsLink::Gone => return Ok(false),
            }
        }
        match self.judge {
            // procfs let this thread read the task's namespace link: the kernel allows it.
            Judge::Kernel => Ok(true),
            Judge::Rules => {
                if !self.users.knows(task.user_ns) {
                    if let Some(fd) = proc.open_user_ns(task.base.tgid, task.base.pid)? {
                        self.users.learn(fd)?;
                    }
                }
                let (users, target) = (&mut *self.users, Target::from(&*task));
                Ok(self.viewers.iter().all(|v| may_read(v, target, users)))
            }
        }
    }
}

/// Produces the complete response bytes for `req` as `access` may see them,
/// restricted to and renumbered in the pid namespace `scope` names.
/// `backend` is already resolved (never `Auto`). With BPF, per-process
/// strategies check their anchor as procfs does, then filter one walk.
pub fn dump(proc: &mut ProcFs, access: &mut Access, scope: &mut PidScope, req: &TaskDiagRequest, backend: Backend) -> Result<Vec<u8>> {
    // Dumpability and user namespaces matter only to a viewer that does not see everything.
    proc.set_owner_check(!access.sees_everything());
    proc.set_wants(super::wants(req));
    let mut d = Dump { proc, access, scope, out: Response::new(req) };
    match req.strategy {
        Strategy::All | Strategy::AllThread if backend == Backend::Bpf => {
            let tasks = crate::backend::bpf_all_tasks(d.proc, req.strategy == Strategy::AllThread)?;
            d.out.reserve(tasks.len());
            for task in tasks {
                d.emit(task)?;
            }
        }
        Strategy::One | Strategy::Thread | Strategy::Children if backend == Backend::Bpf => {
            // The anchor is checked exactly as with procfs: the same ESRCH for hidden and missing.
            let a = anchor(d.proc, d.access, d.scope, req.pid)?;
            let tasks = crate::backend::bpf_all_tasks(d.proc, req.strategy != Strategy::Children)?;
            let wanted = |t: &TaskInfo| match req.strategy {
                Strategy::One => t.base.pid == a.base.pid,
                Strategy::Thread => t.base.tgid == a.base.tgid,
                _ => t.base.ppid == a.base.tgid, // leaders whose real parent is in the anchor's group
            };
            for task in tasks.into_iter().filter(wanted) {
                d.emit(task)?;
            }
        }
        Strategy::All => {
            let tgids = d.proc.tgids()?;
            d.out.reserve(tgids.len());
            for tgid in tgids {
                d.read_and_emit(tgid, tgid)?;
            }
        }
        Strategy::AllThread => {
            for tgid in d.proc.tgids()? {
                for tid in d.proc.tids(tgid)?.unwrap_or_default() {
                    d.read_and_emit(tgid, tid)?;
                }
            }
        }
        Strategy::One => {
            let task = anchor(d.proc, d.access, d.scope, req.pid)?;
            d.emit(task)?;
        }
        Strategy::Thread => {
            let tgid = anchor(d.proc, d.access, d.scope, req.pid)?.base.tgid;
            for tid in d.proc.tids(tgid)?.unwrap_or_default() {
                d.read_and_emit(tgid, tid)?;
            }
        }
        Strategy::Children => {
            let tgid = anchor(d.proc, d.access, d.scope, req.pid)?.base.tgid;
            for child in d.proc.children(tgid)?.unwrap_or_default() {
                d.read_and_emit(child, child)?;
            }
        }
    }
    Ok(d.out.finish())
}

/// One dump in progress.
struct Dump<'a, 'b> {
    proc: &'a mut ProcFs,
    access: &'a mut Access<'b>,
    scope: &'a mut PidScope,
    out: Response,
}

impl Dump<'_, '_> {
    fn read_and_emit(&mut self, tgid: u32, tid: u32) -> Result<()> {
        match self.proc.read_task(tgid, tid)? {
            Some(task) => self.emit(task),
            None => Ok(()), // exited since it was listed
        }
    }

    fn emit(&mut self, mut task: TaskInfo) -> Result<()> {
        // Visibility first, on procfs's numbering (the viewer's tgid is numbered there too).
        if !self.access.allows(self.proc, &mut task)? || !self.scope.contains(self.proc, &task)? {
            return Ok(());
        }
        self.scope.renumber(self.proc, &mut task)?;
        self.out.push(&task)
    }
}

/// The task a per-process strategy starts from, `pid` numbered in the scope's
/// namespace. Absent, outside the namespace and hidden all give the same
/// `ESRCH`, so a caller cannot probe for pids it may not see.
///
/// Hidden and missing also cost the same: a missing pid's failed lookup is
/// followed by the read and judgement of a stand-in task (the reading thread
/// itself), and a found task's read by a failed lookup, so neither a broker's
/// client nor a sandboxed program can tell them apart by time.
fn anchor(proc: &mut ProcFs, access: &mut Access, scope: &mut PidScope, pid: u32) -> Result<TaskInfo> {
    let missing = Error::NoSuchProcess(pid);
    let local = match scope.procfs_pid(proc, pid) {
        Ok(p) => Some(p),
        Err(Error::NoSuchProcess(_)) => None,
        Err(e) => return Err(e),
    };
    let found = match local {
        Some(local) => proc.read_task_by_pid(local)?,
        None => None,
    };
    let Some(mut task) = found else {
        stand_in(proc, access, scope)?;
        return Err(missing);
    };
    proc.miss();
    if access.allows(proc, &mut task)? && scope.contains(proc, &task)? {
        Ok(task)
    } else {
        Err(missing)
    }
}

/// The work `anchor` does for a task that exists, done on the reading thread
/// itself and thrown away.
fn stand_in(proc: &mut ProcFs, access: &mut Access, scope: &mut PidScope) -> Result<()> {
    let me = nix::unistd::gettid().as_raw() as u32;
    if let Some(mut task) = proc.read_task_by_pid(me)? {
        let _ = access.allows(proc, &mut task)? && scope.contains(proc, &task)?;
    }
    Ok(())
}

/// The response being built.
struct Response {
    bytes: Vec<u8>,
    request: TaskDiagRequest,
    /// The attributes of the task being written (kept to reuse the allocation).
    attributes: Vec<TaskAttribute>,
    /// Tasks expected in all, to reserve room once the first message shows its size.
    expected: usize,
    /// The longest message written: a task's attributes beyond it continue
    /// in the next message (`TASK_DIAG_FLAG_CONT`).
    limit: usize,
}

impl Response {
    fn new(req: &TaskDiagRequest) -> Self {
        Response { bytes: Vec::new(), request: *req, attributes: Vec::new(), expected: 0, limit: MAX_TASK_MESSAGE_LEN }
    }

    fn reserve(&mut self, tasks: usize) {
        self.expected = tasks;
    }

    fn push(&mut self, task: &TaskInfo) -> Result<()> {
        let first = self.bytes.is_empty();
        let mut attributes = std::mem::take(&mut self.attributes);
        attributes.clear();
        super::attributes_of(task, &self.request, &mut attributes);
        let msg = TaskDiagMessage { pid: task.base.pid, tgid: task.base.tgid, flags: 0, attributes };
        msg.emit_messages(self.request.sequence, self.limit, &mut self.bytes)?;
        self.attributes = msg.attributes;
        if first {
            self.bytes.reserve(self.expected.saturating_sub(1).saturating_mul(self.bytes.len()));
        }
        Ok(())
    }

    fn finish(mut self) -> Vec<u8> {
        emit_done(&mut self.bytes, self.request.sequence);
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::NetlinkHeaderBuffer;
    use crate::task::{Comm, TaskBase, TaskCreds};
    use crate::task_diag::{parse_response, ShowFlags, TASK_DIAG_FLAG_CONT};

    fn record() -> TaskInfo {
        TaskInfo {
            base: TaskBase { tgid: 40, pid: 41, ppid: 1, state: 1, comm: Comm::from_bytes(b"worker"), ..Default::default() },
            creds: TaskCreds { uid: 1000, euid: 1000, ..Default::default() },
            dumpable: true,
            levels: Default::default(),
            user_ns: 0,
            dumpable_ns: 0,
            extra: None,
        }
    }

    /// The flags of every message in `bytes` before `NLMSG_DONE`.
    fn message_flags(mut bytes: &[u8]) -> Vec<u32> {
        let mut flags = Vec::new();
        while let Ok(m) = NetlinkHeaderBuffer::new_checked(bytes) {
            if m.message_type() == crate::netlink::NLMSG_DONE {
                break;
            }
            flags.push(u32::from_ne_bytes(m.payload()[8..12].try_into().expect("task_diag_msg.flags")));
            bytes = &bytes[m.length() as usize..];
        }
        flags
    }

    #[test]
    fn a_task_over_the_message_limit_continues_with_cont() {
        let req = TaskDiagRequest { show: ShowFlags::BASE | ShowFlags::CRED, strategy: Strategy::All, pid: 0, sequence: 8 };
        // A test-only limit of 100 bytes: BASE's message is 76, BASE and CRED's 144.
        let mut small = Response::new(&req);
        small.limit = 100;
        small.reserve(2);
        let mut whole = Response::new(&req);
        for task in [record(), TaskInfo { base: TaskBase { pid: 42, ..record().base }, ..record() }] {
            small.push(&task).expect("each group fits a message");
            whole.push(&task).expect("fits");
        }
        let (small, whole) = (small.finish(), whole.finish());
        assert_eq!(message_flags(&small), [TASK_DIAG_FLAG_CONT, 0, TASK_DIAG_FLAG_CONT, 0]);
        assert_eq!(message_flags(&whole), [0, 0], "the real limit fits both tasks whole");
        let tasks = parse_response(&small).expect("parses");
        assert_eq!(tasks, parse_response(&whole).expect("parses"), "the same tasks either way");
        assert_eq!(tasks.iter().map(|t| (t.pid, t.attributes.len())).collect::<Vec<_>>(), [(41, 2), (42, 2)]);
    }
}

//! Runs a validated task_diag request against a backend: picks the tasks the
//! strategy names, drops those the viewer may not see, and writes one message
//! per task followed by `NLMSG_DONE`.

use super::message::message_len;
use super::{PidScope, ShowFlags, Strategy, TaskAttribute, TaskDiagMessage, TaskDiagRequest, TaskInfo};
use crate::backend::procfs::ProcFs;
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::netlink::emit_done;
use crate::visibility::{may_read, Viewer};

/// Produces the complete response bytes for `req` as `viewer` may see them,
/// restricted to and renumbered in the pid namespace `scope` names.
/// `backend` is already resolved (never `Auto`). With BPF, per-process
/// strategies check their anchor as procfs does, then filter one walk.
pub fn dump(proc: &mut ProcFs, viewer: &Viewer, scope: &mut PidScope, req: &TaskDiagRequest, backend: Backend) -> Result<Vec<u8>> {
    // Dumpability only matters to a viewer without CAP_SYS_PTRACE: skip learning it otherwise.
    proc.set_owner_check(!viewer.has_cap(crate::visibility::CAP_SYS_PTRACE));
    let mut d = Dump { proc, viewer, scope, out: Response::new(req) };
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
            let a = anchor(d.proc, viewer, d.scope, req.pid)?;
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
            let task = anchor(d.proc, viewer, d.scope, req.pid)?;
            d.emit(task)?;
        }
        Strategy::Thread => {
            let tgid = anchor(d.proc, viewer, d.scope, req.pid)?.base.tgid;
            for tid in d.proc.tids(tgid)?.unwrap_or_default() {
                d.read_and_emit(tgid, tid)?;
            }
        }
        Strategy::Children => {
            let tgid = anchor(d.proc, viewer, d.scope, req.pid)?.base.tgid;
            for child in d.proc.children(tgid)?.unwrap_or_default() {
                d.read_and_emit(child, child)?;
            }
        }
    }
    Ok(d.out.finish())
}

/// One dump in progress.
struct Dump<'a> {
    proc: &'a mut ProcFs,
    viewer: &'a Viewer,
    scope: &'a mut PidScope,
    out: Response,
}

impl Dump<'_> {
    fn read_and_emit(&mut self, tgid: u32, tid: u32) -> Result<()> {
        match self.proc.read_task(tgid, tid)? {
            Some(task) => self.emit(task),
            None => Ok(()), // exited since it was listed
        }
    }

    fn emit(&mut self, mut task: TaskInfo) -> Result<()> {
        // Visibility first, on procfs's numbering (the viewer's tgid is numbered there too).
        if !may_read(self.viewer, &task) || !self.scope.contains(self.proc, &task)? {
            return Ok(());
        }
        self.scope.renumber(self.proc, &mut task)?;
        self.out.push(&task);
        Ok(())
    }
}

/// The task a per-process strategy starts from, `pid` numbered in the scope's
/// namespace. Absent, outside the namespace and hidden all give the same
/// `ESRCH`, so a caller cannot probe for pids it may not see.
fn anchor(proc: &mut ProcFs, viewer: &Viewer, scope: &mut PidScope, pid: u32) -> Result<TaskInfo> {
    let missing = Error::NoSuchProcess(pid);
    let local = match scope.procfs_pid(proc, pid) {
        Ok(p) => p,
        Err(Error::NoSuchProcess(_)) => return Err(missing),
        Err(e) => return Err(e),
    };
    match proc.read_task_by_pid(local)? {
        Some(task) if may_read(viewer, &task) && scope.contains(proc, &task)? => Ok(task),
        _ => Err(missing),
    }
}

/// The response being built.
struct Response {
    bytes: Vec<u8>,
    show: ShowFlags,
    sequence: u32,
}

impl Response {
    fn new(req: &TaskDiagRequest) -> Self {
        Response { bytes: Vec::new(), show: req.show, sequence: req.sequence }
    }

    fn reserve(&mut self, tasks: usize) {
        let per_task = message_len(self.show.contains(ShowFlags::BASE), self.show.contains(ShowFlags::CRED));
        self.bytes.reserve(tasks.saturating_mul(per_task));
    }

    fn push(&mut self, task: &TaskInfo) {
        let mut msg = TaskDiagMessage { pid: task.base.pid, tgid: task.base.tgid, flags: 0, attributes: Vec::with_capacity(2) };
        if self.show.contains(ShowFlags::BASE) {
            msg.attributes.push(TaskAttribute::Base(task.base));
        }
        if self.show.contains(ShowFlags::CRED) {
            msg.attributes.push(TaskAttribute::Creds(task.creds));
        }
        msg.emit_message(self.sequence, &mut self.bytes);
    }

    fn finish(mut self) -> Vec<u8> {
        emit_done(&mut self.bytes, self.sequence);
        self.bytes
    }
}

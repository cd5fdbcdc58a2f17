//! Runs a validated task_diag request against a backend: picks the tasks the
//! strategy names, drops those the viewer may not see, and writes one message
//! per task followed by `NLMSG_DONE`.

use super::message::message_len;
use super::{ShowFlags, Strategy, TaskAttribute, TaskDiagMessage, TaskDiagRequest, TaskInfo};
use crate::backend::procfs::ProcFs;
use crate::error::{Error, Result};
use crate::netlink::emit_done;
use crate::visibility::{may_read, Viewer};

/// Produces the complete response bytes for `req` as `viewer` may see them.
pub fn dump(proc: &mut ProcFs, viewer: &Viewer, req: &TaskDiagRequest) -> Result<Vec<u8>> {
    let mut out = Response::new(req);
    match req.strategy {
        Strategy::All => {
            let tgids = proc.tgids()?;
            out.reserve(tgids.len());
            for tgid in tgids {
                out.push_if_visible(proc.read_task(tgid, tgid)?, viewer);
            }
        }
        Strategy::AllThread => {
            for tgid in proc.tgids()? {
                for tid in proc.tids(tgid)?.unwrap_or_default() {
                    out.push_if_visible(proc.read_task(tgid, tid)?, viewer);
                }
            }
        }
        Strategy::One => {
            let task = visible_anchor(proc, viewer, req.pid)?;
            out.push_if_visible(Some(task), viewer);
        }
        Strategy::Thread => {
            let anchor = visible_anchor(proc, viewer, req.pid)?;
            let tgid = anchor.base.tgid;
            for tid in proc.tids(tgid)?.unwrap_or_default() {
                out.push_if_visible(proc.read_task(tgid, tid)?, viewer);
            }
        }
        Strategy::Children => {
            let anchor = visible_anchor(proc, viewer, req.pid)?;
            for child in proc.children(anchor.base.tgid)?.unwrap_or_default() {
                out.push_if_visible(proc.read_task(child, child)?, viewer);
            }
        }
    }
    Ok(out.finish())
}

/// The task a per-process strategy starts from. Absent and hidden give the same
/// `ESRCH`, so a caller cannot probe for pids it may not see.
fn visible_anchor(proc: &mut ProcFs, viewer: &Viewer, pid: u32) -> Result<TaskInfo> {
    let tgid = proc.status_of(pid)?.map(|s| s.tgid).ok_or(Error::NoSuchProcess(pid))?;
    match proc.read_task(tgid, pid)? {
        Some(task) if may_read(viewer, &task) => Ok(task),
        _ => Err(Error::NoSuchProcess(pid)),
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

    fn push_if_visible(&mut self, task: Option<TaskInfo>, viewer: &Viewer) {
        let Some(task) = task else { return };
        if !may_read(viewer, &task) {
            return;
        }
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

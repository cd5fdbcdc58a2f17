//! TASK_STATS's source: a task_diag dump, taken again at every tick with the
//! identity and scope fixed at subscription. The hidepid rule is applied anew
//! to every tick's tasks (a task that turned setuid or non-dumpable since the
//! last tick is hidden from this one), always for the identity the subscriber
//! had when it subscribed: a stream passed to another process keeps no more
//! than that, and a broker client's later rights never widen it.

use super::group::Source;
use super::Dump;
use crate::backend::procfs::ProcFs;
use crate::backend::Backend;
use crate::error::Result;
use crate::task_diag::{self, Access, PidScope, TaskDiagRequest};
use crate::userns::UserNsTree;
use crate::visibility::{Judge, Viewer};

pub struct TaskSource {
    proc: ProcFs,
    viewers: Vec<Viewer>,
    judge: Judge,
    users: UserNsTree,
    scope: PidScope,
    req: TaskDiagRequest,
    backend: Backend,
}

impl TaskSource {
    pub fn new(viewers: Vec<Viewer>, judge: Judge, users: UserNsTree, scope: PidScope, req: TaskDiagRequest, backend: Backend) -> Result<TaskSource> {
        // A /proc of the stream's own, for as long as it runs.
        Ok(TaskSource { proc: ProcFs::open()?, viewers, judge, users, scope, req, backend })
    }
}

impl Source for TaskSource {
    fn dump(&mut self) -> Result<Dump> {
        let TaskSource { proc, viewers, judge, users, scope, req, backend } = self;
        Dump::take(|| {
            let mut access = Access { viewers, judge: *judge, users };
            task_diag::dump(proc, &mut access, scope, req, *backend)
        })
    }
}

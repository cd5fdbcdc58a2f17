//! "May this viewer see this task?": the kernel's `ptrace_may_access(task,
//! PTRACE_MODE_READ_FSCREDS)` as procfs applies it under `hidepid=2`
//! (`kernel/ptrace.c` `__ptrace_may_access` plus `security/commoncap.c`
//! `cap_ptrace_access_check`). Pure: takes values, does no I/O.

use crate::task_diag::TaskInfo;

/// `CAP_SYS_PTRACE`'s bit number.
pub const CAP_SYS_PTRACE: u32 = 19;

/// The credentials of whoever issued a command, captured once at issue time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    /// The caller's thread-group id: its own threads are always visible.
    pub tgid: u32,
    pub fsuid: u32,
    pub fsgid: u32,
    pub cap_effective: u64,
}

impl Viewer {
    pub fn has_cap(&self, cap: u32) -> bool {
        self.cap_effective & (1u64 << cap) != 0
    }
}

/// The kernel's answer, in the kernel's order:
/// 1. the caller's own thread group is always readable;
/// 2. otherwise the caller's fsuid must equal the task's real, effective and saved
///    uid, and its fsgid the task's real, effective and saved gid, unless it holds
///    `CAP_SYS_PTRACE`;
/// 3. a non-dumpable task needs `CAP_SYS_PTRACE`;
/// 4. the task's permitted capabilities must be a subset of the caller's effective
///    ones (FSCREDS mode), unless it holds `CAP_SYS_PTRACE`.
///
/// Assumes viewer and task share a user namespace (ikc reads ids as procfs shows them).
pub fn may_read(viewer: &Viewer, task: &TaskInfo) -> bool {
    if task.base.tgid == viewer.tgid {
        return true;
    }
    let ptrace = viewer.has_cap(CAP_SYS_PTRACE);
    let c = &task.creds;
    let ids_match = viewer.fsuid == c.uid
        && viewer.fsuid == c.euid
        && viewer.fsuid == c.suid
        && viewer.fsgid == c.gid
        && viewer.fsgid == c.egid
        && viewer.fsgid == c.sgid;
    if !ids_match && !ptrace {
        return false;
    }
    if !task.dumpable && !ptrace {
        return false;
    }
    let caps_subset = c.cap_permitted & !viewer.cap_effective == 0;
    caps_subset || ptrace
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task_diag::{TaskBase, TaskCreds};

    const USER: Viewer = Viewer { tgid: 500, fsuid: 1000, fsgid: 1000, cap_effective: 0 };
    const ROOT: Viewer = Viewer { tgid: 501, fsuid: 0, fsgid: 0, cap_effective: 0x1ff_ffff_ffff };

    fn task(tgid: u32, uid: u32, gid: u32) -> TaskInfo {
        TaskInfo {
            base: TaskBase { tgid, pid: tgid, ..Default::default() },
            creds: TaskCreds { uid, euid: uid, suid: uid, fsuid: uid, gid, egid: gid, sgid: gid, fsgid: gid, ..Default::default() },
            dumpable: true,
            levels: Default::default(),
            user_ns: 0,
            dumpable_ns: 0,
        }
    }

    #[test]
    fn same_uid_and_gid_is_visible() {
        assert!(may_read(&USER, &task(10, 1000, 1000)));
    }

    #[test]
    fn other_uid_is_hidden_from_users_but_not_from_ptrace_capable_root() {
        let t = task(10, 0, 0);
        assert!(!may_read(&USER, &t));
        assert!(may_read(&ROOT, &t));
    }

    #[test]
    fn every_uid_and_gid_must_match() {
        let mut setuid_like = task(10, 1000, 1000);
        setuid_like.creds.euid = 0; // a setuid-root program run by uid 1000
        assert!(!may_read(&USER, &setuid_like));
        let mut saved = task(10, 1000, 1000);
        saved.creds.suid = 0;
        assert!(!may_read(&USER, &saved));
        let mut setgid_like = task(10, 1000, 1000);
        setgid_like.creds.egid = 5;
        assert!(!may_read(&USER, &setgid_like));
    }

    #[test]
    fn fsuid_is_what_counts_for_the_viewer() {
        let v = Viewer { fsuid: 1000, fsgid: 1000, ..ROOT };
        let mut root_task = task(10, 0, 0);
        root_task.creds.cap_permitted = 0;
        // Root with CAP_SYS_PTRACE still sees it; without, fsuid 1000 does not match uid 0.
        assert!(may_read(&v, &root_task));
        let no_ptrace = Viewer { cap_effective: 0, ..v };
        assert!(!may_read(&no_ptrace, &root_task));
    }

    #[test]
    fn non_dumpable_is_hidden_without_cap_sys_ptrace() {
        let mut t = task(10, 1000, 1000);
        t.dumpable = false;
        assert!(!may_read(&USER, &t));
        assert!(may_read(&ROOT, &t));
    }

    #[test]
    fn a_task_with_more_capabilities_is_hidden() {
        let mut t = task(10, 1000, 1000);
        t.creds.cap_permitted = 1 << 12; // CAP_NET_ADMIN kept across setuid
        assert!(!may_read(&USER, &t));
        let with_net_admin = Viewer { cap_effective: 1 << 12, ..USER };
        assert!(may_read(&with_net_admin, &t));
    }

    #[test]
    fn own_thread_group_is_always_visible() {
        let mut own = task(USER.tgid, 0, 0);
        own.dumpable = false;
        own.creds.cap_permitted = u64::MAX;
        assert!(may_read(&USER, &own));
    }
}

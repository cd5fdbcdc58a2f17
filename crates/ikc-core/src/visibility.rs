//! "May this viewer see this task?": the kernel's `ptrace_may_access(task,
//! PTRACE_MODE_READ_FSCREDS)` as procfs applies it under `hidepid=2`
//! (`kernel/ptrace.c` `__ptrace_may_access` and `task_still_dumpable`,
//! `security/commoncap.c` `cap_ptrace_access_check`, and `cap_capable` for what
//! a capability is worth in another user namespace). Pure: takes values and a
//! lookup of user namespaces, does no I/O.
//!
//! Who applies these rules: a broker, judging for a client with the client's
//! kernel credentials. In-process, the issuing thread asks the kernel itself
//! (see `Judge`), so the kernel's own check is the answer.

use crate::caps;
use crate::task::TaskInfo;
pub use crate::caps::CAP_SYS_PTRACE;

/// The inode of the initial user namespace (`PROC_USER_INIT_INO`), fixed since Linux 3.8.
pub const INIT_USER_NS: u64 = 0xEFFF_FFFD;

/// The user namespaces nest at most this deep (`MAX_USER_NS_LEVEL`).
const MAX_USER_NS_LEVEL: u32 = 32;

/// The credentials of whoever issued a command, captured once at issue time.
/// Ids are kernel ids as seen from the initial user namespace when a broker
/// judges (it reads them from there); in-process they are never compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    /// The caller's thread-group id: its own threads are always visible.
    pub tgid: u32,
    pub fsuid: u32,
    pub fsgid: u32,
    /// The effective uid: the owner of a user namespace holds every capability
    /// in it, and ownership is by euid (`cap_capable`).
    pub euid: u32,
    /// Effective capabilities, which count in `user_ns` (and below it) only.
    pub cap_effective: u64,
    /// Inode of the user namespace of the caller's credentials.
    pub user_ns: u64,
}

impl Viewer {
    /// Whether the capability is in the effective set (it counts in `user_ns`).
    pub fn has_cap(&self, cap: u32) -> bool {
        caps::has(self.cap_effective, cap)
    }

    /// Whether the capability holds in the initial user namespace, i.e. over
    /// the whole system (what a command that is not read-only needs).
    pub fn has_cap_globally(&self, cap: u32) -> bool {
        self.user_ns == INIT_USER_NS && self.has_cap(cap)
    }

    /// `CAP_SYS_PTRACE` in the initial user namespace: every task is visible,
    /// so nothing else about the task needs to be known.
    pub fn sees_everything(&self) -> bool {
        self.has_cap_globally(CAP_SYS_PTRACE)
    }
}

/// What `cap_capable` needs to know of a user namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserNsNode {
    /// The parent's inode; 0 for the initial namespace.
    pub parent: u64,
    /// The euid (kernel id) of whoever created it: it holds every capability in it.
    pub owner: u32,
    /// 0 for the initial namespace.
    pub level: u32,
}

impl UserNsNode {
    /// The initial user namespace.
    pub const INITIAL: UserNsNode = UserNsNode { parent: 0, owner: 0, level: 0 };
}

/// Looks user namespaces up by inode; `None` when unknown (an unknown
/// namespace grants nothing).
pub trait UserNsLookup {
    fn node(&mut self, ino: u64) -> Option<UserNsNode>;
}

/// The kernel's `ns_capable(ns, cap)` for `viewer` (`cap_capable`): the
/// capability counts in the viewer's own user namespace and every one below
/// it; the owner of a namespace whose parent is the viewer's holds every
/// capability in it; nothing counts above or beside the viewer's namespace.
pub fn capable_in(viewer: &Viewer, target_ns: u64, cap: u32, users: &mut dyn UserNsLookup) -> bool {
    let Some(own) = users.node(viewer.user_ns) else { return false };
    let mut ns = target_ns;
    for _ in 0..=MAX_USER_NS_LEVEL {
        if ns == viewer.user_ns {
            return viewer.has_cap(cap);
        }
        let Some(node) = users.node(ns) else { return false };
        if node.level <= own.level {
            return false;
        }
        if node.parent == viewer.user_ns && node.owner == viewer.euid {
            return true;
        }
        ns = node.parent;
    }
    false
}

/// What the rule reads of a task, and nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// Its thread group: a viewer's own is always visible.
    pub tgid: u32,
    /// Real, effective and saved uid (kernel ids).
    pub uids: [u32; 3],
    /// Real, effective and saved gid.
    pub gids: [u32; 3],
    pub cap_permitted: u64,
    /// As `TaskInfo::dumpable`.
    pub dumpable: bool,
    /// As `TaskInfo::user_ns` and `TaskInfo::dumpable_ns` (0: not read).
    pub user_ns: u64,
    pub dumpable_ns: u64,
}

impl From<&TaskInfo> for Target {
    fn from(t: &TaskInfo) -> Target {
        let c = &t.creds;
        Target {
            tgid: t.base.tgid,
            uids: [c.uid, c.euid, c.suid],
            gids: [c.gid, c.egid, c.sgid],
            cap_permitted: c.cap_permitted,
            dumpable: t.dumpable,
            user_ns: t.user_ns,
            dumpable_ns: t.dumpable_ns,
        }
    }
}

/// The kernel's answer, in the kernel's order:
/// 1. the caller's own thread group is always readable;
/// 2. otherwise the caller's fsuid must equal the task's real, effective and saved
///    uid, and its fsgid the task's real, effective and saved gid (kernel ids),
///    unless it holds `CAP_SYS_PTRACE` over the task's user namespace;
/// 3. a non-dumpable task needs `CAP_SYS_PTRACE` over the namespace of its mm
///    (or, for a task without one, over the initial namespace);
/// 4. the task's permitted capabilities must be a subset of the caller's
///    effective ones, which only compares when both share a user namespace,
///    unless it holds `CAP_SYS_PTRACE` over the task's user namespace.
///
/// A task whose `user_ns` is 0 was read for a viewer that sees everything; it
/// is taken to be in the initial namespace.
pub fn may_read(viewer: &Viewer, task: impl Into<Target>, users: &mut dyn UserNsLookup) -> bool {
    let task: Target = task.into();
    if task.tgid == viewer.tgid {
        return true;
    }
    let task_ns = if task.user_ns == 0 { INIT_USER_NS } else { task.user_ns };
    let mut ptrace_over_task = None;
    let mut ptrace = |users: &mut dyn UserNsLookup| *ptrace_over_task.get_or_insert_with(|| capable_in(viewer, task_ns, CAP_SYS_PTRACE, users));
    let ids_match = task.uids.iter().all(|&id| id == viewer.fsuid) && task.gids.iter().all(|&id| id == viewer.fsgid);
    if !ids_match && !ptrace(users) {
        return false;
    }
    if !task.dumpable {
        let dump_ns = if task.dumpable_ns == 0 { INIT_USER_NS } else { task.dumpable_ns };
        if !capable_in(viewer, dump_ns, CAP_SYS_PTRACE, users) {
            return false;
        }
    }
    let caps_subset = viewer.user_ns == task_ns && task.cap_permitted & !viewer.cap_effective == 0;
    caps_subset || ptrace(users)
}

/// Who decides whether a task is visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judge {
    /// The issuing thread asks the kernel itself: procfs answers a task's
    /// namespace links only under `ptrace_may_access(PTRACE_MODE_READ_FSCREDS)`
    /// with the reader's own credentials, the check hidepid=2 applies. In-process use.
    Kernel,
    /// These rules, for credentials that are not the reading thread's (a broker's client).
    Rules,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::{TaskBase, TaskCreds};
    use std::collections::HashMap;

    const ALL_CAPS: u64 = 0x1ff_ffff_ffff;
    /// A user namespace made by uid 1000 (`unshare -Ur`), and one below it.
    const CHILD: u64 = 0xF000_0001;
    const GRANDCHILD: u64 = 0xF000_0002;
    /// A sibling of CHILD, made by uid 2000.
    const OTHER: u64 = 0xF000_0003;

    struct Tree(HashMap<u64, UserNsNode>);
    impl UserNsLookup for Tree {
        fn node(&mut self, ino: u64) -> Option<UserNsNode> {
            self.0.get(&ino).copied()
        }
    }
    fn tree() -> Tree {
        Tree(HashMap::from([
            (INIT_USER_NS, UserNsNode::INITIAL),
            (CHILD, UserNsNode { parent: INIT_USER_NS, owner: 1000, level: 1 }),
            (GRANDCHILD, UserNsNode { parent: CHILD, owner: 1000, level: 2 }),
            (OTHER, UserNsNode { parent: INIT_USER_NS, owner: 2000, level: 1 }),
        ]))
    }

    const USER: Viewer = Viewer { tgid: 500, fsuid: 1000, fsgid: 1000, euid: 1000, cap_effective: 0, user_ns: INIT_USER_NS };
    const ROOT: Viewer = Viewer { tgid: 501, fsuid: 0, fsgid: 0, euid: 0, cap_effective: ALL_CAPS, user_ns: INIT_USER_NS };
    /// Root inside CHILD: uid 1000 outside, every capability inside.
    const NS_ROOT: Viewer = Viewer { tgid: 502, fsuid: 1000, fsgid: 1000, euid: 1000, cap_effective: ALL_CAPS, user_ns: CHILD };

    fn task(tgid: u32, uid: u32, gid: u32) -> TaskInfo {
        TaskInfo {
            base: TaskBase { tgid, pid: tgid, ..Default::default() },
            creds: TaskCreds { uid, euid: uid, suid: uid, fsuid: uid, gid, egid: gid, sgid: gid, fsgid: gid, ..Default::default() },
            dumpable: true,
            levels: Default::default(),
            user_ns: INIT_USER_NS,
            dumpable_ns: INIT_USER_NS,
            extra: None,
        }
    }
    fn in_ns(mut t: TaskInfo, ns: u64) -> TaskInfo {
        t.user_ns = ns;
        t.dumpable_ns = ns;
        t
    }
    fn sees(v: &Viewer, t: &TaskInfo) -> bool {
        may_read(v, t, &mut tree())
    }

    #[test]
    fn same_uid_and_gid_is_visible() {
        assert!(sees(&USER, &task(10, 1000, 1000)));
    }

    #[test]
    fn other_uid_is_hidden_from_users_but_not_from_ptrace_capable_root() {
        let t = task(10, 0, 0);
        assert!(!sees(&USER, &t));
        assert!(sees(&ROOT, &t));
    }

    #[test]
    fn every_uid_and_gid_must_match() {
        let mut setuid_like = task(10, 1000, 1000);
        setuid_like.creds.euid = 0; // a setuid-root program run by uid 1000
        assert!(!sees(&USER, &setuid_like));
        let mut saved = task(10, 1000, 1000);
        saved.creds.suid = 0;
        assert!(!sees(&USER, &saved));
        let mut setgid_like = task(10, 1000, 1000);
        setgid_like.creds.egid = 5;
        assert!(!sees(&USER, &setgid_like));
    }

    #[test]
    fn fsuid_is_what_counts_for_the_viewer() {
        let v = Viewer { fsuid: 1000, fsgid: 1000, ..ROOT };
        let mut root_task = task(10, 0, 0);
        root_task.creds.cap_permitted = 0;
        // Root with CAP_SYS_PTRACE still sees it; without, fsuid 1000 does not match uid 0.
        assert!(sees(&v, &root_task));
        let no_ptrace = Viewer { cap_effective: 0, ..v };
        assert!(!sees(&no_ptrace, &root_task));
    }

    #[test]
    fn non_dumpable_is_hidden_without_cap_sys_ptrace() {
        let mut t = task(10, 1000, 1000);
        t.dumpable = false;
        assert!(!sees(&USER, &t));
        assert!(sees(&ROOT, &t));
    }

    #[test]
    fn a_task_without_an_mm_needs_cap_sys_ptrace_in_the_initial_namespace() {
        // A non-dumpable zombie of a user namespace's own: its namespace's root may not see it.
        let mut zombie = in_ns(task(10, 1000, 1000), CHILD);
        zombie.dumpable = false;
        zombie.dumpable_ns = INIT_USER_NS;
        assert!(!sees(&NS_ROOT, &zombie));
        assert!(sees(&ROOT, &zombie));
        // With an mm, CAP_SYS_PTRACE over the mm's namespace is enough.
        zombie.dumpable_ns = CHILD;
        assert!(sees(&NS_ROOT, &zombie));
    }

    #[test]
    fn a_task_with_more_capabilities_is_hidden() {
        let mut t = task(10, 1000, 1000);
        t.creds.cap_permitted = 1 << 12; // CAP_NET_ADMIN kept across setuid
        assert!(!sees(&USER, &t));
        let with_net_admin = Viewer { cap_effective: 1 << 12, ..USER };
        assert!(sees(&with_net_admin, &t));
    }

    #[test]
    fn own_thread_group_is_always_visible() {
        let mut own = task(USER.tgid, 0, 0);
        own.dumpable = false;
        own.creds.cap_permitted = u64::MAX;
        assert!(sees(&USER, &own));
    }

    #[test]
    fn root_in_a_user_namespace_is_nobody_outside_it() {
        // Its capabilities count in its namespace only: not over the host's tasks,
        // not even those of its own uid (the capability subset needs one namespace).
        assert!(!sees(&NS_ROOT, &task(10, 0, 0)));
        assert!(!sees(&NS_ROOT, &task(11, 1000, 1000)));
        assert!(!sees(&NS_ROOT, &in_ns(task(12, 2000, 2000), OTHER)));
        // Inside, and below, they count.
        assert!(sees(&NS_ROOT, &in_ns(task(13, 1000, 1000), CHILD)));
        assert!(sees(&NS_ROOT, &in_ns(task(14, 3000, 3000), CHILD)));
        assert!(sees(&NS_ROOT, &in_ns(task(15, 3000, 3000), GRANDCHILD)));
        // Without its capabilities it is an ordinary user of its namespace.
        let dropped = Viewer { cap_effective: 0, ..NS_ROOT };
        assert!(sees(&dropped, &in_ns(task(16, 1000, 1000), CHILD)));
        assert!(!sees(&dropped, &in_ns(task(17, 3000, 3000), CHILD)));
    }

    #[test]
    fn the_owner_of_a_namespace_holds_every_capability_in_it() {
        // uid 1000 in the initial namespace created CHILD: it may read every task there.
        assert!(sees(&USER, &in_ns(task(10, 3000, 3000), CHILD)));
        assert!(sees(&USER, &in_ns(task(11, 3000, 3000), GRANDCHILD)));
        // Not in a namespace someone else created, even with matching ids.
        assert!(!sees(&USER, &in_ns(task(12, 1000, 1000), OTHER)));
    }

    #[test]
    fn capabilities_count_only_at_or_below_their_namespace() {
        let mut t = tree();
        assert!(capable_in(&ROOT, GRANDCHILD, CAP_SYS_PTRACE, &mut t));
        assert!(capable_in(&NS_ROOT, GRANDCHILD, CAP_SYS_PTRACE, &mut t));
        assert!(!capable_in(&NS_ROOT, INIT_USER_NS, CAP_SYS_PTRACE, &mut t));
        assert!(!capable_in(&NS_ROOT, OTHER, CAP_SYS_PTRACE, &mut t));
        // An unknown namespace grants nothing, nor does a viewer in an unknown one.
        assert!(!capable_in(&ROOT, 0xDEAD, CAP_SYS_PTRACE, &mut t));
        assert!(!capable_in(&Viewer { user_ns: 0xDEAD, ..ROOT }, 0xDEAD + 1, CAP_SYS_PTRACE, &mut t));
        // A cycle in a (lying) lookup ends.
        let mut cyclic = Tree(HashMap::from([(INIT_USER_NS, UserNsNode::INITIAL), (1, UserNsNode { parent: 2, owner: 9, level: 5 }), (2, UserNsNode { parent: 1, owner: 9, level: 5 })]));
        assert!(!capable_in(&USER, 1, CAP_SYS_PTRACE, &mut cyclic));
    }
}

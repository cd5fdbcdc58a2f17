//! What a broker client may ask, as pure functions of the client's kernel-reported
//! credentials. The host runs these on every request; nothing a client checked
//! on its side counts.

use crate::command::CommandSpec;
use crate::error::{Error, Result};
use crate::kernel_command::Caller;

pub use crate::caps::CAP_SYS_ADMIN;

/// Read-only commands are open to every client; any other command needs
/// `CAP_SYS_ADMIN` over the whole system (in the initial user namespace: a
/// user namespace's root holds it only inside), as the client is now and as it
/// connected. (`GLOBAL` is checked against the client's own namespaces when
/// the namespace is resolved.)
pub fn may_issue(caller: &Caller, spec: &CommandSpec) -> Result<()> {
    if spec.read_only || caller.has_cap_globally(CAP_SYS_ADMIN) {
        Ok(())
    } else {
        Err(Error::PermissionDenied(format!("{} is not read-only and the client lacks CAP_SYS_ADMIN", spec.name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{Command, NsType, ResponseKind};
    use crate::ns::{NsId, NsSource};
    use crate::visibility::{Judge, Viewer, INIT_USER_NS};

    fn caller(caps: u64) -> Caller {
        let viewer = Viewer { tgid: 10, fsuid: 1000, fsgid: 1000, euid: 1000, cap_effective: caps, user_ns: INIT_USER_NS };
        Caller {
            viewer,
            connected_as: Some(viewer),
            judge: Judge::Rules,
            pid_ns: NsId { dev: 0, ino: 0 },
            levels_below_proc: 0,
            ns_source: NsSource::Process(10),
        }
    }

    const WRITE: CommandSpec = CommandSpec { command: Command::TaskDiag, name: "W", number: 99, ns_type: NsType::Pid, read_only: false, response: ResponseKind::Snapshot };
    const READ: CommandSpec = CommandSpec { read_only: true, ..WRITE };

    #[test]
    fn read_only_commands_are_open_to_all() {
        assert!(may_issue(&caller(0), &READ).is_ok());
    }

    #[test]
    fn other_commands_need_cap_sys_admin() {
        assert_eq!(may_issue(&caller(0), &WRITE).unwrap_err().code(), "EPERM");
        assert!(may_issue(&caller(1 << CAP_SYS_ADMIN), &WRITE).is_ok());
    }

    #[test]
    fn cap_sys_admin_counts_only_in_the_initial_user_namespace_and_only_if_held_at_connect() {
        let mut ns_root = caller(1 << CAP_SYS_ADMIN);
        ns_root.viewer.user_ns = 0xF000_0001;
        ns_root.connected_as = Some(ns_root.viewer);
        assert_eq!(may_issue(&ns_root, &WRITE).unwrap_err().code(), "EPERM");
        let mut risen = caller(1 << CAP_SYS_ADMIN);
        risen.connected_as = Some(Viewer { cap_effective: 0, ..risen.viewer });
        assert_eq!(may_issue(&risen, &WRITE).unwrap_err().code(), "EPERM", "a setuid exec after connect gains nothing");
    }
}

//! The command table: every command ikc knows, the namespace type it needs,
//! whether it is read-only, and the kind of fd it answers with (a sealed
//! snapshot, or a stream that keeps delivering). `issue_kernel_command`
//! consults only this table to accept or refuse a command number and to pick
//! the response path, so adding a command is one row here and its handler.

use crate::error::{Error, Result};
// Namespace types belong to `ns`; `command::NsType` keeps working.
pub use crate::ns::NsType;

/// The high bit of a command number marks it read-only (Lutomirski's proposal).
pub const READ_ONLY: u32 = 0x8000_0000;

/// Which command a number names, once validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    TaskDiag,
    SockDiag,
    LinkDump,
    AddrDump,
    LinkStats,
    TaskStats,
    ProcEvents,
}

/// The kind of fd a command answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseKind {
    /// A sealed memfd holding the whole answer (`response`).
    Snapshot,
    /// A pipe that keeps delivering netlink messages until it ends (`stream`).
    Stream,
}

impl ResponseKind {
    pub fn name(self) -> &'static str {
        match self {
            ResponseKind::Snapshot => "snapshot",
            ResponseKind::Stream => "stream",
        }
    }
}

/// One row of the command table.
#[derive(Debug, Clone, Copy)]
pub struct CommandSpec {
    pub command: Command,
    pub name: &'static str,
    /// The number without the read-only bit.
    pub number: u32,
    pub ns_type: NsType,
    pub read_only: bool,
    pub response: ResponseKind,
}

impl CommandSpec {
    /// The full command number a caller passes (with the read-only bit if the command is read-only).
    pub const fn id(&self) -> u32 {
        if self.read_only {
            self.number | READ_ONLY
        } else {
            self.number
        }
    }
}

/// `TASK_DIAG`: a task_diag dump of the processes of a pid namespace.
pub const TASK_DIAG: u32 = COMMANDS[0].id();
/// `SOCK_DIAG`: a sock_diag dump of the sockets of a network namespace.
pub const SOCK_DIAG: u32 = COMMANDS[1].id();
/// `LINK_DUMP`: an RTM_GETLINK dump of the links of a network namespace.
pub const LINK_DUMP: u32 = COMMANDS[2].id();
/// `ADDR_DUMP`: an RTM_GETADDR dump of the addresses of a network namespace.
pub const ADDR_DUMP: u32 = COMMANDS[3].id();

/// `LINK_STATS` (STATS_SUBSCRIBE for links): the links' counters of a network namespace, every interval, on a stream.
pub const LINK_STATS: u32 = COMMANDS[4].id();
/// `TASK_STATS` (STATS_SUBSCRIBE for tasks): a task_diag dump of a pid namespace, every interval, on a stream.
pub const TASK_STATS: u32 = COMMANDS[5].id();
/// `PROC_EVENTS`: the process connector's events of a pid namespace's tasks, on a stream.
pub const PROC_EVENTS: u32 = COMMANDS[6].id();

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec { command: Command::TaskDiag, name: "TASK_DIAG", number: 1, ns_type: NsType::Pid, read_only: true, response: ResponseKind::Snapshot },
    CommandSpec { command: Command::SockDiag, name: "SOCK_DIAG", number: 2, ns_type: NsType::Net, read_only: true, response: ResponseKind::Snapshot },
    CommandSpec { command: Command::LinkDump, name: "LINK_DUMP", number: 3, ns_type: NsType::Net, read_only: true, response: ResponseKind::Snapshot },
    CommandSpec { command: Command::AddrDump, name: "ADDR_DUMP", number: 4, ns_type: NsType::Net, read_only: true, response: ResponseKind::Snapshot },
    CommandSpec { command: Command::LinkStats, name: "LINK_STATS", number: 6, ns_type: NsType::Net, read_only: true, response: ResponseKind::Stream },
    CommandSpec { command: Command::TaskStats, name: "TASK_STATS", number: 7, ns_type: NsType::Pid, read_only: true, response: ResponseKind::Stream },
    CommandSpec { command: Command::ProcEvents, name: "PROC_EVENTS", number: 5, ns_type: NsType::Pid, read_only: true, response: ResponseKind::Stream },
];

/// Validates a command number: known, and carrying exactly the read-only bit its row says.
pub fn lookup(command: u32) -> Result<&'static CommandSpec> {
    let number = command & !READ_ONLY;
    let read_only_bit = command & READ_ONLY != 0;
    let spec = COMMANDS
        .iter()
        .find(|c| c.number == number)
        .ok_or_else(|| Error::invalid(format!("unknown command {command:#x}")))?;
    if spec.read_only != read_only_bit {
        return Err(Error::invalid(format!(
            "command {} must be issued {} the read-only bit ({:#x})",
            spec.name,
            if spec.read_only { "with" } else { "without" },
            spec.id()
        )));
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_diag_is_read_only_and_pid_scoped() {
        assert_eq!(TASK_DIAG, 0x8000_0001);
        let spec = lookup(TASK_DIAG).expect("known");
        assert_eq!(spec.command, Command::TaskDiag);
        assert_eq!(spec.ns_type, NsType::Pid);
    }

    #[test]
    fn net_commands_are_read_only_and_net_scoped() {
        for (id, command) in [(SOCK_DIAG, Command::SockDiag), (LINK_DUMP, Command::LinkDump), (ADDR_DUMP, Command::AddrDump)] {
            let spec = lookup(id).expect("known");
            assert_eq!((spec.command, spec.ns_type, spec.read_only), (command, NsType::Net, true));
        }
        assert_eq!((SOCK_DIAG, LINK_DUMP, ADDR_DUMP), (0x8000_0002, 0x8000_0003, 0x8000_0004));
    }

    #[test]
    fn numbers_are_unique() {
        for (i, a) in COMMANDS.iter().enumerate() {
            assert!(COMMANDS[i + 1..].iter().all(|b| b.number != a.number), "{} is numbered twice", a.name);
        }
    }

    #[test]
    fn missing_read_only_bit_is_einval() {
        for c in [1, 2, 3, 4] {
            assert_eq!(lookup(c).unwrap_err().code(), "EINVAL", "command {c:#x}");
        }
    }

    #[test]
    fn unknown_commands_are_einval() {
        for c in [0, READ_ONLY, READ_ONLY | 0x7fff_ffff, 5, READ_ONLY | 21, 6] {
            assert_eq!(lookup(c).unwrap_err().code(), "EINVAL", "command {c:#x}");
        }
    }
}

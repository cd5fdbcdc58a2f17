//! The task_diag request: an `nlmsghdr` of type `TASK_DIAG_CMD_GET` followed by
//! `struct task_diag_pid { u64 show_flags; u64 dump_strategy; u32 pid; }`
//! (24 bytes with the C struct's tail padding, which is ignored). Its size
//! follows `extensible::read_struct`. Parsing validates everything a caller can
//! get wrong; what passes is a `TaskDiagRequest` the dump can trust.

use super::TASK_DIAG_CMD_GET;
use crate::error::{Error, Result};
use crate::extensible::read_struct;
use crate::netlink::{Emitable, NetlinkHeader, NLMSG_HEADER_LEN, NLM_F_DUMP, NLM_F_REQUEST};
use crate::wire::buffer;

/// `sizeof(struct task_diag_pid)` on every ABI Linux supports (u64 alignment pads 20 to 24).
pub const TASK_DIAG_PID_LEN: usize = 24;

buffer!(
    /// A checked view of `struct task_diag_pid`, tail padding included.
    TaskDiagPidBuffer("task_diag_pid", TASK_DIAG_PID_LEN) {
        show_flags, set_show_flags: (u64, 0..8),
        dump_strategy, set_dump_strategy: (u64, 8..16),
        pid, set_pid: (u32, 16..20),
        padding, set_padding: (bytes, 20..TASK_DIAG_PID_LEN),
    }
);

/// Which tasks a dump covers (`TASK_DIAG_DUMP_*`). Exported to TypeScript as
/// the SDK's `Strategy` table (names as `--strategy` takes them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export, repr(enum), rename_all = "kebab-case"))]
pub enum Strategy {
    /// Every thread-group leader; `pid` is ignored.
    All = 0,
    /// The task `pid`.
    One = 1,
    /// Every thread; `pid` is ignored.
    AllThread = 2,
    /// The processes whose parent is `pid`.
    Children = 3,
    /// Every thread of the thread group of `pid`.
    Thread = 4,
}

impl Strategy {
    pub fn from_u64(v: u64) -> Option<Strategy> {
        Some(match v {
            0 => Strategy::All,
            1 => Strategy::One,
            2 => Strategy::AllThread,
            3 => Strategy::Children,
            4 => Strategy::Thread,
            _ => return None,
        })
    }
    /// Whether the strategy starts from the request's pid.
    pub fn needs_pid(self) -> bool {
        matches!(self, Strategy::One | Strategy::Children | Strategy::Thread)
    }
}

/// `show_flags`: which attribute groups each task message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShowFlags(pub u64);

/// Each group's bit (`ShowFlags::BASE`, ...) and the sets `SUPPORTED` and
/// `DEFINED_UNSUPPORTED` are defined by the registry (`group/`).
impl ShowFlags {
    pub fn contains(self, other: ShowFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

/// The attribute groups ikc produces, each with its `show_flags` bit. Exported
/// to TypeScript as the SDK's `Show` table (names as `--show` takes them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export, repr(enum), rename_all = "lowercase"))]
pub enum ShowGroup {
    Base = ShowFlags::BASE.0,
    Creds = ShowFlags::CRED.0,
    Stat = ShowFlags::STAT.0,
    Ps = ShowFlags::IKC_PS.0,
    Cmdline = ShowFlags::IKC_CMDLINE.0,
    Name = ShowFlags::IKC_NAME.0,
}

impl std::ops::BitOr for ShowFlags {
    type Output = ShowFlags;
    fn bitor(self, rhs: ShowFlags) -> ShowFlags {
        ShowFlags(self.0 | rhs.0)
    }
}

/// A validated request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskDiagRequest {
    pub show: ShowFlags,
    pub strategy: Strategy,
    pub pid: u32,
    /// Echoed in every response message's `nlmsg_seq`.
    pub sequence: u32,
}

impl TaskDiagRequest {
    /// Reads and validates a whole request message. `bytes` must be exactly one message.
    pub fn from_message(bytes: &[u8]) -> Result<TaskDiagRequest> {
        let (header, payload) = NetlinkHeader::parse_request(bytes).map_err(Error::malformed)?;
        // The reference selftest never sets nlmsg_type (its kernel took the
        // command from the call, as ikc does): 0, "unspecified", means this command.
        if header.message_type != TASK_DIAG_CMD_GET && header.message_type != 0 {
            return Err(Error::invalid(format!(
                "nlmsg_type {:#x} is not TASK_DIAG_CMD_GET ({TASK_DIAG_CMD_GET:#x})",
                header.message_type
            )));
        }
        let unknown_flags = header.flags & !(NLM_F_REQUEST | NLM_F_DUMP);
        if unknown_flags != 0 {
            return Err(Error::invalid(format!("unsupported nlmsg_flags bits {unknown_flags:#x}")));
        }
        // Every revision of the header has the same 24 bytes: oldest and known agree.
        let payload = read_struct("task_diag_pid", payload, TASK_DIAG_PID_LEN, TASK_DIAG_PID_LEN)?;
        // Bytes 20-23 are the struct's own padding, not a tail: ignored, as the
        // reference kernel ignores them. C leaves padding indeterminate even
        // under an initializer (`struct task_diag_pid req = { ... }`), so
        // refusing it would refuse ordinary clients; and no revision can put a
        // field there without the size telling it apart.
        let buf = TaskDiagPidBuffer::new_checked(&*payload).map_err(Error::malformed)?;
        let (show, strategy_raw, pid) = (buf.show_flags(), buf.dump_strategy(), buf.pid());

        let unknown_show = show & !(ShowFlags::SUPPORTED | ShowFlags::DEFINED_UNSUPPORTED);
        if unknown_show != 0 {
            return Err(Error::invalid(format!("unknown show_flags bits {unknown_show:#x}")));
        }
        if show & ShowFlags::DEFINED_UNSUPPORTED != 0 {
            let names = |bits: u64| super::shown(ShowFlags(bits)).map(|g| g.uapi_name).collect::<Vec<_>>().join(", ");
            return Err(Error::NotSupported(format!(
                "show_flags {:#x}: {} not implemented (only {})",
                show & ShowFlags::DEFINED_UNSUPPORTED,
                names(show & ShowFlags::DEFINED_UNSUPPORTED),
                names(ShowFlags::SUPPORTED)
            )));
        }
        let strategy = Strategy::from_u64(strategy_raw)
            .ok_or_else(|| Error::invalid(format!("unknown dump_strategy {strategy_raw}")))?;
        if strategy.needs_pid() && pid == 0 {
            return Err(Error::invalid(format!("dump_strategy {strategy:?} needs a pid")));
        }
        if pid > i32::MAX as u32 {
            return Err(Error::invalid(format!("pid {pid} is out of range")));
        }
        Ok(TaskDiagRequest { show: ShowFlags(show), strategy, pid, sequence: header.sequence })
    }

    /// Builds a request from raw numbers (as a binding receives them), refusing
    /// strategies and show bits that could never be valid on the wire.
    pub fn encode(show: u64, strategy: u64, pid: u32, sequence: u32) -> Result<Vec<u8>> {
        let strategy = Strategy::from_u64(strategy).ok_or_else(|| Error::invalid(format!("unknown dump_strategy {strategy}")))?;
        let unknown = show & !(ShowFlags::SUPPORTED | ShowFlags::DEFINED_UNSUPPORTED);
        if unknown != 0 {
            return Err(Error::invalid(format!("unknown show_flags bits {unknown:#x}")));
        }
        Ok(TaskDiagRequest { show: ShowFlags(show), strategy, pid, sequence }.to_message())
    }

    /// Encodes the request as one netlink message (what a client sends).
    pub fn to_message(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(NLMSG_HEADER_LEN + TASK_DIAG_PID_LEN);
        NetlinkHeader {
            length: (NLMSG_HEADER_LEN + TASK_DIAG_PID_LEN) as u32,
            message_type: TASK_DIAG_CMD_GET,
            flags: NLM_F_REQUEST | NLM_F_DUMP,
            sequence: self.sequence,
            port: 0,
        }
        .emit_to_vec(&mut out);
        self.emit_to_vec(&mut out);
        out
    }
}

impl Emitable for TaskDiagRequest {
    fn buffer_len(&self) -> usize {
        TASK_DIAG_PID_LEN
    }
    fn emit(&self, b: &mut [u8]) {
        let mut buf = TaskDiagPidBuffer::new_unchecked(b);
        buf.set_show_flags(self.show.0);
        buf.set_dump_strategy(self.strategy as u64);
        buf.set_pid(self.pid);
        buf.set_padding(&[0; 4]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request_bytes(show: u64, strategy: u64, pid: u32) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&40u32.to_ne_bytes()); // nlmsg_len = 16 + 24
        v.extend_from_slice(&0xd101u16.to_ne_bytes()); // nlmsg_type = TASK_DIAG_CMD_GET
        v.extend_from_slice(&0x301u16.to_ne_bytes()); // nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP
        v.extend_from_slice(&9u32.to_ne_bytes()); // nlmsg_seq
        v.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_pid
        v.extend_from_slice(&show.to_ne_bytes()); // show_flags
        v.extend_from_slice(&strategy.to_ne_bytes()); // dump_strategy
        v.extend_from_slice(&pid.to_ne_bytes()); // pid
        v.extend_from_slice(&[0; 4]); // tail padding
        v
    }

    /// The SDK's `Show` table (generated/ShowGroup.ts) names every group ikc
    /// produces, by the registry's names and bits (the cfg(test) group aside,
    /// which no build the SDK loads has).
    #[test]
    fn show_groups_are_the_supported_flags() {
        use crate::task_diag::AttributeGroup;
        let test_only = crate::task_diag::TestLevelsGroup::SPEC.show().0;
        let listed = [ShowGroup::Base, ShowGroup::Creds, ShowGroup::Stat, ShowGroup::Ps, ShowGroup::Cmdline, ShowGroup::Name];
        assert_eq!(listed.iter().fold(0, |bits, g| bits | *g as u64), ShowFlags::SUPPORTED & !test_only);
        let decl = <ShowGroup as ts_rs::TS>::decl(&ts_rs::Config::default());
        let rows: Vec<_> = crate::task_diag::groups().into_iter().filter(|g| g.implemented() && g.show().0 != test_only).collect();
        for g in &rows {
            let member = format!("\"{}\" = {}", g.name, g.show().0);
            assert!(decl.contains(&member), "{member} missing from {decl}");
        }
        assert_eq!(decl.matches(" = ").count(), rows.len());
    }

    #[test]
    fn emit_request() {
        let req = TaskDiagRequest { show: ShowFlags::BASE | ShowFlags::CRED, strategy: Strategy::Children, pid: 77, sequence: 9 };
        assert_eq!(req.to_message(), request_bytes(3, 3, 77));
    }

    #[test]
    fn parse_request() {
        let req = TaskDiagRequest::from_message(&request_bytes(1, 1, 42)).expect("valid");
        assert_eq!(req, TaskDiagRequest { show: ShowFlags::BASE, strategy: Strategy::One, pid: 42, sequence: 9 });
    }

    fn code(bytes: &[u8]) -> &'static str {
        TaskDiagRequest::from_message(bytes).unwrap_err().code()
    }

    #[test]
    fn malformed_requests_are_einval() {
        let good = request_bytes(1, 0, 0);
        assert_eq!(code(&good[..39]), "EINVAL", "truncated");
        assert_eq!(code(&good[..10]), "EINVAL", "shorter than a header");
        let mut long = good.clone();
        long.extend_from_slice(&[0; 4]);
        assert_eq!(code(&long), "EINVAL", "trailing bytes after nlmsg_len");
        let mut wrong_type = good.clone();
        wrong_type[4] = 0x02;
        assert_eq!(code(&wrong_type), "EINVAL", "nlmsg_type");
        let mut unset_type = good.clone();
        unset_type[4..6].copy_from_slice(&[0, 0]);
        assert!(TaskDiagRequest::from_message(&unset_type).is_ok(), "nlmsg_type 0, as the reference selftest sends it");
        let mut ack = good.clone();
        ack[6] |= 0x4;
        assert_eq!(code(&ack), "EINVAL", "NLM_F_ACK is not supported");
        assert_eq!(code(&request_bytes(1 << 40, 0, 0)), "EINVAL", "unknown show bit");
        assert_eq!(code(&request_bytes(1, 5, 0)), "EINVAL", "unknown strategy");
        assert_eq!(code(&request_bytes(1, 1, 0)), "EINVAL", "ONE without pid");
        assert_eq!(code(&request_bytes(1, 1, u32::MAX)), "EINVAL", "pid out of range");
    }

    /// A message whose payload is `payload` (`nlmsg_len` covers it).
    fn with_payload(payload: &[u8]) -> Vec<u8> {
        let mut v = request_bytes(1, 0, 0)[..16].to_vec();
        v[..4].copy_from_slice(&(16 + payload.len() as u32).to_ne_bytes());
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn payload_size_follows_the_extensible_struct_rule() {
        let pid = &request_bytes(3, 1, 42)[16..];
        let want = TaskDiagRequest { show: ShowFlags::BASE | ShowFlags::CRED, strategy: Strategy::One, pid: 42, sequence: 9 };
        for len in 0..TASK_DIAG_PID_LEN {
            assert_eq!(code(&with_payload(&pid[..len])), "EINVAL", "{len}-byte payload, shorter than the struct");
        }
        assert_eq!(TaskDiagRequest::from_message(&with_payload(pid)), Ok(want), "exact");
        for extra in 1..=16 {
            let mut long = pid.to_vec();
            long.resize(TASK_DIAG_PID_LEN + extra, 0);
            assert_eq!(TaskDiagRequest::from_message(&with_payload(&long)), Ok(want), "{extra} zero bytes past the struct");
            for at in 0..extra {
                let mut dirty = long.clone();
                dirty[TASK_DIAG_PID_LEN + at] = 1;
                assert_eq!(code(&with_payload(&dirty)), "E2BIG", "byte {at} of a {extra}-byte tail");
            }
        }
    }

    #[test]
    fn a_request_sized_as_the_reference_selftest_sizes_it_is_accepted() {
        // task_diag_all.c: nlmsg_len = nlmsg_total_size(0) + nla_total_size(sizeof(*req)) = 16 + 28.
        let mut selftest = request_bytes(1, 2, 0);
        selftest[..4].copy_from_slice(&44u32.to_ne_bytes());
        selftest.extend_from_slice(&[0; 4]);
        assert_eq!(selftest.len(), 44);
        let req = TaskDiagRequest::from_message(&selftest).expect("zeroed selftest request");
        assert_eq!((req.show, req.strategy), (ShowFlags::BASE, Strategy::AllThread));
    }

    #[test]
    fn the_struct_s_own_padding_is_ignored() {
        for at in 20..TASK_DIAG_PID_LEN {
            let mut b = request_bytes(1, 0, 0);
            b[16 + at] = 0xff;
            assert_eq!(TaskDiagRequest::from_message(&b).map(|r| r.strategy), Ok(Strategy::All), "padding byte {at}");
        }
    }

    #[test]
    fn defined_but_unimplemented_groups_are_eopnotsupp() {
        assert_eq!(code(&request_bytes(1 << super::super::TASK_DIAG_VMA, 0, 0)), "EOPNOTSUPP");
    }

    #[test]
    fn all_ignores_pid() {
        let req = TaskDiagRequest::from_message(&request_bytes(1, 0, 1234)).expect("valid");
        assert_eq!(req.strategy, Strategy::All);
    }
}

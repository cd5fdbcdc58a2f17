//! The registry of task_diag attribute groups: one row per show bit the uapi
//! header defines, and one file per group ikc produces. A group implements
//! `AttributeGroup` (rust-netlink's `Nla`, over a task record: kind, show bit,
//! length and emit through its `Value`, parse, which backends fill it); the
//! request's accepted bits, the message codec and the dump iterate the
//! registry below and never name a group. Adding a group is its file and its
//! line in `registry!`.
//!
//! A show bit need not be an attribute of its own: in the header `VMA_STAT`
//! adds statistics to each record of the `VMA` attribute. Such a bit is a row
//! with `modifies` set, and the group it modifies reads it from the request
//! (`AttributeGroup::of_task` gets the whole request).

mod defined;

use std::fmt::Debug;

use super::{ShowFlags, Strategy, TaskDiagRequest};
use crate::backend::procfs::Wants;
use crate::backend::Backend;
use crate::netlink::Emitable;
use crate::task::TaskInfo;
use crate::wire::DecodeError;

/// One row of the registry: what the SDK, the CLI and the C header derive
/// their tables from (the binding's `attributeGroups()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupSpec {
    /// What the SDK and CLI call it (`"base"`, `"creds"`).
    pub name: &'static str,
    /// Its name in the uapi header (`"TASK_DIAG_CRED"`).
    pub uapi_name: &'static str,
    /// The header's number: the `nla_type` of its attribute, and its bit
    /// `1 << kind` in `show_flags` (so 0..=63).
    pub kind: u16,
    /// `None`: an attribute of its own. `Some(k)`: no attribute; the show bit
    /// changes the records of group `k` (`VMA_STAT` in `VMA`).
    pub modifies: Option<u16>,
    /// The backends that fill it. Empty: the header defines it but ikc does
    /// not produce it, and asking for it is `EOPNOTSUPP`.
    pub backends: &'static [Backend],
}

impl GroupSpec {
    /// Its bit in `show_flags`.
    pub const fn show(&self) -> ShowFlags {
        ShowFlags(1 << self.kind)
    }

    pub const fn implemented(&self) -> bool {
        !self.backends.is_empty()
    }

    /// Whether `backend` fills it.
    pub fn filled_by(&self, backend: Backend) -> bool {
        self.backends.contains(&backend)
    }
}

/// Both backends: every record either one reads carries the data.
pub const EVERY_BACKEND: &[Backend] = &[Backend::Procfs, Backend::Bpf];

/// One attribute group ikc produces.
pub trait AttributeGroup {
    /// Its registry row (`SPEC.modifies` is `None`: it has an attribute).
    const SPEC: GroupSpec;
    /// The attribute's owned form: what a reader gets, and what is written
    /// (its `Emitable` length and emit are the attribute's payload).
    type Value: Emitable + Clone + Debug + PartialEq + Eq;
    /// What the group reports of `task` for `request` (whose other show bits
    /// may change it); `None`: nothing for this task, no attribute.
    fn of_task(task: &TaskInfo, request: &TaskDiagRequest) -> Option<Self::Value>;
    /// Reads the attribute's payload.
    fn parse(payload: &[u8]) -> Result<Self::Value, DecodeError>;
    /// What the procfs backend must read for this group beyond `status`
    /// (BASE and CREDS need nothing more).
    fn wants(_wants: &mut Wants) {}
    /// Appends `value` as its attributes: one, or for a value longer than one
    /// message can carry, several in a row (`MAX_PIECE` bytes each but the
    /// last) that a reader joins, as the reference splits VMA lists.
    fn push_pieces(value: Self::Value, out: &mut Vec<TaskAttribute>, wrap: fn(Self::Value) -> TaskAttribute) {
        out.push(wrap(value));
    }
}

/// The longest payload of an attribute that always fits a message of its
/// own: `MAX_TASK_MESSAGE_LEN` less the `nlmsghdr`, `task_diag_msg` and `nlattr`.
pub const MAX_PIECE: usize = super::MAX_TASK_MESSAGE_LEN - crate::netlink::NLMSG_HEADER_LEN - super::TASK_DIAG_MSG_LEN - crate::netlink::NLA_HEADER_LEN;

/// The registry. `groups`: `module::Group => Variant`, in `kind` order, one
/// per file of this folder (the module is declared and its items re-exported
/// here; `Variant` is the group's `TaskAttribute`). `rows`: the rows with no
/// codec of their own (`defined.rs`): groups the header defines that ikc does
/// not produce, and show bits that modify another group.
macro_rules! registry {
    (
        groups { $( $(#[$attr:meta])* $module:ident :: $group:ident => $variant:ident, )* }
        rows [ $( $row:path ),* $(,)? ]
    ) => {
        $( $(#[$attr])* mod $module; )*
        $( $(#[$attr])* pub use $module::*; )*

        /// One attribute of a task message, as read: one variant per group
        /// ikc knows, and `Other` for any type it does not, so that a newer
        /// producer does not break an older reader.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum TaskAttribute {
            $( $(#[$attr])* $variant(<$group as AttributeGroup>::Value), )*
            Other(u16, Vec<u8>),
        }

        /// Every row, the groups ikc produces first.
        pub const GROUPS: &[GroupSpec] = &[ $( $(#[$attr])* <$group as AttributeGroup>::SPEC, )* $( $row, )* ];

        impl TaskAttribute {
            /// Its `nla_type`.
            pub fn kind(&self) -> u16 {
                match self {
                    $( $(#[$attr])* TaskAttribute::$variant(_) => <$group as AttributeGroup>::SPEC.kind, )*
                    TaskAttribute::Other(kind, _) => *kind,
                }
            }

            /// The payload's length.
            pub fn value_len(&self) -> usize {
                match self {
                    $( $(#[$attr])* TaskAttribute::$variant(v) => v.buffer_len(), )*
                    TaskAttribute::Other(_, bytes) => bytes.len(),
                }
            }

            /// Writes the payload into `value_len()` bytes.
            pub fn emit_value(&self, buffer: &mut [u8]) {
                match self {
                    $( $(#[$attr])* TaskAttribute::$variant(v) => v.emit(buffer), )*
                    TaskAttribute::Other(_, bytes) => buffer.copy_from_slice(bytes),
                }
            }

            /// Reads an attribute's payload by its type.
            pub fn parse(kind: u16, payload: &[u8]) -> Result<TaskAttribute, DecodeError> {
                $( $(#[$attr])* {
                    if kind == <$group as AttributeGroup>::SPEC.kind {
                        return <$group as AttributeGroup>::parse(payload).map(TaskAttribute::$variant);
                    }
                } )*
                Ok(TaskAttribute::Other(kind, payload.to_vec()))
            }
        }

        /// Appends the attributes `request` shows for `task`, in registry order.
        pub(crate) fn attributes_of(task: &TaskInfo, request: &TaskDiagRequest, out: &mut Vec<TaskAttribute>) {
            $( $(#[$attr])* {
                if request.show.contains(<$group as AttributeGroup>::SPEC.show()) {
                    if let Some(value) = <$group as AttributeGroup>::of_task(task, request) {
                        <$group as AttributeGroup>::push_pieces(value, out, TaskAttribute::$variant);
                    }
                }
            } )*
        }

        /// What the procfs backend reads for `request`: what its groups want.
        pub(crate) fn wants(request: &TaskDiagRequest) -> Wants {
            let mut wants = Wants { per_thread: matches!(request.strategy, Strategy::AllThread | Strategy::Thread), ..Wants::default() };
            $( $(#[$attr])* {
                if request.show.contains(<$group as AttributeGroup>::SPEC.show()) {
                    <$group as AttributeGroup>::wants(&mut wants);
                }
            } )*
            wants
        }
    };
}

registry! {
    groups {
        base::Base => Base,
        creds::Creds => Creds,
        stat::Stat => Stat,
        ps::Ps => Ps,
        cmdline::Cmdline => Cmdline,
        name::Name => Name,
        #[cfg(test)]
        test_levels::TestLevelsGroup => TestLevels,
    }
    rows [defined::VMA, defined::VMA_STAT]
}

pub use defined::{TASK_DIAG_VMA, TASK_DIAG_VMA_STAT};

/// The `show_flags` bits of the rows that are (or are not) implemented.
const fn mask(implemented: bool) -> u64 {
    let (mut bits, mut i) = (0, 0);
    while i < GROUPS.len() {
        if GROUPS[i].implemented() == implemented {
            bits |= GROUPS[i].show().0;
        }
        i += 1;
    }
    bits
}

impl ShowFlags {
    /// Groups ikc implements.
    pub const SUPPORTED: u64 = mask(true);
    /// Groups the uapi header defines but ikc does not (yet) produce.
    pub const DEFINED_UNSUPPORTED: u64 = mask(false);
}

/// The registry's rows ordered by `kind`, as the header numbers them.
pub fn groups() -> Vec<GroupSpec> {
    let mut rows = GROUPS.to_vec();
    rows.sort_by_key(|g| g.kind);
    rows
}

/// The row of type `kind`.
pub fn group_of_kind(kind: u16) -> Option<&'static GroupSpec> {
    GROUPS.iter().find(|g| g.kind == kind)
}

/// The rows a `show_flags` value selects.
pub fn shown(show: ShowFlags) -> impl Iterator<Item = &'static GroupSpec> {
    GROUPS.iter().filter(move |g| show.contains(g.show()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task_diag::TASK_DIAG_IKC_FIRST;

    #[test]
    fn every_row_has_its_own_bit_below_64() {
        let mut seen = 0u64;
        for g in GROUPS {
            assert!(g.kind < 64, "{} is type {}: show_flags has 64 bits", g.name, g.kind);
            assert_eq!(seen & g.show().0, 0, "{} shares its bit", g.name);
            seen |= g.show().0;
            if let Some(k) = g.modifies {
                assert!(GROUPS.iter().any(|m| m.kind == k && m.modifies.is_none()), "{} modifies no group", g.name);
            }
        }
        assert_eq!(ShowFlags::SUPPORTED & ShowFlags::DEFINED_UNSUPPORTED, 0);
        assert_eq!(ShowFlags::SUPPORTED | ShowFlags::DEFINED_UNSUPPORTED, seen);
    }

    #[test]
    fn the_rows_are_the_headers() {
        let rows: Vec<_> = groups().iter().map(|g| (g.kind, g.uapi_name, g.implemented())).collect();
        assert_eq!(
            &rows[..5],
            [
                (0, "TASK_DIAG_BASE", true),
                (1, "TASK_DIAG_CRED", true),
                (2, "TASK_DIAG_VMA", false),
                (3, "TASK_DIAG_VMA_STAT", false),
                (4, "TASK_DIAG_STAT", true)
            ]
        );
        assert_eq!((ShowFlags::SUPPORTED & 0xff, ShowFlags::DEFINED_UNSUPPORTED), (0x13, 0xc));
    }

    /// The C header C programs build against numbers the groups as the registry does.
    #[test]
    fn the_c_header_agrees_with_the_registry() {
        let header = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../include/ikc/task_diag.h")).expect("task_diag.h");
        let start = header.find("TASK_DIAG_BASE = 0,").expect("the attribute enum");
        let names: Vec<&str> = header[start..].split(',').map(|n| n.trim().trim_end_matches(" = 0")).take_while(|n| !n.starts_with("__")).collect();
        // Every row the reference numbers (0..31) in its enum; ikc's (32..62)
        // each `= type` in ikc's; not the test-only group (type 63), which no header has.
        let rows: Vec<&str> = groups().iter().filter(|g| g.kind < TASK_DIAG_IKC_FIRST).map(|g| g.uapi_name).collect();
        assert_eq!(names, rows, "enum order is the kinds");
        for g in groups().iter().filter(|g| g.kind < 63) {
            let show = format!("#define {} (1ULL << {})", g.uapi_name.replace("TASK_DIAG_", "TASK_DIAG_SHOW_"), g.uapi_name);
            assert!(header.contains(&show), "{show}");
            if g.kind >= TASK_DIAG_IKC_FIRST {
                let entry = format!("\t{} = {},", g.uapi_name, g.kind);
                assert!(header.contains(&entry), "{entry}");
            }
        }
    }
}

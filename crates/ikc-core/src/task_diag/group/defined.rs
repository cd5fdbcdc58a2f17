//! The rows of the registry with no codec in ikc: attribute groups the uapi
//! header defines that ikc does not produce (asking for them is `EOPNOTSUPP`),
//! and the show bit that adds statistics to another group's records.

use super::GroupSpec;

/// `TASK_DIAG_VMA`: the task's memory mappings, one `struct task_diag_vma` each.
pub const TASK_DIAG_VMA: u16 = 2;
/// `TASK_DIAG_VMA_STAT`: a show bit, no attribute: each VMA record then
/// embeds its `struct task_diag_vma_stat` (`stat_off`, `stat_len`).
pub const TASK_DIAG_VMA_STAT: u16 = 3;

pub const VMA: GroupSpec = GroupSpec { name: "vma", uapi_name: "TASK_DIAG_VMA", kind: TASK_DIAG_VMA, modifies: None, backends: &[] };
pub const VMA_STAT: GroupSpec =
    GroupSpec { name: "vma-stat", uapi_name: "TASK_DIAG_VMA_STAT", kind: TASK_DIAG_VMA_STAT, modifies: Some(TASK_DIAG_VMA), backends: &[] };

//! Linux capabilities: the numbers ikc checks and the `capget`/`capset` calls,
//! in one place for the visibility rule, the broker's policy and identity
//! reads, the network worker that drops `CAP_NET_ADMIN`, the BPF backend's
//! privilege check and the sandbox. The calls touch only the stack, so the
//! sandbox may use them between fork and exec.

use nix::errno::Errno;

/// `CAP_KILL`: signals any process (the broker's liveness check must not need it).
pub const CAP_KILL: u32 = 5;
/// `CAP_NET_ADMIN`: the kernel shows TCP-MD5 keys and socket marks only to it.
pub const CAP_NET_ADMIN: u32 = 12;
/// `CAP_SYS_PTRACE`: reads any task (the hidepid=2 / ptrace-read override).
pub const CAP_SYS_PTRACE: u32 = 19;
/// `CAP_SYS_ADMIN`: commands that are not read-only; loading BPF programs.
pub const CAP_SYS_ADMIN: u32 = 21;
/// `CAP_PERFMON`: with `CAP_BPF`, loading tracing BPF programs.
pub const CAP_PERFMON: u32 = 38;
/// `CAP_BPF`.
pub const CAP_BPF: u32 = 39;

/// Whether capability `cap` is in the 64-bit set `set` (bit `cap`, as
/// `/proc/PID/status` and task_diag print them).
pub const fn has(set: u64, cap: u32) -> bool {
    cap < 64 && set & (1u64 << cap) != 0
}

/// The capability sets of one thread, 64 bits each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CapSets {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
}

impl CapSets {
    /// The same sets with `cap` cleared from all three.
    pub fn without(self, cap: u32) -> CapSets {
        let keep = !(1u64.checked_shl(cap).unwrap_or(0));
        CapSets { effective: self.effective & keep, permitted: self.permitted & keep, inheritable: self.inheritable & keep }
    }
}

/// `struct __user_cap_header_struct`.
#[repr(C)]
struct Header {
    version: u32,
    pid: i32,
}

/// `struct __user_cap_data_struct`: version 3 passes two, for capabilities 0–31 and 32–63.
#[repr(C)]
#[derive(Default, Clone, Copy)]
struct Data {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

fn join(lo: u32, hi: u32) -> u64 {
    u64::from(lo) | (u64::from(hi) << 32)
}

/// The capability sets of thread `pid` (0: the calling thread), `capget(2)`:
/// the objective credentials `/proc/PID/status` prints.
pub fn get(pid: u32) -> Result<CapSets, Errno> {
    let mut header = Header { version: LINUX_CAPABILITY_VERSION_3, pid: pid as i32 };
    let mut data = [Data::default(); 2];
    // SAFETY: version 3 fills two `Data` entries; both structs match <linux/capability.h>.
    let rc = unsafe { nix::libc::syscall(nix::libc::SYS_capget, &mut header as *mut Header, data.as_mut_ptr()) };
    if rc != 0 {
        return Err(Errno::last());
    }
    Ok(CapSets {
        effective: join(data[0].effective, data[1].effective),
        permitted: join(data[0].permitted, data[1].permitted),
        inheritable: join(data[0].inheritable, data[1].inheritable),
    })
}

/// Sets the calling thread's capability sets (`capset(2)`; capabilities are per thread).
pub fn set(sets: CapSets) -> Result<(), Errno> {
    let mut header = Header { version: LINUX_CAPABILITY_VERSION_3, pid: 0 };
    let word = |v: u64, i: usize| (v >> (32 * i)) as u32;
    let data: [Data; 2] = std::array::from_fn(|i| Data {
        effective: word(sets.effective, i),
        permitted: word(sets.permitted, i),
        inheritable: word(sets.inheritable, i),
    });
    // SAFETY: version 3 reads two `Data` entries; pid 0 is the calling thread.
    let rc = unsafe { nix::libc::syscall(nix::libc::SYS_capset, &mut header as *mut Header, data.as_ptr()) };
    if rc != 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// Clears `cap` from the calling thread's effective set (the permitted set keeps it).
pub fn drop_effective(cap: u32) -> Result<(), Errno> {
    let sets = get(0)?;
    set(CapSets { effective: sets.without(cap).effective, ..sets })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_are_numbered_as_proc_prints_them() {
        // CapEff of a process holding CAP_NET_ADMIN and CAP_BPF.
        let eff = (1 << 12) | (1 << 39);
        assert!(has(eff, CAP_NET_ADMIN) && has(eff, CAP_BPF));
        assert!(!has(eff, CAP_SYS_ADMIN) && !has(eff, 64));
        let all = CapSets { effective: u64::MAX, permitted: u64::MAX, inheritable: 1 << 21 };
        assert_eq!(all.without(CAP_SYS_ADMIN), CapSets { effective: !(1 << 21), permitted: !(1 << 21), inheritable: 0 });
    }

    #[test]
    fn capget_agrees_with_proc() {
        let status = std::fs::read_to_string("/proc/thread-self/status").expect("status");
        let field = |name: &str| {
            let v = status.lines().find_map(|l| l.strip_prefix(name)).expect("field");
            u64::from_str_radix(v.trim(), 16).expect("hex")
        };
        let sets = get(0).expect("capget");
        assert_eq!((sets.effective, sets.permitted, sets.inheritable), (field("CapEff:"), field("CapPrm:"), field("CapInh:")));
    }
}

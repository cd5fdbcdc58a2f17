//! Namespace handles: the `ns` argument of `issue_kernel_command`. A real
//! namespace fd is checked with the `NS_GET_NSTYPE` ioctl; the sentinels name the
//! caller's current namespaces or the initial one (`GLOBAL`).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg};
use nix::sys::stat::{fstat, stat};

use crate::command::NsType;
use crate::error::{Error, Result};

/// The caller's own pid namespace.
pub const CURRENT_PIDNS: i32 = -2;
/// The caller's own network namespace.
pub const CURRENT_NETNS: i32 = -3;
/// The initial namespace of the command's type; refused outside it.
pub const GLOBAL: i32 = -4;

/// The inode number the kernel gives the initial pid namespace (`PROC_PID_INIT_INO`).
pub const PROC_PID_INIT_INO: u64 = 0xEFFF_FFFC;

nix::ioctl_none!(ns_get_nstype, 0xb7, 0x3);

/// A namespace's identity: nsfs device and inode, as `stat` on its fd reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NsId {
    pub dev: u64,
    pub ino: u64,
}

/// The `ns` argument, parsed. An fd is duplicated at once, so the call holds its
/// own reference and never touches a number the caller may close and reuse.
#[derive(Debug)]
pub enum NsSelector {
    Fd(OwnedFd),
    CurrentPid,
    CurrentNet,
    Global,
}

impl NsSelector {
    pub fn from_raw(ns: i32) -> Result<NsSelector> {
        match ns {
            CURRENT_PIDNS => Ok(NsSelector::CurrentPid),
            CURRENT_NETNS => Ok(NsSelector::CurrentNet),
            GLOBAL => Ok(NsSelector::Global),
            fd if fd < 0 => Err(Error::BadFd(fd)),
            fd => {
                // SAFETY: fd is non-negative and borrowed only for this fcntl; if the
                // number is not open the kernel answers EBADF and nothing else happens.
                let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
                match fcntl(borrowed, FcntlArg::F_DUPFD_CLOEXEC(3)) {
                    // SAFETY: F_DUPFD_CLOEXEC returned a new fd that nothing else owns.
                    Ok(dup) => Ok(NsSelector::Fd(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(dup) })),
                    Err(Errno::EBADF) => Err(Error::BadFd(fd)),
                    Err(e) => Err(Error::os("dup namespace fd", e)),
                }
            }
        }
    }
}

/// A namespace a command will run in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Namespace {
    pub ns_type: NsType,
    pub id: NsId,
}

fn ns_id_of_path(path: &str) -> Result<NsId> {
    let st = stat(path).map_err(|e| Error::os(format!("stat {path}"), e))?;
    Ok(NsId { dev: st.st_dev, ino: st.st_ino })
}

/// The calling process's namespace of a type.
pub fn current(ns_type: NsType) -> Result<NsId> {
    ns_id_of_path(&format!("/proc/thread-self/ns/{}", ns_type.name()))
}

/// Whether `id` is the initial namespace of its type.
pub fn is_initial(ns_type: NsType, id: NsId) -> Result<bool> {
    match ns_type {
        NsType::Pid => Ok(id.ino == PROC_PID_INIT_INO),
        // The initial network namespace has no fixed inode; it is the one of pid 1
        // in the initial pid namespace, which only a caller there can name.
        NsType::Net => {
            if current(NsType::Pid)?.ino != PROC_PID_INIT_INO {
                return Ok(false);
            }
            Ok(ns_id_of_path("/proc/1/ns/net")? == id)
        }
    }
}

/// Resolves the selector for a command that needs `want`. Type mismatches and
/// fds that are not namespaces are `EINVAL`; `GLOBAL` outside the initial
/// namespace is `EPERM`.
pub fn resolve(selector: &NsSelector, want: NsType) -> Result<Namespace> {
    let mismatch = |got: &str| Error::invalid(format!("command needs a {} namespace, got {got}", want.name()));
    let id = match selector {
        NsSelector::CurrentPid if want == NsType::Pid => current(want)?,
        NsSelector::CurrentNet if want == NsType::Net => current(want)?,
        NsSelector::CurrentPid => return Err(mismatch("CURRENT_PIDNS")),
        NsSelector::CurrentNet => return Err(mismatch("CURRENT_NETNS")),
        NsSelector::Global => {
            let id = current(want)?;
            if !is_initial(want, id)? {
                return Err(Error::PermissionDenied(format!(
                    "GLOBAL names the initial {} namespace, and the caller is not in it",
                    want.name()
                )));
            }
            id
        }
        NsSelector::Fd(fd) => {
            use std::os::fd::AsRawFd;
            // SAFETY: NS_GET_NSTYPE takes no argument and only reads the fd's type.
            let kind = match unsafe { ns_get_nstype(fd.as_raw_fd()) } {
                Ok(kind) => kind,
                Err(Errno::ENOTTY | Errno::EINVAL) => return Err(Error::invalid("fd is not a namespace")),
                Err(e) => return Err(Error::os("NS_GET_NSTYPE", e)),
            };
            if kind != want.clone_flag() {
                return Err(mismatch(&format!("a namespace of type {kind:#x}")));
            }
            let st = fstat(fd.as_fd()).map_err(|e| Error::os("fstat namespace fd", e))?;
            NsId { dev: st.st_dev, ino: st.st_ino }
        }
    };
    Ok(Namespace { ns_type: want, id })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentinels_and_bad_numbers() {
        assert!(matches!(NsSelector::from_raw(CURRENT_PIDNS), Ok(NsSelector::CurrentPid)));
        assert!(matches!(NsSelector::from_raw(GLOBAL), Ok(NsSelector::Global)));
        assert_eq!(NsSelector::from_raw(-1).unwrap_err().code(), "EBADF");
        assert_eq!(NsSelector::from_raw(-77).unwrap_err().code(), "EBADF");
        assert_eq!(NsSelector::from_raw(1_000_000).unwrap_err().code(), "EBADF");
    }

    #[test]
    fn current_pid_ns_matches_its_proc_link() {
        let sel = NsSelector::from_raw(CURRENT_PIDNS).expect("sentinel");
        let ns = resolve(&sel, NsType::Pid).expect("resolves");
        let fd = std::fs::File::open("/proc/self/ns/pid").expect("open ns");
        use std::os::fd::AsRawFd;
        let by_fd = resolve(&NsSelector::from_raw(fd.as_raw_fd()).expect("dup"), NsType::Pid).expect("resolves");
        assert_eq!(ns, by_fd);
    }

    #[test]
    fn wrong_types_are_einval() {
        let sel = NsSelector::from_raw(CURRENT_NETNS).expect("sentinel");
        assert_eq!(resolve(&sel, NsType::Pid).unwrap_err().code(), "EINVAL");
        let net = std::fs::File::open("/proc/self/ns/net").expect("open ns");
        use std::os::fd::AsRawFd;
        let sel = NsSelector::from_raw(net.as_raw_fd()).expect("dup");
        assert_eq!(resolve(&sel, NsType::Pid).unwrap_err().code(), "EINVAL");
        let file = std::fs::File::open("/proc/self/stat").expect("open file");
        let sel = NsSelector::from_raw(file.as_raw_fd()).expect("dup");
        assert_eq!(resolve(&sel, NsType::Pid).unwrap_err().code(), "EINVAL");
    }
}

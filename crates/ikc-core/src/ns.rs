//! Namespaces: their types (`NsType`, which a command names in its table row)
//! and handles, the `ns` argument of `issue_kernel_command`. A real namespace
//! fd is checked with the `NS_GET_NSTYPE` ioctl; the sentinels name the
//! caller's current namespaces or the initial one (`GLOBAL`).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg};
use nix::sys::stat::{fstat, stat};

use crate::error::{Error, Result};

/// The kind of namespace a command is scoped to; its fd (or `CURRENT_*`) must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NsType {
    Pid,
    Net,
}

impl NsType {
    /// The `CLONE_NEW*` value that `NS_GET_NSTYPE` returns for this type.
    pub fn clone_flag(self) -> i32 {
        match self {
            NsType::Pid => nix::libc::CLONE_NEWPID,
            NsType::Net => nix::libc::CLONE_NEWNET,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            NsType::Pid => "pid",
            NsType::Net => "net",
        }
    }
}

/// The caller's own pid namespace.
pub const CURRENT_PIDNS: i32 = -2;
/// The caller's own network namespace.
pub const CURRENT_NETNS: i32 = -3;
/// The initial namespace of the command's type; refused outside it.
pub const GLOBAL: i32 = -4;

/// The inode number the kernel gives the initial pid namespace (`PROC_PID_INIT_INO`).
pub const PROC_PID_INIT_INO: u64 = 0xEFFF_FFFC;
/// The inode of the initial network namespace since Linux 6.18 (`PROC_NET_INIT_INO`);
/// namespaces made later are numbered from 0xF000_0000 up.
pub const PROC_NET_INIT_INO: u64 = 0xEFFF_FFF9;

nix::ioctl_none!(ns_get_parent, 0xb7, 0x2);
nix::ioctl_none!(ns_get_nstype, 0xb7, 0x3);
// `_IOR(NSIO, 0x6, int)`, though the pid is passed by value and returned as the result.
nix::ioctl_write_int_bad!(ns_get_pid_from_pidns, nix::request_code_read!(0xb7, 0x6, std::mem::size_of::<i32>()));

/// A namespace's identity: nsfs device and inode, as `stat` on its fd reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

/// A namespace a command will run in, held open.
#[derive(Debug)]
pub struct Namespace {
    pub ns_type: NsType,
    pub id: NsId,
    pub fd: OwnedFd,
}

fn ns_id_of_path(path: &str) -> Result<NsId> {
    let st = stat(path).map_err(|e| Error::os(format!("stat {path}"), e))?;
    Ok(NsId { dev: st.st_dev, ino: st.st_ino })
}

/// The identity of an open namespace.
pub fn id_of(fd: &OwnedFd) -> Result<NsId> {
    let st = fstat(fd.as_fd()).map_err(|e| Error::os("fstat namespace fd", e))?;
    Ok(NsId { dev: st.st_dev, ino: st.st_ino })
}

/// Whose namespaces `CURRENT_*` and `GLOBAL` refer to: the calling thread's
/// (in-process use), or another process's (a broker answering a client).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NsSource {
    ThisThread,
    /// A process, by pid as procfs numbers it. The broker checks, with a pidfd it
    /// holds, that the pid still names its client after opening.
    Process(u32),
}

impl NsSource {
    /// Opens this source's namespace of a type.
    pub fn open(self, ns_type: NsType) -> Result<OwnedFd> {
        let path = self.path(ns_type);
        nix::fcntl::open(path.as_str(), nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty())
            .map_err(|e| Error::os(format!("open {path}"), e))
    }

    /// The identity of the namespace, with one stat and no fd.
    pub fn id(self, ns_type: NsType) -> Result<NsId> {
        ns_id_of_path(&self.path(ns_type))
    }

    /// Opens the source's user namespace.
    pub fn open_user_ns(self) -> Result<OwnedFd> {
        let path = self.user_ns_path();
        nix::fcntl::open(path.as_str(), nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty())
            .map_err(|e| Error::os(format!("open {path}"), e))
    }

    fn user_ns_path(self) -> String {
        match self {
            NsSource::ThisThread => "/proc/thread-self/ns/user".to_string(),
            NsSource::Process(pid) => format!("/proc/{pid}/ns/user"),
        }
    }

    fn path(self, ns_type: NsType) -> String {
        match self {
            NsSource::ThisThread => format!("/proc/thread-self/ns/{}", ns_type.name()),
            NsSource::Process(pid) => format!("/proc/{pid}/ns/{}", ns_type.name()),
        }
    }
}

/// The parent of a pid (or user) namespace; `None` at the top of what the
/// caller may see (`EPERM`) or of the hierarchy.
pub fn parent(fd: &OwnedFd) -> Result<Option<OwnedFd>> {
    use std::os::fd::{AsRawFd, FromRawFd};
    // SAFETY: NS_GET_PARENT takes no argument and returns a new fd (O_CLOEXEC) we own.
    match unsafe { ns_get_parent(fd.as_raw_fd()) } {
        Ok(raw) => Ok(Some(unsafe { OwnedFd::from_raw_fd(raw) })),
        Err(Errno::EPERM | Errno::ENOENT) => Ok(None),
        Err(e) => Err(Error::os("NS_GET_PARENT", e)),
    }
}

/// How many levels `ns` sits below the namespace `ancestor`; `None` if it is not
/// `ancestor` or one of its descendants.
pub fn depth_below(ns: &OwnedFd, ancestor: NsId) -> Result<Option<usize>> {
    let mut depth = 0;
    let mut current = None::<OwnedFd>;
    loop {
        let fd = current.as_ref().unwrap_or(ns);
        if id_of(fd)? == ancestor {
            return Ok(Some(depth));
        }
        match parent(fd)? {
            Some(p) => current = Some(p),
            None => return Ok(None),
        }
        depth += 1;
    }
}

/// The namespace `up` levels above `ns` (0 = `ns` itself); `None` past the top.
pub fn ancestor(ns: OwnedFd, up: usize) -> Result<Option<OwnedFd>> {
    let mut fd = ns;
    for _ in 0..up {
        match parent(&fd)? {
            Some(p) => fd = p,
            None => return Ok(None),
        }
    }
    Ok(Some(fd))
}

/// Translates `pid`, numbered in the pid namespace `ns`, into the caller's own
/// numbering (`NS_GET_PID_FROM_PIDNS`, Linux 6.11+). `Ok(None)`: no such task
/// there; `Err(NotSupported)`: the kernel lacks the ioctl.
pub fn pid_from_pidns(ns: &OwnedFd, pid: u32) -> Result<Option<u32>> {
    use std::os::fd::AsRawFd;
    // SAFETY: the ioctl reads the pid argument by value and returns an int.
    match unsafe { ns_get_pid_from_pidns(ns.as_raw_fd(), pid as i32) } {
        Ok(p) if p > 0 => Ok(Some(p as u32)),
        Ok(_) | Err(Errno::ESRCH) => Ok(None),
        Err(Errno::ENOTTY | Errno::EINVAL) => Err(Error::NotSupported("NS_GET_PID_FROM_PIDNS".into())),
        Err(e) => Err(Error::os("NS_GET_PID_FROM_PIDNS", e)),
    }
}

/// The calling thread's namespace of a type.
pub fn current(ns_type: NsType) -> Result<NsId> {
    NsSource::ThisThread.id(ns_type)
}

/// Whether `id`, a namespace of `source`, is the initial namespace of its type.
pub fn is_initial(source: NsSource, ns_type: NsType, id: NsId) -> Result<bool> {
    match ns_type {
        NsType::Pid => Ok(id.ino == PROC_PID_INIT_INO),
        // Since Linux 6.18 the initial network namespace has a fixed inode; before,
        // it is the one of pid 1 (or of kthreadd, when pid 1 is beyond our ptrace
        // reach) in the initial pid namespace, which only a caller there can name.
        NsType::Net => {
            if id_of(&source.open(NsType::Pid)?)?.ino != PROC_PID_INIT_INO {
                return Ok(false);
            }
            if id.ino == PROC_NET_INIT_INO {
                return Ok(true);
            }
            match ns_id_of_path("/proc/1/ns/net") {
                Err(Error::Os { errno, .. }) if errno == Errno::EACCES as i32 => Ok(ns_id_of_path("/proc/2/ns/net")? == id),
                other => Ok(other? == id),
            }
        }
    }
}

/// Resolves the selector for a command that needs `want`, with `CURRENT_*` and
/// `GLOBAL` taken from `source`. Type mismatches and fds that are not namespaces
/// are `EINVAL`; `GLOBAL` outside the initial namespace is `EPERM`.
pub fn resolve(selector: &NsSelector, want: NsType, source: NsSource) -> Result<Namespace> {
    let mismatch = |got: &str| Error::invalid(format!("command needs a {} namespace, got {got}", want.name()));
    let fd = match selector {
        NsSelector::CurrentPid if want == NsType::Pid => source.open(want)?,
        NsSelector::CurrentNet if want == NsType::Net => source.open(want)?,
        NsSelector::CurrentPid => return Err(mismatch("CURRENT_PIDNS")),
        NsSelector::CurrentNet => return Err(mismatch("CURRENT_NETNS")),
        NsSelector::Global => {
            let fd = source.open(want)?;
            if !is_initial(source, want, id_of(&fd)?)? {
                return Err(Error::PermissionDenied(format!(
                    "GLOBAL names the initial {} namespace, and the caller is not in it",
                    want.name()
                )));
            }
            fd
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
            fd.try_clone().map_err(|e| Error::from_io("dup namespace fd", &e))?
        }
    };
    Ok(Namespace { ns_type: want, id: id_of(&fd)?, fd })
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
        let ns = resolve(&sel, NsType::Pid, NsSource::ThisThread).expect("resolves");
        let fd = std::fs::File::open("/proc/self/ns/pid").expect("open ns");
        use std::os::fd::AsRawFd;
        let by_fd = resolve(&NsSelector::from_raw(fd.as_raw_fd()).expect("dup"), NsType::Pid, NsSource::ThisThread).expect("resolves");
        assert_eq!(ns.id, by_fd.id);
        assert_eq!(depth_below(&by_fd.fd, ns.id).expect("walk"), Some(0));
    }

    #[test]
    fn wrong_types_are_einval() {
        let sel = NsSelector::from_raw(CURRENT_NETNS).expect("sentinel");
        assert_eq!(resolve(&sel, NsType::Pid, NsSource::ThisThread).unwrap_err().code(), "EINVAL");
        let net = std::fs::File::open("/proc/self/ns/net").expect("open ns");
        use std::os::fd::AsRawFd;
        let sel = NsSelector::from_raw(net.as_raw_fd()).expect("dup");
        assert_eq!(resolve(&sel, NsType::Pid, NsSource::ThisThread).unwrap_err().code(), "EINVAL");
        let file = std::fs::File::open("/proc/self/stat").expect("open file");
        let sel = NsSelector::from_raw(file.as_raw_fd()).expect("dup");
        assert_eq!(resolve(&sel, NsType::Pid, NsSource::ThisThread).unwrap_err().code(), "EINVAL");
    }
}

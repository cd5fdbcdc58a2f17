//! The kernel's own answers about a process, by pidfd: who it is
//! (`PIDFD_GET_INFO`, Linux 6.13, or its fdinfo before), whether it still
//! exists, and its effective capabilities (`capget`). The broker reads a
//! sender's identity only through these and `/proc`, never from the client.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use nix::errno::Errno;

use crate::error::{Error, Result};

/// `struct pidfd_info` (include/uapi/linux/pidfd.h): its first, fixed-size
/// version, which every later kernel still accepts.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct PidfdInfo {
    mask: u64,
    cgroupid: u64,
    pub pid: u32,
    pub tgid: u32,
    ppid: u32,
    /// ruid rgid euid egid suid sgid fsuid fsgid, in the reader's user namespace.
    ids: [u32; 8],
    exit_code: i32,
}

impl PidfdInfo {
    pub fn euid(&self) -> u32 {
        self.ids[2]
    }
    pub fn fsuid(&self) -> u32 {
        self.ids[6]
    }
    pub fn fsgid(&self) -> u32 {
        self.ids[7]
    }
}

/// `PIDFD_INFO_PID` and `PIDFD_INFO_CREDS`: ask for (and be told of) the pid and id fields.
const PIDFD_INFO_PID: u64 = 1 << 0;
const PIDFD_INFO_CREDS: u64 = 1 << 1;
nix::ioctl_readwrite!(pidfd_get_info, 0xFF, 11, PidfdInfo);

/// The pids and credentials of the process behind `pidfd`; `None` on kernels
/// before 6.13, which lack `PIDFD_GET_INFO`.
pub fn info(pidfd: &OwnedFd) -> Result<Option<PidfdInfo>> {
    let want = PIDFD_INFO_PID | PIDFD_INFO_CREDS;
    let mut info = PidfdInfo { mask: want, ..Default::default() };
    // SAFETY: the kernel writes at most size_of::<PidfdInfo>() bytes (encoded in the request) into `info`.
    match unsafe { pidfd_get_info(pidfd.as_raw_fd(), &mut info) } {
        Ok(_) if info.mask & want == want && info.pid > 0 => Ok(Some(info)),
        Ok(_) | Err(Errno::ESRCH) => Err(exited()),
        Err(_) => Ok(None), // ENOTTY/EINVAL: an older kernel
    }
}

nix::ioctl_none!(pidfd_get_user_namespace, 0xFF, 9);

/// The user namespace of the credentials of the process behind `pidfd`
/// (`PIDFD_GET_USER_NAMESPACE`, Linux 6.11); `None` on older kernels.
pub fn user_namespace(pidfd: &OwnedFd) -> Result<Option<OwnedFd>> {
    // SAFETY: the ioctl takes no argument and returns a new fd (O_CLOEXEC) that we own.
    match unsafe { pidfd_get_user_namespace(pidfd.as_raw_fd()) } {
        Ok(fd) => Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) })),
        Err(Errno::ESRCH) => Err(exited()),
        Err(Errno::ENOTTY | Errno::EINVAL | Errno::EOPNOTSUPP) => Ok(None),
        Err(e) => Err(Error::os("PIDFD_GET_USER_NAMESPACE", e)),
    }
}

pub fn exited() -> Error {
    Error::PermissionDenied("the sender has exited or has no pid in the broker's namespace".into())
}

/// The pid (in our namespace) a pidfd refers to, from `/proc/thread-self/fdinfo`:
/// for kernels before 6.13, where `info` has nothing.
pub fn pid_from_fdinfo(pidfd: &OwnedFd) -> Result<u32> {
    // One open and one read: fdinfo of a pidfd is a few short lines.
    let path = format!("/proc/thread-self/fdinfo/{}", pidfd.as_raw_fd());
    let fd = nix::fcntl::open(path.as_str(), nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty())
        .map_err(|e| Error::os("open pidfd fdinfo", e))?;
    let mut buf = [0u8; 512];
    let n = nix::unistd::read(&fd, &mut buf).map_err(|e| Error::os("read pidfd fdinfo", e))?;
    let info = String::from_utf8_lossy(&buf[..n]);
    let pid = info.lines().find_map(|l| l.strip_prefix("Pid:")).map(str::trim).and_then(|p| p.parse::<i64>().ok());
    match pid {
        Some(p) if p > 0 => Ok(p as u32),
        _ => Err(exited()),
    }
}

/// A new pidfd (close-on-exec) for `pid`.
pub fn open(pid: u32) -> Result<OwnedFd> {
    // SAFETY: pidfd_open returns a new fd (close-on-exec) or -1.
    let fd = unsafe { nix::libc::syscall(nix::libc::SYS_pidfd_open, pid as nix::libc::pid_t, 0) };
    if fd < 0 {
        return Err(Error::os("pidfd_open", Errno::last()));
    }
    // SAFETY: the kernel gave us this fd; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Fails once the process behind `pidfd` has exited; while it lives, its pid was
/// never reused, so what was read by that pid is its own.
///
/// Asks the pidfd itself, which needs no right over the process: a pidfd polls
/// readable (`POLLIN`) once its whole thread group has exited, and also hangs up
/// (`POLLHUP`) once it is reaped. (`pidfd_send_signal(pidfd, 0)` would need
/// `CAP_KILL` for a client of another uid: under the systemd unit, which does
/// not grant it, every non-root client was taken for dead.) Only "exited" is
/// `EPERM`; a failing poll is its own error, never taken as an exit.
pub fn check_alive(pidfd: &OwnedFd) -> Result<()> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
    let revents = loop {
        match poll(&mut fds, PollTimeout::ZERO) {
            Ok(_) => break fds[0].revents().unwrap_or(PollFlags::empty()),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(Error::os("poll pidfd", e)),
        }
    };
    liveness(revents)
}

/// What a pidfd's poll events say about its process.
fn liveness(revents: nix::poll::PollFlags) -> Result<()> {
    use nix::poll::PollFlags;
    if revents.contains(PollFlags::POLLNVAL) {
        return Err(Error::os("poll pidfd", Errno::EBADF));
    }
    if revents.intersects(PollFlags::POLLIN | PollFlags::POLLHUP) {
        return Err(Error::PermissionDenied("the client process has exited".into()));
    }
    if revents.contains(PollFlags::POLLERR) {
        return Err(Error::os("poll pidfd", Errno::EIO));
    }
    Ok(())
}

/// The effective capabilities of process `pid` (`capget`, the objective
/// credentials `/proc/PID/status` shows as CapEff).
pub fn effective_caps(pid: u32) -> Result<u64> {
    match crate::caps::get(pid) {
        Ok(sets) => Ok(sets.effective),
        Err(Errno::ESRCH) => Err(exited()),
        Err(e) => Err(Error::os("capget", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::poll::PollFlags;

    #[test]
    fn only_an_exit_reads_as_exited() {
        assert!(liveness(PollFlags::empty()).is_ok());
        assert_eq!(liveness(PollFlags::POLLIN).map_err(|e| e.code()), Err("EPERM"));
        assert_eq!(liveness(PollFlags::POLLIN | PollFlags::POLLHUP).map_err(|e| e.code()), Err("EPERM"));
        assert_eq!(liveness(PollFlags::POLLNVAL).map_err(|e| e.code()), Err("EBADF"));
        assert_eq!(liveness(PollFlags::POLLERR).map_err(|e| e.code()), Err("EIO"));
    }

    #[test]
    fn a_live_process_is_alive_and_an_exited_one_is_not() {
        let me = open(std::process::id()).expect("pidfd of this process");
        assert!(check_alive(&me).is_ok());
        let mut child = std::process::Command::new("true").spawn().expect("spawn true");
        let pidfd = open(child.id()).expect("pidfd of the child");
        child.wait().expect("reap");
        assert_eq!(check_alive(&pidfd).map_err(|e| e.code()), Err("EPERM"));
    }

    #[test]
    fn another_uid_needs_no_right_to_be_checked() {
        // A process of another uid, checked by a thread without CAP_KILL, is alive;
        // pidfd_send_signal(0) said EPERM here. Needs root to make one.
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let mut sleeper = std::process::Command::new("setpriv")
            .args(["--reuid=4711", "--regid=4711", "--clear-groups", "sleep", "30"])
            .spawn()
            .expect("spawn setpriv sleep");
        // setpriv execs sleep in place, so the pid stays; wait until it is uid 4711.
        let pid = sleeper.id();
        for _ in 0..500 {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            if status.lines().any(|l| l.starts_with("Uid:") && l.contains("4711")) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let pidfd = open(pid).expect("pidfd");
        // Drop CAP_KILL from this thread's effective set for the check (capset acts per thread).
        let checked = std::thread::spawn(move || {
            drop_cap_kill();
            check_alive(&pidfd).map_err(|e| e.code())
        })
        .join()
        .expect("thread");
        let _ = sleeper.kill();
        let _ = sleeper.wait();
        assert_eq!(checked, Ok(()));
    }

    /// Clears CAP_KILL from the calling thread's effective set.
    fn drop_cap_kill() {
        crate::caps::drop_effective(crate::caps::CAP_KILL).expect("capset");
    }
}

//! `ikc sandbox`: runs a program under a seccomp filter that denies opening
//! files (`open`, `openat`, `openat2`, `creat`, `stat` by path, ...), creating
//! sockets, tracing and everything else not on a short allow-list, keeping one
//! inherited broker connection. Such a program can still ask the broker, and
//! read the response fds it gets back; it cannot reach /proc. It holds no fd
//! but stdio and that connection: every other fd the launcher had, close-on-exec
//! or not, is closed before the exec.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::libc;
use seccompiler::{BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule, TargetArch};

use crate::error::{Error, Result};

/// What a sandboxed program may do: compute, allocate, use the fds it has
/// (read, write, the broker socket), handle signals, exit, and exec once to start.
const ALLOWED: &[i64] = &[
    libc::SYS_read,
    libc::SYS_write,
    libc::SYS_readv,
    libc::SYS_writev,
    libc::SYS_pread64,
    libc::SYS_lseek,
    libc::SYS_close,
    libc::SYS_fstat,
    libc::SYS_dup,
    libc::SYS_dup3,
    libc::SYS_fcntl,
    libc::SYS_sendmsg,
    libc::SYS_recvmsg,
    libc::SYS_sendto,
    libc::SYS_recvfrom,
    libc::SYS_brk,
    libc::SYS_mmap,
    libc::SYS_munmap,
    libc::SYS_mremap,
    libc::SYS_mprotect,
    libc::SYS_madvise,
    libc::SYS_rt_sigaction,
    libc::SYS_rt_sigprocmask,
    libc::SYS_rt_sigreturn,
    libc::SYS_sigaltstack,
    libc::SYS_futex,
    libc::SYS_exit,
    libc::SYS_exit_group,
    libc::SYS_getpid,
    libc::SYS_gettid,
    libc::SYS_getuid,
    libc::SYS_geteuid,
    libc::SYS_getgid,
    libc::SYS_getegid,
    libc::SYS_getrandom,
    libc::SYS_clock_gettime,
    libc::SYS_clock_nanosleep,
    libc::SYS_nanosleep,
    libc::SYS_sched_yield,
    libc::SYS_set_tid_address,
    libc::SYS_set_robust_list,
    libc::SYS_rseq,
    libc::SYS_prlimit64,
    libc::SYS_poll,
    libc::SYS_ppoll,
    libc::SYS_uname,
    libc::SYS_execve,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_arch_prctl,
];

/// The filter: the allow-list, `ioctl(TCGETS)` (isatty), and `EPERM` for everything else.
pub fn filter() -> Result<BpfProgram> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = ALLOWED.iter().map(|&nr| (nr, Vec::new())).collect();
    let bad = |e: seccompiler::BackendError| Error::invalid(format!("seccomp filter: {e}"));
    let tcgets = SeccompCondition::new(1, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, libc::TCGETS as u64).map_err(bad)?;
    rules.insert(libc::SYS_ioctl, vec![SeccompRule::new(vec![tcgets]).map_err(bad)?]);
    let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(bad)?;
    let filter = SeccompFilter::new(rules, SeccompAction::Errno(libc::EPERM as u32), SeccompAction::Allow, arch).map_err(bad)?;
    filter.try_into().map_err(bad)
}

/// Finds `program` the way execvp would, before the sandbox forbids looking.
fn resolve(program: &str) -> Result<PathBuf> {
    if program.contains('/') {
        return Ok(PathBuf::from(program));
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
        .ok_or_else(|| Error::Os { op: format!("{program}: not found in PATH"), errno: libc::ENOENT })
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

fn cstring(s: &[u8]) -> Result<CString> {
    CString::new(s).map_err(|_| Error::invalid("an argument or environment entry contains a NUL byte"))
}

/// Runs `argv` under the filter with `keep_fd` inherited (its number in
/// `IKC_BROKER_FD`) and waits for it. Returns its exit status, or 128 + the
/// signal that killed it, as a shell would.
pub fn run(argv: &[String], keep_fd: Option<i32>) -> Result<i32> {
    let program = argv.first().ok_or_else(|| Error::invalid("no program to run"))?;
    let path = cstring(resolve(program)?.as_os_str().as_bytes())?;
    let args: Vec<CString> = argv.iter().map(|a| cstring(a.as_bytes())).collect::<Result<_>>()?;
    let mut env: Vec<CString> = std::env::vars_os()
        .filter(|(k, _)| k != "IKC_BROKER_FD")
        .map(|(k, v)| cstring(&[k.as_bytes(), b"=", v.as_bytes()].concat()))
        .collect::<Result<_>>()?;
    if let Some(fd) = keep_fd {
        env.push(cstring(format!("IKC_BROKER_FD={fd}").as_bytes())?);
    }
    let inherit: Vec<i32> = [0, 1, 2].into_iter().chain(keep_fd.filter(|&fd| fd >= 0)).collect();
    let mut keep: Vec<u32> = inherit.iter().filter_map(|&fd| u32::try_from(fd).ok()).collect();
    keep.sort_unstable();
    keep.dedup();
    let ceiling = fd_ceiling();
    let prog = filter()?;
    let argp: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).chain(std::iter::once(std::ptr::null())).collect();
    let envp: Vec<*const libc::c_char> = env.iter().map(|e| e.as_ptr()).chain(std::iter::once(std::ptr::null())).collect();

    // SAFETY: between fork and exec the child makes only async-signal-safe calls
    // (fcntl, close_range, close, prctl, seccomp, execve, _exit) on memory prepared before the fork.
    match unsafe { nix::unistd::fork() }.map_err(|e| Error::os("fork", e))? {
        nix::unistd::ForkResult::Child => unsafe {
            // The program gets our stdio (Node keeps it close-on-exec) and the broker fd.
            for &fd in &inherit {
                libc::fcntl(fd, libc::F_SETFD, 0);
            }
            // ...and nothing else the launcher had open, close-on-exec or not.
            let mut lo: u32 = 0;
            for &k in &keep {
                if k > lo {
                    close_fds(lo, k - 1, ceiling);
                }
                lo = k.saturating_add(1);
            }
            close_fds(lo, u32::MAX, ceiling);
            if seccompiler::apply_filter(&prog).is_ok() {
                libc::execve(path.as_ptr(), argp.as_ptr(), envp.as_ptr());
            }
            libc::_exit(127)
        },
        nix::unistd::ForkResult::Parent { child } => loop {
            match nix::sys::wait::waitpid(child, None) {
                Ok(nix::sys::wait::WaitStatus::Exited(_, code)) => return Ok(code),
                Ok(nix::sys::wait::WaitStatus::Signaled(_, sig, _)) => return Ok(128 + sig as i32),
                Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(Error::os("waitpid", e)),
            }
        },
    }
}

/// The highest fd number a close loop must reach: the fd limit, or the highest
/// fd open now if that is above it (the limit may have been lowered since).
fn fd_ceiling() -> u32 {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes the struct we pass.
    let limit = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 { lim.rlim_cur.min(1 << 20) as u32 } else { 1 << 16 };
    let open = std::fs::read_dir("/proc/self/fd")
        .map(|dir| dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok()).max().unwrap_or(0))
        .unwrap_or(0);
    limit.max(open.saturating_add(1))
}

/// Closes fds `lo..=hi`: `close_range`, or one by one up to `ceiling` on kernels without it.
unsafe fn close_fds(lo: u32, hi: u32, ceiling: u32) {
    if libc::syscall(libc::SYS_close_range, lo, hi, 0) == 0 {
        return;
    }
    let mut fd = lo;
    while fd <= hi.min(ceiling) {
        libc::close(fd as i32);
        fd += 1;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn filter_compiles() {
        assert!(!super::filter().expect("filter").is_empty());
    }
}

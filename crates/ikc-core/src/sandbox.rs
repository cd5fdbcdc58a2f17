//! `ikc sandbox`: runs a program under a seccomp filter that denies opening
//! files (`open`, `openat`, `openat2`, `creat`, `stat` by path, ...), creating
//! sockets, tracing and everything else not on a short allow-list, keeping one
//! inherited broker connection. Such a program can still ask the broker, and
//! read the response fds it gets back; it cannot reach /proc, nor any other
//! process: nothing it may call names a pid, a signal target or a path.
//!
//! - Its fds are stdio and the broker connection only: every other fd the
//!   launcher had (close-on-exec or not) is closed before the exec.
//! - Calls whose arguments could name another process are allowed only with
//!   arguments that cannot: `fcntl` only for dup / fd flags / file flags without
//!   `O_ASYNC` (no `F_SETOWN`, `F_SETSIG`, locks, leases), `prlimit64` only on
//!   pid 0 (itself), clocks only with non-negative ids (the standard clocks,
//!   including its own CPU clocks; negative ids encode another pid), `futex`
//!   without the PI operations (whose futex word names an owner tid).
//! - It holds no `CAP_SYS_ADMIN` (dropped before the exec, not regained:
//!   `no_new_privs`), so `SCM_CREDENTIALS` naming any pid but its own fails with
//!   `EPERM` whether that pid exists or not.
//! - `execve` is denied; `execveat` only on the launcher's `O_PATH` fd of the
//!   program with `AT_EMPTY_PATH`, and then only once: the filter hands those
//!   calls to the launcher (a seccomp user notification), which lets the first
//!   one through (its own, before the program runs) and answers `EPERM` to
//!   every later one without looking at the path. (A path cannot be checked by
//!   seccomp; a later call with any fd at that number and an absolute path such
//!   as `/proc/PID/` would otherwise be resolved.)
//! - Refusals are `EPERM`, also for another architecture's syscalls (32-bit
//!   `int 0x80`), never a kill.
//!
//! It stays in the launcher's pid namespace, so the broker's `CURRENT_PIDNS` is
//! the namespace it was started in.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::io::IoSliceMut;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::libc;
use nix::sys::socket::{recvmsg, socketpair, AddressFamily, ControlMessageOwned, MsgFlags, SockFlag, SockType};
use seccompiler::{SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule, TargetArch};

use crate::caps::{self, CAP_SYS_ADMIN};
use crate::error::{Error, Result};

/// What a sandboxed program may do whatever the arguments: compute, allocate,
/// use the fds it has (read, write, the broker socket), handle signals, exit.
/// None of these takes a pid, a signal target or a path.
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
    libc::SYS_exit,
    libc::SYS_exit_group,
    libc::SYS_getpid,
    libc::SYS_gettid,
    libc::SYS_getuid,
    libc::SYS_geteuid,
    libc::SYS_getgid,
    libc::SYS_getegid,
    libc::SYS_getrandom,
    libc::SYS_nanosleep,
    libc::SYS_sched_yield,
    libc::SYS_set_tid_address,
    libc::SYS_set_robust_list,
    libc::SYS_rseq,
    libc::SYS_poll,
    libc::SYS_ppoll,
    libc::SYS_uname,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_arch_prctl,
];

/// One argument test: `(arg & mask) == value` on the argument's low 32 bits.
/// Every argument tested is a C `int` (fd, command, pid, clock id, flags),
/// which the kernel truncates the same way.
#[derive(Debug, Clone, Copy)]
struct ArgTest {
    arg: u8,
    mask: u32,
    value: u32,
}

const fn eq(arg: u8, value: u32) -> ArgTest {
    ArgTest { arg, mask: u32::MAX, value }
}

/// The `fcntl` commands a program needs: duplicate, fd flags, file flags.
const FCNTL_COMMANDS: &[i32] = &[libc::F_DUPFD, libc::F_DUPFD_CLOEXEC, libc::F_GETFD, libc::F_SETFD, libc::F_GETFL];
/// The futex operations that name no owner (not the PI ones: the word holds a tid).
const FUTEX_OPS: &[i32] = &[
    libc::FUTEX_WAIT,
    libc::FUTEX_WAKE,
    libc::FUTEX_REQUEUE,
    libc::FUTEX_CMP_REQUEUE,
    libc::FUTEX_WAKE_OP,
    libc::FUTEX_WAIT_BITSET,
    libc::FUTEX_WAKE_BITSET,
];
/// `op & FUTEX_CMD_MASK` is the operation; the private and clock flags may be anything.
const FUTEX_CMD_MASK: u32 = !((libc::FUTEX_PRIVATE_FLAG | libc::FUTEX_CLOCK_REALTIME) as u32);
/// A negative clock id is a CPU clock of the pid or tid it encodes (or an fd's clock).
const CLOCK_ID_SIGN: u32 = 0x8000_0000;

/// Syscalls allowed only with certain arguments: each inner list is one rule
/// (all its tests hold); any rule allows the call.
fn conditional(exec_fd: u32) -> Vec<(i64, Vec<Vec<ArgTest>>)> {
    let mut fcntl: Vec<Vec<ArgTest>> = FCNTL_COMMANDS.iter().map(|&cmd| vec![eq(1, cmd as u32)]).collect();
    fcntl.push(vec![eq(1, libc::F_SETFL as u32), ArgTest { arg: 2, mask: libc::O_ASYNC as u32, value: 0 }]);
    let futex = FUTEX_OPS.iter().map(|&op| vec![ArgTest { arg: 1, mask: FUTEX_CMD_MASK, value: op as u32 }]).collect();
    let clock = || vec![vec![ArgTest { arg: 0, mask: CLOCK_ID_SIGN, value: 0 }]];
    vec![
        (libc::SYS_fcntl, fcntl),
        (libc::SYS_futex, futex),
        (libc::SYS_clock_gettime, clock()),
        (libc::SYS_clock_getres, clock()),
        (libc::SYS_clock_nanosleep, clock()),
        (libc::SYS_prlimit64, vec![vec![eq(0, 0)]]),
        // isatty
        (libc::SYS_ioctl, vec![vec![eq(1, libc::TCGETS as u32)]]),
        // The one exec that starts the program; the notify filter lets only the first through.
        (libc::SYS_execveat, vec![vec![eq(0, exec_fd), eq(4, libc::AT_EMPTY_PATH as u32)]]),
    ]
}

fn bad(e: impl std::fmt::Display) -> Error {
    Error::invalid(format!("seccomp filter: {e}"))
}

/// The filter: the allow-list, the argument rules, and `EPERM` for everything
/// else, including syscalls of another architecture (seccompiler would kill
/// the process for those; its arch check is rewritten to answer `EPERM`).
/// `exec_fd` is the fd number `execveat` may start the program from.
pub fn filter(exec_fd: RawFd) -> Result<Vec<libc::sock_filter>> {
    let exec_fd = u32::try_from(exec_fd).map_err(|_| Error::BadFd(exec_fd))?;
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = ALLOWED.iter().map(|&nr| (nr, Vec::new())).collect();
    for (nr, alternatives) in conditional(exec_fd) {
        let mut list = Vec::new();
        for tests in alternatives {
            let conditions = tests
                .iter()
                .map(|t| SeccompCondition::new(t.arg, SeccompCmpArgLen::Dword, SeccompCmpOp::MaskedEq(u64::from(t.mask)), u64::from(t.value)))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(bad)?;
            list.push(SeccompRule::new(conditions).map_err(bad)?);
        }
        if rules.insert(nr, list).is_some() {
            return Err(bad(format!("syscall {nr} is both allowed and conditional")));
        }
    }
    let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(bad)?;
    let eperm = SeccompAction::Errno(libc::EPERM as u32);
    let filter = SeccompFilter::new(rules, eperm, SeccompAction::Allow, arch).map_err(bad)?;
    let program: seccompiler::BpfProgram = filter.try_into().map_err(bad)?;
    let mut program: Vec<libc::sock_filter> = program.iter().map(|i| libc::sock_filter { code: i.code, jt: i.jt, jf: i.jf, k: i.k }).collect();
    // seccompiler starts with: load arch; if equal skip one; return KILL_PROCESS.
    let arch_load = program.first().is_some_and(|i| i.code == BPF_LD_W_ABS && i.k == SECCOMP_DATA_ARCH);
    match program.get_mut(2).filter(|i| i.code == BPF_RET_K && i.k == libc::SECCOMP_RET_KILL_PROCESS) {
        Some(ret) if arch_load => ret.k = libc::SECCOMP_RET_ERRNO | libc::EPERM as u32,
        _ => return Err(bad("unexpected architecture check in the generated filter")),
    }
    Ok(program)
}

const BPF_LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const BPF_JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const BPF_RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
/// Offsets in `struct seccomp_data`.
const SECCOMP_DATA_NR: u32 = 0;
const SECCOMP_DATA_ARCH: u32 = 4;

/// The second filter: hands every `execveat` to the launcher (a user
/// notification) and allows the rest, which [`filter`] then decides. The
/// kernel runs both and the stricter answer wins (`EPERM` over a
/// notification), so only the `execveat` calls [`filter`] allows reach the
/// launcher.
pub fn notify_filter() -> Vec<libc::sock_filter> {
    vec![
        libc::sock_filter { code: BPF_LD_W_ABS, jt: 0, jf: 0, k: SECCOMP_DATA_NR },
        libc::sock_filter { code: BPF_JEQ_K, jt: 0, jf: 1, k: libc::SYS_execveat as u32 },
        libc::sock_filter { code: BPF_RET_K, jt: 0, jf: 0, k: libc::SECCOMP_RET_USER_NOTIF },
        libc::sock_filter { code: BPF_RET_K, jt: 0, jf: 0, k: libc::SECCOMP_RET_ALLOW },
    ]
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

/// Everything the child needs, made before the fork: between fork and exec it
/// only makes system calls on this memory.
struct Launch {
    /// The program, opened `O_PATH | O_CLOEXEC`: what `execveat` starts.
    exec_fd: OwnedFd,
    argp: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
    filter: Vec<libc::sock_filter>,
    notify: Vec<libc::sock_filter>,
    /// Made inheritable: stdio and the broker connection.
    inherit: Vec<RawFd>,
    /// Kept open until the exec, ascending: `inherit`, `exec_fd` and the child's end of the channel.
    keep: Vec<u32>,
    /// Where the close loop stops if the kernel has no `close_range` (before 5.9).
    fd_ceiling: u32,
}

/// Runs `argv` under the filter with `keep_fd` inherited (its number in
/// `IKC_BROKER_FD`) and waits for it. Returns its exit status, or 128 + the
/// signal that killed it, as a shell would.
pub fn run(argv: &[String], keep_fd: Option<i32>) -> Result<i32> {
    let program = argv.first().ok_or_else(|| Error::invalid("no program to run"))?;
    let path = resolve(program)?;
    let exec_fd = nix::fcntl::open(&path, nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty())
        .map_err(|e| Error::os(format!("open {}", path.display()), e))?;
    let args: Vec<CString> = argv.iter().map(|a| cstring(a.as_bytes())).collect::<Result<_>>()?;
    let mut env: Vec<CString> = std::env::vars_os()
        .filter(|(k, _)| k != "IKC_BROKER_FD")
        .map(|(k, v)| cstring(&[k.as_bytes(), b"=", v.as_bytes()].concat()))
        .collect::<Result<_>>()?;
    if let Some(fd) = keep_fd {
        env.push(cstring(format!("IKC_BROKER_FD={fd}").as_bytes())?);
    }
    // The child sends the notification listener back over this.
    let (ours, theirs) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC).map_err(|e| Error::os("socketpair", e))?;
    let inherit: Vec<RawFd> = [0, 1, 2].into_iter().chain(keep_fd.filter(|&fd| fd >= 0)).collect();
    let mut keep: Vec<u32> = inherit.iter().chain([exec_fd.as_raw_fd(), theirs.as_raw_fd()].iter()).filter_map(|&fd| u32::try_from(fd).ok()).collect();
    keep.sort_unstable();
    keep.dedup();
    let launch = Launch {
        filter: filter(exec_fd.as_raw_fd())?,
        notify: notify_filter(),
        exec_fd,
        argp: args.iter().map(|a| a.as_ptr()).chain(std::iter::once(std::ptr::null())).collect(),
        envp: env.iter().map(|e| e.as_ptr()).chain(std::iter::once(std::ptr::null())).collect(),
        inherit,
        keep,
        fd_ceiling: fd_ceiling(),
    };

    // SAFETY: between fork and exec the child makes only async-signal-safe
    // system calls on memory prepared before the fork (`launch`, `args`, `env`).
    match unsafe { nix::unistd::fork() }.map_err(|e| Error::os("fork", e))? {
        nix::unistd::ForkResult::Child => unsafe { start_child(&launch, theirs.as_raw_fd()) },
        nix::unistd::ForkResult::Parent { child } => {
            drop(theirs);
            drop(launch);
            let pid = child.as_raw();
            let supervised = pidfd_open(pid).and_then(|pidfd| Ok((pidfd, recv_listener(&ours)?)));
            drop(ours);
            match supervised {
                Ok((pidfd, Some(listener))) => supervise(&listener, &pidfd, pid),
                // The child failed before it had a filter; it says why on stderr.
                Ok((_, None)) => {}
                Err(e) => {
                    // SAFETY: kill(2) on our own child, which we have not reaped.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    let _ = wait(child);
                    return Err(e);
                }
            }
            // The listener is closed now: should the program still be running
            // (the loop above ended early), its later execveat calls fail with
            // ENOSYS instead of waiting for an answer.
            wait(child)
        }
    }
}

fn wait(child: nix::unistd::Pid) -> Result<i32> {
    loop {
        match nix::sys::wait::waitpid(child, None) {
            Ok(nix::sys::wait::WaitStatus::Exited(_, code)) => return Ok(code),
            Ok(nix::sys::wait::WaitStatus::Signaled(_, sig, _)) => return Ok(128 + sig as i32),
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(Error::os("waitpid", e)),
        }
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

fn pidfd_open(pid: libc::pid_t) -> Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(Error::os("pidfd_open", nix::errno::Errno::last()));
    }
    // SAFETY: a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// The seccomp listener the child sends, or `None` if it exited before (the
/// channel reads end-of-file).
fn recv_listener(sock: &OwnedFd) -> Result<Option<OwnedFd>> {
    let mut byte = [0u8; 1];
    let mut space = nix::cmsg_space!(RawFd);
    loop {
        let mut iov = [IoSliceMut::new(&mut byte)];
        match recvmsg::<()>(sock.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC) {
            Ok(msg) => {
                let mut listener = None;
                for c in msg.cmsgs().map_err(|e| Error::os("recvmsg", e))? {
                    if let ControlMessageOwned::ScmRights(fds) = c {
                        for fd in fds {
                            // SAFETY: a new fd the kernel gave us.
                            let fd = unsafe { OwnedFd::from_raw_fd(fd) };
                            listener.get_or_insert(fd);
                        }
                    }
                }
                return Ok(listener);
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(Error::os("recvmsg", e)),
        }
    }
}

/// Answers the filter's notifications until the child exits: `execveat` from
/// the child itself, the first call (ikc's own code, starting the program) is
/// let through; every later call, from the program, gets `EPERM`. Nothing the
/// call names (its path) is ever looked at.
fn supervise(listener: &OwnedFd, pidfd: &OwnedFd, child: libc::pid_t) {
    let mut started = false;
    loop {
        let mut fds = [
            libc::pollfd { fd: listener.as_raw_fd(), events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: pidfd.as_raw_fd(), events: libc::POLLIN, revents: 0 },
        ];
        // SAFETY: poll on two fds we own, with a correctly sized array.
        if unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) } < 0 {
            if nix::errno::Errno::last() == nix::errno::Errno::EINTR {
                continue;
            }
            return;
        }
        if fds[0].revents & libc::POLLIN != 0 {
            answer(listener, child, &mut started);
        }
        if fds[1].revents != 0 || fds[0].revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0 {
            return;
        }
    }
}

fn answer(listener: &OwnedFd, child: libc::pid_t, started: &mut bool) {
    // SAFETY: an all-zero seccomp_notif is what SECCOMP_IOCTL_NOTIF_RECV requires.
    let mut req: libc::seccomp_notif = unsafe { std::mem::zeroed() };
    // SAFETY: the ioctl fills `req`; it fails with ENOENT if the caller died meanwhile.
    if unsafe { libc::ioctl(listener.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_RECV, &mut req) } != 0 {
        return;
    }
    let first = !*started && i64::from(req.pid) == i64::from(child) && i64::from(req.data.nr) == libc::SYS_execveat;
    *started = true;
    let resp = libc::seccomp_notif_resp {
        id: req.id,
        val: 0,
        error: if first { 0 } else { -libc::EPERM },
        flags: if first { libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32 } else { 0 },
    };
    // SAFETY: the ioctl reads `resp`; ENOENT (the caller died) needs nothing more.
    unsafe { libc::ioctl(listener.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_SEND, &resp) };
}

/// Writes `ikc sandbox: WHAT failed` to stderr and exits 127 (the child's only way to report).
unsafe fn fail(what: &[u8]) -> ! {
    let parts: [&[u8]; 3] = [b"ikc sandbox: ", what, b" failed\n"];
    for p in parts {
        libc::write(2, p.as_ptr().cast(), p.len());
    }
    libc::_exit(127)
}

/// Installs a filter with `seccomp(2)`; returns its result (a listener fd with `SECCOMP_FILTER_FLAG_NEW_LISTENER`).
unsafe fn install(program: &[libc::sock_filter], flags: libc::c_ulong) -> libc::c_long {
    let prog = libc::sock_fprog { len: program.len() as libc::c_ushort, filter: program.as_ptr() as *mut libc::sock_filter };
    libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, flags, &prog as *const libc::sock_fprog)
}

/// The child, from fork to exec: system calls only, on memory made before the fork.
unsafe fn start_child(l: &Launch, chan: RawFd) -> ! {
    // The program gets our stdio (Node keeps it close-on-exec) and the broker fd...
    for &fd in &l.inherit {
        libc::fcntl(fd, libc::F_SETFD, 0);
    }
    // ...and nothing else the launcher had open, close-on-exec or not.
    let mut lo: u32 = 0;
    for &k in &l.keep {
        if k > lo {
            close_fds(lo, k - 1, l.fd_ceiling);
        }
        lo = k.saturating_add(1);
    }
    close_fds(lo, u32::MAX, l.fd_ceiling);

    // No CAP_SYS_ADMIN: with it, SCM_CREDENTIALS may name any pid and tells
    // existing from free ones. Dropped from the bounding set if we may, and from
    // our own sets; no_new_privs keeps a root exec from granting it back.
    libc::prctl(libc::PR_CAPBSET_DROP, CAP_SYS_ADMIN as libc::c_ulong, 0, 0, 0);
    let Ok(sets) = caps::get(0) else { fail(b"capget") };
    if caps::set(sets.without(CAP_SYS_ADMIN)).is_err() {
        fail(b"capset");
    }
    if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
        fail(b"PR_SET_NO_NEW_PRIVS");
    }
    // The notify filter first: once the main filter is in, seccomp(2) is denied.
    let listener = install(&l.notify, libc::SECCOMP_FILTER_FLAG_NEW_LISTENER);
    if listener < 0 {
        fail(b"seccomp (user notification)");
    }
    let listener = listener as RawFd;
    if install(&l.filter, 0) != 0 {
        fail(b"seccomp");
    }
    if !send_fd(chan, listener) {
        fail(b"sending the seccomp listener");
    }
    // The program must not hold its own listener (it could answer itself).
    libc::close(listener);
    libc::close(chan);
    libc::syscall(libc::SYS_execveat, l.exec_fd.as_raw_fd(), c"".as_ptr(), l.argp.as_ptr(), l.envp.as_ptr(), libc::AT_EMPTY_PATH);
    fail(b"execveat")
}

/// Closes fds `lo..=hi`: `close_range`, or one by one up to `ceiling` on kernels without it.
unsafe fn close_fds(lo: u32, hi: u32, ceiling: u32) {
    if libc::syscall(libc::SYS_close_range, lo, hi, 0) == 0 {
        return;
    }
    let mut fd = lo;
    while fd <= hi.min(ceiling) {
        libc::close(fd as RawFd);
        fd += 1;
    }
}

/// Sends `fd` over `chan` with `SCM_RIGHTS` (no allocation: the child may not).
unsafe fn send_fd(chan: RawFd, fd: RawFd) -> bool {
    let mut byte = 0u8;
    let mut iov = libc::iovec { iov_base: (&mut byte as *mut u8).cast(), iov_len: 1 };
    // Room for one SCM_RIGHTS fd, aligned for cmsghdr.
    let mut control = [0u64; 4];
    let mut msg: libc::msghdr = std::mem::zeroed();
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) as _;
    let cmsg = libc::CMSG_FIRSTHDR(&msg);
    if cmsg.is_null() {
        return false;
    }
    (*cmsg).cmsg_level = libc::SOL_SOCKET;
    (*cmsg).cmsg_type = libc::SCM_RIGHTS;
    (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as _;
    std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<RawFd>(), fd);
    libc::sendmsg(chan, &msg, libc::MSG_NOSIGNAL) == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXEC_FD: u32 = 23;
    #[derive(Debug, PartialEq)]
    enum Verdict {
        Allow,
        Eperm,
        Notify,
        Other(u32),
    }

    /// A classic-BPF interpreter for the instructions seccompiler and
    /// [`notify_filter`] emit, run on one `struct seccomp_data`.
    fn run_bpf(program: &[libc::sock_filter], data: &[u8; 64]) -> u32 {
        let word = |k: u32| {
            let k = k as usize;
            u32::from_ne_bytes([data[k], data[k + 1], data[k + 2], data[k + 3]])
        };
        let (mut pc, mut acc) = (0usize, 0u32);
        loop {
            let i = program[pc];
            pc += 1;
            let class = u32::from(i.code) & 0x07;
            let op = u32::from(i.code) & 0xf0;
            match class {
                c if c == libc::BPF_LD => acc = word(i.k),
                c if c == libc::BPF_ALU && op == libc::BPF_AND => acc &= i.k,
                c if c == libc::BPF_RET => return i.k,
                c if c == libc::BPF_JMP => {
                    let taken = match op {
                        o if o == libc::BPF_JA => {
                            pc += i.k as usize;
                            continue;
                        }
                        o if o == libc::BPF_JEQ => acc == i.k,
                        o if o == libc::BPF_JGT => acc > i.k,
                        o if o == libc::BPF_JGE => acc >= i.k,
                        o if o == libc::BPF_JSET => acc & i.k != 0,
                        _ => panic!("jump {:#x}", i.code),
                    };
                    pc += usize::from(if taken { i.jt } else { i.jf });
                }
                _ => panic!("instruction {:#x}", i.code),
            }
        }
    }

    fn audit_arch() -> u32 {
        match std::env::consts::ARCH {
            "x86_64" => 0xC000_003E,
            "aarch64" => 0xC000_00B7,
            other => panic!("arch {other}"),
        }
    }

    /// What the kernel decides for one call under both filters: the stricter action wins.
    fn verdict_arch(arch: u32, nr: i64, args: &[u64]) -> Verdict {
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&(nr as i32).to_ne_bytes());
        data[4..8].copy_from_slice(&arch.to_ne_bytes());
        for (i, a) in args.iter().enumerate() {
            data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_ne_bytes());
        }
        let main = filter(EXEC_FD as RawFd).expect("filter");
        let actions = [run_bpf(&main, &data), run_bpf(&notify_filter(), &data)];
        // The kernel compares the action bits as signed numbers, lowest first.
        let action = actions.into_iter().min_by_key(|a| (a & libc::SECCOMP_RET_ACTION_FULL) as i32).expect("two");
        match action {
            libc::SECCOMP_RET_ALLOW => Verdict::Allow,
            a if a == libc::SECCOMP_RET_ERRNO | libc::EPERM as u32 => Verdict::Eperm,
            libc::SECCOMP_RET_USER_NOTIF => Verdict::Notify,
            a => Verdict::Other(a),
        }
    }

    fn verdict(nr: i64, args: &[u64]) -> Verdict {
        verdict_arch(audit_arch(), nr, args)
    }

    #[test]
    fn filter_compiles() {
        assert!(!filter(3).expect("filter").is_empty());
        assert!(filter(-1).is_err());
    }

    #[test]
    #[allow(clippy::unnecessary_cast)] // ioctl numbers are u64 on some targets only
    fn rule_table() {
        use Verdict::*;
        let neg = |v: i32| u64::from(v as u32);
        let cpu_clock_of_pid_1 = neg(((!1u32) << 3) as i32 | 2);
        let table: &[(&str, i64, &[u64], Verdict)] = &[
            ("read", libc::SYS_read, &[0, 0, 0], Allow),
            ("openat", libc::SYS_openat, &[neg(libc::AT_FDCWD), 0, 0], Eperm),
            ("socket", libc::SYS_socket, &[1, 1, 0], Eperm),
            ("kill", libc::SYS_kill, &[1, 9], Eperm),
            ("pidfd_open", libc::SYS_pidfd_open, &[1, 0], Eperm),
            ("seccomp", libc::SYS_seccomp, &[1, 0, 0], Eperm),
            ("execve", libc::SYS_execve, &[0, 0, 0], Eperm),
            ("execveat(exec fd, AT_EMPTY_PATH)", libc::SYS_execveat, &[EXEC_FD.into(), 0, 0, 0, libc::AT_EMPTY_PATH as u64], Notify),
            ("execveat(other fd)", libc::SYS_execveat, &[u64::from(EXEC_FD) + 1, 0, 0, 0, libc::AT_EMPTY_PATH as u64], Eperm),
            ("execveat(exec fd, no flag)", libc::SYS_execveat, &[EXEC_FD.into(), 0, 0, 0, 0], Eperm),
            ("execveat(AT_FDCWD)", libc::SYS_execveat, &[neg(libc::AT_FDCWD), 0, 0, 0, libc::AT_EMPTY_PATH as u64], Eperm),
            ("F_GETFD", libc::SYS_fcntl, &[3, libc::F_GETFD as u64], Allow),
            ("F_DUPFD_CLOEXEC", libc::SYS_fcntl, &[3, libc::F_DUPFD_CLOEXEC as u64, 10], Allow),
            ("F_SETFL O_NONBLOCK", libc::SYS_fcntl, &[3, libc::F_SETFL as u64, libc::O_NONBLOCK as u64], Allow),
            ("F_SETFL O_ASYNC", libc::SYS_fcntl, &[3, libc::F_SETFL as u64, (libc::O_NONBLOCK | libc::O_ASYNC) as u64], Eperm),
            ("F_SETOWN", libc::SYS_fcntl, &[3, libc::F_SETOWN as u64, 1], Eperm),
            ("F_SETOWN_EX (15)", libc::SYS_fcntl, &[3, 15, 0], Eperm),
            ("F_SETSIG (10)", libc::SYS_fcntl, &[3, 10, 9], Eperm),
            ("F_GETOWN", libc::SYS_fcntl, &[3, libc::F_GETOWN as u64], Eperm),
            ("F_GETLK", libc::SYS_fcntl, &[3, libc::F_GETLK as u64, 0], Eperm),
            ("F_SETLEASE", libc::SYS_fcntl, &[3, libc::F_SETLEASE as u64, 0], Eperm),
            ("F_GETFD | 1<<32 (the kernel reads an int)", libc::SYS_fcntl, &[3, (1 << 32) | libc::F_GETFD as u64], Allow),
            ("prlimit64(0)", libc::SYS_prlimit64, &[0, 7, 0, 0], Allow),
            ("prlimit64(1)", libc::SYS_prlimit64, &[1, 7, 0, 0], Eperm),
            ("prlimit64(-1)", libc::SYS_prlimit64, &[neg(-1), 7, 0, 0], Eperm),
            ("clock_gettime(MONOTONIC)", libc::SYS_clock_gettime, &[libc::CLOCK_MONOTONIC as u64, 0], Allow),
            ("clock_gettime(PROCESS_CPUTIME)", libc::SYS_clock_gettime, &[libc::CLOCK_PROCESS_CPUTIME_ID as u64, 0], Allow),
            ("clock_gettime(pid 1's CPU clock)", libc::SYS_clock_gettime, &[cpu_clock_of_pid_1, 0], Eperm),
            ("clock_getres(pid 1's CPU clock)", libc::SYS_clock_getres, &[cpu_clock_of_pid_1, 0], Eperm),
            ("clock_nanosleep(pid 1's CPU clock)", libc::SYS_clock_nanosleep, &[cpu_clock_of_pid_1, 1, 0, 0], Eperm),
            ("clock_nanosleep(MONOTONIC)", libc::SYS_clock_nanosleep, &[libc::CLOCK_MONOTONIC as u64, 1, 0, 0], Allow),
            ("FUTEX_WAIT_BITSET|PRIVATE|CLOCK_REALTIME", libc::SYS_futex, &[0, (libc::FUTEX_WAIT_BITSET | 128 | 256) as u64], Allow),
            ("FUTEX_WAKE_PRIVATE", libc::SYS_futex, &[0, (libc::FUTEX_WAKE | 128) as u64], Allow),
            ("FUTEX_LOCK_PI", libc::SYS_futex, &[0, libc::FUTEX_LOCK_PI as u64], Eperm),
            ("FUTEX_TRYLOCK_PI_PRIVATE", libc::SYS_futex, &[0, (libc::FUTEX_TRYLOCK_PI | 128) as u64], Eperm),
            ("FUTEX_LOCK_PI2", libc::SYS_futex, &[0, libc::FUTEX_LOCK_PI2 as u64], Eperm),
            ("FUTEX_UNLOCK_PI", libc::SYS_futex, &[0, libc::FUTEX_UNLOCK_PI as u64], Eperm),
            ("FUTEX_CMP_REQUEUE_PI", libc::SYS_futex, &[0, libc::FUTEX_CMP_REQUEUE_PI as u64], Eperm),
            ("FUTEX_WAIT_REQUEUE_PI", libc::SYS_futex, &[0, libc::FUTEX_WAIT_REQUEUE_PI as u64], Eperm),
            ("ioctl TCGETS", libc::SYS_ioctl, &[0, libc::TCGETS as u64], Allow),
            ("ioctl FIOASYNC", libc::SYS_ioctl, &[0, libc::FIOASYNC as u64], Eperm),
            ("ioctl FIOSETOWN", libc::SYS_ioctl, &[0, 0x8901], Eperm),
            ("sendmsg", libc::SYS_sendmsg, &[3, 0, 0], Allow),
        ];
        for (name, nr, args, want) in table {
            assert_eq!(&verdict(*nr, args), want, "{name}");
        }
    }

    #[test]
    fn other_architectures_get_eperm_not_a_kill() {
        const AUDIT_ARCH_I386: u32 = 0x4000_0003;
        assert_eq!(verdict_arch(AUDIT_ARCH_I386, 20, &[]), Verdict::Eperm);
        assert_eq!(verdict_arch(AUDIT_ARCH_I386, 11, &[]), Verdict::Eperm);
        #[cfg(target_arch = "x86_64")]
        assert_eq!(verdict(0x4000_0000 | libc::SYS_read, &[]), Verdict::Eperm, "x32");
    }

    #[test]
    fn allowed_and_conditional_lists_are_disjoint() {
        for (nr, _) in conditional(EXEC_FD) {
            assert!(!ALLOWED.contains(&nr), "syscall {nr}");
        }
    }
}

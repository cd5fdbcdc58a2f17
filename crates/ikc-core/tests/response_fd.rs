//! The response fd's promises, checked with the syscalls themselves: sealed
//! (write, grow, shrink, seal), read-only, close-on-exec, a regular file.

use std::os::fd::{AsFd, AsRawFd};

use ikc_core::response::{response_seals, ResponseFd};
use nix::errno::Errno;
use nix::fcntl::{fcntl, open, FcntlArg, FdFlag, OFlag, SealFlag};
use nix::sys::stat::{fstat, Mode, SFlag};

fn response() -> ResponseFd {
    ResponseFd::from_bytes(b"hello, response").expect("memfd")
}

#[test]
fn all_four_seals_are_set() {
    let r = response();
    let seals = fcntl(&r, FcntlArg::F_GET_SEALS).expect("F_GET_SEALS");
    assert_eq!(SealFlag::from_bits_truncate(seals), response_seals());
}

#[test]
fn read_only_cloexec_regular_file() {
    let r = response();
    let fl = OFlag::from_bits_truncate(fcntl(&r, FcntlArg::F_GETFL).expect("F_GETFL"));
    assert_eq!(fl & OFlag::O_ACCMODE, OFlag::O_RDONLY);
    let fd_flags = FdFlag::from_bits_truncate(fcntl(&r, FcntlArg::F_GETFD).expect("F_GETFD"));
    assert!(fd_flags.contains(FdFlag::FD_CLOEXEC));
    let st = fstat(&r).expect("fstat");
    assert_eq!(SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT, SFlag::S_IFREG);
    assert_eq!(st.st_size, 15);
}

#[test]
fn cannot_be_written_grown_shrunk_or_resealed() {
    let r = response();
    assert_eq!(nix::unistd::write(&r, b"x"), Err(Errno::EBADF));
    assert!(nix::unistd::ftruncate(&r, 0).is_err());
    assert_eq!(fcntl(&r, FcntlArg::F_ADD_SEALS(SealFlag::empty())), Err(Errno::EPERM));
    // Even a new writable description of the same file is refused by the seals.
    let path = format!("/proc/self/fd/{}", r.as_fd().as_raw_fd());
    let rw = open(path.as_str(), OFlag::O_RDWR | OFlag::O_CLOEXEC, Mode::empty()).expect("reopen rw");
    assert_eq!(nix::unistd::write(&rw, b"x"), Err(Errno::EPERM));
    assert_eq!(nix::unistd::ftruncate(&rw, 100), Err(Errno::EPERM));
    assert_eq!(nix::unistd::ftruncate(&rw, 1), Err(Errno::EPERM));
    assert_eq!(r.read_all().expect("read"), b"hello, response");
}

#[test]
fn empty_response_is_fine() {
    let r = ResponseFd::from_bytes(b"").expect("memfd");
    assert!(r.read_all().expect("read").is_empty());
}

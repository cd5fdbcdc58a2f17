//! The response fd: a sealed memfd, handed back opened read-only and close-on-exec.
//! It is a regular file, not a socket; reading it consults nobody's credentials,
//! so it can be passed to another process and read there with the same bytes.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};

use nix::fcntl::{fcntl, open, FcntlArg, OFlag, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};
use nix::sys::stat::Mode;

use crate::error::{Error, Result};

/// The seals every response carries: no writes, no growing, no shrinking, no new seals.
pub fn response_seals() -> SealFlag {
    SealFlag::F_SEAL_WRITE | SealFlag::F_SEAL_GROW | SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_SEAL
}

/// A read-only, sealed, close-on-exec response.
#[derive(Debug)]
pub struct ResponseFd(OwnedFd);

impl ResponseFd {
    /// Copies `bytes` into a new memfd, seals it and reopens it read-only.
    pub fn from_bytes(bytes: &[u8]) -> Result<ResponseFd> {
        let rw = memfd_create(c"ikc-response", MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING)
            .map_err(|e| Error::os("memfd_create", e))?;
        let mut written = 0;
        while written < bytes.len() {
            match nix::unistd::write(&rw, &bytes[written..]) {
                Ok(n) => written += n,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(Error::os("write response", e)),
            }
        }
        fcntl(&rw, FcntlArg::F_ADD_SEALS(response_seals())).map_err(|e| Error::os("F_ADD_SEALS", e))?;
        // A fresh open file description, read-only, at offset 0. The writable one
        // is closed when `rw` drops.
        let path = format!("/proc/thread-self/fd/{}", rw.as_raw_fd());
        let ro = open(path.as_str(), OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
            .map_err(|e| Error::os("reopen response read-only", e))?;
        Ok(ResponseFd(ro))
    }

    /// Gives up ownership: the caller must close the returned fd.
    pub fn into_raw_fd(self) -> RawFd {
        self.0.into_raw_fd()
    }

    pub fn into_owned_fd(self) -> OwnedFd {
        self.0
    }

    /// Reads the whole response (from offset 0, without moving the fd's offset).
    pub fn read_all(&self) -> Result<Vec<u8>> {
        read_all_at(self.0.as_fd())
    }
}

impl AsFd for ResponseFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

/// `pread`s a whole regular file.
pub fn read_all_at(fd: BorrowedFd<'_>) -> Result<Vec<u8>> {
    let size = nix::sys::stat::fstat(fd).map_err(|e| Error::os("fstat response", e))?.st_size.max(0) as usize;
    let mut buf = vec![0u8; size];
    let mut done = 0;
    while done < size {
        match nix::sys::uio::pread(fd, &mut buf[done..], done as i64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(Error::os("pread response", e)),
        }
    }
    buf.truncate(done);
    Ok(buf)
}

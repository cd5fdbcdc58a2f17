//! The response fd, of the kind the command table names: a snapshot is a
//! sealed memfd, handed back opened read-only and close-on-exec (a regular
//! file, not a socket, read with `pread` from offset 0); a stream is the read
//! end of a pipe (`stream`). Reading either consults nobody's credentials, so
//! it can be passed to another process and read there with the same bytes.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};

use nix::fcntl::{fcntl, open, FcntlArg, OFlag, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};
use nix::sys::stat::Mode;

use crate::command::ResponseKind;
use crate::error::{Error, Result};

/// The seals every response carries: no writes, no growing, no shrinking, no new seals.
pub fn response_seals() -> SealFlag {
    SealFlag::F_SEAL_WRITE | SealFlag::F_SEAL_GROW | SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_SEAL
}

/// A read-only, close-on-exec response: a sealed snapshot or a stream.
#[derive(Debug)]
pub struct ResponseFd {
    fd: OwnedFd,
    kind: ResponseKind,
}

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
        Ok(ResponseFd { fd: ro, kind: ResponseKind::Snapshot })
    }

    /// A stream's read end (`stream::pipe`).
    pub fn stream(read_end: OwnedFd) -> ResponseFd {
        ResponseFd { fd: read_end, kind: ResponseKind::Stream }
    }

    /// An fd received from a broker, of the kind its reply named.
    pub fn received(fd: OwnedFd, kind: ResponseKind) -> ResponseFd {
        ResponseFd { fd, kind }
    }

    pub fn kind(&self) -> ResponseKind {
        self.kind
    }

    pub fn into_owned_fd(self) -> OwnedFd {
        self.fd
    }

    /// Reads the whole response: a snapshot from offset 0 (without moving the
    /// fd's offset), a stream until it ends.
    pub fn read_all(&self) -> Result<Vec<u8>> {
        match self.kind {
            ResponseKind::Snapshot => read_all_at(self.fd.as_fd()),
            ResponseKind::Stream => read_to_end(self.fd.as_fd()),
        }
    }
}

impl IntoRawFd for ResponseFd {
    /// Gives up ownership: the caller must close the returned fd.
    fn into_raw_fd(self) -> RawFd {
        self.fd.into_raw_fd()
    }
}

impl AsFd for ResponseFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Reads until EOF.
fn read_to_end(fd: BorrowedFd<'_>) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match nix::unistd::read(fd, &mut chunk) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(Error::os("read stream", e)),
        }
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

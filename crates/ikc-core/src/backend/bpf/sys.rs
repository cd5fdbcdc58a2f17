//! The few `bpf(2)` commands aya does not expose for what `pin.rs` does with a
//! pinned iterator link: open it (`BPF_OBJ_GET`), read what it runs
//! (`BPF_OBJ_GET_INFO_BY_FD`, `BPF_PROG_GET_FD_BY_ID`, `BPF_MAP_GET_FD_BY_ID`,
//! `BPF_MAP_LOOKUP_ELEM`), freeze its globals (`BPF_MAP_FREEZE`) and start a
//! walk (`BPF_ITER_CREATE`); aya pins. Each attribute block
//! is the zeroed `union bpf_attr` prefix the command reads (uapi/linux/bpf.h).

use std::ffi::CStr;
use std::fs::File;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::errno::Errno;
use nix::libc;

const BPF_MAP_LOOKUP_ELEM: libc::c_long = 1;
const BPF_OBJ_GET: libc::c_long = 7;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_MAP_GET_FD_BY_ID: libc::c_long = 14;
const BPF_OBJ_GET_INFO_BY_FD: libc::c_long = 15;
const BPF_MAP_FREEZE: libc::c_long = 22;
const BPF_ITER_CREATE: libc::c_long = 33;

/// `BPF_LINK_TYPE_ITER`.
pub const LINK_TYPE_ITER: u32 = 4;
/// `BPF_PROG_TYPE_TRACING` (what an `iter/task` program is).
pub const PROG_TYPE_TRACING: u32 = 26;

/// 128 bytes: more than any attribute block used here; the kernel reads the size given.
#[repr(C, align(8))]
struct Attr([u8; 128]);

impl Attr {
    fn new() -> Attr {
        Attr([0; 128])
    }
    fn u32(mut self, at: usize, v: u32) -> Attr {
        self.0[at..at + 4].copy_from_slice(&v.to_ne_bytes());
        self
    }
    fn u64(mut self, at: usize, v: u64) -> Attr {
        self.0[at..at + 8].copy_from_slice(&v.to_ne_bytes());
        self
    }
}

fn bpf(cmd: libc::c_long, attr: &mut Attr, size: usize) -> Result<libc::c_long, Errno> {
    // SAFETY: `attr` is a live, writable block of at least `size` bytes; the kernel
    // reads (and for some commands writes) only that prefix.
    let rc = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr.0.as_mut_ptr(), size) };
    if rc < 0 { Err(Errno::last()) } else { Ok(rc) }
}

fn fd_of(rc: libc::c_long) -> Result<OwnedFd, Errno> {
    let raw = i32::try_from(rc).map_err(|_| Errno::EBADF)?;
    // SAFETY: the kernel returned this new fd to us and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

fn raw(fd: BorrowedFd<'_>) -> u32 {
    fd.as_raw_fd() as u32
}

/// The object pinned at `path` (close-on-exec, as every bpf fd).
pub fn obj_get(path: &CStr) -> Result<OwnedFd, Errno> {
    let mut a = Attr::new().u64(0, path.as_ptr() as u64);
    fd_of(bpf(BPF_OBJ_GET, &mut a, 16)?)
}

fn info(fd: BorrowedFd<'_>, out: &mut [u8]) -> Result<(), Errno> {
    let mut a = Attr::new().u32(0, raw(fd)).u32(4, out.len() as u32).u64(8, out.as_mut_ptr() as u64);
    bpf(BPF_OBJ_GET_INFO_BY_FD, &mut a, 16).map(|_| ())
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// `struct bpf_link_info`'s type and program id.
pub fn link_info(link: BorrowedFd<'_>) -> Result<(u32, u32), Errno> {
    let mut b = [0u8; 16];
    info(link, &mut b)?;
    Ok((u32_at(&b, 0), u32_at(&b, 8)))
}

/// What `pin.rs` checks of a program: `struct bpf_prog_info`'s type, tag, name, and up to 8 map ids.
pub struct ProgInfo {
    pub prog_type: u32,
    pub tag: [u8; 8],
    pub name: [u8; 16],
    pub map_ids: Vec<u32>,
}

/// The program numbered `id` (needs `CAP_SYS_ADMIN`).
pub fn prog_by_id(id: u32) -> Result<OwnedFd, Errno> {
    let mut a = Attr::new().u32(0, id);
    fd_of(bpf(BPF_PROG_GET_FD_BY_ID, &mut a, 12)?)
}

pub fn prog_info(prog: BorrowedFd<'_>) -> Result<ProgInfo, Errno> {
    let mut ids = [0u32; 8];
    // Up to `name` (offset 64, 16 bytes): the kernel copies no more than asked.
    let mut b = [0u8; 80];
    b[52..56].copy_from_slice(&(ids.len() as u32).to_ne_bytes());
    b[56..64].copy_from_slice(&(ids.as_mut_ptr() as u64).to_ne_bytes());
    info(prog, &mut b)?;
    let n = (u32_at(&b, 52) as usize).min(ids.len());
    let mut tag = [0u8; 8];
    tag.copy_from_slice(&b[8..16]);
    let mut name = [0u8; 16];
    name.copy_from_slice(&b[64..80]);
    Ok(ProgInfo { prog_type: u32_at(&b, 0), tag, name, map_ids: ids[..n].to_vec() })
}

/// The map numbered `id` (needs `CAP_SYS_ADMIN`).
pub fn map_by_id(id: u32) -> Result<OwnedFd, Errno> {
    let mut a = Attr::new().u32(0, id);
    fd_of(bpf(BPF_MAP_GET_FD_BY_ID, &mut a, 12)?)
}

/// `struct bpf_map_info`'s value size and name.
pub fn map_info(map: BorrowedFd<'_>) -> Result<(u32, [u8; 16]), Errno> {
    let mut b = [0u8; 40];
    info(map, &mut b)?;
    let mut name = [0u8; 16];
    name.copy_from_slice(&b[24..40]);
    Ok((u32_at(&b, 12), name))
}

/// Element 0 of an array map whose values are `u32` (`EINVAL` for any other value size).
pub fn map_lookup_u32(map: BorrowedFd<'_>) -> Result<u32, Errno> {
    // The kernel writes a whole value: it must fit the 4 bytes given it.
    if map_info(map)?.0 != 4 {
        return Err(Errno::EINVAL);
    }
    let key = 0u32;
    let mut value = 0u32;
    let mut a = Attr::new()
        .u32(0, raw(map))
        .u64(8, &key as *const u32 as u64)
        .u64(16, &mut value as *mut u32 as u64);
    bpf(BPF_MAP_LOOKUP_ELEM, &mut a, 32)?;
    Ok(value)
}

/// Makes the map read-only from user space for good.
pub fn map_freeze(map: BorrowedFd<'_>) -> Result<(), Errno> {
    let mut a = Attr::new().u32(0, raw(map));
    bpf(BPF_MAP_FREEZE, &mut a, 4).map(|_| ())
}

/// A new walk of the iterator link: read it to its end record.
pub fn iter_create(link: BorrowedFd<'_>) -> Result<File, Errno> {
    let mut a = Attr::new().u32(0, raw(link));
    Ok(File::from(fd_of(bpf(BPF_ITER_CREATE, &mut a, 8)?)?))
}

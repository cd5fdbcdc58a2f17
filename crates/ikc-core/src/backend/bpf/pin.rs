//! The iterator kept loaded between processes: one iterator link per walk mode
//! (thread-group leaders, every task) pinned in bpffs, so a root one-shot
//! process (`ikc ps`) opens a pin and walks instead of loading and verifying
//! the program against the kernel's BTF (tens of milliseconds) every run.
//!
//! The pins live in a directory only root can enter (`/sys/fs/bpf/ikc`, mode
//! 0700, owner 0, on bpffs): reading a pinned iterator shows every task of the
//! system, whoever reads it, so nobody else may open one. A pin is used only
//! after checking, each time, that the directory is still so, and that the link
//! runs what its name says: an iterator link of a tracing program named
//! `ikc_tasks` whose kernel tag is the one the name records, built from this
//! very object (the object's hash is in the name), and whose frozen global
//! selects the mode the name says. Anything else is unlinked (when it has this
//! object's hash) or ignored, and the program is loaded as before. Only root
//! (euid 0) uses or makes pins; `IKC_BPF_PIN=off` turns them off,
//! `IKC_BPF_PIN_DIR` puts them elsewhere (the same rules apply there).
//! `rm -r /sys/fs/bpf/ikc` unloads them; they also go with a reboot.

use std::ffi::CString;
use std::fs;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use super::sys;

/// The default place of the pins.
pub const DEFAULT_DIR: &str = "/sys/fs/bpf/ikc";
/// `BPF_FS_MAGIC`: the directory must be on bpffs.
const BPF_FS_MAGIC: i64 = 0xcafe_4a11;
/// The program's name as the kernel keeps it (NUL-padded to 16 bytes).
const PROG_NAME: &[u8] = b"ikc_tasks";

/// Where pins are kept for this process, or `None` when it uses none (not
/// root, or `IKC_BPF_PIN=off`).
pub fn dir() -> Option<PathBuf> {
    if !nix::unistd::geteuid().is_root() || std::env::var_os("IKC_BPF_PIN").is_some_and(|v| v == "off") {
        return None;
    }
    Some(std::env::var_os("IKC_BPF_PIN_DIR").map_or_else(|| PathBuf::from(DEFAULT_DIR), PathBuf::from))
}

/// 64-bit FNV-1a of the embedded object, as 16 hex digits: pins made from
/// another object (another ikc version) are never used.
pub fn object_hash(object: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in object {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

const fn mode_name(threads: bool) -> &'static str {
    if threads { "threads" } else { "leaders" }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The pin's name without its tag: `<object hash>-<mode>-`.
fn prefix(hash: &str, threads: bool) -> String {
    format!("{hash}-{}-", mode_name(threads))
}

/// The directory is root's alone and on bpffs (checked without following a symlink).
pub fn check_dir(dir: &Path) -> Result<(), String> {
    let m = fs::symlink_metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if !m.file_type().is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    if m.uid() != 0 || m.mode() & 0o077 != 0 {
        return Err(format!("{} must be owned by root with mode 0700 (it is uid {}, mode {:o})", dir.display(), m.uid(), m.mode() & 0o7777));
    }
    let fs = nix::sys::statfs::statfs(dir).map_err(|e| format!("statfs {}: {e}", dir.display()))?;
    if fs.filesystem_type().0 as i64 != BPF_FS_MAGIC {
        return Err(format!("{} is not on a BPF file system", dir.display()));
    }
    Ok(())
}

/// Makes the directory (0700) if it is missing, then checks it.
pub fn ensure_dir(dir: &Path) -> Result<(), String> {
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("mkdir {}: {e}", dir.display())),
    }
    check_dir(dir)
}

fn cpath(p: &Path) -> Result<CString, Errno> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)
}

/// The `.bss` global of a program (its only 4-byte array map named so).
fn globals_map(info: &sys::ProgInfo) -> Result<OwnedFd, Errno> {
    for &id in &info.map_ids {
        let map = sys::map_by_id(id)?;
        let (value_size, name) = sys::map_info(map.as_fd())?;
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        if value_size == 4 && name[..end].ends_with(b".bss") {
            return Ok(map);
        }
    }
    Err(Errno::ENOENT)
}

/// The program a link runs, and its kernel info.
fn program_of(link: BorrowedFd<'_>) -> Result<(u32, sys::ProgInfo), Errno> {
    let (link_type, prog_id) = sys::link_info(link)?;
    let prog = sys::prog_by_id(prog_id)?;
    Ok((link_type, sys::prog_info(prog.as_fd())?))
}

/// Whether `link` is what a pin named with `tag` for this mode must be.
/// `Err` when it cannot be told (not privileged enough to look).
fn matches(link: BorrowedFd<'_>, tag: &str, threads: bool) -> Result<bool, Errno> {
    let (link_type, info) = program_of(link)?;
    let name_ok = info.name.starts_with(PROG_NAME) && info.name[PROG_NAME.len()..].iter().all(|&b| b == 0);
    if link_type != sys::LINK_TYPE_ITER || info.prog_type != sys::PROG_TYPE_TRACING || !name_ok || hex(&info.tag) != tag {
        return Ok(false);
    }
    let leaders_only = match globals_map(&info) {
        Ok(map) => sys::map_lookup_u32(map.as_fd())?,
        Err(Errno::ENOENT) => return Ok(false),
        Err(e) => return Err(e),
    };
    Ok(leaders_only == u32::from(!threads))
}

/// The pinned link for this mode, checked; `None` when there is none fit to use
/// (a pin of this object that fails the checks is removed).
pub fn open(dir: &Path, hash: &str, threads: bool) -> Option<OwnedFd> {
    check_dir(dir).ok()?;
    let prefix = prefix(hash, threads);
    for entry in fs::read_dir(dir).ok()?.flatten() {
        let name = entry.file_name();
        let Some(tag) = name.to_str().and_then(|n| n.strip_prefix(&prefix)) else { continue };
        let path = dir.join(&name);
        let Ok(c) = cpath(&path) else { continue };
        let verdict = sys::obj_get(&c).and_then(|link| matches(link.as_fd(), tag, threads).map(|ok| ok.then_some(link)));
        match verdict {
            Ok(Some(link)) => return Some(link),
            // Not what its name says (or not a link at all): stale, made by something else.
            Ok(None) | Err(Errno::EINVAL) => {
                let _ = fs::remove_file(&path);
            }
            Err(_) => {}
        }
    }
    None
}

/// Pins a link (already attached, its global frozen) of a program whose kernel
/// tag is `tag`, for this mode: `pin_at` pins it under a temporary name, which
/// is then renamed into place, so a reader never sees half a pin.
pub fn pin(dir: &Path, hash: &str, threads: bool, tag: [u8; 8], pin_at: impl FnOnce(&Path) -> Result<(), String>) -> Result<(), String> {
    ensure_dir(dir)?;
    let name = format!("{}{}", prefix(hash, threads), hex(&tag));
    // bpffs refuses names with dots.
    let tmp = dir.join(format!("tmp-{name}-{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    pin_at(&tmp)?;
    fs::rename(&tmp, dir.join(&name)).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        format!("rename {}: {e}", tmp.display())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_object_hash_is_stable_and_names_the_mode() {
        assert_eq!(object_hash(b""), "cbf29ce484222325");
        assert_eq!(object_hash(b"a"), "af63dc4c8601ec8c");
        assert_eq!(prefix("00", true), "00-threads-");
        assert_eq!(prefix("00", false), "00-leaders-");
    }

    #[test]
    fn a_directory_others_can_enter_or_off_bpffs_is_refused() {
        let tmp = std::env::temp_dir().join(format!("ikc-pin-test-{}", std::process::id()));
        fs::DirBuilder::new().mode(0o755).create(&tmp).expect("mkdir");
        let err = check_dir(&tmp).expect_err("0755");
        assert!(err.contains("mode 0700"), "{err}");
        fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o700)).expect("chmod");
        let err = check_dir(&tmp).expect_err("tmpfs");
        if nix::unistd::geteuid().is_root() {
            assert!(err.contains("not on a BPF file system"), "{err}");
        }
        assert!(open(&tmp, "00", false).is_none());
        let _ = fs::remove_dir(&tmp);
    }
}

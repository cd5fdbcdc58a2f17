//! Pinned iterator links (backend/bpf/pin.rs): made on first use in a root-only
//! directory on bpffs, used by the next process instead of loading the program,
//! and refused (then removed and made anew) when a pin is not what its name says.
//! Needs root and a bpffs at /sys/fs/bpf: skipped with a printed reason otherwise.
//! Each test uses its own directory, removed at the end.
#![cfg(feature = "bpf")]

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

mod bpf_common;
use bpf_common::skip_reason;
use ikc_core::backend::bpf::{self, TaskIter};

fn skip() -> Option<String> {
    if let Some(why) = skip_reason() {
        return Some(why);
    }
    if !nix::unistd::geteuid().is_root() {
        return Some("pins are root's: needs euid 0".into());
    }
    match nix::sys::statfs::statfs("/sys/fs/bpf") {
        Ok(s) if s.filesystem_type().0 as i64 == 0xcafe_4a11 => None,
        _ => Some("no bpffs at /sys/fs/bpf".into()),
    }
}

/// A pin directory for one test, removed when dropped.
struct PinDir(PathBuf);
impl PinDir {
    fn new(name: &str) -> PinDir {
        let d = PathBuf::from(format!("/sys/fs/bpf/ikc-test-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        PinDir(d)
    }
    fn entries(&self) -> BTreeSet<String> {
        fs::read_dir(&self.0).map(|r| r.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect()).unwrap_or_default()
    }
    fn entry(&self, mode: &str) -> PathBuf {
        let name = self.entries().into_iter().find(|n| n.contains(&format!("-{mode}-"))).unwrap_or_else(|| panic!("no {mode} pin in {:?}", self.entries()));
        self.0.join(name)
    }
}
impl Drop for PinDir {
    fn drop(&mut self) {
        let _ = fs::set_permissions(&self.0, fs::Permissions::from_mode(0o700));
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The (tgid, tid) pairs of a walk that belong to this process.
fn own_tasks(iter: &mut TaskIter, threads: bool) -> BTreeSet<(u32, u32)> {
    let me = std::process::id();
    iter.read(threads, Default::default()).expect("walk").tasks.iter().filter(|t| t.base.tgid == me).map(|t| (t.base.tgid, t.base.pid)).collect()
}

fn own_tasks_procfs() -> BTreeSet<(u32, u32)> {
    let me = std::process::id();
    fs::read_dir(format!("/proc/{me}/task")).expect("/proc/self/task").flatten().filter_map(|e| e.file_name().to_str()?.parse().ok()).map(|tid| (me, tid)).collect()
}

fn renamed(from: &Path, to: &Path) {
    fs::rename(from, to).expect("rename pin");
}

#[test]
fn a_pin_is_made_once_checked_and_used_by_the_next_instance() {
    if let Some(why) = skip() {
        println!("SKIPPED: {why}");
        return;
    }
    let _sleeper = std::thread::spawn(|| std::thread::sleep(Duration::from_secs(30)));
    let dir = PinDir::new("use");
    let mut first = TaskIter::load_with_pins(Some(dir.0.clone())).expect("load");
    assert!(first.is_pinned(false), "the first load pins the leaders walk");
    let meta = fs::symlink_metadata(&dir.0).expect("pin dir");
    assert_eq!((meta.uid(), meta.mode() & 0o7777), (0, 0o700), "the pin directory is root's alone");
    assert_eq!(dir.entries().len(), 1, "one pin: {:?}", dir.entries());
    assert!(!first.is_pinned(true));
    let threads = own_tasks(&mut first, true);
    assert!(first.is_pinned(true), "a threads walk pins its own link");
    assert_eq!(dir.entries().len(), 2, "{:?}", dir.entries());
    assert_eq!(threads, own_tasks_procfs(), "the pinned threads walk sees every thread of this process");
    let me = std::process::id();
    assert_eq!(own_tasks(&mut first, false), BTreeSet::from([(me, me)]), "the pinned leaders walk sees the leader alone");

    let before = dir.entries();
    let mut second = TaskIter::load_with_pins(Some(dir.0.clone())).expect("second load");
    assert!(second.is_pinned(false));
    assert_eq!(own_tasks(&mut second, true), own_tasks_procfs());
    assert_eq!(dir.entries(), before, "the second instance used the pins, made none");

    // The same walks as a program loaded afresh, which never touches pins.
    let mut fresh = TaskIter::load_fresh().expect("fresh load");
    assert!(!fresh.is_pinned(false));
    assert_eq!(own_tasks(&mut fresh, true), own_tasks(&mut second, true));
}

#[test]
fn a_pin_that_is_not_what_its_name_says_is_removed_and_made_anew() {
    if let Some(why) = skip() {
        println!("SKIPPED: {why}");
        return;
    }
    let _sleeper = std::thread::spawn(|| std::thread::sleep(Duration::from_secs(30)));
    let dir = PinDir::new("swap");
    let mut iter = TaskIter::load_with_pins(Some(dir.0.clone())).expect("load");
    own_tasks(&mut iter, true);
    let (leaders, threads) = (dir.entry("leaders"), dir.entry("threads"));
    drop(iter);
    // Swap the two links' names: each now runs the other mode's walk (its frozen global says so).
    let tmp = dir.0.join("swap");
    renamed(&leaders, &tmp);
    renamed(&threads, &leaders);
    renamed(&tmp, &threads);
    let mut iter = TaskIter::load_with_pins(Some(dir.0.clone())).expect("load after the swap");
    assert!(iter.is_pinned(false));
    assert_eq!(own_tasks(&mut iter, true), own_tasks_procfs(), "the threads walk is a threads walk, not the swapped-in leaders link");
    let me = std::process::id();
    assert_eq!(own_tasks(&mut iter, false), BTreeSet::from([(me, me)]));
    assert!(!dir.entries().contains("swap"));

    // A tag that is not the program's.
    let leaders = dir.entry("leaders");
    let name = leaders.file_name().and_then(|n| n.to_str()).expect("name").to_owned();
    let forged = dir.0.join(format!("{}0000000000000000", &name[..name.len() - 16]));
    renamed(&leaders, &forged);
    drop(iter);
    let iter = TaskIter::load_with_pins(Some(dir.0.clone())).expect("load after the forged tag");
    assert!(iter.is_pinned(false));
    assert!(!dir.0.join(&forged).exists() || forged == dir.entry("leaders"), "the forged pin is gone: {:?}", dir.entries());
    assert_ne!(dir.entry("leaders"), forged);
}

#[test]
fn pins_in_a_directory_others_may_enter_are_not_used() {
    if let Some(why) = skip() {
        println!("SKIPPED: {why}");
        return;
    }
    let dir = PinDir::new("open");
    TaskIter::load_with_pins(Some(dir.0.clone())).expect("load");
    let before = dir.entries();
    fs::set_permissions(&dir.0, fs::Permissions::from_mode(0o755)).expect("chmod");
    let iter = TaskIter::load_with_pins(Some(dir.0.clone())).expect("load");
    assert!(!iter.is_pinned(false), "a pin in a 0755 directory is not used (the program is loaded instead)");
    assert_eq!(dir.entries(), before, "and nothing is pinned there");
    // A directory that is not on bpffs is no place for pins either.
    let tmp = std::env::temp_dir().join(format!("ikc-pin-tmpfs-{}", std::process::id()));
    let iter = TaskIter::load_with_pins(Some(tmp.clone())).expect("load");
    assert!(!iter.is_pinned(false));
    let _ = fs::remove_dir(&tmp);
    assert!(bpf::pin::check_dir(Path::new("/sys/fs/bpf")).is_err() || fs::symlink_metadata("/sys/fs/bpf").map(|m| m.mode() & 0o077 == 0).unwrap_or(false));
}

//! Parsing of the procfs files the procfs backend reads (`/proc/PID/status`,
//! `/proc/PID/stat`): pure functions over bytes, no I/O, in the style of the
//! procfs crate's split between parsing and reading. A comm need not be UTF-8.

use crate::task::{Comm, LevelIds, NsLevels, TaskPs, TaskStat};

/// The fields of `/proc/PID/stat` that ikc uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatFields {
    pub pid: u32,
    pub comm: Comm,
    pub state: u8,
    pub ppid: u32,
    pub pgrp: u32,
    pub session: u32,
}

/// The fields of `/proc/PID/status` that ikc uses: everything task_diag reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusFields {
    /// `Name:`, unescaped (the kernel escapes only `\n` and `\\` there).
    pub name: Comm,
    /// The letter of `State:`.
    pub state: u8,
    pub pid: u32,
    pub ppid: u32,
    pub tgid: u32,
    pub tracer_pid: u32,
    /// Real, effective, saved, filesystem.
    pub uid: [u32; 4],
    pub gid: [u32; 4],
    pub cap_inh: u64,
    pub cap_prm: u64,
    pub cap_eff: u64,
    pub cap_bnd: u64,
    /// `NSpid`, `NSpgid`, `NSsid`: the ids in each pid namespace from procfs's
    /// own (index 0) down to the task's (last); one entry when they coincide.
    pub levels: NsLevels,
    /// The task has an mm: procfs prints the `Vm*` lines only then, so an
    /// exited task or a kernel thread has none.
    pub has_mm: bool,
}

/// One of the `NSpid`/`NSpgid`/`NSsid` lines: a column of `levels`.
fn parse_levels(value: &str, levels: &mut NsLevels, column: fn(&mut LevelIds) -> &mut u32) -> Option<()> {
    for (g, field) in value.split_ascii_whitespace().enumerate() {
        *column(levels.level_mut(g)?) = field.parse().ok()?;
    }
    Some(())
}

/// Parses `/proc/PID/stat`. The comm is everything between the first `(` and the
/// last `)`, since a comm may itself contain parentheses and spaces.
pub fn parse_stat(b: &[u8]) -> Option<StatFields> {
    let open = b.iter().position(|&c| c == b'(')?;
    let close = b.iter().rposition(|&c| c == b')')?;
    if close < open {
        return None;
    }
    let pid = std::str::from_utf8(&b[..open]).ok()?.trim().parse().ok()?;
    let comm = Comm::from_bytes(&b[open + 1..close]);
    let rest = std::str::from_utf8(b.get(close + 1..)?).ok()?;
    let mut f = rest.split_ascii_whitespace();
    let state = *f.next()?.as_bytes().first()?;
    // ppid and pgrp/session print as signed ints; 0 for "none".
    let num = |s: Option<&str>| -> Option<u32> { s?.parse::<i64>().ok().map(|v| v.max(0) as u32) };
    let ppid = num(f.next())?;
    let pgrp = num(f.next())?;
    let session = num(f.next())?;
    let _tty_nr = f.next()?;
    let _tpgid = f.next()?;
    Some(StatFields { pid, comm, state, ppid, pgrp, session })
}

/// The numbers of `/proc/PID/stat` after the comm: field 3 (`state`) is index 0.
fn stat_numbers(b: &[u8]) -> Option<impl Iterator<Item = &str>> {
    let close = b.iter().rposition(|&c| c == b')')?;
    let rest = std::str::from_utf8(b.get(close + 1..)?).ok()?;
    Some(rest.split_ascii_whitespace())
}

/// The STAT and PS fields of `/proc/PID/stat` (`do_task_stat`): fields 7-20,
/// 22-24 and 39-41, as proc(5) numbers them. `ticks_ns`: nanoseconds per
/// clock tick (`USER_HZ`), which `starttime` counts; `page`: the page size,
/// which `rss` counts. Pids (`tpgid`) are procfs's; -1 ("none") reads as 0.
pub fn parse_stat_fields(b: &[u8], ticks_ns: u64, page: u64) -> Option<(TaskStat, TaskPs)> {
    // Fields 3 ("state") to 41 ("policy"); later kernels print more after them.
    let mut f = [""; 39];
    let mut it = stat_numbers(b)?;
    for slot in f.iter_mut() {
        *slot = it.next()?;
    }
    // Field n of proc(5), as a number; fields ikc skips (rsslim is often
    // u64::MAX) are never parsed, and every one it reads fits an i64.
    let n = |field: usize| -> Option<i64> { f[field - 3].parse::<i64>().ok() };
    let (tty_nr, tpgid, flags) = (n(7)? as u32, n(8)?.max(0) as u32, n(9)? as u32);
    let (minflt, cminflt, majflt, cmajflt) = (n(10)?, n(11)?, n(12)?, n(13)?);
    let (utime, stime, cutime, cstime) = (n(14)?, n(15)?, n(16)?, n(17)?);
    let (priority, nice, threads) = (n(18)?, n(19)?, n(20)?);
    let (starttime, vsize, rss) = (n(22)?, n(23)?, n(24)?);
    let (processor, rt_priority, policy) = (n(39)?, n(40)?, n(41)?);
    let u = |v: i64| v.max(0) as u64;
    let stat = TaskStat {
        minflt: u(minflt),
        cminflt: u(cminflt),
        majflt: u(majflt),
        cmajflt: u(cmajflt),
        utime: u(utime),
        stime: u(stime),
        cutime: u(cutime),
        cstime: u(cstime),
        threads: threads.max(0) as u32,
    };
    let ps = TaskPs {
        start_time: u(starttime).saturating_mul(ticks_ns),
        vsize: u(vsize),
        rss: u(rss).saturating_mul(page),
        locked: 0,
        flags,
        tty_nr,
        tpgid,
        nice: nice as i32,
        priority: priority as i32,
        policy: policy as u32,
        rt_priority: rt_priority as u32,
        processor: processor as u32,
    };
    Some((stat, ps))
}

/// `VmRSS:` and `VmLck:` of `/proc/PID/status`, in bytes (0 without an mm).
/// procps shows these as RSS and the `L` of STAT; `stat`'s rss can lag
/// behind (it reads the per-CPU counters without summing them).
pub fn parse_status_memory(b: &[u8]) -> (u64, u64) {
    let kb = |line: &[u8]| -> Option<u64> { ascii(line)?.strip_suffix("kB")?.trim().parse::<u64>().ok() };
    let (mut rss, mut locked) = (0, 0);
    for line in b.split(|&c| c == b'\n') {
        if let Some(v) = line.strip_prefix(b"VmRSS:") {
            rss = kb(v).unwrap_or(0) * 1024;
        } else if let Some(v) = line.strip_prefix(b"VmLck:") {
            locked = kb(v).unwrap_or(0) * 1024;
        }
    }
    (rss, locked)
}

/// The whole `Name:` of `/proc/PID/status`, unescaped: a kernel thread's or
/// workqueue worker's may be longer than `comm`'s 15 bytes (up to 63).
pub fn parse_status_name(b: &[u8]) -> Option<Vec<u8>> {
    let line = b.split(|&c| c == b'\n').find_map(|l| l.strip_prefix(b"Name:"))?;
    Some(unescape(line.strip_prefix(b"\t").unwrap_or(line)))
}

/// `Name:` as `proc_task_name` prints it: `seq_escape_str(.., "\n\\")`, so
/// only a newline (`\n`) and a backslash (`\\`) come escaped.
fn unescape_name(raw: &[u8]) -> Comm {
    Comm::from_bytes(&unescape(raw))
}

fn unescape(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    let mut bytes = raw.iter().copied();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'n') => out.push(b'\n'),
            Some(other) => out.push(other),
            None => out.push(b'\\'),
        }
    }
    out
}

fn ascii(v: &[u8]) -> Option<&str> {
    std::str::from_utf8(v).ok().map(str::trim)
}

fn ids(v: &[u8]) -> Option<[u32; 4]> {
    let mut it = ascii(v)?.split_ascii_whitespace().map(|x| x.parse::<u32>());
    Some([it.next()?.ok()?, it.next()?.ok()?, it.next()?.ok()?, it.next()?.ok()?])
}

fn hex(v: &[u8]) -> Option<u64> {
    u64::from_str_radix(ascii(v)?, 16).ok()
}

/// Parses the lines of `/proc/PID/status` that ikc needs. Works on bytes: a
/// comm need not be UTF-8.
pub fn parse_status(b: &[u8]) -> Option<StatusFields> {
    let mut s = StatusFields::default();
    let (mut have_tgid, mut have_uid, mut have_gid) = (false, false, false);
    for line in b.split(|&c| c == b'\n') {
        let Some(colon) = line.iter().position(|&c| c == b':') else { continue };
        let (key, value) = (&line[..colon], &line[colon + 1..]);
        match key {
            // One tab follows the colon; the name itself may end in spaces.
            b"Name" => s.name = unescape_name(value.strip_prefix(b"\t").unwrap_or(value)),
            b"State" => s.state = *ascii(value)?.as_bytes().first()?,
            b"Pid" => s.pid = ascii(value)?.parse().ok()?,
            b"PPid" => s.ppid = ascii(value)?.parse().ok()?,
            b"Tgid" => {
                s.tgid = ascii(value)?.parse().ok()?;
                have_tgid = true;
            }
            b"TracerPid" => s.tracer_pid = ascii(value)?.parse().ok()?,
            b"Uid" => {
                s.uid = ids(value)?;
                have_uid = true;
            }
            b"Gid" => {
                s.gid = ids(value)?;
                have_gid = true;
            }
            b"CapInh" => s.cap_inh = hex(value)?,
            b"CapPrm" => s.cap_prm = hex(value)?,
            b"CapEff" => s.cap_eff = hex(value)?,
            b"CapBnd" => s.cap_bnd = hex(value)?,
            b"NSpid" => parse_levels(ascii(value)?, &mut s.levels, |l| &mut l.pid)?,
            b"NSpgid" => parse_levels(ascii(value)?, &mut s.levels, |l| &mut l.pgid)?,
            b"NSsid" => parse_levels(ascii(value)?, &mut s.levels, |l| &mut l.sid)?,
            b"VmSize" => s.has_mm = true,
            _ => {}
        }
    }
    (have_tgid && have_uid && have_gid).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_a_hostile_comm() {
        let line = b"1234 (a) b (c) S 1 1234 1234 0 -1 4194560 93 0 0 0 0 0 0 0 20 0 1 0 5 1 1\n";
        let s = parse_stat(line).expect("parses");
        assert_eq!(s.pid, 1234);
        assert_eq!(s.comm.as_bytes(), b"a) b (c");
        assert_eq!((s.state, s.ppid, s.pgrp, s.session), (b'S', 1, 1234, 1234));
    }

    /// A line as Linux 6.x prints it (52 fields), of a process started at tick 5000.
    #[test]
    fn stat_fields_for_stat_and_ps() {
        let line = b"4321 (sle ep) S 1 4321 4000 34817 4321 4194560 93 7 2 1 11 12 13 14 20 5 3 0 5000 8192000 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
        let (stat, ps) = parse_stat_fields(line, 10_000_000, 4096).expect("parses");
        assert_eq!(stat, TaskStat { minflt: 93, cminflt: 7, majflt: 2, cmajflt: 1, utime: 11, stime: 12, cutime: 13, cstime: 14, threads: 3 });
        assert_eq!(
            ps,
            TaskPs {
                start_time: 50_000_000_000,
                vsize: 8_192_000,
                rss: 300 * 4096,
                locked: 0,
                flags: 4_194_560,
                tty_nr: 34817,
                tpgid: 4321,
                nice: 5,
                priority: 20,
                policy: 0,
                rt_priority: 0,
                processor: 1
            }
        );
        let kthread = b"2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 17 3 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
        let (_, ps) = parse_stat_fields(kthread, 10_000_000, 4096).expect("parses");
        assert_eq!((ps.tty_nr, ps.tpgid, ps.processor, ps.vsize), (0, 0, 3, 0), "no terminal, no foreground group (-1)");
        assert!(parse_stat_fields(&line[..60], 10_000_000, 4096).is_none(), "cut short");
    }

    #[test]
    fn status_memory_in_bytes() {
        let text = b"Name:\tx\nVmLck:\t       8 kB\nVmRSS:\t    1672 kB\n";
        assert_eq!(parse_status_memory(text), (1672 * 1024, 8 * 1024));
        assert_eq!(parse_status_memory(b"Name:\tkthreadd\n"), (0, 0), "no mm");
    }

    #[test]
    fn whole_name_is_unescaped() {
        let text = b"Name:\tkworker/0:0H-kblockd\nState:\tI (idle)\n";
        assert_eq!(parse_status_name(text).as_deref(), Some(&b"kworker/0:0H-kblockd"[..]));
        assert_eq!(parse_status_name(b"Name:\ta\\nb\n").as_deref(), Some(&b"a\nb"[..]));
    }

    #[test]
    fn stat_garbage_is_none() {
        assert!(parse_stat(b"").is_none());
        assert!(parse_stat(b"12 (x").is_none());
        assert!(parse_stat(b"12 x) S").is_none());
        assert!(parse_stat(b"12 (x) S 1 2").is_none());
    }

    #[test]
    fn status_fields() {
        let text = b"Name:\tbash\nTgid:\t77\nPid:\t78\nPPid:\t1\nTracerPid:\t5\n\
Uid:\t1000\t1001\t1002\t1003\nGid:\t10\t11\t12\t13\nNSpid:\t78\t3\nNSpgid:\t78\t3\nNSsid:\t1\t0\n\
CapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t0000000000003000\nCapBnd:\t000001ffffffffff\n";
        let s = parse_status(text).expect("parses");
        assert_eq!(s.tgid, 77);
        assert_eq!(s.tracer_pid, 5);
        assert_eq!(s.uid, [1000, 1001, 1002, 1003]);
        assert_eq!(s.gid, [10, 11, 12, 13]);
        assert_eq!(s.cap_prm, 0x1ff_ffff_ffff);
        assert_eq!(s.cap_eff, 0x3000);
        assert_eq!(s.levels.len(), 2);
        assert_eq!(s.levels.at(0), Some(LevelIds { pid: 78, pgid: 78, sid: 1 }));
        assert_eq!(s.levels.at(1), Some(LevelIds { pid: 3, pgid: 3, sid: 0 }));
        assert!(!s.has_mm, "no Vm lines: a kernel thread or an exited task");
        let with_mm = [&text[..], b"VmPeak:\t  2000 kB\nVmSize:\t  1900 kB\n"].concat();
        assert!(parse_status(&with_mm).expect("parses").has_mm);
    }

    #[test]
    fn status_name_is_unescaped_bytes() {
        // A comm of "a\nb\\c " followed by a byte that is not UTF-8.
        let text = b"Name:\ta\\nb\\\\c \xff\nState:\tS (sleeping)\nTgid:\t5\nPid:\t5\nPPid:\t1\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n";
        let s = parse_status(text).expect("parses despite the non-UTF-8 comm");
        assert_eq!(s.name.as_bytes(), b"a\nb\\c \xff");
        assert_eq!((s.state, s.pid, s.ppid), (b'S', 5, 1));
    }

    #[test]
    fn status_without_ids_is_none() {
        assert!(parse_status(b"Name:\tx\nTgid:\t1\n").is_none());
    }
}

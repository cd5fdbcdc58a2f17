//! Times, in one run, a raw Rust loop reading /proc/PID/stat for every process
//! against one task_diag ALL dump through the core, with the procfs backend and
//! the BPF backend (null where it cannot load), and the same for every thread,
//! and what loading the BPF iterator costs. Prints one JSON object (median milliseconds);
//! bench/run.mjs runs it. `bench-core [REPS]`.

use std::io::Read;
use std::time::Instant;

use ikc_core::task_diag::{ShowFlags, Strategy, TaskDiagRequest};
use ikc_core::kernel_command::{FLAG_BACKEND_BPF, FLAG_BACKEND_PROCFS};
use ikc_core::{issue_kernel_command, CURRENT_PIDNS, TASK_DIAG};

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

fn time(reps: usize, mut f: impl FnMut() -> usize) -> (f64, usize) {
    let mut n = f(); // warm up
    let ms = (0..reps)
        .map(|_| {
            let t = Instant::now();
            n = f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    (median(ms), n)
}

/// What ps-like tools do: list /proc, read each /proc/PID/stat (or each thread's).
fn raw_stat_loop(threads: bool) -> usize {
    raw_loop(threads, "stat")
}

/// The same loop over `file` of each task.
fn raw_loop(threads: bool, file: &str) -> usize {
    let mut buf = Vec::with_capacity(1024);
    let mut n = 0;
    let Ok(dir) = std::fs::read_dir("/proc") else { return 0 };
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().filter(|s| s.as_bytes()[0].is_ascii_digit()) else { continue };
        let paths: Vec<String> = if threads {
            std::fs::read_dir(format!("/proc/{pid}/task"))
                .map(|d| d.flatten().map(|t| format!("/proc/{pid}/task/{}/{file}", t.file_name().to_string_lossy())).collect())
                .unwrap_or_default()
        } else {
            vec![format!("/proc/{pid}/{file}")]
        };
        for path in paths {
            buf.clear();
            if std::fs::File::open(&path).and_then(|mut f| f.read_to_end(&mut buf)).is_ok() {
                n += 1;
            }
        }
    }
    n
}

fn dump(strategy: Strategy, show: ShowFlags) -> usize {
    dump_with(strategy, show, FLAG_BACKEND_PROCFS)
}

fn dump_with(strategy: Strategy, show: ShowFlags, flags: u32) -> usize {
    let req = TaskDiagRequest { show, strategy, pid: 0, sequence: 0 }.to_message();
    match issue_kernel_command(CURRENT_PIDNS, TASK_DIAG, &[&req], flags).and_then(|fd| fd.read_all()) {
        Ok(bytes) => bytes.len(),
        Err(e) => {
            eprintln!("bench-core: {e}");
            0
        }
    }
}

fn main() {
    let reps = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(7);
    let (raw, tasks) = time(reps, || raw_stat_loop(false));
    // The file the procfs backend must read (the only one with TracerPid): its floor.
    let (raw_status, _) = time(reps, || raw_loop(false, "status"));
    let (core, _) = time(reps, || dump(Strategy::All, ShowFlags::BASE));
    let (core_creds, _) = time(reps, || dump(Strategy::All, ShowFlags::BASE | ShowFlags::CRED));
    let (raw_threads, threads) = time(reps, || raw_stat_loop(true));
    let (core_threads, _) = time(reps, || dump(Strategy::AllThread, ShowFlags::BASE));
    // The BPF backend, where it can load (its one-time load is outside the timed runs).
    let bpf = |strategy| {
        let (ms, bytes) = time(reps, || dump_with(strategy, ShowFlags::BASE, FLAG_BACKEND_BPF));
        if bytes > 0 { format!("{ms:.3}") } else { "null".into() }
    };
    let (bpf_all, bpf_threads) = (bpf(Strategy::All), bpf(Strategy::AllThread));
    // What a one-shot process (the CLI) pays before its first BPF dump: kernel BTF parse, CO-RE relocation, verification.
    let bpf_load = match bpf_load_ms(reps) {
        Some(ms) => format!("{ms:.3}"),
        None => "null".into(),
    };
    let rtt = socket_round_trip_us();
    println!(
        r#"{{"socket_round_trip_us":{rtt:.1},"processes":{tasks},"threads":{threads},"raw_stat_loop_ms":{raw:.3},"raw_status_loop_ms":{raw_status:.3},"core_all_base_ms":{core:.3},"core_all_base_cred_ms":{core_creds:.3},"raw_stat_loop_threads_ms":{raw_threads:.3},"core_all_thread_base_ms":{core_threads:.3},"bpf_all_base_ms":{bpf_all},"bpf_all_thread_base_ms":{bpf_threads},"bpf_load_ms":{bpf_load}}}"#
    );
}

/// The p50 of one 16-byte round trip over a unix socket between two threads: the
/// floor under any broker request (the client and the broker each wait once).
fn socket_round_trip_us() -> f64 {
    use std::os::unix::net::UnixDatagram;
    let Ok((a, b)) = UnixDatagram::pair() else { return f64::NAN };
    let echo = std::thread::spawn(move || {
        let mut buf = [0u8; 16];
        while let Ok(n) = b.recv(&mut buf) {
            if n == 0 || b.send(&buf[..n]).is_err() {
                break;
            }
        }
    });
    let mut buf = [0u8; 16];
    let mut us = Vec::new();
    for _ in 0..3000 {
        let t = Instant::now();
        if a.send(&[1u8; 16]).is_err() || a.recv(&mut buf).is_err() {
            break;
        }
        us.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let _ = a.send(&[]); // a zero-length datagram ends the echo
    let _ = echo.join();
    if us.is_empty() { f64::NAN } else { median(us) }
}

/// Median time to load the BPF iterator afresh, or `None` where it cannot load.
#[cfg(feature = "bpf")]
fn bpf_load_ms(reps: usize) -> Option<f64> {
    let mut ms = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        ikc_core::backend::bpf::TaskIter::load_fresh().ok()?;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    Some(median(ms))
}

#[cfg(not(feature = "bpf"))]
fn bpf_load_ms(_reps: usize) -> Option<f64> {
    None
}

//! Drift-free ticks: a `CLOCK_MONOTONIC` timerfd armed with absolute deadlines
//! (`TFD_TIMER_ABSTIME`): the kernel fires at anchor + k·interval however late
//! each tick is served, and its expiration count says how many deadlines passed.

use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

use nix::sys::time::TimeSpec;
use nix::sys::timer::Expiration;
use nix::sys::timerfd::{ClockId, TimerFd, TimerFlags, TimerSetTimeFlags};
use nix::time::clock_gettime;

use crate::error::{Error, Result};

pub struct Ticker {
    timer: TimerFd,
}

impl Ticker {
    /// Tick 0 is now (the caller takes it itself); the timer fires at now + k·interval, k ≥ 1.
    pub fn start(interval: Duration) -> Result<Ticker> {
        let timer = TimerFd::new(ClockId::CLOCK_MONOTONIC, TimerFlags::TFD_CLOEXEC | TimerFlags::TFD_NONBLOCK)
            .map_err(|e| Error::os("timerfd_create", e))?;
        let anchor = clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).map_err(|e| Error::os("clock_gettime", e))?;
        let step = TimeSpec::from_duration(interval);
        timer
            .set(Expiration::IntervalDelayed(anchor + step, step), TimerSetTimeFlags::TFD_TIMER_ABSTIME)
            .map_err(|e| Error::os("timerfd_settime", e))?;
        Ok(Ticker { timer })
    }

    /// How many deadlines passed since the last call (≥ 1 once the fd polls readable).
    pub fn expirations(&self) -> Result<u64> {
        let mut count = [0u8; 8];
        loop {
            match nix::unistd::read(self.timer.as_fd(), &mut count) {
                Ok(8) => return Ok(u64::from_ne_bytes(count).max(1)),
                Ok(_) => return Err(Error::damaged("timerfd read returned a short count")),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(Error::os("read timerfd", e)),
            }
        }
    }
}

impl AsFd for Ticker {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.timer.as_fd()
    }
}

/// `CLOCK_MONOTONIC` now, in nanoseconds.
pub fn monotonic_ns() -> u64 {
    clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(|t| u64::try_from(t.tv_sec()).unwrap_or(0).saturating_mul(1_000_000_000).saturating_add(u64::try_from(t.tv_nsec()).unwrap_or(0)))
        .unwrap_or(0)
}

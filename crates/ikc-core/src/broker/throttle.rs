//! Rate-limited logging: at most one line per interval for each kind of event,
//! the next line saying how many were left out meanwhile. A flood of refusals or
//! failing accepts then costs a few lines, not megabytes.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One kind of event's log rate.
#[derive(Debug)]
pub struct Throttle {
    interval: Duration,
    state: Mutex<(Option<Instant>, u64)>,
}

impl Throttle {
    pub fn new(interval: Duration) -> Throttle {
        Throttle { interval, state: Mutex::new((None, 0)) }
    }

    /// Whether an event at `now` is logged: `Some(n)`, with `n` the events left
    /// out since the last line; `None` when this one is left out (and counted).
    pub fn admit(&self, now: Instant) -> Option<u64> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (last, suppressed) = &mut *s;
        match *last {
            Some(t) if now.saturating_duration_since(t) < self.interval => {
                *suppressed = suppressed.saturating_add(1);
                None
            }
            _ => {
                *last = Some(now);
                Some(std::mem::take(suppressed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_with_the_count_left_out() {
        let t = Throttle::new(Duration::from_secs(5));
        let t0 = Instant::now();
        assert_eq!(t.admit(t0), Some(0));
        for i in 1..1000 {
            assert_eq!(t.admit(t0 + Duration::from_millis(i)), None);
        }
        assert_eq!(t.admit(t0 + Duration::from_secs(5)), Some(999));
        assert_eq!(t.admit(t0 + Duration::from_secs(6)), None);
        assert_eq!(t.admit(t0 + Duration::from_secs(11)), Some(1));
        // A clock read out of order (another thread's earlier `now`) is inside the interval.
        assert_eq!(t.admit(t0), None);
    }
}

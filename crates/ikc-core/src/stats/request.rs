//! The STATS_SUBSCRIBE request: `nlmsghdr` (type `IKC_STATS_SUBSCRIBE` or 0)
//! followed by `struct ikc_stats_request`, read by the extensible-struct rule.
//! The command number says what is counted (LINK_STATS: the links of a
//! network namespace; TASK_STATS: tasks of a pid namespace), since a command
//! implies its namespace type; the struct is shared.

use crate::error::{Error, Result};
use crate::netlink::{Emitable, NetlinkHeader, NLM_F_REQUEST};
use crate::stream::STREAM_COMMAND_TYPES;
use crate::task_diag::TaskDiagRequest;
use crate::wire::buffer;

/// `nlmsg_type` of a STATS_SUBSCRIBE request.
pub const IKC_STATS_SUBSCRIBE: u16 = STREAM_COMMAND_TYPES + 0x10;

/// The shortest and longest intervals accepted, in milliseconds.
pub const MIN_INTERVAL_MS: u32 = 100;
pub const MAX_INTERVAL_MS: u32 = 3_600_000;

/// `sizeof(struct ikc_stats_request)`, its first and only revision.
pub const STATS_REQUEST_LEN: usize = 32;

buffer!(
    /// `struct ikc_stats_request`. `count` 0: until the reader closes the
    /// stream. The task fields (`show_flags`, `dump_strategy`, `pid`) are a
    /// task_diag request's and must be zero for link statistics.
    StatsRequestBuffer("ikc_stats_request", STATS_REQUEST_LEN) {
        count, set_count: (u64, 0..8),
        interval_ms, set_interval_ms: (u32, 8..12),
        flags, set_flags: (u32, 12..16),
        show_flags, set_show_flags: (u64, 16..24),
        dump_strategy, set_dump_strategy: (u32, 24..28),
        pid, set_pid: (u32, 28..32),
    }
);

/// A validated link-statistics request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkStatsRequest {
    pub interval_ms: u32,
    /// Snapshots to deliver before the stream ends; 0: no end.
    pub count: u64,
}

/// The fields every STATS_SUBSCRIBE request carries, checked: the header, the
/// size rule, `flags`, and the interval's bounds.
struct Fields {
    count: u64,
    interval_ms: u32,
    show_flags: u64,
    dump_strategy: u32,
    pid: u32,
}

impl Fields {
    fn read(bytes: &[u8]) -> Result<Fields> {
        let payload = crate::stream::request_payload(bytes, IKC_STATS_SUBSCRIBE, "IKC_STATS_SUBSCRIBE", "ikc_stats_request", STATS_REQUEST_LEN)?;
        let buf = StatsRequestBuffer::new_checked(&*payload).map_err(Error::malformed)?;
        if buf.flags() != 0 {
            return Err(Error::invalid(format!("unknown flags {:#x}", buf.flags())));
        }
        let interval_ms = buf.interval_ms();
        if !(MIN_INTERVAL_MS..=MAX_INTERVAL_MS).contains(&interval_ms) {
            return Err(Error::invalid(format!(
                "interval {interval_ms} ms is outside {MIN_INTERVAL_MS} ms .. {MAX_INTERVAL_MS} ms"
            )));
        }
        Ok(Fields { count: buf.count(), interval_ms, show_flags: buf.show_flags(), dump_strategy: buf.dump_strategy(), pid: buf.pid() })
    }

    fn to_message(&self) -> Vec<u8> {
        let mut payload = [0u8; STATS_REQUEST_LEN];
        let mut buf = StatsRequestBuffer::new_unchecked(&mut payload[..]);
        buf.set_count(self.count);
        buf.set_interval_ms(self.interval_ms);
        buf.set_show_flags(self.show_flags);
        buf.set_dump_strategy(self.dump_strategy);
        buf.set_pid(self.pid);
        let header = NetlinkHeader {
            length: (crate::netlink::NLMSG_HEADER_LEN + STATS_REQUEST_LEN) as u32,
            message_type: IKC_STATS_SUBSCRIBE,
            flags: NLM_F_REQUEST,
            sequence: 0,
            port: 0,
        };
        let mut out = Vec::with_capacity(header.length as usize);
        header.emit_to_vec(&mut out);
        out.extend_from_slice(&payload);
        out
    }
}

impl LinkStatsRequest {
    pub fn from_message(bytes: &[u8]) -> Result<LinkStatsRequest> {
        let f = Fields::read(bytes)?;
        if f.show_flags != 0 || f.dump_strategy != 0 || f.pid != 0 {
            return Err(Error::invalid("link statistics take no task fields (show_flags, dump_strategy, pid must be 0)"));
        }
        Ok(LinkStatsRequest { interval_ms: f.interval_ms, count: f.count })
    }

    pub fn to_message(&self) -> Vec<u8> {
        Fields { count: self.count, interval_ms: self.interval_ms, show_flags: 0, dump_strategy: 0, pid: 0 }.to_message()
    }
}

/// A validated task-statistics request: a task_diag request, repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskStatsRequest {
    pub interval_ms: u32,
    pub count: u64,
    /// What each tick dumps, validated exactly as TASK_DIAG validates it.
    pub task: TaskDiagRequest,
}

impl TaskStatsRequest {
    pub fn from_message(bytes: &[u8]) -> Result<TaskStatsRequest> {
        let f = Fields::read(bytes)?;
        // The task fields are a task_diag request's: checked by its own parser.
        let task = TaskDiagRequest::from_message(&TaskDiagRequest::encode(f.show_flags, u64::from(f.dump_strategy), f.pid, 0)?)?;
        Ok(TaskStatsRequest { interval_ms: f.interval_ms, count: f.count, task })
    }

    pub fn to_message(&self) -> Vec<u8> {
        Fields {
            count: self.count,
            interval_ms: self.interval_ms,
            show_flags: self.task.show.0,
            dump_strategy: self.task.strategy as u32,
            pid: self.task.pid,
        }
        .to_message()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::NLMSG_HEADER_LEN;

    fn valid() -> Vec<u8> {
        LinkStatsRequest { interval_ms: 1000, count: 3 }.to_message()
    }

    #[test]
    fn round_trip_and_the_size_rule() {
        let bytes = valid();
        assert_eq!(LinkStatsRequest::from_message(&bytes), Ok(LinkStatsRequest { interval_ms: 1000, count: 3 }));
        crate::extensible::assert_follows_the_rule("ikc_stats_request", &bytes[NLMSG_HEADER_LEN..], |p| {
            let mut m = bytes[..NLMSG_HEADER_LEN].to_vec();
            m.extend_from_slice(p);
            let len = m.len() as u32;
            m[..4].copy_from_slice(&len.to_ne_bytes());
            LinkStatsRequest::from_message(&m)
        });
    }

    #[test]
    fn bad_fields_are_einval() {
        let bad = |at: usize, value: &[u8]| {
            let mut b = valid();
            b[NLMSG_HEADER_LEN + at..NLMSG_HEADER_LEN + at + value.len()].copy_from_slice(value);
            LinkStatsRequest::from_message(&b).map_err(|e| e.code())
        };
        assert_eq!(bad(8, &99u32.to_ne_bytes()), Err("EINVAL"), "interval below 100 ms");
        assert_eq!(bad(8, &3_600_001u32.to_ne_bytes()), Err("EINVAL"), "interval above 1 h");
        assert_eq!(bad(12, &1u32.to_ne_bytes()), Err("EINVAL"), "flags");
        assert_eq!(bad(16, &1u64.to_ne_bytes()), Err("EINVAL"), "show_flags");
        assert_eq!(bad(28, &1u32.to_ne_bytes()), Err("EINVAL"), "pid");
        assert_eq!(bad(8, &100u32.to_ne_bytes()), Ok(LinkStatsRequest { interval_ms: 100, count: 3 }));
        let mut wrong_type = valid();
        wrong_type[4] = 0x55;
        assert_eq!(LinkStatsRequest::from_message(&wrong_type).map_err(|e| e.code()), Err("EINVAL"));
    }
}

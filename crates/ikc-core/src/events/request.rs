//! The PROC_EVENTS request: `nlmsghdr` (type `IKC_EVENTS_SUBSCRIBE` or 0)
//! followed by `struct ikc_events_request`, read by the extensible-struct rule.
//! Pids are numbered in the pid namespace the command is issued for.

use crate::error::{Error, Result};
use crate::netlink::{Emitable, NetlinkHeader, NLM_F_REQUEST, NLMSG_HEADER_LEN};
use crate::stream::STREAM_COMMAND_TYPES;
use crate::wire::buffer;

use super::message::{EventType, PROC_EVENT_ALL};

/// `nlmsg_type` of a PROC_EVENTS request.
pub const IKC_EVENTS_SUBSCRIBE: u16 = STREAM_COMMAND_TYPES + 0x21;

/// `flags`: on exec, read the command line at once and send it with the event.
pub const IKC_EVENTS_CMDLINE: u32 = 0x1;
/// `flags`: the pids name roots of subtrees; their descendants (forked after
/// the subscription) are followed too.
pub const IKC_EVENTS_SUBTREE: u32 = 0x2;
pub const KNOWN_FLAGS: u32 = IKC_EVENTS_CMDLINE | IKC_EVENTS_SUBTREE;

/// How many pids one request may name.
pub const MAX_PIDS: usize = 16;

/// `sizeof(struct ikc_events_request)`, its first and only revision.
pub const EVENTS_REQUEST_LEN: usize = 24 + 4 * MAX_PIDS;

buffer!(
    /// `struct ikc_events_request`. `types`: a mask of `PROC_EVENT_*` bits
    /// (0: all); `PROC_EVENT_NONZERO_EXIT` asks for exits with a non-zero
    /// `exit_code` only. `count`: events to deliver before the stream ends
    /// (0: until the reader closes it). `npids` of `pids` are used (0: every task).
    EventsRequestBuffer("ikc_events_request", EVENTS_REQUEST_LEN) {
        count, set_count: (u64, 0..8),
        types, set_types: (u32, 8..12),
        flags, set_flags: (u32, 12..16),
        npids, set_npids: (u32, 16..20),
        reserved, set_reserved: (u32, 20..24),
        pids, set_pids: (bytes, 24..24 + 4 * MAX_PIDS),
    }
);

/// A validated request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventsRequest {
    pub count: u64,
    /// `PROC_EVENT_*` bits, never 0 (0 in the request reads as all).
    pub types: u32,
    pub flags: u32,
    pub pids: Vec<u32>,
}

impl EventsRequest {
    pub fn wants(&self, t: EventType) -> bool {
        self.types & t.bit() != 0 || (t == EventType::Exit && self.types & EventType::NonzeroExit.bit() != 0)
    }

    /// Only exits with a non-zero code (`PROC_EVENT_NONZERO_EXIT` without `PROC_EVENT_EXIT`).
    pub fn nonzero_exit_only(&self) -> bool {
        self.types & EventType::NonzeroExit.bit() != 0 && self.types & EventType::Exit.bit() == 0
    }

    pub fn cmdline(&self) -> bool {
        self.flags & IKC_EVENTS_CMDLINE != 0
    }

    pub fn subtree(&self) -> bool {
        self.flags & IKC_EVENTS_SUBTREE != 0
    }

    /// A request from event names ("fork", "exec", ..., "nonzero-exit"; none:
    /// every type), validated as the command validates it. An unknown name is EINVAL.
    pub fn from_names<S: AsRef<str>>(names: &[S], flags: u32, count: u64, pids: Vec<u32>) -> Result<EventsRequest> {
        let mut types = 0;
        for n in names {
            let n = n.as_ref();
            types |= EventType::from_name(n).filter(|t| *t != EventType::None).ok_or_else(|| Error::invalid(format!("unknown event type {n:?}")))?.bit();
        }
        if pids.len() > MAX_PIDS {
            return Err(Error::invalid(format!("{} pids are more than {MAX_PIDS}", pids.len())));
        }
        EventsRequest::from_message(&EventsRequest { count, types, flags, pids }.to_message())
    }

    pub fn from_message(bytes: &[u8]) -> Result<EventsRequest> {
        let payload = crate::stream::request_payload(bytes, IKC_EVENTS_SUBSCRIBE, "IKC_EVENTS_SUBSCRIBE", "ikc_events_request", EVENTS_REQUEST_LEN)?;
        let buf = EventsRequestBuffer::new_checked(&*payload).map_err(Error::malformed)?;
        if buf.flags() & !KNOWN_FLAGS != 0 {
            return Err(Error::invalid(format!("unknown flags {:#x}", buf.flags() & !KNOWN_FLAGS)));
        }
        let types = buf.types();
        if types & !PROC_EVENT_ALL != 0 {
            return Err(Error::invalid(format!("unknown event types {:#x}", types & !PROC_EVENT_ALL)));
        }
        if buf.reserved() != 0 {
            return Err(Error::invalid("reserved must be 0"));
        }
        let npids = buf.npids() as usize;
        if npids > MAX_PIDS {
            return Err(Error::invalid(format!("npids {npids} is above {MAX_PIDS}")));
        }
        let raw = buf.pids();
        let mut pids = Vec::with_capacity(npids);
        for (i, chunk) in raw.chunks_exact(4).enumerate() {
            let pid = u32::from_ne_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            if i < npids {
                if pid == 0 || pid > i32::MAX as u32 {
                    return Err(Error::invalid(format!("pid {pid} is not a pid")));
                }
                pids.push(pid);
            } else if pid != 0 {
                return Err(Error::invalid(format!("pids[{i}] is past npids and not 0")));
            }
        }
        if buf.flags() & IKC_EVENTS_SUBTREE != 0 && pids.is_empty() {
            return Err(Error::invalid("IKC_EVENTS_SUBTREE needs at least one pid"));
        }
        Ok(EventsRequest { count: buf.count(), types: if types == 0 { PROC_EVENT_ALL } else { types }, flags: buf.flags(), pids })
    }

    pub fn to_message(&self) -> Vec<u8> {
        let mut payload = [0u8; EVENTS_REQUEST_LEN];
        {
            let mut buf = EventsRequestBuffer::new_unchecked(&mut payload[..]);
            buf.set_count(self.count);
            buf.set_types(self.types);
            buf.set_flags(self.flags);
            buf.set_npids(self.pids.len().min(MAX_PIDS) as u32);
            let mut pids = [0u8; 4 * MAX_PIDS];
            for (slot, pid) in pids.chunks_exact_mut(4).zip(&self.pids) {
                slot.copy_from_slice(&pid.to_ne_bytes());
            }
            buf.set_pids(&pids);
        }
        let header = NetlinkHeader {
            length: (NLMSG_HEADER_LEN + EVENTS_REQUEST_LEN) as u32,
            message_type: IKC_EVENTS_SUBSCRIBE,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> Vec<u8> {
        EventsRequest { count: 3, types: EventType::Fork.bit() | EventType::Exit.bit(), flags: IKC_EVENTS_SUBTREE, pids: vec![1, 42] }.to_message()
    }

    #[test]
    fn round_trip_and_the_size_rule() {
        let bytes = valid();
        let req = EventsRequest::from_message(&bytes).expect("valid");
        assert_eq!(req.pids, vec![1, 42]);
        assert!(req.wants(EventType::Fork) && !req.wants(EventType::Exec) && req.subtree());
        crate::extensible::assert_follows_the_rule("ikc_events_request", &bytes[NLMSG_HEADER_LEN..], |p| {
            let mut m = bytes[..NLMSG_HEADER_LEN].to_vec();
            m.extend_from_slice(p);
            let len = m.len() as u32;
            m[..4].copy_from_slice(&len.to_ne_bytes());
            EventsRequest::from_message(&m)
        });
    }

    #[test]
    fn names_are_the_types() {
        let req = EventsRequest::from_names(&["fork", "exit", "nonzero-exit"], IKC_EVENTS_CMDLINE, 2, vec![]).expect("valid");
        assert_eq!(req.types, EventType::Fork.bit() | EventType::Exit.bit() | EventType::NonzeroExit.bit());
        assert_eq!(EventsRequest::from_names::<&str>(&[], 0, 0, vec![]).expect("valid").types, PROC_EVENT_ALL);
        for bad in ["forks", "none", "", "FORK"] {
            assert_eq!(EventsRequest::from_names(&[bad], 0, 0, vec![]).map_err(|e| e.code()), Err("EINVAL"), "{bad:?}");
        }
        assert_eq!(EventsRequest::from_names::<&str>(&[], 0, 0, vec![1; MAX_PIDS + 1]).map_err(|e| e.code()), Err("EINVAL"));
        assert_eq!(EventsRequest::from_names::<&str>(&[], IKC_EVENTS_SUBTREE, 0, vec![]).map_err(|e| e.code()), Err("EINVAL"));
    }

    #[test]
    fn zero_types_is_every_type() {
        let req = EventsRequest::from_message(&EventsRequest::default().to_message()).expect("valid");
        assert_eq!(req.types, PROC_EVENT_ALL);
    }

    #[test]
    fn bad_fields_are_einval() {
        let bad = |at: usize, value: &[u8]| {
            let mut b = valid();
            b[NLMSG_HEADER_LEN + at..NLMSG_HEADER_LEN + at + value.len()].copy_from_slice(value);
            EventsRequest::from_message(&b).map_err(|e| e.code())
        };
        assert_eq!(bad(8, &0x400u32.to_ne_bytes()), Err("EINVAL"), "unknown type bit");
        assert_eq!(bad(12, &0x4u32.to_ne_bytes()), Err("EINVAL"), "unknown flag");
        assert_eq!(bad(16, &17u32.to_ne_bytes()), Err("EINVAL"), "npids above the array");
        assert_eq!(bad(20, &1u32.to_ne_bytes()), Err("EINVAL"), "reserved");
        assert_eq!(bad(24, &0u32.to_ne_bytes()), Err("EINVAL"), "pid 0");
        assert_eq!(bad(32, &7u32.to_ne_bytes()), Err("EINVAL"), "a pid past npids");
        assert_eq!(bad(16, &0u32.to_ne_bytes()).map(|_| ()), Err("EINVAL"), "a pid past npids 0 (and SUBTREE without pids)");
    }
}

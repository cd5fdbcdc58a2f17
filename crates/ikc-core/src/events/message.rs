//! Process events as the kernel sends them (`struct cn_msg` carrying `struct
//! proc_event`, include/uapi/linux/cn_proc.h) and as a PROC_EVENTS stream
//! delivers them (`IKC_PROC_EVENT`: the kernel's `struct proc_event` with pids
//! translated into the subscriber's pid namespace, then `struct
//! ikc_proc_event_extra` and the command line, if any).

use crate::stream::STREAM_COMMAND_TYPES;
use crate::wire::buffer;

/// `nlmsg_type` of an event on a PROC_EVENTS stream.
pub const IKC_PROC_EVENT: u16 = STREAM_COMMAND_TYPES + 0x20;

/// `enum proc_cn_event`, the bits of `what`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum EventType {
    /// An acknowledgement of a LISTEN/IGNORE (`PROC_EVENT_NONE`); never delivered.
    None = 0,
    Fork = 0x1,
    Exec = 0x2,
    Uid = 0x4,
    Gid = 0x40,
    Sid = 0x80,
    Ptrace = 0x100,
    Comm = 0x200,
    NonzeroExit = 0x2000_0000,
    Coredump = 0x4000_0000,
    Exit = 0x8000_0000,
}

/// `PROC_EVENT_ALL`.
pub const PROC_EVENT_ALL: u32 = 0x1 | 0x2 | 0x4 | 0x40 | 0x80 | 0x100 | 0x200 | 0x2000_0000 | 0x4000_0000 | 0x8000_0000;

impl EventType {
    pub const ALL: [EventType; 9] = [
        EventType::Fork,
        EventType::Exec,
        EventType::Uid,
        EventType::Gid,
        EventType::Sid,
        EventType::Ptrace,
        EventType::Comm,
        EventType::Coredump,
        EventType::Exit,
    ];

    pub fn bit(self) -> u32 {
        self as u32
    }

    pub fn from_what(what: u32) -> Option<EventType> {
        std::iter::once(EventType::None).chain(EventType::ALL).find(|t| t.bit() == what)
    }

    /// The type a name (as `name` gives it: "fork", ..., "nonzero-exit") stands for.
    pub fn from_name(name: &str) -> Option<EventType> {
        EventType::ALL.into_iter().chain(std::iter::once(EventType::NonzeroExit)).find(|t| t.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            EventType::None => "none",
            EventType::Fork => "fork",
            EventType::Exec => "exec",
            EventType::Uid => "uid",
            EventType::Gid => "gid",
            EventType::Sid => "sid",
            EventType::Ptrace => "ptrace",
            EventType::Comm => "comm",
            EventType::NonzeroExit => "nonzero-exit",
            EventType::Coredump => "coredump",
            EventType::Exit => "exit",
        }
    }
}

/// `sizeof(struct cn_msg)`.
pub const CN_MSG_LEN: usize = 20;
/// `sizeof(struct proc_event)`.
pub const PROC_EVENT_LEN: usize = 40;
/// `struct cb_id` of the process connector: `CN_IDX_PROC`, `CN_VAL_PROC`.
pub const CN_IDX_PROC: u32 = 1;
pub const CN_VAL_PROC: u32 = 1;

buffer!(
    /// `struct cn_msg`.
    CnMsgBuffer("cn_msg", CN_MSG_LEN) {
        idx, set_idx: (u32, 0..4),
        val, set_val: (u32, 4..8),
        seq, set_seq: (u32, 8..12),
        ack, set_ack: (u32, 12..16),
        len, set_len: (u16, 16..18),
        flags, set_flags: (u16, 18..20),
    }
);

buffer!(
    /// `struct proc_event`: `what`, `cpu`, `timestamp_ns` (CLOCK_MONOTONIC,
    /// `ktime_get_ns`), then the union as six 32-bit words.
    ProcEventBuffer("proc_event", PROC_EVENT_LEN) {
        what, set_what: (u32, 0..4),
        cpu, set_cpu: (u32, 4..8),
        timestamp_ns, set_timestamp_ns: (u64, 8..16),
        data, set_data: (bytes, 16..40),
    }
);

/// One `struct proc_event` from the kernel, with the connector's sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelEvent {
    /// `cn_msg.seq`: per CPU, counting every message the connector sent (acks too).
    pub seq: u32,
    /// `cn_msg.ack`: non-zero on an acknowledgement (the request's ack + 1).
    pub ack: u32,
    pub what: u32,
    pub cpu: u32,
    pub timestamp_ns: u64,
    /// The union, as the kernel laid it out; pids are the initial namespace's.
    pub data: [u32; 6],
}

impl KernelEvent {
    /// Parses a `cn_msg` + `proc_event` (the payload of one netlink message);
    /// `None` if it is not the process connector's.
    pub fn parse(cn: &[u8]) -> Option<KernelEvent> {
        let msg = CnMsgBuffer::new_checked(cn).ok()?;
        if msg.idx() != CN_IDX_PROC || msg.val() != CN_VAL_PROC || (msg.len() as usize) < PROC_EVENT_LEN {
            return None;
        }
        let ev = ProcEventBuffer::new_checked(cn.get(CN_MSG_LEN..)?).ok()?;
        let mut data = [0u32; 6];
        for (w, c) in data.iter_mut().zip(ev.data().chunks_exact(4)) {
            *w = u32::from_ne_bytes([c[0], c[1], c[2], c[3]]);
        }
        Some(KernelEvent { seq: msg.seq(), ack: msg.ack(), what: ev.what(), cpu: ev.cpu(), timestamp_ns: ev.timestamp_ns(), data })
    }

    pub fn event_type(&self) -> Option<EventType> {
        EventType::from_what(self.what)
    }

    /// The task the event is about, (pid, tgid): the child of a fork, else the process.
    pub fn subject(&self) -> (u32, u32) {
        match self.event_type() {
            Some(EventType::Fork) => (self.data[2], self.data[3]),
            _ => (self.data[0], self.data[1]),
        }
    }

    /// The other task an event names, (pid, tgid), if any: a fork's parent, an
    /// exit's or coredump's parent, a ptrace's tracer.
    pub fn related(&self) -> Option<(u32, u32)> {
        match self.event_type()? {
            EventType::Fork => Some((self.data[0], self.data[1])),
            EventType::Ptrace | EventType::Coredump => Some((self.data[2], self.data[3])),
            EventType::Exit => Some((self.data[4], self.data[5])),
            _ => None,
        }
    }

    /// Which words of `data` hold pids.
    pub fn pid_words(&self) -> &'static [usize] {
        match self.event_type() {
            Some(EventType::Fork | EventType::Ptrace | EventType::Coredump) => &[0, 1, 2, 3],
            Some(EventType::Exit) => &[0, 1, 4, 5],
            Some(EventType::None) | None => &[],
            Some(_) => &[0, 1],
        }
    }

    /// An exit's `exit_code` (the wait status: signal in the low 7 bits, code in bits 8..16).
    pub fn exit_code(&self) -> Option<u32> {
        (self.event_type() == Some(EventType::Exit)).then_some(self.data[2])
    }
}

/// `struct ikc_proc_event_extra` flags.
pub const IKC_EVENT_HAS_COMM: u32 = 0x1;
pub const IKC_EVENT_HAS_CMDLINE: u32 = 0x2;

pub const EVENT_EXTRA_LEN: usize = 24;

buffer!(
    /// `struct ikc_proc_event_extra`, after the `struct proc_event` of an
    /// `IKC_PROC_EVENT`: the subject's comm as ikc knew it (after an exec, the
    /// new one, read at once), and the length of the command line that follows
    /// (its arguments NUL-separated, as `/proc/PID/cmdline`).
    EventExtraBuffer("ikc_proc_event_extra", EVENT_EXTRA_LEN) {
        flags, set_flags: (u32, 0..4),
        cmdline_len, set_cmdline_len: (u32, 4..8),
        comm, set_comm: (bytes, 8..24),
    }
);

/// The payload of an `IKC_PROC_EVENT`: `ev` with `data` already translated.
pub fn encode(ev: &KernelEvent, data: &[u32; 6], comm: Option<&[u8; 16]>, cmdline: Option<&[u8]>) -> Vec<u8> {
    let cmd = cmdline.unwrap_or_default();
    let mut out = vec![0u8; PROC_EVENT_LEN + EVENT_EXTRA_LEN + cmd.len()];
    {
        let mut b = ProcEventBuffer::new_unchecked(&mut out[..PROC_EVENT_LEN]);
        b.set_what(ev.what);
        b.set_cpu(ev.cpu);
        b.set_timestamp_ns(ev.timestamp_ns);
        let mut words = [0u8; 24];
        for (c, w) in words.chunks_exact_mut(4).zip(data) {
            c.copy_from_slice(&w.to_ne_bytes());
        }
        b.set_data(&words);
    }
    {
        let mut x = EventExtraBuffer::new_unchecked(&mut out[PROC_EVENT_LEN..PROC_EVENT_LEN + EVENT_EXTRA_LEN]);
        let mut flags = 0;
        if let Some(c) = comm {
            flags |= IKC_EVENT_HAS_COMM;
            x.set_comm(c);
        }
        if cmdline.is_some() {
            flags |= IKC_EVENT_HAS_CMDLINE;
        }
        x.set_flags(flags);
        x.set_cmdline_len(u32::try_from(cmd.len()).unwrap_or(0));
    }
    out[PROC_EVENT_LEN + EVENT_EXTRA_LEN..].copy_from_slice(cmd);
    out
}

/// An event read back from a stream (for Rust clients and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub what: u32,
    pub cpu: u32,
    pub timestamp_ns: u64,
    pub data: [u32; 6],
    pub comm: Option<[u8; 16]>,
    pub cmdline: Option<Vec<u8>>,
}

impl Event {
    pub fn decode(payload: &[u8]) -> Option<Event> {
        let b = ProcEventBuffer::new_checked(payload).ok()?;
        let x = EventExtraBuffer::new_checked(payload.get(PROC_EVENT_LEN..)?).ok()?;
        let mut data = [0u32; 6];
        for (w, c) in data.iter_mut().zip(b.data().chunks_exact(4)) {
            *w = u32::from_ne_bytes([c[0], c[1], c[2], c[3]]);
        }
        let comm = (x.flags() & IKC_EVENT_HAS_COMM != 0).then(|| {
            let mut c = [0u8; 16];
            c.copy_from_slice(x.comm());
            c
        });
        let start = PROC_EVENT_LEN + EVENT_EXTRA_LEN;
        let cmdline = if x.flags() & IKC_EVENT_HAS_CMDLINE != 0 {
            Some(payload.get(start..start + x.cmdline_len() as usize)?.to_vec())
        } else {
            None
        };
        Some(Event { what: b.what(), cpu: b.cpu(), timestamp_ns: b.timestamp_ns(), data, comm, cmdline })
    }

    pub fn event_type(&self) -> Option<EventType> {
        EventType::from_what(self.what)
    }

    /// (pid, tgid) of the task the event is about.
    pub fn subject(&self) -> (u32, u32) {
        match self.event_type() {
            Some(EventType::Fork) => (self.data[2], self.data[3]),
            _ => (self.data[0], self.data[1]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A datagram's payload as the kernel lays it out (include/uapi/linux/cn_proc.h):
    /// `struct cn_msg` (idx 0, val 4, seq 8, ack 12, len 16, flags 18, data 20),
    /// then `struct proc_event` (what 0, cpu 4, timestamp_ns 8, event_data 16).
    fn kernel_bytes(seq: u32, what: u32, cpu: u32, ts: u64, words: [u32; 6]) -> Vec<u8> {
        let mut b = Vec::new();
        for v in [CN_IDX_PROC, CN_VAL_PROC, seq, 0] {
            b.extend_from_slice(&v.to_ne_bytes());
        }
        b.extend_from_slice(&(PROC_EVENT_LEN as u16).to_ne_bytes());
        b.extend_from_slice(&0u16.to_ne_bytes());
        assert_eq!(b.len(), CN_MSG_LEN);
        b.extend_from_slice(&what.to_ne_bytes());
        b.extend_from_slice(&cpu.to_ne_bytes());
        b.extend_from_slice(&ts.to_ne_bytes());
        for w in words {
            b.extend_from_slice(&w.to_ne_bytes());
        }
        assert_eq!(b.len(), CN_MSG_LEN + PROC_EVENT_LEN);
        b
    }

    #[test]
    fn the_what_bits_are_the_uapi_enum() {
        // enum proc_cn_event
        let uapi = [
            (EventType::None, 0),
            (EventType::Fork, 0x1),
            (EventType::Exec, 0x2),
            (EventType::Uid, 0x4),
            (EventType::Gid, 0x40),
            (EventType::Sid, 0x80),
            (EventType::Ptrace, 0x100),
            (EventType::Comm, 0x200),
            (EventType::NonzeroExit, 0x2000_0000),
            (EventType::Coredump, 0x4000_0000),
            (EventType::Exit, 0x8000_0000),
        ];
        for (t, bit) in uapi {
            assert_eq!(t.bit(), bit, "{t:?}");
        }
        assert_eq!(
            PROC_EVENT_ALL,
            EventType::ALL
                .iter()
                .fold(EventType::NonzeroExit.bit(), |m, t| m | t.bit())
        );
        assert_eq!(EventType::from_what(0x8), None, "no such event");
        assert_eq!(EventType::from_what(0x3), None, "one event has one bit");
    }

    #[test]
    fn fork_words_are_parent_then_child() {
        // struct fork_proc_event: parent_pid, parent_tgid, child_pid, child_tgid
        let ev = KernelEvent::parse(&kernel_bytes(7, 0x1, 3, 99, [10, 10, 11, 11, 0, 0]))
            .expect("parse");
        assert_eq!((ev.seq, ev.cpu, ev.timestamp_ns), (7, 3, 99));
        assert_eq!(ev.subject(), (11, 11));
        assert_eq!(ev.related(), Some((10, 10)));
        assert_eq!(ev.pid_words(), &[0, 1, 2, 3]);
        assert_eq!(ev.exit_code(), None);
    }

    #[test]
    fn exit_words_are_process_code_signal_parent() {
        // struct exit_proc_event: process_pid, process_tgid, exit_code, exit_signal, parent_pid, parent_tgid
        let ev = KernelEvent::parse(&kernel_bytes(
            1,
            0x8000_0000,
            0,
            5,
            [20, 19, 9, u32::MAX, 1, 1],
        ))
        .expect("parse");
        assert_eq!(ev.subject(), (20, 19));
        assert_eq!(ev.related(), Some((1, 1)));
        assert_eq!(
            ev.exit_code(),
            Some(9),
            "killed by SIGKILL: exit_code & 0x7f"
        );
        assert_eq!(ev.data[3] as i32, -1, "exit_signal of a thread");
        assert_eq!(
            ev.pid_words(),
            &[0, 1, 4, 5],
            "the code and signal are not pids"
        );
    }

    #[test]
    fn ptrace_coredump_and_id_events() {
        // ptrace: process_pid, process_tgid, tracer_pid, tracer_tgid
        let p = KernelEvent::parse(&kernel_bytes(1, 0x100, 0, 0, [5, 5, 6, 6, 0x4206, 0]))
            .expect("parse");
        assert_eq!((p.subject(), p.related()), ((5, 5), Some((6, 6))));
        // coredump: process_pid, process_tgid, parent_pid, parent_tgid
        let c = KernelEvent::parse(&kernel_bytes(1, 0x4000_0000, 0, 0, [5, 5, 1, 1, 0, 0]))
            .expect("parse");
        assert_eq!((c.subject(), c.related()), ((5, 5), Some((1, 1))));
        // id: process_pid, process_tgid, r.ruid, e.euid: no other task
        let u = KernelEvent::parse(&kernel_bytes(1, 0x4, 0, 0, [5, 5, 1000, 1000, 0, 0]))
            .expect("parse");
        assert_eq!(
            (u.subject(), u.related(), u.pid_words()),
            ((5, 5), None, &[0usize, 1][..])
        );
    }

    #[test]
    fn not_the_process_connector_or_short_is_not_an_event() {
        let mut other = kernel_bytes(1, 0x1, 0, 0, [0; 6]);
        other[0] = 2; // CN_IDX_CIFS
        assert_eq!(KernelEvent::parse(&other), None);
        let full = kernel_bytes(1, 0x1, 0, 0, [0; 6]);
        assert_eq!(
            KernelEvent::parse(&full[..full.len() - 1]),
            None,
            "one byte short of struct proc_event"
        );
        let mut short_len = full.clone();
        short_len[16..18].copy_from_slice(&8u16.to_ne_bytes());
        assert_eq!(
            KernelEvent::parse(&short_len),
            None,
            "cn_msg.len below sizeof(struct proc_event)"
        );
    }

    #[test]
    fn encode_then_decode_and_the_extra_layout() {
        let ev = KernelEvent::parse(&kernel_bytes(1, 0x2, 1, 1234, [42, 42, 0, 0, 0, 0]))
            .expect("parse");
        let mut comm = [0u8; 16];
        comm[..4].copy_from_slice(b"true");
        let bytes = encode(
            &ev,
            &[7, 7, 0, 0, 0, 0],
            Some(&comm),
            Some(b"/bin/true\0-x\0"),
        );
        assert_eq!(bytes.len(), PROC_EVENT_LEN + EVENT_EXTRA_LEN + 13);
        // The kernel's struct first, unchanged but for the translated pids.
        assert_eq!(&bytes[0..4], &0x2u32.to_ne_bytes());
        assert_eq!(&bytes[8..16], &1234u64.to_ne_bytes());
        assert_eq!(&bytes[16..20], &7u32.to_ne_bytes());
        // struct ikc_proc_event_extra: flags 0, cmdline_len 4, comm 8..24.
        assert_eq!(
            &bytes[40..44],
            &(IKC_EVENT_HAS_COMM | IKC_EVENT_HAS_CMDLINE).to_ne_bytes()
        );
        assert_eq!(&bytes[44..48], &13u32.to_ne_bytes());
        assert_eq!(&bytes[48..52], b"true");
        let back = Event::decode(&bytes).expect("decode");
        assert_eq!(
            (back.what, back.cpu, back.timestamp_ns, back.data),
            (0x2, 1, 1234, [7, 7, 0, 0, 0, 0])
        );
        assert_eq!(back.comm, Some(comm));
        assert_eq!(back.cmdline.as_deref(), Some(&b"/bin/true\0-x\0"[..]));
        assert_eq!(back.subject(), (7, 7));
        // Neither comm nor cmdline: both flags clear.
        let bare = Event::decode(&encode(&ev, &ev.data, None, None)).expect("decode");
        assert_eq!((bare.comm, bare.cmdline), (None, None));
        // A cmdline_len past the message is refused, not read past.
        assert_eq!(Event::decode(&bytes[..bytes.len() - 1]), None);
        assert_eq!(
            Event::decode(&bytes[..PROC_EVENT_LEN + EVENT_EXTRA_LEN - 1]),
            None
        );
    }
}

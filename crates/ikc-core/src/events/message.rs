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

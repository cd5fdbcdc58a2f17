//! Collects the kernel's answer to one dump, datagram by datagram, keeping the
//! bytes exactly as the kernel framed them up to and including `NLMSG_DONE`.
//! Pure (no sockets), so the rules are tested on literal bytes: `NLMSG_ERROR`
//! and a negative `NLMSG_DONE` status become that errno, a message for another
//! sequence or a malformed frame is `EIO`, and the total is capped.

use nix::errno::Errno;

use crate::error::{Error, Result};
use crate::netlink::{align4, NetlinkHeaderBuffer, NLMSG_DONE, NLMSG_ERROR};
use crate::wire::buffer;

/// The largest response ikc keeps; a namespace with more is answered `EMSGSIZE`.
pub const MAX_RESPONSE_LEN: usize = 256 << 20;

/// The answer so far to a dump sent with `sequence`.
#[derive(Debug)]
pub struct DumpCollector {
    sequence: u32,
    limit: usize,
    bytes: Vec<u8>,
    done: bool,
}

impl DumpCollector {
    pub fn new(sequence: u32, limit: usize) -> DumpCollector {
        DumpCollector { sequence, limit, bytes: Vec::new(), done: false }
    }

    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Takes one datagram. After `NLMSG_DONE` nothing more is read.
    pub fn push(&mut self, mut datagram: &[u8]) -> Result<()> {
        while !datagram.is_empty() && !self.done {
            let buf = NetlinkHeaderBuffer::new_checked(datagram)
                .map_err(|e| Error::damaged(format!("kernel sent a malformed netlink message: {e}")))?;
            if buf.sequence() != self.sequence {
                return Err(Error::damaged(format!("kernel answered sequence {}", buf.sequence())));
            }
            match buf.message_type() {
                NLMSG_ERROR => return Err(kernel_error(buf.payload(), "NLMSG_ERROR")),
                NLMSG_DONE => {
                    // The dump's own status: negative when the dump failed part-way.
                    if status(buf.payload()) < 0 {
                        return Err(kernel_error(buf.payload(), "NLMSG_DONE"));
                    }
                    self.done = true;
                }
                _ => {}
            }
            let step = align4(buf.length() as usize).min(datagram.len());
            if self.bytes.len() + step > self.limit {
                return Err(Error::os(format!("response larger than {} bytes", self.limit), Errno::EMSGSIZE));
            }
            self.bytes.extend_from_slice(&datagram[..step]);
            datagram = &datagram[step..];
        }
        Ok(())
    }

    /// The messages, ending with `NLMSG_DONE`; `EIO` if the dump never finished.
    pub fn finish(self) -> Result<Vec<u8>> {
        if !self.done {
            return Err(Error::damaged("netlink dump ended without NLMSG_DONE"));
        }
        Ok(self.bytes)
    }
}

buffer!(
    /// The `int` that starts an `NLMSG_ERROR` (`struct nlmsgerr`) or `NLMSG_DONE` payload.
    StatusBuffer("netlink status", 4) {
        status, set_status: (i32, 0..4),
    }
);

/// The status of an `NLMSG_ERROR` or `NLMSG_DONE` payload (0 if absent).
fn status(payload: &[u8]) -> i32 {
    StatusBuffer::new_checked(payload).map_or(0, |b| b.status())
}

/// The kernel's `-errno` as our error; 0 (an ack we never asked for) is `EIO`.
fn kernel_error(payload: &[u8], what: &str) -> Error {
    let op = format!("kernel answered the dump with {what}");
    match status(payload) {
        code if code < 0 => Error::Os { op, errno: code.saturating_neg() },
        _ => Error::damaged(op),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&(16 + payload.len() as u32).to_ne_bytes()); // nlmsg_len
        v.extend_from_slice(&kind.to_ne_bytes()); // nlmsg_type
        v.extend_from_slice(&2u16.to_ne_bytes()); // NLM_F_MULTI
        v.extend_from_slice(&seq.to_ne_bytes()); // nlmsg_seq
        v.extend_from_slice(&4242u32.to_ne_bytes()); // nlmsg_pid: the socket's port
        v.extend_from_slice(payload);
        v.resize(align4(v.len()), 0);
        v
    }

    fn collect(datagrams: &[Vec<u8>]) -> Result<Vec<u8>> {
        let mut c = DumpCollector::new(9, 1 << 20);
        for d in datagrams {
            c.push(d)?;
        }
        c.finish()
    }

    #[test]
    fn keeps_the_bytes_up_to_done() {
        let link = message(16, 9, &[1, 2, 3]); // RTM_NEWLINK, 3 bytes padded to 4
        let done = message(3, 9, &0i32.to_ne_bytes());
        let mut second = link.clone();
        second.extend_from_slice(&done);
        let got = collect(&[link.clone(), second.clone()]).expect("complete");
        assert_eq!(got, [link, second].concat());
    }

    #[test]
    fn errors_carry_the_kernel_errno() {
        let mut err = (-2i32).to_ne_bytes().to_vec(); // -ENOENT
        err.extend_from_slice(&[0; 16]); // the request's header
        assert_eq!(collect(&[message(2, 9, &err)]).unwrap_err().errno(), 2);
        let done = message(3, 9, &(-16i32).to_ne_bytes()); // dump failed with EBUSY
        assert_eq!(collect(&[done]).unwrap_err().errno(), 16);
        assert_eq!(collect(&[message(2, 9, &0i32.to_ne_bytes())]).unwrap_err().code(), "EIO");
    }

    #[test]
    fn foreign_sequences_truncation_and_missing_done_are_eio() {
        assert_eq!(collect(&[message(3, 8, &[0; 4])]).unwrap_err().code(), "EIO");
        assert_eq!(collect(&[message(16, 9, &[0; 4])]).unwrap_err().code(), "EIO");
        let mut cut = message(16, 9, &[0; 8]);
        cut.truncate(20);
        assert_eq!(collect(&[cut]).unwrap_err().code(), "EIO");
    }

    #[test]
    fn the_cap_is_emsgsize() {
        let mut c = DumpCollector::new(9, 40);
        c.push(&message(16, 9, &[0; 20])).expect("36 bytes fit");
        assert_eq!(c.push(&message(16, 9, &[0; 20])).unwrap_err().code(), "EMSGSIZE");
    }
}

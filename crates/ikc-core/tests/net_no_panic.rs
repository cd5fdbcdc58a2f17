//! The network request parsers and the dump collector never panic, whatever the
//! bytes; and whatever a caller sends, what ikc would send to the kernel is a
//! dump request of the command's own type, re-encoded from the parsed fields.
//! Mutates valid messages at random with a fixed-seed generator (repeatable).

use ikc_core::net::{
    encode_inet, encode_unix, AddrDumpRequest, DumpCollector, LinkDumpRequest, SockDiagRequest, DUMP_FLAGS, RTM_GETADDR,
    RTM_GETLINK, SOCK_DIAG_BY_FAMILY,
};

/// xorshift64*: small, deterministic, good enough to spray bytes.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..=rng.below(4) {
        match rng.below(4) {
            0 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] = rng.next() as u8;
            }
            1 => b.truncate(rng.below(b.len() + 1)),
            2 => b.extend((0..rng.below(32)).map(|_| rng.next() as u8)),
            _ if b.len() >= 4 => {
                // Lengths, types and flags are the interesting fields.
                let i = rng.below(b.len() / 4) * 4;
                let v = [0u32, 1, 2, 3, 16, 18, 20, 21, 22, 24, 40, 0x301, 0x0015_0301, 0xffff_ffff][rng.below(14)];
                b[i..i + 4].copy_from_slice(&v.to_ne_bytes());
            }
            _ => {}
        }
    }
    b
}

/// Type and flags of an encoded message.
fn kind_and_flags(m: &[u8]) -> (u16, u16) {
    (u16::from_ne_bytes([m[4], m[5]]), u16::from_ne_bytes([m[6], m[7]]))
}

#[test]
fn only_dumps_of_the_right_type_are_ever_sent() {
    let seeds = [
        encode_inet(10, 6, 0xfff, 0xff, 1).unwrap(),
        encode_unix(0xfff, 0x7f, 1).unwrap(),
        LinkDumpRequest { family: 0, sequence: 1 }.to_message(),
        AddrDumpRequest { family: 2, sequence: 1 }.to_message(),
    ];
    let mut rng = Rng(0x0bad_cafe_f00d_1234);
    let mut accepted = [0usize; 3];
    for i in 0..300_000 {
        let bytes = mutate(&mut rng, &seeds[i % seeds.len()]);
        let sent = [
            SockDiagRequest::from_message(&bytes).map(|r| (r.to_message(), SOCK_DIAG_BY_FAMILY)),
            LinkDumpRequest::from_message(&bytes).map(|r| (r.to_message(), RTM_GETLINK)),
            AddrDumpRequest::from_message(&bytes).map(|r| (r.to_message(), RTM_GETADDR)),
        ];
        for (n, result) in sent.into_iter().enumerate() {
            let Ok((message, kind)) = result else { continue };
            accepted[n] += 1;
            assert_eq!(kind_and_flags(&message), (kind, DUMP_FLAGS));
            // What passed is what is sent, but for nlmsg_pid, which ikc sets to 0.
            let mut expect = bytes.clone();
            expect[12..16].fill(0);
            assert_eq!(message, expect, "an accepted request re-encodes to itself");
        }
    }
    assert!(accepted.iter().all(|&n| n > 0), "some mutations stay valid: {accepted:?}");
}

#[test]
fn the_collector_survives_random_datagrams() {
    let mut done = Vec::new();
    done.extend_from_slice(&20u32.to_ne_bytes()); // nlmsg_len
    done.extend_from_slice(&3u16.to_ne_bytes()); // NLMSG_DONE
    done.extend_from_slice(&2u16.to_ne_bytes()); // NLM_F_MULTI
    done.extend_from_slice(&1u32.to_ne_bytes()); // nlmsg_seq
    done.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_pid
    done.extend_from_slice(&0i32.to_ne_bytes()); // status
    let mut link = done.clone();
    link[4] = 16; // RTM_NEWLINK
    let seed = [link.clone(), link, done].concat();
    let mut rng = Rng(0x5eed_0000_1111_2222);
    for _ in 0..200_000 {
        let mut c = DumpCollector::new(1, 1 << 16);
        let bytes = mutate(&mut rng, &seed);
        if c.push(&bytes).is_ok() && c.is_done() {
            let kept = c.finish().unwrap();
            assert!(bytes.starts_with(&kept), "kept bytes are a prefix of what the kernel sent");
        }
    }
}

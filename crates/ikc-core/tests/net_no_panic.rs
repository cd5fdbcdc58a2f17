//! The network request parsers and the dump collector never panic, whatever the
//! bytes; and whatever a caller sends, what ikc would send to the kernel is a
//! dump request of the command's own type, re-encoded from the parsed fields.
//! Mutates valid messages at random with a fixed-seed generator (repeatable).

use ikc_core::net::{
    encode_inet, encode_unix, AddrDumpRequest, DumpCollector, LinkDumpRequest, SockDiagRequest, DUMP_FLAGS, RTM_GETADDR,
    RTM_GETLINK, SOCK_DIAG_BY_FAMILY,
};

mod common;
use common::{mutate as damage, Rng};

const INTERESTING: &[u32] = &[0, 1, 2, 3, 16, 18, 20, 21, 22, 24, 40, 0x301, 0x0015_0301, 0xffff_ffff];

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    damage(rng, seed, INTERESTING)
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
            // What passed is what is sent, but for nlmsg_pid, which ikc sets to 0,
            // and a zero tail past the struct, which is dropped (nlmsg_len follows).
            let (head, tail) = bytes.split_at(message.len());
            assert!(tail.iter().all(|&b| b == 0), "only a zero tail is dropped");
            let mut expect = head.to_vec();
            expect[..4].copy_from_slice(&(message.len() as u32).to_ne_bytes());
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

//! The decoders never panic, whatever the bytes: every request a caller (or a
//! broker client) sends and every response a reader parses goes through them.
//! Mutates valid messages at random with a fixed-seed generator (repeatable).

use ikc_core::task_diag::{parse_response, ShowFlags, Strategy, TaskAttribute, TaskBase, TaskCreds, TaskDiagMessage, TaskDiagRequest};

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
            2 => b.extend((0..rng.below(64)).map(|_| rng.next() as u8)),
            _ if b.len() >= 4 => {
                // Lengths are the interesting fields: poke a u16/u32 at an aligned spot.
                let i = rng.below(b.len() / 4) * 4;
                let v = [0u32, 1, 3, 4, 15, 16, 20, 40, 0xffff, 0xffff_ffff][rng.below(10)];
                b[i..i + 4].copy_from_slice(&v.to_ne_bytes());
            }
            _ => {}
        }
    }
    b
}

#[test]
fn request_parser_survives_random_bytes() {
    let seed = TaskDiagRequest { show: ShowFlags::BASE | ShowFlags::CRED, strategy: Strategy::Thread, pid: 42, sequence: 1 }.to_message();
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut accepted = 0;
    for _ in 0..200_000 {
        if TaskDiagRequest::from_message(&mutate(&mut rng, &seed)).is_ok() {
            accepted += 1;
        }
    }
    assert!(accepted > 0, "some mutations stay valid (e.g. a changed pid)");
}

#[test]
fn response_parser_survives_random_bytes() {
    let msg = TaskDiagMessage {
        pid: 7,
        tgid: 7,
        flags: 0,
        attributes: vec![TaskAttribute::Base(TaskBase::default()), TaskAttribute::Creds(TaskCreds::default()), TaskAttribute::Other(9, vec![1, 2, 3])],
    };
    let mut seed = Vec::new();
    msg.emit_message(1, &mut seed);
    msg.emit_message(1, &mut seed);
    ikc_core::netlink::emit_done(&mut seed, 1);
    assert_eq!(parse_response(&seed).expect("valid seed").len(), 2);
    let mut rng = Rng(0xfeed_face_cafe_beef);
    for _ in 0..200_000 {
        let _ = parse_response(&mutate(&mut rng, &seed));
    }
}

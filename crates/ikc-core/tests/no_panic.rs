//! The decoders never panic, whatever the bytes: every request a caller (or a
//! broker client) sends and every response a reader parses goes through them.
//! Mutates valid messages at random with a fixed-seed generator (repeatable).

use ikc_core::task_diag::{parse_response, ShowFlags, Strategy, TaskAttribute, TaskBase, TaskCreds, TaskDiagMessage, TaskDiagRequest};

mod common;
use common::{mutate as damage, Rng};

const INTERESTING: &[u32] = &[0, 1, 3, 4, 15, 16, 20, 40, 0xffff, 0xffff_ffff];

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    damage(rng, seed, INTERESTING)
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
    msg.emit_message(1, &mut seed).expect("emits");
    msg.emit_message(1, &mut seed).expect("emits");
    ikc_core::netlink::emit_done(&mut seed, 1);
    assert_eq!(parse_response(&seed).expect("valid seed").len(), 2);
    let mut rng = Rng(0xfeed_face_cafe_beef);
    for _ in 0..200_000 {
        let _ = parse_response(&mutate(&mut rng, &seed));
    }
}

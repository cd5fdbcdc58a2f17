//! Writes the seed corpora, fuzz/corpus/<target>/<name>, from ikc's own
//! emitters (ikc_fuzz::seeds), and checks every seed with its target's check.
//! Rerun after a wire change: `cargo run --manifest-path fuzz/Cargo.toml --example gen_corpus`.

use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for (target, seeds) in ikc_fuzz::seeds() {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).expect("corpus dir");
        for (name, bytes) in seeds {
            check(target, &bytes);
            std::fs::write(dir.join(&name), &bytes).expect("write seed");
            println!("{target}/{name}: {} bytes", bytes.len());
        }
    }
}

fn check(target: &str, data: &[u8]) {
    match target {
        "task_diag_request" => ikc_fuzz::task_diag_request(data),
        "netlink_codec" => ikc_fuzz::netlink_codec(data),
        "net_request" => ikc_fuzz::net_request(data),
        "broker_request" => ikc_fuzz::broker_request(data),
        "broker_reply" => ikc_fuzz::broker_reply(data),
        other => panic!("no target {other}"),
    }
}

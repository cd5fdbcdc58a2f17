#![no_main]
// See ikc_fuzz::broker_reply for what is checked.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ikc_fuzz::broker_reply(data));

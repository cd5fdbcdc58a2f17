#![no_main]
// See ikc_fuzz::net_request for what is checked.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ikc_fuzz::net_request(data));

#![no_main]
// See ikc_fuzz::netlink_codec for what is checked.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ikc_fuzz::netlink_codec(data));

#![no_main]
// See ikc_fuzz::task_diag_request for what is checked.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ikc_fuzz::task_diag_request(data));

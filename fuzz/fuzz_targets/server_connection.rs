#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wsproto_fuzz::server_connection(data));

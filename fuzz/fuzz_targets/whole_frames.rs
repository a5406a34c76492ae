#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wsproto_fuzz::whole_frames(data));

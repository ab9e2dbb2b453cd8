//! The decoder on any bytes: every instruction it returns lies inside the
//! input, after the previous one, and decoding stops at an error or STOP.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|input: &[u8]| checks::decode_all(input, "fuzz input"));

//! The disassembler on any bytes: it lists or reports an error, never
//! panics, and says something about any non-empty input.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|input: &[u8]| checks::disassemble_checked(input, "fuzz input"));

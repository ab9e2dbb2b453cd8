//! The value machine on any bytes, several pickles one after another as in
//! a file, with small limits: it returns or fails, and what it returns can
//! be walked and rendered whatever cycles or depth it holds.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|input: &[u8]| checks::load_all(input, "fuzz input"));

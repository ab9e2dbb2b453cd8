//! The disassembler on any bytes: it lists or reports an error, never
//! panics, and says something about any non-empty input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oxpickle_core::dis::disassemble;

fuzz_target!(|input: &[u8]| {
    let listing = disassemble(input);
    assert!(input.is_empty() || !listing.text.is_empty() || listing.error.is_some());
});

//! The decoder on any bytes: every instruction it returns lies inside the
//! input, after the previous one, and decoding stops at an error or STOP.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oxpickle_core::{decode_at, Op};

fuzz_target!(|input: &[u8]| {
    let mut offset = 0;
    while offset < input.len() {
        let Ok(instr) = decode_at(input, offset) else { break };
        assert_eq!(instr.offset, offset);
        assert!(instr.end > offset && instr.end <= input.len());
        if instr.op == Op::Stop {
            break;
        }
        offset = instr.end;
    }
});

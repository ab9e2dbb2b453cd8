//! What the fuzz targets check, shared with the regression test that
//! replays their crashers (`crates/oxpickle-core/tests/fuzz_regressions.rs`).
//! Each function panics, naming `label`, when a property does not hold.

use oxpickle_core::dis::disassemble;
use oxpickle_core::frame::check_frames;
use oxpickle_core::scan::{scan, Verdict};
use oxpickle_core::value::load_at;
use oxpickle_core::{decode_at, Allowlist, Arg, Op, ValueLimits};

/// Small limits, so deep or huge documents cost the fuzzer little.
const LIMITS: ValueLimits =
    ValueLimits { max_depth: 200, max_memo_entries: 4096, max_nodes: 1 << 16 };

/// Decodes instruction after instruction: each lies inside the input,
/// after the previous one; decoding stops at an error or STOP. The frame
/// rules (`check_frames`) refuse exactly what a plain statement of them
/// refuses: an instruction that starts before the end of the last frame
/// and ends after it, or a FRAME whose header ends before that end.
pub fn decode_all(input: &[u8], label: &str) {
    let mut offset = 0;
    let mut frame_end: Option<u64> = None;
    let mut frames_hold = true;
    while offset < input.len() {
        let Ok(instr) = decode_at(input, offset) else { break };
        assert_eq!(instr.offset, offset, "{label}");
        assert!(instr.end > offset && instr.end <= input.len(), "{label} at {offset}");
        let (start, end) = (instr.offset as u64, instr.end as u64);
        if frame_end.is_some_and(|frame| start < frame && end > frame) {
            frames_hold = false;
            break;
        }
        if let (Op::Frame, Arg::Uint(len)) = (instr.op, instr.arg) {
            if frame_end.is_some_and(|frame| frame > end) {
                frames_hold = false;
                break;
            }
            frame_end = Some(end.saturating_add(len));
        }
        if instr.op == Op::Stop {
            break;
        }
        offset = instr.end;
    }
    assert_eq!(check_frames(input).is_ok(), frames_hold, "{label}: frame rules");
}

/// Runs pickle after pickle, as from a file holding several: each returns
/// or fails, and what returns can be walked and rendered whatever cycles
/// or depth it holds.
pub fn load_all(input: &[u8], label: &str) {
    let mut offset = 0;
    while offset < input.len() {
        let Ok((document, end)) = load_at(input, offset, LIMITS) else { break };
        assert!(end > offset && end <= input.len(), "{label} at {offset}");
        for (id, _) in document.nodes() {
            assert!(document.children(id).all(|child| document.get(child).is_some()), "{label}");
        }
        let _ = document.render(document.root(), 200);
        offset = end;
    }
    scan_all(input, label);
}

/// The scanner on the same bytes, under the profiles whose argument rules
/// it reads: it reports at least one stream, each at an offset inside the
/// input, and a stream it calls safe names only allowed globals.
fn scan_all(input: &[u8], label: &str) {
    let Ok(allow) = Allowlist::from_entries(["data", "numpy"]) else {
        panic!("{label}: the profiles are gone");
    };
    let found = scan(input, &allow);
    assert!(!found.streams.is_empty(), "{label}");
    for stream in &found.streams {
        assert!(stream.offset <= input.len(), "{label}");
        if stream.verdict() == Verdict::Safe {
            assert!(
                stream.imports.iter().all(|import| allow.allows(&import.module, &import.name)),
                "{label}"
            );
        }
    }
}

/// Disassembles: a listing or an error, never nothing for non-empty input.
pub fn disassemble_checked(input: &[u8], label: &str) {
    let listing = disassemble(input);
    assert!(input.is_empty() || !listing.text.is_empty() || listing.error.is_some(), "{label}");
}

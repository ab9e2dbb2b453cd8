//! Every input kept in `tests/fuzz_regressions/` (crashers the fuzz targets
//! found, once fixed, and the hostile streams they start from) replayed
//! through the fuzz targets' own checks.

use std::fs;
use std::path::Path;

#[path = "../../../fuzz/checks.rs"]
mod checks;

fn inputs() -> Vec<(String, Vec<u8>)> {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let mut inputs: Vec<(String, Vec<u8>)> = fs::read_dir(&folder)
        .expect("tests/fuzz_regressions exists")
        .map(|entry| {
            let path = entry.expect("readable entry").path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            (name.unwrap_or_default(), fs::read(&path).expect("readable file"))
        })
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "no inputs in {}", folder.display());
    inputs
}

#[test]
fn decoding_stays_inside_the_input() {
    for (name, input) in inputs() {
        checks::decode_all(&input, &name);
    }
}

#[test]
fn the_value_machine_returns_walkable_documents_or_fails() {
    for (name, input) in inputs() {
        checks::load_all(&input, &name);
    }
}

#[test]
fn the_disassembler_lists_or_reports() {
    for (name, input) in inputs() {
        checks::disassemble_checked(&input, &name);
    }
}

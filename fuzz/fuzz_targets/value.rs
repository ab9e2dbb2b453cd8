//! The value machine on any bytes, several pickles one after another as in
//! a file, with small limits: it returns or fails, and what it returns can
//! be walked and rendered whatever cycles or depth it holds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oxpickle_core::value::load_at;
use oxpickle_core::Limits;

const LIMITS: Limits = Limits { max_depth: 200, max_memo_entries: 4096, max_nodes: 1 << 16 };

fuzz_target!(|input: &[u8]| {
    let mut offset = 0;
    while offset < input.len() {
        let Ok((document, end)) = load_at(input, offset, LIMITS) else { break };
        assert!(end > offset && end <= input.len());
        assert!(document.get(document.root()).is_some());
        for (id, _) in document.nodes() {
            assert!(document.children(id).all(|child| document.get(child).is_some()));
        }
        let _ = document.render(document.root(), 200);
        offset = end;
    }
});

//! Deterministic mode: the same bytes for the same program state in any
//! process, whatever PYTHONHASHSEED says.
//!
//! Two things vary between processes where the program state does not:
//! set iteration order (string hashes are salted) and which equal strings
//! happen to be one object (interning). Sets are written sorted by each
//! element's own pickle, and str/bytes are memoized by content.

use std::collections::HashMap;

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::dumper::{Dumper, Hooks, Settings};
use super::memo::PickleMemo;
use super::output::Output;

/// Content-keyed memo slots for str and bytes, deterministic mode only.
#[derive(Default)]
pub struct ContentMemo {
    slots: HashMap<(bool, Vec<u8>), usize>,
}

impl ContentMemo {
    pub fn get(&self, is_str: bool, content: &[u8]) -> Option<usize> {
        self.slots.get(&(is_str, content.to_vec())).copied()
    }

    pub fn insert(&mut self, is_str: bool, content: &[u8], index: usize) {
        self.slots.entry((is_str, content.to_vec())).or_insert(index);
    }
}

impl<'py> Dumper<'py, '_> {
    /// The items of a set in a process-independent order: by the bytes
    /// each pickles to on its own.
    pub(super) fn sorted_set_items(
        &self,
        set: &Bound<'py, PyAny>,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let mut keyed = Vec::new();
        for item in set.try_iter()? {
            let item = item?;
            keyed.push((self.sort_key(&item)?, item));
        }
        keyed.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        Ok(keyed.into_iter().map(|(_, item)| item).collect())
    }

    /// The pickle of `obj` alone, with this dump's settings and hooks.
    fn sort_key(&self, obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
        let settings = Settings {
            protocol: self.proto,
            bin: self.bin,
            fix_imports: self.fix_imports,
            fast: false,
            deterministic: true,
            one_shot: true,
        };
        let hooks = Hooks {
            persistent_id: self.hooks.persistent_id.clone(),
            reducer_override: self.hooks.reducer_override.clone(),
            dispatch_table: self.hooks.dispatch_table.clone(),
            buffer_callback: None,
        };
        let mut memo = PickleMemo::default();
        let out = Output::scratch(self.py)?;
        let mut keyer = Dumper::new(self.py, out, &mut memo, settings, hooks)?;
        keyer.save(obj)?;
        keyer.out.into_bytes()
    }
}

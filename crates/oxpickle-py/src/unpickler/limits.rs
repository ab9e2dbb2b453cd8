//! `oxpickle.Limits`: the bounds every load enforces, whatever it trusts.
//!
//! Called `LoadLimits` here, beside the core's `ValueLimits`, which bound
//! the value machine (the scanner, `dis`, the JSON view) rather than a
//! load: that machine runs nothing, so it has no allocation budget, and its
//! depth and memo bounds are tighter (5,000 and 2**24 against 10,000 and
//! 2**26), since a document node costs more than a stack slot. A pickle
//! within the scanner's bounds is within the loader's.

use pyo3::prelude::*;

/// Limits(*, max_depth=10000, max_memo_entries=67108864, max_allocation=1073741824, allocation_ratio=64)
/// --
///
/// Bounds on what one load may build. Payloads the pickle carries (str,
/// bytes, arrays in band) are never limited: they cost what the input
/// holds, read in chunks, so a false length costs nothing. What is bounded
/// is what a small input could otherwise ask for:
///
/// - max_depth: MARKs open at once (the pickle's nesting);
/// - max_memo_entries: distinct memo slots stored;
/// - max_allocation: the largest size one call may ask for (a count or a
///   shape passed to bytes, bytearray, range or an array constructor);
/// - allocation_ratio: all such sizes together, per byte of input read
///   (with 1 MiB always allowed).
#[pyclass(frozen, eq, from_py_object, module = "oxpickle", name = "Limits")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadLimits {
    #[pyo3(get)]
    pub max_depth: usize,
    #[pyo3(get)]
    pub max_memo_entries: usize,
    #[pyo3(get)]
    pub max_allocation: u64,
    #[pyo3(get)]
    pub allocation_ratio: u64,
}

/// Sizes asked for by calls that are always allowed, whatever the input's
/// size: enough for any small pickle's ranges and buffers.
pub const ALLOCATION_FLOOR: u64 = 1 << 20;

impl Default for LoadLimits {
    /// CPython writes one MARK per level of nesting and stops at its
    /// recursion limit (1000), so 10,000 open MARKs fit anything it
    /// writes; memo slots cost a pointer each, so 2**26 of them stay under
    /// 1 GiB; a call asking for more than 1 GiB or more than 64 bytes per
    /// byte of input is not something a data pickle does.
    fn default() -> Self {
        LoadLimits {
            max_depth: 10_000,
            max_memo_entries: 1 << 26,
            max_allocation: oxpickle_core::allowlist::DEFAULT_MAX_ALLOCATION,
            allocation_ratio: 64,
        }
    }
}

impl LoadLimits {
    /// What all calls of a load may ask for once `input_read` bytes of
    /// the pickle have been read.
    pub fn allocation_budget(&self, input_read: usize) -> u64 {
        self.allocation_ratio.saturating_mul(input_read as u64).max(ALLOCATION_FLOOR)
    }
}

#[pymethods]
impl LoadLimits {
    #[new]
    #[pyo3(signature = (*, max_depth=None, max_memo_entries=None, max_allocation=None, allocation_ratio=None))]
    fn new(
        max_depth: Option<usize>,
        max_memo_entries: Option<usize>,
        max_allocation: Option<u64>,
        allocation_ratio: Option<u64>,
    ) -> Self {
        let default = LoadLimits::default();
        LoadLimits {
            max_depth: max_depth.unwrap_or(default.max_depth),
            max_memo_entries: max_memo_entries.unwrap_or(default.max_memo_entries),
            max_allocation: max_allocation.unwrap_or(default.max_allocation),
            allocation_ratio: allocation_ratio.unwrap_or(default.allocation_ratio),
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "Limits(max_depth={}, max_memo_entries={}, max_allocation={}, allocation_ratio={})",
            self.max_depth, self.max_memo_entries, self.max_allocation, self.allocation_ratio
        )
    }
}

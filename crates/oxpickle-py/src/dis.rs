//! `dis(data)`: the core crate's disassembler, for `python -m oxpickle dis`.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// dis(data, /)
/// --
///
/// The `pickletools.dis` listing of one pickle, as the running CPython's
/// pickletools prints it, from the Rust core (nothing is imported or run),
/// and the error that stopped it, or None.
#[pyfunction]
pub fn dis(data: &Bound<'_, PyBytes>) -> (String, Option<String>) {
    let listing = oxpickle_core::dis::disassemble_as(data.as_bytes(), crate::ffi::PICKLETOOLS);
    (listing.text, listing.error.map(|err| err.to_string()))
}

//! `oxpickle._oxpickle`: the CPython face of the oxpickle engine.
//!
//! This is the only crate that touches CPython. The format itself (opcode
//! table, decoder, encoder) lives in `oxpickle-core`.

mod api;
mod dis;
mod errors;
mod ffi;
mod pickler;
mod scan;
mod signing;
mod stdlib;
mod unpickler;
mod utf8;

use pyo3::prelude::*;

// The engine relies on the GIL: its per-thread caches aside, the walk reads
// containers without locking them, and no free-threaded build is tested. So
// the module says it needs the GIL, and a free-threaded interpreter turns
// the GIL back on when it imports oxpickle (with a RuntimeWarning) rather
// than run it unprotected.
#[pymodule(gil_used = true)]
fn _oxpickle(module: &Bound<'_, PyModule>) -> PyResult<()> {
    stdlib::Stdlib::get(module.py())?;
    errors::register(module)?;
    module.add_class::<pickler::Pickler>()?;
    module.add_class::<pickler::PicklerMemoProxy>()?;
    module.add_class::<unpickler::Unpickler>()?;
    module.add_class::<unpickler::UnpicklerMemoProxy>()?;
    module.add_class::<unpickler::LoadLimits>()?;
    module.add_function(wrap_pyfunction!(api::dumps, module)?)?;
    module.add_function(wrap_pyfunction!(api::dump, module)?)?;
    module.add_function(wrap_pyfunction!(api::loads, module)?)?;
    module.add_function(wrap_pyfunction!(api::load, module)?)?;
    module.add_function(wrap_pyfunction!(dis::dis, module)?)?;
    module.add_function(wrap_pyfunction!(scan::scan, module)?)?;
    module.add_function(wrap_pyfunction!(scan::allowlist_profiles, module)?)?;
    module.add_function(wrap_pyfunction!(scan::show, module)?)?;
    module.add_function(wrap_pyfunction!(pickler::policy_names, module)?)?;
    module.add("HIGHEST_PROTOCOL", pickler::HIGHEST_PROTOCOL)?;
    module.add("DEFAULT_PROTOCOL", pickler::DEFAULT_PROTOCOL)?;
    Ok(())
}

//! Exposes pyo3's Python-version cfgs (`Py_3_13`, ...) to this crate, so
//! version-specific C-API calls can be chosen at compile time.
fn main() {
    pyo3_build_config::use_pyo3_cfgs();
}

use pyo3::prelude::*;

#[pymodule]
fn _oxpickle(_m: &Bound<'_, PyModule>) -> PyResult<()> {
    Ok(())
}

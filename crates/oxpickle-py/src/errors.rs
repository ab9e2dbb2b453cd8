//! oxpickle's exception classes. Each derives from the stdlib class of the
//! same name, so `except pickle.UnpicklingError` keeps working, and from
//! `oxpickle.PickleError`, so one clause catches all of ours.

use pyo3::exceptions::{PyRecursionError, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

struct ErrorTypes {
    pickle_error: Py<PyType>,
    pickling_error: Py<PyType>,
    unpickling_error: Py<PyType>,
    unpicklable_error: Py<PyType>,
    deep_recursion_error: Py<PyType>,
    unsafe_pickle_error: Py<PyType>,
}

static ERROR_TYPES: PyOnceLock<ErrorTypes> = PyOnceLock::new();

/// Builds an error of one of our classes; should the classes themselves be
/// missing (they are made when the module loads), that failure is returned.
fn raise(py: Python<'_>, pick: fn(&ErrorTypes) -> &Py<PyType>, message: String) -> PyErr {
    match ERROR_TYPES.get_or_try_init(py, || create(py)) {
        Ok(types) => PyErr::from_type(pick(types).bind(py).clone(), message),
        Err(err) => err,
    }
}

fn create(py: Python<'_>) -> PyResult<ErrorTypes> {
    let pickle = py.import("pickle")?;
    let make = |name: &str, bases: Bound<'_, PyTuple>, doc: &str| -> PyResult<Py<PyType>> {
        let namespace = PyDict::new(py);
        namespace.set_item("__module__", "oxpickle")?;
        namespace.set_item("__doc__", doc)?;
        let class = py.get_type::<PyType>().call1((name, bases, namespace))?;
        Ok(class.cast_into::<PyType>()?.unbind())
    };
    let pickle_error = make(
        "PickleError",
        PyTuple::new(py, [pickle.getattr("PickleError")?])?,
        "Base class of oxpickle's errors; a pickle.PickleError.",
    )?;
    let pickling_error = make(
        "PicklingError",
        PyTuple::new(py, [pickle_error.bind(py).as_any(), &pickle.getattr("PicklingError")?])?,
        "An object could not be pickled; a pickle.PicklingError.",
    )?;
    let unpickling_error = make(
        "UnpicklingError",
        PyTuple::new(py, [pickle_error.bind(py).as_any(), &pickle.getattr("UnpicklingError")?])?,
        "A pickle could not be loaded; a pickle.UnpicklingError.",
    )?;
    let unpicklable_error = make(
        "UnpicklableError",
        PyTuple::new(
            py,
            [pickling_error.bind(py).as_any(), &py.get_type::<PyTypeError>().into_any()],
        )?,
        "An object that cannot be pickled; both a PicklingError and the TypeError \
         the stdlib raises for it.",
    )?;
    let deep_recursion_error = make(
        "DeepRecursionError",
        PyTuple::new(
            py,
            [pickling_error.bind(py).as_any(), &py.get_type::<PyRecursionError>().into_any()],
        )?,
        "Pickling recursed past the interpreter's limit: an object graph nested deeper \
         than sys.getrecursionlimit(), or a __reduce__ or __getattribute__ that calls \
         itself. Both a PicklingError and the RecursionError the stdlib raises.",
    )?;
    let unsafe_pickle_error = make(
        "UnsafePickleError",
        PyTuple::new(py, [unpickling_error.bind(py).as_any()])?,
        "A load refused what the pickle asked for: a global outside the allowlist, \
         a call restricted loading does not make, a limit exceeded, or a bad signature.",
    )?;
    Ok(ErrorTypes {
        pickle_error,
        pickling_error,
        unpickling_error,
        unpicklable_error,
        deep_recursion_error,
        unsafe_pickle_error,
    })
}

/// Adds the exception classes to the module.
pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    let types = ERROR_TYPES.get_or_try_init(py, || create(py))?;
    module.add("PickleError", types.pickle_error.bind(py))?;
    module.add("PicklingError", types.pickling_error.bind(py))?;
    module.add("UnpicklingError", types.unpickling_error.bind(py))?;
    module.add("UnpicklableError", types.unpicklable_error.bind(py))?;
    module.add("DeepRecursionError", types.deep_recursion_error.bind(py))?;
    module.add("UnsafePickleError", types.unsafe_pickle_error.bind(py))?;
    Ok(())
}

/// An `oxpickle.PicklingError`.
pub fn pickling_error(py: Python<'_>, message: impl Into<String>) -> PyErr {
    raise(py, |types| &types.pickling_error, message.into())
}

/// An `oxpickle.UnpicklableError`: a PicklingError that is also a TypeError.
pub fn unpicklable_error(py: Python<'_>, message: impl Into<String>) -> PyErr {
    raise(py, |types| &types.unpicklable_error, message.into())
}

/// An `oxpickle.DeepRecursionError`: a PicklingError that is also a
/// RecursionError.
pub fn deep_recursion_error(py: Python<'_>, message: impl Into<String>) -> PyErr {
    raise(py, |types| &types.deep_recursion_error, message.into())
}

/// An `oxpickle.UnpicklingError`.
pub fn unpickling_error(py: Python<'_>, message: impl Into<String>) -> PyErr {
    raise(py, |types| &types.unpickling_error, message.into())
}

/// An `oxpickle.UnsafePickleError`: an UnpicklingError for what a load
/// refuses to do.
pub fn unsafe_pickle_error(py: Python<'_>, message: impl Into<String>) -> PyErr {
    raise(py, |types| &types.unsafe_pickle_error, message.into())
}

/// Whether `err` is an `oxpickle.UnpicklingError`, whose message already
/// says where the load failed.
pub fn is_unpickling_error(py: Python<'_>, err: &PyErr) -> bool {
    ERROR_TYPES.get(py).is_some_and(|types| err.is_instance(py, types.unpickling_error.bind(py)))
}

/// `err` with `note` added (`BaseException.add_note`), for where it
/// happened or what to do. A failure to add it must not replace the real
/// error, so it is ignored.
pub fn with_note(py: Python<'_>, err: PyErr, note: String) -> PyErr {
    let _ = err.value(py).call_method1(pyo3::intern!(py, "add_note"), (note,));
    err
}

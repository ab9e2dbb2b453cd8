//! Error messages the pickler words as the running CPython's pickler does,
//! where 3.14 reworded them (callers and CPython's own tests compare them).

use pyo3::prelude::*;

/// `copyreg.__newobj__` reduced with no arguments at all.
pub fn newobj_without_class() -> String {
    #[cfg(Py_3_14)]
    let message = "__newobj__ expected at least 1 argument, got 0";
    #[cfg(not(Py_3_14))]
    let message = "__newobj__ arglist is empty";
    message.to_owned()
}

/// `copyreg.__newobj__` whose first argument, `class`, is not a class.
pub fn newobj_not_a_class(class: &Bound<'_, PyAny>) -> PyResult<String> {
    #[cfg(Py_3_14)]
    {
        Ok(format!(
            "first argument to __newobj__() must be a class, not {}",
            class.get_type().name()?
        ))
    }
    #[cfg(not(Py_3_14))]
    {
        let _ = class;
        Ok("args[0] from __newobj__ args is not a type".to_owned())
    }
}

/// `copyreg.__newobj__` whose first argument, `class`, is not the class of
/// the object reduced, which says it is `expected`.
pub fn newobj_wrong_class(
    expected: &Bound<'_, PyAny>,
    class: &Bound<'_, PyAny>,
) -> PyResult<String> {
    #[cfg(Py_3_14)]
    {
        Ok(format!(
            "first argument to __newobj__() must be {}, not {}",
            expected.repr()?,
            class.repr()?
        ))
    }
    #[cfg(not(Py_3_14))]
    {
        let _ = (expected, class);
        Ok("args[0] from __newobj__ args has the wrong class".to_owned())
    }
}

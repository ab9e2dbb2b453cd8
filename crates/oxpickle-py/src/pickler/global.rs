//! Classes, functions and other objects pickled by reference: by the
//! module and qualified name the receiving side imports them from.

use oxpickle_core::Op;
use pyo3::exceptions::PyUnicodeEncodeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};

use super::dumper::Dumper;
use super::reduce::{singleton_of_type, singleton_type_reduce};
use crate::errors::pickling_error;

impl<'py> Dumper<'py, '_> {
    /// A class: by reference, except the types of None, Ellipsis and
    /// NotImplemented, which are not importable by name.
    pub(super) fn save_type(&mut self, class: &Bound<'py, PyAny>) -> PyResult<()> {
        match singleton_of_type(self.py, class) {
            Some(singleton) => {
                let reduce = singleton_type_reduce(self.py, singleton)?;
                self.save_reduce(&reduce, Some(class))
            }
            None => self.save_global(class, None),
        }
    }

    /// Writes a reference to `obj` as `module.qualname`, after checking
    /// that importing that name gives back this very object. `name`
    /// overrides the object's own `__qualname__` (a reducer returned it).
    pub(super) fn save_global(
        &mut self,
        obj: &Bound<'py, PyAny>,
        name: Option<Bound<'py, PyString>>,
    ) -> PyResult<()> {
        let py = self.py;
        let name = match name {
            Some(name) => name.into_any(),
            None => match obj.getattr_opt(pyo3::intern!(py, "__qualname__"))? {
                Some(qualname) => qualname,
                None => obj.getattr(pyo3::intern!(py, "__name__"))?,
            },
        };
        let name_text = name.str()?.to_string();
        let path: Vec<&str> = name_text.split('.').collect();
        if path.contains(&"<locals>") {
            return Err(pickling_error(py, format!("Can't pickle local object {}", name.repr()?)));
        }
        let module_name = which_module(obj, &path)?;
        let module = import_module(&module_name).map_err(|err| {
            chained(
                py,
                err,
                format!(
                    "Can't pickle {}: import of module {} failed",
                    repr(obj),
                    repr(&module_name)
                ),
            )
        })?;
        let Some((found, parent)) = deep_attribute(&module, &path)? else {
            return Err(pickling_error(
                py,
                format!(
                    "Can't pickle {}: attribute lookup {name_text} on {module_name} failed",
                    repr(obj)
                ),
            ));
        };
        if !found.is(obj) {
            return Err(pickling_error(
                py,
                format!(
                    "Can't pickle {}: it's not the same object as {module_name}.{name_text}",
                    repr(obj)
                ),
            ));
        }
        if self.proto >= 2 {
            if let Some(code) = self.extension_code(obj, &module_name, &name)? {
                self.out.enc.ext(code);
                return Ok(());
            }
        }
        let last = path.last().copied().unwrap_or_default();
        let nested = !parent.is(&module);
        if self.proto >= 4 {
            // The qualname object itself, so a name already in the memo is
            // fetched from there, as CPython does.
            self.save(&module_name)?;
            self.save(&name)?;
            self.out.enc.op(Op::StackGlobal);
        } else if nested {
            // GLOBAL cannot name an attribute of an attribute: rebuild it
            // as getattr(parent, last).
            let args = PyTuple::new(py, [parent, PyString::new(py, last).into_any()])?;
            let reduce = PyTuple::new(py, [self.stdlib.getattr.bind(py).clone(), args.into_any()])?;
            self.save_reduce(&reduce, None)?;
        } else {
            self.write_global_text(&module_name, last)?;
        }
        self.memoize(obj)
    }

    /// The copyreg extension code registered for (module, name), if any.
    fn extension_code(
        &self,
        obj: &Bound<'py, PyAny>,
        module_name: &Bound<'py, PyAny>,
        name: &Bound<'py, PyAny>,
    ) -> PyResult<Option<u32>> {
        let py = self.py;
        let key = PyTuple::new(py, [module_name, name])?;
        let Some(code) = self.stdlib.extension_registry.bind(py).get_item(key)? else {
            return Ok(None);
        };
        let Ok(code_value) = code.extract::<i64>() else {
            return Err(pickling_error(
                py,
                format!(
                    "Can't pickle {}: extension code {} isn't an integer",
                    repr(obj),
                    repr(&code)
                ),
            ));
        };
        match u32::try_from(code_value) {
            Ok(code) if code > 0 && code <= 0x7fff_ffff => Ok(Some(code)),
            _ => Err(pickling_error(
                py,
                format!("Can't pickle {}: extension code {code_value} is out of range", repr(obj)),
            )),
        }
    }

    /// GLOBAL with text lines (protocols 0–3), under the Python 2 names
    /// when `fix_imports` asks for them.
    fn write_global_text(&mut self, module_name: &Bound<'py, PyAny>, name: &str) -> PyResult<()> {
        let py = self.py;
        let (mut module, mut name) = (module_name.str()?.to_string(), name.to_string());
        if self.fix_imports {
            (module, name) = self.python2_name(module, name)?;
        }
        let encode = |text: &str, what: &str| -> PyResult<Vec<u8>> {
            if self.proto == 3 || text.is_ascii() {
                Ok(text.as_bytes().to_vec())
            } else {
                let reason = format!(
                    "can't pickle {what} identifier '{text}' using pickle protocol {}",
                    self.proto
                );
                Err(chained(py, PyUnicodeEncodeError::new_err("non-ASCII identifier"), reason))
            }
        };
        let module_bytes = encode(&module, "module")?;
        let name_bytes = encode(&name, "global")?;
        self.out.enc.global_text(&module_bytes, &name_bytes);
        Ok(())
    }

    /// The Python 2 spelling of a name, from `_compat_pickle`.
    fn python2_name(&self, module: String, name: String) -> PyResult<(String, String)> {
        let py = self.py;
        let key = PyTuple::new(py, [module.as_str(), name.as_str()])?;
        if let Some(mapped) = self.stdlib.name_mapping_3to2.bind(py).get_item(key)? {
            let pair: (String, String) = mapped.extract().map_err(|_| {
                pyo3::exceptions::PyRuntimeError::new_err(format!(
                    "_compat_pickle.REVERSE_NAME_MAPPING values should be 2-tuples of str, not {}",
                    repr(&mapped)
                ))
            })?;
            return Ok(pair);
        }
        if let Some(mapped) = self.stdlib.import_mapping_3to2.bind(py).get_item(module.as_str())? {
            let module: String = mapped.extract().map_err(|_| {
                pyo3::exceptions::PyRuntimeError::new_err(format!(
                    "_compat_pickle.REVERSE_IMPORT_MAPPING values should be strings, not {}",
                    repr(&mapped)
                ))
            })?;
            return Ok((module, name));
        }
        Ok((module, name))
    }
}

/// The module an object lives in: its `__module__`, or else the first
/// module in `sys.modules` whose attribute path leads to the object, or
/// else `__main__`.
pub fn which_module<'py>(obj: &Bound<'py, PyAny>, path: &[&str]) -> PyResult<Bound<'py, PyAny>> {
    let py = obj.py();
    if let Some(module) = obj.getattr_opt(pyo3::intern!(py, "__module__"))? {
        if !module.is_none() {
            return Ok(module);
        }
    }
    let modules = py.import("sys")?.getattr("modules")?;
    // A snapshot: importing while we look must not break the iteration.
    let modules = modules.cast::<PyDict>()?.copy()?;
    for (module_name, module) in modules.iter() {
        if module.is_none() || module_name.extract::<&str>().is_ok_and(|name| name == "__main__") {
            continue;
        }
        if let Some((candidate, _)) = deep_attribute(&module, path)? {
            if candidate.is(obj) {
                return Ok(module_name);
            }
        }
    }
    Ok(pyo3::intern!(py, "__main__").clone().into_any())
}

fn import_module<'py>(name: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    Ok(name.py().import(name.cast::<PyString>()?)?.into_any())
}

/// Follows a dotted path from `root`; returns the object and its parent,
/// or None when an attribute is missing.
pub fn deep_attribute<'py>(
    root: &Bound<'py, PyAny>,
    path: &[&str],
) -> PyResult<Option<(Bound<'py, PyAny>, Bound<'py, PyAny>)>> {
    let mut parent = root.clone();
    let mut current = root.clone();
    for part in path {
        let Some(next) = current.getattr_opt(*part)? else {
            return Ok(None);
        };
        parent = std::mem::replace(&mut current, next);
    }
    Ok(Some((current, parent)))
}

/// The repr of an object for an error message; a failing repr must not
/// hide the real error.
fn repr(obj: &Bound<'_, PyAny>) -> String {
    obj.repr().map(|r| r.to_string()).unwrap_or_else(|_| "<unrepresentable object>".into())
}

/// A PicklingError whose cause is `err`.
fn chained(py: Python<'_>, err: PyErr, message: String) -> PyErr {
    let wrapped = pickling_error(py, message);
    wrapped.set_cause(py, Some(err));
    wrapped
}

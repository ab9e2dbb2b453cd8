//! Objects pickled by reference: by the module and qualified name the
//! receiving side imports them from.
//!
//! Resolution and writing are separate steps: a function or class whose
//! reference does not resolve (or that the receiver could not import)
//! travels by value instead of failing.

use oxpickle_core::Op;
use pyo3::exceptions::{PyRuntimeError, PyUnicodeEncodeError};
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};

use super::dumper::Dumper;
use super::reduce::{singleton_of_type, singleton_type_reduce};
use crate::errors::pickling_error;
use crate::ffi::{import_module, lookup_attr, modules};

/// A reference that resolved: importing `module_name` and following
/// `name` gives back the object.
pub struct GlobalRef<'py> {
    obj: Bound<'py, PyAny>,
    module_name: Bound<'py, PyAny>,
    name: Bound<'py, PyAny>,
    /// The first component of the qualified name (`Outer` of
    /// `Outer.Inner`), and the rest (`Inner`), if it is nested.
    outermost: String,
    inner: Vec<String>,
}

impl GlobalRef<'_> {
    /// Whether the receiver of a pickle cannot be expected to import this
    /// reference: `__main__` is the sender's script.
    pub fn is_main(&self) -> bool {
        super::byvalue::is_main_name(&self.module_name)
    }

    pub fn module_name(&self) -> PyResult<String> {
        Ok(self.module_name.str()?.to_string())
    }
}

/// How resolving a reference came out: the reference, or the error that
/// says why there is none.
pub type Resolution<'py> = Result<GlobalRef<'py>, PyErr>;

impl<'py> Dumper<'py, '_> {
    /// A class: by reference, except the types of None, Ellipsis and
    /// NotImplemented, which are not importable by name; by value when the
    /// receiver could not import it.
    pub(super) fn save_type(&mut self, class: &Bound<'py, PyAny>) -> PyResult<()> {
        if let Some(singleton) = singleton_of_type(self.py, class) {
            let reduce = singleton_type_reduce(self.py, singleton)?;
            return self.save_reduce(&reduce, Some(class));
        }
        let resolution = self.resolve_global(class, None)?;
        if self.travels_by_value(&resolution)? {
            return self.save_unimportable_class(class, resolution);
        }
        self.write_global(resolution?)
    }

    /// Finds the module and name `obj` can be imported under, checking that
    /// they lead back to this very object. Errors from Python code (a
    /// failing `__qualname__`) propagate; an unresolvable reference is the
    /// inner error.
    pub(super) fn resolve_global(
        &self,
        obj: &Bound<'py, PyAny>,
        name: Option<Bound<'py, PyString>>,
    ) -> PyResult<Resolution<'py>> {
        let py = self.py;
        let name = match name {
            Some(name) => name.into_any(),
            None => match lookup_attr(obj.as_any(), pyo3::intern!(py, "__qualname__"))? {
                Some(qualname) => qualname,
                None => obj.getattr(pyo3::intern!(py, "__name__"))?,
            },
        };
        let name_text = name.str()?.to_string();
        let path: Vec<&str> = name_text.split('.').collect();
        if path.contains(&"<locals>") {
            let message = format!("Can't pickle local object {}", name.repr()?);
            return Ok(Err(pickling_error(py, message)));
        }
        let path_names = attribute_names(&name, &path)?;
        let module_name = which_module(obj, &path_names)?;
        let module = match import_module(&module_name) {
            Ok(module) => module,
            Err(err) => {
                let message = format!(
                    "Can't pickle {}: import of module {} failed",
                    repr(obj),
                    repr(&module_name)
                );
                return Ok(Err(chained(py, err, message)));
            }
        };
        let Some(found) = deep_attribute(&module, &path_names)? else {
            let message = format!(
                "Can't pickle {}: attribute lookup {name_text} on {module_name} failed",
                repr(obj)
            );
            return Ok(Err(pickling_error(py, message)));
        };
        if !found.is(obj) {
            let message = format!(
                "Can't pickle {}: it's not the same object as {module_name}.{name_text}",
                repr(obj)
            );
            return Ok(Err(pickling_error(py, message)));
        }
        // `split` gives at least one part, if only "".
        let (outermost, inner) = match path.split_first() {
            Some((first, rest)) => {
                (first.to_string(), rest.iter().map(|p| p.to_string()).collect())
            }
            None => (String::new(), Vec::new()),
        };
        Ok(Ok(GlobalRef { obj: obj.clone(), module_name, name, outermost, inner }))
    }

    /// Writes a resolved reference: EXT, STACK_GLOBAL, GLOBAL, or for a
    /// nested name before protocol 4 the outermost name by GLOBAL and
    /// `getattr(…, part)` for each further part.
    pub(super) fn write_global(&mut self, global: GlobalRef<'py>) -> PyResult<()> {
        let GlobalRef { obj, module_name, name, outermost, inner } = global;
        if self.proto >= 2 {
            if let Some(code) = self.extension_code(&obj, &module_name, &name)? {
                self.out.enc.ext(code);
                return Ok(());
            }
        }
        if self.proto >= 4 {
            // The qualname object itself, so a name already in the memo is
            // fetched from there, as CPython does.
            self.save(&module_name)?;
            self.save(&name)?;
            self.out.enc.op(Op::StackGlobal);
        } else {
            self.write_nested_global(&module_name.str()?.to_string(), &outermost, &inner)?;
        }
        self.memoize(&obj)
    }

    /// GLOBAL cannot name an attribute of an attribute: `A.B.C` is written
    /// as `getattr(getattr(A, "B"), "C")` with `A` by GLOBAL. The outer
    /// objects are named, not saved, so a class reachable from itself
    /// (`C.ref is C`, qualname `C.ref`) does not recurse.
    fn write_nested_global(
        &mut self,
        module_name: &str,
        first: &str,
        rest: &[String],
    ) -> PyResult<()> {
        let py = self.py;
        let getattr = self.stdlib.getattr.bind(py).clone();
        for _ in rest {
            self.save(&getattr)?;
            if self.proto < 2 {
                self.out.enc.op(Op::Mark);
            }
        }
        self.write_global_text(module_name, first)?;
        for part in rest {
            self.save(&PyString::new(py, part))?;
            self.out.enc.op(if self.proto < 2 { Op::Tuple } else { Op::Tuple2 });
            self.out.enc.op(Op::Reduce);
        }
        Ok(())
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
            let message = format!(
                "Can't pickle {}: extension code {} isn't an integer",
                repr(obj),
                repr(&code)
            );
            return Err(pickling_error(py, message));
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
    pub(super) fn write_global_text(&mut self, module: &str, name: &str) -> PyResult<()> {
        let (module, name) = if self.fix_imports {
            self.python2_name(module.to_string(), name.to_string())?
        } else {
            (module.to_string(), name.to_string())
        };
        let module_bytes = self.identifier_bytes(&module, "module")?;
        let name_bytes = self.identifier_bytes(&name, "global")?;
        self.out.enc.global_text(&module_bytes, &name_bytes);
        Ok(())
    }

    /// Protocol 3 writes identifiers in UTF-8; older ones only in ASCII,
    /// which Python 2 can read.
    fn identifier_bytes(&self, text: &str, what: &str) -> PyResult<Vec<u8>> {
        if self.proto == 3 || text.is_ascii() {
            return Ok(text.as_bytes().to_vec());
        }
        let reason =
            format!("can't pickle {what} identifier '{text}' using pickle protocol {}", self.proto);
        Err(chained(self.py, PyUnicodeEncodeError::new_err("non-ASCII identifier"), reason))
    }

    /// The Python 2 spelling of a name, from `_compat_pickle`.
    fn python2_name(&self, module: String, name: String) -> PyResult<(String, String)> {
        let py = self.py;
        let key = PyTuple::new(py, [module.as_str(), name.as_str()])?;
        if let Some(mapped) = self.stdlib.name_mapping_3to2.bind(py).get_item(key)? {
            return mapped.extract().map_err(|_| {
                PyRuntimeError::new_err(format!(
                    "_compat_pickle.REVERSE_NAME_MAPPING values should be 2-tuples of str, not {}",
                    repr(&mapped)
                ))
            });
        }
        if let Some(mapped) = self.stdlib.import_mapping_3to2.bind(py).get_item(module.as_str())? {
            let module: String = mapped.extract().map_err(|_| {
                PyRuntimeError::new_err(format!(
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
pub fn which_module<'py>(
    obj: &Bound<'py, PyAny>,
    path: &[Bound<'py, PyString>],
) -> PyResult<Bound<'py, PyAny>> {
    let py = obj.py();
    if let Some(module) = lookup_attr(obj.as_any(), pyo3::intern!(py, "__module__"))? {
        if !module.is_none() {
            return Ok(module);
        }
    }
    // A snapshot: importing while we look must not break the iteration.
    let modules = modules(py)?.copy()?;
    for (module_name, module) in modules.iter() {
        if module.is_none() || module_name.extract::<&str>().is_ok_and(|name| name == "__main__") {
            continue;
        }
        if let Some(candidate) = deep_attribute(&module, path)? {
            if candidate.is(obj) {
                return Ok(module_name);
            }
        }
    }
    Ok(pyo3::intern!(py, "__main__").clone().into_any())
}

/// The components of a dotted name as str objects; an undotted name is
/// the name object itself, whose hash is usually cached already.
fn attribute_names<'py>(
    name: &Bound<'py, PyAny>,
    path: &[&str],
) -> PyResult<Vec<Bound<'py, PyString>>> {
    if let ([_], Ok(whole)) = (path, name.cast_exact::<PyString>()) {
        return Ok(vec![whole.clone()]);
    }
    Ok(path.iter().map(|part| PyString::new(name.py(), part)).collect())
}

/// Follows a dotted path from `root`; None when an attribute is missing.
pub fn deep_attribute<'py>(
    root: &Bound<'py, PyAny>,
    path: &[Bound<'py, PyString>],
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let mut current = root.clone();
    for part in path {
        let Some(next) = lookup_attr(&current, part)? else {
            return Ok(None);
        };
        current = next;
    }
    Ok(Some(current))
}

/// The repr of an object for an error message; a failing repr must not
/// hide the real error.
pub fn repr(obj: &Bound<'_, PyAny>) -> String {
    obj.repr().map(|r| r.to_string()).unwrap_or_else(|_| "<unrepresentable object>".into())
}

/// A PicklingError whose cause is `err`.
pub fn chained(py: Python<'_>, err: PyErr, message: String) -> PyErr {
    let wrapped = pickling_error(py, message);
    wrapped.set_cause(py, Some(err));
    wrapped
}

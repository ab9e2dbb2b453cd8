//! Functions by value.
//!
//! The stream says: `types.FunctionType(code, globals, name, None,
//! closure)` with empty cells, memoize the function, BUILD its attributes,
//! SETITEMS the globals it uses into the shared globals dict, fill the
//! cells. Recursion (a function in its own globals or closure) and cells
//! shared between functions resolve through the memo.

use oxpickle_core::Op;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};

use super::helpers::ByValueHelpers;
use crate::ffi::{cell_contents, lookup_attr};
use crate::pickler::dumper::Dumper;
use crate::pickler::path::Step;

/// The module attributes a function's globals keep for relative imports
/// and `__module__`.
const MODULE_KEYS: [&str; 4] = ["__package__", "__name__", "__path__", "__file__"];

impl<'py> Dumper<'py, '_> {
    /// A function: by reference when the receiver can import it, else by value.
    pub(in crate::pickler) fn save_function(&mut self, func: &Bound<'py, PyAny>) -> PyResult<()> {
        let resolution = self.resolve_global(func, None)?;
        if self.travels_by_value(&resolution)? {
            return self.save_function_by_value(func);
        }
        self.write_global(resolution?)
    }

    fn save_function_by_value(&mut self, func: &Bound<'py, PyAny>) -> PyResult<()> {
        let py = self.py;
        let parts = FunctionParts::of(func)?;
        let used = self.used_globals(&parts.code, &parts.globals)?;
        self.import_submodules(&parts, &used)?;

        self.save_named_global("types", "FunctionType")?;
        self.out.enc.op(Op::Mark);
        self.save(&parts.code)?;
        self.save_globals_stand_in(&parts.globals)?;
        self.save(&func.getattr(pyo3::intern!(py, "__name__"))?)?;
        self.out.enc.op(Op::None);
        match &parts.closure {
            Some(cells) => {
                self.out.enc.op(Op::Mark);
                for cell in cells.iter() {
                    self.save_cell_shell(&cell)?;
                }
                self.out.enc.op(Op::Tuple);
            }
            None => self.out.enc.op(Op::None),
        }
        self.out.enc.op(Op::Tuple);
        self.out.enc.op(Op::Reduce);
        self.memoize_always(func)?;

        self.write_function_state(func, &parts)?;
        self.fill_globals(&parts.globals, used)?;
        if let Some(cells) = &parts.closure {
            let names = parts.code.getattr(pyo3::intern!(py, "co_freevars"))?;
            for (index, cell) in cells.iter().enumerate() {
                self.fill_cell(&cell).map_err(|err| {
                    let name = names.get_item(index).map(|n| n.to_string()).unwrap_or_default();
                    self.unwinding(err, || Step::Closure(name))
                })?;
            }
        }
        Ok(())
    }

    /// The first qualname of this dump with the text of `qualname`, so that
    /// equal ones are written once and memo references after that.
    fn first_of_qualname(&mut self, qualname: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let Ok(text) = qualname.cast::<PyString>() else {
            return Ok(qualname); // Not a str: written as it is.
        };
        let key = text.to_str()?.to_owned();
        let first = self.byvalue.qualnames.entry(key).or_insert_with(|| text.clone().unbind());
        Ok(first.bind(self.py).clone().into_any())
    }

    /// BUILD with the function's `__dict__` and whichever attributes
    /// differ from what `FunctionType(code, globals, name)` gives.
    fn write_function_state(
        &mut self,
        func: &Bound<'py, PyAny>,
        parts: &FunctionParts<'py>,
    ) -> PyResult<()> {
        let py = self.py;
        let mut changed: Vec<(Bound<'py, PyString>, Bound<'py, PyAny>)> = Vec::new();
        let qualname = func.getattr(pyo3::intern!(py, "__qualname__"))?;
        if !qualname.eq(parts.code.getattr(pyo3::intern!(py, "co_qualname"))?)? {
            let qualname = self.first_of_qualname(qualname)?;
            changed.push((pyo3::intern!(py, "__qualname__").clone(), qualname));
        }
        let module = func.getattr(pyo3::intern!(py, "__module__"))?;
        let module_default = parts.globals.get_item(pyo3::intern!(py, "__name__"))?;
        if !module_default.is_some_and(|default| default.is(&module)) {
            changed.push((pyo3::intern!(py, "__module__").clone(), module));
        }
        let doc = func.getattr(pyo3::intern!(py, "__doc__"))?;
        if !doc.is(&default_doc(&parts.code)?) {
            changed.push((pyo3::intern!(py, "__doc__").clone(), doc));
        }
        // SAFETY (each read): `func` is a function; these return borrowed
        // references or null, without creating anything.
        let optional = |read: unsafe extern "C" fn(*mut ffi::PyObject) -> *mut ffi::PyObject| {
            let ptr = unsafe { read(func.as_ptr()) };
            (!ptr.is_null()).then(|| unsafe { Bound::from_borrowed_ptr(py, ptr) })
        };
        // From 3.14 (PEP 649) `__annotate__` computes the annotations
        // (see `annotations.rs`). Setting either attribute clears the
        // other, so one is sent: the dict where there is no `__annotate__`
        // (before 3.14, or annotations set by hand) or where it returns
        // only constants, else the function.
        let annotate = lookup_attr(func, pyo3::intern!(py, "__annotate__"))?;
        let annotations = match annotate {
            Some(annotate) if !annotate.is_none() => match self.constant_annotations(&annotate)? {
                Some(constant) => ("__annotations__", Some(constant.into_any())),
                None => ("__annotate__", Some(annotate)),
            },
            _ => ("__annotations__", optional(ffi::PyFunction_GetAnnotations)),
        };
        let attributes = [
            ("__defaults__", optional(ffi::PyFunction_GetDefaults)),
            ("__kwdefaults__", optional(ffi::PyFunction_GetKwDefaults)),
            annotations,
            // PEP 695 generics (`def f[T](x: T)`), from 3.12.
            ("__type_params__", lookup_attr(func, pyo3::intern!(py, "__type_params__"))?),
        ];
        for (name, value) in attributes {
            if let Some(value) = value.filter(|v| !v.is_none() && v.len().map_or(true, |n| n > 0)) {
                changed.push((PyString::intern(py, name), value));
            }
        }
        let dict = func.getattr(pyo3::intern!(py, "__dict__"))?;
        let has_dict = dict.len()? > 0;
        if changed.is_empty() && !has_dict {
            return Ok(());
        }
        self.tuple_start(2);
        if has_dict {
            self.save(&dict)
                .map_err(|err| self.unwinding(err, || Step::Attr("__dict__".into())))?;
        } else {
            self.out.enc.op(Op::None);
        }
        self.write_dict_items(&changed, Some(Step::Attr))?;
        self.tuple_end(2);
        self.out.enc.op(Op::Build);
        Ok(())
    }

    /// The dict that stands in for a module's globals on the receiving
    /// side, created once per pickle with the module's identity keys and
    /// the receiver's `builtins` module as `__builtins__`.
    ///
    /// A function runs without `__builtins__` in its globals, but C code
    /// that imports through `PyImport_Import` (NumPy's `ndarray.sum`, a
    /// `pickle.dumps` in the function) reads it from the calling frame's
    /// globals and fails where it is missing.
    fn save_globals_stand_in(&mut self, globals: &Bound<'py, PyDict>) -> PyResult<()> {
        let key = globals.as_ptr() as usize;
        if let Some(&index) = self.byvalue.globals_dicts.get(&key) {
            return self.write_memo_get(index);
        }
        let mut identity = Vec::new();
        for name in MODULE_KEYS {
            if let Some(value) = globals.get_item(name)? {
                identity.push((PyString::intern(self.py, name), value));
            }
        }
        let builtins = self.stdlib.builtins.bind(self.py).clone().into_any();
        identity.push((pyo3::intern!(self.py, "__builtins__").clone(), builtins));
        self.write_dict_items(&identity, None)?;
        let index = self.memoize_slot()?;
        self.byvalue.globals_dicts.insert(key, index);
        Ok(())
    }

    /// The globals the code uses that the module has, in first-use order.
    fn used_globals(
        &mut self,
        code: &Bound<'py, PyAny>,
        globals: &Bound<'py, PyDict>,
    ) -> PyResult<Vec<(Bound<'py, PyString>, Bound<'py, PyAny>)>> {
        let names = self.code_global_names(code)?;
        let mut used = Vec::with_capacity(names.len());
        for name in names {
            if let Some(value) = globals.get_item(&name)? {
                used.push((name, value));
            }
        }
        Ok(used)
    }

    /// SETITEMS of the used globals not yet written into the stand-in.
    fn fill_globals(
        &mut self,
        globals: &Bound<'py, PyDict>,
        used: Vec<(Bound<'py, PyString>, Bound<'py, PyAny>)>,
    ) -> PyResult<()> {
        let key = globals.as_ptr() as usize;
        let mut missing = Vec::with_capacity(used.len());
        for (name, value) in used {
            if self.byvalue.filled_globals.insert((key, name.to_str()?.to_string())) {
                missing.push((name, value));
            }
        }
        let Some(&index) = self.byvalue.globals_dicts.get(&key).filter(|_| !missing.is_empty())
        else {
            return Ok(());
        };
        self.write_memo_get(index)?;
        self.write_set_items(&missing, Some(Step::Global))?;
        self.out.enc.op(Op::Pop);
        Ok(())
    }

    /// Writes, stack-neutrally, the submodules the code reaches through a
    /// package global (`np.linalg.norm`), so the receiver imports them.
    fn import_submodules(
        &mut self,
        parts: &FunctionParts<'py>,
        used: &[(Bound<'py, PyString>, Bound<'py, PyAny>)],
    ) -> PyResult<()> {
        let mut values: Vec<Bound<'py, PyAny>> =
            used.iter().map(|(_, value)| value.clone()).collect();
        if let Some(cells) = &parts.closure {
            values.extend(cells.iter().filter_map(|cell| cell_contents(&cell)));
        }
        let has_package = values.iter().any(|v| v.is_instance_of::<pyo3::types::PyModule>());
        if !has_package {
            return Ok(());
        }
        let helpers = ByValueHelpers::get(self.py)?;
        let submodules = helpers.imported_submodules.bind(self.py).call1((&parts.code, values))?;
        for submodule in submodules.try_iter()? {
            self.save(&submodule?)?;
            self.out.enc.op(Op::Pop);
        }
        Ok(())
    }
}

/// What a function is made of.
struct FunctionParts<'py> {
    code: Bound<'py, PyAny>,
    globals: Bound<'py, PyDict>,
    closure: Option<Bound<'py, PyTuple>>,
}

impl<'py> FunctionParts<'py> {
    fn of(func: &Bound<'py, PyAny>) -> PyResult<Self> {
        let py = func.py();
        let closure = func.getattr(pyo3::intern!(py, "__closure__"))?;
        Ok(FunctionParts {
            code: func.getattr(pyo3::intern!(py, "__code__"))?,
            globals: func.getattr(pyo3::intern!(py, "__globals__"))?.cast_into::<PyDict>()?,
            closure: if closure.is_none() { None } else { Some(closure.cast_into::<PyTuple>()?) },
        })
    }
}

/// The docstring FunctionType gives a function of `code`: its first
/// constant when that is a str.
fn default_doc<'py>(code: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = code.py();
    let consts = code.getattr(pyo3::intern!(py, "co_consts"))?;
    let consts = consts.cast::<PyTuple>()?;
    match consts.get_item(0) {
        Ok(first) if first.is_instance_of::<PyString>() => Ok(first),
        _ => Ok(py.None().into_bound(py)),
    }
}

//! The Python side of by-value pickling, looked up once: the registry of
//! by-value modules, class and TypeVar reducers, the code object layout
//! and the opcodes that name globals (both depend on the Python version).

use std::collections::HashMap;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PySet, PyString, PyTuple};

use crate::pickler::address::AddressMap;

pub struct ByValueHelpers {
    /// `_byvalue._by_value_modules`, read directly to skip the call when empty.
    pub registered_modules: Py<PySet>,
    pub is_registered: Py<PyAny>,
    pub class_reduce: Py<PyAny>,
    pub dynamic_module_reduce: Py<PyAny>,
    pub imported_submodules: Py<PyAny>,
    /// Reducers by exact type for what the stdlib cannot pickle.
    pub reducers: AddressMap<Py<PyAny>>,
    /// Reducers for objects whose by-reference name the receiver cannot import.
    pub by_value_reducers: Py<PyDict>,
    /// Builtin types known by their name in the `types` module.
    pub builtin_type_names: HashMap<usize, &'static str>,
    /// `types.CodeType` argument names, in order.
    pub code_fields: Vec<Py<PyString>>,
    /// The index of `co_filename` in `code_fields`.
    pub filename_field: usize,
    /// Opcode → shift of its argument, for the opcodes that name globals.
    pub global_ops: [Option<u8>; 256],
    pub extended_arg: u8,
    /// `sys.implementation.cache_tag`, which by-value code carries.
    pub python_tag: Py<PyString>,
}

static HELPERS: PyOnceLock<ByValueHelpers> = PyOnceLock::new();

impl ByValueHelpers {
    pub fn get(py: Python<'_>) -> PyResult<&ByValueHelpers> {
        HELPERS.get_or_try_init(py, || Self::load(py))
    }

    fn load(py: Python<'_>) -> PyResult<ByValueHelpers> {
        let module = py.import("oxpickle._byvalue")?;
        let reconstruct = py.import("oxpickle._reconstruct")?;
        let general_reducers = py.import("oxpickle._reducers")?;
        let get = |name: &str| -> PyResult<Py<PyAny>> { Ok(module.getattr(name)?.unbind()) };
        let mut reducers = AddressMap::default();
        for (class, reducer) in general_reducers.getattr("REDUCERS")?.cast::<PyDict>()?.iter() {
            // Types in the table are module-level classes that live as long
            // as the interpreter, so their address is a stable key.
            reducers.insert(class.as_ptr() as usize, reducer.unbind());
        }
        let mut builtin_type_names = HashMap::new();
        for (class, name) in module.getattr("BUILTIN_TYPE_NAMES")?.cast::<PyDict>()?.iter() {
            // Leaked once per process: a handful of short names that
            // `save_named_global` wants as &'static str.
            let name: &'static str = Box::leak(name.extract::<String>()?.into_boxed_str());
            builtin_type_names.insert(class.as_ptr() as usize, name);
        }
        let mut global_ops = [None; 256];
        for (opcode, shift) in module.getattr("GLOBAL_OPS")?.cast::<PyDict>()?.iter() {
            global_ops[opcode.extract::<u8>()? as usize] = Some(shift.extract::<u8>()?);
        }
        let code_fields = module.getattr("CODE_FIELDS")?;
        let code_fields = code_fields
            .cast::<PyTuple>()?
            .iter()
            .map(|field| Ok(field.cast_into::<PyString>()?.unbind()))
            .collect::<PyResult<Vec<Py<PyString>>>>()?;
        let filename_field = code_fields
            .iter()
            .position(|field| field.bind(py).to_str().is_ok_and(|name| name == "co_filename"))
            .ok_or_else(|| PyRuntimeError::new_err("_byvalue.CODE_FIELDS lacks co_filename"))?;
        Ok(ByValueHelpers {
            registered_modules: module.getattr("_by_value_modules")?.cast_into::<PySet>()?.unbind(),
            is_registered: get("is_registered")?,
            class_reduce: get("class_reduce")?,
            dynamic_module_reduce: get("dynamic_module_reduce")?,
            imported_submodules: get("imported_submodules")?,
            reducers,
            by_value_reducers: module.getattr("BY_VALUE_REDUCERS")?.cast_into::<PyDict>()?.unbind(),
            builtin_type_names,
            code_fields,
            filename_field,
            global_ops,
            extended_arg: module.getattr("EXTENDED_ARG")?.extract()?,
            python_tag: reconstruct.getattr("PYTHON_TAG")?.cast_into::<PyString>()?.unbind(),
        })
    }
}

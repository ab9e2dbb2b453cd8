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

/// A name the engine reads from the package's Python side: (module, attribute).
pub type PolicyName = (&'static str, &'static str);

const BYVALUE: &str = "oxpickle._byvalue";
const RECONSTRUCT: &str = "oxpickle._reconstruct";

const BY_VALUE_MODULES: PolicyName = (BYVALUE, "_by_value_modules");
const IS_REGISTERED: PolicyName = (BYVALUE, "is_registered");
const CLASS_REDUCE: PolicyName = (BYVALUE, "class_reduce");
const DYNAMIC_MODULE_REDUCE: PolicyName = (BYVALUE, "dynamic_module_reduce");
const IMPORTED_SUBMODULES: PolicyName = (BYVALUE, "imported_submodules");
const BY_VALUE_REDUCERS: PolicyName = (BYVALUE, "BY_VALUE_REDUCERS");
const BUILTIN_TYPE_NAMES: PolicyName = (BYVALUE, "BUILTIN_TYPE_NAMES");
const GLOBAL_OPS: PolicyName = (BYVALUE, "GLOBAL_OPS");
const EXTENDED_ARG: PolicyName = (BYVALUE, "EXTENDED_ARG");
const CODE_FIELDS: PolicyName = (BYVALUE, "CODE_FIELDS");
const REDUCERS: PolicyName = ("oxpickle._reducers", "REDUCERS");
const PYTHON_TAG: PolicyName = (RECONSTRUCT, "PYTHON_TAG");
/// Written into streams by name (`save_code`), so a pickle format as well.
pub const CHECK_PYTHON: PolicyName = (RECONSTRUCT, "check_python");
/// Written into streams by name (`fill_cell`): a class's own namespace dict.
pub const CLASS_NAMESPACE: PolicyName = (RECONSTRUCT, "class_namespace");

/// Every name the engine reads from the package's Python modules.
/// `_oxpickle._policy_names()` returns it and a test resolves each entry,
/// so a rename on the Python side fails the test suite, not a user's dump;
/// each lookup checks (in debug builds) that its name is listed here.
const POLICY_NAMES: &[PolicyName] = &[
    BY_VALUE_MODULES,
    IS_REGISTERED,
    CLASS_REDUCE,
    DYNAMIC_MODULE_REDUCE,
    IMPORTED_SUBMODULES,
    BY_VALUE_REDUCERS,
    BUILTIN_TYPE_NAMES,
    GLOBAL_OPS,
    EXTENDED_ARG,
    CODE_FIELDS,
    REDUCERS,
    PYTHON_TAG,
    CHECK_PYTHON,
    CLASS_NAMESPACE,
];

/// The object a policy name stands for.
fn lookup<'py>(py: Python<'py>, name: PolicyName) -> PyResult<Bound<'py, PyAny>> {
    debug_assert!(POLICY_NAMES.contains(&name), "{name:?} is missing from POLICY_NAMES");
    py.import(name.0)?.getattr(name.1)
}

/// `_oxpickle._policy_names()`: the (module, attribute) pairs the engine
/// reads from the package's Python modules.
#[pyfunction]
#[pyo3(name = "_policy_names")]
pub fn policy_names() -> Vec<PolicyName> {
    POLICY_NAMES.to_vec()
}

impl ByValueHelpers {
    pub fn get(py: Python<'_>) -> PyResult<&ByValueHelpers> {
        HELPERS.get_or_try_init(py, || Self::load(py))
    }

    fn load(py: Python<'_>) -> PyResult<ByValueHelpers> {
        let name = |policy: PolicyName| lookup(py, policy);
        let mut reducers = AddressMap::default();
        for (class, reducer) in name(REDUCERS)?.cast::<PyDict>()?.iter() {
            // Types in the table are module-level classes that live as long
            // as the interpreter, so their address is a stable key.
            reducers.insert(class.as_ptr() as usize, reducer.unbind());
        }
        let mut builtin_type_names = HashMap::new();
        for (class, type_name) in name(BUILTIN_TYPE_NAMES)?.cast::<PyDict>()?.iter() {
            // Leaked once per process: a handful of short names that
            // `save_named_global` wants as &'static str.
            let type_name: &'static str =
                Box::leak(type_name.extract::<String>()?.into_boxed_str());
            builtin_type_names.insert(class.as_ptr() as usize, type_name);
        }
        let mut global_ops = [None; 256];
        for (opcode, shift) in name(GLOBAL_OPS)?.cast::<PyDict>()?.iter() {
            global_ops[opcode.extract::<u8>()? as usize] = Some(shift.extract::<u8>()?);
        }
        let code_fields = name(CODE_FIELDS)?
            .cast::<PyTuple>()?
            .iter()
            .map(|field| Ok(field.cast_into::<PyString>()?.unbind()))
            .collect::<PyResult<Vec<Py<PyString>>>>()?;
        let filename_field = code_fields
            .iter()
            .position(|field| field.bind(py).to_str().is_ok_and(|name| name == "co_filename"))
            .ok_or_else(|| PyRuntimeError::new_err("_byvalue.CODE_FIELDS lacks co_filename"))?;
        Ok(ByValueHelpers {
            registered_modules: name(BY_VALUE_MODULES)?.cast_into::<PySet>()?.unbind(),
            is_registered: name(IS_REGISTERED)?.unbind(),
            class_reduce: name(CLASS_REDUCE)?.unbind(),
            dynamic_module_reduce: name(DYNAMIC_MODULE_REDUCE)?.unbind(),
            imported_submodules: name(IMPORTED_SUBMODULES)?.unbind(),
            reducers,
            by_value_reducers: name(BY_VALUE_REDUCERS)?.cast_into::<PyDict>()?.unbind(),
            builtin_type_names,
            code_fields,
            filename_field,
            global_ops,
            extended_arg: name(EXTENDED_ARG)?.extract()?,
            python_tag: name(PYTHON_TAG)?.cast_into::<PyString>()?.unbind(),
        })
    }
}

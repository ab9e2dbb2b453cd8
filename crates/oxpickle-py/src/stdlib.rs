//! The stdlib objects the codec consults, looked up once: copyreg's
//! dispatch table and extension registry, `_compat_pickle`'s name maps for
//! Python 2 pickles, and the callables CPython's pickler emits.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

pub struct Stdlib {
    /// `copyreg.dispatch_table`: reducers for types that lack their own.
    pub dispatch_table: Py<PyDict>,
    /// `copyreg._extension_registry`: (module, name) → EXT code.
    pub extension_registry: Py<PyDict>,
    /// `copyreg._inverted_registry`: EXT code → (module, name).
    pub inverted_registry: Py<PyDict>,
    /// `copyreg._extension_cache`: EXT code → object, shared with `pickle`.
    pub extension_cache: Py<PyDict>,
    /// `_compat_pickle` maps, Python 2 names to 3 and back.
    pub name_mapping_2to3: Py<PyDict>,
    pub import_mapping_2to3: Py<PyDict>,
    pub name_mapping_3to2: Py<PyDict>,
    pub import_mapping_3to2: Py<PyDict>,
    /// `codecs.encode`, how bytes travel in protocols 0–2.
    pub codecs_encode: Py<PyAny>,
    /// `functools.partial`, how NEWOBJ_EX degrades below protocol 4.
    pub partial: Py<PyAny>,
    /// `copyreg.__newobj__`, the callable of default instance reductions.
    pub newobj: Py<PyAny>,
    /// `builtins.getattr`, how nested names travel below protocol 4.
    pub getattr: Py<PyAny>,
    /// The `builtins` module, the `__builtins__` of by-value functions.
    pub builtins: Py<PyModule>,
    /// `pickle.PicklingError`, which failed dumps are reported as.
    pub pickling_error: Py<PyAny>,
    /// Whether ints store 30-bit digits in 32-bit words, the layout
    /// `ffi::int_value_from_object` reads (`sys.int_info`; a build may choose
    /// 15-bit digits).
    pub thirty_bit_digits: bool,
}

static STDLIB: PyOnceLock<Stdlib> = PyOnceLock::new();

impl Stdlib {
    /// The cached objects, looked up on first use (the module's init does
    /// that, so a failure shows as an ImportError).
    pub fn get(py: Python<'_>) -> PyResult<&Stdlib> {
        STDLIB.get_or_try_init(py, || Self::load(py))
    }

    fn load(py: Python<'_>) -> PyResult<Stdlib> {
        let copyreg = py.import("copyreg")?;
        let compat = py.import("_compat_pickle")?;
        let dict = |module: &Bound<'_, PyModule>, name: &str| -> PyResult<Py<PyDict>> {
            Ok(module.getattr(name)?.cast_into::<PyDict>()?.unbind())
        };
        Ok(Stdlib {
            dispatch_table: dict(&copyreg, "dispatch_table")?,
            extension_registry: dict(&copyreg, "_extension_registry")?,
            inverted_registry: dict(&copyreg, "_inverted_registry")?,
            extension_cache: dict(&copyreg, "_extension_cache")?,
            name_mapping_2to3: dict(&compat, "NAME_MAPPING")?,
            import_mapping_2to3: dict(&compat, "IMPORT_MAPPING")?,
            name_mapping_3to2: dict(&compat, "REVERSE_NAME_MAPPING")?,
            import_mapping_3to2: dict(&compat, "REVERSE_IMPORT_MAPPING")?,
            codecs_encode: py.import("codecs")?.getattr("encode")?.unbind(),
            partial: py.import("functools")?.getattr("partial")?.unbind(),
            newobj: copyreg.getattr("__newobj__")?.unbind(),
            getattr: py.import("builtins")?.getattr("getattr")?.unbind(),
            builtins: py.import("builtins")?.unbind(),
            pickling_error: py.import("pickle")?.getattr("PicklingError")?.unbind(),
            thirty_bit_digits: {
                let info = py.import("sys")?.getattr("int_info")?;
                info.getattr("bits_per_digit")?.extract::<u32>()? == 30
                    && info.getattr("sizeof_digit")?.extract::<u32>()? == 4
            },
        })
    }
}

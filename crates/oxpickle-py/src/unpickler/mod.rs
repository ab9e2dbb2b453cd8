//! `Unpickler`: the stdlib's Unpickler class, subclassable the same way.

mod containers;
mod find_class;
mod frequent;
mod guard;
mod limits;
mod machine;
mod memo;
mod names;
mod objects;
mod policy;
mod references;
mod scalars;
mod source;
mod strings;

use pyo3::exceptions::{PyAttributeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyIterator, PyString, PyTuple};

pub use limits::LoadLimits;
pub use machine::{LoadHooks, LoadMachine, LoadSettings};
use memo::UnpickleMemo;
pub use policy::LoadPolicy;
pub use source::{FileMethods, FileSource, MemorySource};

use crate::errors::unpickling_error;
use crate::ffi::lookup_attr;
use crate::stdlib::Stdlib;

/// The file methods an Unpickler keeps between loads.
struct InputFile {
    read: Py<PyAny>,
    readline: Py<PyAny>,
    readinto: Option<Py<PyAny>>,
    peek: Option<Py<PyAny>>,
}

impl InputFile {
    fn bind<'py>(&self, py: Python<'py>) -> FileMethods<'py> {
        FileMethods {
            read: self.read.bind(py).clone(),
            readline: self.readline.bind(py).clone(),
            readinto: self.readinto.as_ref().map(|r| r.bind(py).clone()),
            peek: self.peek.as_ref().map(|p| p.bind(py).clone()),
        }
    }
}

/// Looks up the methods `load` reads with.
pub fn file_methods<'py>(file: &Bound<'py, PyAny>) -> PyResult<FileMethods<'py>> {
    let py = file.py();
    let read = lookup_attr(file.as_any(), pyo3::intern!(py, "read"))?;
    let readline = lookup_attr(file.as_any(), pyo3::intern!(py, "readline"))?;
    let readinto = lookup_attr(file.as_any(), pyo3::intern!(py, "readinto"))?;
    let peek = lookup_attr(file.as_any(), pyo3::intern!(py, "peek"))?;
    match (read, readline) {
        (Some(read), Some(readline)) => Ok(FileMethods { read, readline, readinto, peek }),
        _ => Err(PyTypeError::new_err("file must have 'read' and 'readline' attributes")),
    }
}

/// `buffers=`: any iterable, or None.
pub fn buffers_iterator<'py>(
    buffers: Option<Bound<'py, PyAny>>,
) -> PyResult<Option<Bound<'py, PyIterator>>> {
    buffers.filter(|b| !b.is_none()).map(|b| b.try_iter()).transpose()
}

/// Unpickler(file, *, fix_imports=True, encoding="ASCII", errors="strict", buffers=None, allow=None, limits=None)
/// --
///
/// Reads pickles from a binary file, like pickle.Unpickler. With allow=,
/// only the globals it names resolve (see oxpickle.loads).
#[pyclass(subclass, module = "oxpickle", name = "Unpickler")]
pub struct Unpickler {
    file: Option<InputFile>,
    settings: Option<LoadSettings>,
    buffers: Option<Py<PyIterator>>,
    memo: UnpickleMemo,
    /// The protocol of the pickle being read, which `find_class` needs.
    pub(crate) proto: u8,
    persistent_load: Option<Py<PyAny>>,
}

#[pymethods]
impl Unpickler {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> Self {
        Unpickler {
            file: None,
            settings: None,
            buffers: None,
            memo: UnpickleMemo::default(),
            proto: 0,
            persistent_load: None,
        }
    }

    #[pyo3(signature = (file, *, fix_imports=true, encoding="ASCII", errors="strict", buffers=None, allow=None, limits=None))]
    #[allow(clippy::too_many_arguments)] // The stdlib's signature, plus ours.
    fn __init__(
        &mut self,
        file: &Bound<'_, PyAny>,
        fix_imports: bool,
        encoding: &str,
        errors: &str,
        buffers: Option<Bound<'_, PyAny>>,
        allow: Option<Bound<'_, PyAny>>,
        limits: Option<LoadLimits>,
    ) -> PyResult<()> {
        let methods = file_methods(file)?;
        let policy = LoadPolicy::new(allow.as_ref(), limits)?;
        self.settings = Some(LoadSettings::new(fix_imports, encoding, errors, policy)?);
        self.buffers = buffers_iterator(buffers)?.map(Bound::unbind);
        self.file = Some(InputFile {
            read: methods.read.unbind(),
            readline: methods.readline.unbind(),
            readinto: methods.readinto.map(Bound::unbind),
            peek: methods.peek.map(Bound::unbind),
        });
        self.memo.clear();
        self.proto = 0;
        Ok(())
    }

    /// Read a pickled object from the file and return it.
    fn load(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        // The memo leaves the object while the load runs, so Python code
        // called from the load (find_class, persistent_load) can use the
        // unpickler without a borrow clash.
        let (file, settings, buffers, mut memo) = {
            let mut this = slf.borrow_mut();
            let Some(file) = this.file.as_ref().map(|file| file.bind(py)) else {
                let class = slf.get_type().name()?;
                return Err(unpickling_error(
                    py,
                    format!("Unpickler.__init__() was not called by {class}.__init__()"),
                ));
            };
            let Some(settings) = this.settings.take() else {
                return Err(unpickling_error(py, "Unpickler.load() is already running"));
            };
            let buffers = this.buffers.as_ref().map(|b| b.bind(py).clone());
            (file, settings, buffers, std::mem::take(&mut this.memo))
        };
        let hooks = LoadHooks {
            find_class: overriding_find_class(slf)?,
            persistent_load: lookup_attr(slf.as_any(), pyo3::intern!(py, "persistent_load"))?,
            buffers,
            owner: Some(slf.clone()),
        };
        let result = LoadMachine::new(py, &mut memo, &settings, hooks)
            .and_then(|mut machine| machine.run(&mut FileSource::new(file)));
        let mut this = slf.borrow_mut();
        this.memo = memo;
        this.settings = Some(settings);
        result.map(Bound::unbind)
    }

    /// Return the object module.name refers to, importing the module.
    fn find_class<'py>(
        &self,
        py: Python<'py>,
        module_name: &Bound<'py, PyAny>,
        global_name: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let fix_imports = self.settings.as_ref().is_none_or(|s| s.fix_imports);
        find_class::find_class(module_name, global_name, self.proto, fix_imports, Stdlib::get(py)?)
    }

    #[getter]
    fn memo(slf: &Bound<'_, Self>) -> UnpicklerMemoProxy {
        UnpicklerMemoProxy { unpickler: slf.clone().unbind() }
    }

    #[setter]
    fn set_memo(&mut self, py: Python<'_>, value: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let Some(value) = value else {
            return Err(PyTypeError::new_err("attribute deletion is not supported"));
        };
        let mut memo = UnpickleMemo::default();
        if let Ok(proxy) = value.cast::<UnpicklerMemoProxy>() {
            let source = proxy.borrow().unpickler.clone_ref(py);
            for (index, obj) in source.borrow(py).memo.entries() {
                memo.put(index, obj.clone_ref(py));
            }
        } else if let Ok(dict) = value.cast::<PyDict>() {
            for (key, obj) in dict.iter() {
                let index: i64 =
                    key.extract().map_err(|_| PyTypeError::new_err("memo key must be integers"))?;
                let index = usize::try_from(index)
                    .map_err(|_| PyValueError::new_err("memo key must be positive integers."))?;
                memo.put(index, obj.unbind());
            }
        } else {
            return Err(PyTypeError::new_err(format!(
                "'memo' attribute must be an UnpicklerMemoProxy object or dict, not {}",
                value.get_type().name()?
            )));
        }
        self.memo = memo;
        Ok(())
    }

    /// persistent_load(pid): the object a persistent id stands for.
    #[getter]
    fn persistent_load(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.persistent_load
            .as_ref()
            .map(|f| f.clone_ref(py))
            .ok_or_else(|| PyAttributeError::new_err("persistent_load"))
    }

    #[setter]
    fn set_persistent_load(&mut self, function: Option<Py<PyAny>>) -> PyResult<()> {
        let Some(function) = function else {
            return Err(PyTypeError::new_err("attribute deletion is not supported"));
        };
        self.persistent_load = Some(function);
        Ok(())
    }
}

/// The `find_class` a load calls, bound: None when it is ours, which the
/// machine then runs directly. As with the C unpickler, a subclass's
/// method counts, and so does a function set on the instance
/// (`unpickler.find_class = f`), which the instance dict holds.
fn overriding_find_class<'py>(slf: &Bound<'py, Unpickler>) -> PyResult<Option<Bound<'py, PyAny>>> {
    let py = slf.py();
    let name = pyo3::intern!(py, "find_class");
    let ours = py.get_type::<Unpickler>().getattr(name)?;
    let theirs = slf.get_type().getattr(name)?;
    if theirs.is(&ours) && !instance_dict_has(slf.as_any(), name)? {
        return Ok(None);
    }
    slf.getattr(name).map(Some)
}

/// Whether `obj` has a `__dict__` (instances of Python subclasses do)
/// holding `name`.
fn instance_dict_has(obj: &Bound<'_, PyAny>, name: &Bound<'_, PyString>) -> PyResult<bool> {
    let Some(dict) = lookup_attr(obj, pyo3::intern!(obj.py(), "__dict__"))? else {
        return Ok(false);
    };
    match dict.cast::<PyDict>() {
        Ok(dict) => dict.contains(name),
        Err(_) => Ok(false),
    }
}

/// A view of an Unpickler's memo, as `_pickle.UnpicklerMemoProxy`.
#[pyclass(module = "oxpickle", name = "UnpicklerMemoProxy")]
pub struct UnpicklerMemoProxy {
    unpickler: Py<Unpickler>,
}

#[pymethods]
impl UnpicklerMemoProxy {
    /// A dict copy of the memo: index → object.
    fn copy<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let copy = PyDict::new(py);
        for (index, obj) in self.unpickler.borrow(py).memo.entries() {
            copy.set_item(index, obj)?;
        }
        Ok(copy)
    }

    /// Empties the unpickler's memo.
    fn clear(&self, py: Python<'_>) {
        self.unpickler.borrow_mut(py).memo.clear();
    }

    fn __len__(&self, py: Python<'_>) -> usize {
        self.unpickler.borrow(py).memo.len()
    }

    fn __reduce__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyDict>,))> {
        Ok((py.get_type::<PyDict>().into_any(), (self.copy(py)?,)))
    }
}

/// Loads one pickle from bytes in memory.
pub fn load_from_memory<'py>(
    py: Python<'py>,
    data: &[u8],
    settings: &LoadSettings,
    hooks: LoadHooks<'py>,
) -> PyResult<Bound<'py, PyAny>> {
    let mut memo = UnpickleMemo::default();
    let mut machine = LoadMachine::new(py, &mut memo, settings, hooks)?;
    machine.run(&mut MemorySource::new(py, data))
}

/// Loads one pickle from a file, leaving the file just past it.
pub fn load_from_file<'py>(
    py: Python<'py>,
    file: &Bound<'py, PyAny>,
    settings: &LoadSettings,
    hooks: LoadHooks<'py>,
) -> PyResult<Bound<'py, PyAny>> {
    let mut memo = UnpickleMemo::default();
    let mut machine = LoadMachine::new(py, &mut memo, settings, hooks)?;
    machine.run(&mut FileSource::new(file_methods(file)?))
}

//! `Pickler`: the stdlib's Pickler class, subclassable the same way.
//!
//! Python subclasses override `persistent_id`, `reducer_override` and
//! `dispatch_table` as they do with `_pickle.Pickler`. The hooks are looked
//! up per dump: nothing keeps a bound method of the pickler (no reference
//! cycle), and a `dispatch_table` set on the instance after `__init__` wins
//! over a class attribute (loky relies on that).

mod address;
mod arrays;
mod buffers;
mod bytes_buffer;
mod byvalue;
mod containers;
mod deterministic;
mod dumper;
mod global;
mod memo;
mod output;
mod path;
mod plain;
mod reduce;
mod scalars;
mod stack;
mod strings;

use pyo3::exceptions::{PyAttributeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple};

pub use byvalue::policy_names;
pub use dumper::{Dumper, Hooks, Settings};
use memo::PickleMemo;
pub use output::Output;

use crate::errors::pickling_error;
use crate::ffi::lookup_attr;

pub const HIGHEST_PROTOCOL: u8 = oxpickle_core::op::HIGHEST_PROTOCOL;
pub const DEFAULT_PROTOCOL: u8 = 5;

/// Resolves the `protocol` argument: None → default, negative → highest.
pub fn resolve_protocol(protocol: Option<&Bound<'_, PyAny>>) -> PyResult<u8> {
    let Some(protocol) = protocol.filter(|p| !p.is_none()) else {
        return Ok(DEFAULT_PROTOCOL);
    };
    let value: i64 = protocol.extract()?;
    if value < 0 {
        return Ok(HIGHEST_PROTOCOL);
    }
    u8::try_from(value).ok().filter(|p| *p <= HIGHEST_PROTOCOL).ok_or_else(|| {
        PyValueError::new_err(format!("pickle protocol must be <= {HIGHEST_PROTOCOL}"))
    })
}

/// The `write` method pickles go to.
pub fn file_write<'py>(file: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    lookup_attr(file, pyo3::intern!(file.py(), "write"))?
        .ok_or_else(|| PyTypeError::new_err("file must have a 'write' attribute"))
}

/// Checks `buffer_callback` against the protocol.
pub fn resolve_buffer_callback<'py>(
    callback: Option<Bound<'py, PyAny>>,
    protocol: u8,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let callback = callback.filter(|c| !c.is_none());
    if callback.is_some() && protocol < 5 {
        return Err(PyValueError::new_err("buffer_callback needs protocol >= 5"));
    }
    Ok(callback)
}

/// What `Pickler.__init__` set up.
struct Target {
    write: Py<PyAny>,
    protocol: u8,
    fix_imports: bool,
    buffer_callback: Option<Py<PyAny>>,
    deterministic: bool,
}

/// Pickler(file, protocol=None, fix_imports=True, buffer_callback=None)
/// --
///
/// Writes pickles of objects to a binary file, like pickle.Pickler.
#[pyclass(subclass, module = "oxpickle", name = "Pickler")]
pub struct Pickler {
    target: Option<Target>,
    memo: PickleMemo,
    /// Binary opcodes; set from the protocol, writable as in CPython.
    #[pyo3(get, set)]
    bin: i32,
    /// Fast mode: no memo (smaller, faster output; recursive objects refused).
    #[pyo3(get, set)]
    fast: i32,
    dispatch_table: Option<Py<PyAny>>,
    persistent_id: Option<Py<PyAny>>,
}

#[pymethods]
impl Pickler {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> Self {
        Pickler {
            target: None,
            memo: PickleMemo::default(),
            bin: 0,
            fast: 0,
            dispatch_table: None,
            persistent_id: None,
        }
    }

    #[pyo3(signature = (file, protocol=None, fix_imports=true, buffer_callback=None, *, deterministic=false))]
    fn __init__(
        slf: &Bound<'_, Self>,
        file: &Bound<'_, PyAny>,
        protocol: Option<&Bound<'_, PyAny>>,
        fix_imports: bool,
        buffer_callback: Option<Bound<'_, PyAny>>,
        deterministic: bool,
    ) -> PyResult<()> {
        let protocol = resolve_protocol(protocol)?;
        let write = file_write(file)?;
        let buffer_callback = resolve_buffer_callback(buffer_callback, protocol)?;
        let mut this = slf.borrow_mut();
        this.target = Some(Target {
            write: write.unbind(),
            protocol,
            fix_imports,
            buffer_callback: buffer_callback.map(Bound::unbind),
            deterministic,
        });
        this.memo.clear();
        this.bin = i32::from(protocol > 0);
        this.fast = 0;
        Ok(())
    }

    /// Write a pickled representation of obj to the open file.
    fn dump(slf: &Bound<'_, Self>, obj: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = slf.py();
        let (write, settings, buffer_callback) = {
            let this = slf.borrow();
            let Some(target) = &this.target else {
                let class = slf.get_type().name()?;
                return Err(pickling_error(
                    py,
                    format!("Pickler.__init__() was not called by {class}.__init__()"),
                ));
            };
            let settings = Settings {
                protocol: target.protocol,
                bin: this.bin != 0,
                fix_imports: target.fix_imports,
                fast: this.fast != 0,
                deterministic: target.deterministic,
                one_shot: false,
            };
            let callback = target.buffer_callback.as_ref().map(|c| c.bind(py).clone());
            (target.write.bind(py).clone(), settings, callback)
        };
        // Hooks are looked up on every dump, so whatever `self.persistent_id`
        // or `self.dispatch_table` says now is what applies: an instance
        // attribute, a class attribute of a subclass, or the stored value.
        let hooks = Hooks {
            persistent_id: lookup_attr(slf.as_any(), pyo3::intern!(py, "persistent_id"))?,
            reducer_override: lookup_attr(slf.as_any(), pyo3::intern!(py, "reducer_override"))?,
            dispatch_table: lookup_attr(slf.as_any(), pyo3::intern!(py, "dispatch_table"))?,
            buffer_callback,
        };
        // The memo leaves the object while the dump runs, so Python code
        // called from the dump can use the pickler without a borrow clash.
        let mut memo = std::mem::take(&mut slf.borrow_mut().memo);
        let result = Output::new(py, Some(write))
            .and_then(|out| Dumper::new(py, out, &mut memo, settings, hooks))
            .and_then(|mut dumper| {
                dumper.dump(obj)?;
                dumper.out.flush()
            });
        slf.borrow_mut().memo = memo;
        result
    }

    /// Clears the pickler's memo: objects pickled before are written again
    /// in full instead of as back-references.
    fn clear_memo(&mut self) {
        self.memo.clear();
    }

    #[getter]
    fn memo(slf: &Bound<'_, Self>) -> PicklerMemoProxy {
        PicklerMemoProxy { pickler: slf.clone().unbind() }
    }

    #[setter]
    fn set_memo(&mut self, py: Python<'_>, value: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let Some(value) = value else {
            return Err(PyTypeError::new_err("attribute deletion is not supported"));
        };
        let mut memo = PickleMemo::default();
        if let Ok(proxy) = value.cast::<PicklerMemoProxy>() {
            let source = proxy.borrow().pickler.clone_ref(py);
            let copied = source.borrow(py).memo_entries(py);
            for (object, index) in copied {
                memo.insert_at(object.bind(py), index);
            }
        } else if let Ok(dict) = value.cast::<PyDict>() {
            for (_, entry) in dict.iter() {
                let pair =
                    entry.cast::<PyTuple>().ok().filter(|t| t.len() == 2).ok_or_else(|| {
                        PyTypeError::new_err("'memo' values must be 2-item tuples")
                    })?;
                let index: usize = pair.get_item(0)?.extract()?;
                memo.insert_at(&pair.get_item(1)?, index);
            }
        } else {
            return Err(PyTypeError::new_err(format!(
                "'memo' attribute must be a PicklerMemoProxy object or dict, not {}",
                value.get_type().name()?
            )));
        }
        self.memo = memo;
        Ok(())
    }

    /// The table of reducers by type that overrides copyreg's, if set.
    #[getter]
    fn dispatch_table(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.dispatch_table
            .as_ref()
            .map(|table| table.clone_ref(py))
            .ok_or_else(|| PyAttributeError::new_err("dispatch_table"))
    }

    #[setter]
    fn set_dispatch_table(&mut self, table: Option<Py<PyAny>>) {
        self.dispatch_table = table;
    }

    /// persistent_id(obj): an id for obj to be stored instead of obj, or None.
    #[getter]
    fn persistent_id(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.persistent_id
            .as_ref()
            .map(|f| f.clone_ref(py))
            .ok_or_else(|| PyAttributeError::new_err("persistent_id"))
    }

    #[setter]
    fn set_persistent_id(&mut self, function: Option<Py<PyAny>>) -> PyResult<()> {
        let Some(function) = function else {
            return Err(PyTypeError::new_err("attribute deletion is not supported"));
        };
        self.persistent_id = Some(function);
        Ok(())
    }
}

impl Pickler {
    fn memo_entries(&self, py: Python<'_>) -> Vec<(Py<PyAny>, usize)> {
        self.memo.slots().map(|slot| (slot.object.clone_ref(py), slot.index)).collect()
    }
}

/// A view of a Pickler's memo, as `_pickle.PicklerMemoProxy`.
#[pyclass(module = "oxpickle", name = "PicklerMemoProxy")]
pub struct PicklerMemoProxy {
    pickler: Py<Pickler>,
}

#[pymethods]
impl PicklerMemoProxy {
    /// A dict copy of the memo: id(obj) → (index, obj).
    fn copy<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let copy = PyDict::new(py);
        for (object, index) in self.pickler.borrow(py).memo_entries(py) {
            let id = object.as_ptr() as usize;
            copy.set_item(id, (index, object))?;
        }
        Ok(copy)
    }

    /// Empties the pickler's memo.
    fn clear(&self, py: Python<'_>) {
        self.pickler.borrow_mut(py).memo.clear();
    }

    fn __len__(&self, py: Python<'_>) -> usize {
        self.pickler.borrow(py).memo.len()
    }

    fn __reduce__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyDict>,))> {
        Ok((py.get_type::<PyDict>().into_any(), (self.copy(py)?,)))
    }
}

/// `dumps`: the whole pickle as bytes.
pub fn dumps<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    settings: Settings,
    hooks: Hooks<'py>,
) -> PyResult<Bound<'py, PyBytes>> {
    let mut memo = PickleMemo::reused();
    let dumped = Output::new(py, None)
        .and_then(|out| Dumper::new(py, out, &mut memo, settings, hooks))
        .and_then(|mut dumper| {
            dumper.dump(obj)?;
            let Dumper { out, .. } = dumper;
            out.into_bytes()
        });
    memo.recycle();
    dumped
}

/// `dump`: the whole pickle written to `write`.
pub fn dump_to<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    write: Bound<'py, PyAny>,
    settings: Settings,
    hooks: Hooks<'py>,
) -> PyResult<()> {
    let mut memo = PickleMemo::reused();
    let dumped = Output::new(py, Some(write))
        .and_then(|out| Dumper::new(py, out, &mut memo, settings, hooks))
        .and_then(|mut dumper| {
            dumper.dump(obj)?;
            dumper.out.flush()
        });
    memo.recycle();
    dumped
}

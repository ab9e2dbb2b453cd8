//! NumPy arrays written as `ndarray.__reduce_ex__(5)` would give them,
//! without the call.
//!
//! From protocol 5, NumPy reduces a C-contiguous array of a dtype without
//! Python objects to `(_frombuffer, (PickleBuffer(a), a.dtype, a.shape,
//! 'C'))`. Most of that call goes to importing two modules by name, which
//! for the small arrays of a task graph or a DataFrame costs more than
//! writing them. The first exact `numpy.ndarray` the process reduces goes
//! through `__reduce_ex__`; when the result has that shape, later arrays
//! that meet NumPy's own conditions for it are written from the same
//! parts, found directly: the same bytes, and the same PickleBuffer for
//! `buffer_callback`. NumPy's types are immutable and `copyreg`, the
//! dispatch table and `reducer_override` are still asked first, so what
//! one reduction showed holds for the life of the process.

use std::ffi::CStr;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyString, PyTuple, PyType};

use super::dumper::{Dumper, ItemsFrom};
use super::reduce::ReduceParts;
use crate::ffi::{exact_type, lookup_attr, new_pickle_buffer, pickle_buffer_view, Exact};

/// How exact `numpy.ndarray`s reduce through their buffer: `frombuffer`,
/// with NumPy's own `'C'` object as the order.
struct BufferReduction {
    class: Py<PyType>,
    frombuffer: Py<PyAny>,
    order: Py<PyAny>,
}

static BUFFER_REDUCTION: PyOnceLock<BufferReduction> = PyOnceLock::new();

impl<'py> Dumper<'py, '_> {
    /// The reduce parts of an array NumPy would reduce through its buffer,
    /// once a first array showed how; None to ask NumPy.
    pub(super) fn known_array_reduction(
        &mut self,
        obj: &Bound<'py, PyAny>,
    ) -> PyResult<Option<ReduceParts<'py>>> {
        let py = self.py;
        let Some(known) = BUFFER_REDUCTION.get(py).filter(|_| self.proto >= 5) else {
            return Ok(None);
        };
        if obj.get_type_ptr() != known.class.as_ptr().cast() {
            return Ok(None);
        }
        let dtype = obj.getattr(pyo3::intern!(py, "dtype"))?;
        if !self.is_buffer_dtype(&dtype)? {
            return Ok(None);
        }
        // Some dtypes (datetimes) export no buffer: NumPy falls back to
        // another reduction for them, which asking it gives.
        let Ok(buffer) = new_pickle_buffer(obj) else {
            return Ok(None);
        };
        let view = pickle_buffer_view(&buffer)?;
        // SAFETY: `view` is the live buffer of `buffer`; this only reads its shape.
        let c_contiguous =
            unsafe { ffi::PyBuffer_IsContiguous(view, b'C' as std::os::raw::c_char) } != 0;
        if !c_contiguous || !view.suboffsets.is_null() {
            return Ok(None);
        }
        let shape = obj.getattr(pyo3::intern!(py, "shape"))?;
        Ok(Some(ReduceParts {
            callable: known.frombuffer.bind(py).clone(),
            args: PyTuple::new(py, [buffer, dtype, shape, known.order.bind(py).clone()])?,
            state: None,
            list_items: None,
            dict_items: None,
            state_setter: None,
            // A new tuple of a new PickleBuffer, the dtype, a new shape
            // tuple and NumPy's 'C': the new ones need no memo entries. The
            // tuple has one reference, where `WalkedOnce` allows two; no hook
            // of a one-shot dumps can see it to take the other.
            args_from: ItemsFrom::WalkedOnce,
        }))
    }

    /// Whether arrays of `dtype` may go through their buffer: it holds no
    /// Python objects and its items have a size. The arrays of one dump
    /// mostly share a dtype (the builtin ones are singletons), so the last
    /// that passed is kept, alive, and recognised by identity.
    fn is_buffer_dtype(&mut self, dtype: &Bound<'py, PyAny>) -> PyResult<bool> {
        let py = self.py;
        if self.buffer_dtype.as_ref().is_some_and(|known| known.is(dtype)) {
            return Ok(true);
        }
        let passes = !dtype.getattr(pyo3::intern!(py, "hasobject"))?.is_truthy()?
            && dtype.getattr(pyo3::intern!(py, "itemsize"))?.extract::<usize>()? != 0;
        if passes {
            self.buffer_dtype = Some(dtype.clone().unbind());
        }
        Ok(passes)
    }

    /// After `obj.__reduce_ex__(proto)` returned `reduced`: learns how
    /// arrays reduce, if this is the first exact `numpy.ndarray` to show it.
    pub(super) fn learn_array_reduction(
        &self,
        obj: &Bound<'py, PyAny>,
        reduced: &Bound<'py, PyAny>,
    ) -> PyResult<()> {
        let py = self.py;
        if self.proto < 5 || BUFFER_REDUCTION.get(py).is_some() || !is_numpy_ndarray(obj) {
            return Ok(());
        }
        if let Some((frombuffer, order)) = buffer_reduction(obj, reduced)? {
            let class = obj.get_type().unbind();
            let learned =
                BufferReduction { class, frombuffer: frombuffer.unbind(), order: order.unbind() };
            // Another thread may have learned the same first.
            let _ = BUFFER_REDUCTION.set(py, learned);
        }
        Ok(())
    }
}

/// The reconstructor and the order when `reduced` is `(_frombuffer,
/// (PickleBuffer, obj.dtype, obj.shape, 'C'))`.
fn buffer_reduction<'py>(
    obj: &Bound<'py, PyAny>,
    reduced: &Bound<'py, PyAny>,
) -> PyResult<Option<(Bound<'py, PyAny>, Bound<'py, PyAny>)>> {
    let py = obj.py();
    let Ok(reduced) = reduced.cast::<PyTuple>() else {
        return Ok(None);
    };
    if reduced.len() != 2 {
        return Ok(None);
    }
    let (frombuffer, args) = (reduced.get_item(0)?, reduced.get_item(1)?);
    let named_frombuffer = lookup_attr(&frombuffer, pyo3::intern!(py, "__name__"))?
        .is_some_and(|name| name.cast::<PyString>().is_ok_and(|name| name == "_frombuffer"));
    let Ok(args) = args.cast::<PyTuple>() else {
        return Ok(None);
    };
    if !named_frombuffer || args.len() != 4 {
        return Ok(None);
    }
    let order = args.get_item(3)?;
    let expected = exact_type(&args.get_item(0)?) == Exact::PickleBuffer
        && args.get_item(1)?.is(&obj.getattr(pyo3::intern!(py, "dtype"))?)
        && args.get_item(2)?.eq(obj.getattr(pyo3::intern!(py, "shape"))?)?
        && order.eq("C")?;
    Ok(expected.then_some((frombuffer, order)))
}

/// Whether `obj` is exactly a `numpy.ndarray` (not a subclass, which
/// NumPy reduces another way, nor a class written in Python that only
/// bears the name).
fn is_numpy_ndarray(obj: &Bound<'_, PyAny>) -> bool {
    let class = obj.get_type_ptr();
    // SAFETY: a live type object's flags and tp_name, a NUL-terminated C
    // string, are only read.
    unsafe {
        (*class).tp_flags & ffi::Py_TPFLAGS_HEAPTYPE == 0
            && CStr::from_ptr((*class).tp_name) == c"numpy.ndarray"
    }
}

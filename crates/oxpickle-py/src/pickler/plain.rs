//! Instances reduced by `object.__reduce_ex__`'s default, written without
//! asking for it.
//!
//! From protocol 2 the default reduction of an instance of an ordinary
//! class is `(copyreg.__newobj__, (cls,), state, None, None)`, where only
//! `state` (what `__getstate__` returns) depends on the instance. The first
//! instance of each class in a dump goes through `__reduce_ex__` as usual;
//! when the class leaves the default alone and the result has that shape,
//! later instances skip the call and its tuples and are written from
//! `__getstate__` alone: the same bytes, without the bound method, the
//! reduce tuple and the checks CPython repeats per instance.
//!
//! Instances of slotted classes without a `__dict__` (dataclasses with
//! `slots=True`) that keep `object.__getstate__` skip that call too: its
//! state, `(None, {slot: value})`, is built from the slots directly,
//! without the method call and CPython's per-instance lookups.

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple, PyType};

use super::address::AddressMap;
use super::dumper::{address, Dumper, ItemsFrom};
use super::reduce::{NewObj, ReduceParts};
use crate::ffi::{is_member_descriptor, lookup_attr, owned};

/// Classes seen in one dump: whether their instances take the fast path.
/// The classes are held, so an address cannot be reused by another class
/// while the dump runs.
#[derive(Default)]
pub struct PlainTypes {
    known: AddressMap<(Py<PyType>, PlainType)>,
}

enum PlainType {
    /// Reduced by the default; `has_dict` tells whether an instance may
    /// shadow `__reduce_ex__` in its own `__dict__`; `slot_names` is the
    /// class's `__slotnames__` when the state can be read from the slots.
    Yes {
        has_dict: bool,
        slot_names: Option<Py<PyList>>,
    },
    No,
}

impl<'py> Dumper<'py, '_> {
    /// Whether `obj` is an instance of a class already seen reducing the
    /// default way, and does not override `__reduce_ex__` itself.
    pub(super) fn is_plain_instance(&self, obj: &Bound<'py, PyAny>) -> PyResult<bool> {
        let class = obj.get_type();
        match self.plain_types.known.get(&(class.as_ptr() as usize)) {
            Some((_, PlainType::Yes { has_dict, .. })) => {
                Ok(!(*has_dict && shadows_reduce_ex(obj)?))
            }
            _ => Ok(false),
        }
    }

    /// After `obj.__reduce_ex__(proto)` returned `reduced`: records whether
    /// its class's instances can skip the call from now on.
    pub(super) fn learn_plain_type(
        &mut self,
        obj: &Bound<'py, PyAny>,
        reduced: &Bound<'py, PyAny>,
    ) -> PyResult<()> {
        let class = obj.get_type();
        let key = class.as_ptr() as usize;
        if self.proto < 2 || self.plain_types.known.contains_key(&key) {
            return Ok(());
        }
        let verdict = if self.default_reduction(&class, reduced)? {
            // SAFETY: `class` is a live type object.
            let has_dict =
                unsafe { (*class.as_ptr().cast::<ffi::PyTypeObject>()).tp_dictoffset } != 0;
            let slot_names = if has_dict { None } else { self.default_slot_state(&class)? };
            PlainType::Yes { has_dict, slot_names }
        } else {
            PlainType::No
        };
        self.plain_types.known.insert(key, (class.unbind(), verdict));
        Ok(())
    }

    /// Whether `class` keeps `object`'s reduction machinery and `reduced`
    /// is what that machinery gives: `(copyreg.__newobj__, (class,), state,
    /// None, None)`.
    fn default_reduction(
        &self,
        class: &Bound<'py, PyType>,
        reduced: &Bound<'py, PyAny>,
    ) -> PyResult<bool> {
        let py = self.py;
        // SAFETY: `class` is a live type object; only a slot is read.
        let getattro = unsafe { (*class.as_ptr().cast::<ffi::PyTypeObject>()).tp_getattro };
        let generic = ffi::PyObject_GenericGetAttr as ffi::getattrofunc;
        if !getattro.is_some_and(|getattro| std::ptr::fn_addr_eq(getattro, generic)) {
            // A __getattribute__ or __getattr__ may hand out another
            // __reduce_ex__ or __getstate__ per instance.
            return Ok(false);
        }
        let object = py.get_type::<pyo3::types::PyAny>();
        // Interned names: type attribute lookups hit CPython's method cache.
        let must_be_objects = [
            pyo3::intern!(py, "__reduce_ex__"),
            pyo3::intern!(py, "__reduce__"),
            pyo3::intern!(py, "__class__"),
        ];
        for name in must_be_objects {
            if !class.getattr(name)?.is(&object.getattr(name)?) {
                return Ok(false);
            }
        }
        for name in [pyo3::intern!(py, "__getnewargs_ex__"), pyo3::intern!(py, "__getnewargs__")] {
            if lookup_attr(class.as_any(), name)?.is_some() {
                return Ok(false);
            }
        }
        let Ok(reduced) = reduced.cast::<PyTuple>() else {
            return Ok(false);
        };
        if reduced.len() != 5
            || !reduced.get_item(0)?.is(self.stdlib.newobj.bind(py))
            || !reduced.get_item(3)?.is_none()
            || !reduced.get_item(4)?.is_none()
        {
            return Ok(false);
        }
        let args = reduced.get_item(1)?;
        Ok(args.cast::<PyTuple>().is_ok_and(|args| {
            args.len() == 1 && args.get_item(0).is_ok_and(|first| first.is(class))
        }))
    }

    /// For a class without `__dict__`: its `__slotnames__` (which the
    /// first reduction cached on it) when `object.__getstate__` makes the
    /// state and each name is a slot of the class's own. A property or a
    /// class attribute under a slot's name may return an object held
    /// anywhere, which `ItemsFrom::OwnState` must not count as unshared.
    fn default_slot_state(&self, class: &Bound<'py, PyType>) -> PyResult<Option<Py<PyList>>> {
        let py = self.py;
        let getstate = pyo3::intern!(py, "__getstate__");
        let object = py.get_type::<pyo3::types::PyAny>();
        let Some(default) = lookup_attr(object.as_any(), getstate)? else {
            return Ok(None);
        };
        if !class.getattr(getstate)?.is(&default) {
            return Ok(None);
        }
        let own = class.getattr(pyo3::intern!(py, "__dict__"))?;
        let Some(names) = own
            .get_item(pyo3::intern!(py, "__slotnames__"))
            .ok()
            .and_then(|names| names.cast_into_exact::<PyList>().ok())
        else {
            return Ok(None);
        };
        for name in names.iter() {
            let Ok(name) = name.cast_into::<PyString>() else {
                return Ok(None);
            };
            if !lookup_attr(class.as_any(), &name)?.is_some_and(|slot| is_member_descriptor(&slot))
            {
                return Ok(None);
            }
        }
        Ok(Some(names.unbind()))
    }

    /// Writes `obj` as its default reduction would: NEWOBJ of its class,
    /// then BUILD with what `__getstate__` returns (unless None).
    pub(super) fn save_plain_instance(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<()> {
        let py = self.py;
        let slot_names = match self.plain_types.known.get(&(obj.get_type_ptr() as usize)) {
            Some((_, PlainType::Yes { slot_names: Some(names), .. })) => Some(names.clone_ref(py)),
            _ => None,
        };
        let (state, own_state) = match slot_names {
            Some(names) => default_slot_state(obj, names.bind(py))?,
            None => {
                let name = pyo3::intern!(py, "__getstate__");
                // SAFETY: a live object and an interned str; a new reference
                // or null with an exception set comes back.
                let state = unsafe { ffi::PyObject_CallMethodNoArgs(obj.as_ptr(), name.as_ptr()) };
                (owned(py, state)?, 0)
            }
        };
        let parts = self.plain_parts(obj, (!state.is_none()).then_some(state))?;
        let outer = std::mem::replace(&mut self.own_state, own_state);
        let written = self.write_reduction(parts, NewObj::Plain, Some(obj), None);
        self.own_state = outer;
        written
    }

    /// `(copyreg.__newobj__, (cls,), state)`. The class's `__class__` is
    /// object's, so `obj.__class__` is its type: NEWOBJ needs no check.
    fn plain_parts(
        &self,
        obj: &Bound<'py, PyAny>,
        state: Option<Bound<'py, PyAny>>,
    ) -> PyResult<ReduceParts<'py>> {
        Ok(ReduceParts {
            callable: self.stdlib.newobj.bind(self.py).clone(),
            args: PyTuple::new(self.py, [obj.get_type()])?,
            state,
            list_items: None,
            dict_items: None,
            state_setter: None,
            args_from: ItemsFrom::Revisitable,
        })
    }
}

/// What `object.__getstate__` returns for an instance without `__dict__`:
/// `(None, {name: value})` over the slots that are set, or None when none
/// is; with the address of the dict, which holds a reference of its own to
/// each value (see `ItemsFrom::OwnState`), or 0.
fn default_slot_state<'py>(
    obj: &Bound<'py, PyAny>,
    names: &Bound<'py, PyList>,
) -> PyResult<(Bound<'py, PyAny>, usize)> {
    let py = obj.py();
    let slots = PyDict::new(py);
    for name in names.iter() {
        if let Some(value) = lookup_attr(obj, name.cast::<PyString>()?)? {
            slots.set_item(name, value)?;
        }
    }
    if slots.is_empty() {
        return Ok((py.None().into_bound(py), 0));
    }
    let own_state = address(slots.as_any());
    Ok((PyTuple::new(py, [py.None().into_bound(py), slots.into_any()])?.into_any(), own_state))
}

/// Whether `obj`'s own `__dict__` holds a `__reduce_ex__`, which pickle
/// would call instead of the class's.
fn shadows_reduce_ex(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    let py = obj.py();
    // SAFETY: the class has a __dict__ slot; this returns it (made if it
    // did not exist yet, as __getstate__ would) or null with an error.
    let dict =
        owned(py, unsafe { ffi::PyObject_GenericGetDict(obj.as_ptr(), std::ptr::null_mut()) })?;
    match dict.cast::<PyDict>() {
        Ok(dict) => dict.contains(pyo3::intern!(py, "__reduce_ex__")),
        Err(_) => Ok(true),
    }
}

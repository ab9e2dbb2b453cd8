//! Building instances: INST, OBJ, NEWOBJ, NEWOBJ_EX, REDUCE and BUILD.

use oxpickle_core::Arg;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};

use super::guard::Call;
use super::machine::LoadMachine;
use crate::ffi::is_class;

impl<'py> LoadMachine<'py, '_> {
    /// INST: `MARK args… INST module\nname\n`.
    pub(super) fn load_inst(&mut self, arg: Arg<'_>) -> PyResult<()> {
        let Arg::Pair(module, name) = arg else {
            return Err(self.fail("bad argument"));
        };
        let mark = self.pop_mark()?;
        let class = {
            let (module, name) = (self.name_line(module, true)?, self.name_line(name, true)?);
            self.find_class(&module, &name)?
        };
        let args = self.take_tuple(mark)?;
        let obj = self.checked_call(Call::Instantiate { class: &class, args: &args })?;
        self.push(obj);
        Ok(())
    }

    /// OBJ: `MARK class args… OBJ`.
    pub(super) fn load_obj(&mut self) -> PyResult<()> {
        let mark = self.pop_mark()?;
        if self.stack.len() < mark + 1 {
            return Err(self.underflow());
        }
        let args = self.take_tuple(mark + 1)?;
        let class = self.pop()?;
        let obj = self.checked_call(Call::Instantiate { class: &class, args: &args })?;
        self.push(obj);
        Ok(())
    }

    /// NEWOBJ / NEWOBJ_EX: `cls.__new__(cls, *args[, **kwargs])`, called
    /// through the type's slot as CPython does.
    pub(super) fn load_newobj(&mut self, with_kwargs: bool) -> PyResult<()> {
        let opname = if with_kwargs { "NEWOBJ_EX" } else { "NEWOBJ" };
        let kwargs = if with_kwargs { Some(self.pop()?) } else { None };
        let args = self.pop()?;
        let class = self.pop()?;
        if !is_class(&class) {
            return Err(self.fail(&format!(
                "{opname} class argument must be a type, not {}",
                class.get_type().name()?
            )));
        }
        let class_ptr = class.as_ptr().cast::<ffi::PyTypeObject>();
        // SAFETY: `class` is a type object, so reading its tp_new slot is valid.
        let Some(tp_new) = (unsafe { (*class_ptr).tp_new }) else {
            return Err(self.fail(&format!(
                "{opname} class argument '{}' doesn't have __new__",
                class.cast::<pyo3::types::PyType>()?.name()?
            )));
        };
        if !args.is_instance_of::<PyTuple>() {
            return Err(self.fail(&format!(
                "{opname} args argument must be a tuple, not {}",
                args.get_type().name()?
            )));
        }
        if let Some(kwargs) = &kwargs {
            if !kwargs.is_instance_of::<PyDict>() {
                return Err(self.fail(&format!(
                    "{opname} kwargs argument must be a dict, not {}",
                    kwargs.get_type().name()?
                )));
            }
        }
        let call = Call::New { class: &class, tp_new, args: &args, kwargs: kwargs.as_ref() };
        let obj = self.checked_call(call)?;
        self.push(obj);
        Ok(())
    }

    /// REDUCE: `callable(*args)`.
    pub(super) fn load_reduce(&mut self) -> PyResult<()> {
        let args = self.pop()?;
        let callable = self.pop()?;
        let obj = self.checked_call(Call::Reduce { callable: &callable, args: &args })?;
        self.push(obj);
        Ok(())
    }

    /// BUILD: `obj.__setstate__(state)`, or else the state dict into
    /// `obj.__dict__` and a slot-state dict onto attributes.
    pub(super) fn load_build(&mut self) -> PyResult<()> {
        let py = self.py;
        if self.stack.len() < self.fence() + 2 {
            return Err(self.underflow());
        }
        let state = self.pop()?;
        let obj = self.top()?.clone();
        self.check_build_target(&obj)?;
        if let Some(setstate) = self.method(&obj, pyo3::intern!(py, "__setstate__"))? {
            self.checked_call(Call::SetState { target: &obj, setstate, state })?;
            return Ok(());
        }
        let (state, slot_state) = match state.cast::<PyTuple>() {
            Ok(pair) if pair.len() == 2 => (pair.get_item(0)?, Some(pair.get_item(1)?)),
            _ => (state, None),
        };
        if !state.is_none() {
            let state =
                state.cast::<PyDict>().map_err(|_| self.fail("state is not a dictionary"))?;
            let instance_dict = obj.getattr(pyo3::intern!(py, "__dict__"))?;
            let exact_dict = instance_dict.is_exact_instance_of::<PyDict>();
            for (key, value) in state.iter() {
                // Attribute names are interned in a normal instance dict.
                let key = match key.cast_into_exact::<PyString>() {
                    Ok(name) => self.names.intern(name).into_any(),
                    Err(err) => err.into_inner(),
                };
                if exact_dict {
                    // SAFETY: an exact dict and two live objects.
                    let status = unsafe {
                        ffi::PyDict_SetItem(instance_dict.as_ptr(), key.as_ptr(), value.as_ptr())
                    };
                    if status < 0 {
                        return Err(PyErr::fetch(py));
                    }
                } else {
                    instance_dict.set_item(key, value)?;
                }
            }
        }
        if let Some(slot_state) = slot_state.filter(|s| !s.is_none()) {
            let slot_state = slot_state
                .cast::<PyDict>()
                .map_err(|_| self.fail("slot state is not a dictionary"))?;
            for (name, value) in slot_state.iter() {
                let name = match name.cast_into_exact::<PyString>() {
                    Ok(name) => self.names.intern(name).into_any(),
                    Err(err) => err.into_inner(),
                };
                // SAFETY: three live objects; a non-str name fails with TypeError.
                let status =
                    unsafe { ffi::PyObject_SetAttr(obj.as_ptr(), name.as_ptr(), value.as_ptr()) };
                if status < 0 {
                    return Err(PyErr::fetch(py));
                }
            }
        }
        Ok(())
    }
}

//! The one place a load calls what the stream supplied: [`checked_call`]
//! checks a call and then makes it. REDUCE, NEWOBJ(_EX), INST, OBJ,
//! BUILD's `__setstate__` and the filling methods (`extend`, `append`,
//! `add`) of objects that are not builtin containers all come here.
//!
//! Restricted, a call is made only on a global the allowlist resolved,
//! with arguments its rule accepts, or on a method of an object such a
//! call made, looked up on its type. Trusted loads call anything, but
//! `bytes` and `bytearray` are still not asked for more than the limits.
//!
//! [`checked_call`]: LoadMachine::checked_call

use oxpickle_core::ArgumentRule;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use super::{address, Admitted, Resolved};
use crate::ffi::{is_class, lookup_attr, owned};
use crate::unpickler::machine::LoadMachine;

/// A call a load makes on objects the stream supplied.
pub(in crate::unpickler) enum Call<'a, 'py> {
    /// REDUCE: `callable(*args)`.
    Reduce { callable: &'a Bound<'py, PyAny>, args: &'a Bound<'py, PyAny> },
    /// INST and OBJ: `class(*args)`, or `class.__new__(class)` for an
    /// old-style instance without `__getinitargs__`.
    Instantiate { class: &'a Bound<'py, PyAny>, args: &'a Bound<'py, PyTuple> },
    /// NEWOBJ and NEWOBJ_EX: `class.__new__(class, *args, **kwargs)`,
    /// through the type's slot as CPython calls it.
    New {
        class: &'a Bound<'py, PyAny>,
        tp_new: ffi::newfunc,
        args: &'a Bound<'py, PyAny>,
        kwargs: Option<&'a Bound<'py, PyAny>>,
    },
    /// BUILD: `target.__setstate__(state)`, the method as
    /// [`method`](LoadMachine::method) found it.
    SetState {
        target: &'a Bound<'py, PyAny>,
        setstate: Bound<'py, PyAny>,
        state: Bound<'py, PyAny>,
    },
    /// APPEND(S), ADDITEMS and SETITEM(S) on what is not a builtin
    /// container.
    Fill { target: &'a Bound<'py, PyAny>, fill: Fill<'py> },
}

/// How a filling opcode puts its items into its target. The methods are
/// the target's, as [`method`](LoadMachine::method) found them.
pub(in crate::unpickler) enum Fill<'py> {
    /// `extend(items)`.
    Extend(Bound<'py, PyAny>, Bound<'py, PyList>),
    /// `append(item)` or `add(item)`, once per item.
    EachItem(Bound<'py, PyAny>, Vec<Bound<'py, PyAny>>),
    /// `target[key] = value` through the type's `__setitem__`, once per
    /// pair of keys and values.
    SetItems(Vec<Bound<'py, PyAny>>),
}

/// What a call the checks let through makes: a plain object, or (from
/// `getattr`) a listed global.
enum CallResult {
    /// An object, made by a callable checked under this rule.
    Made(ArgumentRule),
    Global(Resolved),
}

impl<'py> LoadMachine<'py, '_> {
    /// Checks `call` under the load's allowlist, argument rules and limits,
    /// then makes it; returns what it returned (None for a filling call
    /// made item by item).
    pub(in crate::unpickler) fn checked_call(
        &mut self,
        call: Call<'_, 'py>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        match call {
            Call::Reduce { callable, args } => {
                let result = self.check_construct(callable, args, None)?;
                // SAFETY: both are live objects; PyObject_CallObject checks
                // that `args` is a tuple and raises TypeError otherwise.
                let obj = owned(py, unsafe {
                    ffi::PyObject_CallObject(callable.as_ptr(), args.as_ptr())
                })?;
                Ok(self.note_result(obj, result))
            }
            Call::Instantiate { class, args } => {
                let result = self.check_construct(class, args.as_any(), None)?;
                let obj = instantiate(class, args)?;
                Ok(self.note_result(obj, result))
            }
            Call::New { class, tp_new, args, kwargs } => {
                let result = self.check_construct(class, args, kwargs)?;
                let class_ptr = class.as_ptr().cast::<ffi::PyTypeObject>();
                let kwargs_ptr = kwargs.map_or(std::ptr::null_mut(), |k| k.as_ptr());
                // SAFETY: the caller read `tp_new` from `class`, a type
                // object, and checked that `args` is a tuple and `kwargs` a
                // dict or absent, as the slot's contract asks.
                let obj = owned(py, unsafe { tp_new(class_ptr, args.as_ptr(), kwargs_ptr) })?;
                Ok(self.note_result(obj, result))
            }
            Call::SetState { target, setstate, state } => {
                self.check_build_target(target)?;
                if self.restricted()
                    && matches!(
                        self.guard.made.get(&address(target)),
                        Some(ArgumentRule::ArrayShape { .. })
                    )
                {
                    self.check_array_state(&state)?;
                }
                setstate.call1((state,))
            }
            Call::Fill { target, fill } => {
                self.check_fill_target(target)?;
                match fill {
                    Fill::Extend(extend, items) => extend.call1((items,)),
                    Fill::EachItem(method, items) => {
                        for item in items {
                            method.call1((item,))?;
                        }
                        Ok(py.None().into_bound(py))
                    }
                    Fill::SetItems(items) => {
                        for pair in items.chunks_exact(2) {
                            target.set_item(&pair[0], &pair[1])?;
                        }
                        Ok(py.None().into_bound(py))
                    }
                }
            }
        }
    }

    /// Before REDUCE, NEWOBJ(_EX), INST or OBJ calls `callable` with `args`.
    /// `kwargs` are NEWOBJ_EX's keyword arguments.
    fn check_construct(
        &mut self,
        callable: &Bound<'py, PyAny>,
        args: &Bound<'py, PyAny>,
        kwargs: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<CallResult> {
        let Ok(args) = args.cast::<PyTuple>() else {
            // The call itself fails with the stdlib's TypeError.
            return Ok(CallResult::Made(ArgumentRule::Any));
        };
        let kwargs = kwargs.and_then(|k| k.cast::<PyDict>().ok()).filter(|k| !k.is_empty());
        if !self.restricted() {
            // Trusted loads run any call, but the stdlib's own allocators
            // still may not be asked for more than the limits allow.
            if self.stdlib_allocator(callable) {
                self.check_sizes(args, "bytes/bytearray")?;
                if let Some(kwargs) = kwargs {
                    self.check_sizes(&PyTuple::new(self.py, kwargs.values())?, "bytes/bytearray")?;
                }
            }
            return Ok(CallResult::Made(ArgumentRule::Any));
        }
        let Some(resolved) = self.guard.resolved.get(&address(callable)) else {
            return Err(self.refuse(
                &format!(
                    "a call on a {} that did not come from the allowlist",
                    callable.get_type().name()?
                ),
                "Restricted loading calls only globals allow= lists.",
            ));
        };
        let (rule, name) = (resolved.rule, resolved.name());
        let name = name.as_str();
        if kwargs.is_some() && rule != ArgumentRule::Any {
            // Pickle passes these callables positional arguments only, which
            // is what their checks read.
            return Err(self.refuse(
                &format!("{name} with keyword arguments"),
                "Restricted loading calls it only as pickle writes it, without keywords.",
            ));
        }
        if rule == ArgumentRule::ListedAttribute {
            return self.listed_attribute(args);
        }
        self.check_arguments(rule, name, args)?;
        Ok(CallResult::Made(rule))
    }

    /// `getattr(global, "name")` where `global.name` is listed.
    fn listed_attribute(&self, args: &Bound<'py, PyTuple>) -> PyResult<CallResult> {
        let owner = args.get_item(0).ok().and_then(|o| self.guard.resolved.get(&address(&o)));
        let attribute = args.get_item(1).ok().filter(|_| args.len() == 2);
        let attribute = attribute.as_ref().and_then(|a| a.cast::<PyString>().ok());
        let (Some(owner), Some(attribute)) = (owner, attribute) else {
            return Err(self.refuse(
                "getattr on something other than an allowed global and a name",
                "Restricted loading looks up only attributes allow= lists.",
            ));
        };
        let module = owner.module.clone();
        let qualname = format!("{}.{}", owner.qualname, attribute.to_string_lossy());
        let allowlist = self.settings.policy.allowlist.as_ref();
        let Some(rule) = allowlist.and_then(|allowlist| allowlist.rule(&module, &qualname)) else {
            return Err(self.refuse(
                &format!("getattr for '{module}.{qualname}', which is not allowed"),
                &format!(
                    "If you trust this pickle's use of it, add \"{module}:{qualname}\" to allow="
                ),
            ));
        };
        Ok(CallResult::Global(Resolved { module, qualname, rule }))
    }

    /// After a call that `check_construct` let through returned `obj`.
    fn note_result(&mut self, obj: Bound<'py, PyAny>, result: CallResult) -> Bound<'py, PyAny> {
        if !self.restricted() {
            return obj;
        }
        match result {
            CallResult::Made(rule) => {
                self.guard.made.insert(address(&obj), rule);
                self.guard.keep.push(obj.clone());
            }
            CallResult::Global(resolved) => self.note_resolved(&obj, Admitted(resolved)),
        }
        obj
    }
}

/// INST and OBJ: `cls(*args)`, or `cls.__new__(cls)` for an old-style
/// instance without `__getinitargs__`.
fn instantiate<'py>(
    class: &Bound<'py, PyAny>,
    args: &Bound<'py, PyTuple>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = class.py();
    if args.is_empty()
        && is_class(class)
        && lookup_attr(class.as_any(), pyo3::intern!(py, "__getinitargs__"))?.is_none()
    {
        return class.call_method1(pyo3::intern!(py, "__new__"), (class,));
    }
    // SAFETY: `args` is a tuple; the call returns a new reference or null.
    owned(py, unsafe { ffi::PyObject_CallObject(class.as_ptr(), args.as_ptr()) })
}

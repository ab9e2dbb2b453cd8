//! Everything that is not an exact builtin container or scalar goes
//! through the reduce protocol: `reducer_override`, the dispatch table,
//! `__reduce_ex__` / `__reduce__`, then the tuple they return.

use oxpickle_core::Op;
use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple, PyType};

use super::dumper::{references, type_name, Dumper, ItemsFrom};
use super::path::Step;
use crate::errors::pickling_error;
use crate::ffi::lookup_attr;
use crate::ffi::{is_class, messages, Exact};

impl<'py> Dumper<'py, '_> {
    /// Objects that are not exact builtin containers or scalars.
    pub(super) fn save_other(&mut self, obj: &Bound<'py, PyAny>, kind: Exact) -> PyResult<()> {
        // Before any of the caller's code runs (a hook, a reducer): once the
        // buffer has failed, what is written is dropped, so stop here.
        self.out.check()?;
        let before = references(obj);
        if let Some(reducer_override) = &self.hooks.reducer_override {
            let reduced = reducer_override.call1((obj,))?;
            if !reduced.is(self.py.NotImplemented()) {
                self.note_kept_references(obj, before);
                return self.save_reduced(obj, &reduced);
            }
        }
        match kind {
            Exact::Type => return self.save_type(obj),
            Exact::Function => return self.save_function(obj),
            _ => {}
        }
        let reduced = if let Some(reduce) = self.dispatch_entry(obj)? {
            reduce.call1((obj,))?
        } else if is_class(obj) {
            return self.save_type(obj);
        } else if kind == Exact::Code {
            return self.save_code(obj);
        } else if kind == Exact::Cell {
            return self.save_cell(obj);
        } else if kind == Exact::Module {
            return self.save_module(obj);
        } else if let Some(reduce) = self.fallback_reducer(obj)? {
            reduce.call1((obj,))?
        } else if self.is_plain_instance(obj)? {
            return self.save_plain_instance(obj);
        } else if let Some(parts) = self.known_array_reduction(obj)? {
            return self.write_reduction(parts, NewObj::No, Some(obj), None);
        } else if let Some(reduce_ex) =
            lookup_attr(obj.as_any(), pyo3::intern!(self.py, "__reduce_ex__"))?
        {
            let reduced = reduce_ex.call1((self.proto,))?;
            self.learn_plain_type(obj, &reduced)?;
            self.learn_array_reduction(obj, &reduced)?;
            reduced
        } else if let Some(reduce) =
            lookup_attr(obj.as_any(), pyo3::intern!(self.py, "__reduce__"))?
        {
            reduce.call0()?
        } else {
            return Err(pickling_error(
                self.py,
                format!("can't pickle '{}' object: {}", type_name(obj), obj.repr()?),
            ));
        };
        // The reducer was handed `obj` (or bound to it), and may have kept
        // it; so may the tuple it returned, which only makes this careful.
        self.note_kept_references(obj, before);
        self.save_reduced(obj, &reduced)
    }

    /// The reducer registered for `obj`'s type in the Pickler's dispatch
    /// table, or else in copyreg's.
    fn dispatch_entry(&self, obj: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let class = obj.get_type();
        match &self.hooks.dispatch_table {
            None => self.stdlib.dispatch_table.bind(self.py).get_item(&class),
            // A dict answers a miss without raising (and a KeyError costs
            // more than the lookup); any other mapping is asked by item.
            Some(table) if table.is_exact_instance_of::<PyDict>() => {
                table.cast::<PyDict>()?.get_item(&class)
            }
            Some(table) => match table.get_item(&class) {
                Ok(reduce) => Ok(Some(reduce)),
                Err(err) if err.is_instance_of::<PyKeyError>(self.py) => Ok(None),
                Err(err) => Err(err),
            },
        }
    }

    /// What a reducer returned: a name (the object is a global) or a tuple.
    fn save_reduced(
        &mut self,
        obj: &Bound<'py, PyAny>,
        reduced: &Bound<'py, PyAny>,
    ) -> PyResult<()> {
        if let Ok(name) = reduced.cast::<PyString>() {
            return self.save_named_object(obj, name.clone());
        }
        let Ok(tuple) = reduced.cast::<PyTuple>() else {
            return Err(pickling_error(self.py, "__reduce__ must return a string or tuple"));
        };
        self.save_reduce(tuple, Some(obj))
    }

    /// Writes a reduce tuple `(callable, args[, state[, listitems[,
    /// dictitems[, state_setter]]]])`. `obj`, when given, is memoized.
    pub(super) fn save_reduce(
        &mut self,
        reduce: &Bound<'py, PyTuple>,
        obj: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<()> {
        let parts = ReduceParts::unpack(self.py, reduce)?;
        let newobj = self.newobj_kind(&parts.callable)?;
        // NEWOBJ checks that the object's __class__ is the class it names.
        let class_check = if newobj == NewObj::Plain { obj } else { None };
        self.write_reduction(parts, newobj, obj, class_check)
    }

    /// Writes checked reduce parts; `class_check` is the object whose
    /// `__class__` NEWOBJ's class must be, when that is not known already.
    pub(super) fn write_reduction(
        &mut self,
        parts: ReduceParts<'py>,
        newobj: NewObj,
        obj: Option<&Bound<'py, PyAny>>,
        class_check: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<()> {
        // Everything before the object is memoized may be walked twice.
        self.items_context(ItemsFrom::Revisitable, |dumper| match newobj {
            NewObj::Ex => dumper.save_newobj_ex(&parts.args),
            NewObj::Plain => dumper.save_newobj(&parts.args, class_check),
            NewObj::No => {
                dumper.save(&parts.callable)?;
                dumper.save_reduce_part(parts.args.as_any(), Step::ReduceArgs, parts.args_from)?;
                dumper.out.enc.op(Op::Reduce);
                Ok(())
            }
        })?;
        if let Some(obj) = obj {
            if let Some(index) = self.memoized(obj) {
                // The object was reached again through its own arguments.
                self.out.enc.op(Op::Pop);
                return self.write_memo_get(index);
            }
            if parts.state.is_some() && parts.state_setter.is_some() {
                // The state setter is called with the object: written again.
                self.memoize_for_reference(obj)?;
            } else {
                self.memoize(obj)?;
            }
        }
        // An iterator may yield one object twice, holding the only other
        // reference to it between: its items may be reached again.
        if let Some(items) = parts.list_items {
            self.items_context(ItemsFrom::Revisitable, |dumper| {
                dumper.write_items(items, |d, i, item| d.save_at(item, i), Op::Append, Op::Appends)
            })
            .map_err(|err| self.unwinding(err, || Step::ReduceItems))?;
        }
        if let Some(items) = parts.dict_items {
            self.items_context(ItemsFrom::Revisitable, |dumper| {
                dumper.write_items(items, |d, _, item| d.save_pair(item), Op::SetItem, Op::SetItems)
            })
            .map_err(|err| self.unwinding(err, || Step::ReduceItems))?;
        }
        let Some(state) = parts.state else {
            return Ok(());
        };
        match (parts.state_setter, obj) {
            (Some(setter), Some(obj)) => {
                // setter(obj, state), then drop its result: BUILD's effect
                // without BUILD.
                self.save(&setter)?;
                match self.memoized(obj).filter(|_| self.is_being_saved_unshared(obj)) {
                    // Saving it again would not ask the memo: fetch it.
                    Some(index) => {
                        self.out.opcode_boundary()?;
                        self.write_memo_get(index)?;
                    }
                    None => self.save(obj)?,
                }
                self.save_reduce_part(&state, Step::ReduceState, ItemsFrom::WalkedOnce)?;
                self.out.enc.op(Op::Tuple2);
                self.out.enc.op(Op::Reduce);
                self.out.enc.op(Op::Pop);
            }
            _ => {
                self.save_reduce_part(&state, Step::ReduceState, ItemsFrom::WalkedOnce)?;
                self.out.enc.op(Op::Build);
            }
        }
        Ok(())
    }

    /// Arguments or state of a reduce, reached as `from` says; a failure
    /// says which part it was.
    fn save_reduce_part(
        &mut self,
        part: &Bound<'py, PyAny>,
        step: Step,
        from: ItemsFrom,
    ) -> PyResult<()> {
        self.items_context(from, |dumper| dumper.save(part))
            .map_err(|err| self.unwinding(err, || step))
    }

    /// From protocol 2, `copyreg.__newobj__` and `__newobj_ex__` (recognised
    /// by name, as CPython does) become NEWOBJ and NEWOBJ_EX.
    fn newobj_kind(&self, callable: &Bound<'py, PyAny>) -> PyResult<NewObj> {
        if self.proto < 2 {
            return Ok(NewObj::No);
        }
        let Some(name) = lookup_attr(callable.as_any(), pyo3::intern!(self.py, "__name__"))? else {
            return Ok(NewObj::No);
        };
        let Ok(name) = name.cast::<PyString>() else {
            return Ok(NewObj::No);
        };
        Ok(match name.to_str()? {
            "__newobj_ex__" => NewObj::Ex,
            "__newobj__" => NewObj::Plain,
            _ => NewObj::No,
        })
    }

    /// `cls.__new__(cls, *args)`: NEWOBJ.
    fn save_newobj(
        &mut self,
        args: &Bound<'py, PyTuple>,
        obj: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<()> {
        let py = self.py;
        if args.is_empty() {
            return Err(pickling_error(py, messages::newobj_without_class()));
        }
        let class = args.get_item(0)?;
        if !is_class(&class) {
            return Err(pickling_error(py, messages::newobj_not_a_class(&class)?));
        }
        if let Some(obj) = obj {
            let expected = obj.getattr(pyo3::intern!(py, "__class__"))?;
            if !expected.is(&class) {
                return Err(pickling_error(py, messages::newobj_wrong_class(&expected, &class)?));
            }
        }
        self.save(&class)?;
        let rest = args.get_slice(1, args.len());
        self.save_reduce_part(rest.as_any(), Step::ReduceArgs, ItemsFrom::Revisitable)?;
        self.out.enc.op(Op::NewObj);
        Ok(())
    }

    /// `cls.__new__(cls, *args, **kwargs)`: NEWOBJ_EX from protocol 4,
    /// `partial(cls.__new__, cls, *args, **kwargs)()` before.
    fn save_newobj_ex(&mut self, args: &Bound<'py, PyTuple>) -> PyResult<()> {
        let py = self.py;
        if args.len() != 3 {
            return Err(pickling_error(
                py,
                format!(
                    "length of the NEWOBJ_EX argument tuple must be exactly 3, not {}",
                    args.len()
                ),
            ));
        }
        let class = args.get_item(0)?;
        if !is_class(&class) {
            return Err(pickling_error(
                py,
                format!(
                    "first item from NEWOBJ_EX argument tuple must be a class, not {}",
                    type_name(&class)
                ),
            ));
        }
        let new_args = args.get_item(1)?;
        let Ok(new_args) = new_args.cast::<PyTuple>() else {
            return Err(pickling_error(
                py,
                format!(
                    "second item from NEWOBJ_EX argument tuple must be a tuple, not {}",
                    type_name(&new_args)
                ),
            ));
        };
        let kwargs = args.get_item(2)?;
        let Ok(kwargs) = kwargs.cast::<PyDict>() else {
            return Err(pickling_error(
                py,
                format!(
                    "third item from NEWOBJ_EX argument tuple must be a dict, not {}",
                    type_name(&kwargs)
                ),
            ));
        };
        if self.proto >= 4 {
            self.save(&class)?;
            self.save_reduce_part(new_args.as_any(), Step::ReduceArgs, ItemsFrom::Revisitable)?;
            self.save_reduce_part(kwargs.as_any(), Step::ReduceArgs, ItemsFrom::Revisitable)?;
            self.out.enc.op(Op::NewObjEx);
            return Ok(());
        }
        let mut partial_args = vec![class.getattr(pyo3::intern!(py, "__new__"))?, class.clone()];
        partial_args.extend(new_args.iter());
        let partial =
            self.stdlib.partial.bind(py).call(PyTuple::new(py, partial_args)?, Some(kwargs))?;
        self.save(&partial)?;
        self.save(PyTuple::empty(py).as_any())?;
        self.out.enc.op(Op::Reduce);
        Ok(())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum NewObj {
    No,
    Plain,
    Ex,
}

/// A reduce tuple, checked as CPython checks it.
pub(super) struct ReduceParts<'py> {
    pub callable: Bound<'py, PyAny>,
    pub args: Bound<'py, PyTuple>,
    pub state: Option<Bound<'py, PyAny>>,
    pub list_items: Option<Bound<'py, pyo3::types::PyIterator>>,
    pub dict_items: Option<Bound<'py, pyo3::types::PyIterator>>,
    pub state_setter: Option<Bound<'py, PyAny>>,
    /// How the arguments are reached. A reducer's are `Revisitable`: it
    /// may hand out the same tuple again, and they are saved before the
    /// object is memoized, so a cycle may lead back through them. Arguments
    /// this dump built, which nothing else refers to, are `WalkedOnce`.
    pub args_from: ItemsFrom,
}

impl<'py> ReduceParts<'py> {
    fn unpack(py: Python<'py>, reduce: &Bound<'py, PyTuple>) -> PyResult<Self> {
        let len = reduce.len();
        if !(2..=6).contains(&len) {
            return Err(pickling_error(
                py,
                "tuple returned by __reduce__ must contain 2 through 6 elements",
            ));
        }
        let part = |i: usize| -> PyResult<Option<Bound<'py, PyAny>>> {
            if i >= len {
                return Ok(None);
            }
            let item = reduce.get_item(i)?;
            Ok((!item.is_none()).then_some(item))
        };
        let callable = reduce.get_item(0)?;
        if !callable.is_callable() {
            return Err(pickling_error(
                py,
                "first item of the tuple returned by __reduce__ must be callable",
            ));
        }
        let args = reduce.get_item(1)?;
        let Ok(args) = args.cast_into::<PyTuple>() else {
            return Err(pickling_error(
                py,
                "second item of the tuple returned by __reduce__ must be a tuple",
            ));
        };
        let iterator = |i: usize,
                        ordinal: &str|
         -> PyResult<Option<Bound<'py, pyo3::types::PyIterator>>> {
            let Some(items) = part(i)? else {
                return Ok(None);
            };
            match items.cast_into::<pyo3::types::PyIterator>() {
                Ok(iterator) => Ok(Some(iterator)),
                Err(err) => Err(pickling_error(
                    py,
                    format!(
                        "{ordinal} element of the tuple returned by __reduce__ must be an iterator, not {}",
                        type_name(&err.into_inner())
                    ),
                )),
            }
        };
        let list_items = iterator(3, "fourth")?;
        let dict_items = iterator(4, "fifth")?;
        let state_setter = part(5)?;
        if let Some(setter) = &state_setter {
            if !setter.is_callable() {
                return Err(pickling_error(
                    py,
                    format!(
                        "sixth element of the tuple returned by __reduce__ must be a function, not {}",
                        type_name(setter)
                    ),
                ));
            }
        }
        Ok(ReduceParts {
            callable,
            args,
            state: part(2)?,
            list_items,
            dict_items,
            state_setter,
            args_from: ItemsFrom::Revisitable,
        })
    }
}

/// `type(None)`, `type(...)` and `type(NotImplemented)` are not importable
/// by name; they travel as `type(singleton)`.
pub(super) fn singleton_of_type<'py>(
    py: Python<'py>,
    class: &Bound<'py, PyAny>,
) -> Option<Bound<'py, PyAny>> {
    [py.None(), py.Ellipsis(), py.NotImplemented()]
        .into_iter()
        .map(|singleton| singleton.into_bound(py))
        .find(|singleton| singleton.get_type().is(class))
}

/// `(type, (singleton,))`, the reduce tuple for a singleton's type.
pub(super) fn singleton_type_reduce<'py>(
    py: Python<'py>,
    singleton: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyTuple>> {
    let args = PyTuple::new(py, [singleton])?;
    PyTuple::new(py, [py.get_type::<PyType>().into_any(), args.into_any()])
}

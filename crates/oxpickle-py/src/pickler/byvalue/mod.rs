//! Pickling by value what the receiver could not import: functions,
//! classes, code objects, closure cells and dynamic modules.
//!
//! Functions and code are taken apart here, natively, and rebuilt with
//! stdlib callables (`types.FunctionType`, `types.CodeType`,
//! `types.CellType`). Objects that can refer back to themselves are
//! created empty, memoized, then filled, so cycles resolve through the
//! memo. Classes use the Python-side policy in `oxpickle._byvalue`.

mod annotations;
mod code;
mod function;
mod helpers;

use std::collections::{HashMap, HashSet};

use oxpickle_core::Op;
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};

pub use helpers::{policy_names, ByValueHelpers};

use super::dumper::Dumper;
use super::global::Resolution;
use super::path::Step;
use crate::errors::pickling_error;
use crate::ffi::lookup_attr;
use crate::ffi::{cell_contents, class_namespace_address, exact_type, modules, Exact};
use helpers::CLASS_NAMESPACE;

/// What one dump has already written of by-value machinery.
#[derive(Default)]
pub struct ByValueState {
    /// The Python version check has been written (once per pickle).
    python_checked: bool,
    /// Memo slots of stdlib callables referenced by name.
    named_globals: HashMap<(&'static str, &'static str), usize>,
    /// Module globals dict address → memo slot of the dict standing in for
    /// it, which every function from that module shares.
    globals_dicts: HashMap<usize, usize>,
    /// (globals dict address, name) pairs already written into stand-ins.
    filled_globals: HashSet<(usize, String)>,
    /// Cells whose contents have been written.
    filled_cells: HashSet<usize>,
    /// Namespace dict address → the class pickled by value that owns it,
    /// for the `__classdict__` cells of code compiled in its body.
    class_namespaces: HashMap<usize, Py<PyAny>>,
    /// Code object address → the global names it uses, nested code included.
    code_globals: HashMap<usize, Vec<Py<PyString>>>,
    /// The first of each distinct `__qualname__` written into a function's
    /// state, by text: CPython makes a new one for each function it
    /// creates that way (3.14's `__annotate__`, one per closure), and the
    /// memo, by identity, would write every copy.
    qualnames: HashMap<String, Py<PyString>>,
    /// Code object address → whether it reads only its own constants (no
    /// global, builtin or cell), for `__annotate__` functions: closures
    /// share one code.
    constant_codes: HashMap<usize, bool>,
}

impl<'py> Dumper<'py, '_> {
    /// Whether a function or class travels by value: its reference does
    /// not resolve, names the sender's `__main__`, or belongs to a module
    /// registered with `register_pickle_by_value`.
    pub(super) fn travels_by_value(&self, resolution: &Resolution<'py>) -> PyResult<bool> {
        let global = match resolution {
            Err(_) => return Ok(true),
            Ok(global) => global,
        };
        if global.is_main() {
            return Ok(true);
        }
        let helpers = ByValueHelpers::get(self.py)?;
        if helpers.registered_modules.bind(self.py).is_empty() {
            return Ok(false);
        }
        helpers.is_registered.bind(self.py).call1((global.module_name()?,))?.is_truthy()
    }

    /// A class whose reference does not resolve, or names a module the
    /// receiver cannot import: a builtin type by its `types` name; a class
    /// defined in Python by value (a skeleton, then its dict); anything
    /// else is refused with why its reference failed.
    pub(super) fn save_unimportable_class(
        &mut self,
        class: &Bound<'py, PyAny>,
        resolution: Resolution<'py>,
    ) -> PyResult<()> {
        let helpers = ByValueHelpers::get(self.py)?;
        if let Some(name) = helpers.builtin_type_names.get(&(class.as_ptr() as usize)) {
            self.save_named_global("types", name)?;
            return self.memoize(class);
        }
        if !is_python_class(class) {
            return self.write_global(resolution?);
        }
        let reduce = helpers.class_reduce.bind(self.py).call1((class, self.deterministic))?;
        self.byvalue
            .class_namespaces
            .insert(class_namespace_address(class), class.clone().unbind());
        self.save_reduce(reduce.cast::<PyTuple>()?, Some(class))
    }

    /// An object whose reduce named a global: by value when the receiver
    /// cannot import it and its type has a by-value reducer (a TypeVar in
    /// `__main__`), else by reference.
    pub(super) fn save_named_object(
        &mut self,
        obj: &Bound<'py, PyAny>,
        name: Bound<'py, PyString>,
    ) -> PyResult<()> {
        let helpers = ByValueHelpers::get(self.py)?;
        let reducer = helpers.by_value_reducers.bind(self.py).get_item(obj.get_type())?;
        let resolution = self.resolve_global(obj, Some(name))?;
        match reducer {
            Some(reducer) if self.travels_by_value(&resolution)? => {
                let reduce = reducer.call1((obj, self.deterministic))?;
                self.save_reduce(reduce.cast::<PyTuple>()?, Some(obj))
            }
            _ => self.write_global(resolution?),
        }
    }

    /// The reducer for a type the stdlib cannot pickle, if it is one.
    pub(super) fn fallback_reducer(
        &self,
        obj: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let helpers = ByValueHelpers::get(self.py)?;
        let key = obj.get_type_ptr() as usize;
        Ok(helpers.reducers.get(&key).map(|reducer| reducer.bind(self.py).clone()))
    }

    /// A module: `importlib.import_module(name)` when the receiver can
    /// import it, else rebuilt from its namespace.
    pub(super) fn save_module(&mut self, module: &Bound<'py, PyAny>) -> PyResult<()> {
        let py = self.py;
        let name = module.getattr(pyo3::intern!(py, "__name__"))?;
        let imported = modules(py)?.get_item(&name).ok().flatten();
        let importable = imported.is_some_and(|m| m.is(module))
            && !is_main_name(&name)
            && !self.module_registered(&name)?;
        if importable {
            self.save_named_global("importlib", "import_module")?;
            self.tuple_start(1);
            self.save(&name)?;
            self.tuple_end(1);
            self.out.enc.op(Op::Reduce);
            return self.memoize(module);
        }
        let helpers = ByValueHelpers::get(py)?;
        let reduce = helpers.dynamic_module_reduce.bind(py).call1((module,))?;
        self.save_reduce(reduce.cast::<PyTuple>()?, Some(module))
    }

    fn module_registered(&self, name: &Bound<'py, PyAny>) -> PyResult<bool> {
        let helpers = ByValueHelpers::get(self.py)?;
        if helpers.registered_modules.bind(self.py).is_empty() {
            return Ok(false);
        }
        helpers.is_registered.bind(self.py).call1((name,))?.is_truthy()
    }

    /// A stdlib callable referenced by a name we know resolves (checked by
    /// the receiver's import, not here), memoized once per pickle.
    pub(super) fn save_named_global(
        &mut self,
        module: &'static str,
        name: &'static str,
    ) -> PyResult<()> {
        if let Some(&index) = self.byvalue.named_globals.get(&(module, name)) {
            return self.write_memo_get(index);
        }
        if self.proto >= 4 {
            self.save(PyString::new(self.py, module).as_any())?;
            self.save(PyString::new(self.py, name).as_any())?;
            self.out.enc.op(Op::StackGlobal);
        } else {
            self.write_global_text(module, name)?;
        }
        let index = self.memoize_slot()?;
        self.byvalue.named_globals.insert((module, name), index);
        Ok(())
    }

    /// A closure cell reached on its own: created empty, then filled.
    pub(super) fn save_cell(&mut self, cell: &Bound<'py, PyAny>) -> PyResult<()> {
        self.save_cell_shell(cell)?;
        self.fill_cell(cell)
    }

    /// `types.CellType()`, memoized as `cell`; or `cell` from the memo.
    pub(super) fn save_cell_shell(&mut self, cell: &Bound<'py, PyAny>) -> PyResult<()> {
        if let Some(index) = self.memoized(cell) {
            return self.write_memo_get(index);
        }
        self.save_named_global("types", "CellType")?;
        self.out.enc.op(Op::EmptyTuple);
        self.out.enc.op(Op::Reduce);
        self.memoize_always(cell)
    }

    /// Sets a memoized empty cell's contents, once: `cell`, then BUILD with
    /// `(None, {"cell_contents": value})`, then POP.
    pub(super) fn fill_cell(&mut self, cell: &Bound<'py, PyAny>) -> PyResult<()> {
        if !self.byvalue.filled_cells.insert(cell.as_ptr() as usize) {
            return Ok(());
        }
        let Some(contents) = cell_contents(cell) else { return Ok(()) };
        let Some(index) = self.memoized(cell) else {
            return Err(pickling_error(
                self.py,
                "internal error: cell filled before it was created",
            ));
        };
        self.write_memo_get(index)?;
        let key = pyo3::intern!(self.py, "cell_contents");
        match self.owning_class(&contents) {
            Some(class) => self.write_class_namespace_state(key, &class)?,
            None => self.write_slot_state(&[(key.clone(), contents)], None)?,
        }
        self.out.enc.op(Op::Build);
        self.out.enc.op(Op::Pop);
        Ok(())
    }

    /// The class pickled by value whose namespace `contents` is, if it is
    /// one: code compiled in a class body (3.14's `__annotate__`) holds it in
    /// a `__classdict__` cell, to look names up in the class first.
    fn owning_class(&self, contents: &Bound<'py, PyAny>) -> Option<Bound<'py, PyAny>> {
        if exact_type(contents) != Exact::Dict {
            return None;
        }
        let class = self.byvalue.class_namespaces.get(&(contents.as_ptr() as usize))?;
        Some(class.bind(self.py).clone())
    }

    /// `(None, {key: class_namespace(class)})`: the receiver's cell gets
    /// the rebuilt class's own namespace dict, as the sender's held the
    /// original's. The class is in the memo by then: its cells are reached
    /// through its state.
    fn write_class_namespace_state(
        &mut self,
        key: &Bound<'py, PyString>,
        class: &Bound<'py, PyAny>,
    ) -> PyResult<()> {
        self.tuple_start(2);
        self.out.enc.op(Op::None);
        self.write_dict_items(&[], None)?;
        self.save(key)?;
        self.save_named_global(CLASS_NAMESPACE.0, CLASS_NAMESPACE.1)?;
        self.tuple_start(1);
        self.save(class)?;
        self.tuple_end(1);
        self.out.enc.op(Op::Reduce);
        self.out.enc.op(Op::SetItem);
        self.tuple_end(2);
        Ok(())
    }

    /// `(None, {name: value, ...})`: BUILD's state for attributes set with
    /// setattr (slots, and function and cell members).
    pub(super) fn write_slot_state(
        &mut self,
        attributes: &[(Bound<'py, PyString>, Bound<'py, PyAny>)],
        step: Option<fn(String) -> Step>,
    ) -> PyResult<()> {
        self.tuple_start(2);
        self.out.enc.op(Op::None);
        self.write_dict_items(attributes, step)?;
        self.tuple_end(2);
        Ok(())
    }

    /// A new dict holding `items`.
    pub(super) fn write_dict_items(
        &mut self,
        items: &[(Bound<'py, PyString>, Bound<'py, PyAny>)],
        step: Option<fn(String) -> Step>,
    ) -> PyResult<()> {
        self.out.enc.write(if self.bin { b"}" } else { b"(d" });
        self.write_set_items(items, step)
    }

    /// SETITEMS onto the dict on top of the stack (nothing when empty). A
    /// failing value is named by `step` applied to its key.
    pub(super) fn write_set_items(
        &mut self,
        items: &[(Bound<'py, PyString>, Bound<'py, PyAny>)],
        step: Option<fn(String) -> Step>,
    ) -> PyResult<()> {
        if items.is_empty() {
            return Ok(());
        }
        if self.proto != 0 {
            self.out.enc.op(Op::Mark);
        }
        for (key, value) in items {
            self.save(key.as_any())?;
            self.save(value).map_err(|err| match step {
                Some(step) => self.unwinding(err, || step(key.to_string())),
                None => err,
            })?;
            if self.proto == 0 {
                self.out.enc.op(Op::SetItem);
            }
        }
        if self.proto != 0 {
            self.out.enc.op(Op::SetItems);
        }
        Ok(())
    }

    /// Opens a tuple of `len` items (TUPLE1–3 need no MARK from protocol 2).
    pub(super) fn tuple_start(&mut self, len: usize) {
        if !(self.proto >= 2 && (1..=3).contains(&len)) {
            self.out.enc.op(Op::Mark);
        }
    }

    pub(super) fn tuple_end(&mut self, len: usize) {
        let op = match (self.proto >= 2, len) {
            (true, 1) => Op::Tuple1,
            (true, 2) => Op::Tuple2,
            (true, 3) => Op::Tuple3,
            _ => Op::Tuple,
        };
        self.out.enc.op(op);
    }
}

/// Whether a class was made by a class statement or `type()` (a heap type
/// with a `__dict__` of its own making), as opposed to a builtin or
/// extension type, which no receiver could rebuild from its dict.
fn is_python_class(class: &Bound<'_, PyAny>) -> bool {
    let flags = class.cast::<pyo3::types::PyType>().map(|t| {
        // SAFETY: reading the flags word of a live type object.
        unsafe { (*t.as_type_ptr()).tp_flags }
    });
    let heap = flags.is_ok_and(|flags| flags & pyo3::ffi::Py_TPFLAGS_HEAPTYPE != 0);
    heap && lookup_attr(class, pyo3::intern!(class.py(), "__module__")).ok().flatten().is_some()
}

/// `__main__`, or `__mp_main__` as multiprocessing names the main script in
/// its children: modules no other process can import.
pub fn is_main_name(name: &Bound<'_, PyAny>) -> bool {
    name.extract::<&str>().is_ok_and(|name| name == "__main__" || name == "__mp_main__")
}

//! What a load refuses: globals outside the allowlist, calls and BUILDs on
//! anything the allowlist did not provide, and sizes, nesting and memo
//! growth beyond the load's `LoadLimits` (`oxpickle.Limits`).
//!
//! Every call a load makes on what the stream supplied goes through
//! [`checked_call`](LoadMachine::checked_call) (`calls.rs`), which applies
//! the allowlist and the argument rules (`arguments.rs`) first; nothing
//! else in the unpickler calls a stream's objects.
//!
//! Restricted loading tracks objects by address: every object a check
//! admits is kept alive until the load ends, so an address cannot be
//! reused by another object while the load runs.

mod arguments;
mod calls;

use std::collections::HashMap;

use oxpickle_core::ArgumentRule;
use pyo3::exceptions::{PyAttributeError, PyKeyError};
use pyo3::prelude::*;
use pyo3::types::PyString;

use super::find_class::python3_name;
use super::machine::LoadMachine;
use crate::errors::unsafe_pickle_error;
use crate::ffi::lookup_attr;

pub(super) use calls::{Call, Fill};

/// A global the allowlist let through.
struct Resolved {
    module: String,
    qualname: String,
    rule: ArgumentRule,
}

impl Resolved {
    fn name(&self) -> String {
        format!("{}.{}", self.module, self.qualname)
    }
}

/// The state of one load's checks.
#[derive(Default)]
pub struct Guard<'py> {
    /// Objects resolved from the allowlist, by address.
    resolved: HashMap<usize, Resolved>,
    /// Objects made by calls on resolved objects, with the rule of what
    /// made them: what BUILD may act on.
    made: HashMap<usize, ArgumentRule>,
    /// Keeps the objects above alive, so their addresses stay theirs.
    keep: Vec<Bound<'py, PyAny>>,
    /// Sizes asked for by calls so far.
    asked: u64,
}

fn address(obj: &Bound<'_, PyAny>) -> usize {
    obj.as_ptr() as usize
}

impl<'py> LoadMachine<'py, '_> {
    fn restricted(&self) -> bool {
        self.settings.policy.allowlist.is_some()
    }

    /// An UnsafePickleError naming the instruction and its offset.
    fn refuse(&self, what: &str, remedy: &str) -> PyErr {
        let (op, offset) = self.at;
        unsafe_pickle_error(self.py, format!("{} at byte {offset}: {what}. {remedy}", op.name()))
    }

    /// MARK: one more open level of nesting.
    pub(super) fn check_depth(&self) -> PyResult<()> {
        let max = self.settings.policy.limits.max_depth;
        if self.marks.len() >= max {
            return Err(self.refuse(
                &format!("the pickle nests deeper than {max} MARKs"),
                "If it is trusted, raise Limits(max_depth=...).",
            ));
        }
        Ok(())
    }

    /// PUT/MEMOIZE into `index`: one more memo slot unless it is filled.
    #[inline(always)]
    pub(super) fn check_memo(&self, index: usize) -> PyResult<()> {
        if self.memo.len() < self.settings.policy.limits.max_memo_entries {
            return Ok(());
        }
        self.check_full_memo(index)
    }

    #[cold]
    fn check_full_memo(&self, index: usize) -> PyResult<()> {
        let max = self.settings.policy.limits.max_memo_entries;
        if self.memo.get(index).is_none() {
            return Err(self.refuse(
                &format!("the pickle stores more than {max} memo entries"),
                "If it is trusted, raise Limits(max_memo_entries=...).",
            ));
        }
        Ok(())
    }

    /// Before a global resolves: in restricted loading, it must be listed,
    /// under the name Python 3 would import. Returns its names and rule.
    pub(super) fn admit_global(
        &self,
        module: &Bound<'py, PyAny>,
        name: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Admitted>> {
        let Some(allowlist) = &self.settings.policy.allowlist else {
            return Ok(None);
        };
        let (module, name) = if self.proto < 3 && self.settings.fix_imports {
            python3_name(module, name, self.stdlib)?
        } else {
            (module.clone(), name.clone())
        };
        let text = |part: &Bound<'py, PyAny>| part.str().map(|s| s.to_string_lossy().into_owned());
        let (module, qualname) = (text(&module)?, text(&name)?);
        let Some(rule) = allowlist.rule(&module, &qualname) else {
            return Err(self.refuse(
                &format!("global '{module}.{qualname}' is not allowed"),
                &format!(
                    "Nothing outside allow= is imported. If you trust this pickle's use of it, \
                     add \"{module}:{qualname}\" to allow="
                ),
            ));
        };
        Ok(Some(Admitted(Resolved { module, qualname, rule })))
    }

    /// After an admitted global resolved.
    pub(super) fn note_resolved(&mut self, obj: &Bound<'py, PyAny>, admitted: Admitted) {
        self.guard.resolved.insert(address(obj), admitted.0);
        self.guard.keep.push(obj.clone());
    }

    /// INT or LONG `text` (a LONG's without its `L`): in restricted
    /// loading, only as every supported CPython reads it alike, which is
    /// how CPython writes it.
    pub(super) fn check_int_text(&self, text: &[u8], long: bool) -> PyResult<()> {
        if !self.restricted() {
            return Ok(());
        }
        let Some(why) = oxpickle_core::text::version_dependent_int(text, long) else {
            return Ok(());
        };
        Err(self.refuse(
            &format!("{:?} is {why}", String::from_utf8_lossy(text)),
            "CPython's picklers never write it; if the pickle is trusted, load it without allow=.",
        ))
    }

    /// A persistent id with no `persistent_load` to resolve it.
    pub(super) fn refuse_persistent_id(&self) -> PyErr {
        self.refuse(
            "a persistent id, and no persistent_load was given",
            "Restricted loading resolves persistent ids only through a persistent_load you pass.",
        )
    }

    /// The method `name` of `target` that BUILD (`__setstate__`) or a
    /// filling opcode (`extend`, `append`, `add`) calls, bound; None when
    /// there is none. Unrestricted, looked up as CPython's unpickler looks
    /// it up, the instance's own attributes first. Restricted, on the type
    /// only: an instance's attributes are data an earlier BUILD may have
    /// set, an allowed callable under the method's name among them, and
    /// calling one would make a call no check saw.
    pub(super) fn method(
        &self,
        target: &Bound<'py, PyAny>,
        name: &Bound<'py, PyString>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        if !self.restricted() {
            return lookup_attr(target, name);
        }
        type_method(target, name)
    }

    /// [`method`](Self::method), where a missing one is the AttributeError
    /// a plain attribute lookup raises.
    pub(super) fn required_method(
        &self,
        target: &Bound<'py, PyAny>,
        name: &Bound<'py, PyString>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if !self.restricted() {
            return target.getattr(name);
        }
        type_method(target, name)?.ok_or_else(|| {
            let type_name = target.get_type().name().map(|n| n.to_string()).unwrap_or_default();
            PyAttributeError::new_err(format!("'{type_name}' object has no attribute '{name}'"))
        })
    }

    /// BUILD on `target`, whether by `__setstate__` or by updating its
    /// attributes: in restricted loading, only on what an allowed call made.
    pub(super) fn check_build_target(&self, target: &Bound<'py, PyAny>) -> PyResult<()> {
        if self.restricted() && !self.guard.made.contains_key(&address(target)) {
            return Err(self.refuse(
                &format!("BUILD on a {} that no allowed call made", target.get_type().name()?),
                "Restricted loading sets state only on objects made by allow= globals.",
            ));
        }
        Ok(())
    }

    /// APPEND(S), SETITEM(S) and ADDITEMS on `target`: in restricted
    /// loading, never on a global (a listed list or dict, say), which the
    /// items would change for the whole program. What opcodes and allowed
    /// calls made is the load's own.
    #[inline(always)]
    pub(super) fn check_fill_target(&self, target: &Bound<'py, PyAny>) -> PyResult<()> {
        if !self.restricted() {
            return Ok(());
        }
        self.check_restricted_fill_target(target)
    }

    #[cold]
    fn check_restricted_fill_target(&self, target: &Bound<'py, PyAny>) -> PyResult<()> {
        if let Some(global) = self.guard.resolved.get(&address(target)) {
            return Err(self.refuse(
                &format!("adding items to the global {}", global.name()),
                "Restricted loading fills only containers the pickle made; a global would change \
                 for every user of it.",
            ));
        }
        Ok(())
    }
}

/// A global [`admit_global`](LoadMachine::admit_global) let through, to
/// note once it resolved.
pub(super) struct Admitted(Resolved);

/// `name` as found on the classes of `obj`'s MRO, never in `obj` itself,
/// bound to `obj` the way attribute lookup binds it (a function becomes a
/// method); None when no class defines it.
fn type_method<'py>(
    obj: &Bound<'py, PyAny>,
    name: &Bound<'py, PyString>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let py = obj.py();
    let class = obj.get_type();
    for base in class.mro().iter() {
        let namespace = base.getattr(pyo3::intern!(py, "__dict__"))?;
        let found = match namespace.get_item(name) {
            Ok(found) => found,
            Err(err) if err.is_instance_of::<PyKeyError>(py) => continue,
            Err(err) => return Err(err),
        };
        return match lookup_attr(&found.get_type(), pyo3::intern!(py, "__get__"))? {
            Some(get) => get.call1((&found, obj, &class)).map(Some),
            None => Ok(Some(found)),
        };
    }
    Ok(None)
}

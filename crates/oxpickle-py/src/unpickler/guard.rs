//! What a load refuses: globals outside the allowlist, calls and BUILDs on
//! anything the allowlist did not provide, and sizes, nesting and memo
//! growth beyond the load's `Limits`.
//!
//! Restricted loading tracks objects by address: every object a check
//! admits is kept alive until the load ends, so an address cannot be
//! reused by another object while the load runs.

use std::collections::HashMap;

use pyo3::exceptions::{PyAttributeError, PyKeyError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyInt, PyList, PyString, PyTuple};

use super::find_class::python3_name;
use super::machine::Machine;
use crate::errors::unsafe_pickle_error;
use crate::ffi::{is_class, lookup_attr};

/// How a call on a resolved global is checked before it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Any arguments.
    Plain,
    /// Ints and int tuples in the arguments are sizes it allocates.
    Sizes,
    /// Allocates an array: the argument at `shape`, times the item size of
    /// the dtype right after it.
    ArrayShape { shape: usize },
    /// `_codecs.encode(text, "latin1")`, as pickle spells bytes; other
    /// codecs are refused.
    Latin1Only,
    /// A number written as text: an exponent would make it compute
    /// 10**exponent, so none is accepted.
    NoExponent,
    /// `copyreg._reconstructor(cls, base, state)`: `base`'s rule, on `state`.
    Reconstructor,
    /// `getattr(global, "name")`, as pickle spells bound class methods
    /// (`ZoneInfo._unpickle`): allowed only when `global.name` is itself
    /// listed, and its result then counts as that listed global.
    ListedAttribute,
}

fn rule_for(module: &str, name: &str) -> Rule {
    match (module, name) {
        ("builtins", "bytes" | "bytearray" | "range") => Rule::Sizes,
        // ndarray(shape, dtype, ...), and ndarray.__new__ through NEWOBJ,
        // whose arguments do not include the class.
        ("numpy", "ndarray") => Rule::ArrayShape { shape: 0 },
        // (subtype, shape, dtype)
        ("numpy.core.multiarray" | "numpy._core.multiarray", "_reconstruct") => {
            Rule::ArrayShape { shape: 1 }
        }
        // (subtype, baseclass, baseshape, basetype)
        ("numpy.ma.core", "_mareconstruct") => Rule::ArrayShape { shape: 2 },
        ("_codecs", "encode") => Rule::Latin1Only,
        ("fractions", "Fraction") => Rule::NoExponent,
        ("copyreg", "_reconstructor") => Rule::Reconstructor,
        ("builtins", "getattr") => Rule::ListedAttribute,
        _ => Rule::Plain,
    }
}

/// A global the allowlist let through.
struct Resolved {
    module: String,
    qualname: String,
    rule: Rule,
}

impl Resolved {
    fn name(&self) -> String {
        format!("{}.{}", self.module, self.qualname)
    }
}

/// What a call the checks let through makes: a plain object, or (from
/// `getattr`) a listed global.
pub enum CallResult {
    /// An object, made by a callable checked under this rule.
    Made(Rule),
    Global(String, String),
}

/// The state of one load's checks.
#[derive(Default)]
pub struct Guard<'py> {
    /// Objects resolved from the allowlist, by address.
    resolved: HashMap<usize, Resolved>,
    /// Objects made by calls on resolved objects, with the rule of what
    /// made them: what BUILD may act on.
    made: HashMap<usize, Rule>,
    /// Keeps the objects above alive, so their addresses stay theirs.
    keep: Vec<Bound<'py, PyAny>>,
    /// Sizes asked for by calls so far.
    asked: u64,
}

fn address(obj: &Bound<'_, PyAny>) -> usize {
    obj.as_ptr() as usize
}

impl<'py> Machine<'py, '_> {
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
    /// under the name Python 3 would import.
    pub(super) fn admit_global(
        &self,
        module: &Bound<'py, PyAny>,
        name: &Bound<'py, PyAny>,
    ) -> PyResult<Option<(String, String)>> {
        let Some(allowlist) = &self.settings.policy.allowlist else {
            return Ok(None);
        };
        let (module, name) = if self.proto < 3 && self.settings.fix_imports {
            python3_name(module, name, self.stdlib)?
        } else {
            (module.clone(), name.clone())
        };
        let text = |part: &Bound<'py, PyAny>| part.str().map(|s| s.to_string_lossy().into_owned());
        let (module, name) = (text(&module)?, text(&name)?);
        // getattr resolves only listed names (see Rule::ListedAttribute).
        let attribute_lookup = (module.as_str(), name.as_str()) == ("builtins", "getattr");
        if !attribute_lookup && !allowlist.allows(&module, &name) {
            return Err(self.refuse(
                &format!("global '{module}.{name}' is not allowed"),
                &format!(
                    "Nothing outside allow= is imported. If you trust this pickle's use of it, \
                     add \"{module}:{name}\" to allow="
                ),
            ));
        }
        Ok(Some((module, name)))
    }

    /// After an admitted global resolved.
    pub(super) fn note_resolved(&mut self, obj: &Bound<'py, PyAny>, names: (String, String)) {
        let (module, qualname) = names;
        let rule = rule_for(&module, &qualname);
        self.guard.resolved.insert(address(obj), Resolved { module, qualname, rule });
        self.guard.keep.push(obj.clone());
    }

    /// After a call that `check_call` let through returned `obj`.
    pub(super) fn note_result(&mut self, obj: &Bound<'py, PyAny>, result: CallResult) {
        if !self.restricted() {
            return;
        }
        match result {
            CallResult::Made(rule) => {
                self.guard.made.insert(address(obj), rule);
                self.guard.keep.push(obj.clone());
            }
            CallResult::Global(module, qualname) => self.note_resolved(obj, (module, qualname)),
        }
    }

    /// Before REDUCE, NEWOBJ(_EX), INST or OBJ calls `callable` with `args`.
    /// `kwargs` are NEWOBJ_EX's keyword arguments.
    pub(super) fn check_call(
        &mut self,
        callable: &Bound<'py, PyAny>,
        args: &Bound<'py, PyAny>,
        kwargs: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<CallResult> {
        let Ok(args) = args.cast::<PyTuple>() else {
            // The call itself fails with the stdlib's TypeError.
            return Ok(CallResult::Made(Rule::Plain));
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
            return Ok(CallResult::Made(Rule::Plain));
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
        if kwargs.is_some() && rule != Rule::Plain {
            // Pickle passes these callables positional arguments only, which
            // is what their checks read.
            return Err(self.refuse(
                &format!("{name} with keyword arguments"),
                "Restricted loading calls it only as pickle writes it, without keywords.",
            ));
        }
        if rule == Rule::ListedAttribute {
            return self.listed_attribute(args);
        }
        self.check_rule(rule, &name, args)?;
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
        let qualname = format!("{}.{}", owner.qualname, attribute.to_string_lossy());
        let allowed = self
            .settings
            .policy
            .allowlist
            .as_ref()
            .is_some_and(|allowlist| allowlist.allows(&owner.module, &qualname));
        if !allowed {
            return Err(self.refuse(
                &format!("getattr for '{}.{qualname}', which is not allowed", owner.module),
                &format!(
                    "If you trust this pickle's use of it, add \"{}:{qualname}\" to allow=",
                    owner.module
                ),
            ));
        }
        Ok(CallResult::Global(owner.module.clone(), qualname))
    }

    fn check_rule(&mut self, rule: Rule, name: &str, args: &Bound<'py, PyTuple>) -> PyResult<()> {
        match rule {
            // getattr as a base is not a class: the call fails by itself.
            Rule::Plain | Rule::ListedAttribute => Ok(()),
            Rule::Sizes => self.check_sizes(args, name),
            Rule::ArrayShape { shape } => self.check_array_shape(args, shape, name),
            Rule::Latin1Only => {
                let codec = args.get_item(1).ok();
                let codec = codec.as_ref().and_then(|c| c.cast::<PyString>().ok());
                match codec.map(|c| c.to_string_lossy().into_owned()).as_deref() {
                    Some("latin1" | "latin-1") => Ok(()),
                    _ => Err(self.refuse(
                        &format!("{name} is allowed only with the codec 'latin1'"),
                        "Pickle spells bytes that way; other codecs are refused.",
                    )),
                }
            }
            Rule::NoExponent => {
                for arg in args.iter() {
                    let Ok(text) = arg.cast::<PyString>() else { continue };
                    if text.to_string_lossy().contains(['e', 'E']) {
                        return Err(self.refuse(
                            &format!("{name} of text with an exponent would compute 10**exponent"),
                            "Pickle writes fractions as 'n/d'; exponents are refused.",
                        ));
                    }
                }
                Ok(())
            }
            Rule::Reconstructor => {
                let (Ok(base), Ok(state)) = (args.get_item(1), args.get_item(2)) else {
                    return Ok(()); // Wrong arity fails in the call.
                };
                let Some(base) = self.guard.resolved.get(&address(&base)) else {
                    return Err(self.refuse(
                        &format!("{name} with a base that did not come from the allowlist"),
                        "Restricted loading calls only globals allow= lists.",
                    ));
                };
                let (rule, base_name) = (base.rule, base.name());
                let state = PyTuple::new(self.py, [state])?;
                self.check_rule(rule, &base_name, &state)
            }
        }
    }

    /// Whether `callable` is bytes, bytearray or a subclass: what a
    /// trusted load still may not ask for a huge size.
    fn stdlib_allocator(&self, callable: &Bound<'py, PyAny>) -> bool {
        if !is_class(callable) {
            return false;
        }
        let class = callable.as_ptr().cast::<ffi::PyTypeObject>();
        // SAFETY: `class` is a type object; both bases are static types.
        unsafe {
            ffi::PyType_IsSubtype(class, std::ptr::addr_of_mut!(ffi::PyBytes_Type)) != 0
                || ffi::PyType_IsSubtype(class, std::ptr::addr_of_mut!(ffi::PyByteArray_Type)) != 0
        }
    }

    /// Every int argument is a size the call allocates (a length, or a
    /// range's bounds, which `list(range(...))` would allocate).
    fn check_sizes(&mut self, args: &Bound<'py, PyTuple>, name: &str) -> PyResult<()> {
        for arg in args.iter() {
            if let Ok(int) = arg.cast::<PyInt>() {
                self.ask(magnitude(int), name)?;
            }
        }
        Ok(())
    }

    /// A shape at `args[at]` and a dtype after it, as NumPy's constructors
    /// take them.
    fn check_array_shape(
        &mut self,
        args: &Bound<'py, PyTuple>,
        at: usize,
        name: &str,
    ) -> PyResult<()> {
        let Some(elements) = args.get_item(at).ok().and_then(|shape| shape_size(&shape)) else {
            return Ok(()); // Not a shape: ndarray.__new__ rejects it itself.
        };
        // NumPy's own pickles pass a one-character typecode (b'b' or 'b');
        // no such code names an item over 32 bytes.
        const LARGEST_TYPECODE_ITEM: u64 = 32;
        let item_size = match args.get_item(at + 1) {
            Err(_) => 1,
            Ok(dtype) if typecode_len(&dtype) == Some(1) => LARGEST_TYPECODE_ITEM,
            Ok(dtype) => match lookup_attr(&dtype, pyo3::intern!(self.py, "itemsize"))? {
                Some(size) => size.extract::<u64>().unwrap_or(u64::MAX),
                None => {
                    return Err(self.refuse(
                        &format!("{name} with a dtype given as {}", dtype.get_type().name()?),
                        "Restricted loading accepts array dtypes only as dtype objects.",
                    ))
                }
            },
        };
        self.ask(elements.saturating_mul(item_size.max(1)), name)
    }

    /// Counts `size` against the one-allocation and total limits.
    fn ask(&mut self, size: u64, name: &str) -> PyResult<()> {
        let limits = self.settings.policy.limits;
        let total = self.guard.asked.saturating_add(size);
        let budget = limits.allocation_budget(self.at.1);
        if size > limits.max_allocation {
            return Err(self.refuse(
                &format!(
                    "{name} asks for {size} items or bytes, over the limit of {}",
                    limits.max_allocation
                ),
                "If it is trusted, raise Limits(max_allocation=...).",
            ));
        }
        if total > budget {
            return Err(self.refuse(
                &format!(
                    "calls ask for {total} items or bytes in all, over {budget} for {} bytes of input",
                    self.at.1
                ),
                "If it is trusted, raise Limits(allocation_ratio=...).",
            ));
        }
        self.guard.asked = total;
        Ok(())
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

    /// BUILD on `target`: in restricted loading, only on what an allowed
    /// call made, and for arrays only with state that matches its shape.
    pub(super) fn check_build(
        &self,
        target: &Bound<'py, PyAny>,
        state: &Bound<'py, PyAny>,
    ) -> PyResult<()> {
        if !self.restricted() {
            return Ok(());
        }
        match self.guard.made.get(&address(target)) {
            None => Err(self.refuse(
                &format!("BUILD on a {} that no allowed call made", target.get_type().name()?),
                "Restricted loading sets state only on objects made by allow= globals.",
            )),
            Some(Rule::ArrayShape { .. }) => self.check_array_state(state),
            Some(_) => Ok(()),
        }
    }

    /// An array's state, `([version,] shape, dtype, is_fortran, data, …)`:
    /// NumPy checks bytes data against the shape but reads object data (a
    /// list) as long as the shape says, past the list's end.
    fn check_array_state(&self, state: &Bound<'py, PyAny>) -> PyResult<()> {
        let Ok(state) = state.cast::<PyTuple>() else {
            return Ok(()); // NumPy rejects it.
        };
        let (shape_at, data_at) = match state.len() {
            4 => (0, 3),
            5 | 7 => (1, 4),
            _ => return Ok(()),
        };
        let (Ok(shape), Ok(data)) = (state.get_item(shape_at), state.get_item(data_at)) else {
            return Ok(());
        };
        let Ok(items) = data.cast::<PyList>() else {
            return Ok(());
        };
        if shape_size(&shape) != Some(items.len() as u64) {
            return Err(self.refuse(
                &format!("BUILD of an array of shape {} from {} items", shape.repr()?, items.len()),
                "The array's state does not match its shape.",
            ));
        }
        Ok(())
    }
}

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

/// The number of elements a shape asks for: an int, or the product of a
/// tuple or list of ints; None for anything else. Sizes past u64 saturate.
fn shape_size(shape: &Bound<'_, PyAny>) -> Option<u64> {
    if let Ok(int) = shape.cast::<PyInt>() {
        return Some(magnitude(int));
    }
    let items: Vec<Bound<'_, PyAny>> = if let Ok(tuple) = shape.cast::<PyTuple>() {
        tuple.iter().collect()
    } else if let Ok(list) = shape.cast::<PyList>() {
        list.iter().collect()
    } else {
        return None;
    };
    items.iter().try_fold(1u64, |product, item| {
        Some(product.saturating_mul(magnitude(item.cast::<PyInt>().ok()?)))
    })
}

/// The length of a typecode given as str or bytes; None for anything else.
fn typecode_len(dtype: &Bound<'_, PyAny>) -> Option<usize> {
    if let Ok(bytes) = dtype.cast::<PyBytes>() {
        return Some(bytes.as_bytes().len());
    }
    dtype.cast::<PyString>().ok().and_then(|text| text.to_str().ok().map(|t| t.chars().count()))
}

/// An int's magnitude, saturating at u64::MAX.
fn magnitude(int: &Bound<'_, PyInt>) -> u64 {
    match int.extract::<i128>() {
        Ok(value) => u64::try_from(value.unsigned_abs()).unwrap_or(u64::MAX),
        Err(_) => u64::MAX,
    }
}

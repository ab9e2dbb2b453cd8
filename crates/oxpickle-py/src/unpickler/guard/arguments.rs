//! The argument rules of the profile table (`oxpickle_core::ArgumentRule`),
//! applied to the real arguments of a call before it runs, and the sizes
//! they ask for counted against the load's limits.

use oxpickle_core::{allowlist, ArgumentRule};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyInt, PyList, PyString, PyTuple};

use super::address;
use crate::ffi::{is_class, lookup_attr};
use crate::unpickler::machine::LoadMachine;

impl<'py> LoadMachine<'py, '_> {
    /// `args` of a call on `name`, under `rule`.
    pub(super) fn check_arguments(
        &mut self,
        rule: ArgumentRule,
        name: &str,
        args: &Bound<'py, PyTuple>,
    ) -> PyResult<()> {
        match rule {
            // getattr as a base is not a class: the call fails by itself.
            ArgumentRule::Any | ArgumentRule::ListedAttribute => Ok(()),
            ArgumentRule::Sizes => self.check_sizes(args, name),
            ArgumentRule::ArrayShape { shape } => self.check_array_shape(args, shape, name),
            ArgumentRule::Latin1Only => {
                let codec = args.get_item(1).ok();
                let codec = codec.as_ref().and_then(|c| c.cast::<PyString>().ok());
                if codec.is_some_and(|c| allowlist::is_latin1(&c.to_string_lossy())) {
                    return Ok(());
                }
                Err(self.refuse(
                    &format!("{name} is allowed only with the codec 'latin1'"),
                    "Pickle spells bytes that way; other codecs are refused.",
                ))
            }
            ArgumentRule::NoExponent => {
                for arg in args.iter() {
                    let Ok(text) = arg.cast::<PyString>() else { continue };
                    if allowlist::has_exponent(&text.to_string_lossy()) {
                        return Err(self.refuse(
                            &format!("{name} of text with an exponent would compute 10**exponent"),
                            "Pickle writes fractions as 'n/d'; exponents are refused.",
                        ));
                    }
                }
                Ok(())
            }
            ArgumentRule::Reconstructor => {
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
                self.check_arguments(rule, &base_name, &state)
            }
        }
    }

    /// Whether `callable` is bytes, bytearray or a subclass: what a
    /// trusted load still may not ask for a huge size.
    pub(super) fn stdlib_allocator(&self, callable: &Bound<'py, PyAny>) -> bool {
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
    pub(super) fn check_sizes(&mut self, args: &Bound<'py, PyTuple>, name: &str) -> PyResult<()> {
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
        let item_size = match args.get_item(at + 1) {
            Err(_) => 1,
            Ok(dtype) if typecode_len(&dtype) == Some(1) => allowlist::LARGEST_TYPECODE_ITEM,
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

    /// An array's state, `([version,] shape, dtype, is_fortran, data, …)`,
    /// for `__setstate__` on what an [`ArgumentRule::ArrayShape`] call
    /// made: NumPy checks bytes data against the shape but reads object
    /// data (a list) as long as the shape says, past the list's end.
    pub(super) fn check_array_state(&self, state: &Bound<'py, PyAny>) -> PyResult<()> {
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

//! A function's annotations from 3.14 (PEP 649): an `__annotate__`
//! function computes them when first asked for, and travels by value so
//! the receiver computes them as lazily, in every format.
//!
//! One kind is a plain value in disguise: an `__annotate__` that reads no
//! global, builtin or closure cell, only its own constants. That is what
//! `from __future__ import annotations` compiles (strings only), and what
//! literal annotations (`x: 1`) compile. Calling it runs nothing of the
//! program's, and what it returns is what every later call returns, so it
//! travels as that dict, as annotations did before 3.14: a fraction of the
//! bytes and time of a function by value (one per closure), and the
//! receiver gets the same `__annotations__`, with `__annotate__` None.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyFunction, PyInt, PyString, PyTuple};

use crate::pickler::dumper::Dumper;

/// `annotationlib.Format.VALUE`.
const VALUE_FORMAT: u8 = 1;

impl<'py> Dumper<'py, '_> {
    /// The annotations dict `annotate` stands for when it reads only its
    /// own constants; None when it may read anything else, and must travel
    /// as the function it is.
    pub(super) fn constant_annotations(
        &mut self,
        annotate: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        let py = self.py;
        if !annotate.is_exact_instance_of::<PyFunction>() {
            return Ok(None);
        }
        let code = annotate.getattr(pyo3::intern!(py, "__code__"))?;
        let known = self.byvalue.constant_codes.get(&(code.as_ptr() as usize)).copied();
        let constant = match known {
            Some(constant) => constant,
            None => {
                let constant = reads_only_constants(&code)?;
                self.byvalue.constant_codes.insert(code.as_ptr() as usize, constant);
                constant
            }
        };
        if !constant {
            return Ok(None);
        }
        // A failing or odd call leaves the function to travel as it is.
        match annotate.call1((VALUE_FORMAT,)) {
            Ok(result) => Ok(result.cast_into_exact::<PyDict>().ok()),
            Err(_) => Ok(None),
        }
    }
}

/// Whether `code` reads no name and no cell, and holds only plain constants.
fn reads_only_constants(code: &Bound<'_, PyAny>) -> PyResult<bool> {
    for reads in ["co_names", "co_freevars", "co_cellvars"] {
        if code.getattr(reads)?.len()? > 0 {
            return Ok(false);
        }
    }
    let constants = code.getattr(pyo3::intern!(code.py(), "co_consts"))?;
    let mut all_plain = true;
    for constant in constants.try_iter()? {
        all_plain &= is_plain(&constant?);
    }
    Ok(all_plain)
}

/// A constant that using runs no code of the program's: a scalar, text,
/// bytes, or a tuple of those.
fn is_plain(constant: &Bound<'_, PyAny>) -> bool {
    if constant.is_none()
        || constant.is_exact_instance_of::<PyBool>()
        || constant.is_exact_instance_of::<PyInt>()
        || constant.is_exact_instance_of::<PyFloat>()
        || constant.is_exact_instance_of::<PyString>()
        || constant.is_exact_instance_of::<PyBytes>()
    {
        return true;
    }
    constant.cast_exact::<PyTuple>().is_ok_and(|items| items.iter().all(|item| is_plain(&item)))
}

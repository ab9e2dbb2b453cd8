//! Code objects by value, and the globals a code object uses.

use std::collections::HashSet;

use oxpickle_core::Op;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString, PyTuple};

use super::helpers::{ByValueHelpers, CHECK_PYTHON};
use crate::ffi::bytes_data;
use crate::pickler::dumper::Dumper;

/// The `co_filename` that deterministic mode writes for every code object.
const DETERMINISTIC_FILENAME: &str = "<dynamic-code>";

impl<'py> Dumper<'py, '_> {
    /// `types.CodeType(*fields)`, after a once-per-pickle check that the
    /// loading Python is the one the bytecode was compiled for.
    pub(in crate::pickler) fn save_code(&mut self, code: &Bound<'py, PyAny>) -> PyResult<()> {
        let helpers = ByValueHelpers::get(self.py)?;
        if !self.byvalue.python_checked {
            self.save_named_global(CHECK_PYTHON.0, CHECK_PYTHON.1)?;
            self.tuple_start(1);
            self.save(helpers.python_tag.bind(self.py).as_any())?;
            self.tuple_end(1);
            self.out.enc.op(Op::Reduce);
            self.out.enc.op(Op::Pop);
            self.byvalue.python_checked = true;
        }
        self.save_named_global("types", "CodeType")?;
        self.out.enc.op(Op::Mark);
        for (index, field) in helpers.code_fields.iter().enumerate() {
            if self.deterministic && index == helpers.filename_field {
                // Where the code was compiled differs between processes
                // (a notebook kernel's cell file, a checkout's path); the
                // bytes must not. Tracebacks show this name instead.
                self.save(pyo3::intern!(self.py, DETERMINISTIC_FILENAME).as_any())?;
                continue;
            }
            self.save(&code.getattr(field.bind(self.py))?)?;
        }
        self.out.enc.op(Op::Tuple);
        self.out.enc.op(Op::Reduce);
        self.memoize_always(code)
    }

    /// The global names a code object reads, writes or deletes, nested code
    /// included, in first-use order; cached per code object for the dump.
    pub(super) fn code_global_names(
        &mut self,
        code: &Bound<'py, PyAny>,
    ) -> PyResult<Vec<Bound<'py, PyString>>> {
        let key = code.as_ptr() as usize;
        if let Some(names) = self.byvalue.code_globals.get(&key) {
            return Ok(names.iter().map(|name| name.bind(self.py).clone()).collect());
        }
        let helpers = ByValueHelpers::get(self.py)?;
        let mut names: Vec<Bound<'py, PyString>> = Vec::new();
        collect_global_names(code, helpers, &mut names, &mut HashSet::new())?;
        self.byvalue.code_globals.insert(key, names.iter().map(|n| n.clone().unbind()).collect());
        Ok(names)
    }
}

/// Walks the bytecode of `code` and of the code objects among its
/// constants, adding each global name not seen yet.
fn collect_global_names<'py>(
    code: &Bound<'py, PyAny>,
    helpers: &ByValueHelpers,
    names: &mut Vec<Bound<'py, PyString>>,
    seen: &mut HashSet<String>,
) -> PyResult<()> {
    let py = code.py();
    let bytecode = code.getattr(pyo3::intern!(py, "co_code"))?;
    let co_names = code.getattr(pyo3::intern!(py, "co_names"))?;
    let co_names = co_names.cast::<PyTuple>()?;
    let mut extended: usize = 0;
    for unit in bytes_data(bytecode.cast::<PyBytes>()?.as_any()).chunks_exact(2) {
        let (opcode, arg) = (unit[0], usize::from(unit[1]));
        if opcode == helpers.extended_arg {
            extended = (extended | arg) << 8;
            continue;
        }
        let full = extended | arg;
        extended = 0;
        let Some(shift) = helpers.global_ops[usize::from(opcode)] else { continue };
        let Ok(name) = co_names.get_item(full >> shift) else { continue };
        let name = name.cast_into::<PyString>()?;
        if seen.insert(name.to_str()?.to_owned()) {
            names.push(name);
        }
    }
    let consts = code.getattr(pyo3::intern!(py, "co_consts"))?;
    for constant in consts.cast::<PyTuple>()?.iter() {
        if constant.get_type_ptr() == code.get_type_ptr() {
            collect_global_names(&constant, helpers, names, seen)?;
        }
    }
    Ok(())
}

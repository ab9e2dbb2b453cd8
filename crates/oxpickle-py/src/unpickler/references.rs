//! Opcodes that refer to something outside the stack: memo slots, globals
//! by name, copyreg extension codes and persistent ids.

use oxpickle_core::Arg;
use pyo3::exceptions::PyValueError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};

use super::find_class::find_class;
use super::machine::LoadMachine;
use super::scalars::parse_int;
use crate::ffi::owned;

impl<'py> LoadMachine<'py, '_> {
    /// A memo index: binary, or a decimal line (GET/PUT).
    #[inline(always)]
    fn memo_index(&self, arg: Arg<'_>, what: &str) -> PyResult<usize> {
        match arg {
            Arg::Uint(index) => {
                usize::try_from(index).map_err(|_| self.fail("memo index too large"))
            }
            Arg::Line(line) => {
                if line.is_empty() {
                    return Err(self.fail("pickle data was truncated"));
                }
                let index: i64 = parse_int(self.py, line, 10)?.extract()?;
                usize::try_from(index)
                    .map_err(|_| PyValueError::new_err(format!("negative {what} argument")))
            }
            _ => Err(self.fail("bad argument")),
        }
    }

    #[inline(always)]
    pub(super) fn load_get(&mut self, arg: Arg<'_>) -> PyResult<()> {
        let index = self.memo_index(arg, "GET")?;
        let Some(obj) = self.memo.get(index) else {
            return Err(self.fail(&format!("Memo value not found at index {index}")));
        };
        let obj = obj.bind(self.py).clone();
        self.push(obj);
        Ok(())
    }

    /// MEMOIZE: the top of the stack into the next memo slot.
    #[inline(always)]
    pub(super) fn load_memoize(&mut self) -> PyResult<()> {
        self.check_memo(self.memo.len())?;
        let top = self.top()?.clone().unbind();
        self.memo.push(top);
        Ok(())
    }

    pub(super) fn load_put(&mut self, arg: Arg<'_>) -> PyResult<()> {
        let index = self.memo_index(arg, "PUT")?;
        self.check_memo(index)?;
        let top = self.top()?.clone().unbind();
        self.memo.put(index, top);
        Ok(())
    }

    /// EXT1/EXT2/EXT4: an object registered with copyreg.add_extension.
    pub(super) fn load_ext(&mut self, arg: Arg<'_>) -> PyResult<()> {
        let py = self.py;
        let code = match arg {
            Arg::Uint(code) => i64::try_from(code).unwrap_or(i64::MAX),
            Arg::Int(code) => i64::from(code),
            _ => return Err(self.fail("bad argument")),
        };
        if code <= 0 {
            return Err(self.fail("EXT specifies code <= 0"));
        }
        let cache = self.stdlib.extension_cache.bind(py);
        // Restricted loading checks every name, cached or not.
        if let Some(obj) =
            cache.get_item(code)?.filter(|_| self.settings.policy.allowlist.is_none())
        {
            self.push(obj);
            return Ok(());
        }
        let Some(pair) = self.stdlib.inverted_registry.bind(py).get_item(code)? else {
            return Err(PyValueError::new_err(format!("unregistered extension code {code}")));
        };
        let names = pair
            .cast::<PyTuple>()
            .ok()
            .filter(|pair| pair.len() == 2)
            .and_then(|pair| Some((pair.get_item(0).ok()?, pair.get_item(1).ok()?)))
            .filter(|(module, name)| {
                module.is_instance_of::<PyString>() && name.is_instance_of::<PyString>()
            });
        let Some((module, name)) = names else {
            return Err(PyValueError::new_err(format!(
                "_inverted_registry[{code}] isn't a 2-tuple of strings"
            )));
        };
        let obj = self.find_class(&module, &name)?;
        cache.set_item(code, &obj)?;
        self.push(obj);
        Ok(())
    }

    /// GLOBAL: module and name on two lines, UTF-8.
    pub(super) fn load_global(&mut self, arg: Arg<'_>) -> PyResult<()> {
        let Arg::Pair(module, name) = arg else {
            return Err(self.fail("bad argument"));
        };
        let (module, name) = (self.name_line(module, false)?, self.name_line(name, false)?);
        let obj = self.find_class(&module, &name)?;
        self.push(obj);
        Ok(())
    }

    /// STACK_GLOBAL: module and name from the stack, exact strs.
    pub(super) fn load_stack_global(&mut self) -> PyResult<()> {
        let name = self.pop()?;
        let module = self.pop()?;
        if !module.is_exact_instance_of::<PyString>() || !name.is_exact_instance_of::<PyString>() {
            return Err(self.fail("STACK_GLOBAL requires str"));
        }
        let obj = self.find_class(&module, &name)?;
        self.push(obj);
        Ok(())
    }

    /// A module or class name line: UTF-8 for GLOBAL, ASCII for INST.
    pub(super) fn name_line(&self, line: &[u8], ascii: bool) -> PyResult<Bound<'py, PyAny>> {
        if line.is_empty() {
            return Err(self.fail("pickle data was truncated"));
        }
        let len = line.len() as ffi::Py_ssize_t;
        // SAFETY: the pointer and length describe `line`.
        let text = unsafe {
            if ascii {
                ffi::PyUnicode_DecodeASCII(line.as_ptr().cast(), len, c"strict".as_ptr())
            } else {
                ffi::PyUnicode_DecodeUTF8(line.as_ptr().cast(), len, c"strict".as_ptr())
            }
        };
        owned(self.py, text)
    }

    /// Resolves a global through the Unpickler's `find_class`: a subclass's
    /// override when there is one, else the built-in lookup. Restricted
    /// loading resolves only what the allowlist names.
    pub(super) fn find_class(
        &mut self,
        module: &Bound<'py, PyAny>,
        name: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let admitted = self.admit_global(module, name)?;
        let obj = match &self.hooks.find_class {
            Some(find_class) => find_class.call1((module, name))?,
            None => find_class(module, name, self.proto, self.settings.fix_imports, self.stdlib)?,
        };
        if let Some(names) = admitted {
            self.note_resolved(&obj, names);
        }
        Ok(obj)
    }

    /// PERSID: an ASCII line handed to `persistent_load`.
    pub(super) fn load_persid(&mut self, arg: Arg<'_>) -> PyResult<()> {
        let Arg::Line(line) = arg else {
            return Err(self.fail("bad argument"));
        };
        if !line.is_ascii() {
            return Err(self.fail_verbatim("persistent IDs in protocol 0 must be ASCII strings"));
        }
        let pid = PyString::new(self.py, std::str::from_utf8(line).unwrap_or_default());
        self.persistent_load(pid.into_any())
    }

    pub(super) fn persistent_load(&mut self, pid: Bound<'py, PyAny>) -> PyResult<()> {
        let Some(persistent_load) = &self.hooks.persistent_load else {
            if self.settings.policy.allowlist.is_some() {
                return Err(self.refuse_persistent_id());
            }
            return Err(self.fail(
                "A load persistent id instruction was encountered, but no persistent_load function was specified.",
            ));
        };
        let obj = persistent_load.call1((pid,))?;
        self.push(obj);
        Ok(())
    }
}

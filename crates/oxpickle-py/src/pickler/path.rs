//! Where in the object graph a dump failed.
//!
//! Nothing is recorded while pickling succeeds. When an error unwinds,
//! each container or reduce frame it passes adds the step that led into
//! it, so the dump can report `root['jobs'][2].conn` instead of a bare
//! type name.

use pyo3::exceptions::{PyMemoryError, PyRecursionError, PyTypeError};
use pyo3::prelude::*;

use super::dumper::Dumper;
use super::global::repr;
use crate::errors::{deep_recursion_error, pickling_error, unpicklable_error, with_note};

/// One step from a container (or a reduced object) to a part of it.
#[derive(Clone, Debug)]
pub enum Step {
    /// A list or tuple item.
    Index(usize),
    /// The value under a dict key (the key's repr).
    Value(String),
    /// A dict key itself (its repr).
    Key(String),
    /// An item of a set or frozenset.
    SetItem,
    /// An attribute, from an instance's state or a function's members.
    Attr(String),
    /// The arguments a reducer gave (`__reduce__()[1]`).
    ReduceArgs,
    /// The state a reducer gave (`__reduce__()[2]`), usually `__dict__`.
    ReduceState,
    /// Items a reducer gave to append or set (`__reduce__()[3]` / `[4]`).
    ReduceItems,
    /// A global a by-value function uses.
    Global(String),
    /// A closure variable of a by-value function.
    Closure(String),
}

/// Renders steps, outermost first, from `root`. An instance's state dict
/// (or the slot dict of a `(dict, slots)` state) reads as attributes.
pub fn render(steps: &[Step]) -> String {
    let mut out = String::from("root");
    let mut i = 0;
    while i < steps.len() {
        match (&steps[i], steps.get(i + 1), steps.get(i + 2)) {
            (Step::ReduceState, Some(Step::Value(key)), _) => {
                out.push_str(&attribute(key));
                i += 2;
                continue;
            }
            (Step::ReduceState, Some(Step::Index(0 | 1)), Some(Step::Value(key))) => {
                out.push_str(&attribute(key));
                i += 3;
                continue;
            }
            (step, _, _) => out.push_str(&render_step(step)),
        }
        i += 1;
    }
    out
}

fn render_step(step: &Step) -> String {
    match step {
        Step::Index(index) => format!("[{index}]"),
        Step::Value(key) => format!("[{key}]"),
        Step::Key(key) => format!("<key {key}>"),
        Step::SetItem => "<set item>".into(),
        Step::Attr(name) => format!(".{name}"),
        Step::ReduceArgs => ".__reduce__()[1]".into(),
        Step::ReduceState => ".__reduce__()[2]".into(),
        Step::ReduceItems => "<reduce items>".into(),
        Step::Global(name) => format!(".__globals__['{name}']"),
        Step::Closure(name) => format!(".<closure {name}>"),
    }
}

/// `'conn'` (a key's repr) as `.conn` when it is an identifier.
fn attribute(key_repr: &str) -> String {
    let name = key_repr.trim_matches('\'');
    let identifier = key_repr.len() == name.len() + 2
        && name.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_alphanumeric() || c == '_');
    if identifier {
        format!(".{name}")
    } else {
        format!(".__dict__[{key_repr}]")
    }
}

/// Paths longer than this are shown by their two ends.
const PATH_SHOWN_CHARS: usize = 400;

/// `path` cut to its first and last characters when it is too long to
/// read (a failure 100,000 containers deep).
fn shortened(path: String) -> String {
    let count = path.chars().count();
    if count <= PATH_SHOWN_CHARS {
        return path;
    }
    let head: String = path.chars().take(PATH_SHOWN_CHARS / 2).collect();
    let tail: String = path.chars().skip(count - PATH_SHOWN_CHARS / 4).collect();
    format!("{head}...({} characters)...{tail}", count - head.len() - tail.len())
}

const RECURSION_HINT: &str = "The object graph nests deeper than sys.getrecursionlimit() \
allows, or a __reduce__, __reduce_ex__, __getstate__ or __getattribute__ calls itself. For \
data that really is this deep, raise the limit with sys.setrecursionlimit().";

const HINT: &str = "Leave it out of what is pickled (a __reduce__ or __getstate__ that omits \
it), or register a reducer for its type with copyreg.pickle() or a Pickler dispatch_table.";

/// CPython 3.14 removed the `__reduce__` of itertools' iterators; before
/// it they pickled (with a DeprecationWarning from 3.12), so code that
/// worked on 3.13 meets this refusal first on 3.14.
const ITERTOOLS_HINT: &str = "Python 3.14 removed pickling from itertools iterators (count, \
cycle, islice, chain and the rest; earlier versions pickled them with a DeprecationWarning). \
Pickle what rebuilds the iterator instead: the values still wanted (a list), or the arguments \
to make a new one (for count(), its next value and step).";

/// What to do about an object the pickler refused, read from the refusal.
fn hint_for(refusal: &str) -> &'static str {
    if refusal.starts_with("cannot pickle 'itertools.") {
        ITERTOOLS_HINT
    } else {
        HINT
    }
}

impl<'py> Dumper<'py, '_> {
    /// Records the step an error is unwinding through; returns the error.
    #[cold]
    pub fn unwinding(&mut self, err: PyErr, step: impl FnOnce() -> Step) -> PyErr {
        if !out_of_memory(self.py, &err) {
            self.error_path.push(step());
        }
        err
    }

    /// Records the type of the object an error came from, at the first
    /// (innermost) frame that sees it.
    #[cold]
    pub fn failed_at(&mut self, err: PyErr, obj: &Bound<'py, PyAny>) -> PyErr {
        if self.error_origin.is_none() && !out_of_memory(self.py, &err) {
            self.error_origin = Some(super::dumper::type_name(obj));
        }
        err
    }

    /// The error a failed dump raises: "cannot pickle" failures become a
    /// PicklingError saying which object, where, and what to do; other
    /// errors keep their type and get the path as a note.
    #[cold]
    pub fn describe_failure(&mut self, err: PyErr) -> PyErr {
        let py = self.py;
        if out_of_memory(py, &err) {
            self.error_path = Vec::new();
            self.error_origin = None;
            return err;
        }
        let mut steps = std::mem::take(&mut self.error_path);
        steps.reverse();
        let path = shortened(render(&steps));
        let origin = self.error_origin.take().unwrap_or_else(|| "?".into());
        let is_pickling_error = err.is_instance(py, self.stdlib.pickling_error.bind(py));
        // CPython's own refusal, whose exact text callers test for.
        let verbatim = std::mem::take(&mut self.error_verbatim);
        if err.is_instance_of::<PyRecursionError>(py) && !is_pickling_error {
            let original = err.value(py).str().map(|s| s.to_string()).unwrap_or_default();
            let message = format!(
                "deep recursion while pickling a '{origin}' object at {path}: {original}\n\
                 {RECURSION_HINT}"
            );
            let described = deep_recursion_error(py, message);
            described.set_cause(py, Some(err));
            return described;
        }
        let is_type_error = err.is_instance_of::<PyTypeError>(py);
        if verbatim || (!is_type_error && !is_pickling_error) {
            return with_note(
                py,
                err,
                format!("raised while pickling {path} (a '{origin}' object)"),
            );
        }
        let original = err.value(py).str().map(|s| s.to_string()).unwrap_or_default();
        let what = if original.starts_with("cannot pickle") || original.starts_with("Can't pickle")
        {
            format!("{original} at {path}")
        } else {
            format!("cannot pickle '{origin}' object at {path}: {original}")
        };
        let message = format!("{what}\n{}", hint_for(&original));
        let described = if is_type_error {
            unpicklable_error(py, message)
        } else {
            pickling_error(py, message)
        };
        described.set_cause(py, Some(err));
        described
    }
}

/// A MemoryError goes up as it is, with no path: recording or wording one
/// takes memory, and a Rust allocation that fails aborts the process.
fn out_of_memory(py: Python<'_>, err: &PyErr) -> bool {
    err.is_instance_of::<PyMemoryError>(py)
}

/// The repr of a dict key for a path, kept short.
pub fn key_repr(key: &Bound<'_, PyAny>) -> String {
    let text = repr(key);
    if text.chars().count() > 60 {
        let short: String = text.chars().take(57).collect();
        format!("{short}...")
    } else {
        text
    }
}

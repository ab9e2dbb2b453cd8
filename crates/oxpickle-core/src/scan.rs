//! A static scanner: what loading a pickle would import and run, found by
//! running it on the value machine, which imports and runs nothing.
//!
//! Every global a stream names (GLOBAL, STACK_GLOBAL, INST) is an
//! [`Import`], under the name Python 3 would import (Python 2 names are
//! mapped below protocol 3, as CPython's unpickler maps them). An import
//! is [`Verdict::Safe`] when the [`Allowlist`] allows it,
//! [`Verdict::Dangerous`] when it is a known path to code execution,
//! processes, files or the network (see [`danger`]), and
//! [`Verdict::Unknown`] otherwise. What a stream decides only at load time
//! (a global named by computed values, an EXT code, a call of a computed
//! value, a BUILD that rewrites an imported object) is a [`Note`] and
//! never safe; persistent ids are noted, since the loading program's
//! `persistent_load` resolves them, not the stream.
//!
//! A file may hold several pickles one after another (repeated
//! `pickle.dump` calls, the legacy PyTorch format): [`scan`] reads them
//! all, up to where the bytes stop being a pickle. CPython runs opcodes as
//! it reads them, so a stream that breaks part-way still counts for what
//! it named before the break.
//!
//! ```
//! use oxpickle_core::scan::{scan, Verdict};
//! use oxpickle_core::Allowlist;
//!
//! // pickle.dumps(os.system, protocol=0) on Linux, then a call of it
//! let found = scan(b"cposix\nsystem\n(S'id'\ntR.", &Allowlist::new());
//! assert_eq!(found.verdict(), Verdict::Dangerous);
//! assert_eq!(found.streams[0].imports[0].qualified(), "posix.system");
//! ```

mod calls;
mod danger;
mod findings;
mod python2;

use std::fmt;

use crate::allowlist::Allowlist;
use crate::decode::{Arg, Instructions};
use crate::limits::ValueLimits;
use crate::op::Op;
use crate::text::version_dependent_int;
use crate::value::{run_at, Fault, LoadError};

pub use calls::INSTANCE_METHODS;
pub use danger::danger;
pub use python2::python3_name;

/// How far a stream, a file, or one of their findings can be trusted.
/// Ordered: a stream's verdict is the worst of its findings'.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verdict {
    /// Every global is on the allowlists in effect.
    Safe,
    /// Something outside the allowlists, or decided only at load time.
    Unknown,
    /// A known path to running code, processes, files or the network, or
    /// to exhausting a loader's memory or time.
    Dangerous,
}

impl Verdict {
    /// `safe`, `unknown` or `dangerous`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Safe => "safe",
            Verdict::Unknown => "unknown",
            Verdict::Dangerous => "dangerous",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A global the stream would import.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    /// The module Python 3 would import.
    pub module: String,
    /// The attribute (a dotted path from protocol 4) it would look up.
    pub name: String,
    /// The Python 2 spelling the stream used, when Python 3 maps it.
    pub written: Option<(String, String)>,
    /// Allowed, known dangerous, or neither.
    pub verdict: Verdict,
    /// For a dangerous import, what it can do.
    pub why: Option<&'static str>,
}

impl Import {
    /// `module.name`.
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.module, self.name)
    }
}

/// What a note is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NoteKind {
    /// STACK_GLOBAL on values that are not literal strings: the global
    /// is only known at load time.
    DynamicGlobal,
    /// EXT1/2/4: copyreg's extension registry, not the stream, names the
    /// global.
    Extension,
    /// REDUCE, NEWOBJ or OBJ calls a value made at load time rather than a
    /// named global.
    ComputedCall,
    /// BUILD or SETITEM(S)/APPEND(S) on an imported module, class or
    /// function: the stream rewrites code other code will run.
    ModifiesGlobal,
    /// Persistent ids, which the loading program's `persistent_load`
    /// resolves (PyTorch's storages, for one).
    PersistentId,
    /// An instruction breaks the frame rules: CPython's loaders read the
    /// bytes differently (the C unpickler on a file finds opcodes where
    /// this scan, like `pickle.loads`, reads data), so nothing it found can
    /// vouch for what a load would run. See [`crate::frame`].
    FrameViolation,
    /// A call on an allowed global with literal arguments its rule in the
    /// profile table refuses (`bytearray(2**40)`): restricted loading
    /// refuses it, and the stdlib makes it.
    RefusedArguments,
    /// INT or LONG text that CPython's versions read as different numbers
    /// (`I010`: eight before 3.14, ten from 3.14), which its picklers never
    /// write; restricted loading refuses it.
    VersionDependent,
    /// A BUILD that sets `__setstate__`, `extend`, `append` or `add` on an
    /// object: the stdlib's unpickler calls it at the next BUILD or filling
    /// opcode, with the stream's arguments (see [`INSTANCE_METHODS`]).
    PlantedMethod,
}

impl NoteKind {
    /// A short name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            NoteKind::DynamicGlobal => "dynamic-global",
            NoteKind::Extension => "extension-code",
            NoteKind::ComputedCall => "computed-call",
            NoteKind::ModifiesGlobal => "modifies-global",
            NoteKind::PersistentId => "persistent-id",
            NoteKind::FrameViolation => "frame-violation",
            NoteKind::RefusedArguments => "refused-arguments",
            NoteKind::PlantedMethod => "planted-method",
            NoteKind::VersionDependent => "version-dependent",
        }
    }
}

/// Something a stream decides at load time, or hands to the loader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// What it is about.
    pub kind: NoteKind,
    /// The values involved, rendered (see [`Values::render`](crate::value::Values::render)).
    pub detail: String,
    /// Never safe except for persistent ids.
    pub verdict: Verdict,
}

/// One pickle of the input.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamScan {
    /// Byte offset where it starts.
    pub offset: usize,
    /// The offset just past its STOP, or the error that stopped it.
    pub end: Result<usize, LoadError>,
    /// The last protocol it announced.
    pub protocol: Option<u8>,
    /// Each global it would import, once, in the order named.
    pub imports: Vec<Import>,
    /// What it decides at load time, once each.
    pub notes: Vec<Note>,
}

impl StreamScan {
    /// The worst verdict of its imports and notes.
    pub fn verdict(&self) -> Verdict {
        let imports = self.imports.iter().map(|import| import.verdict);
        let notes = self.notes.iter().map(|note| note.verdict);
        imports.chain(notes).max().unwrap_or(Verdict::Safe)
    }
}

/// Bytes after the last pickle that are not a pickle themselves (the raw
/// storages of a legacy PyTorch file, say).
#[derive(Clone, Debug, PartialEq)]
pub struct Rest {
    /// Where they start.
    pub offset: usize,
    /// Why they do not read as a pickle.
    pub error: LoadError,
}

/// Every pickle of an input.
#[derive(Clone, Debug, PartialEq)]
pub struct Scan {
    /// The pickles, in order. The first is always there; a later stream
    /// that breaks is here only if it named something unsafe first.
    pub streams: Vec<StreamScan>,
    /// Trailing bytes that are not a pickle.
    pub rest: Option<Rest>,
}

impl Scan {
    /// The worst verdict of all streams.
    pub fn verdict(&self) -> Verdict {
        self.streams.iter().map(StreamScan::verdict).max().unwrap_or(Verdict::Safe)
    }

    /// Why the input could not be scanned: its first stream broke before
    /// naming anything unsafe, so it is not a pickle (or a damaged one).
    /// None when the input is readable or already known unsafe.
    pub fn unreadable(&self) -> Option<&LoadError> {
        let first = self.streams.first()?;
        match &first.end {
            Err(error) if self.verdict() == Verdict::Safe => Some(error),
            _ => None,
        }
    }
}

/// Scans every pickle of `input` against `allow`.
pub fn scan(input: &[u8], allow: &Allowlist) -> Scan {
    scan_from(input, 0, allow)
}

/// INT and LONG text of the stream at `offset` that CPython's versions read
/// differently ([`version_dependent_int`]): the value a load gets depends
/// on the interpreter, so no single reading can vouch for it.
fn version_dependent_ints(input: &[u8], offset: usize) -> Vec<Note> {
    let mut notes: Vec<Note> = Vec::new();
    for instr in Instructions::new(input, offset).map_while(Result::ok) {
        let (Op::Int | Op::Long, Arg::Line(text)) = (instr.op, instr.arg) else { continue };
        let text =
            if instr.op == Op::Long { text.strip_suffix(b"L").unwrap_or(text) } else { text };
        if let Some(why) = version_dependent_int(text, instr.op == Op::Long) {
            let detail = format!(
                "{} {:?} at byte {}: {why}",
                instr.op.name(),
                String::from_utf8_lossy(text),
                instr.offset
            );
            if !notes.iter().any(|note| note.detail == detail) {
                notes.push(Note {
                    kind: NoteKind::VersionDependent,
                    detail,
                    verdict: Verdict::Unknown,
                });
            }
        }
    }
    notes
}

/// Scans the pickles that start at `offset` (past a NumPy header, say).
pub fn scan_from(input: &[u8], offset: usize, allow: &Allowlist) -> Scan {
    let mut streams: Vec<StreamScan> = Vec::new();
    let mut offset = offset;
    loop {
        let (values, end) = match run_at(input, offset, ValueLimits::default()) {
            Ok((document, end)) => (document.into_values(), Ok(end)),
            Err(interrupted) => (interrupted.made, Err(interrupted.error)),
        };
        let (imports, mut notes) = findings::findings(&values, allow);
        notes.extend(version_dependent_ints(input, offset));
        if let Err(error @ LoadError::Op { fault: Fault::Frame(_), .. }) = &end {
            // A scanner must assume the most permissive loader.
            let detail = error.to_string();
            notes.push(Note {
                kind: NoteKind::FrameViolation,
                detail,
                verdict: Verdict::Dangerous,
            });
        }
        let stream = StreamScan { offset, end, protocol: values.protocol(), imports, notes };
        match &stream.end {
            Ok(end) => {
                let next = *end;
                streams.push(stream);
                if next >= input.len() {
                    return Scan { streams, rest: None };
                }
                offset = next;
            }
            Err(error) if !streams.is_empty() && stream.verdict() == Verdict::Safe => {
                let rest = Rest { offset, error: error.clone() };
                return Scan { streams, rest: Some(rest) };
            }
            Err(_) => {
                streams.push(stream);
                return Scan { streams, rest: None };
            }
        }
    }
}

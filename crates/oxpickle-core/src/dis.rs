//! A disassembler whose listing is the one `pickletools.dis(data)` prints
//! (default indent of 4, no annotations), checks included: it replays the
//! documented stack effect of each opcode, so a pickle that pops what is
//! not there, refers to a memo entry never stored, or leaves values behind
//! gets the listing up to the fault and an error that says what
//! `pickletools` says about it.
//!
//! ```
//! use oxpickle_core::dis::disassemble;
//!
//! let listing = disassemble(b"\x80\x04K\x01.");
//! assert_eq!(
//!     listing.text,
//!     "    0: \\x80 PROTO      4\n    2: K    BININT1    1\n    4: .    STOP\n\
//!      highest protocol among opcodes = 2\n"
//! );
//! assert!(listing.error.is_none());
//! ```

mod args;
mod stack;

use std::collections::HashMap;
use std::fmt::{self, Write};

use crate::decode::{decode_at, Instr};
use crate::integer::Integer;
use crate::op::Op;
use crate::text::{decode_latin1, repr_str};
use args::Value;
use stack::{Kind, Takes};

/// Spaces per open MARK.
const INDENT: usize = 4;

/// The listing of a pickle, and why it stops early if it does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disassembly {
    /// The text `pickletools.dis` prints, up to where it raises.
    pub text: String,
    /// What `pickletools.dis` raises, if anything.
    pub error: Option<DisError>,
}

/// A problem the disassembler found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisError {
    /// Byte offset of the instruction at fault (for a missing STOP, the
    /// end of the input).
    pub offset: usize,
    /// `pickletools`' message for the problem.
    pub message: String,
}

impl fmt::Display for DisError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.message, self.offset)
    }
}

impl std::error::Error for DisError {}

/// Which `pickletools` the listing follows where its versions differ.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Dialect {
    /// `pickletools` up to CPython 3.13: a memo entry stored twice is an
    /// error, an instruction that finds no MARK says so on its line, and
    /// an unmatched STRING quote is reported as "strinq quote" (sic).
    #[default]
    UpTo3_13,
    /// `pickletools` from CPython 3.14: a memo entry may be stored again
    /// (the unpickler allows it), the missing MARK is the error only, and
    /// "string quote" is spelled right.
    From3_14,
}

/// Disassembles the pickle at the start of `input`, through its STOP, as
/// the `pickletools` of CPython 3.13 and before does.
pub fn disassemble(input: &[u8]) -> Disassembly {
    disassemble_as(input, Dialect::default())
}

/// [`disassemble`], following the `pickletools` of `dialect`.
pub fn disassemble_as(input: &[u8], dialect: Dialect) -> Disassembly {
    let mut listing = Listing { dialect, ..Listing::default() };
    let error = listing.run(input).err();
    Disassembly { text: listing.text, error }
}

/// The disassembler's state: the text so far and a model of the stack,
/// MARKs and memo, by kind of value.
#[derive(Default)]
struct Listing {
    dialect: Dialect,
    text: String,
    stack: Vec<Kind>,
    /// Byte offsets of the open MARKs.
    marks: Vec<usize>,
    memo: HashMap<Integer, Kind>,
    highest_protocol: u8,
}

impl Listing {
    fn run(&mut self, input: &[u8]) -> Result<(), DisError> {
        let mut pos = 0;
        loop {
            let instr = decode_at(input, pos).map_err(|err| DisError {
                offset: err.offset(),
                message: args::decode_error_message(input, &err),
            })?;
            let fail = |message| DisError { offset: instr.offset, message };
            let arg = args::read(&instr, self.dialect).map_err(fail)?;
            self.instruction(&instr, arg).map_err(fail)?;
            if instr.op == Op::Stop {
                break;
            }
            pos = instr.end;
        }
        let _ = writeln!(self.text, "highest protocol among opcodes = {}", self.highest_protocol);
        if self.stack.is_empty() {
            return Ok(());
        }
        let left: Vec<&str> = self.stack.iter().map(|kind| kind.name()).collect();
        Err(DisError {
            offset: pos,
            message: format!("stack not empty after STOP: [{}]", left.join(", ")),
        })
    }

    /// Prints one instruction's line and replays its stack effect. The
    /// order of the checks is `pickletools`': the byte offset is printed
    /// first, MARK and memo problems after the line, the pop check last.
    fn instruction(&mut self, instr: &Instr<'_>, arg: Option<Value<'_>>) -> Result<(), String> {
        let op = instr.op;
        let _ = write!(self.text, "{:5}: ", instr.offset);
        let mut line = format!(
            "{:<4} {}{}",
            opcode_column(op),
            " ".repeat(INDENT * self.marks.len()),
            op.name()
        );
        self.highest_protocol = self.highest_protocol.max(op.protocol());
        let effect = stack::effect(op);
        let mut pushes: Vec<Kind> = effect.pushes.to_vec();
        let (mut pop_count, through_mark) = match effect.takes {
            Takes::Top(count) => (count, None),
            Takes::ThroughMark { below } => (below, Some(below)),
        };
        // POP of a MARK takes the MARK.
        let through_mark = through_mark
            .or_else(|| (op == Op::Pop && self.stack.last() == Some(&Kind::Mark)).then_some(0));
        let mut note = None;
        let mut problem = None;
        if let Some(below) = through_mark {
            match self.marks.pop() {
                Some(mark_offset) => {
                    note = Some(format!("(MARK at {mark_offset})"));
                    self.pop_through_mark()?;
                    pop_count = below;
                }
                None => {
                    let missing = "no MARK exists on stack".to_owned();
                    if self.dialect == Dialect::UpTo3_13 {
                        note = Some(missing.clone());
                    }
                    problem = Some(missing);
                }
            }
        }
        match op {
            Op::Put | Op::BinPut | Op::LongBinPut | Op::Memoize => {
                let key = match &arg {
                    Some(value) => value.memo_key(),
                    None => {
                        note = Some(format!("(as {})", self.memo.len()));
                        Some(Integer::from(self.memo.len() as u64))
                    }
                };
                problem = self.store(key, &arg).err().or(problem);
            }
            Op::Get | Op::BinGet | Op::LongBinGet => {
                match arg.as_ref().and_then(Value::memo_key).and_then(|key| self.memo.get(&key)) {
                    Some(&kind) => pushes = vec![kind],
                    None => {
                        problem =
                            Some(format!("memo key {} has never been stored into", shown(&arg)))
                    }
                }
            }
            _ => {}
        }
        if arg.is_some() || note.is_some() {
            line.push_str(&" ".repeat(10usize.saturating_sub(op.name().len())));
            if let Some(value) = &arg {
                line.push(' ');
                line.push_str(&value.repr().map_err(|err| err.to_string())?);
            }
            if let Some(note) = note {
                line.push(' ');
                line.push_str(&note);
            }
        }
        self.text.push_str(&line);
        self.text.push('\n');
        if let Some(problem) = problem {
            return Err(problem);
        }
        if self.stack.len() < pop_count {
            return Err(format!(
                "tries to pop {pop_count} items from stack with only {} items",
                self.stack.len()
            ));
        }
        self.stack.truncate(self.stack.len() - pop_count);
        if op == Op::Mark {
            self.marks.push(instr.offset);
        }
        self.stack.extend(pushes);
        Ok(())
    }

    /// Drops everything above the topmost MARK, and the MARK.
    fn pop_through_mark(&mut self) -> Result<(), String> {
        loop {
            match self.stack.pop() {
                Some(Kind::Mark) => return Ok(()),
                Some(_) => {}
                // The MARK was taken as an ordinary value (by DUP or
                // TUPLE1, say); pickletools fails here with an IndexError.
                None => return Err("list index out of range".to_owned()),
            }
        }
    }

    /// Stores the top of the stack in the memo, refusing what pickletools
    /// refuses.
    fn store(&mut self, key: Option<Integer>, arg: &Option<Value<'_>>) -> Result<(), String> {
        let Some(key) = key else {
            return Err(format!("memo key {} is not an int", shown(arg)));
        };
        if self.dialect == Dialect::UpTo3_13 && self.memo.contains_key(&key) {
            return Err(format!("memo key {} already defined", shown(arg)));
        }
        match self.stack.last() {
            None => Err("stack is empty -- can't store into memo".to_owned()),
            Some(Kind::Mark) => Err("can't store markobject in the memo".to_owned()),
            Some(&kind) => {
                self.memo.insert(key, kind);
                Ok(())
            }
        }
    }
}

/// The opcode's byte as `repr` shows a one-character string, quotes off.
fn opcode_column(op: Op) -> String {
    let quoted = repr_str(&decode_latin1(&[op.byte()]));
    quoted.get(1..quoted.len() - 1).unwrap_or_default().to_owned()
}

/// An argument in an error message, `None` when there is none (MEMOIZE).
fn shown(arg: &Option<Value<'_>>) -> String {
    match arg {
        Some(value) => value.repr().unwrap_or_else(|err| err.to_string()),
        None => "None".to_owned(),
    }
}

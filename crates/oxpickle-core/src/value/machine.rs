//! The stack machine: the unpickler's stack, MARKs and memo, with every
//! operation checked. Its rules are CPython's C unpickler's: values below
//! the top MARK are out of reach until that MARK is consumed, and a failed
//! check is an error, never a panic.

use std::collections::HashMap;

use super::document::{Document, Values};
use super::error::{Fault, Interrupted, LoadError};
use super::node::{AddedItems, Node, NodeId};
use crate::decode::{decode_at, Arg, Instr};
use crate::frame::Frames;
use crate::integer::Integer;
use crate::limits::ValueLimits;
use crate::op::{Op, HIGHEST_PROTOCOL};
use crate::text::{parse_int, until_nul, IntBase};

/// What running one instruction led to.
enum Step {
    Continue,
    Stop(NodeId),
}

pub(super) struct ValueMachine<'a> {
    input: &'a [u8],
    limits: ValueLimits,
    nodes: Vec<Node>,
    /// Nesting depth of each node as built (see [`ValueMachine::new_node`]).
    depths: Vec<usize>,
    added: HashMap<NodeId, AddedItems>,
    stack: Vec<NodeId>,
    /// The stack length at each open MARK.
    marks: Vec<usize>,
    memo: HashMap<i64, NodeId>,
    /// Each PROTO run so far: the node count then, and its protocol.
    protocols: Vec<(usize, u8)>,
    buffers: usize,
    frames: Frames,
    /// The instruction being run, which errors name.
    op: Op,
    offset: usize,
}

/// Runs the pickle that starts at `offset`; returns its document and the
/// offset just past its STOP, or what it made before the error that
/// stopped it.
pub(super) fn run(
    input: &[u8],
    offset: usize,
    limits: ValueLimits,
) -> Result<(Document, usize), Box<Interrupted>> {
    let mut machine = ValueMachine {
        input,
        limits,
        nodes: Vec::new(),
        depths: Vec::new(),
        added: HashMap::new(),
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        protocols: Vec::new(),
        buffers: 0,
        frames: Frames::default(),
        // Both are set before each instruction runs.
        op: Op::Stop,
        offset,
    };
    let mut pos = offset;
    loop {
        let step = decode_at(input, pos).map_err(LoadError::from).and_then(|instr| {
            machine.op = instr.op;
            machine.offset = instr.offset;
            Ok((machine.step(&instr)?, instr.end))
        });
        match step {
            Ok((Step::Continue, end)) => pos = end,
            Ok((Step::Stop(root), end)) => {
                return Ok((Document::new(machine.into_values(), root), end))
            }
            Err(error) => return Err(Box::new(Interrupted { error, made: machine.into_values() })),
        }
    }
}

impl ValueMachine<'_> {
    fn into_values(self) -> Values {
        Values::new(self.nodes, self.added, self.protocols, self.buffers)
    }

    fn step(&mut self, instr: &Instr<'_>) -> Result<Step, LoadError> {
        let op = instr.op;
        if let Err(err) = self.frames.admit(instr) {
            return Err(self.fail(Fault::Frame(err)));
        }
        match op {
            Op::Stop => return self.pop().map(Step::Stop),
            Op::Proto => self.proto(instr.arg)?,
            Op::Frame => self.frame(instr)?,
            Op::Mark => self.open_mark()?,
            Op::Pop => self.pop_value_or_mark()?,
            Op::PopMark => {
                let mark = self.close_mark()?;
                self.stack.truncate(mark);
            }
            Op::Dup => {
                let top = self.top()?;
                self.stack.push(top);
            }
            Op::Get | Op::BinGet | Op::LongBinGet => self.memo_get(instr.arg)?,
            Op::Put | Op::BinPut | Op::LongBinPut | Op::Memoize => self.memo_put(instr.arg)?,
            Op::Int
            | Op::BinInt
            | Op::BinInt1
            | Op::BinInt2
            | Op::Long
            | Op::Long1
            | Op::Long4
            | Op::String
            | Op::BinString
            | Op::ShortBinString
            | Op::BinBytes
            | Op::ShortBinBytes
            | Op::BinBytes8
            | Op::ByteArray8
            | Op::None
            | Op::NewTrue
            | Op::NewFalse
            | Op::Unicode
            | Op::ShortBinUnicode
            | Op::BinUnicode
            | Op::BinUnicode8
            | Op::Float
            | Op::BinFloat => {
                let node = super::scalars::scalar(op, instr.arg).map_err(|why| self.fail(why))?;
                self.push_new(node)?;
            }
            Op::EmptyList
            | Op::EmptyTuple
            | Op::EmptyDict
            | Op::EmptySet
            | Op::List
            | Op::Tuple
            | Op::Tuple1
            | Op::Tuple2
            | Op::Tuple3
            | Op::Dict
            | Op::FrozenSet => self.build_container(op)?,
            Op::Append | Op::Appends | Op::SetItem | Op::SetItems | Op::AddItems => {
                self.fill_container(op)?
            }
            Op::Global
            | Op::StackGlobal
            | Op::Reduce
            | Op::Build
            | Op::Inst
            | Op::Obj
            | Op::NewObj
            | Op::NewObjEx
            | Op::PersId
            | Op::BinPersId
            | Op::Ext1
            | Op::Ext2
            | Op::Ext4
            | Op::NextBuffer
            | Op::ReadonlyBuffer => self.build_object(op, instr.arg)?,
        }
        Ok(Step::Continue)
    }

    /// An error about the instruction being run.
    pub(super) fn fail(&self, fault: Fault) -> LoadError {
        LoadError::Op { op: self.op, offset: self.offset, fault }
    }

    fn limit(&self, limit: &'static str, value: usize) -> LoadError {
        self.fail(Fault::LimitExceeded { limit, value })
    }

    /// Adds a node to the document. Its depth is one more than its
    /// deepest child's, which bounds nesting as the stream builds it.
    pub(super) fn new_node(&mut self, node: Node) -> Result<NodeId, LoadError> {
        if self.nodes.len() >= self.limits.max_nodes {
            return Err(self.limit("max_nodes", self.limits.max_nodes));
        }
        let depth = 1 + node.children().map(|child| self.depth(child)).max().unwrap_or(0);
        if depth > self.limits.max_depth {
            return Err(self.limit("max_depth", self.limits.max_depth));
        }
        let id = NodeId::new(self.nodes.len());
        self.nodes.push(node);
        self.depths.push(depth);
        Ok(id)
    }

    pub(super) fn push_new(&mut self, node: Node) -> Result<(), LoadError> {
        let id = self.new_node(node)?;
        self.stack.push(id);
        Ok(())
    }

    fn depth(&self, id: NodeId) -> usize {
        self.depths.get(id.index()).copied().unwrap_or(0)
    }

    /// Raises `target`'s depth for children it gained after it was made.
    /// A child that is the target itself (a list appended to itself) does
    /// not count, or every self-reference would deepen it.
    pub(super) fn deepen(&mut self, target: NodeId, children: &[NodeId]) -> Result<(), LoadError> {
        let deepest = children.iter().filter(|&&c| c != target).map(|&c| self.depth(c)).max();
        let Some(deepest) = deepest else { return Ok(()) };
        if deepest + 1 > self.limits.max_depth {
            return Err(self.limit("max_depth", self.limits.max_depth));
        }
        if let Some(depth) = self.depths.get_mut(target.index()) {
            *depth = (*depth).max(deepest + 1);
        }
        Ok(())
    }

    pub(super) fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id.index())
    }

    pub(super) fn node_mut(&mut self, id: NodeId) -> Option<&mut Node> {
        self.nodes.get_mut(id.index())
    }

    pub(super) fn added_items(&mut self, id: NodeId) -> &mut AddedItems {
        self.added.entry(id).or_default()
    }

    /// How far down the stack may be popped: the top MARK's position.
    fn fence(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    pub(super) fn stack_len(&self) -> usize {
        self.stack.len()
    }

    pub(super) fn pop(&mut self) -> Result<NodeId, LoadError> {
        if self.stack.len() <= self.fence() {
            return Err(self.fail(Fault::StackUnderflow));
        }
        self.stack.pop().ok_or_else(|| self.fail(Fault::StackUnderflow))
    }

    pub(super) fn top(&self) -> Result<NodeId, LoadError> {
        match self.stack.last() {
            Some(&top) if self.stack.len() > self.fence() => Ok(top),
            _ => Err(self.fail(Fault::StackUnderflow)),
        }
    }

    pub(super) fn replace_top(&mut self, id: NodeId) -> Result<(), LoadError> {
        self.pop()?;
        self.stack.push(id);
        Ok(())
    }

    /// Pops the top `count` values, oldest first.
    pub(super) fn pop_many(&mut self, count: usize) -> Result<Vec<NodeId>, LoadError> {
        let len = self.stack.len();
        if len < count || len - count < self.fence() {
            return Err(self.fail(Fault::StackUnderflow));
        }
        Ok(self.stack.split_off(len - count))
    }

    /// Pops the top MARK and everything above it, oldest first.
    pub(super) fn pop_to_mark(&mut self) -> Result<Vec<NodeId>, LoadError> {
        let mark = self.close_mark()?;
        self.split_from(mark)
    }

    /// The values from stack position `start` up, which must be reachable.
    pub(super) fn split_from(&mut self, start: usize) -> Result<Vec<NodeId>, LoadError> {
        if start < self.fence() || start > self.stack.len() {
            return Err(self.fail(Fault::StackUnderflow));
        }
        Ok(self.stack.split_off(start))
    }

    /// The value at stack position `index`, which must be above the fence.
    pub(super) fn stack_at(&self, index: usize) -> Result<NodeId, LoadError> {
        match self.stack.get(index) {
            Some(&id) if index >= self.fence() => Ok(id),
            _ => Err(self.fail(Fault::StackUnderflow)),
        }
    }

    fn open_mark(&mut self) -> Result<(), LoadError> {
        if self.marks.len() >= self.limits.max_depth {
            return Err(self.limit("max_depth", self.limits.max_depth));
        }
        self.marks.push(self.stack.len());
        Ok(())
    }

    /// Consumes the top MARK and returns the stack length it recorded.
    pub(super) fn close_mark(&mut self) -> Result<usize, LoadError> {
        self.marks.pop().ok_or_else(|| self.fail(Fault::MarkNotFound))
    }

    /// POP takes the top MARK when nothing was pushed after it.
    fn pop_value_or_mark(&mut self) -> Result<(), LoadError> {
        if self.marks.last() == Some(&self.stack.len()) {
            self.marks.pop();
            return Ok(());
        }
        self.pop().map(drop)
    }

    fn memo_get(&mut self, arg: Arg<'_>) -> Result<(), LoadError> {
        let index = self.memo_index(arg)?;
        let id = self.memo.get(&index).copied();
        let id = id.ok_or_else(|| self.fail(Fault::MemoNotFound { index }))?;
        self.stack.push(id);
        Ok(())
    }

    fn memo_put(&mut self, arg: Arg<'_>) -> Result<(), LoadError> {
        // CPython reads the line, then checks the stack, then the number.
        if arg == Arg::Line(b"") {
            return Err(self.truncated());
        }
        let value = self.top()?;
        let index = self.memo_index(arg)?;
        if index < 0 {
            return Err(self.fail(Fault::NegativeMemoIndex));
        }
        if !self.memo.contains_key(&index) && self.memo.len() >= self.limits.max_memo_entries {
            return Err(self.limit("max_memo_entries", self.limits.max_memo_entries));
        }
        self.memo.insert(index, value);
        Ok(())
    }

    /// The memo index an argument names: a byte or four (BINPUT, …), a
    /// base-10 `Py_ssize_t` line (PUT, GET), or for MEMOIZE the number of
    /// entries so far.
    fn memo_index(&self, arg: Arg<'_>) -> Result<i64, LoadError> {
        match arg {
            Arg::None => i64::try_from(self.memo.len()).map_err(|_| self.bad_argument()),
            Arg::Uint(index) => i64::try_from(index).map_err(|_| self.bad_argument()),
            Arg::Line(line) => self.memo_line(line),
            _ => Err(self.bad_argument()),
        }
    }

    fn memo_line(&self, line: &[u8]) -> Result<i64, LoadError> {
        if line.is_empty() {
            return Err(self.truncated());
        }
        let text = until_nul(line);
        match parse_int(text, IntBase::Ten) {
            Ok(Integer::Small(index)) => Ok(index),
            Ok(Integer::Big(_)) => Err(self
                .fail(Fault::BadArgument("Python int too large to convert to C ssize_t".into()))),
            Err(err) => Err(self.fail(Fault::BadArgument(err.message(text, IntBase::Ten)))),
        }
    }

    fn proto(&mut self, arg: Arg<'_>) -> Result<(), LoadError> {
        let Arg::Uint(proto) = arg else { return Err(self.bad_argument()) };
        let proto = u8::try_from(proto).map_err(|_| self.bad_argument())?;
        if proto > HIGHEST_PROTOCOL {
            return Err(self.fail(Fault::UnsupportedProtocol(proto)));
        }
        self.protocols.push((self.nodes.len(), proto));
        Ok(())
    }

    /// FRAME announces a length: the bytes must be there, and they are the
    /// frame the instructions after it may not cross the end of.
    fn frame(&mut self, instr: &Instr<'_>) -> Result<(), LoadError> {
        let Arg::Uint(len) = instr.arg else { return Err(self.bad_argument()) };
        let available = self.input.len().saturating_sub(instr.end);
        let Some(len) = usize::try_from(len).ok().filter(|&len| len <= available) else {
            return Err(self.fail(Fault::FrameTooLong { len, available }));
        };
        match self.frames.begin(instr.offset, instr.end, len) {
            Ok(()) => Ok(()),
            Err(err) => Err(self.fail(Fault::Frame(err))),
        }
    }

    pub(super) fn next_buffer_index(&mut self) -> usize {
        self.buffers += 1;
        self.buffers - 1
    }

    /// CPython's complaint about an empty line argument.
    pub(super) fn truncated(&self) -> LoadError {
        self.fail(Fault::BadArgument("pickle data was truncated".into()))
    }

    /// The decoder handed over an argument of the wrong shape for the
    /// opcode, which the opcode table rules out.
    pub(super) fn bad_argument(&self) -> LoadError {
        self.fail(Fault::BadArgument("malformed argument".into()))
    }
}

//! Opcodes that make values only load time can: globals, calls, state,
//! persistent ids, extension codes and out-of-band buffers. Each is kept
//! as a description; nothing is looked up.

use super::error::{Fault, LoadError};
use super::machine::ValueMachine;
use super::node::{Node, NodeId};
use crate::decode::Arg;
use crate::op::Op;
use crate::pystr::PyStr;
use crate::text::{decode_ascii, decode_utf8};

impl ValueMachine<'_> {
    pub(super) fn build_object(&mut self, op: Op, arg: Arg<'_>) -> Result<(), LoadError> {
        let node = match (op, arg) {
            (Op::Global, Arg::Pair(module, name)) => Node::Global {
                module: self.global_name(module, true)?,
                name: self.global_name(name, true)?,
            },
            (Op::StackGlobal, _) => {
                let name = self.pop()?;
                let module = self.pop()?;
                match (self.literal_str(module), self.literal_str(name)) {
                    (Some(module), Some(name)) => Node::Global { module, name },
                    _ => Node::DynamicGlobal { module, name },
                }
            }
            (Op::Inst, Arg::Pair(module, name)) => {
                // CPython looks for the MARK before it reads the names.
                let args = self.pop_to_mark()?;
                let module = self.global_name(module, false)?;
                let name = self.global_name(name, false)?;
                Node::Inst { module, name, args }
            }
            (Op::Obj, _) => {
                let mut items = self.pop_to_mark()?.into_iter();
                let Some(cls) = items.next() else {
                    return Err(self.fail(Fault::StackUnderflow));
                };
                Node::Obj { cls, args: items.collect() }
            }
            (Op::Reduce, _) => {
                let args = self.pop()?;
                Node::Reduce { callable: self.pop()?, args }
            }
            (Op::NewObj, _) => {
                let args = self.pop()?;
                Node::NewObj { cls: self.pop()?, args }
            }
            (Op::NewObjEx, _) => {
                let kwargs = self.pop()?;
                let args = self.pop()?;
                Node::NewObjEx { cls: self.pop()?, args, kwargs }
            }
            (Op::Build, _) => {
                let state = self.pop()?;
                let target = self.top()?;
                let built = self.new_node(Node::Build { target, state })?;
                return self.replace_top(built);
            }
            (Op::PersId, Arg::Line(line)) => {
                let text = decode_ascii(line).map_err(|_| {
                    self.fail(Fault::BadArgument(
                        "persistent IDs in protocol 0 must be ASCII strings".into(),
                    ))
                })?;
                Node::PersId(self.new_node(Node::Str(PyStr::Utf8(text)))?)
            }
            (Op::BinPersId, _) => Node::PersId(self.pop()?),
            (Op::Ext1 | Op::Ext2, Arg::Uint(code)) => self.extension(i64::try_from(code).ok())?,
            (Op::Ext4, Arg::Int(code)) => self.extension(Some(i64::from(code)))?,
            (Op::NextBuffer, _) => {
                Node::OutOfBandBuffer { index: self.next_buffer_index(), readonly: false }
            }
            (Op::ReadonlyBuffer, _) => return self.make_top_readonly(),
            _ => return Err(self.bad_argument()),
        };
        self.push_new(node)
    }

    /// A GLOBAL name (UTF-8) or INST name (ASCII); empty means the line
    /// was missing, as CPython reports it.
    fn global_name(&self, line: &[u8], utf8: bool) -> Result<String, LoadError> {
        if line.is_empty() {
            return Err(self.truncated());
        }
        let decoded = if utf8 {
            decode_utf8(line, false).map(|text| text.as_str().map(str::to_owned))
        } else {
            decode_ascii(line).map(Some)
        };
        match decoded {
            Ok(Some(text)) => Ok(text),
            Ok(None) => Err(self.bad_argument()),
            Err(err) => Err(self.fail(Fault::BadArgument(err.to_string()))),
        }
    }

    /// The text of a `str` node that is a plain Rust string.
    fn literal_str(&self, id: NodeId) -> Option<String> {
        match self.node(id) {
            Some(Node::Str(text)) => text.as_str().map(str::to_owned),
            _ => None,
        }
    }

    fn extension(&self, code: Option<i64>) -> Result<Node, LoadError> {
        match code.map(u32::try_from) {
            Some(Ok(code)) if code > 0 => Ok(Node::Ext(code)),
            _ => Err(self.fail(Fault::BadExtensionCode(code.unwrap_or(0)))),
        }
    }

    /// READONLY_BUFFER: an out-of-band buffer becomes read-only; bytes and
    /// read-only buffers already are; anything else gets a read-only view.
    fn make_top_readonly(&mut self) -> Result<(), LoadError> {
        let top = self.top()?;
        let replacement = match self.node(top) {
            Some(Node::OutOfBandBuffer { index, readonly: false }) => {
                Node::OutOfBandBuffer { index: *index, readonly: true }
            }
            Some(Node::OutOfBandBuffer { readonly: true, .. } | Node::Bytes(_)) => return Ok(()),
            _ => Node::ReadOnly(top),
        };
        let id = self.new_node(replacement)?;
        self.replace_top(id)
    }
}

//! Lists, tuples, dicts and sets: made whole from the stack, or filled by
//! APPEND(S), SETITEM(S) and ADDITEMS.

use super::error::{Fault, LoadError};
use super::machine::ValueMachine;
use super::node::{Node, NodeId};
use crate::op::Op;

/// Items that a filling opcode gives its target, named after the opcodes.
enum Filling {
    Appends(Vec<NodeId>),
    SetItems(Vec<(NodeId, NodeId)>),
    AddItems(Vec<NodeId>),
}

impl ValueMachine<'_> {
    /// EMPTY_*, LIST, TUPLE*, DICT and FROZENSET.
    pub(super) fn build_container(&mut self, op: Op) -> Result<(), LoadError> {
        let node = match op {
            Op::EmptyList => Node::List(Vec::new()),
            Op::EmptyTuple => Node::Tuple(Vec::new()),
            Op::EmptyDict => Node::Dict(Vec::new()),
            Op::EmptySet => Node::Set(Vec::new()),
            Op::List => Node::List(self.pop_to_mark()?),
            Op::Tuple => Node::Tuple(self.pop_to_mark()?),
            Op::Tuple1 => Node::Tuple(self.pop_many(1)?),
            Op::Tuple2 => Node::Tuple(self.pop_many(2)?),
            Op::Tuple3 => Node::Tuple(self.pop_many(3)?),
            Op::FrozenSet => Node::FrozenSet(self.pop_to_mark()?),
            Op::Dict => {
                let items = self.pop_to_mark()?;
                Node::Dict(self.pairs(items)?)
            }
            _ => return Err(self.bad_argument()),
        };
        self.push_new(node)
    }

    /// APPEND, APPENDS, SETITEM, SETITEMS and ADDITEMS: the items sit on
    /// the stack right above their target, which stays there.
    pub(super) fn fill_container(&mut self, op: Op) -> Result<(), LoadError> {
        let first_item = match op {
            Op::Append => self.stack_len().checked_sub(1),
            Op::SetItem => self.stack_len().checked_sub(2),
            _ => Some(self.close_mark()?),
        };
        // The target sits just below the first item and must be reachable.
        let target_slot = first_item.and_then(|first| first.checked_sub(1));
        let target = match target_slot {
            Some(slot) => self.stack_at(slot)?,
            None => return Err(self.fail(Fault::StackUnderflow)),
        };
        let values = self.split_from(target_slot.map_or(0, |slot| slot + 1))?;
        if values.is_empty() {
            // CPython does nothing at all here, whatever the target is.
            return Ok(());
        }
        let items = match op {
            Op::SetItem | Op::SetItems => Filling::SetItems(self.pairs(values)?),
            Op::AddItems => Filling::AddItems(values),
            _ => Filling::Appends(values),
        };
        self.give(target, items)
    }

    /// Hands items to their target: a list, dict or set takes them in; a
    /// value made at load time records them; any other type refuses.
    fn give(&mut self, target: NodeId, items: Filling) -> Result<(), LoadError> {
        let target = self.unwrap_build(target);
        let children: Vec<NodeId> = match &items {
            Filling::Appends(ids) | Filling::AddItems(ids) => ids.clone(),
            Filling::SetItems(pairs) => {
                pairs.iter().flat_map(|&(key, value)| [key, value]).collect()
            }
        };
        self.deepen(target, &children)?;
        let Some(node) = self.node_mut(target) else {
            return Err(self.fail(Fault::StackUnderflow));
        };
        match (node, items) {
            (Node::List(list), Filling::Appends(new)) => list.extend(new),
            (Node::Dict(dict), Filling::SetItems(new)) => dict.extend(new),
            (Node::Set(set), Filling::AddItems(new)) => set.extend(new),
            (node, items) => {
                if let Some(type_name) = node.type_name() {
                    return Err(self.fail(Fault::NotMutable { type_name }));
                }
                let added = self.added_items(target);
                match items {
                    Filling::Appends(new) => added.appended.extend(new),
                    Filling::SetItems(new) => added.set_items.extend(new),
                    Filling::AddItems(new) => added.added.extend(new),
                }
            }
        }
        Ok(())
    }

    /// BUILD wraps its target; items given to the wrapper go to the
    /// object inside, as they would at load time. Each wrapper's target is
    /// an older node, so the walk ends.
    fn unwrap_build(&self, mut id: NodeId) -> NodeId {
        while let Some(Node::Build { target, .. }) = self.node(id) {
            id = *target;
        }
        id
    }

    /// Alternating keys and values, paired.
    fn pairs(&self, items: Vec<NodeId>) -> Result<Vec<(NodeId, NodeId)>, LoadError> {
        if items.len() % 2 != 0 {
            return Err(self.fail(Fault::OddItemCount));
        }
        Ok(items.chunks_exact(2).map(|pair| (pair[0], pair[1])).collect())
    }
}

//! The result of running a pickle: every value it made, in one arena, and
//! the value STOP returned.

use std::collections::HashMap;
use std::ops::Deref;

use super::node::{AddedItems, Node, NodeId};

/// Every value one pickle made, whether or not it reached STOP. Nodes sit
/// in the order the stream made them; shared values are one node referred
/// to from several places, and containers may refer to themselves, so walk
/// with a visited set (or see [`Values::render`], which does).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Values {
    nodes: Vec<Node>,
    added: HashMap<NodeId, AddedItems>,
    /// Each PROTO that ran: how many nodes existed then, and its protocol.
    protocols: Vec<(usize, u8)>,
    buffers: usize,
}

impl Values {
    pub(super) fn new(
        nodes: Vec<Node>,
        added: HashMap<NodeId, AddedItems>,
        protocols: Vec<(usize, u8)>,
        buffers: usize,
    ) -> Values {
        Values { nodes, added, protocols, buffers }
    }

    /// The node with this id, if it belongs to these values.
    pub fn get(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id.index())
    }

    /// Every node, in the order the stream made them (including values the
    /// stream later popped and dropped, which a scanner still wants).
    pub fn nodes(&self) -> impl Iterator<Item = (NodeId, &Node)> {
        self.nodes.iter().enumerate().map(|(index, node)| (NodeId::new(index), node))
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there are no nodes (never true of a loaded pickle).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Items a value made at load time was given by APPEND(S), SETITEM(S)
    /// or ADDITEMS.
    pub fn added_items(&self, id: NodeId) -> Option<&AddedItems> {
        self.added.get(&id)
    }

    /// The nodes `id` refers to: its own children, then its added items.
    pub fn children(&self, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        let own = self.get(id).into_iter().flat_map(Node::children);
        own.chain(self.added_items(id).into_iter().flat_map(AddedItems::children))
    }

    /// The protocol PROTO announced (the last one, if several did).
    pub fn protocol(&self) -> Option<u8> {
        self.protocols.last().map(|&(_, protocol)| protocol)
    }

    /// The protocol in effect when the stream made node `id`: what the
    /// last PROTO before it announced, None if no PROTO came first. An
    /// unpickler maps Python 2 names of globals made below protocol 3.
    pub fn protocol_at(&self, id: NodeId) -> Option<u8> {
        let before = self.protocols.partition_point(|&(made, _)| made <= id.index());
        before.checked_sub(1).and_then(|last| self.protocols.get(last)).map(|&(_, p)| p)
    }

    /// How many out-of-band buffers (NEXT_BUFFER) the pickle takes.
    pub fn buffer_count(&self) -> usize {
        self.buffers
    }
}

/// The values of one pickle that ran to its STOP, and the value STOP
/// returned. Everything [`Values`] offers is there too.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    values: Values,
    root: NodeId,
}

impl Document {
    pub(super) fn new(values: Values, root: NodeId) -> Document {
        Document { values, root }
    }

    /// The value STOP returned.
    pub fn root(&self) -> NodeId {
        self.root
    }

    /// Every value the pickle made.
    pub fn values(&self) -> &Values {
        &self.values
    }

    /// Every value the pickle made, without the root.
    pub fn into_values(self) -> Values {
        self.values
    }
}

impl Deref for Document {
    type Target = Values;

    fn deref(&self) -> &Values {
        &self.values
    }
}

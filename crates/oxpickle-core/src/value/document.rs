//! The result of running a pickle: every value it made, in one arena.

use std::collections::HashMap;

use super::node::{AddedItems, Node, NodeId};

/// The values of one pickle. Nodes sit in the order the stream made them;
/// shared values are one node referred to from several places, and
/// containers may refer to themselves, so walk with a visited set (or see
/// [`Document::render`], which does).
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    nodes: Vec<Node>,
    root: NodeId,
    added: HashMap<NodeId, AddedItems>,
    protocol: Option<u8>,
    buffers: usize,
}

impl Document {
    pub(super) fn new(
        nodes: Vec<Node>,
        root: NodeId,
        added: HashMap<NodeId, AddedItems>,
        protocol: Option<u8>,
        buffers: usize,
    ) -> Document {
        Document { nodes, root, added, protocol, buffers }
    }

    /// The value STOP returned.
    pub fn root(&self) -> NodeId {
        self.root
    }

    /// The node with this id, if it belongs to this document.
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
        self.protocol
    }

    /// How many out-of-band buffers (NEXT_BUFFER) the pickle takes.
    pub fn buffer_count(&self) -> usize {
        self.buffers
    }
}

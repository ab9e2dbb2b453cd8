//! Bounds on what a pickle may make the value machine build, so hostile
//! input cannot exhaust memory or the call stack of whoever walks the
//! result.

/// ValueLimits the value machine enforces while it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValueLimits {
    /// Deepest nesting allowed: both of open MARKs and of values inside
    /// values as the machine builds them. Every stream CPython writes
    /// builds children before the container that receives them, so this
    /// is its true depth; a hostile stream can still chain containers
    /// deeper by filling, through the memo, ones already placed, so code
    /// that walks a document must not recurse on it.
    pub max_depth: usize,
    /// Most distinct memo indices one pickle may store into.
    pub max_memo_entries: usize,
    /// Most nodes one document may hold.
    pub max_nodes: usize,
}

impl ValueLimits {
    /// No limit at all, for trusted input.
    pub const UNLIMITED: ValueLimits =
        ValueLimits { max_depth: usize::MAX, max_memo_entries: usize::MAX, max_nodes: usize::MAX };
}

impl Default for ValueLimits {
    /// CPython's pickler stops at its recursion limit (1000 by default) and
    /// each level of it nests a value a few levels deep at most, so 5000
    /// levels fit anything Python writes. 2**24 nodes (under 100 bytes
    /// each) keep a document's nodes under about 1.5 GiB whatever the
    /// input (payload bytes aside, which the input's size bounds); a
    /// caller reading bigger pickles raises `max_nodes` (and the memo
    /// bound with it).
    fn default() -> Self {
        ValueLimits { max_depth: 5_000, max_memo_entries: 1 << 24, max_nodes: 1 << 24 }
    }
}

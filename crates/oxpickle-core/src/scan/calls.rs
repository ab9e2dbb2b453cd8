//! What the scanner can tell about a call before any load makes it: the
//! argument rule the profile table gives an allowed global
//! ([`ArgumentRule`]), applied to the arguments the stream spells out, and
//! BUILDs that plant a method a later opcode would call.
//!
//! Arguments computed at load time are not judged here: the loader checks
//! them as it runs. A literal the rule refuses is a stream that restricted
//! loading refuses too, so the scan says it before the load does.

use super::python2::python3_name;
use super::{NoteKind, Verdict};
use crate::allowlist::{self, Allowlist, ArgumentRule, DEFAULT_MAX_ALLOCATION};
use crate::value::{Node, NodeId, Values};

/// The methods CPython's unpicklers look up on the instance, before its
/// type: an earlier BUILD can set any of them to a callable of the
/// stream's choosing, which the next BUILD, APPEND(S) or ADDITEMS calls
/// with arguments no check reads. (Restricted loading looks them up on the
/// type; the stdlib does not.)
pub const INSTANCE_METHODS: [&str; 4] = ["__setstate__", "extend", "append", "add"];

/// A finding about one call.
pub(super) struct CallNote {
    pub kind: NoteKind,
    pub detail: String,
    pub verdict: Verdict,
}

/// The call `node` makes, judged by the rule of the allowed global it
/// calls; None when it calls nothing allowed or its rule has no objection.
pub(super) fn refused_arguments(
    values: &Values,
    node: &Node,
    below_3: bool,
    allow: &Allowlist,
) -> Option<CallNote> {
    let (callee, args): (Option<(String, String)>, Vec<NodeId>) = match node {
        Node::Reduce { callable: called, args }
        | Node::NewObj { cls: called, args }
        | Node::NewObjEx { cls: called, args, .. } => {
            (global_name(values, *called), tuple(values, *args)?)
        }
        Node::Obj { cls, args } => (global_name(values, *cls), args.clone()),
        Node::Inst { module, name, args } => (Some((module.clone(), name.clone())), args.clone()),
        _ => return None,
    };
    let (module, name) = callee?;
    let (module, name) = match below_3.then(|| python3_name(&module, &name)).flatten() {
        Some((module, name)) => (module.to_owned(), name),
        None => (module, name),
    };
    let rule = allow.rule(&module, &name)?;
    let objection = objection(values, rule, &args, allow)?;
    Some(CallNote {
        kind: NoteKind::RefusedArguments,
        detail: format!("{module}.{name}: {}", objection.0),
        verdict: objection.1,
    })
}

/// Why `rule` refuses these arguments, and how bad that is.
fn objection(
    values: &Values,
    rule: ArgumentRule,
    args: &[NodeId],
    allow: &Allowlist,
) -> Option<(String, Verdict)> {
    let arg = |at: usize| args.get(at).and_then(|&id| values.get(id));
    match rule {
        ArgumentRule::Any | ArgumentRule::ListedAttribute => None,
        ArgumentRule::Sizes => {
            let largest = args.iter().filter_map(|&id| values.get(id).and_then(magnitude)).max()?;
            too_large(largest)
        }
        ArgumentRule::ArrayShape { shape } => {
            let elements = arg(shape).and_then(|shape| shape_size(values, shape))?;
            let item = match arg(shape + 1) {
                Some(Node::Str(code)) if code.code_points().count() == 1 => {
                    allowlist::LARGEST_TYPECODE_ITEM
                }
                Some(Node::Bytes(code) | Node::LegacyStr(code)) if code.len() == 1 => {
                    allowlist::LARGEST_TYPECODE_ITEM
                }
                // A dtype object's item size is only known at load time.
                _ => 1,
            };
            too_large(elements.saturating_mul(item))
        }
        ArgumentRule::Latin1Only => match arg(1) {
            Some(Node::Str(codec)) if codec.as_str().is_some_and(allowlist::is_latin1) => None,
            Some(Node::Str(codec)) => Some((
                format!(
                    "the codec {:?}, where pickle writes only 'latin1'",
                    codec.as_str().unwrap_or("?")
                ),
                Verdict::Unknown,
            )),
            _ => None,
        },
        ArgumentRule::NoExponent => args.iter().find_map(|&id| match values.get(id) {
            Some(Node::Str(text)) if text.as_str().is_some_and(allowlist::has_exponent) => Some((
                "a number with an exponent, which would compute 10**exponent".to_owned(),
                Verdict::Dangerous,
            )),
            _ => None,
        }),
        ArgumentRule::Reconstructor => {
            let (base, state) = (*args.get(1)?, *args.get(2)?);
            let (module, name) = global_name(values, base)?;
            objection(values, allow.rule(&module, &name)?, &[state], allow)
        }
    }
}

/// A size over what a load allows one call by default.
fn too_large(size: u64) -> Option<(String, Verdict)> {
    (size > DEFAULT_MAX_ALLOCATION).then(|| {
        (
            format!("asks for {size} items or bytes, over the loader's {DEFAULT_MAX_ALLOCATION}"),
            Verdict::Dangerous,
        )
    })
}

/// A BUILD whose state sets one of [`INSTANCE_METHODS`] on its target.
pub(super) fn planted_method(values: &Values, node: &Node) -> Option<CallNote> {
    let Node::Build { state, .. } = node else {
        return None;
    };
    // The state is a dict, or (dict, slot dict) for objects with slots.
    let dicts: Vec<NodeId> = match values.get(*state)? {
        Node::Tuple(parts) if parts.len() == 2 => parts.clone(),
        _ => vec![*state],
    };
    let name = dicts.iter().find_map(|&dict| {
        let mut keys = dict_keys(values, dict);
        keys.find(|name| INSTANCE_METHODS.contains(&name.as_str()))
    })?;
    Some(CallNote {
        kind: NoteKind::PlantedMethod,
        detail: format!("BUILD sets '{name}', which the stdlib's unpickler then calls as a method"),
        verdict: Verdict::Dangerous,
    })
}

/// The str keys of a dict node, the items SETITEM(S) added included.
fn dict_keys<'v>(values: &'v Values, dict: NodeId) -> impl Iterator<Item = String> + 'v {
    let own = match values.get(dict) {
        Some(Node::Dict(pairs)) => pairs.as_slice(),
        _ => &[],
    };
    let added = values.added_items(dict).map_or(&[][..], |items| items.set_items.as_slice());
    own.iter().chain(added).filter_map(|&(key, _)| match values.get(key) {
        Some(Node::Str(text)) => text.as_str().map(str::to_owned),
        _ => None,
    })
}

/// `module.name` of a global node.
fn global_name(values: &Values, id: NodeId) -> Option<(String, String)> {
    match values.get(id)? {
        Node::Global { module, name } => Some((module.clone(), name.clone())),
        _ => None,
    }
}

/// The items of a tuple node.
fn tuple(values: &Values, id: NodeId) -> Option<Vec<NodeId>> {
    match values.get(id)? {
        Node::Tuple(items) => Some(items.clone()),
        _ => None,
    }
}

/// The number of elements a shape asks for: an int, or the product of a
/// tuple or list of ints. Sizes past u64 saturate.
fn shape_size(values: &Values, shape: &Node) -> Option<u64> {
    let dims = match shape {
        Node::Tuple(dims) | Node::List(dims) => dims,
        single => return magnitude(single),
    };
    dims.iter()
        .try_fold(1u64, |product, &dim| Some(product.saturating_mul(magnitude(values.get(dim)?)?)))
}

/// An int's magnitude, saturating at u64::MAX.
fn magnitude(node: &Node) -> Option<u64> {
    match node {
        Node::Int(value) => Some(value.unsigned_abs()),
        Node::Bool(value) => Some(u64::from(*value)),
        // Minimal two's complement: more than 8 bytes is past u64.
        Node::BigInt(bytes) if bytes.len() > 8 => Some(u64::MAX),
        Node::BigInt(bytes) => {
            let negative = bytes.last().is_some_and(|&top| top & 0x80 != 0);
            let mut raw = [if negative { 0xff } else { 0 }; 8];
            raw[..bytes.len()].copy_from_slice(bytes);
            Some(i64::from_le_bytes(raw).unsigned_abs())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::scan::{scan, NoteKind, Verdict};
    use crate::Allowlist;

    fn notes(stream: &[u8]) -> Vec<(NoteKind, Verdict, String)> {
        let allow = Allowlist::from_entries(["data", "numpy"]).unwrap();
        let found = scan(stream, &allow);
        let notes = found.streams.iter().flat_map(|stream| stream.notes.iter());
        notes.map(|note| (note.kind, note.verdict, note.detail.clone())).collect()
    }

    #[test]
    fn literal_sizes_over_the_loaders_limit_are_dangerous() {
        // bytearray(2**31), by REDUCE, by INST (Python 2 names) and by
        // copyreg._reconstructor's state.
        let reduce = b"\x80\x02cbuiltins\nbytearray\nJ\x00\x00\x00\x80\x85R.";
        let inst = b"(I2147483648\ni__builtin__\nbytearray\n.";
        let reconstructor = b"\x80\x02ccopyreg\n_reconstructor\ncbuiltins\nbytearray\n\
            cbuiltins\nbytearray\n\x8a\x05\x00\x00\x00\x80\x00\x87R.";
        for stream in [&reduce[..], inst, reconstructor] {
            let found = notes(stream);
            assert_eq!(found.len(), 1, "{found:?}");
            let (kind, verdict, detail) = &found[0];
            assert_eq!((*kind, *verdict), (NoteKind::RefusedArguments, Verdict::Dangerous));
            assert!(detail.contains("bytearray") || detail.contains("_reconstructor"), "{detail}");
            assert!(detail.contains(": asks for 2147483648 items or bytes"), "{detail}");
        }
    }

    #[test]
    fn shapes_count_their_elements_and_typecode() {
        // numpy.core.multiarray._reconstruct(ndarray, (2**20, 2**10), b'b'):
        // 2**30 elements of up to 32 bytes.
        let stream = b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n\
            J\x00\x00\x10\x00J\x00\x04\x00\x00\x86C\x01b\x87R.";
        let found = notes(stream);
        assert!(found[0].2.contains("asks for 34359738368 items or bytes"), "{found:?}");
        // The shape a real empty array has is fine.
        let empty =
            b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85C\x01b\x87R.";
        assert_eq!(notes(empty), []);
    }

    #[test]
    fn other_rules_read_their_literals() {
        let rot13 = b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00aX\x05\x00\x00\x00rot13\x86R.";
        assert_eq!(notes(rot13)[0].1, Verdict::Unknown);
        let latin1 = b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00aX\x06\x00\x00\x00latin1\x86R.";
        assert_eq!(notes(latin1), []);
        let exponent = b"\x80\x02cfractions\nFraction\nX\x0b\x00\x00\x001e999999999\x85R.";
        assert_eq!(notes(exponent)[0].1, Verdict::Dangerous);
        let small = b"\x80\x02cbuiltins\nbytearray\nK\x10\x85R.";
        assert_eq!(notes(small), []);
    }

    #[test]
    fn a_build_that_plants_a_method_is_dangerous() {
        // OrderedDict() BUILD {'__setstate__': bytes}, then BUILD again.
        let stream = b"\x80\x02ccollections\nOrderedDict\n)R}X\x0c\x00\x00\x00__setstate__\
            cbuiltins\nbytes\nsbJ\x00\x00\x00\x80b.";
        let found = notes(stream);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].0, found[0].1), (NoteKind::PlantedMethod, Verdict::Dangerous));
        assert!(found[0].2.contains("'__setstate__'"));
        // Plain attributes are state, not methods.
        let plain = b"\x80\x02ccollections\nOrderedDict\n)R}X\x01\x00\x00\x00xK\x01sb.";
        assert_eq!(notes(plain), []);
    }
}

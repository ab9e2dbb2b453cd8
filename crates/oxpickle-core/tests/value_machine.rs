//! The value machine runs every opcode into plain values, and turns every
//! malformed or hostile stream into an error that names the opcode and
//! byte offset, never a panic.

use oxpickle_core::value::{load, load_at, Document, Fault, LoadError, Node, NodeId};
use oxpickle_core::{DecodeError, Op, ValueLimits};

mod common;
use common::{
    ALL_PICKLES, HAND_MADE, PROTOCOL_0, PROTOCOL_1, PROTOCOL_2, PROTOCOL_3, PROTOCOL_4, PROTOCOL_5,
};

fn render(input: &[u8]) -> String {
    let (doc, end) = load(input).unwrap_or_else(|err| panic!("{input:?}: {err}"));
    assert_eq!(end, input.len(), "STOP ends the input");
    doc.render(doc.root(), 10_000)
}

fn fault(input: &[u8]) -> (Op, usize, Fault) {
    match load(input) {
        Err(LoadError::Op { op, offset, fault }) => (op, offset, fault),
        other => panic!("{input:?}: expected an opcode fault, got {other:?}"),
    }
}

fn root_node(doc: &Document) -> &Node {
    doc.get(doc.root()).expect("the root is in the document")
}

// The pickles of `common` hold every opcode between them (the disassembler
// tests check that), so these run every opcode through the machine.

#[test]
fn protocol_0() {
    assert_eq!(
        render(PROTOCOL_0),
        r#"['a\'b"', 1180591620717411303424, -1, True, 0.1, (), ((1,),), {'k': [1]}]"#
    );
}

#[test]
fn protocol_1() {
    assert_eq!(
        render(PROTOCOL_1),
        "[1, 300, 70000, -5, 'é', None, 2.5, (), {'a': 1, 'b': 2}, __builtin__.len, [[]]]"
    );
}

#[test]
fn protocol_2() {
    assert_eq!(
        render(PROTOCOL_2),
        "[True, False, 18446744073709551616, -9223372036854775808, (1,), (1, 2), (1, 2, 3), \
         build(newobj(geo.Point, ()), {'x': 1})]"
    );
}

#[test]
fn protocol_3() {
    assert_eq!(render(PROTOCOL_3), r"[b'ab', b'', 'x\ny']");
}

#[test]
fn protocol_4() {
    assert_eq!(
        render(PROTOCOL_4),
        "[{1, 2}, frozenset({3}), 'üü', newobj_ex(geo.KwNew, (), {'a': 1})]"
    );
    assert_eq!(load(PROTOCOL_4).unwrap().0.protocol(), Some(4));
}

#[test]
fn protocol_5() {
    assert_eq!(render(PROTOCOL_5), r"[bytearray(b'\x00\xff'), buffer(0), readonly_buffer(1)]");
    assert_eq!(load(PROTOCOL_5).unwrap().0.buffer_count(), 2);
}

#[test]
fn legacy_and_rare_opcodes() {
    let big = "18446744073709551616";
    assert_eq!(
        render(HAND_MADE),
        format!(
            "[py2str(b'py2'), py2str(b'abc'), py2str(b'hi'), 'ok', b'z', b'y', {big}, {big}, \
             {big}, {big}, ext(1), ext(513), ext(65537), persistent_load('id'), \
             persistent_load(1), mod.cls(1), mod.cls(2), mod.f()]"
        )
    );
}

#[test]
fn values_fetched_from_the_memo_are_one_node() {
    // a = [1]; pickle.dumps([a, a, (a,)], 4)
    let input =
        b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00]\x94(]\x94K\x01ah\x01h\x01\x85\x94e.";
    let (doc, _) = load(input).unwrap();
    let Node::List(items) = root_node(&doc) else { panic!("not a list") };
    let Some(Node::Tuple(inner)) = doc.get(items[2]) else { panic!("not a tuple") };
    assert_eq!(items[0], items[1]);
    assert_eq!(inner[..], [items[0]]);
    assert_eq!(doc.render(doc.root(), 100), "[[1], [1], ([1],)]");
}

#[test]
fn a_list_can_hold_itself() {
    // l = []; l.append(l); pickle.dumps(l, 2)
    let (doc, _) = load(b"\x80\x02]q\x00h\x00a.").unwrap();
    let root = doc.root();
    assert_eq!(root_node(&doc), &Node::List(vec![root]));
    assert_eq!(doc.children(root).collect::<Vec<_>>(), [root]);
    assert_eq!(doc.render(root, 100), "[...]");
}

#[test]
fn build_wraps_the_object_the_memo_keeps() {
    let (doc, _) = load(PROTOCOL_2).unwrap();
    let built = doc
        .nodes()
        .find_map(|(_, node)| match node {
            Node::Build { target, .. } => Some(*target),
            _ => None,
        })
        .expect("a BUILD node");
    assert!(matches!(doc.get(built), Some(Node::NewObj { .. })));
}

#[test]
fn items_given_to_objects_are_recorded() {
    // collections.OrderedDict(a=1) and deque([1, 2]), protocol 2
    let input = b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01X\x01\x00\x00\x00aq\x02K\x01s.";
    assert_eq!(render(input), "collections.OrderedDict().update({'a': 1})");
    let (doc, _) = load(input).unwrap();
    let added = doc.added_items(doc.root()).expect("recorded items");
    assert_eq!(added.set_items.len(), 1);
    assert_eq!(render(b"cc\nd\n)R(K\x01K\x02e."), "c.d().extend([1, 2])");
    assert_eq!(render(b"cc\nd\n)R(K\x01\x90."), "c.d().add_all({1})");
}

#[test]
fn stack_global_on_computed_operands_is_dynamic() {
    assert_eq!(render(b"\x8c\x02os\x8c\x06system\x93."), "os.system");
    // The module name comes from a call.
    let input = b"cbuiltins\nstr\n)R\x8c\x06system\x93.";
    assert_eq!(render(input), "stack_global(builtins.str(), 'system')");
    let (doc, _) = load(input).unwrap();
    assert!(matches!(root_node(&doc), Node::DynamicGlobal { .. }));
    // A Python 2 string or a string with a surrogate is not a plain name.
    assert_eq!(render(b"U\x02os\x8c\x01x\x93."), "stack_global(py2str(b'os'), 'x')");
    assert_eq!(render(b"\x8c\x03\xed\xa0\x80\x8c\x01x\x93."), "stack_global('\\ud800', 'x')");
}

#[test]
fn odd_names_render_quoted() {
    assert_eq!(render(b"cmod\nna me\n."), "global('mod', 'na me')");
    assert_eq!(render(b"\x8c\x03a\x1bb\x8c\x01x\x93."), "global('a\\x1bb', 'x')");
}

#[test]
fn integers_and_floats_read_as_cpython_reads_them() {
    assert_eq!(
        render(b"(I010\nI00\nI 1\nI99999999999999999999\nL-0x10L\nF-inf\nl."),
        "[8, False, True, 99999999999999999999, -16, -inf]"
    );
    assert_eq!(
        render(b"(\x8a\x00\x8a\x01\xff\x8b\x00\x00\x00\x00J\xff\xff\xff\xffl."),
        "[0, -1, 0, -1]"
    );
    let (doc, _) = load(b"\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01.").unwrap();
    assert_eq!(root_node(&doc), &Node::BigInt(vec![0, 0, 0, 0, 0, 0, 0, 0, 1]));
}

#[test]
fn strings_keep_what_rust_cannot_hold() {
    let (doc, _) = load(b"\x8c\x04a\xed\xb0\x80.").unwrap();
    let Node::Str(text) = root_node(&doc) else { panic!("not a str") };
    assert_eq!(text.as_str(), None);
    assert_eq!(text.code_points().collect::<Vec<_>>(), [0x61, 0xDC00]);
    assert_eq!(render(b"S'a\\x00\\'b'\n."), "py2str(b\"a\\x00'b\")");
}

#[test]
fn pickles_one_after_another() {
    let mut input = PROTOCOL_3.to_vec();
    input.extend_from_slice(PROTOCOL_0);
    let (first, end) = load_at(&input, 0, ValueLimits::default()).unwrap();
    assert_eq!(end, PROTOCOL_3.len());
    assert_eq!(first.render(first.root(), 100), r"[b'ab', b'', 'x\ny']");
    let (second, end) = load_at(&input, end, ValueLimits::default()).unwrap();
    assert_eq!(end, input.len());
    assert!(second.render(second.root(), 100).starts_with("['a"));
    assert!(matches!(
        load_at(&input, end, ValueLimits::default()),
        Err(LoadError::Decode(DecodeError::Truncated { .. }))
    ));
}

#[test]
fn every_prefix_of_a_valid_pickle_fails_cleanly() {
    for input in ALL_PICKLES {
        assert!(load(input).is_ok());
        for cut in 0..input.len() {
            let err = load(&input[..cut]).expect_err("a prefix is not a pickle");
            assert!(err.offset() <= cut, "{err} past a cut at {cut}");
        }
    }
}

#[test]
fn bad_and_negative_lengths() {
    let decode_error = |input: &[u8]| match load(input) {
        Err(LoadError::Decode(err)) => err,
        other => panic!("{input:?}: {other:?}"),
    };
    assert_eq!(
        decode_error(b"T\xff\xff\xff\xff"),
        DecodeError::NegativeLength { op: Op::BinString, offset: 0, len: -1 }
    );
    assert!(matches!(
        decode_error(b"N\x8b\x00\x00\x00\x80"),
        DecodeError::NegativeLength { offset: 1, .. }
    ));
    let mut huge = b"\x8e".to_vec();
    huge.extend((1u64 << 60).to_le_bytes());
    assert!(matches!(decode_error(&huge), DecodeError::Truncated { offset: 0, .. }));
    assert_eq!(
        fault(b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00N."),
        (Op::Frame, 2, Fault::FrameTooLong { len: 16, available: 2 })
    );
}

#[test]
fn unknown_opcodes() {
    assert_eq!(
        load(b"N\xff."),
        Err(LoadError::Decode(DecodeError::UnknownOpcode { byte: 0xff, offset: 1 }))
    );
    assert_eq!(
        load(b"\x80\x06N."),
        Err(LoadError::Op { op: Op::Proto, offset: 0, fault: Fault::UnsupportedProtocol(6) })
    );
}

#[test]
fn memo_misuse() {
    assert_eq!(fault(b"Nh\x01."), (Op::BinGet, 1, Fault::MemoNotFound { index: 1 }));
    assert_eq!(fault(b"Ng-1\n."), (Op::Get, 1, Fault::MemoNotFound { index: -1 }));
    assert_eq!(
        fault(b"Nj\xff\xff\xff\xff."),
        (Op::LongBinGet, 1, Fault::MemoNotFound { index: 0xffff_ffff })
    );
    assert_eq!(fault(b"Np-1\n."), (Op::Put, 1, Fault::NegativeMemoIndex));
    assert_eq!(fault(b"q\x00."), (Op::BinPut, 0, Fault::StackUnderflow));
    assert_eq!(fault(b"N(\x94."), (Op::Memoize, 2, Fault::StackUnderflow));
    // The largest index LONG_BINPUT can say is just a key.
    assert_eq!(render(b"K\x07r\xff\xff\xff\xff0j\xff\xff\xff\xff."), "7");
    // MEMOIZE numbers entries by how many there are.
    assert_eq!(render(b"K\x07q\x05\x94K\x08\x94(h\x01h\x02l."), "[7, 8]");
}

#[test]
fn stack_underflow() {
    assert_eq!(fault(b"."), (Op::Stop, 0, Fault::StackUnderflow));
    assert_eq!(fault(b"0."), (Op::Pop, 0, Fault::StackUnderflow));
    assert_eq!(fault(b"K\x01a."), (Op::Append, 2, Fault::StackUnderflow));
    assert_eq!(fault(b"NNs."), (Op::SetItem, 2, Fault::StackUnderflow));
    assert_eq!(fault(b"N\x86."), (Op::Tuple2, 1, Fault::StackUnderflow));
    assert_eq!(fault(b"NR."), (Op::Reduce, 1, Fault::StackUnderflow));
    assert_eq!(fault(b"Nb."), (Op::Build, 1, Fault::StackUnderflow));
    assert_eq!(fault(b"NN\x92."), (Op::NewObjEx, 2, Fault::StackUnderflow));
    assert_eq!(fault(b"2."), (Op::Dup, 0, Fault::StackUnderflow));
    assert_eq!(fault(b"\x98."), (Op::ReadonlyBuffer, 0, Fault::StackUnderflow));
    assert_eq!(fault(b"(o."), (Op::Obj, 1, Fault::StackUnderflow));
}

#[test]
fn mark_misuse() {
    assert_eq!(fault(b"l."), (Op::List, 0, Fault::MarkNotFound));
    assert_eq!(fault(b"]e."), (Op::Appends, 1, Fault::MarkNotFound));
    assert_eq!(fault(b"1."), (Op::PopMark, 0, Fault::MarkNotFound));
    assert_eq!(fault(b"K\x01imod\nC\n."), (Op::Inst, 2, Fault::MarkNotFound));
    // Values below the top MARK are out of reach until it is consumed.
    assert_eq!(fault(b"N(\x85."), (Op::Tuple1, 2, Fault::StackUnderflow));
    assert_eq!(fault(b"N(."), (Op::Stop, 2, Fault::StackUnderflow));
    assert_eq!(fault(b"(K\x01e."), (Op::Appends, 3, Fault::StackUnderflow));
    // POP takes a MARK nothing was pushed after; leftovers are dropped.
    assert_eq!(render(b"N(0."), "None");
    assert_eq!(render(b"K\x01(K\x02K\x031."), "1");
    assert_eq!(render(b"K\x01(N."), "None");
}

#[test]
fn filling_the_wrong_type() {
    assert_eq!(fault(b")(K\x01e."), (Op::Appends, 4, Fault::NotMutable { type_name: "tuple" }));
    assert_eq!(fault(b"]K\x01K\x02s."), (Op::SetItem, 5, Fault::NotMutable { type_name: "list" }));
    assert_eq!(
        fault(b"(\x91(K\x01\x90."),
        (Op::AddItems, 5, Fault::NotMutable { type_name: "frozenset" })
    );
    assert_eq!(fault(b"}(K\x01u."), (Op::SetItems, 4, Fault::OddItemCount));
    assert_eq!(fault(b"(K\x01d."), (Op::Dict, 3, Fault::OddItemCount));
    // With nothing to add, CPython does not look at the target at all.
    assert_eq!(render(b")(e."), "()");
    // Items given to a BUILD result go to the object inside.
    assert_eq!(render(b"cc\nd\n)R}b(K\x01e."), "build(c.d().extend([1]), {})");
}

#[test]
fn malformed_arguments() {
    let bad_argument = |input: &[u8]| match fault(input) {
        (_, _, Fault::BadArgument(why)) => why,
        other => panic!("{input:?}: {other:?}"),
    };
    assert_eq!(bad_argument(b"Ix\n."), "could not convert string to int");
    assert_eq!(bad_argument(b"I\n."), "pickle data was truncated");
    assert_eq!(bad_argument(b"F1e999\n."), "value too large to convert to float");
    assert_eq!(bad_argument(b"Sab\n."), "the STRING opcode argument must be quoted");
    assert_eq!(bad_argument(b"S'\\x4'\n."), "invalid \\x escape at position 0");
    assert!(bad_argument(b"V\\u12\n.").contains("truncated \\uXXXX escape"));
    assert!(bad_argument(b"X\x01\x00\x00\x00\xff.").contains("invalid start byte"));
    assert!(bad_argument(b"c\xff\nx\n.").contains("'utf-8' codec can't decode"));
    assert!(bad_argument(b"(i\xe9\nx\n.").contains("'ascii' codec can't decode"));
    assert_eq!(bad_argument(b"P\xe9\n."), "persistent IDs in protocol 0 must be ASCII strings");
    assert_eq!(fault(b"\x82\x00."), (Op::Ext1, 0, Fault::BadExtensionCode(0)));
    assert_eq!(fault(b"\x84\xff\xff\xff\xff."), (Op::Ext4, 0, Fault::BadExtensionCode(-1)));
}

/// `n` one-tuples, each inside the next.
fn nested_tuples(n: usize) -> Vec<u8> {
    let mut input = b"N".to_vec();
    input.extend(std::iter::repeat_n(0x85, n));
    input.push(b'.');
    input
}

/// `n` lists, each appended to the one made before it.
fn nested_lists(n: usize) -> Vec<u8> {
    let mut input = vec![b']'; n];
    input.extend(std::iter::repeat_n(b'a', n - 1));
    input.push(b'.');
    input
}

#[test]
fn nesting_within_the_depth_limit_loads() {
    let limits = ValueLimits::default();
    assert!(load(&nested_tuples(limits.max_depth - 1)).is_ok());
    assert!(load(&nested_lists(limits.max_depth)).is_ok());
    let mut marks = vec![b'('; limits.max_depth];
    marks.extend(b"N.");
    assert!(load(&marks).is_ok());
}

#[test]
fn nesting_past_the_depth_limit_is_refused() {
    let too_deep = Fault::LimitExceeded { limit: "max_depth", value: 5000 };
    assert_eq!(fault(&nested_tuples(5000)).2, too_deep);
    // Lists filled after they were made count too.
    assert_eq!(fault(&nested_lists(5001)).2, too_deep);
    let mut marks = vec![b'('; 5001];
    marks.extend(b"N.");
    assert_eq!(fault(&marks), (Op::Mark, 5000, too_deep));
}

#[test]
fn custom_limits() {
    let limits = ValueLimits { max_depth: 3, max_memo_entries: 2, max_nodes: 4 };
    let run = |input: &[u8]| match load_at(input, 0, limits) {
        Err(LoadError::Op { fault, .. }) => Some(fault),
        Err(err) => panic!("{err}"),
        Ok(_) => None,
    };
    assert_eq!(run(&nested_tuples(2)), None);
    assert_eq!(run(&nested_tuples(3)), Some(Fault::LimitExceeded { limit: "max_depth", value: 3 }));
    assert_eq!(run(b"NNNN."), None);
    assert_eq!(run(b"NNNNN."), Some(Fault::LimitExceeded { limit: "max_nodes", value: 4 }));
    assert_eq!(run(b"Nq\x00q\x01q\x00."), None);
    assert_eq!(
        run(b"Nq\x00q\x01q\x02."),
        Some(Fault::LimitExceeded { limit: "max_memo_entries", value: 2 })
    );
}

#[test]
fn very_deep_values_render_without_recursion() {
    let depth = 200_000;
    let (doc, _) = load_at(&nested_tuples(depth), 0, ValueLimits::UNLIMITED).unwrap();
    let text = doc.render(doc.root(), usize::MAX);
    assert_eq!(text, format!("{}None{}", "(".repeat(depth), ",)".repeat(depth)));
    assert_eq!(doc.render(doc.root(), 10), "(((((((((((…");
}

#[test]
fn shared_values_cannot_blow_up_the_rendering() {
    // Each list holds the previous one twice: 2**40 leaves once unfolded.
    let mut input = b"K\x00".to_vec();
    for _ in 0..40 {
        input.extend(b"2\x86");
    }
    input.push(b'.');
    let (doc, _) = load(&input).unwrap();
    assert_eq!(doc.len(), 41);
    assert!(doc.render(doc.root(), 1000).len() < 1100);
}

#[test]
fn node_ids_index_the_document() {
    let (doc, _) = load(PROTOCOL_1).unwrap();
    for (id, node) in doc.nodes() {
        assert_eq!(doc.get(id), Some(node));
        assert!(doc.children(id).all(|child| child.index() < doc.len()));
    }
    assert_eq!(doc.nodes().count(), doc.len());
    assert!(!doc.is_empty());
    let _: NodeId = doc.root();
}

/// Pseudo-random mutations of the test pickles: whatever the bytes, the
/// machine and the disassembler return instead of panicking.
#[test]
fn mutated_pickles_never_panic() {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..4000 {
        let seed = ALL_PICKLES[round % ALL_PICKLES.len()];
        let mut input = seed.to_vec();
        for _ in 0..1 + next() % 4 {
            let at = (next() % input.len() as u64) as usize;
            match next() % 3 {
                0 => input[at] = next() as u8,
                1 => input.insert(at, next() as u8),
                _ => {
                    input.remove(at);
                }
            }
            if input.is_empty() {
                input.push(b'.');
            }
        }
        let _ = load(&input);
        let _ = oxpickle_core::dis::disassemble(&input);
    }
}

//! The JSON form of a document: scalars as JSON values where that loses
//! nothing, tagged objects for the rest, globals and calls as names and
//! descriptions, shared values written once and referred to by id.

use oxpickle_core::value::{load, run_at};
use oxpickle_core::ValueLimits;

mod common;
use common::{ALL_PICKLES, PROTOCOL_1, PROTOCOL_4, PROTOCOL_5};

fn json(input: &[u8]) -> String {
    let (doc, _) = load(input).unwrap_or_else(|err| panic!("{input:?}: {err}"));
    doc.to_json(doc.root())
}

#[test]
fn scalars_are_json_values_where_lossless() {
    assert_eq!(json(b"N."), "null");
    assert_eq!(json(b"\x88."), "true");
    assert_eq!(json(b"J\xff\xff\xff\xff."), "-1");
    assert_eq!(json(b"G?\xf8\x00\x00\x00\x00\x00\x00."), "1.5");
    assert_eq!(json(b"Fnan\n."), r#"{"float": "nan"}"#);
    // 2**53 + 1 and 2**70 do not survive a double.
    assert_eq!(json(b"\x8a\x07\x01\x00\x00\x00\x00\x00 ."), r#"{"int": "9007199254740993"}"#);
    assert_eq!(
        json(b"\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00@."),
        r#"{"int": "1180591620717411303424"}"#
    );
    assert_eq!(json(b"X\x06\x00\x00\x00a\"\\\n\xc3\xa9."), r#""a\"\\\né""#);
    assert_eq!(json(b"V\\ud800\n."), r#""\ud800""#);
    assert_eq!(json(b"C\x02\x00\xff."), r#"{"bytes": "00ff"}"#);
    assert_eq!(json(b"U\x02hi."), r#"{"py2str": "6869"}"#);
}

#[test]
fn containers_are_tagged_except_lists() {
    assert_eq!(
        json(PROTOCOL_4),
        r#"[{"set": [1, 2]}, {"frozenset": [3]}, "üü", {"new": {"global": "geo.KwNew"}, "args": {"tuple": []}, "kwargs": {"dict": [["a", 1]]}}]"#
    );
    assert_eq!(
        json(PROTOCOL_5),
        r#"[{"bytearray": "00ff"}, {"buffer": 0, "readonly": false}, {"buffer": 1, "readonly": true}]"#
    );
}

#[test]
fn globals_and_calls_stay_descriptions() {
    assert_eq!(
        json(b"cos\nsystem\n(S'id'\ntR."),
        r#"{"call": {"global": "os.system"}, "args": {"tuple": [{"py2str": "6964"}]}}"#
    );
    assert!(json(PROTOCOL_1).contains(r#"{"global": "__builtin__.len"}"#));
    assert_eq!(
        json(b"(K\x01imod\ncls\n."),
        r#"{"call": {"global": "mod.cls"}, "args": {"tuple": [1]}}"#
    );
    // Items appended after BUILD go to the object BUILD updated.
    assert_eq!(
        json(b"\x80\x02cm\nC\n)\x81}bK\x01a."),
        r#"{"build": {"new": {"global": "m.C"}, "args": {"tuple": []}, "append": [1]}, "state": {"dict": []}}"#
    );
    assert_eq!(json(b"\x80\x02\x82\x07."), r#"{"ext": 7}"#);
    assert_eq!(json(b"Pkey\n."), r#"{"persistent_id": "key"}"#);
}

#[test]
fn shared_and_cyclic_values_are_references() {
    // l = [1]; [l, l, (l,)], protocol 2
    let shared = b"\x80\x02]q\x00(]q\x01K\x01ah\x01h\x01\x85q\x02e.";
    assert_eq!(json(shared), r#"[{"id": 1, "list": [1]}, {"ref": 1}, {"tuple": [{"ref": 1}]}]"#);
    // l = []; l.append(l)
    assert_eq!(json(b"\x80\x02]q\x00h\x00a."), r#"{"id": 0, "list": [{"ref": 0}]}"#);
    // Memoized strings are repeated, not referenced.
    assert_eq!(json(b"\x80\x02X\x01\x00\x00\x00aq\x00h\x00\x86."), r#"{"tuple": ["a", "a"]}"#);
}

/// Whether brackets and braces nest properly outside string literals.
fn balanced(text: &str) -> bool {
    let (mut open, mut in_string, mut escaped) = (Vec::new(), false, false);
    for c in text.chars() {
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, '"') | (false, _, '"') => in_string = !in_string,
            (false, _, '[' | '{') => open.push(c),
            (false, _, ']') if open.pop() != Some('[') => return false,
            (false, _, '}') if open.pop() != Some('{') => return false,
            _ => {}
        }
    }
    open.is_empty() && !in_string
}

#[test]
fn every_opcode_has_a_json_form() {
    // The common pickles hold every opcode between them.
    for input in ALL_PICKLES {
        let text = json(input);
        assert!(balanced(&text), "{text}");
    }
}

#[test]
fn deep_nesting_is_written_without_recursion() {
    let depth = 4_000;
    let mut input = b"\x80\x02".to_vec();
    input.extend(std::iter::repeat_n(b'(', depth));
    input.push(b']');
    input.extend(std::iter::repeat_n(b'l', depth));
    input.push(b'.');
    let text = json(&input);
    assert!(text.starts_with("[[[[") && text.ends_with("]]]]"));
    assert_eq!(text.len(), 2 * (depth + 1));
}

#[test]
fn interrupted_runs_keep_what_they_made() {
    let interrupted = run_at(b"cos\nsystem\n(S'id'\ntRz", 0, ValueLimits::default()).unwrap_err();
    assert!(interrupted.error.to_string().contains("invalid load key"));
    let rendered: Vec<String> =
        interrupted.made.nodes().map(|(id, _)| interrupted.made.render(id, 80)).collect();
    assert_eq!(
        rendered,
        ["os.system", "py2str(b'id')", "(py2str(b'id'),)", "os.system(py2str(b'id'))"]
    );
}

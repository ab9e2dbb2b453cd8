//! The scanner's rules: every global a stream would import is judged
//! under the name Python 3 imports, and no indirection (memo, computed
//! names, EXT codes, INST, several pickles, broken streams) hides one.

use oxpickle_core::scan::{scan, NoteKind, Scan, StreamScan, Verdict};
use oxpickle_core::Allowlist;

fn allow(entries: &[&str]) -> Allowlist {
    Allowlist::from_entries(entries.iter().copied()).unwrap()
}

fn scan_plain(input: &[u8]) -> Scan {
    scan(input, &Allowlist::new())
}

fn only_stream(found: &Scan) -> &StreamScan {
    assert_eq!(found.streams.len(), 1, "{found:?}");
    &found.streams[0]
}

/// `module.name` of each import, in order.
fn imported(stream: &StreamScan) -> Vec<String> {
    stream.imports.iter().map(|import| import.qualified()).collect()
}

fn note_kinds(stream: &StreamScan) -> Vec<NoteKind> {
    stream.notes.iter().map(|note| note.kind).collect()
}

#[test]
fn allowed_globals_are_safe_and_others_unknown() {
    // pickle.dumps(collections.OrderedDict(), 2)
    let input = b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01.";
    assert_eq!(scan(input, &allow(&["data"])).verdict(), Verdict::Safe);
    let plain = scan_plain(input);
    assert_eq!(plain.verdict(), Verdict::Unknown);
    assert_eq!(imported(only_stream(&plain)), ["collections.OrderedDict"]);
    assert_eq!(only_stream(&plain).end, Ok(input.len()));
}

#[test]
fn known_dangers_are_labelled_even_when_unknown_would_do() {
    let found = scan_plain(b"\x80\x04\x8c\x02os\x8c\x06system\x93\x8c\x02id\x85R.");
    let import = &only_stream(&found).imports[0];
    assert_eq!((import.qualified(), import.verdict), ("os.system".into(), Verdict::Dangerous));
    assert!(import.why.is_some_and(|why| why.contains("processes")));
}

#[test]
fn an_explicit_allow_entry_wins_over_the_label() {
    let found = scan(b"cos\nsystem\n.", &allow(&["os.system"]));
    assert_eq!(found.verdict(), Verdict::Safe);
}

#[test]
fn protocol_0_names_are_judged_as_python_3_imports_them() {
    let found = scan_plain(b"c__builtin__\neval\n(S'1'\ntR.");
    let import = &only_stream(&found).imports[0];
    assert_eq!(import.qualified(), "builtins.eval");
    assert_eq!(import.written, Some(("__builtin__".into(), "eval".into())));
    assert_eq!(import.verdict, Verdict::Dangerous);
    let renamed = scan(b"\x80\x02c__builtin__\nxrange\nK\x03\x85R.", &allow(&["data"]));
    assert_eq!(imported(only_stream(&renamed)), ["builtins.range"]);
    assert_eq!(renamed.verdict(), Verdict::Safe);
    let copyreg = scan(b"ccopy_reg\n_reconstructor\n.", &allow(&["data"]));
    assert_eq!(copyreg.verdict(), Verdict::Safe);
}

#[test]
fn python_2_names_are_kept_from_protocol_3_on() {
    // CPython imports `__builtin__` as written here, which Python 3 lacks.
    let found = scan_plain(b"\x80\x03c__builtin__\neval\n.");
    let import = &only_stream(&found).imports[0];
    assert_eq!((import.qualified(), import.written.clone()), ("__builtin__.eval".into(), None));
    assert_eq!(import.verdict, Verdict::Unknown);
    // The protocol in effect when the global is read decides, not the last PROTO.
    let switched = scan_plain(b"\x80\x02c__builtin__\neval\n\x80\x04.");
    assert_eq!(imported(only_stream(&switched)), ["builtins.eval"]);
    let late = scan_plain(b"\x80\x04c__builtin__\neval\n\x80\x02.");
    assert_eq!(imported(only_stream(&late)), ["__builtin__.eval"]);
}

#[test]
fn globals_through_the_memo_are_found() {
    // Names stored in the memo, popped, and fetched back for STACK_GLOBAL
    // (the shape of malicious-invalid-bytes.pkl).
    let input = b"Vos\np2\n0Vsystem\np3\n0g2\ng3\n\x93(Vid\ntR.";
    let found = scan_plain(input);
    assert_eq!(imported(only_stream(&found)), ["os.system"]);
    assert_eq!(found.verdict(), Verdict::Dangerous);
}

#[test]
fn a_global_dropped_from_the_stack_still_counts() {
    // os.system('id') is called, then POPped: CPython ran it all the same.
    let found = scan_plain(b"cos\nsystem\n(S'id'\ntR0N.");
    assert_eq!(imported(only_stream(&found)), ["os.system"]);
}

#[test]
fn globals_named_by_computed_values_are_unknown() {
    // STACK_GLOBAL on the results of calls: only known at load time.
    let input = b"\x80\x04cbuiltins\nstr\n\x8c\x02os\x85Rcbuiltins\nstr\n\x8c\x06system\x85R\x93.";
    let found = scan(input, &allow(&["data"]));
    let stream = only_stream(&found);
    assert_eq!(imported(stream), ["builtins.str"]);
    assert_eq!(note_kinds(stream), [NoteKind::DynamicGlobal]);
    assert_eq!(stream.notes[0].verdict, Verdict::Unknown);
    assert!(stream.notes[0].detail.starts_with("stack_global(builtins.str('os')"));
    assert_eq!(found.verdict(), Verdict::Unknown);
}

#[test]
fn python_2_strings_name_the_global_they_decode_to() {
    // STRING operands decode with the default encoding="ASCII" (malicious23.pkl).
    let found = scan_plain(b"S'os'\nS'system'\n\x93S'ls'\n\x85R.");
    assert_eq!(imported(only_stream(&found)), ["os.system"]);
    assert_eq!(found.verdict(), Verdict::Dangerous);
    // Non-ASCII bytes decode as the loader's encoding= says: unknown.
    let other = scan_plain(b"U\x02o\xf3U\x01x\x93.");
    assert_eq!(note_kinds(only_stream(&other)), [NoteKind::DynamicGlobal]);
}

#[test]
fn extension_codes_are_unknown() {
    let found = scan(b"\x80\x02\x82\x05)R.", &allow(&["data"]));
    let stream = only_stream(&found);
    assert_eq!(note_kinds(stream), [NoteKind::Extension]);
    assert!(stream.notes[0].detail.starts_with("ext(5)"));
    assert_eq!(found.verdict(), Verdict::Unknown);
}

#[test]
fn inst_imports_its_class() {
    let found = scan_plain(b"(S'id'\nios\nsystem\n.");
    assert_eq!(imported(only_stream(&found)), ["os.system"]);
    assert_eq!(found.verdict(), Verdict::Dangerous);
    let legacy = scan_plain(b"(S'1'\ni__builtin__\neval\n.");
    assert_eq!(imported(only_stream(&legacy)), ["builtins.eval"]);
}

#[test]
fn calls_of_values_made_at_load_time_are_unknown() {
    // OBJ whose class is the result of a call, and REDUCE of a call's result.
    let input = b"\x80\x02(cbuiltins\ntype\n)Ro.cbuiltins\nlist\n)R)R.";
    let found = scan(input, &allow(&["data"]));
    let stream = &found.streams[0];
    assert_eq!(note_kinds(stream), [NoteKind::ComputedCall]);
    assert_eq!(stream.notes[0].detail, "builtins.type()");
    assert_eq!(found.streams[1].notes[0].detail, "builtins.list()");
    assert_eq!(found.verdict(), Verdict::Unknown);
}

#[test]
fn rewriting_an_imported_object_is_dangerous() {
    // BUILD on a module attribute (sys_module_override_sploit.pkl's trick).
    let found = scan(b"\x80\x04ctorch\n_utils\n}(V_rebuild_tensor\nVeval\nub.", &allow(&["torch"]));
    let stream = only_stream(&found);
    assert_eq!(note_kinds(stream), [NoteKind::ModifiesGlobal]);
    assert_eq!(stream.verdict(), Verdict::Dangerous);
    // SETITEM on a global: `collections.OrderedDict[...] = ...`.
    let setitem = scan(b"ccollections\nOrderedDict\nK\x01K\x02s.", &allow(&["data"]));
    assert_eq!(note_kinds(only_stream(&setitem)), [NoteKind::ModifiesGlobal]);
}

#[test]
fn persistent_ids_are_noted_without_changing_the_verdict() {
    // A PyTorch storage reference: torch.FloatStorage via persistent_load.
    let input = b"\x80\x02(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000tQ.";
    let found = scan(input, &allow(&["torch"]));
    let stream = only_stream(&found);
    assert_eq!(note_kinds(stream), [NoteKind::PersistentId]);
    assert_eq!(stream.notes[0].verdict, Verdict::Safe);
    assert_eq!(found.verdict(), Verdict::Safe);
}

#[test]
fn every_pickle_of_a_concatenation_is_scanned() {
    let first = b"\x80\x02]q\x00.";
    let second = b"\x80\x02cposix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.";
    let input = [&first[..], &second[..], b"\x80\x02N."].concat();
    let found = scan_plain(&input);
    let offsets: Vec<usize> = found.streams.iter().map(|stream| stream.offset).collect();
    assert_eq!(offsets, [0, first.len(), first.len() + second.len()]);
    let verdicts: Vec<Verdict> = found.streams.iter().map(StreamScan::verdict).collect();
    assert_eq!(verdicts, [Verdict::Safe, Verdict::Dangerous, Verdict::Safe]);
    assert_eq!(found.rest, None);
}

#[test]
fn bytes_after_the_pickles_are_the_rest() {
    // A legacy PyTorch file: pickles, then raw storage bytes.
    let input = b"\x80\x02K\x01.\x80\x02K\x02.\x00\x00\x80?\xe2";
    let found = scan_plain(input);
    assert_eq!(found.streams.len(), 2);
    let rest = found.rest.as_ref().unwrap();
    assert_eq!(rest.offset, 10);
    assert!(rest.error.to_string().contains("invalid load key"), "{}", rest.error);
    assert_eq!(found.unreadable(), None);
    assert_eq!(found.verdict(), Verdict::Safe);
}

#[test]
fn a_stream_cut_after_a_dangerous_global_is_dangerous() {
    // broken_model.pkl: the stream breaks after naming builtins.exec.
    let found = scan_plain(b"cbuiltins\nexec\n(X>\nf = open");
    let stream = only_stream(&found);
    assert_eq!(imported(stream), ["builtins.exec"]);
    assert!(stream.end.is_err());
    assert_eq!(found.verdict(), Verdict::Dangerous);
    assert_eq!(found.unreadable(), None);
    // Later streams that break after naming something unsafe are kept too.
    let later = scan_plain(b"N.cos\nsystem\n(S'id'\ntRz");
    assert_eq!(later.streams.len(), 2);
    assert_eq!(later.verdict(), Verdict::Dangerous);
}

#[test]
fn what_is_not_a_pickle_is_unreadable() {
    for input in [&b""[..], b"\x89PNG\r\n\x1a\n", b"cmod\n\xf8\n", b"(lp0\n"] {
        let found = scan(input, &allow(&["torch"]));
        assert!(found.unreadable().is_some(), "{input:?}: {found:?}");
        assert_eq!(found.verdict(), Verdict::Safe, "{input:?}");
    }
    let error = scan_plain(b"\x80\x05\xff").unreadable().map(ToString::to_string);
    assert_eq!(error.as_deref(), Some("invalid load key, '\\u{ff}' (byte 0xff at offset 2)"));
}

//! The disassembler prints what `pickletools.dis` prints. Each expected
//! listing below is what CPython 3.11's `pickletools.dis` printed for the
//! same bytes (the inputs are `pickle.dumps` of the object named, or built
//! by hand where CPython no longer writes an opcode).

use std::collections::HashSet;

use oxpickle_core::dis::{disassemble, disassemble_as, Dialect};
use oxpickle_core::op::ALL;
use oxpickle_core::Instructions;

mod common;
use common::{
    ALL_PICKLES, HAND_MADE, PROTOCOL_0, PROTOCOL_1, PROTOCOL_2, PROTOCOL_3, PROTOCOL_4, PROTOCOL_5,
};

/// Checks the listing and the error message (None when pickletools
/// finishes cleanly).
fn check(input: &[u8], text: &str, error: Option<&str>) {
    let listing = disassemble(input);
    assert_eq!(listing.text, text, "listing of {input:?}");
    assert_eq!(listing.error.map(|e| e.message).as_deref(), error, "error for {input:?}");
}

#[test]
fn protocol_0_text_opcodes_and_nested_marks() {
    check(
        PROTOCOL_0,
        r#"    0: (    MARK
    1: l        LIST       (MARK at 0)
    2: p    PUT        0
    5: V    UNICODE    'a\'b"'
   11: p    PUT        1
   14: a    APPEND
   15: L    LONG       1180591620717411303424
   40: a    APPEND
   41: I    INT        -1
   45: a    APPEND
   46: I    INT        True
   50: a    APPEND
   51: F    FLOAT      0.1
   56: a    APPEND
   57: (    MARK
   58: t        TUPLE      (MARK at 57)
   59: a    APPEND
   60: (    MARK
   61: (        MARK
   62: I            INT        1
   65: t            TUPLE      (MARK at 61)
   66: p        PUT        2
   69: t        TUPLE      (MARK at 60)
   70: p    PUT        3
   73: a    APPEND
   74: (    MARK
   75: d        DICT       (MARK at 74)
   76: p    PUT        4
   79: V    UNICODE    'k'
   82: p    PUT        5
   85: (    MARK
   86: l        LIST       (MARK at 85)
   87: p    PUT        6
   90: I    INT        1
   93: a    APPEND
   94: s    SETITEM
   95: a    APPEND
   96: .    STOP
highest protocol among opcodes = 0
"#,
        None,
    );
}

#[test]
fn protocol_1_binary_ints_strings_and_globals() {
    check(
        PROTOCOL_1,
        r"    0: ]    EMPTY_LIST
    1: q    BINPUT     0
    3: (    MARK
    4: K        BININT1    1
    6: M        BININT2    300
    9: J        BININT     70000
   14: J        BININT     -5
   19: X        BINUNICODE 'é'
   26: q        BINPUT     1
   28: N        NONE
   29: G        BINFLOAT   2.5
   38: )        EMPTY_TUPLE
   39: }        EMPTY_DICT
   40: q        BINPUT     2
   42: (        MARK
   43: X            BINUNICODE 'a'
   49: q            BINPUT     3
   51: K            BININT1    1
   53: X            BINUNICODE 'b'
   59: q            BINPUT     4
   61: K            BININT1    2
   63: u            SETITEMS   (MARK at 42)
   64: c        GLOBAL     '__builtin__ len'
   81: q        BINPUT     5
   83: ]        EMPTY_LIST
   84: q        BINPUT     6
   86: ]        EMPTY_LIST
   87: q        BINPUT     7
   89: a        APPEND
   90: e        APPENDS    (MARK at 3)
   91: .    STOP
highest protocol among opcodes = 1
",
        None,
    );
}

#[test]
fn protocol_2_bools_longs_small_tuples_and_newobj() {
    check(
        PROTOCOL_2,
        r"    0: \x80 PROTO      2
    2: ]    EMPTY_LIST
    3: q    BINPUT     0
    5: (    MARK
    6: \x88     NEWTRUE
    7: \x89     NEWFALSE
    8: \x8a     LONG1      18446744073709551616
   19: \x8a     LONG1      -9223372036854775808
   29: K        BININT1    1
   31: \x85     TUPLE1
   32: q        BINPUT     1
   34: K        BININT1    1
   36: K        BININT1    2
   38: \x86     TUPLE2
   39: q        BINPUT     2
   41: K        BININT1    1
   43: K        BININT1    2
   45: K        BININT1    3
   47: \x87     TUPLE3
   48: q        BINPUT     3
   50: c        GLOBAL     'geo Point'
   61: q        BINPUT     4
   63: )        EMPTY_TUPLE
   64: \x81     NEWOBJ
   65: q        BINPUT     5
   67: }        EMPTY_DICT
   68: q        BINPUT     6
   70: X        BINUNICODE 'x'
   76: q        BINPUT     7
   78: K        BININT1    1
   80: s        SETITEM
   81: b        BUILD
   82: e        APPENDS    (MARK at 5)
   83: .    STOP
highest protocol among opcodes = 2
",
        None,
    );
}

#[test]
fn protocol_3_bytes() {
    check(
        PROTOCOL_3,
        r"    0: \x80 PROTO      3
    2: ]    EMPTY_LIST
    3: q    BINPUT     0
    5: (    MARK
    6: C        SHORT_BINBYTES b'ab'
   10: q        BINPUT     1
   12: C        SHORT_BINBYTES b''
   14: q        BINPUT     2
   16: X        BINUNICODE 'x\ny'
   24: q        BINPUT     3
   26: e        APPENDS    (MARK at 5)
   27: .    STOP
highest protocol among opcodes = 3
",
        None,
    );
}

#[test]
fn protocol_4_frames_memoize_sets_and_stack_global() {
    check(
        PROTOCOL_4,
        r"    0: \x80 PROTO      4
    2: \x95 FRAME      53
   11: ]    EMPTY_LIST
   12: \x94 MEMOIZE    (as 0)
   13: (    MARK
   14: \x8f     EMPTY_SET
   15: \x94     MEMOIZE    (as 1)
   16: (        MARK
   17: K            BININT1    1
   19: K            BININT1    2
   21: \x90         ADDITEMS   (MARK at 16)
   22: (        MARK
   23: K            BININT1    3
   25: \x91         FROZENSET  (MARK at 22)
   26: \x94     MEMOIZE    (as 2)
   27: \x8c     SHORT_BINUNICODE 'üü'
   33: \x94     MEMOIZE    (as 3)
   34: \x8c     SHORT_BINUNICODE 'geo'
   39: \x94     MEMOIZE    (as 4)
   40: \x8c     SHORT_BINUNICODE 'KwNew'
   47: \x94     MEMOIZE    (as 5)
   48: \x93     STACK_GLOBAL
   49: \x94     MEMOIZE    (as 6)
   50: )        EMPTY_TUPLE
   51: }        EMPTY_DICT
   52: \x94     MEMOIZE    (as 7)
   53: \x8c     SHORT_BINUNICODE 'a'
   56: \x94     MEMOIZE    (as 8)
   57: K        BININT1    1
   59: s        SETITEM
   60: \x92     NEWOBJ_EX
   61: \x94     MEMOIZE    (as 9)
   62: e        APPENDS    (MARK at 13)
   63: .    STOP
highest protocol among opcodes = 4
",
        None,
    );
}

#[test]
fn protocol_5_bytearray_and_out_of_band_buffers() {
    check(
        PROTOCOL_5,
        r"    0: \x80 PROTO      5
    2: \x95 FRAME      20
   11: ]    EMPTY_LIST
   12: \x94 MEMOIZE    (as 0)
   13: (    MARK
   14: \x96     BYTEARRAY8 bytearray(b'\x00\xff')
   25: \x94     MEMOIZE    (as 1)
   26: \x97     NEXT_BUFFER
   27: \x97     NEXT_BUFFER
   28: \x98     READONLY_BUFFER
   29: e        APPENDS    (MARK at 13)
   30: .    STOP
highest protocol among opcodes = 5
",
        None,
    );
}

#[test]
fn string_reprs_escape_as_python_does() {
    // ["\ud800", "😀\U000e0001", "\x00\t\\'", '"', "\xa0\xad\u2028", "中"], protocol 4
    check(
        b"\x80\x04\x951\x00\x00\x00\x00\x00\x00\x00]\x94(\x8c\x03\xed\xa0\x80\x94\x8c\x08\xf0\x9f\x98\x80\xf3\xa0\x80\x81\x94\x8c\x04\x00\x09\\'\x94\x8c\x01\"\x94\x8c\x07\xc2\xa0\xc2\xad\xe2\x80\xa8\x94\x8c\x03\xe4\xb8\xad\x94e.",
        r#"    0: \x80 PROTO      4
    2: \x95 FRAME      49
   11: ]    EMPTY_LIST
   12: \x94 MEMOIZE    (as 0)
   13: (    MARK
   14: \x8c     SHORT_BINUNICODE '\ud800'
   19: \x94     MEMOIZE    (as 1)
   20: \x8c     SHORT_BINUNICODE '😀\U000e0001'
   30: \x94     MEMOIZE    (as 2)
   31: \x8c     SHORT_BINUNICODE "\x00\t\\'"
   37: \x94     MEMOIZE    (as 3)
   38: \x8c     SHORT_BINUNICODE '"'
   41: \x94     MEMOIZE    (as 4)
   42: \x8c     SHORT_BINUNICODE '\xa0\xad\u2028'
   51: \x94     MEMOIZE    (as 5)
   52: \x8c     SHORT_BINUNICODE '中'
   57: \x94     MEMOIZE    (as 6)
   58: e        APPENDS    (MARK at 13)
   59: .    STOP
highest protocol among opcodes = 4
"#,
        None,
    );
    // ["\ud800", "😀", "\\ \n"], protocol 0: raw-unicode-escape
    check(
        b"(lp0\nV\\ud800\np1\naV\\U0001f600\np2\naV\\u005c \\u000a\np3\na.",
        r"    0: (    MARK
    1: l        LIST       (MARK at 0)
    2: p    PUT        0
    5: V    UNICODE    '\ud800'
   13: p    PUT        1
   16: a    APPEND
   17: V    UNICODE    '😀'
   29: p    PUT        2
   32: a    APPEND
   33: V    UNICODE    '\\ \n'
   48: p    PUT        3
   51: a    APPEND
   52: .    STOP
highest protocol among opcodes = 0
",
        None,
    );
}

#[test]
fn float_reprs() {
    // [0.0, -0.0, 1e16, 1e-5, 1.5e300, inf, nan, 196637 / 2**17], protocol 1
    check(
        b"]q\x00(G\x00\x00\x00\x00\x00\x00\x00\x00G\x80\x00\x00\x00\x00\x00\x00\x00GCA\xc3y7\xe0\x80\x00G>\xe4\xf8\xb5\x88\xe3h\xf1G~A\xeb-f\x00X5G\x7f\xf0\x00\x00\x00\x00\x00\x00G\x7f\xf8\x00\x00\x00\x00\x00\x00G?\xf8\x00\xe8\x00\x00\x00\x00e.",
        r"    0: ]    EMPTY_LIST
    1: q    BINPUT     0
    3: (    MARK
    4: G        BINFLOAT   0.0
   13: G        BINFLOAT   -0.0
   22: G        BINFLOAT   1e+16
   31: G        BINFLOAT   1e-05
   40: G        BINFLOAT   1.5e+300
   49: G        BINFLOAT   inf
   58: G        BINFLOAT   nan
   67: G        BINFLOAT   1.5002212524414062
   76: e        APPENDS    (MARK at 3)
   77: .    STOP
highest protocol among opcodes = 1
",
        None,
    );
}

#[test]
fn legacy_and_rare_opcodes() {
    check(
        HAND_MADE,
        r"    0: \x80 PROTO      4
    2: (    MARK
    3: S        STRING     'py2'
   10: T        BINSTRING  'abc'
   18: U        SHORT_BINSTRING 'hi'
   22: \x8d     BINUNICODE8 'ok'
   33: \x8e     BINBYTES8  b'z'
   43: B        BINBYTES   b'y'
   49: \x8b     LONG4      18446744073709551616
   63: r        LONG_BINPUT 256
   68: j        LONG_BINGET 256
   73: g        GET        256
   78: q        BINPUT     5
   80: h        BINGET     5
   82: p        PUT        7
   85: 2        DUP
   86: 0        POP
   87: (        MARK
   88: N            NONE
   89: 1            POP_MARK   (MARK at 87)
   90: \x82     EXT1       1
   92: \x83     EXT2       513
   95: \x84     EXT4       65537
  100: P        PERSID     'id'
  104: K        BININT1    1
  106: Q        BINPERSID
  107: (        MARK
  108: K            BININT1    1
  110: i            INST       'mod cls' (MARK at 107)
  119: (        MARK
  120: c            GLOBAL     'mod cls'
  129: K            BININT1    2
  131: o            OBJ        (MARK at 119)
  132: c        GLOBAL     'mod f'
  139: )        EMPTY_TUPLE
  140: R        REDUCE
  141: l        LIST       (MARK at 2)
  142: .    STOP
highest protocol among opcodes = 4
",
        None,
    );
}

#[test]
fn decimal_memo_arguments_follow_int_rules() {
    check(
        b"Np01\n0g1\n.",
        "    0: N    NONE\n    1: p    PUT        True\n    5: 0    POP\n    6: g    GET        1\n    \
         9: .    STOP\nhighest protocol among opcodes = 0\n",
        None,
    );
}

#[test]
fn every_opcode_is_listed_somewhere_above() {
    let mut seen = HashSet::new();
    for input in ALL_PICKLES {
        for instr in Instructions::new(input, 0) {
            seen.insert(instr.expect("test inputs decode").op);
        }
    }
    let missing: Vec<&str> =
        ALL.iter().filter(|op| !seen.contains(op)).map(|op| op.name()).collect();
    assert_eq!(missing, Vec::<&str>::new());
}

#[test]
fn input_that_ends_early() {
    check(b"", "", Some("pickle exhausted before seeing STOP"));
    check(b"N", "    0: N    NONE\n", Some("pickle exhausted before seeing STOP"));
    check(
        b"\x80\x04\x8c\x05ab",
        "    0: \\x80 PROTO      4\n",
        Some("expected 5 bytes in a unicodestring1, but only 2 remain"),
    );
}

#[test]
fn unreadable_arguments_and_unknown_opcodes() {
    check(
        b"\x80\x05\xff",
        "    0: \\x80 PROTO      5\n",
        Some("at position 2, opcode b'\\xff' unknown"),
    );
    check(b"T\xff\xff\xff\xff", "", Some("string4 byte count < 0: -1"));
    check(b"I0x10\n.", "", Some("invalid literal for int() with base 10: b'0x10'"));
}

#[test]
fn memo_misuse() {
    check(
        b"Nh\x00.",
        "    0: N    NONE\n    1: h    BINGET     0\n",
        Some("memo key 0 has never been stored into"),
    );
    check(
        b"Ng01\n.",
        "    0: N    NONE\n    1: g    GET        True\n",
        Some("memo key True has never been stored into"),
    );
    check(
        b"Nq\x00Nq\x00.",
        "    0: N    NONE\n    1: q    BINPUT     0\n    3: N    NONE\n    4: q    BINPUT     0\n",
        Some("memo key 0 already defined"),
    );
    check(
        b"\x94.",
        "    0: \\x94 MEMOIZE    (as 0)\n",
        Some("stack is empty -- can't store into memo"),
    );
    check(
        b"(K\x01\x94\x94(\x94.",
        "    0: (    MARK\n    1: K        BININT1    1\n    3: \\x94     MEMOIZE    (as 0)\n    \
         4: \\x94     MEMOIZE    (as 1)\n    5: (        MARK\n    6: \\x94         MEMOIZE    (as 2)\n",
        Some("can't store markobject in the memo"),
    );
}

#[test]
fn stack_misuse() {
    check(b"0.", "    0: 0    POP\n", Some("tries to pop 1 items from stack with only 0 items"));
    check(
        b"N(N.",
        "    0: N    NONE\n    1: (    MARK\n    2: N        NONE\n    3: .        STOP\n\
         highest protocol among opcodes = 0\n",
        Some("stack not empty after STOP: [None, mark]"),
    );
    check(
        b"e.",
        "    0: e    APPENDS    no MARK exists on stack\n",
        Some("no MARK exists on stack"),
    );
    // DUP and TUPLE1 take the MARK as a value, as pickletools' model does.
    check(
        b"(2\x85\x85(\x85.",
        r"    0: (    MARK
    1: 2        DUP
    2: \x85     TUPLE1
    3: \x85     TUPLE1
    4: (        MARK
    5: \x85         TUPLE1
    6: .            STOP
highest protocol among opcodes = 2
",
        Some("stack not empty after STOP: [any, tuple]"),
    );
    // Then APPENDS finds no MARK left to pop through: pickletools fails
    // with an IndexError after printing the offset.
    check(
        b"(2e.",
        "    0: (    MARK\n    1: 2        DUP\n    2: ",
        Some("list index out of range"),
    );
}

#[test]
fn ints_past_the_digit_limit_fail_after_the_offset_is_printed() {
    let mut input = b"\x80\x02\x8b\xd0\x07\x00\x00".to_vec();
    input.extend([0x7f; 2000]);
    input.push(b'.');
    check(
        &input,
        "    0: \\x80 PROTO      2\n    2: ",
        Some(
            "Exceeds the limit (4300 digits) for integer string conversion; \
             use sys.set_int_max_str_digits() to increase the limit",
        ),
    );
}

#[test]
fn offsets_wider_than_five_digits_push_the_columns() {
    let mut input = b"\x80\x04\x8e\xa0\x86\x01\x00\x00\x00\x00\x00".to_vec();
    input.extend([b'a'; 100_000]);
    input.extend(b"0N.");
    let listing = disassemble(&input);
    assert!(listing.text.ends_with("100011: 0    POP\n100012: N    NONE\n100013: .    STOP\nhighest protocol among opcodes = 4\n"));
    assert_eq!(listing.error, None);
}

#[test]
fn errors_name_the_offset() {
    let error = disassemble(b"NN.").error.expect("an error");
    assert_eq!(error.offset, 2);
    assert_eq!(error.to_string(), "stack not empty after STOP: [None] (at byte 2)");
}

#[test]
fn truncated_pickles_list_what_precedes_the_cut() {
    for input in ALL_PICKLES {
        let full = disassemble(input).text;
        for cut in 0..input.len() {
            let partial = disassemble(&input[..cut]);
            assert!(partial.error.is_some(), "prefix of {cut} bytes");
            assert!(full.starts_with(&partial.text), "prefix of {cut} bytes");
        }
    }
}

/// Where the pickletools of CPython 3.14 differs from the one before it.
#[test]
fn the_3_14_dialect() {
    let check_3_14 = |input: &[u8], text: &str, error: Option<&str>| {
        let listing = disassemble_as(input, Dialect::From3_14);
        assert_eq!(listing.text, text, "listing of {input:?}");
        assert_eq!(listing.error.map(|e| e.message).as_deref(), error, "error for {input:?}");
    };
    // A memo entry stored again is no error (the unpickler allows it).
    check_3_14(
        b"Nq\x00Nq\x00.",
        "    0: N    NONE\n    1: q    BINPUT     0\n    3: N    NONE\n    4: q    BINPUT     0\n    \
         6: .    STOP\nhighest protocol among opcodes = 1\n",
        Some("stack not empty after STOP: [None]"),
    );
    // The missing MARK is the error, not a note on the line.
    check_3_14(b"e.", "    0: e    APPENDS\n", Some("no MARK exists on stack"));
    check_3_14(b"S'a\n.", "", Some("string quote b\"'\" not found at both ends of b\"'a\""));
    // Otherwise the same.
    check_3_14(
        b"0.",
        "    0: 0    POP\n",
        Some("tries to pop 1 items from stack with only 0 items"),
    );
}

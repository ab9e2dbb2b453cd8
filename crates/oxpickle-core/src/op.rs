//! The pickle opcode table: the one place that knows every opcode of
//! protocols 0–5, its byte, its argument encoding and the protocol that
//! introduced it. Encoder, decoder, disassembler and scanner all read it.

/// How an opcode's argument is laid out in the stream, named as in
/// `pickletools` so the disassembler can speak the same language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    /// No argument.
    None,
    /// One unsigned byte.
    Uint1,
    /// Two-byte little-endian unsigned integer.
    Uint2,
    /// Four-byte little-endian signed integer.
    Int4,
    /// Four-byte little-endian unsigned integer.
    Uint4,
    /// Eight-byte little-endian unsigned integer.
    Uint8,
    /// Eight-byte big-endian IEEE 754 double.
    Float8,
    /// A newline-terminated Python string literal (`repr` quoting).
    StringNl,
    /// A newline-terminated string taken as is.
    StringNlNoEscape,
    /// Two newline-terminated strings taken as is (module, then name).
    StringNlNoEscapePair,
    /// A newline-terminated raw-unicode-escape string.
    UnicodeStringNl,
    /// A newline-terminated decimal integer that fits a C long (`01`/`00` are booleans).
    DecimalNlShort,
    /// A newline-terminated decimal integer with an optional `L` suffix.
    DecimalNlLong,
    /// A newline-terminated float in `repr` form.
    FloatNl,
    /// Length byte, then that many bytes (a protocol-1 str).
    String1,
    /// Four-byte signed length, then that many bytes (a protocol-1 str).
    String4,
    /// Length byte, then that many bytes.
    Bytes1,
    /// Four-byte unsigned length, then that many bytes.
    Bytes4,
    /// Eight-byte unsigned length, then that many bytes.
    Bytes8,
    /// Eight-byte unsigned length, then that many bytes of a bytearray.
    ByteArray8,
    /// Length byte, then that many bytes of UTF-8.
    UnicodeString1,
    /// Four-byte unsigned length, then that many bytes of UTF-8.
    UnicodeString4,
    /// Eight-byte unsigned length, then that many bytes of UTF-8.
    UnicodeString8,
    /// Length byte, then a little-endian two's-complement integer.
    Long1,
    /// Four-byte signed length, then a little-endian two's-complement integer.
    Long4,
}

impl ArgKind {
    /// The `pickletools` name of this argument encoding.
    pub const fn name(self) -> &'static str {
        match self {
            ArgKind::None => "none",
            ArgKind::Uint1 => "uint1",
            ArgKind::Uint2 => "uint2",
            ArgKind::Int4 => "int4",
            ArgKind::Uint4 => "uint4",
            ArgKind::Uint8 => "uint8",
            ArgKind::Float8 => "float8",
            ArgKind::StringNl => "stringnl",
            ArgKind::StringNlNoEscape => "stringnl_noescape",
            ArgKind::StringNlNoEscapePair => "stringnl_noescape_pair",
            ArgKind::UnicodeStringNl => "unicodestringnl",
            ArgKind::DecimalNlShort => "decimalnl_short",
            ArgKind::DecimalNlLong => "decimalnl_long",
            ArgKind::FloatNl => "floatnl",
            ArgKind::String1 => "string1",
            ArgKind::String4 => "string4",
            ArgKind::Bytes1 => "bytes1",
            ArgKind::Bytes4 => "bytes4",
            ArgKind::Bytes8 => "bytes8",
            ArgKind::ByteArray8 => "bytearray8",
            ArgKind::UnicodeString1 => "unicodestring1",
            ArgKind::UnicodeString4 => "unicodestring4",
            ArgKind::UnicodeString8 => "unicodestring8",
            ArgKind::Long1 => "long1",
            ArgKind::Long4 => "long4",
        }
    }
}

macro_rules! opcode_table {
    ($( $variant:ident = $byte:literal, $name:literal, $arg:ident, $proto:literal; )*) => {
        /// A pickle opcode.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum Op {
            $( $variant = $byte, )*
        }

        /// Every opcode, in `pickletools.opcodes` order.
        pub const ALL: &[Op] = &[ $( Op::$variant, )* ];

        /// The opcode of each byte: one load per instruction decoded, where
        /// a `match` on the byte compiles to a jump per byte value.
        const BY_BYTE: [Option<Op>; 256] = {
            let mut table = [None; 256];
            let mut i = 0;
            while i < ALL.len() {
                table[ALL[i] as usize] = Some(ALL[i]);
                i += 1;
            }
            table
        };

        impl Op {
            /// The opcode for a byte, if the byte is one.
            #[inline(always)]
            pub const fn from_byte(byte: u8) -> Option<Op> {
                BY_BYTE[byte as usize]
            }

            /// The opcode's name as `pickletools` prints it.
            pub const fn name(self) -> &'static str {
                match self { $( Op::$variant => $name, )* }
            }

            /// How the opcode's argument is encoded.
            // Always inlined: the unpickler's loop asks once per opcode.
            #[inline(always)]
            pub const fn arg(self) -> ArgKind {
                match self { $( Op::$variant => ArgKind::$arg, )* }
            }

            /// The first protocol that has this opcode.
            pub const fn protocol(self) -> u8 {
                match self { $( Op::$variant => $proto, )* }
            }
        }
    };
}

opcode_table! {
    Int = b'I', "INT", DecimalNlShort, 0;
    BinInt = b'J', "BININT", Int4, 1;
    BinInt1 = b'K', "BININT1", Uint1, 1;
    BinInt2 = b'M', "BININT2", Uint2, 1;
    Long = b'L', "LONG", DecimalNlLong, 0;
    Long1 = 0x8a, "LONG1", Long1, 2;
    Long4 = 0x8b, "LONG4", Long4, 2;
    String = b'S', "STRING", StringNl, 0;
    BinString = b'T', "BINSTRING", String4, 1;
    ShortBinString = b'U', "SHORT_BINSTRING", String1, 1;
    BinBytes = b'B', "BINBYTES", Bytes4, 3;
    ShortBinBytes = b'C', "SHORT_BINBYTES", Bytes1, 3;
    BinBytes8 = 0x8e, "BINBYTES8", Bytes8, 4;
    ByteArray8 = 0x96, "BYTEARRAY8", ByteArray8, 5;
    NextBuffer = 0x97, "NEXT_BUFFER", None, 5;
    ReadonlyBuffer = 0x98, "READONLY_BUFFER", None, 5;
    None = b'N', "NONE", None, 0;
    NewTrue = 0x88, "NEWTRUE", None, 2;
    NewFalse = 0x89, "NEWFALSE", None, 2;
    Unicode = b'V', "UNICODE", UnicodeStringNl, 0;
    ShortBinUnicode = 0x8c, "SHORT_BINUNICODE", UnicodeString1, 4;
    BinUnicode = b'X', "BINUNICODE", UnicodeString4, 1;
    BinUnicode8 = 0x8d, "BINUNICODE8", UnicodeString8, 4;
    Float = b'F', "FLOAT", FloatNl, 0;
    BinFloat = b'G', "BINFLOAT", Float8, 1;
    EmptyList = b']', "EMPTY_LIST", None, 1;
    Append = b'a', "APPEND", None, 0;
    Appends = b'e', "APPENDS", None, 1;
    List = b'l', "LIST", None, 0;
    EmptyTuple = b')', "EMPTY_TUPLE", None, 1;
    Tuple = b't', "TUPLE", None, 0;
    Tuple1 = 0x85, "TUPLE1", None, 2;
    Tuple2 = 0x86, "TUPLE2", None, 2;
    Tuple3 = 0x87, "TUPLE3", None, 2;
    EmptyDict = b'}', "EMPTY_DICT", None, 1;
    Dict = b'd', "DICT", None, 0;
    SetItem = b's', "SETITEM", None, 0;
    SetItems = b'u', "SETITEMS", None, 1;
    EmptySet = 0x8f, "EMPTY_SET", None, 4;
    AddItems = 0x90, "ADDITEMS", None, 4;
    FrozenSet = 0x91, "FROZENSET", None, 4;
    Pop = b'0', "POP", None, 0;
    Dup = b'2', "DUP", None, 0;
    Mark = b'(', "MARK", None, 0;
    PopMark = b'1', "POP_MARK", None, 1;
    Get = b'g', "GET", DecimalNlShort, 0;
    BinGet = b'h', "BINGET", Uint1, 1;
    LongBinGet = b'j', "LONG_BINGET", Uint4, 1;
    Put = b'p', "PUT", DecimalNlShort, 0;
    BinPut = b'q', "BINPUT", Uint1, 1;
    LongBinPut = b'r', "LONG_BINPUT", Uint4, 1;
    Memoize = 0x94, "MEMOIZE", None, 4;
    Ext1 = 0x82, "EXT1", Uint1, 2;
    Ext2 = 0x83, "EXT2", Uint2, 2;
    Ext4 = 0x84, "EXT4", Int4, 2;
    Global = b'c', "GLOBAL", StringNlNoEscapePair, 0;
    StackGlobal = 0x93, "STACK_GLOBAL", None, 4;
    Reduce = b'R', "REDUCE", None, 0;
    Build = b'b', "BUILD", None, 0;
    Inst = b'i', "INST", StringNlNoEscapePair, 0;
    Obj = b'o', "OBJ", None, 1;
    NewObj = 0x81, "NEWOBJ", None, 2;
    NewObjEx = 0x92, "NEWOBJ_EX", None, 4;
    Proto = 0x80, "PROTO", Uint1, 2;
    Stop = b'.', "STOP", None, 0;
    Frame = 0x95, "FRAME", Uint8, 4;
    PersId = b'P', "PERSID", StringNlNoEscape, 0;
    BinPersId = b'Q', "BINPERSID", None, 1;
}

/// The highest protocol this table covers.
pub const HIGHEST_PROTOCOL: u8 = 5;

impl Op {
    /// The opcode's byte in the stream.
    #[inline]
    pub const fn byte(self) -> u8 {
        self as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_every_pickletools_opcode_once() {
        assert_eq!(ALL.len(), 68);
        let mut seen = [false; 256];
        for op in ALL {
            assert!(!seen[op.byte() as usize], "{} listed twice", op.name());
            seen[op.byte() as usize] = true;
            assert_eq!(Op::from_byte(op.byte()), Some(*op));
            assert!(op.protocol() <= HIGHEST_PROTOCOL);
        }
    }

    #[test]
    fn bytes_that_are_not_opcodes_decode_to_none() {
        let known = ALL.iter().filter(|op| Op::from_byte(op.byte()).is_some()).count();
        let decoded = (0..=255u8).filter(|b| Op::from_byte(*b).is_some()).count();
        assert_eq!(known, decoded);
        assert_eq!(Op::from_byte(0xff), None);
    }
}

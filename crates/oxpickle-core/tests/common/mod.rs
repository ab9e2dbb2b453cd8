//! Pickles both test files run: one per protocol, made by CPython 3.11's
//! `pickle.dumps` of the object named, and one made by hand with every
//! opcode CPython no longer writes. Together they hold every opcode.

/// ['a\'b"', 2**70, -1, True, 0.1, (), ((1,),), {'k': [1]}], protocol 0
pub const PROTOCOL_0: &[u8] = b"(lp0\nVa'b\"\np1\naL1180591620717411303424L\naI-1\naI01\naF0.1\na(ta((I1\ntp2\ntp3\na(dp4\nVk\np5\n(lp6\nI1\nasa.";

/// [1, 300, 70000, -5, 'é', None, 2.5, (), {'a': 1, 'b': 2}, len, [[]]], protocol 1
pub const PROTOCOL_1: &[u8] = b"]q\x00(K\x01M,\x01Jp\x11\x01\x00J\xfb\xff\xff\xffX\x02\x00\x00\x00\xc3\xa9q\x01NG@\x04\x00\x00\x00\x00\x00\x00)}q\x02(X\x01\x00\x00\x00aq\x03K\x01X\x01\x00\x00\x00bq\x04K\x02uc__builtin__\nlen\nq\x05]q\x06]q\x07ae.";

/// [True, False, 2**64, -2**63, (1,), (1, 2), (1, 2, 3), geo.Point()], protocol 2
pub const PROTOCOL_2: &[u8] = b"\x80\x02]q\x00(\x88\x89\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80K\x01\x85q\x01K\x01K\x02\x86q\x02K\x01K\x02K\x03\x87q\x03cgeo\nPoint\nq\x04)\x81q\x05}q\x06X\x01\x00\x00\x00xq\x07K\x01sbe.";

/// [b'ab', b'', 'x\ny'], protocol 3
pub const PROTOCOL_3: &[u8] = b"\x80\x03]q\x00(C\x02abq\x01C\x00q\x02X\x03\x00\x00\x00x\nyq\x03e.";

/// [{1, 2}, frozenset([3]), 'üü', geo.KwNew(a=1)], protocol 4
pub const PROTOCOL_4: &[u8] = b"\x80\x04\x955\x00\x00\x00\x00\x00\x00\x00]\x94(\x8f\x94(K\x01K\x02\x90(K\x03\x91\x94\x8c\x04\xc3\xbc\xc3\xbc\x94\x8c\x03geo\x94\x8c\x05KwNew\x94\x93\x94)}\x94\x8c\x01a\x94K\x01s\x92\x94e.";

/// [bytearray(b'\x00\xff'), PickleBuffer(bytearray(b'rw')), PickleBuffer(b'ro')],
/// protocol 5, both buffers out of band
pub const PROTOCOL_5: &[u8] = b"\x80\x05\x95\x14\x00\x00\x00\x00\x00\x00\x00]\x94(\x96\x02\x00\x00\x00\x00\x00\x00\x00\x00\xff\x94\x97\x97\x98e.";

/// Every opcode CPython no longer writes, and the memo opcodes it writes
/// only in some protocols, in one hand-made pickle.
pub const HAND_MADE: &[u8] = b"\x80\x04(S'py2'\nT\x03\x00\x00\x00abcU\x02hi\x8d\x02\x00\x00\x00\x00\x00\x00\x00ok\x8e\x01\x00\x00\x00\x00\x00\x00\x00zB\x01\x00\x00\x00y\x8b\x09\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01r\x00\x01\x00\x00j\x00\x01\x00\x00g256\nq\x05h\x05p7\n20(N1\x82\x01\x83\x01\x02\x84\x01\x00\x01\x00Pid\nK\x01Q(K\x01imod\ncls\n(cmod\ncls\nK\x02ocmod\nf\n)Rl.";

/// All of the above, oldest protocol first.
pub const ALL_PICKLES: [&[u8]; 7] =
    [PROTOCOL_0, PROTOCOL_1, PROTOCOL_2, PROTOCOL_3, PROTOCOL_4, PROTOCOL_5, HAND_MADE];

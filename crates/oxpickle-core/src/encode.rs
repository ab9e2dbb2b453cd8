//! Encoding: opcodes into a growable buffer, with protocol-4 framing.
//!
//! The byte choices follow CPython's C pickler (smallest integer opcode that
//! fits, 64 KiB frames, no frame under 4 bytes, large payloads outside
//! frames) so that output can be compared byte for byte with `pickle`.

mod buffer;

pub use buffer::OutputBuffer;

use crate::op::Op;
use crate::text;

/// A frame is committed once it holds at least this many bytes.
pub const FRAME_SIZE_TARGET: usize = 64 * 1024;
/// Frames smaller than this are not worth their 9-byte header.
const FRAME_SIZE_MIN: usize = 4;
/// FRAME opcode plus its 8-byte length.
const FRAME_HEADER_SIZE: usize = 9;
/// Room reserved past a large payload for the opcodes that follow it (the
/// rest of a reduce: a dtype, a shape), so that the buffer does not grow
/// again for them once it holds a payload of hundreds of megabytes.
const PAYLOAD_SLACK: usize = 1024;

/// Why a value cannot be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// A payload longer than the protocol's length prefixes can say.
    TooLarge { what: &'static str, protocol: u8 },
    /// A memo index past what LONG_BINPUT/LONG_BINGET can carry.
    MemoIndexTooLarge,
}

impl std::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EncodeError::TooLarge { what, protocol } => write!(
                f,
                "serializing a {what} larger than 4 GiB requires pickle protocol 4 or higher \
                 (protocol {protocol} was asked for)"
            ),
            EncodeError::MemoIndexTooLarge => f.write_str("memo id too large for LONG_BINPUT"),
        }
    }
}

impl std::error::Error for EncodeError {}

/// Opcodes written into a buffer, with frames.
#[derive(Debug, Default)]
pub struct Encoder<B: OutputBuffer = Vec<u8>> {
    out: B,
    framing: bool,
    /// Offset of the current frame's reserved header, if a frame is open.
    frame_start: Option<usize>,
}

impl Encoder {
    /// An empty encoder with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        Encoder::new(Vec::with_capacity(capacity))
    }
}

impl<B: OutputBuffer> Encoder<B> {
    /// An encoder that appends to `out`.
    pub fn new(out: B) -> Self {
        Encoder { out, framing: false, frame_start: None }
    }

    /// Turns framing on or off; callers commit the open frame first.
    pub fn set_framing(&mut self, framing: bool) {
        self.framing = framing;
    }

    /// Whether writes go into frames.
    pub fn framing(&self) -> bool {
        self.framing
    }

    /// The bytes written so far (frames whose header is reserved but not
    /// yet committed are not valid pickle until `commit_frame`).
    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: the buffer's first `len()` bytes are initialised
        // (OutputBuffer's contract) and borrowed with `self`.
        unsafe { std::slice::from_raw_parts(self.out.as_ptr(), self.out.len()) }
    }

    /// Number of bytes buffered.
    pub fn len(&self) -> usize {
        self.out.len()
    }

    /// Whether nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// The buffer written so far, with `fresh` taking its place. The
    /// frame, if any, must be committed first.
    pub fn replace_buffer(&mut self, fresh: B) -> B {
        debug_assert!(self.frame_start.is_none(), "replace_buffer() with an open frame");
        std::mem::replace(&mut self.out, fresh)
    }

    /// The buffer, for what its owner asks of it (whether it could grow).
    pub fn buffer_mut(&mut self) -> &mut B {
        &mut self.out
    }

    /// The buffer written, after the frame (if any) is committed.
    pub fn into_buffer(self) -> B {
        debug_assert!(self.frame_start.is_none(), "into_buffer() with an open frame");
        self.out
    }

    /// Appends raw bytes, opening a frame first when framing is on.
    #[inline]
    pub fn write(&mut self, bytes: &[u8]) {
        self.open_frame_if_needed(bytes.len());
        self.append(bytes);
    }

    /// Whether there is room for `additional` more bytes, growing the
    /// buffer if needed. When it cannot grow, the write is dropped: the
    /// buffer keeps the reason for its owner (see `OutputBuffer::grow`).
    #[inline(always)]
    fn reserve(&mut self, additional: usize) -> bool {
        self.out.capacity() - self.out.len() >= additional || self.grow(additional)
    }

    #[cold]
    fn grow(&mut self, additional: usize) -> bool {
        if self.out.grow(additional) {
            return true;
        }
        // The buffer may have lost what it held, the open frame with it.
        self.frame_start = None;
        false
    }

    /// Appends `bytes` to the buffer, inside or outside a frame.
    #[inline(always)]
    fn append(&mut self, bytes: &[u8]) {
        if !self.reserve(bytes.len()) {
            return;
        }
        let start = self.out.len();
        // SAFETY: `reserve` made room for `bytes.len()` more bytes, which
        // are written before the length covers them; `bytes` is not the
        // buffer's own storage, which is borrowed mutably here.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.out.as_mut_ptr().add(start),
                bytes.len(),
            );
            self.out.set_len(start + bytes.len());
        }
    }

    /// Appends the first `len` bytes of `bytes`: for a few bytes, a copy
    /// of fixed size into the spare capacity costs less than a copy of
    /// `len`, and inlines whatever the caller's size.
    #[inline(always)]
    fn write_prefix<const N: usize>(&mut self, bytes: &[u8; N], len: usize) {
        self.open_frame_if_needed(N);
        if !self.reserve(N) {
            return;
        }
        let start = self.out.len();
        // SAFETY: `reserve` made room for N more bytes past the length; all
        // N are written before the length grows over the first `len` of them.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.out.as_mut_ptr().add(start), N);
            self.out.set_len(start + len.min(N));
        }
    }

    #[inline]
    fn write_byte(&mut self, byte: u8) {
        self.open_frame_if_needed(1);
        if !self.reserve(1) {
            return;
        }
        let at = self.out.len();
        // SAFETY: `reserve` made room for one more byte, written before the
        // length covers it.
        unsafe {
            self.out.as_mut_ptr().add(at).write(byte);
            self.out.set_len(at + 1);
        }
    }

    #[inline(always)]
    fn open_frame_if_needed(&mut self, extra: usize) {
        if self.framing && self.frame_start.is_none() {
            self.open_frame(extra);
        }
    }

    /// Reserves the header of a new frame, once per frame.
    #[cold]
    fn open_frame(&mut self, extra: usize) {
        if !self.reserve(FRAME_HEADER_SIZE + extra) {
            return;
        }
        self.frame_start = Some(self.out.len());
        self.append(&[0u8; FRAME_HEADER_SIZE]);
    }

    /// Whether the open frame has reached the size at which it is committed.
    #[inline]
    pub fn frame_is_full(&self) -> bool {
        match self.frame_start {
            Some(start) => self.out.len() - start - FRAME_HEADER_SIZE >= FRAME_SIZE_TARGET,
            None => false,
        }
    }

    /// Closes the open frame: fills in its header, or removes the header if
    /// the frame is too small to deserve one.
    pub fn commit_frame(&mut self) {
        let Some(start) = self.frame_start.take() else {
            return;
        };
        let end = self.out.len();
        let payload = end - start - FRAME_HEADER_SIZE;
        // SAFETY: the buffer's first `end` bytes are initialised and only
        // this encoder refers to them while `written` lives.
        let written = unsafe { std::slice::from_raw_parts_mut(self.out.as_mut_ptr(), end) };
        if payload >= FRAME_SIZE_MIN {
            written[start] = Op::Frame.byte();
            written[start + 1..start + FRAME_HEADER_SIZE]
                .copy_from_slice(&(payload as u64).to_le_bytes());
        } else {
            written.copy_within(start + FRAME_HEADER_SIZE.., start);
            // SAFETY: shorter than before, over bytes that stay initialised.
            unsafe { self.out.set_len(end - FRAME_HEADER_SIZE) };
        }
    }

    /// Writes a length-prefixed payload. Payloads of a frame's size or more
    /// go outside any frame, after the open one is committed, as CPython does.
    pub fn write_payload(&mut self, header: &[u8], payload: &[u8]) {
        if payload.len() >= FRAME_SIZE_TARGET && self.framing {
            self.commit_frame();
        } else {
            self.open_frame_if_needed(header.len() + payload.len());
        }
        // One growth for both; past a large one, room for what follows it.
        let slack = if payload.len() >= FRAME_SIZE_TARGET { PAYLOAD_SLACK } else { 0 };
        if self.reserve(header.len() + payload.len() + slack) {
            self.append(header);
            self.append(payload);
        }
    }

    /// Writes an opcode that takes no argument.
    #[inline]
    pub fn op(&mut self, op: Op) {
        self.write_byte(op.byte());
    }

    /// The PROTO header. Written before framing starts, as CPython does.
    pub fn proto(&mut self, protocol: u8) {
        self.write(&[Op::Proto.byte(), protocol]);
    }

    /// An int that fits in 32 signed bits: BININT1/BININT2/BININT when
    /// `binary`, else INT in decimal.
    #[inline(always)]
    pub fn int32(&mut self, value: i32, binary: bool) {
        if !binary {
            self.int_text(value);
            return;
        }
        let le = value.to_le_bytes();
        let (op, len) = if le[2] != 0 || le[3] != 0 {
            (Op::BinInt, 5)
        } else if le[1] != 0 {
            (Op::BinInt2, 3)
        } else {
            (Op::BinInt1, 2)
        };
        self.write_prefix(&[op.byte(), le[0], le[1], le[2], le[3]], len);
    }

    #[inline(never)]
    fn int_text(&mut self, value: i32) {
        let mut line = Vec::with_capacity(13);
        line.push(Op::Int.byte());
        line.extend_from_slice(value.to_string().as_bytes());
        line.push(b'\n');
        self.write(&line);
    }

    /// Any integer, given as minimal little-endian two's complement bytes:
    /// LONG1 when the length fits a byte, LONG4 otherwise.
    pub fn long_binary(&mut self, le_bytes: &[u8]) -> Result<(), EncodeError> {
        // CPython writes integers with plain writes, inside frames.
        if le_bytes.len() < 256 {
            self.write(&[Op::Long1.byte(), le_bytes.len() as u8]);
            self.write(le_bytes);
            return Ok(());
        }
        let len = i32::try_from(le_bytes.len())
            .map_err(|_| EncodeError::TooLarge { what: "int", protocol: 2 })?;
        let mut header = [0u8; 5];
        header[0] = Op::Long4.byte();
        header[1..].copy_from_slice(&len.to_le_bytes());
        self.write(&header);
        self.write(le_bytes);
        Ok(())
    }

    /// An integer outside 32 bits that fits in 128, as LONG1 (protocol 2+).
    #[inline]
    pub fn long_i128(&mut self, value: i128) {
        let (bytes, len) = text::minimal_le_twos_complement(value);
        let mut op = [0u8; 18];
        op[0] = Op::Long1.byte();
        op[1] = len as u8;
        op[2..].copy_from_slice(&bytes);
        self.write_prefix(&op, 2 + len);
    }

    /// An integer as LONG text, `L<decimal>L\n` (protocols 0 and 1).
    pub fn long_text(&mut self, decimal: &[u8]) {
        let mut line = Vec::with_capacity(decimal.len() + 3);
        line.push(Op::Long.byte());
        line.extend_from_slice(decimal);
        line.extend_from_slice(b"L\n");
        self.write(&line);
    }

    /// A float: BINFLOAT when `binary`, else FLOAT with Python's `repr`.
    #[inline(always)]
    pub fn float(&mut self, value: f64, binary: bool) {
        if binary {
            let mut bytes = [0u8; 9];
            bytes[0] = Op::BinFloat.byte();
            bytes[1..].copy_from_slice(&value.to_be_bytes());
            self.write_prefix(&bytes, bytes.len());
        } else {
            self.float_text(value);
        }
    }

    #[inline(never)]
    fn float_text(&mut self, value: f64) {
        let mut line = vec![Op::Float.byte()];
        line.extend_from_slice(text::float_repr(value).as_bytes());
        line.push(b'\n');
        self.write(&line);
    }

    /// A bytes object (protocol 3+): SHORT_BINBYTES, BINBYTES or BINBYTES8.
    pub fn bytes(&mut self, data: &[u8], protocol: u8) -> Result<(), EncodeError> {
        let header = Header::bytes(data.len(), protocol)?;
        self.write_payload(header.as_slice(), data);
        Ok(())
    }

    /// A bytearray (protocol 5): BYTEARRAY8.
    pub fn bytearray(&mut self, data: &[u8]) {
        self.write_payload(Header::bytearray(data.len()).as_slice(), data);
    }

    /// A str already encoded as UTF-8 (surrogates passed through):
    /// SHORT_BINUNICODE (protocol 4+), BINUNICODE or BINUNICODE8.
    #[inline]
    pub fn unicode(&mut self, utf8: &[u8], protocol: u8) -> Result<(), EncodeError> {
        let header = Header::unicode(utf8.len(), protocol)?;
        self.write_payload(header.as_slice(), utf8);
        Ok(())
    }

    /// A str for protocol 0: UNICODE with raw-unicode-escape text, given
    /// as code points. Besides what raw-unicode-escape escapes (anything
    /// past U+00FF), backslash, NUL, CR, LF and ^Z are escaped too, so the
    /// line survives text-mode files and readline().
    pub fn unicode_text(&mut self, code_points: impl Iterator<Item = u32>) {
        let mut line = vec![Op::Unicode.byte()];
        for cp in code_points {
            match cp {
                0x1_0000.. => line.extend_from_slice(format!("\\U{cp:08x}").as_bytes()),
                0x100.. | 0x5c | 0 | 0x0a | 0x0d | 0x1a => {
                    line.extend_from_slice(format!("\\u{cp:04x}").as_bytes())
                }
                // Below 0x100, so the cast keeps the value.
                _ => line.push(cp as u8),
            }
        }
        line.push(b'\n');
        self.write(&line);
    }

    /// Stores the top of the stack in memo slot `index`.
    #[inline]
    pub fn memo_put(&mut self, index: usize, protocol: u8) -> Result<(), EncodeError> {
        if protocol >= 4 {
            self.op(Op::Memoize);
        } else {
            self.memo_ref(index, protocol, [Op::Put, Op::BinPut, Op::LongBinPut])?;
        }
        Ok(())
    }

    /// Pushes memo slot `index`.
    #[inline]
    pub fn memo_get(&mut self, index: usize, protocol: u8) -> Result<(), EncodeError> {
        self.memo_ref(index, protocol, [Op::Get, Op::BinGet, Op::LongBinGet])
    }

    #[inline]
    fn memo_ref(&mut self, index: usize, protocol: u8, ops: [Op; 3]) -> Result<(), EncodeError> {
        let [text_op, short_op, long_op] = ops;
        if protocol == 0 {
            self.memo_ref_text(text_op, index);
        } else if let Ok(small) = u8::try_from(index) {
            self.write(&[short_op.byte(), small]);
        } else {
            let index = u32::try_from(index).map_err(|_| EncodeError::MemoIndexTooLarge)?;
            let le = index.to_le_bytes();
            self.write(&[long_op.byte(), le[0], le[1], le[2], le[3]]);
        }
        Ok(())
    }

    #[cold]
    fn memo_ref_text(&mut self, op: Op, index: usize) {
        let mut line = vec![op.byte()];
        line.extend_from_slice(index.to_string().as_bytes());
        line.push(b'\n');
        self.write(&line);
    }

    /// GLOBAL with module and name lines (protocols 0–3).
    pub fn global_text(&mut self, module: &[u8], name: &[u8]) {
        let mut line = Vec::with_capacity(module.len() + name.len() + 3);
        line.push(Op::Global.byte());
        line.extend_from_slice(module);
        line.push(b'\n');
        line.extend_from_slice(name);
        line.push(b'\n');
        self.write(&line);
    }

    /// EXT1/EXT2/EXT4 for a copyreg extension code.
    pub fn ext(&mut self, code: u32) {
        if let Ok(small) = u8::try_from(code) {
            self.write(&[Op::Ext1.byte(), small]);
        } else if let Ok(medium) = u16::try_from(code) {
            let le = medium.to_le_bytes();
            self.write(&[Op::Ext2.byte(), le[0], le[1]]);
        } else {
            let le = code.to_le_bytes();
            self.write(&[Op::Ext4.byte(), le[0], le[1], le[2], le[3]]);
        }
    }

    /// PERSID with an ASCII line (protocol 0).
    pub fn persid_text(&mut self, id: &[u8]) {
        let mut line = Vec::with_capacity(id.len() + 2);
        line.push(Op::PersId.byte());
        line.extend_from_slice(id);
        line.push(b'\n');
        self.write(&line);
    }
}

/// The opcode and length prefix of a payload, for writers that place the
/// payload themselves (straight into a file, say).
#[derive(Clone, Copy, Debug)]
pub struct Header {
    bytes: [u8; 9],
    len: usize,
}

impl Header {
    /// The header bytes.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Header of a bytes payload of `len` bytes (protocol 3+).
    #[inline]
    pub fn bytes(len: usize, protocol: u8) -> Result<Header, EncodeError> {
        let ops = [Some(Op::ShortBinBytes), Some(Op::BinBytes), Some(Op::BinBytes8)];
        Self::sized(len, protocol, ops, "bytes object")
    }

    /// Header of a UTF-8 str payload of `len` bytes.
    #[inline]
    pub fn unicode(len: usize, protocol: u8) -> Result<Header, EncodeError> {
        let short = if protocol >= 4 { Some(Op::ShortBinUnicode) } else { None };
        Self::sized(len, protocol, [short, Some(Op::BinUnicode), Some(Op::BinUnicode8)], "string")
    }

    /// Header of a bytearray payload of `len` bytes (protocol 5).
    pub fn bytearray(len: usize) -> Header {
        let mut bytes = [0u8; 9];
        bytes[0] = Op::ByteArray8.byte();
        bytes[1..].copy_from_slice(&(len as u64).to_le_bytes());
        Header { bytes, len: 9 }
    }

    /// Picks the shortest of three length-prefixed forms that can carry
    /// `len`. `ops` holds the 1-byte, 4-byte and 8-byte forms; `None` means
    /// the form does not exist at this protocol (8-byte forms need 4).
    #[inline]
    fn sized(
        len: usize,
        protocol: u8,
        ops: [Option<Op>; 3],
        what: &'static str,
    ) -> Result<Header, EncodeError> {
        let mut bytes = [0u8; 9];
        let [short, medium, long] = ops;
        if let (Some(op), Ok(small)) = (short, u8::try_from(len)) {
            bytes[0] = op.byte();
            bytes[1] = small;
            return Ok(Header { bytes, len: 2 });
        }
        if let (Some(op), Ok(medium_len)) = (medium, u32::try_from(len)) {
            bytes[0] = op.byte();
            bytes[1..5].copy_from_slice(&medium_len.to_le_bytes());
            return Ok(Header { bytes, len: 5 });
        }
        match long {
            Some(op) if protocol >= 4 => {
                bytes[0] = op.byte();
                bytes[1..].copy_from_slice(&(len as u64).to_le_bytes());
                Ok(Header { bytes, len: 9 })
            }
            _ => Err(EncodeError::TooLarge { what, protocol }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_use_the_smallest_opcode() {
        let mut e = Encoder::with_capacity(64);
        e.int32(5, true);
        e.int32(0x1234, true);
        e.int32(-1, true);
        e.int32(0x10000, true);
        assert_eq!(e.as_bytes(), b"K\x05M\x34\x12J\xff\xff\xff\xffJ\x00\x00\x01\x00");
        let mut e = Encoder::with_capacity(64);
        e.int32(-7, false);
        assert_eq!(e.as_bytes(), b"I-7\n");
    }

    #[test]
    fn long_i128_is_minimal() {
        let mut e = Encoder::with_capacity(64);
        e.long_i128(1 << 40);
        assert_eq!(e.as_bytes(), b"\x8a\x06\0\0\0\0\0\x01");
        let mut e = Encoder::with_capacity(64);
        e.long_i128(-(1 << 31) - 1);
        assert_eq!(e.as_bytes(), b"\x8a\x05\xff\xff\xff\x7f\xff");
    }

    #[test]
    fn small_frames_lose_their_header_and_large_ones_keep_it() {
        let mut e = Encoder::with_capacity(64);
        e.set_framing(true);
        e.op(Op::None);
        e.commit_frame();
        assert_eq!(e.as_bytes(), b"N");

        let mut e = Encoder::with_capacity(64);
        e.set_framing(true);
        e.unicode(b"abcd", 5).unwrap();
        e.commit_frame();
        assert_eq!(e.as_bytes(), b"\x95\x06\0\0\0\0\0\0\0\x8c\x04abcd");
    }

    #[test]
    fn large_payloads_go_outside_frames() {
        let mut e = Encoder::with_capacity(64);
        e.set_framing(true);
        e.op(Op::Mark);
        e.op(Op::Mark);
        e.op(Op::Mark);
        e.op(Op::Mark);
        let big = vec![7u8; FRAME_SIZE_TARGET];
        e.bytes(&big, 5).unwrap();
        let out = e.as_bytes();
        assert_eq!(&out[..13], b"\x95\x04\0\0\0\0\0\0\0((((");
        assert_eq!(out[13], Op::BinBytes.byte());
        assert_eq!(out.len(), 13 + 5 + FRAME_SIZE_TARGET);
    }

    /// A buffer with fixed room, which refuses to grow past it and then
    /// loses what it held, as a bytes object that fails to grow does.
    struct Fixed(Vec<u8>);

    // SAFETY: delegates to the Vec, whose capacity never changes.
    unsafe impl OutputBuffer for Fixed {
        fn len(&self) -> usize {
            self.0.len()
        }
        fn capacity(&self) -> usize {
            self.0.capacity()
        }
        fn as_ptr(&self) -> *const u8 {
            self.0.as_ptr()
        }
        fn as_mut_ptr(&mut self) -> *mut u8 {
            self.0.as_mut_ptr()
        }
        fn grow(&mut self, _additional: usize) -> bool {
            self.0.clear();
            false
        }
        unsafe fn set_len(&mut self, len: usize) {
            // SAFETY: the caller upholds Vec::set_len's contract.
            unsafe { self.0.set_len(len) }
        }
    }

    #[test]
    fn writes_a_buffer_cannot_take_are_dropped_whole() {
        let mut e = Encoder::new(Fixed(Vec::with_capacity(16)));
        e.op(Op::Mark);
        e.float(1.5, true);
        e.unicode(b"far too long for the room left", 5).unwrap();
        e.op(Op::Stop);
        // The buffer lost what it held; what came after it failed went whole.
        assert_eq!(e.as_bytes(), b".");
        assert_eq!(e.into_buffer().0.capacity(), 16);
    }

    #[test]
    fn a_frame_open_when_the_buffer_fails_is_forgotten() {
        let mut e = Encoder::new(Fixed(Vec::with_capacity(16)));
        e.set_framing(true);
        e.op(Op::Mark);
        e.unicode(b"far too long for the room left", 5).unwrap();
        assert!(!e.frame_is_full());
        e.op(Op::Stop);
        e.commit_frame();
        assert_eq!(e.as_bytes(), b".");
    }

    #[test]
    fn protocol_0_text_escapes_what_readline_would_break() {
        let mut e = Encoder::with_capacity(64);
        let text = "a\\b\nc\rd\0e\x1af\u{7f}g\u{ff}h\u{100}i\u{1F600}";
        e.unicode_text(text.chars().map(u32::from));
        assert_eq!(
            e.as_bytes(),
            b"Va\\u005cb\\u000ac\\u000dd\\u0000e\\u001af\x7fg\xffh\\u0100i\\U0001f600\n"
        );
    }

    #[test]
    fn memo_opcodes_follow_the_protocol() {
        let mut e = Encoder::with_capacity(64);
        e.memo_put(3, 0).unwrap();
        e.memo_put(3, 2).unwrap();
        e.memo_put(300, 2).unwrap();
        e.memo_put(300, 4).unwrap();
        e.memo_get(3, 1).unwrap();
        assert_eq!(e.as_bytes(), b"p3\nq\x03r\x2c\x01\0\0\x94h\x03");
    }

    #[test]
    fn protocol_3_refuses_what_needs_8_byte_lengths() {
        assert!(matches!(
            Header::unicode(1 << 33, 3),
            Err(EncodeError::TooLarge { protocol: 3, .. })
        ));
        assert_eq!(Header::unicode(1 << 33, 4).unwrap().as_slice()[0], Op::BinUnicode8.byte());
        assert_eq!(Header::unicode(3, 3).unwrap().as_slice(), b"X\x03\0\0\0");
    }
}

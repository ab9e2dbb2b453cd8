//! Where an encoder's bytes go. A `Vec<u8>` by default; a caller can give
//! storage of its own instead (the Python crate writes straight into the
//! bytes object that `dumps` returns, so the result is never copied).

/// Growable contiguous storage for encoded bytes.
///
/// # Safety
/// Implementors promise that `as_mut_ptr()` points to `capacity()` bytes
/// the buffer owns and may write, the first `len()` of them initialised,
/// and that the pointer stays valid until the next `grow` or drop.
pub unsafe trait OutputBuffer {
    /// Number of bytes written.
    fn len(&self) -> usize;

    /// Whether nothing is written.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of bytes the storage holds, written or not.
    fn capacity(&self) -> usize;

    /// The start of the storage.
    fn as_ptr(&self) -> *const u8;

    /// The start of the storage, for writing.
    fn as_mut_ptr(&mut self) -> *mut u8;

    /// Makes room for at least `additional` bytes past the length. A buffer
    /// that cannot grow returns false and keeps the reason for its owner; it
    /// may have lost what it held (its length may drop to 0). The encoder
    /// then drops the write and forgets any open frame, so the owner must
    /// check the buffer before it uses the bytes.
    fn grow(&mut self, additional: usize) -> bool;

    /// Sets the number of bytes written.
    ///
    /// # Safety
    /// `len` is at most `capacity()`, and the first `len` bytes are
    /// initialised.
    unsafe fn set_len(&mut self, len: usize);
}

// SAFETY: a Vec's pointer covers its capacity, of which the first `len`
// bytes are initialised, and only moves when the Vec reallocates.
unsafe impl OutputBuffer for Vec<u8> {
    #[inline(always)]
    fn len(&self) -> usize {
        Vec::len(self)
    }

    #[inline(always)]
    fn capacity(&self) -> usize {
        Vec::capacity(self)
    }

    #[inline(always)]
    fn as_ptr(&self) -> *const u8 {
        Vec::as_ptr(self)
    }

    #[inline(always)]
    fn as_mut_ptr(&mut self) -> *mut u8 {
        Vec::as_mut_ptr(self)
    }

    fn grow(&mut self, additional: usize) -> bool {
        self.reserve(additional);
        true
    }

    #[inline(always)]
    unsafe fn set_len(&mut self, len: usize) {
        // SAFETY: the caller upholds Vec::set_len's contract, which is this
        // method's.
        unsafe { Vec::set_len(self, len) }
    }
}

//! Telling CPython which stack the thread runs on. From 3.14 CPython
//! checks recursion against the real stack pointer, within the bounds it
//! found for the thread's stack: Python code called on one of the walk's
//! heap-allocated stack segments would look like a stack overflow to it
//! (and below its hard limit, a fatal one). `PyUnstable_ThreadState_SetStackProtection`
//! gives it the segment's bounds instead. Before 3.14 CPython counts calls,
//! not bytes, and needs to be told nothing.

/// Bounds of a stack segment, lowest address first.
#[derive(Clone, Copy, Debug)]
pub struct StackBounds {
    pub low: usize,
    // Only CPython 3.14 and later are told the size.
    #[cfg_attr(not(Py_3_14), allow(dead_code))]
    pub size: usize,
}

/// Makes `bounds` (the segment now running) the stack CPython checks
/// against, until `restore` is called with what was there before: the
/// enclosing segment's bounds, or None for the thread's own stack.
#[cfg(Py_3_14)]
pub fn run_on(bounds: StackBounds) {
    use pyo3::ffi;
    extern "C" {
        fn PyUnstable_ThreadState_SetStackProtection(
            tstate: *mut ffi::PyThreadState,
            stack_start_addr: *mut std::ffi::c_void,
            stack_size: usize,
        ) -> std::ffi::c_int;
    }
    // SAFETY: the GIL is held (the walk runs under it), so the thread has
    // a current thread state; the bounds are those of the segment this
    // thread is running on, which outlives the call that sets them.
    let status = unsafe {
        PyUnstable_ThreadState_SetStackProtection(
            ffi::PyThreadState_Get(),
            bounds.low as *mut std::ffi::c_void,
            bounds.size,
        )
    };
    // The only refusal is a segment below CPython's minimum stack size,
    // which the walk's segments are far above.
    debug_assert_eq!(status, 0, "CPython refused a stack segment of {} bytes", bounds.size);
}

/// Gives CPython back the stack it checked before `run_on`.
#[cfg(Py_3_14)]
pub fn restore(enclosing: Option<StackBounds>) {
    use pyo3::ffi;
    extern "C" {
        fn PyUnstable_ThreadState_ResetStackProtection(tstate: *mut ffi::PyThreadState);
    }
    match enclosing {
        Some(bounds) => run_on(bounds),
        // SAFETY: as in `run_on`; the reset makes CPython find the thread's
        // own stack again.
        None => unsafe { PyUnstable_ThreadState_ResetStackProtection(ffi::PyThreadState_Get()) },
    }
}

#[cfg(not(Py_3_14))]
#[inline(always)]
pub fn run_on(_bounds: StackBounds) {}

#[cfg(not(Py_3_14))]
#[inline(always)]
pub fn restore(_enclosing: Option<StackBounds>) {}

//! Room on the native stack for the recursive walk, checked with one
//! comparison per container.
//!
//! `stacker::maybe_grow` asks a thread-local for the stack's limit on
//! every call, which from a shared library is a call into the dynamic
//! linker for each container saved. The limit changes only when the walk
//! moves to a new stack segment, so it is read once per segment instead.

use crate::ffi::stack::{self, StackBounds};

/// Stack kept free before recursing; below it the walk moves to a fresh
/// heap-allocated stack segment instead of overflowing.
const RED_ZONE: usize = 256 * 1024;
const SEGMENT: usize = 4 * 1024 * 1024;

/// The stack the walk runs on: its lowest usable address, and the bounds
/// of the segment when it is one of the walk's own.
#[derive(Clone, Copy)]
pub struct StackFloor {
    floor: usize,
    segment: Option<StackBounds>,
}

impl StackFloor {
    /// The floor of the thread's own stack.
    pub fn current() -> Self {
        match stacker::remaining_stack() {
            Some(remaining) => StackFloor {
                floor: stack_position().saturating_sub(remaining).saturating_add(RED_ZONE),
                segment: None,
            },
            // An unknown limit: every level moves to a new segment, whose
            // limit is known, as `stacker::maybe_grow` would.
            None => StackFloor { floor: usize::MAX, segment: None },
        }
    }

    /// Whether the walk may go one level deeper on this stack.
    #[inline(always)]
    pub fn has_room(self) -> bool {
        stack_position() > self.floor
    }

    /// Runs `run` on a new stack segment, handing it that segment's floor;
    /// CPython checks the segment's bounds while it runs (`ffi::stack`).
    #[cold]
    #[inline(never)]
    pub fn on_new_segment<T>(self, run: impl FnOnce(StackFloor) -> T) -> T {
        stacker::grow(SEGMENT, || {
            let top = stack_position();
            // Inside `grow` the remaining stack is always known: it is the
            // segment just allocated.
            let remaining = stacker::remaining_stack().unwrap_or(0);
            let bounds = StackBounds { low: top.saturating_sub(remaining), size: remaining };
            stack::run_on(bounds);
            // Restored on the way out, a panic's way included.
            let _enclosing = Enclosing(self.segment);
            run(StackFloor { floor: bounds.low.saturating_add(RED_ZONE), segment: Some(bounds) })
        })
    }
}

/// The stack CPython is given back when a segment's run ends.
struct Enclosing(Option<StackBounds>);

impl Drop for Enclosing {
    fn drop(&mut self) {
        stack::restore(self.0);
    }
}

/// About where the stack pointer is: the address of a local.
#[inline(always)]
fn stack_position() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

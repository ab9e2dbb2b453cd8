//! Room on the native stack for the recursive walk, checked with one
//! comparison per container.
//!
//! `stacker::maybe_grow` asks a thread-local for the stack's limit on
//! every call, which from a shared library is a call into the dynamic
//! linker for each container saved. The limit changes only when the walk
//! moves to a new stack segment, so it is read once per segment instead.

/// Stack kept free before recursing; below it the walk moves to a fresh
/// heap-allocated stack segment instead of overflowing.
const RED_ZONE: usize = 256 * 1024;
const SEGMENT: usize = 4 * 1024 * 1024;

/// The lowest stack address the walk may reach on the current segment.
#[derive(Clone, Copy)]
pub struct StackFloor(usize);

impl StackFloor {
    /// The floor of the stack the thread is running on now.
    pub fn current() -> Self {
        match stacker::remaining_stack() {
            Some(remaining) => {
                StackFloor(stack_position().saturating_sub(remaining).saturating_add(RED_ZONE))
            }
            // An unknown limit: every level moves to a new segment, whose
            // limit is known, as `stacker::maybe_grow` would.
            None => StackFloor(usize::MAX),
        }
    }

    /// Whether the walk may go one level deeper on this stack.
    #[inline(always)]
    pub fn has_room(self) -> bool {
        stack_position() > self.0
    }
}

/// Runs `run` on a new stack segment.
#[cold]
#[inline(never)]
pub fn on_new_segment<T>(run: impl FnOnce() -> T) -> T {
    stacker::grow(SEGMENT, run)
}

/// About where the stack pointer is: the address of a local.
#[inline(always)]
fn stack_position() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

//! The arena a process answering one request (CGI) allocates from in the
//! static (musl) build. musl's allocator hands a size class's memory back
//! to the kernel as soon as its last block is freed, and SQLite allocates
//! and frees the same sizes over and over while it prepares statements:
//! each round trip was an mmap, an munmap and a page fault (BENCHMARKS.md,
//! finding 6). A process that lives for milliseconds needs no
//! freeing at all: blocks come from a zeroed static array in order and are
//! never reused, so each of its pages faults once. What does not fit
//! comes from the system allocator, and is freed there.
//!
//! Owns the allocation policy only; `serve::cgi` switches it on, and
//! `store::configure_library` sends SQLite's allocations through it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::limits::ONE_REQUEST_ARENA_BYTES;

/// The system allocator, or (once [`Arena::switch_on`] was called) the
/// arena first.
pub struct Arena {
    on: AtomicBool,
    /// Bytes of `memory` handed out.
    used: AtomicUsize,
    memory: Memory,
}

/// Zeroed pages in the program's BSS: they cost nothing until touched.
#[repr(C, align(4096))]
struct Memory(UnsafeCell<[u8; ONE_REQUEST_ARENA_BYTES]>);

// SAFETY: `Arena::take` hands out disjoint ranges of the array (the atomic
// `used` is only ever moved forward), so no two owners share a byte.
unsafe impl Sync for Memory {}

impl Arena {
    pub const fn new() -> Arena {
        Arena {
            on: AtomicBool::new(false),
            used: AtomicUsize::new(0),
            memory: Memory(UnsafeCell::new([0; ONE_REQUEST_ARENA_BYTES])),
        }
    }

    /// From now on, allocations come from the arena while it has room.
    pub fn switch_on(&self) {
        self.on.store(true, Ordering::Relaxed);
    }

    fn base(&self) -> usize {
        self.memory.0.get() as usize
    }

    fn owns(&self, ptr: *mut u8) -> bool {
        (self.base()..self.base() + ONE_REQUEST_ARENA_BYTES).contains(&(ptr as usize))
    }

    /// The next `layout`-sized block of the arena, or None when it is off
    /// or has no room left.
    fn take(&self, layout: Layout) -> Option<*mut u8> {
        if !self.on.load(Ordering::Relaxed) {
            return None;
        }
        let mut used = self.used.load(Ordering::Relaxed);
        loop {
            // The alignment is a power of two (Layout guarantees it).
            let start = (self.base() + used).checked_add(layout.align() - 1)? & !(layout.align() - 1);
            let end = start.checked_add(layout.size())? - self.base();
            if end > ONE_REQUEST_ARENA_BYTES {
                return None;
            }
            match self.used.compare_exchange_weak(used, end, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return Some(start as *mut u8),
                Err(now) => used = now,
            }
        }
    }
}

impl Default for Arena {
    fn default() -> Self {
        Arena::new()
    }
}

// SAFETY: blocks from the arena are disjoint, aligned as asked, within the
// array, and never handed out twice; all other blocks are the system
// allocator's, freed there.
unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match self.take(layout) {
            Some(ptr) => ptr,
            None => System.alloc(layout),
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // Arena blocks are never reused, so still zero.
        match self.take(layout) {
            Some(ptr) => ptr,
            None => System.alloc_zeroed(layout),
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !self.owns(ptr) {
            System.dealloc(ptr, layout);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_it_is_the_system_allocator() {
        // Static: the array is too large for a test thread's stack.
        static ARENA: Arena = Arena::new();
        let arena = &ARENA;
        let layout = Layout::from_size_align(64, 8).unwrap();
        // SAFETY: the block is the system's and freed with its layout.
        unsafe {
            let ptr = arena.alloc(layout);
            assert!(!ptr.is_null() && !arena.owns(ptr));
            arena.dealloc(ptr, layout);
        }
    }

    #[test]
    fn blocks_are_aligned_disjoint_and_zeroed() {
        static ARENA: Arena = Arena::new();
        let arena = &ARENA;
        arena.switch_on();
        let mut blocks = Vec::new();
        for (size, align) in [(1, 1), (24, 8), (4096, 4096), (3, 2), (100, 64), (4104, 16)] {
            let layout = Layout::from_size_align(size, align).unwrap();
            // SAFETY: the blocks are only read, and freed with their layouts.
            let ptr = unsafe { arena.alloc_zeroed(layout) };
            assert!(arena.owns(ptr), "{size} bytes from the arena");
            assert!((ptr as usize).is_multiple_of(align), "{size} bytes aligned to {align}");
            assert!(unsafe { std::slice::from_raw_parts(ptr, size) }.iter().all(|&b| b == 0));
            blocks.push((ptr as usize, size));
        }
        blocks.sort();
        assert!(blocks.windows(2).all(|w| w[0].0 + w[0].1 <= w[1].0), "disjoint: {blocks:?}");
    }

    #[test]
    fn past_its_end_the_system_allocator_takes_over() {
        static ARENA: Arena = Arena::new();
        let arena = &ARENA;
        arena.switch_on();
        let most = Layout::from_size_align(ONE_REQUEST_ARENA_BYTES - 100, 1).unwrap();
        let more = Layout::from_size_align(200, 8).unwrap();
        let huge = Layout::from_size_align(usize::MAX / 2, 1).unwrap();
        // SAFETY: blocks are freed with their layouts; the huge one is
        // never allocated (the arena refuses it, and so does the system).
        unsafe {
            let first = arena.alloc(most);
            assert!(arena.owns(first));
            let second = arena.alloc(more);
            assert!(!second.is_null() && !arena.owns(second), "the remaining 100 bytes are too few");
            *second = 7;
            arena.dealloc(second, more);
            arena.dealloc(first, most);
            assert!(arena.take(huge).is_none());
        }
    }
}

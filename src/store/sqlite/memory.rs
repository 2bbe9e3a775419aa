//! SQLite's allocations through Rust's global allocator instead of the C
//! library's `malloc`, so that they come from the one-request arena in the
//! static build (see `allocator/arena.rs`). Each block carries its size in
//! a header in front of it: SQLite asks for a block's size, and Rust's
//! `dealloc` needs it.

use std::alloc::Layout;
use std::ffi::{c_int, c_void};

use rusqlite::ffi;

/// The header in front of each block: its size, and room to keep the
/// block 16-byte aligned as `malloc`'s are.
const HEADER: usize = 16;

fn layout(size: usize) -> Option<Layout> {
    Layout::from_size_align(size.checked_add(HEADER)?, HEADER).ok()
}

/// SAFETY (all below): SQLite calls these with pointers it got from
/// `allocate`/`reallocate` and not yet freed, or null where it may.
unsafe extern "C" fn allocate(size: c_int) -> *mut c_void {
    let Some(layout) = usize::try_from(size).ok().and_then(layout) else {
        return std::ptr::null_mut();
    };
    let block = std::alloc::alloc(layout);
    if block.is_null() {
        return block.cast();
    }
    block.cast::<usize>().write(layout.size() - HEADER);
    block.add(HEADER).cast()
}

unsafe extern "C" fn size_of(ptr: *mut c_void) -> c_int {
    if ptr.is_null() {
        return 0;
    }
    // Sizes were c_ints when allocated.
    ptr.cast::<u8>().sub(HEADER).cast::<usize>().read() as c_int
}

unsafe extern "C" fn free(ptr: *mut c_void) {
    if ptr.is_null() {
        return;
    }
    let block = ptr.cast::<u8>().sub(HEADER);
    let size = block.cast::<usize>().read();
    // The layout it was allocated with, so valid.
    std::alloc::dealloc(block, Layout::from_size_align_unchecked(size + HEADER, HEADER));
}

unsafe extern "C" fn reallocate(ptr: *mut c_void, size: c_int) -> *mut c_void {
    let new = allocate(size);
    if !new.is_null() && !ptr.is_null() {
        let keep = size_of(ptr).min(size) as usize;
        std::ptr::copy_nonoverlapping(ptr.cast::<u8>(), new.cast::<u8>(), keep);
        free(ptr);
    }
    new
}

unsafe extern "C" fn round_up(size: c_int) -> c_int {
    size.saturating_add(7) & !7
}

unsafe extern "C" fn init(_: *mut c_void) -> c_int {
    ffi::SQLITE_OK
}

unsafe extern "C" fn shutdown(_: *mut c_void) {}

/// Makes SQLite allocate through Rust's global allocator. Before the
/// library is initialised (the first open) only; later SQLite refuses.
pub(super) fn use_global_allocator() {
    // SQLite keeps a copy of the methods.
    let mut methods = ffi::sqlite3_mem_methods {
        xMalloc: Some(allocate),
        xFree: Some(free),
        xRealloc: Some(reallocate),
        xSize: Some(size_of),
        xRoundup: Some(round_up),
        xInit: Some(init),
        xShutdown: Some(shutdown),
        pAppData: std::ptr::null_mut(),
    };
    // SAFETY: the methods are a complete allocator; sqlite3_config copies
    // the struct before returning.
    unsafe {
        ffi::sqlite3_config(ffi::SQLITE_CONFIG_MALLOC, &mut methods as *mut ffi::sqlite3_mem_methods);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_know_their_size_and_keep_their_bytes() {
        // SAFETY: every pointer is one allocate/reallocate returned, freed once.
        unsafe {
            let a = allocate(10);
            assert!(!a.is_null() && (a as usize).is_multiple_of(16));
            assert_eq!(size_of(a), 10);
            std::ptr::copy_nonoverlapping(b"0123456789".as_ptr(), a.cast::<u8>(), 10);
            let b = reallocate(a, 5000);
            assert_eq!(size_of(b), 5000);
            assert_eq!(std::slice::from_raw_parts(b.cast::<u8>(), 10), b"0123456789");
            let c = reallocate(b, 4);
            assert_eq!(std::slice::from_raw_parts(c.cast::<u8>(), 4), b"0123");
            free(c);
            free(std::ptr::null_mut());
            assert_eq!(size_of(std::ptr::null_mut()), 0);
            assert!(allocate(-1).is_null());
            assert_eq!(round_up(13), 16);
            assert_eq!(round_up(c_int::MAX), c_int::MAX & !7);
        }
    }
}

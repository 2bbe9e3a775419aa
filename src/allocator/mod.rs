//! The process's allocator: for the server, how it uses glibc's (how many
//! arenas, when large blocks are mapped, handing free pages back; no-ops
//! elsewhere); for a CGI process in the static build, an arena that never
//! frees (`arena.rs`).

use std::time::{Duration, Instant};

#[cfg(any(target_env = "musl", test))]
mod arena;

#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: arena::Arena = arena::Arena::new();

/// Whether [`one_request`] makes allocations come from an arena that never
/// frees (the static build): SQLite's then go there too.
pub const ONE_REQUEST_ARENA: bool = cfg!(target_env = "musl");

/// The process answers one request and exits (CGI): in the static build,
/// allocate from then on without freeing (see `arena.rs`). glibc's
/// allocator keeps freed memory for reuse, so the others stay as they are.
pub fn one_request() {
    #[cfg(target_env = "musl")]
    ALLOCATOR.switch_on();
}

/// Least time between two [`give_back`]s.
const GIVE_BACK_EVERY: Duration = Duration::from_secs(1);

/// Requests are answered on every connection's thread, and glibc gives
/// threads that allocate at once arenas of their own (up to eight per
/// core), each keeping freed memory: with a million counters that showed
/// as tens of MB more RSS. Two arenas keep the contention low on small
/// machines. A fixed mmap threshold keeps glibc from raising it (and the
/// trim threshold, twice as high) after each large block freed, which
/// left megabytes of free heap unreturned: large blocks (a write's batch,
/// a map growing) are mapped and unmapped instead.
pub fn limit_arenas() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only sets allocator parameters; called before the
    // server's threads start.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
    }
}

/// Returns the whole free pages inside the heaps to the kernel, at most
/// once per [`GIVE_BACK_EVERY`] (`last` is when it last did). glibc only
/// gives back free memory at the top of a heap, and the hits pending
/// between two writes come and go in bursts that leave free pages
/// scattered through it: a million counters under random keys held
/// megabytes of them.
pub fn give_back(last: &mut Instant) {
    if last.elapsed() < GIVE_BACK_EVERY {
        return;
    }
    *last = Instant::now();
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only releases free memory; any thread may call it.
    unsafe {
        libc::malloc_trim(0);
    }
}

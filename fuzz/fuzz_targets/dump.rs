//! The original's SQL dump reader (src/store/dump.rs) on arbitrary bytes:
//! it must refuse or give rows, never panic, hang or grow without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../src/store/sqlite/dump.rs"]
#[allow(dead_code)]
mod dump;

fuzz_target!(|data: &[u8]| {
    // A small statement limit, so that the limit itself is reached often.
    let mut reader = dump::Dump::new(data, 512);
    let mut rows = 0usize;
    while let Ok(Some(_)) = reader.next_row() {
        rows += 1;
        assert!(rows <= data.len(), "more rows than bytes");
    }
});

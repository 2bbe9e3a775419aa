//! The target URL normaliser: no input panics, a key is no longer than the
//! limit, normalising a key again gives the same key, and the host part of a
//! key is ASCII.

#![no_main]

use hitcounter_fuzz::limits::MAX_URL;
use hitcounter_fuzz::target::{key_from_url, pick};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let _ = pick(Some(s), Some(s));
    let _ = pick(None, Some(s));
    if let Ok(key) = key_from_url(s) {
        assert!(key.len() <= MAX_URL + 2, "key longer than the limit: {key:?}");
        let host = key.split('/').next().unwrap_or("");
        assert!(host.is_ascii(), "host not ASCII: {key:?}");
        assert_eq!(key_from_url(&key).as_deref(), Ok(key.as_str()), "not idempotent for {s:?}");
    }
});

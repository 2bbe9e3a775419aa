//! The query-string parser: the badge and history parameters never panic,
//! and a badge from parameters it accepts (logos and `data:` URIs
//! included) is well-formed XML.

#![no_main]

use hitcounter_fuzz::render::badge;
use hitcounter_fuzz::render::escape::xml_allowed;
use hitcounter_fuzz::routes::params;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else { return };
    let _ = params::days(query);
    let _ = hitcounter_fuzz::target::pick(hitcounter_fuzz::http::param(query, "url"), None);
    let Ok(p) = params::badge(query, &hitcounter_fuzz::render::logo::Logos::default()) else { return };
    let message = p.message(hitcounter_fuzz::counter::Counts { total: 1234, today: 5, visitors: 6 });
    let svg = badge::render(&p.badge(&message));
    assert!(svg.chars().all(xml_allowed), "a character XML forbids in {svg:?}");
    if let Err(e) = roxmltree::Document::parse(&svg) {
        panic!("not well-formed XML ({e}): {svg:?}");
    }
});

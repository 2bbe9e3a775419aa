//! The parsers the fuzz targets drive, compiled from the product's own
//! source files: hitcounter is one binary without a library, so its pure
//! modules are included here by path, in the crate layout they expect.

#![allow(dead_code)]

#[path = "../../src/limits.rs"]
pub mod limits;
#[path = "../../src/render/mod.rs"]
pub mod render;
#[path = "../../src/target.rs"]
pub mod target;

#[path = "../../src/http/request.rs"]
pub mod request;
#[path = "../../src/routes/params.rs"]
pub mod params;

pub mod http {
    pub use super::request::param;
}

pub mod routes {
    pub use super::params;
}

/// The one type `routes::params` takes from the counter (whose module
/// needs the store): the same fields, so the badge message is the product's.
pub mod counter {
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct Counts {
        pub total: u64,
        pub today: u64,
        pub visitors: u64,
    }
}

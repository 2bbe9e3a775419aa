//! The HTTP edge: what a request is to the rest of the program
//! (`request.rs`, built from tiny_http or from CGI variables) and what a
//! response is (`response.rs`). Nothing here decides anything about
//! counting; the routes do.

pub mod request;
pub mod response;

pub use request::{param, Method, Req};
pub use response::Resp;

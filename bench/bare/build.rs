// Tells examples/bare.rs it is built against stock tiny_http 0.12.0, which
// has no handler API (the main package's build of it uses the handler).
fn main() {
    println!("cargo::rustc-check-cfg=cfg(stock_tiny_http)");
    println!("cargo::rustc-cfg=stock_tiny_http");
}

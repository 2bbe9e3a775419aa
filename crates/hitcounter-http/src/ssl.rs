//! TLS, on rustls (the `ssl-rustls` feature; upstream's OpenSSL backend is
//! removed). The implementation is re-exported as [`SslContextImpl`] and
//! [`SslStream`], the names the rest of the crate uses.

#[cfg(feature = "ssl-rustls")]
pub(crate) mod rustls;
#[cfg(feature = "ssl-rustls")]
pub(crate) use self::rustls::RustlsContext as SslContextImpl;
#[cfg(feature = "ssl-rustls")]
pub(crate) use self::rustls::RustlsStream as SslStream;

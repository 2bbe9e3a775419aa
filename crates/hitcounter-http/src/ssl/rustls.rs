//! hitcounter patch: the rustls backend on rustls 0.23 (0.20 carried
//! RUSTSEC-2024-0336, webpki 0.22 and ring 0.16), keys and certificates
//! parsed with `rustls-pki-types` (PKCS#8, PKCS#1 and SEC1 keys: RSA,
//! ECDSA, Ed25519; the old loader panicked on EC keys and on a file
//! without a key), TLS 1.2 and 1.3 only, and a certificate that can be
//! replaced while the server runs (`reload`).
use crate::connection::Connection;
use crate::util::deadline::{Deadline, TimedSocket};
use crate::util::refined_tcp_stream::Stream as RefinedStream;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::error::Error;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use zeroize::Zeroizing;

type Owned = rustls::StreamOwned<rustls::ServerConnection, TimedSocket>;

/// A wrapper around an owned Rustls connection and corresponding stream.
///
/// Uses an internal Mutex to permit disparate reader & writer threads to access the stream independently.
pub(crate) struct RustlsStream(Arc<Mutex<Owned>>);

impl RustlsStream {
    // A panic while the lock was held leaves the stream in a state a
    // later read or write reports as an error; no need to panic again.
    fn lock(&self) -> MutexGuard<'_, Owned> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn peer_addr(&mut self) -> std::io::Result<Option<SocketAddr>> {
        self.lock().sock.sock.peer_addr()
    }

    pub(crate) fn shutdown(&mut self, how: Shutdown) -> std::io::Result<()> {
        self.lock().sock.sock.shutdown(how)
    }
}

impl Clone for RustlsStream {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl Read for RustlsStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.lock().read(buf)
    }
}

impl Write for RustlsStream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.lock().write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.lock().flush()
    }
}

/// The certificate handed to every new handshake; `reload` swaps it.
#[derive(Debug)]
struct Current(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for Current {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.read().unwrap_or_else(|e| e.into_inner()).clone())
    }
}

pub(crate) struct RustlsContext {
    config: Arc<rustls::ServerConfig>,
    current: Arc<Current>,
    provider: Arc<CryptoProvider>,
}

/// Parses a PEM certificate chain and private key into a key rustls can
/// sign with, checking that the key belongs to the first certificate.
fn certified_key(
    certificates: &[u8],
    private_key: &[u8],
    provider: &CryptoProvider,
) -> Result<CertifiedKey, Box<dyn Error + Send + Sync>> {
    let chain = CertificateDer::pem_slice_iter(certificates)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("cannot read the certificate chain: {e}"))?;
    if chain.is_empty() {
        return Err("no PEM certificate in the certificate file".into());
    }
    let key = PrivateKeyDer::from_pem_slice(private_key).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => {
            "no unencrypted PEM private key (PKCS#8, PKCS#1 or SEC1) in the key file".to_string()
        }
        e => format!("cannot read the private key: {e}"),
    })?;
    CertifiedKey::from_der(chain, key, provider)
        .map_err(|e| format!("the key does not fit the certificate: {e}").into())
}

impl RustlsContext {
    pub(crate) fn from_pem(
        certificates: Vec<u8>,
        private_key: Zeroizing<Vec<u8>>,
    ) -> Result<Self, Box<dyn Error + Send + Sync>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = certified_key(&certificates, &private_key, &provider)?;
        let current = Arc::new(Current(RwLock::new(Arc::new(key))));
        let config = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
            .with_no_client_auth()
            .with_cert_resolver(current.clone());
        Ok(Self {
            config: Arc::new(config),
            current,
            provider,
        })
    }

    /// Serves a new certificate and key to connections from now on (those
    /// open keep theirs). On error the old pair stays.
    pub(crate) fn reload(
        &self,
        certificates: &[u8],
        private_key: &[u8],
    ) -> Result<(), Box<dyn Error + Send + Sync>> {
        let key = certified_key(certificates, private_key, &self.provider)?;
        *self.current.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(key);
        Ok(())
    }

    /// Wraps a new connection; the handshake happens on its first read, in
    /// the connection's own thread, under its read deadline.
    pub(crate) fn accept(
        &self,
        stream: Connection,
        deadline: Arc<Deadline>,
    ) -> Result<RustlsStream, Box<dyn Error + Send + Sync + 'static>> {
        let connection = rustls::ServerConnection::new(self.config.clone())?;
        let sock = TimedSocket::new(stream, deadline);
        Ok(RustlsStream(Arc::new(Mutex::new(
            rustls::StreamOwned::new(connection, sock),
        ))))
    }
}

impl From<RustlsStream> for RefinedStream {
    fn from(stream: RustlsStream) -> Self {
        Self::Https(stream)
    }
}

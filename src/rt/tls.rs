//! TLS through rustls, for `wss://` clients and for servers that wrap
//! accepted streams: [`TlsConnector`] and [`TlsAcceptor`].
//!
//! It runs over any `futures-io` stream (through `futures-rustls`), so every
//! runtime shim shares it. rustls is built with its `ring` provider, chosen
//! per configuration rather than process-wide, so another crate installing
//! a different default provider changes nothing here.

use std::io;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use futures_io::{AsyncRead, AsyncWrite};
use futures_rustls::pki_types::pem::PemObject;
use futures_rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{CertificateError, ClientConfig, RootCertStore, ServerConfig, crypto};

use crate::ws::{Error, TlsError, TlsErrorKind};

/// The rustls this module is built with, for building a [`ClientConfig`]
/// or [`ServerConfig`] of your own with the same version.
pub use futures_rustls::rustls;

/// A client TLS stream over `S`.
pub type ClientTlsStream<S> = futures_rustls::client::TlsStream<S>;
/// A server TLS stream over `S`, as [`TlsAcceptor::accept`] makes it.
pub type ServerTlsStream<S> = futures_rustls::server::TlsStream<S>;

/// Opens TLS sessions to servers: the trust roots and settings `wss://`
/// connections use. Cheap to clone (the configuration is shared).
#[derive(Clone)]
pub struct TlsConnector {
    config: Arc<ClientConfig>,
}

impl std::fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConnector")
            .field("alpn_protocols", &self.config.alpn_protocols)
            .finish_non_exhaustive()
    }
}

impl TlsConnector {
    /// A connector with a configuration of your own: client certificates,
    /// a custom verifier, other roots. It is used as given; note that
    /// offering `h2` in its ALPN list would invite a server to pick HTTP/2,
    /// which a WebSocket upgrade over HTTP/1.1 cannot use.
    pub fn new(config: Arc<ClientConfig>) -> TlsConnector {
        TlsConnector { config }
    }

    /// The connector `wss://` URLs use by default: the platform's trusted
    /// roots (see [`platform_roots`]), loaded once per process.
    pub fn platform() -> Result<TlsConnector, TlsError> {
        static PLATFORM: OnceLock<Arc<ClientConfig>> = OnceLock::new();
        if let Some(config) = PLATFORM.get() {
            return Ok(TlsConnector::new(config.clone()));
        }
        let config = client_config(platform_roots()?);
        Ok(TlsConnector::new(PLATFORM.get_or_init(|| config).clone()))
    }

    /// A connector trusting Mozilla's root certificates, compiled into the
    /// program: for hosts without a usable certificate store (containers
    /// built from scratch, say).
    #[cfg(feature = "webpki-roots")]
    pub fn webpki_roots() -> TlsConnector {
        let roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        TlsConnector::with_roots(roots)
    }

    /// A connector trusting exactly `roots`, with otherwise default settings.
    pub fn with_roots(roots: RootCertStore) -> TlsConnector {
        TlsConnector::new(client_config(roots))
    }

    /// The rustls configuration in use.
    pub fn config(&self) -> &Arc<ClientConfig> {
        &self.config
    }

    /// Runs the TLS handshake with `server_name` (a DNS name, sent as SNI
    /// and checked against the certificate, or an IP address, checked
    /// against the certificate's addresses) over `stream`.
    pub async fn connect<S>(
        &self,
        server_name: &str,
        stream: S,
    ) -> Result<ClientTlsStream<S>, Error>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let name = ServerName::try_from(server_name.to_owned()).map_err(|e| {
            TlsError::new(
                TlsErrorKind::Config,
                format!("{server_name:?} cannot be a TLS server name: {e}"),
                Some(Box::new(e)),
            )
        })?;
        futures_rustls::TlsConnector::from(self.config.clone())
            .connect(name, stream)
            .await
            .map_err(classify)
    }
}

/// Accepts TLS sessions from clients, for a server that wraps the streams
/// it accepts before the WebSocket handshake. Cheap to clone.
#[derive(Clone)]
pub struct TlsAcceptor {
    config: Arc<ServerConfig>,
}

impl std::fmt::Debug for TlsAcceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsAcceptor").finish_non_exhaustive()
    }
}

impl TlsAcceptor {
    /// An acceptor with a configuration of your own (client authentication,
    /// certificate resolvers, ALPN).
    pub fn new(config: Arc<ServerConfig>) -> TlsAcceptor {
        TlsAcceptor { config }
    }

    /// An acceptor presenting the certificate chain `cert_chain_pem` (leaf
    /// first) with the private key `key_pem` (PKCS#8, PKCS#1 or SEC1), both
    /// PEM.
    pub fn from_pem(cert_chain_pem: &[u8], key_pem: &[u8]) -> Result<TlsAcceptor, TlsError> {
        let chain = CertificateDer::pem_slice_iter(cert_chain_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| config_error("the certificate chain", e))?;
        if chain.is_empty() {
            return Err(TlsError::new(
                TlsErrorKind::Config,
                "the certificate chain holds no PEM certificate",
                None,
            ));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| config_error("the private key", e))?;
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| config_error("the protocol versions", e))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| config_error("the certificate and key", e))?;
        Ok(TlsAcceptor::new(Arc::new(config)))
    }

    /// [`from_pem`](TlsAcceptor::from_pem) with the chain and key read from
    /// files.
    pub fn from_pem_files(
        cert_chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<TlsAcceptor, TlsError> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|e| {
                TlsError::new(
                    TlsErrorKind::Config,
                    format!("cannot read {}: {e}", path.display()),
                    Some(Box::new(e)),
                )
            })
        };
        TlsAcceptor::from_pem(&read(cert_chain.as_ref())?, &read(key.as_ref())?)
    }

    /// The rustls configuration in use.
    pub fn config(&self) -> &Arc<ServerConfig> {
        &self.config
    }

    /// Runs the server side of the TLS handshake over `stream`.
    pub async fn accept<S>(&self, stream: S) -> Result<ServerTlsStream<S>, Error>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        futures_rustls::TlsAcceptor::from(self.config.clone())
            .accept(stream)
            .await
            .map_err(classify)
    }
}

/// The platform's trusted root certificates (on Linux and BSDs the system
/// bundle `openssl` uses; the keychain on macOS; the system store on
/// Windows), and the PEM bundle named by `SSL_CERT_FILE` and the
/// directories in `SSL_CERT_DIR` when they are set.
///
/// On Linux and the BSDs those variables *add* to the system's roots (a
/// private CA beside the public ones, which is what `echo_client` and most
/// tools want). On macOS and Windows, where `rustls-native-certs` reads the
/// variables instead of the platform store, they replace it. To trust
/// exactly a set of files, build a store with [`add_pem_file`] and use
/// [`TlsConnector::with_roots`].
///
/// Fails if `SSL_CERT_FILE` names a file that cannot be read or holds no
/// certificate (a typo must not pass unnoticed), or if no certificate at
/// all could be loaded; unreadable entries beside usable ones are skipped.
/// Reading the store is blocking file I/O: [`TlsConnector::platform`] does
/// it once per process.
pub fn platform_roots() -> Result<RootCertStore, TlsError> {
    if let Some(file) = std::env::var_os("SSL_CERT_FILE") {
        let mut named = RootCertStore::empty();
        add_pem_file(&mut named, &file).map_err(|e| {
            TlsError::new(
                TlsErrorKind::Config,
                format!("SSL_CERT_FILE: {}", e.detail()),
                None,
            )
        })?;
    }
    let mut roots = RootCertStore::empty();
    let mut problems = Vec::new();
    let mut load = |found: rustls_native_certs::CertificateResult| {
        roots.add_parsable_certificates(found.certs);
        problems.extend(found.errors.into_iter().map(|e| e.to_string()));
    };
    // With either variable set, rustls-native-certs reads only what they
    // name; the system locations are then added here.
    load(rustls_native_certs::load_native_certs());
    #[cfg(all(unix, not(target_os = "macos")))]
    if std::env::var_os("SSL_CERT_FILE").is_some() || std::env::var_os("SSL_CERT_DIR").is_some() {
        for dir in openssl_probe::candidate_cert_dirs() {
            load(rustls_native_certs::load_certs_from_paths(None, Some(dir)));
        }
    }
    if roots.is_empty() {
        return Err(TlsError::new(
            TlsErrorKind::Config,
            format!(
                "no trusted root certificate could be loaded from the platform store{}",
                if problems.is_empty() {
                    String::new()
                } else {
                    format!(": {}", problems.join("; "))
                }
            ),
            None,
        ));
    }
    Ok(roots)
}

/// Adds every certificate in the PEM file at `path` to `roots`, e.g. a
/// private CA. Returns how many were added; fails if the file cannot be
/// read or holds no usable certificate (which would otherwise surface only
/// later, as an unknown issuer).
pub fn add_pem_file(roots: &mut RootCertStore, path: impl AsRef<Path>) -> Result<usize, TlsError> {
    let path = path.as_ref();
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| config_error(&format!("{}", path.display()), e))?;
    let found = certs.len();
    let (added, _ignored) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(TlsError::new(
            TlsErrorKind::Config,
            format!(
                "{}: no usable certificate ({found} PEM certificate(s) found)",
                path.display()
            ),
            None,
        ));
    }
    Ok(added)
}

/// The default client settings over `roots`: rustls' safe protocol
/// versions, and ALPN `http/1.1` so a server that also speaks HTTP/2 keeps
/// this connection on the protocol the WebSocket upgrade needs.
fn client_config(roots: RootCertStore) -> Arc<ClientConfig> {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports rustls' default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

fn provider() -> Arc<crypto::CryptoProvider> {
    Arc::new(crypto::ring::default_provider())
}

fn config_error(what: &str, e: impl std::error::Error + Send + Sync + 'static) -> TlsError {
    TlsError::new(
        TlsErrorKind::Config,
        format!("{what}: {e}"),
        Some(Box::new(e)),
    )
}

/// Sorts a failed TLS handshake: rustls' own errors become [`Error::Tls`]
/// with their kind; the transport's errors stay [`Error::Io`].
pub(crate) fn classify(e: io::Error) -> Error {
    let Some(tls) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        return Error::Io(e);
    };
    let kind = match tls {
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                TlsErrorKind::CertificateExpired
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                TlsErrorKind::CertificateNotYetValid
            }
            CertificateError::UnknownIssuer => TlsErrorKind::UnknownIssuer,
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                TlsErrorKind::NameMismatch
            }
            CertificateError::Revoked => TlsErrorKind::CertificateRevoked,
            _ => TlsErrorKind::BadCertificate,
        },
        _ => TlsErrorKind::Handshake,
    };
    let detail = tls.to_string();
    let source = e
        .into_inner()
        .expect("checked above: a rustls error is inside");
    Error::Tls(TlsError::new(kind, detail, Some(source)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io_wrapping(e: rustls::Error) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }

    fn kind_of(e: rustls::Error) -> TlsErrorKind {
        match classify(io_wrapping(e)) {
            Error::Tls(t) => t.kind(),
            other => panic!("not a TLS error: {other:?}"),
        }
    }

    #[test]
    fn certificate_errors_are_sorted() {
        use rustls::Error::InvalidCertificate as Bad;
        assert_eq!(
            kind_of(Bad(CertificateError::Expired)),
            TlsErrorKind::CertificateExpired
        );
        assert_eq!(
            kind_of(Bad(CertificateError::NotValidYet)),
            TlsErrorKind::CertificateNotYetValid
        );
        assert_eq!(
            kind_of(Bad(CertificateError::UnknownIssuer)),
            TlsErrorKind::UnknownIssuer
        );
        assert_eq!(
            kind_of(Bad(CertificateError::NotValidForName)),
            TlsErrorKind::NameMismatch
        );
        assert_eq!(
            kind_of(Bad(CertificateError::Revoked)),
            TlsErrorKind::CertificateRevoked
        );
        assert_eq!(
            kind_of(Bad(CertificateError::BadSignature)),
            TlsErrorKind::BadCertificate
        );
        assert_eq!(
            kind_of(rustls::Error::HandshakeNotComplete),
            TlsErrorKind::Handshake
        );
    }

    #[test]
    fn transport_errors_stay_io() {
        let e = io::Error::new(io::ErrorKind::UnexpectedEof, "tls handshake eof");
        assert!(matches!(classify(e), Error::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof));
    }

    #[cfg(feature = "webpki-roots")]
    #[test]
    fn webpki_roots_are_compiled_in() {
        let connector = TlsConnector::webpki_roots();
        assert_eq!(
            connector.config().alpn_protocols,
            vec![b"http/1.1".to_vec()]
        );
    }

    #[test]
    fn pem_files_add_their_certificates() {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let path = std::env::temp_dir().join(format!("wsproto-roots-{}.pem", std::process::id()));
        std::fs::write(&path, cert.cert.pem() + &cert.cert.pem()).unwrap();
        let mut roots = RootCertStore::empty();
        let added = add_pem_file(&mut roots, &path).unwrap();
        std::fs::remove_file(&path).ok();
        assert_eq!(added, 2);
        let empty = std::env::temp_dir().join(format!("wsproto-empty-{}.pem", std::process::id()));
        std::fs::write(&empty, "no certificate here\n").unwrap();
        let none = add_pem_file(&mut roots, &empty).unwrap_err();
        std::fs::remove_file(&empty).ok();
        assert!(none.to_string().contains("no usable certificate"), "{none}");
        let missing = add_pem_file(&mut roots, "/nonexistent/wsproto.pem").unwrap_err();
        assert_eq!(missing.kind(), TlsErrorKind::Config);
        assert!(
            missing.to_string().contains("/nonexistent/wsproto.pem"),
            "{missing}"
        );
    }

    #[test]
    fn bad_pem_is_a_config_error() {
        let e = TlsAcceptor::from_pem(b"not a certificate", b"nor a key").unwrap_err();
        assert_eq!(e.kind(), TlsErrorKind::Config);
        assert!(e.to_string().contains("certificate"), "{e}");
    }

    #[test]
    fn server_names_that_are_not_names_fail_clearly() {
        let connector = TlsConnector::with_roots(RootCertStore::empty());
        let stream = futures_util::io::Cursor::new(Vec::<u8>::new());
        let err = futures_util::FutureExt::now_or_never(connector.connect("bad name!", stream))
            .expect("fails before any I/O")
            .unwrap_err();
        assert!(
            matches!(&err, Error::Tls(t) if t.kind() == TlsErrorKind::Config),
            "{err:?}"
        );
    }
}

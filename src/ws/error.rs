//! The async layer's error type.

use std::fmt;
use std::io;

use bytes::Bytes;

use crate::proto::{Header, LocalProtocolError, RemoteProtocolError};

/// What went wrong on a WebSocket.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed.
    Io(io::Error),
    /// The peer broke the protocol; the answer (close code or HTTP status)
    /// was sent and the connection is over.
    Protocol(RemoteProtocolError),
    /// The application asked for something the protocol does not allow.
    Local(LocalProtocolError),
    /// The handshake was refused: by the server (client side), or by the
    /// application's decision (server side).
    Rejected(Rejection),
    /// The peer ended the transport without a close handshake (code 1006).
    AbnormalClosure,
    /// Nothing more can be sent: a close frame was sent or received (the
    /// stream may still yield what the peer sends until its close), or the
    /// connection is over.
    ConnectionClosed,
    /// A deadline passed.
    Timeout(TimeoutKind),
    /// The URL cannot be connected to (bad scheme, host or port).
    Url(String),
    /// The TLS layer failed: a certificate the client does not trust, a
    /// failed TLS handshake, or a TLS configuration that cannot be built.
    Tls(TlsError),
}

/// A TLS failure, sorted so a caller can tell the usual certificate
/// problems apart without matching on the TLS library's own error types.
#[derive(Debug)]
pub struct TlsError {
    kind: TlsErrorKind,
    detail: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// What kind of TLS failure a [`TlsError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsErrorKind {
    /// The peer's certificate has expired.
    CertificateExpired,
    /// The peer's certificate is not valid yet.
    CertificateNotYetValid,
    /// The peer's certificate does not chain to a trusted root.
    UnknownIssuer,
    /// The peer's certificate is not valid for the name connected to.
    NameMismatch,
    /// The peer's certificate was revoked.
    CertificateRevoked,
    /// Any other problem with the peer's certificate (bad signature,
    /// bad encoding, wrong purpose, …).
    BadCertificate,
    /// The TLS handshake failed for another reason (no common protocol
    /// version or cipher suite, an alert from the peer, garbage on the wire).
    Handshake,
    /// The local TLS configuration could not be built: unreadable or
    /// invalid certificate, key or root files, or a host name that cannot be
    /// a TLS server name.
    Config,
}

impl TlsError {
    /// A TLS error of `kind`, with a human-readable `detail` and the
    /// underlying error, if any.
    pub fn new(
        kind: TlsErrorKind,
        detail: impl Into<String>,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    ) -> TlsError {
        TlsError {
            kind,
            detail: detail.into(),
            source,
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> TlsErrorKind {
        self.kind
    }

    /// The human-readable detail (the TLS library's own description).
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            TlsErrorKind::CertificateExpired => "the peer's certificate has expired",
            TlsErrorKind::CertificateNotYetValid => "the peer's certificate is not valid yet",
            TlsErrorKind::UnknownIssuer => {
                "the peer's certificate is not signed by a trusted authority"
            }
            TlsErrorKind::NameMismatch => "the peer's certificate is for another name",
            TlsErrorKind::CertificateRevoked => "the peer's certificate was revoked",
            TlsErrorKind::BadCertificate => "the peer's certificate is invalid",
            TlsErrorKind::Handshake => "the TLS handshake failed",
            TlsErrorKind::Config => "the TLS configuration is invalid",
        };
        write!(f, "{what} ({})", self.detail)
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as _)
    }
}

/// Which deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutKind {
    /// The opening handshake did not complete in time.
    Handshake,
    /// The peer did not answer a keepalive ping in time; the connection was
    /// closed with 1011.
    Keepalive,
    /// The peer did not finish the close handshake in time.
    Close,
}

/// A refused handshake: the status, headers and body of the HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The HTTP status code.
    pub status: u16,
    /// The response headers.
    pub headers: Vec<Header>,
    /// The response body.
    pub body: Bytes,
}

impl Rejection {
    /// A rejection with `status`, no headers and no body.
    pub fn new(status: u16) -> Rejection {
        Rejection {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Rejection {
        self.headers.push(Header::new(name, value));
        self
    }

    /// Sets the body (sent with a `Content-Length`).
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Rejection {
        self.body = body.into();
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::Protocol(e) => write!(f, "peer protocol error: {e}"),
            Error::Local(e) => write!(f, "{e}"),
            Error::Rejected(r) => write!(f, "handshake rejected with HTTP {}", r.status),
            Error::AbnormalClosure => {
                f.write_str("the peer closed the connection without a close frame (1006)")
            }
            Error::ConnectionClosed => f.write_str("the connection is closed"),
            Error::Timeout(TimeoutKind::Handshake) => {
                f.write_str("the opening handshake timed out")
            }
            Error::Timeout(TimeoutKind::Keepalive) => {
                f.write_str("the peer did not answer a keepalive ping in time")
            }
            Error::Timeout(TimeoutKind::Close) => f.write_str("the close handshake timed out"),
            Error::Url(m) => write!(f, "invalid WebSocket URL: {m}"),
            Error::Tls(e) => write!(f, "TLS error: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::Protocol(e) => Some(e),
            Error::Local(e) => Some(e),
            Error::Tls(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::Io(e)
    }
}

impl From<TlsError> for Error {
    fn from(e: TlsError) -> Error {
        Error::Tls(e)
    }
}

impl From<RemoteProtocolError> for Error {
    fn from(e: RemoteProtocolError) -> Error {
        Error::Protocol(e)
    }
}

impl From<LocalProtocolError> for Error {
    fn from(e: LocalProtocolError) -> Error {
        Error::Local(e)
    }
}

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
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::Protocol(e) => Some(e),
            Error::Local(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::Io(e)
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

//! The two kinds of error: ours ([`LocalProtocolError`]) and the peer's
//! ([`RemoteProtocolError`]).

use std::borrow::Cow;
use std::fmt;

use super::State;
use super::close::CloseCode;

/// The application asked for something the protocol does not allow, such as
/// sending a message before the handshake or a ping with a 200-byte payload.
///
/// Nothing was queued; the connection is unchanged and may be used further.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LocalProtocolError {
    /// The event cannot be sent in the connection's current state.
    WrongState {
        /// What was attempted, e.g. `"TextMessage"`.
        event: &'static str,
        /// The state the connection was in.
        state: State,
    },
    /// Control frame payloads (ping, pong, close) are limited to 125 bytes.
    ControlPayloadTooLong(usize),
    /// The close code may not be sent (e.g. 1005, 1006 or 999).
    InvalidCloseCode(u16),
    /// A data frame tried to continue a message of the other type.
    MessageTypeMismatch,
    /// A header name or value is not allowed (empty name, CR, LF, or a
    /// character outside the HTTP token set in a name).
    InvalidHeader(String),
    /// The server chose a subprotocol the client did not offer.
    SubprotocolNotOffered(String),
    /// The status code cannot reject a handshake (only 100–599 except 101).
    InvalidStatus(u16),
    /// A client request is missing something it needs (e.g. an empty host).
    InvalidRequest(&'static str),
}

impl fmt::Display for LocalProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WrongState { event, state } => {
                write!(f, "cannot send {event} while the connection is {state:?}")
            }
            Self::ControlPayloadTooLong(n) => {
                write!(f, "control frame payload of {n} bytes exceeds 125")
            }
            Self::InvalidCloseCode(c) => write!(f, "close code {c} may not be sent"),
            Self::MessageTypeMismatch => {
                f.write_str("a fragmented message must be continued with the same message type")
            }
            Self::InvalidHeader(h) => write!(f, "invalid header {h:?}"),
            Self::SubprotocolNotOffered(p) => {
                write!(f, "subprotocol {p:?} was not offered by the client")
            }
            Self::InvalidStatus(s) => write!(f, "status {s} cannot reject a handshake"),
            Self::InvalidRequest(what) => write!(f, "invalid request: {what}"),
        }
    }
}

impl std::error::Error for LocalProtocolError {}

/// What the connection has queued (or not) in answer to a peer's violation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// A close frame with this code is queued; flush it, then close TCP.
    Close(CloseCode),
    /// An HTTP response with this status is queued; flush it, then close TCP.
    Http(u16),
    /// Nothing can be sent (e.g. a client given a bad handshake response):
    /// close TCP.
    Drop,
}

/// The peer broke the protocol. The connection is failed: its answer (a close
/// frame or an HTTP error response, see [`Answer`]) is already queued in
/// `bytes_to_send()`, so flush it and close the transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteProtocolError {
    answer: Answer,
    message: Cow<'static, str>,
}

impl RemoteProtocolError {
    pub(crate) fn new(answer: Answer, message: impl Into<Cow<'static, str>>) -> Self {
        RemoteProtocolError {
            answer,
            message: message.into(),
        }
    }

    pub(crate) fn http(status: u16, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Answer::Http(status), message)
    }

    /// What was queued in answer.
    pub fn answer(&self) -> Answer {
        self.answer
    }

    /// The close code sent to the peer, if the answer is a close frame.
    pub fn close_code(&self) -> Option<CloseCode> {
        match self.answer {
            Answer::Close(code) => Some(code),
            _ => None,
        }
    }

    /// The HTTP status sent to the peer, if the answer is an HTTP response.
    pub fn http_status(&self) -> Option<u16> {
        match self.answer {
            Answer::Http(status) => Some(status),
            _ => None,
        }
    }

    /// A human-readable description of the violation.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for RemoteProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.answer {
            Answer::Close(code) => write!(f, "{} (closing with {code})", self.message),
            Answer::Http(status) => write!(f, "{} (answered HTTP {status})", self.message),
            Answer::Drop => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for RemoteProtocolError {}

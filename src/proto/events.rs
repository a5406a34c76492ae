//! Events: what `events()` yields and what `send()` takes.
//!
//! Every event is plain data (`Clone`, `PartialEq`, `Debug`), so applications
//! can store, compare and log them. Extension state lives in the connection,
//! not in events.

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;

use super::close::CloseCode;

/// A protocol event, received from the peer or sent by the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A client's opening handshake request.
    Request(Request),
    /// The server accepted the handshake; the connection is open.
    AcceptConnection(AcceptConnection),
    /// The server refused the handshake with an HTTP response.
    RejectConnection(RejectConnection),
    /// A chunk of the body of a rejection response.
    RejectData(RejectData),
    /// A close frame (or, with code 1006, the transport ending without one).
    CloseConnection(CloseConnection),
    /// All or part of a text message.
    TextMessage(TextMessage),
    /// All or part of a binary message.
    BytesMessage(BytesMessage),
    /// A ping. A received ping has already been answered unless automatic
    /// pongs are switched off.
    Ping(Ping),
    /// A pong.
    Pong(Pong),
}

impl Event {
    /// The event's name, as used in error messages.
    pub fn name(&self) -> &'static str {
        match self {
            Event::Request(_) => "Request",
            Event::AcceptConnection(_) => "AcceptConnection",
            Event::RejectConnection(_) => "RejectConnection",
            Event::RejectData(_) => "RejectData",
            Event::CloseConnection(_) => "CloseConnection",
            Event::TextMessage(_) => "TextMessage",
            Event::BytesMessage(_) => "BytesMessage",
            Event::Ping(_) => "Ping",
            Event::Pong(_) => "Pong",
        }
    }
}

macro_rules! into_event {
    ($($ty:ident),*) => {$(
        impl From<$ty> for Event {
            fn from(e: $ty) -> Event {
                Event::$ty(e)
            }
        }
    )*};
}
into_event!(
    Request,
    AcceptConnection,
    RejectConnection,
    RejectData,
    CloseConnection,
    TextMessage,
    BytesMessage,
    Ping,
    Pong
);

/// An HTTP header: a name and a raw value.
///
/// Values are bytes because HTTP allows non-UTF-8 (obs-text) values; use
/// [`Header::value_str`] for the common case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Header {
    /// The header name, as received or to be sent (matching is case-insensitive).
    pub name: String,
    /// The raw header value.
    pub value: Vec<u8>,
}

impl Header {
    /// Creates a header.
    pub fn new(name: impl Into<String>, value: impl Into<Vec<u8>>) -> Header {
        Header {
            name: name.into(),
            value: value.into(),
        }
    }

    /// The value as text, if it is UTF-8.
    pub fn value_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.value).ok()
    }
}

/// The client's opening handshake (RFC 6455 §4.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Request {
    /// The `Host` header: `host` or `host:port`.
    pub host: String,
    /// The request target: path and query, e.g. `/chat?room=1`.
    pub target: String,
    /// Subprotocols, most preferred first (`Sec-WebSocket-Protocol`).
    pub subprotocols: Vec<String>,
    /// Extension offers as received, one per offer (`name; param=value`).
    ///
    /// A client offers the extensions configured on its connection
    /// (`Config::extensions`); this field must be empty when sending.
    pub extensions: Vec<String>,
    /// Other headers. Received: every header the handshake itself did not
    /// consume (`Origin`, `Cookie`, ...). Sent: added to the request as given.
    pub extra_headers: Vec<Header>,
}

impl Request {
    /// A request for `target` on `host`, with no subprotocols or extra headers.
    pub fn new(host: impl Into<String>, target: impl Into<String>) -> Request {
        Request {
            host: host.into(),
            target: target.into(),
            ..Request::default()
        }
    }

    /// Adds subprotocols to offer, most preferred first.
    pub fn with_subprotocols<I, S>(mut self, protocols: I) -> Request
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.subprotocols
            .extend(protocols.into_iter().map(Into::into));
        self
    }

    /// Adds a header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Request {
        self.extra_headers.push(Header::new(name, value));
        self
    }
}

/// The server's acceptance of a handshake (HTTP 101).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AcceptConnection {
    /// The chosen subprotocol; it must be one the client offered.
    pub subprotocol: Option<String>,
    /// Sent: headers added to the 101 response. Received (client): every
    /// header of the response the handshake did not consume.
    pub extra_headers: Vec<Header>,
}

impl AcceptConnection {
    /// Accepts with no subprotocol and no extra headers.
    pub fn new() -> AcceptConnection {
        AcceptConnection::default()
    }

    /// Chooses a subprotocol.
    pub fn with_subprotocol(mut self, protocol: impl Into<String>) -> AcceptConnection {
        self.subprotocol = Some(protocol.into());
        self
    }

    /// Adds a header to the response.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.extra_headers.push(Header::new(name, value));
        self
    }
}

/// A refusal of the handshake: an HTTP response other than 101.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectConnection {
    /// The HTTP status code.
    pub status_code: u16,
    /// The response headers.
    pub headers: Vec<Header>,
    /// Whether [`RejectData`] events follow. When sending with `has_body`
    /// and no `Content-Length` header, the body is delimited by closing the
    /// connection.
    pub has_body: bool,
}

impl RejectConnection {
    /// A rejection with `status_code`, no headers and no body.
    pub fn new(status_code: u16) -> RejectConnection {
        RejectConnection {
            status_code,
            headers: Vec::new(),
            has_body: false,
        }
    }
}

/// Part of a rejection response's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectData {
    /// The body bytes.
    pub data: Bytes,
    /// Whether this is the last chunk.
    pub body_finished: bool,
}

/// A close frame, or the end of the transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseConnection {
    /// The status code. 1005 means the peer's close frame had none; 1006 that
    /// the transport ended without a close frame.
    pub code: CloseCode,
    /// The reason (at most 123 bytes when sent).
    pub reason: String,
}

impl CloseConnection {
    /// A close with `code` and `reason`.
    pub fn new(code: impl Into<CloseCode>, reason: impl Into<String>) -> CloseConnection {
        CloseConnection {
            code: code.into(),
            reason: reason.into(),
        }
    }
}

/// All or part of a text message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextMessage {
    /// The text; always whole characters, even when a frame split one.
    pub data: Utf8Bytes,
    /// Received: this event ends a frame. Ignored when sending (each send is
    /// one frame).
    pub frame_finished: bool,
    /// This event ends the message. Sending with `false` starts or continues
    /// a fragmented message.
    pub message_finished: bool,
}

impl TextMessage {
    /// A complete, single-frame text message.
    pub fn new(data: impl Into<Utf8Bytes>) -> TextMessage {
        TextMessage {
            data: data.into(),
            frame_finished: true,
            message_finished: true,
        }
    }

    /// A fragment of a text message; `message_finished` ends it.
    pub fn fragment(data: impl Into<Utf8Bytes>, message_finished: bool) -> TextMessage {
        TextMessage {
            data: data.into(),
            frame_finished: true,
            message_finished,
        }
    }
}

/// All or part of a binary message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BytesMessage {
    /// The data.
    pub data: Bytes,
    /// Received: this event ends a frame. Ignored when sending.
    pub frame_finished: bool,
    /// This event ends the message. Sending with `false` starts or continues
    /// a fragmented message.
    pub message_finished: bool,
}

impl BytesMessage {
    /// A complete, single-frame binary message.
    pub fn new(data: impl Into<Bytes>) -> BytesMessage {
        BytesMessage {
            data: data.into(),
            frame_finished: true,
            message_finished: true,
        }
    }

    /// A fragment of a binary message; `message_finished` ends it.
    pub fn fragment(data: impl Into<Bytes>, message_finished: bool) -> BytesMessage {
        BytesMessage {
            data: data.into(),
            frame_finished: true,
            message_finished,
        }
    }
}

/// A ping (at most 125 bytes of payload).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ping {
    /// Application data, echoed by the pong.
    pub payload: Bytes,
}

impl Ping {
    /// A ping with `payload`.
    pub fn new(payload: impl Into<Bytes>) -> Ping {
        Ping {
            payload: payload.into(),
        }
    }
}

/// A pong (at most 125 bytes of payload).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pong {
    /// Application data: the ping's payload, for a reply.
    pub payload: Bytes,
}

impl Pong {
    /// A pong with `payload`.
    pub fn new(payload: impl Into<Bytes>) -> Pong {
        Pong {
            payload: payload.into(),
        }
    }
}

/// Bytes that are known to be UTF-8: text that can be passed on without a
/// copy (it shares the receive buffer) and read as `&str` without
/// re-validating.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Utf8Bytes(Bytes);

impl Utf8Bytes {
    /// An empty string.
    pub const fn new() -> Utf8Bytes {
        Utf8Bytes(Bytes::new())
    }

    /// Wraps a static string without copying.
    pub const fn from_static(s: &'static str) -> Utf8Bytes {
        Utf8Bytes(Bytes::from_static(s.as_bytes()))
    }

    /// Wraps `bytes` if they are UTF-8.
    pub fn try_from_bytes(bytes: Bytes) -> Result<Utf8Bytes, std::str::Utf8Error> {
        std::str::from_utf8(&bytes)?;
        Ok(Utf8Bytes(bytes))
    }

    /// Wraps bytes the caller has already validated.
    pub(crate) fn from_validated(bytes: Bytes) -> Utf8Bytes {
        debug_assert!(std::str::from_utf8(&bytes).is_ok());
        Utf8Bytes(bytes)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // SAFETY: every constructor either validates the bytes
        // (`try_from_bytes`, the UTF-8 stream behind `from_validated`) or
        // takes them from a `str`/`String`, and the bytes are immutable.
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }

    /// The underlying bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// Unwraps the underlying bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Deref for Utf8Bytes {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Utf8Bytes {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for Utf8Bytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<String> for Utf8Bytes {
    fn from(s: String) -> Utf8Bytes {
        Utf8Bytes(Bytes::from(s))
    }
}

impl From<&str> for Utf8Bytes {
    fn from(s: &str) -> Utf8Bytes {
        Utf8Bytes(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<&String> for Utf8Bytes {
    fn from(s: &String) -> Utf8Bytes {
        s.as_str().into()
    }
}

impl From<Utf8Bytes> for Bytes {
    fn from(s: Utf8Bytes) -> Bytes {
        s.0
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_bytes_checks_its_input() {
        assert!(Utf8Bytes::try_from_bytes(Bytes::from_static(b"\xff")).is_err());
        let s = Utf8Bytes::try_from_bytes(Bytes::from_static("é".as_bytes())).unwrap();
        assert_eq!(s, "é");
        assert_eq!(s.len(), 2);
        assert_eq!(Utf8Bytes::from(String::from("x")).as_str(), "x");
        assert_eq!(format!("{:?}", Utf8Bytes::from_static("a\"")), "\"a\\\"\"");
    }
}

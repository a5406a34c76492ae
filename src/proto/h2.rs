//! WebSockets over HTTP/2 ([RFC 8441]) and HTTP/3 ([RFC 9220]): the
//! extended CONNECT handshake as header lists, ending in a [`Connection`].
//!
//! Over HTTP/2 a WebSocket is one stream. The client opens it with a
//! `CONNECT` request carrying `:protocol = websocket` (no
//! `Sec-WebSocket-Key`, no `Upgrade` or `Connection` headers); the server
//! answers `:status = 200`, and from then on the stream's DATA frames carry
//! WebSocket frames both ways. HTTP/3 uses the same header fields (RFC 9220
//! §3), so everything here serves it too.
//!
//! This module deals only in header lists (plain name/value pairs,
//! pseudo-header fields first, names in lower case) and knows nothing of
//! HTTP/2 framing. The HTTP/2 (or HTTP/3) layer, whichever crate that is,
//! owns the rest:
//!
//! * the server must have sent `SETTINGS_ENABLE_CONNECT_PROTOCOL = 1`
//!   (RFC 8441 §3), and a client must not send an extended CONNECT before it
//!   received that setting;
//! * header compression, streams, flow control and resets;
//! * the stream's data: DATA payloads go to [`Connection::receive_bytes`],
//!   the end of the peer's stream (`END_STREAM`) to
//!   [`Connection::receive_eof`], and [`Connection::bytes_to_send`] goes out
//!   as DATA. Once the connection is [`super::State::Closed`], end the
//!   stream: `END_STREAM` stands for the TCP close of RFC 6455, and a
//!   reset (`RST_STREAM` with `CANCEL`) for a TCP reset (RFC 8441 §5).
//!
//! A client builds its request with [`ClientHandshake`] and checks the
//! response with [`ClientHandshake::receive_response`]; a server checks a
//! request with [`ServerHandshake::new`] and answers with
//! [`ServerHandshake::accept`] or [`ServerHandshake::reject`] (or, for a
//! request that failed validation, [`error_response`]).
//!
//! ```
//! use wsproto::h2::{ClientHandshake, ServerHandshake};
//! use wsproto::{AcceptConnection, Event, TextMessage};
//!
//! // Client: the request's header list, for the HTTP/2 layer to send.
//! let client = ClientHandshake::new("example.com", "/chat").with_subprotocols(["chat"]);
//! let request = client.request_headers().unwrap();
//! assert_eq!(request[0].name, ":method");
//!
//! // Server: validate it, accept with a subprotocol, answer with `response`.
//! let server = ServerHandshake::new(&request).unwrap();
//! assert_eq!(server.request().target, "/chat");
//! let (response, mut server) = server
//!     .accept(AcceptConnection::new().with_subprotocol("chat"))
//!     .unwrap();
//!
//! // Client: check the response; both ends now hold an open `Connection`.
//! let (mut client, accepted) = client.receive_response(&response).unwrap();
//! assert_eq!(accepted.subprotocol.as_deref(), Some("chat"));
//!
//! // What one sends goes in the stream's DATA frames to the other.
//! client.send(TextMessage::new("hello")).unwrap();
//! server.receive_bytes(&client.bytes_to_send());
//! match server.next_event() {
//!     Some(Ok(Event::TextMessage(m))) => assert_eq!(m.data, "hello"),
//!     other => panic!("{other:?}"),
//! }
//! ```
//!
//! [RFC 8441]: https://www.rfc-editor.org/rfc/rfc8441
//! [RFC 9220]: https://www.rfc-editor.org/rfc/rfc9220

mod client;
mod server;

pub use client::{ClientHandshake, ResponseError};
pub use server::{ServerHandshake, error_response};

#[cfg(doc)]
use super::Connection;
use super::error::LocalProtocolError;
use super::events::Header;
use super::extensions::is_token_byte;
use super::handshake::check_header;

/// A header field as the HTTP/2 layer hands it over: a name and a value, as
/// bytes. Implemented for [`Header`] and for pairs such as `(&str, &str)`,
/// `(String, Vec<u8>)` or `(HeaderName, HeaderValue)` from the `http` crate.
pub trait HeaderField {
    /// The field name, e.g. `:method` or `sec-websocket-version`.
    fn name(&self) -> &[u8];
    /// The field value.
    fn value(&self) -> &[u8];
}

impl<N: AsRef<[u8]>, V: AsRef<[u8]>> HeaderField for (N, V) {
    fn name(&self) -> &[u8] {
        self.0.as_ref()
    }
    fn value(&self) -> &[u8] {
        self.1.as_ref()
    }
}

impl HeaderField for Header {
    fn name(&self) -> &[u8] {
        self.name.as_bytes()
    }
    fn value(&self) -> &[u8] {
        &self.value
    }
}

/// Header fields HTTP/2 forbids (RFC 9113 §8.2.2; RFC 8441 §5 names
/// `Connection` and `Upgrade`): they describe an HTTP/1.1 connection.
const CONNECTION_SPECIFIC: [&str; 5] = [
    "connection",
    "upgrade",
    "keep-alive",
    "transfer-encoding",
    "proxy-connection",
];

/// The pseudo-header fields of a request (RFC 9113 §8.3.1, RFC 8441 §4).
const REQUEST_PSEUDO: [&str; 5] = [":method", ":protocol", ":scheme", ":path", ":authority"];

/// A header list split into pseudo-header fields and regular fields, each
/// checked as RFC 9113 §8.2 and §8.3 require.
struct Fields<'a> {
    pseudo: Vec<(&'a str, &'a [u8])>,
    regular: Vec<(&'a str, &'a [u8])>,
}

impl<'a> Fields<'a> {
    fn split<F: HeaderField>(
        fields: &'a [F],
        allowed: &[&'static str],
    ) -> Result<Fields<'a>, String> {
        let mut out = Fields {
            pseudo: Vec::new(),
            regular: Vec::new(),
        };
        for field in fields {
            let (name, value) = (field.name(), field.value());
            let shown = String::from_utf8_lossy(name);
            // §8.2.1: no NUL, CR or LF anywhere in a value.
            if value.iter().any(|&b| matches!(b, 0 | b'\r' | b'\n')) {
                return Err(format!("header {shown:?} has a NUL, CR or LF in its value"));
            }
            if let Some(pseudo) = name.strip_prefix(b":") {
                // §8.3: pseudo-header fields come first, each at most once,
                // and only those defined for the message.
                let Some(&known) = allowed.iter().find(|a| a.as_bytes()[1..] == *pseudo) else {
                    return Err(format!("unexpected pseudo-header field {shown:?}"));
                };
                if !out.regular.is_empty() {
                    return Err(format!("pseudo-header field {known} after a regular field"));
                }
                if out.pseudo.iter().any(|(n, _)| *n == known) {
                    return Err(format!("duplicate pseudo-header field {known}"));
                }
                out.pseudo.push((known, value));
                continue;
            }
            // §8.2.1: names are tokens, in lower case.
            if name.is_empty() || !name.iter().all(|&b| is_token_byte(b)) {
                return Err(format!("malformed header name {shown:?}"));
            }
            if name.iter().any(u8::is_ascii_uppercase) {
                return Err(format!("header name {shown:?} is not in lower case"));
            }
            // Token bytes are ASCII.
            let name = std::str::from_utf8(name).map_err(|_| format!("header {shown:?}"))?;
            if CONNECTION_SPECIFIC.contains(&name) {
                return Err(format!("connection-specific header {name} in HTTP/2"));
            }
            // §8.2.2: TE is allowed, with "trailers" only.
            if name == "te" && !value.eq_ignore_ascii_case(b"trailers") {
                return Err("te header other than \"trailers\"".into());
            }
            out.regular.push((name, value));
        }
        Ok(out)
    }

    fn pseudo(&self, name: &str) -> Option<&'a [u8]> {
        self.pseudo
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }
}

/// Checks a header the application adds to a message we generate, and
/// gives its name in lower case (RFC 9113 §8.2.1).
fn outgoing_header(h: &Header) -> Result<Header, LocalProtocolError> {
    check_header(&h.name, &h.value)?;
    let name = h.name.to_ascii_lowercase();
    if CONNECTION_SPECIFIC.contains(&name.as_str()) || name == "te" {
        return Err(LocalProtocolError::InvalidHeader(h.name.clone()));
    }
    Ok(Header::new(name, h.value.clone()))
}

/// Whether `s` is a usable `:authority`: non-empty, without whitespace,
/// controls, userinfo (RFC 9113 §8.3.1) or anything of a path.
fn authority_ok(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter()
            .all(|&b| b.is_ascii_graphic() && !matches!(b, b'@' | b'/' | b'?' | b'#'))
}

/// Whether `s` is a usable `:path`: origin form (path and query, RFC 8441
/// §5), printable ASCII (RFC 3986) without spaces.
fn path_ok(s: &[u8]) -> bool {
    s.first() == Some(&b'/') && s.iter().all(u8::is_ascii_graphic)
}

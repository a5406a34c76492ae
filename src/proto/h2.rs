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

use std::fmt;

use super::connection::Connection;
use super::error::{Answer, LocalProtocolError, RemoteProtocolError};
use super::events::{AcceptConnection, Header, RejectConnection, Request};
use super::extensions::{self, ExtensionParams, is_token_byte};
use super::handshake::{self, Headers, check_header};
use super::{Config, Role};
use crate::trace::ws_debug;

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

/// The client side: builds the extended CONNECT request and turns the
/// server's response into an open [`Connection`].
///
/// The scheme defaults to `https` (for `wss://` URIs); use
/// [`Self::with_scheme`] with `http` for `ws://` (RFC 8441 §5). Extensions
/// are offered from the [`Config`] (e.g. [`Config::deflate`]).
#[derive(Debug, Clone)]
pub struct ClientHandshake {
    request: Request,
    scheme: String,
    config: Config,
}

impl ClientHandshake {
    /// A request for `path` (path and query, e.g. `/chat?room=1`) on
    /// `authority` (`host` or `host:port`), over `https`, with the default
    /// [`Config`].
    pub fn new(authority: impl Into<String>, path: impl Into<String>) -> ClientHandshake {
        ClientHandshake::from_request(Request::new(authority, path))
    }

    /// A request from the HTTP/1.1 [`Request`] event: `host` becomes
    /// `:authority`, `target` becomes `:path`; subprotocols and extra
    /// headers are kept.
    pub fn from_request(request: Request) -> ClientHandshake {
        ClientHandshake {
            request,
            scheme: "https".into(),
            config: Config::default(),
        }
    }

    /// Sets the `:scheme`: `https` (the default) for `wss://`, `http` for
    /// `ws://`.
    pub fn with_scheme(mut self, scheme: impl Into<String>) -> ClientHandshake {
        self.scheme = scheme.into();
        self
    }

    /// Sets the limits and the extensions to offer.
    pub fn with_config(mut self, config: Config) -> ClientHandshake {
        self.config = config;
        self
    }

    /// Adds subprotocols to offer, most preferred first.
    pub fn with_subprotocols<I, S>(mut self, protocols: I) -> ClientHandshake
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.request = self.request.with_subprotocols(protocols);
        self
    }

    /// Adds a header (`origin`, `cookie`, ...); its name is sent in lower
    /// case.
    pub fn with_header(
        mut self,
        name: impl Into<String>,
        value: impl Into<Vec<u8>>,
    ) -> ClientHandshake {
        self.request = self.request.with_header(name, value);
        self
    }

    /// The request as configured (`host` holds the `:authority`).
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// The request's header list: `:method = CONNECT`, `:protocol =
    /// websocket`, `:scheme`, `:path`, `:authority`, then
    /// `sec-websocket-version: 13`, the subprotocols and extension offers,
    /// and the extra headers (names in lower case).
    ///
    /// Fails if the authority, path or scheme is unusable, a subprotocol is
    /// not a token, or an extra header is malformed or one HTTP/2 forbids.
    pub fn request_headers(&self) -> Result<Vec<Header>, LocalProtocolError> {
        let req = &self.request;
        if !authority_ok(req.host.as_bytes()) {
            return Err(LocalProtocolError::InvalidRequest(
                "the authority must be a non-empty host[:port]",
            ));
        }
        if !path_ok(req.target.as_bytes()) {
            return Err(LocalProtocolError::InvalidRequest(
                "the path must start with '/' and have no spaces",
            ));
        }
        if self.scheme != "https" && self.scheme != "http" {
            return Err(LocalProtocolError::InvalidRequest(
                "the scheme must be https or http (RFC 8441 §5)",
            ));
        }
        handshake::check_offers(req)?;
        let mut out = vec![
            Header::new(":method", "CONNECT"),
            Header::new(":protocol", "websocket"),
            Header::new(":scheme", self.scheme.as_str()),
            Header::new(":path", req.target.as_str()),
            Header::new(":authority", req.host.as_str()),
            Header::new("sec-websocket-version", "13"),
        ];
        if !req.subprotocols.is_empty() {
            out.push(Header::new(
                "sec-websocket-protocol",
                req.subprotocols.join(", "),
            ));
        }
        let offers = extensions::offers(&self.config.extensions);
        if !offers.is_empty() {
            out.push(Header::new(
                "sec-websocket-extensions",
                extensions::join(&offers),
            ));
        }
        for h in &req.extra_headers {
            out.push(outgoing_header(h)?);
        }
        Ok(out)
    }

    /// Checks the server's response header list (`:status` first) and, for
    /// a `200`, returns the open client [`Connection`], configured with the
    /// negotiated extensions, and the response as an [`AcceptConnection`]
    /// (the chosen subprotocol and the headers not consumed here).
    ///
    /// Any other status is [`ResponseError::Rejected`]; a malformed
    /// response, a subprotocol that was not offered or an extension that
    /// was not offered (or whose parameters do not fit the offer) is
    /// [`ResponseError::Invalid`]. Either way, reset the stream.
    pub fn receive_response<F: HeaderField>(
        &self,
        fields: &[F],
    ) -> Result<(Connection, AcceptConnection), ResponseError> {
        let invalid = |m: String| {
            ws_debug!("invalid extended CONNECT response: {m}");
            ResponseError::Invalid(RemoteProtocolError::new(Answer::Drop, m))
        };
        let f = Fields::split(fields, &[":status"]).map_err(invalid)?;
        let status = f
            .pseudo(":status")
            .ok_or_else(|| invalid("response without :status".into()))?;
        let status = match status {
            [a @ b'1'..=b'5', b @ b'0'..=b'9', c @ b'0'..=b'9'] => {
                u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')
            }
            _ => {
                let shown = String::from_utf8_lossy(status).into_owned();
                return Err(invalid(format!("malformed :status {shown:?}")));
            }
        };
        if status != 200 {
            ws_debug!("extended CONNECT rejected by the server: {status}");
            // RFC 8441 §5 (and RFC 9110 §9.3.6): only a success opens the
            // tunnel, and the WebSocket answer to an extended CONNECT is 200.
            let headers = f.regular.iter().map(|(n, v)| Header::new(*n, *v));
            return Err(ResponseError::Rejected {
                status,
                headers: headers.collect(),
            });
        }
        let h = Headers::from_pairs(f.regular);
        let subprotocol = h
            .chosen_subprotocol(&self.request.subprotocols)
            .map_err(invalid)?;
        let accepted = h.extensions().map_err(invalid)?;
        let active = extensions::finalize(&self.config.extensions, &accepted).map_err(invalid)?;
        ws_debug!(
            "extended CONNECT accepted by the server; subprotocol {subprotocol:?}, extensions [{}]",
            extensions::names(&active)
        );
        let conn = Connection::with_config(Role::Client, self.config.with_extensions(active));
        let accept = AcceptConnection {
            subprotocol,
            extra_headers: h.extra(),
        };
        Ok((conn, accept))
    }
}

/// Why a client's extended CONNECT did not open a WebSocket.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseError {
    /// The server answered with a status other than 200.
    Rejected {
        /// The response status.
        status: u16,
        /// The response's regular header fields.
        headers: Vec<Header>,
    },
    /// The response is malformed or does not match the request.
    Invalid(RemoteProtocolError),
}

impl ResponseError {
    /// The status of a rejection.
    pub fn status(&self) -> Option<u16> {
        match self {
            ResponseError::Rejected { status, .. } => Some(*status),
            ResponseError::Invalid(_) => None,
        }
    }
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResponseError::Rejected { status, .. } => {
                write!(f, "the server refused the WebSocket with status {status}")
            }
            ResponseError::Invalid(e) => write!(f, "invalid extended CONNECT response: {e}"),
        }
    }
}

impl std::error::Error for ResponseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ResponseError::Invalid(e) => Some(e),
            ResponseError::Rejected { .. } => None,
        }
    }
}

/// The server side: a validated extended CONNECT request waiting for the
/// application to accept or reject it.
#[derive(Debug, Clone)]
pub struct ServerHandshake {
    request: Request,
    scheme: String,
    offers: Vec<ExtensionParams>,
    config: Config,
}

impl ServerHandshake {
    /// Validates a received request header list with the default
    /// [`Config`] (which accepts no extensions).
    pub fn new<F: HeaderField>(fields: &[F]) -> Result<ServerHandshake, RemoteProtocolError> {
        ServerHandshake::with_config(fields, Config::default())
    }

    /// Validates a received request header list (pseudo-header fields
    /// first) as RFC 8441 §4–5 and RFC 9113 §8 require; `config` holds the
    /// limits and the extensions to accept.
    ///
    /// A refusal carries the status to answer with
    /// ([`RemoteProtocolError::http_status`]): 400 for a malformed request,
    /// 501 for a `:protocol` other than `websocket`, 431 for more than
    /// [`Config::max_headers`] fields. Nothing is queued anywhere: answer
    /// with [`error_response`], or reset the stream.
    pub fn with_config<F: HeaderField>(
        fields: &[F],
        config: Config,
    ) -> Result<ServerHandshake, RemoteProtocolError> {
        let result = ServerHandshake::validate(fields, config);
        if let Err(e) = &result {
            // The client's fault: `debug`, not a warning.
            ws_debug!("extended CONNECT refused: {e}");
        }
        result
    }

    fn validate<F: HeaderField>(
        fields: &[F],
        config: Config,
    ) -> Result<ServerHandshake, RemoteProtocolError> {
        let bad = |m: String| RemoteProtocolError::http(400, m);
        if fields.len() > config.max_headers.saturating_add(REQUEST_PSEUDO.len()) {
            let limit = config.max_headers;
            return Err(RemoteProtocolError::http(
                431,
                format!("more than {limit} request headers"),
            ));
        }
        let f = Fields::split(fields, &REQUEST_PSEUDO).map_err(bad)?;
        let required = |name: &'static str| {
            f.pseudo(name)
                .ok_or_else(|| bad(format!("missing {name} pseudo-header field")))
        };
        // The method token is case-sensitive (RFC 9110 §9.1).
        if required(":method")? != b"CONNECT" {
            return Err(bad("the method must be CONNECT (RFC 8441 §4)".into()));
        }
        let protocol = f.pseudo(":protocol").ok_or_else(|| {
            bad("CONNECT without :protocol is not an extended CONNECT (RFC 8441 §4)".into())
        })?;
        // Upgrade tokens are compared without case (RFC 9110 §7.8). An
        // unsupported protocol is answered 501 (RFC 9220 §3, which states
        // for extended CONNECT what RFC 8441 left open).
        if !protocol.eq_ignore_ascii_case(b"websocket") {
            let shown = String::from_utf8_lossy(protocol).into_owned();
            return Err(RemoteProtocolError::http(
                501,
                format!(":protocol {shown:?} is not supported"),
            ));
        }
        // RFC 8441 §4: with :protocol, :scheme and :path are required; §5:
        // the scheme is https (wss) or http (ws); :authority is required
        // of every HTTP/2 request that has one (RFC 9113 §8.3.1).
        let scheme = required(":scheme")?;
        let scheme = if scheme.eq_ignore_ascii_case(b"https") {
            "https"
        } else if scheme.eq_ignore_ascii_case(b"http") {
            "http"
        } else {
            return Err(bad("the :scheme must be https or http (RFC 8441 §5)".into()));
        };
        let path = required(":path")?;
        if !path_ok(path) {
            return Err(bad("malformed :path".into()));
        }
        let authority = required(":authority")?;
        if !authority_ok(authority) {
            return Err(bad("malformed :authority".into()));
        }
        // Both checked to be printable ASCII.
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let (path, authority) = (text(path), text(authority));
        let h = Headers::from_pairs(f.regular);
        // RFC 9113 §8.3.1: a Host that names another entity is malformed.
        if let Some(host) = h.single("host").map_err(bad)? {
            if !host.eq_ignore_ascii_case(authority.as_bytes()) {
                return Err(bad("host header differs from :authority".into()));
            }
        }
        // A CONNECT has no content (RFC 9110 §9.3.6): the stream's DATA is
        // the WebSocket's bytes, so a declared body cannot be one.
        if let Some(len) = h.single("content-length").map_err(bad)? {
            if len != b"0" {
                return Err(bad("an extended CONNECT carries no content-length".into()));
            }
        }
        // RFC 6455 §4.2.2 asks for an error naming the versions we speak
        // (`error_response` adds it); its 426 belongs to HTTP/1.1's Upgrade,
        // which HTTP/2 forbids, so the refusal is a 400.
        if h.single("sec-websocket-version").map_err(bad)? != Some(b"13") {
            return Err(bad(
                "unsupported or missing sec-websocket-version (13 is supported)".into(),
            ));
        }
        let subprotocols = h.list("sec-websocket-protocol").map_err(bad)?;
        let offers = h.extensions().map_err(bad)?;
        let request = Request {
            host: authority,
            target: path,
            subprotocols,
            extensions: offers.iter().map(ToString::to_string).collect(),
            extra_headers: h.extra(),
        };
        Ok(ServerHandshake {
            request,
            scheme: scheme.into(),
            offers,
            config,
        })
    }

    /// The request: `host` is the `:authority`, `target` the `:path`, then
    /// the subprotocols and extension offers, and the other headers
    /// (`origin`, `cookie`, ...).
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// The `:scheme`, `https` or `http`.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// Accepts: returns the response header list (`:status = 200`, the
    /// chosen subprotocol, the negotiated extensions, the extra headers with
    /// their names in lower case) and the open server [`Connection`].
    ///
    /// Fails, changing nothing, if the subprotocol was not offered or an
    /// extra header is malformed or one HTTP/2 forbids.
    pub fn accept(
        &self,
        accept: AcceptConnection,
    ) -> Result<(Vec<Header>, Connection), LocalProtocolError> {
        // The HTTP/1.1 checks, then (below) HTTP/2's own on the headers.
        handshake::check_accept(&self.request, &accept)?;
        let mut out = vec![Header::new(":status", "200")];
        if let Some(p) = &accept.subprotocol {
            out.push(Header::new("sec-websocket-protocol", p.as_str()));
        }
        let extra = accept
            .extra_headers
            .iter()
            .map(outgoing_header)
            .collect::<Result<Vec<_>, _>>()?;
        let (active, responses) = extensions::negotiate(&self.config.extensions, &self.offers);
        if !responses.is_empty() {
            out.push(Header::new(
                "sec-websocket-extensions",
                extensions::join(&responses),
            ));
        }
        out.extend(extra);
        ws_debug!(
            "extended CONNECT accepted; subprotocol {:?}, extensions [{}]",
            accept.subprotocol,
            extensions::names(&active)
        );
        let conn = Connection::with_config(Role::Server, self.config.with_extensions(active));
        Ok((out, conn))
    }

    /// Rejects: returns the response header list for `reject`'s status
    /// (300–599: a 2xx would open the stream, RFC 9110 §9.3.6) and headers.
    /// A body, if any, is the HTTP/2 layer's to send; `has_body` is ignored.
    pub fn reject(&self, reject: RejectConnection) -> Result<Vec<Header>, LocalProtocolError> {
        if !(300..=599).contains(&reject.status_code) {
            return Err(LocalProtocolError::InvalidStatus(reject.status_code));
        }
        let mut out = vec![Header::new(":status", reject.status_code.to_string())];
        for h in &reject.headers {
            out.push(outgoing_header(h)?);
        }
        ws_debug!("extended CONNECT rejected: {}", reject.status_code);
        Ok(out)
    }
}

/// The response header list for a request that failed validation: its
/// status (400 if the error carries none) and `sec-websocket-version: 13`,
/// the version this side speaks (RFC 6455 §4.4). [`RemoteProtocolError::message`]
/// may serve as a body.
pub fn error_response(err: &RemoteProtocolError) -> Vec<Header> {
    let status = err.http_status().unwrap_or(400);
    vec![
        Header::new(":status", status.to_string()),
        Header::new("sec-websocket-version", "13"),
    ]
}

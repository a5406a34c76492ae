//! The client half of the extended CONNECT handshake: the request's header
//! list, and the server's response turned into a [`Connection`].

use std::fmt;

use super::{Fields, HeaderField, authority_ok, outgoing_header, path_ok};
use crate::proto::connection::Connection;
use crate::proto::error::{Answer, LocalProtocolError, RemoteProtocolError};
use crate::proto::events::{AcceptConnection, Header, Request};
use crate::proto::extensions;
use crate::proto::handshake::{self, Headers};
use crate::proto::{Config, Role};
use crate::trace::ws_debug;

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

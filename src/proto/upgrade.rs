//! Upgrades carried by another HTTP implementation: a server (hyper, axum,
//! ...) or a client that parses and writes HTTP itself, and hands the
//! connection over once it has switched protocols.
//!
//! [`WsConnection`](super::WsConnection) reads the opening handshake from
//! bytes. When something else has already parsed the request, start from
//! its head instead: [`ServerUpgrade::from_head`] validates it exactly as
//! the byte-level handshake does (the same code), [`ServerUpgrade::accept`]
//! negotiates extensions and returns the 101 response's headers with a
//! ready [`Connection`]. A client does the reverse with [`ClientUpgrade`]:
//! the headers to send, then [`ClientUpgrade::finish`] on the response.
//! With the `http` feature, each has a variant taking and giving the `http`
//! crate's types.
//!
//! ```
//! use wsproto::proto::{AcceptConnection, Config, Request, TextMessage};
//! use wsproto::proto::upgrade::{ClientUpgrade, ServerUpgrade};
//! use wsproto::Event;
//!
//! // The client's request, as another HTTP client would send it.
//! let client = ClientUpgrade::new(Request::new("example.com", "/chat"), &Config::default()).unwrap();
//! let sent = client.headers();
//!
//! // The server's HTTP library parsed it; validate and accept.
//! let upgrade = ServerUpgrade::from_head("GET", "/chat", &sent).unwrap();
//! assert_eq!(upgrade.request().target, "/chat");
//! let accepted = upgrade.accept(AcceptConnection::new(), &Config::default()).unwrap();
//! let mut server = accepted.connection;
//!
//! // The client checks the 101 response and opens its side.
//! let (_response, mut client) = client.finish(101, &accepted.headers).unwrap();
//! client.send(TextMessage::new("hi")).unwrap();
//! server.receive_bytes(&client.bytes_to_send());
//! assert!(matches!(server.next_event(), Some(Ok(Event::TextMessage(m))) if m.data == "hi"));
//! ```

use std::fmt;

use super::connection::Connection;
use super::error::{Answer, LocalProtocolError, RemoteProtocolError};
use super::events::{AcceptConnection, Header, RejectConnection, Request};
use super::extensions::{self, ExtensionParams};
use super::handshake::{self, Headers, ParsedRequest};
use super::{Config, Role};

/// A client's request, parsed by another HTTP server and validated as a
/// WebSocket upgrade, waiting for the server's decision.
///
/// Validation is the byte-level handshake's (RFC 6455 §4.2.1): `GET`,
/// `Host`, `Upgrade: websocket`, a `Connection` list with `upgrade`, a
/// `Sec-WebSocket-Key` of 16 base64-encoded bytes, `Sec-WebSocket-Version:
/// 13`, no body, well-formed subprotocol and extension lists.
#[derive(Debug, Clone)]
pub struct ServerUpgrade {
    parsed: ParsedRequest,
}

impl ServerUpgrade {
    /// Validates the head of an HTTP/1.1 request another server parsed:
    /// its method, target (path and query) and headers. An invalid request
    /// is an [`UpgradeError`] that says what to answer (400, or 426 for an
    /// unsupported version).
    pub fn from_head(
        method: &str,
        target: &str,
        headers: &[Header],
    ) -> Result<ServerUpgrade, UpgradeError> {
        Self::validate(method, true, target, &Headers::from_owned(headers))
    }

    /// The shared validation, for heads in any representation.
    pub(crate) fn validate(
        method: &str,
        http11: bool,
        target: &str,
        headers: &Headers<'_>,
    ) -> Result<ServerUpgrade, UpgradeError> {
        handshake::validate_request(method, http11, target, headers)
            .map(|parsed| ServerUpgrade { parsed })
            .map_err(UpgradeError)
    }

    /// The request as the application sees it: host, target, offered
    /// subprotocols and extensions, and the headers the handshake did not
    /// consume (`Origin`, `Cookie`, ...).
    pub fn request(&self) -> &Request {
        &self.parsed.request
    }

    /// The client's `Sec-WebSocket-Key`, from which the response's
    /// `Sec-WebSocket-Accept` is computed.
    pub fn key(&self) -> &str {
        &self.parsed.key
    }

    /// Accepts: negotiates the extensions `config` enables (permessage-deflate
    /// with [`Config::deflate`]) with the client's offers and returns the 101
    /// response's headers with the frame engine, configured with `config`'s
    /// limits and the negotiated extensions.
    ///
    /// Fails, changing nothing, if `accept` chooses a subprotocol the client
    /// did not offer or carries a header that cannot be written.
    pub fn accept(
        &self,
        accept: AcceptConnection,
        config: &Config,
    ) -> Result<AcceptedUpgrade, LocalProtocolError> {
        handshake::check_accept(&self.parsed.request, &accept)?;
        let (active, responses) = extensions::negotiate(&config.extensions, &self.parsed.offers);
        let mut headers = Vec::new();
        handshake::accept_headers(
            &self.parsed.key,
            accept.subprotocol.as_deref(),
            &responses,
            &accept.extra_headers,
            |name, value| headers.push(Header::new(name, value)),
        );
        Ok(AcceptedUpgrade {
            headers,
            connection: Connection::with_config(Role::Server, config.with_extensions(active)),
        })
    }
}

/// What accepting a [`ServerUpgrade`] gives: the response to send and the
/// engine to drive once it is sent.
#[derive(Debug)]
pub struct AcceptedUpgrade {
    /// The headers of the `101 Switching Protocols` response, in order:
    /// `Upgrade`, `Connection`, `Sec-WebSocket-Accept`, then the chosen
    /// subprotocol, the negotiated extensions and the extra headers.
    pub headers: Vec<Header>,
    /// The frame engine, open, with the negotiated extensions.
    pub connection: Connection,
}

/// A request that cannot be upgraded, with the HTTP answer to give: 400,
/// or 426 when the client asked for a WebSocket version other than 13.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeError(RemoteProtocolError);

impl UpgradeError {
    /// The status to answer with.
    pub fn status(&self) -> u16 {
        self.0.http_status().unwrap_or(400)
    }

    /// What is wrong with the request (fit for a plain-text body).
    pub fn message(&self) -> &str {
        self.0.message()
    }

    /// The response to send: the status, and for a 426 the `Upgrade` and
    /// `Sec-WebSocket-Version: 13` headers that tell the client what this
    /// server speaks. A body, if any, is the caller's to add.
    pub fn response(&self) -> RejectConnection {
        let status = self.status();
        RejectConnection {
            status_code: status,
            headers: handshake::refusal_headers(status),
            has_body: false,
        }
    }
}

impl fmt::Display for UpgradeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a WebSocket upgrade: {}", self.0)
    }
}

impl std::error::Error for UpgradeError {}

impl From<UpgradeError> for RemoteProtocolError {
    fn from(e: UpgradeError) -> RemoteProtocolError {
        e.0
    }
}

/// A client's opening handshake sent through another HTTP client: the
/// request's headers (with a fresh key and the extension offers `config`
/// enables), and the check of the server's answer.
#[derive(Debug, Clone)]
pub struct ClientUpgrade {
    request: Request,
    key: String,
    offers: Vec<ExtensionParams>,
    config: Config,
}

impl ClientUpgrade {
    /// Prepares `request`, checked as [`WsConnection::send`] checks it (a
    /// host, an origin-form target, valid subprotocols and headers, no
    /// extensions of its own: those come from `config`).
    ///
    /// [`WsConnection::send`]: super::WsConnection::send
    pub fn new(request: Request, config: &Config) -> Result<ClientUpgrade, LocalProtocolError> {
        handshake::check_request(&request)?;
        Ok(ClientUpgrade {
            key: handshake::generate_key(),
            offers: extensions::offers(&config.extensions),
            config: config.clone(),
            request,
        })
    }

    /// The request this handshake sends.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// The `Sec-WebSocket-Key` sent, which the answer must match.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The headers to send with `GET` and [`Request::target`], in order:
    /// `Host`, `Upgrade`, `Connection`, `Sec-WebSocket-Key`,
    /// `Sec-WebSocket-Version`, then subprotocols, extension offers and the
    /// request's extra headers.
    pub fn headers(&self) -> Vec<Header> {
        let mut headers = Vec::new();
        handshake::request_headers(&self.request, &self.key, &self.offers, |name, value| {
            headers.push(Header::new(name, value))
        });
        headers
    }

    /// Checks the server's answer (RFC 6455 §4.1: status 101, `Upgrade`,
    /// `Connection`, the `Sec-WebSocket-Accept` for our key, a subprotocol
    /// we offered, extensions we offered with parameters we accept) and
    /// opens the client's frame engine with the negotiated extensions.
    ///
    /// Returns the response as [`AcceptConnection`] (the chosen subprotocol
    /// and the headers the handshake did not consume) with the engine. An
    /// answer other than 101 is an error too: the server refused, and the
    /// caller has its status and body.
    pub fn finish(
        self,
        status: u16,
        headers: &[Header],
    ) -> Result<(AcceptConnection, Connection), RemoteProtocolError> {
        let drop = |m: String| RemoteProtocolError::new(Answer::Drop, m);
        if status != 101 {
            return Err(drop(format!(
                "the server answered {status}, not 101 Switching Protocols"
            )));
        }
        let accepted = handshake::validate_accept(headers, &self.key, &self.request.subprotocols)
            .map_err(drop)?;
        let active =
            extensions::finalize(&self.config.extensions, &accepted.extensions).map_err(drop)?;
        let response = AcceptConnection {
            subprotocol: accepted.subprotocol,
            extra_headers: accepted.extra_headers,
        };
        let config = self.config.with_extensions(active);
        Ok((response, Connection::with_config(Role::Client, config)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::events::{Event, TextMessage};

    fn valid_headers() -> Vec<Header> {
        vec![
            Header::new("Host", "example.com"),
            Header::new("Upgrade", "websocket"),
            Header::new("Connection", "keep-alive, Upgrade"),
            Header::new("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            Header::new("Sec-WebSocket-Version", "13"),
            Header::new("Sec-WebSocket-Protocol", "chat, superchat"),
            Header::new("Origin", "http://example.com"),
        ]
    }

    #[test]
    fn accepts_the_rfc_example_and_answers_with_its_accept_key() {
        let upgrade = ServerUpgrade::from_head("GET", "/chat?x=1", &valid_headers()).unwrap();
        assert_eq!(upgrade.key(), "dGhlIHNhbXBsZSBub25jZQ==");
        let req = upgrade.request();
        assert_eq!(
            (req.host.as_str(), req.target.as_str()),
            ("example.com", "/chat?x=1")
        );
        assert_eq!(req.subprotocols, ["chat", "superchat"]);
        assert_eq!(
            req.extra_headers,
            [Header::new("Origin", "http://example.com")]
        );

        let accept = AcceptConnection::new()
            .with_subprotocol("superchat")
            .with_header("X-Server", "1");
        let accepted = upgrade.accept(accept, &Config::default()).unwrap();
        let names: Vec<_> = accepted.headers.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Upgrade",
                "Connection",
                "Sec-WebSocket-Accept",
                "Sec-WebSocket-Protocol",
                "X-Server"
            ]
        );
        assert_eq!(accepted.headers[2].value, b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert_eq!(accepted.headers[3].value, b"superchat");
        assert!(accepted.connection.config().extensions.is_empty());
    }

    #[test]
    fn refuses_what_is_not_an_upgrade_with_400_or_426() {
        let without = |name: &str| -> Vec<Header> {
            valid_headers()
                .into_iter()
                .filter(|h| !h.name.eq_ignore_ascii_case(name))
                .collect()
        };
        let with = |name: &str, value: &str| -> Vec<Header> {
            let mut h = without(name);
            h.push(Header::new(name, value));
            h
        };
        let cases: [(&str, Vec<Header>, u16); 8] = [
            ("POST", valid_headers(), 400),
            ("GET", without("Host"), 400),
            ("GET", without("Upgrade"), 400),
            ("GET", with("Connection", "keep-alive"), 400),
            ("GET", with("Sec-WebSocket-Key", "c2hvcnQ="), 400),
            ("GET", without("Sec-WebSocket-Key"), 400),
            ("GET", with("Sec-WebSocket-Version", "8"), 426),
            ("GET", without("Sec-WebSocket-Version"), 426),
        ];
        for (method, headers, status) in cases {
            let err = ServerUpgrade::from_head(method, "/", &headers).unwrap_err();
            assert_eq!(err.status(), status, "{method} {headers:?}: {err}");
            let response = err.response();
            assert_eq!(response.status_code, status);
            let version = response
                .headers
                .iter()
                .find(|h| h.name == "Sec-WebSocket-Version");
            assert_eq!(version.is_some(), status == 426, "{err}");
            if let Some(v) = version {
                assert_eq!(v.value, b"13");
            }
        }
        // A target another HTTP stack hands over is checked as httparse
        // would have.
        for target in ["", "/a b", "/tab\t"] {
            let err = ServerUpgrade::from_head("GET", target, &valid_headers()).unwrap_err();
            assert_eq!(err.status(), 400, "{target:?}");
            assert!(err.message().contains("target"), "{err}");
        }
    }

    #[test]
    fn accept_refuses_a_subprotocol_not_offered() {
        let upgrade = ServerUpgrade::from_head("GET", "/", &valid_headers()).unwrap();
        let err = upgrade
            .accept(
                AcceptConnection::new().with_subprotocol("mqtt"),
                &Config::default(),
            )
            .unwrap_err();
        assert_eq!(
            err,
            LocalProtocolError::SubprotocolNotOffered("mqtt".into())
        );
    }

    #[test]
    fn client_refuses_a_wrong_accept_key_or_status() {
        let config = Config::default();
        let client = ClientUpgrade::new(Request::new("h", "/"), &config).unwrap();
        let sent = client.headers();
        let accepted = ServerUpgrade::from_head("GET", "/", &sent)
            .unwrap()
            .accept(AcceptConnection::new(), &config)
            .unwrap();
        let err = client.clone().finish(200, &accepted.headers).unwrap_err();
        assert_eq!(err.answer(), Answer::Drop);
        let mut forged = accepted.headers.clone();
        forged[2].value = handshake::accept_key(b"another key").into_bytes();
        let err = client.clone().finish(101, &forged).unwrap_err();
        assert!(err.message().contains("Sec-WebSocket-Accept"), "{err}");

        let (_, mut conn) = client.finish(101, &accepted.headers).unwrap();
        let mut server = accepted.connection;
        server.send(TextMessage::new("ok")).unwrap();
        conn.receive_bytes(&server.bytes_to_send());
        assert!(matches!(conn.next_event(), Some(Ok(Event::TextMessage(m))) if m.data == "ok"));
    }

    #[test]
    fn client_refuses_a_request_the_engine_would_refuse() {
        let mut req = Request::new("h", "/");
        req.extensions.push("permessage-deflate".into());
        assert!(matches!(
            ClientUpgrade::new(req, &Config::default()),
            Err(LocalProtocolError::InvalidRequest(_))
        ));
        assert!(ClientUpgrade::new(Request::new("", "/"), &Config::default()).is_err());
    }
}

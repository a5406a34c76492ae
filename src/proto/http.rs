//! Conversions between the handshake's types and the `http` crate's
//! (feature `http`), for servers and clients on hyper, axum and the like,
//! which parse and write HTTP themselves.
//!
//! Header names come back lowercase (the `http` crate stores them so), and
//! repeated headers come back next to each other; both are insignificant in
//! HTTP.

use ::http::header::{HeaderMap, HeaderName, HeaderValue};
use ::http::{Method, StatusCode, Uri, Version};

use super::Config;
use super::connection::Connection;
use super::error::{LocalProtocolError, RemoteProtocolError};
use super::events::{AcceptConnection, Header, RejectConnection, Request};
use super::handshake::Headers;
use super::upgrade::{AcceptedUpgrade, ClientUpgrade, ServerUpgrade, UpgradeError};

/// Appends a header, refusing what the `http` crate cannot represent.
fn append(map: &mut HeaderMap, name: &str, value: &[u8]) -> Result<(), LocalProtocolError> {
    let invalid = || LocalProtocolError::InvalidHeader(name.to_owned());
    let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
    let value = HeaderValue::from_bytes(value).map_err(|_| invalid())?;
    map.append(name, value);
    Ok(())
}

/// Appends every header of a list.
fn append_all(map: &mut HeaderMap, headers: &[Header]) -> Result<(), LocalProtocolError> {
    headers
        .iter()
        .try_for_each(|h| append(map, &h.name, &h.value))
}

/// A header map as the handshake's header view.
fn view(map: &HeaderMap) -> Headers<'_> {
    Headers::from_pairs(map.iter().map(|(n, v)| (n.as_str(), v.as_bytes())))
}

/// A header map as a list of headers.
fn to_headers(map: &HeaderMap) -> Vec<Header> {
    map.iter()
        .map(|(n, v)| Header::new(n.as_str(), v.as_bytes()))
        .collect()
}

/// The request target (path and query) of a URI; `/` when it has none.
fn target(uri: &Uri) -> String {
    match uri.query() {
        Some(q) => format!("{}?{q}", uri.path()),
        None if uri.path().is_empty() => "/".to_owned(),
        None => uri.path().to_owned(),
    }
}

/// Builds a client's [`Request`] from an `http::Request`, e.g.
/// `http::Request::get("ws://example.com/chat")`: the host from the URI's
/// authority or the `Host` header, the target from its path and query,
/// subprotocols from `Sec-WebSocket-Protocol`, extension offers from
/// `Sec-WebSocket-Extensions`, and the other headers as extra headers. The
/// headers the handshake writes itself (`Upgrade`, `Connection`,
/// `Sec-WebSocket-Key`, `Sec-WebSocket-Version`) are left out.
///
/// Extension offers are kept so that a request a server received converts
/// back unchanged; a client cannot send a [`Request`] holding them (it
/// offers extensions from its [`Config`], e.g.
/// `Config::deflate`), so leave `Sec-WebSocket-Extensions` out of a request
/// meant for sending. Credentials in the URI (`user:pw@`) are dropped: send
/// them in an `Authorization` header.
///
/// Refused: a method other than `GET`, a scheme other than `ws`, `wss`,
/// `http` or `https`, no host (or a `Host` header that contradicts the
/// URI), and malformed subprotocol or extension lists. This checks what a
/// [`Request`] can hold; a server validating a request it received uses
/// [`ServerUpgrade::from_http`] instead.
impl<B> TryFrom<&::http::Request<B>> for Request {
    type Error = LocalProtocolError;

    fn try_from(req: &::http::Request<B>) -> Result<Request, LocalProtocolError> {
        use LocalProtocolError::{InvalidHeader, InvalidRequest};
        if req.method() != Method::GET {
            return Err(InvalidRequest("a WebSocket handshake is a GET request"));
        }
        let uri = req.uri();
        if !matches!(
            uri.scheme_str(),
            None | Some("ws" | "wss" | "http" | "https")
        ) {
            return Err(InvalidRequest(
                "the URI's scheme must be ws, wss, http or https",
            ));
        }
        let h = view(req.headers());
        let header_host = match h.single("host") {
            Ok(Some(v)) => Some(
                std::str::from_utf8(v)
                    .map_err(|_| InvalidHeader("Host".into()))?
                    .to_owned(),
            ),
            Ok(None) => None,
            Err(_) => return Err(InvalidHeader("Host".into())),
        };
        let uri_host = uri.authority().map(|a| match a.port() {
            Some(port) => format!("{}:{}", a.host(), port.as_str()),
            None => a.host().to_owned(),
        });
        let host = match (uri_host, header_host) {
            (Some(u), Some(h)) if !u.eq_ignore_ascii_case(&h) => {
                return Err(InvalidRequest(
                    "the Host header and the URI's authority differ",
                ));
            }
            (Some(host), _) | (None, Some(host)) => host,
            (None, None) => {
                return Err(InvalidRequest(
                    "no host: the URI has no authority and there is no Host header",
                ));
            }
        };
        if host.is_empty() {
            return Err(InvalidRequest("the host is empty"));
        }
        let subprotocols = h
            .list("sec-websocket-protocol")
            .map_err(|_| InvalidHeader("Sec-WebSocket-Protocol".into()))?;
        let extensions = h
            .extensions()
            .map_err(|_| InvalidHeader("Sec-WebSocket-Extensions".into()))?;
        Ok(Request {
            host,
            target: target(uri),
            subprotocols,
            extensions: extensions.iter().map(ToString::to_string).collect(),
            extra_headers: h.extra(),
        })
    }
}

/// Turns a received (validated) [`Request`] into an `http::Request`, for
/// servers that hand it to a router or middleware: `GET` with the target as
/// URI, then `Host`, `Upgrade: websocket`, `Connection: Upgrade`,
/// `Sec-WebSocket-Version: 13`, the offered subprotocols and extensions, and
/// the extra headers. The client's key is not part of a [`Request`] (the
/// engine keeps it), so this is not a request to send: a client uses
/// [`ClientUpgrade::http_request`].
///
/// Fails if the target is not a valid URI or a header is not valid HTTP.
impl TryFrom<&Request> for ::http::Request<()> {
    type Error = LocalProtocolError;

    fn try_from(req: &Request) -> Result<::http::Request<()>, LocalProtocolError> {
        let uri = Uri::try_from(req.target.as_str())
            .map_err(|_| LocalProtocolError::InvalidRequest("the target is not a valid URI"))?;
        let mut out = ::http::Request::new(());
        *out.uri_mut() = uri;
        let map = out.headers_mut();
        append(map, "host", req.host.as_bytes())?;
        append(map, "upgrade", b"websocket")?;
        append(map, "connection", b"Upgrade")?;
        append(map, "sec-websocket-version", b"13")?;
        if !req.subprotocols.is_empty() {
            let list = req.subprotocols.join(", ");
            append(map, "sec-websocket-protocol", list.as_bytes())?;
        }
        if !req.extensions.is_empty() {
            let list = req.extensions.join(", ");
            append(map, "sec-websocket-extensions", list.as_bytes())?;
        }
        append_all(map, &req.extra_headers)?;
        Ok(out)
    }
}

/// A refusal as an `http::Response` with its status and headers (the body
/// is the caller's to attach, with `Response::map`).
///
/// Fails for a status that cannot refuse a handshake (outside 200–599: a
/// 1xx is interim, never a final answer) and for headers that are not
/// valid HTTP.
impl TryFrom<&RejectConnection> for ::http::Response<()> {
    type Error = LocalProtocolError;

    fn try_from(reject: &RejectConnection) -> Result<::http::Response<()>, LocalProtocolError> {
        let code = reject.status_code;
        let status = StatusCode::from_u16(code)
            .ok()
            .filter(|_| (200..=599).contains(&code))
            .ok_or(LocalProtocolError::InvalidStatus(code))?;
        let mut out = ::http::Response::new(());
        *out.status_mut() = status;
        append_all(out.headers_mut(), &reject.headers)?;
        Ok(out)
    }
}

impl ServerUpgrade {
    /// Validates a request an HTTP server (hyper, axum, ...) parsed as a
    /// WebSocket upgrade, like [`ServerUpgrade::from_head`]; the request
    /// must be HTTP/1.1. Its body is not looked at (an upgrade request has
    /// none; a declared one is refused). Feature `http`.
    pub fn from_http<B>(request: &::http::Request<B>) -> Result<ServerUpgrade, UpgradeError> {
        ServerUpgrade::validate(
            request.method().as_str(),
            request.version() == Version::HTTP_11,
            &target(request.uri()),
            &view(request.headers()),
        )
    }

    /// [`ServerUpgrade::accept`], answering with an `http::Response`: the
    /// `101 Switching Protocols` response to send, and the frame engine to
    /// drive over the upgraded connection. Feature `http`.
    pub fn accept_http(
        &self,
        accept: AcceptConnection,
        config: &Config,
    ) -> Result<(::http::Response<()>, Connection), LocalProtocolError> {
        self.accept(accept, config)?.into_http()
    }
}

impl AcceptedUpgrade {
    /// The response as an `http::Response` (status 101 and the headers),
    /// with the frame engine. Fails if an extra header is not valid HTTP.
    /// Feature `http`.
    pub fn into_http(self) -> Result<(::http::Response<()>, Connection), LocalProtocolError> {
        let mut response = ::http::Response::new(());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        append_all(response.headers_mut(), &self.headers)?;
        Ok((response, self.connection))
    }
}

impl UpgradeError {
    /// The answer as an `http::Response`: the status (400 or 426) and, for a
    /// 426, `Upgrade: websocket` and `Sec-WebSocket-Version: 13`. Attach a
    /// body (e.g. [`UpgradeError::message`]) with `Response::map`. Feature
    /// `http`.
    pub fn http_response(&self) -> ::http::Response<()> {
        // A 400 or 426 with constant headers: always convertible.
        ::http::Response::try_from(&self.response()).expect("a refusal converts to http")
    }
}

impl ClientUpgrade {
    /// The request to send through an HTTP client: `GET` with the target as
    /// URI and the headers of [`ClientUpgrade::headers`] (including `Host`).
    /// Fails if a header is not valid HTTP. Feature `http`.
    pub fn http_request(&self) -> Result<::http::Request<()>, LocalProtocolError> {
        let uri = Uri::try_from(self.request().target.as_str())
            .map_err(|_| LocalProtocolError::InvalidRequest("the target is not a valid URI"))?;
        let mut out = ::http::Request::new(());
        *out.uri_mut() = uri;
        append_all(out.headers_mut(), &self.headers())?;
        Ok(out)
    }

    /// [`ClientUpgrade::finish`] on the response an HTTP client received
    /// (its body is not looked at). Feature `http`.
    pub fn finish_http<B>(
        self,
        response: &::http::Response<B>,
    ) -> Result<(AcceptConnection, Connection), RemoteProtocolError> {
        self.finish(response.status().as_u16(), &to_headers(response.headers()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(uri: &str) -> ::http::request::Builder {
        ::http::Request::builder().method(Method::GET).uri(uri)
    }

    #[test]
    fn client_request_from_a_ws_uri() {
        let http = get("ws://user:pw@example.com:8080/chat?room=1")
            .header("Sec-WebSocket-Protocol", "chat, superchat")
            .header("Origin", "http://example.com")
            .header("Sec-WebSocket-Key", "ignored")
            .header("Connection", "Upgrade")
            .body(())
            .unwrap();
        let req = Request::try_from(&http).unwrap();
        assert_eq!(req.host, "example.com:8080");
        assert_eq!(req.target, "/chat?room=1");
        assert_eq!(req.subprotocols, ["chat", "superchat"]);
        assert!(req.extensions.is_empty());
        assert_eq!(
            req.extra_headers,
            [Header::new("origin", "http://example.com")]
        );

        let v6 = Request::try_from(&get("ws://[::1]/").body(()).unwrap()).unwrap();
        assert_eq!((v6.host.as_str(), v6.target.as_str()), ("[::1]", "/"));
        let bare = Request::try_from(&get("wss://example.com").body(()).unwrap()).unwrap();
        assert_eq!(bare.target, "/");
        let origin_form = get("/x").header("Host", "h:1").body(()).unwrap();
        assert_eq!(Request::try_from(&origin_form).unwrap().host, "h:1");
    }

    #[test]
    fn client_request_refusals() {
        let post = ::http::Request::post("ws://h/").body(()).unwrap();
        let no_host = get("/x").body(()).unwrap();
        let ftp = get("ftp://h/").body(()).unwrap();
        let clash = get("ws://a/").header("Host", "b").body(()).unwrap();
        let two_hosts = get("/")
            .header("Host", "a")
            .header("Host", "a")
            .body(())
            .unwrap();
        let bad_list = get("ws://h/")
            .header("Sec-WebSocket-Protocol", "a b")
            .body(())
            .unwrap();
        let bad_ext = get("ws://h/")
            .header("Sec-WebSocket-Extensions", "x; =")
            .body(())
            .unwrap();
        for (req, what) in [
            (post, "GET"),
            (no_host, "no host"),
            (ftp, "scheme"),
            (clash, "differ"),
            (two_hosts, "Host"),
            (bad_list, "Sec-WebSocket-Protocol"),
            (bad_ext, "Sec-WebSocket-Extensions"),
        ] {
            let err = Request::try_from(&req).unwrap_err();
            assert!(err.to_string().contains(what), "{err} should say {what}");
        }
    }

    #[test]
    fn request_round_trips_through_http() {
        let mut req = Request::new("example.com:9000", "/a/b?c=d")
            .with_subprotocols(["chat", "v2.chat"])
            .with_header("origin", "https://example.com")
            .with_header("cookie", "a=1")
            .with_header("x-bin", b"\x80\xff".to_vec());
        req.extensions = vec![
            "permessage-deflate; client_max_window_bits".into(),
            "x-other".into(),
        ];
        let http = ::http::Request::<()>::try_from(&req).unwrap();
        assert_eq!(http.method(), Method::GET);
        assert_eq!(http.uri(), "/a/b?c=d");
        assert_eq!(http.headers()["upgrade"], "websocket");
        assert_eq!(http.headers()["sec-websocket-version"], "13");
        assert_eq!(Request::try_from(&http).unwrap(), req);
    }

    #[test]
    fn request_with_unrepresentable_parts_is_refused() {
        let bad_target = Request::new("h", "/a b");
        assert!(::http::Request::<()>::try_from(&bad_target).is_err());
        let bad_header = Request::new("h", "/").with_header("x", "\x01");
        assert_eq!(
            ::http::Request::<()>::try_from(&bad_header).unwrap_err(),
            LocalProtocolError::InvalidHeader("x".into())
        );
    }

    #[test]
    fn rejection_as_response() {
        let mut reject = RejectConnection::new(403);
        reject.headers.push(Header::new("X-Reason", "banned"));
        let response = ::http::Response::try_from(&reject).unwrap();
        assert_eq!(response.status(), 403);
        assert_eq!(response.headers()["x-reason"], "banned");
        for status in [101, 99, 600, 1000] {
            assert_eq!(
                ::http::Response::try_from(&RejectConnection::new(status)).unwrap_err(),
                LocalProtocolError::InvalidStatus(status)
            );
        }
    }

    #[test]
    fn server_upgrade_needs_http_1_1() {
        let req = get("/")
            .version(Version::HTTP_10)
            .header("Host", "h")
            .header("Upgrade", "websocket")
            .header("Connection", "upgrade")
            .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("Sec-WebSocket-Version", "13")
            .body(())
            .unwrap();
        let err = ServerUpgrade::from_http(&req).unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(err.message().contains("HTTP/1.1"), "{err}");
        let mut ok = req;
        *ok.version_mut() = Version::HTTP_11;
        assert_eq!(ServerUpgrade::from_http(&ok).unwrap().request().host, "h");
    }

    #[test]
    fn version_refusal_as_response() {
        let req = get("/")
            .header("Host", "h")
            .header("Upgrade", "websocket")
            .header("Connection", "upgrade")
            .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("Sec-WebSocket-Version", "8")
            .body(())
            .unwrap();
        let response = ServerUpgrade::from_http(&req).unwrap_err().http_response();
        assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED);
        assert_eq!(response.headers()["sec-websocket-version"], "13");
        assert_eq!(response.headers()["upgrade"], "websocket");
    }
}

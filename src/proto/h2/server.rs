//! The server half of the extended CONNECT handshake: validating the
//! request, then accepting (into a [`Connection`]) or refusing it.

use super::{Fields, HeaderField, REQUEST_PSEUDO, authority_ok, outgoing_header, path_ok};
use crate::proto::connection::Connection;
use crate::proto::error::{LocalProtocolError, RemoteProtocolError};
use crate::proto::events::{AcceptConnection, Header, RejectConnection, Request};
use crate::proto::extensions::{self, ExtensionParams};
use crate::proto::handshake::{self, Headers};
use crate::proto::{Config, Role};
use crate::trace::ws_debug;

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

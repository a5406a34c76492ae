//! The HTTP/1.1 opening handshake (RFC 6455 §4): finding the head, parsing
//! and validating it with `httparse`, and writing requests and responses.
//!
//! Everything here is a pure function of its input; the state machine that
//! decides when to call what lives in [`super::WsConnection`].

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha1::{Digest, Sha1};

use super::error::RemoteProtocolError;
use super::events::{Header, Request};
use super::extensions::{ExtensionParams, is_token_byte, parse_extensions};

mod outgoing;
pub(crate) use outgoing::*;

/// Header slots kept on the stack: the default limit fits, so parsing a
/// head allocates nothing (a heap temporary per handshake fragments the heap
/// between the long-lived allocations of many connections).
const HEADERS_ON_STACK: usize = 64;

/// `max_headers` empty header slots, on the stack when they fit.
fn header_storage<'a, 'h>(
    on_stack: &'a mut [httparse::Header<'h>; HEADERS_ON_STACK],
    on_heap: &'a mut Vec<httparse::Header<'h>>,
    max_headers: usize,
) -> &'a mut [httparse::Header<'h>] {
    if max_headers <= HEADERS_ON_STACK {
        &mut on_stack[..max_headers]
    } else {
        on_heap.resize(max_headers, httparse::EMPTY_HEADER);
        on_heap
    }
}

/// The GUID that RFC 6455 §1.3 appends to the key.
const WS_GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The `Sec-WebSocket-Key` for a new client handshake: 16 random bytes,
/// base64-encoded.
pub fn generate_key() -> String {
    let mut nonce = [0u8; 16];
    super::entropy::fill(&mut nonce);
    BASE64.encode(nonce)
}

/// The `Sec-WebSocket-Accept` value for a key (RFC 6455 §4.2.2).
pub fn accept_key(key: &[u8]) -> String {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(WS_GUID);
    BASE64.encode(sha.finalize())
}

/// Finds the end of an HTTP head (`\r\n\r\n`) incrementally: each call scans
/// only bytes it has not seen, so a head trickling in one byte per read costs
/// linear time overall.
#[derive(Debug, Default, Clone)]
pub(crate) struct HeadScanner {
    scanned: usize,
}

impl HeadScanner {
    /// Returns the length of the head (including the blank line) once `buf`
    /// holds all of it. Lines may end in CRLF or, as RFC 9112 §2.2 allows a
    /// recipient to accept, a bare LF.
    pub(crate) fn find(&mut self, buf: &[u8]) -> Option<usize> {
        // Resume two bytes back: the blank line may straddle two reads.
        let mut i = self.scanned.saturating_sub(2);
        while let Some(pos) = buf[i..].iter().position(|&b| b == b'\n') {
            let lf = i + pos;
            match buf.get(lf + 1..) {
                Some([b'\n', ..]) => return Some(lf + 2),
                Some([b'\r', b'\n', ..]) => return Some(lf + 3),
                _ => i = lf + 1,
            }
        }
        self.scanned = buf.len();
        None
    }

    /// Starts over, after the scanned head was removed from the buffer.
    pub(crate) fn reset(&mut self) {
        self.scanned = 0;
    }
}

/// Splits a comma-separated header list into trimmed, non-empty elements.
fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|e| !e.is_empty())
}

fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// The headers of a parsed head, with the lookups the handshake needs
/// (also used by the HTTP/2 bootstrap, [`super::h2`]).
pub(crate) struct Headers<'b>(Vec<(&'b str, &'b [u8])>);

impl<'b> Headers<'b> {
    fn from_httparse(headers: &[httparse::Header<'b>]) -> Self {
        Headers(headers.iter().map(|h| (h.name, h.value)).collect())
    }

    /// Headers as name and value pairs, e.g. from another HTTP library.
    pub(crate) fn from_pairs(headers: impl IntoIterator<Item = (&'b str, &'b [u8])>) -> Self {
        Headers(headers.into_iter().collect())
    }

    pub(crate) fn from_owned(headers: &'b [Header]) -> Self {
        Headers(
            headers
                .iter()
                .map(|h| (h.name.as_str(), h.value.as_slice()))
                .collect(),
        )
    }

    fn all(&self, name: &'static str) -> impl Iterator<Item = &'b [u8]> + '_ {
        self.0
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    /// A header that must appear at most once.
    pub(crate) fn single(&self, name: &'static str) -> Result<Option<&'b [u8]>, String> {
        let mut it = self.all(name);
        let first = it.next();
        if it.next().is_some() {
            return Err(format!("duplicate {name} header"));
        }
        Ok(first.map(trim_ows))
    }

    /// Whether a list-valued header contains `token` (case-insensitively).
    fn has_token(&self, name: &'static str, token: &str) -> bool {
        self.all(name)
            .flat_map(list_elements)
            .any(|e| e.eq_ignore_ascii_case(token.as_bytes()))
    }

    /// Every element of a list-valued header, as text.
    pub(crate) fn list(&self, name: &'static str) -> Result<Vec<String>, String> {
        self.all(name)
            .flat_map(list_elements)
            .map(|e| {
                std::str::from_utf8(e)
                    .ok()
                    .filter(|s| s.bytes().all(is_token_byte))
                    .map(str::to_owned)
                    .ok_or_else(|| format!("malformed {name} header"))
            })
            .collect()
    }

    /// The extension offers (or responses) in `Sec-WebSocket-Extensions`.
    pub(crate) fn extensions(&self) -> Result<Vec<ExtensionParams>, String> {
        let mut out = Vec::new();
        for value in self.all("sec-websocket-extensions") {
            let parsed = std::str::from_utf8(value).ok().and_then(parse_extensions);
            out.extend(parsed.ok_or("malformed Sec-WebSocket-Extensions header")?);
        }
        Ok(out)
    }

    /// The subprotocol a server chose (`Sec-WebSocket-Protocol`): none, or
    /// one of those the client offered.
    pub(crate) fn chosen_subprotocol(&self, offered: &[String]) -> Result<Option<String>, String> {
        match self.list("sec-websocket-protocol")?.as_slice() {
            [] => Ok(None),
            [p] if offered.iter().any(|o| o == p) => Ok(Some(p.clone())),
            [p] => Err(format!(
                "server chose subprotocol {p:?}, which was not offered"
            )),
            _ => Err("server chose more than one subprotocol".into()),
        }
    }

    /// Headers other than those the handshake consumes.
    pub(crate) fn extra(&self) -> Vec<Header> {
        const CONSUMED: [&str; 8] = [
            "host",
            "upgrade",
            "connection",
            "sec-websocket-key",
            "sec-websocket-version",
            "sec-websocket-protocol",
            "sec-websocket-extensions",
            "sec-websocket-accept",
        ];
        self.0
            .iter()
            .filter(|(n, _)| !CONSUMED.iter().any(|c| n.eq_ignore_ascii_case(c)))
            .map(|(n, v)| Header::new(*n, *v))
            .collect()
    }
}

/// A validated client handshake, as the server sees it.
#[derive(Debug, Clone)]
pub(crate) struct ParsedRequest {
    pub(crate) request: Request,
    pub(crate) key: String,
    pub(crate) offers: Vec<ExtensionParams>,
}

/// A refusal of a request: the status to answer with and a message.
fn reject(status: u16, message: impl Into<String>) -> RemoteProtocolError {
    RemoteProtocolError::http(status, message.into())
}

/// Parses and validates a complete request head (RFC 6455 §4.2.1).
pub(crate) fn parse_request(
    head: &[u8],
    max_headers: usize,
) -> Result<ParsedRequest, RemoteProtocolError> {
    let mut on_stack = [httparse::EMPTY_HEADER; HEADERS_ON_STACK];
    let mut on_heap = Vec::new();
    let storage = header_storage(&mut on_stack, &mut on_heap, max_headers);
    let mut req = httparse::Request::new(storage);
    match req.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(reject(400, "incomplete request head")),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(reject(
                431,
                format!("more than {max_headers} request headers"),
            ));
        }
        Err(e) => return Err(reject(400, format!("malformed request: {e}"))),
    }
    let h = Headers::from_httparse(req.headers);
    validate_request(
        req.method.unwrap_or_default(),
        req.version == Some(1),
        req.path.unwrap_or_default(),
        &h,
    )
}

/// Validates a request head as a WebSocket upgrade (RFC 6455 §4.2.1),
/// wherever it was parsed: by [`parse_request`] from bytes, or by another
/// HTTP implementation (see [`super::upgrade`]). `http11` says whether the
/// request is HTTP/1.1.
pub(crate) fn validate_request(
    method: &str,
    http11: bool,
    target: &str,
    h: &Headers<'_>,
) -> Result<ParsedRequest, RemoteProtocolError> {
    if method != "GET" {
        return Err(reject(400, "the handshake method must be GET"));
    }
    if !http11 {
        return Err(reject(400, "the handshake requires HTTP/1.1"));
    }
    // httparse vouches for a target it parsed; one from another HTTP stack
    // (`ServerUpgrade::from_head`) is checked the same way here.
    if target.is_empty() || target.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return Err(reject(400, "malformed request target"));
    }
    let target = target.to_owned();
    let bad = |m: String| reject(400, m);

    let host = h
        .single("host")
        .map_err(bad)?
        .ok_or_else(|| reject(400, "missing Host header"))?;
    let host = std::str::from_utf8(host)
        .map_err(|_| reject(400, "malformed Host header"))?
        .to_owned();
    if !h.has_token("upgrade", "websocket") {
        return Err(reject(400, "missing Upgrade: websocket"));
    }
    if !h.has_token("connection", "upgrade") {
        return Err(reject(400, "missing Connection: Upgrade"));
    }
    // A body would be read as frames; an upgrade request has none.
    if h.all("transfer-encoding").next().is_some()
        || h.all("content-length").any(|v| trim_ows(v) != b"0")
    {
        return Err(reject(400, "a handshake request must not have a body"));
    }
    match h.single("sec-websocket-version").map_err(bad)? {
        Some(b"13") => {}
        Some(_) | None => {
            return Err(reject(
                426,
                "unsupported or missing Sec-WebSocket-Version (13 is supported)",
            ));
        }
    }
    let key = h
        .single("sec-websocket-key")
        .map_err(bad)?
        .ok_or_else(|| reject(400, "missing Sec-WebSocket-Key"))?;
    match BASE64.decode(key) {
        Ok(nonce) if nonce.len() == 16 => {}
        _ => {
            return Err(reject(
                400,
                "Sec-WebSocket-Key is not 16 base64-encoded bytes",
            ));
        }
    }
    let key = String::from_utf8_lossy(key).into_owned();
    let subprotocols = h.list("sec-websocket-protocol").map_err(bad)?;
    let offers = h.extensions().map_err(bad)?;
    let request = Request {
        host,
        target,
        subprotocols,
        extensions: offers.iter().map(ToString::to_string).collect(),
        extra_headers: h.extra(),
    };
    Ok(ParsedRequest {
        request,
        key,
        offers,
    })
}

/// The parts of a server's response head the client needs.
#[derive(Debug)]
pub(crate) struct ParsedResponse {
    pub(crate) status: u16,
    pub(crate) headers: Vec<Header>,
}

/// Parses a complete response head.
pub(crate) fn parse_response(
    head: &[u8],
    max_headers: usize,
) -> Result<ParsedResponse, RemoteProtocolError> {
    let mut on_stack = [httparse::EMPTY_HEADER; HEADERS_ON_STACK];
    let mut on_heap = Vec::new();
    let storage = header_storage(&mut on_stack, &mut on_heap, max_headers);
    let mut res = httparse::Response::new(storage);
    match res.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => {
            return Err(RemoteProtocolError::new(
                super::Answer::Drop,
                "incomplete response head",
            ));
        }
        Err(e) => {
            return Err(RemoteProtocolError::new(
                super::Answer::Drop,
                format!("malformed handshake response: {e}"),
            ));
        }
    }
    Ok(ParsedResponse {
        status: res.code.unwrap_or_default(),
        headers: res
            .headers
            .iter()
            .map(|h| Header::new(h.name, h.value))
            .collect(),
    })
}

/// What a client validated in a 101 response.
#[derive(Debug)]
pub(crate) struct AcceptedResponse {
    pub(crate) subprotocol: Option<String>,
    pub(crate) extensions: Vec<ExtensionParams>,
    pub(crate) extra_headers: Vec<Header>,
}

/// Validates a 101 response against the request the client sent
/// (RFC 6455 §4.1, the client's checks 1–6).
pub(crate) fn validate_accept(
    headers: &[Header],
    key: &str,
    offered_protocols: &[String],
) -> Result<AcceptedResponse, String> {
    let h = Headers::from_owned(headers);
    if !h.has_token("upgrade", "websocket") {
        return Err("response lacks Upgrade: websocket".into());
    }
    if !h.has_token("connection", "upgrade") {
        return Err("response lacks Connection: Upgrade".into());
    }
    let accept = h
        .single("sec-websocket-accept")?
        .ok_or("response lacks Sec-WebSocket-Accept")?;
    if accept != accept_key(key.as_bytes()).as_bytes() {
        return Err("Sec-WebSocket-Accept does not match the key".into());
    }
    Ok(AcceptedResponse {
        subprotocol: h.chosen_subprotocol(offered_protocols)?,
        extensions: h.extensions()?,
        extra_headers: h.extra(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_example_accept_key() {
        // RFC 6455 §1.3.
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn generated_keys_are_16_bytes_and_differ() {
        let a = generate_key();
        assert_eq!(BASE64.decode(&a).unwrap().len(), 16);
        assert_ne!(a, generate_key());
    }

    #[test]
    fn head_scanner_finds_split_terminators_once() {
        let head = b"GET / HTTP/1.1\r\nHost: x\r\n\r\nrest";
        let bare = b"GET / HTTP/1.1\nHost: x\n\nrest";
        for split in 0..bare.len() {
            let mut s = HeadScanner::default();
            let got = s.find(&bare[..split]).or_else(|| s.find(bare));
            assert_eq!(got, Some(bare.len() - 4), "bare LF, split {split}");
        }
        for split in 0..head.len() {
            let mut s = HeadScanner::default();
            let first = s.find(&head[..split]);
            let got = first.or_else(|| s.find(head));
            assert_eq!(got, Some(head.len() - 4), "split {split}");
        }
    }

    #[test]
    fn token_lists_are_case_insensitive_and_trimmed() {
        let hs = [Header::new("Connection", "keep-alive , UPGRADE")];
        assert!(Headers::from_owned(&hs).has_token("connection", "upgrade"));
        assert!(!Headers::from_owned(&hs).has_token("connection", "close"));
    }
}

//! The writing half of the handshake: checking what the application asks
//! to send (headers, requests, acceptances) and writing requests, accepting
//! responses and refusals.

use bytes::{BufMut, BytesMut};

use super::accept_key;
use crate::proto::error::{LocalProtocolError, RemoteProtocolError};
use crate::proto::events::{AcceptConnection, Header, Request};
use crate::proto::extensions::{ExtensionParams, is_token_byte};

/// Checks that a header can be written without breaking the head.
pub(crate) fn check_header(name: &str, value: &[u8]) -> Result<(), LocalProtocolError> {
    let name_ok = !name.is_empty() && name.bytes().all(is_token_byte);
    let value_ok = !value.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0);
    if name_ok && value_ok {
        Ok(())
    } else {
        Err(LocalProtocolError::InvalidHeader(name.to_owned()))
    }
}

/// Checks a client's request before it is sent: a host and an origin-form
/// target, no extension offers (those come from the configuration), valid
/// subprotocol names and headers.
pub(crate) fn check_request(req: &Request) -> Result<(), LocalProtocolError> {
    if req.host.is_empty() || req.host.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return Err(LocalProtocolError::InvalidRequest(
            "the host must be non-empty, without spaces",
        ));
    }
    if !req.target.starts_with('/')
        || req
            .target
            .bytes()
            .any(|b| b.is_ascii_control() || b == b' ')
    {
        return Err(LocalProtocolError::InvalidRequest(
            "the target must start with '/' and have no spaces",
        ));
    }
    check_offers(req)?;
    for h in &req.extra_headers {
        check_header(&h.name, &h.value)?;
    }
    Ok(())
}

/// Checks what a client's request offers, whatever HTTP version carries
/// it: subprotocols that are tokens, and no extensions in the request
/// itself (they are offered from the configuration).
pub(crate) fn check_offers(req: &Request) -> Result<(), LocalProtocolError> {
    if !req.extensions.is_empty() {
        return Err(LocalProtocolError::InvalidRequest(
            "extensions are offered through Config::extensions, not Request::extensions",
        ));
    }
    for p in &req.subprotocols {
        if p.is_empty() || !p.bytes().all(is_token_byte) {
            return Err(LocalProtocolError::InvalidHeader(format!(
                "Sec-WebSocket-Protocol: {p}"
            )));
        }
    }
    Ok(())
}

/// Checks a server's acceptance of `request`: the subprotocol must be one
/// the client offered, and the headers must be writable.
pub(crate) fn check_accept(
    request: &Request,
    accept: &AcceptConnection,
) -> Result<(), LocalProtocolError> {
    if let Some(p) = &accept.subprotocol {
        if !request.subprotocols.contains(p) {
            return Err(LocalProtocolError::SubprotocolNotOffered(p.clone()));
        }
    }
    for h in &accept.extra_headers {
        check_header(&h.name, &h.value)?;
    }
    Ok(())
}

fn put_header(out: &mut BytesMut, name: &str, value: &[u8]) {
    out.put_slice(name.as_bytes());
    out.put_slice(b": ");
    out.put_slice(value);
    out.put_slice(b"\r\n");
}

/// Writes a client handshake request.
pub(crate) fn write_request(
    out: &mut BytesMut,
    req: &Request,
    key: &str,
    offers: &[ExtensionParams],
) {
    out.put_slice(b"GET ");
    out.put_slice(req.target.as_bytes());
    out.put_slice(b" HTTP/1.1\r\n");
    request_headers(req, key, offers, |name, value| put_header(out, name, value));
    out.put_slice(b"\r\n");
}

/// Passes each header of a client handshake request to `emit`, in order:
/// what [`write_request`] writes, for callers that build the request with
/// another HTTP library.
pub(crate) fn request_headers(
    req: &Request,
    key: &str,
    offers: &[ExtensionParams],
    mut emit: impl FnMut(&str, &[u8]),
) {
    emit("Host", req.host.as_bytes());
    emit("Upgrade", b"websocket");
    emit("Connection", b"Upgrade");
    emit("Sec-WebSocket-Key", key.as_bytes());
    emit("Sec-WebSocket-Version", b"13");
    if !req.subprotocols.is_empty() {
        emit(
            "Sec-WebSocket-Protocol",
            req.subprotocols.join(", ").as_bytes(),
        );
    }
    if !offers.is_empty() {
        emit(
            "Sec-WebSocket-Extensions",
            crate::proto::extensions::join(offers).as_bytes(),
        );
    }
    for h in &req.extra_headers {
        emit(&h.name, &h.value);
    }
}

/// Writes a 101 response accepting a handshake.
pub(crate) fn write_accept(
    out: &mut BytesMut,
    key: &str,
    subprotocol: Option<&str>,
    extensions: &[ExtensionParams],
    extra: &[Header],
) {
    out.put_slice(b"HTTP/1.1 101 Switching Protocols\r\n");
    accept_headers(key, subprotocol, extensions, extra, |name, value| {
        put_header(out, name, value)
    });
    out.put_slice(b"\r\n");
}

/// Passes each header of a 101 response accepting a handshake to `emit`,
/// in order: what [`write_accept`] writes, for servers that answer through
/// another HTTP library.
pub(crate) fn accept_headers(
    key: &str,
    subprotocol: Option<&str>,
    extensions: &[ExtensionParams],
    extra: &[Header],
    mut emit: impl FnMut(&str, &[u8]),
) {
    emit("Upgrade", b"websocket");
    emit("Connection", b"Upgrade");
    emit(
        "Sec-WebSocket-Accept",
        accept_key(key.as_bytes()).as_bytes(),
    );
    if let Some(p) = subprotocol {
        emit("Sec-WebSocket-Protocol", p.as_bytes());
    }
    if !extensions.is_empty() {
        emit(
            "Sec-WebSocket-Extensions",
            crate::proto::extensions::join(extensions).as_bytes(),
        );
    }
    for h in extra {
        emit(&h.name, &h.value);
    }
}

/// Writes the status line and headers of a rejection. `Connection: close` is
/// always sent: the connection ends with the response.
pub(crate) fn write_reject(out: &mut BytesMut, status: u16, headers: &[Header], has_body: bool) {
    out.put_slice(format!("HTTP/1.1 {status} {}\r\n", reason_phrase(status)).as_bytes());
    let has_length = headers
        .iter()
        .any(|h| h.name.eq_ignore_ascii_case("content-length"));
    for h in headers {
        put_header(out, &h.name, &h.value);
    }
    if !has_body && !has_length {
        put_header(out, "Content-Length", b"0");
    }
    if !headers
        .iter()
        .any(|h| h.name.eq_ignore_ascii_case("connection"))
    {
        put_header(out, "Connection", b"close");
    }
    out.put_slice(b"\r\n");
}

/// Writes the complete response for a request the server refused itself.
pub(crate) fn write_error_response(out: &mut BytesMut, err: &RemoteProtocolError) {
    let status = err.http_status().unwrap_or(400);
    let body = format!("{}\n", err.message());
    let mut headers = vec![
        Header::new("Content-Type", "text/plain; charset=utf-8"),
        Header::new("Content-Length", body.len().to_string()),
    ];
    headers.extend(refusal_headers(status));
    write_reject(out, status, &headers, true);
    out.put_slice(body.as_bytes());
}

/// The headers a refusal with `status` must carry: a 426 names the version
/// this server speaks (RFC 6455 §4.4) and the protocol to upgrade to.
pub(crate) fn refusal_headers(status: u16) -> Vec<Header> {
    if status == 426 {
        vec![
            Header::new("Upgrade", "websocket"),
            Header::new("Sec-WebSocket-Version", "13"),
        ]
    } else {
        Vec::new()
    }
}

/// The standard reason phrase for the statuses a WebSocket server uses.
fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "",
    }
}

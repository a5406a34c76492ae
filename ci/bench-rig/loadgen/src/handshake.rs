//! The client side of the opening handshake (RFC 6455 §4.1), offering
//! permessage-deflate (RFC 7692) or no extension at all.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest, Sha1};
use std::io;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The longest response head accepted.
const MAX_HEAD: usize = 8 << 10;

/// A connection after its handshake.
pub struct Connected {
    pub stream: TcpStream,
    /// Bytes read past the response head.
    pub early: Vec<u8>,
    /// The server accepted permessage-deflate.
    pub deflate: bool,
}

/// Connects to `host`, upgrades to WebSocket on `path` (offering
/// permessage-deflate if `deflate`) and checks the response.
pub async fn connect(host: &str, path: &str, deflate: bool) -> io::Result<Connected> {
    let mut stream = TcpStream::connect(host).await?;
    stream.set_nodelay(true)?;
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).map_err(io::Error::other)?;
    let key = STANDARD.encode(nonce);
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{offer}\r\n",
        offer = if deflate {
            "Sec-WebSocket-Extensions: permessage-deflate\r\n"
        } else {
            ""
        }
    );
    stream.write_all(request.as_bytes()).await?;

    let mut buf = Vec::with_capacity(1024);
    let head_len = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > MAX_HEAD {
            return Err(bad("response head too long"));
        }
        if stream.read_buf(&mut buf).await? == 0 {
            return Err(bad("connection closed during the handshake"));
        }
    };
    let deflate = check_response(&buf[..head_len], &key, deflate)?;
    let early = buf.split_off(head_len);
    Ok(Connected {
        stream,
        early,
        deflate,
    })
}

/// Checks for `101` and the right `Sec-WebSocket-Accept`, and that no
/// extension was accepted but permessage-deflate when `offered`; returns
/// whether it was.
fn check_response(head: &[u8], key: &str, offered: bool) -> io::Result<bool> {
    let head = std::str::from_utf8(head).map_err(|_| bad("response head is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    if status.split(' ').nth(1) != Some("101") {
        return Err(bad(&format!("expected 101, got `{status}`")));
    }
    let expected = STANDARD.encode(
        Sha1::new()
            .chain_update(key)
            .chain_update("258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
            .finalize(),
    );
    let mut accepted = false;
    let mut deflate = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("sec-websocket-accept") {
            if value != expected {
                return Err(bad(&format!(
                    "Sec-WebSocket-Accept {value}, expected {expected}"
                )));
            }
            accepted = true;
        } else if name.eq_ignore_ascii_case("sec-websocket-extensions") {
            let name = value.split(';').next().unwrap_or_default().trim();
            if !offered || name != "permessage-deflate" || deflate {
                return Err(bad(&format!("unrequested extension accepted: {value}")));
            }
            deflate = true;
        }
    }
    if !accepted {
        return Err(bad("no Sec-WebSocket-Accept"));
    }
    Ok(deflate)
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("handshake: {msg}"))
}

//! The client side of the opening handshake (RFC 6455 §4.1), no extensions.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest, Sha1};
use std::io;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The longest response head accepted.
const MAX_HEAD: usize = 8 << 10;

/// Connects to `host`, upgrades to WebSocket on `path` and checks the
/// response. Returns the stream and any bytes read past the response head.
pub async fn connect(host: &str, path: &str) -> io::Result<(TcpStream, Vec<u8>)> {
    let mut stream = TcpStream::connect(host).await?;
    stream.set_nodelay(true)?;
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).map_err(io::Error::other)?;
    let key = STANDARD.encode(nonce);
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
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
    check_response(&buf[..head_len], &key)?;
    Ok((stream, buf.split_off(head_len)))
}

/// Checks for `101` and the right `Sec-WebSocket-Accept`, and that no
/// extension was accepted (none was offered).
fn check_response(head: &[u8], key: &str) -> io::Result<()> {
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
            return Err(bad(&format!("unrequested extension accepted: {value}")));
        }
    }
    if !accepted {
        return Err(bad("no Sec-WebSocket-Accept"));
    }
    Ok(())
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("handshake: {msg}"))
}

//! A client on the Sans-I/O core and a blocking `std::net` socket: the Rust
//! counterpart of Python wsproto's `synchronous_client.py`.
//!
//! ```text
//! cargo run --example sync_client ws://127.0.0.1:9001/
//! ```
//!
//! It sends a text message, a fragmented text message, a binary message and
//! a ping, prints what comes back, then closes with 1000 and waits for the
//! server's close and the end of the connection.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::Duration;

use wsproto::{
    BytesMessage, CloseCode, CloseConnection, Event, Ping, Request, Role, State, TextMessage,
    WsConnection,
};

fn main() -> ExitCode {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: sync_client ws://HOST:PORT/PATH");
        return ExitCode::from(2);
    };
    match run(&url) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sync_client: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Splits `ws://host[:port][/path]` into (host, port, target).
fn parse_url(url: &str) -> io::Result<(String, u16, String)> {
    let bad = |m: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("{url}: {m}"));
    let rest = url
        .strip_prefix("ws://")
        .ok_or_else(|| bad("only ws:// URLs are supported"))?;
    let (authority, target) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].to_owned()),
        None => (rest, "/".to_owned()),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => {
            (h, p.parse().map_err(|_| bad("bad port"))?)
        }
        _ => (authority, 80),
    };
    if host.is_empty() {
        return Err(bad("missing host"));
    }
    Ok((host.to_owned(), port, target))
}

/// Writes whatever the connection has queued.
fn flush(ws: &mut WsConnection, stream: &mut TcpStream) -> io::Result<()> {
    let out = ws.bytes_to_send();
    if !out.is_empty() {
        stream.write_all(&out)?;
    }
    Ok(())
}

/// Reads once from the socket into the connection.
fn pump(ws: &mut WsConnection, stream: &mut TcpStream, buf: &mut [u8]) -> io::Result<()> {
    match stream.read(buf)? {
        0 => ws.receive_eof(),
        n => ws.receive_bytes(&buf[..n]),
    }
    Ok(())
}

fn run(url: &str) -> io::Result<()> {
    let (host, port, target) = parse_url(url)?;
    let mut stream = TcpStream::connect((host.as_str(), port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let host_header = if port == 80 {
        host.clone()
    } else {
        format!("{host}:{port}")
    };
    let mut ws = WsConnection::new(Role::Client);
    let mut buf = vec![0u8; 64 << 10];
    ws.send(Request::new(host_header, target))
        .map_err(io::Error::other)?;
    flush(&mut ws, &mut stream)?;

    // The handshake.
    loop {
        match ws.next_event() {
            Some(Ok(Event::AcceptConnection(_))) => break,
            Some(Ok(Event::RejectConnection(r))) => {
                return Err(io::Error::other(format!(
                    "server rejected the handshake: HTTP {}",
                    r.status_code
                )));
            }
            Some(Ok(other)) => println!("unexpected {other:?}"),
            Some(Err(e)) => return Err(io::Error::other(e)),
            None => pump(&mut ws, &mut stream, &mut buf)?,
        }
    }
    println!("connected to {url}");

    ws.send(TextMessage::new("wsproto is great"))
        .map_err(io::Error::other)?;
    ws.send(TextMessage::fragment("fragmented ", false))
        .map_err(io::Error::other)?;
    ws.send(TextMessage::fragment("text 𝄞", true))
        .map_err(io::Error::other)?;
    ws.send(BytesMessage::new(vec![0u8, 1, 2, 3]))
        .map_err(io::Error::other)?;
    ws.send(Ping::new(&b"This is a ping"[..]))
        .map_err(io::Error::other)?;
    flush(&mut ws, &mut stream)?;

    // Three echoes and a pong, assembling fragmented messages.
    let (mut replies, mut text) = (0, String::new());
    while replies < 4 {
        match ws.next_event() {
            Some(Ok(Event::TextMessage(m))) => {
                text.push_str(&m.data);
                if m.message_finished {
                    println!("text: {text}");
                    text.clear();
                    replies += 1;
                }
            }
            Some(Ok(Event::BytesMessage(m))) => {
                println!("binary: {:?}", &m.data[..]);
                replies += u32::from(m.message_finished);
            }
            Some(Ok(Event::Pong(p))) => {
                println!("pong: {}", String::from_utf8_lossy(&p.payload));
                replies += 1;
            }
            Some(Ok(Event::CloseConnection(c))) => {
                return Err(io::Error::other(format!(
                    "server closed early: {} {}",
                    c.code, c.reason
                )));
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(io::Error::other(e)),
            None => pump(&mut ws, &mut stream, &mut buf)?,
        }
        flush(&mut ws, &mut stream)?;
    }

    ws.send(CloseConnection::new(CloseCode::NORMAL, "done"))
        .map_err(io::Error::other)?;
    flush(&mut ws, &mut stream)?;
    while ws.state() != State::Closed {
        match ws.next_event() {
            Some(Ok(Event::CloseConnection(c))) => println!("closed: {} {}", c.code, c.reason),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(io::Error::other(e)),
            None => pump(&mut ws, &mut stream, &mut buf)?,
        }
    }
    // The server closes TCP first; wait briefly for it.
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let _ = stream.read(&mut buf);
    Ok(())
}

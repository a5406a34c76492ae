//! An echo server on the Sans-I/O core and blocking `std::net` sockets,
//! one thread per connection: the Rust counterpart of Python wsproto's
//! `synchronous_server.py`.
//!
//! ```text
//! cargo run --example sync_echo_server [ADDR]     # default 127.0.0.1:9001
//! ```
//!
//! Messages are echoed as they stream in, fragment by fragment, so a 1 MiB
//! (or 16 MiB) message never has to be held whole. Output is collected after
//! every event and written once per read, so each ping gets its own pong and
//! a peer that stops reading stops this thread's reading too (the write
//! blocks): memory stays bounded by one read buffer plus its echo.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use wsproto::{
    AcceptConnection, BytesMessage, Config, DeflateConfig, Event, Role, State, TextMessage,
    WsConnection,
};

/// Connections served at once; more are turned away so a flood of idle
/// sockets cannot exhaust threads.
const MAX_CONNECTIONS: usize = 1024;
/// A client must complete its handshake within this time.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".to_owned());
    let listener = TcpListener::bind(&addr)?;
    println!(
        "sync_echo_server listening on ws://{}",
        listener.local_addr()?
    );
    let active = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            active.fetch_sub(1, Ordering::SeqCst);
            drop(stream);
            continue;
        }
        let active = Arc::clone(&active);
        let spawned = std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(move || {
                let peer = stream.peer_addr().ok();
                if let Err(e) = serve(stream) {
                    eprintln!("{peer:?}: {e}");
                }
                active.fetch_sub(1, Ordering::SeqCst);
            });
        if let Err(e) = spawned {
            eprintln!("cannot spawn a thread: {e}");
        }
    }
    Ok(())
}

fn serve(mut stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    // A deadline for the whole handshake, not per read: a client trickling
    // one byte at a time must not hold a thread for ever.
    let handshake_deadline = Instant::now() + HANDSHAKE_TIMEOUT;
    let mut handshaking = true;
    // permessage-deflate is negotiated with the clients that offer it.
    let mut ws = WsConnection::with_config(
        Role::Server,
        Config::default().deflate(DeflateConfig::default()),
    );
    let mut buf = vec![0u8; 64 << 10];
    let mut out = Vec::new();
    loop {
        while let Some(event) = ws.next_event() {
            match event {
                Ok(Event::Request(_)) => {
                    ws.send(AcceptConnection::new()).map_err(io::Error::other)?;
                    // Open connections may idle as long as they like.
                    handshaking = false;
                    stream.set_read_timeout(None)?;
                }
                Ok(Event::TextMessage(m)) => ws
                    .send(TextMessage::fragment(m.data, m.message_finished))
                    .map_err(io::Error::other)?,
                Ok(Event::BytesMessage(m)) => ws
                    .send(BytesMessage::fragment(m.data, m.message_finished))
                    .map_err(io::Error::other)?,
                // Pongs and close replies are queued by the connection itself.
                Ok(_) => {}
                // The answer (a close frame or an HTTP error) is queued.
                Err(e) => eprintln!("protocol error from peer: {e}"),
            }
            ws.bytes_to_send_into(&mut out);
        }
        ws.bytes_to_send_into(&mut out);
        if !out.is_empty() {
            stream.write_all(&out)?;
            out.clear();
        }
        if matches!(ws.state(), State::Closed) {
            // The server closes TCP first (RFC 6455 §7.1.1).
            let _ = stream.shutdown(Shutdown::Both);
            return Ok(());
        }
        if handshaking {
            let left = handshake_deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "handshake timed out",
                ));
            }
            stream.set_read_timeout(Some(left))?;
        }
        match stream.read(&mut buf) {
            Ok(0) => ws.receive_eof(),
            Ok(n) => ws.receive_bytes(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

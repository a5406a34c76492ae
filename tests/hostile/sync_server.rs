//! The sync server: [`SyncServer`], the Sans-I/O core over blocking
//! sockets, serving like `examples/sync_echo_server.rs`.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering::SeqCst;
use std::time::{Duration, Instant};

use wsproto::{AcceptConnection, BytesMessage, Event, Role, State, TextMessage, WsConnection};

use super::Stats;

/// The knobs of `examples/sync_echo_server.rs`, as parameters.
#[derive(Clone)]
pub struct SyncConfig {
    pub protocol: wsproto::Config,
    /// `HANDSHAKE_TIMEOUT` in the example (10 s there): a deadline for the
    /// whole handshake.
    pub handshake_timeout: Duration,
}

/// The Sans-I/O core over blocking sockets, one thread per connection.
pub struct SyncServer {
    pub addr: SocketAddr,
    pub stats: Arc<Stats>,
}

impl SyncServer {
    pub fn start(config: SyncConfig) -> SyncServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stats = Arc::new(Stats::default());
        let st = Arc::clone(&stats);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let stats = Arc::clone(&st);
                let config = config.clone();
                std::thread::Builder::new()
                    .stack_size(256 << 10)
                    .spawn(move || {
                        let outcome = match sync_serve(stream, &config, &stats) {
                            Ok(o) => o,
                            Err(e) => format!("io {:?}", e.kind()),
                        };
                        stats.outcome(outcome);
                    })
                    .unwrap();
            }
        });
        SyncServer { addr, stats }
    }
}

/// `serve` from `examples/sync_echo_server.rs`, line for line, with the
/// configuration passed in and observations recorded; returns how the
/// connection ended.
fn sync_serve(mut stream: TcpStream, config: &SyncConfig, stats: &Stats) -> io::Result<String> {
    stream.set_nodelay(true)?;
    // A deadline for the whole handshake, not per read.
    let handshake_deadline = Instant::now() + config.handshake_timeout;
    let mut handshaking = true;
    let mut ws = WsConnection::with_config(Role::Server, config.protocol.clone());
    let mut buf = vec![0u8; 64 << 10];
    let mut out = Vec::new();
    let mut outcome = "eof".to_owned();
    loop {
        while let Some(event) = ws.next_event() {
            match event {
                Ok(Event::Request(_)) => {
                    ws.send(AcceptConnection::new()).map_err(io::Error::other)?;
                    handshaking = false;
                    stream.set_read_timeout(None)?;
                    stats.opened.fetch_add(1, SeqCst);
                }
                Ok(Event::TextMessage(m)) => {
                    if m.message_finished {
                        stats.messages.fetch_add(1, SeqCst);
                    }
                    ws.send(TextMessage::fragment(m.data, m.message_finished))
                        .map_err(io::Error::other)?
                }
                Ok(Event::BytesMessage(m)) => {
                    if m.message_finished {
                        stats.messages.fetch_add(1, SeqCst);
                    }
                    ws.send(BytesMessage::fragment(m.data, m.message_finished))
                        .map_err(io::Error::other)?
                }
                Ok(Event::Ping(_)) => {
                    stats.pings.fetch_add(1, SeqCst);
                }
                Ok(Event::CloseConnection(c)) => outcome = format!("closed {:?}", Some(c.code.0)),
                Ok(_) => {}
                Err(e) => {
                    outcome = match (e.close_code(), e.http_status()) {
                        (Some(c), _) => format!("protocol {c}: {}", e.message()),
                        (_, Some(s)) => format!("http {s}: {}", e.message()),
                        _ => format!("protocol drop: {}", e.message()),
                    };
                }
            }
            if let Some(c) = ws.connection() {
                stats.note_in(c.buffered_input());
            }
            ws.bytes_to_send_into(&mut out);
            stats.note_out(out.len());
        }
        ws.bytes_to_send_into(&mut out);
        stats.note_out(out.len());
        if !out.is_empty() {
            stream.write_all(&out)?;
            out.clear();
        }
        if matches!(ws.state(), State::Closed) {
            let _ = stream.shutdown(Shutdown::Both);
            return Ok(outcome);
        }
        if handshaking {
            let left = handshake_deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(ErrorKind::TimedOut, "handshake timed out"));
            }
            stream.set_read_timeout(Some(left))?;
        }
        match stream.read(&mut buf) {
            Ok(0) => ws.receive_eof(),
            Ok(n) => {
                stats.read.fetch_add(n, SeqCst);
                ws.receive_bytes(&buf[..n]);
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

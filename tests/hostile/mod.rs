//! Helpers for the hostile-peer tests (`tests/hostile_*.rs`): two servers
//! run in-process on 127.0.0.1:0 and a hand-written attacking client.
//!
//! * [`AsyncServer`]: the async layer (`wsproto::ws::accept_with`) on smol,
//!   echoing like `examples/echo_server.rs`, over a stream that counts the
//!   bytes the server read.
//! * [`SyncServer`]: the Sans-I/O core over blocking sockets, a faithful copy
//!   of `examples/sync_echo_server.rs`'s serve loop with its constants made
//!   parameters (the handshake timeout, and the protocol `Config`: the
//!   example negotiates permessage-deflate; the tests that need it pass it).
//! * [`Peer`]: a blocking client speaking WebSocket by hand (its own frame
//!   codec), for what no well-behaved peer does.
//! * Memory: a counting global allocator gives the live heap and its peak,
//!   which the tests bound; [`rss`] is printed alongside. Tests that measure
//!   take [`serial`] so that nothing else runs in the process meanwhile.

#![allow(dead_code)]

mod async_server;
mod memory;
mod peer;
mod sync_server;

// Each test crate uses only part of these.
#[allow(unused_imports)]
pub use async_server::*;
#[allow(unused_imports)]
pub use memory::*;
#[allow(unused_imports)]
pub use peer::*;
#[allow(unused_imports)]
pub use sync_server::*;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wsproto::ws::{Config, Error};

// ---------------------------------------------------------------------------
// What a server saw.

/// Observations a server records; shared with the test.
#[derive(Default)]
pub struct Stats {
    /// Bytes the server read from its sockets.
    pub read: AtomicUsize,
    /// The most output the engine held unwritten (after any event).
    pub max_out: AtomicUsize,
    /// The most input the engine held unparsed.
    pub max_in: AtomicUsize,
    pub pings: AtomicUsize,
    pub messages: AtomicUsize,
    /// Connections whose handshake completed.
    pub opened: AtomicUsize,
    /// How each connection ended: "handshake: …", "protocol 1009: …", "eof", …
    pub outcomes: Mutex<Vec<String>>,
}

impl Stats {
    fn note_out(&self, n: usize) {
        self.max_out.fetch_max(n, SeqCst);
    }
    fn note_in(&self, n: usize) {
        self.max_in.fetch_max(n, SeqCst);
    }
    fn outcome(&self, s: String) {
        self.outcomes.lock().unwrap().push(s);
    }
    pub fn outcomes(&self) -> Vec<String> {
        self.outcomes.lock().unwrap().clone()
    }
    /// Waits until `n` connections have ended.
    pub fn wait_outcomes(&self, n: usize, within: Duration) -> Vec<String> {
        let end = Instant::now() + within;
        loop {
            let o = self.outcomes();
            if o.len() >= n || Instant::now() >= end {
                return o;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

fn describe(e: &Error) -> String {
    match e {
        Error::Protocol(p) => match (p.close_code(), p.http_status()) {
            (Some(c), _) => format!("protocol {c}: {}", p.message()),
            (_, Some(s)) => format!("http {s}: {}", p.message()),
            _ => format!("protocol drop: {}", p.message()),
        },
        Error::Timeout(k) => format!("timeout {k:?}"),
        other => format!("{other}"),
    }
}

// ---------------------------------------------------------------------------
// Both servers.

/// Runs `scenario` against a fresh async server and a fresh sync server,
/// both with the protocol configuration `protocol`.
pub fn on_both(protocol: wsproto::Config, scenario: impl Fn(&str, SocketAddr, &Arc<Stats>)) {
    let a = AsyncServer::echo(Config::default().protocol(protocol.clone()));
    scenario("async", a.addr, &a.stats);
    let s = SyncServer::start(SyncConfig {
        protocol,
        handshake_timeout: Duration::from_secs(2),
    });
    scenario("sync", s.addr, &s.stats);
}

/// Waits for the server's account of how the connection ended.
pub fn outcome(stats: &Stats) -> String {
    let o = stats.wait_outcomes(1, Duration::from_secs(2));
    o.last().cloned().unwrap_or_else(|| "none".into())
}

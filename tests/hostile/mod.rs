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

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::io::{AsyncRead, AsyncWrite};
use wsproto::ws::{self, Config, Error, Message};
use wsproto::{AcceptConnection, BytesMessage, Event, Role, State, TextMessage, WsConnection};

// ---------------------------------------------------------------------------
// Memory.

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(n: usize) {
    let live = LIVE.fetch_add(n, SeqCst) + n;
    PEAK.fetch_max(live, SeqCst);
}

// SAFETY: forwards to the system allocator; the bookkeeping is two atomics
// and allocates nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), SeqCst);
            grew(new_size);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), SeqCst);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Serialises the tests of one binary, so that the heap they measure is
/// theirs alone.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Measures the heap's peak above its level at the start.
pub struct HeapWatch {
    base: usize,
    rss: usize,
    started: Instant,
}

impl HeapWatch {
    pub fn start() -> HeapWatch {
        let base = LIVE.load(SeqCst);
        PEAK.store(base, SeqCst);
        HeapWatch {
            base,
            rss: rss(),
            started: Instant::now(),
        }
    }

    /// The highest the heap rose above its starting level.
    pub fn peak_growth(&self) -> usize {
        PEAK.load(SeqCst).saturating_sub(self.base)
    }

    /// Prints the measurements and checks the peak against `bound`.
    pub fn assert_peak_below(&self, what: &str, bound: usize) {
        let peak = self.peak_growth();
        let rss_growth = rss().saturating_sub(self.rss);
        println!(
            "{what}: heap peak +{} KiB (bound {} KiB), RSS +{} KiB, {:?}",
            peak >> 10,
            bound >> 10,
            rss_growth >> 10,
            self.started.elapsed()
        );
        assert!(
            peak < bound,
            "{what}: the heap grew by {peak} bytes, more than {bound}"
        );
    }
}

/// The process's resident set size in bytes (from /proc/self/statm).
pub fn rss() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * 4096)
}

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
// The async server.

/// A stream that counts what is read through it.
pub struct Counted<S> {
    inner: S,
    stats: Arc<Stats>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(n)) = r {
            self.stats.read.fetch_add(n, SeqCst);
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

/// What the async server's application does with an open connection.
pub type App = Arc<
    dyn Fn(
            ws::WebSocket<Counted<smol::net::TcpStream>>,
            Arc<Stats>,
        ) -> Pin<Box<dyn Future<Output = ()> + Send>>
        + Send
        + Sync,
>;

/// The async layer serving on 127.0.0.1:0 from a thread of its own, one
/// task per connection.
pub struct AsyncServer {
    pub addr: SocketAddr,
    pub stats: Arc<Stats>,
}

impl AsyncServer {
    /// An echo server, like `examples/echo_server.rs`.
    pub fn echo(config: Config) -> AsyncServer {
        AsyncServer::with_app(config, Arc::new(|ws, stats| Box::pin(echo(ws, stats))))
    }

    pub fn with_app(config: Config, app: App) -> AsyncServer {
        let stats = Arc::new(Stats::default());
        let (tx, rx) = std::sync::mpsc::channel();
        let st = Arc::clone(&stats);
        std::thread::spawn(move || {
            smol::block_on(async move {
                let listener = smol::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let stats = Arc::clone(&st);
                    let config = config.clone();
                    let app = Arc::clone(&app);
                    smol::spawn(async move {
                        stream.set_nodelay(true).ok();
                        let io = Counted {
                            inner: stream,
                            stats: Arc::clone(&stats),
                        };
                        match ws::accept_with(io, config, |_| Ok(AcceptConnection::new())).await {
                            Ok(ws) => {
                                stats.opened.fetch_add(1, SeqCst);
                                app(ws, stats).await;
                            }
                            Err(e) => stats.outcome(format!("handshake {}", describe(&e))),
                        }
                    })
                    .detach();
                }
            })
        });
        let addr = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        AsyncServer { addr, stats }
    }
}

/// Records what an open connection's engine holds.
pub fn observe<S: AsyncRead + AsyncWrite + Unpin>(ws: &ws::WebSocket<S>, stats: &Stats) {
    stats.note_out(ws.buffered_output());
    stats.note_in(ws.connection().buffered_input());
}

/// The echo loop of `examples/shared/echo.rs`, recording what it sees.
pub async fn echo<S: AsyncRead + AsyncWrite + Unpin>(mut ws: ws::WebSocket<S>, stats: Arc<Stats>) {
    let mut outcome = "eof".to_owned();
    while let Some(item) = ws.recv().await {
        observe(&ws, &stats);
        match item {
            Ok(Message::Ping(_)) => {
                stats.pings.fetch_add(1, SeqCst);
            }
            Ok(m) if m.is_data() => {
                stats.messages.fetch_add(1, SeqCst);
                let _ = ws.send(m).await;
                observe(&ws, &stats);
            }
            Ok(Message::Close(frame)) => {
                outcome = format!("closed {:?}", frame.map(|f| f.code.0));
            }
            Ok(_) => {}
            Err(e) => outcome = describe(&e),
        }
    }
    observe(&ws, &stats);
    stats.note_in(ws.connection().buffered_input());
    stats.outcome(outcome);
}

// ---------------------------------------------------------------------------
// The sync server.

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

// ---------------------------------------------------------------------------
// The attacking peer.

pub const CONT: u8 = 0x0;
pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xa;

pub const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A masked client frame, written from RFC 6455 §5.2.
pub fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    frame_into(&mut out, fin, opcode, payload);
    out
}

/// Appends a masked client frame to `out`.
pub fn frame_into(out: &mut Vec<u8>, fin: bool, opcode: u8, payload: &[u8]) {
    out.push(if fin { 0x80 } else { 0 } | opcode);
    match payload.len() {
        n @ 0..=125 => out.push(0x80 | n as u8),
        n @ 126..=0xffff => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&MASK);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
}

/// A frame header alone, announcing `len` payload bytes.
pub fn header(fin: bool, opcode: u8, len: u64) -> Vec<u8> {
    let mut out = vec![if fin { 0x80 } else { 0 } | opcode, 0x80 | 127];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&MASK);
    out
}

/// A frame the peer received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub fin: bool,
    pub opcode: u8,
    pub payload: Vec<u8>,
}

impl Frame {
    pub fn close_code(&self) -> Option<u16> {
        (self.opcode == CLOSE && self.payload.len() >= 2)
            .then(|| u16::from_be_bytes([self.payload[0], self.payload[1]]))
    }
}

/// The request a well-behaved client sends, for RFC 6455 §1.2's key.
pub fn request_head(addr: SocketAddr) -> String {
    format!(
        "GET /chat HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    )
}

/// A blocking client.
pub struct Peer {
    pub s: TcpStream,
    buf: Vec<u8>,
}

impl Peer {
    pub fn connect(addr: SocketAddr) -> Peer {
        let s = TcpStream::connect(addr).unwrap();
        s.set_nodelay(true).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        s.set_write_timeout(Some(Duration::from_secs(3))).unwrap();
        Peer { s, buf: Vec::new() }
    }

    /// Connects and completes the handshake.
    pub fn open(addr: SocketAddr) -> Peer {
        let mut p = Peer::connect(addr);
        p.write(request_head(addr).as_bytes()).unwrap();
        let head = p.read_head().expect("a response");
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        // RFC 6455 §1.3's accept value for that key.
        assert!(head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{head}");
        p
    }

    pub fn try_clone(&self) -> TcpStream {
        self.s.try_clone().unwrap()
    }

    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.s.write_all(bytes)
    }

    fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 16 << 10];
        let n = self.s.read(&mut chunk)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// An HTTP head; `None` on EOF or reset first.
    pub fn read_head(&mut self) -> Option<String> {
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head: Vec<u8> = self.buf.drain(..end + 4).collect();
                return Some(String::from_utf8_lossy(&head).into_owned());
            }
            match self.fill() {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    /// The next frame; `None` on EOF, reset or timeout.
    pub fn read_frame(&mut self) -> Option<Frame> {
        loop {
            if let Some((f, used)) = parse_server_frame(&self.buf) {
                self.buf.drain(..used);
                return Some(f);
            }
            match self.fill() {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    /// Reads frames until a close frame (returned) or the end, passing the
    /// others to `seen`.
    pub fn until_close(&mut self, mut seen: impl FnMut(&Frame)) -> Option<Frame> {
        while let Some(f) = self.read_frame() {
            if f.opcode == CLOSE {
                return Some(f);
            }
            seen(&f);
        }
        None
    }

    /// Whether the server ends the connection (EOF or reset) within `d`,
    /// discarding anything it sends first.
    pub fn dropped_within(&mut self, d: Duration) -> bool {
        let end = Instant::now() + d;
        let mut chunk = [0u8; 4096];
        loop {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            self.s.set_read_timeout(Some(left)).unwrap();
            match self.s.read(&mut chunk) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return false;
                }
                Err(_) => return true,
            }
        }
    }
}

/// Decodes an unmasked server frame from the start of `buf`.
pub fn parse_server_frame(buf: &[u8]) -> Option<(Frame, usize)> {
    if buf.len() < 2 {
        return None;
    }
    assert_eq!(buf[1] & 0x80, 0, "a server frame is masked");
    let (len, at) = match buf[1] & 0x7f {
        126 => (u16::from_be_bytes([*buf.get(2)?, *buf.get(3)?]) as usize, 4),
        127 => {
            let b: [u8; 8] = buf.get(2..10)?.try_into().unwrap();
            (u64::from_be_bytes(b) as usize, 10)
        }
        n => (n as usize, 2),
    };
    let payload = buf.get(at..at + len)?.to_vec();
    Some((
        Frame {
            fin: buf[0] & 0x80 != 0,
            opcode: buf[0] & 0x0f,
            payload,
        },
        at + len,
    ))
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

//! permessage-deflate through the async layer, on every runtime through its
//! shim (`ws::Config::default().deflate(..)` on both sides): echo of text,
//! binary, 1 MiB and empty messages; proof that compression happens on the
//! wire (a counting TCP proxy, and hand-written peers that check RSV1 and
//! inflate/deflate with miniz_oxide, independent of the crate's zlib-rs);
//! what a `WebSocket` shows of the negotiation; a compression bomb over a
//! real socket.
//!
//! What the async API shows of the negotiation: the names of the active
//! extensions, through `WebSocket::connection().config().extensions`. The
//! agreed parameters are not visible (they are private to
//! `PerMessageDeflate`, and `Extension` has no downcast), and the client's
//! `Response` drops the `Sec-WebSocket-Extensions` header from its
//! `extra_headers` without another field carrying it.

#![cfg(feature = "deflate")]

#[macro_use]
mod ws_common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener as StdListener, TcpStream as StdTcp};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use miniz_oxide::deflate::core::{CompressorOxide, create_comp_flags_from_zip_params};
use miniz_oxide::inflate::stream::InflateState;
use miniz_oxide::{DataFormat, MZFlush};
use ws_common::*;
use wsproto::DeflateConfig;
use wsproto::proto::Connection;
use wsproto::ws::{Config, Error, Message};

runtime_tests!(
    echo_compressed_text_binary_large_and_empty,
    compression_shrinks_the_bytes_on_the_wire,
    the_client_compresses_for_a_raw_server,
    the_server_compresses_for_a_raw_client,
    no_deflate_unless_both_sides_want_it,
    a_bomb_over_a_socket_is_closed_with_1009,
    no_context_takeover_and_window_limits_over_a_socket,
);

const RSV1: u8 = 0x40;
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

fn dcfg(d: DeflateConfig) -> Config {
    Config::default().deflate(d)
}

fn deflate() -> Config {
    dcfg(DeflateConfig::default())
}

fn ext_names(conn: &Connection) -> Vec<String> {
    conn.config()
        .extensions
        .iter()
        .map(|e| e.name().to_owned())
        .collect()
}

/// Compressible text of about `len` bytes, multi-byte characters included.
fn text_of(len: usize) -> String {
    let mut s = String::with_capacity(len + 32);
    let mut i = 0u32;
    while s.len() < len {
        s.push_str(&format!("mot{} é 😀 ", i.wrapping_mul(2_654_435_761) % 113));
        i += 1;
    }
    s
}

/// Incompressible bytes.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

// ---------------------------------------------------------------------------
// An independent permessage-deflate codec (miniz_oxide).

/// A raw-deflate compressor producing permessage-deflate payloads.
struct Deflater(Box<CompressorOxide>);

impl Deflater {
    fn new() -> Deflater {
        Deflater(Box::new(CompressorOxide::new(
            create_comp_flags_from_zip_params(6, -15, 0),
        )))
    }

    /// One message: sync flush, tail stripped (RFC 7692 §7.2.1).
    fn message(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; data.len() + data.len() / 8 + 1024];
        let r = miniz_oxide::deflate::stream::deflate(&mut self.0, data, &mut out, MZFlush::Sync);
        r.status.expect("deflate");
        assert_eq!(r.bytes_consumed, data.len());
        assert!(r.bytes_written < out.len(), "output buffer too small");
        out.truncate(r.bytes_written);
        assert!(out.ends_with(&TAIL));
        out.truncate(out.len() - 4);
        out
    }
}

/// A raw-deflate decompressor that keeps its window across messages.
struct Inflater(Box<InflateState>);

impl Inflater {
    fn new() -> Inflater {
        Inflater(InflateState::new_boxed(DataFormat::Raw))
    }

    /// One message's payload (the tail is restored here).
    fn message(&mut self, payload: &[u8]) -> Vec<u8> {
        let mut input = payload.to_vec();
        input.extend_from_slice(&TAIL);
        let mut out = Vec::new();
        let mut buf = vec![0u8; 64 << 10];
        let mut at = 0;
        loop {
            let r = miniz_oxide::inflate::stream::inflate(
                &mut self.0,
                &input[at..],
                &mut buf,
                MZFlush::None,
            );
            at += r.bytes_consumed;
            out.extend_from_slice(&buf[..r.bytes_written]);
            match r.status {
                Ok(_) => {}
                Err(miniz_oxide::MZError::Buf) => break,
                Err(e) => panic!("inflate: {e:?}"),
            }
            if at == input.len() && r.bytes_written < buf.len() {
                break;
            }
        }
        assert_eq!(at, input.len(), "not all input was inflated");
        out
    }
}

// ---------------------------------------------------------------------------
// A hand-written blocking peer that keeps the RSV bits.

struct Peer {
    s: StdTcp,
    buf: Vec<u8>,
    client: bool,
}

/// One frame: the first header byte (FIN, RSV, opcode) and the payload,
/// unmasked.
#[derive(Debug, Clone)]
struct RawFrame {
    b0: u8,
    payload: Vec<u8>,
}

impl RawFrame {
    fn rsv(&self) -> u8 {
        self.b0 & 0x70
    }
    fn opcode(&self) -> u8 {
        self.b0 & 0x0f
    }
    fn fin(&self) -> bool {
        self.b0 & 0x80 != 0
    }
}

impl Peer {
    fn wrap(s: StdTcp, client: bool) -> Peer {
        s.set_read_timeout(Some(RAW_TIMEOUT)).unwrap();
        s.set_nodelay(true).unwrap();
        Peer {
            s,
            buf: Vec::new(),
            client,
        }
    }

    fn fill(&mut self, n: usize) -> bool {
        let mut chunk = [0u8; 16 << 10];
        while self.buf.len() < n {
            match self.s.read(&mut chunk) {
                Ok(0) => return false,
                Ok(k) => self.buf.extend_from_slice(&chunk[..k]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return false,
                Err(e) => panic!("raw peer read: {e}"),
            }
        }
        true
    }

    fn read_head(&mut self) -> String {
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head: Vec<u8> = self.buf.drain(..end + 4).collect();
                return String::from_utf8(head).unwrap();
            }
            let want = self.buf.len() + 1;
            assert!(self.fill(want), "EOF before the end of a head");
        }
    }

    fn read_frame(&mut self) -> Option<RawFrame> {
        if !self.fill(2) {
            return None;
        }
        let (b0, b1) = (self.buf[0], self.buf[1]);
        let (len, mut at) = match b1 & 0x7f {
            126 => {
                assert!(self.fill(4));
                (u16::from_be_bytes([self.buf[2], self.buf[3]]) as usize, 4)
            }
            127 => {
                assert!(self.fill(10));
                let mut b = [0u8; 8];
                b.copy_from_slice(&self.buf[2..10]);
                (u64::from_be_bytes(b) as usize, 10)
            }
            n => (n as usize, 2),
        };
        let mut key = None;
        if b1 & 0x80 != 0 {
            assert!(self.fill(at + 4));
            key = Some([
                self.buf[at],
                self.buf[at + 1],
                self.buf[at + 2],
                self.buf[at + 3],
            ]);
            at += 4;
        }
        assert_eq!(key.is_some(), !self.client, "masking from the wrong side");
        assert!(self.fill(at + len), "EOF inside a frame");
        let mut payload: Vec<u8> = self.buf.drain(..at + len).skip(at).collect();
        if let Some(k) = key {
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= k[i % 4];
            }
        }
        Some(RawFrame { b0, payload })
    }

    fn expect_frame(&mut self) -> RawFrame {
        self.read_frame().expect("a frame, got EOF")
    }

    /// A whole data message: its first frame's header byte and the joined
    /// payload (control frames in between are skipped).
    fn read_message(&mut self) -> (u8, Vec<u8>) {
        let first = loop {
            let f = self.expect_frame();
            if f.opcode() < 8 {
                break f;
            }
        };
        let b0 = first.b0;
        let mut fin = first.fin();
        let mut payload = first.payload;
        while !fin {
            let f = self.expect_frame();
            if f.opcode() >= 8 {
                continue;
            }
            assert_eq!(f.opcode(), 0, "expected a continuation");
            assert_eq!(f.rsv(), 0, "RSV bits on a continuation frame");
            fin = f.fin();
            payload.extend(f.payload);
        }
        (b0, payload)
    }

    fn send(&mut self, b0: u8, payload: &[u8]) {
        self.try_send(b0, payload).unwrap();
    }

    fn try_send(&mut self, b0: u8, payload: &[u8]) -> std::io::Result<()> {
        let mask = self.client.then_some([0x9a, 0x0b, 0x3c, 0x4d]);
        let mut out = vec![b0];
        let m = if mask.is_some() { 0x80 } else { 0 };
        match payload.len() {
            n @ 0..=125 => out.push(m | n as u8),
            n @ 126..=0xffff => {
                out.push(m | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(m | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        match mask {
            None => out.extend_from_slice(payload),
            Some(k) => {
                out.extend_from_slice(&k);
                out.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i % 4]));
            }
        }
        self.s.write_all(&out)
    }

    /// Connects, offers `offer`, returns the peer and the response head.
    fn client(addr: SocketAddr, offer: &str) -> (Peer, String) {
        let mut p = Peer::wrap(StdTcp::connect(addr).unwrap(), true);
        let key = "dGhlIHNhbXBsZSBub25jZQ==";
        let req = format!(
            "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: {offer}\r\n\r\n"
        );
        p.s.write_all(req.as_bytes()).unwrap();
        let head = p.read_head();
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        let want = format!("sec-websocket-accept: {}", accept_key(key)).to_lowercase();
        assert!(head.to_lowercase().contains(&want), "{head}");
        (p, head)
    }

    /// Accepts a connection, answers with `response` as the extensions
    /// header; returns the peer and the request head.
    fn server(l: &StdListener, response: &str) -> (Peer, String) {
        let mut p = Peer::wrap(l.accept().unwrap().0, false);
        let head = p.read_head();
        let key = header(&head, "sec-websocket-key").expect("a key");
        let resp = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\
             Sec-WebSocket-Extensions: {response}\r\n\r\n",
            accept_key(&key)
        );
        p.s.write_all(resp.as_bytes()).unwrap();
        (p, head)
    }
}

/// The value of a header in a head.
fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

// ---------------------------------------------------------------------------
// The tests.

fn echo_compressed_text_binary_large_and_empty<R: Rt>() {
    run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let server = R::spawn(async move {
            let ws = R::accept_with(&l, deflate(), accept_all()).await.unwrap();
            let names = ext_names(ws.connection());
            (names, echo(ws).await)
        });
        let (mut ws, resp) = R::connect_with_config(&url(addr, "/"), deflate())
            .await
            .unwrap();
        assert_eq!(ext_names(ws.connection()), ["permessage-deflate"]);
        // The response does not carry the extension header (API gap: the
        // agreed parameters cannot be seen from here).
        assert!(
            resp.extra_headers
                .iter()
                .all(|h| !h.name.eq_ignore_ascii_case("sec-websocket-extensions")),
            "{resp:?}"
        );

        let msgs = [
            Message::text(text_of(100)),
            Message::text("héllo 😀"),
            Message::text(""),
            Message::binary(Vec::new()),
            Message::binary(text_of(5000).into_bytes()),
            Message::binary(noise(70_000, 1)),
            Message::text(text_of(1 << 20)),
            Message::binary(pattern(1 << 20, 5)),
            Message::binary(noise(1 << 20, 2)),
            Message::text(text_of(100)),
        ];
        for m in &msgs {
            ws.send(m.clone()).await.unwrap();
            let got = ws.recv().await.expect("an echo").expect("no error");
            assert!(
                got == *m,
                "[{}] echo of a {}-byte message differs",
                R::NAME,
                m.len()
            );
        }
        // Pipelined: everything out before anything is read back.
        let small: Vec<&Message> = msgs.iter().filter(|m| m.len() < 100_000).collect();
        for _ in 0..10 {
            for m in &small {
                ws.send((*m).clone()).await.unwrap();
            }
        }
        for _ in 0..10 {
            for m in &small {
                assert!(ws.recv().await.unwrap().unwrap() == **m);
            }
        }
        ws.close(1000u16, "done").await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::close(1000u16, "")
        );
        assert!(ws.recv().await.is_none());

        let (names, log) = server.await;
        assert_eq!(names, ["permessage-deflate"]);
        assert_eq!(log.len(), 1, "{log:?}");
        assert_eq!(log[0].as_ref().unwrap(), &Message::close(1000u16, "done"));
    });
}

/// A TCP relay that counts the bytes going each way.
struct Proxy {
    addr: SocketAddr,
    up: Arc<AtomicUsize>,
    down: Arc<AtomicUsize>,
}

fn proxy(target: SocketAddr) -> Proxy {
    let l = StdListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let up = Arc::new(AtomicUsize::new(0));
    let down = Arc::new(AtomicUsize::new(0));
    let (u, d) = (up.clone(), down.clone());
    thread::spawn(move || {
        let a = l.accept().unwrap().0;
        let b = StdTcp::connect(target).unwrap();
        let pump = |mut from: StdTcp, mut to: StdTcp, n: Arc<AtomicUsize>| {
            thread::spawn(move || {
                let mut buf = [0u8; 16 << 10];
                loop {
                    match from.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(k) => {
                            n.fetch_add(k, Ordering::SeqCst);
                            if to.write_all(&buf[..k]).is_err() {
                                break;
                            }
                        }
                    }
                }
                let _ = to.shutdown(std::net::Shutdown::Write);
            })
        };
        let t1 = pump(a.try_clone().unwrap(), b.try_clone().unwrap(), u);
        let t2 = pump(b, a, d);
        let _ = t1.join();
        let _ = t2.join();
    });
    Proxy { addr, up, down }
}

fn compression_shrinks_the_bytes_on_the_wire<R: Rt>() {
    // 4 MiB of compressible text each way must cross the wire in a small
    // fraction of that: proof that both directions were compressed.
    run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let server = R::spawn(async move {
            echo(R::accept_with(&l, deflate(), accept_all()).await.unwrap()).await
        });
        let p = proxy(addr);
        let (mut ws, _) = R::connect_with_config(&url(p.addr, "/"), deflate())
            .await
            .unwrap();
        let text = text_of(1 << 20);
        for _ in 0..4 {
            ws.send(Message::text(text.clone())).await.unwrap();
            assert!(ws.recv().await.unwrap().unwrap() == Message::text(text.clone()));
        }
        ws.close(1000u16, "").await.unwrap();
        while ws.recv().await.is_some() {}
        server.await;
        let (up, down) = (p.up.load(Ordering::SeqCst), p.down.load(Ordering::SeqCst));
        assert!(
            up < (4 << 20) / 5 && down < (4 << 20) / 5,
            "[{}] 4 MiB each way took {up} bytes up and {down} down",
            R::NAME
        );
    });
}

fn the_client_compresses_for_a_raw_server<R: Rt>() {
    let l = StdListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let text = text_of(20_000);
    let expected = text.clone();
    let peer = thread::spawn(move || {
        let (mut p, req) = Peer::server(&l, "permessage-deflate");
        assert_eq!(
            header(&req, "sec-websocket-extensions").as_deref(),
            Some("permessage-deflate; client_max_window_bits")
        );
        let mut inflater = Inflater::new();
        let mut deflater = Deflater::new();
        // A compressed text message.
        let (b0, payload) = p.read_message();
        assert_eq!(b0 & 0x70, RSV1, "the client's message is not compressed");
        assert_eq!(b0 & 0x0f, 0x1);
        assert!(payload.len() < expected.len() / 4);
        assert_eq!(inflater.message(&payload), expected.as_bytes());
        // The same random message twice: the second refers to the first
        // (context takeover), so it is far smaller.
        let mut sizes = Vec::new();
        for _ in 0..2 {
            let (b0, payload) = p.read_message();
            assert_eq!(b0 & 0x70, RSV1);
            assert_eq!(b0 & 0x0f, 0x2);
            sizes.push(payload.len());
            assert_eq!(inflater.message(&payload), noise(4000, 9));
        }
        assert!(sizes[1] < sizes[0] / 4, "no context takeover: {sizes:?}");
        // A short message goes plain.
        let (b0, payload) = p.read_message();
        assert_eq!((b0 & 0x70, &payload[..]), (0, &b"short"[..]));
        // The client's ping is plain.
        let f = p.expect_frame();
        assert_eq!(
            (f.rsv(), f.opcode(), &f.payload[..]),
            (0, 0x9, &b"are you there"[..])
        );
        // Send compressed messages back: one frame, then fragmented, then a
        // back-reference into the previous message (context takeover).
        let m1 = deflater.message(b"compressed by miniz_oxide, hello hello hello");
        p.send(0x80 | RSV1 | 0x1, &m1);
        let m2 = deflater.message(&noise(3000, 3));
        p.send(RSV1 | 0x2, &m2[..m2.len() / 2]);
        p.send(0x89, b"between");
        p.send(0x80, &m2[m2.len() / 2..]);
        let m3 = deflater.message(b"compressed by miniz_oxide, hello hello hello");
        assert!(m3.len() < m1.len());
        p.send(0x80 | RSV1 | 0x1, &m3);
        // A plain one mixed in.
        p.send(0x81, b"plain");
        // Then close.
        p.send(0x88, &1000u16.to_be_bytes());
        loop {
            match p.read_frame() {
                Some(f) if f.opcode() == 0x8 => break,
                Some(_) => {}
                None => panic!("no close reply"),
            }
        }
    });
    run::<R, _>(async {
        let (mut ws, _) = R::connect_with_config(&url(addr, "/"), deflate())
            .await
            .unwrap();
        assert_eq!(ext_names(ws.connection()), ["permessage-deflate"]);
        ws.send(Message::text(text.clone())).await.unwrap();
        ws.send(Message::binary(noise(4000, 9))).await.unwrap();
        ws.send(Message::binary(noise(4000, 9))).await.unwrap();
        ws.send(Message::text("short")).await.unwrap();
        ws.send(Message::Ping("are you there".into()))
            .await
            .unwrap();
        let mut got = Vec::new();
        while let Some(m) = ws.recv().await {
            got.push(m.unwrap());
        }
        assert_eq!(
            got,
            [
                Message::text("compressed by miniz_oxide, hello hello hello"),
                Message::Ping("between".into()),
                Message::binary(noise(3000, 3)),
                Message::text("compressed by miniz_oxide, hello hello hello"),
                Message::text("plain"),
                Message::close(1000u16, ""),
            ]
        );
    });
    peer.join().unwrap();
}

fn the_server_compresses_for_a_raw_client<R: Rt>() {
    run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let server = R::spawn(async move {
            let ws = R::accept_with(&l, deflate(), accept_all()).await.unwrap();
            assert_eq!(ext_names(ws.connection()), ["permessage-deflate"]);
            echo(ws).await
        });
        let text = text_of(30_000);
        let peer = thread::spawn(move || {
            let (mut p, head) = Peer::client(
                addr,
                "permessage-deflate; server_max_window_bits=12; client_max_window_bits",
            );
            assert_eq!(
                header(&head, "sec-websocket-extensions").as_deref(),
                Some("permessage-deflate; server_max_window_bits=12")
            );
            let mut deflater = Deflater::new();
            let mut inflater = Inflater::new();
            let mut echoed = Vec::new();
            let random = noise(1000, 11); // well inside the 4 KiB window
            for msg in [
                text.as_bytes(),
                &random[..],
                &random[..],
                b"tiny".as_slice(),
            ] {
                let payload = deflater.message(msg);
                p.send(0x80 | RSV1 | 0x2, &payload);
                let (b0, back) = p.read_message();
                if msg.len() >= 32 {
                    assert_eq!(b0 & 0x70, RSV1, "the echo is not compressed");
                    echoed.push(back.len());
                    assert_eq!(inflater.message(&back), msg);
                } else {
                    assert_eq!((b0 & 0x70, &back[..]), (0, msg));
                }
            }
            assert!(echoed[0] < text.len() / 4, "{echoed:?}");
            assert!(echoed[2] < echoed[1] / 4, "context takeover: {echoed:?}");
            // Pings and pongs stay plain both ways.
            p.send(0x89, b"ping!");
            let f = p.expect_frame();
            assert_eq!(
                (f.rsv(), f.opcode(), &f.payload[..]),
                (0, 0xa, &b"ping!"[..])
            );
            // A fragmented compressed message from us.
            let payload = deflater.message(&noise(10_000, 4));
            p.send(RSV1 | 0x2, &payload[..100]);
            p.send(0x00, &payload[100..5000]);
            p.send(0x80, &payload[5000..]);
            let (b0, back) = p.read_message();
            assert_eq!(b0 & 0x70, RSV1);
            assert_eq!(inflater.message(&back), noise(10_000, 4));
            p.send(0x88, &1000u16.to_be_bytes());
            let f = p.expect_frame();
            assert_eq!((f.rsv(), f.opcode()), (0, 0x8));
        });
        let log = server.await;
        peer.join().unwrap();
        assert_eq!(log.len(), 2, "{log:?}");
        assert_eq!(log[0].as_ref().unwrap(), &Message::Ping("ping!".into()));
        assert_eq!(log[1].as_ref().unwrap(), &Message::close(1000u16, ""));
    });
}

fn no_deflate_unless_both_sides_want_it<R: Rt>() {
    for (client_deflate, server_deflate) in [(true, false), (false, true), (false, false)] {
        run::<R, _>(async move {
            let cfg = |on: bool| if on { deflate() } else { Config::default() };
            let (l, addr) = R::bind().await;
            let server = R::spawn(async move {
                let ws = R::accept_with(&l, cfg(server_deflate), accept_all())
                    .await
                    .unwrap();
                let names = ext_names(ws.connection());
                (names, echo(ws).await)
            });
            let (mut ws, _) = R::connect_with_config(&url(addr, "/"), cfg(client_deflate))
                .await
                .unwrap();
            assert!(ext_names(ws.connection()).is_empty());
            let t = text_of(10_000);
            ws.send(Message::text(t.clone())).await.unwrap();
            assert!(ws.recv().await.unwrap().unwrap() == Message::text(t));
            ws.close(1000u16, "").await.unwrap();
            while ws.recv().await.is_some() {}
            let (names, _) = server.await;
            assert!(names.is_empty());
        });
    }
}

/// A 2 MB bomb payload (inflating to ~300 MB), as in tests/deflate_bomb.rs.
fn bomb(copies: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(copies * 13 / 8 + 8);
    let (mut acc, mut n) = (0u64, 0u32);
    let mut put = |v: u64, c: u32, out: &mut Vec<u8>| {
        acc |= v << n;
        n += c;
        while n >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            n -= 8;
        }
    };
    put(0, 1, &mut out);
    put(1, 2, &mut out);
    put(0x0c, 8, &mut out); // literal 0 (0x30 bit-reversed)
    for _ in 0..copies {
        put(0xa3, 8, &mut out); // length 258 (0xc5 bit-reversed)
        put(0, 5, &mut out); // distance 1
    }
    put(0, 7, &mut out);
    put(0, 3, &mut out);
    put(0, 7, &mut out); // flush the last partial byte
    out
}

fn a_bomb_over_a_socket_is_closed_with_1009<R: Rt>() {
    run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let config = deflate().protocol(
            wsproto::proto::Config::default()
                .max_message_size(1 << 20)
                .deflate(DeflateConfig::default()),
        );
        let server = R::spawn(async move {
            let mut ws = R::accept_with(&l, config, accept_all()).await.unwrap();
            let mut out = Vec::new();
            while let Some(m) = ws.recv().await {
                out.push(m);
            }
            out
        });
        let peer = thread::spawn(move || {
            let (mut p, head) = Peer::client(addr, "permessage-deflate");
            assert_eq!(
                header(&head, "sec-websocket-extensions").as_deref(),
                Some("permessage-deflate")
            );
            // Sanity: the bomb inflates (a small one, independently).
            let small = bomb(100);
            assert_eq!(Inflater::new().message(&small), vec![0u8; 1 + 258 * 100]);
            // The 2 MB bomb, cut into 64 KB fragments: the first alone
            // inflates to ~10 MB, far past the 1 MiB limit, so only it is
            // sent (the rest would reach a server that already closed, and
            // unread data at close turns the close into a reset).
            let payload = bomb(2_000_000 * 8 / 13);
            assert!(payload.len() > 1_990_000);
            let first = &payload[..64 << 10];
            p.send(RSV1 | 0x2, first);
            // The server's close frame carries 1009.
            let f = match p.read_frame() {
                Some(f) if f.opcode() == 0x8 => f,
                Some(f) => panic!("unexpected frame {f:?}"),
                None => panic!("EOF without a close frame"),
            };
            assert_eq!(f.rsv(), 0);
            assert_eq!(u16::from_be_bytes([f.payload[0], f.payload[1]]), 1009);
        });
        let log = server.await;
        peer.join().unwrap();
        assert_eq!(log.len(), 1, "{log:?}");
        match &log[0] {
            Err(Error::Protocol(e)) => assert_eq!(e.close_code().map(|c| c.0), Some(1009)),
            other => panic!("[{}] {other:?}", R::NAME),
        }
    });
}

fn no_context_takeover_and_window_limits_over_a_socket<R: Rt>() {
    // Every parameter set on the async client; the raw server answers with
    // all of them and checks that the client honours them.
    let l = StdListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let text = text_of(8_000);
    let expected = text.clone();
    let peer = thread::spawn(move || {
        let (mut p, req) = Peer::server(
            &l,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=10; client_max_window_bits=10",
        );
        assert_eq!(
            header(&req, "sec-websocket-extensions").as_deref(),
            Some(
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=10; client_max_window_bits"
            )
        );
        // client_no_context_takeover: identical payloads, each inflating
        // on its own.
        let (_, a) = p.read_message();
        let (_, b) = p.read_message();
        assert_eq!(a, b, "the client kept its context");
        let mut fresh = Inflater::new();
        assert_eq!(fresh.message(&b), expected.as_bytes());
        // client_max_window_bits=10: a repeat 2 KiB back is not found.
        let (b0, probe) = p.read_message();
        assert_eq!(b0 & 0x70, RSV1);
        assert!(
            probe.len() > 2200,
            "a 2 KiB-distant repeat was found: {}",
            probe.len()
        );
        assert_eq!(Inflater::new().message(&probe).len(), 2048 + 256);
        // server_no_context_takeover: our messages are independent; send
        // two made by fresh compressors.
        for _ in 0..2 {
            let m = Deflater::new().message(expected.as_bytes());
            p.send(0x80 | RSV1 | 0x1, &m);
        }
        p.send(0x88, &1000u16.to_be_bytes());
        while let Some(f) = p.read_frame() {
            if f.opcode() == 0x8 {
                break;
            }
        }
    });
    run::<R, _>(async {
        let cfg = dcfg(
            DeflateConfig::default()
                .level(9)
                .server_no_context_takeover(true)
                .client_no_context_takeover(true)
                .server_max_window_bits(Some(10)),
        );
        let (mut ws, _) = R::connect_with_config(&url(addr, "/"), cfg).await.unwrap();
        ws.send(Message::text(text.clone())).await.unwrap();
        ws.send(Message::text(text.clone())).await.unwrap();
        let block = noise(256, 77);
        let mut probe = block.clone();
        probe.extend(noise(2048 - 256, 78));
        probe.extend_from_slice(&block);
        ws.send(Message::binary(probe)).await.unwrap();
        let mut got = Vec::new();
        while let Some(m) = ws.recv().await {
            got.push(m.unwrap());
        }
        assert_eq!(
            got,
            [
                Message::text(text.clone()),
                Message::text(text.clone()),
                Message::close(1000u16, "")
            ]
        );
    });
    peer.join().unwrap();
}

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
#[path = "../ws_common/mod.rs"]
mod ws_common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener as StdListener, TcpStream as StdTcp};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use futures::Stream;
use miniz_oxide::deflate::core::{CompressorOxide, create_comp_flags_from_zip_params};
use miniz_oxide::inflate::stream::InflateState;
use miniz_oxide::{DataFormat, MZFlush};
use ws_common::*;
use wsproto::DeflateConfig;
use wsproto::proto::Connection;
use wsproto::ws::{Config, Error, Message};

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
        // `b0` carries FIN, the RSV bits and the opcode.
        let out = encode(b0 & 0x80 != 0, b0 & 0x7f, mask, payload);
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

mod async_pairs;
mod raw_peers;

//! permessage-deflate (RFC 7692 §7.1) negotiation at the `WsConnection`
//! level, in memory: every parameter in each direction, the response header
//! the server writes (parsed with httparse), what each side then does
//! (observed on the wire: RSV1, context takeover, the LZ77 window), several
//! offers with fallbacks, offers a server must decline, and responses a
//! client must refuse.
//!
//! What each side "ends up using" is not exposed by the crate (the agreed
//! parameters are private to `PerMessageDeflate`), so it is measured:
//!
//! * context takeover: the same message sent twice compresses to identical
//!   payloads without takeover, and to a much smaller second payload with it;
//! * window bits: a probe message repeats a 256-byte random block at a
//!   chosen distance; the repetition is only found (and the payload shrinks)
//!   when the distance fits in the compressor's window.

#![cfg(feature = "deflate")]

#[path = "../common/mod.rs"]
mod common;

use std::sync::atomic::{AtomicU64, Ordering};

use common::*;
use wsproto::DeflateConfig;
use wsproto::proto::{
    AcceptConnection, Answer, BytesMessage, Config, Event, Request, Role, State, WsConnection,
};

const RSV1: u8 = 0x40;

/// The extension as configured on both sides. The probes below send random
/// data, which the default stops compressing after two tries
/// (`skip_incompressible`); they are about the negotiated parameters, so
/// every message is compressed here.
fn deflate() -> DeflateConfig {
    DeflateConfig::default().skip_incompressible(false)
}

fn cfg(d: Option<DeflateConfig>) -> Config {
    match d {
        Some(d) => Config::default().deflate(d),
        None => Config::default(),
    }
}

/// A deterministic pseudo-random (incompressible) byte string.
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

/// Compressible text of about 2 KB (varied words, so a second copy is
/// clearly cheaper with the first one in the window).
fn sample_text() -> Vec<u8> {
    let mut s = String::new();
    for i in 0..120 {
        s.push_str(&format!(
            "line {i}: the quick brown fox {} jumps; ",
            i * 7919 % 1000
        ));
    }
    s.into_bytes()
}

/// Raw-deflate inflation of one message's payload, by miniz_oxide (an
/// implementation independent of the crate's zlib-rs): the RFC 7692 tail,
/// then an empty final fixed-Huffman block so the stream is complete.
fn inflate(payload: &[u8]) -> Vec<u8> {
    let mut stream = payload.to_vec();
    stream.extend_from_slice(&[0x00, 0x00, 0xff, 0xff, 0x03, 0x00]);
    miniz_oxide::inflate::decompress_to_vec(&stream).expect("a valid raw DEFLATE stream")
}

/// A completed handshake and what went over the wire.
struct Pair {
    client: WsConnection,
    server: WsConnection,
    /// The request's `Sec-WebSocket-Extensions`, if any.
    offer: Option<String>,
    /// The response's `Sec-WebSocket-Extensions`, if any.
    response: Option<String>,
}

fn header_of(head: &[u8], name: &str, request: bool) -> Option<String> {
    let mut storage = [httparse::EMPTY_HEADER; 64];
    let headers: Vec<(String, String)> = if request {
        let mut req = httparse::Request::new(&mut storage);
        assert!(req.parse(head).unwrap().is_complete());
        req.headers
            .iter()
            .map(|h| {
                (
                    h.name.to_owned(),
                    String::from_utf8(h.value.to_vec()).unwrap(),
                )
            })
            .collect()
    } else {
        parse_response(head).headers
    };
    let all: Vec<String> = headers
        .into_iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .collect();
    assert!(all.len() <= 1, "{name} appears {} times", all.len());
    all.into_iter().next()
}

fn negotiate(client: Option<DeflateConfig>, server: Option<DeflateConfig>) -> Pair {
    let mut c = WsConnection::with_config(Role::Client, cfg(client));
    let mut s = WsConnection::with_config(Role::Server, cfg(server));
    c.send(Request::new("example.com", "/")).unwrap();
    let req = c.bytes_to_send();
    let offer = header_of(&req, "sec-websocket-extensions", true);
    s.receive_bytes(&req);
    match s.next_event() {
        Some(Ok(Event::Request(r))) => {
            assert_eq!(r.extensions.len(), usize::from(offer.is_some()), "{r:?}")
        }
        other => panic!("{other:?}"),
    }
    s.send(AcceptConnection::new()).unwrap();
    let resp = s.bytes_to_send();
    let parsed = parse_response(&resp);
    assert_eq!(parsed.status, 101);
    let response = header_of(&resp, "sec-websocket-extensions", false);
    c.receive_bytes(&resp);
    assert!(matches!(
        c.next_event(),
        Some(Ok(Event::AcceptConnection(_)))
    ));
    assert_eq!(c.state(), State::Open);
    assert_eq!(s.state(), State::Open);
    // Both ends agree on whether the extension is active.
    let names = |w: &WsConnection| -> Vec<String> {
        w.extensions().iter().map(|e| e.name().to_owned()).collect()
    };
    assert_eq!(names(&c), names(&s));
    assert_eq!(names(&c).is_empty(), response.is_none());
    Pair {
        client: c,
        server: s,
        offer,
        response,
    }
}

/// `from` sends `data` as one binary message; `to` must receive it intact.
/// Returns the single frame on the wire (unmasked).
fn send_one(from: &mut WsConnection, to: &mut WsConnection, data: &[u8]) -> WireFrame {
    from.send(BytesMessage::new(data.to_vec())).unwrap();
    let wire = from.bytes_to_send();
    let frames = parse_frames(&wire);
    assert_eq!(frames.len(), 1, "{frames:?}");
    to.receive_bytes(&wire);
    let mut got = Vec::new();
    for ev in drain_ok(to) {
        match ev {
            Event::BytesMessage(m) => got.extend_from_slice(&m.data),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(got, data, "the message came through changed");
    frames.into_iter().next().unwrap()
}

impl Pair {
    fn c2s(&mut self, data: &[u8]) -> WireFrame {
        send_one(&mut self.client, &mut self.server, data)
    }
    fn s2c(&mut self, data: &[u8]) -> WireFrame {
        send_one(&mut self.server, &mut self.client, data)
    }
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Takeover {
    /// The second copy of a message compresses to the same bytes.
    None,
    /// The second copy is much smaller: the first one is still in the window.
    Kept,
}

/// Sends a fresh 2 KB random message twice through `send` and classifies.
/// (Random, so the first copy cannot shrink; fresh, so no earlier message
/// helps it.)
fn takeover(mut send: impl FnMut(&[u8]) -> WireFrame) -> Takeover {
    static SEED: AtomicU64 = AtomicU64::new(1);
    let text = noise(2000, 7_000 + SEED.fetch_add(1, Ordering::Relaxed));
    let a = send(&text);
    let b = send(&text);
    assert_eq!(a.rsv, RSV1, "not compressed");
    assert_eq!(b.rsv, RSV1, "not compressed");
    if a.payload == b.payload {
        Takeover::None
    } else {
        assert!(a.payload.len() >= 2000);
        assert!(
            b.payload.len() * 4 < a.payload.len(),
            "the second copy ({}) should be far smaller than the first ({})",
            b.payload.len(),
            a.payload.len()
        );
        Takeover::Kept
    }
}

/// A probe: a random 256-byte block, `distance - 256` random bytes, the
/// block again. Returns whether the repeat was found (the payload is
/// clearly smaller than the message).
fn repeat_found(send: &mut impl FnMut(&[u8]) -> WireFrame, distance: usize, seed: u64) -> bool {
    let block = noise(256, seed);
    let mut msg = block.clone();
    msg.extend(noise(distance - 256, seed + 1000));
    msg.extend_from_slice(&block);
    let f = send(&msg);
    assert_eq!(f.rsv, RSV1, "the probe was not compressed");
    f.payload.len() + 128 < msg.len()
}

/// Asserts that the compressor behind `send` uses a window of exactly
/// `2^bits` bytes (10..=15): a repeat well inside it is found, one just
/// beyond it is not. (zlib cannot reach the last 262 bytes of its window.)
fn assert_window(mut send: impl FnMut(&[u8]) -> WireFrame, bits: u32) {
    let size = 1usize << bits;
    assert!(
        repeat_found(&mut send, size - 512, u64::from(bits) * 10),
        "a repeat {} bytes back was not found with a {bits}-bit window",
        size - 512
    );
    if bits < 15 {
        assert!(
            !repeat_found(&mut send, size + 64, u64::from(bits) * 10 + 1),
            "a repeat {} bytes back was found: the window is larger than 2^{bits}",
            size + 64
        );
    } else {
        // Nothing beyond 32 KiB can be referenced by DEFLATE at all.
        assert!(!repeat_found(&mut send, size + 64, 151));
    }
}

/// Level 9, so the window probes do not depend on a fast level's shortcuts.
fn d9() -> DeflateConfig {
    deflate().level(9)
}

mod parameters;
mod raw_headers;

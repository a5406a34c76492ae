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

mod common;

use std::sync::atomic::{AtomicU64, Ordering};

use common::*;
use wsproto::DeflateConfig;
use wsproto::proto::{
    AcceptConnection, Answer, BytesMessage, Config, Event, Request, Role, State, WsConnection,
};

const RSV1: u8 = 0x40;

fn deflate() -> DeflateConfig {
    DeflateConfig::default()
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

// ---------------------------------------------------------------------------
// The offer and the response header.

#[test]
fn default_offer_and_plain_acceptance() {
    let mut p = negotiate(Some(deflate()), Some(deflate()));
    assert_eq!(
        p.offer.as_deref(),
        Some("permessage-deflate; client_max_window_bits")
    );
    assert_eq!(p.response.as_deref(), Some("permessage-deflate"));
    assert_eq!(p.client.extensions()[0].name(), "permessage-deflate");
    let text = sample_text();
    assert_eq!(p.c2s(&text).rsv, RSV1);
    assert_eq!(p.s2c(&text).rsv, RSV1);
    assert_eq!(takeover(|d| p.c2s(d)), Takeover::Kept);
    assert_eq!(takeover(|d| p.s2c(d)), Takeover::Kept);
}

#[test]
fn default_windows_are_15_bits_both_ways() {
    let mut p = negotiate(Some(d9()), Some(d9()));
    assert_window(|d| p.c2s(d), 15);
    assert_window(|d| p.s2c(d), 15);
}

#[test]
fn offer_lists_every_configured_parameter() {
    let p = negotiate(
        Some(
            deflate()
                .server_no_context_takeover(true)
                .client_no_context_takeover(true)
                .server_max_window_bits(Some(10))
                .client_max_window_bits(Some(12)),
        ),
        None,
    );
    assert_eq!(
        p.offer.as_deref(),
        Some(
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=10; client_max_window_bits=12"
        )
    );
    // The server has no deflate: it answers without the header.
    assert_eq!(p.response, None);
}

#[test]
fn builder_clamps_window_bits_to_8_through_15() {
    let p = negotiate(
        Some(
            deflate()
                .server_max_window_bits(Some(3))
                .client_max_window_bits(Some(200)),
        ),
        Some(deflate()),
    );
    assert_eq!(
        p.offer.as_deref(),
        Some("permessage-deflate; server_max_window_bits=8; client_max_window_bits=15")
    );
    assert_eq!(
        p.response.as_deref(),
        Some("permessage-deflate; server_max_window_bits=8")
    );
}

// ---------------------------------------------------------------------------
// server_no_context_takeover

#[test]
fn server_no_context_takeover_asked_by_the_client() {
    let mut p = negotiate(
        Some(deflate().server_no_context_takeover(true)),
        Some(deflate()),
    );
    assert_eq!(
        p.offer.as_deref(),
        Some("permessage-deflate; server_no_context_takeover; client_max_window_bits")
    );
    assert_eq!(
        p.response.as_deref(),
        Some("permessage-deflate; server_no_context_takeover")
    );
    assert_eq!(takeover(|d| p.s2c(d)), Takeover::None);
    // Only the server resets.
    assert_eq!(takeover(|d| p.c2s(d)), Takeover::Kept);
}

#[test]
fn server_no_context_takeover_imposed_by_the_server() {
    let mut p = negotiate(
        Some(deflate()),
        Some(deflate().server_no_context_takeover(true)),
    );
    assert_eq!(
        p.response.as_deref(),
        Some("permessage-deflate; server_no_context_takeover")
    );
    assert_eq!(takeover(|d| p.s2c(d)), Takeover::None);
    assert_eq!(takeover(|d| p.c2s(d)), Takeover::Kept);
}

// ---------------------------------------------------------------------------
// client_no_context_takeover

#[test]
fn client_no_context_takeover_offered_by_the_client() {
    let mut p = negotiate(
        Some(deflate().client_no_context_takeover(true)),
        Some(deflate()),
    );
    assert_eq!(
        p.offer.as_deref(),
        Some("permessage-deflate; client_no_context_takeover; client_max_window_bits")
    );
    // The hint needs no answer (RFC 7692 §7.1.1.2); the client resets anyway.
    assert_eq!(p.response.as_deref(), Some("permessage-deflate"));
    assert_eq!(takeover(|d| p.c2s(d)), Takeover::None);
    assert_eq!(takeover(|d| p.s2c(d)), Takeover::Kept);
}

#[test]
fn client_no_context_takeover_imposed_by_the_server() {
    let mut p = negotiate(
        Some(deflate()),
        Some(deflate().client_no_context_takeover(true)),
    );
    assert_eq!(
        p.response.as_deref(),
        Some("permessage-deflate; client_no_context_takeover")
    );
    assert_eq!(takeover(|d| p.c2s(d)), Takeover::None);
    assert_eq!(takeover(|d| p.s2c(d)), Takeover::Kept);
}

#[test]
fn no_context_takeover_both_ways() {
    let mut p = negotiate(
        Some(deflate().server_no_context_takeover(true)),
        Some(deflate().client_no_context_takeover(true)),
    );
    assert_eq!(
        p.response.as_deref(),
        Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover")
    );
    assert_eq!(takeover(|d| p.c2s(d)), Takeover::None);
    assert_eq!(takeover(|d| p.s2c(d)), Takeover::None);
    // Many messages in a row still decode (each side resets its inflater).
    for i in 0..20 {
        let mut m = sample_text();
        m.extend(format!("#{i}").bytes());
        assert_eq!(p.c2s(&m).rsv, RSV1);
        assert_eq!(p.s2c(&m).rsv, RSV1);
    }
}

// ---------------------------------------------------------------------------
// server_max_window_bits

#[test]
fn server_max_window_bits_asked_by_the_client() {
    let mut p = negotiate(Some(d9().server_max_window_bits(Some(10))), Some(d9()));
    assert_eq!(
        p.offer.as_deref(),
        Some("permessage-deflate; server_max_window_bits=10; client_max_window_bits")
    );
    assert_eq!(
        p.response.as_deref(),
        Some("permessage-deflate; server_max_window_bits=10")
    );
    assert_window(|d| p.s2c(d), 10);
    assert_window(|d| p.c2s(d), 15);
}

#[test]
fn server_max_window_bits_the_server_goes_lower_than_asked() {
    let mut p = negotiate(
        Some(d9().server_max_window_bits(Some(12))),
        Some(d9().server_max_window_bits(Some(10))),
    );
    assert_eq!(
        p.response.as_deref(),
        Some("permessage-deflate; server_max_window_bits=10")
    );
    assert_window(|d| p.s2c(d), 10);
}

#[test]
fn server_max_window_bits_the_server_honours_a_lower_request() {
    let mut p = negotiate(
        Some(d9().server_max_window_bits(Some(11))),
        Some(d9().server_max_window_bits(Some(13))),
    );
    assert_eq!(
        p.response.as_deref(),
        Some("permessage-deflate; server_max_window_bits=11")
    );
    assert_window(|d| p.s2c(d), 11);
}

#[test]
fn server_max_window_bits_configured_on_the_server_only() {
    // Not asked: the server may use a smaller window without saying so (the
    // client's inflater copes with any window).
    let mut p = negotiate(Some(d9()), Some(d9().server_max_window_bits(Some(11))));
    assert_eq!(p.response.as_deref(), Some("permessage-deflate"));
    assert_window(|d| p.s2c(d), 11);
    assert_window(|d| p.c2s(d), 15);
}

#[test]
fn server_max_window_bits_8_makes_the_server_send_uncompressed() {
    // zlib cannot compress with an 8-bit window; the server sends plain
    // messages (RSV1 clear) and still inflates the client's.
    let mut p = negotiate(
        Some(deflate().server_max_window_bits(Some(8))),
        Some(deflate()),
    );
    assert_eq!(
        p.response.as_deref(),
        Some("permessage-deflate; server_max_window_bits=8")
    );
    let text = sample_text();
    let f = p.s2c(&text);
    assert_eq!(f.rsv, 0);
    assert_eq!(f.payload, text);
    assert_eq!(p.c2s(&text).rsv, RSV1);
}

#[test]
fn server_max_window_bits_9_still_compresses() {
    let mut p = negotiate(Some(d9().server_max_window_bits(Some(9))), Some(d9()));
    assert_eq!(
        p.response.as_deref(),
        Some("permessage-deflate; server_max_window_bits=9")
    );
    let text = sample_text();
    let f = p.s2c(&text);
    assert_eq!(f.rsv, RSV1);
    assert!(f.payload.len() < text.len() / 2);
    let mut send = |d: &[u8]| p.s2c(d);
    assert!(!repeat_found(&mut send, 512 + 64, 99));
}

// ---------------------------------------------------------------------------
// client_max_window_bits

#[test]
fn client_max_window_bits_without_a_value_and_no_server_limit() {
    let mut p = negotiate(Some(d9()), Some(d9()));
    assert!(
        p.offer
            .as_deref()
            .unwrap()
            .ends_with("; client_max_window_bits")
    );
    assert_eq!(p.response.as_deref(), Some("permessage-deflate"));
    assert_window(|d| p.c2s(d), 15);
}

#[test]
fn client_max_window_bits_without_a_value_limited_by_the_server() {
    let mut p = negotiate(Some(d9()), Some(d9().client_max_window_bits(Some(10))));
    assert_eq!(
        p.response.as_deref(),
        Some("permessage-deflate; client_max_window_bits=10")
    );
    assert_window(|d| p.c2s(d), 10);
    assert_window(|d| p.s2c(d), 15);
}

#[test]
fn client_max_window_bits_with_a_value_the_client_keeps_its_limit() {
    // The server does not answer the parameter; the client still uses the
    // window it offered (RFC 7692 §7.1.2.2: it may use any up to the value).
    let mut p = negotiate(Some(d9().client_max_window_bits(Some(11))), Some(d9()));
    assert_eq!(
        p.offer.as_deref(),
        Some("permessage-deflate; client_max_window_bits=11")
    );
    assert_eq!(p.response.as_deref(), Some("permessage-deflate"));
    assert_window(|d| p.c2s(d), 11);
}

#[test]
fn client_max_window_bits_the_smaller_of_offer_and_server_wish() {
    let mut p = negotiate(
        Some(d9().client_max_window_bits(Some(12))),
        Some(d9().client_max_window_bits(Some(10))),
    );
    assert_eq!(
        p.response.as_deref(),
        Some("permessage-deflate; client_max_window_bits=10")
    );
    assert_window(|d| p.c2s(d), 10);

    let mut p = negotiate(
        Some(d9().client_max_window_bits(Some(11))),
        Some(d9().client_max_window_bits(Some(13))),
    );
    assert_eq!(
        p.response.as_deref(),
        Some("permessage-deflate; client_max_window_bits=11")
    );
    assert_window(|d| p.c2s(d), 11);
}

#[test]
fn client_max_window_bits_8_makes_the_client_send_uncompressed() {
    let mut p = negotiate(
        Some(deflate()),
        Some(deflate().client_max_window_bits(Some(8))),
    );
    assert_eq!(
        p.response.as_deref(),
        Some("permessage-deflate; client_max_window_bits=8")
    );
    let text = sample_text();
    let f = p.c2s(&text);
    assert_eq!(f.rsv, 0);
    assert_eq!(f.payload, text);
    assert_eq!(p.s2c(&text).rsv, RSV1);
}

#[test]
fn every_parameter_at_once() {
    let mut p = negotiate(
        Some(
            d9().server_no_context_takeover(true)
                .client_no_context_takeover(true)
                .server_max_window_bits(Some(11))
                .client_max_window_bits(Some(12)),
        ),
        Some(d9().client_max_window_bits(Some(10))),
    );
    assert_eq!(
        p.response.as_deref(),
        Some(
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=11; \
             client_max_window_bits=10"
        )
    );
    assert_eq!(takeover(|d| p.c2s(d)), Takeover::None);
    assert_eq!(takeover(|d| p.s2c(d)), Takeover::None);
    assert_window(|d| p.c2s(d), 10);
    assert_window(|d| p.s2c(d), 11);
}

// ---------------------------------------------------------------------------
// Only one side configured.

#[test]
fn server_without_deflate_ignores_the_offer() {
    let mut p = negotiate(Some(deflate()), None);
    assert!(p.offer.is_some());
    assert_eq!(p.response, None);
    assert!(p.client.extensions().is_empty());
    let text = sample_text();
    assert_eq!(p.c2s(&text).rsv, 0);
    assert_eq!(p.s2c(&text).rsv, 0);
}

#[test]
fn client_without_deflate_offers_nothing() {
    let mut p = negotiate(None, Some(deflate()));
    assert_eq!(p.offer, None);
    assert_eq!(p.response, None);
    assert!(p.server.extensions().is_empty());
    let text = sample_text();
    assert_eq!(p.c2s(&text).rsv, 0);
    assert_eq!(p.s2c(&text).rsv, 0);
}

// ---------------------------------------------------------------------------
// A server given raw offers: fallbacks, declines.

/// Sends a request with these `Sec-WebSocket-Extensions` header values to a
/// server; returns the server (open), the response's extension header, and
/// the offers as the `Request` event reported them.
fn server_given(
    config: DeflateConfig,
    ext_headers: &[&str],
) -> (WsConnection, Option<String>, Vec<String>) {
    let mut server = WsConnection::with_config(Role::Server, Config::default().deflate(config));
    let lines: Vec<String> = ext_headers
        .iter()
        .map(|v| format!("Sec-WebSocket-Extensions: {v}"))
        .collect();
    let mut headers = good_headers();
    headers.extend(lines.iter().map(String::as_str));
    server.receive_bytes(&raw_request("GET / HTTP/1.1", &headers));
    let offers = match server.next_event() {
        Some(Ok(Event::Request(r))) => r.extensions,
        other => panic!("{other:?}"),
    };
    server.send(AcceptConnection::new()).unwrap();
    let resp = server.bytes_to_send();
    assert_eq!(parse_response(&resp).status, 101);
    assert_eq!(server.state(), State::Open);
    let ext = header_of(&resp, "sec-websocket-extensions", false);
    (server, ext, offers)
}

/// The server sends a compressible message; returns its RSV bits and
/// whether the payload is the plain text.
fn server_output_compressed(server: &mut WsConnection) -> bool {
    let text = sample_text();
    server.send(BytesMessage::new(text.clone())).unwrap();
    let frames = parse_frames(&server.bytes_to_send());
    assert_eq!(frames.len(), 1);
    if frames[0].rsv == RSV1 {
        assert_eq!(inflate(&frames[0].payload), text);
        true
    } else {
        assert_eq!(frames[0].rsv, 0);
        assert_eq!(frames[0].payload, text);
        false
    }
}

#[test]
fn fallback_to_the_second_offer() {
    let (mut server, ext, offers) = server_given(
        deflate(),
        &[
            "permessage-deflate; server_max_window_bits=7, permessage-deflate; client_max_window_bits",
        ],
    );
    assert_eq!(
        offers,
        [
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; client_max_window_bits"
        ]
    );
    assert_eq!(ext.as_deref(), Some("permessage-deflate"));
    assert!(server_output_compressed(&mut server));

    // With a wish for the client's window, the answer carries it: proof that
    // the second offer (the one with client_max_window_bits) was taken.
    let (_, ext, _) = server_given(
        deflate().client_max_window_bits(Some(12)),
        &[
            "permessage-deflate; server_max_window_bits=7, permessage-deflate; client_max_window_bits",
        ],
    );
    assert_eq!(
        ext.as_deref(),
        Some("permessage-deflate; client_max_window_bits=12")
    );
}

#[test]
fn the_first_acceptable_offer_wins() {
    let (mut server, ext, _) = server_given(
        deflate(),
        &["permessage-deflate; server_no_context_takeover, permessage-deflate"],
    );
    assert_eq!(
        ext.as_deref(),
        Some("permessage-deflate; server_no_context_takeover")
    );
    assert!(server_output_compressed(&mut server));

    let (_, ext, _) = server_given(
        deflate(),
        &["permessage-deflate, permessage-deflate; server_no_context_takeover"],
    );
    assert_eq!(ext.as_deref(), Some("permessage-deflate"));
}

#[test]
fn offers_spread_over_several_headers_and_unknown_extensions() {
    let (mut server, ext, offers) = server_given(
        deflate(),
        &[
            "x-webkit-deflate-frame; no_context_takeover",
            "permessage-deflate; x-unknown=1",
            "permessage-deflate; server_max_window_bits=11",
        ],
    );
    assert_eq!(offers.len(), 3);
    assert_eq!(
        ext.as_deref(),
        Some("permessage-deflate; server_max_window_bits=11")
    );
    assert!(server_output_compressed(&mut server));
}

#[test]
fn quoted_parameter_values_are_understood() {
    let (_, ext, _) = server_given(
        deflate(),
        &["permessage-deflate; server_max_window_bits=\"10\"; client_max_window_bits"],
    );
    assert_eq!(
        ext.as_deref(),
        Some("permessage-deflate; server_max_window_bits=10")
    );
}

#[test]
fn parameter_names_are_case_insensitive() {
    let (_, ext, _) = server_given(
        deflate(),
        &["permessage-deflate; Server_No_Context_Takeover; SERVER_MAX_WINDOW_BITS=12"],
    );
    assert_eq!(
        ext.as_deref(),
        Some("permessage-deflate; server_no_context_takeover; server_max_window_bits=12")
    );
}

#[test]
fn malformed_or_duplicate_parameters_are_declined() {
    for offer in [
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=010",
        "permessage-deflate; server_max_window_bits=+9",
        "permessage-deflate; server_max_window_bits=abc",
        "permessage-deflate; server_max_window_bits=\"\"",
        "permessage-deflate; client_max_window_bits=7",
        "permessage-deflate; client_max_window_bits=16",
        "permessage-deflate; client_max_window_bits=1x",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; client_no_context_takeover=true",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
        "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
        "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
        "permessage-deflate; server_no_context_takeover; SERVER_NO_CONTEXT_TAKEOVER",
        "permessage-deflate; unknown",
        "permessage-deflate; unknown=1",
    ] {
        let (mut server, ext, offers) = server_given(deflate(), &[offer]);
        assert_eq!(offers, [offer]);
        assert_eq!(ext, None, "{offer}: should have been declined");
        assert!(server.extensions().is_empty(), "{offer}");
        assert!(!server_output_compressed(&mut server), "{offer}");
        // And a compressed frame from the client is now a protocol error.
        server.receive_bytes(&masked(
            FIN | RSV1 | TEXT,
            &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
        ));
        let err = server.next_event().unwrap().unwrap_err();
        assert_close_answer(&err, &server.bytes_to_send(), 1002);
    }
}

#[test]
fn a_declined_offer_falls_back_to_no_compression_per_offer() {
    // Every offer bad: no extension, but the handshake still succeeds.
    let (_, ext, _) = server_given(
        deflate(),
        &["permessage-deflate; server_max_window_bits=20, permessage-deflate; foo"],
    );
    assert_eq!(ext, None);
}

#[test]
fn a_syntactically_broken_extensions_header_is_refused() {
    // Not a list of extensions at all: the request itself is bad (400),
    // rather than merely an offer to decline.
    let mut server = WsConnection::with_config(Role::Server, Config::default().deflate(deflate()));
    let mut headers = good_headers();
    headers.push("Sec-WebSocket-Extensions: permessage-deflate; =10");
    server.receive_bytes(&raw_request("GET / HTTP/1.1", &headers));
    let err = server.next_event().unwrap().unwrap_err();
    assert_eq!(err.http_status(), Some(400), "{err}");
    assert_eq!(parse_response(&server.bytes_to_send()).status, 400);
}

// ---------------------------------------------------------------------------
// A client given raw responses.

/// A client with `config` that receives a 101 carrying these extension
/// header lines; returns the event it reports and the client.
fn client_given(
    config: DeflateConfig,
    ext_lines: &[&str],
) -> (
    Option<Result<Event, wsproto::proto::RemoteProtocolError>>,
    WsConnection,
) {
    let (mut client, req) = client_after_request(
        Config::default().deflate(config),
        Request::new("example.com", "/"),
    );
    let lines: Vec<String> = ext_lines
        .iter()
        .map(|v| format!("Sec-WebSocket-Extensions: {v}"))
        .collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    client.receive_bytes(&response_101(&request_key(&req), &refs));
    let ev = client.next_event();
    (ev, client)
}

fn assert_refused(config: DeflateConfig, ext_lines: &[&str]) {
    let (ev, mut client) = client_given(config, ext_lines);
    match ev {
        Some(Err(e)) => {
            assert_eq!(e.answer(), Answer::Drop, "{ext_lines:?}: {e}");
            assert_eq!(e.close_code(), None);
        }
        other => panic!("{ext_lines:?}: expected a refusal, got {other:?}"),
    }
    assert_eq!(client.state(), State::Closed, "{ext_lines:?}");
    assert!(client.bytes_to_send().is_empty(), "{ext_lines:?}");
    assert!(client.next_event().is_none());
    assert!(client.extensions().is_empty());
}

#[test]
fn client_refuses_invalid_responses() {
    for ext in [
        // Unknown parameters.
        "permessage-deflate; x-foo",
        "permessage-deflate; x-foo=1",
        "permessage-deflate; no_context_takeover",
        // Duplicates.
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
        "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
        "permessage-deflate; client_max_window_bits=10; client_max_window_bits=10",
        // client_max_window_bits needs a value in a response.
        "permessage-deflate; client_max_window_bits",
        "permessage-deflate; server_max_window_bits",
        // Out of range or malformed values.
        "permessage-deflate; client_max_window_bits=7",
        "permessage-deflate; client_max_window_bits=16",
        "permessage-deflate; client_max_window_bits=010",
        "permessage-deflate; client_max_window_bits=x",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=-9",
        // Values on flags.
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; client_no_context_takeover=1",
    ] {
        assert_refused(deflate(), &[ext]);
    }
}

#[test]
fn client_refuses_extensions_it_did_not_offer() {
    assert_refused(deflate(), &["x-webkit-deflate-frame"]);
    assert_refused(deflate(), &["permessage-deflate, x-other"]);
    // Accepted twice, in one header or two.
    assert_refused(deflate(), &["permessage-deflate, permessage-deflate"]);
    assert_refused(deflate(), &["permessage-deflate", "permessage-deflate"]);

    // A client without deflate configured offers nothing and must refuse it.
    let (mut client, req) =
        client_after_request(Config::default(), Request::new("example.com", "/"));
    assert!(header_of(&req, "sec-websocket-extensions", true).is_none());
    client.receive_bytes(&response_101(
        &request_key(&req),
        &["Sec-WebSocket-Extensions: permessage-deflate"],
    ));
    let err = client.next_event().unwrap().unwrap_err();
    assert_eq!(err.answer(), Answer::Drop);
    assert_eq!(client.state(), State::Closed);
}

#[test]
fn client_refuses_windows_above_what_it_offered_or_asked() {
    assert_refused(
        deflate().client_max_window_bits(Some(10)),
        &["permessage-deflate; client_max_window_bits=11"],
    );
    assert_refused(
        deflate().server_max_window_bits(Some(10)),
        &["permessage-deflate; server_max_window_bits=12"],
    );
}

/// A client opened against a hand-written response; returns it.
fn client_accepting(config: DeflateConfig, ext: &str) -> WsConnection {
    let (ev, client) = client_given(config, &[ext]);
    assert!(
        matches!(ev, Some(Ok(Event::AcceptConnection(_)))),
        "{ext}: {ev:?}"
    );
    assert_eq!(client.state(), State::Open);
    assert_eq!(client.extensions().len(), 1);
    client
}

/// The client sends `data`; returns the frame (checked independently).
fn client_frame(client: &mut WsConnection, data: &[u8]) -> WireFrame {
    client.send(BytesMessage::new(data.to_vec())).unwrap();
    let frames = parse_frames(&client.bytes_to_send());
    assert_eq!(frames.len(), 1);
    let f = frames.into_iter().next().unwrap();
    assert!(f.mask.is_some());
    f
}

#[test]
fn client_accepts_what_a_server_may_add_unasked() {
    // RFC 7692 §7.1.1.1: a server may reset its context unasked.
    client_accepting(deflate(), "permessage-deflate; server_no_context_takeover");
    // §7.1.2.1: a server may announce its window unasked.
    client_accepting(deflate(), "permessage-deflate; server_max_window_bits=10");
    client_accepting(
        deflate(),
        "permessage-deflate; server_max_window_bits=\"9\"",
    );
    // A lower window than asked is fine.
    client_accepting(
        deflate().server_max_window_bits(Some(12)),
        "permessage-deflate; server_max_window_bits=9",
    );
    // Equal to what was offered.
    client_accepting(
        deflate().client_max_window_bits(Some(10)),
        "permessage-deflate; client_max_window_bits=10",
    );
}

#[test]
fn client_obeys_client_no_context_takeover_from_the_server() {
    let mut client = client_accepting(deflate(), "permessage-deflate; client_no_context_takeover");
    let text = noise(2000, 5);
    let a = client_frame(&mut client, &text);
    let b = client_frame(&mut client, &text);
    assert_eq!(a.rsv, RSV1);
    assert_eq!(a.payload, b.payload, "the client kept its context");
    assert_eq!(inflate(&b.payload), text);

    // Without it the client keeps its context.
    let mut client = client_accepting(deflate(), "permessage-deflate");
    let a = client_frame(&mut client, &text);
    let b = client_frame(&mut client, &text);
    assert!(b.payload.len() * 4 < a.payload.len());
}

#[test]
fn client_obeys_client_max_window_bits_from_the_server() {
    let mut client = client_accepting(d9(), "permessage-deflate; client_max_window_bits=10");
    assert_window(
        |d| {
            let f = client_frame(&mut client, d);
            assert_eq!(inflate(&f.payload), d);
            f
        },
        10,
    );
    let mut client = client_accepting(deflate(), "permessage-deflate; client_max_window_bits=8");
    let f = client_frame(&mut client, &sample_text());
    assert_eq!(f.rsv, 0, "an 8-bit window means no compression");
}

#[test]
fn client_ignores_unrelated_headers_and_a_missing_extension() {
    // The server did not accept: the client runs uncompressed.
    let (ev, mut client) = client_given(deflate(), &[]);
    assert!(matches!(ev, Some(Ok(Event::AcceptConnection(_)))));
    assert!(client.extensions().is_empty());
    let f = client_frame(&mut client, &sample_text());
    assert_eq!(f.rsv, 0);
    // An empty extensions header accepts nothing either.
    let (ev, client) = client_given(deflate(), &[""]);
    assert!(matches!(ev, Some(Ok(Event::AcceptConnection(_)))), "{ev:?}");
    assert!(client.extensions().is_empty());
}

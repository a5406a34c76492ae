//! permessage-deflate (RFC 7692 §6, §7.2) at the frame level, in memory:
//! where RSV1 may and may not appear, what is compressed and what is not,
//! fragmented and byte-by-byte delivery, the RFC's own wire examples, and
//! the close codes for bad compressed data (1007).
//!
//! Frames are written and read with the independent codec of
//! `tests/common`; compressed payloads are checked with miniz_oxide, an
//! inflater independent of the crate's zlib-rs.

#![cfg(feature = "deflate")]

#[path = "../common/mod.rs"]
mod common;

use bytes::Bytes;
use common::*;
use wsproto::DeflateConfig;
use wsproto::proto::{
    BytesMessage, CloseConnection, Config, Connection, Event, Extension, ExtensionParams,
    PerMessageDeflate, Ping, Pong, Request, Role, State, TextMessage, WsConnection,
};

const RSV1: u8 = 0x40;
const RSV2: u8 = 0x20;
const RSV3: u8 = 0x10;

/// The RFC 7692 §7.2.3.1 payload of "Hello".
const HELLO: [u8; 7] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];

fn dcfg(d: DeflateConfig) -> Config {
    Config::default().deflate(d)
}

/// A client and a server that negotiated permessage-deflate with `d` on
/// both sides.
fn pair_with(d: DeflateConfig) -> (WsConnection, WsConnection) {
    let (c, s) = open_pair_with(dcfg(d.clone()), dcfg(d));
    assert_eq!(c.extensions().len(), 1);
    assert_eq!(s.extensions().len(), 1);
    (c, s)
}

fn pair() -> (WsConnection, WsConnection) {
    pair_with(DeflateConfig::default())
}

/// A client whose handshake completed against a hand-written 101 that
/// accepts `ext` (e.g. `permessage-deflate`).
fn client_with(ext: &str) -> WsConnection {
    let (mut client, req) = client_after_request(
        dcfg(DeflateConfig::default()),
        Request::new("example.com", "/"),
    );
    let line = format!("Sec-WebSocket-Extensions: {ext}");
    client.receive_bytes(&response_101(&request_key(&req), &[&line]));
    assert!(matches!(
        client.next_event(),
        Some(Ok(Event::AcceptConnection(_)))
    ));
    assert_eq!(client.extensions().len(), 1);
    client
}

/// A server that accepted a raw request offering `ext`.
fn server_with(ext: &str) -> WsConnection {
    let mut server =
        WsConnection::with_config(wsproto::proto::Role::Server, dcfg(DeflateConfig::default()));
    let line = format!("Sec-WebSocket-Extensions: {ext}");
    let mut headers = good_headers();
    headers.push(&line);
    server.receive_bytes(&raw_request("GET / HTTP/1.1", &headers));
    assert!(matches!(server.next_event(), Some(Ok(Event::Request(_)))));
    server
        .send(wsproto::proto::AcceptConnection::new())
        .unwrap();
    let resp = parse_response(&server.bytes_to_send());
    assert_eq!(resp.status, 101);
    assert!(resp.header("sec-websocket-extensions").is_some());
    server
}

/// Raw-deflate inflation of one message's payload by miniz_oxide: the
/// RFC 7692 tail, then an empty final fixed-Huffman block to end the stream.
fn inflate(payload: &[u8]) -> Vec<u8> {
    let mut stream = payload.to_vec();
    stream.extend_from_slice(&[0x00, 0x00, 0xff, 0xff, 0x03, 0x00]);
    miniz_oxide::inflate::decompress_to_vec(&stream).expect("a valid raw DEFLATE stream")
}

/// Compressible text of `len` bytes (multi-byte characters throughout).
fn text_of(len: usize) -> String {
    let mut s = String::new();
    let mut i = 0u32;
    while s.len() < len {
        s.push_str(&format!("word{} é ", i.wrapping_mul(2_654_435_761) % 97));
        i += 1;
    }
    while s.len() > len {
        s.pop();
    }
    s
}

/// Every event available, joined into messages.
fn messages(conn: &mut WsConnection) -> Vec<Msg> {
    let mut c = Coalescer::default();
    for ev in drain_ok(conn) {
        c.push(ev);
    }
    assert!(!c.in_message(), "a message was left unfinished");
    c.messages
}

/// The client receives `bytes` and must fail with `code`.
fn expect_failure(conn: &mut WsConnection, bytes: &[u8], code: u16) {
    conn.receive_bytes(bytes);
    let err = loop {
        match conn.next_event() {
            Some(Ok(_)) => continue,
            Some(Err(e)) => break e,
            None => panic!("no error: the connection accepted the input"),
        }
    };
    assert_close_answer(&err, &conn.bytes_to_send(), code);
    assert_eq!(conn.state(), State::Closed);
    assert!(conn.next_event().is_none());
}

/// What a client reports for these frames from the server.
fn client_receives(frames: &[Vec<u8>]) -> Vec<Msg> {
    let mut client = client_with("permessage-deflate");
    client.receive_bytes(&frames.concat());
    messages(&mut client)
}

/// A stored (uncompressed) DEFLATE block holding `data`, non-final.
fn stored_block(data: &[u8]) -> Vec<u8> {
    let len = data.len() as u16;
    let mut out = vec![0x00];
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(data);
    out
}

mod failures;
mod pieces_and_rfc;
mod wire_bits;

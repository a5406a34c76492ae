//! Chunking equivalence: the same bytes give the same messages however the
//! transport splits them — whole, byte by byte, or at random places.

mod common;

use common::*;
use proptest::prelude::*;
use wsproto::proto::{AcceptConnection, Config, Event, Request, Role, State, WsConnection};

const EMOJI: &[u8] = "😀".as_bytes(); // F0 9F 98 80
const EURO: &[u8] = "€".as_bytes(); // E2 82 AC

fn big_binary(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 13 % 256) as u8).collect()
}

/// The frames of the capture, as (first header byte, payload).
fn capture_frames() -> Vec<(u8, Vec<u8>)> {
    vec![
        (FIN | TEXT, b"Hello".to_vec()),
        // "a😀b€end" in three frames, splitting 😀 and € between frames,
        // with a ping in the middle of the message.
        (TEXT, [b"a", &EMOJI[..2]].concat()),
        (FIN | PING, b"p1".to_vec()),
        (CONT, [&EMOJI[2..], b"b", &EURO[..1]].concat()),
        (FIN | CONT, [&EURO[1..], b"end"].concat()),
        // 300 bytes of binary in two frames (16-bit lengths).
        (BINARY, big_binary(300)[..200].to_vec()),
        (FIN | CONT, big_binary(300)[200..].to_vec()),
        (FIN | PING, b"p2".to_vec()),
        (FIN | PONG, b"unsolicited".to_vec()),
        // 64-bit length.
        (FIN | BINARY, big_binary(70_000)),
        (FIN | TEXT, Vec::new()),
        (FIN | CLOSE, close_payload(1000, b"bye")),
    ]
}

fn expected_messages(target: Option<&str>) -> Vec<Msg> {
    let mut m = Vec::new();
    match target {
        Some(t) => m.push(Msg::Request(t.into())),
        None => m.push(Msg::Accept),
    }
    m.extend([
        Msg::Text("Hello".into()),
        Msg::Ping(b"p1".to_vec()),
        Msg::Text("a😀b€end".into()),
        Msg::Binary(big_binary(300)),
        Msg::Ping(b"p2".to_vec()),
        Msg::Pong(b"unsolicited".to_vec()),
        Msg::Binary(big_binary(70_000)),
        Msg::Text(String::new()),
        Msg::Close(1000, "bye".into()),
    ]);
    m
}

/// A server's view of the capture: the RFC request, then masked frames
/// (each with its own key, so mask offsets matter).
fn server_capture() -> Vec<u8> {
    let mut wire = rfc_request();
    for (i, (b0, payload)) in capture_frames().into_iter().enumerate() {
        let key = [i as u8 + 1, 0xa5, 0x5a ^ i as u8, 0xff];
        wire.extend(frame(b0, Some(key), &payload));
    }
    wire
}

/// A client that sent its request, and its view of the capture: the
/// server's 101, then unmasked frames.
fn client_and_capture() -> (WsConnection, Vec<u8>) {
    let (client, req) = client_after_request(Config::default(), Request::new("h", "/"));
    let mut wire = response_101(&request_key(&req), &[]);
    for (b0, payload) in capture_frames() {
        wire.extend(unmasked(b0, &payload));
    }
    (client, wire)
}

/// Feeds `wire` in pieces of the given sizes (cycled), answering a request
/// and taking the output after each read. Returns the messages and the
/// output.
fn run(mut conn: WsConnection, wire: &[u8], sizes: &[usize]) -> (Vec<Msg>, Vec<u8>) {
    let mut c = Coalescer::default();
    let mut out = Vec::new();
    let mut pos = 0;
    let mut sizes = sizes.iter().cycle();
    while pos < wire.len() {
        let n = (*sizes.next().unwrap()).min(wire.len() - pos);
        conn.receive_bytes(&wire[pos..pos + n]);
        pos += n;
        while let Some(ev) = conn.next_event() {
            let ev = ev.unwrap_or_else(|e| panic!("error at byte {pos}: {e}"));
            if let Event::TextMessage(m) = &ev {
                // Whole characters only: an empty piece is only reported
                // when it ends a frame.
                assert!(!m.data.is_empty() || m.frame_finished);
            }
            if matches!(ev, Event::Request(_)) {
                conn.send(AcceptConnection::new()).unwrap();
            }
            c.push(ev);
        }
        conn.bytes_to_send_into(&mut out);
    }
    assert!(!c.in_message());
    assert_eq!(conn.state(), State::Closed);
    (c.messages, out)
}

/// The output after the handshake: pongs (p1 may be coalesced away), then
/// the echoed close.
fn check_frames_out(frames: &[WireFrame], masked_out: bool) {
    let (close, pongs) = frames.split_last().unwrap();
    assert_eq!(close.close_code(), Some(1000));
    let payloads: Vec<&[u8]> = pongs
        .iter()
        .map(|f| {
            assert_eq!(f.opcode, PONG);
            assert_eq!(f.mask.is_some(), masked_out);
            &f.payload[..]
        })
        .collect();
    assert!(
        payloads == [&b"p2"[..]] || payloads == [&b"p1"[..], &b"p2"[..]],
        "{payloads:?}"
    );
}

fn check_server(sizes: &[usize]) {
    let wire = server_capture();
    let (messages, out) = run(WsConnection::new(Role::Server), &wire, sizes);
    assert_eq!(messages, expected_messages(Some("/chat")));
    let resp = parse_response(&out);
    assert_eq!(resp.status, 101);
    assert_eq!(resp.header("sec-websocket-accept"), Some(RFC_ACCEPT));
    check_frames_out(&parse_frames(&resp.body), false);
}

fn check_client(sizes: &[usize]) {
    let (client, wire) = client_and_capture();
    let (messages, out) = run(client, &wire, sizes);
    assert_eq!(messages, expected_messages(None));
    check_frames_out(&parse_frames(&out), true);
}

#[test]
fn whole_capture_at_once() {
    check_server(&[usize::MAX]);
    check_client(&[usize::MAX]);
}

#[test]
fn capture_byte_by_byte() {
    check_server(&[1]);
    check_client(&[1]);
}

#[test]
fn capture_split_at_every_single_point_of_the_handshake_region() {
    // Two reads, the split anywhere in the first 400 bytes (handshake and
    // first frames), to catch state carried across the handshake boundary.
    for split in 1..400 {
        check_server(&[split, usize::MAX]);
        check_client(&[split, usize::MAX]);
    }
}

fn chunk_sizes() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(prop_oneof![1usize..8, 1usize..300, 1usize..5000], 1..64)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn server_capture_in_random_chunks(sizes in chunk_sizes()) {
        check_server(&sizes);
    }

    #[test]
    fn client_capture_in_random_chunks(sizes in chunk_sizes()) {
        check_client(&sizes);
    }

    /// Any text, cut into frames at arbitrary byte offsets (even inside a
    /// character) and delivered in arbitrary reads, arrives unchanged.
    #[test]
    fn text_split_anywhere_arrives_unchanged(
        text in "\\PC{0,200}",
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
        sizes in prop::collection::vec(1usize..20, 1..10),
    ) {
        let bytes = text.as_bytes();
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        points.sort_unstable();
        points.dedup();
        let mut wire = rfc_request();
        let mut start = 0;
        let mut first = true;
        let ends = points.iter().copied().filter(|&p| p > 0 && p < bytes.len());
        for end in ends.chain([bytes.len()]) {
            let fin = if end == bytes.len() { FIN } else { 0 };
            let op = if first { TEXT } else { CONT };
            wire.extend(masked(fin | op, &bytes[start..end]));
            first = false;
            start = end;
        }
        wire.extend(masked(FIN | CLOSE, &close_payload(1000, b"")));
        let (messages, _) = run(WsConnection::new(Role::Server), &wire, &sizes);
        prop_assert_eq!(
            messages,
            vec![
                Msg::Request("/chat".into()),
                Msg::Text(text.clone()),
                Msg::Close(1000, String::new()),
            ]
        );
    }

    /// The first invalid byte is reported however the input is split, and
    /// never after more than the bytes up to it have been fed.
    #[test]
    fn invalid_text_fails_as_soon_as_the_bad_byte_arrives(
        prefix in "[a-z€😀]{0,40}",
        bad in prop_oneof![Just(vec![0xffu8]), Just(vec![0xc0, 0x80]), Just(vec![0xed, 0xa0, 0x80])],
        split in 1usize..8,
    ) {
        let mut payload = prefix.as_bytes().to_vec();
        let bad_at = payload.len() + bad.len();
        payload.extend_from_slice(&bad);
        payload.extend_from_slice(&[b'z'; 200]);
        let mut server = open_server();
        let wire = masked(FIN | TEXT, &payload);
        let header = wire.len() - payload.len();
        let mut fed = 0;
        let mut failed_at = None;
        while fed < wire.len() && failed_at.is_none() {
            let n = split.min(wire.len() - fed);
            server.receive_bytes(&wire[fed..fed + n]);
            fed += n;
            while let Some(ev) = server.next_event() {
                if let Err(e) = ev {
                    prop_assert_eq!(e.close_code().map(|c| c.0), Some(1007));
                    failed_at = Some(fed);
                    break;
                }
            }
        }
        let failed_at = failed_at.expect("invalid text accepted");
        prop_assert!(failed_at < header + bad_at + split, "failed after {} bytes", failed_at);
        prop_assert_eq!(server.state(), State::Closed);
    }
}

//! RFC 6455 test vectors: the §5.7 example frames byte for byte, and the
//! §1.3 handshake key/accept pair.

mod common;

use common::*;
use wsproto::proto::{
    AcceptConnection, BytesMessage, Connection, Event, Ping, Pong, Role, State, TextMessage,
    WsConnection,
};

const HELLO_UNMASKED: [u8; 7] = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
const HELLO_MASKED: [u8; 11] = [
    0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
];
const HEL: [u8; 5] = [0x01, 0x03, 0x48, 0x65, 0x6c];
const LO: [u8; 4] = [0x80, 0x02, 0x6c, 0x6f];
const PING_HELLO: [u8; 7] = [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
const PONG_HELLO_MASKED: [u8; 11] = [
    0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
];

fn text(data: &str, frame_finished: bool, message_finished: bool) -> Event {
    Event::TextMessage(TextMessage {
        data: data.into(),
        frame_finished,
        message_finished,
    })
}

#[test]
fn single_frame_unmasked_text() {
    let mut client = Connection::new(Role::Client, vec![]);
    client.receive_bytes(&HELLO_UNMASKED);
    assert_eq!(drain_conn_ok(&mut client), [text("Hello", true, true)]);
    assert!(client.bytes_to_send().is_empty());
    assert_eq!(client.state(), State::Open);
}

#[test]
fn single_frame_masked_text() {
    let mut server = Connection::new(Role::Server, vec![]);
    server.receive_bytes(&HELLO_MASKED);
    assert_eq!(drain_conn_ok(&mut server), [text("Hello", true, true)]);
    // Our independent encoder agrees with the RFC bytes.
    assert_eq!(masked(FIN | TEXT, b"Hello"), HELLO_MASKED);
    assert_eq!(unmasked(FIN | TEXT, b"Hello"), HELLO_UNMASKED);
}

#[test]
fn fragmented_unmasked_text() {
    let mut client = Connection::new(Role::Client, vec![]);
    client.receive_bytes(&HEL);
    assert_eq!(drain_conn_ok(&mut client), [text("Hel", true, false)]);
    client.receive_bytes(&LO);
    assert_eq!(drain_conn_ok(&mut client), [text("lo", true, true)]);

    // Both frames in one read give the same events.
    let mut client = Connection::new(Role::Client, vec![]);
    client.receive_bytes(&[&HEL[..], &LO[..]].concat());
    assert_eq!(
        drain_conn_ok(&mut client),
        [text("Hel", true, false), text("lo", true, true)]
    );
}

#[test]
fn unmasked_ping_and_masked_pong() {
    let mut client = Connection::new(Role::Client, vec![]);
    client.receive_bytes(&PING_HELLO);
    assert_eq!(
        drain_conn_ok(&mut client),
        [Event::Ping(Ping::new(&b"Hello"[..]))]
    );
    // The automatic pong: masked (client), same payload.
    let out = client.bytes_to_send();
    let frames = parse_frames(&out);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].opcode, PONG);
    assert!(frames[0].fin);
    assert!(frames[0].mask.is_some());
    assert_eq!(frames[0].payload, b"Hello");

    // The RFC's masked pong, received by a server.
    let mut server = Connection::new(Role::Server, vec![]);
    server.receive_bytes(&PONG_HELLO_MASKED);
    assert_eq!(
        drain_conn_ok(&mut server),
        [Event::Pong(Pong::new(&b"Hello"[..]))]
    );
    assert!(server.bytes_to_send().is_empty());
}

#[test]
fn binary_256_bytes_uses_16_bit_length() {
    let payload: Vec<u8> = (0..=255u8).collect();
    let mut wire = vec![0x82, 0x7e, 0x01, 0x00];
    wire.extend_from_slice(&payload);
    let mut client = Connection::new(Role::Client, vec![]);
    client.receive_bytes(&wire);
    let events = drain_conn_ok(&mut client);
    assert_eq!(
        events,
        [Event::BytesMessage(BytesMessage::new(payload.clone()))]
    );

    let mut server = Connection::new(Role::Server, vec![]);
    server.send(BytesMessage::new(payload)).unwrap();
    assert_eq!(server.bytes_to_send()[..], wire[..]);
}

#[test]
fn binary_64k_uses_64_bit_length() {
    let payload: Vec<u8> = (0..65536u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut wire = vec![0x82, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00];
    wire.extend_from_slice(&payload);
    let mut client = Connection::new(Role::Client, vec![]);
    client.receive_bytes(&wire);
    let mut got = Vec::new();
    for ev in drain_conn_ok(&mut client) {
        let Event::BytesMessage(m) = ev else {
            panic!("{ev:?}")
        };
        got.extend_from_slice(&m.data);
        if m.message_finished {
            assert!(m.frame_finished);
        }
    }
    assert_eq!(got, payload);

    let mut server = Connection::new(Role::Server, vec![]);
    server.send(BytesMessage::new(payload)).unwrap();
    assert_eq!(server.bytes_to_send()[..], wire[..]);
}

#[test]
fn server_sends_the_rfc_frames_byte_for_byte() {
    let mut server = Connection::new(Role::Server, vec![]);
    server.send(TextMessage::new("Hello")).unwrap();
    assert_eq!(server.bytes_to_send()[..], HELLO_UNMASKED);

    server.send(TextMessage::fragment("Hel", false)).unwrap();
    server.send(TextMessage::fragment("lo", true)).unwrap();
    assert_eq!(server.bytes_to_send()[..], [&HEL[..], &LO[..]].concat());

    server.send(Ping::new(&b"Hello"[..])).unwrap();
    assert_eq!(server.bytes_to_send()[..], PING_HELLO);

    server.send(Pong::new(&b"Hello"[..])).unwrap();
    assert_eq!(
        server.bytes_to_send()[..],
        [0x8a, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]
    );
}

#[test]
fn client_output_unmasks_to_the_text() {
    let mut client = Connection::new(Role::Client, vec![]);
    client.send(TextMessage::new("Hello")).unwrap();
    let out = client.bytes_to_send();
    assert_eq!(out.len(), 11);
    assert_eq!(out[0], 0x81);
    assert_eq!(out[1], 0x85);
    let key = [out[2], out[3], out[4], out[5]];
    let unmasked: Vec<u8> = out[6..]
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ key[i % 4])
        .collect();
    assert_eq!(unmasked, b"Hello");

    // Keys are fresh per frame (RFC 6455 §5.3: unpredictable); 8 frames
    // sharing one key would mean a constant key.
    let mut keys = std::collections::HashSet::new();
    for _ in 0..8 {
        client.send(TextMessage::new("Hello")).unwrap();
        keys.insert(parse_frames(&client.bytes_to_send())[0].mask.unwrap());
    }
    assert!(keys.len() > 1, "the masking key never changes");
}

#[test]
fn masked_frames_split_at_every_byte_unmask_correctly() {
    // The mask offset must carry over between reads.
    let payload: Vec<u8> = (0..300u32).map(|i| (i % 256) as u8).collect();
    let wire = masked(FIN | BINARY, &payload);
    for split in 1..wire.len() {
        let mut server = Connection::new(Role::Server, vec![]);
        let mut got = Vec::new();
        for part in [&wire[..split], &wire[split..]] {
            server.receive_bytes(part);
            for ev in drain_conn_ok(&mut server) {
                let Event::BytesMessage(m) = ev else {
                    panic!("{ev:?}")
                };
                got.extend_from_slice(&m.data);
            }
        }
        assert_eq!(got, payload, "split at {split}");
    }
}

#[test]
fn rfc_sample_handshake_accept_value() {
    assert_eq!(accept_for(RFC_KEY), RFC_ACCEPT);
    assert_eq!(
        wsproto::proto::handshake::accept_key(RFC_KEY.as_bytes()),
        RFC_ACCEPT
    );

    let mut server = WsConnection::new(Role::Server);
    server.receive_bytes(&rfc_request());
    let Some(Ok(Event::Request(req))) = server.next_event() else {
        panic!("no request")
    };
    assert_eq!(req.host, "server.example.com");
    assert_eq!(req.target, "/chat");
    assert_eq!(req.subprotocols, ["chat", "superchat"]);
    assert!(req.extensions.is_empty());
    assert!(
        req.extra_headers
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case("origin")
                && h.value_str() == Some("http://example.com"))
    );
    assert_eq!(server.state(), State::Connecting);
    // No decision yet: nothing is sent.
    assert!(server.next_event().is_none());
    assert!(server.bytes_to_send().is_empty());

    server
        .send(AcceptConnection::new().with_subprotocol("chat"))
        .unwrap();
    assert_eq!(server.state(), State::Open);
    let out = server.bytes_to_send();
    let text = std::str::from_utf8(&out).unwrap();
    assert!(text.starts_with("HTTP/1.1 101 "), "{text}");
    assert!(
        text.contains("\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
        "{text}"
    );
    let resp = parse_response(&out);
    assert_eq!(resp.status, 101);
    assert!(resp.body.is_empty());
    assert_eq!(resp.header("sec-websocket-accept"), Some(RFC_ACCEPT));
    assert!(
        resp.header("upgrade")
            .unwrap()
            .eq_ignore_ascii_case("websocket")
    );
    assert!(
        resp.header("connection")
            .unwrap()
            .eq_ignore_ascii_case("upgrade")
    );
    assert_eq!(resp.header("sec-websocket-protocol"), Some("chat"));
}

#[test]
fn client_request_is_a_valid_rfc_handshake() {
    let mut client = WsConnection::new(Role::Client);
    client
        .send(wsproto::Request::new("example.com:8080", "/chat?x=1").with_subprotocols(["chat"]))
        .unwrap();
    let out = client.bytes_to_send();
    let mut storage = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut storage);
    assert!(req.parse(&out).unwrap().is_complete());
    assert_eq!(req.method, Some("GET"));
    assert_eq!(req.path, Some("/chat?x=1"));
    assert_eq!(req.version, Some(1));
    let get = |name: &str| {
        req.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| std::str::from_utf8(h.value).unwrap().to_owned())
    };
    assert_eq!(get("host").as_deref(), Some("example.com:8080"));
    assert!(get("upgrade").unwrap().eq_ignore_ascii_case("websocket"));
    assert!(
        get("connection")
            .unwrap()
            .to_ascii_lowercase()
            .contains("upgrade")
    );
    assert_eq!(get("sec-websocket-version").as_deref(), Some("13"));
    assert_eq!(get("sec-websocket-protocol").as_deref(), Some("chat"));
    use base64::Engine as _;
    let nonce = base64::engine::general_purpose::STANDARD
        .decode(get("sec-websocket-key").unwrap())
        .unwrap();
    assert_eq!(nonce.len(), 16);
}

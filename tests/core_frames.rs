//! Frame-level protocol violations: each fails the connection with the
//! right close code, queues exactly one close frame carrying that code, and
//! leaves the connection deaf to further input.

mod common;

use common::*;
use wsproto::proto::{Config, Connection, Event, Role, State, WsConnection};

fn server() -> Connection {
    Connection::new(Role::Server, vec![])
}

fn server_with(config: Config) -> Connection {
    Connection::with_config(Role::Server, config)
}

/// A frame as the peer of `role` sends it (masked towards a server).
fn peer_frame(role: Role, b0: u8, payload: &[u8]) -> Vec<u8> {
    match role {
        Role::Server => masked(b0, payload),
        Role::Client => unmasked(b0, payload),
    }
}

/// Feeds `wire` and expects the connection to fail with `code`. Returns
/// the events reported before the failure.
fn expect_fail(conn: &mut Connection, wire: &[u8], code: u16) -> Vec<Event> {
    conn.receive_bytes(wire);
    let mut before = Vec::new();
    let err = loop {
        match conn.next_event() {
            Some(Ok(ev)) => before.push(ev),
            Some(Err(e)) => break e,
            None => panic!("no failure for {wire:02x?}; events {before:?}"),
        }
    };
    assert_eq!(conn.state(), State::Closed);
    let out = conn.bytes_to_send();
    // Our own close frame is masked iff we are the client.
    let frames = parse_frames(&out);
    let close = frames.last().expect("a close frame");
    assert_eq!(close.mask.is_some(), conn.role() == Role::Client);
    assert_close_answer(&err, &out, code);
    assert_dead(conn);
    before
}

/// A failed connection ignores input: no events, nothing queued.
fn assert_dead(conn: &mut Connection) {
    let role = conn.role();
    conn.receive_bytes(&peer_frame(role, FIN | TEXT, b"more"));
    conn.receive_bytes(&peer_frame(role, FIN | PING, b"ping"));
    conn.receive_bytes(&peer_frame(role, FIN | CLOSE, &close_payload(1000, b"")));
    assert!(conn.next_event().is_none());
    assert!(!conn.has_bytes_to_send());
    assert!(conn.bytes_to_send().is_empty());
    conn.receive_eof();
    assert!(conn.next_event().is_none());
    assert_eq!(conn.state(), State::Closed);
}

#[test]
fn unmasked_frame_at_server_is_1002() {
    expect_fail(&mut server(), &unmasked(FIN | TEXT, b"Hello"), 1002);
    // Control frames too.
    expect_fail(&mut server(), &unmasked(FIN | PING, b""), 1002);
}

#[test]
fn masked_frame_at_client_is_1002() {
    let mut client = Connection::new(Role::Client, vec![]);
    expect_fail(&mut client, &masked(FIN | TEXT, b"Hello"), 1002);
}

#[test]
fn reserved_opcodes_are_1002() {
    for op in (3..=7).chain(0xb..=0xf) {
        expect_fail(&mut server(), &masked(FIN | op, b"x"), 1002);
        // Refused from the first byte alone.
        expect_fail(&mut server(), &[FIN | op], 1002);
        let mut client = Connection::new(Role::Client, vec![]);
        expect_fail(&mut client, &unmasked(FIN | op, b""), 1002);
    }
}

#[test]
fn reserved_bits_without_extension_are_1002() {
    for rsv in [0x40, 0x20, 0x10, 0x70] {
        expect_fail(&mut server(), &masked(FIN | rsv | TEXT, b"x"), 1002);
        expect_fail(&mut server(), &masked(FIN | rsv | BINARY, b"x"), 1002);
        expect_fail(&mut server(), &masked(FIN | rsv | PING, b"x"), 1002);
    }
    // On a continuation frame, after a valid start.
    let before = expect_fail(
        &mut server(),
        &[masked(TEXT, b"a"), masked(FIN | 0x40 | CONT, b"b")].concat(),
        1002,
    );
    assert_eq!(before.len(), 1);
}

#[test]
fn control_frame_with_126_byte_payload_is_1002() {
    for op in [PING, PONG, CLOSE] {
        let payload = vec![b'a'; 126];
        expect_fail(&mut server(), &masked(FIN | op, &payload), 1002);
        // Refused from the length byte, before the payload arrives.
        expect_fail(&mut server(), &[FIN | op, 0x80 | 126], 1002);
    }
    // 125 bytes is fine.
    let mut s = server();
    s.receive_bytes(&masked(FIN | PING, &[b'a'; 125]));
    assert!(matches!(s.next_event(), Some(Ok(Event::Ping(p))) if p.payload.len() == 125));
}

#[test]
fn fragmented_control_frames_are_1002() {
    for op in [PING, PONG, CLOSE] {
        expect_fail(&mut server(), &masked(op, b"x"), 1002);
    }
}

#[test]
fn continuation_without_a_message_is_1002() {
    expect_fail(&mut server(), &masked(FIN | CONT, b"x"), 1002);
    expect_fail(&mut server(), &masked(CONT, b"x"), 1002);
    // ...also right after a complete message.
    let before = expect_fail(
        &mut server(),
        &[masked(FIN | TEXT, b"done"), masked(FIN | CONT, b"x")].concat(),
        1002,
    );
    assert_eq!(before.len(), 1);
}

#[test]
fn new_data_frame_inside_a_fragmented_message_is_1002() {
    for op in [TEXT, BINARY] {
        let before = expect_fail(
            &mut server(),
            &[masked(TEXT, b"a"), masked(FIN | op, b"b")].concat(),
            1002,
        );
        assert!(matches!(&before[..], [Event::TextMessage(m)] if !m.message_finished));
    }
    // A control frame in between is fine, a data frame after it still not.
    let before = expect_fail(
        &mut server(),
        &[
            masked(BINARY, b"a"),
            masked(FIN | PING, b""),
            masked(FIN | BINARY, b"b"),
        ]
        .concat(),
        1002,
    );
    assert!(matches!(before[1], Event::Ping(_)));
}

#[test]
fn length_with_top_bit_set_is_1002() {
    let mut wire = vec![FIN | BINARY, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 1];
    wire.extend_from_slice(&RFC_MASK);
    expect_fail(&mut server(), &wire, 1002);
    // The third byte alone is enough.
    expect_fail(&mut server(), &[FIN | BINARY, 0x80 | 127, 0xff], 1002);
}

#[test]
fn frame_over_max_frame_size_is_1009_before_the_payload() {
    let mut s = server_with(Config::default().max_frame_size(1000));
    // Header only: the payload is never waited for.
    let wire = masked(FIN | BINARY, &[0u8; 1001]);
    expect_fail(&mut s, &wire[..8], 1009);

    let mut s = server_with(Config::default().max_frame_size(1000));
    s.receive_bytes(&masked(FIN | BINARY, &[7u8; 1000]));
    let events = drain_conn_ok(&mut s);
    let total: usize = events
        .iter()
        .map(|e| match e {
            Event::BytesMessage(m) => m.data.len(),
            _ => panic!(),
        })
        .sum();
    assert_eq!(total, 1000);
}

#[test]
fn header_announcing_2_pow_62_bytes_is_1009_immediately() {
    let mut wire = vec![FIN | BINARY, 0x80 | 127];
    wire.extend_from_slice(&(1u64 << 62).to_be_bytes());
    wire.extend_from_slice(&RFC_MASK);
    expect_fail(&mut server(), &wire, 1009);
    // The same for a client, and for text.
    let mut wire = vec![FIN | TEXT, 127];
    wire.extend_from_slice(&(1u64 << 62).to_be_bytes());
    expect_fail(&mut Connection::new(Role::Client, vec![]), &wire, 1009);
}

#[test]
fn message_over_max_message_size_across_fragments_is_1009() {
    let config = Config::default().max_frame_size(100).max_message_size(150);
    let wire = [
        masked(BINARY, &[1u8; 100]),
        masked(CONT, &[2u8; 40]),
        masked(FIN | CONT, &[3u8; 11]),
    ]
    .concat();
    let before = expect_fail(&mut server_with(config.clone()), &wire, 1009);
    let got: usize = before
        .iter()
        .map(|e| match e {
            Event::BytesMessage(m) => m.data.len(),
            _ => panic!(),
        })
        .sum();
    assert_eq!(got, 140);
    // Exactly at the limit is fine.
    let mut s = server_with(config.clone());
    s.receive_bytes(&[masked(BINARY, &[1u8; 100]), masked(FIN | CONT, &[2u8; 50])].concat());
    let events = drain_conn_ok(&mut s);
    assert!(matches!(events.last(), Some(Event::BytesMessage(m)) if m.message_finished));
    // A single frame over the message limit (but within the frame limit).
    let config = Config::default().max_frame_size(1000).max_message_size(10);
    expect_fail(
        &mut server_with(config),
        &masked(FIN | TEXT, &[b'a'; 11]),
        1009,
    );
}

#[test]
fn too_many_fragments_is_1009() {
    let config = Config::default().max_fragments(3);
    let wire = [
        masked(TEXT, b"a"),
        masked(CONT, b"b"),
        masked(CONT, b"c"),
        masked(FIN | CONT, b"d"),
    ]
    .concat();
    let before = expect_fail(&mut server_with(config.clone()), &wire, 1009);
    assert_eq!(before.len(), 3);
    // Three is allowed; the count restarts with each message.
    let mut s = server_with(config);
    for _ in 0..3 {
        s.receive_bytes(
            &[
                masked(TEXT, b"a"),
                masked(CONT, b"b"),
                masked(FIN | CONT, b"c"),
            ]
            .concat(),
        );
    }
    assert_eq!(drain_conn_ok(&mut s).len(), 9);
    // Empty fragments count too.
    let config = Config::default().max_fragments(2);
    let wire = [
        masked(BINARY, b""),
        masked(CONT, b""),
        masked(FIN | CONT, b""),
    ]
    .concat();
    expect_fail(&mut server_with(config), &wire, 1009);
}

#[test]
fn invalid_utf8_text_is_1007() {
    expect_fail(&mut server(), &masked(FIN | TEXT, b"ab\xffcd"), 1007);
    // Overlong encoding, surrogate, code point above U+10FFFF.
    for bad in [&b"\xc0\xaf"[..], b"\xed\xa0\x80", b"\xf4\x90\x80\x80"] {
        expect_fail(&mut server(), &masked(FIN | TEXT, bad), 1007);
    }
    // A message that ends inside a character.
    expect_fail(&mut server(), &masked(FIN | TEXT, b"ok\xe2\x82"), 1007);
    // Binary data is not checked.
    let mut s = server();
    s.receive_bytes(&masked(FIN | BINARY, b"\xff\xfe"));
    assert!(matches!(s.next_event(), Some(Ok(Event::BytesMessage(_)))));
}

#[test]
fn invalid_utf8_fails_before_the_rest_of_the_frame_arrives() {
    // A 1000-byte text frame whose first bytes are already invalid.
    let mut payload = vec![b'a'; 1000];
    payload[3] = 0xff;
    let wire = masked(FIN | TEXT, &payload);
    let mut s = server();
    // Header (2 + 2 + 4 bytes) and the first 10 payload bytes only.
    let before = expect_fail(&mut s, &wire[..18], 1007);
    // The valid prefix may have been reported, never the bad byte.
    for ev in before {
        let Event::TextMessage(m) = ev else { panic!() };
        assert!(!m.frame_finished);
        assert!("aaa".starts_with(m.data.as_str()));
    }

    // A truncated sequence that can no longer become valid: F0 80.
    let wire = masked(FIN | TEXT, b"\xf0\x80\x80\x80 and more text");
    expect_fail(&mut server(), &wire[..8], 1007);
}

#[test]
fn invalid_utf8_across_fragments_fails_at_the_first_bad_fragment() {
    // The bad byte is in the second of three fragments.
    let mut s = server();
    let before = expect_fail(
        &mut s,
        &[masked(TEXT, b"ab"), masked(CONT, b"\xff")].concat(),
        1007,
    );
    assert_eq!(before.len(), 1);
    // A character started in one fragment and broken in the next.
    let mut s = server();
    let before = expect_fail(
        &mut s,
        &[masked(TEXT, b"x\xf0\x9f"), masked(CONT, b"A")].concat(),
        1007,
    );
    assert!(matches!(&before[..], [Event::TextMessage(m)] if m.data == "x"));
    // A valid 4-byte character split across three fragments is fine.
    let mut s = server();
    s.receive_bytes(
        &[
            masked(TEXT, b"\xf0"),
            masked(CONT, b"\x9f\x98"),
            masked(FIN | CONT, b"\x80!"),
        ]
        .concat(),
    );
    let text: String = drain_conn_ok(&mut s)
        .into_iter()
        .map(|e| match e {
            Event::TextMessage(m) => m.data.to_string(),
            _ => panic!(),
        })
        .collect();
    assert_eq!(text, "\u{1f600}!");
}

#[test]
fn close_with_one_byte_payload_is_1002() {
    expect_fail(&mut server(), &masked(FIN | CLOSE, &[0x03]), 1002);
}

#[test]
fn invalid_close_codes_are_1002() {
    for code in [
        0u16, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
    ] {
        expect_fail(
            &mut server(),
            &masked(FIN | CLOSE, &close_payload(code, b"")),
            1002,
        );
    }
}

#[test]
fn valid_close_codes_are_echoed() {
    for code in (1000..=1003)
        .chain(1007..=1014)
        .chain([3000, 3999, 4000, 4999])
    {
        let mut s = server();
        s.receive_bytes(&masked(FIN | CLOSE, &close_payload(code, b"bye")));
        let events = drain_conn_ok(&mut s);
        let [Event::CloseConnection(c)] = &events[..] else {
            panic!("{events:?}")
        };
        assert_eq!(c.code.0, code);
        assert_eq!(c.reason, "bye");
        assert_eq!(s.state(), State::RemoteClosing);
        let frames = parse_frames(&s.bytes_to_send());
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].close_code(), Some(code), "{code}");
        assert_eq!(s.state(), State::Closed);
    }
}

#[test]
fn close_reason_invalid_utf8_is_1007() {
    expect_fail(
        &mut server(),
        &masked(FIN | CLOSE, &close_payload(1000, b"bad \xff reason")),
        1007,
    );
}

#[test]
fn failure_through_wsconnection_queues_the_close_frame() {
    let mut ws = open_server();
    ws.receive_bytes(&unmasked(FIN | TEXT, b"x"));
    let err = ws.next_event().unwrap().unwrap_err();
    assert_close_answer(&err, &ws.bytes_to_send(), 1002);
    assert_eq!(ws.state(), State::Closed);
    ws.receive_bytes(&masked(FIN | TEXT, b"x"));
    assert!(ws.next_event().is_none());
    assert!(ws.bytes_to_send().is_empty());

    let mut ws: WsConnection = open_client();
    ws.receive_bytes(&unmasked(FIN | TEXT, b"\xff"));
    let err = ws.next_event().unwrap().unwrap_err();
    let out = ws.bytes_to_send();
    assert_close_answer(&err, &out, 1007);
    assert!(parse_frames(&out)[0].mask.is_some());
}

#[test]
fn events_before_a_violation_in_the_same_read_are_reported() {
    let before = expect_fail(
        &mut server(),
        &[
            masked(FIN | TEXT, b"one"),
            masked(FIN | PING, b"p"),
            masked(FIN | 0x3, b""),
        ]
        .concat(),
        1002,
    );
    assert_eq!(before.len(), 2);
}

#[test]
fn failure_after_our_close_sends_nothing_more() {
    // We already sent a close: a violation now cannot be answered with a
    // second close frame.
    let mut s = server();
    s.send(wsproto::CloseConnection::new(1000u16, "")).unwrap();
    let _ = s.bytes_to_send();
    assert_eq!(s.state(), State::LocalClosing);
    s.receive_bytes(&unmasked(FIN | TEXT, b"x"));
    let err = s.next_event().unwrap().unwrap_err();
    assert_eq!(err.answer(), wsproto::proto::Answer::Drop);
    assert!(s.bytes_to_send().is_empty());
    assert_eq!(s.state(), State::Closed);
}

#[test]
fn message_ending_inside_a_character_after_an_empty_final_fragment_is_1007() {
    let before = expect_fail(
        &mut server(),
        &[masked(TEXT, b"a\xe2\x82"), masked(FIN | CONT, b"")].concat(),
        1007,
    );
    assert!(matches!(&before[..], [Event::TextMessage(m)] if m.data == "a"));
}

#[test]
fn limits_survive_the_handshake() {
    let config = Config::default()
        .max_frame_size(10)
        .max_message_size(15)
        .max_fragments(2);
    let mut ws = open_server_with(config.clone());
    ws.receive_bytes(&masked(FIN | BINARY, &[0; 11]));
    let err = ws.next_event().unwrap().unwrap_err();
    assert_close_answer(&err, &ws.bytes_to_send(), 1009);

    let mut ws = open_server_with(config.clone());
    ws.receive_bytes(&[masked(BINARY, &[0; 10]), masked(FIN | CONT, &[0; 6])].concat());
    assert!(ws.next_event().unwrap().is_ok());
    let err = ws.next_event().unwrap().unwrap_err();
    assert_close_answer(&err, &ws.bytes_to_send(), 1009);

    let mut ws = open_server_with(config);
    let three = [
        masked(TEXT, b"a"),
        masked(CONT, b"b"),
        masked(FIN | CONT, b"c"),
    ];
    ws.receive_bytes(&three.concat());
    let err = ws.events().find_map(Result::err).expect("a failure");
    assert_close_answer(&err, &ws.bytes_to_send(), 1009);
}

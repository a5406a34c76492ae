//! The closing handshake (RFC 6455 §5.5.1, §7): states on both sides at
//! every step, echoing, EOF before a close, and sending after a close.

mod common;

use common::*;
use wsproto::proto::{
    BytesMessage, CloseCode, CloseConnection, Event, LocalProtocolError, Ping, Pong, State,
    TextMessage, WsConnection,
};

fn close_event(code: u16, reason: &str) -> Event {
    Event::CloseConnection(CloseConnection::new(code, reason))
}

/// Nothing but a close is accepted once the connection is not open.
fn assert_cannot_send(conn: &mut WsConnection, state: State) {
    for ev in [
        Event::TextMessage(TextMessage::new("x")),
        Event::BytesMessage(BytesMessage::new(&b"x"[..])),
        Event::Ping(Ping::new(&b""[..])),
        Event::Pong(Pong::new(&b""[..])),
    ] {
        let name = ev.name();
        assert_eq!(
            conn.send(ev),
            Err(LocalProtocolError::WrongState { event: name, state }),
        );
    }
    // A second close is a no-op.
    conn.send(CloseConnection::new(1000u16, "again")).unwrap();
    assert_eq!(conn.state(), state);
    if state == State::Closed {
        assert!(conn.bytes_to_send().is_empty());
    }
}

/// `initiator` closes; checks both sides at every step.
fn close_handshake(initiator: &mut WsConnection, responder: &mut WsConnection) {
    initiator
        .send(CloseConnection::new(1001u16, "going away"))
        .unwrap();
    assert_eq!(initiator.state(), State::LocalClosing);
    assert_cannot_send(initiator, State::LocalClosing);
    let wire = initiator.bytes_to_send();
    let frames = parse_frames(&wire);
    assert_eq!(frames.len(), 1, "one close frame: {frames:?}");
    assert_eq!(frames[0].close_code(), Some(1001));
    assert_eq!(&frames[0].payload[2..], b"going away");
    assert_eq!(initiator.state(), State::LocalClosing);

    responder.receive_bytes(&wire);
    assert_eq!(drain_ok(responder), [close_event(1001, "going away")]);
    assert_eq!(responder.state(), State::RemoteClosing);
    assert!(responder.has_bytes_to_send());
    assert_cannot_send(responder, State::RemoteClosing);
    let reply = responder.bytes_to_send();
    assert_eq!(responder.state(), State::Closed);
    let frames = parse_frames(&reply);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].opcode, CLOSE);
    assert_eq!(frames[0].close_code(), Some(1001), "the code is echoed");

    // The initiator sees CloseConnection only when the reply arrives.
    assert!(initiator.next_event().is_none());
    assert_eq!(initiator.state(), State::LocalClosing);
    initiator.receive_bytes(&reply);
    let events = drain_ok(initiator);
    let [Event::CloseConnection(c)] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!(c.code, CloseCode::GOING_AWAY);
    assert_eq!(initiator.state(), State::Closed);
    assert!(initiator.bytes_to_send().is_empty(), "no second close");

    for side in [initiator, responder] {
        assert_cannot_send(side, State::Closed);
        side.receive_eof();
        assert!(side.next_event().is_none(), "no 1006 after a clean close");
    }
}

#[test]
fn client_initiated_close() {
    let (mut client, mut server) = open_pair();
    close_handshake(&mut client, &mut server);
}

#[test]
fn server_initiated_close() {
    let (mut client, mut server) = open_pair();
    close_handshake(&mut server, &mut client);
}

#[test]
fn close_without_status_is_answered_without_status() {
    let (mut client, mut server) = open_pair();
    client
        .send(CloseConnection::new(CloseCode::NO_STATUS_RCVD, ""))
        .unwrap();
    let wire = client.bytes_to_send();
    assert!(parse_frames(&wire)[0].payload.is_empty());
    server.receive_bytes(&wire);
    assert_eq!(drain_ok(&mut server), [close_event(1005, "")]);
    let reply = server.bytes_to_send();
    let frames = parse_frames(&reply);
    assert_eq!(frames[0].opcode, CLOSE);
    assert!(frames[0].payload.is_empty());
    client.receive_bytes(&reply);
    assert_eq!(drain_ok(&mut client), [close_event(1005, "")]);
    assert_eq!(client.state(), State::Closed);
}

#[test]
fn simultaneous_close() {
    let (mut client, mut server) = open_pair();
    client.send(CloseConnection::new(1000u16, "c")).unwrap();
    server.send(CloseConnection::new(1000u16, "s")).unwrap();
    let c_wire = client.bytes_to_send();
    let s_wire = server.bytes_to_send();
    client.receive_bytes(&s_wire);
    server.receive_bytes(&c_wire);
    assert_eq!(drain_ok(&mut client), [close_event(1000, "s")]);
    assert_eq!(drain_ok(&mut server), [close_event(1000, "c")]);
    for side in [&mut client, &mut server] {
        assert_eq!(side.state(), State::Closed);
        assert!(side.bytes_to_send().is_empty(), "no third close frame");
    }
}

#[test]
fn messages_keep_arriving_while_local_closing() {
    let (mut client, mut server) = open_pair();
    server.send(TextMessage::new("in flight")).unwrap();
    server.send(Ping::new(&b"late"[..])).unwrap();
    let in_flight = server.bytes_to_send();
    client.send(CloseConnection::new(1000u16, "")).unwrap();
    let close = client.bytes_to_send();
    client.receive_bytes(&in_flight);
    let events = drain_ok(&mut client);
    assert_eq!(events[0], Event::TextMessage(TextMessage::new("in flight")));
    assert!(matches!(&events[1], Event::Ping(p) if p.payload == "late"));
    // No pong after our close frame.
    assert!(client.bytes_to_send().is_empty());
    assert_eq!(client.state(), State::LocalClosing);
    server.receive_bytes(&close);
    drain_ok(&mut server);
    transfer(&mut server, &mut client);
    assert!(matches!(
        &drain_ok(&mut client)[..],
        [Event::CloseConnection(_)]
    ));
    assert_eq!(client.state(), State::Closed);
}

#[test]
fn input_after_a_close_frame_is_ignored() {
    let mut server = open_server();
    let mut wire = masked(FIN | CLOSE, &close_payload(1000, b""));
    wire.extend(masked(FIN | TEXT, b"after close"));
    wire.extend(masked(FIN | PING, b"p"));
    server.receive_bytes(&wire);
    assert_eq!(drain_ok(&mut server), [close_event(1000, "")]);
    let frames = parse_frames(&server.bytes_to_send());
    assert_eq!(frames.len(), 1, "only the close reply: {frames:?}");
    server.receive_bytes(&masked(FIN | TEXT, b"more"));
    assert!(server.next_event().is_none());
}

#[test]
fn pong_owed_before_the_close_is_sent_first() {
    let mut server = open_server();
    server.receive_bytes(
        &[
            masked(FIN | PING, b"p1"),
            masked(FIN | CLOSE, &close_payload(1000, b"")),
        ]
        .concat(),
    );
    let events = drain_ok(&mut server);
    assert_eq!(events.len(), 2);
    let frames = parse_frames(&server.bytes_to_send());
    let kinds: Vec<u8> = frames.iter().map(|f| f.opcode).collect();
    assert_eq!(kinds, [PONG, CLOSE]);
    assert_eq!(frames[0].payload, b"p1");
}

#[test]
fn reply_taken_with_bytes_to_send_into_or_advance_output_closes() {
    let mut server = open_server();
    server.receive_bytes(&masked(FIN | CLOSE, &close_payload(1000, b"")));
    drain_ok(&mut server);
    assert_eq!(server.state(), State::RemoteClosing);
    let mut buf = b"prefix".to_vec();
    server.bytes_to_send_into(&mut buf);
    assert_eq!(&buf[..6], b"prefix");
    assert_eq!(parse_frames(&buf[6..])[0].close_code(), Some(1000));
    assert_eq!(server.state(), State::Closed);

    let mut server = open_server();
    server.receive_bytes(&masked(FIN | CLOSE, &close_payload(1000, b"")));
    drain_ok(&mut server);
    let mut slices = [std::io::IoSlice::new(&[]); 4];
    let n = server.output_vectored(&mut slices);
    let total: usize = slices[..n].iter().map(|s| s.len()).sum();
    assert_eq!(total, 4);
    server.advance_output(3);
    assert_eq!(
        server.state(),
        State::RemoteClosing,
        "one byte still unsent"
    );
    server.advance_output(1);
    assert_eq!(server.state(), State::Closed);
}

#[test]
fn eof_before_close_is_1006_on_both_roles() {
    let (mut client, mut server) = open_pair();
    for side in [&mut client, &mut server] {
        side.receive_eof();
        assert_eq!(drain_ok(side), [close_event(1006, "")]);
        assert_eq!(side.state(), State::Closed);
        assert!(side.bytes_to_send().is_empty(), "nothing to answer an EOF");
        assert!(side.next_event().is_none());
        assert_cannot_send(side, State::Closed);
    }
}

#[test]
fn eof_reports_buffered_messages_first() {
    let mut server = open_server();
    server.receive_bytes(&masked(FIN | TEXT, b"last words"));
    server.receive_eof();
    assert_eq!(
        drain_ok(&mut server),
        [
            Event::TextMessage(TextMessage::new("last words")),
            close_event(1006, "")
        ]
    );
}

#[test]
fn eof_inside_a_frame_or_message_is_1006() {
    let mut server = open_server();
    let wire = masked(FIN | TEXT, b"truncated message");
    server.receive_bytes(&wire[..4]);
    server.receive_eof();
    assert_eq!(drain_ok(&mut server), [close_event(1006, "")]);

    let mut server = open_server();
    server.receive_bytes(&masked(TEXT, b"first half"));
    server.receive_eof();
    let events = drain_ok(&mut server);
    assert!(matches!(&events[0], Event::TextMessage(m) if !m.message_finished));
    assert_eq!(events[1], close_event(1006, ""));
}

#[test]
fn eof_while_waiting_for_the_close_reply_is_1006() {
    let mut client = open_client();
    client.send(CloseConnection::new(1000u16, "")).unwrap();
    let _ = client.bytes_to_send();
    client.receive_eof();
    assert_eq!(drain_ok(&mut client), [close_event(1006, "")]);
    assert_eq!(client.state(), State::Closed);
}

#[test]
fn bytes_after_eof_are_ignored() {
    let mut server = open_server();
    server.receive_eof();
    server.receive_bytes(&masked(FIN | TEXT, b"ghost"));
    assert_eq!(drain_ok(&mut server), [close_event(1006, "")]);
}

#[test]
fn close_codes_that_cannot_be_sent() {
    let mut client = open_client();
    for code in [0u16, 999, 1004, 1006, 1015, 1016, 2999, 5000] {
        assert_eq!(
            client.send(CloseConnection::new(code, "")),
            Err(LocalProtocolError::InvalidCloseCode(code))
        );
    }
    // 1005 means "no code": allowed only without a reason.
    assert_eq!(
        client.send(CloseConnection::new(1005u16, "why")),
        Err(LocalProtocolError::InvalidCloseCode(1005))
    );
    assert_eq!(client.state(), State::Open);
    assert!(client.bytes_to_send().is_empty(), "nothing queued on error");
}

#[test]
fn close_reason_length_limit() {
    let mut client = open_client();
    let err = client
        .send(CloseConnection::new(1000u16, "r".repeat(124)))
        .unwrap_err();
    assert_eq!(err, LocalProtocolError::ControlPayloadTooLong(126));
    assert_eq!(client.state(), State::Open);
    assert!(client.bytes_to_send().is_empty());
    // 123 bytes fill the 125-byte control payload exactly.
    client
        .send(CloseConnection::new(4000u16, "r".repeat(123)))
        .unwrap();
    let frames = parse_frames(&client.bytes_to_send());
    assert_eq!(frames[0].payload.len(), 125);
    assert_eq!(frames[0].close_code(), Some(4000));
}

#[test]
fn failure_close_reason_fits_a_control_frame() {
    // The failure message goes into the close reason: valid UTF-8, <= 123 bytes.
    let mut server = open_server();
    server.receive_bytes(&masked(FIN | CLOSE, &close_payload(1000, b"\xff")));
    let err = server.next_event().unwrap().unwrap_err();
    assert_close_answer(&err, &server.bytes_to_send(), 1007);
}

//! A client and a server `WsConnection` talking in memory: messages of the
//! sizes where the length encoding changes, fragmentation, pings and pongs
//! (including a ping flood), and the misuse the API refuses.

mod common;

use bytes::Bytes;
use common::*;
use wsproto::proto::{
    BytesMessage, Config, Event, LocalProtocolError, Ping, Pong, Request, Role, State, TextMessage,
    WsConnection,
};

const SIZES: [usize; 6] = [0, 125, 126, 65535, 65536, 1 << 20];

/// Delivers everything `from` queued to `to` and returns `to`'s messages.
fn exchange(from: &mut WsConnection, to: &mut WsConnection) -> Vec<Msg> {
    transfer(from, to);
    let mut c = Coalescer::default();
    for ev in drain_ok(to) {
        c.push(ev);
    }
    assert!(!c.in_message());
    c.messages
}

fn ascii(len: usize) -> String {
    (0..len).map(|i| (b'a' + (i % 26) as u8) as char).collect()
}

fn binary(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 256) as u8).collect()
}

#[test]
fn messages_of_every_length_encoding_both_ways() {
    let (mut client, mut server) = open_pair();
    for client_sends in [true, false] {
        let (from, to) = if client_sends {
            (&mut client, &mut server)
        } else {
            (&mut server, &mut client)
        };
        for len in SIZES {
            from.send(TextMessage::new(ascii(len))).unwrap();
            from.send(BytesMessage::new(binary(len))).unwrap();
            assert_eq!(
                exchange(from, to),
                [Msg::Text(ascii(len)), Msg::Binary(binary(len))],
                "length {len}"
            );
        }
    }
    assert_eq!(client.state(), State::Open);
    assert_eq!(server.state(), State::Open);
}

#[test]
fn wire_length_encoding_matches_the_rfc() {
    let (mut client, _server) = open_pair();
    for (len, header_len) in [(0, 6), (125, 6), (126, 8), (65535, 8), (65536, 14)] {
        client.send(BytesMessage::new(binary(len))).unwrap();
        let out = client.bytes_to_send();
        assert_eq!(out.len(), header_len + len, "length {len}");
        let frames = parse_frames(&out);
        assert_eq!(frames[0].payload, binary(len));
    }
}

#[test]
fn multibyte_text_round_trips_through_byte_by_byte_reads() {
    let (mut client, mut server) = open_pair();
    let text = "héllo wörld 😀 €uro 𝄞 end".repeat(50);
    client.send(TextMessage::new(text.clone())).unwrap();
    let wire = client.bytes_to_send();
    let mut got = String::new();
    for b in wire.iter() {
        server.receive_bytes(&[*b]);
        for ev in drain_ok(&mut server) {
            let Event::TextMessage(m) = ev else { panic!() };
            got.push_str(&m.data);
        }
    }
    assert_eq!(got, text);
}

#[test]
fn fragmented_text_with_multibyte_characters() {
    let (mut client, mut server) = open_pair();
    client.send(TextMessage::fragment("a😀", false)).unwrap();
    client.send(Ping::new(&b"mid"[..])).unwrap();
    client.send(TextMessage::fragment("b", false)).unwrap();
    client.send(TextMessage::fragment("😀c", true)).unwrap();
    let wire = client.bytes_to_send();
    let frames = parse_frames(&wire);
    let shape: Vec<(bool, u8)> = frames.iter().map(|f| (f.fin, f.opcode)).collect();
    assert_eq!(
        shape,
        [(false, TEXT), (true, PING), (false, CONT), (true, CONT)]
    );
    server.receive_bytes(&wire);
    let mut c = Coalescer::default();
    drain_ok(&mut server).into_iter().for_each(|e| c.push(e));
    assert_eq!(
        c.messages,
        [Msg::Ping(b"mid".to_vec()), Msg::Text("a😀b😀c".into())]
    );
}

#[test]
fn four_byte_character_split_across_frames_is_never_mis_decoded() {
    // A peer may split a character between frames; the `TextMessage` API
    // cannot (its data is always whole characters), so write the frames.
    let emoji = "😀".as_bytes();
    for cut in 1..4 {
        let mut server = open_server();
        server.receive_bytes(&masked(TEXT, &[b"x", &emoji[..cut]].concat()));
        let first = drain_ok(&mut server);
        // Only whole characters are reported.
        assert!(
            matches!(&first[..], [Event::TextMessage(m)] if m.data == "x" && m.frame_finished && !m.message_finished)
        );
        server.receive_bytes(&masked(FIN | CONT, &[&emoji[cut..], b"y"].concat()));
        let second = drain_ok(&mut server);
        assert!(
            matches!(&second[..], [Event::TextMessage(m)] if m.data == "😀y" && m.message_finished),
            "cut {cut}: {second:?}"
        );
    }
}

#[test]
fn fragmented_binary_round_trip_with_zero_length_fragments() {
    let (mut client, mut server) = open_pair();
    server
        .send(BytesMessage::fragment(Bytes::new(), false))
        .unwrap();
    server
        .send(BytesMessage::fragment(binary(70000), false))
        .unwrap();
    server
        .send(BytesMessage::fragment(Bytes::new(), true))
        .unwrap();
    assert_eq!(
        exchange(&mut server, &mut client),
        [Msg::Binary(binary(70000))]
    );
}

#[test]
fn ping_is_answered_automatically() {
    let (mut client, mut server) = open_pair();
    client.send(Ping::new(&b"heartbeat"[..])).unwrap();
    assert_eq!(
        exchange(&mut client, &mut server),
        [Msg::Ping(b"heartbeat".to_vec())]
    );
    assert!(server.has_bytes_to_send());
    assert_eq!(
        exchange(&mut server, &mut client),
        [Msg::Pong(b"heartbeat".to_vec())]
    );
    // The pong is not answered.
    assert!(client.bytes_to_send().is_empty());

    // Server pings, client answers (masked).
    server.send(Ping::new(Bytes::new())).unwrap();
    assert_eq!(exchange(&mut server, &mut client), [Msg::Ping(vec![])]);
    let out = client.bytes_to_send();
    let frames = parse_frames(&out);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].opcode, PONG);
    assert!(frames[0].mask.is_some());
}

#[test]
fn unsolicited_pong_is_delivered_and_not_answered() {
    let (mut client, mut server) = open_pair();
    server.send(Pong::new(&b"unsolicited"[..])).unwrap();
    assert_eq!(
        exchange(&mut server, &mut client),
        [Msg::Pong(b"unsolicited".to_vec())]
    );
    assert!(!client.has_bytes_to_send());
    assert!(client.bytes_to_send().is_empty());
}

#[test]
fn ping_flood_leaves_one_pong_with_the_newest_payload() {
    for role in [Role::Server, Role::Client] {
        let mut conn = match role {
            Role::Server => open_server(),
            Role::Client => open_client(),
        };
        let mut wire = Vec::new();
        for i in 0..10_000 {
            let p = format!("ping {i}");
            wire.extend(match role {
                Role::Server => masked(FIN | PING, p.as_bytes()),
                Role::Client => unmasked(FIN | PING, p.as_bytes()),
            });
        }
        conn.receive_bytes(&wire);
        let events = drain_ok(&mut conn);
        assert_eq!(events.len(), 10_000);
        assert!(events.iter().all(|e| matches!(e, Event::Ping(_))));
        let frames = parse_frames(&conn.bytes_to_send());
        assert_eq!(frames.len(), 1, "{role:?}: {} pongs", frames.len());
        assert_eq!(frames[0].opcode, PONG);
        assert_eq!(frames[0].payload, b"ping 9999");
        assert!(conn.bytes_to_send().is_empty());
    }
}

#[test]
fn pings_with_output_taken_in_between_each_get_a_pong() {
    let mut server = open_server();
    for i in 0..3u8 {
        server.receive_bytes(&masked(FIN | PING, &[i]));
        drain_ok(&mut server);
        let frames = parse_frames(&server.bytes_to_send());
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].payload, [i]);
    }
}

#[test]
fn auto_pong_off_queues_nothing() {
    let mut server = open_server_with(Config::default().auto_pong(false));
    server.receive_bytes(&masked(FIN | PING, b"manual"));
    assert_eq!(
        drain_ok(&mut server),
        [Event::Ping(Ping::new(&b"manual"[..]))]
    );
    assert!(!server.has_bytes_to_send());
    assert!(server.bytes_to_send().is_empty());
    server.send(TextMessage::new("msg")).unwrap();
    let frames = parse_frames(&server.bytes_to_send());
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].opcode, TEXT);
    // The application answers itself.
    server.send(Pong::new(&b"manual"[..])).unwrap();
    assert_eq!(
        server.bytes_to_send()[..],
        [0x8a, 0x06, b'm', b'a', b'n', b'u', b'a', b'l']
    );
}

#[test]
fn owed_pong_precedes_a_message_sent_after_the_ping() {
    let mut server = open_server();
    server.receive_bytes(&masked(FIN | PING, b"first"));
    server.receive_bytes(&masked(FIN | PING, b"second"));
    drain_ok(&mut server);
    server.send(TextMessage::new("reply")).unwrap();
    server.send(BytesMessage::new(binary(5000))).unwrap();
    let frames = parse_frames(&server.bytes_to_send());
    let kinds: Vec<u8> = frames.iter().map(|f| f.opcode).collect();
    assert_eq!(kinds, [PONG, TEXT, BINARY]);
    assert_eq!(frames[0].payload, b"second");
    assert_eq!(frames[1].payload, b"reply");
}

#[test]
fn an_application_pong_echoing_the_ping_answers_it() {
    let mut server = open_server();
    server.receive_bytes(&masked(FIN | PING, b"same"));
    drain_ok(&mut server);
    server.send(Pong::new(&b"same"[..])).unwrap();
    let frames = parse_frames(&server.bytes_to_send());
    // Answered (once or twice); every frame is that answer.
    assert!(!frames.is_empty() && frames.len() <= 2, "{frames:?}");
    assert!(
        frames
            .iter()
            .all(|f| f.opcode == PONG && f.payload == b"same")
    );
}

#[test]
fn unsolicited_pong_does_not_cancel_the_owed_pong() {
    let mut server = open_server();
    server.receive_bytes(&masked(FIN | PING, b"auto"));
    drain_ok(&mut server);
    server.send(Pong::new(&b"mine"[..])).unwrap();
    let frames = parse_frames(&server.bytes_to_send());
    let payloads: Vec<&[u8]> = frames.iter().map(|f| &f.payload[..]).collect();
    assert_eq!(payloads, [&b"auto"[..], &b"mine"[..]]);
}

#[test]
fn control_payloads_over_125_bytes_are_refused() {
    let mut client = open_client();
    assert_eq!(
        client.send(Ping::new(vec![0u8; 126])),
        Err(LocalProtocolError::ControlPayloadTooLong(126))
    );
    assert_eq!(
        client.send(Pong::new(vec![0u8; 200])),
        Err(LocalProtocolError::ControlPayloadTooLong(200))
    );
    assert!(client.bytes_to_send().is_empty());
    client.send(Ping::new(vec![0u8; 125])).unwrap();
    assert_eq!(parse_frames(&client.bytes_to_send())[0].payload.len(), 125);
    assert_eq!(client.state(), State::Open);
}

#[test]
fn continuing_a_message_with_the_other_type_is_refused() {
    let (mut client, mut server) = open_pair();
    client
        .send(BytesMessage::fragment(&b"bin"[..], false))
        .unwrap();
    assert_eq!(
        client.send(TextMessage::fragment("text", true)),
        Err(LocalProtocolError::MessageTypeMismatch)
    );
    assert_eq!(
        client.send(TextMessage::new("text")),
        Err(LocalProtocolError::MessageTypeMismatch)
    );
    // The refused sends queued nothing; the message can still be finished.
    client
        .send(BytesMessage::fragment(&b"ary"[..], true))
        .unwrap();
    assert_eq!(
        exchange(&mut client, &mut server),
        [Msg::Binary(b"binary".to_vec())]
    );
    server.send(TextMessage::fragment("t", false)).unwrap();
    assert_eq!(
        server.send(BytesMessage::new(&b"b"[..])),
        Err(LocalProtocolError::MessageTypeMismatch)
    );
}

#[test]
fn messages_cannot_be_sent_before_the_handshake() {
    let wrong = |c: &mut WsConnection| {
        for ev in [
            Event::TextMessage(TextMessage::new("early")),
            Event::BytesMessage(BytesMessage::new(&b"early"[..])),
            Event::Ping(Ping::new(&b""[..])),
            Event::CloseConnection(wsproto::CloseConnection::new(1000u16, "")),
        ] {
            let name = ev.name();
            assert_eq!(
                c.send(ev),
                Err(LocalProtocolError::WrongState {
                    event: name,
                    state: State::Connecting
                })
            );
        }
        assert!(c.bytes_to_send().is_empty());
    };
    let mut client = WsConnection::new(Role::Client);
    wrong(&mut client);
    client.send(Request::new("h", "/")).unwrap();
    let request = client.bytes_to_send();
    wrong(&mut client);
    let mut server = WsConnection::new(Role::Server);
    wrong(&mut server);
    server.receive_bytes(&request);
    assert!(matches!(server.next_event(), Some(Ok(Event::Request(_)))));
    wrong(&mut server);
    assert_eq!(server.state(), State::Connecting);
    // A second request is refused too.
    assert!(matches!(
        client.send(Request::new("h", "/")),
        Err(LocalProtocolError::WrongState { .. })
    ));
}

#[test]
fn output_apis_agree() {
    // Server output is deterministic (no masking): three ways of taking it
    // give the same bytes.
    let script = |s: &mut WsConnection| {
        s.send(TextMessage::new("small")).unwrap();
        s.send(BytesMessage::new(binary(10_000))).unwrap();
        s.send(Ping::new(&b"p"[..])).unwrap();
        s.send(BytesMessage::new(binary(5000))).unwrap();
    };
    let mut a = open_server();
    script(&mut a);
    let whole = a.bytes_to_send();

    let mut b = open_server();
    script(&mut b);
    let mut into = Vec::new();
    b.bytes_to_send_into(&mut into);
    assert_eq!(into, whole[..]);

    let mut c = open_server();
    script(&mut c);
    let mut vectored = Vec::new();
    loop {
        let mut slices = [std::io::IoSlice::new(&[]); 2];
        let n = c.output_vectored(&mut slices);
        if n == 0 {
            break;
        }
        // Write at most 3000 bytes per "syscall".
        let mut written = 0;
        for s in &slices[..n] {
            let take = s.len().min(3000 - written);
            vectored.extend_from_slice(&s[..take]);
            written += take;
            if written == 3000 {
                break;
            }
        }
        c.advance_output(written);
    }
    assert_eq!(vectored, whole[..]);
    assert!(!c.has_bytes_to_send());
}

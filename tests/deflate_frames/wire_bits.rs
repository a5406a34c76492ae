//! Where RSV1 (and RSV2, RSV3) may and may not appear; control frames stay plain.

use super::*;

// ---------------------------------------------------------------------------
// RSV1 on the wire.

#[test]
fn rsv1_marks_the_first_frame_of_a_compressed_message() {
    let (mut client, mut server) = pair();
    let text = text_of(4000);
    client.send(TextMessage::new(text.clone())).unwrap();
    let wire = client.bytes_to_send();
    let frames = parse_frames(&wire);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].rsv, RSV1);
    assert!(frames[0].fin);
    assert_eq!(frames[0].opcode, TEXT);
    assert!(frames[0].payload.len() < text.len() / 3);
    // Tail stripped (RFC 7692 §7.2.1): the payload must not end in 00 00 ff ff.
    assert!(!frames[0].payload.ends_with(&[0x00, 0x00, 0xff, 0xff]));
    assert_eq!(inflate(&frames[0].payload), text.as_bytes());
    server.receive_bytes(&wire);
    assert_eq!(messages(&mut server), [Msg::Text(text.clone())]);

    // The server's frames too (unmasked), binary as well as text.
    server
        .send(BytesMessage::new(text.clone().into_bytes()))
        .unwrap();
    let wire = server.bytes_to_send();
    let frames = parse_frames(&wire);
    assert_eq!((frames[0].rsv, frames[0].opcode), (RSV1, BINARY));
    assert!(frames[0].mask.is_none());
    client.receive_bytes(&wire);
    assert_eq!(messages(&mut client), [Msg::Binary(text.into_bytes())]);
}

#[test]
fn rsv1_only_on_the_first_of_fragmented_compressed_frames() {
    let (mut client, mut server) = pair();
    let parts = [text_of(3000), text_of(50), String::new(), text_of(7000)];
    let total: String = parts.concat();
    for (i, p) in parts.iter().enumerate() {
        let last = i == parts.len() - 1;
        client.send(TextMessage::fragment(p.clone(), last)).unwrap();
    }
    let wire = client.bytes_to_send();
    let frames = parse_frames(&wire);
    assert_eq!(frames.len(), parts.len());
    assert_eq!(
        (frames[0].rsv, frames[0].opcode, frames[0].fin),
        (RSV1, TEXT, false)
    );
    for f in &frames[1..] {
        assert_eq!(f.rsv, 0, "RSV1 on a continuation frame: {f:?}");
        assert_eq!(f.opcode, CONT);
    }
    assert!(frames.last().unwrap().fin);
    let joined: Vec<u8> = frames.iter().flat_map(|f| f.payload.clone()).collect();
    assert_eq!(inflate(&joined), total.as_bytes());
    server.receive_bytes(&wire);
    assert_eq!(messages(&mut server), [Msg::Text(total)]);
}

#[test]
fn compressed_fragmented_messages_round_trip_both_ways() {
    let (mut client, mut server) = pair();
    for round in 0..4 {
        let pieces: Vec<Vec<u8>> = (0..5)
            .map(|i| text_of(200 + 1000 * i + round).into_bytes())
            .collect();
        let total: Vec<u8> = pieces.concat();
        for (i, p) in pieces.iter().enumerate() {
            let last = i + 1 == pieces.len();
            server
                .send(BytesMessage::fragment(p.clone(), last))
                .unwrap();
            client
                .send(BytesMessage::fragment(p.clone(), last))
                .unwrap();
        }
        transfer(&mut server, &mut client);
        transfer(&mut client, &mut server);
        assert_eq!(messages(&mut client), [Msg::Binary(total.clone())]);
        assert_eq!(messages(&mut server), [Msg::Binary(total)]);
    }
    // Interleaved with control frames between the fragments.
    client
        .send(TextMessage::fragment(text_of(500), false))
        .unwrap();
    client.send(Ping::new(&b"mid"[..])).unwrap();
    client
        .send(TextMessage::fragment(text_of(600), true))
        .unwrap();
    transfer(&mut client, &mut server);
    assert_eq!(
        messages(&mut server),
        [
            Msg::Ping(b"mid".to_vec()),
            Msg::Text(text_of(500) + &text_of(600))
        ]
    );
}

// Regression (fixed in 6ecc551): an empty piece after a sync flush made
// zlib produce nothing; compress() then panicked on a debug_assert (debug)
// or sent an empty payload (release) that desynchronised the peer.
#[test]
fn a_fragmented_message_whose_last_fragment_is_empty() {
    // Streaming senders often end a message with an empty final fragment.
    let (mut client, mut server) = pair();
    let body = text_of(2000);
    client
        .send(TextMessage::fragment(body.clone(), false))
        .unwrap();
    client.send(TextMessage::fragment("", true)).unwrap();
    let wire = client.bytes_to_send();
    let frames = parse_frames(&wire);
    assert_eq!(frames.len(), 2);
    assert_eq!(
        frames[1].payload,
        [0x00],
        "RFC 7692 §7.2.3.6: the empty fragment is 0x00"
    );
    server.receive_bytes(&wire);
    assert_eq!(messages(&mut server), [Msg::Text(body.clone())]);
    // And the contexts are still in step for the next message.
    client.send(TextMessage::new(body.clone())).unwrap();
    transfer(&mut client, &mut server);
    assert_eq!(messages(&mut server), [Msg::Text(body)]);
}

// Regression (fixed in 6ecc551): same root cause as
// a_fragmented_message_whose_last_fragment_is_empty.
#[test]
fn empty_messages_with_min_size_zero() {
    // min_size 0 compresses even empty messages, again and again.
    let (mut client, mut server) = pair_with(DeflateConfig::default().min_size(0));
    for _ in 0..3 {
        client.send(TextMessage::new("")).unwrap();
        client.send(BytesMessage::new(Bytes::new())).unwrap();
        client.send(TextMessage::new(text_of(100))).unwrap();
    }
    let wire = client.bytes_to_send();
    for f in parse_frames(&wire) {
        assert_eq!(f.rsv, RSV1, "{f:?}");
        assert!(!f.payload.is_empty(), "an empty compressed payload: {f:?}");
    }
    server.receive_bytes(&wire);
    let got = messages(&mut server);
    let expected: Vec<Msg> = (0..3)
        .flat_map(|_| {
            [
                Msg::Text(String::new()),
                Msg::Binary(Vec::new()),
                Msg::Text(text_of(100)),
            ]
        })
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn the_first_empty_message_with_min_size_zero_is_0x00() {
    // On a fresh (or reset) context the sync flush does produce output.
    let (mut client, mut server) = pair_with(
        DeflateConfig::default()
            .min_size(0)
            .client_no_context_takeover(true),
    );
    for _ in 0..3 {
        client.send(TextMessage::new("")).unwrap();
    }
    let wire = client.bytes_to_send();
    for f in parse_frames(&wire) {
        assert_eq!((f.rsv, &f.payload[..]), (RSV1, &[0x00][..]));
    }
    server.receive_bytes(&wire);
    assert_eq!(messages(&mut server), vec![Msg::Text(String::new()); 3]);
}

#[test]
fn a_message_below_min_size_is_sent_plain() {
    let (mut client, mut server) = pair(); // min_size 32
    let short = "x".repeat(31);
    let long = "x".repeat(32);
    client.send(TextMessage::new(short.clone())).unwrap();
    client.send(TextMessage::new(long.clone())).unwrap();
    client.send(TextMessage::new("")).unwrap();
    let wire = client.bytes_to_send();
    let frames = parse_frames(&wire);
    assert_eq!(frames[0].rsv, 0);
    assert_eq!(frames[0].payload, short.as_bytes());
    assert_eq!(frames[1].rsv, RSV1);
    assert_ne!(frames[1].payload, long.as_bytes());
    assert_eq!(frames[2].rsv, 0);
    assert!(frames[2].payload.is_empty());
    server.receive_bytes(&wire);
    assert_eq!(
        messages(&mut server),
        [Msg::Text(short), Msg::Text(long), Msg::Text(String::new())]
    );

    // A larger threshold.
    let (mut client, _) = pair_with(DeflateConfig::default().min_size(1000));
    client.send(TextMessage::new(text_of(999))).unwrap();
    client.send(TextMessage::new(text_of(1000))).unwrap();
    let frames = parse_frames(&client.bytes_to_send());
    assert_eq!(frames[0].rsv, 0);
    assert_eq!(frames[1].rsv, RSV1);
}

#[test]
fn min_size_looks_at_the_first_fragment() {
    // A message whose first fragment is short goes out plain as a whole,
    // however long it ends up.
    let (mut client, mut server) = pair();
    client.send(TextMessage::fragment("tiny", false)).unwrap();
    client
        .send(TextMessage::fragment(text_of(5000), true))
        .unwrap();
    let wire = client.bytes_to_send();
    let frames = parse_frames(&wire);
    assert_eq!(frames[0].rsv, 0);
    assert_eq!(frames[1].rsv, 0);
    assert_eq!(frames[1].payload, text_of(5000).as_bytes());
    server.receive_bytes(&wire);
    assert_eq!(
        messages(&mut server),
        [Msg::Text(format!("tiny{}", text_of(5000)))]
    );
}

#[test]
fn level_zero_stores_and_still_round_trips() {
    let (mut client, mut server) = pair_with(DeflateConfig::default().level(0));
    let text = text_of(3000);
    client.send(TextMessage::new(text.clone())).unwrap();
    let wire = client.bytes_to_send();
    let f = &parse_frames(&wire)[0];
    assert_eq!(f.rsv, RSV1);
    assert!(f.payload.len() >= text.len());
    server.receive_bytes(&wire);
    assert_eq!(messages(&mut server), [Msg::Text(text)]);
}

// ---------------------------------------------------------------------------
// Control frames are never compressed.

#[test]
fn control_frames_are_never_compressed() {
    let (mut client, mut server) = pair_with(DeflateConfig::default().min_size(0));
    let payload = vec![b'a'; 125];
    client.send(Ping::new(payload.clone())).unwrap();
    client.send(Pong::new(payload.clone())).unwrap();
    let reason = "r".repeat(100);
    client
        .send(CloseConnection::new(1000, reason.clone()))
        .unwrap();
    let wire = client.bytes_to_send();
    let frames = parse_frames(&wire);
    assert_eq!(frames.len(), 3);
    for f in &frames {
        assert_eq!(f.rsv, 0, "{f:?}");
        assert!(f.fin);
    }
    assert_eq!((frames[0].opcode, &frames[0].payload), (PING, &payload));
    assert_eq!((frames[1].opcode, &frames[1].payload), (PONG, &payload));
    assert_eq!(frames[2].close_code(), Some(1000));
    assert_eq!(&frames[2].payload[2..], reason.as_bytes());

    // The server's automatic pong and close reply are plain too.
    server.receive_bytes(&wire);
    let evs = drain_ok(&mut server);
    assert_eq!(evs.len(), 3);
    for f in parse_frames(&server.bytes_to_send()) {
        assert_eq!(f.rsv, 0, "{f:?}");
    }
}

#[test]
fn a_plain_ping_between_compressed_fragments_is_accepted() {
    let mut client = client_with("permessage-deflate");
    let mut bytes = unmasked(RSV1 | TEXT, &HELLO[..3]);
    bytes.extend(unmasked(FIN | PING, b"ping"));
    bytes.extend(unmasked(FIN | CONT, &HELLO[3..]));
    client.receive_bytes(&bytes);
    assert_eq!(
        messages(&mut client),
        [Msg::Ping(b"ping".to_vec()), Msg::Text("Hello".into())]
    );
}

// ---------------------------------------------------------------------------
// RSV bits where they do not belong: 1002.

#[test]
fn rsv1_on_a_continuation_frame_is_a_protocol_error() {
    let mut client = client_with("permessage-deflate");
    let mut bytes = unmasked(RSV1 | TEXT, &HELLO[..3]);
    bytes.extend(unmasked(FIN | RSV1 | CONT, &HELLO[3..]));
    expect_failure(&mut client, &bytes, 1002);

    // Also when the first frame was not compressed.
    let mut client = client_with("permessage-deflate");
    let mut bytes = unmasked(TEXT, b"Hel");
    bytes.extend(unmasked(FIN | RSV1 | CONT, b"lo"));
    expect_failure(&mut client, &bytes, 1002);

    // And at a server.
    let mut server = server_with("permessage-deflate");
    let mut bytes = masked(RSV1 | BINARY, &HELLO[..3]);
    bytes.extend(masked(FIN | RSV1 | CONT, &HELLO[3..]));
    expect_failure(&mut server, &bytes, 1002);
}

#[test]
fn rsv1_on_a_control_frame_is_a_protocol_error() {
    for opcode in [PING, PONG, CLOSE] {
        let mut client = client_with("permessage-deflate");
        let payload: &[u8] = if opcode == CLOSE { &[0x03, 0xe8] } else { b"x" };
        expect_failure(&mut client, &unmasked(FIN | RSV1 | opcode, payload), 1002);

        let mut server = server_with("permessage-deflate");
        expect_failure(&mut server, &masked(FIN | RSV1 | opcode, payload), 1002);
    }
    // Even an empty ping.
    let mut client = client_with("permessage-deflate");
    expect_failure(&mut client, &unmasked(FIN | RSV1 | PING, b""), 1002);
}

#[test]
fn rsv1_without_deflate_negotiated_is_a_protocol_error() {
    // Neither side configured deflate.
    let mut client = open_client();
    expect_failure(&mut client, &unmasked(FIN | RSV1 | TEXT, &HELLO), 1002);
    let mut server = open_server();
    expect_failure(&mut server, &masked(FIN | RSV1 | BINARY, &HELLO), 1002);

    // The client offered deflate but the server did not accept it.
    let (mut client, mut server) =
        open_pair_with(dcfg(DeflateConfig::default()), Config::default());
    assert!(client.extensions().is_empty());
    expect_failure(&mut client, &unmasked(FIN | RSV1 | TEXT, &HELLO), 1002);
    // The server configured deflate but the client did not offer it.
    let (_, mut server2) = open_pair_with(Config::default(), dcfg(DeflateConfig::default()));
    assert!(server2.extensions().is_empty());
    expect_failure(&mut server2, &masked(FIN | RSV1 | TEXT, &HELLO), 1002);
    let _ = &mut server;
}

#[test]
fn rsv2_and_rsv3_stay_forbidden_with_deflate() {
    for rsv in [RSV2, RSV3, RSV1 | RSV2, RSV1 | RSV3] {
        let mut client = client_with("permessage-deflate");
        expect_failure(&mut client, &unmasked(FIN | rsv | TEXT, &HELLO), 1002);
    }
}

#[test]
fn a_plain_message_after_compressed_ones_and_back() {
    // RSV1 decides per message (RFC 7692 §6): plain and compressed messages
    // mix freely on one connection.
    let mut client = client_with("permessage-deflate");
    let mut bytes = unmasked(FIN | RSV1 | TEXT, &HELLO);
    bytes.extend(unmasked(FIN | TEXT, b"plain"));
    bytes.extend(unmasked(FIN | RSV1 | TEXT, &HELLO));
    bytes.extend(unmasked(FIN | BINARY, &HELLO));
    client.receive_bytes(&bytes);
    assert_eq!(
        messages(&mut client),
        [
            Msg::Text("Hello".into()),
            Msg::Text("plain".into()),
            Msg::Text("Hello".into()),
            Msg::Binary(HELLO.to_vec()),
        ]
    );
}

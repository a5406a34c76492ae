//! Delivery in pieces, and the RFC 7692 §7.2.3 examples fed to a client.

use super::*;

// ---------------------------------------------------------------------------
// Delivery in pieces.

#[test]
fn byte_by_byte_reads_decode_identically() {
    let (mut client, mut server) = pair();
    let text = text_of(20_000);
    let data: Vec<u8> = (0..30_000u32).map(|i| (i * i % 251) as u8).collect();
    client.send(TextMessage::new(text.clone())).unwrap();
    client.send(BytesMessage::new(data.clone())).unwrap();
    for (i, p) in [text_of(300), text_of(4000), text_of(10)]
        .iter()
        .enumerate()
    {
        client
            .send(TextMessage::fragment(p.clone(), i == 2))
            .unwrap();
    }
    let wire = client.bytes_to_send();
    assert_eq!(parse_frames(&wire)[0].rsv, RSV1);

    let mut bytewise = Coalescer::default();
    // Feed one byte at a time, draining after each.
    for b in wire.iter() {
        server.receive_bytes(std::slice::from_ref(b));
        while let Some(ev) = server.next_event() {
            bytewise.push(ev.expect("no error"));
        }
    }
    let expected = vec![
        Msg::Text(text),
        Msg::Binary(data),
        Msg::Text(format!("{}{}{}", text_of(300), text_of(4000), text_of(10))),
    ];
    assert_eq!(bytewise.messages, expected);

    // Whole delivery of the same bytes to another server decodes the same.
    let (_, mut other) = pair();
    other.receive_bytes(&wire);
    assert_eq!(messages(&mut other), expected);

    // And in uneven chunks (prime sizes) too.
    let (_, mut chunked) = pair();
    let mut c = Coalescer::default();
    for piece in wire.chunks(97) {
        chunked.receive_bytes(piece);
        while let Some(ev) = chunked.next_event() {
            c.push(ev.expect("no error"));
        }
    }
    assert_eq!(c.messages, expected);
}

#[test]
fn rfc_hello_fed_byte_by_byte() {
    let mut client = client_with("permessage-deflate");
    let wire = unmasked(FIN | RSV1 | TEXT, &HELLO);
    let mut c = Coalescer::default();
    for b in &wire {
        client.receive_bytes(std::slice::from_ref(b));
        while let Some(ev) = client.next_event() {
            c.push(ev.unwrap());
        }
    }
    assert_eq!(c.messages, [Msg::Text("Hello".into())]);
}

#[test]
fn many_compressed_messages_with_context_takeover() {
    let (mut client, mut server) = pair();
    let mut expected = Vec::new();
    for i in 0..200 {
        let t = format!("{} #{i}", text_of(100 + i * 13));
        client.send(TextMessage::new(t.clone())).unwrap();
        server.send(TextMessage::new(t.clone())).unwrap();
        expected.push(Msg::Text(t));
    }
    transfer(&mut client, &mut server);
    transfer(&mut server, &mut client);
    assert_eq!(messages(&mut server), expected);
    assert_eq!(messages(&mut client), expected);
}

// ---------------------------------------------------------------------------
// The RFC 7692 §7.2.3 examples, fed to a client.

#[test]
fn rfc7692_7_2_3_1_hello_in_one_frame() {
    assert_eq!(
        client_receives(&[unmasked(FIN | RSV1 | TEXT, &HELLO)]),
        [Msg::Text("Hello".into())]
    );
    // The exact frame as printed in the RFC: 0xc1 0x07 then the payload.
    let mut exact = vec![0xc1, 0x07];
    exact.extend_from_slice(&HELLO);
    assert_eq!(client_receives(&[exact]), [Msg::Text("Hello".into())]);
}

#[test]
fn rfc7692_7_2_3_1_hello_in_two_fragments() {
    assert_eq!(
        client_receives(&[
            unmasked(RSV1 | TEXT, &[0xf2, 0x48, 0xcd]),
            unmasked(FIN | CONT, &[0xc9, 0xc9, 0x07, 0x00]),
        ]),
        [Msg::Text("Hello".into())]
    );
    // As printed: 0x41 0x03 ... 0x80 0x04 ...
    assert_eq!(
        client_receives(&[
            vec![0x41, 0x03, 0xf2, 0x48, 0xcd],
            vec![0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00],
        ]),
        [Msg::Text("Hello".into())]
    );
}

#[test]
fn rfc7692_7_2_3_2_sharing_the_window() {
    // The second "Hello" is a back-reference into the first message.
    assert_eq!(
        client_receives(&[
            unmasked(FIN | RSV1 | TEXT, &HELLO),
            unmasked(FIN | RSV1 | TEXT, &[0xf2, 0x00, 0x11, 0x00, 0x00]),
        ]),
        [Msg::Text("Hello".into()), Msg::Text("Hello".into())]
    );
}

#[test]
fn rfc7692_7_2_3_2_without_takeover_the_reference_is_invalid() {
    // With server_no_context_takeover agreed, the client resets its inflater
    // between messages, so the back-reference points before the start.
    let mut client = client_with("permessage-deflate; server_no_context_takeover");
    client.receive_bytes(&unmasked(FIN | RSV1 | TEXT, &HELLO));
    assert_eq!(messages(&mut client), [Msg::Text("Hello".into())]);
    expect_failure(
        &mut client,
        &unmasked(FIN | RSV1 | TEXT, &[0xf2, 0x00, 0x11, 0x00, 0x00]),
        1007,
    );
}

#[test]
fn rfc7692_7_2_3_3_a_block_with_no_compression() {
    assert_eq!(
        client_receives(&[unmasked(
            FIN | RSV1 | TEXT,
            &[
                0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00
            ],
        )]),
        [Msg::Text("Hello".into())]
    );
}

// Regression (fixed in 6ecc551): this failed with 1007 "data after the end
// of the DEFLATE stream".
#[test]
fn rfc7692_7_2_3_4_a_block_with_bfinal_set() {
    assert_eq!(
        client_receives(&[unmasked(
            FIN | RSV1 | TEXT,
            &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00],
        )]),
        [Msg::Text("Hello".into())]
    );
}

#[test]
fn blocks_after_a_bfinal_block_in_the_same_message_are_decoded() {
    // "Hello" in a final fixed-Huffman block, then " world" in a stored
    // block of a new stream, then the header byte of the stripped tail.
    let mut payload = vec![0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    payload.extend(stored_block(b" world"));
    payload.push(0x00);
    assert_eq!(
        client_receives(&[unmasked(FIN | RSV1 | TEXT, &payload)]),
        [Msg::Text("Hello world".into())]
    );
    // Split across two frames at the stream boundary.
    assert_eq!(
        client_receives(&[
            unmasked(RSV1 | TEXT, &payload[..7]),
            unmasked(FIN | CONT, &payload[7..]),
        ]),
        [Msg::Text("Hello world".into())]
    );
}

#[test]
fn a_final_block_without_trailing_bytes_then_more_messages() {
    // A sender that ends each message with BFINAL=1 and nothing after it
    // (e.g. a one-shot compressor): each message decodes, and so do the
    // following ones (the inflater starts a new stream).
    let bfinal_hello = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    assert_eq!(
        client_receives(&[
            unmasked(FIN | RSV1 | TEXT, &bfinal_hello),
            unmasked(FIN | RSV1 | TEXT, &bfinal_hello),
            unmasked(FIN | RSV1 | TEXT, &HELLO),
        ]),
        [
            Msg::Text("Hello".into()),
            Msg::Text("Hello".into()),
            Msg::Text("Hello".into())
        ]
    );
    // The same from miniz_oxide's one-shot compressor.
    let text = text_of(3000);
    let one_shot = miniz_oxide::deflate::compress_to_vec(text.as_bytes(), 6);
    assert_eq!(
        client_receives(&[
            unmasked(FIN | RSV1 | TEXT, &one_shot),
            unmasked(FIN | RSV1 | TEXT, &one_shot),
        ]),
        [Msg::Text(text.clone()), Msg::Text(text)]
    );
}

#[test]
fn rfc7692_7_2_3_5_two_deflate_blocks_in_one_message() {
    assert_eq!(
        client_receives(&[unmasked(
            FIN | RSV1 | TEXT,
            &[
                0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00
            ],
        )]),
        [Msg::Text("Hello".into())]
    );
}

#[test]
fn empty_compressed_payloads_are_empty_messages() {
    // The single 0x00 of RFC 7692 §7.2.3.6 (an empty stored block once the
    // tail is restored), and an empty fixed-Huffman block.
    assert_eq!(
        client_receives(&[
            unmasked(FIN | RSV1 | TEXT, &[0x00]),
            unmasked(FIN | RSV1 | BINARY, &[0x00]),
            unmasked(FIN | RSV1 | TEXT, &[0x02, 0x00]),
            unmasked(FIN | RSV1 | TEXT, &HELLO),
        ]),
        [
            Msg::Text(String::new()),
            Msg::Binary(Vec::new()),
            Msg::Text(String::new()),
            Msg::Text("Hello".into()),
        ]
    );
    // An empty compressed first fragment and an empty middle one.
    assert_eq!(
        client_receives(&[
            unmasked(RSV1 | TEXT, &[]),
            unmasked(CONT, &HELLO[..2]),
            unmasked(CONT, &[]),
            unmasked(FIN | CONT, &HELLO[2..]),
        ]),
        [Msg::Text("Hello".into())]
    );
}

// Regression (fixed in 6ecc551): an empty compressed payload used to leave
// the inflater inside a stored block (the restored tail read as LEN=0xff00),
// so the next message was misread (the §7.2.3.3 "Hello" came out as the 15
// bytes 05 00 fa ff "Hello" 00 00 00 ff ff).
#[test]
fn an_empty_rsv1_payload_does_not_desynchronise_the_inflater() {
    let stored_hello = [
        0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
    ];
    let mut client = client_with("permessage-deflate");
    let mut bytes = unmasked(FIN | RSV1 | BINARY, &[]);
    bytes.extend(unmasked(FIN | RSV1 | BINARY, &stored_hello));
    bytes.extend(unmasked(FIN | RSV1 | TEXT, &HELLO));
    client.receive_bytes(&bytes);
    let mut c = Coalescer::default();
    match client.next_event() {
        // Rejecting the empty payload is fine.
        Some(Err(e)) => {
            assert_eq!(e.close_code().map(|c| c.0), Some(1007), "{e}");
            return;
        }
        Some(Ok(ev)) => c.push(ev),
        None => panic!("nothing decoded"),
    }
    for ev in drain_ok(&mut client) {
        c.push(ev);
    }
    assert_eq!(
        c.messages,
        [
            Msg::Binary(Vec::new()),
            Msg::Binary(b"Hello".to_vec()),
            Msg::Text("Hello".into())
        ]
    );
}

#[test]
fn a_server_decodes_the_rfc_examples_masked() {
    let mut server = server_with("permessage-deflate");
    let mut bytes = masked(FIN | RSV1 | TEXT, &HELLO);
    bytes.extend(masked(RSV1 | TEXT, &[0xf2, 0x48, 0xcd]));
    bytes.extend(masked(FIN | CONT, &[0xc9, 0xc9, 0x07, 0x00]));
    bytes.extend(masked(
        FIN | RSV1 | BINARY,
        &[
            0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
        ],
    ));
    server.receive_bytes(&bytes);
    assert_eq!(
        messages(&mut server),
        [
            Msg::Text("Hello".into()),
            Msg::Text("Hello".into()),
            Msg::Binary(b"Hello".to_vec())
        ]
    );
}

//! Unit tests of negotiation, compression and bounded inflation.

use super::*;
use crate::proto::close::CloseCode;
use crate::proto::extensions::parse_extensions;

fn params(s: &str) -> ExtensionParams {
    parse_extensions(s).unwrap().remove(0)
}

fn server(config: DeflateConfig, offer: &str) -> Option<String> {
    PerMessageDeflate::new(config)
        .accept(&params(offer))
        .map(|p| p.to_string())
}

fn client(config: DeflateConfig, response: &str) -> Result<Agreed, String> {
    let mut ext = PerMessageDeflate::new(config);
    ext.finalize(&params(response))?;
    Ok(ext.agreed.unwrap())
}

#[test]
fn default_offer_signals_window_support() {
    let offer = PerMessageDeflate::new(DeflateConfig::default()).offer();
    assert_eq!(
        offer[0].to_string(),
        "permessage-deflate; client_max_window_bits"
    );
    let all = DeflateConfig::default()
        .server_no_context_takeover(true)
        .client_no_context_takeover(true)
        .server_max_window_bits(Some(10))
        .client_max_window_bits(Some(12));
    assert_eq!(
        PerMessageDeflate::new(all).offer()[0].to_string(),
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
         server_max_window_bits=10; client_max_window_bits=12"
    );
}

#[test]
fn server_negotiation_matrix() {
    let d = DeflateConfig::default;
    assert_eq!(
        server(d(), "permessage-deflate").as_deref(),
        Some("permessage-deflate")
    );
    assert_eq!(
        server(d(), "permessage-deflate; server_no_context_takeover").as_deref(),
        Some("permessage-deflate; server_no_context_takeover")
    );
    assert_eq!(
        server(d(), "permessage-deflate; server_max_window_bits=10").as_deref(),
        Some("permessage-deflate; server_max_window_bits=10")
    );
    assert_eq!(
        server(
            d().server_max_window_bits(Some(9)),
            "permessage-deflate; server_max_window_bits=12"
        )
        .as_deref(),
        Some("permessage-deflate; server_max_window_bits=9")
    );
    // client_max_window_bits is answered only when offered and wanted.
    assert_eq!(
        server(d(), "permessage-deflate; client_max_window_bits").as_deref(),
        Some("permessage-deflate")
    );
    assert_eq!(
        server(
            d().client_max_window_bits(Some(10)),
            "permessage-deflate; client_max_window_bits"
        )
        .as_deref(),
        Some("permessage-deflate; client_max_window_bits=10")
    );
    assert_eq!(
        server(
            d().client_max_window_bits(Some(14)),
            "permessage-deflate; client_max_window_bits=11"
        )
        .as_deref(),
        Some("permessage-deflate; client_max_window_bits=11")
    );
    assert_eq!(
        server(d().client_max_window_bits(Some(10)), "permessage-deflate").as_deref(),
        Some("permessage-deflate")
    );
    assert_eq!(
        server(d().client_no_context_takeover(true), "permessage-deflate").as_deref(),
        Some("permessage-deflate; client_no_context_takeover")
    );
}

#[test]
fn server_declines_malformed_offers() {
    for bad in [
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=010",
        "permessage-deflate; client_max_window_bits=abc",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
        "permessage-deflate; x-unknown",
    ] {
        assert_eq!(server(DeflateConfig::default(), bad), None, "{bad}");
    }
}

#[test]
fn client_validates_the_response() {
    let d = DeflateConfig::default;
    let a = client(d(), "permessage-deflate").unwrap();
    assert_eq!(
        a,
        Agreed {
            own_window_bits: 15,
            peer_window_bits: 15,
            own_no_context_takeover: false,
            peer_no_context_takeover: false
        }
    );
    let a = client(
        d(),
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
    )
    .unwrap();
    assert!(a.own_no_context_takeover && a.peer_no_context_takeover);
    assert_eq!(
        client(d(), "permessage-deflate; client_max_window_bits=10")
            .unwrap()
            .own_window_bits,
        10
    );
    assert_eq!(
        client(d(), "permessage-deflate; server_max_window_bits=11")
            .unwrap()
            .peer_window_bits,
        11
    );
    for bad in [
        "permessage-deflate; client_max_window_bits",
        "permessage-deflate; client_max_window_bits=16",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; x=1",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
    ] {
        assert!(client(d(), bad).is_err(), "{bad}");
    }
    // Above what was offered or asked for.
    assert!(
        client(
            d().client_max_window_bits(Some(10)),
            "permessage-deflate; client_max_window_bits=11"
        )
        .is_err()
    );
    assert!(
        client(
            d().server_max_window_bits(Some(10)),
            "permessage-deflate; server_max_window_bits=12"
        )
        .is_err()
    );
}

fn pair(server_config: DeflateConfig, offer: &str) -> (PerMessageDeflate, PerMessageDeflate) {
    let mut server = PerMessageDeflate::new(server_config);
    let response = server.accept(&params(offer)).unwrap();
    let mut client = PerMessageDeflate::new(DeflateConfig::default());
    client.finalize(&response).unwrap();
    (client, server)
}

#[test]
fn rfc_example_hello() {
    // RFC 7692 §7.2.3.1: "Hello" compressed, tail stripped.
    let (_, mut server) = pair(DeflateConfig::default(), "permessage-deflate");
    static WIRE: [u8; 7] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let got = server
        .decode(Bytes::from_static(&WIRE), true, 1 << 20)
        .unwrap();
    assert_eq!(&got[..], b"Hello");
    // The same context decodes the shorter second message of §7.2.3.2.
    let got = server
        .decode(
            Bytes::from_static(&[0xf2, 0x00, 0x11, 0x00, 0x00]),
            true,
            1 << 20,
        )
        .unwrap();
    assert_eq!(&got[..], b"Hello");
}

#[test]
fn round_trips_with_and_without_context_takeover() {
    for offer in [
        "permessage-deflate",
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
    ] {
        let (mut client, mut server) = pair(
            DeflateConfig::default().client_no_context_takeover(true),
            offer,
        );
        for i in 0..5 {
            let text = format!("message {i}: {}", "the quick brown fox ".repeat(50));
            assert_eq!(
                client.begin_outbound(OpCode::Text, text.as_bytes()),
                Rsv::RSV1
            );
            let wire = client.encode(Bytes::from(text.clone()), true);
            assert!(wire.len() < text.len() / 4, "compressed to {}", wire.len());
            let back = server.decode(wire, true, 1 << 20).unwrap();
            assert_eq!(back, text.as_bytes());
        }
    }
}

#[test]
fn the_inflater_is_freed_between_messages_only_when_the_peer_resets() {
    for (offer, freed) in [
        ("permessage-deflate", false),
        ("permessage-deflate; client_no_context_takeover", true),
    ] {
        let config = DeflateConfig::default().client_no_context_takeover(freed);
        let (mut client, mut server) = pair(config, offer);
        let text = "a message the server inflates ".repeat(30);
        for _ in 0..3 {
            assert!(send(&mut client, &mut server, text.as_bytes()));
            assert_eq!(server.decompressor.is_none(), freed, "{offer}");
        }
        // Fragmented: kept until the message ends.
        let wire = client.encode(Bytes::from(text.clone()), false);
        server.decode(wire, false, 1 << 20).unwrap();
        assert!(server.decompressor.is_some());
        let wire = client.encode(Bytes::from(text.clone()), true);
        server.decode(wire, true, 1 << 20).unwrap();
        assert_eq!(server.decompressor.is_none(), freed, "{offer}");
    }
}

#[test]
fn fragmented_messages_round_trip() {
    let (mut client, mut server) = pair(DeflateConfig::default(), "permessage-deflate");
    let pieces = ["first piece, ", "second piece, ", "and the last one"];
    let mut out = Vec::new();
    for (i, p) in pieces.iter().enumerate() {
        let fin = i == pieces.len() - 1;
        let wire = client.encode(Bytes::from_static(p.as_bytes()), fin);
        out.extend_from_slice(&server.decode(wire, fin, 1 << 20).unwrap());
    }
    assert_eq!(out, pieces.concat().as_bytes());
}

/// `len` bytes no compressor can shrink (xorshift output).
fn incompressible(len: usize, seed: u64) -> Vec<u8> {
    let mut next = crate::proto::rng(seed);
    (0..len).map(|_| (next() >> 32) as u8).collect()
}

/// Sends `data` from `sender` to `receiver` as one message, compressed or
/// not as the sender decides; returns whether it was compressed.
fn send(sender: &mut PerMessageDeflate, receiver: &mut PerMessageDeflate, data: &[u8]) -> bool {
    let rsv = sender.begin_outbound(OpCode::Binary, data);
    let inflate = receiver.begin_inbound(OpCode::Binary, rsv).unwrap();
    assert_eq!(inflate, rsv == Rsv::RSV1);
    if rsv == Rsv::NONE {
        return false;
    }
    let wire = sender.encode(Bytes::copy_from_slice(data), true);
    let back = receiver.decode(wire, true, 1 << 20).unwrap();
    assert_eq!(back, data);
    true
}

#[test]
fn incompressible_messages_go_uncompressed_after_two_tries() {
    // Context takeover on both sides: the messages sent as they are must
    // leave the two windows in step, or the text after them would not
    // inflate to what was sent.
    let (mut client, mut server) = pair(DeflateConfig::default(), "permessage-deflate");
    let text = "the quick brown fox jumps over the lazy dog ".repeat(40);
    assert!(send(&mut client, &mut server, text.as_bytes()));
    let sent: Vec<bool> = (0..12)
        .map(|i| send(&mut client, &mut server, &incompressible(4096, i + 1)))
        .collect();
    assert_eq!(&sent[..2], [true, true], "tried twice");
    assert!(
        sent[2..10].iter().all(|&c| !c),
        "then sent as they are: {sent:?}"
    );
    assert!(sent[10], "then tried again: {sent:?}");
    assert!(!sent[11], "which did not pay either: {sent:?}");
    // Text again: the rest of the run of 16 goes as it is, then the trial
    // pays and compression goes on (referring back to the first text, in
    // both windows).
    let sent: Vec<bool> = (0..20)
        .map(|_| send(&mut client, &mut server, text.as_bytes()))
        .collect();
    assert!(sent[..15].iter().all(|&c| !c), "{sent:?}");
    assert!(sent[15..].iter().all(|&c| c), "{sent:?}");
}

#[test]
fn without_skipping_every_message_is_compressed() {
    let config = DeflateConfig::default().skip_incompressible(false);
    let (mut client, mut server) = pair(config, "permessage-deflate");
    for i in 0..20 {
        assert!(send(&mut server, &mut client, &incompressible(4096, i + 1)));
    }
}

#[test]
fn small_messages_and_8_bit_windows_go_uncompressed() {
    let (mut client, _) = pair(DeflateConfig::default(), "permessage-deflate");
    assert_eq!(client.begin_outbound(OpCode::Text, b"tiny"), Rsv::NONE);
    let mut c = PerMessageDeflate::new(DeflateConfig::default());
    c.finalize(&params("permessage-deflate; client_max_window_bits=8"))
        .unwrap();
    assert_eq!(c.begin_outbound(OpCode::Binary, &[0u8; 1000]), Rsv::NONE);
}

#[test]
fn inflation_stops_at_the_limit() {
    let (mut client, mut server) = pair(DeflateConfig::default(), "permessage-deflate");
    let zeros = vec![0u8; 4 << 20];
    let bomb = client.encode(Bytes::from(zeros), true);
    assert!(
        bomb.len() < 64 << 10,
        "4 MiB of zeros compress to {} bytes",
        bomb.len()
    );
    let err = server.decode(bomb, true, 1 << 20).unwrap_err();
    assert_eq!(err.code, CloseCode::MESSAGE_TOO_BIG);
}

#[test]
fn corrupt_data_is_invalid_payload() {
    let (_, mut server) = pair(DeflateConfig::default(), "permessage-deflate");
    let err = server
        .decode(
            Bytes::from_static(&[0xff, 0xff, 0xff, 0xff, 0xff]),
            true,
            1 << 20,
        )
        .unwrap_err();
    assert_eq!(err.code, CloseCode::INVALID_PAYLOAD);
}

/// Sends `data` compressed; returns the size on the wire.
fn send_compressed(
    sender: &mut PerMessageDeflate,
    receiver: &mut PerMessageDeflate,
    data: &[u8],
) -> usize {
    assert_eq!(sender.begin_outbound(OpCode::Binary, data), Rsv::RSV1);
    let wire = sender.encode(Bytes::copy_from_slice(data), true);
    let len = wire.len();
    assert_eq!(receiver.decode(wire, true, 1 << 20).unwrap(), data);
    len
}

#[test]
fn a_released_compressor_is_rebuilt_from_its_window() {
    for (offer, window) in [
        ("permessage-deflate", 1 << 15),
        ("permessage-deflate; server_max_window_bits=10", 1 << 10),
    ] {
        let config = DeflateConfig::default().skip_incompressible(false);
        let (mut client, mut server) = pair(config, offer);
        assert!(!server.holds_idle_memory(), "nothing compressed yet");
        // Random bytes compress only as a back-reference to themselves.
        let random = incompressible(500, 3);
        let first = send_compressed(&mut server, &mut client, &random);
        assert!(first > 500, "{offer}: {first}");
        assert!(server.holds_idle_memory());
        server.release_idle_memory();
        assert!(server.compressor.is_none(), "{offer}");
        assert!(!server.holds_idle_memory());
        let again = send_compressed(&mut server, &mut client, &random);
        assert!(again < 20, "{offer}: the context is lost ({again} bytes)");
        // More than the window: only its last bytes are kept.
        let long = incompressible(3 * window, 4);
        send_compressed(&mut server, &mut client, &long);
        assert_eq!(server.outbound_window.as_ref().unwrap().len(), window);
        server.release_idle_memory();
        let tail = &long[long.len() - 200..];
        let again = send_compressed(&mut server, &mut client, tail);
        assert!(again < 20, "{offer}: {again} bytes");
    }
}

#[test]
fn without_context_takeover_nothing_is_kept_for_a_rebuild() {
    let (mut client, mut server) = pair(
        DeflateConfig::default(),
        "permessage-deflate; server_no_context_takeover",
    );
    let text = "a message compressed on its own ".repeat(20);
    let size = send_compressed(&mut server, &mut client, text.as_bytes());
    assert!(server.holds_idle_memory());
    server.release_idle_memory();
    assert!(server.compressor.is_none() && server.outbound_window.is_none());
    let again = send_compressed(&mut server, &mut client, text.as_bytes());
    assert_eq!(again, size, "each message starts afresh either way");
}

#[test]
fn the_compressor_stays_while_a_message_is_part_way() {
    let (mut client, mut server) = pair(DeflateConfig::default(), "permessage-deflate");
    let piece = "one piece of a longer message, ".repeat(10);
    assert_eq!(
        server.begin_outbound(OpCode::Text, piece.as_bytes()),
        Rsv::RSV1
    );
    let wire = server.encode(Bytes::from(piece.clone()), false);
    let mut got = client.decode(wire, false, 1 << 20).unwrap().to_vec();
    assert!(!server.holds_idle_memory());
    server.release_idle_memory();
    assert!(server.compressor.is_some(), "dropped mid-message");
    let wire = server.encode(Bytes::from(piece.clone()), true);
    got.extend_from_slice(&client.decode(wire, true, 1 << 20).unwrap());
    assert_eq!(got, piece.repeat(2).as_bytes());
    assert!(server.holds_idle_memory());
}

#[test]
fn a_released_inflater_is_rebuilt_from_the_peers_window() {
    let config = DeflateConfig::default().skip_incompressible(false);
    let (mut client, mut server) = pair(config, "permessage-deflate");
    let random = incompressible(500, 8);
    send_compressed(&mut client, &mut server, &random);
    assert!(server.holds_idle_memory(), "the inflater");
    server.release_idle_memory();
    assert!(server.decompressor.is_none());
    // The client's compressor refers back to the first message, which the
    // rebuilt inflater must find in its window.
    let again = send_compressed(&mut client, &mut server, &random);
    assert!(again < 20, "{again} bytes");
    // Part-way through a message, the inflater stays.
    assert_eq!(client.begin_outbound(OpCode::Binary, &random), Rsv::RSV1);
    let wire = client.encode(Bytes::copy_from_slice(&random), false);
    let mut got = server.decode(wire, false, 1 << 20).unwrap().to_vec();
    assert!(!server.holds_idle_memory());
    server.release_idle_memory();
    assert!(server.decompressor.is_some(), "dropped mid-message");
    let wire = client.encode(Bytes::copy_from_slice(&random), true);
    got.extend_from_slice(&server.decode(wire, true, 1 << 20).unwrap());
    assert_eq!(got, random.repeat(2));
}

#[test]
fn random_releases_never_change_what_either_side_receives() {
    // Window limits both ways on the second run: the copies must be sized
    // from what each side agreed.
    for (server_config, offer) in [
        (DeflateConfig::default(), "permessage-deflate"),
        (
            DeflateConfig::default().client_max_window_bits(Some(11)),
            "permessage-deflate; server_max_window_bits=10; client_max_window_bits",
        ),
    ] {
        let (mut client, mut server) = pair(server_config, offer);
        assert_eq!(
            server
                .agreed
                .map(|a| (a.own_window_bits, a.peer_window_bits)),
            Some(if offer.contains('=') {
                (10, 11)
            } else {
                (15, 15)
            })
        );
        let mut next = crate::proto::rng(11);
        for step in 0..400 {
            let len = (next() % 3000) as usize;
            let data: Vec<u8> = match next() % 4 {
                // Under min_size: sent as it is.
                0 => b"tiny".to_vec(),
                // Random: after two tries, skipped for a while.
                1 => incompressible(len, step),
                // Text that refers back to earlier messages.
                _ => (0..len)
                    .map(|i| b"abcdefgh "[(i + (next() % 3) as usize) % 9])
                    .collect(),
            };
            let server_sends = next() % 2 == 0;
            let (sender, receiver) = match server_sends {
                true => (&mut server, &mut client),
                false => (&mut client, &mut server),
            };
            let pieces: Vec<&[u8]> = match next() % 3 {
                0 if data.len() > 2 => {
                    let (a, b) = data.split_at(data.len() / 2);
                    vec![a, b]
                }
                _ => vec![&data],
            };
            let rsv = sender.begin_outbound(OpCode::Binary, pieces[0]);
            let compressed = receiver.begin_inbound(OpCode::Binary, rsv).unwrap();
            let mut got = Vec::new();
            for (i, piece) in pieces.iter().enumerate() {
                let fin = i == pieces.len() - 1;
                let mut wire = Bytes::copy_from_slice(piece);
                if compressed {
                    wire = sender.encode(wire, fin);
                }
                // Either side may let go between any two pieces (a no-op
                // for the message in flight).
                match next() % 4 {
                    0 => sender.release_idle_memory(),
                    1 => receiver.release_idle_memory(),
                    _ => {}
                }
                if compressed {
                    wire = receiver.decode(wire, fin, 1 << 20).unwrap();
                }
                got.extend_from_slice(&wire);
            }
            assert_eq!(got, data, "{offer}: message {step}");
        }
    }
}

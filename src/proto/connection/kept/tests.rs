//! Unit tests of [`Connection::receive_owned`].

use super::super::tests::{Parsed, Reported, client_wire, rng};
use super::*;
use crate::proto::close::CloseCode;
use crate::proto::error::Answer;
use crate::proto::events::{BytesMessage, Event, TextMessage};
use crate::proto::{Connection, Role};

/// Where reads land in their buffer, so that kept ranges are not at 0.
const LEAD: usize = 40;

fn whole_server() -> Connection {
    let mut server = Connection::new(Role::Server, Vec::new());
    server.set_whole_frames(true);
    server
}

/// A read buffer holding `read` at `LEAD`, with junk around it.
fn read_buffer(read: &[u8]) -> Vec<u8> {
    read_buffer_with_room(read, 17)
}

/// As [`read_buffer`], with `room` bytes of junk after the read.
fn read_buffer_with_room(read: &[u8], room: usize) -> Vec<u8> {
    let mut buf = Vec::with_capacity(LEAD + read.len() + room);
    buf.resize(LEAD, 0xa5);
    buf.extend_from_slice(read);
    buf.resize(LEAD + read.len() + room, 0x5a);
    buf
}

/// Feeds `wire` in reads of the given sizes through `receive_owned`;
/// returns what was reported and how many reads were kept (and of those,
/// how many as the buffer of the frame they start).
fn feed_owned(
    server: &mut Connection,
    wire: &[u8],
    keep_from: usize,
    room: usize,
    sizes: &mut impl FnMut() -> usize,
) -> (Parsed, usize, usize) {
    let mut parsed = Parsed::default();
    let (mut kept, mut adopted) = (0, 0);
    let mut rest = wire;
    while !rest.is_empty() {
        let n = sizes().clamp(1, rest.len());
        let mut buf = read_buffer_with_room(&rest[..n], room);
        if server.receive_owned(&mut buf, LEAD..LEAD + n, keep_from) {
            assert_eq!(buf.capacity(), 0, "a kept buffer is taken");
            kept += 1;
            if server.kept.is_empty() {
                assert!(!server.gathered.is_empty(), "taken for nothing");
                adopted += 1;
            }
        } else {
            assert_eq!(
                &buf[LEAD..LEAD + n],
                &rest[..n],
                "an unkept read is untouched"
            );
        }
        rest = &rest[n..];
        parsed.collect(server);
    }
    (parsed, kept, adopted)
}

/// Asserts that `server` reported `want` and holds nothing after.
fn assert_all_reported(server: &Connection, got: &Parsed, want: &[Reported], seed: u64) {
    assert_eq!(got.messages, want, "seed {seed}");
    assert_eq!(server.buffered_input(), 0, "seed {seed}");
    assert_eq!(
        server.gathered.capacity(),
        0,
        "seed {seed}: a buffer is held"
    );
}

/// A client's wire for the given messages (binary unless text).
fn wire_of(messages: &[(bool, Vec<u8>)]) -> Vec<u8> {
    let mut client = Connection::new(Role::Client, Vec::new());
    for (text, data) in messages {
        if *text {
            let text = String::from_utf8(data.clone()).unwrap();
            client.send(TextMessage::new(text)).unwrap();
        } else {
            client.send(BytesMessage::new(data.clone())).unwrap();
        }
    }
    client.bytes_to_send().to_vec()
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

/// Collects events until none is left or one fails (as its close code).
fn drain(server: &mut Connection) -> Vec<Result<Event, CloseCode>> {
    let mut out = Vec::new();
    while let Some(event) = server.next_event() {
        match event {
            Ok(e) => out.push(Ok(e)),
            Err(e) => {
                let Answer::Close(code) = e.answer() else {
                    panic!("{e:?}")
                };
                out.push(Err(code));
            }
        }
    }
    out
}

/// The payloads of `events`, which must all be binary messages.
fn binary_payloads(events: &[Result<Event, CloseCode>]) -> Vec<Vec<u8>> {
    events
        .iter()
        .map(|e| match e {
            Ok(Event::BytesMessage(m)) => m.data.to_vec(),
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
fn kept_reads_report_what_received_bytes_report() {
    let (wire, want) = client_wire();
    let mut kept_reads = 0;
    for seed in 1..60u64 {
        let mut next = rng(seed);
        let max = [7usize, 1000, 70_000, 300_000, 600_000][seed as usize % 5];
        let keep_from = [0, 1, 126, 65_536][seed as usize % 4];
        let mut sizes = || (next() as usize % max) + 1;
        let mut server = whole_server();
        let (got, kept, _) = feed_owned(&mut server, &wire, keep_from, 17, &mut sizes);
        assert_all_reported(&server, &got, &want, seed);
        kept_reads += kept;
    }
    assert!(kept_reads > 20, "{kept_reads}");
}

/// Where each frame of `wire` ends.
fn frame_ends(wire: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut at = 0;
    while at < wire.len() {
        let (header, len) = FrameHeader::decode(&wire[at..]).unwrap().unwrap();
        at += len + header.payload_len as usize;
        ends.push(at);
    }
    ends
}

#[test]
fn reads_that_start_frames_report_what_received_bytes_report() {
    // Reads cut where frames start, as reads sized by `read_size_hint`
    // are: each frame comes as a random first piece and then its rest.
    let (wire, want) = client_wire();
    let ends = frame_ends(&wire);
    let mut adopted_reads = 0;
    for seed in 1..40u64 {
        let mut next = rng(seed);
        let keep_from = [0, 1, 126, 65_536][seed as usize % 4];
        let mut cuts = Vec::new();
        let mut start = 0;
        for &end in &ends {
            let first = 1 + next() as usize % (end - start);
            cuts.extend([first, end - start - first].into_iter().filter(|&n| n > 0));
            start = end;
        }
        let mut cuts = cuts.into_iter();
        let mut sizes = || cuts.next().expect("a read per cut");
        let mut server = whole_server();
        let (got, _, adopted) = feed_owned(&mut server, &wire, keep_from, 300_000, &mut sizes);
        assert_all_reported(&server, &got, &want, seed);
        adopted_reads += adopted;
    }
    assert!(adopted_reads > 20, "{adopted_reads}");
}

#[test]
fn a_kept_payload_is_a_view_of_the_read_buffer_which_comes_back_once_dropped() {
    let (a, b) = (pattern(100_000, 1), pattern(70_000, 2));
    let wire = wire_of(&[(false, a.clone()), (false, b.clone())]);
    let mut buf = read_buffer(&wire);
    let span = buf.as_ptr_range();
    let mut server = whole_server();
    assert!(server.receive_owned(&mut buf, LEAD..LEAD + wire.len(), 65_536));
    let events = drain(&mut server);
    let [
        Ok(Event::BytesMessage(first)),
        Ok(Event::BytesMessage(second)),
    ] = &events[..]
    else {
        panic!("{events:?}")
    };
    assert!(first.data == a && second.data == b);
    assert!(span.contains(&first.data.as_ptr()) && span.contains(&second.data.as_ptr()));
    assert_eq!(server.buffered_input(), 0);
    drop(events);
    // Back on this thread's list of spare buffers, bytes and all.
    let spare = recycle::take_waiting(span.end as usize - span.start as usize).unwrap();
    assert_eq!(spare.as_ptr(), span.start);
}

#[test]
fn small_frames_first_or_a_control_frame_leave_the_read_to_be_copied() {
    let big = pattern(80_000, 3);
    let small_first = wire_of(&[(false, vec![1; 10]), (false, big.clone())]);
    let mut client = Connection::new(Role::Client, Vec::new());
    client
        .send(crate::proto::events::Ping::new(Bytes::from_static(b"p")))
        .unwrap();
    let mut ping_first = client.bytes_to_send().to_vec();
    ping_first.extend(wire_of(&[(false, big.clone())]));
    for wire in [small_first, ping_first] {
        let mut buf = read_buffer(&wire);
        let mut server = whole_server();
        assert!(!server.receive_owned(&mut buf, LEAD..LEAD + wire.len(), 1000));
        assert!(buf.capacity() > 0);
        let events = drain(&mut server);
        assert_eq!(events.len(), 2);
        assert!(matches!(&events[1], Ok(Event::BytesMessage(m)) if m.data == big));
    }
    // A read too short to hold a frame of `keep_from`, and a frame that
    // is not whole and has no room in the buffer, are copied too.
    let wire = wire_of(&[(false, big.clone())]);
    for (read, keep_from) in [(wire.len(), wire.len() + 1), (wire.len() - 100, 1)] {
        let mut buf = read_buffer(&wire[..read]);
        let mut server = whole_server();
        assert!(!server.receive_owned(&mut buf, LEAD..LEAD + read, keep_from));
    }
}

#[test]
fn without_whole_frames_nothing_is_kept() {
    let data = pattern(90_000, 4);
    let wire = wire_of(&[(false, data.clone())]);
    let mut buf = read_buffer(&wire);
    let mut server = Connection::new(Role::Server, Vec::new());
    assert!(!server.receive_owned(&mut buf, LEAD..LEAD + wire.len(), 1));
    let events = drain(&mut server);
    assert!(matches!(&events[..], [Ok(Event::BytesMessage(m))] if m.data == data));
}

#[test]
fn kept_frames_come_after_the_gathered_frame_they_follow() {
    let msgs: Vec<_> = (0..4).map(|i| (false, pattern(70_000, i))).collect();
    let wire = wire_of(&msgs);
    let frame = wire.len() / 4;
    // The first frame's start, then its rest with two whole frames and a
    // piece of the fourth, then the fourth's rest.
    let cuts = [0, 1000, 3 * frame + 5, wire.len()];
    let mut server = whole_server();
    let mut got = Vec::new();
    let mut kept = Vec::new();
    for piece in cuts.windows(2) {
        let mut buf = read_buffer(&wire[piece[0]..piece[1]]);
        kept.push(server.receive_owned(&mut buf, LEAD..LEAD + piece[1] - piece[0], 65_536));
        for event in drain(&mut server) {
            let Ok(Event::BytesMessage(m)) = event else {
                panic!("{event:?}")
            };
            assert!(m.message_finished);
            got.push(m.data.to_vec());
        }
    }
    assert_eq!(kept, [false, true, false]);
    let want: Vec<_> = msgs.into_iter().map(|(_, d)| d).collect();
    assert_eq!(got, want);
}

#[test]
fn the_frame_after_kept_ones_is_started_only_after_them() {
    let msgs: Vec<_> = (0..2).map(|i| (false, pattern(70_000, i))).collect();
    let wire = wire_of(&msgs);
    let cut = wire.len() / 2 + 100;
    let mut server = whole_server();
    let mut buf = read_buffer(&wire[..cut]);
    assert!(server.receive_owned(&mut buf, LEAD..LEAD + cut, 65_536));
    let mut events = drain(&mut server);
    server.receive_bytes(&wire[cut..]);
    events.extend(drain(&mut server));
    let data = binary_payloads(&events);
    let want: Vec<_> = msgs.into_iter().map(|(_, d)| d).collect();
    assert!(data == want, "{} messages", data.len());
}

/// Keeps one read of a large binary frame followed by `after` (a frame
/// header of 70,000 payload bytes and some of them); returns the server
/// and what it reported after that first message.
fn kept_big_then(header: &[u8], after: &[u8]) -> (Connection, Vec<Result<Event, CloseCode>>) {
    let big = pattern(70_000, 5);
    let mut wire = wire_of(&[(false, big.clone())]);
    wire.extend_from_slice(header);
    wire.extend_from_slice(&70_000u64.to_be_bytes());
    wire.extend_from_slice(after);
    let mut buf = read_buffer(&wire);
    let mut server = whole_server();
    assert!(server.receive_owned(&mut buf, LEAD..LEAD + wire.len(), 65_536));
    let mut events = drain(&mut server);
    let rest = events.split_off(1);
    assert!(matches!(&events[..], [Ok(Event::BytesMessage(m))] if m.data == big));
    (server, rest)
}

#[test]
fn a_bad_frame_among_kept_ones_fails_once_those_before_it_are_reported() {
    // An unmasked client frame, as large.
    let (server, events) = kept_big_then(&[0x82, 127], &[0; 70_000]);
    assert_eq!(events, [Err(CloseCode::PROTOCOL_ERROR)]);
    assert_eq!(server.buffered_input(), 0, "the rest is discarded");
}

#[test]
fn a_kept_text_frame_with_bad_utf8_fails_with_1007() {
    let mut text = "ok".repeat(40_000).into_bytes();
    text[50_000] = 0xff;
    let mut client = Connection::new(Role::Client, Vec::new());
    client.send(BytesMessage::new(text)).unwrap();
    let mut wire = client.bytes_to_send().to_vec();
    wire[0] = 0x81; // the same frame, as text
    let mut buf = read_buffer(&wire);
    let mut server = whole_server();
    assert!(server.receive_owned(&mut buf, LEAD..LEAD + wire.len(), 65_536));
    assert_eq!(drain(&mut server), [Err(CloseCode::INVALID_PAYLOAD)]);
}

#[test]
fn a_closed_connection_takes_nothing() {
    let wire = wire_of(&[(false, pattern(70_000, 6))]);
    let mut server = whole_server();
    server.receive_eof();
    let mut buf = read_buffer(&wire);
    assert!(!server.receive_owned(&mut buf, LEAD..LEAD + wire.len(), 1));
    assert_eq!(server.buffered_input(), 0);
}

#[test]
fn the_end_of_the_transport_comes_after_the_kept_frames() {
    let data = pattern(70_000, 7);
    let wire = wire_of(&[(false, data.clone())]);
    let mut buf = read_buffer(&wire);
    let mut server = whole_server();
    assert!(server.receive_owned(&mut buf, LEAD..LEAD + wire.len(), 65_536));
    server.receive_eof();
    let events = drain(&mut server);
    assert!(matches!(&events[0], Ok(Event::BytesMessage(m)) if m.data == data));
    assert!(
        matches!(&events[1..], [Ok(Event::CloseConnection(c))] if c.code == CloseCode::ABNORMAL_CLOSURE),
        "{events:?}"
    );
}

#[test]
fn a_client_keeps_the_servers_unmasked_frames() {
    let (a, b) = (pattern(70_000, 8), pattern(90_000, 9));
    let mut server = Connection::new(Role::Server, Vec::new());
    server.send(BytesMessage::new(a.clone())).unwrap();
    server.send(BytesMessage::new(b.clone())).unwrap();
    let wire = server.bytes_to_send().to_vec();
    let mut client = Connection::new(Role::Client, Vec::new());
    client.set_whole_frames(true);
    let mut buf = read_buffer(&wire);
    assert!(client.receive_owned(&mut buf, LEAD..LEAD + wire.len(), 65_536));
    assert!(binary_payloads(&drain(&mut client)) == [a, b]);
}

#[test]
fn a_frame_the_read_ends_inside_is_checked_after_the_kept_ones() {
    // A continuation frame with no message to continue (masked, key
    // 1 2 3 4), cut short.
    let mut after = vec![1, 2, 3, 4];
    after.extend([9; 1000]);
    let (_, events) = kept_big_then(&[0x80, 0xff], &after);
    assert_eq!(events, [Err(CloseCode::PROTOCOL_ERROR)]);
}

#[test]
fn the_piece_of_a_frame_after_kept_ones_is_gathered_before_later_input() {
    let msgs: Vec<_> = (0..3).map(|i| (false, pattern(70_000, 20 + i))).collect();
    let wire = wire_of(&msgs);
    let frame = wire.len() / 3;
    let cut = frame + 3000;
    let mut server = whole_server();
    let mut buf = read_buffer(&wire[..cut]);
    assert!(server.receive_owned(&mut buf, LEAD..LEAD + cut, 65_536));
    assert!(
        server.in_buf.is_empty(),
        "the piece stays in the kept buffer"
    );
    assert_eq!(server.kept.len(), cut);
    // More input arrives before the kept frames are read out.
    server.receive_bytes(&wire[cut..cut + 500]);
    let mut events = drain(&mut server);
    assert_eq!(events.len(), 1, "the second frame is not whole yet");
    server.receive_bytes(&wire[cut + 500..]);
    events.extend(drain(&mut server));
    let want: Vec<_> = msgs.into_iter().map(|(_, d)| d).collect();
    assert!(binary_payloads(&events) == want);
    assert_eq!(server.buffered_input(), 0);
}

#[test]
fn a_piece_not_gathered_goes_in_as_input_ahead_of_later_input() {
    let msgs: Vec<_> = (0..2).map(|i| (false, pattern(70_000, 30 + i))).collect();
    let wire = wire_of(&msgs);
    let cut = wire.len() / 2 + 2000;
    let mut server = whole_server();
    let mut buf = read_buffer(&wire[..cut]);
    assert!(server.receive_owned(&mut buf, LEAD..LEAD + cut, 65_536));
    server.receive_bytes(&wire[cut..cut + 700]);
    // Without whole-frame mode the cut frame is not gathered: its piece
    // is parsed as input, before the 700 bytes that followed it.
    server.set_whole_frames(false);
    let mut events = drain(&mut server);
    server.receive_bytes(&wire[cut + 700..]);
    events.extend(drain(&mut server));
    let mut data: Vec<u8> = Vec::new();
    for event in &events[1..] {
        let Ok(Event::BytesMessage(m)) = event else {
            panic!("{event:?}")
        };
        data.extend_from_slice(&m.data);
    }
    assert!(matches!(&events[0], Ok(Event::BytesMessage(m)) if m.data == msgs[0].1));
    assert!(events.len() > 2, "reported in pieces, not gathered");
    assert!(data == msgs[1].1);
    assert_eq!(server.buffered_input(), 0);
}

#[test]
fn a_large_frame_a_read_starts_is_gathered_in_its_buffer() {
    let data = pattern(200_000, 9);
    let wire = wire_of(&[(false, data.clone()), (false, vec![3; 10])]);
    let frame_len = wire.len() - 2 - 4 - 10;
    let cut = 70_000;
    let mut buf = read_buffer_with_room(&wire[..cut], frame_len - cut);
    let span = buf.as_ptr_range();
    let mut server = whole_server();
    assert_eq!(server.read_size_hint(), 0);
    assert!(server.receive_owned(&mut buf, LEAD..LEAD + cut, 65_536));
    assert_eq!(buf.capacity(), 0, "taken");
    // The header's claim alone sizes no read.
    assert_eq!(server.read_size_hint(), 0);
    assert!(drain(&mut server).is_empty());
    // The rest is read straight in after the piece.
    let mut at = cut;
    while at < frame_len {
        let mut room = server.payload_buf(1).expect("room for the rest");
        assert!(span.contains(&room.as_ptr()));
        let n = room.len().min(60_000);
        room[..n].copy_from_slice(&wire[at..at + n]);
        room.filled(n);
        at += n;
    }
    server.receive_bytes(&wire[frame_len..]);
    let events = drain(&mut server);
    assert_eq!(binary_payloads(&events), [data, vec![3; 10]]);
    let Ok(Event::BytesMessage(first)) = &events[0] else {
        unreachable!()
    };
    assert!(span.contains(&first.data.as_ptr()), "no copy was made");
    // The small frame after it resets the hint; the large one set it.
    assert_eq!(server.read_size_hint(), 0);
    let mut server = whole_server();
    server.receive_bytes(&wire[..frame_len]);
    assert_eq!(drain(&mut server).len(), 1);
    assert_eq!(server.read_size_hint(), frame_len);
}

#[test]
fn a_frame_gathered_in_its_read_buffer_is_checked_as_any_other() {
    // Bad UTF-8 in the piece: 1007 once asked, nothing reported before.
    let mut bad = "é".repeat(40_000).into_bytes();
    bad[1000] = 0xff;
    let mut client = Connection::new(Role::Client, Vec::new());
    client.send(TextMessage::new("é".repeat(40_000))).unwrap();
    let mut wire = client.bytes_to_send().to_vec();
    let (header, len) = FrameHeader::decode(&wire).unwrap().unwrap();
    let mut payload = bad.clone();
    apply_mask(&mut payload, header.mask.unwrap(), 0);
    wire[len..].copy_from_slice(&payload);
    let mut buf = read_buffer_with_room(&wire[..20_000], wire.len());
    let mut server = whole_server();
    assert!(server.receive_owned(&mut buf, LEAD..LEAD + 20_000, 1000));
    assert_eq!(drain(&mut server), [Err(CloseCode::INVALID_PAYLOAD)]);
    // A frame over the limit is refused before any of it is taken.
    let mut server = Connection::with_config(
        Role::Server,
        crate::proto::Config {
            max_frame_size: 70_000,
            ..crate::proto::Config::default()
        },
    );
    server.set_whole_frames(true);
    let wire = wire_of(&[(false, pattern(80_000, 1))]);
    let mut buf = read_buffer_with_room(&wire[..10_000], wire.len());
    assert!(!server.receive_owned(&mut buf, LEAD..LEAD + 10_000, 1000));
    assert_eq!(drain(&mut server), [Err(CloseCode::MESSAGE_TOO_BIG)]);
}

#[test]
#[cfg(feature = "deflate")]
fn compressed_text_a_read_starts_goes_in_as_input() {
    use crate::proto::extensions::permessage_deflate::{DeflateConfig, PerMessageDeflate};
    use crate::proto::extensions::{Extension, ExtensionParams};
    let offer = ExtensionParams {
        name: "permessage-deflate".into(),
        params: vec![],
    };
    let mut server_ext = PerMessageDeflate::new(DeflateConfig::default());
    let response = server_ext.accept(&offer).expect("accepted");
    let mut client_ext = PerMessageDeflate::new(DeflateConfig::default());
    client_ext.finalize(&response).unwrap();
    let mut client = Connection::new(Role::Client, vec![Box::new(client_ext)]);
    let mut next = rng(7);
    let text: String = (0..200_000)
        .map(|_| char::from(b'a' + (next() % 26) as u8))
        .collect();
    client.send(TextMessage::new(text.clone())).unwrap();
    let wire = client.bytes_to_send().to_vec();
    assert!(wire.len() > 50_000, "{}", wire.len());
    let mut server = Connection::new(Role::Server, vec![Box::new(server_ext)]);
    server.set_whole_frames(true);
    let mut buf = read_buffer_with_room(&wire[..20_000], wire.len());
    assert!(!server.receive_owned(&mut buf, LEAD..LEAD + 20_000, 1000));
    let mut got = String::new();
    let mut take = |server: &mut Connection| {
        for event in drain(server) {
            let Ok(Event::TextMessage(m)) = event else {
                panic!("{event:?}")
            };
            got.push_str(&m.data);
        }
    };
    take(&mut server);
    server.receive_bytes(&wire[20_000..]);
    take(&mut server);
    assert!(got == text, "{} of {} bytes", got.len(), text.len());
}

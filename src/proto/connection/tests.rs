//! Unit tests of [`Connection`]'s buffers: what it keeps, gathers and lets go.

use super::*;
use crate::proto::close::CloseCode;
use crate::proto::events::{BytesMessage, Ping, TextMessage};

#[test]
fn parsed_input_leaves_no_buffer_behind() {
    let mut client = Connection::new(Role::Client, Vec::new());
    let mut server = Connection::new(Role::Server, Vec::new());
    client
        .send(BytesMessage::new(Bytes::from_static(b"hello")))
        .unwrap();
    let wire = client.bytes_to_send();
    // Half a frame: the buffer is kept for the rest.
    server.receive_bytes(&wire[..4]);
    assert!(server.next_event().is_none());
    assert!(server.in_buf.capacity() > 0);
    server.receive_bytes(&wire[4..]);
    let event = server.next_event().unwrap().unwrap();
    assert!(matches!(event, Event::BytesMessage(m) if m.data == "hello"));
    assert!(server.next_event().is_none());
    assert_eq!(server.in_buf.capacity(), 0);
    assert_eq!(client.out.len(), 0);
}

/// A handshake's read buffer and the empty rest after its head: a view of
/// the buffer that keeps it alive until the connection lets go of it.
fn handshake_rest(after_head: &[u8]) -> (Bytes, BytesMut) {
    const HEAD: &[u8] = b"GET / HTTP/1.1\r\n\r\n";
    let mut read = BytesMut::with_capacity(256);
    read.extend_from_slice(HEAD);
    read.extend_from_slice(after_head);
    let rest = read.split_off(HEAD.len());
    (read.freeze(), rest)
}

#[test]
fn an_empty_handshake_rest_is_let_go_of_at_once() {
    let (head, rest) = handshake_rest(b"");
    assert!(!head.is_unique(), "the rest is a view of the read buffer");
    let mut server =
        Connection::from_handshake(Role::Server, Config::default(), rest, OutBuffer::default());
    assert!(head.is_unique(), "the connection holds none of it");
    assert!(server.next_event().is_none());
}

#[test]
fn a_control_frame_that_ends_the_input_lets_go_of_its_buffer() {
    let mut client = Connection::new(Role::Client, Vec::new());
    client.send(Ping::new(Bytes::from_static(b"hi"))).unwrap();
    let wire = client.bytes_to_send();
    let (head, rest) = handshake_rest(&wire);
    let mut server =
        Connection::from_handshake(Role::Server, Config::default(), rest, OutBuffer::default());
    assert!(!head.is_unique());
    let event = server.next_event().unwrap().unwrap();
    assert!(matches!(event, Event::Ping(p) if p.payload == "hi"));
    assert!(
        head.is_unique(),
        "nothing of the read is kept after the ping"
    );
    assert!(server.next_event().is_none());
}

pub(super) use crate::proto::rng;

/// Feeds `wire` in the given piece sizes and joins each message's
/// pieces: (text?, payload) per message, pings as (None, payload), and
/// how many data pieces were reported.
fn feed(server: &mut Connection, wire: &[u8], sizes: &mut impl FnMut() -> usize) -> Parsed {
    let mut parsed = Parsed::default();
    let mut rest = wire;
    while !rest.is_empty() {
        let n = sizes().clamp(1, rest.len());
        server.receive_bytes(&rest[..n]);
        rest = &rest[n..];
        parsed.collect(server);
    }
    parsed
}

impl Parsed {
    /// Takes every event now available, joining data pieces.
    pub(super) fn collect(&mut self, server: &mut Connection) {
        while let Some(event) = server.next_event() {
            let (text, data, finished) = match event.unwrap() {
                Event::BytesMessage(m) => (false, m.data, m.message_finished),
                Event::TextMessage(m) => (true, m.data.into(), m.message_finished),
                Event::Ping(p) => {
                    self.messages.push((None, p.payload.to_vec()));
                    continue;
                }
                other => panic!("unexpected {other:?}"),
            };
            self.pieces += 1;
            self.current.extend_from_slice(&data);
            if finished {
                let message = std::mem::take(&mut self.current);
                self.messages.push((Some(text), message));
            }
        }
    }
}

/// A message as (text?, payload), or a ping as (None, payload).
pub(super) type Reported = (Option<bool>, Vec<u8>);

#[derive(Debug, Default, PartialEq)]
pub(super) struct Parsed {
    pub(super) messages: Vec<Reported>,
    /// Pieces of data messages.
    pieces: usize,
    /// The data message in progress, so far.
    current: Vec<u8>,
}

/// A client's frames: binary and text (multi-byte) messages of many
/// sizes, some fragmented, with pings between fragments.
pub(super) fn client_wire() -> (Vec<u8>, Vec<Reported>) {
    let mut client = Connection::new(Role::Client, Vec::new());
    let mut want = Vec::new();
    for (i, len) in [0usize, 1, 125, 126, 65535, 65536, 200_000, 7, 70_000]
        .iter()
        .enumerate()
    {
        let data: Vec<u8> = (0..*len).map(|j| (j * 31 + i) as u8).collect();
        client.send(BytesMessage::new(data.clone())).unwrap();
        want.push((Some(false), data));
    }
    let text = "zł€𝄞".repeat(9000);
    client.send(TextMessage::new(text.clone())).unwrap();
    want.push((Some(true), text.into_bytes()));
    // Fragmented, a ping in the middle.
    let (a, b) = (vec![1u8; 40_000], vec![2u8; 90_000]);
    client
        .send(BytesMessage {
            data: Bytes::from(a.clone()),
            frame_finished: true,
            message_finished: false,
        })
        .unwrap();
    client.send(Ping::new(Bytes::from_static(b"p"))).unwrap();
    client.send(BytesMessage::new(b.clone())).unwrap();
    want.push((None, b"p".to_vec()));
    want.push((Some(false), [a, b].concat()));
    (client.bytes_to_send().to_vec(), want)
}

#[test]
fn whole_frames_report_what_pieces_report_in_one_piece_per_frame() {
    let (wire, want) = client_wire();
    // Nine single-frame binary messages, a text one and one of two frames.
    let data_frames = 12;
    for seed in 1..40u64 {
        let mut next = rng(seed);
        let max = [1usize, 7, 1000, 70_000, 300_000][seed as usize % 5];
        let mut sizes = || (next() as usize % max) + 1;
        let mut whole = Connection::new(Role::Server, Vec::new());
        whole.set_whole_frames(true);
        let got = feed(&mut whole, &wire, &mut sizes);
        assert_eq!(got.messages, want, "seed {seed}");
        assert_eq!(got.pieces, data_frames, "seed {seed}: one piece per frame");
        assert_eq!(whole.gathered.capacity(), 0);
        let mut piecewise = Connection::new(Role::Server, Vec::new());
        let mut next = rng(seed);
        let mut sizes = || (next() as usize % max) + 1;
        assert_eq!(feed(&mut piecewise, &wire, &mut sizes).messages, want);
    }
}

#[test]
fn a_gathered_frame_reuses_the_buffer_of_a_dropped_message() {
    let payload: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let mut client = Connection::new(Role::Client, Vec::new());
    let mut server = Connection::new(Role::Server, Vec::new());
    server.set_whole_frames(true);
    let mut receive = |server: &mut Connection| {
        client.send(BytesMessage::new(payload.clone())).unwrap();
        let wire = client.bytes_to_send();
        // In two reads, so the frame is gathered rather than cut out of one.
        server.receive_bytes(&wire[..100_000]);
        assert!(server.next_event().is_none());
        server.receive_bytes(&wire[100_000..]);
        match server.next_event() {
            Some(Ok(Event::BytesMessage(m))) => {
                assert!(m.frame_finished && m.message_finished);
                assert!(m.data == payload);
                m.data
            }
            other => panic!("unexpected {other:?}"),
        }
    };
    let first = receive(&mut server);
    let first_at = first.as_ptr();
    let held = receive(&mut server);
    assert_ne!(held.as_ptr(), first_at, "the first message is still alive");
    drop(first);
    // Were the memory given back to the allocator, this would likely get it.
    let squatter = vec![0u8; 300_000];
    let third = receive(&mut server);
    assert_eq!(third.as_ptr(), first_at, "its memory came back");
    assert_ne!(squatter.as_ptr(), first_at);
    drop(held);
}

#[test]
fn a_gathered_frame_grows_with_what_arrives_not_with_its_header() {
    let mut client = Connection::new(Role::Client, Vec::new());
    client.send(BytesMessage::new(vec![7u8; 8 << 20])).unwrap();
    let wire = client.bytes_to_send();
    let mut server = Connection::new(Role::Server, Vec::new());
    server.set_whole_frames(true);
    server.receive_bytes(&wire[..1000]);
    assert!(server.next_event().is_none());
    assert!(
        server.gathered.capacity() <= 5 * 1000 + crate::proto::align::ALIGN_SLACK,
        "{}",
        server.gathered.capacity()
    );
    server.receive_bytes(&wire[1000..300_000]);
    assert!(server.next_event().is_none());
    assert!(
        server.gathered.capacity() <= 5 * 300_000 + crate::proto::align::ALIGN_SLACK,
        "{}",
        server.gathered.capacity()
    );
    server.receive_bytes(&wire[300_000..]);
    match server.next_event() {
        Some(Ok(Event::BytesMessage(m))) => {
            assert!(m.frame_finished && m.message_finished);
            assert!(m.data.len() == 8 << 20 && m.data.iter().all(|&b| b == 7));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn eof_inside_a_gathered_frame_is_1006_and_frees_it() {
    let mut client = Connection::new(Role::Client, Vec::new());
    client.send(BytesMessage::new(vec![7u8; 100_000])).unwrap();
    let wire = client.bytes_to_send();
    let mut server = Connection::new(Role::Server, Vec::new());
    server.set_whole_frames(true);
    server.receive_bytes(&wire[..50_000]);
    assert!(server.next_event().is_none());
    server.receive_eof();
    match server.next_event() {
        Some(Ok(Event::CloseConnection(c))) => assert_eq!(c.code, CloseCode::ABNORMAL_CLOSURE),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(server.gathered.capacity(), 0);
}

/// A masked 150,000-byte text frame, valid but for byte 120,000 of its
/// payload (at wire offset 120,014).
fn text_frame_with_a_bad_byte() -> Vec<u8> {
    let mut text = "ok ".repeat(50_000).into_bytes();
    text[120_000] = 0xff;
    let mut wire = vec![0x81, 0xff];
    wire.extend_from_slice(&(text.len() as u64).to_be_bytes());
    let key = [9, 8, 7, 6];
    wire.extend_from_slice(&key);
    let start = wire.len();
    wire.extend_from_slice(&text);
    crate::proto::mask::apply_mask(&mut wire[start..], key, 0);
    wire
}

#[test]
fn bad_utf8_in_a_gathered_text_frame_fails_before_the_frame_is_over() {
    let wire = text_frame_with_a_bad_byte();
    let mut server = Connection::new(Role::Server, Vec::new());
    server.set_whole_frames(true);
    // Valid so far: nothing to report, nothing wrong.
    server.receive_bytes(&wire[..100_000]);
    assert!(server.next_event().is_none());
    // The bad byte arrives; the rest of the frame has not.
    server.receive_bytes(&wire[100_000..130_000]);
    let err = server.next_event().unwrap().unwrap_err();
    assert_eq!(
        err.answer(),
        crate::proto::error::Answer::Close(CloseCode::INVALID_PAYLOAD)
    );
    assert_eq!(server.state(), State::Closed);
}

/// A client frame with a chosen first byte (FIN, opcode) and payload,
/// masked with a fixed key.
fn raw_frame(first: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let key = [0x11, 0x22, 0x33, 0x44];
    let mut wire = vec![first, 0x80 | payload.len() as u8];
    wire.extend_from_slice(&key);
    let start = wire.len();
    wire.extend_from_slice(payload);
    crate::proto::mask::apply_mask(&mut wire[start..], key, 0);
    wire
}

/// Feeds each read in turn and collects the events, stopping at an error.
fn run_reads(reads: &[Vec<u8>]) -> Vec<Result<Event, CloseCode>> {
    let mut server = Connection::new(Role::Server, Vec::new());
    server.set_whole_frames(true);
    let mut out = Vec::new();
    for read in reads {
        server.receive_bytes(read);
        while let Some(event) = server.next_event() {
            match event {
                Ok(e) => out.push(Ok(e)),
                Err(e) => {
                    let crate::proto::error::Answer::Close(code) = e.answer() else {
                        panic!("{e:?}")
                    };
                    out.push(Err(code));
                    return out;
                }
            }
        }
    }
    out
}

/// Text frame A (not final), continuation B whose header ends a read and
/// whose payload then comes whole, and a new text message C cut after its
/// header and first byte: C must be judged on its own, and fail.
fn assert_c_fails_on_its_own(a: &[u8], b: &[u8], c: &[u8]) {
    let (a, b, c) = (raw_frame(0x01, a), raw_frame(0x80, b), raw_frame(0x81, c));
    let reads = [
        a,
        b[..6].to_vec(),
        b[6..].to_vec(),
        c[..7].to_vec(),
        c[7..].to_vec(),
    ];
    let events = run_reads(&reads);
    assert_eq!(
        events.last(),
        Some(&Err(CloseCode::INVALID_PAYLOAD)),
        "{events:?}"
    );
}

#[test]
fn a_header_alone_in_a_read_leaves_no_utf8_state_behind() {
    // `90 80` cannot start a character.
    assert_c_fails_on_its_own(&[0xf0, 0x90], &[0x80, 0x80], &[0x90, 0x80]);
    // B carrying three bytes once made the handover underflow.
    assert_c_fails_on_its_own(&[0xf0], &[0x90, 0x80, 0x80], &[0x90, 0x80]);
}

#[test]
fn a_binary_frame_gathered_after_text_is_not_judged_as_text() {
    // Text whose header ends a read and whose payload comes whole, then a
    // binary message of non-UTF-8 bytes arriving in two reads.
    let t = raw_frame(0x81, "héllo".as_bytes());
    let bin = raw_frame(0x82, &[0xff, 0xfe, 0xfd, 0x80]);
    let reads = vec![
        t[..6].to_vec(),
        t[6..].to_vec(),
        bin[..8].to_vec(),
        bin[8..].to_vec(),
    ];
    let events = run_reads(&reads);
    assert_eq!(events.len(), 2, "{events:?}");
    match &events[1] {
        Ok(Event::BytesMessage(m)) => assert_eq!(&m.data[..], &[0xff, 0xfe, 0xfd, 0x80]),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn switching_whole_frames_off_mid_frame_finishes_the_frame() {
    let mut client = Connection::new(Role::Client, Vec::new());
    client.send(BytesMessage::new(vec![5u8; 10_000])).unwrap();
    client.send(BytesMessage::new(vec![6u8; 10])).unwrap();
    let wire = client.bytes_to_send();
    let mut server = Connection::new(Role::Server, Vec::new());
    server.set_whole_frames(true);
    server.receive_bytes(&wire[..5000]);
    assert!(server.next_event().is_none());
    server.set_whole_frames(false);
    server.receive_bytes(&wire[5000..]);
    let mut got = Vec::new();
    while let Some(event) = server.next_event() {
        if let Event::BytesMessage(m) = event.unwrap() {
            got.extend_from_slice(&m.data);
        }
    }
    assert_eq!(got, [vec![5u8; 10_000], vec![6u8; 10]].concat());
}

#[test]
fn a_frame_spanning_reads_is_gathered_from_its_first_read_itself() {
    let mut client = Connection::new(Role::Client, Vec::new());
    client.send(BytesMessage::new(vec![3u8; 300_000])).unwrap();
    let wire = client.bytes_to_send();
    let mut server = Connection::new(Role::Server, Vec::new());
    server.set_whole_frames(true);
    server.receive_bytes(&wire[..100_000]);
    // Not copied into the input buffer first: straight into the frame's.
    assert_eq!(server.in_buf.capacity(), 0);
    assert_eq!(server.gathered.len(), 100_000 - 14);
    assert!(server.next_event().is_none());
    server.receive_bytes(&wire[100_000..]);
    match server.next_event() {
        Some(Ok(Event::BytesMessage(m))) => {
            assert!(m.message_finished && m.data.len() == 300_000);
            assert!(m.data.iter().all(|&b| b == 3));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_bad_header_met_while_gathering_from_a_read_is_the_next_event() {
    let mut client = Connection::new(Role::Client, Vec::new());
    client.send(BytesMessage::new(vec![0u8; 5000])).unwrap();
    let wire = client.bytes_to_send();
    let config = Config {
        max_frame_size: 1000,
        ..Config::default()
    };
    let mut server = Connection::with_config(Role::Server, config);
    server.set_whole_frames(true);
    server.receive_bytes(&wire[..2000]);
    let err = server.next_event().unwrap().unwrap_err();
    assert_eq!(
        err.answer(),
        crate::proto::error::Answer::Close(CloseCode::MESSAGE_TOO_BIG)
    );
    assert_eq!(server.state(), State::Closed);
    let out = server.bytes_to_send();
    assert_eq!(out[0], 0x88, "a close frame");
    assert_eq!(u16::from_be_bytes([out[2], out[3]]), 1009);
    server.receive_bytes(&wire[2000..]);
    assert!(server.next_event().is_none());
}

/// Feeds `wire` as `feed` does, but reads into [`Connection::payload_buf`]
/// whenever it is offered (asked for `at_least`), counting those reads.
fn feed_direct(
    server: &mut Connection,
    wire: &[u8],
    at_least: usize,
    sizes: &mut impl FnMut() -> usize,
) -> (Parsed, usize) {
    let mut parsed = Parsed::default();
    let mut direct = 0;
    let mut rest = wire;
    while !rest.is_empty() {
        let n = sizes().clamp(1, rest.len());
        if let Some(mut room) = server.payload_buf(at_least) {
            let n = n.min(room.len());
            room[..n].copy_from_slice(&rest[..n]);
            room.filled(n);
            direct += 1;
            rest = &rest[n..];
        } else {
            server.receive_bytes(&rest[..n]);
            rest = &rest[n..];
        }
        parsed.collect(server);
    }
    (parsed, direct)
}

#[test]
fn reads_into_the_payload_buffer_report_what_received_bytes_report() {
    let (wire, want) = client_wire();
    let mut direct_reads = 0;
    for seed in 1..40u64 {
        let mut next = rng(seed);
        let max = [7usize, 1000, 70_000, 300_000][seed as usize % 4];
        let at_least = [1, 4096, 65_536][seed as usize % 3];
        let mut sizes = || (next() as usize % max) + 1;
        let mut server = Connection::new(Role::Server, Vec::new());
        server.set_whole_frames(true);
        let (got, direct) = feed_direct(&mut server, &wire, at_least, &mut sizes);
        assert_eq!(got.messages, want, "seed {seed}");
        direct_reads += direct;
    }
    assert!(direct_reads > 100, "{direct_reads}");
}

#[test]
fn the_payload_buffer_is_offered_only_inside_a_gathered_frame() {
    let mut client = Connection::new(Role::Client, Vec::new());
    client.send(BytesMessage::new(vec![5u8; 100_000])).unwrap();
    client.send(BytesMessage::new(vec![6u8; 10])).unwrap();
    let wire = client.bytes_to_send().to_vec();
    let mut piecewise = Connection::new(Role::Server, Vec::new());
    piecewise.receive_bytes(&wire[..1000]);
    assert!(
        piecewise.payload_buf(1).is_none(),
        "not in whole-frame mode"
    );
    let mut server = Connection::new(Role::Server, Vec::new());
    server.set_whole_frames(true);
    assert!(server.payload_buf(1).is_none(), "no frame yet");
    server.receive_bytes(&wire[..1014]);
    assert!(server.payload_buf(99_001).is_none(), "fewer bytes to come");
    let room = server.payload_buf(99_000).expect("the rest of the frame");
    // It grows with what arrived (1000 bytes), not with the header (the
    // slack is what aligning the payload left over).
    let slack = crate::proto::align::ALIGN_SLACK;
    assert!(
        (4000..=4000 + slack).contains(&room.len()),
        "{}",
        room.len()
    );
    room.filled(0);
    assert_eq!(server.buffered_input(), 1000);
    let mut room = server.payload_buf(1).unwrap();
    let n = room.len();
    room.copy_from_slice(&wire[1014..1014 + n]);
    room.filled(n);
    assert_eq!(server.buffered_input(), 1000 + n);
    // The rest, with the next frame behind it: the input buffer's again.
    server.receive_bytes(&wire[1014 + n..]);
    assert!(
        server.payload_buf(1).is_none(),
        "the input buffer holds bytes"
    );
    let sizes: Vec<usize> = server
        .events()
        .map(|e| match e.unwrap() {
            Event::BytesMessage(m) => m.data.len(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(sizes, [100_000, 10]);
    assert!(server.payload_buf(1).is_none(), "between frames");
}

#[test]
fn bad_utf8_read_into_the_payload_buffer_fails_at_once() {
    let wire = text_frame_with_a_bad_byte();
    let mut server = Connection::new(Role::Server, Vec::new());
    server.set_whole_frames(true);
    server.receive_bytes(&wire[..100_000]);
    assert!(server.next_event().is_none());
    let mut room = server.payload_buf(1).unwrap();
    room[..30_000].copy_from_slice(&wire[100_000..130_000]);
    room.filled(30_000);
    assert!(server.payload_buf(1).is_none(), "no more room for bad text");
    let err = server.next_event().unwrap().unwrap_err();
    assert_eq!(
        err.answer(),
        crate::proto::error::Answer::Close(CloseCode::INVALID_PAYLOAD)
    );
    assert!(server.payload_buf(1).is_none(), "closed");
}

#[test]
#[should_panic(expected = "bytes filled into a payload buffer of")]
fn filling_more_than_the_payload_buffer_holds_panics() {
    let mut client = Connection::new(Role::Client, Vec::new());
    client.send(BytesMessage::new(vec![5u8; 100_000])).unwrap();
    let wire = client.bytes_to_send();
    let mut server = Connection::new(Role::Server, Vec::new());
    server.set_whole_frames(true);
    server.receive_bytes(&wire[..1014]);
    let room = server.payload_buf(1).unwrap();
    let n = room.len();
    room.filled(n + 1);
}

//! Compression bombs (RFC 7692 §8.2 warns about them): a 2 MB compressed
//! payload that inflates to about 300 MB must fail with 1009 at the
//! message limit, and memory must stay bounded by that limit, whatever the
//! framing (one frame, many fragments, tiny reads).
//!
//! The bomb is written bit by bit here (one fixed-Huffman block: a zero
//! literal, then "copy 258 bytes from distance 1" over and over, 13 bits
//! each), so building it costs nothing. Memory is measured with a counting
//! global allocator that keeps per-thread totals, so tests running in
//! parallel do not disturb each other's numbers.

#![cfg(feature = "deflate")]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use common::*;
use wsproto::DeflateConfig;
use wsproto::proto::{Config, Event, Request, WsConnection};

// ---------------------------------------------------------------------------
// A counting allocator (per thread: current and peak live bytes).

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn grow(n: usize) {
    let _ = LIVE.try_with(|live| {
        let v = live.get() + n as isize;
        live.set(v);
        let _ = PEAK.try_with(|p| {
            if v > p.get() {
                p.set(v)
            }
        });
    });
}

fn shrink(n: usize) {
    let _ = LIVE.try_with(|live| live.set(live.get() - n as isize));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        shrink(layout.size());
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // Counted as "new block, then old freed": the worst case of a
            // moving realloc.
            grow(new_size);
            shrink(layout.size());
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Runs `f` and returns its result with the peak of bytes allocated on
/// this thread (and still live at that moment) above the level at the start.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let start = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(start));
    let out = f();
    let peak = PEAK.with(Cell::get) - start;
    (out, peak.max(0) as usize)
}

const MIB: usize = 1 << 20;

// ---------------------------------------------------------------------------
// The bomb.

/// LSB-first bit writer (RFC 1951 §3.1.1).
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    /// Writes the low `count` bits of `value`, least significant first.
    fn put(&mut self, value: u64, count: u32) {
        self.acc |= value << self.n;
        self.n += count;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }
    /// Writes a Huffman code, most significant bit first.
    fn code(&mut self, code: u64, len: u32) {
        let mut rev = 0u64;
        for i in 0..len {
            rev |= ((code >> i) & 1) << (len - 1 - i);
        }
        self.put(rev, len);
    }
    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// A permessage-deflate payload (tail stripped) inflating to
/// `1 + 258 * copies` zero bytes: one fixed-Huffman block with a literal 0
/// and `copies` matches of length 258 at distance 1, then the header bits of
/// the empty stored block a sync flush ends with (its 00 00 ff ff being the
/// stripped tail the receiver restores).
fn bomb(copies: usize) -> Vec<u8> {
    let mut b = Bits::default();
    b.put(0, 1); // BFINAL = 0
    b.put(1, 2); // BTYPE = 01, fixed Huffman
    b.code(0x30, 8); // literal 0
    for _ in 0..copies {
        b.code(0xc5, 8); // length symbol 285 = 258, no extra bits
        b.code(0, 5); // distance symbol 0 = 1, no extra bits
    }
    b.code(0, 7); // end of block (256)
    b.put(0, 3); // BFINAL = 0, BTYPE = 00: the sync flush's stored block
    b.finish()
}

/// How many copies make a payload of about `bytes`.
fn copies_for(bytes: usize) -> usize {
    bytes * 8 / 13
}

#[test]
fn the_bomb_is_valid_deflate() {
    // Checked with miniz_oxide, independent of the crate.
    let payload = bomb(1000);
    let mut stream = payload.clone();
    stream.extend_from_slice(&[0x00, 0x00, 0xff, 0xff, 0x03, 0x00]);
    let out = miniz_oxide::inflate::decompress_to_vec(&stream).unwrap();
    assert_eq!(out.len(), 1 + 258 * 1000);
    assert!(out.iter().all(|&b| b == 0));
    // And the crate inflates a small one correctly.
    let mut client = deflate_client(limited(64 * MIB));
    client.receive_bytes(&unmasked(FIN | 0x40 | BINARY, &payload));
    match client.next_event() {
        Some(Ok(Event::BytesMessage(m))) => {
            assert!(m.message_finished);
            assert_eq!(m.data.len(), 1 + 258 * 1000);
        }
        other => panic!("{other:?}"),
    }
    // 2 MB of it is a ~300 MB message.
    let big = bomb(copies_for(2_000_000));
    assert!(
        (1_990_000..=2_010_000).contains(&big.len()),
        "{}",
        big.len()
    );
}

// ---------------------------------------------------------------------------
// Receivers.

fn limited(max_message: usize) -> Config {
    Config::default()
        .max_message_size(max_message)
        .deflate(DeflateConfig::default())
}

/// A client that negotiated permessage-deflate against a hand-written 101.
fn deflate_client(config: Config) -> WsConnection {
    let (mut client, req) = client_after_request(config, Request::new("example.com", "/"));
    client.receive_bytes(&response_101(
        &request_key(&req),
        &["Sec-WebSocket-Extensions: permessage-deflate"],
    ));
    assert!(matches!(
        client.next_event(),
        Some(Ok(Event::AcceptConnection(_)))
    ));
    assert_eq!(client.extensions().len(), 1);
    client
}

/// A server that accepted permessage-deflate from a raw request.
fn deflate_server(config: Config) -> WsConnection {
    let mut server = WsConnection::with_config(wsproto::proto::Role::Server, config);
    let mut headers = good_headers();
    headers.push("Sec-WebSocket-Extensions: permessage-deflate");
    server.receive_bytes(&raw_request("GET / HTTP/1.1", &headers));
    assert!(matches!(server.next_event(), Some(Ok(Event::Request(_)))));
    server
        .send(wsproto::proto::AcceptConnection::new())
        .unwrap();
    assert_eq!(parse_response(&server.bytes_to_send()).status, 101);
    assert_eq!(server.extensions().len(), 1);
    server
}

/// Splits `payload` into frames of `size` bytes: the first with RSV1 and
/// the binary opcode, the last with FIN. Masked if `mask`.
fn fragments(payload: &[u8], size: usize, mask: bool) -> Vec<u8> {
    let chunks: Vec<&[u8]> = payload.chunks(size).collect();
    let mut out = Vec::with_capacity(payload.len() + chunks.len() * 14);
    for (i, c) in chunks.iter().enumerate() {
        let mut b0 = if i == 0 { 0x40 | BINARY } else { CONT };
        if i + 1 == chunks.len() {
            b0 |= FIN;
        }
        out.extend(if mask { masked(b0, c) } else { unmasked(b0, c) });
    }
    out
}

/// What a receiver did with a bomb.
#[derive(Debug)]
struct Outcome {
    /// Bytes of message data handed to the application before the failure.
    delivered: usize,
    /// The close code of the failure.
    code: Option<u16>,
    /// Peak extra memory while parsing.
    peak: usize,
}

/// Drives `conn` over the input already received (or fed in `reads` pieces
/// of `read_size` bytes), until it fails; measures the peak memory of the
/// parsing alone (the input buffers are allocated before).
fn explode(conn: &mut WsConnection, input: &[u8], read_size: Option<usize>) -> Outcome {
    let mut delivered = 0usize;
    let mut code = None;
    let mut handle = |conn: &mut WsConnection, delivered: &mut usize| -> bool {
        while let Some(ev) = conn.next_event() {
            match ev {
                Ok(Event::BytesMessage(m)) => {
                    *delivered += m.data.len();
                    assert!(!m.message_finished, "the whole bomb was delivered");
                }
                Ok(other) => panic!("{other:?}"),
                Err(e) => {
                    code = e.close_code().map(|c| c.0);
                    assert_close_answer(&e, &conn.bytes_to_send(), 1009);
                    return true;
                }
            }
        }
        false
    };
    let ((), peak) = match read_size {
        None => {
            conn.receive_bytes(input);
            peak_during(|| {
                handle(conn, &mut delivered);
            })
        }
        Some(n) => {
            // Reads are part of the measurement here; each is small.
            peak_during(|| {
                for piece in input.chunks(n) {
                    conn.receive_bytes(piece);
                    if handle(conn, &mut delivered) {
                        break;
                    }
                }
            })
        }
    };
    let out = Outcome {
        delivered,
        code,
        peak,
    };
    eprintln!("{out:?}");
    out
}

#[test]
fn a_2mb_bomb_in_one_frame_is_refused_by_its_size_alone() {
    // The frame is already larger than the 1 MiB message limit: 1009 from
    // the header, before any inflation.
    let payload = bomb(copies_for(2_000_000));
    let mut server = deflate_server(limited(MIB));
    let input = masked(FIN | 0x40 | BINARY, &payload);
    let out = explode(&mut server, &input, None);
    assert_eq!(out.code, Some(1009), "{out:?}");
    assert_eq!(out.delivered, 0);
    assert!(out.peak < MIB, "{out:?}");

    let mut client = deflate_client(limited(MIB));
    let out = explode(&mut client, &unmasked(FIN | 0x40 | BINARY, &payload), None);
    assert_eq!(out.code, Some(1009), "{out:?}");
}

#[test]
fn a_2mb_bomb_in_64k_fragments_stops_at_the_1mib_limit() {
    // Each 64 KB fragment is far below the limit on the wire but inflates
    // to ~10 MB: only bounded inflation can stop it.
    let payload = bomb(copies_for(2_000_000));
    for server_side in [true, false] {
        let mut conn = if server_side {
            deflate_server(limited(MIB))
        } else {
            deflate_client(limited(MIB))
        };
        let input = fragments(&payload, 64 << 10, server_side);
        assert_eq!(input.len() / (64 << 10), 30);
        let out = explode(&mut conn, &input, None);
        assert_eq!(out.code, Some(1009), "{out:?}");
        assert!(out.delivered <= MIB, "{out:?}");
        assert!(
            out.peak < 4 * MIB,
            "inflating a bomb against a 1 MiB limit took {} bytes at peak",
            out.peak
        );
    }
}

#[test]
fn a_bomb_under_the_limit_on_the_wire_stops_at_the_limit() {
    // 900 KB in one frame passes the size checks (1 MiB limit) and inflates
    // to ~140 MB.
    let payload = bomb(copies_for(900_000));
    let mut server = deflate_server(limited(MIB));
    let out = explode(&mut server, &masked(FIN | 0x40 | BINARY, &payload), None);
    assert_eq!(out.code, Some(1009), "{out:?}");
    assert_eq!(out.delivered, 0);
    assert!(out.peak < 4 * MIB, "{out:?}");
}

#[test]
fn a_bomb_trickled_in_small_reads_stops_at_the_limit() {
    // 2 MB in 64 KB frames, read 4 KB at a time: pieces of inflated data
    // are delivered as they come, up to the limit, then 1009.
    let payload = bomb(copies_for(2_000_000));
    let input = fragments(&payload, 64 << 10, true);
    let mut server = deflate_server(limited(MIB));
    let out = explode(&mut server, &input, Some(4096));
    assert_eq!(out.code, Some(1009), "{out:?}");
    assert!(out.delivered > 0 && out.delivered <= MIB, "{out:?}");
    assert!(out.peak < 4 * MIB, "{out:?}");
}

#[test]
fn a_text_bomb_stops_at_the_limit_too() {
    // Zero bytes are valid UTF-8: the text path must be bounded as well.
    let payload = bomb(copies_for(500_000));
    let mut client = deflate_client(limited(MIB));
    let input = {
        let mut v = unmasked(0x40 | TEXT, &payload[..250_000]);
        v.extend(unmasked(FIN | CONT, &payload[250_000..]));
        v
    };
    client.receive_bytes(&input);
    let (res, peak) = peak_during(|| {
        loop {
            match client.next_event() {
                Some(Ok(Event::TextMessage(m))) => assert!(!m.message_finished),
                Some(Ok(other)) => panic!("{other:?}"),
                Some(Err(e)) => break e,
                None => panic!("no failure"),
            }
        }
    });
    assert_close_answer(&res, &client.bytes_to_send(), 1009);
    assert!(peak < 4 * MIB, "{peak}");
}

#[test]
fn memory_stays_bounded_by_a_larger_limit() {
    // With an 8 MiB limit the receiver holds up to the limit. The output
    // buffer grows by reallocation (4 MB, 8 MB, then 8 MiB + 1 for this
    // 2 MB input), so counting each realloc as "new block before the old one
    // is freed" the transient peak is just over twice the limit; never more.
    let payload = bomb(copies_for(2_000_000));
    let mut server = deflate_server(limited(8 * MIB));
    let out = explode(&mut server, &masked(FIN | 0x40 | BINARY, &payload), None);
    assert_eq!(out.code, Some(1009), "{out:?}");
    assert!(out.peak < 2 * 8 * MIB + 2 * MIB, "{out:?}");

    // Fragments: each piece's output is bounded by what the message has left.
    let mut server = deflate_server(limited(8 * MIB));
    let out = explode(&mut server, &fragments(&payload, 64 << 10, true), None);
    assert_eq!(out.code, Some(1009), "{out:?}");
    assert!(out.delivered <= 8 * MIB, "{out:?}");
    assert!(out.peak < 2 * 8 * MIB + 2 * MIB, "{out:?}");
}

#[test]
fn a_legitimate_message_just_under_the_limit_inflates() {
    // The bound does not cut honest messages: 1 MiB - 1 of zeros, limit 1 MiB.
    let copies = (MIB - 2) / 258;
    let payload = bomb(copies);
    let mut server = deflate_server(limited(MIB));
    server.receive_bytes(&masked(FIN | 0x40 | BINARY, &payload));
    let (total, peak) = peak_during(|| {
        let mut total = 0;
        for ev in drain_ok(&mut server) {
            match ev {
                Event::BytesMessage(m) => total += m.data.len(),
                other => panic!("{other:?}"),
            }
        }
        total
    });
    assert_eq!(total, 1 + 258 * copies);
    assert!(peak < 4 * MIB, "{peak}");

    // Exactly at the limit is allowed; one byte more is not.
    let exact = {
        // 1 + 258 * k + fill == MIB: pad with literal zeros.
        let k = (MIB - 1) / 258;
        let fill = MIB - 1 - 258 * k;
        let mut b = Bits::default();
        b.put(0, 1);
        b.put(1, 2);
        b.code(0x30, 8);
        for _ in 0..k {
            b.code(0xc5, 8);
            b.code(0, 5);
        }
        for _ in 0..fill {
            b.code(0x30, 8);
        }
        b.code(0, 7);
        b.put(0, 3);
        b.finish()
    };
    let mut server = deflate_server(limited(MIB));
    server.receive_bytes(&masked(FIN | 0x40 | BINARY, &exact));
    let total: usize = drain_ok(&mut server)
        .into_iter()
        .map(|ev| match ev {
            Event::BytesMessage(m) => m.data.len(),
            other => panic!("{other:?}"),
        })
        .sum();
    assert_eq!(total, MIB);

    let mut server = deflate_server(limited(MIB - 1));
    server.receive_bytes(&masked(FIN | 0x40 | BINARY, &exact));
    let err = loop {
        match server.next_event() {
            Some(Ok(_)) => {}
            Some(Err(e)) => break e,
            None => panic!("one byte over the limit was accepted"),
        }
    };
    assert_close_answer(&err, &server.bytes_to_send(), 1009);
}

//! Hostile frames over real sockets (127.0.0.1:0), against the async server
//! (`ws::accept_with` on smol) and the Sans-I/O core driven like
//! `examples/sync_echo_server.rs`: lengths of 2^63−1 and 2^62, a frame just
//! over the frame limit, a million 1-byte fragments, invalid UTF-8 split
//! across fragments. Each asserts the close code and a memory bound.

mod hostile;

use std::io::Write;
use std::sync::atomic::Ordering::SeqCst;
use std::thread;
use std::time::{Duration, Instant};

use hostile::*;

#[test]
fn headers_announcing_2_pow_63_minus_1_and_2_pow_62_bytes_are_refused_with_1009() {
    let _serial = serial();
    for len in [(1u64 << 63) - 1, 1 << 62] {
        on_both(wsproto::Config::default(), |kind, addr, stats| {
            let heap = HeapWatch::start();
            let mut p = Peer::open(addr);
            let mut wire = header(true, BINARY, len);
            wire.extend_from_slice(&[0u8; 1024]);
            p.write(&wire).unwrap();
            let close = p.until_close(|f| panic!("{f:?}")).expect("a close frame");
            assert_eq!(close.close_code(), Some(1009), "{kind} {len}");
            assert!(
                p.dropped_within(Duration::from_secs(2)),
                "{kind}: TCP kept open"
            );
            let o = outcome(stats);
            assert!(o.starts_with("protocol 1009"), "{kind}: {o}");
            // Nothing sized by the claim: the engine holds no input after it.
            assert_eq!(stats.max_in.load(SeqCst), 0, "{kind}");
            heap.assert_peak_below(&format!("{kind}, length {len}"), 512 << 10);
        });
    }
}

#[test]
fn a_length_with_the_top_bit_set_is_refused_with_1002() {
    let _serial = serial();
    on_both(wsproto::Config::default(), |kind, addr, stats| {
        let mut p = Peer::open(addr);
        p.write(&header(true, BINARY, 1 << 63)).unwrap();
        let close = p.until_close(|f| panic!("{f:?}")).expect("a close frame");
        assert_eq!(close.close_code(), Some(1002), "{kind}");
        assert!(outcome(stats).starts_with("protocol 1002"), "{kind}");
    });
}

const LIMIT: usize = 1 << 20;

/// Sends a frame header announcing `len` bytes, then streams the payload
/// from a thread in 8 KiB pieces (stopping when the server is gone).
fn stream_frame(p: &Peer, len: usize) -> thread::JoinHandle<usize> {
    let mut w = p.try_clone();
    thread::spawn(move || {
        let mut sent = 0;
        if w.write_all(&header(true, BINARY, len as u64)).is_err() {
            return 0;
        }
        let piece = [0x5au8; 8 << 10];
        while sent < len {
            let n = piece.len().min(len - sent);
            if w.write_all(&piece[..n]).is_err() {
                break;
            }
            sent += n;
        }
        sent
    })
}

#[test]
fn a_frame_just_over_the_frame_limit_is_refused_from_its_header() {
    let _serial = serial();
    on_both(
        wsproto::Config::default().max_frame_size(LIMIT),
        |kind, addr, stats| {
            let heap = HeapWatch::start();
            let mut p = Peer::open(addr);
            let read_before = stats.read.load(SeqCst);
            let writer = stream_frame(&p, LIMIT + 1);
            let close = p.until_close(|f| panic!("{f:?}")).expect("a close frame");
            assert_eq!(close.close_code(), Some(1009), "{kind}");
            let _ = p.s.shutdown(std::net::Shutdown::Both);
            let sent = writer.join().unwrap();
            let read = stats.read.load(SeqCst) - read_before;
            println!("{kind}: refused after reading {read} bytes; the peer wrote {sent}");
            // Refused from the header: the server did not read the payload
            // (at most one read past it).
            let one_read = wsproto::ws::Config::default().read_buffer_size;
            assert!(read <= one_read + 14, "{kind}: read {read} bytes");
            assert!(outcome(stats).starts_with("protocol 1009"), "{kind}");
            heap.assert_peak_below(&format!("{kind}, frame of limit + 1"), 512 << 10);
        },
    );
}

#[test]
fn a_frame_at_the_frame_limit_is_echoed() {
    let _serial = serial();
    on_both(
        wsproto::Config::default().max_frame_size(LIMIT),
        |kind, addr, stats| {
            let heap = HeapWatch::start();
            let mut p = Peer::open(addr);
            let writer = stream_frame(&p, LIMIT);
            let mut got = 0;
            while got < LIMIT {
                let f = p.read_frame().expect("the echo");
                assert_eq!(f.opcode, if got == 0 { BINARY } else { 0 }, "{kind}");
                assert!(
                    f.payload.iter().all(|&b| b == 0x5a ^ 0x37 || b != 0),
                    "{kind}"
                );
                got += f.payload.len();
            }
            assert_eq!(got, LIMIT, "{kind}");
            assert_eq!(writer.join().unwrap(), LIMIT);
            p.write(&frame(true, CLOSE, &1000u16.to_be_bytes()))
                .unwrap();
            assert_eq!(
                p.until_close(|_| {}).and_then(|f| f.close_code()),
                Some(1000)
            );
            assert_eq!(outcome(stats), "closed Some(1000)", "{kind}");
            // Counted: the peer's own copies of the echo (its read buffer and
            // the frame, 1 MiB each, with their growth) and the async server's
            // assembled message (1 MiB, up to 3 MiB while its buffer grows);
            // the sync server echoes piece by piece.
            heap.assert_peak_below(&format!("{kind}, frame at the limit"), 8 * LIMIT);
        },
    );
}

#[test]
fn a_million_one_byte_fragments_are_refused_with_1009() {
    let _serial = serial();
    const FRAGMENTS: usize = 1_000_000;
    on_both(wsproto::Config::default(), |kind, addr, stats| {
        let heap = HeapWatch::start();
        let started = Instant::now();
        let mut p = Peer::open(addr);
        let mut w = p.try_clone();
        let writer = thread::spawn(move || {
            let mut batch = Vec::with_capacity(1024 * 7);
            let mut sent = 0;
            while sent < FRAGMENTS {
                batch.clear();
                for _ in 0..1024 {
                    let opcode = if sent == 0 { BINARY } else { CONT };
                    frame_into(&mut batch, sent + 1 == FRAGMENTS, opcode, b"x");
                    sent += 1;
                }
                if w.write_all(&batch).is_err() {
                    break;
                }
            }
            sent
        });
        // The sync server echoes each fragment as it comes; the async one
        // assembles the message.
        let mut echoed = 0;
        let close = p.until_close(|f| {
            assert!(matches!(f.opcode, BINARY | CONT));
            echoed += 1;
        });
        assert_eq!(close.and_then(|f| f.close_code()), Some(1009), "{kind}");
        let _ = p.s.shutdown(std::net::Shutdown::Both);
        let sent = writer.join().unwrap();
        let o = outcome(stats);
        println!(
            "{kind}: {o} after {:?}; {echoed} fragments echoed, {sent} written",
            started.elapsed()
        );
        assert!(o.starts_with("protocol 1009"), "{kind}: {o}");
        assert!(echoed <= 1 << 17, "{kind}");
        // 131 072 one-byte fragments assemble to 128 KiB; the bookkeeping
        // per fragment must stay small.
        heap.assert_peak_below(&format!("{kind}, a million fragments"), 2 << 20);
    });
}

#[test]
fn invalid_utf8_split_across_fragments_fails_at_the_first_bad_frame() {
    let _serial = serial();
    on_both(wsproto::Config::default(), |kind, addr, stats| {
        let heap = HeapWatch::start();
        let mut p = Peer::open(addr);
        // "ok" and the first two bytes of a three-byte character: valid so far.
        p.write(&frame(false, TEXT, b"ok\xe2\x82")).unwrap();
        // Its third byte is not a continuation byte: invalid here, at the
        // second fragment, though the message is unfinished.
        p.write(&frame(false, CONT, b"\x28 and more")).unwrap();
        let mut echoed = Vec::new();
        let close = p.until_close(|f| echoed.extend_from_slice(&f.payload));
        assert_eq!(close.and_then(|f| f.close_code()), Some(1007), "{kind}");
        // Whatever was echoed before is the valid prefix, never the bad bytes.
        assert!(echoed.is_empty() || echoed == b"ok", "{kind}: {echoed:?}");
        assert!(outcome(stats).starts_with("protocol 1007"), "{kind}");
        heap.assert_peak_below(&format!("{kind}, invalid UTF-8"), 256 << 10);
    });
}

#[test]
fn invalid_utf8_in_the_first_fragment_fails_at_once() {
    let _serial = serial();
    on_both(wsproto::Config::default(), |kind, addr, stats| {
        let mut p = Peer::open(addr);
        p.write(&frame(false, TEXT, b"\xff")).unwrap();
        let close = p.until_close(|f| panic!("{kind}: {f:?}"));
        assert_eq!(close.and_then(|f| f.close_code()), Some(1007), "{kind}");
        assert!(outcome(stats).starts_with("protocol 1007"), "{kind}");
    });
}

#[test]
fn valid_utf8_split_inside_a_character_is_echoed_intact() {
    // The control case for the two above: a character split across three
    // fragments is fine.
    let _serial = serial();
    on_both(wsproto::Config::default(), |kind, addr, stats| {
        let mut p = Peer::open(addr);
        let euro = "€".as_bytes();
        p.write(&frame(false, TEXT, &euro[..1])).unwrap();
        p.write(&frame(false, CONT, &euro[1..2])).unwrap();
        p.write(&frame(true, CONT, &euro[2..])).unwrap();
        let mut echoed = Vec::new();
        while echoed.len() < euro.len() {
            let f = p.read_frame().expect("the echo");
            echoed.extend_from_slice(&f.payload);
        }
        assert_eq!(echoed, euro, "{kind}");
        p.write(&frame(true, CLOSE, &1000u16.to_be_bytes()))
            .unwrap();
        assert_eq!(
            p.until_close(|_| {}).and_then(|f| f.close_code()),
            Some(1000)
        );
        assert_eq!(outcome(stats), "closed Some(1000)", "{kind}");
    });
}

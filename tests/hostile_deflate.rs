//! Hostile compressed messages (RFC 7692) over real sockets (127.0.0.1:0),
//! against the async server (`ws::accept_with` on smol) and the Sans-I/O
//! core driven like `examples/sync_echo_server.rs`, both negotiating
//! permessage-deflate as the examples do: a deflate bomb, and an empty
//! final fragment (a bug the fuzzer found).
#![cfg(feature = "deflate")]

mod hostile;

use std::io::Write;
use std::sync::atomic::Ordering::SeqCst;
use std::thread;
use std::time::{Duration, Instant};

use hostile::*;
use wsproto::proto::DeflateConfig;
use wsproto::{AcceptConnection, Config, Event, Request, Role, State, TextMessage, WsConnection};

const LIMIT: usize = 1 << 20;

/// Deflate bits, least significant first (RFC 1951 §3.1.1).
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn put(&mut self, value: u32, bits: u32) {
        self.acc |= u64::from(value) << self.n;
        self.n += bits;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    /// A Huffman code, which is packed starting with its most significant bit.
    fn code(&mut self, code: u32, len: u32) {
        self.put(code.reverse_bits() >> (32 - len), len);
    }
}

/// A permessage-deflate payload (RFC 7692 §7.2.1, without the final
/// 00 00 ff ff) that inflates to `1 + 258 * repeats` zero bytes: one fixed
/// Huffman block holding a literal 0 and `repeats` copies of (length 258,
/// distance 1), 13 bits each, then the empty stored block of a sync flush.
/// Written by hand from RFC 1951 §3.2.6, independent of any deflate library.
fn zero_bomb(repeats: usize) -> Vec<u8> {
    let mut b = Bits {
        out: Vec::with_capacity(repeats * 13 / 8 + 16),
        acc: 0,
        n: 0,
    };
    b.put(0, 1); // BFINAL = 0
    b.put(1, 2); // BTYPE = 01, fixed Huffman codes
    b.code(0x30, 8); // literal 0
    for _ in 0..repeats {
        b.code(0xc0 + (285 - 280), 8); // length 258
        b.code(0, 5); // distance 1
    }
    b.code(0, 7); // end of block
    b.put(0, 1); // BFINAL = 0
    b.put(0, 2); // BTYPE = 00, stored; LEN/NLEN are what the receiver appends
    if b.n > 0 {
        b.out.push(b.acc as u8); // pad to a byte boundary
    }
    b.out
}

/// A masked binary frame with RSV1 (compressed).
fn compressed_frame(payload: &[u8]) -> Vec<u8> {
    let mut f = frame(true, BINARY, payload);
    f[0] |= 0x40;
    f
}

/// Opens a connection offering permessage-deflate; checks it was accepted.
fn open_deflate(addr: std::net::SocketAddr) -> Peer {
    let mut p = Peer::connect(addr);
    let head = request_head(addr).replace(
        "\r\n\r\n",
        "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
    );
    p.write(head.as_bytes()).unwrap();
    let response = p.read_head().expect("a response");
    assert!(response.starts_with("HTTP/1.1 101"), "{response}");
    assert!(
        response.to_ascii_lowercase().contains("permessage-deflate"),
        "deflate not negotiated: {response}"
    );
    p
}

fn deflate_servers() -> wsproto::Config {
    wsproto::Config::default()
        .max_message_size(LIMIT)
        .deflate(DeflateConfig::default())
}

#[test]
fn a_small_hand_made_deflate_message_is_accepted() {
    // The control case for the bomb below: the same encoder, 2 581 bytes.
    let _serial = serial();
    on_both(deflate_servers(), |kind, addr, stats| {
        let mut p = open_deflate(addr);
        p.write(&compressed_frame(&zero_bomb(10))).unwrap();
        let echo = p.read_frame().expect("the echo");
        assert_eq!(echo.opcode, BINARY, "{kind}: {echo:?}, {}", outcome(stats));
        p.write(&frame(true, CLOSE, &1000u16.to_be_bytes()))
            .unwrap();
        assert_eq!(
            p.until_close(|_| {}).and_then(|f| f.close_code()),
            Some(1000)
        );
        assert_eq!(outcome(stats), "closed Some(1000)", "{kind}");
        assert_eq!(stats.messages.load(SeqCst), 1, "{kind}");
    });
}

#[test]
fn a_deflate_bomb_stops_at_the_message_limit_with_1009() {
    // ~420 KB on the wire that inflate to 64 MiB, against a 1 MiB limit.
    let _serial = serial();
    let bomb = compressed_frame(&zero_bomb((64 << 20) / 258));
    on_both(deflate_servers(), |kind, addr, stats| {
        let mut p = open_deflate(addr);
        let heap = HeapWatch::start();
        let started = Instant::now();
        let mut w = p.try_clone();
        let wire = bomb.clone();
        let writer = thread::spawn(move || w.write_all(&wire).is_ok());
        let mut echoed = 0;
        let close = p.until_close(|f| echoed += f.payload.len());
        assert_eq!(close.and_then(|f| f.close_code()), Some(1009), "{kind}");
        let _ = p.s.shutdown(std::net::Shutdown::Both);
        let _ = writer.join();
        let o = outcome(stats);
        println!(
            "{kind}: {o} after {:?}, {} KiB of bomb, {echoed} bytes echoed first",
            started.elapsed(),
            bomb.len() >> 10
        );
        assert!(o.starts_with("protocol 1009"), "{kind}: {o}");
        // The inflated message stops at the 1 MiB limit (the async server
        // assembles up to that; the sync one re-compresses its echo), far
        // below the 64 MiB the bomb holds.
        heap.assert_peak_below(&format!("{kind}, deflate bomb"), 6 * LIMIT);
    });
}

/// A client of the crate's own Sans-I/O core over a blocking socket, used
/// as the peer where the test needs to inflate what the server sends. It
/// negotiates permessage-deflate but never compresses (its `min_size` is
/// out of reach), so what it sends is plain.
struct CoreClient {
    s: std::net::TcpStream,
    ws: WsConnection,
}

impl CoreClient {
    fn open(addr: std::net::SocketAddr) -> CoreClient {
        let s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let config = Config::default().deflate(DeflateConfig::default().min_size(usize::MAX));
        let mut c = CoreClient {
            s,
            ws: WsConnection::with_config(Role::Client, config),
        };
        c.ws.send(Request::new(addr.to_string(), "/")).unwrap();
        c.flush();
        match c.next() {
            Event::AcceptConnection(_) => {}
            other => panic!("{other:?}"),
        }
        assert_eq!(c.ws.extensions().len(), 1, "deflate not negotiated");
        c
    }

    fn flush(&mut self) {
        let out = self.ws.bytes_to_send();
        self.s.write_all(&out).unwrap();
    }

    /// The next event; EOF (or a reset) becomes the core's 1006.
    fn next(&mut self) -> Event {
        loop {
            if let Some(e) = self.ws.next_event() {
                self.flush();
                return e.unwrap_or_else(|e| panic!("the server's frames: {e}"));
            }
            let mut buf = [0u8; 16 << 10];
            match std::io::Read::read(&mut self.s, &mut buf) {
                Ok(0) | Err(_) => self.ws.receive_eof(),
                Ok(n) => self.ws.receive_bytes(&buf[..n]),
            }
        }
    }

    /// The next whole text message (or the close that came instead).
    fn text(&mut self) -> Result<String, Event> {
        let mut text = String::new();
        loop {
            match self.next() {
                Event::TextMessage(m) => {
                    text.push_str(m.data.as_str());
                    if m.message_finished {
                        return Ok(text);
                    }
                }
                other => return Err(other),
            }
        }
    }
}

/// A fragmented message whose final fragment is empty, then another
/// message, echoed by a server that compresses; the client inflates both.
fn empty_final_fragment(addr: std::net::SocketAddr) -> Result<(), String> {
    let mut c = CoreClient::open(addr);
    let first = "a".repeat(40);
    let second = "hello, hello, hello, hello, hello!".to_owned();
    c.ws.send(TextMessage::fragment(first.clone(), false))
        .unwrap();
    c.ws.send(TextMessage::fragment("", true)).unwrap();
    c.ws.send(TextMessage::new(second.clone())).unwrap();
    c.flush();
    for want in [&first, &second] {
        match c.text() {
            Ok(got) if &got == want => {}
            Ok(got) => return Err(format!("echo {got:?}, sent {want:?}")),
            Err(e) => return Err(format!("instead of the echo of {want:?}: {e:?}")),
        }
    }
    c.ws.send(wsproto::CloseConnection::new(1000, "")).unwrap();
    c.flush();
    match c.next() {
        Event::CloseConnection(cc) if cc.code.0 == 1000 => {}
        other => return Err(format!("instead of the close reply: {other:?}")),
    }
    assert_eq!(c.ws.state(), State::Closed);
    Ok(())
}

#[test]
fn async_server_echoes_a_message_with_an_empty_final_fragment() {
    // The async layer assembles messages and echoes them whole.
    let _serial = serial();
    let server = AsyncServer::echo(
        wsproto::ws::Config::default()
            .protocol(Config::default().deflate(DeflateConfig::default())),
    );
    empty_final_fragment(server.addr).unwrap();
}

#[test]
fn sync_server_echoes_a_message_with_an_empty_final_fragment() {
    // Found by fuzz/server_connection and fuzz/client_connection: an empty
    // final fragment after a compressed one made PerMessageDeflate::compress
    // panic (debug builds) or send an empty payload that left the peer's
    // inflater inside a stored block header, so the next message failed
    // with 1007 (release builds). The sync server echoes fragments as they
    // come, so any client could trigger it.
    let _serial = serial();
    // Configured like examples/sync_echo_server.rs.
    let server = SyncServer::start(SyncConfig {
        protocol: Config::default().deflate(DeflateConfig::default()),
        handshake_timeout: Duration::from_secs(2),
    });
    empty_final_fragment(server.addr).unwrap();
}

/// Both ends in memory, negotiated with `config`.
fn pair(config: Config) -> (WsConnection, WsConnection) {
    let mut c = WsConnection::with_config(Role::Client, config.clone());
    let mut s = WsConnection::with_config(Role::Server, config);
    c.send(Request::new("example.com", "/")).unwrap();
    s.receive_bytes(&c.bytes_to_send());
    assert!(matches!(s.next_event(), Some(Ok(Event::Request(_)))));
    s.send(AcceptConnection::new()).unwrap();
    c.receive_bytes(&s.bytes_to_send());
    assert!(matches!(
        c.next_event(),
        Some(Ok(Event::AcceptConnection(_)))
    ));
    (c, s)
}

#[test]
fn an_empty_final_fragment_keeps_the_compressed_stream_valid() {
    // The same bug in the core alone, and its sibling: an empty message
    // compressed right after another.
    for min_size in [32, 0] {
        let (mut c, mut s) =
            pair(Config::default().deflate(DeflateConfig::default().min_size(min_size)));
        // A fragmented message ending with an empty fragment, then more.
        let sent = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            s.send(TextMessage::fragment("a".repeat(40), false))
                .unwrap();
            s.send(TextMessage::fragment("", true)).unwrap();
            if min_size == 0 {
                // An empty message on its own, compressed after another.
                s.send(TextMessage::new("")).unwrap();
            }
            s.send(TextMessage::new("b".repeat(40))).unwrap();
        }));
        assert!(sent.is_ok(), "min_size {min_size}: sending panicked");
        c.receive_bytes(&s.bytes_to_send());
        let mut texts = Vec::new();
        let mut current = String::new();
        while let Some(e) = c.next_event() {
            match e {
                Ok(Event::TextMessage(m)) => {
                    current.push_str(m.data.as_str());
                    if m.message_finished {
                        texts.push(std::mem::take(&mut current));
                    }
                }
                other => panic!("min_size {min_size}: {other:?}"),
            }
        }
        let mut want = vec!["a".repeat(40)];
        if min_size == 0 {
            want.push(String::new());
        }
        want.push("b".repeat(40));
        assert_eq!(texts, want, "min_size {min_size}");
    }
}

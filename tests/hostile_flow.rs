//! Peers that do not read, over real sockets (127.0.0.1:0): a ping flood
//! from a peer that never reads its pongs, and a peer that stops reading
//! while the server sends. Against the async server (`ws::accept_with` on
//! smol) and the Sans-I/O core driven like `examples/sync_echo_server.rs`;
//! each asserts the outcome and that the server's buffered output and the
//! heap stay bounded.

mod hostile;

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hostile::*;
use wsproto::ws::{Config, Message};

/// Pings sent by the flood: 125-byte payloads make 131-byte frames, ~10 MB
/// in all, more than the loopback socket buffers hold while nobody reads.
const PINGS: usize = 80_000;

fn ping_payload(i: usize) -> [u8; 125] {
    let mut p = [b'.'; 125];
    p[..8].copy_from_slice(&(i as u64).to_be_bytes());
    p
}

/// The ping frame for `i`: a template with the counter patched in (fast
/// enough that the flood outruns the server even in a debug build).
fn ping_frame(template: &[u8], i: usize, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(template);
    for (k, b) in (i as u64).to_be_bytes().iter().enumerate() {
        out[start + 6 + k] = b ^ MASK[k % 4];
    }
}

/// Floods pings without reading, then reads: checks that the pongs answer
/// pings sent, in order, that the newest ping is answered last, and that
/// the close handshake still works. With `finish_first` the peer reads only
/// once every ping is written (a server that keeps reading lets it), else
/// after 400 ms. Returns (pongs received, pings sent).
fn ping_flood(addr: std::net::SocketAddr, finish_first: bool) -> (usize, usize) {
    let mut p = Peer::open(addr);
    let mut w = p.try_clone();
    let writer = thread::spawn(move || {
        let template = frame(true, PING, &ping_payload(0));
        let mut batch = Vec::with_capacity(500 * template.len());
        let mut sent = 0;
        // A timeout only where the server must keep reading; elsewhere a
        // partial frame would corrupt the stream.
        let limit = finish_first.then_some(Duration::from_secs(3));
        w.set_write_timeout(limit).unwrap();
        while sent < PINGS {
            batch.clear();
            for _ in 0..500 {
                ping_frame(&template, sent, &mut batch);
                sent += 1;
            }
            w.write_all(&batch)
                .expect("the server stopped reading pings");
        }
        sent
    });
    let mut writer = Some(writer);
    let sent = if finish_first {
        writer.take().unwrap().join().unwrap()
    } else {
        // Not reading for a while: the server's writes back up.
        thread::sleep(Duration::from_millis(400));
        PINGS
    };
    let mut pongs = 0;
    let mut last = None;
    loop {
        let f = p.read_frame().expect("a pong");
        assert_eq!(f.opcode, PONG, "{f:?}");
        let n = u64::from_be_bytes(f.payload[..8].try_into().unwrap()) as usize;
        assert!(last.is_none_or(|l| n > l), "pong {n} after pong {last:?}");
        assert_eq!(f.payload, ping_payload(n), "pong {n} payload");
        pongs += 1;
        last = Some(n);
        if n == PINGS - 1 {
            break;
        }
    }
    if let Some(writer) = writer {
        assert_eq!(writer.join().unwrap(), sent);
    }
    p.write(&frame(true, CLOSE, &1000u16.to_be_bytes()))
        .unwrap();
    assert_eq!(
        p.until_close(|f| panic!("{f:?}"))
            .and_then(|f| f.close_code()),
        Some(1000)
    );
    (pongs, sent)
}

#[test]
fn async_server_coalesces_pongs_for_a_ping_flood_from_a_peer_that_never_reads() {
    let _serial = serial();
    let server = AsyncServer::echo(Config::default());
    let heap = HeapWatch::start();
    let (pongs, sent) = ping_flood(server.addr, true);
    let max_out = server.stats.max_out.load(SeqCst);
    println!(
        "async: {sent} pings, {} seen by the application, {pongs} pongs; most output buffered {max_out} bytes",
        server.stats.pings.load(SeqCst)
    );
    assert_eq!(server.stats.pings.load(SeqCst), sent);
    // Pongs were coalesced while the socket was full ...
    assert!(
        pongs < sent,
        "every ping got its own pong: nothing was coalesced"
    );
    // ... so the engine never held more than about one pong.
    assert!(max_out <= 2 * 127, "{max_out} bytes of output buffered");
    assert_eq!(
        server.stats.wait_outcomes(1, Duration::from_secs(2)),
        ["closed Some(1000)"]
    );
    heap.assert_peak_below("async ping flood", 1 << 20);
}

#[test]
fn sync_server_keeps_its_output_bounded_under_a_ping_flood_from_a_peer_that_never_reads() {
    let _serial = serial();
    let server = SyncServer::start(SyncConfig {
        protocol: wsproto::Config::default(),
        handshake_timeout: Duration::from_secs(2),
    });
    let heap = HeapWatch::start();
    let (pongs, sent) = ping_flood(server.addr, false);
    let max_out = server.stats.max_out.load(SeqCst);
    println!("sync: {sent} pings, {pongs} pongs; most output buffered {max_out} bytes");
    // The blocking server answers each ping, but stops reading while its
    // write is blocked: what it holds is bounded by one 64 KiB read's pongs.
    assert_eq!(pongs, sent);
    assert!(
        max_out <= (64 << 10) + 127,
        "{max_out} bytes of output buffered"
    );
    assert_eq!(
        server.stats.wait_outcomes(1, Duration::from_secs(2)),
        ["closed Some(1000)"]
    );
    heap.assert_peak_below("sync ping flood", 1 << 20);
}

const HIGH_WATER: usize = 64 << 10;
const MSG: usize = 64 << 10;

#[test]
fn async_send_stays_pending_when_the_peer_stops_reading() {
    let _serial = serial();
    let pending_after = Arc::new(AtomicUsize::new(0));
    let held = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let (pa, h, d) = (pending_after.clone(), held.clone(), done.clone());
    // The application sends 64 KiB messages (one shared buffer, so the
    // heap measures the connection, not the messages) until a send is
    // still pending after 300 ms, then waits for the peer.
    let app: App = Arc::new(move |mut ws, stats| {
        let (pa, h, d) = (pa.clone(), h.clone(), d.clone());
        Box::pin(async move {
            let msg = Bytes::from(vec![0x42u8; MSG]);
            let mut sent = 0;
            let pending = loop {
                let send = ws.send(Message::Binary(msg.clone()));
                let timer = async {
                    smol::Timer::after(Duration::from_millis(300)).await;
                };
                match futures::future::select(Box::pin(send), Box::pin(timer)).await {
                    futures::future::Either::Left((r, _)) => r.expect("send"),
                    futures::future::Either::Right(_) => break true,
                }
                sent += 1;
                if sent >= 2000 {
                    break false;
                }
            };
            assert!(pending, "2000 x 64 KiB sent to a peer that reads nothing");
            pa.store(sent, SeqCst);
            h.store(ws.buffered_output(), SeqCst);
            observe(&ws, &stats);
            d.store(true, SeqCst);
            // The peer drains and closes; finish the close handshake.
            echo(ws, stats).await;
        })
    });
    let server = AsyncServer::with_app(Config::default().write_buffer_high_water(HIGH_WATER), app);
    let heap = HeapWatch::start();
    let mut p = Peer::open(server.addr);
    let started = Instant::now();
    while !done.load(SeqCst) {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the sender never blocked"
        );
        thread::sleep(Duration::from_millis(10));
    }
    let sent = pending_after.load(SeqCst);
    let held = held.load(SeqCst);
    println!(
        "async: send pending after {sent} messages ({} MiB) in {:?}; {held} bytes buffered",
        (sent * MSG) >> 20,
        started.elapsed()
    );
    // Back-pressure: the engine holds at most the high-water mark and the
    // message that crossed it.
    assert!(held <= HIGH_WATER + MSG + 14, "{held} bytes buffered");
    heap.assert_peak_below("async, peer not reading", 1 << 20);
    // The peer reads everything; the pending message arrives too.
    let mut got = 0;
    while got < sent + 1 {
        let f = p.read_frame().expect("a message");
        assert_eq!((f.opcode, f.payload.len()), (BINARY, MSG));
        got += 1;
    }
    p.write(&frame(true, CLOSE, &1000u16.to_be_bytes()))
        .unwrap();
    assert_eq!(
        p.until_close(|f| panic!("{f:?}"))
            .and_then(|f| f.close_code()),
        Some(1000)
    );
    assert_eq!(
        server.stats.wait_outcomes(1, Duration::from_secs(2)),
        ["closed Some(1000)"]
    );
}

#[test]
fn sync_server_blocks_instead_of_buffering_when_the_peer_stops_reading() {
    // The sync server echoes: a peer that sends but never reads fills the
    // server's socket, the server's write blocks, it stops reading, and the
    // peer's own writes block. Its buffers stay at one read's echo.
    let _serial = serial();
    let server = SyncServer::start(SyncConfig {
        protocol: wsproto::Config::default(),
        handshake_timeout: Duration::from_secs(2),
    });
    let heap = HeapWatch::start();
    let mut p = Peer::open(server.addr);
    let mut w = p.try_clone();
    const COUNT: usize = 300; // 300 x 64 KiB = 19 MiB each way
    let writer = thread::spawn(move || {
        let msg = frame(true, BINARY, &[0x42u8; MSG]);
        w.set_write_timeout(None).unwrap();
        for _ in 0..COUNT {
            w.write_all(&msg).unwrap();
        }
    });
    thread::sleep(Duration::from_millis(500));
    assert!(
        !writer.is_finished(),
        "19 MiB were absorbed without anyone reading"
    );
    let read_while_blocked = server.stats.read.load(SeqCst);
    let max_out = server.stats.max_out.load(SeqCst);
    println!(
        "sync: server read {} MiB before blocking; most output buffered {max_out} bytes",
        read_while_blocked >> 20
    );
    assert!(max_out <= (64 << 10) + 2 * MSG, "{max_out} bytes buffered");
    heap.assert_peak_below("sync, peer not reading", 2 << 20);
    let mut got = 0;
    let mut bytes = 0;
    while bytes < COUNT * MSG {
        let f = p.read_frame().expect("an echo");
        got += 1;
        bytes += f.payload.len();
    }
    writer.join().unwrap();
    println!("sync: {got} echo frames");
    p.write(&frame(true, CLOSE, &1000u16.to_be_bytes()))
        .unwrap();
    assert_eq!(
        p.until_close(|_| {}).and_then(|f| f.close_code()),
        Some(1000)
    );
}

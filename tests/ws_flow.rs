//! Flow control and cancellation on every runtime: back-pressure against a
//! peer that does not read, cancel-safety of `recv`/`next` while a peer
//! trickles messages in pieces, and the close handshake finishing after
//! back-pressure clears.

#[macro_use]
mod ws_common;

use std::net::TcpListener as StdListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use std::future::poll_fn;
use std::pin::Pin;

use futures::{FutureExt, Sink, SinkExt, Stream, StreamExt};
use ws_common::*;
use wsproto::State;
use wsproto::ws::{Config, Error, Message};

runtime_tests!(
    send_stays_pending_and_output_stays_bounded_when_the_peer_does_not_read,
    recv_is_cancel_safe_while_a_peer_trickles_messages,
    read_half_recv_is_cancel_safe_while_a_peer_trickles_messages,
    blocked_write_half_resumes_while_the_read_half_handles_a_ping,
    server_drops_tcp_after_a_close_reply_delayed_by_back_pressure,
);

const HIGH_WATER: usize = 16 << 10;
const MSG: usize = 4 << 10;
/// A 4 KiB payload takes a 4-byte header from a server.
const FRAME: usize = MSG + 4;

fn send_stays_pending_and_output_stays_bounded_when_the_peer_does_not_read<R: Rt>() {
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (sent, peer) = run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let peer = thread::spawn(move || {
            let mut raw = Raw::client(addr, "/");
            // Read nothing until told to.
            go_rx.recv_timeout(Duration::from_secs(5)).unwrap();
            let mut n = 0usize;
            loop {
                let f = raw.expect_frame();
                match f.opcode {
                    BINARY => {
                        assert!(f.payload == pattern(MSG, n as u8), "message {n} differs");
                        n += 1;
                    }
                    CLOSE => break,
                    _ => panic!("unexpected {f:?}"),
                }
            }
            raw.send_close(1000, "");
            assert!(raw.at_eof());
            n
        });
        let config = Config::default().write_buffer_high_water(HIGH_WATER);
        let mut ws = R::accept_with(&l, config, accept_all()).await.unwrap();

        // Queue messages without flushing (`feed`: poll_ready + start_send)
        // until poll_ready stays pending: the socket buffers are full and
        // the WebSocket's own buffer is at its mark.
        let mut sent = 0usize;
        loop {
            let msg = Message::binary(pattern(MSG, sent as u8));
            match timeout::<R, _>(Duration::from_millis(100), ws.feed(msg)).await {
                Some(r) => {
                    r.unwrap();
                    sent += 1;
                }
                None => break,
            }
            assert!(
                ws.buffered_output() <= HIGH_WATER + FRAME,
                "{} bytes buffered after {sent} messages",
                ws.buffered_output()
            );
            assert!(
                sent < 16 << 10,
                "64 MiB went into a peer that reads nothing"
            );
        }
        let buffered = ws.buffered_output();
        assert!(buffered >= HIGH_WATER, "pending below the mark: {buffered}");
        assert!(buffered <= HIGH_WATER + FRAME, "{buffered}");

        // `send` (poll_ready + start_send + flush, as `WebSocket::send`)
        // stays pending too. The kernel may still take a few bytes when
        // asked again, so retry a bounded number of times, keeping count of
        // what was queued.
        let mut pending = false;
        for _ in 0..64 {
            let mut queued = false;
            let msg = Message::binary(pattern(MSG, sent as u8));
            let r = timeout::<R, _>(Duration::from_millis(100), async {
                poll_fn(|cx| Pin::new(&mut ws).poll_ready(cx)).await?;
                Pin::new(&mut ws).start_send(msg)?;
                queued = true;
                poll_fn(|cx| Pin::new(&mut ws).poll_flush(cx)).await
            })
            .await;
            sent += usize::from(queued);
            assert!(
                ws.buffered_output() <= HIGH_WATER + FRAME,
                "{}",
                ws.buffered_output()
            );
            match r {
                Some(r) => r.unwrap(),
                None => {
                    pending = true;
                    break;
                }
            }
        }
        assert!(
            pending,
            "send kept completing against a peer that reads nothing"
        );
        assert_eq!(ws.state(), State::Open);

        // Once the peer reads, everything queued drains.
        go_tx.send(()).unwrap();
        let r = timeout::<R, _>(Duration::from_secs(3), ws.flush()).await;
        assert!(matches!(r, Some(Ok(()))), "{r:?}");
        assert_eq!(ws.buffered_output(), 0);
        ws.close(1000u16, "").await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::close(1000u16, "")
        );
        assert!(ws.recv().await.is_none());
        (sent, peer)
    });
    assert_eq!(peer.join().unwrap(), sent);
}

/// What the trickling server sends, as frames, and what the client should
/// see, as messages.
fn trickle_script() -> (Vec<u8>, Vec<Message>) {
    let mut wire = Vec::new();
    let mut expect = Vec::new();
    let big = pattern(300 << 10, 11);
    let text = "ünïcödé 😀 ".repeat(2000);
    let t = text.as_bytes();
    for i in 0..5 {
        let small = format!("small {i}");
        wire.extend(encode(true, TEXT, None, small.as_bytes()));
        expect.push(Message::text(small));
    }
    // A large binary message in three frames.
    wire.extend(encode(false, BINARY, None, &big[..1000]));
    wire.extend(encode(false, CONT, None, &big[1000..200_000]));
    wire.extend(encode(true, CONT, None, &big[200_000..]));
    expect.push(Message::binary(big));
    // A ping, then a long text split inside characters, with a ping in
    // the middle of it.
    wire.extend(encode(true, PING, None, b"p1"));
    expect.push(Message::Ping("p1".into()));
    wire.extend(encode(false, TEXT, None, &t[..1001]));
    wire.extend(encode(true, PING, None, b"p2"));
    expect.push(Message::Ping("p2".into()));
    wire.extend(encode(true, CONT, None, &t[1001..]));
    expect.push(Message::text(text.clone()));
    for i in 0..5 {
        let b = pattern(i * 100, i as u8);
        wire.extend(encode(true, BINARY, None, &b));
        expect.push(Message::binary(b));
    }
    wire.extend(encode(true, TEXT, None, b"last"));
    expect.push(Message::text("last"));
    (wire, expect)
}

/// A raw server that writes the script in uneven pieces with pauses, then
/// expects the two pongs and the client's close.
fn trickling_server(l: StdListener) {
    let mut raw = Raw::server(&l);
    let (wire, _) = trickle_script();
    let mut at = 0;
    let mut step = 0usize;
    while at < wire.len() {
        // 1 byte, 7 bytes, ... up to ~6 KiB: headers get split as well.
        let n = [1, 7, 300, 2, 6000, 1500, 13, 4096][step % 8].min(wire.len() - at);
        raw.write(&wire[at..at + n]);
        at += n;
        step += 1;
        thread::sleep(Duration::from_micros(1500));
    }
    for want in [&b"p1"[..], b"p2"] {
        let f = raw.expect_frame();
        assert_eq!((f.opcode, &f.payload[..]), (PONG, want));
    }
    assert_eq!(raw.expect_frame().close_code(), Some(1000));
    raw.send_close(1000, "");
}

/// Receives `expect.len()` messages from `stream`, cancelling `next()`
/// again and again: polled once and dropped, or raced against a 1 ms timer.
/// Returns how many times a pending `next()` was dropped.
async fn receive_with_cancellations<R: Rt, St>(stream: &mut St, expect: &[Message]) -> usize
where
    St: Stream<Item = Result<Message, Error>> + Unpin,
{
    let mut cancelled = 0;
    let mut got = Vec::new();
    while got.len() < expect.len() {
        if let Some(item) = stream.next().now_or_never() {
            got.push(item.expect("a message").expect("no error"));
            continue;
        }
        cancelled += 1;
        match timeout::<R, _>(Duration::from_millis(1), stream.next()).await {
            Some(item) => got.push(item.expect("a message").expect("no error")),
            None => cancelled += 1,
        }
    }
    for (i, (g, e)) in got.iter().zip(expect).enumerate() {
        assert!(
            g == e,
            "[{}] message {i} differs: {} vs {} bytes",
            R::NAME,
            g.len(),
            e.len()
        );
    }
    cancelled
}

fn recv_is_cancel_safe_while_a_peer_trickles_messages<R: Rt>() {
    let l = StdListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let peer = thread::spawn(move || trickling_server(l));
    run::<R, _>(async {
        let (_, expect) = trickle_script();
        let (mut ws, _) = R::connect(&url(addr, "/")).await.unwrap();
        let cancelled = receive_with_cancellations::<R, _>(&mut ws, &expect).await;
        assert!(
            cancelled >= 20,
            "only {cancelled} cancellations: the test proved little"
        );
        ws.close(1000u16, "").await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::close(1000u16, "")
        );
        assert!(ws.recv().await.is_none());
    });
    peer.join().unwrap();
}

fn read_half_recv_is_cancel_safe_while_a_peer_trickles_messages<R: Rt>() {
    let l = StdListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let peer = thread::spawn(move || trickling_server(l));
    run::<R, _>(async {
        let (_, expect) = trickle_script();
        let (ws, _) = R::connect(&url(addr, "/")).await.unwrap();
        let (mut rd, mut wr) = ws.split();
        let cancelled = receive_with_cancellations::<R, _>(&mut rd, &expect).await;
        assert!(
            cancelled >= 20,
            "only {cancelled} cancellations: the test proved little"
        );
        wr.close(1000u16, "").await.unwrap();
        assert_eq!(
            rd.recv().await.unwrap().unwrap(),
            Message::close(1000u16, "")
        );
        assert!(rd.recv().await.is_none());
    });
    peer.join().unwrap();
}

fn server_drops_tcp_after_a_close_reply_delayed_by_back_pressure<R: Rt>() {
    let (close_tx, close_rx) = mpsc::channel::<()>();
    let (read_tx, read_rx) = mpsc::channel::<()>();
    let peer = run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let peer = thread::spawn(move || {
            let mut raw = Raw::client(addr, "/");
            close_rx.recv_timeout(Duration::from_secs(5)).unwrap();
            raw.send_close(1000, "bye");
            read_rx.recv_timeout(Duration::from_secs(5)).unwrap();
            let close = loop {
                let f = raw.expect_frame();
                if f.opcode != BINARY {
                    break f;
                }
            };
            assert_eq!(close.close_code(), Some(1000));
            // RFC 6455 §7.1.1: the server ends TCP first.
            raw.s
                .set_read_timeout(Some(Duration::from_millis(1500)))
                .unwrap();
            let start = Instant::now();
            let mut b = [0u8; 1];
            let eof = matches!(std::io::Read::read(&mut raw.s, &mut b), Ok(0));
            eof && start.elapsed() < Duration::from_millis(600)
        });
        let config = Config::default()
            .write_buffer_high_water(HIGH_WATER)
            .close_timeout(Duration::from_secs(3));
        let mut ws = R::accept_with(&l, config, accept_all()).await.unwrap();
        // Send until a flush stays pending: the socket is full and one
        // message waits in our buffer, below the mark, so we still read.
        let mut n = 0usize;
        loop {
            let msg = Message::binary(pattern(MSG, n as u8));
            n += 1;
            assert!(n < 16 << 10, "the socket never filled");
            if timeout::<R, _>(Duration::from_millis(100), ws.send(msg))
                .await
                .is_none()
            {
                break;
            }
        }
        assert!(ws.buffered_output() > 0 && ws.buffered_output() < HIGH_WATER);
        close_tx.send(()).unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::close(1000u16, "bye")
        );
        // The reply waits behind the data.
        assert_eq!(ws.state(), State::RemoteClosing);
        read_tx.send(()).unwrap();
        let start = Instant::now();
        let end = timeout::<R, _>(Duration::from_secs(1), ws.recv()).await;
        let took = start.elapsed();
        // (The timer's own wakeup re-polls a stuck stream, which then ends:
        // so check the time, not only the outcome.)
        assert!(
            matches!(end, Some(None)) && took < Duration::from_millis(600),
            "[{}] the stream ended after {took:?} with {end:?}; the peer had read everything",
            R::NAME
        );
        peer
    });
    assert!(
        peer.join().unwrap(),
        "the server kept TCP open after the close handshake"
    );
}

/// A write half blocked on a full socket while the read half, in another
/// task, is woken by a ping and writes its pong to the same socket: both
/// halves poll the one transport, and whichever polls last must not steal
/// the other's wakeup (the write half must still finish once the peer
/// reads).
fn blocked_write_half_resumes_while_the_read_half_handles_a_ping<R: Rt>() {
    const BIG: usize = 256 << 10;
    let l = StdListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let peer = thread::spawn(move || {
        let mut raw = Raw::server(&l);
        go_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        raw.send(true, PING, b"wake");
        thread::sleep(Duration::from_millis(100));
        // The pong may come before or after "done": the writer, once woken,
        // may queue "done" before the reader has read the ping.
        let (mut n, mut pong, mut done) = (0usize, false, false);
        while !(pong && done) {
            let f = raw.expect_frame();
            match f.opcode {
                BINARY => {
                    assert!(!done, "data after the last message");
                    assert_eq!(f.payload.len(), BIG);
                    n += 1;
                }
                PONG => {
                    assert_eq!(f.payload, b"wake");
                    pong = true;
                }
                TEXT => {
                    assert_eq!(f.payload, b"done");
                    done = true;
                }
                _ => panic!("unexpected {f:?}"),
            }
        }
        raw.send_close(1000, "");
        assert_eq!(raw.expect_frame().close_code(), Some(1000));
        n
    });
    let sent = run::<R, _>(async {
        let (ws, _) = R::connect(&url(addr, "/")).await.unwrap();
        let (mut rd, mut wr) = ws.split();
        let count = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count2, stop2) = (Arc::clone(&count), Arc::clone(&stop));
        let writer = R::spawn(async move {
            let msg = Message::binary(pattern(BIG, 1));
            while !stop2.load(SeqCst) {
                wr.send(msg.clone()).await.unwrap();
                let n = count2.fetch_add(1, SeqCst) + 1;
                assert!(n < 256, "64 MiB went into a peer that reads nothing");
            }
            wr.send("done").await.unwrap();
            wr
        });
        let reader = R::spawn(async move {
            assert_eq!(
                rd.recv().await.unwrap().unwrap(),
                Message::Ping("wake".into())
            );
            assert_eq!(
                rd.recv().await.unwrap().unwrap(),
                Message::close(1000u16, "")
            );
            assert!(rd.recv().await.is_none());
            rd
        });
        // Wait for the writer to block: its count stops moving.
        let mut last = usize::MAX;
        loop {
            R::sleep(Duration::from_millis(150)).await;
            let now = count.load(SeqCst);
            if now == last {
                break;
            }
            last = now;
        }
        stop.store(true, SeqCst);
        go_tx.send(()).unwrap();
        let wr = timeout::<R, _>(Duration::from_millis(1500), writer)
            .await
            .unwrap_or_else(|| panic!("[{}] the write half was never woken", R::NAME));
        let rd = reader.await;
        assert_eq!(rd.reunite(wr).state(), State::Closed);
        count.load(SeqCst)
    });
    assert_eq!(peer.join().unwrap(), sent);
}

//! Control frames on every runtime: pings answered automatically and
//! surfaced, unsolicited pongs, pongs and close replies while the
//! application only sends (read-ahead), and keepalive.

#[macro_use]
mod ws_common;

use std::net::TcpListener as StdListener;
use std::thread;
use std::time::{Duration, Instant};

use futures::{Sink, SinkExt};
use ws_common::*;
use wsproto::ws::{Config, Error, Message, TimeoutKind};
use wsproto::{LocalProtocolError, State};

runtime_tests!(
    pings_are_answered_automatically_and_surface_as_messages,
    oversized_ping_is_refused_locally_and_the_connection_lives_on,
    pong_and_close_reply_go_out_while_the_application_only_sends,
    pong_and_close_reply_go_out_while_only_the_write_half_sends,
    keepalive_times_out_a_silent_server,
    keepalive_times_out_a_silent_client,
    keepalive_keeps_a_responsive_connection_open,
    keepalive_timeout_ends_the_stream_even_when_the_socket_is_full,
    keepalive_pings_at_the_interval_when_answered,
);

fn pings_are_answered_automatically_and_surface_as_messages<R: Rt>() {
    run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let server = R::spawn(async move {
            let mut ws = R::accept(&l).await.unwrap();
            ws.send(Message::Ping("from server".into())).await.unwrap();
            echo(ws).await
        });
        let (mut ws, _) = R::connect(&url(addr, "/")).await.unwrap();
        // The server's ping surfaces; our pong went out on its own.
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::Ping("from server".into())
        );
        // Our ping is answered with the same payload.
        ws.send(Message::Ping("from client".into())).await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::Pong("from client".into())
        );
        // The longest control payload, and an empty one.
        let long = pattern(125, 3);
        ws.send(Message::Ping(long.clone().into())).await.unwrap();
        ws.send(Message::Ping(Vec::new().into())).await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::Pong(long.clone().into())
        );
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::Pong(Vec::new().into())
        );
        // An unsolicited pong is delivered as such, and is not answered.
        ws.send(Message::Pong("unsolicited".into())).await.unwrap();
        ws.send("after").await.unwrap();
        assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("after"));
        ws.close(1000u16, "").await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::close(1000u16, "")
        );
        assert!(ws.recv().await.is_none());

        let log: Vec<Message> = server.await.into_iter().map(Result::unwrap).collect();
        assert_eq!(
            log,
            [
                Message::Pong("from server".into()),
                Message::Ping("from client".into()),
                Message::Ping(long.into()),
                Message::Ping(Vec::new().into()),
                Message::Pong("unsolicited".into()),
                Message::close(1000u16, ""),
            ]
        );
    });
}

fn oversized_ping_is_refused_locally_and_the_connection_lives_on<R: Rt>() {
    run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let server = R::spawn(async move { echo(R::accept(&l).await.unwrap()).await });
        let (mut ws, _) = R::connect(&url(addr, "/")).await.unwrap();
        let err = ws.send(Message::Ping(pattern(126, 0).into())).await;
        assert!(
            matches!(
                err,
                Err(Error::Local(LocalProtocolError::ControlPayloadTooLong(126)))
            ),
            "{err:?}"
        );
        let err = ws.close(1000u16, &"r".repeat(124)).await;
        assert!(matches!(err, Err(Error::Local(_))), "{err:?}");
        for code in [999u16, 1006, 1015, 5000] {
            let err = ws.close(code, "").await;
            assert!(
                matches!(err, Err(Error::Local(LocalProtocolError::InvalidCloseCode(c))) if c == code),
                "{code}: {err:?}"
            );
        }
        assert_eq!(ws.state(), State::Open);
        ws.send("still open").await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::text("still open")
        );
        ws.close(1000u16, "").await.unwrap();
        while ws.recv().await.is_some() {}
        let log: Vec<Message> = server.await.into_iter().map(Result::unwrap).collect();
        assert_eq!(log, [Message::close(1000u16, "")]);
    });
}

/// Sends numbered texts every few ms until sending fails; returns how many
/// went out and the error.
async fn tick_until_refused<R: Rt, K>(sink: &mut K) -> (usize, Error)
where
    K: Sink<Message, Error = Error> + Unpin,
{
    let mut sent = 0;
    loop {
        if let Err(e) = sink.send(Message::text(format!("tick {sent}"))).await {
            return (sent, e);
        }
        sent += 1;
        assert!(sent < 300, "[{}] the peer's close was never read", R::NAME);
        R::sleep(Duration::from_millis(5)).await;
    }
}

/// The raw client of the two tests below: pings, waits for the pong among
/// the ticks, closes, waits for the close reply, and checks the ticks are
/// in order. Returns (pong latency, close reply latency, ticks seen).
fn pinging_client(addr: std::net::SocketAddr) -> (Duration, Duration, usize) {
    let mut raw = Raw::client(addr, "/");
    let mut ticks = 0;
    let next_control = |raw: &mut Raw, ticks: &mut usize| loop {
        let f = raw.expect_frame();
        if f.opcode == TEXT {
            assert_eq!(f.payload, format!("tick {ticks}").as_bytes());
            *ticks += 1;
        } else {
            return f;
        }
    };
    // Let a few ticks go by first.
    thread::sleep(Duration::from_millis(30));
    let start = Instant::now();
    raw.send(true, PING, b"are you there");
    let f = next_control(&mut raw, &mut ticks);
    assert_eq!((f.opcode, &f.payload[..]), (PONG, &b"are you there"[..]));
    let pong_after = start.elapsed();
    let start = Instant::now();
    raw.send_close(1000, "done");
    let f = next_control(&mut raw, &mut ticks);
    assert_eq!(f.close_code(), Some(1000), "{f:?}");
    let close_after = start.elapsed();
    assert!(raw.at_eof(), "the server drops TCP once its stream ends");
    (pong_after, close_after, ticks)
}

fn pong_and_close_reply_go_out_while_the_application_only_sends<R: Rt>() {
    let (sent, peer) = run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let peer = thread::spawn(move || pinging_client(addr));
        let mut ws = R::accept(&l).await.unwrap();
        // Never polls the stream while sending.
        let (sent, err) = tick_until_refused::<R, _>(&mut ws).await;
        assert!(matches!(err, Error::ConnectionClosed), "{err:?}");
        // What was read ahead is delivered in order, then the end.
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::Ping("are you there".into())
        );
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::close(1000u16, "done")
        );
        assert!(ws.recv().await.is_none());
        (sent, peer)
    });
    let (pong_after, close_after, ticks) = peer.join().unwrap();
    assert_eq!(ticks, sent);
    assert!(
        pong_after < Duration::from_millis(500),
        "pong after {pong_after:?}"
    );
    assert!(
        close_after < Duration::from_millis(500),
        "close reply after {close_after:?}"
    );
}

fn pong_and_close_reply_go_out_while_only_the_write_half_sends<R: Rt>() {
    let (sent, peer) = run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let peer = thread::spawn(move || pinging_client(addr));
        let (mut rd, mut wr) = R::accept(&l).await.unwrap().split();
        let (sent, err) = tick_until_refused::<R, _>(&mut wr).await;
        assert!(matches!(err, Error::ConnectionClosed), "{err:?}");
        assert_eq!(
            rd.recv().await.unwrap().unwrap(),
            Message::Ping("are you there".into())
        );
        assert_eq!(
            rd.recv().await.unwrap().unwrap(),
            Message::close(1000u16, "done")
        );
        assert!(rd.recv().await.is_none());
        (sent, peer)
    });
    let (pong_after, close_after, ticks) = peer.join().unwrap();
    assert_eq!(ticks, sent);
    assert!(
        pong_after < Duration::from_millis(500),
        "pong after {pong_after:?}"
    );
    assert!(
        close_after < Duration::from_millis(500),
        "close reply after {close_after:?}"
    );
}

fn keepalive() -> Config {
    Config::default().keepalive(Duration::from_millis(100), Duration::from_millis(200))
}

/// A raw peer that never answers: it must see a ping, then a close 1011,
/// then the end of TCP.
fn silent_peer_sees_ping_then_1011(raw: &mut Raw) {
    let f = raw.expect_frame();
    assert_eq!(f.opcode, PING, "{f:?}");
    assert_eq!(f.masked, !raw.client, "{f:?}");
    let f = raw.expect_frame();
    assert_eq!(f.close_code(), Some(1011), "{f:?}");
    assert!(raw.at_eof(), "TCP ends after the keepalive close");
}

async fn expect_keepalive_timeout<R: Rt, S>(ws: &mut wsproto::ws::WebSocket<S>)
where
    S: futures::AsyncRead + futures::AsyncWrite + Unpin,
{
    let start = Instant::now();
    let item = ws.recv().await;
    let took = start.elapsed();
    assert!(
        matches!(item, Some(Err(Error::Timeout(TimeoutKind::Keepalive)))),
        "[{}] {item:?}",
        R::NAME
    );
    // 100 ms of silence, then 200 ms without an answer to the ping.
    assert!(took >= Duration::from_millis(250), "{took:?}");
    assert!(took < Duration::from_millis(1000), "{took:?}");
    assert!(ws.recv().await.is_none());
    assert!(matches!(ws.send("x").await, Err(Error::ConnectionClosed)));
}

fn keepalive_times_out_a_silent_server<R: Rt>() {
    let l = StdListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let peer = thread::spawn(move || silent_peer_sees_ping_then_1011(&mut Raw::server(&l)));
    run::<R, _>(async {
        let (mut ws, _) = R::connect_with_config(&url(addr, "/"), keepalive())
            .await
            .unwrap();
        expect_keepalive_timeout::<R, _>(&mut ws).await;
    });
    peer.join().unwrap();
}

fn keepalive_times_out_a_silent_client<R: Rt>() {
    let peer = run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let peer =
            thread::spawn(move || silent_peer_sees_ping_then_1011(&mut Raw::client(addr, "/")));
        let mut ws = R::accept_with(&l, keepalive(), accept_all()).await.unwrap();
        expect_keepalive_timeout::<R, _>(&mut ws).await;
        peer
    });
    peer.join().unwrap();
}

/// Reads for `d`, returning what arrived (no error allowed).
async fn listen_for<R: Rt, S>(ws: &mut wsproto::ws::WebSocket<S>, d: Duration) -> Vec<Message>
where
    S: futures::AsyncRead + futures::AsyncWrite + Unpin,
{
    let end = Instant::now() + d;
    let mut got = Vec::new();
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        match timeout::<R, _>(left, ws.recv()).await {
            None => break,
            Some(Some(Ok(m))) => got.push(m),
            Some(other) => panic!("[{}] unexpected {other:?}", R::NAME),
        }
    }
    got
}

fn keepalive_timeout_ends_the_stream_even_when_the_socket_is_full<R: Rt>() {
    let l = StdListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    // A dead peer: completes the handshake, then neither reads nor writes.
    let peer = thread::spawn(move || {
        let _raw = Raw::server(&l);
        let _ = done_rx.recv_timeout(Duration::from_secs(5));
    });
    run::<R, _>(async {
        let config = keepalive()
            .write_buffer_high_water(16 << 10)
            .close_timeout(Duration::from_millis(300));
        let (mut ws, _) = R::connect_with_config(&url(addr, "/"), config)
            .await
            .unwrap();
        // Fill the socket and our buffer (the keepalive may fire meanwhile
        // and refuse further sends).
        let msg = Message::binary(pattern(4 << 10, 0));
        for _ in 0..16 << 10 {
            match timeout::<R, _>(Duration::from_millis(100), ws.feed(msg.clone())).await {
                Some(Ok(())) => {}
                Some(Err(_)) | None => break,
            }
        }
        let item = timeout::<R, _>(Duration::from_secs(1), ws.recv()).await;
        assert!(
            matches!(
                item,
                Some(Some(Err(Error::Timeout(TimeoutKind::Keepalive))))
            ),
            "{item:?}"
        );
        let start = Instant::now();
        let end = timeout::<R, _>(Duration::from_millis(1500), ws.recv()).await;
        let took = start.elapsed();
        assert!(
            matches!(end, Some(None)) && took < Duration::from_millis(1000),
            "[{}] after {took:?}: {end:?} (close_timeout is 300 ms)",
            R::NAME
        );
    });
    done_tx.send(()).unwrap();
    peer.join().unwrap();
}

fn keepalive_keeps_a_responsive_connection_open<R: Rt>() {
    run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let server = R::spawn(async move { echo(R::accept(&l).await.unwrap()).await });
        let (mut ws, _) = R::connect_with_config(&url(addr, "/"), keepalive())
            .await
            .unwrap();
        // Idle for 3x (interval + timeout): the echo server answers every
        // keepalive ping, so the connection stays up; the pongs surface.
        let got = listen_for::<R, _>(&mut ws, Duration::from_millis(900)).await;
        assert!(got.len() >= 2, "{got:?}");
        assert!(got.iter().all(|m| matches!(m, Message::Pong(_))), "{got:?}");
        ws.send("alive").await.unwrap();
        // (A keepalive pong may come first.)
        let echo = loop {
            match ws.recv().await.unwrap().unwrap() {
                Message::Pong(p) => assert_eq!(&p[..], b"keepalive"),
                other => break other,
            }
        };
        assert_eq!(echo, Message::text("alive"));
        let start = Instant::now();
        ws.close(1000u16, "").await.unwrap();
        while let Some(item) = ws.recv().await {
            assert!(
                matches!(item, Ok(Message::Pong(_) | Message::Close(_))),
                "{item:?}"
            );
        }
        assert!(
            start.elapsed() < Duration::from_millis(500),
            "{:?}",
            start.elapsed()
        );
        let log = server.await;
        assert!(log.len() >= 3, "{log:?}");
        assert!(
            log.iter()
                .rev()
                .skip(1)
                .all(|m| matches!(m, Ok(Message::Ping(_)))),
            "{log:?}"
        );
    });
}

fn keepalive_pings_at_the_interval_when_answered<R: Rt>() {
    run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let server = R::spawn(async move { echo(R::accept(&l).await.unwrap()).await });
        let config =
            Config::default().keepalive(Duration::from_millis(100), Duration::from_millis(500));
        let (mut ws, _) = R::connect_with_config(&url(addr, "/"), config)
            .await
            .unwrap();
        // "Send a ping after this long without hearing from the peer": the
        // peer answers at once, so a ping is due every ~100 ms, about 10 in
        // a second; allow for a slow machine.
        let got = listen_for::<R, _>(&mut ws, Duration::from_millis(1000)).await;
        assert!(
            got.len() >= 6,
            "only {} keepalive pongs in 1 s: {got:?}",
            got.len()
        );
        ws.close(1000u16, "").await.unwrap();
        while ws.recv().await.is_some() {}
        server.await;
    });
}

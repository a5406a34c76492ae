//! Ending a connection, on every runtime: the close handshake from either
//! side (code, reason, states, the end of the stream), close timeouts, a
//! peer that drops TCP without a close frame, and a peer that breaks the
//! protocol.

#[macro_use]
mod ws_common;

use std::net::TcpListener as StdListener;
use std::thread;
use std::time::{Duration, Instant};

use ws_common::*;
use wsproto::ws::{CloseFrame, Config, Error, Message, TimeoutKind};
use wsproto::{CloseCode, State};

runtime_tests!(
    client_initiated_close_with_code_and_reason,
    server_initiated_close_through_the_sink,
    close_without_status_code,
    client_close_times_out_when_the_server_never_replies,
    client_waits_for_the_server_to_drop_tcp_bounded_by_close_timeout,
    peer_eof_without_close_is_abnormal_closure_at_the_server,
    peer_eof_without_close_is_abnormal_closure_at_the_client,
    unmasked_frame_to_server_fails_with_1002,
    masked_frame_to_client_fails_with_1002,
    invalid_utf8_fails_with_1007,
    oversized_message_fails_with_1009,
    simultaneous_close_from_both_sides,
    server_close_times_out_when_the_client_never_replies,
    protocol_error_answer_is_on_the_wire_when_the_error_is_yielded,
    sink_close_completes_the_handshake_and_keeps_what_arrived,
    sink_close_does_not_report_success_for_an_unfinished_handshake,
);

/// How long a close handshake between live peers may take here (generous,
/// for loaded CI machines).
const PROMPT: Duration = Duration::from_millis(1500);

fn close_msg(code: u16, reason: &str) -> Message {
    Message::close(code, reason)
}

/// A close timeout well above what a close handshake takes, so that ending
/// in less than `PROMPT` shows nobody sat out a timeout.
fn fast_close() -> Config {
    Config::default().close_timeout(Duration::from_secs(3))
}

fn client_initiated_close_with_code_and_reason<R: Rt>() {
    run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let server = R::spawn(async move {
            let mut ws = R::accept_with(&l, fast_close(), accept_all())
                .await
                .unwrap();
            let first = ws.recv().await.unwrap().unwrap();
            // The reply went out with the event: the connection is closed.
            let state = ws.state();
            let send_after = ws.send("late").await;
            let end = ws.recv().await;
            (first, state, send_after, end.is_none(), ws.state())
        });

        let (mut ws, _) = R::connect_with_config(&url(addr, "/"), fast_close())
            .await
            .unwrap();
        let start = Instant::now();
        ws.close(4001u16, "client bye").await.unwrap();
        assert_eq!(ws.state(), State::LocalClosing);
        assert!(matches!(
            ws.send("late").await,
            Err(Error::ConnectionClosed)
        ));
        // The reply echoes the code.
        assert_eq!(ws.recv().await.unwrap().unwrap(), close_msg(4001, ""));
        assert_eq!(ws.state(), State::Closed);
        assert!(ws.recv().await.is_none());
        assert!(ws.recv().await.is_none(), "the end is sticky");
        // The server dropped TCP: the client did not sit out its timeout.
        assert!(start.elapsed() < PROMPT, "{:?}", start.elapsed());

        let (first, state, send_after, ended, final_state) = server.await;
        assert_eq!(
            first,
            Message::Close(Some(CloseFrame {
                code: CloseCode(4001),
                reason: "client bye".into()
            }))
        );
        assert_eq!(state, State::Closed);
        assert!(
            matches!(send_after, Err(Error::ConnectionClosed)),
            "{send_after:?}"
        );
        assert!(ended);
        assert_eq!(final_state, State::Closed);
    });
}

fn server_initiated_close_through_the_sink<R: Rt>() {
    run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let server = R::spawn(async move {
            let mut ws = R::accept(&l).await.unwrap();
            ws.send("last words").await.unwrap();
            ws.send(Message::close(1001u16, "going away"))
                .await
                .unwrap();
            let state = ws.state();
            let mut seen = Vec::new();
            while let Some(item) = ws.recv().await {
                seen.push(item.unwrap());
            }
            (state, seen, ws.state())
        });

        let (mut ws, _) = R::connect_with_config(&url(addr, "/"), fast_close())
            .await
            .unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::text("last words")
        );
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            close_msg(1001, "going away")
        );
        assert!(matches!(
            ws.send("late").await,
            Err(Error::ConnectionClosed)
        ));
        let start = Instant::now();
        assert!(ws.recv().await.is_none());
        assert!(start.elapsed() < PROMPT, "{:?}", start.elapsed());
        assert_eq!(ws.state(), State::Closed);

        let (state, seen, final_state) = server.await;
        assert_eq!(state, State::LocalClosing);
        assert_eq!(seen, [close_msg(1001, "")]);
        assert_eq!(final_state, State::Closed);
    });
}

fn close_without_status_code<R: Rt>() {
    run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let server = R::spawn(async move { echo(R::accept(&l).await.unwrap()).await });
        let (mut ws, _) = R::connect(&url(addr, "/")).await.unwrap();
        ws.send(Message::Close(None)).await.unwrap();
        assert_eq!(ws.recv().await.unwrap().unwrap(), Message::Close(None));
        assert!(ws.recv().await.is_none());
        let log: Vec<Message> = server.await.into_iter().map(Result::unwrap).collect();
        assert_eq!(log, [Message::Close(None)]);
    });
}

fn simultaneous_close_from_both_sides<R: Rt>() {
    run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let (ready_tx, ready_rx) = futures::channel::oneshot::channel::<()>();
        let server = R::spawn(async move {
            let mut ws = R::accept_with(&l, fast_close(), accept_all())
                .await
                .unwrap();
            ready_rx.await.unwrap();
            ws.close(1001u16, "server").await.unwrap();
            let mut seen = Vec::new();
            while let Some(item) = ws.recv().await {
                seen.push(item.unwrap());
            }
            seen
        });
        let (mut ws, _) = R::connect_with_config(&url(addr, "/"), fast_close())
            .await
            .unwrap();
        // Both send a close before reading anything: each one's close is
        // the other's reply.
        ws.close(4002u16, "client").await.unwrap();
        ready_tx.send(()).unwrap();
        let start = Instant::now();
        let mut seen = Vec::new();
        while let Some(item) = ws.recv().await {
            seen.push(item.unwrap());
        }
        assert!(start.elapsed() < PROMPT, "{:?}", start.elapsed());
        assert_eq!(seen, [close_msg(1001, "server")]);
        assert_eq!(ws.state(), State::Closed);
        assert_eq!(server.await, [close_msg(4002, "client")]);
    });
}

fn server_close_times_out_when_the_client_never_replies<R: Rt>() {
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let peer = run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let peer = thread::spawn(move || {
            let mut raw = Raw::client(addr, "/");
            assert_eq!(raw.expect_frame().close_code(), Some(1000));
            // Never reply; the server gives up and drops TCP.
            assert!(raw.at_eof());
            let _ = done_rx.recv_timeout(Duration::from_secs(5));
        });
        let config = Config::default().close_timeout(Duration::from_millis(200));
        let mut ws = R::accept_with(&l, config, accept_all()).await.unwrap();
        ws.close(1000u16, "").await.unwrap();
        let start = Instant::now();
        let item = ws.recv().await;
        assert!(
            matches!(item, Some(Err(Error::Timeout(TimeoutKind::Close)))),
            "{item:?}"
        );
        assert!(ws.recv().await.is_none());
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(180) && took < Duration::from_secs(1),
            "{took:?}"
        );
        peer
    });
    done_tx.send(()).unwrap();
    peer.join().unwrap();
}

fn client_close_times_out_when_the_server_never_replies<R: Rt>() {
    let l = StdListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let peer = thread::spawn(move || {
        let mut raw = Raw::server(&l);
        assert_eq!(raw.expect_frame().close_code(), Some(1000));
        // Never reply; hold the socket until the test is over.
        let _ = done_rx.recv_timeout(Duration::from_secs(5));
    });
    run::<R, _>(async {
        let config = Config::default().close_timeout(Duration::from_millis(200));
        let (mut ws, _) = R::connect_with_config(&url(addr, "/"), config)
            .await
            .unwrap();
        let start = Instant::now();
        ws.close(1000u16, "").await.unwrap();
        let item = ws.recv().await;
        let took = start.elapsed();
        assert!(
            matches!(item, Some(Err(Error::Timeout(TimeoutKind::Close)))),
            "{item:?}"
        );
        assert!(took >= Duration::from_millis(180), "{took:?}");
        assert!(took < Duration::from_millis(1000), "{took:?}");
        assert!(ws.recv().await.is_none());
    });
    done_tx.send(()).unwrap();
    peer.join().unwrap();
}

fn client_waits_for_the_server_to_drop_tcp_bounded_by_close_timeout<R: Rt>() {
    let l = StdListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let peer = thread::spawn(move || {
        let mut raw = Raw::server(&l);
        assert_eq!(raw.expect_frame().close_code(), Some(1000));
        raw.send_close(1000, "");
        // Reply, but keep TCP open: the client ends it after its timeout.
        assert!(raw.at_eof(), "the client drops TCP after its close timeout");
        let _ = done_rx.recv_timeout(Duration::from_secs(5));
    });
    run::<R, _>(async {
        let config = Config::default().close_timeout(Duration::from_millis(300));
        let (mut ws, _) = R::connect_with_config(&url(addr, "/"), config)
            .await
            .unwrap();
        ws.close(1000u16, "").await.unwrap();
        assert_eq!(ws.recv().await.unwrap().unwrap(), close_msg(1000, ""));
        let start = Instant::now();
        assert!(ws.recv().await.is_none());
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(250), "{took:?}");
        assert!(took < Duration::from_millis(1000), "{took:?}");
    });
    done_tx.send(()).unwrap();
    peer.join().unwrap();
}

fn peer_eof_without_close_is_abnormal_closure_at_the_server<R: Rt>() {
    let (items, peer) = run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let peer = thread::spawn(move || {
            let mut raw = Raw::client(addr, "/");
            raw.send(true, TEXT, b"bye for now");
            raw.s.shutdown(std::net::Shutdown::Both).unwrap();
        });
        let mut ws = R::accept(&l).await.unwrap();
        let mut items = Vec::new();
        while let Some(item) = ws.recv().await {
            items.push(item);
        }
        assert_eq!(ws.state(), State::Closed);
        assert!(matches!(ws.send("x").await, Err(Error::ConnectionClosed)));
        (items, peer)
    });
    peer.join().unwrap();
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0].as_ref().unwrap(), &Message::text("bye for now"));
    assert!(matches!(items[1], Err(Error::AbnormalClosure)), "{items:?}");
}

fn peer_eof_without_close_is_abnormal_closure_at_the_client<R: Rt>() {
    let l = StdListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let peer = thread::spawn(move || {
        let mut raw = Raw::server(&l);
        raw.send(true, BINARY, b"\x00\x01");
        drop(raw);
    });
    run::<R, _>(async {
        let (mut ws, _) = R::connect(&url(addr, "/")).await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::binary(&b"\x00\x01"[..])
        );
        let item = ws.recv().await;
        assert!(
            matches!(item, Some(Err(Error::AbnormalClosure))),
            "{item:?}"
        );
        assert!(ws.recv().await.is_none());
        assert_eq!(ws.state(), State::Closed);
    });
    peer.join().unwrap();
}

/// Runs our server against a raw client that sends `bad` after a good
/// message; checks the error's close code, the close frame the peer
/// receives, and the end of the stream.
fn server_fails_with<R: Rt>(config: Config, bad: Vec<u8>, code: u16) {
    let (items, peer) = run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let peer = thread::spawn(move || {
            let mut raw = Raw::client(addr, "/");
            raw.send(true, TEXT, b"fine");
            raw.write(&bad);
            let f = raw.expect_frame();
            assert_eq!(f.close_code(), Some(code), "{f:?}");
            assert!(raw.at_eof(), "the server drops TCP after failing");
        });
        let mut ws = R::accept_with(&l, config, accept_all()).await.unwrap();
        let mut items = Vec::new();
        while let Some(item) = ws.recv().await {
            items.push(item);
        }
        assert_eq!(ws.state(), State::Closed);
        (items, peer)
    });
    peer.join().unwrap();
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0].as_ref().unwrap(), &Message::text("fine"));
    match &items[1] {
        Err(Error::Protocol(e)) => assert_eq!(e.close_code(), Some(CloseCode(code)), "{e}"),
        other => panic!("expected a protocol error, got {other:?}"),
    }
}

fn unmasked_frame_to_server_fails_with_1002<R: Rt>() {
    server_fails_with::<R>(
        Config::default(),
        encode(true, TEXT, None, b"unmasked"),
        1002,
    );
}

fn invalid_utf8_fails_with_1007<R: Rt>() {
    let bad = encode(true, TEXT, Some([9, 8, 7, 6]), b"ok \xff\xfe");
    server_fails_with::<R>(Config::default(), bad, 1007);
}

fn oversized_message_fails_with_1009<R: Rt>() {
    let config = Config::default().protocol(wsproto::Config::default().max_message_size(1000));
    // Two fragments that are each under the limit but not together.
    let mut bad = encode(false, BINARY, Some([5, 5, 5, 5]), &[0; 600]);
    bad.extend(encode(true, CONT, Some([5, 5, 5, 5]), &[0; 600]));
    server_fails_with::<R>(config, bad, 1009);
}

fn masked_frame_to_client_fails_with_1002<R: Rt>() {
    let l = StdListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let peer = thread::spawn(move || {
        let mut raw = Raw::server(&l);
        raw.write(&encode(true, TEXT, Some([1, 2, 3, 4]), b"masked"));
        let f = raw.expect_frame();
        assert!(f.masked);
        assert_eq!(f.close_code(), Some(1002), "{f:?}");
        // As a server, end TCP once the client's close arrived.
    });
    run::<R, _>(async {
        let config = fast_close();
        let (mut ws, _) = R::connect_with_config(&url(addr, "/"), config)
            .await
            .unwrap();
        match ws.recv().await {
            Some(Err(Error::Protocol(e))) => {
                assert_eq!(e.close_code(), Some(CloseCode::PROTOCOL_ERROR), "{e}")
            }
            other => panic!("expected a protocol error, got {other:?}"),
        }
        let start = Instant::now();
        assert!(ws.recv().await.is_none());
        assert!(start.elapsed() < PROMPT, "{:?}", start.elapsed());
    });
    peer.join().unwrap();
}

fn protocol_error_answer_is_on_the_wire_when_the_error_is_yielded<R: Rt>() {
    let peer = run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let peer = thread::spawn(move || {
            let mut raw = Raw::client(addr, "/");
            raw.write(&encode(true, TEXT, None, b"unmasked"));
            raw.frame_within(Duration::from_millis(400))
        });
        let mut ws = R::accept(&l).await.unwrap();
        let item = ws.recv().await;
        assert!(matches!(item, Some(Err(Error::Protocol(_)))), "{item:?}");
        // A typical application stops reading at the error (e.g. `while let
        // Some(Ok(m))`), but keeps the WebSocket a moment longer. The docs
        // of `Error::Protocol` say the answer "was sent". (Fixed in 31c2e4d;
        // this guards it.)
        R::sleep(Duration::from_millis(600)).await;
        assert_eq!(ws.state(), State::Closed);
        drop(ws);
        peer
    });
    let frame = peer.join().unwrap();
    match frame {
        Ok(Some(f)) => assert_eq!(f.close_code(), Some(1002)),
        Ok(None) => panic!("the connection ended without a close frame"),
        Err(()) => panic!("no close frame within 400 ms of the violation"),
    }
}

fn sink_close_completes_the_handshake_and_keeps_what_arrived<R: Rt>() {
    run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let server = R::spawn(async move {
            let mut ws = R::accept(&l).await.unwrap();
            ws.send("a").await.unwrap();
            ws.send(Message::binary(pattern(100_000, 1))).await.unwrap();
            echo(ws).await
        });
        let (mut ws, _) = R::connect_with_config(&url(addr, "/"), fast_close())
            .await
            .unwrap();
        R::sleep(Duration::from_millis(50)).await;
        // Without reading first: `SinkExt::close` sends 1000 and waits for
        // the whole handshake and the end of the transport.
        let start = Instant::now();
        futures::SinkExt::close(&mut ws).await.unwrap();
        assert!(start.elapsed() < PROMPT, "{:?}", start.elapsed());
        assert_eq!(ws.state(), State::Closed);
        // What arrived meanwhile is still delivered, in order.
        assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("a"));
        assert!(ws.recv().await.unwrap().unwrap() == Message::binary(pattern(100_000, 1)));
        assert_eq!(ws.recv().await.unwrap().unwrap(), close_msg(1000, ""));
        assert!(ws.recv().await.is_none());
        let log: Vec<Message> = server.await.into_iter().map(Result::unwrap).collect();
        assert_eq!(log, [close_msg(1000, "")]);
    });
}

fn sink_close_does_not_report_success_for_an_unfinished_handshake<R: Rt>() {
    run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let server = R::spawn(async move {
            let mut ws = R::accept(&l).await.unwrap();
            for i in 0..10 {
                // On a loaded machine the client's close may already have
                // been read ahead, which ends sending; the reply still goes.
                if ws.send(Message::binary(pattern(500, i))).await.is_err() {
                    break;
                }
            }
            echo(ws).await
        });
        // The peer sends more than the read-ahead limit before its reply.
        let config = Config::default()
            .read_ahead_limit(1000)
            .close_timeout(Duration::from_millis(300));
        let (mut ws, _) = R::connect_with_config(&url(addr, "/"), config)
            .await
            .unwrap();
        R::sleep(Duration::from_millis(50)).await;
        let r = futures::SinkExt::close(&mut ws).await;
        let state = ws.state();
        // Drain, so the server can finish either way.
        let mut data = 0;
        while let Some(item) = ws.recv().await {
            let item = item.map_err(|e| format!("{e:?} after {data}")).unwrap();
            data += usize::from(item.is_data());
        }
        assert_eq!(data, 10);
        server.await;
        // Either the handshake completed, or the close says it did not.
        assert!(
            matches!(r, Ok(())) && state == State::Closed
                || matches!(r, Err(Error::Timeout(TimeoutKind::Close))),
            "[{}] SinkExt::close returned {r:?} with the connection {state:?}",
            R::NAME
        );
    });
}

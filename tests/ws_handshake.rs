//! The opening handshake through each runtime's shim: timeouts on both
//! sides, rejection and subprotocol choice by `accept_with`, invalid
//! requests answered with HTTP errors, bad responses, frames that arrive
//! with the handshake, and URL errors from `connect`.

#[macro_use]
mod ws_common;

use std::io::ErrorKind;
use std::net::TcpListener as StdListener;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use ws_common::*;
use wsproto::ws::{self, Config, Error, Message, Rejection, TimeoutKind};
use wsproto::{AcceptConnection, LocalProtocolError, Request};

runtime_tests!(
    server_handshake_times_out_on_a_stalled_request,
    client_handshake_times_out_on_a_silent_server,
    rejection_reaches_the_client_with_status_headers_and_body,
    rejection_without_a_body,
    accept_with_chooses_an_offered_subprotocol,
    choosing_a_subprotocol_that_was_not_offered_fails_locally,
    plain_http_get_is_answered_with_400,
    wrong_websocket_version_is_answered_with_426,
    bad_accept_key_from_server_is_a_protocol_error,
    frames_sent_with_the_handshake_response_are_not_lost,
    frames_sent_with_the_handshake_request_are_not_lost,
    connect_refuses_bad_urls_with_a_clear_message,
    connect_to_a_closed_port_is_an_io_error,
    read_request_then_accept_after_an_async_decision,
    read_request_then_reject,
    read_request_times_out_on_a_stalled_request,
    slow_decision_past_the_handshake_timeout_is_refused,
);

fn server_handshake_times_out_on_a_stalled_request<R: Rt>() {
    let peer = run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let peer = thread::spawn(move || {
            let mut raw = Raw::tcp(addr);
            raw.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n");
            let start = Instant::now();
            // Nothing comes back; the server drops the socket.
            let rest = raw.read_to_end();
            (rest, start.elapsed())
        });
        let config = Config::default().handshake_timeout(Duration::from_millis(200));
        let start = Instant::now();
        let r = R::accept_with(&l, config, accept_all()).await;
        let took = start.elapsed();
        assert!(
            matches!(r, Err(Error::Timeout(TimeoutKind::Handshake))),
            "{r:?}"
        );
        assert!(took >= Duration::from_millis(180), "{took:?}");
        assert!(took < Duration::from_millis(1000), "{took:?}");
        drop(r);
        peer
    });
    let (rest, took) = peer.join().unwrap();
    assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));
    assert!(
        took < Duration::from_millis(1500),
        "socket kept for {took:?}"
    );
}

fn client_handshake_times_out_on_a_silent_server<R: Rt>() {
    let l = StdListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let peer = thread::spawn(move || {
        let mut raw = Raw::wrap_accepted(&l);
        let head = raw.read_head().expect("a request");
        assert!(head.starts_with("GET /slow HTTP/1.1\r\n"), "{head}");
        // Say nothing; the client gives up and closes.
        assert!(raw.at_eof());
    });
    run::<R, _>(async {
        let config = Config::default().handshake_timeout(Duration::from_millis(200));
        let start = Instant::now();
        let r = R::connect_with_config(&url(addr, "/slow"), config).await;
        assert!(
            matches!(r, Err(Error::Timeout(TimeoutKind::Handshake))),
            "{r:?}"
        );
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(180) && took < Duration::from_secs(1),
            "{took:?}"
        );
    });
    peer.join().unwrap();
}

fn rejection_reaches_the_client_with_status_headers_and_body<R: Rt>() {
    run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let seen = Arc::new(Mutex::new(None));
        let seen2 = Arc::clone(&seen);
        let server = R::spawn(async move {
            let decide: Decide = Box::new(move |req: &Request| {
                *seen2.lock().unwrap() = Some((req.target.clone(), req.host.clone()));
                Err(Rejection::new(403)
                    .with_header("X-Reason", "members only")
                    .with_body("go away"))
            });
            R::accept_with(&l, Config::default(), decide).await
        });
        let r = R::connect(&url(addr, "/private?x=1")).await;
        let rej = match r {
            Err(Error::Rejected(rej)) => rej,
            other => panic!("expected a rejection, got {other:?}"),
        };
        assert_eq!(rej.status, 403);
        let reason = rej
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("x-reason"))
            .expect("the X-Reason header");
        assert_eq!(reason.value, b"members only");
        assert_eq!(&rej.body[..], b"go away");

        match server.await {
            Err(Error::Rejected(r)) => {
                assert_eq!(r.status, 403);
                assert_eq!(&r.body[..], b"go away");
            }
            other => panic!("server: {other:?}"),
        }
        let (target, host) = seen.lock().unwrap().take().expect("decide was called");
        assert_eq!(target, "/private?x=1");
        assert_eq!(host, addr.to_string());
    });
}

fn rejection_without_a_body<R: Rt>() {
    run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let server = R::spawn(async move {
            let decide: Decide = Box::new(|_: &Request| {
                Err(Rejection::new(401).with_header("WWW-Authenticate", "Basic"))
            });
            R::accept_with(&l, Config::default(), decide).await
        });
        match R::connect(&url(addr, "/")).await {
            Err(Error::Rejected(rej)) => {
                assert_eq!(rej.status, 401);
                assert!(rej.body.is_empty());
                assert!(rej.headers.iter().any(
                    |h| h.name.eq_ignore_ascii_case("www-authenticate") && h.value == b"Basic"
                ));
            }
            other => panic!("expected a rejection, got {other:?}"),
        }
        assert!(matches!(server.await, Err(Error::Rejected(_))));
    });
}

fn accept_with_chooses_an_offered_subprotocol<R: Rt>() {
    run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let server = R::spawn(async move {
            let decide: Decide = Box::new(|req: &Request| {
                assert_eq!(req.subprotocols, ["chat", "superchat"]);
                assert_eq!(req.target, "/chat");
                assert!(
                    req.extra_headers
                        .iter()
                        .any(|h| h.name.eq_ignore_ascii_case("x-client") && h.value == b"42")
                );
                Ok(AcceptConnection::new()
                    .with_subprotocol("superchat")
                    .with_header("X-Server", "yes"))
            });
            echo(R::accept_with(&l, Config::default(), decide).await.unwrap()).await
        });
        let request = Request::new(addr.to_string(), "/chat")
            .with_subprotocols(["chat", "superchat"])
            .with_header("X-Client", "42");
        let (mut ws, resp) = ws::client(R::dial(addr).await, request).await.unwrap();
        assert_eq!(resp.subprotocol.as_deref(), Some("superchat"));
        assert!(
            resp.extra_headers
                .iter()
                .any(|h| h.name.eq_ignore_ascii_case("x-server") && h.value == b"yes"),
            "{:?}",
            resp.extra_headers
        );
        ws.send("in superchat").await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::text("in superchat")
        );
        ws.close(1000u16, "").await.unwrap();
        while ws.recv().await.is_some() {}
        server.await;
    });
}

fn choosing_a_subprotocol_that_was_not_offered_fails_locally<R: Rt>() {
    run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let server = R::spawn(async move {
            let decide: Decide =
                Box::new(|_: &Request| Ok(AcceptConnection::new().with_subprotocol("other")));
            R::accept_with(&l, Config::default(), decide).await
        });
        let request = Request::new(addr.to_string(), "/").with_subprotocols(["chat"]);
        let r = ws::client(R::dial(addr).await, request).await;
        // The server sends no HTTP answer; the client sees the connection
        // end during the handshake: an error, not a hang.
        assert!(
            matches!(r, Err(Error::Protocol(_) | Error::Io(_))),
            "{:?}",
            r.map(|(_, resp)| resp)
        );
        match server.await {
            Err(Error::Local(LocalProtocolError::SubprotocolNotOffered(p))) => {
                assert_eq!(p, "other")
            }
            other => panic!("server: {other:?}"),
        }
    });
}

/// Sends `request` from a raw client and returns the server's result and
/// everything the client received.
fn bad_request<R: Rt>(request: &'static [u8]) -> (Result<(), Error>, String) {
    let (r, peer) = run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let peer = thread::spawn(move || {
            let mut raw = Raw::tcp(addr);
            raw.write(request);
            String::from_utf8(raw.read_to_end()).unwrap()
        });
        let r = R::accept(&l).await.map(drop);
        (r, peer)
    });
    (r, peer.join().unwrap())
}

fn plain_http_get_is_answered_with_400<R: Rt>() {
    let (r, answer) = bad_request::<R>(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    match r {
        Err(Error::Protocol(e)) => assert_eq!(e.http_status(), Some(400), "{e}"),
        other => panic!("expected a protocol error, got {other:?}"),
    }
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
}

fn wrong_websocket_version_is_answered_with_426<R: Rt>() {
    let (r, answer) = bad_request::<R>(
        b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
    );
    match r {
        Err(Error::Protocol(e)) => assert_eq!(e.http_status(), Some(426), "{e}"),
        other => panic!("expected a protocol error, got {other:?}"),
    }
    assert!(answer.starts_with("HTTP/1.1 426 "), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("sec-websocket-version: 13"),
        "{answer}"
    );
}

fn bad_accept_key_from_server_is_a_protocol_error<R: Rt>() {
    let l = StdListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let peer = thread::spawn(move || {
        let mut raw = Raw::wrap_accepted(&l);
        raw.read_head().expect("a request");
        raw.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
              Connection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n",
        );
        // The client drops the connection without sending anything.
        assert!(raw.read_to_end().is_empty());
    });
    run::<R, _>(async {
        match R::connect(&url(addr, "/")).await {
            Err(Error::Protocol(e)) => assert_eq!(e.http_status(), None, "{e}"),
            other => panic!("expected a protocol error, got {:?}", other.map(|(_, r)| r)),
        }
    });
    peer.join().unwrap();
}

fn frames_sent_with_the_handshake_response_are_not_lost<R: Rt>() {
    let l = StdListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let peer = thread::spawn(move || {
        let mut raw = Raw::wrap_accepted(&l);
        let head = raw.read_head().expect("a request");
        let key = head
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .expect("the key")
            .to_owned();
        let mut out = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
            accept_key(&key)
        )
        .into_bytes();
        // In the same write as the response: two frames, the second one
        // larger than the client's first read.
        out.extend(encode(true, TEXT, None, b"right away"));
        out.extend(encode(true, BINARY, None, &pattern(10_000, 5)));
        raw.write(&out);
        assert_eq!(raw.expect_frame().close_code(), Some(1000));
        raw.send_close(1000, "");
    });
    run::<R, _>(async {
        let (mut ws, _) = R::connect(&url(addr, "/")).await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::text("right away")
        );
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::binary(pattern(10_000, 5))
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

fn frames_sent_with_the_handshake_request_are_not_lost<R: Rt>() {
    let (log, peer) = run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let peer = thread::spawn(move || {
            let mut raw = Raw::tcp(addr);
            let mut out = b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\
                Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
                Sec-WebSocket-Version: 13\r\n\r\n"
                .to_vec();
            out.extend(encode(true, TEXT, Some([1, 2, 3, 4]), b"eager"));
            out.extend(encode(
                true,
                CLOSE,
                Some([1, 2, 3, 4]),
                &close_payload(1000, ""),
            ));
            raw.write(&out);
            let head = raw.read_head().expect("a response");
            assert!(head.starts_with("HTTP/1.1 101"), "{head}");
            let f = raw.expect_frame();
            assert_eq!((f.opcode, &f.payload[..]), (TEXT, &b"eager"[..]));
            assert_eq!(raw.expect_frame().close_code(), Some(1000));
            assert!(raw.at_eof());
        });
        (echo(R::accept(&l).await.unwrap()).await, peer)
    });
    peer.join().unwrap();
    let log: Vec<Message> = log.into_iter().map(Result::unwrap).collect();
    assert_eq!(log, [Message::close(1000u16, "")]);
}

fn connect_refuses_bad_urls_with_a_clear_message<R: Rt>() {
    run::<R, _>(async {
        for (url, why) in [
            ("http://127.0.0.1:1/", "ws://"),
            ("https://127.0.0.1:1/", "ws://"),
            ("127.0.0.1:1", "ws://"),
            ("ws:///path", "missing host"),
            ("ws://:80/", "missing host"),
            ("ws://127.0.0.1:99999/", "port"),
            ("ws://127.0.0.1:0/", "port"),
            ("ws://127.0.0.1:x/", "port"),
            ("ws://127.0.0.1:1/#frag", "fragment"),
            #[cfg(not(feature = "rustls"))]
            ("wss://127.0.0.1:1/", "rustls"),
        ] {
            match R::connect(url).await {
                Err(e @ Error::Url(_)) => {
                    let text = e.to_string();
                    assert!(text.contains(why), "{url}: {text}");
                }
                other => panic!(
                    "{url}: expected a URL error, got {:?}",
                    other.map(|(_, r)| r)
                ),
            }
        }
    });
}

fn connect_to_a_closed_port_is_an_io_error<R: Rt>() {
    let port = StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    run::<R, _>(async {
        match R::connect(&format!("ws://127.0.0.1:{port}/")).await {
            Err(Error::Io(e)) => assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}"),
            other => panic!("expected an I/O error, got {:?}", other.map(|(_, r)| r)),
        }
    });
}

fn read_request_then_accept_after_an_async_decision<R: Rt>() {
    run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let server = R::spawn(async move {
            let pending = ws::read_request(R::accept_tcp(&l).await, Config::default())
                .await
                .unwrap();
            assert_eq!(pending.request().target, "/room/7");
            assert_eq!(pending.request().subprotocols, ["v2", "v1"]);
            // An asynchronous lookup before deciding.
            R::sleep(Duration::from_millis(50)).await;
            let ws = pending
                .accept(AcceptConnection::new().with_subprotocol("v1"))
                .await
                .unwrap();
            echo(ws).await
        });
        let request = Request::new(addr.to_string(), "/room/7").with_subprotocols(["v2", "v1"]);
        let (mut ws, resp) = ws::client(R::dial(addr).await, request).await.unwrap();
        assert_eq!(resp.subprotocol.as_deref(), Some("v1"));
        ws.send("hi").await.unwrap();
        assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("hi"));
        ws.close(1000u16, "").await.unwrap();
        while ws.recv().await.is_some() {}
        let log: Vec<Message> = server.await.into_iter().map(Result::unwrap).collect();
        assert_eq!(log, [Message::close(1000u16, "")]);
    });
}

fn read_request_then_reject<R: Rt>() {
    run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let server = R::spawn(async move {
            let pending = ws::read_request(R::accept_tcp(&l).await, Config::default())
                .await
                .unwrap();
            pending
                .reject(Rejection::new(404).with_body("no such room"))
                .await
        });
        match R::connect(&url(addr, "/room/8")).await {
            Err(Error::Rejected(rej)) => {
                assert_eq!(rej.status, 404);
                assert_eq!(&rej.body[..], b"no such room");
            }
            other => panic!("expected a rejection, got {:?}", other.map(|(_, r)| r)),
        }
        server.await.unwrap();
    });
}

fn read_request_times_out_on_a_stalled_request<R: Rt>() {
    let peer = run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let peer = thread::spawn(move || {
            let mut raw = Raw::tcp(addr);
            raw.write(b"GET / HTTP/1.1\r\nHost: h\r\n");
            raw.read_to_end()
        });
        let config = Config::default().handshake_timeout(Duration::from_millis(200));
        let start = Instant::now();
        let r = ws::read_request(R::accept_tcp(&l).await, config).await;
        assert!(
            matches!(r, Err(Error::Timeout(TimeoutKind::Handshake))),
            "{r:?}"
        );
        assert!(start.elapsed() < Duration::from_secs(1));
        peer
    });
    assert!(peer.join().unwrap().is_empty());
}

/// The handshake timeout bounds the whole handshake (the docs of
/// `read_request` and `accept_with`): a decision that takes longer than
/// the timeout must not open the connection.
fn slow_decision_past_the_handshake_timeout_is_refused<R: Rt>() {
    run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let server = R::spawn(async move {
            let config = Config::default().handshake_timeout(Duration::from_millis(200));
            let pending = ws::read_request(R::accept_tcp(&l).await, config)
                .await
                .unwrap();
            R::sleep(Duration::from_millis(400)).await;
            pending.accept(AcceptConnection::new()).await.map(drop)
        });
        let config = Config::default().handshake_timeout(Duration::from_secs(2));
        let client = R::connect_with_config(&url(addr, "/"), config).await;
        let r = server.await;
        assert!(
            matches!(r, Err(Error::Timeout(TimeoutKind::Handshake))),
            "server: {r:?}"
        );
        assert!(
            client.is_err(),
            "the client was let in after the server's handshake timeout"
        );
    });
}

//! The async layer against tungstenite, an independent implementation, on
//! every runtime: a tungstenite client (blocking, in a thread) against our
//! async server, our async client against a tungstenite server, and a
//! tungstenite client refused by our `accept_with`.

#[macro_use]
mod ws_common;

use std::net::{SocketAddr, TcpListener as StdListener, TcpStream};
use std::thread;

use tungstenite::client::IntoClientRequest;
use tungstenite::protocol::CloseFrame as TCloseFrame;
use tungstenite::protocol::frame::Frame;
use tungstenite::protocol::frame::coding::{CloseCode as TCloseCode, Data, OpCode};
use tungstenite::{Message as TMessage, handshake::HandshakeError};
use ws_common::*;
use wsproto::AcceptConnection;
use wsproto::ws::{Config, Error, Message, Rejection};

runtime_tests!(
    tungstenite_client_against_our_async_server,
    our_async_client_against_a_tungstenite_server,
    tungstenite_client_refused_by_accept_with,
);

/// The tungstenite side of the first test. Panics on any surprise.
fn tungstenite_client(addr: SocketAddr) {
    let mut req = format!("ws://{addr}/interop?x=1")
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", "chat, superchat".parse().unwrap());
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(RAW_TIMEOUT)).unwrap();
    let (mut ws, resp) = tungstenite::client(req, stream).unwrap();
    assert_eq!(resp.status(), 101);
    assert_eq!(resp.headers()["sec-websocket-protocol"], "chat");
    assert_eq!(resp.headers()["x-server"], "wsproto");

    let big = pattern(1 << 20, 3);
    for m in [
        TMessage::text("héllo 😀"),
        TMessage::binary(big),
        TMessage::text(""),
        TMessage::binary(Vec::new()),
    ] {
        ws.send(m.clone()).unwrap();
        assert!(ws.read().unwrap() == m, "echo differs");
    }

    // A fragmented text split inside a character, sent frame by frame.
    let t = "frag 😀 done".as_bytes();
    ws.send(TMessage::Frame(Frame::message(
        t[..7].to_vec(),
        OpCode::Data(Data::Text),
        false,
    )))
    .unwrap();
    ws.send(TMessage::Frame(Frame::message(
        t[7..].to_vec(),
        OpCode::Data(Data::Continue),
        false,
    )))
    .unwrap();
    ws.send(TMessage::Frame(Frame::message(
        Vec::new(),
        OpCode::Data(Data::Continue),
        true,
    )))
    .unwrap();
    assert_eq!(ws.read().unwrap(), TMessage::text("frag 😀 done"));

    // Our automatic pong.
    ws.send(TMessage::Ping(b"tung".to_vec().into())).unwrap();
    assert_eq!(ws.read().unwrap(), TMessage::Pong(b"tung".to_vec().into()));

    // Our ping, answered by tungstenite.
    ws.send(TMessage::text("ping me")).unwrap();
    assert_eq!(
        ws.read().unwrap(),
        TMessage::Ping(b"from server".to_vec().into())
    );
    assert_eq!(ws.read().unwrap(), TMessage::text("pinged"));

    ws.close(Some(TCloseFrame {
        code: TCloseCode::Away,
        reason: "bye".into(),
    }))
    .unwrap();
    loop {
        match ws.read() {
            Ok(TMessage::Close(Some(f))) => assert_eq!(f.code, TCloseCode::Away),
            Ok(other) => panic!("unexpected {other:?}"),
            Err(tungstenite::Error::ConnectionClosed) => break,
            Err(e) => panic!("tungstenite client: {e}"),
        }
    }
}

fn tungstenite_client_against_our_async_server<R: Rt>() {
    let (log, peer) = run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let peer = thread::spawn(move || tungstenite_client(addr));
        let decide: Decide = Box::new(|req| {
            assert_eq!(req.target, "/interop?x=1");
            let mut accept = AcceptConnection::new().with_header("X-Server", "wsproto");
            if req.subprotocols.iter().any(|p| p == "chat") {
                accept = accept.with_subprotocol("chat");
            }
            Ok(accept)
        });
        let mut ws = R::accept_with(&l, Config::default(), decide).await.unwrap();
        let mut log = Vec::new();
        while let Some(item) = ws.recv().await {
            match item.unwrap() {
                Message::Text(t) if t == "ping me" => {
                    ws.send(Message::Ping("from server".into())).await.unwrap();
                    ws.send("pinged").await.unwrap();
                }
                m if m.is_data() => ws.send(m).await.unwrap(),
                other => log.push(other),
            }
        }
        (log, peer)
    });
    peer.join().unwrap();
    assert_eq!(
        log,
        [
            Message::Ping("tung".into()),
            Message::Pong("from server".into()),
            Message::close(1001u16, "bye"),
        ]
    );
}

/// A tungstenite echo server that pings once after the handshake and logs
/// the control messages it receives.
fn tungstenite_server(l: StdListener) -> Vec<String> {
    let stream = l.accept().unwrap().0;
    stream.set_read_timeout(Some(RAW_TIMEOUT)).unwrap();
    let mut ws = tungstenite::accept(stream).unwrap();
    ws.send(TMessage::Ping(b"srv".to_vec().into())).unwrap();
    let mut log = Vec::new();
    loop {
        match ws.read() {
            Ok(m @ (TMessage::Text(_) | TMessage::Binary(_))) => ws.send(m).unwrap(),
            Ok(TMessage::Pong(p)) => log.push(format!("pong {}", String::from_utf8_lossy(&p))),
            Ok(TMessage::Ping(p)) => log.push(format!("ping {}", String::from_utf8_lossy(&p))),
            Ok(TMessage::Close(f)) => {
                let f = f.expect("a close code");
                log.push(format!("close {} {}", u16::from(f.code), f.reason));
            }
            Ok(TMessage::Frame(_)) => unreachable!(),
            Err(tungstenite::Error::ConnectionClosed) => break,
            Err(e) => panic!("tungstenite server: {e}"),
        }
    }
    log
}

fn our_async_client_against_a_tungstenite_server<R: Rt>() {
    let l = StdListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let peer = thread::spawn(move || tungstenite_server(l));
    run::<R, _>(async {
        let (mut ws, resp) = R::connect(&url(addr, "/echo")).await.unwrap();
        assert_eq!(resp.subprotocol, None);
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::Ping("srv".into())
        );
        ws.send("hello from wsproto").await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::text("hello from wsproto")
        );
        for len in [0usize, 125, 126, 65_535, 65_536, 1 << 20] {
            let m = Message::binary(pattern(len, len as u8));
            ws.send(m.clone()).await.unwrap();
            let got = ws.recv().await.unwrap().unwrap();
            assert!(got == m, "echo of {len} bytes differs");
        }
        ws.send(Message::Ping("client ping".into())).await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::Pong("client ping".into())
        );
        ws.close(1000u16, "finished").await.unwrap();
        // tungstenite echoes the whole close frame.
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::close(1000u16, "finished")
        );
        assert!(ws.recv().await.is_none());
    });
    let log = peer.join().unwrap();
    assert_eq!(log, ["pong srv", "ping client ping", "close 1000 finished"]);
}

fn tungstenite_client_refused_by_accept_with<R: Rt>() {
    let (r, peer) = run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let peer = thread::spawn(move || {
            let stream = TcpStream::connect(addr).unwrap();
            stream.set_read_timeout(Some(RAW_TIMEOUT)).unwrap();
            match tungstenite::client(format!("ws://{addr}/"), stream) {
                Err(HandshakeError::Failure(tungstenite::Error::Http(resp))) => {
                    assert_eq!(resp.status(), 429);
                    assert_eq!(resp.headers()["retry-after"], "1");
                    assert_eq!(resp.body().as_deref(), Some(&b"slow down"[..]));
                }
                Err(e) => panic!("{e:?}"),
                Ok(_) => panic!("the handshake succeeded"),
            }
        });
        let decide: Decide = Box::new(|_| {
            Err(Rejection::new(429)
                .with_header("Retry-After", "1")
                .with_body("slow down"))
        });
        (
            R::accept_with(&l, Config::default(), decide)
                .await
                .map(drop),
            peer,
        )
    });
    peer.join().unwrap();
    assert!(
        matches!(r, Err(Error::Rejected(ref rej)) if rej.status == 429),
        "{r:?}"
    );
}

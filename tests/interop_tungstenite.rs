//! Interoperability with tungstenite, an independent implementation, over
//! real TCP sockets on 127.0.0.1: a tungstenite client against our server,
//! and our client against a tungstenite server.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use common::{Coalescer, Msg};
use tungstenite::protocol::CloseFrame;
use tungstenite::protocol::frame::coding::CloseCode as TCloseCode;
use tungstenite::{Message, client::IntoClientRequest};
use wsproto::proto::{
    AcceptConnection, BytesMessage, CloseConnection, Event, Ping, Request, Role, State,
    TextMessage, WsConnection,
};

const TIMEOUT: Option<Duration> = Some(Duration::from_secs(10));

/// Our side of a blocking socket: the Sans-I/O core plus the I/O loop.
struct Driver {
    ws: WsConnection,
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Driver {
    fn new(role: Role, stream: TcpStream) -> Driver {
        stream.set_read_timeout(TIMEOUT).unwrap();
        stream.set_write_timeout(TIMEOUT).unwrap();
        Driver {
            ws: WsConnection::new(role),
            stream,
            buf: vec![0; 64 << 10],
        }
    }

    fn flush(&mut self) {
        let out = self.ws.bytes_to_send();
        self.stream.write_all(&out).unwrap();
    }

    /// The next event, reading from the socket as needed (flushing first,
    /// so automatic pongs and close replies go out).
    fn next(&mut self) -> Event {
        loop {
            if let Some(ev) = self.ws.next_event() {
                return ev.unwrap_or_else(|e| panic!("protocol error: {e}"));
            }
            self.flush();
            let n = self.stream.read(&mut self.buf).unwrap();
            if n == 0 {
                self.ws.receive_eof();
            } else {
                self.ws.receive_bytes(&self.buf[..n]);
            }
        }
    }

    /// The next whole message (or control event).
    fn next_msg(&mut self) -> Msg {
        let mut c = Coalescer::default();
        loop {
            c.push(self.next());
            if let Some(m) = c.messages.pop() {
                return m;
            }
        }
    }
}

/// Our server: accepts (choosing "chat" if offered), echoes data messages
/// fragment by fragment, pings the client when asked to, and records every
/// message until the close handshake completes.
fn our_server(stream: TcpStream) -> Vec<Msg> {
    let mut d = Driver::new(Role::Server, stream);
    let mut c = Coalescer::default();
    loop {
        let ev = d.next();
        match &ev {
            Event::Request(req) => {
                let mut accept = AcceptConnection::new().with_header("X-Server", "wsproto");
                if req.subprotocols.iter().any(|p| p == "chat") {
                    accept = accept.with_subprotocol("chat");
                }
                d.ws.send(accept).unwrap();
            }
            Event::TextMessage(m) if m.data.as_str() == "ping me" => {
                d.ws.send(Ping::new(&b"from server"[..])).unwrap();
                d.ws.send(TextMessage::new("pinged")).unwrap();
            }
            Event::TextMessage(m) => {
                d.ws.send(TextMessage::fragment(m.data.clone(), m.message_finished))
                    .unwrap()
            }
            Event::BytesMessage(m) => {
                d.ws.send(BytesMessage::fragment(m.data.clone(), m.message_finished))
                    .unwrap()
            }
            _ => {}
        }
        let closing = matches!(ev, Event::CloseConnection(_));
        c.push(ev);
        if closing {
            break;
        }
    }
    assert_eq!(d.ws.state(), State::RemoteClosing);
    d.flush();
    assert_eq!(d.ws.state(), State::Closed);
    c.messages
}

#[test]
fn tungstenite_client_against_our_server() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || our_server(listener.accept().unwrap().0));

    let mut req = format!("ws://127.0.0.1:{port}/interop?x=1")
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", "chat".parse().unwrap());
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(TIMEOUT).unwrap();
    let (mut ws, resp) = tungstenite::client(req, stream).unwrap();
    assert_eq!(resp.status(), 101);
    assert_eq!(resp.headers()["sec-websocket-protocol"], "chat");
    assert_eq!(resp.headers()["x-server"], "wsproto");

    let big: Vec<u8> = (0..(1 << 20)).map(|i: u32| (i % 253) as u8).collect();
    ws.send(Message::text("héllo 😀")).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("héllo 😀"));
    ws.send(Message::binary(big.clone())).unwrap();
    assert_eq!(ws.read().unwrap(), Message::binary(big.clone()));
    ws.send(Message::text("")).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text(""));

    // Our automatic pong.
    ws.send(Message::Ping(b"tung ping".to_vec().into()))
        .unwrap();
    assert_eq!(
        ws.read().unwrap(),
        Message::Pong(b"tung ping".to_vec().into())
    );

    // Our ping, answered by tungstenite.
    ws.send(Message::text("ping me")).unwrap();
    assert_eq!(
        ws.read().unwrap(),
        Message::Ping(b"from server".to_vec().into())
    );
    assert_eq!(ws.read().unwrap(), Message::text("pinged"));

    ws.close(Some(CloseFrame {
        code: TCloseCode::Away,
        reason: "bye".into(),
    }))
    .unwrap();
    loop {
        match ws.read() {
            Ok(Message::Close(Some(frame))) => assert_eq!(frame.code, TCloseCode::Away),
            Ok(other) => panic!("unexpected {other:?}"),
            Err(tungstenite::Error::ConnectionClosed) => break,
            Err(e) => panic!("{e}"),
        }
    }

    let seen = server.join().unwrap();
    assert_eq!(
        seen,
        [
            Msg::Request("/interop?x=1".into()),
            Msg::Text("héllo 😀".into()),
            Msg::Binary(big),
            Msg::Text(String::new()),
            Msg::Ping(b"tung ping".to_vec()),
            Msg::Text("ping me".into()),
            Msg::Pong(b"from server".to_vec()),
            Msg::Close(1001, "bye".into()),
        ]
    );
}

/// A tungstenite echo server that pings once after the handshake and
/// records the control messages it receives.
fn tungstenite_server(stream: TcpStream) -> Vec<String> {
    stream.set_read_timeout(TIMEOUT).unwrap();
    let mut ws = tungstenite::accept(stream).unwrap();
    ws.send(Message::Ping(b"srv".to_vec().into())).unwrap();
    let mut log = Vec::new();
    loop {
        match ws.read() {
            Ok(m @ (Message::Text(_) | Message::Binary(_))) => ws.send(m).unwrap(),
            Ok(Message::Pong(p)) => log.push(format!("pong {}", String::from_utf8_lossy(&p))),
            Ok(Message::Ping(p)) => log.push(format!("ping {}", String::from_utf8_lossy(&p))),
            Ok(Message::Close(f)) => {
                let f = f.expect("a close code");
                log.push(format!("close {} {}", u16::from(f.code), f.reason));
            }
            Ok(Message::Frame(_)) => unreachable!(),
            Err(tungstenite::Error::ConnectionClosed) => break,
            Err(e) => panic!("tungstenite server: {e}"),
        }
    }
    log
}

#[test]
fn our_client_against_tungstenite_server() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || tungstenite_server(listener.accept().unwrap().0));

    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut d = Driver::new(Role::Client, stream);
    d.ws.send(Request::new(format!("127.0.0.1:{port}"), "/echo"))
        .unwrap();
    d.flush();
    assert_eq!(d.next_msg(), Msg::Accept);
    assert_eq!(d.ws.state(), State::Open);
    // The server pinged right away; our pong goes out with the next flush.
    assert_eq!(d.next_msg(), Msg::Ping(b"srv".to_vec()));

    d.ws.send(TextMessage::new("hello from wsproto")).unwrap();
    d.flush();
    assert_eq!(d.next_msg(), Msg::Text("hello from wsproto".into()));

    // A fragmented text message; tungstenite reassembles and echoes it.
    d.ws.send(TextMessage::fragment("frag ", false)).unwrap();
    d.ws.send(TextMessage::fragment("😀 ", false)).unwrap();
    d.ws.send(TextMessage::fragment("done", true)).unwrap();
    d.flush();
    assert_eq!(d.next_msg(), Msg::Text("frag 😀 done".into()));

    for len in [0usize, 125, 126, 65535, 65536, 1 << 20] {
        let data: Vec<u8> = (0..len).map(|i| (i % 249) as u8).collect();
        d.ws.send(BytesMessage::new(data.clone())).unwrap();
        d.flush();
        assert_eq!(d.next_msg(), Msg::Binary(data), "length {len}");
    }

    d.ws.send(Ping::new(&b"client ping"[..])).unwrap();
    d.flush();
    assert_eq!(d.next_msg(), Msg::Pong(b"client ping".to_vec()));

    d.ws.send(CloseConnection::new(1000u16, "finished"))
        .unwrap();
    assert_eq!(d.ws.state(), State::LocalClosing);
    d.flush();
    assert_eq!(d.next_msg(), Msg::Close(1000, "finished".into()));
    assert_eq!(d.ws.state(), State::Closed);
    // The server closes the TCP connection; nothing more arrives.
    let mut rest = Vec::new();
    d.stream.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "{rest:?}");

    let log = server.join().unwrap();
    assert_eq!(log, ["pong srv", "ping client ping", "close 1000 finished"]);
}

#[test]
fn tungstenite_client_refused_by_our_server_sees_the_http_status() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let mut d = Driver::new(Role::Server, listener.accept().unwrap().0);
        assert!(matches!(d.next(), Event::Request(_)));
        d.ws.send(wsproto::RejectConnection::new(403)).unwrap();
        assert_eq!(d.ws.state(), State::Closed);
        d.flush();
    });
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(TIMEOUT).unwrap();
    let err = tungstenite::client(format!("ws://127.0.0.1:{port}/"), stream).unwrap_err();
    match err {
        tungstenite::HandshakeError::Failure(tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status(), 403)
        }
        other => panic!("{other:?}"),
    }
    server.join().unwrap();
}

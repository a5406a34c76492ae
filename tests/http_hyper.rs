//! End to end over loopback with hyper: the `hyper_server` example's own
//! server code (included from `examples/`) on 127.0.0.1, port 0, talked to
//! by this crate's tokio client (which runs its own byte-level handshake),
//! by a hyper client upgrading through `ClientUpgrade`, and by plain HTTP
//! over a raw socket for the page and the refusals.

#![cfg(all(feature = "http", feature = "tokio", feature = "deflate"))]

#[allow(dead_code)]
#[path = "../examples/hyper_server.rs"]
mod hyper_server;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wsproto::rt::tokio::TokioStream;
use wsproto::ws::{Config, Message, WebSocket};
use wsproto::{ClientUpgrade, CloseCode, DeflateConfig, Request, State};

/// Starts the example's server on an ephemeral port.
async fn start() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(hyper_server::serve(listener));
    addr
}

/// Bounds a test: a hang fails it instead of stalling the suite.
async fn within<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(30), f)
        .await
        .expect("the test timed out")
}

/// Sends a raw HTTP/1.1 request and reads one response: its head, then as
/// much body as `Content-Length` says (hyper keeps the connection open).
async fn raw_http(addr: SocketAddr, head: &str) -> (u16, Vec<(String, String)>, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    loop {
        let mut storage = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut storage);
        if let httparse::Status::Complete(n) = response.parse(&bytes).unwrap() {
            let headers: Vec<(String, String)> = response
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_ascii_lowercase(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect();
            let length: usize = header(&headers, "content-length")
                .expect("a Content-Length")
                .parse()
                .unwrap();
            if bytes.len() >= n + length {
                let body = String::from_utf8_lossy(&bytes[n..n + length]).into_owned();
                return (response.code.unwrap(), headers, body);
            }
        }
        let mut chunk = [0u8; 4096];
        let read = stream.read(&mut chunk).await.unwrap();
        assert!(read > 0, "EOF before a whole response: {bytes:?}");
        bytes.extend_from_slice(&chunk[..read]);
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Echoes a text and a (large, compressible) binary message, then closes
/// with 1000 and reads to the end of the stream.
async fn echo_and_close<S>(ws: &mut WebSocket<S>)
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    ws.send(Message::text("héllo, hyper")).await.unwrap();
    assert_eq!(
        ws.recv().await.unwrap().unwrap(),
        Message::text("héllo, hyper")
    );
    let binary: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    ws.send(Message::binary(binary.clone())).await.unwrap();
    assert_eq!(ws.recv().await.unwrap().unwrap(), Message::binary(binary));

    ws.close(CloseCode::NORMAL, "done").await.unwrap();
    match ws.recv().await {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame.code, CloseCode::NORMAL),
        other => panic!("expected the server's close, got {other:?}"),
    }
    assert!(ws.recv().await.is_none());
    assert_eq!(ws.state(), State::Closed);
}

#[tokio::test]
async fn tokio_client_echoes_through_hyper_with_deflate() {
    within(async {
        let addr = start().await;
        let config = Config::default().deflate(DeflateConfig::default());
        let url = format!("ws://{addr}/ws");
        let (mut ws, response) = wsproto::rt::tokio::connect_with_config(&url, config)
            .await
            .unwrap();
        assert!(response.subprotocol.is_none());
        let negotiated = &ws.connection().config().extensions;
        assert_eq!(negotiated.len(), 1);
        assert_eq!(negotiated[0].name(), "permessage-deflate");
        echo_and_close(&mut ws).await;
    })
    .await
}

#[tokio::test]
async fn tokio_client_echoes_through_hyper_without_deflate() {
    within(async {
        let addr = start().await;
        let (mut ws, _) = wsproto::rt::tokio::connect(&format!("ws://{addr}/ws"))
            .await
            .unwrap();
        assert!(ws.connection().config().extensions.is_empty());
        echo_and_close(&mut ws).await;
    })
    .await
}

#[tokio::test]
async fn hyper_client_upgrades_through_client_upgrade() {
    within(async {
        let addr = start().await;
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(connection.with_upgrades());

        let config = Config::default().deflate(DeflateConfig::default());
        let request = Request::new(addr.to_string(), "/ws").with_header("Origin", "http://test");
        let client = ClientUpgrade::new(request, &config.protocol).unwrap();
        let request = client
            .http_request()
            .unwrap()
            .map(|()| http_body_util::Empty::<Bytes>::new());
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.status(), http::StatusCode::SWITCHING_PROTOCOLS);
        let (_accepted, connection) = client.finish_http(&response).unwrap();
        assert_eq!(connection.config().extensions.len(), 1);

        let upgraded = hyper::upgrade::on(response).await.unwrap();
        let io = TokioStream::new(TokioIo::new(upgraded));
        let mut ws = WebSocket::from_connection(io, connection, config);
        echo_and_close(&mut ws).await;
    })
    .await
}

#[tokio::test]
async fn plain_get_serves_the_page() {
    within(async {
        let addr = start().await;
        let head = format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        let (status, headers, body) = raw_http(addr, &head).await;
        assert_eq!(status, 200);
        assert_eq!(
            header(&headers, "content-type"),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(body, hyper_server::PAGE);
        assert!(body.contains("new WebSocket(") && body.contains("/ws"));

        let head = format!("GET /nope HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        assert_eq!(raw_http(addr, &head).await.0, 404);
    })
    .await
}

#[tokio::test]
async fn non_upgrade_requests_to_ws_are_refused_400_or_426() {
    within(async {
        let addr = start().await;
        let plain = format!("GET /ws HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        let (status, headers, body) = raw_http(addr, &plain).await;
        assert_eq!(status, 400);
        assert!(header(&headers, "sec-websocket-version").is_none());
        assert!(body.contains("Upgrade"), "{body}");

        let bad_key = format!(
            "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        let (status, _, body) = raw_http(addr, &bad_key).await;
        assert_eq!(status, 400);
        assert!(body.contains("Sec-WebSocket-Key"), "{body}");

        let old_version = format!(
            "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n"
        );
        let (status, headers, _) = raw_http(addr, &old_version).await;
        assert_eq!(status, 426);
        assert_eq!(header(&headers, "sec-websocket-version"), Some("13"));
        assert_eq!(header(&headers, "upgrade"), Some("websocket"));
    })
    .await
}

//! The runtime shims' request hook: subprotocols and headers chosen by the
//! caller reach the server, and the server's choice reaches the caller.
//! And the smol shim's reads: whether or not it looks again after a yield,
//! every message arrives, in order.

#![cfg(feature = "smol")]

use futures_util::SinkExt;
use wsproto::AcceptConnection;
use wsproto::ws::{Config, Message};

#[test]
fn connect_with_request_offers_subprotocols_and_headers() {
    smol::block_on(async {
        let listener = smol::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/room?x=1", listener.local_addr().unwrap());
        let server = smol::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut seen = None;
            let mut ws = wsproto::rt::smol::accept_with(stream, Config::default(), |request| {
                seen = Some(request.clone());
                let chosen = request
                    .subprotocols
                    .iter()
                    .find(|p| *p == "chat")
                    .unwrap()
                    .clone();
                Ok(AcceptConnection::new().with_subprotocol(chosen))
            })
            .await
            .unwrap();
            let message = ws.recv().await.unwrap().unwrap();
            ws.send(message).await.unwrap();
            while ws.recv().await.is_some() {}
            seen.unwrap()
        });
        let (mut ws, response) =
            wsproto::rt::smol::connect_with_request(&url, Config::default(), |request| {
                request
                    .with_subprotocols(["superchat", "chat"])
                    .with_header("Origin", "https://example.com")
            })
            .await
            .unwrap();
        assert_eq!(response.subprotocol.as_deref(), Some("chat"));
        ws.send(Message::text("hi")).await.unwrap();
        assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("hi"));
        ws.close(wsproto::CloseCode::NORMAL, "").await.unwrap();
        while ws.recv().await.is_some() {}
        let request = server.await;
        assert_eq!(request.target, "/room?x=1");
        assert_eq!(request.subprotocols, ["superchat", "chat"]);
        let origin = request
            .extra_headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("origin"))
            .unwrap();
        assert_eq!(origin.value_str(), Some("https://example.com"));
    });
}

/// Long ping-pong (where the smol stream stops reading after its yields)
/// broken by bursts (which arrive while it skips those reads): every echo
/// comes back, in order.
#[test]
fn smol_reads_lose_nothing_between_ping_pong_and_bursts() {
    let finished = smol::block_on(smol::future::or(
        async {
            smol::Timer::after(std::time::Duration::from_secs(30)).await;
            false
        },
        async {
            let listener = smol::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("ws://{}/", listener.local_addr().unwrap());
            let server = smol::spawn(async move {
                let (stream, _) = listener.accept().await.unwrap();
                let mut ws = wsproto::rt::smol::accept_with(stream, Config::default(), |_| {
                    Ok(AcceptConnection::new())
                })
                .await
                .unwrap();
                while let Some(Ok(message)) = ws.recv().await {
                    if message.is_data() {
                        ws.send(message).await.unwrap();
                    }
                }
            });
            let (mut ws, _) = wsproto::rt::smol::connect(&url).await.unwrap();
            let numbered = |n: u32| Message::binary(n.to_be_bytes().to_vec());
            let mut sent = 0u32;
            for round in 0..6 {
                for _ in 0..40 {
                    ws.send(numbered(sent)).await.unwrap();
                    let echo = ws.recv().await.unwrap().unwrap();
                    assert_eq!(echo, numbered(sent));
                    sent += 1;
                }
                let burst = 1 + round * 7;
                for i in 0..burst {
                    ws.feed(numbered(sent + i)).await.unwrap();
                }
                ws.flush().await.unwrap();
                for _ in 0..burst {
                    let echo = ws.recv().await.unwrap().unwrap();
                    assert_eq!(echo, numbered(sent));
                    sent += 1;
                }
            }
            ws.close(wsproto::CloseCode::NORMAL, "").await.unwrap();
            while ws.recv().await.is_some() {}
            server.await;
            true
        },
    ));
    assert!(finished, "a read waited for ever");
}

//! The runtime shims' request hook: subprotocols and headers chosen by the
//! caller reach the server, and the server's choice reaches the caller.

#![cfg(feature = "smol")]

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

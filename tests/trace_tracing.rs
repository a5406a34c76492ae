//! With the `tracing` feature, a connection's life and the peer's protocol
//! errors are reported as `tracing` events. A minimal subscriber, written
//! here, records every event with its level, target and message.

#![cfg(feature = "tracing")]

use std::fmt;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};
use wsproto::proto::{
    AcceptConnection, CloseConnection, Config, Connection, Request, Role, TextMessage, WsConnection,
};

#[derive(Debug, Clone, PartialEq)]
struct Captured {
    level: Level,
    target: String,
    message: String,
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Captured>>>);

struct MessageVisitor<'a>(&'a mut String);

impl Visit for MessageVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            *self.0 = format!("{value:?}");
        }
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut message = String::new();
        event.record(&mut MessageVisitor(&mut message));
        self.0.lock().unwrap().push(Captured {
            level: *event.metadata().level(),
            target: event.metadata().target().to_owned(),
            message,
        });
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

impl Capture {
    fn run(&self, f: impl FnOnce()) -> Vec<Captured> {
        tracing::subscriber::with_default(self.clone(), f);
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

fn find<'a>(events: &'a [Captured], needle: &str) -> &'a Captured {
    events
        .iter()
        .find(|e| e.message.contains(needle))
        .unwrap_or_else(|| panic!("no event with {needle:?} in {events:#?}"))
}

#[test]
fn protocol_errors_closes_and_handshakes_are_reported() {
    let capture = Capture::default();

    // A client frame that is not masked: the peer's protocol error.
    let events = capture.run(|| {
        let mut server = Connection::new(Role::Server, Vec::new());
        server.receive_bytes(&[0x81, 0x02, b'h', b'i']);
        let err = server.next_event().unwrap().unwrap_err();
        assert_eq!(err.close_code().map(|c| c.0), Some(1002));
    });
    let e = find(&events, "protocol error from the peer");
    assert_eq!(e.level, Level::DEBUG);
    assert!(e.message.contains("not masked"), "{e:?}");
    assert!(e.message.contains("1002"), "{e:?}");
    // The module path: filtering on `wsproto::proto::connection` selects
    // the engine's events.
    assert!(
        e.target.starts_with("wsproto::proto::connection"),
        "{}",
        e.target
    );

    // The close handshake, from both ends, and a message at `trace`.
    let events = capture.run(|| {
        let mut client = Connection::new(Role::Client, Vec::new());
        let mut server = Connection::new(Role::Server, Vec::new());
        client.send(TextMessage::new("hi")).unwrap();
        client.send(CloseConnection::new(1000, "done")).unwrap();
        server.receive_bytes(&client.bytes_to_send());
        while let Some(event) = server.next_event() {
            event.unwrap();
        }
        client.receive_bytes(&server.bytes_to_send());
        while let Some(event) = client.next_event() {
            event.unwrap();
        }
    });
    assert_eq!(find(&events, "close sent: 1000").level, Level::DEBUG);
    let received = find(&events, "close received: 1000");
    assert!(received.message.contains("replying"), "{received:?}");
    assert!(find(&events, "connection closed").level == Level::DEBUG);
    assert_eq!(find(&events, "received a Text message").level, Level::TRACE);
    assert_eq!(find(&events, "sent a Text message").level, Level::TRACE);

    // Handshake outcomes and the application's misuse.
    let events = capture.run(|| {
        let mut client = WsConnection::new(Role::Client);
        let mut server = WsConnection::with_config(Role::Server, Config::default());
        assert!(client.send(TextMessage::new("too early")).is_err());
        client.send(Request::new("h", "/")).unwrap();
        server.receive_bytes(&client.bytes_to_send());
        server.next_event().unwrap().unwrap();
        server.send(AcceptConnection::new()).unwrap();
        client.receive_bytes(&server.bytes_to_send());
        client.next_event().unwrap().unwrap();
        // A bad request is refused with its status.
        let mut refusing = WsConnection::new(Role::Server);
        refusing.receive_bytes(b"POST / HTTP/1.1\r\nHost: h\r\n\r\n");
        assert!(refusing.next_event().unwrap().is_err());
    });
    assert_eq!(find(&events, "refused to send").level, Level::DEBUG);
    assert_eq!(find(&events, "handshake accepted;").level, Level::DEBUG);
    assert_eq!(
        find(&events, "handshake accepted by the server").level,
        Level::DEBUG
    );
    assert!(
        find(&events, "handshake request refused")
            .message
            .contains("400")
    );

    // The HTTP/2 bootstrap: a refused extended CONNECT, with its status.
    let events = capture.run(|| {
        let request = [(":method", "CONNECT"), (":protocol", "h2c")];
        assert!(wsproto::h2::ServerHandshake::new(&request).is_err());
    });
    let e = find(&events, "extended CONNECT refused");
    assert!(e.message.contains("501"), "{e:?}");
    assert!(e.target.starts_with("wsproto::proto::h2"), "{}", e.target);
    // Nothing here is the application's problem to be warned about.
    assert!(
        events.iter().all(|e| e.level >= Level::DEBUG),
        "{events:#?}"
    );
}

//! A WebSocket ([RFC 6455]) protocol engine in the Sans-I/O style of Python's
//! wsproto: bytes in, events out. The crate never touches a socket, a clock
//! or an executor; you feed it what you read and write what it gives you.
//!
//! ```
//! use wsproto::{AcceptConnection, Event, Request, Role, TextMessage, WsConnection};
//!
//! let mut client = WsConnection::new(Role::Client);
//! let mut server = WsConnection::new(Role::Server);
//!
//! client.send(Request::new("example.com", "/")).unwrap();
//! server.receive_bytes(&client.bytes_to_send());
//! while let Some(event) = server.next_event() {
//!     if let Event::Request(_) = event.unwrap() {
//!         server.send(AcceptConnection::new()).unwrap();
//!     }
//! }
//! client.receive_bytes(&server.bytes_to_send());
//! assert!(matches!(client.next_event(), Some(Ok(Event::AcceptConnection(_)))));
//!
//! client.send(TextMessage::new("hello")).unwrap();
//! server.receive_bytes(&client.bytes_to_send());
//! match server.next_event() {
//!     Some(Ok(Event::TextMessage(msg))) => assert_eq!(msg.data, "hello"),
//!     other => panic!("unexpected {other:?}"),
//! }
//! ```
//!
//! # How it fits together
//!
//! * [`WsConnection`] runs the HTTP/1.1 opening handshake for a [`Role`],
//!   then messages, pings and the close handshake.
//! * [`Connection`] is the frame engine alone, for WebSockets bootstrapped
//!   elsewhere (HTTP/2, RFC 8441).
//! * Input enters through `receive_bytes` / `receive_eof`; events come out
//!   of `next_event` (one at a time, so you may `send` between them) or
//!   `events`; application commands go in through `send`; output comes out
//!   of `bytes_to_send` (or `bytes_to_send_into`, or `output_vectored` +
//!   `advance_output` for zero-copy vectored writes).
//! * A received ping is answered and a received close is replied to
//!   automatically. A peer's protocol violation surfaces as a
//!   [`RemoteProtocolError`] whose answer (a close frame with 1002, 1007 or
//!   1009, or an HTTP 400/426/431) is already queued: flush and close.
//! * Misuse by the application is a [`LocalProtocolError`] and changes
//!   nothing.
//!
//! [RFC 6455]: https://www.rfc-editor.org/rfc/rfc6455
#![warn(missing_docs)]

pub mod proto;
pub mod rt;
pub mod ws;

pub use proto::{
    AcceptConnection, Answer, BytesMessage, CloseCode, CloseConnection, Config, Connection, Event,
    Header, LocalProtocolError, Ping, Pong, RejectConnection, RejectData, RemoteProtocolError,
    Request, Role, State, TextMessage, Utf8Bytes, WsConnection,
};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

//! A WebSocket ([RFC 6455]) library built on a protocol engine in the
//! Sans-I/O style of Python's wsproto: bytes in, events out. The engine
//! ([`proto`]) never touches a socket, a clock or an executor; you feed it
//! what you read and write what it gives you. The async layer ([`ws`]) drives
//! the same engine over any `futures-io` stream, and the runtime shims
//! ([`rt`]) connect it to TCP on smol, tokio or async-std.
//!
//! The engine, in memory:
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
//! The async layer on smol (the default runtime): a server task echoing
//! messages and a client talking to it over loopback.
//!
//! ```
//! # #[cfg(feature = "smol")]
//! # fn main() -> Result<(), wsproto::ws::Error> {
//! use wsproto::ws::{Error, Message};
//!
//! smol::block_on(async {
//!     let listener = smol::net::TcpListener::bind("127.0.0.1:0").await?;
//!     let url = format!("ws://{}/", listener.local_addr()?);
//!     smol::spawn(async move {
//!         let (stream, _) = listener.accept().await?;
//!         let mut ws = wsproto::rt::smol::accept(stream).await?;
//!         while let Some(Ok(message)) = ws.recv().await {
//!             if message.is_data() {
//!                 ws.send(message).await?;
//!             }
//!         }
//!         Ok::<_, Error>(())
//!     })
//!     .detach();
//!
//!     let (mut ws, _response) = wsproto::rt::smol::connect(&url).await?;
//!     ws.send(Message::text("hello")).await?;
//!     assert_eq!(ws.recv().await.unwrap()?, Message::text("hello"));
//!     ws.close(wsproto::CloseCode::NORMAL, "done").await
//! })
//! # }
//! # #[cfg(not(feature = "smol"))]
//! # fn main() {}
//! ```
//!
//! New here? The [`guide`] walks through both layers step by step.
//!
//! # How it fits together
//!
//! * [`WsConnection`] runs the HTTP/1.1 opening handshake for a [`Role`],
//!   then messages, pings and the close handshake.
//! * [`Connection`] is the frame engine alone, for WebSockets bootstrapped
//!   elsewhere. [`h2`] does the HTTP/2 ([RFC 8441]) and HTTP/3 (RFC 9220)
//!   bootstrap: it builds and checks the extended CONNECT header lists and
//!   opens the `Connection`; the HTTP/2 crate of your choice carries them.
//! * [`ServerUpgrade`] and [`ClientUpgrade`] start from an opening handshake
//!   another HTTP implementation carries (a hyper or axum server, another
//!   HTTP client): the same validation and negotiation, giving the response
//!   headers and a ready [`Connection`]; the `http` feature adds the `http`
//!   crate's types.
//! * Input enters through `receive_bytes` / `receive_eof` (or, for a
//!   transport with its own read buffer, [`Connection::receive_owned`],
//!   which hands large payloads on as views of that buffer); events come out
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
//! * [`ws::WebSocket`] adds no protocol logic: it reads only when a message
//!   is asked for, makes sending wait while more than a high-water mark of
//!   output is unwritten, and owns the timers (keepalive, close and
//!   handshake timeouts) the engine asks for.
//!
//! # Features
//!
//! | feature | adds |
//! |---|---|
//! | `smol` (default) | [`rt::smol`]: TCP on `async-io`'s reactor (accepts `async-net` streams), usable under any executor |
//! | `tokio` | `rt::tokio`: tokio's `TcpStream` (`TokioTcp`), or any tokio stream (`TokioStream`), as a `futures-io` stream |
//! | `async-std` | `rt::async_std` (async-std is discontinued upstream; the shim stays thin) |
//! | `rustls` (default) | `wss://` in every shim's `connect`, `accept_tls` for servers, and `rt::tls` (rustls through `futures-rustls`, platform roots) |
//! | `webpki-roots` | `rt::tls::TlsConnector::webpki_roots`: Mozilla's roots compiled in |
//! | `tracing` | diagnostics as `tracing` events: handshake outcomes, closes, the peer's protocol errors and the application's misuse at `debug`, a keepalive timeout at `info`, messages at `trace`; off, nothing is compiled in |
//! | `log` | the same diagnostics as `log` records (with `tracing` on too, through `tracing`, which hands them to `log` while no subscriber is set) |
//! | `http` | conversions to and from the [`http`](https://docs.rs/http/1) crate's `Request` and `Response`, and `ServerUpgrade::from_http` / `accept_http` for upgrades a hyper or axum server has parsed |
//!
//! [RFC 6455]: https://www.rfc-editor.org/rfc/rfc6455
//! [RFC 8441]: https://www.rfc-editor.org/rfc/rfc8441
#![warn(missing_docs)]

/// The guide: how to use the engine and the async layer, with runnable examples.
pub mod guide;
pub mod proto;
pub mod rt;
pub mod ws;

mod trace;

pub use proto::h2;
pub use proto::{
    AcceptConnection, Answer, BytesMessage, CloseCode, CloseConnection, Config, Connection, Event,
    Header, LocalProtocolError, Ping, Pong, RejectConnection, RejectData, RemoteProtocolError,
    Request, Role, State, TextMessage, Utf8Bytes, WsConnection,
};
pub use proto::{AcceptedUpgrade, ClientUpgrade, ServerUpgrade, UpgradeError};
#[cfg(feature = "deflate")]
pub use proto::{DeflateConfig, PerMessageDeflate};

/// The README's examples, compiled and run as doctests (they use every
/// runtime, so only with all features).
#[cfg(all(doctest, feature = "smol", feature = "tokio", feature = "async-std"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

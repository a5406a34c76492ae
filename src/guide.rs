#![doc = include_str!("../docs/guide/index.md")]
//!
//! # Pages
//!
//! 1. [Connections](crate::guide::connections): the two layers your code glues to.
//! 2. [Connecting to a server](crate::guide::connecting): a client, with the core and
//!    with the async layer.
//! 3. [Writing a server](crate::guide::server): accepting and rejecting handshakes.
//! 4. [Closing](crate::guide::closing): the close handshake and who ends TCP.
//! 5. [Ping and pong](crate::guide::ping_pong): automatic pongs, heartbeats, keepalive.
//! 6. [Back-pressure](crate::guide::back_pressure): bounded memory against any peer.
//! 7. [Limits and errors](crate::guide::limits): whose fault it is, and what is answered.
//! 8. [Coming from Python wsproto or tungstenite](crate::guide::migrating): name maps and
//!    behavioural differences.
//! 9. [TLS](crate::guide::tls): `wss://` clients, trust roots, certificate errors, TLS servers.
//!
//! Every example on these pages is a doctest: it runs in `cargo test`,
//! talking over loopback sockets it opens itself or exchanging bytes in
//! memory. Examples for the `tokio` and `async-std` runtimes run when those
//! features are enabled.

#[doc = include_str!("../docs/guide/01-connections.md")]
pub mod connections {}

#[doc = include_str!("../docs/guide/02-connecting.md")]
pub mod connecting {}

#[doc = include_str!("../docs/guide/03-server.md")]
pub mod server {}

#[doc = include_str!("../docs/guide/04-closing.md")]
pub mod closing {}

#[doc = include_str!("../docs/guide/05-ping-pong.md")]
pub mod ping_pong {}

#[doc = include_str!("../docs/guide/06-back-pressure.md")]
pub mod back_pressure {}

#[doc = include_str!("../docs/guide/07-limits.md")]
pub mod limits {}

#[doc = include_str!("../docs/guide/08-migrating.md")]
pub mod migrating {}

#[cfg(feature = "rustls")]
#[doc = include_str!("../docs/guide/09-tls.md")]
pub mod tls {}
